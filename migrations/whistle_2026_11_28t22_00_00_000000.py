"""Key custody: content-role grants waiting for a second administrator, and the roster MAC
(an HMAC under a keys/ subkey over each officer's id, name, roles, active flag and public key)."""

from whistle.db.migrations import sql_migration

ID = "2026-11-28T22:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "pending role grants and the authenticated officer roster"


def _statements(serial: str) -> list[str]:
    return [
        # One pending grant per officer: a new request replaces the one before it.
        f"""CREATE TABLE role_grant_request (
            id {serial},
            officer INTEGER NOT NULL UNIQUE REFERENCES officer (id) ON DELETE CASCADE,
            roles VARCHAR(64) NOT NULL,
            previous_roles VARCHAR(64) NOT NULL,
            requested_by VARCHAR(64) NOT NULL,
            requested_at TIMESTAMPTZ NOT NULL
        )""",
    ]


forwards = sql_migration(
    migration_id=ID,
    description=DESCRIPTION,
    sqlite=_statements("INTEGER PRIMARY KEY NOT NULL"),
    postgres=_statements("SERIAL PRIMARY KEY"),
)

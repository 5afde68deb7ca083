"""Login lock episodes (the lock grows with each episode of a name, not each failure), and
one-time two-factor recovery codes stored as HMACs."""

from whistle.db.migrations import sql_migration

ID = "2026-11-28T10:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "login lock episodes and recovery codes"


def _statements(serial: str) -> list[str]:
    # ``failures`` now counts attempts reserved in the current episode (reset when a lock
    # starts); ``episodes`` counts the locks so far.
    return [
        "ALTER TABLE login_throttle ADD COLUMN episodes INTEGER NOT NULL DEFAULT 0",
        f"""CREATE TABLE officer_recovery_code (
            id {serial},
            officer INTEGER NOT NULL REFERENCES officer (id) ON DELETE CASCADE,
            code_hash VARCHAR(64) NOT NULL UNIQUE,
            used_at TIMESTAMPTZ
        )""",
        "CREATE INDEX officer_recovery_code_officer ON officer_recovery_code (officer)",
    ]


forwards = sql_migration(
    migration_id=ID,
    description=DESCRIPTION,
    sqlite=_statements("INTEGER PRIMARY KEY NOT NULL"),
    postgres=_statements("SERIAL PRIMARY KEY"),
)

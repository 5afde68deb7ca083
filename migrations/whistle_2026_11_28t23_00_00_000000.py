"""Each report remembers the tracking-code parameter version (keys/receipt_params) its reporter
wrap was made with, so a later raise of the Argon2 costs never locks out an existing code; and
deliberate key revocations are recorded so key recovery does not undo them."""

from whistle.db.migrations import sql_migration

ID = "2026-11-28T23:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "receipt parameter version of each report, key revocations"


def _statements(serial: str) -> list[str]:
    return [
        # Every report before this migration was filed with the only version there was: 1.
        "ALTER TABLE report ADD COLUMN receipt_version INTEGER NOT NULL DEFAULT 1",
        f"""CREATE TABLE key_revocation (
            id {serial},
            report UUID NOT NULL REFERENCES report (id) ON DELETE CASCADE,
            officer INTEGER NOT NULL REFERENCES officer (id) ON DELETE CASCADE,
            at TIMESTAMPTZ NOT NULL
        )""",
        "CREATE UNIQUE INDEX key_revocation_unique ON key_revocation (report, officer)",
    ]


forwards = sql_migration(
    migration_id=ID,
    description=DESCRIPTION,
    sqlite=_statements("INTEGER PRIMARY KEY NOT NULL"),
    postgres=_statements("SERIAL PRIMARY KEY"),
)

"""Retention: when a case's content was destroyed (crypto-shredding), and legal holds that stop
it. The hold's reason is ciphertext under the report key; the index serves the purge's scan of
concluded cases whose content is still there."""

from whistle.db.migrations import sql_migration

ID = "2026-11-29T06:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "retention purge marker and legal holds"


def _statements(serial: str, binary: str) -> list[str]:
    return [
        "ALTER TABLE report ADD COLUMN purged_at TIMESTAMPTZ",
        # One hold per case; lifting it deletes the row (and its encrypted reason).
        f"""CREATE TABLE legal_hold (
            id {serial},
            report UUID NOT NULL UNIQUE REFERENCES report (id) ON DELETE CASCADE,
            officer INTEGER REFERENCES officer (id) ON DELETE SET NULL,
            at TIMESTAMPTZ NOT NULL,
            reason {binary} NOT NULL
        )""",
        "CREATE INDEX report_retention ON report (concluded_at) "
        "WHERE purged_at IS NULL AND concluded_at IS NOT NULL",
    ]


forwards = sql_migration(
    migration_id=ID,
    description=DESCRIPTION,
    sqlite=_statements("INTEGER PRIMARY KEY NOT NULL", "BLOB"),
    postgres=_statements("SERIAL PRIMARY KEY", "BYTEA"),
)

"""Each report remembers the tracking-code parameter version (keys/receipt_params) its reporter
wrap was made with, so a later raise of the Argon2 costs never locks out an existing code."""

from whistle.db.migrations import sql_migration

ID = "2026-11-28T23:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "receipt parameter version of each report"

# Every report before this migration was filed with the only version there was: 1.
_STATEMENTS = ["ALTER TABLE report ADD COLUMN receipt_version INTEGER NOT NULL DEFAULT 1"]

forwards = sql_migration(
    migration_id=ID,
    description=DESCRIPTION,
    sqlite=_STATEMENTS,
    postgres=_STATEMENTS,
)

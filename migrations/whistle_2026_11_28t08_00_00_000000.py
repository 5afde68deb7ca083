"""Drop officer.failed_logins and officer.locked_until: login throttling moved to login_throttle
(keyed by a keyed hash of the username), and nothing reads or writes these columns any more."""

from whistle.db.migrations import sql_migration

ID = "2026-11-28T08:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "drop the officer's dead lock-out columns"

# SQLite has had DROP COLUMN since 3.35; neither column is indexed or referenced.
STATEMENTS = [
    "ALTER TABLE officer DROP COLUMN failed_logins",
    "ALTER TABLE officer DROP COLUMN locked_until",
]

forwards = sql_migration(
    migration_id=ID, description=DESCRIPTION, sqlite=STATEMENTS, postgres=STATEMENTS
)

"""Key holders a database copy cannot name, and an authenticated officer roster.

report_key gains ``holder_tag`` (an HMAC of the officer id under a key in keys/): officer wraps
are found by it, through ``report_key_officer`` rebuilt on (holder_tag, report). Rows written
before keep their ``officer`` id until ``whistle keys retag`` (the migration holds no keys);
the app refuses to start while any remain. ``report_key_holder`` now keeps one reporter and one
office wrap per report whatever the officer columns say.

officer gains ``roster_mac``: NULL on existing rows (not trusted: they receive no new report
key) until an administrator runs ``whistle keys reseal-roster`` after checking the listed rows.
"""

from whistle.db.migrations import sql_migration

ID = "2026-11-29T01:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "holder tags on report keys, MAC on officer rows"

STATEMENTS = [
    "ALTER TABLE report_key ADD COLUMN holder_tag VARCHAR(32)",
    "ALTER TABLE officer ADD COLUMN roster_mac VARCHAR(64)",
    "DROP INDEX report_key_officer",
    "DROP INDEX report_key_holder",
    "CREATE UNIQUE INDEX report_key_officer ON report_key (holder_tag, report) "
    "WHERE holder_tag IS NOT NULL",
    "CREATE UNIQUE INDEX report_key_holder ON report_key (report, holder) "
    "WHERE holder <> 'officer'",
]

forwards = sql_migration(
    migration_id=ID,
    description=DESCRIPTION,
    sqlite=STATEMENTS,
    postgres=STATEMENTS,
)

"""Deep inbox pages: each officer wrap also keeps its report's status, and all of an officer's
wraps are indexed in the inbox order.

A page past the first skipped its OFFSET over report rows, each checked for the officer's wrap
(a look-up per row): page 20 of a status read about 1,000 report rows and 1,000 wraps, 20 to
25 ms at a million cases. With the status next to the order copied by migration 2026-11-29T14
(whistle.reports.envelope.copy_inbox_order keeps both), the officer's own wraps give the page's
report ids in order from one index without reading a row (OFFSET inside an index-only scan),
and only the page's 50 reports are read ("deferred join").

The partial index holds the wraps that carry the order (officer wraps). Its WHERE term is
one only the inbox's walk repeats (literally, as SQLite requires): a term ``holder_tag IS NOT
NULL``, implied by every officer look-up, let SQLite's planner take it for the look-ups of
report_key_unopened.
"""

from whistle.db.migrations import sql_migration

ID = "2026-11-29T15:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "the status on officer wraps and their inbox-order index, for deep inbox pages"

STATEMENTS = [
    "ALTER TABLE report_key ADD COLUMN inbox_status VARCHAR(24)",
    "UPDATE report_key SET inbox_status = (SELECT r.status FROM report r "
    "WHERE r.id = report_key.report) WHERE holder = 'officer'",
    "CREATE INDEX report_key_inbox_order ON report_key "
    "(holder_tag, inbox_rank, inbox_due, inbox_case, inbox_status, report) "
    "WHERE inbox_rank IS NOT NULL",
]

forwards = sql_migration(
    migration_id=ID, description=DESCRIPTION, sqlite=STATEMENTS, postgres=STATEMENTS
)

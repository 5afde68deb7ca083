"""The "never opened" inbox mark at a million cases: each officer wrap records whether its holder
has opened the case since the wrap was made.

The filter walked the deadline index past every case the officer had opened (case_view), seconds
at a million cases. ``report_key.opened`` is set where case_view is written (for the opener's
own wrap only), so the officer's unopened wraps are one partial index (holder tag, report) and
go with the wraps on revocation, disabling, reset, purge and retention. A copy shows which
tag's wraps were opened, as case_view already shows which officer opened which case.

Back-fill: wraps still naming their officer (before ``whistle keys retag``) take case_view's
answer; tagged wraps cannot be matched to an officer without keys/, so they stay unopened (a
candidate): the inbox still checks case_view, so the mark stays exact, and the flag is set the
next time the officer opens the case.
"""

from whistle.db.migrations import sql_migration

ID = "2026-11-29T13:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "unopened officer wraps for the never-opened inbox mark"

STATEMENTS = [
    "ALTER TABLE report_key ADD COLUMN opened BOOLEAN NOT NULL DEFAULT false",
    "UPDATE report_key SET opened = true WHERE officer IS NOT NULL AND EXISTS "
    "(SELECT 1 FROM case_view v WHERE v.officer = report_key.officer "
    "AND v.report = report_key.report)",
    # SQLite uses a partial index only for a query repeating its WHERE term literally.
    "CREATE INDEX report_key_unopened ON report_key (holder_tag, report) WHERE NOT opened",
]

forwards = sql_migration(
    migration_id=ID, description=DESCRIPTION, sqlite=STATEMENTS, postgres=STATEMENTS
)

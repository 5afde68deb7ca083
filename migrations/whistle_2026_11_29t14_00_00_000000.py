"""The "unread answer" inbox count at a million cases: each officer wrap records whether a
reporter answer arrived since its holder last opened the case.

The count walked every case with a dialogue (a partial index of report) looking each one up in
the officer's case_view until it had found the cap: about 1,700 cases and 8 ms a page at a
million cases, on every inbox page. ``report_key.unseen_answer`` is set on all officer wraps of
a report when a reporter answer is published and cleared on the opener's own wrap where
case_view is written, so an officer's candidates are one partial index (holder tag first).
case_view stays the truth: the count checks it for each candidate, so a wrap flagged too
eagerly (a back-filled one) costs a look-up, never a wrong count.

Back-fill: every officer wrap of a report with reporter answers is a candidate, except where
the wrap still names its officer (before ``whistle keys retag``) and case_view shows they have
seen them all.

"Never opened" read the officer's unopened wraps and sorted their reports (14,000 at a million
cases: 0.15 to 0.2 s a page), and "unread answer" walked the deadline index of the cases with a
dialogue, looking each up in case_view (30 ms). Each officer wrap now keeps a copy of its
report's place in the inbox order (open rank, running deadline, case number: plain workflow
metadata report already holds), kept current where wraps are stored and where the workflow
changes a status or a deadline (whistle.reports.envelope.copy_inbox_order), so both pages
walk a partial index in order and stop after a page; the unread count walks the same index.

The back-fill reads report once per officer wrap: about 17 s per million wraps on SQLite on
the shared 2-core development machine (6 s the flag, 10 s the order copy, under a second the
two indexes).
"""

from whistle.db.migrations import sql_migration

ID = "2026-11-29T14:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "unseen answers and the inbox order on officer wraps, for the unread and new marks"

# As in migration 2026-11-28T06 (the expressions of whistle.reports.statuses at this date).
OPEN_RANK = "(CASE WHEN status IN ('received', 'verification', 'investigation') THEN 0 ELSE 1 END)"
DUE = "(CASE WHEN acknowledged_at IS NULL THEN acknowledge_due ELSE feedback_due END)"

STATEMENTS = [
    "ALTER TABLE report_key ADD COLUMN unseen_answer BOOLEAN NOT NULL DEFAULT false",
    "UPDATE report_key SET unseen_answer = true WHERE holder = 'officer' AND EXISTS "
    "(SELECT 1 FROM report r WHERE r.id = report_key.report AND r.reporter_messages > 0 "
    "AND NOT EXISTS (SELECT 1 FROM case_view v WHERE v.officer = report_key.officer "
    "AND v.report = r.id AND v.reporter_messages_seen >= r.reporter_messages))",
    "ALTER TABLE report_key ADD COLUMN inbox_rank INTEGER",
    "ALTER TABLE report_key ADD COLUMN inbox_due TIMESTAMPTZ",
    "ALTER TABLE report_key ADD COLUMN inbox_case VARCHAR(16)",
    f"UPDATE report_key SET inbox_rank = (SELECT {OPEN_RANK} FROM report r "  # noqa: S608
    "WHERE r.id = report_key.report), "
    f"inbox_due = (SELECT {DUE} FROM report r WHERE r.id = report_key.report), "
    "inbox_case = (SELECT r.case_number FROM report r WHERE r.id = report_key.report) "
    "WHERE holder = 'officer'",
    # SQLite uses a partial index only for a query repeating its WHERE term literally.
    "CREATE INDEX report_key_unopened_due ON report_key "
    "(holder_tag, inbox_rank, inbox_due, inbox_case) WHERE NOT opened",
    "CREATE INDEX report_key_unseen_answer ON report_key "
    "(holder_tag, inbox_rank, inbox_due, inbox_case) WHERE unseen_answer",
]

forwards = sql_migration(
    migration_id=ID, description=DESCRIPTION, sqlite=STATEMENTS, postgres=STATEMENTS
)

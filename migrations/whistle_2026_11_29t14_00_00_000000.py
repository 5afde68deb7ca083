"""The "unread answer" inbox count at a million cases: each officer wrap records whether a
reporter answer arrived since its holder last opened the case.

The count walked every case with a dialogue (a partial index of report) looking each one up in
the officer's case_view until it had found the cap: about 1,700 cases and 8 ms a page at a
million cases, on every inbox page. ``report_key.unseen_answer`` is set on all officer wraps of
a report when a reporter answer is published and cleared on the opener's own wrap where
case_view is written, so an officer's candidates are one partial index (holder tag, report).
case_view stays the truth: the count checks it for each candidate, so a wrap flagged too
eagerly (a back-filled one) costs a look-up, never a wrong count.

Back-fill: every officer wrap of a report with reporter answers is a candidate, except where
the wrap still names its officer (before ``whistle keys retag``) and case_view shows they have
seen them all.
"""

from whistle.db.migrations import sql_migration

ID = "2026-11-29T14:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "unseen reporter answers on officer wraps for the inbox's unread count"

STATEMENTS = [
    "ALTER TABLE report_key ADD COLUMN unseen_answer BOOLEAN NOT NULL DEFAULT false",
    "UPDATE report_key SET unseen_answer = true WHERE holder = 'officer' AND EXISTS "
    "(SELECT 1 FROM report r WHERE r.id = report_key.report AND r.reporter_messages > 0 "
    "AND NOT EXISTS (SELECT 1 FROM case_view v WHERE v.officer = report_key.officer "
    "AND v.report = r.id AND v.reporter_messages_seen >= r.reporter_messages))",
    # SQLite uses a partial index only for a query repeating its WHERE term literally.
    "CREATE INDEX report_key_unseen_answer ON report_key (holder_tag, report) WHERE unseen_answer",
]

forwards = sql_migration(
    migration_id=ID, description=DESCRIPTION, sqlite=STATEMENTS, postgres=STATEMENTS
)

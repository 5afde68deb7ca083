"""Inbox mark filters at a million cases: the cases waiting for the reporter, and those with
reporter answers, each in deadline order.

The mark filters walked the dialogue's partial indexes (migration 2026-11-29T03) by id and then
sorted every marked case by deadline, reading each one's row: tens of thousands of rows per
page in an office of many years. These partial indexes hold the same few cases in the inbox's
own order (expressions character for character as in migration 2026-11-28T06 and
whistle.cases.inbox), so a page stops after its rows.
"""

from whistle.db.migrations import sql_migration

ID = "2026-11-29T08:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "inbox mark filters in deadline order"

OPEN_RANK = "(CASE WHEN status IN ('received', 'verification', 'investigation') THEN 0 ELSE 1 END)"
DUE = "(CASE WHEN acknowledged_at IS NULL THEN acknowledge_due ELSE feedback_due END)"

STATEMENTS = [
    f"CREATE INDEX report_inbox_waiting ON report ({OPEN_RANK}, {DUE}, case_number) "
    "WHERE awaiting_reporter",
    f"CREATE INDEX report_inbox_answered ON report ({OPEN_RANK}, {DUE}, case_number) "
    "WHERE reporter_messages > 0",
]

forwards = sql_migration(
    migration_id=ID, description=DESCRIPTION, sqlite=STATEMENTS, postgres=STATEMENTS
)

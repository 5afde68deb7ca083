"""Inbox indexes: the officer's inbox sorted by the next deadline, fast with 100,000 cases.

The expressions must match, character for character, the ones whistle.cases.inbox sorts and
filters by (SQLite matches index expressions literally); tests/integration/test_cases_inbox.py
checks the query plan on both engines.
"""

from whistle.db.migrations import sql_migration

ID = "2026-11-28T06:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "inbox indexes"

# 0 while the office still owes the reporter an answer, 1 once the case is closed.
OPEN_RANK = "(CASE WHEN status IN ('received', 'verification', 'investigation') THEN 0 ELSE 1 END)"
# The next deadline: acknowledgement until acknowledged, then feedback.
DUE = "(CASE WHEN acknowledged_at IS NULL THEN acknowledge_due ELSE feedback_due END)"

STATEMENTS = [
    f"CREATE INDEX report_inbox_due ON report ({OPEN_RANK}, {DUE}, case_number)",
    f"CREATE INDEX report_inbox_status_due ON report (status, {DUE}, case_number)",
    f"CREATE INDEX report_inbox_priority_due ON report (priority, {OPEN_RANK}, {DUE}, case_number)",
    f"CREATE INDEX report_inbox_category_due ON report (category, {OPEN_RANK}, {DUE}, case_number)",
    "CREATE INDEX report_inbox_received ON report (received_at, case_number)",
    # Superseded by the inbox indexes above, which lead with the same columns.
    "DROP INDEX report_status_due",
    "DROP INDEX report_priority",
    "DROP INDEX report_category",
]

forwards = sql_migration(
    migration_id=ID, description=DESCRIPTION, sqlite=STATEMENTS, postgres=STATEMENTS
)

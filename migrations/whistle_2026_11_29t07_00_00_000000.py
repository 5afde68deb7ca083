"""The cases an officer session has already logged as opened: one audit line per case per
session instead of one per page view. Rows go with their session (logout, expiry) or case."""

from whistle.db.migrations import sql_migration

ID = "2026-11-29T07:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "cases opened per officer session"


def _statements(serial: str) -> list[str]:
    return [
        f"""CREATE TABLE session_case_view (
            id {serial},
            session VARCHAR(64) NOT NULL REFERENCES web_session (lookup) ON DELETE CASCADE,
            report UUID NOT NULL REFERENCES report (id) ON DELETE CASCADE
        )""",
        "CREATE UNIQUE INDEX session_case_view_once ON session_case_view (session, report)",
        "CREATE INDEX session_case_view_report ON session_case_view (report)",
    ]


forwards = sql_migration(
    migration_id=ID,
    description=DESCRIPTION,
    sqlite=_statements("INTEGER PRIMARY KEY NOT NULL"),
    postgres=_statements("SERIAL PRIMARY KEY"),
)

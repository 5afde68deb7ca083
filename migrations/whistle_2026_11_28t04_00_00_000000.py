"""Back office: assignments, internal notes, recusals, run-time settings, 2FA enrolment."""

from whistle.db.migrations import sql_migration

ID = "2026-11-28T04:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "back office tables"


def _tables(blob: str, serial: str) -> list[str]:
    return [
        f"ALTER TABLE officer ADD COLUMN totp_pending_sealed {blob}",
        "ALTER TABLE officer ADD COLUMN last_login_at TIMESTAMPTZ",
        "ALTER TABLE report ADD COLUMN concluded_at TIMESTAMPTZ",
        f"""CREATE TABLE case_assignment (
            id {serial},
            report UUID NOT NULL REFERENCES report (id) ON DELETE CASCADE,
            officer INTEGER NOT NULL REFERENCES officer (id) ON DELETE CASCADE,
            assigned_by INTEGER REFERENCES officer (id) ON DELETE SET NULL,
            assigned_at TIMESTAMPTZ NOT NULL
        )""",
        f"""CREATE TABLE case_note (
            id {serial},
            report UUID NOT NULL REFERENCES report (id) ON DELETE CASCADE,
            officer INTEGER REFERENCES officer (id) ON DELETE SET NULL,
            at TIMESTAMPTZ NOT NULL,
            body {blob} NOT NULL
        )""",
        f"""CREATE TABLE recusal (
            id {serial},
            report UUID NOT NULL REFERENCES report (id) ON DELETE CASCADE,
            officer INTEGER NOT NULL REFERENCES officer (id) ON DELETE CASCADE,
            at TIMESTAMPTZ NOT NULL,
            reason {blob} NOT NULL
        )""",
        """CREATE TABLE system_setting (
            key VARCHAR(64) PRIMARY KEY NOT NULL,
            value TEXT NOT NULL
        )""",
        "CREATE UNIQUE INDEX case_assignment_unique ON case_assignment (report, officer)",
        "CREATE INDEX case_assignment_officer ON case_assignment (officer)",
        "CREATE INDEX case_note_report ON case_note (report, id)",
        "CREATE UNIQUE INDEX recusal_unique ON recusal (report, officer)",
    ]


forwards = sql_migration(
    migration_id=ID,
    description=DESCRIPTION,
    sqlite=_tables("BLOB", "INTEGER PRIMARY KEY NOT NULL"),
    postgres=_tables("BYTEA", "SERIAL PRIMARY KEY"),
)

"""Messages between the reporter and the case team, each officer's last look at a case, and an
identity the reporter chose to give, revealed only with a second triage officer's approval.

Every text column is ciphertext under the report key (whistle.reports.envelope). Messages carry
their position in the dialogue (``position``, ``previous``), both bound into the ciphertext's
associated data; reporter-written rows arrive through the hourly release, at their hour."""

from whistle.db.migrations import sql_migration

ID = "2026-11-29T03:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "reporter messages, case views and the reporter's identity"


def _statements(binary: str, serial: str) -> list[str]:
    return [
        # The inbox marks: how many reporter messages a case has, and whether the team's last
        # message still waits for an answer.
        "ALTER TABLE report ADD COLUMN reporter_messages INTEGER NOT NULL DEFAULT 0",
        "ALTER TABLE report ADD COLUMN awaiting_reporter BOOLEAN NOT NULL DEFAULT false",
        # The few cases with a dialogue drive the mark filters and counts (whistle.cases.inbox:
        # SQLite uses a partial index only for a query repeating its WHERE term literally).
        "CREATE INDEX report_awaiting_reporter ON report (id) WHERE awaiting_reporter",
        "CREATE INDEX report_reporter_messages ON report (id, reporter_messages) "
        "WHERE reporter_messages > 0",
        # A random id (no serial): reporter messages are published in a shuffled batch.
        f"""CREATE TABLE case_message (
            id UUID PRIMARY KEY NOT NULL,
            report UUID NOT NULL REFERENCES report (id) ON DELETE CASCADE,
            author VARCHAR(16) NOT NULL,
            officer INTEGER REFERENCES officer (id) ON DELETE SET NULL,
            position INTEGER NOT NULL,
            previous UUID,
            at TIMESTAMPTZ NOT NULL,
            body {binary} NOT NULL
        )""",
        "CREATE INDEX case_message_report ON case_message (report, position)",
        f"""CREATE TABLE case_view (
            id {serial},
            officer INTEGER NOT NULL REFERENCES officer (id) ON DELETE CASCADE,
            report UUID NOT NULL REFERENCES report (id) ON DELETE CASCADE,
            seen_at TIMESTAMPTZ NOT NULL,
            reporter_messages_seen INTEGER NOT NULL DEFAULT 0
        )""",
        "CREATE UNIQUE INDEX case_view_unique ON case_view (officer, report)",
        f"""CREATE TABLE reporter_identity (
            id UUID PRIMARY KEY NOT NULL,
            report UUID NOT NULL REFERENCES report (id) ON DELETE CASCADE,
            at TIMESTAMPTZ NOT NULL,
            body {binary} NOT NULL
        )""",
        "CREATE INDEX reporter_identity_report ON reporter_identity (report)",
        f"""CREATE TABLE identity_reveal (
            id {serial},
            report UUID NOT NULL REFERENCES report (id) ON DELETE CASCADE,
            requested_by INTEGER REFERENCES officer (id) ON DELETE SET NULL,
            requested_at TIMESTAMPTZ NOT NULL,
            reason {binary} NOT NULL,
            decided_by INTEGER REFERENCES officer (id) ON DELETE SET NULL,
            decided_at TIMESTAMPTZ,
            approved BOOLEAN
        )""",
        "CREATE INDEX identity_reveal_report ON identity_reveal (report, id)",
    ]


forwards = sql_migration(
    migration_id=ID,
    description=DESCRIPTION,
    sqlite=_statements("BLOB", "INTEGER PRIMARY KEY NOT NULL"),
    postgres=_statements("BYTEA", "SERIAL PRIMARY KEY"),
)

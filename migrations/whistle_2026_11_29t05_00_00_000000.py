"""Alerts by mail: an optional address on the officer, and the durable mail outbox.

An outbox row says only which officer is to be told what kind of thing needs attention, with
counts (never a case's content, a reporter's words or a tracking code). It is written in the
same transaction as the event, and `whistle worker` sends it, retrying with backoff."""

from whistle.db.migrations import sql_migration

ID = "2026-11-29T05:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "officer e-mail addresses and the mail outbox"


def _statements(serial: str) -> list[str]:
    return [
        "ALTER TABLE officer ADD COLUMN email VARCHAR(254)",
        f"""CREATE TABLE mail_outbox (
            id {serial},
            officer INTEGER NOT NULL REFERENCES officer (id) ON DELETE CASCADE,
            kind VARCHAR(32) NOT NULL,
            payload TEXT NOT NULL,
            created_at TIMESTAMPTZ NOT NULL,
            due_at TIMESTAMPTZ NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0,
            claimed_until TIMESTAMPTZ,
            sent_at TIMESTAMPTZ,
            last_error VARCHAR(64)
        )""",
        # The sender's scan: unsent rows by due time.
        "CREATE INDEX mail_outbox_due ON mail_outbox (due_at) WHERE sent_at IS NULL",
        # Coalescing looks for the officer's waiting row of a kind.
        "CREATE INDEX mail_outbox_officer ON mail_outbox (officer, kind)",
    ]


forwards = sql_migration(
    migration_id=ID,
    description=DESCRIPTION,
    sqlite=_statements("INTEGER PRIMARY KEY NOT NULL"),
    postgres=_statements("SERIAL PRIMARY KEY"),
)

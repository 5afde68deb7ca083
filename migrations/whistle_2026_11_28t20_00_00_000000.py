"""The pending store of reporter-originated writes (published in a batch at the end of each
period) and random case numbers: the per-year counter goes."""

from whistle.db.migrations import sql_migration

ID = "2026-11-28T20:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "pending store for the hourly release; case numbers no longer counted"


def _statements(uuid: str, blob: str) -> list[str]:
    # Only what publishing needs: the payload is ciphertext and wraps made at submission; the
    # times are period boundaries. The random id gives the rows no order of their own.
    return [
        f"""CREATE TABLE pending_item (
            id {uuid} PRIMARY KEY NOT NULL,
            kind VARCHAR(16) NOT NULL,
            lookup_id VARCHAR(64) UNIQUE,
            received_at TIMESTAMPTZ NOT NULL,
            release_at TIMESTAMPTZ NOT NULL,
            payload {blob} NOT NULL
        )""",
        "CREATE INDEX pending_item_release ON pending_item (release_at)",
        "DROP TABLE case_counter",
    ]


forwards = sql_migration(
    migration_id=ID,
    description=DESCRIPTION,
    sqlite=_statements("UUID", "BLOB"),
    postgres=_statements("UUID", "BYTEA"),
)

"""Receipts kept for a resent report: one row per submission token (form) or Idempotency-Key
(API), found by a keyed hash of it, holding the tracking code encrypted under a key derived from
the token, which only the reporter's browser or app holds. Rows expire at a whole hour."""

from whistle.db.migrations import sql_migration

ID = "2026-11-28T23:30:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "submission receipts for resent reports"


def _statements(binary: str) -> list[str]:
    # No creation time and no serial id: neither may tell when a reporter submitted.
    return [
        f"""CREATE TABLE submission_receipt (
            lookup VARCHAR(64) PRIMARY KEY NOT NULL,
            fingerprint VARCHAR(64) NOT NULL,
            sealed_code {binary},
            received_at TIMESTAMPTZ,
            expires_at TIMESTAMPTZ NOT NULL
        )""",
    ]


forwards = sql_migration(
    migration_id=ID,
    description=DESCRIPTION,
    sqlite=_statements("BLOB"),
    postgres=_statements("BYTEA"),
)

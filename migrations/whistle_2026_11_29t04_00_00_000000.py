"""Evidence files: a metadata row per file and its chunks sealed by the streaming AEAD, plus the
chunks of reporter files waiting for the release. No serial id and no exact time on any of them:
neither may order a reporter's file against officer activity."""

from whistle.db.migrations import sql_migration

ID = "2026-11-29T04:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "evidence files stored in encrypted chunks"


def _statements(uuid: str, binary: str) -> list[str]:
    return [
        f"""CREATE TABLE attachment (
            id {uuid} PRIMARY KEY NOT NULL,
            report {uuid} NOT NULL REFERENCES report (id) ON DELETE CASCADE,
            message_id {uuid},
            author VARCHAR(16) NOT NULL,
            kind VARCHAR(16) NOT NULL,
            chunk_count INTEGER NOT NULL,
            file_key {binary} NOT NULL,
            meta {binary} NOT NULL,
            uploaded_at TIMESTAMPTZ NOT NULL
        )""",
        "CREATE INDEX attachment_report ON attachment (report)",
        f"""CREATE TABLE attachment_chunk (
            id {uuid} PRIMARY KEY NOT NULL,
            attachment {uuid} NOT NULL REFERENCES attachment (id) ON DELETE CASCADE,
            idx INTEGER NOT NULL,
            data {binary} NOT NULL
        )""",
        "CREATE UNIQUE INDEX attachment_chunk_position ON attachment_chunk (attachment, idx)",
        f"""CREATE TABLE pending_chunk (
            id {uuid} PRIMARY KEY NOT NULL,
            upload {uuid} NOT NULL,
            idx INTEGER NOT NULL,
            data {binary} NOT NULL,
            received_at TIMESTAMPTZ NOT NULL
        )""",
        "CREATE UNIQUE INDEX pending_chunk_position ON pending_chunk (upload, idx)",
    ]


forwards = sql_migration(
    migration_id=ID,
    description=DESCRIPTION,
    sqlite=_statements("UUID", "BLOB"),
    postgres=_statements("UUID", "BYTEA"),
)

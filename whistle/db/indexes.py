"""The named indexes the migrations create, table by table.

tables.py cannot describe them (partial and expression indexes are written by hand in
migrations/), so they are listed here: tests/integration/test_migrations.py holds the migrated
database to exactly this list on both engines. A migration that adds, drops or renames an index
updates this list in the same change.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class NamedIndex:
    table: str
    unique: bool = False


INDEXES: dict[str, NamedIndex] = {
    "officer_recovery_code_officer": NamedIndex("officer_recovery_code"),
    # One wrap per officer per report; one reporter wrap and one office wrap per report.
    "report_key_officer": NamedIndex("report_key", unique=True),
    "report_key_holder": NamedIndex("report_key", unique=True),
    "report_key_report": NamedIndex("report_key"),
    "report_ack_due": NamedIndex("report"),
    "report_feedback_due": NamedIndex("report"),
    # The inbox's sorts and filters (whistle.cases.inbox; expressions in migration t06).
    "report_inbox_due": NamedIndex("report"),
    "report_inbox_status_due": NamedIndex("report"),
    "report_inbox_priority_due": NamedIndex("report"),
    "report_inbox_category_due": NamedIndex("report"),
    "report_inbox_received": NamedIndex("report"),
    "status_event_report": NamedIndex("status_event"),
    # The release picks the items of ended periods.
    "pending_item_release": NamedIndex("pending_item"),
    # Evidence files: a report's files, a file's chunks in order (one row per index).
    "attachment_report": NamedIndex("attachment"),
    "attachment_chunk_position": NamedIndex("attachment_chunk", unique=True),
    "pending_chunk_position": NamedIndex("pending_chunk", unique=True),
    "web_session_expires": NamedIndex("web_session"),
    "web_session_officer": NamedIndex("web_session"),
    "audit_entry_case": NamedIndex("audit_entry"),
    "audit_entry_actor": NamedIndex("audit_entry"),
    "audit_entry_action": NamedIndex("audit_entry"),
    "audit_entry_at": NamedIndex("audit_entry"),
    "case_assignment_unique": NamedIndex("case_assignment", unique=True),
    "case_assignment_officer": NamedIndex("case_assignment"),
    "case_note_report": NamedIndex("case_note"),
    "recusal_unique": NamedIndex("recusal", unique=True),
    "key_revocation_unique": NamedIndex("key_revocation", unique=True),
    "officer_role_unique": NamedIndex("officer_role", unique=True),
    "officer_role_role": NamedIndex("officer_role"),
}

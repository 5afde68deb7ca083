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
    # One wrap per officer (holder tag) per report; one reporter and one office wrap per report.
    "report_key_officer": NamedIndex("report_key", unique=True),
    "report_key_holder": NamedIndex("report_key", unique=True),
    "report_key_report": NamedIndex("report_key"),
    # An officer's wraps of cases they have not opened (the inbox's "never opened").
    "report_key_unopened": NamedIndex("report_key"),
    # An officer's wraps of cases with a reporter answer they may not have seen, and their
    # unopened wraps, each in the inbox order (copied from report): the unread and new marks.
    "report_key_unseen_answer": NamedIndex("report_key"),
    "report_key_unopened_due": NamedIndex("report_key"),
    # All of an officer's wraps in the inbox order, with the status: a page's report ids
    # without reading report (migration 2026-11-29T15).
    "report_key_inbox_order": NamedIndex("report_key"),
    "report_ack_due": NamedIndex("report"),
    "report_feedback_due": NamedIndex("report"),
    # The inbox's sorts and filters (whistle.cases.inbox; expressions in migration t06).
    "report_inbox_due": NamedIndex("report"),
    "report_inbox_status_due": NamedIndex("report"),
    "report_inbox_priority_due": NamedIndex("report"),
    "report_inbox_category_due": NamedIndex("report"),
    "report_inbox_received": NamedIndex("report"),
    # The retention purge's scan: concluded cases whose content is still there.
    "report_retention": NamedIndex("report"),
    "status_event_report": NamedIndex("status_event"),
    # The release picks the items of ended periods.
    "pending_item_release": NamedIndex("pending_item"),
    # Evidence files: a report's files, a file's chunks in order (one row per index).
    "attachment_report": NamedIndex("attachment"),
    "attachment_chunk_position": NamedIndex("attachment_chunk", unique=True),
    "pending_chunk_position": NamedIndex("pending_chunk", unique=True),
    "web_session_expires": NamedIndex("web_session"),
    "web_session_officer": NamedIndex("web_session"),
    # One "case opened" audit line per case per officer session (whistle.cases.service).
    "session_case_view_once": NamedIndex("session_case_view", unique=True),
    "session_case_view_report": NamedIndex("session_case_view"),
    "audit_entry_case": NamedIndex("audit_entry"),
    "audit_entry_actor": NamedIndex("audit_entry"),
    "audit_entry_action": NamedIndex("audit_entry"),
    "audit_entry_at": NamedIndex("audit_entry"),
    "case_assignment_unique": NamedIndex("case_assignment", unique=True),
    "case_assignment_officer": NamedIndex("case_assignment"),
    "case_note_report": NamedIndex("case_note"),
    "recusal_unique": NamedIndex("recusal", unique=True),
    "key_revocation_unique": NamedIndex("key_revocation", unique=True),
    # Messages, case views and the reporter's identity (migration 2026-11-29T03).
    "report_awaiting_reporter": NamedIndex("report"),
    "report_reporter_messages": NamedIndex("report"),
    # The waiting and unread mark filters in deadline order (migration 2026-11-29T08).
    "report_inbox_waiting": NamedIndex("report"),
    "report_inbox_answered": NamedIndex("report"),
    "case_message_report": NamedIndex("case_message"),
    "case_view_unique": NamedIndex("case_view", unique=True),
    "reporter_identity_report": NamedIndex("reporter_identity"),
    "identity_reveal_report": NamedIndex("identity_reveal"),
    "officer_role_unique": NamedIndex("officer_role", unique=True),
    "officer_role_role": NamedIndex("officer_role"),
    # The mail sender's scan of unsent rows (partial) and the per-officer coalescing look-up.
    "mail_outbox_due": NamedIndex("mail_outbox"),
    "mail_outbox_officer": NamedIndex("mail_outbox"),
}

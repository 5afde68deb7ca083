"""Piccolo tables: the whole schema in one file.

Only workflow metadata is stored in plain text (threat model 1); every column that holds what a
reporter or an officer wrote is a ``Bytea`` of AES-GCM ciphertext under the report's data key.
The DDL lives in migrations/, written and reviewed by hand; these classes (and the index list in
indexes.py) must match it, which tests/integration/test_migrations.py checks on both engines.
"""

from __future__ import annotations

from piccolo.columns import (
    UUID,
    BigInt,
    Boolean,
    Bytea,
    ForeignKey,
    Integer,
    Serial,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.columns.base import OnDelete
from piccolo.table import Table


class Officer(Table, tablename="officer"):
    id = Serial(primary_key=True)
    username = Varchar(length=64, unique=True)
    display_name = Varchar(length=128)
    active = Boolean(default=True)
    password_hash = Text()
    must_change_password = Boolean(default=True)
    # X25519 key pair: the private half is AES-GCM under an Argon2id key from the password.
    public_key = Bytea()
    private_key_protected = Bytea()
    # TOTP secret sealed to the officer's own public key: readable only after the password.
    totp_secret_sealed = Bytea(null=True, default=None)
    # A secret being enrolled: sealed like the active one, promoted once a code from it verifies.
    totp_pending_sealed = Bytea(null=True, default=None)
    # The last TOTP time step accepted: codes of that step or earlier are refused (no replay).
    totp_last_step = BigInt(null=True, default=None)
    created_at = Timestamptz()
    last_login_at = Timestamptz(null=True, default=None)
    # HMAC (keys/) of id, username, roles, active and public key: intake, grants and recovery
    # seal only to rows whose MAC verifies (whistle.officers.roster; migration 2026-11-29t01).
    roster_mac = Varchar(length=64, null=True, default=None)
    # Where alerts go (officer data, never a reporter's); None: this officer gets no mail.
    email = Varchar(length=254, null=True, default=None)
    # Set when the officer's key pair is born or a content role given: cases that existed then
    # were not sealed to them. The admin page lists such officers (while open cases exist they
    # do not hold) with what to do; key recovery clears it. Exclusions stay invisible: the flag
    # records an event, not which cases are missing.
    case_access_pending = Boolean(default=False)


class OfficerRole(Table, tablename="officer_role"):
    """One role of one officer (admin, triage, investigator, auditor).

    Migration t07: unique index officer_role_unique (officer, role), index officer_role_role
    (role, officer) for the role filter, and a CHECK that role is one of the four names."""

    id = Serial(primary_key=True)
    officer = ForeignKey(Officer, null=False, on_delete=OnDelete.cascade)
    role = Varchar(length=16)


class RoleGrantRequest(Table, tablename="role_grant_request"):
    """A content role (triage, investigator) asked for an officer, waiting for a second
    administrator's confirmation (migration t22). ``roles`` is the whole new set and
    ``previous_roles`` the set it was asked against, comma-joined; ``requested_by`` is the
    requesting administrator's username, who may not confirm it."""

    id = Serial(primary_key=True)
    officer = ForeignKey(Officer, null=False, unique=True, on_delete=OnDelete.cascade)
    roles = Varchar(length=64)
    previous_roles = Varchar(length=64)
    requested_by = Varchar(length=64)
    requested_at = Timestamptz()


class OfficerRecoveryCode(Table, tablename="officer_recovery_code"):
    """One-time two-factor recovery codes: only an HMAC of each is stored."""

    id = Serial(primary_key=True)
    officer = ForeignKey(Officer, null=False, on_delete=OnDelete.cascade)
    code_hash = Varchar(length=64, unique=True)
    used_at = Timestamptz(null=True, default=None)


class Report(Table, tablename="report"):
    id = UUID(primary_key=True)
    # Internal case number (year + random Crockford symbols, e.g. 2026-K7QM-4XZ9; older rows
    # 2026-0042): officers only, unrelated to the tracking code.
    case_number = Varchar(length=16, unique=True)
    # SHA-256 (hex) of the first half of the Argon2id derivation of the tracking code.
    lookup_id = Varchar(length=64, unique=True)
    # Version of keys/receipt_params the lookup id and reporter wrap were derived with.
    receipt_version = Integer(default=1)
    category = Varchar(length=32)
    status = Varchar(length=24)
    outcome = Varchar(length=32, null=True, default=None)
    # A code of whistle.reports.statuses.REFERRAL_LABELS; its free-text detail only encrypted.
    referred_to = Varchar(length=64, null=True, default=None)
    referral_detail = Bytea(null=True, default=None)
    priority = Varchar(length=8, default="normal")
    retaliation_risk = Boolean(default=False)
    # Reporter-originated times are kept to the hour (threat model 2).
    received_at = Timestamptz()
    acknowledge_due = Timestamptz()
    acknowledged_at = Timestamptz(null=True, default=None)
    feedback_due = Timestamptz(null=True, default=None)
    updated_at = Timestamptz()
    concluded_at = Timestamptz(null=True, default=None)
    # AES-GCM ciphertext of the report's JSON body (purpose "content"); empty once purged.
    content = Bytea()
    # When the retention purge destroyed the case's content and keys (whistle.cases.retention).
    purged_at = Timestamptz(null=True, default=None)
    # The inbox marks (migration 2026-11-29T03): reporter messages published so far, and
    # whether the team's last message waits for the reporter's answer.
    reporter_messages = Integer(default=0)
    awaiting_reporter = Boolean(default=False)


class ReportKey(Table, tablename="report_key"):
    """One wrap of a report's data key for one holder: the reporter, the office, or an officer.

    An officer's wrap is found by ``holder_tag`` (whistle.reports.envelope.holder_tag: keyed by
    a secret in keys/), never by officer id (migration 2026-11-29t01). ``officer`` is NULL on
    every row written since; older rows keep it until ``whistle keys retag``."""

    id = Serial(primary_key=True)
    report = ForeignKey(Report, null=False, on_delete=OnDelete.cascade)
    holder = Varchar(length=16)
    officer = ForeignKey(Officer, null=True, default=None, on_delete=OnDelete.cascade)
    wrapped = Bytea()
    holder_tag = Varchar(length=32, null=True, default=None)
    # Whether the officer holding this wrap opened the case since it was made (migration
    # 2026-11-29t13): the inbox's "never opened" mark reads the unopened ones.
    opened = Boolean(default=False)
    # Whether a reporter answer arrived since this wrap's holder last opened the case (migration
    # 2026-11-29t14; a candidate: the inbox's unread count checks case_view).
    unseen_answer = Boolean(default=False)
    # An officer wrap's copy of its report's place in the inbox order (open rank, running
    # deadline, case number; migration 2026-11-29t14): "never opened" and "unread answer" walk
    # the officer's wraps in it.
    inbox_rank = Integer(null=True, default=None)
    inbox_due = Timestamptz(null=True, default=None)
    inbox_case = Varchar(length=16, null=True, default=None)
    # And of its status (migration 2026-11-29t15): deep pages and status filters walk the
    # officer's wraps (report_key_inbox_order) and read only the page's reports.
    inbox_status = Varchar(length=24, null=True, default=None)


class StatusEvent(Table, tablename="status_event"):
    """The case timeline; reason and public note are ciphertext under the report key."""

    id = Serial(primary_key=True)
    report = ForeignKey(Report, null=False, on_delete=OnDelete.cascade)
    at = Timestamptz()
    from_status = Varchar(length=24, null=True, default=None)
    to_status = Varchar(length=24)
    officer = ForeignKey(Officer, null=True, default=None, on_delete=OnDelete.restrict)
    reason = Bytea(null=True, default=None)
    public_note = Bytea(null=True, default=None)


class PendingItem(Table, tablename="pending_item"):
    """A reporter-originated write waiting for its period's release (threat model 2).

    ``payload`` holds only what publishing needs, already encrypted at submission (ciphertext
    and key wraps); ``received_at`` is the hour, ``release_at`` the end of its period. A report
    carries its reporter ``lookup_id`` so the reporter can open it before it is published."""

    id = UUID(primary_key=True)
    kind = Varchar(length=16)
    lookup_id = Varchar(length=64, unique=True, null=True, default=None)
    received_at = Timestamptz()
    release_at = Timestamptz()
    payload = Bytea()


class Attachment(Table, tablename="attachment"):
    """An evidence file of a report (migration 2026-11-29T04). Its bytes are in
    ``attachment_chunk``, sealed by the streaming AEAD under the file's own key, which is stored
    here wrapped under the report key; ``meta`` seals its sanitised name and what cleaning
    removed. ``kind`` (jpeg, pdf, ...) was decided from the bytes. A reporter's file is written
    by the release, at its hour; ``message_id`` will tie a file to a message."""

    id = UUID(primary_key=True)
    report = ForeignKey(Report, null=False, on_delete=OnDelete.cascade)
    message_id = UUID(null=True, default=None)
    author = Varchar(length=16)
    kind = Varchar(length=16)
    # The size is only known to within a chunk (64 KiB): the final chunk is padded.
    chunk_count = Integer()
    file_key = Bytea()
    meta = Bytea()
    uploaded_at = Timestamptz()


class AttachmentChunk(Table, tablename="attachment_chunk"):
    """One sealed chunk of a published file; unique (attachment, idx). The id is random and the
    rows of a release are written in shuffled order, so neither tells when a file came in."""

    id = UUID(primary_key=True)
    attachment = ForeignKey(Attachment, null=False, on_delete=OnDelete.cascade)
    idx = Integer()
    data = Bytea()


class PendingChunk(Table, tablename="pending_chunk"):
    """A sealed chunk of a reporter's file not yet released: ``upload`` is the file's id (its
    pending item commits once every chunk is here). ``received_at`` (the hour) lets the release
    sweep the chunks of uploads that never committed."""

    id = UUID(primary_key=True)
    upload = UUID()
    idx = Integer()
    data = Bytea()
    received_at = Timestamptz()


class WebSession(Table, tablename="web_session"):
    """Reporter and officer sessions. Only a hash of the id is stored; the secret the session
    unlocked is AES-GCM under a key derived from the id, which lives only in the cookie."""

    lookup = Varchar(length=64, primary_key=True)
    kind = Varchar(length=16)
    officer = ForeignKey(Officer, null=True, default=None, on_delete=OnDelete.cascade)
    secret = Bytea()
    created_at = Timestamptz()
    last_seen_at = Timestamptz()
    expires_at = Timestamptz()
    # A form an officer was writing when their previous session expired, kept through the
    # login for the page to show again once: AES-GCM under the same key as ``secret``.
    draft = Bytea(null=True, default=None)


class SessionCaseView(Table, tablename="session_case_view"):
    """A case whose opening an officer session has already logged: the audit log gets one
    "case opened" line per case per session, not one per page view."""

    id = Serial(primary_key=True)
    session = ForeignKey(WebSession, null=False, on_delete=OnDelete.cascade)
    report = ForeignKey(Report, null=False, on_delete=OnDelete.cascade)


class SubmissionReceipt(Table, tablename="submission_receipt"):
    """The receipt of a report, kept briefly so a resent form or API retry shows it again
    instead of filing twice (whistle.sessions). Found by a keyed hash of the submission token;
    the code is AES-GCM under a key derived from the token, which only the reporter holds.
    No creation time: ``expires_at`` is a whole hour."""

    lookup = Varchar(length=64, primary_key=True)
    fingerprint = Varchar(length=64)
    sealed_code = Bytea(null=True, default=None)
    received_at = Timestamptz(null=True, default=None)
    expires_at = Timestamptz()


class AuditEntry(Table, tablename="audit_entry"):
    """Append-only, hash-chained log; written only through ``whistle.audit.append``."""

    seq = BigInt(primary_key=True)
    at = Timestamptz()
    actor = Varchar(length=80)
    action = Varchar(length=64)
    case_number = Varchar(length=16, null=True, default=None)
    details = Text()
    prev_hash = Varchar(length=64)
    entry_hash = Varchar(length=64)


class AuditCheckpoint(Table, tablename="audit_checkpoint"):
    """A signed head of the audit chain (append-only); ``whistle.audit.checkpoint`` writes it."""

    seq = BigInt(primary_key=True)
    entry_hash = Varchar(length=64)
    created_at = Timestamptz()
    key_fingerprint = Varchar(length=71)
    signature = Text()  # base64 Ed25519 signature


class JobLease(Table, tablename="job_lease"):
    """Which worker runs a periodic job now (until ``lease_until``) and when it last ran."""

    name = Varchar(length=64, primary_key=True)
    holder = Varchar(length=64, null=True, default=None)
    lease_until = Timestamptz(null=True, default=None)
    last_run_at = Timestamptz(null=True, default=None)


class CaseAssignment(Table, tablename="case_assignment"):
    """An investigator assigned to a case (their key wrap lives in report_key)."""

    id = Serial(primary_key=True)
    report = ForeignKey(Report, null=False, on_delete=OnDelete.cascade)
    officer = ForeignKey(Officer, null=False, on_delete=OnDelete.cascade)
    assigned_by = ForeignKey(Officer, null=True, default=None, on_delete=OnDelete.set_null)
    assigned_at = Timestamptz()


class CaseNote(Table, tablename="case_note"):
    """Internal notes: ciphertext under the report key, never shown to the reporter."""

    id = Serial(primary_key=True)
    report = ForeignKey(Report, null=False, on_delete=OnDelete.cascade)
    officer = ForeignKey(Officer, null=True, default=None, on_delete=OnDelete.set_null)
    at = Timestamptz()
    body = Bytea()


class Recusal(Table, tablename="recusal"):
    """An officer's declared conflict of interest: they hold no key and can never be assigned."""

    id = Serial(primary_key=True)
    report = ForeignKey(Report, null=False, on_delete=OnDelete.cascade)
    officer = ForeignKey(Officer, null=False, on_delete=OnDelete.cascade)
    at = Timestamptz()
    reason = Bytea()


class KeyRevocation(Table, tablename="key_revocation"):
    """A colleague deliberately took this officer's case key: key recovery must not give it
    back (a later deliberate grant deletes the row)."""

    id = Serial(primary_key=True)
    report = ForeignKey(Report, null=False, on_delete=OnDelete.cascade)
    officer = ForeignKey(Officer, null=False, on_delete=OnDelete.cascade)
    at = Timestamptz()


class LegalHold(Table, tablename="legal_hold"):
    """A legal hold set by a triage officer: the retention purge skips the case while it
    stands. The reason is ciphertext under the report key (purpose "legal_hold"); lifting the
    hold deletes the row."""

    id = Serial(primary_key=True)
    report = ForeignKey(Report, null=False, unique=True, on_delete=OnDelete.cascade)
    officer = ForeignKey(Officer, null=True, default=None, on_delete=OnDelete.set_null)
    at = Timestamptz()
    reason = Bytea()


class CaseMessage(Table, tablename="case_message"):
    """A message between the reporter and the case team: ciphertext under the report key, bound
    to its id, report, author kind, ``position`` and ``previous`` (the message its writer saw
    last), so rows cannot be swapped, reordered or moved (whistle.reports.messages). A reporter's
    message is published by the hourly release and carries its hour."""

    id = UUID(primary_key=True)
    report = ForeignKey(Report, null=False, on_delete=OnDelete.cascade)
    author = Varchar(length=16)
    officer = ForeignKey(Officer, null=True, default=None, on_delete=OnDelete.set_null)
    position = Integer()
    previous = UUID(null=True, default=None)
    at = Timestamptz()
    body = Bytea()


class OfficerCaseView(Table, tablename="case_view"):
    """When an officer last opened a case page, and how many reporter messages it had then:
    the inbox marks new cases and unread answers from it."""

    id = Serial(primary_key=True)
    officer = ForeignKey(Officer, null=False, on_delete=OnDelete.cascade)
    report = ForeignKey(Report, null=False, on_delete=OnDelete.cascade)
    seen_at = Timestamptz()
    reporter_messages_seen = Integer(default=0)


class ReporterIdentity(Table, tablename="reporter_identity"):
    """A name and contact the reporter chose to give: ciphertext under its own purpose, shown to
    officers only after an approved reveal (IdentityReveal)."""

    id = UUID(primary_key=True)
    report = ForeignKey(Report, null=False, on_delete=OnDelete.cascade)
    at = Timestamptz()
    body = Bytea()


class IdentityReveal(Table, tablename="identity_reveal"):
    """A request to reveal the reporter's identity: its reason (ciphertext) and who asked; a
    different triage officer approves or rejects it (``approved`` null while waiting)."""

    id = Serial(primary_key=True)
    report = ForeignKey(Report, null=False, on_delete=OnDelete.cascade)
    requested_by = ForeignKey(Officer, null=True, default=None, on_delete=OnDelete.set_null)
    requested_at = Timestamptz()
    reason = Bytea()
    decided_by = ForeignKey(Officer, null=True, default=None, on_delete=OnDelete.set_null)
    decided_at = Timestamptz(null=True, default=None)
    approved = Boolean(null=True, default=None)


class SystemSetting(Table, tablename="system_setting"):
    """Settings an administrator changes at run time (e.g. two-factor required for all)."""

    key = Varchar(length=64, primary_key=True)
    value = Text()


class LoginThrottle(Table, tablename="login_throttle"):
    """Password attempts per account name, keyed by HMAC-SHA256(web secret, username): unknown
    and known usernames are counted alike, and no username is stored. ``failures`` counts the
    attempts reserved in the current episode, ``episodes`` the locks so far."""

    key = Varchar(length=64, primary_key=True)
    failures = Integer(default=0)
    locked_until = Timestamptz(null=True, default=None)
    episodes = Integer(default=0)


class MailOutbox(Table, tablename="mail_outbox"):
    """An alert waiting for `whistle worker` to mail it (whistle.notify): written in the event's
    own transaction, holding the kind and counts only, never content, names of reporters or codes.
    The address is read at sending time. ``claimed_until`` is the sending worker's lease;
    ``attempts`` and ``due_at`` carry the backoff; a sent row is kept briefly, then deleted."""

    id = Serial(primary_key=True)
    officer = ForeignKey(Officer, null=False, on_delete=OnDelete.cascade)
    kind = Varchar(length=32)
    payload = Text()
    created_at = Timestamptz()
    due_at = Timestamptz()
    attempts = Integer(default=0)
    claimed_until = Timestamptz(null=True, default=None)
    sent_at = Timestamptz(null=True, default=None)
    # The SMTP error's class name of the last failed attempt (never its message or an address).
    last_error = Varchar(length=64, null=True, default=None)


ALL_TABLES: list[type[Table]] = [
    Officer,
    OfficerRole,
    RoleGrantRequest,
    OfficerRecoveryCode,
    Report,
    ReportKey,
    StatusEvent,
    PendingItem,
    Attachment,
    AttachmentChunk,
    PendingChunk,
    WebSession,
    SessionCaseView,
    SubmissionReceipt,
    AuditEntry,
    AuditCheckpoint,
    JobLease,
    CaseAssignment,
    CaseNote,
    Recusal,
    KeyRevocation,
    LegalHold,
    CaseMessage,
    OfficerCaseView,
    ReporterIdentity,
    IdentityReveal,
    SystemSetting,
    LoginThrottle,
    MailOutbox,
]

"""The reporter's side: file a report, open it with the tracking code, read its status.

Nothing here knows about HTTP. Reporter-originated times are kept to the hour, and nothing that
identifies the reporter's device is ever passed in.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from whistle import sessions
from whistle.clock import to_the_hour
from whistle.context import Context
from whistle.crypto import (
    DecryptionError,
    derive_reporter_secrets,
    new_tracking_code,
    normalise_tracking_code,
)
from whistle.crypto import InvalidTrackingCode as MalformedCode
from whistle.crypto.stream import CHUNK_BYTES
from whistle.db import engine as db
from whistle.db.tables import IdentityReveal, Report, ReporterIdentity, StatusEvent
from whistle.errors import (
    Conflict,
    InvalidTrackingCode,
    NotAuthenticated,
    NotFound,
    ValidationFailed,
)
from whistle.evidence import store as evidence
from whistle.i18n import N_
from whistle.inputs import has_control_characters
from whistle.intake import release
from whistle.officers.roles import (
    INVESTIGATOR,
    TRIAGE,
    RoleHolder,
    officers_with_role,
)
from whistle.reports import envelope, messages, statuses
from whistle.reports.content import ReportInput


@dataclass(frozen=True)
class Receipt:
    tracking_code: str
    status: str
    received_at: datetime


@dataclass(frozen=True)
class TimelineEntry:
    status: str
    at: datetime
    public_note: str | None


@dataclass(frozen=True)
class ReporterView:
    status: str
    status_since: datetime
    received_at: datetime
    outcome: str | None
    referred_to: str | None
    # The dates the office committed to: to answer by acknowledge_due; once it answered
    # (acknowledged_at), to give its result by feedback_due.
    acknowledge_due: datetime
    acknowledged_at: datetime | None
    feedback_due: datetime | None
    timeline: list[TimelineEntry]
    # None once the retention purge destroyed the content (on ``purged_at``).
    report: ReportInput | None
    # Until the release publishes it: when it reaches the integrity team (None once it has).
    release_at: datetime | None = None
    purged_at: datetime | None = None

    @property
    def is_open(self) -> bool:
        """Whether the office still owes the reporter an answer (the deadlines still run)."""
        return self.status in statuses.OPEN_STATUSES


@dataclass(frozen=True)
class ExcludableOfficer:
    id: int
    display_name: str
    # The case-reading roles they hold (triage, investigator): a name alone may not tell the
    # reporter who this is.
    roles: tuple[str, ...]


# The last list of excludable officers with the database's change marker when it was read.
_excludable: tuple[Hashable, list[ExcludableOfficer]] | None = None


async def excludable_officers() -> list[ExcludableOfficer]:
    """Officers a reporter may exclude for conflict of interest (anyone who could read cases).

    Every report form shows them: the list is kept until anything is committed to the database
    (by any process), so an officer added, disabled or given other roles shows at once, and a
    roster row altered behind the application's back drops out at once (db.change_marker;
    without a marker, PostgreSQL, it is read every time)."""
    global _excludable
    marker = db.change_marker()
    if marker is not None and _excludable is not None and _excludable[0] == marker:
        return list(_excludable[1])
    officers = [
        ExcludableOfficer(
            officer.id,
            officer.display_name,
            tuple(role for role in officer.roles if role in (INVESTIGATOR, TRIAGE)),
        )
        for officer in await officers_with_role(TRIAGE, INVESTIGATOR)
    ]
    if marker is not None:
        _excludable = (marker, officers)
    return list(officers)


async def _readers(report: ReportInput) -> list[RoleHolder]:
    """The triage officers the report is sealed to: every active one the reporter did not
    exclude. Excluding all of them is refused (nobody could read the report)."""
    triage = await officers_with_role(TRIAGE)
    readers = [officer for officer in triage if officer.id not in report.excluded_officers]
    if triage and not readers:
        raise ValidationFailed(
            {
                "excluded_officers": N_(
                    "Sisakan paling sedikit satu petugas Tim WBS yang dapat membaca laporan."
                )
            }
        )
    return readers


def new_report_identity() -> tuple[uuid.UUID, bytes]:
    """A new report's id and data key, made before it is filed when files arrive with it."""
    return uuid.uuid4(), envelope.new_report_key()


async def submit_report(
    ctx: Context,
    report: ReportInput,
    *,
    identity: tuple[str, str] | None = None,
    with_receipt: Callable[[Receipt], Awaitable[None]] | None = None,
    report_id: uuid.UUID | None = None,
    data_key: bytes | None = None,
    files: Sequence[evidence.SealedFile] = (),
) -> Receipt:
    """Encrypt a new report and commit it to the pending store; return the receipt with the one
    copy of the code.

    The data key is wrapped for the reporter (code-derived key), the office recovery key and
    every active triage officer the reporter did not exclude. Everything is sealed here and
    stored in one pending item, committed before the receipt is shown (an acknowledged report
    is never lost); the release at the end of the period publishes it to the case tables
    (``whistle.intake.release``), so nothing written now orders it against officer activity.
    An ``identity`` (name, contact) the reporter chose to give is sealed under its own purpose
    and held beside the report (published after it in the same release).
    ``with_receipt`` runs in the same transaction (keeping the receipt of a resendable form):
    the report and its receipt commit together or not at all.

    Files sent with the form were sealed as they arrived, under ``data_key`` for ``report_id``
    (both made by the caller, see ``new_report_identity``); they are held in the same
    transaction, so the report, its identity, its evidence and its kept receipt commit or fail
    together.
    """
    code = new_tracking_code()
    # The receipt costs fixed in keys/, not the settings: a later raise must not change them.
    reporter = await ctx.submission_kdf.run(
        derive_reporter_secrets, code, ctx.keyring.receipt_salt, ctx.keyring.receipt_params[-1]
    )
    if report_id is None or data_key is None:
        report_id, data_key = new_report_identity()
    now = datetime.now(UTC)
    received_at = to_the_hour(now)
    content = envelope.seal_content(report_id, data_key, report)
    async with db.transaction():
        wraps = (
            envelope.wrap_for_reporter(report_id, data_key, reporter.wrapping_key),
            envelope.wrap_for_office(report_id, data_key, ctx.keyring.office_public_key),
            *(
                envelope.wrap_for_officer(report_id, data_key, officer.id, officer.public_key)
                for officer in await _readers(report)
            ),
        )
        await release.hold_report(
            ctx,
            release.PendingReport(
                report_id=report_id,
                lookup_id=reporter.lookup_id.hex(),
                category=report.category,
                content=content,
                wraps=wraps,
                received_at=received_at,
                receipt_version=ctx.keyring.receipt_version,
            ),
            now,
        )
        if identity is not None:
            identity_id = uuid.uuid4()
            body = envelope.seal_identity(report_id, data_key, identity_id, *identity)
            await release.hold_identity(
                ctx, release.PendingIdentity(identity_id, report_id, body, received_at), now
            )
        for sealed in files:
            await release.hold_attachment(ctx, sealed, now)
        receipt = Receipt(tracking_code=code, status=statuses.RECEIVED, received_at=received_at)
        if with_receipt is not None:
            await with_receipt(receipt)
    return receipt


async def unlock_with_code(ctx: Context, code: str) -> tuple[uuid.UUID, bytes]:
    """Derive the code's lookup id and wrapping key; return (report id, data key).

    The current receipt costs are tried first, then each earlier version (newest first), so a
    code issued before the costs were raised still opens; such a report is then moved to the
    current version. Every failure (malformed, unknown, undecryptable) raises the same
    InvalidTrackingCode, after the same derivations: a malformed code costs what an unknown
    one does, so timing does not tell them apart.
    """
    try:
        normalised = normalise_tracking_code(code)
    except MalformedCode:
        normalised = None
    for version in range(ctx.keyring.receipt_version, 0, -1):
        reporter = await ctx.lookup_kdf.run(
            derive_reporter_secrets,
            normalised or "0" * 16,
            ctx.keyring.receipt_salt,
            ctx.keyring.receipt_params_of(version),
        )
        # Both places are read every time: the published report, or the one still pending.
        lookup_id = reporter.lookup_id.hex()
        found = (
            None
            if normalised is None
            else await envelope.reporter_wrap(lookup_id)
            or await release.pending_reporter_wrap(lookup_id)
            or await _purged_report(lookup_id)
        )
        if found is not None:
            break
    if normalised is None or found is None:
        raise InvalidTrackingCode()
    report_id, wrapped, stored_version = found
    if wrapped == _NO_WRAP_LEFT:
        # Purged: no key remains to open. The lookup id matched, which only the code gives, so
        # the reporter may read what is left (status and dates).
        return report_id, b""
    try:
        data_key = envelope.unwrap_for_reporter(report_id, wrapped, reporter.wrapping_key)
    except DecryptionError:
        raise InvalidTrackingCode() from None
    if stored_version != ctx.keyring.receipt_version:
        await _move_to_current_receipt_version(ctx, report_id, data_key, normalised)
    return report_id, data_key


# The "wrap" of a purged report: every wrap was destroyed with its content.
_NO_WRAP_LEFT = b""


async def _purged_report(lookup_id: str) -> tuple[uuid.UUID, bytes, int] | None:
    """(report id, no wrap, version) of a report whose content the retention purge destroyed."""
    row = (
        await Report.select(Report.id, Report.receipt_version)
        .where((Report.lookup_id == lookup_id) & Report.purged_at.is_not_null())
        .first()
    )
    return None if row is None else (row["id"], _NO_WRAP_LEFT, row["receipt_version"])


async def _move_to_current_receipt_version(
    ctx: Context, report_id: uuid.UUID, data_key: bytes, code: str
) -> None:
    """Re-derive an opened code with the current receipt costs and re-wrap its report key, so
    the next look-up takes one derivation and the old, cheaper one no longer opens it."""
    current = await ctx.lookup_kdf.run(
        derive_reporter_secrets, code, ctx.keyring.receipt_salt, ctx.keyring.receipt_params[-1]
    )
    async with db.transaction():
        await envelope.replace_reporter_wrap(
            report_id,
            data_key,
            current.lookup_id.hex(),
            current.wrapping_key,
            ctx.keyring.receipt_version,
        )


async def start_reporter_session(ctx: Context, code: str) -> str:
    """Open the report with its code and keep it unlocked in a short reporter session."""
    report_id, data_key = await unlock_with_code(ctx, code)
    return await sessions.create_session(
        sessions.REPORTER,
        report_id.bytes + data_key,
        lifetime=timedelta(minutes=ctx.settings.reporter_idle_minutes * 3),
    )


async def reporter_session(ctx: Context, token: str | None) -> tuple[uuid.UUID, bytes]:
    session = await sessions.load_session(
        token, sessions.REPORTER, idle=timedelta(minutes=ctx.settings.reporter_idle_minutes)
    )
    if session is None:
        raise NotAuthenticated(N_("Sesi berakhir. Masukkan kode pelacakan Anda lagi."))
    return uuid.UUID(bytes=session.secret[:16]), session.secret[16:]


async def reporter_view(ctx: Context, report_id: uuid.UUID, data_key: bytes) -> ReporterView:
    """What the reporter sees: status in plain words, public notes, and their own report.

    Before the release publishes it, the view comes from the pending item the reporter's key
    opens: received at its hour, reaching the team at ``release_at``."""
    row = await Report.objects().where(Report.id == report_id).first()
    if row is None:
        return await _pending_view(ctx, report_id, data_key)
    purged = row.purged_at is not None
    report = None if purged else envelope.open_content(report_id, data_key, row.content)
    events = (
        await StatusEvent.select(StatusEvent.to_status, StatusEvent.at, StatusEvent.public_note)
        .where(StatusEvent.report == report_id)
        .order_by(StatusEvent.id)
    )
    timeline = [
        TimelineEntry(
            status=event["to_status"],
            at=event["at"],
            public_note=(
                envelope.open_field(report_id, data_key, envelope.PUBLIC_NOTE, event["public_note"])
                if event["public_note"]
                else None
            ),
        )
        for event in events
    ]
    return ReporterView(
        status=row.status,
        status_since=timeline[-1].at if timeline else row.received_at,
        received_at=row.received_at,
        outcome=row.outcome,
        referred_to=row.referred_to,
        acknowledge_due=row.acknowledge_due,
        acknowledged_at=row.acknowledged_at,
        feedback_due=row.feedback_due,
        timeline=timeline,
        report=report,
        purged_at=row.purged_at,
    )


async def _pending_view(ctx: Context, report_id: uuid.UUID, data_key: bytes) -> ReporterView:
    found = await release.pending_report(report_id)
    if found is None:
        raise NotAuthenticated()
    item, release_at = found
    received = TimelineEntry(status=statuses.RECEIVED, at=item.received_at, public_note=None)
    return ReporterView(
        status=statuses.RECEIVED,
        status_since=item.received_at,
        received_at=item.received_at,
        outcome=None,
        referred_to=None,
        # What the release will record (whistle.intake.release): the same deadline.
        acknowledge_due=item.received_at + timedelta(days=ctx.settings.acknowledge_days),
        acknowledged_at=None,
        feedback_due=None,
        timeline=[received],
        report=envelope.open_content(report_id, data_key, item.content),
        release_at=release_at,
    )


async def end_reporter_session(token: str | None) -> None:
    await sessions.destroy_session(token, sessions.REPORTER)


# --- the dialogue with the case team -------------------------------------------------------


async def reporter_messages(report_id: uuid.UUID, data_key: bytes) -> list[messages.Message]:
    """The dialogue as the reporter sees it: the published messages and their own messages
    still waiting for the release (marked pending), in order."""
    return messages.open_dialogue(
        report_id,
        data_key,
        [*await messages.published(report_id), *await release.pending_messages(report_id)],
    )


async def send_reporter_message(
    ctx: Context,
    report_id: uuid.UUID,
    data_key: bytes,
    text: str | None,
    files: Sequence[evidence.SealedFile] = (),
    *,
    with_receipt: Callable[[list[uuid.UUID], datetime], Awaitable[None]] | None = None,
) -> messages.Message:
    """Seal the reporter's message after the last one they see and hold it for the release
    (threat model 2: stored to the hour, published in the shuffled batch); returns it as the
    reporter sees it at once.

    ``files`` (received for this report, chunks pending) are held in the same transaction,
    tied to the message, and published with it; on any failure they are discarded.
    ``with_receipt`` (given the message's id and release time) runs in the same transaction."""
    try:
        text = messages.check_text(text)
        now = datetime.now(UTC)
        async with db.transaction():
            seen = await reporter_messages(report_id, data_key)
            sealed = messages.new_message(
                report_id, data_key, messages.REPORTER, text, seen, to_the_hour(now)
            )
            release_at = await release.hold_message(ctx, sealed, now)
            for file in files:
                await release.hold_attachment(ctx, file.with_message(sealed.id), now)
            if with_receipt is not None:
                await with_receipt([sealed.id], release_at)
    except BaseException:
        for file in files:
            await evidence.discard(file.id)
        raise
    return messages.Message(
        id=sealed.id,
        author=sealed.author,
        position=sealed.position,
        previous=sealed.previous,
        at=sealed.at,
        text=text,
        pending=True,
        release_at=release_at,
    )


# --- the identity the reporter may choose to give ------------------------------------------

IDENTITY_NAME_MAX = 200
IDENTITY_CONTACT_MAX = 500


@dataclass(frozen=True)
class Reveal:
    """An approved reveal of the reporter's identity, as the reporter is told of it."""

    at: datetime
    reason: str


@dataclass(frozen=True)
class IdentityStatus:
    """Whether the reporter gave an identity (published or still pending), and every time the
    team revealed it, with the reason."""

    given: bool
    pending: bool
    reveals: list[Reveal]


def check_identity(name: str | None, contact: str | None, *, prefix: str = "") -> tuple[str, str]:
    """Name and contact as they will be sealed, or ValidationFailed naming the field (its
    name after ``prefix``: the report form calls them identity_name, identity_contact)."""
    name, contact = (name or "").strip(), (contact or "").strip()
    errors = {}
    if not name and not contact:
        errors["name"] = N_("Isi nama atau kontak Anda (atau keduanya).")
    if len(name) > IDENTITY_NAME_MAX:
        errors["name"] = N_("Nama terlalu panjang (paling banyak 200 huruf).")
    if len(contact) > IDENTITY_CONTACT_MAX:
        errors["contact"] = N_("Kontak terlalu panjang (paling banyak 500 huruf).")
    for field, value in (("name", name), ("contact", contact)):
        if has_control_characters(value):
            errors[field] = N_("Isian ini memuat karakter yang tidak diizinkan.")
    if errors:
        raise ValidationFailed({prefix + field: message for field, message in errors.items()})
    return name, contact


async def give_identity(
    ctx: Context, report_id: uuid.UUID, data_key: bytes, name: str | None, contact: str | None
) -> datetime:
    """Seal the reporter's name and contact under their own purpose and hold them for the
    release like any reporter write; returns when they reach the team."""
    name, contact = check_identity(name, contact)
    now = datetime.now(UTC)
    identity_id = uuid.uuid4()
    body = envelope.seal_identity(report_id, data_key, identity_id, name, contact)
    async with db.transaction():
        return await release.hold_identity(
            ctx, release.PendingIdentity(identity_id, report_id, body, to_the_hour(now)), now
        )


async def identity_status(report_id: uuid.UUID, data_key: bytes) -> IdentityStatus:
    """What the reporter is told about their identity: given, pending, revealed (when, why)."""
    given = await ReporterIdentity.exists().where(ReporterIdentity.report == report_id)
    pending = bool(await release.pending_identities(report_id))
    rows = (
        await IdentityReveal.select(IdentityReveal.decided_at, IdentityReveal.reason)
        .where((IdentityReveal.report == report_id) & (IdentityReveal.approved.eq(True)))
        .order_by(IdentityReveal.id)
    )
    reveals = []
    for row in rows:
        try:
            reason = envelope.open_reveal_reason(report_id, data_key, row["reason"])
        except DecryptionError:
            reason = ""
        reveals.append(Reveal(at=row["decided_at"], reason=reason))
    return IdentityStatus(given=given, pending=pending, reveals=reveals)


# --- evidence files -------------------------------------------------------------------------


def new_report_budget(ctx: Context) -> evidence.Budget:
    """What the files sent with a new report may take: the whole per-report allowance."""
    return evidence.Budget(
        files=ctx.settings.evidence_files_per_report,
        bytes=ctx.settings.evidence_report_bytes,
        file_bytes=ctx.settings.evidence_file_bytes,
    )


async def evidence_budget(ctx: Context, report_id: uuid.UUID) -> evidence.Budget:
    """What the report may still take: its published and pending reporter files count."""
    files, stored = await evidence.usage(report_id)
    pending = await release.pending_attachments(report_id)
    files += len(pending)
    stored += sum(record["chunks"] for record, _ in pending) * CHUNK_BYTES
    return evidence.Budget(
        files=max(0, ctx.settings.evidence_files_per_report - files),
        bytes=max(0, ctx.settings.evidence_report_bytes - stored),
        file_bytes=ctx.settings.evidence_file_bytes,
    )


async def add_evidence(
    ctx: Context,
    files: list[evidence.SealedFile],
    now: datetime | None = None,
    *,
    with_receipt: Callable[[datetime], Awaitable[None]] | None = None,
) -> datetime | None:
    """Commit received files to the pending store, together or not at all; returns when they
    will reach the integrity team (None for no files). A failure discards their chunks.
    ``with_receipt`` (given the release time) runs in the same transaction."""
    if not files:
        return None
    now = now or datetime.now(UTC)
    try:
        async with db.transaction():
            for sealed in files:
                release_at = await release.hold_attachment(ctx, sealed, now)
            if with_receipt is not None:
                await with_receipt(release_at)
    except BaseException:
        for sealed in files:
            await evidence.discard(sealed.id)
        raise
    return release_at


NOT_YOUR_MESSAGE = N_("Pesan ini tidak ditemukan di antara pesan Anda.")


async def with_own_message(
    report_id: uuid.UUID, data_key: bytes, files: list[evidence.SealedFile], message_id: Any
) -> list[evidence.SealedFile]:
    """The files tied to ``message_id`` (sent as a form field; none: the files unchanged),
    which must name one of the reporter's own messages to this report; otherwise the files
    are discarded and ValidationFailed names the field."""
    if message_id is None or message_id == "":
        return files
    try:
        wanted = uuid.UUID(message_id) if isinstance(message_id, str) else None
    except ValueError:
        wanted = None
    own = {
        message.id
        for message in await reporter_messages(report_id, data_key)
        if message.author == messages.REPORTER and not message.damaged
    }
    if wanted is None or wanted not in own:
        for sealed in files:
            await evidence.discard(sealed.id)
        raise ValidationFailed({"message_id": NOT_YOUR_MESSAGE})
    return [sealed.with_message(wanted) for sealed in files]


async def reporter_files(report_id: uuid.UUID, data_key: bytes) -> list[evidence.FileInfo]:
    """The reporter's view of the report's files: published ones, then those still pending."""
    published = await evidence.files_of(report_id, data_key)
    pending = [
        evidence.describe(report_id, data_key, record, evidence.AUTHOR_REPORTER, at, pending=True)
        for record, at in await release.pending_attachments(report_id)
    ]
    return [
        *(info for info in published if info.author == evidence.AUTHOR_REPORTER),
        *sorted(pending, key=lambda info: info.name),
    ]


async def dialogue_files(report_id: uuid.UUID, data_key: bytes) -> list[evidence.FileInfo]:
    """The files sent with messages that the reporter sees: the officers' (published at once)
    and their own, published or still pending."""
    published = await evidence.files_of(report_id, data_key)
    pending = [
        evidence.describe(report_id, data_key, record, evidence.AUTHOR_REPORTER, at, pending=True)
        for record, at in await release.pending_attachments(report_id)
    ]
    return [info for info in [*published, *pending] if info.message_id is not None]


SENT_FILE_NOT_FOUND = N_("Berkas tidak ditemukan.")
SENT_FILE_DAMAGED = N_("Berkas ini rusak atau telah diubah sehingga tidak dapat diunduh.")


@dataclass(frozen=True)
class SentFile:
    """An officer's file, verified whole, ready to stream to the reporter."""

    info: evidence.FileInfo
    size: int
    content: AsyncIterator[bytes]


async def download_sent_file(report_id: uuid.UUID, data_key: bytes, file_id: uuid.UUID) -> SentFile:
    """A file an officer sent the reporter with a message, checked whole before anything is
    served. NotFound for any other file (another report's, the reporter's own, an officer file
    not sent with a message), like a missing one; Conflict for a damaged one.

    Not audited: an entry would record when the reporter is active, the very timing the
    release hides (threat model 2); reading is no change to the case."""
    try:
        opened = await evidence.open_file(report_id, data_key, file_id, sent_to_reporter=True)
        if opened is None:
            raise NotFound(SENT_FILE_NOT_FOUND)
        size = await opened.verify()
    except DecryptionError:
        raise Conflict(SENT_FILE_DAMAGED) from None
    return SentFile(info=opened.info, size=size, content=opened.plaintext())

"""The reporter's side: file a report, open it with the tracking code, read its status.

Nothing here knows about HTTP. Reporter-originated times are kept to the hour, and nothing that
identifies the reporter's device is ever passed in.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from whistle import audit, sessions
from whistle.audit import actions
from whistle.clock import to_the_hour
from whistle.context import Context
from whistle.crypto import (
    DecryptionError,
    ReporterSecrets,
    derive_reporter_secrets,
    new_tracking_code,
    normalise_tracking_code,
)
from whistle.crypto import InvalidTrackingCode as MalformedCode
from whistle.db import engine as db
from whistle.db.tables import Report, StatusEvent
from whistle.errors import InvalidTrackingCode, NotAuthenticated, ValidationFailed
from whistle.i18n import N_
from whistle.officers.roles import INVESTIGATOR, TRIAGE, RoleHolder, officers_with_role
from whistle.reports import envelope, statuses
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
    report: ReportInput

    @property
    def is_open(self) -> bool:
        """Whether the office still owes the reporter an answer (the deadlines still run)."""
        return self.status in statuses.OPEN_STATUSES


@dataclass(frozen=True)
class ExcludableOfficer:
    id: int
    display_name: str


async def excludable_officers() -> list[ExcludableOfficer]:
    """Officers a reporter may exclude for conflict of interest (anyone who could read cases)."""
    return [
        ExcludableOfficer(officer.id, officer.display_name)
        for officer in await officers_with_role(TRIAGE, INVESTIGATOR)
    ]


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


async def _next_case_number(year: int) -> str:
    """Unique under concurrency: the upsert takes the counter row's lock until commit."""
    rows = await db.fetch(
        "INSERT INTO case_counter (year, last_number) VALUES ({}, 1) "
        "ON CONFLICT (year) DO UPDATE SET last_number = case_counter.last_number + 1 "
        "RETURNING last_number",
        year,
    )
    return f"{year}-{rows[0]['last_number']:04d}"


async def submit_report(ctx: Context, report: ReportInput) -> Receipt:
    """Encrypt and store a new report; return the receipt with the one copy of the code.

    The data key is wrapped for the reporter (code-derived key), the office recovery key and
    every active triage officer the reporter did not exclude. Report, wraps, timeline and audit
    entry commit together or not at all.
    """
    code = new_tracking_code()
    reporter = await ctx.submission_kdf.run(
        derive_reporter_secrets, code, ctx.keyring.receipt_salt, ctx.settings.argon2
    )
    report_id = uuid.uuid4()
    data_key = envelope.new_report_key()
    received_at = to_the_hour(datetime.now(UTC))
    content = envelope.seal_content(report_id, data_key, report)
    async with db.transaction():
        wraps = [
            envelope.wrap_for_reporter(report_id, data_key, reporter.wrapping_key),
            envelope.wrap_for_office(report_id, data_key, ctx.keyring.office_public_key),
            *(
                envelope.wrap_for_officer(report_id, data_key, officer.id, officer.public_key)
                for officer in await _readers(report)
            ),
        ]
        case_number = await _store_report(
            ctx, report_id, reporter, report.category, content, received_at
        )
        await envelope.store_wraps(*wraps)
        await audit.append(
            actions.REPORT_RECEIVED,
            actor="reporter",
            case_number=case_number,
            details={"category": report.category, "key_holders": len(wraps)},
            at=received_at,
        )
    return Receipt(tracking_code=code, status=statuses.RECEIVED, received_at=received_at)


async def _store_report(
    ctx: Context,
    report_id: uuid.UUID,
    reporter: ReporterSecrets,
    category: str,
    content: bytes,
    received_at: datetime,
) -> str:
    """Insert the report row (status received) and its first timeline entry; returns its
    case number."""
    case_number = await _next_case_number(received_at.year)
    await Report.insert(
        Report(
            id=report_id,
            case_number=case_number,
            lookup_id=reporter.lookup_id.hex(),
            category=category,
            status=statuses.RECEIVED,
            priority="normal",
            retaliation_risk=False,
            received_at=received_at,
            acknowledge_due=received_at + timedelta(days=ctx.settings.acknowledge_days),
            updated_at=received_at,
            content=content,
        )
    )
    await StatusEvent.insert(
        StatusEvent(report=report_id, at=received_at, to_status=statuses.RECEIVED)
    )
    return case_number


async def unlock_with_code(ctx: Context, code: str) -> tuple[uuid.UUID, bytes]:
    """Derive the code's lookup id and wrapping key; return (report id, data key).

    Every failure (malformed, unknown, undecryptable) raises the same InvalidTrackingCode. A
    malformed code still costs one derivation, so timing does not tell the cases apart.
    """
    try:
        normalised = normalise_tracking_code(code)
    except MalformedCode:
        normalised = None
    reporter = await ctx.lookup_kdf.run(
        derive_reporter_secrets,
        normalised or "0" * 16,
        ctx.keyring.receipt_salt,
        ctx.settings.argon2,
    )
    if normalised is None:
        raise InvalidTrackingCode()
    found = await envelope.reporter_wrap(reporter.lookup_id.hex())
    if found is None:
        raise InvalidTrackingCode()
    report_id, wrapped = found
    try:
        data_key = envelope.unwrap_for_reporter(report_id, wrapped, reporter.wrapping_key)
    except DecryptionError:
        raise InvalidTrackingCode() from None
    return report_id, data_key


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


async def reporter_view(report_id: uuid.UUID, data_key: bytes) -> ReporterView:
    """What the reporter sees: status in plain words, public notes, and their own report."""
    row = await Report.objects().where(Report.id == report_id).first()
    if row is None:
        raise NotAuthenticated()
    report = envelope.open_content(report_id, data_key, row.content)
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
    )


async def end_reporter_session(token: str | None) -> None:
    await sessions.destroy_session(token, sessions.REPORTER)

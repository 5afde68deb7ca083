"""The reporter's side: file a report, open it with the tracking code, read its status.

Nothing here knows about HTTP. Reporter-originated times are kept to the hour, and nothing that
identifies the reporter's device is ever passed in.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from whistle import audit, sessions
from whistle.audit import actions
from whistle.cases import statuses
from whistle.context import Context
from whistle.crypto import (
    DecryptionError,
    associated_data,
    decrypt,
    derive_reporter_secrets,
    encrypt,
    new_data_key,
    new_tracking_code,
    normalise_tracking_code,
    seal,
    unwrap_key,
    wrap_key,
)
from whistle.crypto import InvalidTrackingCode as MalformedCode
from whistle.db import engine as db
from whistle.db.tables import Officer, Report, ReportKey, StatusEvent
from whistle.errors import InvalidTrackingCode, NotAuthenticated, ValidationFailed
from whistle.i18n import N_
from whistle.reports.content import ReportInput

HOLDER_REPORTER = "reporter"
HOLDER_OFFICE = "office"
HOLDER_OFFICER = "officer"
CONTENT = "content"


def key_purpose(holder: str, officer_id: int | None = None) -> str:
    return f"key:{holder}" if officer_id is None else f"key:{holder}:{officer_id}"


def hour(moment: datetime) -> datetime:
    """Reporter-originated times are stored to the hour (threat model 2)."""
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


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
    timeline: list[TimelineEntry]
    report: ReportInput


@dataclass(frozen=True)
class ExcludableOfficer:
    id: int
    display_name: str
    # The case-reading roles they hold (triage, investigator): a name alone may not tell the
    # reporter who this is.
    roles: tuple[str, ...]


async def excludable_officers() -> list[ExcludableOfficer]:
    """Officers a reporter may exclude for conflict of interest (anyone who could read cases)."""
    rows = (
        await Officer.select(Officer.id, Officer.display_name, Officer.roles)
        .where(
            Officer.active == True  # noqa: E712 - piccolo builds SQL from the comparison
        )
        .order_by(Officer.display_name)
    )
    officers = []
    for row in rows:
        case_roles = tuple(sorted({"triage", "investigator"} & set(row["roles"].split(","))))
        if case_roles:
            officers.append(ExcludableOfficer(row["id"], row["display_name"], case_roles))
    return officers


async def _triage_officers() -> list[dict]:
    rows = await Officer.select(Officer.id, Officer.roles, Officer.public_key).where(
        Officer.active == True  # noqa: E712
    )
    return [row for row in rows if "triage" in row["roles"].split(",")]


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
    reporter = await ctx.kdf.run(
        derive_reporter_secrets, code, ctx.keyring.receipt_salt, ctx.settings.argon2
    )
    report_id = uuid.uuid4()
    rid = str(report_id)
    data_key = new_data_key()
    received_at = hour(datetime.now(UTC))
    content = encrypt(
        data_key, json.dumps(report.to_json()).encode(), associated_data(rid, CONTENT)
    )
    wraps = [
        ReportKey(
            report=report_id,
            holder=HOLDER_REPORTER,
            wrapped=wrap_key(
                reporter.wrapping_key, data_key, associated_data(rid, key_purpose(HOLDER_REPORTER))
            ),
        ),
        ReportKey(
            report=report_id,
            holder=HOLDER_OFFICE,
            wrapped=seal(
                ctx.keyring.office_public_key,
                data_key,
                associated_data(rid, key_purpose(HOLDER_OFFICE)),
            ),
        ),
    ]
    async with db.transaction():
        triage = await _triage_officers()
        readers = [row for row in triage if row["id"] not in report.excluded_officers]
        if triage and not readers:
            raise ValidationFailed(
                {
                    "excluded_officers": N_(
                        "Sisakan paling sedikit satu petugas Tim WBS yang dapat membaca laporan."
                    )
                }
            )
        for officer in readers:
            wraps.append(
                ReportKey(
                    report=report_id,
                    holder=HOLDER_OFFICER,
                    officer=officer["id"],
                    wrapped=seal(
                        officer["public_key"],
                        data_key,
                        associated_data(rid, key_purpose(HOLDER_OFFICER, officer["id"])),
                    ),
                )
            )
        case_number = await _next_case_number(received_at.year)
        await Report.insert(
            Report(
                id=report_id,
                case_number=case_number,
                lookup_id=reporter.lookup_id.hex(),
                category=report.category,
                status=statuses.RECEIVED,
                priority="normal",
                retaliation_risk=False,
                received_at=received_at,
                acknowledge_due=received_at + timedelta(days=ctx.settings.acknowledge_days),
                updated_at=received_at,
                content=content,
            )
        )
        await ReportKey.insert(*wraps)
        await StatusEvent.insert(
            StatusEvent(report=report_id, at=received_at, to_status=statuses.RECEIVED)
        )
        await audit.append(
            actions.REPORT_RECEIVED,
            actor="reporter",
            case_number=case_number,
            details={"category": report.category, "key_holders": len(wraps)},
            at=received_at,
        )
    return Receipt(tracking_code=code, status=statuses.RECEIVED, received_at=received_at)


async def unlock_with_code(ctx: Context, code: str) -> tuple[uuid.UUID, bytes]:
    """Derive the code's lookup id and wrapping key; return (report id, data key).

    Every failure (malformed, unknown, undecryptable) raises the same InvalidTrackingCode. A
    malformed code still costs one derivation, so timing does not tell the cases apart.
    """
    try:
        normalised = normalise_tracking_code(code)
    except MalformedCode:
        normalised = None
    reporter = await ctx.kdf.run(
        derive_reporter_secrets,
        normalised or "0" * 16,
        ctx.keyring.receipt_salt,
        ctx.settings.argon2,
    )
    if normalised is None:
        raise InvalidTrackingCode()
    row = await (
        ReportKey.select(ReportKey.report, ReportKey.wrapped)
        .where(
            (ReportKey.report.lookup_id == reporter.lookup_id.hex())
            & (ReportKey.holder == HOLDER_REPORTER)
        )
        .first()
    )
    if row is None:
        raise InvalidTrackingCode()
    rid = str(row["report"])
    try:
        data_key = unwrap_key(
            reporter.wrapping_key,
            row["wrapped"],
            associated_data(rid, key_purpose(HOLDER_REPORTER)),
        )
    except DecryptionError:
        raise InvalidTrackingCode() from None
    return uuid.UUID(rid), data_key


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
    rid = str(report_id)
    report = ReportInput.from_json(
        json.loads(decrypt(data_key, row.content, associated_data(rid, CONTENT)))
    )
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
                decrypt(
                    data_key, event["public_note"], associated_data(rid, "public_note")
                ).decode()
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
        timeline=timeline,
        report=report,
    )


async def end_reporter_session(token: str | None) -> None:
    await sessions.destroy_session(token)

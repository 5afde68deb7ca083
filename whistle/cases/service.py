"""The officer's work on a case: open it, move it through the workflow, assign, recuse, annotate.

Nothing here knows about HTTP. Every function acts as a logged-in ``CurrentOfficer`` and first
unwraps the case's data key with that officer's own private key: an officer without a wrap can
neither read nor change the case. Each change commits together with its audit entry, whose
details carry usernames and statuses, never what anybody wrote.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from piccolo.columns import Bytea

from whistle import audit, sessions
from whistle.audit import actions
from whistle.audit.service import AuditRecord, case_history
from whistle.cases import workflow
from whistle.cases.inbox import Deadline, next_deadline
from whistle.context import Context
from whistle.crypto import DecryptionError, InvalidCaseNumber, normalise_case_number
from whistle.db import engine as db
from whistle.db.tables import (
    CaseAssignment,
    CaseNote,
    IdentityReveal,
    LegalHold,
    Officer,
    OfficerCaseView,
    Recusal,
    Report,
    ReporterIdentity,
    StatusEvent,
)
from whistle.errors import CaseUnreadable, Conflict, NotFound, PermissionDenied, ValidationFailed
from whistle.evidence import store as evidence
from whistle.i18n import N_
from whistle.inputs import clean_text, database_ids
from whistle.notify.outbox import queue_assignment_alert
from whistle.officers import roster
from whistle.officers.auth import CurrentOfficer
from whistle.officers.roles import INVESTIGATOR, TRIAGE, officers_with_role, roles_of
from whistle.officers.roster import UNTRUSTED_ROSTER_ROW
from whistle.reports import envelope, messages
from whistle.reports import statuses as st
from whistle.reports.content import ReportInput
from whistle.reports.envelope import NOTE, PUBLIC_NOTE, RECUSAL, REFERRAL_DETAIL, STATUS_REASON

NOTE_MAX = 5000
# One limit for the reasons of a recusal, a legal hold and a reveal request (one message says it).
REASON_MAX = 2000
RECUSAL_REASON_MAX = HOLD_REASON_MAX = REVEAL_REASON_MAX = REASON_MAX
# The id looked up for a case number that matches nothing: no key is ever wrapped for it.
_NO_REPORT = uuid.UUID(int=0)


@dataclass(frozen=True)
class Person:
    id: int
    username: str
    display_name: str


@dataclass(frozen=True)
class TimelineItem:
    at: datetime
    from_status: str | None
    to_status: str
    officer: str | None
    reason: str | None
    public_note: str | None


@dataclass(frozen=True)
class NoteItem:
    at: datetime
    officer: str | None
    body: str


@dataclass(frozen=True)
class RecusalItem:
    at: datetime
    officer: str | None  # never None: a recusal goes with its officer
    reason: str


@dataclass(frozen=True)
class HoldItem:
    """The legal hold on a case: the retention purge skips it while it stands."""

    at: datetime
    officer: str | None
    reason: str


@dataclass(frozen=True)
class PurgedCase:
    """What remains of a case whose content the retention purge destroyed: metadata only."""

    case_number: str
    category: str
    status: str
    outcome: str | None
    referred_to: str | None
    received_at: datetime
    concluded_at: datetime | None
    purged_at: datetime
    history: list[AuditRecord]


@dataclass(frozen=True)
class RevealItem:
    """A request to reveal the reporter's identity, its reason decrypted."""

    id: int
    requested_by: str | None
    requested_by_id: int | None
    requested_at: datetime
    reason: str
    decided_by: str | None
    decided_at: datetime | None
    approved: bool | None


@dataclass(frozen=True)
class IdentityView:
    """What the case page says of the reporter's identity: whether one was given, the reveal
    requests, and the identity itself only once a reveal was approved."""

    given: bool
    requests: list[RevealItem]
    # (name, contact) of each identity given, oldest first: only after an approved reveal.
    revealed: list[tuple[str, str]]

    @property
    def waiting(self) -> RevealItem | None:
        return next((item for item in self.requests if item.approved is None), None)


@dataclass(frozen=True)
class CaseView:
    """Everything the case page shows, decrypted for the officer who opened it."""

    id: uuid.UUID
    case_number: str
    category: str
    status: str
    outcome: str | None
    referred_to: str | None
    # Which unit, in the officer's words: decrypted here, never shown to the reporter.
    referral_detail: str | None
    priority: str
    retaliation_risk: bool
    received_at: datetime
    acknowledge_due: datetime
    acknowledged_at: datetime | None
    feedback_due: datetime | None
    concluded_at: datetime | None
    updated_at: datetime
    deadline: Deadline | None
    report: ReportInput
    timeline: list[TimelineItem]
    notes: list[NoteItem]
    assignees: list[Person]
    holders: list[Person]
    recusals: list[RecusalItem]
    excluded: list[Person]
    is_assigned: bool
    transitions: list[workflow.Transition]
    # Who the officer may assign (investigators) or grant access to (triage); empty unless triage.
    assignable: list[Person]
    grantable: list[Person]
    history: list[AuditRecord]
    messages: list[messages.Message]
    identity: IdentityView
    hold: HoldItem | None = None
    # Evidence files (the reporter's and officers'), decrypted names and what was removed.
    files: list[evidence.FileInfo] = field(default_factory=list)


@dataclass(frozen=True)
class _Case:
    row: dict[str, Any]
    data_key: bytes

    @property
    def id(self) -> uuid.UUID:
        return self.row["id"]

    @property
    def number(self) -> str:
        return self.row["case_number"]

    def seal(self, text: str, purpose: str) -> bytes:
        return envelope.seal_field(self.id, self.data_key, purpose, text)

    def open(self, blob: bytes | None, purpose: str) -> str | None:
        return envelope.open_field(self.id, self.data_key, purpose, blob) if blob else None

    def report(self) -> ReportInput:
        return envelope.open_content(self.id, self.data_key, self.row["content"])


async def _case(officer: CurrentOfficer, case_number: str) -> _Case:
    """The case and its data key unwrapped for ``officer``, or CaseUnreadable (404) when there
    is no such case or they hold no key to it: the same error, after the same queries, so an
    officer cannot tell a case they may not read from one that does not exist."""
    row = await _report_row(case_number)
    report_id = row["id"] if row is not None else _NO_REPORT
    # No key is wrapped for _NO_REPORT: a missing case fails exactly like an unreadable one.
    data_key = await envelope.officer_data_key(report_id, officer.id, officer.private_key)
    assert row is not None  # a missing case has no key: officer_data_key raised above
    return _Case(row, data_key)


async def _report_row(case_number: str) -> dict[str, Any] | None:
    """The report a typed case number names, or None. The number is forgiven case, gaps and
    look-alikes (numbers from before random ones are taken as is)."""
    with contextlib.suppress(InvalidCaseNumber):
        case_number = normalise_case_number(case_number)
    return await Report.select().where(Report.case_number == case_number).first()


def _require_triage(officer: CurrentOfficer) -> None:
    if not officer.has(TRIAGE):
        raise PermissionDenied(N_("Hanya Tim WBS (triase) yang dapat melakukan ini."))


async def _is_assigned(report_id: uuid.UUID, officer_id: int) -> bool:
    return await CaseAssignment.exists().where(
        (CaseAssignment.report == report_id) & (CaseAssignment.officer == officer_id)
    )


async def _person(officer_id: int) -> Person:
    row = (
        await Officer.select(Officer.id, Officer.username, Officer.display_name)
        .where(Officer.id == officer_id)
        .first()
    )
    if row is None:
        raise ValidationFailed({"officer_id": N_("Petugas tidak ditemukan.")})
    return Person(row["id"], row["username"], row["display_name"])


def _people(rows: list[dict[str, Any]]) -> list[Person]:
    return [Person(row["id"], row["username"], row["display_name"]) for row in rows]


# --- reading -------------------------------------------------------------------------------


async def _first_view_in_session(officer: CurrentOfficer, report_id: uuid.UUID) -> bool:
    """Marks the case as opened in the officer's session; True the first time only. The unique
    index decides, so two tabs opening the case at once still log it once."""
    session = sessions.session_key(officer.session_token)
    if session is None:
        return True
    inserted = await db.fetch(
        "INSERT INTO session_case_view (session, report) VALUES ({}, {}) "
        "ON CONFLICT DO NOTHING RETURNING id",
        session,
        report_id,
    )
    return bool(inserted)


async def open_case(
    ctx: Context, officer: CurrentOfficer, case_number: str, *, record: bool = True
) -> CaseView:
    """Decrypt the case for the officer and record the opening (CASE_OPENED), once per case per
    officer session: further views in the same session add nothing to the audit log.

    ``record=False`` re-renders a page just shown (a form sent back with a mistake): the
    opening was already recorded, and refused input must change nothing."""
    case = await _case(officer, case_number)
    if record:
        async with db.transaction():
            await _record_view(officer.id, case.id)
            if await _first_view_in_session(officer, case.id):
                await audit.append(
                    actions.CASE_OPENED, actor=officer.username, case_number=case.number
                )
    report = case.report()
    row = case.row
    assignees = _people(
        await db.fetch(
            "SELECT o.id, o.username, o.display_name FROM case_assignment a "
            "JOIN officer o ON o.id = a.officer WHERE a.report = {} ORDER BY o.display_name",
            case.id,
        )
    )
    holders = _people(await envelope.officer_holders(case.id))
    is_assigned = any(person.id == officer.id for person in assignees)
    assignable, grantable = (
        await _candidates(case.id, report, assignees, holders) if officer.has(TRIAGE) else ([], [])
    )
    return CaseView(
        id=case.id,
        case_number=case.number,
        category=row["category"],
        status=row["status"],
        outcome=row["outcome"],
        referred_to=row["referred_to"],
        referral_detail=case.open(row["referral_detail"], REFERRAL_DETAIL),
        priority=row["priority"],
        retaliation_risk=row["retaliation_risk"],
        received_at=row["received_at"],
        acknowledge_due=row["acknowledge_due"],
        acknowledged_at=row["acknowledged_at"],
        feedback_due=row["feedback_due"],
        concluded_at=row["concluded_at"],
        updated_at=row["updated_at"],
        deadline=next_deadline(
            row["status"],
            row["acknowledge_due"],
            row["acknowledged_at"],
            row["feedback_due"],
            now=datetime.now(UTC),
            due_soon_days=ctx.settings.due_soon_days,
        ),
        report=report,
        timeline=await _timeline(case),
        notes=[NoteItem(*item) for item in await _writings(case, CaseNote, CaseNote.body, NOTE)],
        assignees=assignees,
        holders=holders,
        recusals=[
            RecusalItem(*item) for item in await _writings(case, Recusal, Recusal.reason, RECUSAL)
        ],
        excluded=await _excluded(report),
        is_assigned=is_assigned,
        transitions=workflow.allowed(row["status"], officer.roles, assigned=is_assigned),
        assignable=assignable,
        grantable=grantable,
        history=await case_history(case.number),
        hold=await _hold(case),
        messages=messages.open_dialogue(case.id, case.data_key, await messages.published(case.id)),
        identity=await _identity(case),
        files=await evidence.files_of(case.id, case.data_key),
    )


async def _hold(case: _Case) -> HoldItem | None:
    """The legal hold on the case, its reason decrypted, or None."""
    row = (
        await LegalHold.select(
            LegalHold.at, LegalHold.officer.display_name.as_alias("officer_name"), LegalHold.reason
        )
        .where(LegalHold.report == case.id)
        .first()
    )
    if row is None:
        return None
    reason = envelope.open_hold_reason(case.id, case.data_key, row["reason"])
    return HoldItem(row["at"], row["officer_name"], reason)


async def purged_case(officer: CurrentOfficer, case_number: str) -> PurgedCase:
    """The metadata left of a purged case, for triage (nobody holds its key any more); any
    other case, or another role, raises CaseUnreadable like a missing case."""
    row = await _report_row(case_number)
    if row is None or row["purged_at"] is None or not officer.has(TRIAGE):
        raise CaseUnreadable()
    return PurgedCase(
        case_number=row["case_number"],
        category=row["category"],
        status=row["status"],
        outcome=row["outcome"],
        referred_to=row["referred_to"],
        received_at=row["received_at"],
        concluded_at=row["concluded_at"],
        purged_at=row["purged_at"],
        history=await case_history(row["case_number"]),
    )


async def _record_view(officer_id: int, report_id: uuid.UUID) -> None:
    """Remember that the officer opened the case now, with the reporter messages it had: the
    inbox marks new cases and unread answers from this (inside the caller's transaction)."""
    row = await Report.select(Report.reporter_messages).where(Report.id == report_id).first()
    seen_at = datetime.now(UTC)
    seen = row["reporter_messages"] if row else 0
    updated = (
        await OfficerCaseView.update(
            {OfficerCaseView.seen_at: seen_at, OfficerCaseView.reporter_messages_seen: seen}
        )
        .where((OfficerCaseView.officer == officer_id) & (OfficerCaseView.report == report_id))
        .returning(OfficerCaseView.id)
    )
    if not updated:
        await OfficerCaseView.insert(
            OfficerCaseView(
                officer=officer_id, report=report_id, seen_at=seen_at, reporter_messages_seen=seen
            )
        )
    # Also after a wrap was granted again: the flag lives on the wrap, case_view on the officer.
    await envelope.mark_opened(report_id, officer_id)


async def _timeline(case: _Case) -> list[TimelineItem]:
    """The case's status changes, with reasons and public notes decrypted."""
    events = (
        await StatusEvent.select(
            StatusEvent.at,
            StatusEvent.from_status,
            StatusEvent.to_status,
            StatusEvent.officer.display_name.as_alias("officer_name"),
            StatusEvent.reason,
            StatusEvent.public_note,
        )
        .where(StatusEvent.report == case.id)
        .order_by(StatusEvent.id)
    )
    return [
        TimelineItem(
            at=event["at"],
            from_status=event["from_status"],
            to_status=event["to_status"],
            officer=event["officer_name"],
            reason=case.open(event["reason"], STATUS_REASON),
            public_note=case.open(event["public_note"], PUBLIC_NOTE),
        )
        for event in events
    ]


async def _writings(
    case: _Case, table: type[CaseNote] | type[Recusal], text: Bytea, purpose: str
) -> list[tuple[datetime, str | None, str]]:
    """What officers wrote on the case in ``table`` (notes, recusals): when, who (by display
    name) and the ``text`` column decrypted as ``purpose``, oldest first."""
    rows = (
        await table.select(
            table.at, table.officer.display_name.as_alias("officer_name"), text.as_alias("text")
        )
        .where(table.report == case.id)
        .order_by(table.id)
    )
    return [(row["at"], row["officer_name"], case.open(row["text"], purpose) or "") for row in rows]


async def _excluded(report: ReportInput) -> list[Person]:
    """The officers the reporter excluded (their ids live only in the encrypted report)."""
    # Ids a database cannot hold (stored before they were refused) match no officer.
    ids = database_ids(report.excluded_officers)
    if not ids:
        return []
    return _people(
        await Officer.select(Officer.id, Officer.username, Officer.display_name).where(
            Officer.id.is_in(ids)
        )
    )


async def _candidates(
    report_id: uuid.UUID, report: ReportInput, assignees: list[Person], holders: list[Person]
) -> tuple[list[Person], list[Person]]:
    """Who a triage officer may assign (investigators) and grant access to (triage): never an
    officer the reporter excluded or who recused, nor one already assigned or holding the key."""
    recused = {
        r["officer"]
        for r in await Recusal.select(Recusal.officer).where(Recusal.report == report_id)
    }
    barred = recused | set(report.excluded_officers)
    assigned_ids = {person.id for person in assignees}
    holder_ids = {person.id for person in holders}
    assignable = [
        Person(o.id, o.username, o.display_name)
        for o in await officers_with_role(INVESTIGATOR)
        if o.id not in barred and o.id not in assigned_ids
    ]
    grantable = [
        Person(o.id, o.username, o.display_name)
        for o in await officers_with_role(TRIAGE)
        if o.id not in barred and o.id not in holder_ids
    ]
    return assignable, grantable


# --- workflow ------------------------------------------------------------------------------


async def apply_transition(
    ctx: Context,
    officer: CurrentOfficer,
    case_number: str,
    name: str,
    *,
    reason: str | None,
    public_note: str | None = None,
    outcome: str | None = None,
    referred_to: str | None = None,
    referral_detail: str | None = None,
) -> str:
    """Move the case along one declared transition; returns the new status.

    Refused moves (Conflict, PermissionDenied, ValidationFailed) write nothing. Leaving
    "received" acknowledges the report and starts the feedback deadline; reopening owes the
    reporter a new answer, so the feedback deadline starts again."""
    now = datetime.now(UTC)
    async with db.transaction():
        case = await _case(officer, case_number)
        status = case.row["status"]
        move = workflow.check(
            name,
            status,
            officer.roles,
            assigned=await _is_assigned(case.id, officer.id),
            reason=reason,
            public_note=public_note,
            outcome=outcome,
            referred_to=referred_to,
            referral_detail=referral_detail,
        )
        target = move.transition.target
        changes: dict[Any, Any] = {Report.status: target, Report.updated_at: now}
        if case.row["acknowledged_at"] is None:
            changes[Report.acknowledged_at] = now
            changes[Report.feedback_due] = now + timedelta(days=ctx.settings.feedback_days)
        if move.transition.name == "reopen":
            changes.update(
                {
                    Report.outcome: None,
                    Report.referred_to: None,
                    Report.referral_detail: None,
                    Report.concluded_at: None,
                    Report.feedback_due: now + timedelta(days=ctx.settings.feedback_days),
                }
            )
        elif target in (st.CONCLUDED, st.NOT_ACTIONABLE, st.REFERRED):
            changes[Report.concluded_at] = now
            changes[Report.outcome] = move.outcome
            changes[Report.referred_to] = move.referred_to
            changes[Report.referral_detail] = (
                case.seal(move.referral_detail, REFERRAL_DETAIL) if move.referral_detail else None
            )
        # Conditional on the status read above: a concurrent move makes this one a Conflict.
        updated = (
            await Report.update(changes)
            .where((Report.id == case.id) & (Report.status == status))
            .returning(Report.id)
        )
        if not updated:
            raise Conflict(N_("Status kasus baru saja diubah orang lain. Muat ulang halaman."))
        # The status and deadlines decide the case's place in "never opened" as everywhere.
        await envelope.copy_inbox_order(case.id)
        await StatusEvent.insert(
            StatusEvent(
                report=case.id,
                at=now,
                from_status=status,
                to_status=target,
                officer=officer.id,
                reason=case.seal(move.reason, STATUS_REASON),
                public_note=case.seal(move.public_note, PUBLIC_NOTE) if move.public_note else None,
            )
        )
        await audit.append(
            actions.CASE_STATUS_CHANGED,
            actor=officer.username,
            case_number=case.number,
            details={
                "transition": move.transition.name,
                "from": status,
                "to": target,
                "outcome": move.outcome,
                # The list value only: the detail's words stay under the report key.
                "referred_to": move.referred_to,
                "referral_detail": move.referral_detail is not None,
                "public_note": move.public_note is not None,
            },
            at=now,
        )
    return target


# --- triage: priority and retaliation risk -------------------------------------------------


async def set_triage(
    officer: CurrentOfficer, case_number: str, *, priority: str, retaliation_risk: bool
) -> bool:
    """Set priority and the retaliation-risk flag (triage only); returns whether they changed."""
    _require_triage(officer)
    if priority not in st.PRIORITY_LABELS:
        raise ValidationFailed({"priority": N_("Pilih prioritas dari daftar.")})
    async with db.transaction():
        case = await _case(officer, case_number)
        before = (case.row["priority"], bool(case.row["retaliation_risk"]))
        if before == (priority, retaliation_risk):
            return False
        await Report.update(
            {
                Report.priority: priority,
                Report.retaliation_risk: retaliation_risk,
                Report.updated_at: datetime.now(UTC),
            }
        ).where(Report.id == case.id)
        await audit.append(
            actions.CASE_TRIAGED,
            actor=officer.username,
            case_number=case.number,
            details={
                "priority": {"from": before[0], "to": priority},
                "retaliation_risk": {"from": before[1], "to": retaliation_risk},
            },
        )
    return True


# --- internal notes ------------------------------------------------------------------------


async def add_note(officer: CurrentOfficer, case_number: str, body: str | None) -> None:
    """An internal note, encrypted under the case key; the reporter never sees it."""
    body = clean_text(body)
    if not body:
        raise ValidationFailed({"body": N_("Tulis isi catatan.")})
    if len(body) > NOTE_MAX:
        raise ValidationFailed({"body": N_("Catatan terlalu panjang (paling banyak 5.000 huruf).")})
    async with db.transaction():
        case = await _case(officer, case_number)
        await CaseNote.insert(
            CaseNote(
                report=case.id, officer=officer.id, at=datetime.now(UTC), body=case.seal(body, NOTE)
            )
        )
        await audit.append(actions.CASE_NOTE_ADDED, actor=officer.username, case_number=case.number)


# --- assignment and access -----------------------------------------------------------------


def _required_reason(text: str | None, field: str, missing: str) -> str:
    """A written reason as it will be sealed, or ValidationFailed naming ``field``: ``missing``
    when there is none, or too long."""
    reason = clean_text(text)
    if not reason:
        raise ValidationFailed({field: missing})
    if len(reason) > REASON_MAX:
        raise ValidationFailed({field: N_("Alasan terlalu panjang (paling banyak 2.000 huruf).")})
    return reason


def _officer_id(value: Any) -> int:
    text = str(value or "").strip()
    if not text.isdigit():
        raise ValidationFailed({"officer_id": N_("Pilih petugas dari daftar.")})
    return int(text)


async def _require_trusted(officer_id: int) -> None:
    """Refuse to seal a case key to an officer whose roster row does not verify."""
    if not await roster.is_trusted(officer_id):
        raise Conflict(UNTRUSTED_ROSTER_ROW)


async def assign(officer: CurrentOfficer, case_number: str, investigator_id: Any) -> None:
    """Assign an investigator and seal the case key for them (triage only). Refused for an
    officer the reporter excluded or who recused: they never hold the key."""
    _require_triage(officer)
    target_id = _officer_id(investigator_id)
    async with db.transaction():
        case = await _case(officer, case_number)
        target = await _person(target_id)
        if INVESTIGATOR not in await roles_of(target_id):
            raise Conflict(N_("Hanya investigator yang dapat ditugaskan."))
        if await _is_assigned(case.id, target_id):
            raise Conflict(N_("Petugas ini sudah ditugaskan pada kasus ini."))
        await _require_trusted(target_id)
        granted = await envelope.grant(case.id, case.data_key, case.row["content"], target_id)
        await CaseAssignment.insert(
            CaseAssignment(
                report=case.id,
                officer=target_id,
                assigned_by=officer.id,
                assigned_at=datetime.now(UTC),
            )
        )
        await audit.append(
            actions.CASE_ASSIGNED,
            actor=officer.username,
            case_number=case.number,
            details={"officer": target.username, "key_granted": granted},
        )
        # Queued with the assignment: the worker mails it, this request never waits on SMTP.
        await queue_assignment_alert(target_id)


async def unassign(officer: CurrentOfficer, case_number: str, investigator_id: Any) -> None:
    """Remove an assignment and the assignee's key. A triage officer keeps the key they hold
    as triage (revoke it separately)."""
    _require_triage(officer)
    target_id = _officer_id(investigator_id)
    async with db.transaction():
        case = await _case(officer, case_number)
        target = await _person(target_id)
        if not await _is_assigned(case.id, target_id):
            raise Conflict(N_("Petugas ini tidak ditugaskan pada kasus ini."))
        await CaseAssignment.delete().where(
            (CaseAssignment.report == case.id) & (CaseAssignment.officer == target_id)
        )
        revoked = False
        if TRIAGE not in await roles_of(target_id):
            revoked = await envelope.revoke(case.id, target_id)
        await audit.append(
            actions.CASE_UNASSIGNED,
            actor=officer.username,
            case_number=case.number,
            details={"officer": target.username, "key_revoked": revoked},
        )


async def grant_access(officer: CurrentOfficer, case_number: str, colleague_id: Any) -> None:
    """Give another triage officer the case key: unwrap with yours, seal for theirs."""
    _require_triage(officer)
    target_id = _officer_id(colleague_id)
    async with db.transaction():
        case = await _case(officer, case_number)
        target = await _person(target_id)
        if TRIAGE not in await roles_of(target_id):
            raise Conflict(
                N_("Akses hanya dapat diberikan kepada Tim WBS; investigator ditugaskan.")
            )
        await _require_trusted(target_id)
        if not await envelope.grant(case.id, case.data_key, case.row["content"], target_id):
            raise Conflict(N_("Petugas ini sudah memegang kunci kasus ini."))
        await audit.append(
            actions.CASE_ACCESS_GRANTED,
            actor=officer.username,
            case_number=case.number,
            details={"officer": target.username},
        )


async def revoke_access(officer: CurrentOfficer, case_number: str, colleague_id: Any) -> None:
    """Delete a colleague's key (and assignment, if any). Not your own: recuse instead."""
    _require_triage(officer)
    target_id = _officer_id(colleague_id)
    if target_id == officer.id:
        raise Conflict(N_("Gunakan pernyataan konflik kepentingan untuk melepas akses Anda."))
    async with db.transaction():
        case = await _case(officer, case_number)
        target = await _person(target_id)
        unassigned = await _is_assigned(case.id, target_id)
        await CaseAssignment.delete().where(
            (CaseAssignment.report == case.id) & (CaseAssignment.officer == target_id)
        )
        if not await envelope.revoke(case.id, target_id, deliberate=True):
            raise Conflict(N_("Petugas ini tidak memegang kunci kasus ini."))
        await audit.append(
            actions.CASE_ACCESS_REVOKED,
            actor=officer.username,
            case_number=case.number,
            details={"officer": target.username, "unassigned": unassigned},
        )


async def recuse(officer: CurrentOfficer, case_number: str, reason: str | None) -> None:
    """Declare a conflict of interest: the reason is kept encrypted, and the officer's key and
    assignment go in the same transaction. From then on they can never be assigned or granted."""
    reason = _required_reason(reason, "recusal_reason", N_("Tuliskan alasan konflik kepentingan."))
    async with db.transaction():
        case = await _case(officer, case_number)
        unassigned = await _is_assigned(case.id, officer.id)
        await Recusal.insert(
            Recusal(
                report=case.id,
                officer=officer.id,
                at=datetime.now(UTC),
                reason=case.seal(reason, RECUSAL),
            )
        )
        await CaseAssignment.delete().where(
            (CaseAssignment.report == case.id) & (CaseAssignment.officer == officer.id)
        )
        await envelope.revoke(case.id, officer.id)
        await audit.append(
            actions.CASE_RECUSED,
            actor=officer.username,
            case_number=case.number,
            details={"officer": officer.username, "unassigned": unassigned},
        )


# --- legal hold ----------------------------------------------------------------------------


async def set_hold(officer: CurrentOfficer, case_number: str, reason: str | None) -> None:
    """Put the case under legal hold (triage only): the retention purge skips it until the hold
    is lifted. The reason is encrypted under the case key; the audit entry says only that it
    was set."""
    _require_triage(officer)
    reason = _required_reason(reason, "hold_reason", N_("Tuliskan alasan penahanan hukum."))
    now = datetime.now(UTC)
    async with db.transaction():
        case = await _case(officer, case_number)
        # Locks the row against a purge running now (whistle.cases.retention marks it first).
        touched = (
            await Report.update({Report.updated_at: now})
            .where((Report.id == case.id) & Report.purged_at.is_null())
            .returning(Report.id)
        )
        if not touched or await LegalHold.exists().where(LegalHold.report == case.id):
            raise Conflict(N_("Kasus ini sudah dalam penahanan hukum."))
        await LegalHold.insert(
            LegalHold(
                report=case.id,
                officer=officer.id,
                at=now,
                reason=envelope.seal_hold_reason(case.id, case.data_key, reason),
            )
        )
        await audit.append(
            actions.CASE_HOLD_SET, actor=officer.username, case_number=case.number, at=now
        )


async def lift_hold(officer: CurrentOfficer, case_number: str) -> None:
    """Lift the legal hold (triage only): its row and encrypted reason go, and the case is
    purged when its retention period is over."""
    _require_triage(officer)
    async with db.transaction():
        case = await _case(officer, case_number)
        lifted = await LegalHold.delete().where(LegalHold.report == case.id).returning(LegalHold.id)
        if not lifted:
            raise Conflict(N_("Kasus ini tidak dalam penahanan hukum."))
        await Report.update({Report.updated_at: datetime.now(UTC)}).where(Report.id == case.id)
        await audit.append(
            actions.CASE_HOLD_LIFTED, actor=officer.username, case_number=case.number
        )


# --- messages to the reporter --------------------------------------------------------------


async def send_message(
    officer: CurrentOfficer,
    case_number: str,
    text: str | None,
    files: Sequence[evidence.SealedFile] = (),
) -> uuid.UUID:
    """A message to the reporter, sealed after the last published message (officer actions are
    not time-protected: it is written at once, with its exact time) and audited without text.

    ``files`` (received for this case, chunks pending) join the case in the same transaction,
    tied to the message, each with its EVIDENCE_ADDED entry; on any failure they are discarded.
    Returns the message's id."""
    try:
        text = messages.check_text(text, "message")
        now = datetime.now(UTC)
        async with db.transaction():
            case = await _case(officer, case_number)
            seen = messages.open_dialogue(case.id, case.data_key, await messages.published(case.id))
            message = messages.new_message(
                case.id, case.data_key, messages.OFFICER, text, seen, now, officer_id=officer.id
            )
            await messages.store(message)
            for sealed in files:
                if sealed.report_id != case.id:
                    raise ValueError("a file received for another case")
                await evidence.attach_officer_file(sealed.with_message(message.id), now)
                await audit.append(
                    actions.EVIDENCE_ADDED,
                    actor=officer.username,
                    case_number=case.number,
                    details={"file": str(sealed.id), "kind": sealed.kind.name},
                )
            await Report.update({Report.awaiting_reporter: True}).where(Report.id == case.id)
            await audit.append(
                actions.MESSAGE_SENT, actor=officer.username, case_number=case.number, at=now
            )
    except BaseException:
        for sealed in files:
            await evidence.discard(sealed.id)
        raise
    return message.id


MessageReceiver = Callable[
    [uuid.UUID, bytes], Awaitable[tuple[str | None, list[evidence.SealedFile]]]
]


async def send_message_with_files(
    officer: CurrentOfficer, case_number: str, receive: MessageReceiver
) -> uuid.UUID:
    """``send_message`` for a form read as a stream: ``receive(report_id, data_key)`` reads the
    text and seals the files for the case the officer holds the key to."""
    case = await _case(officer, case_number)
    text, files = await receive(case.id, case.data_key)
    return await send_message(officer, case_number, text, files)


# --- the reporter's identity: revealed by two triage officers ------------------------------


async def _identity(case: _Case) -> IdentityView:
    identities = (
        await ReporterIdentity.select(ReporterIdentity.id, ReporterIdentity.body)
        .where(ReporterIdentity.report == case.id)
        .order_by(ReporterIdentity.at)
    )
    rows = (
        await IdentityReveal.select(
            IdentityReveal.id,
            IdentityReveal.requested_by,
            IdentityReveal.requested_by.display_name.as_alias("requested_by_name"),
            IdentityReveal.requested_at,
            IdentityReveal.reason,
            IdentityReveal.decided_by.display_name.as_alias("decided_by_name"),
            IdentityReveal.decided_at,
            IdentityReveal.approved,
        )
        .where(IdentityReveal.report == case.id)
        .order_by(IdentityReveal.id)
    )
    requests = [
        RevealItem(
            id=row["id"],
            requested_by=row["requested_by_name"],
            requested_by_id=row["requested_by"],
            requested_at=row["requested_at"],
            reason=_open_reason(case, row["reason"]),
            decided_by=row["decided_by_name"],
            decided_at=row["decided_at"],
            approved=row["approved"],
        )
        for row in rows
    ]
    revealed: list[tuple[str, str]] = []
    if any(item.approved for item in requests):
        for identity in identities:
            try:
                revealed.append(
                    envelope.open_identity(case.id, case.data_key, identity["id"], identity["body"])
                )
            except DecryptionError:
                revealed.append(("", ""))
    return IdentityView(given=bool(identities), requests=requests, revealed=revealed)


def _open_reason(case: _Case, blob: bytes) -> str:
    try:
        return envelope.open_reveal_reason(case.id, case.data_key, blob)
    except DecryptionError:
        return ""


async def request_identity_reveal(
    officer: CurrentOfficer, case_number: str, reason: str | None
) -> None:
    """Ask to reveal the reporter's identity (triage, holding the key), with a written reason
    kept encrypted; a different triage officer must approve it. The audit records the fact."""
    _require_triage(officer)
    reason = _required_reason(
        reason, "reveal_reason", N_("Tuliskan alasan membuka identitas pelapor.")
    )
    async with db.transaction():
        case = await _case(officer, case_number)
        if not await ReporterIdentity.exists().where(ReporterIdentity.report == case.id):
            raise Conflict(N_("Pelapor tidak memberikan identitas."))
        if await IdentityReveal.exists().where(
            (IdentityReveal.report == case.id) & IdentityReveal.approved.is_null()
        ):
            raise Conflict(N_("Sudah ada permintaan yang menunggu persetujuan."))
        await IdentityReveal.insert(
            IdentityReveal(
                report=case.id,
                requested_by=officer.id,
                requested_at=datetime.now(UTC),
                reason=envelope.seal_reveal_reason(case.id, case.data_key, reason),
            )
        )
        await audit.append(
            actions.IDENTITY_REVEAL_REQUESTED, actor=officer.username, case_number=case.number
        )


async def decide_identity_reveal(
    officer: CurrentOfficer, case_number: str, *, approve: bool
) -> None:
    """Approve or reject the waiting reveal request: only a triage officer holding the key who
    did not ask for it (four eyes). Approval shows the identity on the case page and tells the
    reporter when and why."""
    _require_triage(officer)
    async with db.transaction():
        case = await _case(officer, case_number)
        waiting = (
            await IdentityReveal.select(IdentityReveal.id, IdentityReveal.requested_by)
            .where((IdentityReveal.report == case.id) & IdentityReveal.approved.is_null())
            .first()
        )
        if waiting is None:
            raise Conflict(N_("Tidak ada permintaan pembukaan identitas yang menunggu."))
        if waiting["requested_by"] == officer.id:
            raise Conflict(
                N_("Permintaan Anda sendiri harus disetujui oleh anggota Tim WBS yang lain.")
            )
        updated = (
            await IdentityReveal.update(
                {
                    IdentityReveal.approved: approve,
                    IdentityReveal.decided_by: officer.id,
                    IdentityReveal.decided_at: datetime.now(UTC),
                }
            )
            .where((IdentityReveal.id == waiting["id"]) & IdentityReveal.approved.is_null())
            .returning(IdentityReveal.id)
        )
        if not updated:
            raise Conflict(
                N_("Permintaan ini baru saja diputuskan orang lain. Muat ulang halaman.")
            )
        await audit.append(
            actions.IDENTITY_REVEAL_APPROVED if approve else actions.IDENTITY_REVEAL_REJECTED,
            actor=officer.username,
            case_number=case.number,
        )


# --- evidence files ------------------------------------------------------------------------

FILE_DAMAGED = N_(
    "Berkas ini rusak atau telah diubah di basis data sehingga tidak dapat diunduh. "
    "Kejadian ini dicatat di log audit."
)
FILE_NOT_FOUND = N_("Berkas tidak ditemukan.")


@dataclass(frozen=True)
class Download:
    """A verified file ready to stream: its name, kind, exact size and its bytes."""

    info: evidence.FileInfo
    size: int
    content: AsyncIterator[bytes]


async def download_file(officer: CurrentOfficer, case_number: str, file_id: uuid.UUID) -> Download:
    """A file of a case the officer holds the key to, checked whole before anything is served.

    CaseUnreadable (404) like the case page; NotFound for a file the case does not have. A file
    whose chunks were truncated, reordered, swapped or altered is refused (Conflict) and the
    failure audited; a good one is audited as downloaded (file id and kind, never the name)."""
    case = await _case(officer, case_number)
    details = {"file": str(file_id)}
    try:
        opened = await evidence.open_file(case.id, case.data_key, file_id)
        if opened is None:
            raise NotFound(FILE_NOT_FOUND)
        details["kind"] = opened.info.kind.name
        size = await opened.verify()
    except DecryptionError:
        async with db.transaction():
            await audit.append(
                actions.EVIDENCE_DOWNLOAD_FAILED,
                actor=officer.username,
                case_number=case.number,
                details=details,
            )
        raise Conflict(FILE_DAMAGED) from None
    async with db.transaction():
        await audit.append(
            actions.EVIDENCE_DOWNLOADED,
            actor=officer.username,
            case_number=case.number,
            details=details,
        )
    return Download(info=opened.info, size=size, content=opened.plaintext())


Receiver = Callable[[uuid.UUID, bytes], Awaitable[list[evidence.SealedFile]]]


async def add_officer_files(
    officer: CurrentOfficer, case_number: str, receive: Receiver
) -> list[evidence.SealedFile]:
    """Attach an officer's own files to a case they hold the key to.

    ``receive(report_id, data_key)`` reads and seals the files (their chunks pending); they join
    the case together with one EVIDENCE_ADDED entry each, or not at all."""
    case = await _case(officer, case_number)
    files = await receive(case.id, case.data_key)
    if not files:
        raise ValidationFailed({"files": N_("Pilih paling sedikit satu berkas.")})
    now = datetime.now(UTC)
    try:
        async with db.transaction():
            for sealed in files:
                await evidence.attach_officer_file(sealed, now)
                await audit.append(
                    actions.EVIDENCE_ADDED,
                    actor=officer.username,
                    case_number=case.number,
                    details={"file": str(sealed.id), "kind": sealed.kind.name},
                )
    except BaseException:
        for sealed in files:
            await evidence.discard(sealed.id)
        raise
    return files

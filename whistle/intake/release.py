"""The periodic release of reporter-originated writes (threat model 2).

A submission commits at once to ``pending_item``, holding only what publishing needs: the
report's ciphertext and key wraps made at submission, its category and the hour. At the end of
each release period (``WHISTLE_RELEASE_MINUTES``, an hour by default) ``publish_pending`` moves
every item of ended periods into the case tables in one transaction and in random order, with
its audit entry, case number and first status event. Published rows are therefore written after
every officer action of their period, and their ids, audit seq, case numbers and physical order
(SQLite rowid, PostgreSQL ctid) follow a shuffle, not the order reports came in.

A reporter's message and an identity the reporter gives travel the same way (kinds
``message`` and ``identity``: their ciphertext and report id), published in the same shuffled
batch after the reports (a message may answer a report published in that very batch), each with
its audit entry at its hour.

The worker runs ``RELEASE_JOB`` under its database lease; the publishing transaction also takes
its items with DELETE ... RETURNING, so two releases racing on one database publish each item
once. Items whose period ended while nothing ran (a stopped worker, a killed server) are simply
due: the next run publishes them.
"""

from __future__ import annotations

import json
import secrets
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from whistle import audit
from whistle.audit import actions
from whistle.audit.service import REPORTER_ACTOR
from whistle.clock import release_period_end, to_the_hour
from whistle.context import Context
from whistle.crypto import new_case_number
from whistle.db import engine as db
from whistle.db.tables import PendingItem, Report, ReporterIdentity, StatusEvent
from whistle.evidence import store as evidence
from whistle.jobs.runner import Job
from whistle.notify.outbox import queue_new_reports_alert, queue_reporter_answer_alert
from whistle.officers.roles import TRIAGE, officers_with_role
from whistle.reports import envelope, messages, statuses

# Kinds of pending item, each with its publisher in _PUBLISHERS.
REPORT = "report"
MESSAGE = "message"
IDENTITY = "identity"
# A reporter's evidence file: its record (whistle.evidence.store.SealedFile.to_json(): its key
# wrapped under the report's data key, so no officer is named); its sealed chunks wait in
# pending_chunk under the same id.
ATTACHMENT = evidence.PENDING_KIND
# Reports are published before what refers to them (a message or file sent before its report
# was published); within a kind the order is the shuffle's.
_KIND_ORDER = {REPORT: 0, MESSAGE: 1, IDENTITY: 1, ATTACHMENT: 1}
# Version 2: officers' wraps name their holder tag (envelope.holder_tag), never their id;
# version 1 payloads (officer ids) are still read and published under tags.
_PAYLOAD_VERSION = 2


@dataclass(frozen=True)
class PendingReport:
    """What a new report needs to be published: all of it sealed before it was stored."""

    report_id: uuid.UUID
    lookup_id: str
    category: str
    content: bytes
    wraps: tuple[envelope.Wrap, ...]
    received_at: datetime
    # The receipt-parameter version the reporter's code was derived with (keys/receipt_params).
    receipt_version: int = 1

    def payload(self) -> bytes:
        # Wraps in a random order: in roster order, the tags would line up with the roster.
        wraps = list(self.wraps)
        secrets.SystemRandom().shuffle(wraps)
        return json.dumps(
            {
                "v": _PAYLOAD_VERSION,
                "category": self.category,
                "receipt_version": self.receipt_version,
                "content": self.content.hex(),
                "wraps": [
                    {"holder": w.holder, "tag": w.holder_tag, "wrapped": w.wrapped.hex()}
                    for w in wraps
                ],
            }
        ).encode()

    @classmethod
    def from_row(cls, row: dict) -> PendingReport:
        body = json.loads(row["payload"])
        report_id = row["id"]
        return cls(
            report_id=report_id,
            lookup_id=row["lookup_id"],
            category=body["category"],
            content=bytes.fromhex(body["content"]),
            wraps=tuple(
                envelope.Wrap(
                    report_id,
                    w["holder"],
                    bytes.fromhex(w["wrapped"]),
                    officer_id=w.get("officer"),
                    tag=w.get("tag"),
                )
                for w in body["wraps"]
            ),
            received_at=row["received_at"],
            receipt_version=body.get("receipt_version", 1),
        )


async def hold_report(ctx: Context, item: PendingReport, now: datetime) -> datetime:
    """Store a new report in the pending store (inside the caller's transaction); returns when
    it will be published."""
    release_at = release_period_end(now, ctx.settings.release_minutes)
    await PendingItem.insert(
        PendingItem(
            id=item.report_id,
            kind=REPORT,
            lookup_id=item.lookup_id,
            received_at=to_the_hour(item.received_at),
            release_at=release_at,
            payload=item.payload(),
        )
    )
    return release_at


async def pending_report(report_id: uuid.UUID) -> tuple[PendingReport, datetime] | None:
    """The unpublished report and its release time, or None once it is published (or unknown)."""
    row = (
        await PendingItem.select()
        .where((PendingItem.id == report_id) & (PendingItem.kind == REPORT))
        .first()
    )
    return None if row is None else (PendingReport.from_row(row), row["release_at"])


async def pending_reporter_wrap(lookup_id: str) -> tuple[uuid.UUID, bytes, int] | None:
    """(report id, reporter's wrap, receipt parameter version) of an unpublished report with
    this lookup id."""
    row = (
        await PendingItem.select()
        .where((PendingItem.lookup_id == lookup_id) & (PendingItem.kind == REPORT))
        .first()
    )
    if row is None:
        return None
    item = PendingReport.from_row(row)
    for wrap in item.wraps:
        if wrap.holder == envelope.HOLDER_REPORTER:
            return item.report_id, wrap.wrapped, item.receipt_version
    return None


async def hold_attachment(ctx: Context, sealed: evidence.SealedFile, now: datetime) -> datetime:
    """Store a reporter's file (its chunks already in pending_chunk) in the pending store,
    inside the caller's transaction; returns when it will be published."""
    release_at = release_period_end(now, ctx.settings.release_minutes)
    await PendingItem.insert(
        PendingItem(
            id=sealed.id,
            kind=ATTACHMENT,
            received_at=to_the_hour(now),
            release_at=release_at,
            payload=json.dumps(sealed.to_json()).encode(),
        )
    )
    return release_at


async def pending_attachments(report_id: uuid.UUID) -> list[tuple[dict, datetime]]:
    """(record, received hour) of the report's files not yet published. The pending store only
    holds the current period's items, so reading every attachment item is cheap."""
    rows = await PendingItem.select(PendingItem.payload, PendingItem.received_at).where(
        PendingItem.kind == ATTACHMENT
    )
    records = [(json.loads(row["payload"]), row["received_at"]) for row in rows]
    return [(record, at) for record, at in records if record["report"] == str(report_id)]


async def _publish_attachment(
    ctx: Context, row: dict, _readers: set[int], _taken: set[str]
) -> None:
    record = json.loads(row["payload"])
    report = (
        await Report.select(Report.purged_at)
        .where(Report.id == uuid.UUID(record["report"]))
        .first()
    )
    if report is None or report["purged_at"] is not None:
        # The report is gone or its content destroyed: the file joins nothing.
        await evidence.discard(row["id"])
        return
    await evidence.publish_reporter_file(record, to_the_hour(row["received_at"]))


async def _unused_case_number(year: int, taken: set[str]) -> str:
    """A random case number nobody has: retried on the (rare) collision."""
    while True:
        number = new_case_number(year)
        if number not in taken and not await Report.exists().where(Report.case_number == number):
            taken.add(number)
            return number


async def _publish_report(ctx: Context, row: dict, readers: set[int], taken: set[str]) -> None:
    item = PendingReport.from_row(row)
    received_at = item.received_at
    case_number = await _unused_case_number(received_at.year, taken)
    await Report.insert(
        Report(
            id=item.report_id,
            case_number=case_number,
            lookup_id=item.lookup_id,
            receipt_version=item.receipt_version,
            category=item.category,
            status=statuses.RECEIVED,
            priority="normal",
            retaliation_risk=False,
            received_at=received_at,
            acknowledge_due=received_at + timedelta(days=ctx.settings.acknowledge_days),
            updated_at=received_at,
            content=item.content,
        )
    )
    await StatusEvent.insert(
        StatusEvent(report=item.report_id, at=received_at, to_status=statuses.RECEIVED)
    )
    # Officers disabled or moved off triage since submission lose the wrap made for them then
    # (the payload names them by holder tag only).
    reader_tags = {envelope.holder_tag(officer_id) for officer_id in readers}
    wraps = [
        wrap
        for wrap in item.wraps
        if wrap.holder != envelope.HOLDER_OFFICER or wrap.holder_tag in reader_tags
    ]
    await envelope.store_wraps(*wraps)
    await audit.append(
        actions.REPORT_RECEIVED,
        actor=REPORTER_ACTOR,
        case_number=case_number,
        # No count of key holders: beside the roster it would tell that someone was excluded.
        details={"category": item.category},
        at=received_at,
    )


# --- reporter messages and identity ----------------------------------------------------------


def _message_payload(message: messages.SealedMessage) -> bytes:
    return json.dumps(
        {
            "v": _PAYLOAD_VERSION,
            "report": str(message.report_id),
            "position": message.position,
            "previous": None if message.previous is None else str(message.previous),
            "body": message.body.hex(),
        }
    ).encode()


def _message_from_row(row: dict) -> messages.SealedMessage:
    body = json.loads(row["payload"])
    return messages.SealedMessage(
        id=row["id"],
        report_id=uuid.UUID(body["report"]),
        author=messages.REPORTER,
        position=body["position"],
        previous=None if body["previous"] is None else uuid.UUID(body["previous"]),
        at=row["received_at"],
        body=bytes.fromhex(body["body"]),
        pending=True,
        # The release's own DELETE ... RETURNING leaves it out: the item is being published.
        release_at=row.get("release_at"),
    )


async def hold_message(ctx: Context, message: messages.SealedMessage, now: datetime) -> datetime:
    """Store a reporter's message in the pending store (inside the caller's transaction);
    returns when it will be published."""
    release_at = release_period_end(now, ctx.settings.release_minutes)
    await PendingItem.insert(
        PendingItem(
            id=message.id,
            kind=MESSAGE,
            received_at=to_the_hour(message.at),
            release_at=release_at,
            payload=_message_payload(message),
        )
    )
    return release_at


async def _pending_of(kind: str, report_id: uuid.UUID) -> list[dict]:
    # The pending store holds one period's writes: reading its few rows beats an index.
    rows = await PendingItem.select().where(PendingItem.kind == kind)
    return [row for row in rows if json.loads(row["payload"])["report"] == str(report_id)]


async def pending_messages(report_id: uuid.UUID) -> list[messages.SealedMessage]:
    """The reporter's messages to this report that wait for their release."""
    return [_message_from_row(row) for row in await _pending_of(MESSAGE, report_id)]


async def _report_number(report_id: uuid.UUID) -> str | None:
    row = await Report.select(Report.case_number).where(Report.id == report_id).first()
    return None if row is None else row["case_number"]


async def _publish_message(ctx: Context, row: dict, readers: set[int], taken: set[str]) -> None:
    message = _message_from_row(row)
    case_number = await _report_number(message.report_id)
    if case_number is None:  # the report is gone (destroyed): nothing to attach it to
        return
    await messages.store(message)
    await Report.update(
        {
            Report.reporter_messages: Report.reporter_messages + 1,
            Report.awaiting_reporter: False,
        }
    ).where(Report.id == message.report_id)
    await envelope.mark_answer_unseen(message.report_id)
    await audit.append(
        actions.MESSAGE_RECEIVED, actor=REPORTER_ACTOR, case_number=case_number, at=message.at
    )
    # The case's key holders are told (no content), in this same transaction.
    await queue_reporter_answer_alert(message.report_id)


@dataclass(frozen=True)
class PendingIdentity:
    """A name and contact the reporter gave, sealed, waiting for the release."""

    id: uuid.UUID
    report_id: uuid.UUID
    body: bytes
    at: datetime


async def hold_identity(ctx: Context, identity: PendingIdentity, now: datetime) -> datetime:
    """Store a reporter's identity in the pending store (inside the caller's transaction)."""
    release_at = release_period_end(now, ctx.settings.release_minutes)
    await PendingItem.insert(
        PendingItem(
            id=identity.id,
            kind=IDENTITY,
            received_at=to_the_hour(identity.at),
            release_at=release_at,
            payload=json.dumps(
                {
                    "v": _PAYLOAD_VERSION,
                    "report": str(identity.report_id),
                    "body": identity.body.hex(),
                }
            ).encode(),
        )
    )
    return release_at


def _identity_from_row(row: dict) -> PendingIdentity:
    body = json.loads(row["payload"])
    return PendingIdentity(
        id=row["id"],
        report_id=uuid.UUID(body["report"]),
        body=bytes.fromhex(body["body"]),
        at=row["received_at"],
    )


async def pending_identities(report_id: uuid.UUID) -> list[PendingIdentity]:
    """Identities the reporter gave for this report that wait for their release."""
    return [_identity_from_row(row) for row in await _pending_of(IDENTITY, report_id)]


async def _publish_identity(ctx: Context, row: dict, readers: set[int], taken: set[str]) -> None:
    identity = _identity_from_row(row)
    case_number = await _report_number(identity.report_id)
    if case_number is None:
        return
    await ReporterIdentity.insert(
        ReporterIdentity(
            id=identity.id, report=identity.report_id, at=identity.at, body=identity.body
        )
    )
    await audit.append(
        actions.IDENTITY_GIVEN, actor=REPORTER_ACTOR, case_number=case_number, at=identity.at
    )


_Publisher = Callable[[Context, dict, set[int], set[str]], Awaitable[None]]
# One publisher per kind of pending item, all published in the same shuffled batch.
_PUBLISHERS: dict[str, _Publisher] = {
    REPORT: _publish_report,
    MESSAGE: _publish_message,
    IDENTITY: _publish_identity,
    ATTACHMENT: _publish_attachment,
}


async def publish_pending(ctx: Context, now: datetime | None = None) -> int:
    """Publish every pending item whose period ended by ``now``; returns how many.

    One transaction takes the items with DELETE ... RETURNING (a concurrent release gets none of
    them) and publishes them in a random order into the case tables, each with its audit entry
    (at its hour), case number and status event, and the officers' alert (one mail each, no
    content: ``whistle.notify``). New kinds of reporter-originated write (a
    reporter message, a file) join the same store with their own ``kind`` and ``payload`` and a
    publisher in ``_PUBLISHERS``; they are shuffled together with the reports of their period.
    """
    now = (now or datetime.now(UTC)).astimezone(UTC)
    async with db.transaction():
        rows = await (
            PendingItem.delete()
            .where(PendingItem.release_at <= now)
            .returning(
                PendingItem.id,
                PendingItem.kind,
                PendingItem.lookup_id,
                PendingItem.received_at,
                PendingItem.payload,
            )
        )
        if not rows:
            return 0
        secrets.SystemRandom().shuffle(rows)
        # Reports first (a message or file of a report filed in the same period needs its
        # row); stable, so the order within each kind stays shuffled.
        rows.sort(key=lambda row: _KIND_ORDER[row["kind"]])
        readers = {officer.id for officer in await officers_with_role(TRIAGE)}
        taken: set[str] = set()
        for row in rows:
            await _PUBLISHERS[row["kind"]](ctx, row, readers, taken)
        # In the same transaction: the alert exists exactly when the reports do (one mail per
        # officer for the whole release, counting only what they can read).
        await queue_new_reports_alert(row["id"] for row in rows if row["kind"] == REPORT)
    return len(rows)


async def release_due(_ctx: Context, _last_run: datetime | None, now: datetime) -> bool:
    """Due whenever an item's period has ended, however long ago (a restart loses nothing), or
    chunks of an upload that never committed are old enough to sweep."""
    return await PendingItem.exists().where(
        PendingItem.release_at <= now
    ) or await evidence.orphans_due(now)


async def run_release(ctx: Context, now: datetime) -> None:
    await publish_pending(ctx, now)
    await evidence.sweep_orphans(now)


RELEASE_JOB = Job(
    name="intake.release",
    lease=timedelta(minutes=10),
    due=release_due,
    run=run_release,
)

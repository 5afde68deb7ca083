"""The durable mail outbox: alerts queued in the same transaction as the event that causes them.

Every ``queue_*`` function here runs inside its caller's ``db.transaction()``, so an alert exists
exactly when its event committed: a rolled-back assignment mails nobody, and a committed
publication cannot lose its alert to an SMTP outage (the worker sends it later, see
``whistle.notify.sender``). A row names an officer, a kind and counts, nothing else: no case
number, category, report text, reporter name or tracking code, and no address (read when
sending, so an officer's new address or a disabled account takes effect for waiting mail).

Alerts coalesce: while an officer's alert of a kind waits unsent and untried, a new event adds
to its count instead of queueing a second mail, so a release of 30 reports is one mail per
triage officer.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from whistle.db.tables import MailOutbox, Officer, ReportKey
from whistle.reports import envelope

# Kinds of alert (the sender words each from its counts).
NEW_REPORTS = "new_reports"
ASSIGNED = "assigned"
REPORTER_ANSWER = "reporter_answer"
OFFICER_DIGEST = "officer_digest"
AUDITOR_DIGEST = "auditor_digest"
KINDS = (NEW_REPORTS, ASSIGNED, REPORTER_ANSWER, OFFICER_DIGEST, AUDITOR_DIGEST)


async def mailable(officer_ids: Iterable[int]) -> set[int]:
    """The active officers among ``officer_ids`` who gave an address (others get no mail)."""
    ids = sorted(set(officer_ids))
    if not ids:
        return set()
    rows = await Officer.select(Officer.id).where(
        Officer.id.is_in(ids)
        & (Officer.active == True)  # noqa: E712 - piccolo builds SQL from the comparison
        & Officer.email.is_not_null()
    )
    return {row["id"] for row in rows}


async def _add_count(officer_id: int, kind: str, count: int, now: datetime) -> None:
    """Add ``count`` to the officer's waiting alert of ``kind``, or queue a new one."""
    waiting = (
        await MailOutbox.select(MailOutbox.id, MailOutbox.payload)
        .where(
            (MailOutbox.officer == officer_id)
            & (MailOutbox.kind == kind)
            & MailOutbox.sent_at.is_null()
            & MailOutbox.claimed_until.is_null()
            & (MailOutbox.attempts == 0)
        )
        .first()
    )
    if waiting is not None:
        total = json.loads(waiting["payload"])["count"] + count
        # The same conditions again: a sender that claimed the row meanwhile wins, and the
        # count then goes into a new row rather than into a mail already on its way.
        updated = (
            await MailOutbox.update({MailOutbox.payload: json.dumps({"count": total})})
            .where(
                (MailOutbox.id == waiting["id"])
                & MailOutbox.claimed_until.is_null()
                & (MailOutbox.attempts == 0)
            )
            .returning(MailOutbox.id)
        )
        if updated:
            return
    await queue_mail(officer_id, kind, {"count": count}, now=now)


async def queue_mail(
    officer_id: int, kind: str, payload: dict[str, Any], *, now: datetime | None = None
) -> None:
    """Queue one mail of ``kind`` for an officer (inside the caller's transaction). ``payload``
    holds counts and times only; the sender words the mail from it."""
    if kind not in KINDS:
        raise ValueError(f"unknown alert kind {kind!r}")
    now = now or datetime.now(UTC)
    await MailOutbox.insert(
        MailOutbox(
            officer=officer_id,
            kind=kind,
            payload=json.dumps(payload, sort_keys=True),
            created_at=now,
            due_at=now,
            attempts=0,
        )
    )


async def _queue_counts(kind: str, counts: dict[int, int]) -> None:
    now = datetime.now(UTC)
    for officer_id in sorted(await mailable(counts)):
        await _add_count(officer_id, kind, counts[officer_id], now)


async def _holders(report_ids: Iterable[uuid.UUID]) -> dict[int, int]:
    """Per officer, how many of ``report_ids`` they hold a key wrap for."""
    ids = list(report_ids)
    counts: dict[int, int] = {}
    if not ids:
        return counts
    rows = await ReportKey.select(ReportKey.holder_tag).where(
        ReportKey.report.is_in(ids) & ReportKey.holder_tag.is_not_null()
    )
    # Wraps name holder tags, never officers (threat model 3): match them to the roster here.
    officers = await envelope.officers_by_tag()
    for row in rows:
        if (officer := officers.get(row["holder_tag"])) is not None:
            counts[officer] = counts.get(officer, 0) + 1
    return counts


async def queue_new_reports_alert(report_ids: Iterable[uuid.UUID]) -> None:
    """Tell each officer who can read newly published reports how many there are, inside the
    publishing transaction. Counted from the key wraps, so an officer the reporter excluded is
    neither told about that report nor able to infer the exclusion from a count."""
    await _queue_counts(NEW_REPORTS, await _holders(report_ids))


async def queue_assignment_alert(officer_id: int) -> None:
    """Tell an investigator they were assigned a case (inside the assignment's transaction)."""
    await _queue_counts(ASSIGNED, {officer_id: 1})


async def queue_reporter_answer_alert(report_id: uuid.UUID) -> None:
    """Tell the officers holding a case's key that its reporter answered.

    Call it inside the transaction that publishes the reporter's message (the hourly release),
    once per published message: answers coalesce into one mail per officer."""
    await _queue_counts(REPORTER_ANSWER, await _holders([report_id]))


async def waiting_count() -> int:
    """Mails not sent yet (for the worker's due test and the tests)."""
    return await MailOutbox.count().where(MailOutbox.sent_at.is_null())

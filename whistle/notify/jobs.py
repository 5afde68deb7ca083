"""The worker's mail jobs: sending the outbox, and the auditor's daily digest.

The officers' own digest (overdue and due-soon cases) is built in ``whistle.cases.digest``,
which knows the deadlines; both digests use ``daily_due`` so each runs once a day at the
office hour, once across workers (the job lease and its recorded last run decide, not memory).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from whistle.audit import actions
from whistle.audit.checkpoint import latest_checkpoint
from whistle.audit.labels import ACTION_LABELS
from whistle.clock import WIB
from whistle.context import Context
from whistle.db import engine as db
from whistle.db.tables import AuditEntry, MailOutbox
from whistle.jobs.runner import Job
from whistle.notify import outbox
from whistle.notify.sender import KEEP_SENT, send_due_mail
from whistle.officers.roles import AUDITOR, officers_with_role

ROLE_ACTIONS = (
    actions.OFFICER_ADDED,
    actions.OFFICER_ROLES_CHANGED,
    actions.ROLE_GRANT_REQUESTED,
    actions.CONTENT_ROLE_GRANTED,
    actions.ROLE_GRANT_REJECTED,
)


def latest_digest_time(hour: int, now: datetime) -> datetime:
    """The most recent moment, at or before ``now``, when the office clock read ``hour``:00."""
    local = now.astimezone(WIB)
    slot = local.replace(hour=hour, minute=0, second=0, microsecond=0)
    if slot > local:
        slot -= timedelta(days=1)
    return slot.astimezone(UTC)


async def daily_due(ctx: Context, last_run: datetime | None, now: datetime) -> bool:
    """Due once per day, at or after the office's digest hour (a missed hour runs late, once)."""
    slot = latest_digest_time(ctx.settings.digest_hour, now)
    return last_run is None or last_run < slot


# --- sending --------------------------------------------------------------------------------


async def mail_due(_ctx: Context, _last_run: datetime | None, now: datetime) -> bool:
    """Due when a row waits to be sent (its time has come, no live claim) or sent rows are old."""
    waiting = await MailOutbox.exists().where(
        MailOutbox.sent_at.is_null()
        & (MailOutbox.due_at <= now)
        & (MailOutbox.claimed_until.is_null() | (MailOutbox.claimed_until < now))
    )
    return waiting or await MailOutbox.exists().where(
        MailOutbox.sent_at.is_not_null() & (MailOutbox.sent_at < now - KEEP_SENT)
    )


async def run_mail(ctx: Context, now: datetime) -> None:
    await send_due_mail(ctx.settings, now)


MAIL_JOB = Job(name="notify.mail", lease=timedelta(minutes=20), due=mail_due, run=run_mail)


# --- the auditor's digest --------------------------------------------------------------------


async def auditor_digest(since: datetime) -> dict:
    """What the auditor's digest says: role changes (time, who, whom, what) and the number of
    audit exports since ``since``, and the latest signed checkpoint. Officer names only; no
    case numbers, nothing a reporter wrote."""
    changes = []
    rows = await (
        AuditEntry.select(AuditEntry.at, AuditEntry.actor, AuditEntry.action, AuditEntry.details)
        .where(AuditEntry.action.is_in(list(ROLE_ACTIONS)) & (AuditEntry.at >= since))
        .order_by(AuditEntry.seq)
    )
    for row in rows:
        details = json.loads(row["details"])
        changes.append(
            {
                "at": row["at"].astimezone(UTC).isoformat(),
                "actor": row["actor"],
                "officer": str(details.get("officer", "")),
                "label": ACTION_LABELS[row["action"]],
            }
        )
    exports = await AuditEntry.count().where(
        (AuditEntry.action == actions.AUDIT_EXPORTED) & (AuditEntry.at >= since)
    )
    checkpoint = await latest_checkpoint()
    return {
        "since": since.astimezone(UTC).isoformat(),
        "role_changes": changes,
        "exports": exports,
        "checkpoint": None
        if checkpoint is None
        else {"seq": checkpoint.seq, "at": checkpoint.created_at},
    }


async def queue_auditor_digests(now: datetime) -> int:
    """Queue today's digest for every active auditor with an address; returns how many."""
    payload = await auditor_digest(now - timedelta(days=1))
    auditors = await officers_with_role(AUDITOR, key_holders_only=False)
    recipients = sorted(await outbox.mailable(auditor.id for auditor in auditors))
    async with db.transaction():
        for officer_id in recipients:
            await outbox.queue_mail(officer_id, outbox.AUDITOR_DIGEST, payload, now=now)
    return len(recipients)


async def run_auditor_digest(_ctx: Context, now: datetime) -> None:
    await queue_auditor_digests(now)


AUDITOR_DIGEST_JOB = Job(
    name="notify.auditor_digest",
    lease=timedelta(minutes=10),
    due=daily_due,
    run=run_auditor_digest,
)

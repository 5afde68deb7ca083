"""The officers' daily digest: how many of the open cases they hold are overdue or due soon.

Counts only, per officer, from the same deadline expressions as the inbox (``inbox.DUE``,
``inbox.OPEN_RANK``) and the officer's key wraps, so the digest counts exactly the cases the
inbox's "overdue" and "due soon" filters show them. Queued once a day by the worker at the
office hour (``whistle.notify.jobs.daily_due``); officers with nothing pending get no mail.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from whistle.cases.inbox import DUE, OPEN_RANK
from whistle.context import Context
from whistle.db import engine as db
from whistle.jobs.runner import Job
from whistle.notify import outbox
from whistle.notify.jobs import daily_due
from whistle.reports import envelope


async def deadline_counts(*, now: datetime, due_soon_days: int) -> dict[int, tuple[int, int]]:
    """Per officer holding a key: (overdue, due soon) among their open cases."""
    rows = await db.fetch(
        # Only constant fragments are joined; the times travel as placeholder arguments.
        f"SELECT k.holder_tag AS tag, "  # noqa: S608
        f"SUM(CASE WHEN {DUE} < {{}} THEN 1 ELSE 0 END) AS overdue, "
        f"SUM(CASE WHEN {DUE} >= {{}} AND {DUE} < {{}} THEN 1 ELSE 0 END) AS due_soon "
        f"FROM report JOIN report_key k ON k.report = report.id "
        f"WHERE k.holder_tag IS NOT NULL AND {OPEN_RANK} = 0 GROUP BY k.holder_tag",
        now,
        now,
        now + timedelta(days=due_soon_days),
    )
    # Wraps name holder tags, never officers: matched to the roster here.
    officers = await envelope.officers_by_tag()
    return {
        officers[row["tag"]]: (int(row["overdue"] or 0), int(row["due_soon"] or 0))
        for row in rows
        if row["tag"] in officers
    }


async def queue_officer_digests(ctx: Context, now: datetime | None = None) -> int:
    """Queue today's digest for each active officer with an address and something overdue or
    due soon; returns how many were queued."""
    now = now or datetime.now(UTC)
    counts = {
        officer: pending
        for officer, pending in (
            await deadline_counts(now=now, due_soon_days=ctx.settings.due_soon_days)
        ).items()
        if any(pending)
    }
    recipients = sorted(await outbox.mailable(counts))
    async with db.transaction():
        for officer_id in recipients:
            overdue, due_soon = counts[officer_id]
            await outbox.queue_mail(
                officer_id,
                outbox.OFFICER_DIGEST,
                {"overdue": overdue, "due_soon": due_soon},
                now=now,
            )
    return len(recipients)


async def run_officer_digest(ctx: Context, now: datetime) -> None:
    await queue_officer_digests(ctx, now)


OFFICER_DIGEST_JOB = Job(
    name="cases.digest",
    lease=timedelta(minutes=10),
    due=daily_due,
    run=run_officer_digest,
)

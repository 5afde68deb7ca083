"""The audit log's periodic job: a signed checkpoint every N entries and at least daily (and,
along with it, SQLite's planner statistics refreshed)."""

from __future__ import annotations

from datetime import datetime, timedelta

from whistle.audit.checkpoint import latest_checkpoint, take_checkpoint
from whistle.audit.verify import chain_length
from whistle.context import Context
from whistle.db import engine as db
from whistle.jobs.runner import Job

WORKER_ACTOR = "worker"


async def checkpoint_due(ctx: Context, _last_run: datetime | None, now: datetime) -> bool:
    """Due when entries were logged since the last checkpoint and either there are
    ``audit_checkpoint_entries`` of them or the last one is ``audit_checkpoint_hours`` old
    (or there is none yet: right after an upgrade, this also writes the first keyed entry)."""
    head = await chain_length()
    latest = await latest_checkpoint()
    if latest is None:
        return head > 0
    new_entries = head - latest.seq
    if new_entries <= 0:
        return False
    if new_entries >= ctx.settings.audit_checkpoint_entries:
        return True
    age = now - datetime.fromisoformat(latest.created_at)
    return age >= timedelta(hours=ctx.settings.audit_checkpoint_hours)


async def run_checkpoint(ctx: Context, _now: datetime) -> None:
    await take_checkpoint(ctx.keyring, actor=WORKER_ACTOR)
    # The daily maintenance rides along: the planner's statistics follow the tables' growth.
    await db.refresh_planner_statistics()


CHECKPOINT_JOB = Job(
    name="audit.checkpoint",
    lease=timedelta(minutes=10),
    due=checkpoint_due,
    run=run_checkpoint,
)

"""A small periodic job runner: `whistle worker` runs every due job, once, across instances.

A job is a name, a lease length, a ``due`` test and a ``run`` coroutine. Before a job runs, the
worker takes its lease in the ``job_lease`` table with one conditional UPDATE (free, or expired):
with several workers on one database each job runs in one of them, and a worker that dies
mid-job only holds the lease until it expires, so another picks the job up after a restart.
``due`` decides from the database (and the job's last run), never from worker memory, so a
restart neither skips nor repeats a run. Later jobs (hourly release of reporter writes, the mail
outbox, the retention purge) plug in by adding a ``Job`` to ``whistle.app.worker_jobs``.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import socket
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from whistle.context import Context
from whistle.db import engine as db
from whistle.db.tables import JobLease

log = logging.getLogger("whistle.worker")


@dataclass(frozen=True)
class Job:
    name: str
    # Longer than one run can take: past it, another worker may take the job over.
    lease: timedelta
    # Whether the job should run now, given when it last completed (None: never).
    due: Callable[[Context, datetime | None, datetime], Awaitable[bool]]
    # Runs the job as of ``now``, the time ``due`` was asked about.
    run: Callable[[Context, datetime], Awaitable[None]]


def worker_id() -> str:
    """Names this worker in the lease table (host, process, and a random tag for restarts)."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{secrets.token_hex(4)}"


async def _take_lease(job: Job, holder: str, now: datetime) -> tuple[bool, datetime | None]:
    """Take the job's lease if it is free or expired; returns (taken, last completed run)."""
    async with db.transaction():
        await db.fetch(
            "INSERT INTO job_lease (name) VALUES ({}) ON CONFLICT (name) DO NOTHING", job.name
        )
        rows = (
            await JobLease.update({JobLease.holder: holder, JobLease.lease_until: now + job.lease})
            .where(
                (JobLease.name == job.name)
                & (JobLease.lease_until.is_null() | (JobLease.lease_until < now))
            )
            .returning(JobLease.last_run_at)
        )
    if not rows:
        return False, None
    return True, rows[0]["last_run_at"]


async def _release(job: Job, holder: str, completed_at: datetime | None) -> None:
    values: dict = {JobLease.holder: None, JobLease.lease_until: None}
    if completed_at is not None:
        values[JobLease.last_run_at] = completed_at
    async with db.transaction():
        await JobLease.update(values).where(
            (JobLease.name == job.name) & (JobLease.holder == holder)
        )


async def run_due_jobs(
    ctx: Context, jobs: Sequence[Job], *, holder: str, now: datetime | None = None
) -> list[str]:
    """Run each due job whose lease this worker gets; return the names of those that ran.

    A failing job is logged by name and exception type only (never its message, which could
    carry data) and released without recording a run, so it is tried again at the next tick.
    """
    ran: list[str] = []
    for job in jobs:
        started = now or datetime.now(UTC)
        taken, last_run = await _take_lease(job, holder, started)
        if not taken:
            continue
        completed: datetime | None = None
        try:
            if await job.due(ctx, last_run, started):
                await job.run(ctx, started)
                ran.append(job.name)
                # As of when it ran: a run asked about a later ``now`` (a test's, a clock step)
                # must count as that run, or a second worker would run it again after us.
                completed = max(started, datetime.now(UTC))
        except Exception as error:
            log.error("job %s failed (%s)", job.name, type(error).__name__)
        finally:
            await _release(job, holder, completed)
    return ran


async def run_worker(
    ctx: Context, jobs: Sequence[Job], *, tick_seconds: float, once: bool = False
) -> None:
    """Run due jobs every ``tick_seconds`` until cancelled (or once)."""
    holder = worker_id()
    log.info("worker %s started with jobs: %s", holder, ", ".join(job.name for job in jobs))
    while True:
        ran = await run_due_jobs(ctx, jobs, holder=holder)
        for name in ran:
            log.info("job %s done", name)
        if once:
            return
        await asyncio.sleep(tick_seconds)

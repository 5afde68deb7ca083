"""Retention: destroy a closed case's content once its period is over (crypto-shredding).

A case keeps its content for ``retention_days`` after its conclusion (``not_actionable_
retention_days`` when it was closed as not actionable); then ``purge`` overwrites every
ciphertext listed in ``CASE_CONTENT`` and deletes every wrap of its data key (reporter, office
and officers): nothing stored opens it again, even with every key in keys/. The metadata row
stays (category, dates, status, outcome) so the statistics still count the case, marked with
``purged_at``. A legal hold (``legal_hold`` row, set and lifted by triage in
``whistle.cases.service``) makes the purge skip the case.

The purge works in batches, each its own transaction with one audit entry per case, so a long
run never holds one huge transaction and an interrupted run simply continues where it stopped.
``PURGE_JOB`` runs it daily under the worker's lease; ``whistle purge`` runs it by hand.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from piccolo.columns import Column
from piccolo.table import Table

from whistle import audit
from whistle.audit import actions
from whistle.context import Context
from whistle.db import engine as db
from whistle.db.tables import (
    Attachment,
    AttachmentChunk,
    CaseMessage,
    CaseNote,
    IdentityReveal,
    LegalHold,
    PendingChunk,
    PendingItem,
    Recusal,
    Report,
    ReporterIdentity,
    StatusEvent,
)
from whistle.evidence import store as evidence
from whistle.jobs.runner import Job
from whistle.reports import envelope
from whistle.reports import statuses as st

PURGE_BATCH = 500
WORKER_ACTOR = "worker"


@dataclass(frozen=True)
class HeldContent:
    """One column holding ciphertext under a case's data key, and the column naming its case.

    ``delete_rows``: the rows mean nothing without their content (e.g. file chunks) and go
    whole; otherwise the column is overwritten (NULL where allowed, else an empty value).
    ``keys_of``: for rows that do not name their case, the values ``case`` holds for the cases
    being purged (e.g. the ids of their files); without it, ``case`` holds the case ids."""

    column: Column
    case: Column
    delete_rows: bool = False
    keys_of: Callable[[list[uuid.UUID]], Awaitable[list[Any]]] | None = None

    @property
    def table(self) -> type[Table]:
        return self.column._meta.table


async def _file_ids(ids: list[uuid.UUID]) -> list[Any]:
    """The ids of the cases' evidence files (their chunks name the file, not the case)."""
    rows = await Attachment.select(Attachment.id).where(Attachment.report.is_in(ids))
    return [row["id"] for row in rows]


async def _pending_file_ids(ids: list[uuid.UUID]) -> list[Any]:
    """The ids of the cases' reporter files still waiting for the release (pending items of
    kind ``attachment``, whose payload names the report; their chunks wait under the same id)."""
    wanted = {str(report_id) for report_id in ids}
    rows = await PendingItem.select(PendingItem.id, PendingItem.payload).where(
        PendingItem.kind == evidence.PENDING_KIND
    )
    return [row["id"] for row in rows if json.loads(row["payload"])["report"] in wanted]


# Content held for a case: every table and column with ciphertext under its data key. The
# purge destroys each of them; a new table of case content (reporter messages, evidence files)
# joins the purge by adding its line here. The key wraps (report_key) go with them, through
# envelope.destroy_all_wraps. Legal holds are absent on purpose: a held case is never purged.
CASE_CONTENT: tuple[HeldContent, ...] = (
    HeldContent(Report.content, Report.id),
    HeldContent(Report.referral_detail, Report.id),
    HeldContent(StatusEvent.reason, StatusEvent.report),
    HeldContent(StatusEvent.public_note, StatusEvent.report),
    HeldContent(CaseNote.body, CaseNote.report),
    HeldContent(Recusal.reason, Recusal.report),
    # The dialogue and the reporter's identity: the rows mean nothing without their text.
    HeldContent(CaseMessage.body, CaseMessage.report, delete_rows=True),
    HeldContent(ReporterIdentity.body, ReporterIdentity.report, delete_rows=True),
    HeldContent(IdentityReveal.reason, IdentityReveal.report),
    # Evidence files: chunks first (they name their file), then the files' rows (wrapped file
    # key, sealed name), and the files still pending: their chunks, then their items.
    HeldContent(AttachmentChunk.data, AttachmentChunk.attachment, True, _file_ids),
    HeldContent(Attachment.meta, Attachment.report, delete_rows=True),
    HeldContent(PendingChunk.data, PendingChunk.upload, True, _pending_file_ids),
    HeldContent(PendingItem.payload, PendingItem.id, True, _pending_file_ids),
)

_CLOSED = (st.CONCLUDED, st.NOT_ACTIONABLE, st.REFERRED, st.ARCHIVED)


@dataclass(frozen=True)
class DueCase:
    """A case whose content the purge will destroy (metadata only)."""

    id: uuid.UUID
    case_number: str
    status: str
    concluded_at: datetime


@dataclass(frozen=True)
class PurgeResult:
    due: int
    purged: int
    cases: list[DueCase]


# A case is due when closed longer ago than its period, its content still there and no hold on
# it. "Closed as not actionable" is its status, or, once archived, the status its last
# conclusion led to (the event written with concluded_at). Placeholders: see _due_args.
_DUE_WHERE = (
    "r.purged_at IS NULL AND r.concluded_at IS NOT NULL "
    "AND r.status IN ({}, {}, {}, {}) "
    "AND NOT EXISTS (SELECT 1 FROM legal_hold h WHERE h.report = r.id) "
    "AND (r.concluded_at <= {} OR (r.concluded_at <= {} AND ("
    "r.status = {} OR (r.status = {} AND EXISTS ("
    "SELECT 1 FROM status_event e WHERE e.report = r.id "
    "AND e.to_status = {} AND e.at >= r.concluded_at)))))"
)


def _due_args(ctx: Context, now: datetime) -> list[Any]:
    settings = ctx.settings
    return [
        *_CLOSED,
        now - timedelta(days=settings.retention_days),
        now - timedelta(days=settings.not_actionable_retention_days),
        st.NOT_ACTIONABLE,
        st.ARCHIVED,
        st.NOT_ACTIONABLE,
    ]


async def count_due(ctx: Context, now: datetime) -> int:
    """How many cases are due for the purge as of ``now``."""
    rows = await db.fetch(
        f"SELECT COUNT(*) AS n FROM report r WHERE {_DUE_WHERE}",  # noqa: S608 - constants
        *_due_args(ctx, now),
    )
    return int(rows[0]["n"])


async def due_cases(
    ctx: Context, now: datetime, *, limit: int, after: DueCase | None = None
) -> list[DueCase]:
    """Up to ``limit`` due cases, oldest conclusion first (after ``after``, for paging)."""
    sql = f"SELECT r.id, r.case_number, r.status, r.concluded_at FROM report r WHERE {_DUE_WHERE}"  # noqa: S608
    args = _due_args(ctx, now)
    if after is not None:
        sql += " AND (r.concluded_at > {} OR (r.concluded_at = {} AND r.id > {}))"
        args += [after.concluded_at, after.concluded_at, after.id]
    rows = await db.fetch(sql + " ORDER BY r.concluded_at, r.id LIMIT {}", *args, limit)
    return [
        DueCase(
            id=row["id"] if isinstance(row["id"], uuid.UUID) else uuid.UUID(str(row["id"])),
            case_number=row["case_number"],
            status=row["status"],
            concluded_at=_as_datetime(row["concluded_at"]),
        )
        for row in rows
    ]


def _as_datetime(value: Any) -> datetime:
    # Raw SQL on SQLite returns the stored text.
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))


async def _destroy_content(ids: list[uuid.UUID]) -> None:
    # A batch of cases' content, files included, zeroed: off the event loop.
    with db.long_writes():
        for held in CASE_CONTENT:
            keys = ids if held.keys_of is None else await held.keys_of(ids)
            if not keys:
                continue
            if held.delete_rows:
                await held.table.delete().where(held.case.is_in(keys))
            else:
                empty = None if held.column._meta.null else b""
                await held.table.update({held.column: empty}).where(held.case.is_in(keys))
    await envelope.destroy_all_wraps(ids)


async def _purge_batch(ctx: Context, now: datetime, actor: str) -> list[DueCase]:
    """Purge up to PURGE_BATCH due cases in one transaction; returns those purged."""
    async with db.transaction():
        batch = await due_cases(ctx, now, limit=PURGE_BATCH)
        if not batch:
            return []
        ids = [case.id for case in batch]
        # Mark first: this locks the rows, so a hold or a reopening running now either
        # committed before (seen below) or waits and then finds the case purged.
        marked = await (
            Report.update({Report.purged_at: now})
            .where(
                Report.id.is_in(ids)
                & Report.purged_at.is_null()
                & Report.concluded_at.is_not_null()
            )
            .returning(Report.id)
        )
        marked_ids = {row["id"] for row in marked}
        held = {
            row["report"]
            for row in await LegalHold.select(LegalHold.report).where(LegalHold.report.is_in(ids))
        }
        if held:
            await Report.update({Report.purged_at: None}).where(Report.id.is_in(list(held)))
        purged = [case for case in batch if case.id in marked_ids and case.id not in held]
        if not purged:
            return []
        await _destroy_content([case.id for case in purged])
        for case in purged:
            await audit.append(
                actions.CASE_PURGED,
                actor=actor,
                case_number=case.case_number,
                details={"status": case.status, "concluded": case.concluded_at.date().isoformat()},
                at=now,
            )
    return purged


async def purge(
    ctx: Context,
    now: datetime | None = None,
    *,
    actor: str = WORKER_ACTOR,
    dry_run: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> PurgeResult:
    """Destroy the content and key wraps of every case due as of ``now``.

    ``dry_run`` changes nothing and lists what would go. ``progress(done, total)`` is called
    after each batch. Interrupted, it leaves whole batches purged and the rest untouched; run
    again, it goes on with what is still due."""
    now = (now or datetime.now(UTC)).astimezone(UTC)
    total = await count_due(ctx, now)
    done: list[DueCase] = []
    if dry_run:
        after: DueCase | None = None
        while page := await due_cases(ctx, now, limit=PURGE_BATCH, after=after):
            done += page
            after = page[-1]
            if progress:
                progress(len(done), total)
        return PurgeResult(due=total, purged=0, cases=done)
    while batch := await _purge_batch(ctx, now, actor):
        done += batch
        if progress:
            progress(len(done), max(total, len(done)))
    if done:
        await db.reclaim_freed_pages()
    return PurgeResult(due=total, purged=len(done), cases=done)


async def purge_due(ctx: Context, last_run: datetime | None, now: datetime) -> bool:
    """Due once a day (the periods are counted in days), when anything is due."""
    if last_run is not None and now - last_run < timedelta(days=1):
        return False
    return await count_due(ctx, now) > 0


async def run_purge(ctx: Context, now: datetime) -> None:
    await purge(ctx, now)


PURGE_JOB = Job(
    name="cases.retention_purge",
    lease=timedelta(hours=2),
    due=purge_due,
    run=run_purge,
)

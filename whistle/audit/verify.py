"""Recompute the audit chain and name the first entry that breaks it.

The chain is read in batches by keyset pagination on ``seq`` (constant memory whatever its
length). Every entry must have the next sequence number, link to the previous entry's MAC and
carry its own MAC under the chain key (entries from before the chain was keyed: see the format
rules in ``whistle.audit.service``). Signed checkpoints add what the chain alone cannot show:
that it was not cut short (truncation) or recomputed from some point on (rewriting). Those in
the ``audit_checkpoint`` table are checked on every run; a file kept offline can be added.

Speed: verification costs what the chain function costs. Rows come in large batches as plain
tuples, the entry's canonical JSON is assembled from the stored columns without parsing the
details (``entry_body``), and the loop body is the MAC and two comparisons.
``since_checkpoint`` starts at the newest stored checkpoint whose signature verifies.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from piccolo.engine.postgres import PostgresEngine
from piccolo.engine.sqlite import SQLiteEngine

from whistle.audit.checkpoint import (
    Checkpoint,
    CheckpointError,
    check_with_any,
    stored_checkpoints,
)
from whistle.audit.service import (
    GENESIS_HASH,
    chain_key,
    entry_body,
    entry_mac,
    legacy_entry_hash,
)
from whistle.db import engine as db

DEFAULT_BATCH = 5000

# Kinds of problem, first one found wins.
MISSING = "missing"  # the expected seq is absent (deleted entry, or seq edited)
BAD_SEQ = "bad_seq"  # a seq out of the 1, 2, 3, ... order
ALTERED = "altered"  # the entry's content no longer produces its own hash
BROKEN_LINK = "broken_link"  # prev_hash is not the previous entry's hash
TRUNCATED = "truncated"  # the chain ends before the checkpoint's head
REWRITTEN = "rewritten"  # the entry at the checkpoint's seq has another hash
UNKEYED = "unkeyed"  # no entry carries a MAC: the whole chain could have been recomputed
BAD_CHECKPOINT = "bad_checkpoint"  # a stored checkpoint's signature does not verify

_EXPLANATIONS = {
    MISSING: "entry {seq} is missing (deleted, or its sequence number was changed)",
    BAD_SEQ: "entry {seq} has a sequence number out of order",
    ALTERED: "entry {seq} was altered: its content does not match its hash",
    BROKEN_LINK: "entry {seq} does not link to the entry before it (prev_hash differs)",
    TRUNCATED: "the log was truncated: entry {seq} and later are gone (the checkpoint has them)",
    REWRITTEN: "history was rewritten: entry {seq} no longer has the checkpoint's hash",
    UNKEYED: "no entry up to {seq} carries a MAC under the chain key: the log may have been "
    "recomputed by a database writer (or no entry was written since the chain was keyed)",
    BAD_CHECKPOINT: "the stored checkpoint at entry {seq} is forged or altered "
    "(its signature does not verify)",
}


@dataclass(frozen=True)
class Problem:
    seq: int
    kind: str

    @property
    def explanation(self) -> str:
        return _EXPLANATIONS[self.kind].format(seq=self.seq)


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    entries_checked: int
    head_seq: int
    head_hash: str
    problem: Problem | None = None


def _iso_at(value: str) -> str:
    """The entry time as ``append`` hashed it (UTC isoformat), from a stored text the database
    did not convert (another offset, no offset): the slow path, never taken for what ``append``
    writes."""
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        # Not a time at all (written behind the app's back): as it is, it matches no MAC.
        return value
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return at.astimezone(UTC).isoformat()


async def chain_length() -> int:
    """The highest seq (the number of entries of an intact chain)."""
    rows = await db.fetch("SELECT MAX(seq) AS head FROM audit_entry")
    return int(rows[0]["head"] or 0)


_RAW_BATCH = (
    "SELECT seq, {}, actor, action, case_number, details, prev_hash, entry_hash "
    "FROM audit_entry WHERE seq > {} ORDER BY seq LIMIT {}"
)
# Each engine hands the entry time over as the very text ``append`` hashed (UTC isoformat, the
# fraction left out when it is zero), converted by the database: decoding and formatting it in
# Python cost more than the MAC. A value in any other form comes marked with NOT_CONVERTED, and
# ``_iso_at`` reads it as before.
NOT_CONVERTED = "~"
# SQLite keeps str() of the UTC datetime, whose isoformat differs only by the separator.
_SQLITE_ISO_AT = (
    "CASE WHEN length(at) > 19 AND substr(at, 11, 1) = ' ' AND substr(at, -6) = '+00:00' "
    "THEN substr(at, 1, 10) || 'T' || substr(at, 12) "
    f"ELSE '{NOT_CONVERTED}' || coalesce(at, '') END"
)
# PostgreSQL: asyncpg stores Python's datetime.min and max as -infinity and infinity and reads
# them back as those datetimes, so they keep their text. Any other value outside years 1 to 9999
# (BC, whose digits print like AD) comes unconverted, and its text matches no MAC.
_POSTGRES_ISO_AT = (
    "CASE WHEN at = '-infinity' THEN '0001-01-01T00:00:00+00:00' "
    "WHEN at = 'infinity' THEN '9999-12-31T23:59:59.999999+00:00' "
    "WHEN at BETWEEN '0001-01-01 00:00:00+00' AND '9999-12-31 23:59:59.999999+00' "
    "THEN replace(to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"+00:00\"'), "
    f"'.000000+', '+') ELSE '{NOT_CONVERTED}' || coalesce(at::text, '') END"
)


class _BatchReader:
    """Reads batches as plain tuples straight from the driver (the engine's per-row dicts and
    conversions cost more than the MAC): a read-only sqlite3 connection on SQLite, a pooled
    asyncpg connection on PostgreSQL."""

    def __init__(self) -> None:
        self.sqlite: sqlite3.Connection | None = None
        self.postgres: Any = None
        self._pool: Any = None

    async def __aenter__(self) -> _BatchReader:
        engine = db.current()
        if isinstance(engine, SQLiteEngine):
            uri = f"{Path(engine.path).absolute().as_uri()}?mode=ro"  # noqa: ASYNC240 - no I/O
            self.sqlite = sqlite3.connect(uri, uri=True, check_same_thread=False)
        else:
            assert isinstance(engine, PostgresEngine)
            self._pool = engine.pool
            self.postgres = await self._pool.acquire()
        return self

    async def __aexit__(self, *_exc: object) -> None:
        if self.sqlite is not None:
            self.sqlite.close()
        if self.postgres is not None:
            await self._pool.release(self.postgres)

    async def batch(self, after_seq: int, limit: int) -> list[tuple]:
        if (connection := self.sqlite) is not None:
            sql = _RAW_BATCH.format(_SQLITE_ISO_AT, "?", "?")
            return await asyncio.to_thread(
                lambda: connection.execute(sql, (after_seq, limit)).fetchall()
            )
        sql = _RAW_BATCH.format(_POSTGRES_ISO_AT, "$1", "$2")
        return await self.postgres.fetch(sql, after_seq, limit)


async def _entry_hash_at(seq: int) -> str | None:
    rows = await db.fetch("SELECT entry_hash FROM audit_entry WHERE seq = {}", seq)
    return rows[0]["entry_hash"] if rows else None


async def verify_chain(
    checkpoint: Checkpoint | None = None,
    *,
    batch_size: int = DEFAULT_BATCH,
    progress: Callable[[int], None] | None = None,
    verify_keys: tuple[bytes, ...] | None = None,
    since_checkpoint: bool = False,
) -> VerifyResult:
    """Recompute the chain and stop at the first problem.

    ``checkpoint`` (already signature-checked by the caller) must be extended by the chain.
    With ``verify_keys`` (the current and retired audit verify keys) every stored checkpoint is
    checked too: its signature, and the entry it names; ``since_checkpoint`` then starts after
    the newest stored checkpoint that verifies instead of at the genesis. ``progress`` is called
    with the number of entries checked in each batch.
    """
    key = chain_key()
    checked = 0
    # The cursor starts below any seq so that a stray entry with seq <= 0 is seen, not skipped.
    cursor = -(2**62)
    previous_seq = 0
    previous_hash = GENESIS_HASH
    keyed = False  # once an entry carries a MAC, every later one must

    def failed(seq: int, kind: str) -> VerifyResult:
        return VerifyResult(False, checked, previous_seq, previous_hash, Problem(seq, kind))

    # seq -> hash every signed checkpoint pins (the file's and the table's).
    pinned: dict[int, str] = {}
    if checkpoint is not None:
        pinned[checkpoint.seq] = checkpoint.entry_hash
    if verify_keys is not None:
        stored = await stored_checkpoints()
        for candidate in stored:
            try:
                check_with_any(candidate, verify_keys)
            except CheckpointError:
                return failed(candidate.seq, BAD_CHECKPOINT)
            pinned.setdefault(candidate.seq, candidate.entry_hash)
            if pinned[candidate.seq] != candidate.entry_hash:
                return failed(candidate.seq, REWRITTEN)
        if since_checkpoint and stored:
            start = stored[-1]
            if await _entry_hash_at(start.seq) != start.entry_hash:
                if await chain_length() < start.seq:
                    return failed(start.seq, TRUNCATED)
                return failed(start.seq, REWRITTEN)
            cursor = previous_seq = start.seq
            previous_hash = start.entry_hash
            keyed = True  # a checkpoint entry is always written keyed
    last_pinned = max(pinned, default=0)

    async with _BatchReader() as reader:
        return await _walk(
            reader,
            cursor,
            batch_size,
            progress,
            key,
            keyed,
            pinned,
            last_pinned,
            previous_seq,
            previous_hash,
        )


async def _walk(
    reader: _BatchReader,
    cursor: int,
    batch_size: int,
    progress: Callable[[int], None] | None,
    key: bytes,
    keyed: bool,
    pinned: dict[int, str],
    last_pinned: int,
    previous_seq: int,
    previous_hash: str,
) -> VerifyResult:
    """The hot loop: per entry, the canonical body, one MAC and a few comparisons."""
    checked = 0

    def failed(seq: int, kind: str) -> VerifyResult:
        return VerifyResult(False, checked, previous_seq, previous_hash, Problem(seq, kind))

    # The next batch is read (in a thread on SQLite, by the server on PostgreSQL) while this one
    # is checked: each new read is given one turn of the event loop to start before the loop.
    pending: asyncio.Future = asyncio.ensure_future(reader.batch(cursor, batch_size))
    try:
        while True:
            rows = await pending
            if not rows:
                break
            pending = asyncio.ensure_future(reader.batch(rows[-1][0], batch_size))
            await asyncio.sleep(0)
            for seq, at, actor, action, case_number, details, prev_hash, stored_hash in rows:
                if seq > previous_seq + 1:
                    return failed(previous_seq + 1, MISSING)
                if seq <= previous_seq:
                    return failed(seq, BAD_SEQ)
                if at[0] == NOT_CONVERTED:
                    at = _iso_at(at[1:])
                body = entry_body(seq, at, actor, action, case_number, details)
                if entry_mac(key, prev_hash, body) != stored_hash:
                    # Format 1 is allowed only before the first keyed entry.
                    if keyed or legacy_entry_hash(prev_hash, body) != stored_hash:
                        return failed(seq, ALTERED)
                else:
                    keyed = True
                if prev_hash != previous_hash:
                    return failed(seq, BROKEN_LINK)
                if seq in pinned and stored_hash != pinned[seq]:
                    return failed(seq, REWRITTEN)
                checked += 1
                previous_seq = seq
                previous_hash = stored_hash
            if progress is not None:
                progress(len(rows))
    finally:
        # Let a read in flight finish before the connection is closed or released.
        await asyncio.gather(pending, return_exceptions=True)
    if previous_seq < last_pinned:
        return failed(previous_seq + 1, TRUNCATED)
    if previous_seq > 0 and not keyed:
        return failed(previous_seq, UNKEYED)
    return VerifyResult(True, checked, previous_seq, previous_hash)

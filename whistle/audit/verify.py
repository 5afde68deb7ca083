"""Recompute the audit chain and name the first entry that breaks it.

The chain is read in batches by keyset pagination on ``seq`` (constant memory whatever its
length). Every entry must have the next sequence number, link to the previous entry's MAC and
carry its own MAC under the chain key (entries from before the chain was keyed: see the format
rules in ``whistle.audit.service``). Signed checkpoints add what the chain alone cannot show:
that it was not cut short (truncation) or recomputed from some point on (rewriting). Those in
the ``audit_checkpoint`` table are checked on every run; a file kept offline can be added.

Speed: verification costs what the MAC costs. The database hands over, per entry, only the
exact bytes the MAC covers (``prev_hash`` followed by the canonical JSON body, assembled in SQL
from the columns the way ``entry_body`` assembles it) and the stored MAC, a whole batch as one
row (``_postgres_sql``, ``_sqlite_sql``): the MAC inputs joined by a newline, which none of them
can hold. A batch of consecutive entries passes as one comparison of C-level iterations
(``_Batch.checks``); any other batch is read again one row each and checked entry by entry.
A batch is a range of seqs, so the next ones are asked for before this one is checked: SQLite's
reader threads read them without the GIL, and on PostgreSQL two pooled connections each read
one, so that the server assembles on both cores while this process hashes. Batches are
consumed in seq order whichever connection read them; a range that ends short or holds nothing
starts the reads again from where the walk is, so a gap is named where it starts.

What the assembly costs the server decides the speed (2 cores: it and the hashing share them).
PostgreSQL's batch quotes the text columns by concatenation, which is their JSON when none
holds a quote or a backslash (a row with one is left empty and the batch is read again row by
row with ``to_json``; a control character is left raw and matches no MAC, for the same re-read),
writes the time with ``to_json`` in a UTC transaction and pads its fraction, and sends each
aggregate once (``textsend``); measured, 5.0 us of backend CPU per entry became 2.5 us.

The SQL body is an accelerator, never a judge. Any entry whose fast bytes do not carry its MAC
(or the previous entry's MAC at their start) is read again as columns and decided by the exact
path: ``entry_body``, ``entry_mac`` and the format-1 rule, as before. So Python's ``entry_body``
stays the one definition of the chain format, and every verdict (altered, broken link, an
unconverted time...) comes from it. Accepting on the fast path is sound: a match under the chain
key authenticates those bytes as ones ``append`` wrote for some entry; they are a valid JSON
encoding of this row's columns (the engines' quoting escapes properly, a text quoted by
concatenation holds nothing JSON escapes but control characters, which no MAC input of
``append`` holds raw; the time text is Python's UTC isoformat of the row's time or no isoformat
at all; ``details`` and ``seq`` are the last two members, ``prev_hash`` is 64 characters, the
previous MAC), so they determine the columns, and the exact path would have accepted the same
row. The bytes end with the row's own seq and start with the previous MAC, so a match is bound
to its place in the chain whatever order the rows came in. Without the key a tampered row
cannot produce a match. A batch is split only when it splits into exactly as many pieces as it
has entries, so that no newline inside a MAC input can shift one entry's bytes onto another.
Before the first keyed entry, SHA-256 over the same bytes is tried (format 1) before falling
back; that prefix is pinned by the first MAC, not by this argument. Where the engine's quoting
differs from Python's (for no Unicode scalar value on SQLite 3.40 or PostgreSQL 15) the entry
merely takes the exact path; ``VerifyResult.slow_path_entries`` counts them.
``since_checkpoint`` starts at the newest stored checkpoint whose signature verifies.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import sqlite3
from binascii import hexlify
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import repeat
from operator import itemgetter
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

try:
    # The C function behind hmac.digest (the same OpenSSL HMAC), called without the Python
    # wrapper's frame and type checks: a sixth of the hashing thread's time per entry.
    from _hashlib import hmac_digest as _hmac_digest
except ImportError:  # a Python built without OpenSSL
    _hmac_digest = hmac.digest  # type: ignore[assignment]  # accepts more; called alike

# Entries per read. Against 20,000, batches of 5,000 (about 1.5 MB of MAC inputs) cost a
# PostgreSQL backend a fifth less per entry (its aggregate and send: 0.3 instead of 1.4 us of
# kernel time) and stay in the caches on both sides; verification ran faster on both engines.
DEFAULT_BATCH = 5_000

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
    # Entries the fast path did not accept, decided from their columns (0 for what ``append``
    # writes; the tampered entry a failed verification names is one).
    slow_path_entries: int = 0


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


# The exact path reads the entry time as the very text ``append`` hashed (UTC isoformat, the
# fraction left out when it is zero), converted by the database; a value in any other form comes
# marked with NOT_CONVERTED, and ``_iso_at`` reads it.
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

# The fast path's time, quoted as JSON (to_char cost the server more than the MAC costs here).
# In the verify transaction's UTC (``_UTC_SESSION``), to_json of a time in years 1 to 9999 is
# Python's UTC isoformat but for the fraction, whose trailing zeros it drops: 27 characters
# without one, 34 with all six digits, and in between the missing zeros go back before the '+'.
# -infinity and infinity are datetime.min and max (see _POSTGRES_ISO_AT); any other time is
# NULL and reads 'null', which matches no MAC (``append`` always hashes a string).
_POSTGRES_AT_JSON = (
    "CASE WHEN at BETWEEN '0001-01-01 00:00:00+00' AND '9999-12-31 23:59:59.999999+00' "
    "THEN to_json(at)::text "
    "WHEN at = '-infinity' THEN '\"0001-01-01T00:00:00+00:00\"' "
    "WHEN at = 'infinity' THEN '\"9999-12-31T23:59:59.999999+00:00\"' END"
)
_POSTGRES_PADDED_AT = (
    "CASE WHEN octet_length(at_json) IN (27, 34) THEN at_json "
    "ELSE coalesce(replace(at_json, '+', repeat('0', 34 - octet_length(at_json)) || '+'), "
    "'null') END"
)
# Set on each verify connection, inside its own read-only transaction (so that the pooled
# connection goes back as it came): to_json writes times in the session's time zone.
_UTC_SESSION = "SET LOCAL TimeZone = 'UTC'"
# Between the MAC inputs of a batch: a byte no MAC input ``append`` writes can hold (its JSON
# escapes control characters, and the MACs are hex), so splitting there gives back the entries
# exactly when it gives as many pieces as the batch has entries.
_SEPARATOR = b"\n"


def _body(quote: Callable[[str], str], at: str) -> str:
    """SQL for ``entry_body`` of a row: ``quote`` gives the JSON string of a text column, ``at``
    is the time already quoted (every text the time expressions yield is digits, letters,
    spaces and ``-/:.+~"``: nothing JSON escapes)."""
    return (
        f"""'{{"action":' || {quote("action")} || ',"actor":' || {quote("actor")} || """
        f"""',"at":' || {at} || ',"case_number":' || coalesce({quote("case_number")}, 'null') """
        """|| ',"details":' || details || ',"seq":' || seq || '}'"""
    )


def _postgres_sql(*, batch: bool) -> str:
    """PostgreSQL's fast path: a batch as one row, or its entries one row each.

    A batch is (count, first seq, last seq, stored MACs, MAC inputs): the stored MACs at 64
    bytes each (any other becomes 64 spaces, which match no MAC) and the MAC inputs joined by
    ``_SEPARATOR``, as the bytes a client receives (textsend: one copy, no conversion per row).
    Most of the server's cost was in quoting and converting each row, so a batch quotes the
    three text columns by concatenation where that is exactly their JSON: when none holds a
    quote or a backslash (a control character, which JSON escapes, is left raw, and no MAC
    input of ``append`` holds one, so that entry simply fails its MAC). A row with a quote or a
    backslash gets an empty MAC input and fails the batch, whose entries are then read one row
    each, quoted by to_json as before. The aggregates see the rows in the subquery's order (an
    ORDER BY inside string_agg would sort them again); nothing relies on it for soundness.

    Rows the SQL cannot encode faithfully get an empty message and take the exact path: a
    prev_hash of other than 64 characters (its end could pass for the start of a body).
    """
    entries = (
        f"SELECT seq, action, actor, case_number, details, prev_hash, entry_hash, "  # noqa: S608
        f"{_POSTGRES_AT_JSON} AS at_json, action || actor || coalesce(case_number, '') AS texts "
        "FROM audit_entry WHERE seq > $1 AND seq <= $2 ORDER BY seq LIMIT $3"
    )
    if not batch:
        message = "prev_hash || " + _body(
            lambda column: f"to_json({column})::text", _POSTGRES_PADDED_AT
        )
        return (
            f"SELECT seq, textsend(CASE WHEN octet_length(prev_hash) = 64 THEN {message} "  # noqa: S608
            f"ELSE '' END), textsend(entry_hash) FROM ({entries}) AS entry"
        )
    raw = "prev_hash || " + _body(lambda column: f"""'"' || {column} || '"'""", _POSTGRES_PADDED_AT)
    plain = (
        "octet_length(prev_hash) = 64 AND strpos(texts, '\"') = 0 AND strpos(texts, chr(92)) = 0"
    )
    stored = "CASE WHEN octet_length(entry_hash) = 64 THEN entry_hash ELSE repeat(' ', 64) END"
    return (
        f"SELECT count(*), min(seq), max(seq), textsend(string_agg({stored}, '')), "  # noqa: S608
        f"textsend(string_agg(CASE WHEN {plain} THEN {raw} ELSE '' END, chr(10))) "
        f"FROM ({entries}) AS entry"
    )


def _sqlite_sql(*, batch: bool) -> str:
    """SQLite's fast path, shaped like PostgreSQL's (``_postgres_sql``); json_quote is the
    engine's JSON string quoting. Rows the SQL cannot encode faithfully get an empty message:
    a prev_hash of other than 64 characters (after a NUL, where SQLite's length() stops, byte
    64 is no '{' and so matches no MAC) and a BLOB where text belongs (concatenated, it would
    read as the text that the exact path refuses)."""
    guard = (
        "length(prev_hash) = 64 AND typeof(prev_hash) = 'text' "
        "AND typeof(actor) = 'text' AND typeof(action) = 'text' "
        "AND typeof(details) = 'text' AND typeof(case_number) IN ('text', 'null')"
    )
    # Cheaper than _SQLITE_ISO_AT and as strict here: the only texts it turns into a hashed
    # time (one 'T', no space) are that time with ' ' or 'T', which the exact path reads as that
    # time too. json_quote(NULL) is 'null'; the stored text could be anything.
    body = _body(lambda column: f"json_quote({column})", "json_quote(replace(at, ' ', 'T'))")
    message = f"CASE WHEN {guard} THEN prev_hash || {body} ELSE '' END"
    where = "FROM audit_entry WHERE seq > ? AND seq <= ? ORDER BY seq LIMIT ?"
    if not batch:
        return f"SELECT seq, CAST({message} AS BLOB), CAST(entry_hash AS BLOB) {where}"
    stored = (
        "CASE WHEN length(CAST(entry_hash AS BLOB)) = 64 THEN entry_hash "
        "ELSE printf('%64s', '') END"
    )
    return (
        "SELECT count(*), min(seq), max(seq), CAST(group_concat(stored, '') AS BLOB), "  # noqa: S608
        "CAST(group_concat(message, char(10)) AS BLOB) "
        f"FROM (SELECT seq, {message} AS message, {stored} AS stored {where}) AS entry"
    )


_SQLITE_FAST_BATCH = _sqlite_sql(batch=True)
_POSTGRES_FAST_BATCH = _postgres_sql(batch=True)
# Row by row, for a batch that did not pass as a unit, so that the walk names the entry.
_SQLITE_FAST_ROWS = _sqlite_sql(batch=False)
_POSTGRES_FAST_ROWS = _postgres_sql(batch=False)
# The exact path: one entry's columns, as ``entry_body`` takes them.
_EXACT_ROW = (
    "SELECT seq, {}, actor, action, case_number, details, prev_hash, entry_hash "
    "FROM audit_entry WHERE seq = {}"
)

# Entries hashed between two chances for another thread to take the GIL (a few ms of work).
_GIL_SLICE = 1024
# The highest seq a range may reach (the columns are 64-bit integers).
_MAX_SEQ = 2**63 - 1
# (seq, MAC input, stored MAC): the MAC input is empty where the exact path must decide.
FastRow = tuple[int, bytes, bytes]


@dataclass(frozen=True)
class _Batch:
    """Consecutive entries as the database hands them over (see ``_postgres_sql``)."""

    count: int
    first: int
    last: int
    stored: bytes
    messages: bytes

    def message_list(self) -> list[bytes] | None:
        """The MAC inputs, or None when ``_SEPARATOR`` also occurs inside one (then the pieces
        outnumber the entries, and no split can be trusted)."""
        pieces = self.messages.split(_SEPARATOR)
        return pieces if len(pieces) == self.count else None

    def checks(self, key: bytes, previous: bytes) -> Iterator[bool]:
        """Whether every entry carries its MAC over its message and every message starts with
        the MAC before it (``previous`` for the first), so that the whole batch passes as a
        unit: told in slices of ``_GIL_SLICE`` entries, one result each, stopping at the first
        False. The caller lets other work run between them (a C-level loop keeps the
        GIL, and the event loop, until it ends; SQLite's reader threads need the GIL for a
        moment to start and finish the next reads, PostgreSQL's next batches wait in their
        sockets for the event loop, their backends stalled once the buffers are full).

        Each hexlified MAC and each stored one is 64 bytes, so equal concatenations are equal
        pairs (and one hexlify of the joined MACs is the join of each one's hexlify); a prefix
        shorter than 64 bytes makes the links' concatenation too short.
        """
        messages = self.message_list()
        if messages is None:
            yield False
            return
        for start in range(0, self.count, _GIL_SLICE):
            part = messages[start : start + _GIL_SLICE]
            macs = map(_hmac_digest, repeat(key), part, repeat("sha256"))
            passed = hexlify(b"".join(macs)) == self.stored[64 * start : 64 * (start + len(part))]
            yield passed
            if not passed:
                return
        links = b"".join(map(itemgetter(slice(0, 64)), messages))
        yield links == previous + self.stored[:-64]

    def stored_at(self, seq: int) -> bytes:
        offset = 64 * (seq - self.first)
        return self.stored[offset : offset + 64]


# Batches read at once, each on its own connection: the database assembles the MAC inputs of
# one batch per PostgreSQL backend or per SQLite reader thread (which runs without the GIL), on
# as many cores, while this process hashes. On SQLite the assembly costs about as much as the
# MAC: with one lane the reader thread and the hashing took turns more than they overlapped.
POSTGRES_LANES = 2
SQLITE_LANES = 2


class _BatchReader:
    """Reads batches straight from the driver (the engine's per-row dicts and conversions cost
    more than the MAC): ``SQLITE_LANES`` read-only sqlite3 connections on SQLite (each read on
    a worker thread), ``POSTGRES_LANES`` pooled asyncpg connections on PostgreSQL. ``batch``
    serves the fast path (lane ``lane``), ``rows``, ``next_seq`` and ``entry`` the slower ones
    (lane 0, once no batch is in flight); only one query runs on a connection at a time."""

    def __init__(self) -> None:
        self.sqlite: list[sqlite3.Connection] = []
        self.postgres: list[Any] = []
        self._pool: Any = None

    @property
    def lanes(self) -> int:
        """How many batches may be in flight at once (one per connection)."""
        return len(self.postgres) or len(self.sqlite)

    async def __aenter__(self) -> _BatchReader:
        engine = db.current()
        if isinstance(engine, SQLiteEngine):
            uri = f"{Path(engine.path).absolute().as_uri()}?mode=ro"  # noqa: ASYNC240 - no I/O
            for _ in range(SQLITE_LANES):
                self.sqlite.append(sqlite3.connect(uri, uri=True, check_same_thread=False))
        else:
            assert isinstance(engine, PostgresEngine)
            self._pool = engine.pool
            try:
                for _ in range(POSTGRES_LANES):
                    connection = await self._pool.acquire()
                    self.postgres.append(connection)
                    # Read-only, and its SET LOCAL ends with it: the connection goes back
                    # to the pool as it came.
                    await connection.execute(f"BEGIN READ ONLY; {_UTC_SESSION}")
            except BaseException:
                await self.__aexit__()
                raise
        return self

    async def __aexit__(self, *_exc: object) -> None:
        for reader in self.sqlite:
            reader.close()
        for connection in self.postgres:
            try:
                if not connection.is_closed() and connection.is_in_transaction():
                    await connection.execute("ROLLBACK")  # nothing was written
            finally:
                await self._pool.release(connection)

    async def _one(self, sql: tuple[str, str], *args: int, lane: int = 0) -> Any:
        if self.sqlite:
            connection = self.sqlite[lane]
            return await asyncio.to_thread(lambda: connection.execute(sql[0], args).fetchone())
        return await self.postgres[lane].fetchrow(sql[1], *args)

    async def batch(self, after_seq: int, until_seq: int, lane: int) -> _Batch | None:
        """The entries with ``after_seq < seq <= until_seq``; None when there is none."""
        sql = (_SQLITE_FAST_BATCH, _POSTGRES_FAST_BATCH)
        row = await self._one(sql, after_seq, until_seq, until_seq - after_seq, lane=lane)
        return _Batch(*row) if row[0] else None

    async def rows(self, after_seq: int, until_seq: int) -> list[FastRow]:
        """The same entries one row each (seq, MAC input, stored MAC)."""
        args = (after_seq, until_seq, until_seq - after_seq)
        if self.sqlite:
            connection = self.sqlite[0]
            return await asyncio.to_thread(
                lambda: connection.execute(_SQLITE_FAST_ROWS, args).fetchall()
            )
        return await self.postgres[0].fetch(_POSTGRES_FAST_ROWS, *args)

    async def next_seq(self, after_seq: int) -> int | None:
        """The lowest seq above ``after_seq``; None when there is none."""
        sql = "SELECT min(seq) FROM audit_entry WHERE seq > {}"
        row = await self._one((sql.format("?"), sql.format("$1")), after_seq)
        return row[0]

    async def entry(self, seq: int) -> tuple | None:
        """Entry ``seq`` as (seq, time text, actor, action, case_number, details, prev_hash,
        entry_hash), the columns ``entry_body`` takes; None when it is gone."""
        sql = (_EXACT_ROW.format(_SQLITE_ISO_AT, "?"), _EXACT_ROW.format(_POSTGRES_ISO_AT, "$1"))
        row = await self._one(sql, seq)
        return None if row is None else tuple(row)


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


async def _passes(checks: Iterator[bool]) -> bool:
    """Whether every check passes, with one turn of the event loop between two of them."""
    for passed in checks:
        if not passed:
            return False
        await asyncio.sleep(0)
    return True


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
    """The hot loop: a batch of consecutive entries passes as a unit (``_Batch.checks``);
    in any other batch each entry is checked alone, one MAC over the bytes the database
    assembled, and an entry that does not pass that way is decided by ``_exact_check``."""
    checked = 0
    slow = 0
    # Hashes as the bytes the database hands over: no per-entry encoding in the loop.
    previous = previous_hash.encode()
    pinned_bytes = {seq: value.encode() for seq, value in pinned.items()}
    mac, sha256 = _hmac_digest, hashlib.sha256  # locals: a faster lookup

    def failed(seq: int, kind: str) -> VerifyResult:
        return VerifyResult(
            False, checked, previous_seq, previous.decode(), Problem(seq, kind), slow
        )

    # Batches are seq ranges of ``batch_size``, so the next ones can be asked for before this
    # one arrives: one read in flight per lane (a thread on SQLite, a server backend each on
    # PostgreSQL) while this one is checked, consumed in seq order. A range that ends short (the
    # head of the chain) or holds nothing (the end, or a gap) starts the reads again from there.
    in_flight: deque[tuple[int, int, int, asyncio.Future]] = deque()
    next_after = cursor

    def ask(lane: int) -> None:
        nonlocal next_after
        until = min(next_after + max(batch_size, 1), _MAX_SEQ)  # an empty range never ends
        read = asyncio.ensure_future(reader.batch(next_after, until, lane))
        in_flight.append((next_after, until, lane, read))
        next_after = until

    async def settle() -> None:
        """Let every read in flight finish: one query at a time on a connection."""
        if in_flight:
            await asyncio.wait([read for *_, read in in_flight])

    async def restart(after: int) -> None:
        """Drop the reads in flight and read on from ``after``."""
        nonlocal next_after
        await asyncio.gather(*(read for *_, read in in_flight), return_exceptions=True)
        in_flight.clear()
        next_after = after
        for lane in range(reader.lanes):
            ask(lane)

    await restart(cursor)
    try:
        while True:
            after, until, lane, read = in_flight.popleft()
            batch: _Batch | None = await read
            if batch is None:
                await settle()
                following = await reader.next_seq(after)
                if following is None:
                    break
                await restart(following - 1)  # past a gap: the walk names what is missing
                continue
            ask(lane)
            await asyncio.sleep(0)  # one turn of the event loop for the new read to start
            rows: Iterable[FastRow] = ()
            if batch.first == previous_seq + 1 and batch.last - batch.first + 1 == batch.count:
                if await _passes(batch.checks(key, previous)) and all(
                    batch.stored_at(seq) == value
                    for seq, value in pinned_bytes.items()
                    if batch.first <= seq <= batch.last
                ):
                    keyed = True
                    checked += batch.count
                    previous_seq = batch.last
                    previous = batch.stored[-64:]
                    if progress is not None:
                        progress(batch.count)
                else:
                    # Read again one row each, JSON-quoted by the engine (a batch leaves the
                    # rows it cannot quote by concatenation empty), so that the walk names the
                    # entry and any other passes as its MAC allows.
                    await settle()
                    rows = await reader.rows(after, until)
            else:
                # Not one run of seqs: row by row, so that the walk names the entry. Entries
                # appended to the range since the batch was read are checked with it.
                await settle()
                rows = await reader.rows(after, until)
            batch_checked = checked
            for seq, message, stored in rows:
                if seq != previous_seq + 1:
                    if seq > previous_seq + 1:
                        return failed(previous_seq + 1, MISSING)
                    return failed(seq, BAD_SEQ)
                if message.startswith(previous) and hexlify(mac(key, message, "sha256")) == stored:
                    keyed = True
                elif (
                    not keyed
                    and message.startswith(previous)
                    and hexlify(sha256(message).digest()) == stored
                ):
                    pass  # format 1, before the first keyed entry
                else:
                    slow += 1
                    await settle()
                    verdict = _exact_check(await reader.entry(seq), key, keyed, previous)
                    if isinstance(verdict, str):
                        return failed(seq, verdict)
                    keyed, stored = verdict
                if seq in pinned_bytes and stored != pinned_bytes[seq]:
                    return failed(seq, REWRITTEN)
                checked += 1
                previous_seq = seq
                previous = stored
            if progress is not None and checked > batch_checked:
                progress(checked - batch_checked)
            if previous_seq != until:
                await restart(previous_seq)  # the range ended short: read on from its end
    finally:
        # Let the reads in flight finish before the connections are closed or released.
        await asyncio.gather(*(read for *_, read in in_flight), return_exceptions=True)
    if previous_seq < last_pinned:
        return failed(previous_seq + 1, TRUNCATED)
    if previous_seq > 0 and not keyed:
        return failed(previous_seq, UNKEYED)
    return VerifyResult(True, checked, previous_seq, previous.decode(), None, slow)


def _exact_check(
    row: tuple | None, key: bytes, keyed: bool, previous: bytes
) -> str | tuple[bool, bytes]:
    """Decide one entry from its columns, the chain format's own definition (``entry_body``).

    Returns the kind of problem, or whether the chain is keyed from here on and the entry's
    stored MAC (as bytes, like the fast path's).
    """
    if row is None:  # deleted since its batch was read
        return MISSING
    _seq, at, actor, action, case_number, details, prev_hash, stored_hash = row
    if at[0] == NOT_CONVERTED:
        at = _iso_at(at[1:])
    body = entry_body(_seq, at, actor, action, case_number, details)
    if entry_mac(key, prev_hash, body) != stored_hash:
        # Format 1 is allowed only before the first keyed entry.
        if keyed or legacy_entry_hash(prev_hash, body) != stored_hash:
            return ALTERED
    else:
        keyed = True
    if prev_hash.encode() != previous:
        return BROKEN_LINK
    return keyed, stored_hash.encode()

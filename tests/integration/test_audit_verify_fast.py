"""Verification's fast path (the database assembles each entry's MAC input) against the exact
one (``entry_body`` over the columns): ordinary entries never need the exact path, and whatever
text the entries hold, or whichever column of whichever entry is changed behind the app's back,
the verdict is the one the exact path gives."""

from __future__ import annotations

import asyncio
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st

from tests.support.audit import append_one, append_samples, disable_append_only_triggers
from tests.support.audit import entry_rows as stored_rows
from whistle.audit import actions
from whistle.audit.service import (
    GENESIS_HASH,
    MAX_ACTOR_CHARS,
    MAX_CASE_NUMBER_CHARS,
    canonical_json,
    chain_key,
    entry_body,
    entry_mac,
    iso_utc,
    legacy_entry_hash,
)
from whistle.audit.verify import ALTERED, BROKEN_LINK, MISSING, verify_chain
from whistle.db import engine as db

# Characters whose JSON escaping differs between encoders, or that drivers treat specially.
AWKWARD = '"\\/\b\f\n\r\t\x01\x1f\x7f\x80\u00e9\u2028\u2029\ufeff\uffff\U0001f600\U0010ffff'
# No lone surrogates (not UTF-8: ``append`` cannot encode them) and no NUL (PostgreSQL text
# cannot hold it).
CHARS = st.one_of(
    st.sampled_from(AWKWARD),
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
)


def text(min_size: int = 0, max_size: int = 12) -> st.SearchStrategy[str]:
    return st.text(CHARS, min_size=min_size, max_size=max_size)


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(text(), inner, max_size=3),
    max_leaves=6,
)


@dataclass(frozen=True)
class Entry:
    action: str
    actor: str
    case_number: str | None
    details: dict[str, Any]


ENTRIES = st.builds(
    Entry,
    action=st.sampled_from(sorted(actions.ALL_ACTIONS)),
    actor=text(1, MAX_ACTOR_CHARS),
    case_number=st.none() | text(0, MAX_CASE_NUMBER_CHARS),
    details=st.dictionaries(text(), JSON_VALUES, max_size=4),
)
COLUMNS = ["seq", "at", "actor", "action", "case_number", "details", "prev_hash", "entry_hash"]


@dataclass(frozen=True)
class Tampering:
    index: int  # of the entry, into the chain
    value: Any  # a text, or a number (of seconds, for the time)


TAMPERINGS = st.builds(
    Tampering, index=st.integers(0, 5), value=st.one_of(text(1, 12), st.integers(1, 10**6))
)


def drawn(strategy: st.SearchStrategy, count: int, name: str) -> list:
    """``count`` values drawn by hypothesis up front (the same on every run), for an async test
    with one database."""
    values: list = []

    @settings(
        max_examples=count,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @seed(zlib.crc32(name.encode()))
    @given(strategy)
    def collect(value: Any) -> None:
        values.append(value)

    collect()
    return values


CHAINS = drawn(st.lists(ENTRIES, min_size=6, max_size=6), 12, "chains")
# Every column, each changed in two drawn entries.
TAMPERS = {column: drawn(TAMPERINGS, 2, column) for column in COLUMNS}


async def append_entries(entries: list[Entry]) -> None:
    for entry in entries:
        await append_one(entry.action, entry.actor, entry.case_number, entry.details)


def tampered(row: dict[str, Any], column: str, tampering: Tampering) -> Any:
    """Another value for one column, as an attacker with the database would write it."""
    value = tampering.value
    if column == "seq":
        return row["seq"] + 1000 + (value if isinstance(value, int) else len(value))
    if column == "at":
        at = row["at"]
        if isinstance(at, str):  # SQLite keeps the text
            at = datetime.fromisoformat(at)
        return at + timedelta(seconds=value if isinstance(value, int) else len(value))
    if column == "details":
        # Any other text: some other JSON (still canonical), or no JSON at all.
        new = canonical_json({"x": value}) if isinstance(value, int) else value
        return new if new != row["details"] else new + " "
    new = str(value)
    if column == "case_number":
        new = new[:MAX_CASE_NUMBER_CHARS]
    return new if new != row[column] else new + "x"


async def test_ordinary_entries_never_take_the_exact_path(database):
    await append_samples(13)
    for batch_size in (1, 4, 13, 5000):
        result = await verify_chain(batch_size=batch_size)
        assert result.ok and result.entries_checked == 13, result
        assert result.slow_path_entries == 0, batch_size


async def test_a_tampered_entry_is_the_only_one_decided_by_the_exact_path(database):
    await append_samples(8)
    await disable_append_only_triggers()
    await db.fetch("UPDATE audit_entry SET actor = 'mallory' WHERE seq = 6")
    for batch_size in (1, 4, 5000):
        result = await verify_chain(batch_size=batch_size)
        assert (result.problem.seq, result.problem.kind) == (6, ALTERED)
        assert result.entries_checked == 5 and result.slow_path_entries == 1, batch_size


async def _insert_logins(times: Sequence[datetime], digest_of: Callable[[str, bytes], str]) -> None:
    """A chain of logins at ``times`` written behind the app's back, each entry's hash being
    ``digest_of(previous hash, body)`` (format 1 or the keyed MAC)."""
    previous = GENESIS_HASH
    for seq, at in enumerate(times, start=1):
        digest = digest_of(
            previous, entry_body(seq, iso_utc(at), "siti", actions.LOGIN, None, "{}")
        )
        await db.fetch(
            "INSERT INTO audit_entry (seq, at, actor, action, case_number, details, prev_hash, "
            "entry_hash) VALUES ({}, {}, 'siti', {}, NULL, {}, {}, {})",
            seq,
            at,
            actions.LOGIN,
            "{}",
            previous,
            digest,
        )
        previous = digest


async def test_a_sha256_prefix_takes_the_fast_path_too(database):
    """Entries from before the chain was keyed (format 1) are hashed over the same bytes."""
    at = datetime(2025, 6, 1, 9, 0, tzinfo=UTC)
    await _insert_logins([at, at, at], legacy_entry_hash)
    await append_samples(3)
    for batch_size in (2, 5000):
        result = await verify_chain(batch_size=batch_size)
        assert result.ok and result.entries_checked == 6, result
        assert result.slow_path_entries == 0, batch_size


async def test_any_text_in_the_entries_verifies(database):
    """Quotes, backslashes, control characters, U+007F, U+2028, non-BMP characters... in the
    actor, the case number and the details: written by ``append``, the chain verifies, in one
    batch and across batches, whichever path each entry takes."""
    count = 0
    for entries in CHAINS:
        await append_entries(entries)
        count += len(entries)
        for batch_size in (3, 5000):
            result = await verify_chain(batch_size=batch_size)
            assert result.ok and result.entries_checked == count, (entries, result)


async def test_changing_any_column_of_any_entry_to_any_text_is_named_as_before(database):
    """Each column of each entry in turn, set to drawn text behind the app's back: the verdict
    is the exact path's (the entry altered, or missing when its seq changed), whatever path the
    other entries took, and the chain is whole again once the value is put back."""
    await append_entries(CHAINS[0])
    await disable_append_only_triggers()
    rows = await stored_rows()
    for column, tampering in ((c, t) for c, drawn_ in TAMPERS.items() for t in drawn_):
        row = rows[tampering.index]
        seq = row["seq"]
        value = tampered(row, column, tampering)
        await db.fetch(
            f"UPDATE audit_entry SET {column} = {{}} WHERE seq = {{}}",  # noqa: S608
            value,
            seq,
        )
        expected = (seq, MISSING if column == "seq" else ALTERED)
        for batch_size in (1, 4, 5000):
            result = await verify_chain(batch_size=batch_size)
            assert (result.problem.seq, result.problem.kind) == expected, (column, value)
            assert result.entries_checked == seq - 1, (column, value, batch_size)
        key = value if column == "seq" else seq
        await db.fetch(
            f"UPDATE audit_entry SET {column} = {{}} WHERE seq = {{}}",  # noqa: S608
            row[column],
            key,
        )
        assert (await verify_chain()).ok, (column, value)


async def test_a_prev_hash_carrying_the_start_of_the_body_cannot_pass_for_the_entry(database):
    """An entry whose details hold an object shaped like an entry: a writer moves the body's
    start into prev_hash and sets the columns to the inner object, so that prev_hash followed
    by the new body is the very MAC input of the entry. The exact path names the broken link;
    the fast path must not accept it (it takes only a prev_hash of 64 characters)."""
    inner = {"action": "x", "actor": "y", "at": "z", "case_number": None, "details": {}, "seq": 5}
    await append_samples(2)
    record = await append_one(actions.CASE_NOTE_ADDED, "siti", "2026-0001", inner)
    await append_samples(1)
    await disable_append_only_triggers()
    body = entry_body(
        record.seq,
        iso_utc(record.at),
        record.actor,
        record.action,
        record.case_number,
        canonical_json(inner),
    ).decode()
    start = body[: body.index(',"details":') + len(',"details":')]
    if not db.is_sqlite():
        # PostgreSQL holds at most 64 characters there: this writer is stopped by the column.
        with pytest.raises(asyncpg.StringDataRightTruncationError):
            await set_columns(record.seq, prev_hash=record.prev_hash + start)
        return
    await set_columns(
        record.seq,
        prev_hash=record.prev_hash + start,
        action="x",
        actor="y",
        at="z",
        case_number=None,
        details='{},"seq":5}',
    )
    for batch_size in (1, 5000):
        result = await verify_chain(batch_size=batch_size)
        assert (result.problem.seq, result.problem.kind) == (record.seq, BROKEN_LINK)


async def set_columns(seq: int, **values: Any) -> None:
    for column, value in values.items():
        await db.fetch(
            f"UPDATE audit_entry SET {column} = {{}} WHERE seq = {{}}",  # noqa: S608
            value,
            seq,
        )


# Times at the edges of what the database turns into the hashed text itself: no fraction, one
# microsecond, the last one, trailing zeros the server's own output would drop, the first and
# last years (Python's datetime.min and max are PostgreSQL's -infinity and infinity).
EDGE_TIMES = [
    datetime(2026, 3, 29, 1, 30, tzinfo=UTC),
    datetime(2026, 3, 29, 1, 30, 0, 1, tzinfo=UTC),
    datetime(2026, 10, 25, 2, 59, 59, 999_999, tzinfo=UTC),
    datetime(2026, 1, 1, 0, 0, 10, 500_000, tzinfo=UTC),
    datetime(2000, 2, 29, 23, 59, 59, 10, tzinfo=UTC),
    datetime.min.replace(tzinfo=UTC),
    datetime(1, 1, 1, 0, 0, 0, 1, tzinfo=UTC),
    datetime(999, 12, 31, 23, 59, 59, tzinfo=UTC),
    datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC),
    datetime.max.replace(tzinfo=UTC),
]


async def test_times_at_the_edges_are_hashed_as_python_formats_them(database):
    """Entries keyed over Python's isoformat of each edge time verify on the fast path alone:
    the bytes the database assembles (the time text, quoted without the engine's JSON quoting)
    are the ones ``append`` hashed."""
    key = chain_key()
    await _insert_logins(EDGE_TIMES, lambda previous, body: entry_mac(key, previous, body))
    for batch_size in (1, 3, 5000):
        result = await verify_chain(batch_size=batch_size)
        assert result.ok and result.entries_checked == len(EDGE_TIMES), result
        assert result.slow_path_entries == 0, batch_size


async def test_a_gap_longer_than_several_batches_is_named_where_it_starts(database):
    """Batches are seq ranges read ahead (two at once on PostgreSQL): ranges with no entry at
    all, a range that ends short and reads in flight past the gap still name its first seq,
    and entries after it are not checked."""
    await append_samples(20)
    await disable_append_only_triggers()
    await db.fetch("DELETE FROM audit_entry WHERE seq BETWEEN 6 AND 16")
    for batch_size in (1, 2, 3, 5, 5000):
        result = await verify_chain(batch_size=batch_size)
        assert (result.problem.seq, result.problem.kind) == (6, MISSING), batch_size
        assert result.entries_checked == 5, batch_size


async def test_a_long_chain_verifies_across_many_ranges(database):
    """Many batches, consumed in seq order whichever connection read them."""
    await append_samples(40)
    for batch_size in (1, 2, 7, 39, 40, 41):
        result = await verify_chain(batch_size=batch_size)
        assert result.ok and result.entries_checked == 40 and result.head_seq == 40, batch_size
        assert result.slow_path_entries == 0, batch_size


async def test_entries_appended_during_verification_never_read_as_a_gap(database):
    """Entries appended while the walk runs (20 of them, interleaved by the scheduler: runs saw
    verification stop at heads from 10 to 90) never read as missing: verification passes up
    to some head, and the next one sees all. The interleaving is not forced, so a range that
    ended short and was read again is not guaranteed to happen in a given run."""
    await append_samples(10)
    for batch_size in (1, 2, 3, 4):
        appending = asyncio.ensure_future(append_samples(20))
        result = await verify_chain(batch_size=batch_size)
        await appending
        assert result.ok, (batch_size, result)
        assert result.head_seq == result.entries_checked >= 10, (batch_size, result)
        whole = await verify_chain(batch_size=batch_size)
        assert whole.ok and whole.entries_checked == whole.head_seq, (batch_size, whole)


async def test_a_batch_size_below_one_reads_one_entry_at_a_time(database):
    await append_samples(3)
    result = await verify_chain(batch_size=0)
    assert result.ok and result.entries_checked == 3, result

"""A batch as the database hands it over passes as a unit only when every entry carries its MAC
and links to the one before, wherever in the batch (and in which slice of its hashing) the
fault lies."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import os

from whistle.audit.service import GENESIS_HASH, entry_body, entry_mac
from whistle.audit.verify import _GIL_SLICE, _Batch, _passes

KEY = os.urandom(32)
COUNT = 2 * _GIL_SLICE + 100  # three slices, the last one short


def chain(count: int = COUNT) -> tuple[list[bytes], list[bytes]]:
    """MAC inputs and stored MACs of a valid chain, as the database would hand them over."""
    messages, hashes = [], []
    previous = GENESIS_HASH
    for seq in range(1, count + 1):
        body = entry_body(seq, "2026-01-01T00:00:00+00:00", "siti", "officer.login", None, "{}")
        digest = entry_mac(KEY, previous, body)
        messages.append(previous.encode() + body)
        hashes.append(digest.encode())
        previous = digest
    return messages, hashes


def batch(messages: list[bytes], hashes: list[bytes]) -> _Batch:
    return _Batch(len(messages), 1, len(messages), b"".join(hashes), b"\n".join(messages))


def test_a_valid_batch_passes_and_splits_into_its_entries():
    messages, hashes = chain()
    whole = batch(messages, hashes)
    assert all(whole.checks(KEY, GENESIS_HASH.encode()))
    assert whole.message_list() == messages
    assert [whole.stored_at(seq) for seq in range(1, COUNT + 1)] == hashes


def test_a_batch_whose_separator_occurs_inside_an_entry_is_not_split():
    messages, hashes = chain()
    # A raw newline inside a text (never in what ``append`` writes): no split is trusted.
    messages[5] = messages[5].replace(b'"siti"', b'"si\nti"')
    whole = batch(messages, hashes)
    assert whole.message_list() is None
    assert not all(whole.checks(KEY, GENESIS_HASH.encode()))


def test_a_fault_in_any_slice_fails_the_batch():
    messages, hashes = chain()
    for index in (0, _GIL_SLICE - 1, _GIL_SLICE, COUNT - 1):
        altered = [*messages]
        altered[index] = altered[index].replace(b'"siti"', b'"sita"')
        assert not all(batch(altered, hashes).checks(KEY, GENESIS_HASH.encode())), index
        wrong_hash = [*hashes]
        wrong_hash[index] = b"e" * 64
        assert not all(batch(messages, wrong_hash).checks(KEY, GENESIS_HASH.encode())), index
    # Valid MACs over messages that do not link (a batch starting elsewhere in the chain).
    assert not all(batch(messages, hashes).checks(KEY, b"a" * 64))
    assert not all(batch(messages[1:], hashes[1:]).checks(KEY, GENESIS_HASH.encode()))


def test_an_entry_left_to_the_exact_path_fails_the_batch():
    messages, hashes = chain()
    messages[_GIL_SLICE + 1] = b""  # what the SQL hands over for a row it cannot encode
    assert not all(batch(messages, hashes).checks(KEY, GENESIS_HASH.encode()))


def test_the_chain_mac_is_hmac_sha256_under_each_key_every_time():
    """The chain format pinned against the standard library's HMAC-SHA256, whichever key came
    before and however often (a faster MAC must not change a byte of it)."""
    other_key = os.urandom(32)
    body = entry_body(
        7, "2026-01-01T00:00:00+00:00", "siti", "officer.login", "2026-K7QM-4XZ9", "{}"
    )
    for key in (KEY, other_key, KEY, other_key):
        for _ in range(3):
            expected = hmac.new(key, GENESIS_HASH.encode() + body, hashlib.sha256).hexdigest()
            assert entry_mac(key, GENESIS_HASH, body) == expected
    assert entry_mac(KEY, GENESIS_HASH, body) != entry_mac(other_key, GENESIS_HASH, body)


def test_a_batch_under_another_key_fails():
    messages, hashes = chain()
    assert not all(batch(messages, hashes).checks(os.urandom(32), GENESIS_HASH.encode()))


async def test_other_tasks_run_between_the_slices_of_a_batch():
    # A reader waiting for its socket (PostgreSQL) or for the GIL (SQLite) gets a turn of the
    # event loop after every slice, not only after the whole batch.
    messages, hashes = chain()
    turns = []

    async def reader() -> None:
        while True:
            turns.append(len(turns))
            await asyncio.sleep(0)

    task = asyncio.create_task(reader())
    await asyncio.sleep(0)  # the reader starts
    started = len(turns)
    assert await _passes(batch(messages, hashes).checks(KEY, GENESIS_HASH.encode()))
    slices = -(-COUNT // _GIL_SLICE)
    assert len(turns) - started >= slices
    task.cancel()


async def test_the_slices_stop_at_the_first_fault():
    messages, hashes = chain()
    hashes[0] = hashes[1]  # the first slice fails
    checks = list(batch(messages, hashes).checks(KEY, GENESIS_HASH.encode()))
    assert checks == [False]
    assert not await _passes(iter(checks))

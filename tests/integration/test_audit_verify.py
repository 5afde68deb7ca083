"""Verification detects every kind of tampering, naming the entry: edits of any field of any
entry, deletions, reorderings, truncation and wholesale rewriting (with a checkpoint)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

from tests.support.audit import append_samples, disable_append_only_triggers, entry_rows
from whistle.audit import actions, append
from whistle.audit.checkpoint import sign
from whistle.audit.service import REPORTER_ACTOR, entry_hash
from whistle.audit.verify import (
    ALTERED,
    BAD_SEQ,
    BROKEN_LINK,
    MISSING,
    REWRITTEN,
    TRUNCATED,
    verify_chain,
)
from whistle.context import Context
from whistle.db import engine as db

COLUMNS = ["seq", "at", "actor", "action", "case_number", "details", "prev_hash", "entry_hash"]


def tampered_value(column: str, row: dict):
    """A different value for one column of one row, as an attacker would write it."""
    return {
        "seq": row["seq"] + 100,
        "at": row["at"] + timedelta(seconds=1),
        "actor": row["actor"] + "x",
        "action": actions.AUDIT_EXPORTED if row["action"] != actions.AUDIT_EXPORTED else "x",
        "case_number": "2026-9999" if row["case_number"] != "2026-9999" else None,
        # Same meaning, other bytes: still caught, the stored text must be the canonical one.
        "details": row["details"].replace("{", "{ ", 1),
        "prev_hash": "f" * 64,
        "entry_hash": "e" * 64,
    }[column]


async def set_column(seq: int, column: str, value) -> None:
    await db.fetch(f"UPDATE audit_entry SET {column} = {{}} WHERE seq = {{}}", value, seq)  # noqa: S608


async def checkpoint_of_head(ctx: Context):
    rows = await entry_rows()
    head = rows[-1]
    return sign(ctx.keyring, seq=head["seq"], entry_hash=head["entry_hash"], created_at=head["at"])


async def test_an_intact_chain_verifies_in_any_batch_size(database):
    await append_samples(13)
    for batch_size in (1, 2, 5, 13, 5000):
        result = await verify_chain(batch_size=batch_size)
        assert result.ok and result.problem is None
        assert result.entries_checked == 13 and result.head_seq == 13
    assert result.head_hash == (await entry_rows())[-1]["entry_hash"]


async def test_an_empty_chain_verifies(database):
    result = await verify_chain()
    assert result.ok and result.entries_checked == 0 and result.head_seq == 0


async def test_editing_any_field_of_any_entry_is_detected_and_named(database):
    await append_samples(6)
    await disable_append_only_triggers()
    original = await entry_rows()
    for row in original:
        for column in COLUMNS:
            await set_column(row["seq"], column, tampered_value(column, row))
            result = await verify_chain(batch_size=4)
            expected_kind = MISSING if column == "seq" else ALTERED
            assert not result.ok, (row["seq"], column)
            assert (result.problem.seq, result.problem.kind) == (row["seq"], expected_kind), column
            assert result.entries_checked == row["seq"] - 1
            # Put it back: the chain is whole again.
            key = row["seq"] + 100 if column == "seq" else row["seq"]
            await set_column(key, column, row[column])
            assert (await verify_chain()).ok, (row["seq"], column)


async def test_deleting_an_entry_is_detected_and_named(database):
    await append_samples(6)
    await disable_append_only_triggers()
    for seq in (4, 1):  # later first: the first problem is always the one just made
        await db.fetch("DELETE FROM audit_entry WHERE seq = {}", seq)
        result = await verify_chain()
        assert (result.problem.seq, result.problem.kind) == (seq, MISSING)
        assert f"entry {seq} is missing" in result.problem.explanation


async def test_reordering_two_entries_is_detected_and_named(database):
    await append_samples(6)
    await disable_append_only_triggers()
    rows = {row["seq"]: row for row in await entry_rows()}
    # Swap the contents of entries 2 and 5, each keeping its place in the sequence.
    for seq, other in ((2, 5), (5, 2)):
        for column in COLUMNS[1:]:
            await set_column(seq, column, rows[other][column])
    result = await verify_chain()
    assert (result.problem.seq, result.problem.kind) == (2, ALTERED)


async def test_swapping_sequence_numbers_is_detected(database):
    await append_samples(6)
    await disable_append_only_triggers()
    await set_column(3, "seq", 1000)
    await set_column(4, "seq", 3)
    await set_column(1000, "seq", 4)
    result = await verify_chain()
    assert (result.problem.seq, result.problem.kind) == (3, ALTERED)


async def test_a_stray_entry_before_the_first_is_detected(database):
    await append_samples(3)
    first = (await entry_rows())[0]
    await db.fetch(
        "INSERT INTO audit_entry (seq, at, actor, action, case_number, details, prev_hash, "
        "entry_hash) VALUES (0, {}, 'mallory', {}, NULL, {}, {}, {})",
        first["at"],
        actions.LOGIN,
        "{}",
        first["prev_hash"],
        first["entry_hash"],
    )
    result = await verify_chain()
    assert (result.problem.seq, result.problem.kind) == (0, BAD_SEQ)


async def test_an_entry_that_hashes_right_but_links_wrong_is_named(database):
    await append_samples(4)
    await disable_append_only_triggers()
    row = (await entry_rows())[2]
    forged_prev = "a" * 64
    forged = entry_hash(
        prev_hash=forged_prev,
        seq=row["seq"],
        at=row["at"],
        actor=row["actor"],
        action=row["action"],
        case_number=row["case_number"],
        details=json.loads(row["details"]),
    )
    await set_column(3, "prev_hash", forged_prev)
    await set_column(3, "entry_hash", forged)
    result = await verify_chain()
    assert (result.problem.seq, result.problem.kind) == (3, BROKEN_LINK)


async def test_truncating_the_tail_is_detected_with_a_checkpoint(database, ctx):
    await append_samples(6)
    checkpoint = await checkpoint_of_head(ctx)
    await disable_append_only_triggers()
    await db.fetch("DELETE FROM audit_entry WHERE seq >= 5")
    # Without a checkpoint the shorter chain is internally consistent...
    assert (await verify_chain()).ok
    # ...the checkpoint shows what is gone, naming the first missing entry.
    result = await verify_chain(checkpoint)
    assert not result.ok
    assert (result.problem.seq, result.problem.kind) == (5, TRUNCATED)
    assert result.head_seq == 4


async def test_rewriting_history_with_recomputed_hashes_is_detected_with_a_checkpoint(
    database, ctx
):
    await append_samples(6)
    checkpoint = await checkpoint_of_head(ctx)
    await disable_append_only_triggers()
    # The attacker edits entry 3 and recomputes every hash after it: the chain alone looks fine.
    rows = await entry_rows()
    previous = rows[1]["entry_hash"]
    for row in rows[2:]:
        actor = "mallory" if row["seq"] == 3 else row["actor"]
        digest = entry_hash(
            prev_hash=previous,
            seq=row["seq"],
            at=row["at"],
            actor=actor,
            action=row["action"],
            case_number=row["case_number"],
            details=json.loads(row["details"]),
        )
        await set_column(row["seq"], "actor", actor)
        await set_column(row["seq"], "prev_hash", previous)
        await set_column(row["seq"], "entry_hash", digest)
        previous = digest
    assert (await verify_chain()).ok
    result = await verify_chain(checkpoint)
    assert (result.problem.seq, result.problem.kind) == (6, REWRITTEN)


async def test_a_chain_that_grew_after_the_checkpoint_extends_it(database, ctx):
    await append_samples(3)
    checkpoint = await checkpoint_of_head(ctx)
    await append_samples(4)
    result = await verify_chain(checkpoint, batch_size=2)
    assert result.ok and result.head_seq == 7


async def test_a_tampered_entry_is_found_wherever_it_falls_against_the_batches(database):
    """Batch size 1, batch boundaries and one large batch give the very same answer."""
    await append_samples(12)
    await disable_append_only_triggers()
    rows = {row["seq"]: row for row in await entry_rows()}
    # 4/5 and 8/9 are the ends and starts of batches of 4; 12 ends the chain.
    for seq in (1, 4, 5, 8, 9, 12):
        await set_column(seq, "actor", rows[seq]["actor"] + "x")
        answers = {
            batch_size: await verify_chain(batch_size=batch_size) for batch_size in (1, 4, 5000)
        }
        await set_column(seq, "actor", rows[seq]["actor"])
        for batch_size, result in answers.items():
            assert (result.problem.seq, result.problem.kind) == (seq, ALTERED), batch_size
            assert result.entries_checked == seq - 1 and result.head_seq == seq - 1, batch_size
        assert len(set(answers.values())) == 1, seq
    for seq in (4, 5):  # a deleted entry at a boundary: named as missing in any batch size
        await db.fetch("DELETE FROM audit_entry WHERE seq = {}", seq)
        answers = {
            batch_size: await verify_chain(batch_size=batch_size) for batch_size in (1, 4, 5000)
        }
        assert {(r.problem.seq, r.problem.kind) for r in answers.values()} == {(4, MISSING)}


async def test_entry_times_verify_with_and_without_a_fraction_of_a_second(database):
    """The time is hashed as UTC isoformat, which leaves the fraction out when it is zero; the
    read side must produce the same text for every time Python can hold (asyncpg stores its
    first and last as -infinity and infinity)."""
    times = [
        datetime(2026, 3, 1, 8, 30, 15, tzinfo=UTC),
        datetime(2026, 3, 1, 8, 30, 15, 1, tzinfo=UTC),
        datetime(2026, 3, 1, 8, 30, 15, 120000, tzinfo=UTC),
        datetime(2026, 3, 1, 15, 30, 15, 999999, tzinfo=timezone(timedelta(hours=7))),
        datetime(1, 1, 1, 0, 0, tzinfo=UTC),
        datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
    ]
    for at in times:
        async with db.transaction():
            await append(actions.LOGIN, actor="siti", at=at)
    async with db.transaction():  # a reporter entry: kept to the hour
        await append(actions.REPORT_RECEIVED, actor=REPORTER_ACTOR, case_number="2026-0001")
    for batch_size in (1, 5000):
        result = await verify_chain(batch_size=batch_size)
        assert result.ok and result.entries_checked == len(times) + 1, result


async def test_an_entry_time_moved_outside_the_calendar_is_named(database):
    """BC dates print like AD ones and infinity is no time of the entry: neither may pass for
    the hashed time, and neither stops the verification."""
    await append_samples(3)
    await disable_append_only_triggers()
    at = (await entry_rows())[1]["at"]
    if isinstance(at, str):  # SQLite keeps the text
        at = datetime.fromisoformat(at)
    same_digits_bc = f"{at.astimezone(UTC):%Y-%m-%d %H:%M:%S.%f}+00 BC"
    for value in (same_digits_bc, "infinity", "-infinity"):
        await db.fetch(f"UPDATE audit_entry SET at = '{value}' WHERE seq = 2")  # noqa: S608
        result = await verify_chain()
        assert (result.problem.seq, result.problem.kind) == (2, ALTERED), value


async def test_an_entry_time_stored_in_another_offset_reads_as_the_same_instant(database):
    """A time the database cannot hand over as the hashed text is read the slow way: the same
    instant written with another offset still verifies, another instant does not."""
    await append_samples(3)
    await disable_append_only_triggers()
    at = (await entry_rows())[1]["at"]
    if isinstance(at, str):
        at = datetime.fromisoformat(at)
    jakarta = at.astimezone(timezone(timedelta(hours=7)))
    await db.fetch(f"UPDATE audit_entry SET at = '{jakarta.isoformat(sep=' ')}' WHERE seq = 2")  # noqa: S608
    assert (await verify_chain()).ok
    later = jakarta + timedelta(microseconds=1)
    await db.fetch(f"UPDATE audit_entry SET at = '{later.isoformat(sep=' ')}' WHERE seq = 2")  # noqa: S608
    result = await verify_chain()
    assert (result.problem.seq, result.problem.kind) == (2, ALTERED)

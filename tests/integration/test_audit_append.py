"""Appending to the audit chain: one transaction with the action, strict order under concurrency,
reporter entries to the hour, and a table the database itself keeps append-only."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import UTC, datetime

import asyncpg
import pytest

from tests.support.audit import append_one, append_samples, entry_rows
from whistle.audit import actions, append
from whistle.audit.service import GENESIS_HASH, REPORTER_ACTOR, canonical_json, entry_hash
from whistle.audit.verify import verify_chain
from whistle.db import engine as db
from whistle.db.tables import AuditEntry, SystemSetting

# What each driver raises when a trigger refuses the statement.
REFUSALS = (sqlite3.IntegrityError, asyncpg.RaiseError)


async def test_entries_chain_from_genesis_and_store_canonical_details(database):
    first = await append_one(actions.LOGIN, "siti")
    second = await append_one(
        actions.CASE_STATUS_CHANGED, "siti", "2026-0001", {"to": "verification", "from": "received"}
    )
    assert (first.seq, first.prev_hash) == (1, GENESIS_HASH)
    assert (second.seq, second.prev_hash) == (2, first.entry_hash)
    rows = await entry_rows()
    assert [row["seq"] for row in rows] == [1, 2]
    assert rows[1]["details"] == '{"from":"received","to":"verification"}'
    assert rows[1]["entry_hash"] == entry_hash(
        prev_hash=first.entry_hash,
        seq=2,
        at=rows[1]["at"],
        actor="siti",
        action=actions.CASE_STATUS_CHANGED,
        case_number="2026-0001",
        details={"from": "received", "to": "verification"},
    )


async def test_twenty_concurrent_actions_make_one_valid_chain(database):
    async def action(number: int) -> int:
        async with db.transaction():
            await SystemSetting.insert(SystemSetting(key=f"concurrent-{number}", value="x"))
            record = await append(actions.SETTING_CHANGED, actor=f"officer{number}")
        return record.seq

    seqs = await asyncio.gather(*(action(number) for number in range(20)))
    assert sorted(seqs) == list(range(1, 21))
    rows = await entry_rows()
    assert [row["seq"] for row in rows] == list(range(1, 21))
    assert {row["actor"] for row in rows} == {f"officer{number}" for number in range(20)}
    result = await verify_chain()
    assert result.ok and result.entries_checked == 20 and result.head_seq == 20


@pytest.mark.parametrize(
    "failure",
    ["unknown action", "details JSON cannot hold", "actor too long", "error after the append"],
)
async def test_an_action_whose_entry_fails_leaves_no_trace(database, failure):
    await append_one()  # an existing head, so a half-written append would show

    async def action() -> None:
        async with db.transaction():
            await SystemSetting.insert(SystemSetting(key="half-done", value="x"))
            if failure == "unknown action":
                await append("officer.did_something_unregistered", actor="siti")
            elif failure == "details JSON cannot hold":
                await append(actions.SETTING_CHANGED, actor="siti", details={"when": object()})
            elif failure == "actor too long":
                await append(actions.SETTING_CHANGED, actor="x" * 81)
            else:
                await append(actions.SETTING_CHANGED, actor="siti")
                raise RuntimeError("the action failed after its entry was written")

    with pytest.raises((ValueError, TypeError, RuntimeError)):
        await action()
    assert await SystemSetting.count().where(SystemSetting.key == "half-done") == 0
    assert [row["seq"] for row in await entry_rows()] == [1]
    assert (await verify_chain()).ok


async def test_append_refuses_to_run_outside_a_transaction(database):
    with pytest.raises(RuntimeError, match="transaction"):
        await append(actions.LOGIN, actor="siti")
    assert await AuditEntry.count() == 0


@pytest.mark.parametrize("engine_name", ["sqlite"])
async def test_append_on_sqlite_needs_an_immediate_transaction(database):
    engine = db.current()
    with pytest.raises(RuntimeError, match="IMMEDIATE"):
        async with engine.transaction():  # deferred
            await append(actions.LOGIN, actor="siti")
    assert await AuditEntry.count() == 0


async def test_reporter_entries_are_kept_to_the_hour(database):
    precise = datetime(2026, 11, 28, 9, 41, 17, 123456, tzinfo=UTC)
    async with db.transaction():
        record = await append(
            actions.REPORT_RECEIVED, actor=REPORTER_ACTOR, case_number="2026-0001", at=precise
        )
    assert record.at == datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
    (row,) = await entry_rows()
    assert row["at"] == datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
    assert row["actor"] == "reporter"
    assert (await verify_chain()).ok


async def test_details_are_hashed_as_stored(database):
    # A tuple is stored as a JSON list: the hash must be of what verify reads back.
    await append_one(actions.OFFICER_ROLES_CHANGED, "root", None, {"roles": ("admin", "triage")})
    (row,) = await entry_rows()
    assert row["details"] == canonical_json({"roles": ["admin", "triage"]})
    assert (await verify_chain()).ok


async def _refused(sql: str) -> str:
    with pytest.raises(REFUSALS) as raised:
        await db.fetch(sql)
    return str(raised.value)


async def test_database_refuses_update_and_delete(database):
    await append_samples(3)
    before = await entry_rows()
    assert "append-only" in await _refused("UPDATE audit_entry SET actor = 'mallory' WHERE seq = 2")
    assert "append-only" in await _refused("UPDATE audit_entry SET details = '{}'")
    assert "append-only" in await _refused("DELETE FROM audit_entry WHERE seq = 3")
    assert "append-only" in await _refused("DELETE FROM audit_entry")
    if not db.is_sqlite():
        assert "append-only" in await _refused("TRUNCATE audit_entry")
    assert await entry_rows() == before


async def test_database_refuses_update_inside_a_transaction_too(database):
    await append_samples(2)
    with pytest.raises(REFUSALS, match="append-only"):
        async with db.transaction():
            await db.fetch("UPDATE audit_entry SET actor = 'mallory'")
    assert {row["actor"] for row in await entry_rows()} == {"siti"}

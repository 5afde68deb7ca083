"""The keyed chain against a database-only writer, the pre-key (SHA-256) prefix of upgraded
installations, and the signed checkpoints the worker stores and `verify` checks."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.support.audit import append_samples, disable_append_only_triggers, entry_rows
from whistle.audit import actions
from whistle.audit.checkpoint import latest_checkpoint, stored_checkpoints, take_checkpoint
from whistle.audit.jobs import CHECKPOINT_JOB
from whistle.audit.service import canonical_json, chain_key
from whistle.audit.verify import (
    ALTERED,
    BAD_CHECKPOINT,
    BROKEN_LINK,
    REWRITTEN,
    TRUNCATED,
    UNKEYED,
    verify_chain,
)
from whistle.context import Context
from whistle.crypto import Keyring, rotate_audit_signing_key
from whistle.db import engine as db
from whistle.jobs import run_due_jobs


def canonical_body(row: dict) -> str:
    return canonical_json(
        {
            "seq": row["seq"],
            "at": row["at"].astimezone(UTC).isoformat(),
            "actor": row["actor"],
            "action": row["action"],
            "case_number": row["case_number"],
            "details": json.loads(row["details"]),
        }
    )


def sha256_link(previous: str, row: dict) -> str:
    """The old, unkeyed chain function: all a database-only writer can compute."""
    return hashlib.sha256((previous + canonical_body(row)).encode()).hexdigest()


def hmac_link(key: bytes, previous: str, row: dict) -> str:
    return hmac.new(key, (previous + canonical_body(row)).encode(), hashlib.sha256).hexdigest()


async def rewrite_from(seq: int, link, *, through: int | None = None) -> str:
    """Edit entry ``seq``'s actor and recompute every link after it (up to ``through``) with
    ``link``; returns the last hash written."""
    rows = await entry_rows()
    previous = rows[seq - 2]["entry_hash"] if seq > 1 else "0" * 64
    for row in rows[seq - 1 : through]:
        if row["seq"] == seq:
            row = {**row, "actor": "mallory"}
        digest = link(previous, row)
        await db.fetch(
            "UPDATE audit_entry SET actor = {}, prev_hash = {}, entry_hash = {} WHERE seq = {}",
            row["actor"],
            previous,
            digest,
            row["seq"],
        )
        previous = digest
    return previous


async def test_the_chain_is_an_hmac_under_the_key_from_keys_dir(database, keys_dir: Path):
    await append_samples(3)
    key = Keyring.load(keys_dir).audit_chain_key
    rows = await entry_rows()
    previous = "0" * 64
    for row in rows:
        assert row["entry_hash"] == hmac_link(key, previous, row)
        assert row["entry_hash"] != sha256_link(previous, row)
        previous = row["entry_hash"]


async def test_a_database_writer_who_recomputes_the_chain_fails_verify_without_checkpoint(
    database,
):
    await append_samples(6)
    await disable_append_only_triggers()
    # Recomputed as before the change (plain SHA-256)...
    await rewrite_from(3, sha256_link)
    result = await verify_chain()
    assert not result.ok
    assert (result.problem.seq, result.problem.kind) == (3, ALTERED)
    # ...or as an HMAC under any key but the one in keys/.
    await rewrite_from(3, lambda prev, row: hmac_link(b"g" * 32, prev, row))
    result = await verify_chain()
    assert (result.problem.seq, result.problem.kind) == (3, ALTERED)


async def test_downgrading_the_whole_chain_to_sha256_is_refused(database):
    await append_samples(4)
    await disable_append_only_triggers()
    await rewrite_from(1, sha256_link)
    result = await verify_chain()
    assert not result.ok
    assert (result.problem.kind, result.head_seq) == (UNKEYED, 4)


async def insert_legacy_entries(count: int) -> None:
    """Entries as the code before the keyed chain wrote them (plain SHA-256)."""
    previous = "0" * 64
    at = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)
    for seq in range(1, count + 1):
        row = {
            "seq": seq,
            "at": at + timedelta(minutes=seq),
            "actor": "siti",
            "action": actions.LOGIN,
            "case_number": None,
            "details": "{}",
        }
        digest = sha256_link(previous, row)
        await db.fetch(
            "INSERT INTO audit_entry (seq, at, actor, action, case_number, details, prev_hash, "
            "entry_hash) VALUES ({}, {}, {}, {}, NULL, {}, {}, {})",
            seq,
            row["at"],
            row["actor"],
            row["action"],
            row["details"],
            previous,
            digest,
        )
        previous = digest


async def test_an_upgraded_chain_verifies_its_sha256_prefix_then_the_keyed_entries(database):
    await insert_legacy_entries(3)
    # Before any keyed entry, nothing tells this log from a wholesale recomputation.
    assert (await verify_chain()).problem.kind == UNKEYED
    await append_samples(2)
    result = await verify_chain()
    assert result.ok and result.head_seq == 5
    # The prefix is pinned by the first MAC: editing it and recomputing SHA-256 links fails.
    await disable_append_only_triggers()
    last_legacy = await rewrite_from(2, sha256_link, through=3)
    result = await verify_chain()
    assert (result.problem.seq, result.problem.kind) == (4, BROKEN_LINK)
    await db.fetch("UPDATE audit_entry SET prev_hash = {} WHERE seq = 4", last_legacy)
    result = await verify_chain()
    assert (result.problem.seq, result.problem.kind) == (4, ALTERED)


async def test_an_unkeyed_entry_after_a_keyed_one_is_refused(database):
    await append_samples(3)
    await disable_append_only_triggers()
    # A writer who recomputes only the tail in the old format.
    await rewrite_from(3, sha256_link)
    result = await verify_chain()
    assert (result.problem.seq, result.problem.kind) == (3, ALTERED)


async def test_stored_checkpoints_catch_rewriting_and_truncation_by_someone_with_the_chain_key(
    database, ctx: Context
):
    await append_samples(4)
    checkpoint = await take_checkpoint(ctx.keyring, actor="cli")
    assert checkpoint.seq == 5
    await append_samples(2)
    keys = ctx.keyring.audit_verify_keys
    assert (await verify_chain(verify_keys=keys)).ok
    await disable_append_only_triggers()
    # Even recomputed with the real chain key, the stored signed checkpoint pins entry 5.
    await rewrite_from(2, lambda prev, row: hmac_link(chain_key(), prev, row))
    assert (await verify_chain()).ok  # the chain alone is consistent
    result = await verify_chain(verify_keys=keys)
    assert (result.problem.seq, result.problem.kind) == (5, REWRITTEN)
    await db.fetch("DELETE FROM audit_entry WHERE seq >= 5")
    result = await verify_chain(verify_keys=keys)
    assert (result.problem.seq, result.problem.kind) == (5, TRUNCATED)


async def test_a_forged_stored_checkpoint_is_named(database, ctx: Context):
    await append_samples(2)
    await take_checkpoint(ctx.keyring, actor="cli")
    if db.is_sqlite():
        await db.fetch("DROP TRIGGER audit_checkpoint_no_update")
    else:
        await db.fetch("ALTER TABLE audit_checkpoint DISABLE TRIGGER USER")
    forged = base64.b64encode(b"\0" * 64).decode()
    await db.fetch("UPDATE audit_checkpoint SET signature = {}", forged)
    result = await verify_chain(verify_keys=ctx.keyring.audit_verify_keys)
    assert (result.problem.seq, result.problem.kind) == (3, BAD_CHECKPOINT)


async def test_since_checkpoint_checks_only_what_followed_the_last_checkpoint(
    database, ctx: Context
):
    await append_samples(5)
    await take_checkpoint(ctx.keyring, actor="cli")
    await append_samples(3)
    keys = ctx.keyring.audit_verify_keys
    full = await verify_chain(verify_keys=keys)
    since = await verify_chain(verify_keys=keys, since_checkpoint=True)
    assert (full.ok, full.entries_checked, full.head_seq) == (True, 9, 9)
    assert (since.ok, since.entries_checked, since.head_seq) == (True, 3, 9)
    assert since.head_hash == full.head_hash
    # An edit after the checkpoint is found; one before it is left to the full run.
    await disable_append_only_triggers()
    await db.fetch("UPDATE audit_entry SET actor = 'mallory' WHERE seq = 8")
    since = await verify_chain(verify_keys=keys, since_checkpoint=True)
    assert (since.problem.seq, since.problem.kind) == (8, ALTERED)


async def test_a_checkpoint_from_before_a_key_rotation_still_verifies(
    database, keys_dir: Path, tmp_path: Path
):
    own_keys = tmp_path / "keys"
    shutil.copytree(keys_dir, own_keys)
    before = Keyring.load(own_keys)
    await append_samples(2)
    old = await take_checkpoint(before, actor="cli")
    new_public = rotate_audit_signing_key(own_keys)
    after = Keyring.load(own_keys)
    assert after.audit_verify_key == new_public != before.audit_verify_key
    assert after.retired_audit_verify_keys == (before.audit_verify_key,)
    new = await take_checkpoint(after, actor="cli")
    assert old.key_fingerprint != new.key_fingerprint
    assert len(await stored_checkpoints()) == 2
    assert (await verify_chain(verify_keys=after.audit_verify_keys)).ok
    # Without the retired key the old checkpoint can no longer be checked.
    result = await verify_chain(verify_keys=(after.audit_verify_key,))
    assert (result.problem.seq, result.problem.kind) == (old.seq, BAD_CHECKPOINT)


async def test_the_worker_checkpoints_every_n_entries_and_daily_once_across_workers(
    database, ctx: Context
):
    ctx = Context.create(ctx.settings.with_changes(audit_checkpoint_entries=5))
    jobs = [CHECKPOINT_JOB]
    # Nothing logged: nothing to sign.
    assert await run_due_jobs(ctx, jobs, holder="a") == []
    await append_samples(2)
    # No checkpoint yet: the first one is due at once.
    assert await run_due_jobs(ctx, jobs, holder="a") == ["audit.checkpoint"]
    first = await latest_checkpoint()
    assert first.seq == 3
    await append_samples(3)
    assert await run_due_jobs(ctx, jobs, holder="b") == []  # 3 of 5 new entries
    await append_samples(2)
    assert await run_due_jobs(ctx, jobs, holder="b") == ["audit.checkpoint"]
    assert (await latest_checkpoint()).seq == 9
    # A day later, one new entry is enough.
    await append_samples(1)
    tomorrow = datetime.now(UTC) + timedelta(hours=24, minutes=1)
    assert await run_due_jobs(ctx, jobs, holder="a", now=datetime.now(UTC)) == []
    assert await run_due_jobs(ctx, jobs, holder="a", now=tomorrow) == ["audit.checkpoint"]
    rows = await entry_rows()
    assert [row["actor"] for row in rows if row["action"] == actions.AUDIT_CHECKPOINT] == [
        "worker"
    ] * 3
    assert (await verify_chain(verify_keys=ctx.keyring.audit_verify_keys)).ok


async def test_a_job_leased_by_another_worker_is_not_run_twice(database, ctx: Context):
    await append_samples(2)
    now = datetime.now(UTC)
    await db.fetch(
        "INSERT INTO job_lease (name, holder, lease_until) VALUES ({}, {}, {})",
        CHECKPOINT_JOB.name,
        "other",
        now + timedelta(minutes=5),
    )
    assert await run_due_jobs(ctx, [CHECKPOINT_JOB], holder="me", now=now) == []
    assert await latest_checkpoint() is None
    # The other worker died: once its lease expires, the job runs here.
    later = now + timedelta(minutes=6)
    assert await run_due_jobs(ctx, [CHECKPOINT_JOB], holder="me", now=later) == ["audit.checkpoint"]
    rows = await db.fetch("SELECT holder, lease_until, last_run_at FROM job_lease")
    assert rows[0]["holder"] is None and rows[0]["lease_until"] is None
    assert rows[0]["last_run_at"] is not None


async def test_concurrent_workers_run_a_due_job_once(database, ctx: Context):
    import asyncio

    await append_samples(2)
    results = await asyncio.gather(
        *(run_due_jobs(ctx, [CHECKPOINT_JOB], holder=f"w{n}") for n in range(4))
    )
    assert sum(len(ran) for ran in results) == 1
    assert len(await stored_checkpoints()) == 1

"""`whistle audit checkpoint` and `whistle audit verify`, run through click's test runner."""

from __future__ import annotations

import json
from pathlib import Path

import anyio
from click.testing import CliRunner, Result

from tests.support.audit import append_samples, disable_append_only_triggers, entry_rows
from whistle.audit import actions
from whistle.cli import main
from whistle.db import engine as db
from whistle.settings import Settings


async def whistle_audit(settings: Settings, *args: str) -> Result:
    """Run `whistle audit ...` in a worker thread (it runs its own event loop), then give the
    test back its own engine (the command binds and closes one of its own)."""
    env = {
        "WHISTLE_DATABASE_URL": settings.database_url,
        "WHISTLE_KEYS_DIR": str(settings.keys_dir),
        "WHISTLE_ARGON2_MEMORY_KIB": "256",
        "WHISTLE_ARGON2_ITERATIONS": "1",
        "WHISTLE_DEVELOPMENT": "true",  # cheap Argon2 is a development setting
    }
    engine = db.current()
    runner = CliRunner()
    try:
        return await anyio.to_thread.run_sync(
            lambda: runner.invoke(main, ["audit", *args], env=env, catch_exceptions=False)
        )
    finally:
        db.bind(engine)


async def test_checkpoint_is_audited_and_names_its_own_entry_as_head(database):
    await append_samples(3)
    result = await whistle_audit(database, "checkpoint")
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    rows = await entry_rows()
    assert [row["action"] for row in rows][-1] == actions.AUDIT_CHECKPOINT
    assert rows[-1]["actor"] == "cli"
    assert (document["seq"], document["entry_hash"]) == (4, rows[-1]["entry_hash"])
    assert set(document) == {
        "format",
        "seq",
        "entry_hash",
        "created_at",
        "key_fingerprint",
        "signature",
    }


async def test_verify_confirms_an_intact_chain_extends_the_checkpoint(database, tmp_path: Path):
    await append_samples(3)
    checkpoint = tmp_path / "checkpoint.json"
    written = await whistle_audit(database, "checkpoint", "--output", str(checkpoint))
    assert written.exit_code == 0, written.output
    assert json.loads(checkpoint.read_text())["seq"] == 4
    await append_samples(2)
    result = await whistle_audit(database, "verify", "--checkpoint", str(checkpoint))
    assert result.exit_code == 0, result.output
    head = (await entry_rows())[-1]
    assert f"OK: 6 entries, head 6/{head['entry_hash']}" in result.stdout
    assert "extends the checkpoint at entry 4" in result.stdout
    # Not a terminal: a plain counter on stderr instead of a bar.
    assert "checked 6/6 entries" in result.stderr


async def test_verify_names_an_altered_entry_and_fails(database):
    await append_samples(5)
    await disable_append_only_triggers()
    await db.fetch("UPDATE audit_entry SET actor = 'mallory' WHERE seq = 3")
    result = await whistle_audit(database, "verify", "--batch-size", "2")
    assert result.exit_code == 1
    assert "BROKEN at entry 3 (altered)" in result.stdout
    assert "2 entries before it are intact" in result.stdout


async def test_verify_detects_truncation_against_a_checkpoint(database, tmp_path: Path):
    await append_samples(5)
    checkpoint = tmp_path / "checkpoint.json"
    await whistle_audit(database, "checkpoint", "--output", str(checkpoint))
    await disable_append_only_triggers()
    await db.fetch("DELETE FROM audit_entry WHERE seq >= 5")
    # The checkpoint is also stored in the database, so verify sees the cut without the file...
    plain = await whistle_audit(database, "verify")
    assert plain.exit_code == 1
    assert "BROKEN at entry 5 (truncated)" in plain.stdout
    result = await whistle_audit(database, "verify", "--checkpoint", str(checkpoint))
    assert result.exit_code == 1  # ...the checkpoint says what is gone
    assert "BROKEN at entry 5 (truncated)" in result.stdout


async def test_verify_refuses_a_checkpoint_with_a_bad_signature(database, tmp_path: Path):
    await append_samples(2)
    checkpoint = tmp_path / "checkpoint.json"
    await whistle_audit(database, "checkpoint", "--output", str(checkpoint))
    document = json.loads(checkpoint.read_text())
    document["seq"] = 2  # e.g. to hide that entry 3 was deleted later
    checkpoint.write_text(json.dumps(document))
    result = await whistle_audit(database, "verify", "--checkpoint", str(checkpoint))
    assert result.exit_code == 1
    assert "checkpoint refused" in result.stderr
    assert "signature is not valid" in result.stderr
    assert "OK" not in result.stdout


async def test_verify_refuses_a_file_that_is_not_a_checkpoint(database, tmp_path: Path):
    junk = tmp_path / "junk.json"
    junk.write_text("{}")
    result = await whistle_audit(database, "verify", "--checkpoint", str(junk))
    assert result.exit_code == 1
    assert "checkpoint refused" in result.stderr

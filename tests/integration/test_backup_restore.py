"""`whistle backup` during a burst of submissions, restored into a fresh database: every report
acknowledged before the backup began opens with its code, every officer reads their cases and
the audit chain verifies. Both engines, real files, real pg_dump and pg_restore."""

from __future__ import annotations

import uuid
from pathlib import Path

import anyio
import anyio.to_thread
import asyncpg
import pytest

from tests.conftest import Templates, _base_settings
from tests.support.cases import as_officer, file_report
from tests.support.officers import make_officer
from whistle.audit.verify import verify_chain
from whistle.cases.service import open_case
from whistle.context import Context
from whistle.db import engine as db
from whistle.db.backup import BackupError, backup, restore
from whistle.intake import service as intake
from whistle.settings import Settings

BURST = 12
BEFORE_BACKUP = 4


async def fresh_empty_database(
    settings: Settings, templates: Templates, tmp_path: Path
) -> Settings:
    if settings.is_sqlite:
        return _base_settings(
            settings.keys_dir, f"sqlite:///{tmp_path / 'restored' / 'whistle.db'}"
        )
    name = f"restored_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(templates.postgres.url("postgres"))
    try:
        await admin.execute(f"CREATE DATABASE {name}")  # empty: not from the migrated template
    finally:
        await admin.close()
    return _base_settings(settings.keys_dir, templates.postgres.url(name))


async def test_backup_during_a_burst_restores_every_acknowledged_report(
    ctx: Context, templates: Templates, tmp_path: Path
):
    settings = ctx.settings
    await make_officer(ctx, "siti", ["triage"])
    acknowledged: list[tuple[str, str, str]] = []  # (case number, code, marker)
    enough = anyio.Event()
    copy = tmp_path / "backup.copy"

    async def submit(number: int) -> None:
        marker = f"laporan nomor {number} {uuid.uuid4().hex}"
        case_number, code = await file_report(ctx, description=f"Pungli di loket: {marker}.")
        acknowledged.append((case_number, code, marker))
        if len(acknowledged) >= BEFORE_BACKUP:
            enough.set()

    async with anyio.create_task_group() as burst:
        for number in range(BURST):
            burst.start_soon(submit, number)
        await enough.wait()
        before_backup = list(acknowledged)
        await anyio.to_thread.run_sync(backup, settings, copy)
    assert len(acknowledged) == BURST
    assert len(before_backup) < BURST, "the backup must start while submissions still arrive"

    restored = await fresh_empty_database(settings, templates, tmp_path)
    await anyio.to_thread.run_sync(restore, restored, copy)
    with pytest.raises(BackupError, match="not empty"):
        await anyio.to_thread.run_sync(restore, restored, copy)

    original_engine = db.current()
    engine = await db.open_database(restored)
    try:
        restored_ctx = Context.create(restored)
        siti = await as_officer(restored_ctx, "siti")
        for case_number, code, marker in before_backup:
            report_id, data_key = await intake.unlock_with_code(restored_ctx, code)
            view = await intake.reporter_view(restored_ctx, report_id, data_key)
            assert marker in view.report.description
            case = await open_case(restored_ctx, siti, case_number)
            assert case.case_number == case_number and marker in case.report.description
        result = await verify_chain()
        assert result.ok, result.problem
        assert result.entries_checked > 0
    finally:
        await db.close_database(engine)
        db.bind(original_engine)

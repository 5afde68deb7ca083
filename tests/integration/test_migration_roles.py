"""The officer_role migration moves the comma-separated roles of existing officers, on both
engines, and drops the old column."""

from __future__ import annotations

import contextlib
import io
from datetime import UTC, datetime

import asyncpg
import pytest
from piccolo.apps.migrations.commands.forwards import run_forwards

from tests.conftest import _base_settings
from whistle.db import engine as db
from whistle.db.migrations import APP_NAME, migrate
from whistle.officers.roles import TRIAGE, officers_with_role, roles_of

BEFORE_ROLES_TABLE = "2026-11-28T06:00:00:000000"
OLD_OFFICERS = {
    "root": "admin",
    "budi": "investigator,triage",
    "siti": "auditor,investigator,triage",
    "dewi": "auditor",
}


@contextlib.asynccontextmanager
async def empty_database(engine_name, templates, tmp_path, keys_dir):
    if engine_name == "sqlite":
        yield _base_settings(keys_dir, f"sqlite:///{tmp_path / 'old.db'}")
        return
    cluster = templates.postgres
    admin = await asyncpg.connect(cluster.url("postgres"))
    try:
        await admin.execute("CREATE DATABASE roles_migration")
    finally:
        await admin.close()
    try:
        yield _base_settings(keys_dir, cluster.url("roles_migration"))
    finally:
        admin = await asyncpg.connect(cluster.url("postgres"))
        try:
            await admin.execute("DROP DATABASE IF EXISTS roles_migration WITH (FORCE)")
        finally:
            await admin.close()


@pytest.mark.parametrize("engine_name", ["sqlite", "postgres"])
async def test_existing_roles_move_to_officer_role(engine_name, templates, tmp_path, keys_dir):
    async with empty_database(engine_name, templates, tmp_path, keys_dir) as settings:
        engine = await db.open_database(settings)
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                result = await run_forwards(APP_NAME, migration_id=BEFORE_ROLES_TABLE)
            assert result.success, result.message
            for username, roles in OLD_OFFICERS.items():
                await db.fetch(
                    "INSERT INTO officer (username, display_name, roles, password_hash, "
                    "public_key, private_key_protected, created_at) "
                    "VALUES ({}, {}, {}, 'x', {}, {}, {})",
                    username,
                    username.title(),
                    roles,
                    b"k",
                    b"k",
                    datetime.now(UTC),
                )

            await migrate()

            ids = {row["username"]: row["id"] for row in await db.fetch("SELECT * FROM officer")}
            for username, roles in OLD_OFFICERS.items():
                assert ",".join(await roles_of(ids[username])) == roles
            triage = await db.fetch(
                "SELECT o.username FROM officer o JOIN officer_role r ON r.officer = o.id "
                "WHERE r.role = {} ORDER BY o.username",
                TRIAGE,
            )
            assert [row["username"] for row in triage] == ["budi", "siti"]
            # Rows from before the roster MAC receive nothing until the administrator has
            # checked them and run `whistle keys reseal-roster` (docs/DEPLOYMENT.md).
            assert await officers_with_role(TRIAGE) == []
            assert "roles" not in (await db.fetch("SELECT * FROM officer"))[0]
        finally:
            await db.close_database(engine)

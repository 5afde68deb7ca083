"""PostgreSQL roles: the owner migrates and grants; the app role appends to the audit log but
cannot change, delete, truncate it or touch its triggers (threat model 5)."""

from __future__ import annotations

import itertools

import asyncpg
import pytest

from tests.conftest import TEST_ARGON2
from tests.support.audit import append_samples
from whistle.audit.jobs import CHECKPOINT_JOB
from whistle.context import Context
from whistle.db import engine as db
from whistle.db.migrations import migrate
from whistle.db.roles import grant_app_role, grant_statements
from whistle.jobs import run_due_jobs
from whistle.settings import Settings

_numbers = itertools.count()


@pytest.fixture
async def roles(templates, keys_dir):
    """A database owned by a fresh owner role, migrated and granted by it, and an app role."""
    cluster = templates.postgres
    number = next(_numbers)
    owner, app, name = f"whistle_owner_{number}", f"whistle_app_{number}", f"roles_{number}"
    admin = await asyncpg.connect(cluster.url("postgres"))
    try:
        await admin.execute(f"CREATE ROLE {owner} LOGIN")
        await admin.execute(f"CREATE ROLE {app} LOGIN")
        await admin.execute(f"CREATE DATABASE {name} OWNER {owner}")
    finally:
        await admin.close()
    base = f"postgresql://{{}}@127.0.0.1:{cluster.port}/{name}"
    owner_settings = Settings(database_url=base.format(owner), keys_dir=keys_dir, **TEST_ARGON2)
    engine = await db.open_database(owner_settings)
    try:
        await migrate()
        await grant_app_role(app)
    finally:
        await db.close_database(engine)
    yield owner_settings, Settings(database_url=base.format(app), keys_dir=keys_dir, **TEST_ARGON2)
    admin = await asyncpg.connect(cluster.url("postgres"))
    try:
        await admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        await admin.execute(f"DROP ROLE IF EXISTS {app}")
        await admin.execute(f"DROP ROLE IF EXISTS {owner}")
    finally:
        await admin.close()


REFUSED_AS_APP = [
    "UPDATE audit_entry SET actor = 'mallory' WHERE seq = 1",
    "DELETE FROM audit_entry WHERE seq = 1",
    "TRUNCATE audit_entry",
    "ALTER TABLE audit_entry DISABLE TRIGGER USER",
    "ALTER TABLE audit_entry DISABLE TRIGGER audit_entry_no_change",
    "DROP TRIGGER audit_entry_no_change ON audit_entry",
    "DROP TRIGGER audit_entry_no_truncate ON audit_entry",
    "DROP FUNCTION audit_entry_append_only() CASCADE",
    "DROP TABLE audit_entry",
    "UPDATE audit_checkpoint SET signature = 'x'",
    "DELETE FROM audit_checkpoint",
    "TRUNCATE audit_checkpoint",
    "ALTER TABLE audit_checkpoint DISABLE TRIGGER USER",
    "DELETE FROM migration",
]


async def test_the_app_role_appends_but_cannot_alter_the_audit_log(roles):
    _owner, app_settings = roles
    engine = await db.open_database(app_settings)
    try:
        # What the app does works: append entries, write a working table.
        await append_samples(3)
        await db.fetch("INSERT INTO system_setting (key, value) VALUES ('k', 'v')")
        await db.fetch("UPDATE system_setting SET value = 'w' WHERE key = 'k'")
        # The worker too: its lease and the signed checkpoint.
        ran = await run_due_jobs(Context.create(app_settings), [CHECKPOINT_JOB], holder="w")
        assert ran == [CHECKPOINT_JOB.name]
        assert [row["seq"] for row in await db.fetch("SELECT seq FROM audit_entry")] == [1, 2, 3, 4]
    finally:
        await db.close_database(engine)
    connection = await asyncpg.connect(app_settings.database_url)
    try:
        allowed = []
        for statement in REFUSED_AS_APP:
            try:
                await connection.execute(statement)
            except asyncpg.InsufficientPrivilegeError:
                continue
            allowed.append(statement)
        assert allowed == []
        # Not the owner, the app role cannot give itself the privilege either (PostgreSQL only
        # warns that nothing was granted).
        await connection.execute("GRANT UPDATE ON audit_entry TO PUBLIC")
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await connection.execute("UPDATE audit_entry SET actor = 'mallory'")
        assert await connection.fetchval("SELECT count(*) FROM audit_entry") == 4
    finally:
        await connection.close()


def test_role_names_are_checked_before_any_sql():
    with pytest.raises(ValueError, match="lower-case"):
        grant_statements('app"; DROP TABLE audit_entry; --')
    assert all('"whistle_app"' in sql for sql in grant_statements("whistle_app"))

"""Shared fixtures: real SQLite and a real PostgreSQL cluster, real keys, cheap Argon2 settings.

Every test that asks for ``settings`` (directly or through ``database``, ``ctx`` or ``client``)
runs twice: once on a fresh SQLite file and once on a fresh PostgreSQL database cloned from a
migrated template.
"""

from __future__ import annotations

import itertools
import os
import shutil
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx
import pytest

from tests.support.postgres import PostgresCluster
from whistle.app import create_app
from whistle.audit.service import configure_chain_key
from whistle.context import Context
from whistle.crypto import Argon2Params, Keyring, init_keys
from whistle.db import engine as db
from whistle.db.migrations import migrate
from whistle.officers.roster import configure_roster_key
from whistle.reports.envelope import configure_holder_tag_key
from whistle.settings import Settings

# Cheap Argon2id for tests, through settings only: production code paths are unchanged.
TEST_ARGON2 = {"argon2_memory_kib": 256, "argon2_iterations": 1, "argon2_lanes": 1}
OFFICE_PASSPHRASE = "correct horse battery staple"
TEMPLATE_DB = "whistle_template"
_database_numbers = itertools.count(1)


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session")
def keys_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("keys") / "keys"
    init_keys(directory, OFFICE_PASSPHRASE, Argon2Params(256, 1, 1))
    # Audit appends need the chain key even in tests that never build a Context.
    keyring = Keyring.load(directory)
    configure_chain_key(keyring.audit_chain_key)
    configure_holder_tag_key(keyring.holder_tag_key)
    configure_roster_key(keyring.roster_mac_key)
    return directory


def _base_settings(keys_dir: Path, database_url: str) -> Settings:
    return Settings(
        database_url=database_url, keys_dir=keys_dir, strict_templates=True, **TEST_ARGON2
    )


async def _migrate(settings: Settings) -> None:
    engine = await db.open_database(settings)
    try:
        await migrate()
    finally:
        await db.close_database(engine)


@dataclass(frozen=True)
class Templates:
    """Migrated databases that each test clones: a SQLite file and a PostgreSQL template."""

    sqlite: Path
    postgres: PostgresCluster


@pytest.fixture(scope="session")
async def templates(
    tmp_path_factory: pytest.TempPathFactory, keys_dir: Path
) -> AsyncIterator[Templates]:
    sqlite_path = tmp_path_factory.mktemp("sqlite-template") / "template.db"
    await _migrate(_base_settings(keys_dir, f"sqlite:///{sqlite_path}"))
    cluster = PostgresCluster.start()
    try:
        connection = await asyncpg.connect(cluster.url("postgres"))
        try:
            await connection.execute(f"CREATE DATABASE {TEMPLATE_DB}")
        finally:
            await connection.close()
        await _migrate(_base_settings(keys_dir, cluster.url(TEMPLATE_DB)))
        yield Templates(sqlite=sqlite_path, postgres=cluster)
    finally:
        cluster.stop()


DATABASE_FIXTURES = {"settings", "database", "ctx", "client"}


_EXIT_STATUS: list[int] = []


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    _EXIT_STATUS.append(int(exitstatus))


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    # msgspec can crash while the interpreter finalizes its modules, after every test has run
    # and the summary is printed (msgspec/msgspec#717: a segmentation fault that turned one
    # green run red). Leave with pytest's own status instead of finalizing: fixtures are torn
    # down and reports written by now.
    if _EXIT_STATUS:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(_EXIT_STATUS[-1])


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    # Parametrised here rather than with fixture params: anyio's async-fixture wrapper hides
    # the fixtures' own arguments from collection.
    if (
        DATABASE_FIXTURES & set(metafunc.fixturenames)
        and "engine_name" not in metafunc.fixturenames
    ):
        metafunc.fixturenames.append("engine_name")
    already = any(
        marker.args and marker.args[0] == "engine_name"
        for marker in metafunc.definition.iter_markers("parametrize")
    )
    if "engine_name" in metafunc.fixturenames and not already:
        metafunc.parametrize("engine_name", ["sqlite", "postgres"])


@pytest.fixture
async def settings(
    engine_name: str, templates: Templates, tmp_path: Path, keys_dir: Path
) -> AsyncIterator[Settings]:
    """Settings pointing at a fresh, migrated database of the parametrised engine."""
    if engine_name == "sqlite":
        path = tmp_path / "whistle.db"
        shutil.copyfile(templates.sqlite, path)
        yield _base_settings(keys_dir, f"sqlite:///{path}")
        return
    cluster = templates.postgres
    name = f"test_{next(_database_numbers)}"
    admin = await asyncpg.connect(cluster.url("postgres"))
    try:
        await admin.execute(f"CREATE DATABASE {name} TEMPLATE {TEMPLATE_DB}")
    finally:
        await admin.close()
    yield _base_settings(keys_dir, cluster.url(name))
    admin = await asyncpg.connect(cluster.url("postgres"))
    try:
        await admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    finally:
        await admin.close()


@pytest.fixture
async def database(settings: Settings) -> AsyncIterator[Settings]:
    """The engine opened and bound for service-level tests."""
    engine = await db.open_database(settings)
    try:
        yield settings
    finally:
        await db.close_database(engine)


@pytest.fixture
def ctx(database: Settings) -> Context:
    return Context.create(database)


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client talking to the app in this test's event loop.

    Litestar's AsyncTestClient runs the lifespan in a portal thread with its own loop, where a
    PostgreSQL pool could not be shared with the test's own queries; so the lifespan runs here.
    """
    app = create_app(settings)
    async with app.lifespan():
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="https://testserver.local", follow_redirects=True
        ) as test_client:
            yield test_client

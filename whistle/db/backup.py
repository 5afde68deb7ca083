"""Consistent copies of the database while the server runs, and their restore into an empty one.

SQLite: the online backup API copies one consistent snapshot beside running writers.
PostgreSQL: pg_dump (custom format) reads one snapshot; pg_restore loads it without owners or
grants, so the restore works on a cluster with other role names (run `whistle db grant` after).
The copies hold what the database holds (ciphertext and metadata), never key files: those are
backed up separately (docs/DEPLOYMENT.md says which and where).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

import asyncpg
from piccolo.engine.postgres import PostgresEngine

from whistle.db.engine import make_engine
from whistle.settings import Settings


class BackupError(Exception):
    """A backup or restore refused or failed; the message is one sentence for the operator."""


NOT_EMPTY = "the target database is not empty: restore only into a new, empty database"


def backup(settings: Settings, destination: Path) -> None:
    """Write a consistent copy of the database named by ``settings`` to ``destination`` (0600)."""
    if destination.exists():
        raise BackupError(f"{destination} already exists: choose a new file name")
    destination.parent.mkdir(parents=True, exist_ok=True)
    # Created private before the first byte lands in it.
    destination.touch(mode=0o600)
    try:
        if settings.is_sqlite:
            _sqlite_backup(settings.sqlite_path, destination)
        else:
            # Reach the server first, so "unreachable" reads like every other command's answer.
            asyncio.run(_postgres_has_tables(settings))
            _run_pg_tool("pg_dump", settings, ["--format=custom", f"--file={destination}"])
    except BaseException:
        destination.unlink(missing_ok=True)
        raise


def restore(settings: Settings, source: Path) -> None:
    """Load a copy made by :func:`backup` into the (empty) database named by ``settings``."""
    if not source.is_file():
        raise BackupError(f"{source} is not a file")
    if settings.is_sqlite:
        _sqlite_restore(source, settings.sqlite_path)
    else:
        if asyncio.run(_postgres_has_tables(settings)):
            raise BackupError(NOT_EMPTY)
        _run_pg_tool(
            "pg_restore",
            settings,
            ["--no-owner", "--no-acl", "--exit-on-error", "--single-transaction", str(source)],
        )


def _sqlite_backup(path: Path, destination: Path) -> None:
    if not path.exists():
        raise BackupError(f"there is no database at {path}")
    source = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        target = sqlite3.connect(destination)
        try:
            source.backup(target)
        finally:
            target.close()
    finally:
        source.close()


def _sqlite_restore(source: Path, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    target = sqlite3.connect(path)
    try:
        tables = target.execute("SELECT count(*) FROM sqlite_master WHERE type = 'table'")
        if tables.fetchone()[0]:
            raise BackupError(NOT_EMPTY)
        copy = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
        try:
            if copy.execute("PRAGMA quick_check").fetchone()[0] != "ok":
                raise BackupError(f"{source} is not an intact SQLite backup")
            copy.backup(target)
        except sqlite3.DatabaseError as error:
            if isinstance(error, sqlite3.OperationalError):
                raise
            raise BackupError(f"{source} is not a SQLite backup") from None
        finally:
            copy.close()
        target.execute("PRAGMA journal_mode=WAL")
    finally:
        target.close()
    os.chmod(path, 0o600)


def _postgres_config(settings: Settings) -> dict[str, object]:
    engine = make_engine(settings)
    assert isinstance(engine, PostgresEngine)
    return dict(engine.config)


async def _postgres_has_tables(settings: Settings) -> bool:
    connection = await asyncpg.connect(**_postgres_config(settings))
    try:
        count = await connection.fetchval(
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"
        )
    finally:
        await connection.close()
    return bool(count)


def postgres_tool(name: str) -> Path:
    """pg_dump or pg_restore: on the PATH, else the newest of Debian's versioned directories
    (a newer tool reads and writes older servers' data, not the other way round)."""
    if found := shutil.which(name):
        return Path(found)
    for bindir in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (bindir / name).exists():
            return bindir / name
    raise BackupError(
        f"{name} not found: install the PostgreSQL client (Debian: postgresql-client)"
    )


def _run_pg_tool(name: str, settings: Settings, arguments: list[str]) -> None:
    config = _postgres_config(settings)
    command = [
        str(postgres_tool(name)),
        f"--host={config.get('host', 'localhost')}",
        f"--port={config.get('port', 5432)}",
        f"--dbname={config.get('database', 'whistle')}",
        "--no-password",
    ]
    if "user" in config:
        command.append(f"--username={config['user']}")
    # The password goes through the environment, never the command line (visible in ps).
    environment = {**os.environ}
    if "password" in config:
        environment["PGPASSWORD"] = str(config["password"])
    result = subprocess.run(  # noqa: S603 - our own arguments, no shell
        [*command, *arguments], env=environment, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        last_line = (result.stderr.strip().splitlines() or ["no message"])[-1]
        raise BackupError(f"{name} failed: {last_line}")

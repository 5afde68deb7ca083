"""Database engine set-up: one engine per process, bound to every table, and transactions that
behave the same on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import sqlite3
from typing import Any
from urllib.parse import unquote, urlparse

from piccolo.apps.migrations.tables import Migration
from piccolo.engine.base import Engine
from piccolo.engine.postgres import PostgresEngine
from piccolo.engine.sqlite import SQLiteEngine, TransactionType
from piccolo.table import Table

from whistle import piccolo_conf
from whistle.db.tables import ALL_TABLES
from whistle.settings import Settings

SQLITE_BUSY_TIMEOUT_SECONDS = 30

_engine: Engine | None = None


class _SecureDeleteConnection(sqlite3.Connection):
    """A SQLite connection that overwrites deleted content with zeros.

    secure_delete is a per-connection setting whose default is a compile-time choice, and piccolo
    opens a connection per query: setting it in the connection factory covers every one, so a
    deleted session secret or report does not linger in free pages of a stolen file.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.execute("PRAGMA secure_delete=ON")


def make_engine(settings: Settings) -> Engine:
    if settings.is_sqlite:
        path = settings.sqlite_path
        path.parent.mkdir(parents=True, exist_ok=True)
        return SQLiteEngine(
            path=str(path), timeout=SQLITE_BUSY_TIMEOUT_SECONDS, factory=_SecureDeleteConnection
        )
    url = urlparse(settings.database_url)
    config: dict[str, Any] = {
        "host": url.hostname or "localhost",
        "port": url.port or 5432,
        "database": url.path.lstrip("/") or "whistle",
        "user": unquote(url.username) if url.username else None,
        "password": unquote(url.password) if url.password else None,
    }
    return PostgresEngine(config={k: v for k, v in config.items() if v is not None})


def bind(engine: Engine) -> None:
    """Make ``engine`` the one every table, piccolo's migrations and ``current()`` use."""
    global _engine
    _engine = engine
    piccolo_conf.DB = engine
    tables: list[type[Table]] = [*ALL_TABLES, Migration]
    for table in tables:
        table._meta.db = engine


def current() -> Engine:
    if _engine is None:
        raise RuntimeError("no database engine bound: call whistle.db.engine.bind() first")
    return _engine


def is_sqlite() -> bool:
    return current().engine_type == "sqlite"


async def open_database(settings: Settings) -> Engine:
    """Create, bind and prepare the engine named by the settings."""
    engine = make_engine(settings)
    bind(engine)
    if isinstance(engine, SQLiteEngine):
        # WAL lets readers run beside the writer; it is a property of the file, so set it once.
        await engine.run_ddl("PRAGMA journal_mode=WAL")
        # The file holds only ciphertext and metadata, but it is nobody else's business.
        os.chmod(engine.path, 0o600)
    elif isinstance(engine, PostgresEngine):
        await engine.start_connection_pool(min_size=1, max_size=10)
    return engine


async def close_database(engine: Engine | None = None) -> None:
    """Close ``engine`` (by default the bound one): its PostgreSQL pool, if any."""
    engine = engine or _engine
    if isinstance(engine, PostgresEngine) and engine.pool is not None:
        await engine.close_connection_pool()


def transaction():
    """A write transaction. On SQLite it is opened IMMEDIATE so that concurrent read-then-write
    transactions queue on the busy timeout instead of failing with "database is locked"."""
    engine = current()
    if isinstance(engine, SQLiteEngine):
        return engine.transaction(transaction_type=TransactionType.immediate)
    return engine.transaction()


async def fetch(sql: str, *args: Any) -> list[dict[str, Any]]:
    """Run raw SQL with ``{}`` placeholders (piccolo's QueryString style) and return the rows."""
    from piccolo.querystring import QueryString

    return await current().run_querystring(QueryString(sql, *args))


def is_unique_violation(error: BaseException) -> bool:
    """Both drivers' unique-constraint errors, translated in one place."""
    import sqlite3

    import asyncpg

    if isinstance(error, asyncpg.UniqueViolationError):
        return True
    return isinstance(error, sqlite3.IntegrityError) and "UNIQUE" in str(error)

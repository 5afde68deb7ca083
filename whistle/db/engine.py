"""Database engine set-up: one engine per process, bound to every table, and transactions that
behave the same on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import itertools
import os
import re
import sqlite3
import threading
from collections import deque
from collections.abc import Awaitable, Callable, Hashable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import partial
from types import TracebackType
from typing import Any
from urllib.parse import unquote, urlparse

import aiosqlite
from piccolo.apps.migrations.tables import Migration
from piccolo.engine.base import Engine
from piccolo.engine.postgres import PostgresEngine
from piccolo.engine.sqlite import SQLiteEngine, SQLiteTransaction, TransactionType, dict_factory
from piccolo.table import Table

from whistle import piccolo_conf
from whistle.db.tables import ALL_TABLES
from whistle.settings import Settings

SQLITE_BUSY_TIMEOUT_SECONDS = 30
# Pooled readers beside the one writer (WAL lets them all read while it writes), for the reads
# that would wait on a lock: the others run on the calling thread's own connection.
SQLITE_READERS = 4
# A write that carries more than this in its parameters (an evidence chunk is 64 KiB) may fill
# the page cache and spill it into the WAL: it runs on the writer's thread, not on the loop.
SQLITE_INLINE_WRITE_BYTES = 16 * 1024
# Statements the writer runs on the event loop while it holds the write lock: reads and writes
# of rows. COMMIT (which syncs and may checkpoint), savepoints, pragmas and schema changes keep
# their trip to the writer's thread.
_INLINE_KINDS = frozenset({"SELECT", "INSERT", "UPDATE", "DELETE", "REPLACE"})
_FIRST_WORD = re.compile(r"\s*([A-Za-z]+)")
# Tells engines apart in change markers (a later engine may reuse a closed one's address).
_watch_ids = itertools.count()
# Set by long_reads() and long_writes(): statements that walk or touch many rows run on a
# connection's thread even on SQLite (a pooled reader's for SELECTs, else the writer's).
_off_the_loop: ContextVar[bool] = ContextVar("off_the_loop", default=False)

_engine: Engine | None = None


class _SecureDeleteConnection(sqlite3.Connection):
    """A SQLite connection that overwrites deleted content with zeros and syncs every commit.

    secure_delete is a per-connection setting whose default is a compile-time choice: setting it
    in the connection factory covers every connection the engine opens (the writer and each
    reader), so a deleted session secret or report does not linger in free pages of a stolen file.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.execute("PRAGMA secure_delete=ON")
        # An acknowledged submission must survive a power cut: every commit synced, whatever
        # the library's compiled default (WAL with NORMAL may lose the last commits).
        self.execute("PRAGMA synchronous=FULL")


def make_engine(settings: Settings) -> Engine:
    if settings.is_sqlite:
        path = settings.sqlite_path
        path.parent.mkdir(parents=True, exist_ok=True)
        return PersistentSQLiteEngine(
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


class _ConnectionPool:
    """Persistent aiosqlite connections handed out one caller at a time.

    aiosqlite connections are not tied to an event loop (each call makes its future on the
    caller's loop), but asyncio locks are; tests run the app on one loop and service calls on
    another, so the hand-over is a thread lock plus futures woken on their own loop.
    """

    def __init__(self, size: int, connect: Callable[[], Awaitable[aiosqlite.Connection]]) -> None:
        self._size = size
        self._connect = connect
        self._opened: list[aiosqlite.Connection] = []
        self._idle: deque[aiosqlite.Connection] = deque()
        self._waiters: deque[asyncio.Future] = deque()
        self._lock = threading.Lock()
        # Connections whose caller was cancelled while a statement of theirs ran on their thread.
        self._unsettled: set[aiosqlite.Connection] = set()

    async def run(self, connection: aiosqlite.Connection, query: str, args: Any = ()) -> Any:
        """One trip to ``connection``'s thread: run the statement, fetch its rows, drop the
        cursor (one trip, not the four of execute()/fetchall()/close()).

        A cancelled caller stops waiting but the statement still runs there: the connection is
        then marked unsettled, and ``release`` hands it on only once its thread is done (and has
        rolled back a transaction such a statement may have left open), so the next holder's
        statements on the event loop never run beside it or inside it."""
        try:
            return await connection.execute_fetchall(query, args)
        except asyncio.CancelledError:
            with self._lock:
                self._unsettled.add(connection)
            raise

    async def acquire(self) -> aiosqlite.Connection:
        with self._lock:
            if self._idle:
                return self._idle.popleft()
            opening = len(self._opened) < self._size
            if opening:
                self._opened.append(None)  # type: ignore[arg-type]  # reserve the slot
            else:
                waiter = asyncio.get_running_loop().create_future()
                self._waiters.append(waiter)
        if opening:
            try:
                connection = await self._connect()
            except BaseException:
                with self._lock:
                    self._opened.remove(None)  # type: ignore[arg-type]
                raise
            with self._lock:
                self._opened[self._opened.index(None)] = connection  # type: ignore[arg-type]
            return connection
        try:
            return await waiter
        except asyncio.CancelledError:
            with self._lock:
                if waiter in self._waiters:
                    self._waiters.remove(waiter)
                    raise
            if waiter.done() and not waiter.cancelled():
                # Handed over just as we were cancelled: pass it on.
                self.release(waiter.result())
            raise

    async def commit(self, connection: aiosqlite.Connection) -> None:
        """COMMIT on the connection's thread (it syncs the WAL to disk and may checkpoint). A
        COMMIT that fails (a full disk) may leave the transaction open: it is rolled back, so
        that the writer goes back to the pool outside any transaction."""
        try:
            await self.run(connection, "COMMIT")
        except sqlite3.Error:
            if connection._conn.in_transaction:
                await self.run(connection, "ROLLBACK")
            raise

    def release(self, connection: aiosqlite.Connection) -> None:
        with self._lock:
            unsettled = connection in self._unsettled
            self._unsettled.discard(connection)
        if unsettled:
            # Queued behind what still runs on the thread, and run there.
            connection._tx.put_nowait((None, partial(self._settle, connection)))
            return
        with self._lock:
            while self._waiters:
                waiter = self._waiters.popleft()
                try:
                    waiter.get_loop().call_soon_threadsafe(self._hand_over, waiter, connection)
                    return
                except RuntimeError:  # that waiter's loop is closed
                    continue
            self._idle.append(connection)

    def _settle(self, connection: aiosqlite.Connection) -> None:
        """On the connection's thread, after what a cancelled caller left running there."""
        try:
            if connection._conn.in_transaction:
                connection._conn.execute("ROLLBACK")
        finally:
            self.release(connection)

    def _hand_over(self, waiter: asyncio.Future, connection: aiosqlite.Connection) -> None:
        if waiter.done():  # cancelled meanwhile
            self.release(connection)
        else:
            waiter.set_result(connection)

    async def close(self) -> None:
        with self._lock:
            opened = [c for c in self._opened if c is not None]
            self._opened.clear()
            self._idle.clear()
        for connection in opened:
            await connection.close()


class PersistentTransaction(SQLiteTransaction):
    """A piccolo transaction on the engine's one writer connection, held until it ends."""

    engine: PersistentSQLiteEngine

    # piccolo sends these through aiosqlite's execute(), two driver-thread round trips each
    # (make a cursor, run it): one is enough, and the writer is held for every one of them.
    async def begin(self) -> None:
        statement = f"BEGIN {self.transaction_type.value}"
        if not self.engine.begin_on_loop(self.connection._conn, statement):
            await self.engine.writer.run(self.connection, statement)

    async def commit(self) -> None:
        await self.engine.writer.commit(self.connection)
        self._committed = True

    async def rollback(self) -> None:
        await self.engine.writer.run(self.connection, "ROLLBACK")
        self._rolled_back = True

    async def __aenter__(self) -> SQLiteTransaction:
        if self._parent is not None:
            return self._parent
        self.connection = await self.engine.writer.acquire()
        try:
            await self.begin()
        except BaseException:
            self.engine.writer.release(self.connection)
            raise
        self.context = self.engine.current_transaction.set(self)
        return self

    async def __aexit__(
        self,
        exception_type: type[BaseException] | None,
        exception: BaseException | None,
        traceback: TracebackType | None,
    ) -> bool:
        if self._parent:
            return exception is None
        try:
            if exception:
                if not self._rolled_back:
                    await self.rollback()
            elif not self._committed and not self._rolled_back:
                await self.commit()
        finally:
            self.engine.writer.release(self.connection)
            self.engine.current_transaction.reset(self.context)
        return exception is None


class PersistentSQLiteEngine(SQLiteEngine):
    """piccolo's SQLite engine opens a connection (and a driver thread) for every query; this
    one keeps them open: one writer connection that every write and every transaction queues
    for (its small statements run on the event loop once it holds the write lock; COMMIT, and
    what may wait or run long, take a trip to its thread), and for plain SELECTs outside a
    transaction a read-only connection per calling thread, run right there on the event loop;
    a few pooled read-only connections take the rare read that would wait on a lock.

    The semantics stay those of piccolo's engine: autocommit outside transactions, BEGIN
    IMMEDIATE through ``transaction()``, foreign keys on, the busy timeout for other processes
    (the worker, the CLI) holding the file.
    """

    def __init__(self, path: str, **connection_kwargs: Any) -> None:
        super().__init__(path=path, **connection_kwargs)
        self.writer = _ConnectionPool(1, lambda: self._open(read_only=False))
        self.readers = _ConnectionPool(SQLITE_READERS, lambda: self._open(read_only=True))
        # A connection that only watches for commits (change_marker); opened on first use.
        self._watch: sqlite3.Connection | None = None
        self._watch_lock = threading.Lock()
        self._watch_id = next(_watch_ids)
        self._inline = threading.local()
        self._inline_opened: list[sqlite3.Connection] = []
        self._inline_lock = threading.Lock()
        self._busy_timeout_ms = int(self.connection_kwargs.get("timeout", 5.0) * 1000)

    def begin_on_loop(self, connection: sqlite3.Connection, statement: str) -> bool:
        """Run ``statement`` (a BEGIN) on the calling thread if it need not wait; False when it
        would (another connection holds the write lock): then nothing was begun, and the caller
        sends it to the writer's thread, which waits on the busy timeout. A DEFERRED BEGIN
        takes no lock; IMMEDIATE and EXCLUSIVE try theirs once, without the busy wait."""
        if statement == "BEGIN DEFERRED":
            connection.execute(statement)
            return True
        connection.execute("PRAGMA busy_timeout = 0")
        try:
            connection.execute(statement)
        except sqlite3.OperationalError as error:
            if not _is_busy(error):
                raise
            return False
        finally:
            connection.execute(f"PRAGMA busy_timeout = {self._busy_timeout_ms}")
        return True

    def change_marker(self) -> tuple[int, int] | None:
        """A value that differs after any connection (this process's writer, the worker, the
        CLI) committed to the file: this engine's own number and SQLite's data_version seen from
        a connection that never writes. It answers in microseconds without a driver thread;
        None when SQLite is busy (read afresh then)."""
        with self._watch_lock:
            try:
                if self._watch is None:
                    # No busy wait: the event loop's thread asks, and must not block.
                    self._watch = sqlite3.connect(self.path, timeout=0, check_same_thread=False)
                    self._watch.execute("PRAGMA query_only = 1")
                # Read to the end, so no read transaction stays open to hold back checkpoints.
                [(version,)] = self._watch.execute("PRAGMA data_version").fetchall()
            except sqlite3.Error:
                return None
        return self._watch_id, version

    def _inline_reader(self) -> sqlite3.Connection:
        """This thread's read-only connection for SELECTs run on the event loop itself."""
        connection: sqlite3.Connection | None = getattr(self._inline, "connection", None)
        if connection is None:
            # No busy wait here: a read that would wait goes to a pooled reader's thread.
            kwargs = {**self.connection_kwargs, "timeout": 0, "check_same_thread": False}
            connection = sqlite3.connect(**kwargs)
            connection.row_factory = dict_factory
            connection.execute("PRAGMA foreign_keys = 1")
            connection.execute("PRAGMA query_only = 1")
            self._inline.connection = connection
            with self._inline_lock:
                self._inline_opened.append(connection)
        return connection

    async def _open(self, *, read_only: bool) -> aiosqlite.Connection:
        # The writer's connection also runs a transaction's reads on the event loop's thread
        # (``_run_in_existing_connection``), while its own thread is idle.
        connection = aiosqlite.connect(**self.connection_kwargs, check_same_thread=read_only)
        # A connection left open must not keep the process alive at exit.
        connection._thread.daemon = True
        await connection
        connection.row_factory = dict_factory  # type: ignore[assignment]
        await connection.execute("PRAGMA foreign_keys = 1")
        if read_only:
            # A write sent here by mistake fails loudly instead of bypassing the writer.
            await connection.execute("PRAGMA query_only = 1")
        return connection

    def transaction(
        self,
        transaction_type: TransactionType = TransactionType.deferred,
        allow_nested: bool = True,
    ) -> SQLiteTransaction:
        return PersistentTransaction(
            engine=self, transaction_type=transaction_type, allow_nested=allow_nested
        )

    async def _run_in_new_connection(
        self,
        query: str,
        args: list[Any] | None = None,
        query_type: str = "generic",
        table: type[Table] | None = None,
    ) -> Iterable[Any]:
        reads = _is_select(query)
        if reads and not _off_the_loop.get():
            # A WAL read takes no lock and costs tens of microseconds on the loop, where a trip
            # to a connection's thread and back costs several times that in thread and loop
            # wake-ups. Only a read that would wait (a checkpoint truncating the WAL, recovery)
            # goes to a pooled reader, whose thread may wait on the busy timeout.
            try:
                return self._inline_reader().execute(query, args or []).fetchall()
            except sqlite3.OperationalError as error:
                if not _is_busy(error):
                    raise
        pool = self.readers if reads else self.writer
        connection = await pool.acquire()
        try:
            if not reads and not _off_the_loop.get() and _runs_inline(query, args):
                return await self._autocommit_write(connection, query, args or [])
            return await pool.run(connection, query, args or [])
        finally:
            pool.release(connection)

    async def _autocommit_write(
        self, connection: aiosqlite.Connection, query: str, args: list[Any]
    ) -> Iterable[Any]:
        """A small write outside a transaction, as its own transaction begun and run on the
        loop: only its COMMIT, which syncs, goes to the writer's thread, and none at all when
        it changed nothing (clearing expired sessions usually finds none): such a COMMIT has
        no page to write, so it neither writes nor syncs."""
        own = connection._conn
        if not self.begin_on_loop(own, "BEGIN IMMEDIATE"):
            # Another process holds the write lock: wait for it on the thread, as before.
            return await self.writer.run(connection, query, args)
        changes = own.total_changes
        try:
            rows = own.execute(query, args).fetchall()
        except BaseException:
            if own.in_transaction:  # (SQLite may have rolled it back itself, e.g. disk full)
                own.execute("ROLLBACK")  # discards pages in memory: nothing to sync
            raise
        if own.total_changes == changes:
            own.execute("COMMIT")
        else:
            await self.writer.commit(connection)
        return rows

    async def _run_in_existing_connection(
        self,
        connection: aiosqlite.Connection,
        query: str,
        args: list[Any] | None = None,
        query_type: str = "generic",
        table: type[Table] | None = None,
    ) -> Iterable[Any]:
        # The connection was set up once (foreign keys, row factory) when it was opened.
        if _runs_inline(query, args) and not _off_the_loop.get() and self._holds_write_lock():
            # Right here on the writer's connection (its thread is idle: the transaction holds
            # the writer), without the trip to that thread and back, which costs about 60-120 us
            # of CPU against a few us for a small statement. Nothing here waits: BEGIN IMMEDIATE
            # took the write lock and the snapshot, so no lock is left to wait for, and in WAL
            # mode a write only changes pages in memory; the sync comes at COMMIT, on the thread.
            # The one disk write a statement may make is a page-cache spill into the WAL (no
            # sync), after some megabytes of changes in one transaction: statements carrying
            # much data, and everything inside long_reads() or long_writes() (a statement that
            # may touch many rows), keep their trip instead.
            return connection._conn.execute(query, args or []).fetchall()
        return await self.writer.run(connection, query, args or [])

    def _holds_write_lock(self) -> bool:
        """Whether the current transaction began IMMEDIATE or EXCLUSIVE (a DEFERRED one takes
        its locks at its first statements, which may wait on the busy timeout)."""
        transaction = self.current_transaction.get()
        return transaction is not None and transaction.transaction_type in (
            TransactionType.immediate,
            TransactionType.exclusive,
        )

    async def close(self) -> None:
        await self.writer.close()
        await self.readers.close()
        with self._watch_lock:
            if self._watch is not None:
                self._watch.close()
                self._watch = None
        with self._inline_lock:
            inline, self._inline_opened = self._inline_opened, []
            self._inline = threading.local()
        for connection in inline:
            connection.close()


def _is_select(query: str) -> bool:
    return query.lstrip()[:6].upper() == "SELECT"


def _runs_inline(query: str, args: list[Any] | None) -> bool:
    """Whether a statement inside a write-locked transaction is a small read or write of rows."""
    kind = _FIRST_WORD.match(query)
    if kind is None or kind.group(1).upper() not in _INLINE_KINDS:
        return False
    carried = sum(
        len(value) for value in args or () if isinstance(value, (bytes, bytearray, memoryview, str))
    )
    return carried <= SQLITE_INLINE_WRITE_BYTES


def _is_busy(error: sqlite3.OperationalError) -> bool:
    """SQLITE_BUSY or SQLITE_LOCKED, with any extended code (BUSY_RECOVERY, BUSY_SNAPSHOT...)."""
    code = getattr(error, "sqlite_errorcode", 0) & 0xFF
    return code in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)


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


@contextmanager
def long_reads() -> Iterator[None]:
    """Run the reads inside on a connection's own thread, never on the event loop: for queries
    that walk many rows (statistics over every report), which on the loop would hold every other
    request for as long as they run. Cheap indexed reads stay on the loop (they cost less there)."""
    token = _off_the_loop.set(True)
    try:
        yield
    finally:
        _off_the_loop.reset(token)


@contextmanager
def long_writes() -> Iterator[None]:
    """Run the writes inside on the writer's thread, never on the event loop: for statements
    that may touch many rows or megabytes (every wrap of an officer or of purged reports, a
    file's chunks), which on the loop would hold every other request while SQLite works. On
    SQLite a transaction's small writes otherwise run on the loop (they cost less there)."""
    with long_reads():
        yield


def change_marker() -> Hashable | None:
    """A value that changes whenever anything is committed to the database, for keeping what was
    derived from it (the report form's list of officers) until then; None when there is no
    cheap one (PostgreSQL) or inside a transaction (its own writes are not committed yet): the
    caller then reads afresh."""
    engine = current()
    if not isinstance(engine, PersistentSQLiteEngine) or engine.current_transaction.get():
        return None
    return engine.change_marker()


# PostgreSQL: how long opening a connection may take before it counts as an outage.
CONNECT_TIMEOUT_SECONDS = 10.0
# The web's statements: a connection that stops answering (a server or network gone without
# closing it) fails the request after this long instead of hanging it; the pool then replaces
# the connection. Commands (migrations, backups) run without it.
WEB_COMMAND_TIMEOUT_SECONDS = 60.0


# Session settings of every PostgreSQL connection the pool opens (startup parameters, so they
# hold for the connection's life). The statements are short index walks of a page: starting a
# parallel worker costs more (milliseconds, measured on the inbox's mark counts) than the few
# hundred rows a web statement reads. (Plans are left to PostgreSQL: forcing a custom plan for
# every run of asyncpg's prepared statements was measured slower at a million cases, 6.2 ms
# against 2.5 ms for the mark counts: re-planning costs more than the generic plans lose.)
POSTGRES_SESSION_SETTINGS = {"max_parallel_workers_per_gather": "0"}


async def _keep_session(connection: Any) -> None:
    """The pool's reset on release. asyncpg's default sends a reset query (unlock, close
    cursors, unlisten, RESET ALL) after every statement: a second round trip for each one. The
    application sets no session state (advisory locks are transaction-scoped, no LISTEN, no
    SET, no cursors outside transactions), and asyncpg still rolls back an open transaction
    before calling this, so there is nothing to reset."""


async def open_database(settings: Settings, *, command_timeout: float | None = None) -> Engine:
    """Create, bind and prepare the engine named by the settings (``command_timeout``: seconds
    a PostgreSQL statement may take, for the web)."""
    engine = make_engine(settings)
    bind(engine)
    if isinstance(engine, SQLiteEngine):
        # WAL lets readers run beside the writer; it is a property of the file, so set it once.
        await engine.run_ddl("PRAGMA journal_mode=WAL")
        # The file holds only ciphertext and metadata, but it is nobody else's business.
        os.chmod(engine.path, 0o600)
    elif isinstance(engine, PostgresEngine):
        # asyncpg drops a connection that broke (server stopped, network cut) when it goes
        # back to the pool, and opens a new one on the next acquire: no restart needed.
        await engine.start_connection_pool(
            min_size=1,
            max_size=10,
            timeout=CONNECT_TIMEOUT_SECONDS,
            command_timeout=command_timeout,
            server_settings=POSTGRES_SESSION_SETTINGS,
            reset=_keep_session,
        )
    return engine


async def close_database(engine: Engine | None = None) -> None:
    """Close ``engine`` (by default the bound one): its PostgreSQL pool, if any."""
    engine = engine or _engine
    if isinstance(engine, PostgresEngine) and engine.pool is not None:
        await engine.close_connection_pool()
    elif isinstance(engine, PersistentSQLiteEngine):
        await engine.close()


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


async def reclaim_freed_pages() -> None:
    """After destroying data (the retention purge): on SQLite, move the WAL into the database
    file and truncate it, so the old page images do not outlive the purge in the -wal file
    (secure_delete has already zeroed the freed space). On PostgreSQL the old row versions stay
    on disk until VACUUM, which only the tables' owner may run: the administrator's nightly
    ``vacuumdb`` does it (docs/DEPLOYMENT.md)."""
    if is_sqlite():
        await fetch("PRAGMA wal_checkpoint(TRUNCATE)")


async def refresh_planner_statistics() -> None:
    """On SQLite, refresh the statistics the query planner chooses indexes by (sqlite_stat1):
    without them a grown inbox may be planned as if its tables were small. Sampled
    (``analysis_limit``), so it costs milliseconds even at a million rows. PostgreSQL's
    autovacuum keeps its own statistics."""
    if is_sqlite():
        await fetch("PRAGMA analysis_limit = 1000")
        await fetch("ANALYZE")


def is_unique_violation(error: BaseException) -> bool:
    """Both drivers' unique-constraint errors, translated in one place."""
    import sqlite3

    import asyncpg

    if isinstance(error, asyncpg.UniqueViolationError):
        return True
    return isinstance(error, sqlite3.IntegrityError) and "UNIQUE" in str(error)

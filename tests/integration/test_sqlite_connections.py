"""SQLite keeps its connections: one writer every write and transaction queues for, read-only
connections for plain SELECTs, the same transaction semantics, and use from several event loops
(the app's and the test's) at once."""

from __future__ import annotations

import asyncio
import sqlite3
import threading

import pytest

from tests.support.trips import count_trips
from whistle.db import engine as db
from whistle.db.tables import SystemSetting

pytestmark = pytest.mark.parametrize("engine_name", ["sqlite"])


async def opened_engine() -> db.PersistentSQLiteEngine:
    """The SQLite engine with its writer connection already open (opening it is a trip)."""
    async with db.transaction():
        await db.fetch("SELECT 1 AS one")
    engine = db.current()
    assert isinstance(engine, db.PersistentSQLiteEngine)
    return engine


async def test_writes_reuse_one_connection(database):
    # A temporary table lives only as long as its connection: a connection per query loses it.
    await db.fetch("CREATE TEMP TABLE connection_marker (x INTEGER)")
    for number in range(20):
        await db.fetch("INSERT INTO temp.connection_marker VALUES ({})", number)
    async with db.transaction():
        await db.fetch("INSERT INTO temp.connection_marker VALUES ({})", 20)
        rows = await db.fetch("SELECT count(*) AS n FROM temp.connection_marker")
    assert rows == [{"n": 21}]


async def test_plain_selects_run_on_read_only_connections(database):
    rows = await db.fetch("SELECT * FROM pragma_query_only()")
    assert rows == [{"query_only": 1}]
    async with db.transaction():
        rows = await db.fetch("SELECT * FROM pragma_query_only()")
    assert rows == [{"query_only": 0}]
    pragmas = await db.fetch("PRAGMA foreign_keys")
    assert pragmas == [{"foreign_keys": 1}]


async def test_readers_see_only_committed_writes_and_do_not_wait_for_the_writer(database):
    entered, release = asyncio.Event(), asyncio.Event()

    async def writer() -> None:
        async with db.transaction():
            await SystemSetting.insert(SystemSetting(key="pending", value="x"))
            entered.set()
            await release.wait()

    task = asyncio.create_task(writer())
    await entered.wait()
    # The write transaction holds the writer; a read still answers, without the uncommitted row.
    rows = await asyncio.wait_for(db.fetch("SELECT key FROM system_setting"), timeout=10)
    assert "pending" not in {row["key"] for row in rows}
    release.set()
    await task
    rows = await db.fetch("SELECT key FROM system_setting")
    assert "pending" in {row["key"] for row in rows}


async def test_failed_transaction_rolls_back_and_frees_the_writer(database):
    with pytest.raises(sqlite3.IntegrityError):
        async with db.transaction():
            await SystemSetting.insert(SystemSetting(key="twice", value="1"))
            await SystemSetting.insert(SystemSetting(key="twice", value="2"))
    assert await SystemSetting.count().where(SystemSetting.key == "twice") == 0
    async with db.transaction():
        await SystemSetting.insert(SystemSetting(key="twice", value="3"))
    assert await SystemSetting.count().where(SystemSetting.key == "twice") == 1


async def test_cancelled_waiter_does_not_lose_the_writer(database):
    entered, release = asyncio.Event(), asyncio.Event()

    async def holder() -> None:
        async with db.transaction():
            entered.set()
            await release.wait()

    async def waiter() -> None:
        async with db.transaction():
            await SystemSetting.insert(SystemSetting(key="never", value="x"))

    held = asyncio.create_task(holder())
    await entered.wait()
    waiting = asyncio.create_task(waiter())
    await asyncio.sleep(0.05)
    waiting.cancel()
    release.set()
    await held
    with pytest.raises(asyncio.CancelledError):
        await waiting
    async with asyncio.timeout(10):
        async with db.transaction():
            await SystemSetting.insert(SystemSetting(key="after", value="x"))
    assert await SystemSetting.count().where(SystemSetting.key == "never") == 0


async def test_two_event_loops_write_at_once(database):
    """The test client runs the app on its own loop in another thread beside the test's."""

    async def insert_many(prefix: str) -> None:
        for number in range(25):
            async with db.transaction():
                await SystemSetting.insert(SystemSetting(key=f"{prefix}-{number}", value="x"))
            await db.fetch("SELECT count(*) AS n FROM system_setting")

    errors: list[BaseException] = []

    def other_loop() -> None:
        try:
            asyncio.run(insert_many("thread"))
        except BaseException as error:  # reported to the test below
            errors.append(error)

    thread = threading.Thread(target=other_loop)
    thread.start()
    await insert_many("main")
    await asyncio.to_thread(thread.join)
    assert errors == []
    rows = await db.fetch("SELECT key FROM system_setting WHERE key LIKE '%-%'")
    keys = {row["key"] for row in rows}
    assert {f"main-{n}" for n in range(25)} | {f"thread-{n}" for n in range(25)} <= keys


async def test_change_marker_moves_with_every_commit_from_any_connection(database):
    first = db.change_marker()
    assert first is not None
    await db.fetch("SELECT key FROM system_setting")
    assert db.change_marker() == first  # reading changes nothing
    await SystemSetting.insert(SystemSetting(key="ours", value="x"))
    second = db.change_marker()
    assert second != first  # this process's writer committed
    other = sqlite3.connect(database.sqlite_path)  # another process (the worker, the CLI)
    with other:
        other.execute("INSERT INTO system_setting (key, value) VALUES ('theirs', 'y')")
    other.close()
    assert db.change_marker() not in (first, second)
    async with db.transaction():
        # Inside a transaction its own uncommitted writes could not move the marker.
        assert db.change_marker() is None


async def test_change_markers_of_two_engines_differ(settings):
    # A later engine on another file must not take an earlier one's marker for its own.
    engine = await db.open_database(settings)
    first = db.change_marker()
    await db.close_database(engine)
    engine = await db.open_database(settings)
    try:
        assert db.change_marker() != first
    finally:
        await db.close_database(engine)


async def test_reads_run_on_the_loop_and_autocommit_writes_take_one_trip_each(database):
    # Every trip wakes the connection's thread and then the event loop: CPU per request.
    await db.fetch("SELECT 1 AS one")  # opens a reader
    engine = await opened_engine()
    trips = count_trips([engine.writer, engine.readers])

    assert await db.fetch("SELECT count(*) AS n FROM system_setting") == [{"n": 0}]
    assert trips() == 0
    await SystemSetting.insert(SystemSetting(key="trip", value="1"))
    assert trips() == 1
    async with db.transaction():
        await SystemSetting.update({SystemSetting.value: "2"}).where(SystemSetting.key == "trip")
    assert trips() == 2  # COMMIT (BEGIN and the update ran on the loop)
    rows = await SystemSetting.select(SystemSetting.value).where(SystemSetting.key == "trip")
    assert rows == [{"value": "2"}]
    assert trips() == 2


async def test_an_autocommit_write_that_changes_nothing_makes_no_trip(database):
    """Clearing expired sessions usually finds none: such a write has nothing to sync, so it is
    begun, run and committed on the loop; one that changes rows commits (syncs) on the thread."""
    await SystemSetting.insert(SystemSetting(key="kept", value="1"))  # opens the writer
    engine = db.current()
    assert isinstance(engine, db.PersistentSQLiteEngine)
    trips = count_trips([engine.writer, engine.readers])

    await SystemSetting.delete().where(SystemSetting.key == "missing")
    await SystemSetting.update({SystemSetting.value: "2"}).where(SystemSetting.key == "missing")
    await db.fetch(
        "INSERT INTO system_setting (key, value) VALUES ('kept', 'x') ON CONFLICT DO NOTHING"
    )
    assert trips() == 0
    await SystemSetting.update({SystemSetting.value: "3"}).where(SystemSetting.key == "kept")
    assert trips() == 1  # its COMMIT
    with pytest.raises(sqlite3.IntegrityError):
        await db.fetch("INSERT INTO system_setting (key, value) VALUES ('kept', 'again')")
    assert trips() == 1  # refused on the loop and rolled back there: nothing was written
    await SystemSetting.delete().where(SystemSetting.key == "kept")
    assert trips() == 2
    # Nothing is left open: another connection (another process) can write at once.
    other = sqlite3.connect(engine.path, isolation_level=None, timeout=0)
    try:
        other.execute("INSERT INTO system_setting (key, value) VALUES ('theirs', 'y')")
    finally:
        other.close()
    rows = await db.fetch("SELECT key, value FROM system_setting")
    assert rows == [{"key": "theirs", "value": "y"}]


async def test_reads_inside_a_write_transaction_run_on_the_loop_and_see_its_writes(database):
    """A transaction's reads need the writer's connection (they must see its own writes) but no
    trip to its thread: BEGIN IMMEDIATE took the locks, so they never wait."""
    engine = await opened_engine()
    trips = count_trips([engine.writer, engine.readers])

    async with db.transaction():
        assert trips() == 0  # BEGIN IMMEDIATE ran on the loop: nothing held the lock
        await SystemSetting.insert(SystemSetting(key="inside", value="1"))
        rows = await SystemSetting.select(SystemSetting.value).where(SystemSetting.key == "inside")
        assert rows == [{"value": "1"}]  # the uncommitted write, seen
        assert await db.fetch("SELECT * FROM pragma_query_only()") == [{"query_only": 0}]
        await SystemSetting.update({SystemSetting.value: "2"}).where(SystemSetting.key == "inside")
        assert trips() == 0  # the reads and writes made none
    assert trips() == 1  # COMMIT
    with db.long_reads():
        async with db.transaction():
            await db.fetch("SELECT count(*) AS n FROM system_setting")
    assert trips() == 3  # a long read inside a transaction keeps its trip, off the loop
    # A deferred transaction takes its locks at its first statement, which may wait on the busy
    # timeout: its reads keep their trip.
    async with engine.transaction():
        await db.fetch("SELECT count(*) AS n FROM system_setting")
    assert trips() == 5
    rows = await SystemSetting.select(SystemSetting.value).where(SystemSetting.key == "inside")
    assert rows == [{"value": "2"}]


async def test_writes_inside_a_write_transaction_run_on_the_loop_and_commit(database):
    """Inside a transaction that holds the write lock a write never waits (BEGIN IMMEDIATE took
    the lock) and does not sync (COMMIT does): only COMMIT goes to the writer's thread (BEGIN too
    when it would wait, see below)."""
    engine = await opened_engine()
    trips = count_trips([engine.writer, engine.readers])

    async with db.transaction():
        await SystemSetting.insert(
            SystemSetting(key="kept", value="1"), SystemSetting(key="dropped", value="1")
        )
        returned = await (
            SystemSetting.update({SystemSetting.value: "2"})
            .where(SystemSetting.key == "kept")
            .returning(SystemSetting.value)
        )
        assert returned == [{"value": "2"}]
        await SystemSetting.delete().where(SystemSetting.key == "dropped")
        await db.fetch("INSERT INTO system_setting (key, value) VALUES ({}, {})", "raw", "3")
        assert trips() == 0
    assert trips() == 1  # COMMIT
    # Committed: a read-only connection (another process's view) sees exactly the end state.
    rows = await db.fetch("SELECT key, value FROM system_setting ORDER BY key")
    assert rows == [{"key": "kept", "value": "2"}, {"key": "raw", "value": "3"}]
    # A deferred transaction takes its write lock at its first write, which may wait on the busy
    # timeout: its writes keep their trip.
    async with engine.transaction():
        await SystemSetting.insert(SystemSetting(key="deferred", value="4"))
    assert trips() == 3
    # Statements that are not plain reads or writes (schema changes, pragmas) keep their trip.
    async with db.transaction():
        await db.fetch("CREATE TEMP TABLE statement_kind (x INTEGER)")
    assert trips() == 5


async def test_a_begin_that_would_wait_waits_on_the_writer_thread(database):
    """BEGIN IMMEDIATE runs on the loop only when the write lock is free: while another process
    (the worker, the CLI) holds it, the BEGIN waits on the busy timeout on the writer's thread,
    the loop keeps serving, and the transaction goes on once the lock is let go."""
    engine = await opened_engine()
    trips = count_trips([engine.writer, engine.readers])
    holder = sqlite3.connect(engine.path, isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")
        holder.execute("INSERT INTO system_setting (key, value) VALUES ('held', 'x')")

        async def write() -> None:
            async with db.transaction():
                rows = await SystemSetting.select(SystemSetting.value).where(
                    SystemSetting.key == "held"
                )
                await SystemSetting.insert(SystemSetting(key="after", value=rows[0]["value"]))

        writing = asyncio.create_task(write())
        await asyncio.sleep(0.5)
        assert not writing.done()  # waiting, not failed
        assert trips() == 1  # the BEGIN, sent to the thread
        # The loop is free meanwhile: reads of committed data answer.
        assert await db.fetch("SELECT count(*) AS n FROM system_setting") == [{"n": 0}]
        holder.execute("COMMIT")
    finally:
        holder.close()
    await asyncio.wait_for(writing, timeout=20)
    assert trips() == 2  # and its COMMIT
    rows = await SystemSetting.select(SystemSetting.value).where(SystemSetting.key == "after")
    assert rows == [{"value": "x"}]


async def test_a_transaction_cancelled_while_its_begin_waits_leaves_the_writer_usable(database):
    """A BEGIN still waiting on the writer's thread when its task is cancelled runs on there: the
    writer is handed on only after it finished and was rolled back, so the next transaction
    neither fails ("cannot start a transaction within a transaction") nor inherits it."""
    engine = await opened_engine()
    holder = sqlite3.connect(engine.path, isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")

        async def never() -> None:
            async with db.transaction():
                await SystemSetting.insert(SystemSetting(key="never", value="x"))

        waiting = asyncio.create_task(never())
        await asyncio.sleep(0.3)
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
        holder.execute("COMMIT")
    finally:
        holder.close()
    async with asyncio.timeout(20):
        async with db.transaction():
            await SystemSetting.insert(SystemSetting(key="next", value="y"))
    rows = await db.fetch("SELECT key FROM system_setting ORDER BY key")
    assert rows == [{"key": "next"}]


async def test_a_large_write_inside_a_transaction_keeps_its_trip(database):
    """A write carrying a lot of data (an evidence chunk) may spill the page cache into the WAL:
    it runs on the writer's thread, off the event loop, as do writes inside long_reads()."""
    engine = await opened_engine()
    trips = count_trips([engine.writer, engine.readers])

    large = "x" * (db.SQLITE_INLINE_WRITE_BYTES + 1)
    async with db.transaction():
        await SystemSetting.insert(SystemSetting(key="large", value=large))
        assert trips() == 1  # the insert
        with db.long_reads():
            await SystemSetting.update({SystemSetting.value: "small"}).where(
                SystemSetting.key == "large"
            )
        assert trips() == 2
        # A write that may touch many rows (every wrap of an officer) is marked by its caller.
        with db.long_writes():
            await SystemSetting.delete().where(SystemSetting.key == "none")
        assert trips() == 3
    assert trips() == 4
    with db.long_writes():
        await SystemSetting.delete().where(SystemSetting.key == "none")
    assert trips() == 5  # outside a transaction too
    rows = await SystemSetting.select(SystemSetting.value).where(SystemSetting.key == "large")
    assert rows == [{"value": "small"}]


@pytest.mark.parametrize(
    "violation",
    [
        # The same key twice (UNIQUE), a missing value (NOT NULL), a missing officer (FOREIGN KEY).
        "INSERT INTO system_setting (key, value) VALUES ('first', 'again')",
        "INSERT INTO system_setting (key) VALUES ('second')",
        "INSERT INTO web_session (lookup, kind, officer, secret, created_at, last_seen_at,"
        " expires_at) VALUES ('x', 'officer', 999999, x'00', '2026-01-01', '2026-01-01',"
        " '2026-01-01')",
    ],
)
async def test_a_failed_write_on_the_loop_raises_rolls_back_and_frees_the_writer(
    database, violation
):
    engine = await opened_engine()
    trips = count_trips([engine.writer, engine.readers])

    with pytest.raises(sqlite3.IntegrityError):
        async with db.transaction():
            await SystemSetting.insert(SystemSetting(key="first", value="1"))
            await db.fetch(violation)
    assert trips() == 1  # ROLLBACK
    assert await SystemSetting.count().where(SystemSetting.key == "first") == 0
    async with asyncio.timeout(10):  # the writer was released, outside any transaction
        async with db.transaction():
            await SystemSetting.insert(SystemSetting(key="first", value="2"))
    rows = await SystemSetting.select(SystemSetting.value).where(SystemSetting.key == "first")
    assert rows == [{"value": "2"}]


async def test_long_reads_run_on_a_reader_thread_and_not_on_the_loop(database):
    """Statistics over every report must not hold the event loop (and every other request)
    while SQLite scans: inside long_reads() a SELECT goes to a pooled reader's thread."""
    with db.long_reads():
        await db.fetch("SELECT 1 AS one")  # opens a pooled reader
    engine = db.current()
    assert isinstance(engine, db.PersistentSQLiteEngine)
    reader_trips = count_trips([engine.readers])
    on_thread: list[bool] = []
    with db.long_reads():
        # The loop keeps turning while the read runs: a task started now gets its turn first.
        ticker = asyncio.create_task(asyncio.sleep(0, result=True))
        rows = await db.fetch("SELECT count(*) AS n FROM system_setting")
        on_thread.append(ticker.done())
    assert rows == [{"n": 0}]
    assert reader_trips() == 1
    assert on_thread == [True]
    await db.fetch("SELECT count(*) AS n FROM system_setting")
    assert reader_trips() == 1  # outside: back on the loop


async def test_a_read_that_would_wait_waits_on_a_reader_thread_instead_of_failing(database):
    """Reads on the loop never wait: one that would (another process holding the file
    exclusively) goes to a pooled reader, which waits on the busy timeout as before."""
    engine = db.current()
    assert isinstance(engine, db.PersistentSQLiteEngine)
    await engine.close()  # its connections reopen on demand; none may hold the file now
    holder = sqlite3.connect(engine.path, isolation_level=None)
    try:
        holder.execute("PRAGMA locking_mode = EXCLUSIVE")
        holder.execute("BEGIN EXCLUSIVE")
        holder.execute("INSERT INTO system_setting (key, value) VALUES ('held', 'x')")
        reading = asyncio.create_task(db.fetch("SELECT key FROM system_setting"))
        await asyncio.sleep(0.5)
        assert not reading.done()  # waiting, not failed
        holder.execute("COMMIT")
    finally:
        holder.close()  # releases the exclusive lock
    rows = await asyncio.wait_for(reading, timeout=20)
    assert {"key": "held"} in rows


async def test_concurrent_read_then_write_transactions_serialise(database):
    """Each transaction reads the counter and writes it back plus one: interleaved, some
    increments would be lost; one at a time (the one writer, BEGIN IMMEDIATE), none is."""
    await SystemSetting.insert(SystemSetting(key="counter", value="0"))

    async def increment() -> None:
        async with db.transaction():
            rows = await SystemSetting.select(SystemSetting.value).where(
                SystemSetting.key == "counter"
            )
            await asyncio.sleep(0)  # let the others run between the read and the write
            await SystemSetting.update({SystemSetting.value: str(int(rows[0]["value"]) + 1)}).where(
                SystemSetting.key == "counter"
            )

    await asyncio.gather(*(increment() for _ in range(30)))
    rows = await SystemSetting.select(SystemSetting.value).where(SystemSetting.key == "counter")
    assert rows == [{"value": "30"}]


async def test_every_commit_is_synced_to_disk(database):
    """An acknowledged submission survives a power cut: the writer syncs each commit (FULL),
    whatever the SQLite library was compiled to do in WAL mode."""
    assert await db.fetch("PRAGMA journal_mode") == [{"journal_mode": "wal"}]
    assert await db.fetch("PRAGMA synchronous") == [{"synchronous": 2}]

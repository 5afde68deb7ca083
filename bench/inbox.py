"""Inbox benchmark: page latency (median and p95) and CPU a page, on SQLite and PostgreSQL.

Seeds metadata rows with dummy ciphertext in bulk (the inbox never decrypts), a key wrap of every
case for one triage officer, a few assigned cases for one investigator, and the dialogue marks
(reporter answers, cases waiting for the reporter, the cases the triage officer opened), then
times the inbox service function for every kind of view, and the mark counts, against the goal
of issue 13 (p95 20 ms on SQLite, 10 ms on PostgreSQL at a million cases), and prints the query
plan of the default view.

The load is what a dump restore does: the rows in one transaction (COPY on PostgreSQL), then the
migrations' own indexes built over them, then ANALYZE (VACUUM ANALYZE on PostgreSQL). 100,000
cases by default (``make bench``); ``--cases 1000000`` for the million, which takes several
minutes to seed on a shared 2-core machine.

    .venv/bin/python -m bench.inbox [--cases 100000] [--runs 50] [--engine both|sqlite|postgres]
        [--keep DIR] [--views TEXT]

``--keep DIR`` keeps the keys, the SQLite file and the PostgreSQL data directory in DIR: a second
run with the same ``--cases`` skips the seeding (a run at a million then takes seconds), and a
new migration is applied over the kept data. ``--views TEXT`` times only the views whose name
contains TEXT (case-insensitive; repeat it for several).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shutil
import sqlite3
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, NamedTuple

import asyncpg

from bench.results import record
from bench.server import settle_writes
from tests.support.postgres import PostgresCluster
from whistle.cases.inbox import InboxFilter, inbox, inbox_sql, mark_counts
from whistle.crypto import Argon2Params, Keyring, init_keys
from whistle.db import engine as db
from whistle.db.migrations import migrate
from whistle.reports import statuses as st
from whistle.reports.content import CATEGORIES
from whistle.reports.envelope import configure_holder_tag_key, holder_tag
from whistle.settings import Settings

NOW = datetime.now(UTC)
TRIAGE_ID, INVESTIGATOR_ID = 1, 2
ASSIGNED = 25
STATUS_WEIGHTS = {
    st.RECEIVED: 4,
    st.VERIFICATION: 8,
    st.INVESTIGATION: 12,
    st.CONCLUDED: 25,
    st.NOT_ACTIONABLE: 10,
    st.REFERRED: 6,
    st.ARCHIVED: 35,
}
# Issue 13: p95 of every view at a million cases.
GOAL_MS = {"SQLite": 20, "PostgreSQL": 10}
VIEWS: dict[str, Callable[[], InboxFilter]] = {
    "triage, default (all, by deadline)": lambda: InboxFilter(),
    "triage, open + category pungli": lambda: InboxFilter(status="open", category="pungli"),
    "triage, overdue": lambda: InboxFilter(due="overdue"),
    "triage, priority urgent": lambda: InboxFilter(priority="urgent"),
    "triage, status investigation, page 20": lambda: InboxFilter(status="investigation", page=20),
    "triage, default, page 200": lambda: InboxFilter(page=200),
    "triage, assignee = investigator": lambda: InboxFilter(assignee=str(INVESTIGATOR_ID)),
    "triage, newest first": lambda: InboxFilter(sort="newest"),
    "triage, mark unread answer": lambda: InboxFilter(mark="unread"),
    "triage, mark waiting for reporter": lambda: InboxFilter(mark="waiting"),
    "triage, mark never opened": lambda: InboxFilter(mark="new"),
}


# The dialogue marks, as an office of many years would hold them: one case in 30 has answers
# from the reporter (1 to 3), one in 50 waits for the reporter; the triage officer has opened
# every case older than RECENT_DAYS and half the newer ones, and has read every answer but one
# in 20.
DIALOGUE_EVERY, AWAITING_EVERY, UNREAD_EVERY = 30, 50, 20
RECENT_DAYS = 30


class FakeCase(NamedTuple):
    """One case's metadata, compact enough for a million (times in hours before NOW)."""

    id: uuid.UUID
    case_number: str
    lookup_id: str
    category: str
    status: str
    priority: str
    retaliation_risk: bool
    hours_ago: int
    reporter_messages: int
    awaiting_reporter: bool
    # Reporter messages the triage officer has seen; None when they never opened the case.
    seen: int | None


def fake_cases(count: int, *, marks: bool = True) -> list[FakeCase]:
    """Metadata as intake and the workflow would have left it (cheap to make: one seeded
    generator, no per-row secrets); without ``marks``, no dialogue and no case ever opened."""
    rng = random.Random(42)
    bits = rng.getrandbits
    statuses = rng.choices(list(STATUS_WEIGHTS), list(STATUS_WEIGHTS.values()), k=count)
    priorities = rng.choices(["low", "normal", "high", "urgent"], [2, 14, 3, 1], k=count)
    categories = rng.choices(list(CATEGORIES), k=count)
    span, recent = 3 * 365 * 24, RECENT_DAYS * 24
    cases = []
    for number in range(count):
        hours_ago = bits(32) % span
        answers = bits(2) % 3 + 1 if marks and number % DIALOGUE_EVERY == 0 else 0
        opened = marks and (hours_ago >= recent or bits(1))
        seen = (answers - (number % (DIALOGUE_EVERY * UNREAD_EVERY) == 0)) if opened else None
        cases.append(
            FakeCase(
                uuid.UUID(int=bits(128), version=4),
                f"{NOW.year - hours_ago // 8760}-{number + 1:07d}",
                f"{bits(256):064x}",
                categories[number],
                statuses[number],
                priorities[number],
                bits(5) == 0,
                hours_ago,
                answers,
                marks and number % AWAITING_EVERY == 1,
                seen,
            )
        )
    return cases


REPORT_COLUMNS = [
    "id",
    "case_number",
    "lookup_id",
    "category",
    "status",
    "priority",
    "retaliation_risk",
    "received_at",
    "acknowledge_due",
    "acknowledged_at",
    "feedback_due",
    "updated_at",
    "content",
    "reporter_messages",
    "awaiting_reporter",
]
VIEW_COLUMNS = ["officer", "report", "seen_at", "reporter_messages_seen"]
KEY_COLUMNS = ["report", "holder", "holder_tag", "wrapped", "opened", "unseen_answer"]
DUMMY = b"\x01" + bytes(60)
HOUR = NOW.replace(minute=0, second=0, microsecond=0)


def report_rows(cases: list[FakeCase], when: Callable[[datetime], Any], key: Callable) -> Iterator:
    """The report rows in REPORT_COLUMNS order; ``when`` and ``key`` shape times and ids for the
    driver (each distinct hour is shaped once)."""
    times: dict[int, tuple] = {}
    for case in cases:
        shaped = times.get(case.hours_ago)
        if shaped is None:
            received = HOUR - timedelta(hours=case.hours_ago)
            acknowledged = received + timedelta(days=2)
            shaped = times[case.hours_ago] = (
                when(received),
                when(received + timedelta(days=7)),
                when(acknowledged),
                when(acknowledged + timedelta(days=90)),
            )
        received, acknowledge_due, acknowledged, feedback_due = shaped
        new = case.status == st.RECEIVED
        yield (
            key(case.id),
            case.case_number,
            case.lookup_id,
            case.category,
            case.status,
            case.priority,
            case.retaliation_risk,
            received,
            acknowledge_due,
            None if new else acknowledged,
            None if new else feedback_due,
            received,
            DUMMY,
            case.reporter_messages,
            case.awaiting_reporter,
        )


def key_rows(cases: list[FakeCase], key: Callable) -> Iterator:
    triage, investigator = holder_tag(TRIAGE_ID), holder_tag(INVESTIGATOR_ID)
    for case in cases:
        # The triage officer's wrap is opened where they viewed the case (view_rows), and
        # flagged where answers came after that.
        unseen = case.reporter_messages > (case.seen or 0)
        yield (key(case.id), "officer", triage, DUMMY, case.seen is not None, unseen)
    for case in assigned(cases):
        yield (key(case.id), "officer", investigator, DUMMY, False, case.reporter_messages > 0)


def view_rows(cases: list[FakeCase], when: Any, key: Callable) -> Iterator:
    for case in cases:
        if case.seen is not None:
            yield (TRIAGE_ID, key(case.id), when, case.seen)


def officer_rows() -> list[tuple]:
    return [
        (TRIAGE_ID, "triage", "Triage", True, "x", False, b"k", b"k", NOW),
        (
            INVESTIGATOR_ID,
            "investigator",
            "Investigator",
            True,
            "x",
            False,
            b"k",
            b"k",
            NOW,
        ),
    ]


OFFICER_ROLES = [(TRIAGE_ID, "triage"), (INVESTIGATOR_ID, "investigator")]

OFFICER_COLUMNS = [
    "id",
    "username",
    "display_name",
    "active",
    "password_hash",
    "must_change_password",
    "public_key",
    "private_key_protected",
    "created_at",
]


# The officer wraps' copy of their report's place in the inbox order and status, as the
# application keeps it (whistle.reports.envelope.copy_inbox_order), in one statement.
COPY_INBOX_ORDER = (
    "UPDATE report_key SET "  # noqa: S608 (constant SQL)
    f"inbox_rank = (SELECT {st.OPEN_RANK_SQL} FROM report r WHERE r.id = report_key.report), "
    f"inbox_due = (SELECT {st.DUE_SQL} FROM report r WHERE r.id = report_key.report), "
    "inbox_case = (SELECT r.case_number FROM report r WHERE r.id = report_key.report), "
    "inbox_status = (SELECT r.status FROM report r WHERE r.id = report_key.report) "
    "WHERE holder = 'officer'"
)


def _insert(table: str, columns: list[str]) -> str:
    # Constant table and column names from this file only.
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"  # noqa: S608


def _sqlite_time(value: datetime) -> str:
    return str(value.astimezone(UTC))


def seed_sqlite(
    path: Path, cases: list[FakeCase], *, bulk: bool = False, analyze: bool = True
) -> None:
    """Insert the cases into the migrated database at ``path`` in one transaction, then ANALYZE.
    ``bulk`` (the benchmark's own file, no other connection open) also turns the rollback
    journal off for the load and WAL back on after it."""
    connection = sqlite3.connect(path, isolation_level=None)
    # A large page cache keeps the indexes' random inserts in memory; per connection only.
    connection.execute("PRAGMA cache_size = -1000000")
    connection.execute("PRAGMA synchronous = OFF")
    if bulk:
        connection.execute("PRAGMA journal_mode = OFF")
    connection.execute("BEGIN")
    # Without other connections (the benchmark's own file): data first, then the migrations'
    # own index definitions, as a dump restore loads them (sorted builds, not random inserts).
    indexes = (
        connection.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
            "AND tbl_name IN ('report', 'report_key', 'case_view')"
        ).fetchall()
        if bulk
        else []
    )
    for name, _ in indexes:
        connection.execute(f"DROP INDEX {name}")
    connection.executemany(
        _insert("officer", OFFICER_COLUMNS),
        [
            tuple(_sqlite_time(v) if isinstance(v, datetime) else v for v in row)
            for row in officer_rows()
        ],
    )
    connection.executemany(_insert("officer_role", ["officer", "role"]), OFFICER_ROLES)
    connection.executemany(_insert("report", REPORT_COLUMNS), report_rows(cases, _sqlite_time, str))
    connection.executemany(_insert("report_key", KEY_COLUMNS), key_rows(cases, str))
    connection.executemany(
        _insert("case_view", VIEW_COLUMNS), view_rows(cases, _sqlite_time(NOW), str)
    )
    connection.executemany(
        "INSERT INTO case_assignment (report, officer, assigned_by, assigned_at) "
        "VALUES (?, ?, ?, ?)",
        [(str(c.id), INVESTIGATOR_ID, TRIAGE_ID, _sqlite_time(NOW)) for c in assigned(cases)],
    )
    connection.execute(COPY_INBOX_ORDER)
    for _, sql in indexes:
        connection.execute(sql)
    connection.execute("COMMIT")
    if analyze:
        connection.execute("ANALYZE")
    if bulk:
        connection.execute("PRAGMA journal_mode = WAL")
    connection.close()


def _same(value: Any) -> Any:
    return value


async def seed_postgres(url: str, cases: list[FakeCase], *, bulk: bool = False) -> None:
    """COPY the cases in, then VACUUM ANALYZE (statistics and the visibility map a restored
    database gets from autovacuum; index-only scans need the latter)."""
    connection = await asyncpg.connect(url)
    try:
        # As pg_restore does: the rows first, then the migrations' own indexes (constraints stay).
        indexes = (
            await connection.fetch(
                "SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.schemaname = 'public' "
                "AND i.tablename IN ('report', 'report_key', 'case_view') AND NOT EXISTS "
                "(SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)"
            )
            if bulk
            else []
        )
        for index in indexes:
            await connection.execute(f"DROP INDEX {index['indexname']}")
        if bulk:
            await connection.execute("SET maintenance_work_mem = '256MB'")
        await connection.copy_records_to_table(
            "officer", records=officer_rows(), columns=OFFICER_COLUMNS
        )
        await connection.execute("SELECT setval('officer_id_seq', 10)")
        await connection.copy_records_to_table(
            "officer_role", records=OFFICER_ROLES, columns=["officer", "role"]
        )
        await connection.copy_records_to_table(
            "report", records=report_rows(cases, _same, _same), columns=REPORT_COLUMNS
        )
        await connection.copy_records_to_table(
            "report_key", records=key_rows(cases, _same), columns=KEY_COLUMNS
        )
        await connection.copy_records_to_table(
            "case_view", records=view_rows(cases, NOW, _same), columns=VIEW_COLUMNS
        )
        await connection.copy_records_to_table(
            "case_assignment",
            records=[(c.id, INVESTIGATOR_ID, TRIAGE_ID, NOW) for c in assigned(cases)],
            columns=["report", "officer", "assigned_by", "assigned_at"],
        )
        await connection.execute(COPY_INBOX_ORDER)
        for index in indexes:
            await connection.execute(index["indexdef"])
        await connection.execute("VACUUM ANALYZE")
    finally:
        await connection.close()


def assigned(cases: list[FakeCase]) -> list[FakeCase]:
    return [case for case in cases if case.status == st.INVESTIGATION][:ASSIGNED]


def _p50_p95(samples: list[float]) -> tuple[float, float]:
    samples = sorted(samples)
    return statistics.median(samples), samples[
        min(len(samples) - 1, round(0.95 * len(samples)) - 1)
    ]


def server_cpu(postmaster: int | None) -> float:
    """CPU seconds the PostgreSQL server's processes (the postmaster's children) have used."""
    if postmaster is None:
        return 0.0
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == postmaster:  # ppid; then utime and stime in clock ticks
            total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


# On a shared machine wall times mostly measure the queue for a core: the CPU a page costs
# (this process, which runs SQLite, plus the PostgreSQL server's processes) is printed beside.
POSTMASTER: list[int] = []


async def timed(officer_id: int, view: InboxFilter, runs: int) -> tuple[float, float, str]:
    await inbox(officer_id, view, due_soon_days=3)  # warm the cache and the connection
    samples = []
    postmaster = POSTMASTER[0] if POSTMASTER and not db.is_sqlite() else None
    # The server's CPU is counted in clock ticks: summed over the runs, not per page.
    server, process = server_cpu(postmaster), time.process_time()
    for _ in range(runs):
        started = time.perf_counter()
        page = await inbox(officer_id, view, due_soon_days=3)
        samples.append((time.perf_counter() - started) * 1000)
    cpu = time.process_time() - process + server_cpu(postmaster) - server
    return (*_p50_p95(samples), f"{len(page.rows)} rows, CPU {cpu * 1000 / runs:.1f} ms a page")


async def plan(view: InboxFilter) -> list[str]:
    text, args = inbox_sql(TRIAGE_ID, view, now=NOW, due_soon_days=3, small=False)
    if db.is_sqlite():
        return [row["detail"] for row in await db.fetch("EXPLAIN QUERY PLAN " + text, *args)]
    return [row["QUERY PLAN"] for row in await db.fetch("EXPLAIN " + text, *args)]


def _was_seeded(marker: Path | None) -> bool:
    return marker is not None and marker.exists()


def _note_seeded(marker: Path | None) -> None:
    if marker is not None:
        marker.touch()


def _wanted(name: str, views: list[str]) -> bool:
    return not views or any(text.casefold() in name.casefold() for text in views)


async def measure(
    settings: Settings,
    label: str,
    seed,
    runs: int,
    *,
    seeded: Path | None = None,
    views: list[str] | None = None,
) -> dict[str, tuple]:
    """Migrate, seed (engine closed: the load has the file to itself) unless the marker file
    ``seeded`` says a kept database already holds the cases, then time each view (those whose
    name contains one of ``views``, when given)."""
    views = views or []
    engine = await db.open_database(settings)
    try:
        await migrate()
    finally:
        await db.close_database(engine)
    if _was_seeded(seeded):
        print(f"\n{label}: kept database reused (load average {os.getloadavg()[0]:.1f})")
        # A migration may just have rewritten rows over the kept data: the statistics and (on
        # PostgreSQL) the visibility map as the seeding leaves them (a full ANALYZE: see the
        # note on sampled statistics in README's inbox paragraph).
        engine = await db.open_database(settings)
        try:
            await db.fetch("ANALYZE" if db.is_sqlite() else "VACUUM ANALYZE")
        finally:
            await db.close_database(engine)
    else:
        started, cpu = time.perf_counter(), time.process_time()
        await seed()
        _note_seeded(seeded)
        settle_writes()
        print(
            f"\n{label}: seeded in {time.perf_counter() - started:.1f} s "
            f"(this process's CPU {time.process_time() - cpu:.1f} s; load average "
            f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)"
        )
    results: dict[str, tuple] = {}
    goal = GOAL_MS[label]

    def show(name: str, median: float, p95: float, shown: str) -> None:
        results[name] = (median, p95, shown)
        over = "" if p95 <= goal else f"  over the {goal} ms goal"
        print(f"  {name:<42} median {median:7.2f} ms  p95 {p95:7.2f} ms  ({shown}){over}")
        record(
            "inbox",
            f"{label}: {name}, p95",
            p95,
            f"<= {goal} ms at 1,000,000 cases",
            unit="ms",
        )

    engine = await db.open_database(settings)
    try:
        print("  plan of the default view:")
        for line in await plan(InboxFilter()):
            print(f"    {line}")
        for name, make in VIEWS.items():
            if _wanted(name, views):
                show(name, *await timed(TRIAGE_ID, make(), runs))
        investigator = f"investigator ({ASSIGNED} assigned), default"
        if _wanted(investigator, views):
            show(investigator, *await timed(INVESTIGATOR_ID, InboxFilter(), runs))
        if not _wanted("mark counts", views):
            return results
        # The mark counts are part of every page above: their own share, for the triage officer.
        samples = []
        postmaster = POSTMASTER[0] if POSTMASTER and not db.is_sqlite() else None
        server, process = server_cpu(postmaster), time.process_time()
        for _ in range(runs):
            started = time.perf_counter()
            counts = await mark_counts(TRIAGE_ID)
            samples.append((time.perf_counter() - started) * 1000)
        cpu = time.process_time() - process + server_cpu(postmaster) - server
        shown = f"{counts.unread}/{counts.waiting}/{counts.new}"
        show(
            "  of which the mark counts (triage)",
            *_p50_p95(samples),
            f"unread/waiting/new {shown}, CPU {cpu * 1000 / runs:.1f} ms a call",
        )
    finally:
        await db.close_database(engine)
    return results


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--engine", choices=["both", "sqlite", "postgres"], default="both")
    parser.add_argument("--keep", type=Path, help="keep the seeded databases here and reuse them")
    parser.add_argument("--views", action="append", default=[], help="time only these views")
    args = parser.parse_args()
    began = time.perf_counter()
    print(f"{args.cases} cases, {args.runs} runs per view, page size 50")
    generated: list[list[FakeCase]] = []

    def cases() -> list[FakeCase]:
        # Only when something is seeded: a kept database needs none.
        if not generated:
            started = time.perf_counter()
            generated.append(fake_cases(args.cases))
            print(f"cases generated in {time.perf_counter() - started:.1f} s")
        return generated[0]

    with tempfile.TemporaryDirectory(prefix="whistle-bench-") as tmp:
        root = args.keep.resolve() if args.keep else Path(tmp)
        root.mkdir(parents=True, exist_ok=True)

        def marker(engine: str) -> Path | None:
            if args.keep is None:
                return None
            # A kept database of another size is seeded again from scratch.
            for other in root.glob(f"seeded-{engine}-*"):
                if other.name != f"seeded-{engine}-{args.cases}":
                    other.unlink()
                    if engine == "sqlite":
                        sqlite_path.unlink(missing_ok=True)
                    else:
                        shutil.rmtree(root / "postgres", ignore_errors=True)
            return root / f"seeded-{engine}-{args.cases}"

        if not (root / "keys").exists():
            init_keys(root / "keys", "benchmark office passphrase", Argon2Params(256, 1, 1))
        configure_holder_tag_key(Keyring.load(root / "keys").holder_tag_key)
        base = Settings(keys_dir=root / "keys")
        sqlite_path = root / "bench.db"

        async def seed_sqlite_file() -> None:
            seed_sqlite(sqlite_path, cases(), bulk=True)

        if args.engine != "postgres":
            seeded = marker("sqlite")
            await measure(
                base.with_changes(database_url=f"sqlite:///{sqlite_path}"),
                "SQLite",
                seed_sqlite_file,
                args.runs,
                seeded=seeded,
                views=args.views,
            )
            if args.keep is None:
                sqlite_path.unlink()
        if args.engine != "sqlite":
            seeded = marker("postgres")
            kept = _was_seeded(seeded)
            cluster = PostgresCluster.start(directory=root / "postgres" if args.keep else None)
            pid_file = cluster.directory / "data" / "postmaster.pid"
            POSTMASTER.append(int(pid_file.read_text().split()[0]))
            try:
                if not kept:
                    admin = await asyncpg.connect(cluster.url("postgres"))
                    await admin.execute("DROP DATABASE IF EXISTS bench")
                    await admin.execute("CREATE DATABASE bench")
                    await admin.close()
                url = cluster.url("bench")
                await measure(
                    base.with_changes(database_url=url),
                    "PostgreSQL",
                    lambda: seed_postgres(url, cases(), bulk=True),
                    args.runs,
                    seeded=seeded,
                    views=args.views,
                )
            finally:
                if args.keep:
                    cluster.pause()
                else:
                    cluster.stop()
    print(f"\nwhole benchmark: {time.perf_counter() - began:.0f} s")


if __name__ == "__main__":
    asyncio.run(main())

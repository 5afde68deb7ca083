"""Server CPU per request under a mixed load, SQLite beside PostgreSQL.

A real `whistle serve` process per engine; another process drives the same work at both:
``--rounds`` rounds per client, reporters submitting a report and opening it with its tracking
code, officers reading the inbox and a case page, all clients at once. The server's CPU time
(user + system, from /proc) divided by the requests it answered is the figure, and beside it
the same with PostgreSQL's own processes counted (SQLite works inside the server). The same
work, not the same duration: officer pages cost several times a reporter's request, and an
engine whose officers wait longer would serve a cheaper mix in a fixed time. Both servers run at
once and the rounds are split into ``--segments`` segments in which the engines take turns (the
order turning each time), so that a swing of a shared machine's load hits both; the headline is
the median of the segments' ratios, every segment printed. Many short segments (one round each
by default) rather than a few long ones: a swing then spoils a segment or two, which the median
leaves out, instead of a third of the figure; a round on each server before them, not counted,
warms what a server does once (templates compiled, statements prepared). Cheap Argon2id by
default, so it measures everything but the derivation (``--memory-kib``/``--iterations`` for the
production cost). PostgreSQL syncs its commits to disk, as SQLite does.

    .venv/bin/python -m bench.mixed [--rounds 8] [--segments 8] [--reporters 20]
                                    [--officers 5] [--engine both]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import random
import statistics
import tempfile
import time
from collections import Counter
from contextlib import ExitStack
from dataclasses import dataclass, field
from multiprocessing import Process, Queue
from pathlib import Path

import httpx

from bench.results import record
from bench.server import cpu_split, server_pid, tree_cpu_seconds
from tests.support.forms import VALID_REPORT
from tests.support.officers import make_officer, session_for
from tests.support.postgres import PostgresCluster
from tests.support.release import publish
from tests.support.server import running_server
from whistle.audit.service import configure_chain_key
from whistle.context import Context
from whistle.crypto import Argon2Params, init_keys
from whistle.db import engine as db
from whistle.db.migrations import migrate
from whistle.db.tables import Report
from whistle.officers.auth import OFFICER_COOKIE
from whistle.officers.roster import configure_roster_key
from whistle.reports.envelope import configure_holder_tag_key
from whistle.settings import Settings

SEED_REPORTS = 30


async def _drive(url: str, rounds: int, reporters: int, officers: list[str], cases: list[str]):
    """Run the load; return {kind: [latencies]} and status counts."""
    latencies: dict[str, list[float]] = {}
    statuses: Counter[int] = Counter()
    limits = httpx.Limits(max_connections=reporters + len(officers))

    async def timed(kind: str, call) -> httpx.Response:
        started = time.perf_counter()
        answer = await call
        latencies.setdefault(kind, []).append(time.perf_counter() - started)
        statuses[answer.status_code] += 1
        return answer

    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=120) as client:

        async def reporter() -> None:
            for _ in range(rounds):
                filed = await timed("submit", client.post("/api/v1/reports", json=VALID_REPORT))
                if filed.status_code != 201:
                    continue
                code = filed.json()["tracking_code"]
                opened = await timed(
                    "track", client.post("/api/v1/session", json={"tracking_code": code})
                )
                if opened.status_code == 200:
                    token = opened.json()["token"]
                    await timed(
                        "track",
                        client.get("/api/v1/report", headers={"Authorization": f"Bearer {token}"}),
                    )

        async def officer(cookie: str) -> None:
            async with httpx.AsyncClient(base_url=url, timeout=120) as own:
                own.cookies.set(OFFICER_COOKIE, cookie)
                for _ in range(rounds):
                    await timed("inbox", own.get("/officer/"))
                    await timed("case", own.get(f"/officer/cases/{random.choice(cases)}"))

        await asyncio.gather(*(reporter() for _ in range(reporters)), *map(officer, officers))
    return latencies, dict(statuses)


def _drive_process(url, rounds, reporters, officers, cases, results: Queue) -> None:
    logging.getLogger("httpx").setLevel(logging.WARNING)
    results.put(asyncio.run(_drive(url, rounds, reporters, officers, cases)))


@dataclass
class Served:
    """A running server with its officers' sessions and cases, and the CPU it spent so far."""

    label: str
    url: str
    pid: int
    database_pid: int | None  # the PostgreSQL postmaster (SQLite works inside the server)
    cookies: list[str]
    cases: list[str]
    segments: list[dict] = field(default_factory=list)


async def prepare(
    label: str,
    settings: Settings,
    args: argparse.Namespace,
    log: Path,
    stack: ExitStack,
    database_pid: int | None = None,
) -> Served:
    """Migrate, make the officers, start the server (until ``stack`` closes) and seed cases."""
    engine = await db.open_database(settings)
    try:
        await migrate()
        ctx = Context.create(settings)
        configure_chain_key(ctx.keyring.audit_chain_key)
        configure_holder_tag_key(ctx.keyring.holder_tag_key)
        configure_roster_key(ctx.keyring.roster_mac_key)
        names = [f"triage{number}" for number in range(args.officers)]
        for name in names:
            await make_officer(ctx, name, ["triage"])
    finally:
        await db.close_database(engine)
    url = stack.enter_context(running_server(settings, log))
    async with httpx.AsyncClient(base_url=url, timeout=120) as client:
        for _ in range(SEED_REPORTS):  # officers' reports are sealed to the officers above
            await client.post("/api/v1/reports", json=VALID_REPORT)
    engine = await db.open_database(settings)
    try:
        # Reports wait for the hourly release before they become cases: release them now.
        await publish(ctx)
        cases = [row["case_number"] for row in await Report.select(Report.case_number)]
        cookies = [await session_for(ctx, name) for name in names]
    finally:
        await db.close_database(engine)
    pid = server_pid(int(url.rsplit(":", 1)[1]))
    return Served(label, url, pid, database_pid, cookies, cases)


async def drive_segment(served: Served, rounds: int, reporters: int) -> None:
    """Run ``rounds`` rounds of the load against ``served`` and note what it cost."""
    results: Queue = Queue()
    driver = Process(
        target=_drive_process,
        args=(served.url, rounds, reporters, served.cookies, served.cases, results),
    )
    user_before, system_before = cpu_split(served.pid)
    database_pid = served.database_pid
    database_before = tree_cpu_seconds(database_pid) if database_pid else 0.0
    started = time.monotonic()
    driver.start()
    latencies, statuses = await asyncio.to_thread(results.get)
    user, system = (
        after - before
        for after, before in zip(cpu_split(served.pid), (user_before, system_before), strict=True)
    )
    database = tree_cpu_seconds(database_pid) - database_before if database_pid else 0.0
    elapsed = time.monotonic() - started
    driver.join()
    served.segments.append(
        {
            "latencies": latencies,
            "statuses": statuses,
            "user": user,
            "system": system,
            "database": database,
            "elapsed": elapsed,
        }
    )


def cpu_ms_per_request(segment: dict) -> float:
    return (segment["user"] + segment["system"]) * 1000 / sum(segment["statuses"].values())


def summary(served: Served) -> dict:
    """The segments of one server taken together."""
    segments = served.segments
    latencies: dict[str, list[float]] = {}
    statuses: Counter[int] = Counter()
    for segment in segments:
        for kind, values in segment["latencies"].items():
            latencies.setdefault(kind, []).extend(values)
        statuses.update(segment["statuses"])
    requests = sum(statuses.values())
    user, system, database, elapsed = (
        sum(segment[name] for segment in segments)
        for name in ("user", "system", "database", "elapsed")
    )
    return {
        "requests": requests,
        "statuses": dict(statuses),
        "kinds": {kind: len(values) for kind, values in latencies.items()},
        "cpu_ms_per_request": (user + system) * 1000 / requests,
        "system_share": system / (user + system),
        "with_database_ms_per_request": (user + system + database) * 1000 / requests,
        "rate": requests / elapsed,
        "p95": {
            kind: statistics.quantiles(values, n=20)[-1] if len(values) > 1 else values[0]
            for kind, values in latencies.items()
        },
    }


def line(label: str, result: dict) -> str:
    p95 = ", ".join(f"{kind} {seconds * 1000:.0f}" for kind, seconds in result["p95"].items())
    kinds = ", ".join(f"{kind} {count}" for kind, count in sorted(result["kinds"].items()))
    return (
        f"{label:<11} {result['cpu_ms_per_request']:6.2f} ms CPU/request "
        f"({result['system_share']:.0%} system), "
        f"{result['with_database_ms_per_request']:6.2f} with the database's processes | "
        f"{result['rate']:6.1f} requests/s ({kinds}) | p95 ms: {p95} | "
        f"statuses {result['statuses']}"
    )


def segment_line(index: int, servers: list[Served]) -> str:
    """One segment's CPU per request on each engine (in the order they ran) and the ratio."""
    order = servers if index % 2 == 0 else servers[::-1]
    figures = ", ".join(
        f"{served.label} {cpu_ms_per_request(served.segments[index]):.2f}" for served in order
    )
    line = f"  segment {index + 1}: ms CPU/request {figures}"
    if len(servers) == 2:
        sqlite, postgres = servers
        ratio = cpu_ms_per_request(sqlite.segments[index]) / cpu_ms_per_request(
            postgres.segments[index]
        )
        line += f", SQLite / PostgreSQL {ratio:.2f} x"
    return line


def segment_rounds(rounds: int, segments: int) -> list[int]:
    """``rounds`` shared out over ``segments`` (at least one round each)."""
    count = max(1, min(segments, rounds))
    return [rounds // count + (1 if index < rounds % count else 0) for index in range(count)]


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=8, help="rounds per client")
    parser.add_argument(
        "--segments",
        type=int,
        default=8,
        help="the rounds are run in this many segments, the engines taking turns",
    )
    parser.add_argument("--reporters", type=int, default=20)
    parser.add_argument("--officers", type=int, default=5)
    parser.add_argument("--memory-kib", type=int, default=256)
    parser.add_argument("--iterations", type=int, default=1)
    parser.add_argument("--engine", choices=["both", "sqlite", "postgres"], default="both")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="whistle-bench-") as tmp, ExitStack() as stack:
        root = Path(tmp)
        init_keys(root / "keys", "benchmark office passphrase", Argon2Params(256, 1, 1))
        base = Settings(
            keys_dir=root / "keys",
            argon2_memory_kib=args.memory_kib,
            argon2_iterations=args.iterations,
        )
        plan = segment_rounds(args.rounds, args.segments)
        print(
            f"Mixed load, {args.rounds} rounds a client in {len(plan)} segments (the engines "
            f"taking turns): {args.reporters} reporters submitting and tracking, "
            f"{args.officers} officers reading inbox and case pages; "
            f"Argon2id m={args.memory_kib} KiB t={args.iterations}"
        )
        servers: list[Served] = []
        if args.engine in ("both", "sqlite"):
            sqlite_settings = base.with_changes(database_url=f"sqlite:///{root / 'bench.db'}")
            servers.append(
                await prepare("SQLite", sqlite_settings, args, root / "sqlite.log", stack)
            )
        if args.engine in ("both", "postgres"):
            # Commits synced to disk as SQLite's are (and as a production server's are).
            cluster = PostgresCluster.start(durable=True)
            stack.callback(cluster.stop)
            import asyncpg

            admin = await asyncpg.connect(cluster.url("postgres"))
            await admin.execute("CREATE DATABASE bench")
            await admin.close()
            postmaster = int((cluster.directory / "data" / "postmaster.pid").read_text().split()[0])
            postgres_settings = base.with_changes(database_url=cluster.url("bench"))
            servers.append(
                await prepare(
                    "PostgreSQL", postgres_settings, args, root / "pg.log", stack, postmaster
                )
            )
        # One round each first, not counted: the first officer pages compile their templates,
        # and PostgreSQL's connections prepare their statements, once per server.
        for served in servers:
            await drive_segment(served, 1, args.reporters)
            served.segments.clear()
        # Each segment runs every engine once, the order turning from one segment to the next,
        # so that a swing of the shared machine's load falls on both engines alike.
        for index, rounds in enumerate(plan):
            for served in servers if index % 2 == 0 else servers[::-1]:
                await drive_segment(served, rounds, args.reporters)
            print(segment_line(index, servers), flush=True)
        results = {served.label: summary(served) for served in servers}
        for label, result in results.items():
            print(line(label, result))
        if len(servers) == 2:
            sqlite, postgres = servers
            ratios = sorted(
                cpu_ms_per_request(mine) / cpu_ms_per_request(theirs)
                for mine, theirs in zip(sqlite.segments, postgres.segments, strict=True)
            )
            ratio = statistics.median(ratios)
            overall = (
                results["SQLite"]["cpu_ms_per_request"]
                / results["PostgreSQL"]["cpu_ms_per_request"]
            )
            print(
                f"CPU per request SQLite / PostgreSQL: {ratio:.2f} x, the median of "
                f"{len(ratios)} segments ({', '.join(f'{value:.2f}' for value in ratios)}); "
                f"all segments together {overall:.2f} x (goal at most 1.0 x)"
            )
            record("mixed", "server CPU per request, SQLite / PostgreSQL", ratio, "<= 1.0 x")
            ratio = (
                results["SQLite"]["with_database_ms_per_request"]
                / results["PostgreSQL"]["with_database_ms_per_request"]
            )
            print(f"  counting PostgreSQL's own processes too: {ratio:.2f} x")


if __name__ == "__main__":
    asyncio.run(main())

"""Public pages beside a bare handler serving the same bytes (issue: cheap public pages).

A real `whistle serve` (SQLite, seeded cases for /transparency) and a bare Litestar app
(bench.bare_pages) answering every path with exactly the bytes and headers the real server
gave, both under the same uvicorn options. A light HTTP/1.1 client in this process keeps
``--clients`` keep-alive connections open to each server for one path at a time and drives
both servers at once, in many short rounds: the two measurements of a round see the same
machine load, second for second.

The headline is the server CPU time per request, bare / whistle (1.0: as cheap as the bare
handler): the median of the rounds' ratios. Each server is one process kept busy by the
clients, so its requests per second are its share of a core divided by its CPU time per
request; other processes on a shared machine move the share from one second to the next (one
page's requests/s ratio read 0.88x, 1.07x and 1.64x in three runs of the same code under the
earlier benchmark), and the CPU time a request costs far less. The CPU time is read in
nanoseconds (/proc/PID/task/*/schedstat, every thread of the server; /proc/PID/stat counts
10 ms ticks). Of the ways to summarise the rounds tried, the median of the rounds' ratios
moved least or about least between runs of the same code (when the servers still took turns,
a minimum or a lower quartile of each server's rounds, taken apart, moved up to twice as
much; driven at once, the rounds' ratios moved less than with turns: at most 0.09 against 0.2
over three runs). Requests per second are printed beside it for the
record, but with both servers served at once their ratio also says how this one client
shared its time between the two sets of connections. Each ratio comes with its rounds' first
and third quartiles. Goal 0.8x for pages that are the same for every visitor, 0.5x for the
report form.

    .venv/bin/python -m bench.public_pages [--seconds 0.5] [--rounds 24] [--clients 16]

WHISTLE_BENCH_PAGES_RAW=FILE appends every round's figures to FILE (JSON, a line a run).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from bench.inbox import fake_cases, seed_sqlite
from bench.results import record
from bench.server import settle_writes
from tests.support.server import free_port, server_env, serving_process
from whistle.crypto import Argon2Params, Keyring, init_keys
from whistle.db import engine as db
from whistle.db.migrations import migrate
from whistle.reports.envelope import configure_holder_tag_key
from whistle.settings import Settings

# (path, goal): pages alike for every visitor, then the form that carries a CSRF token.
PAGES = (
    ("/", 0.8),
    ("/informasi", 0.8),
    ("/informasi/biaya-resmi", 0.8),
    ("/track", 0.8),
    ("/transparency", 0.8),
    ("/no-such-page", 0.8),  # 404 page
    ("/track/logout", 0.8),  # 405 page (the route takes POST only)
    ("/api/v1/no-such-thing", 0.8),  # 404 problem document
    ("/report", 0.5),
)
# Headers that differ per response or belong to the transport, not the page.
_TRANSPORT_HEADERS = {"content-length", "date", "set-cookie", "connection", "transfer-encoding"}


async def _prepare(directory: Path, cases: int) -> Settings:
    keys = directory / "keys"
    cheap = Argon2Params(256, 1, 1)
    init_keys(keys, "bench passphrase", cheap)
    settings = Settings(
        database_url=f"sqlite:///{directory / 'bench.db'}",
        keys_dir=keys,
        development=True,
        argon2_memory_kib=cheap.memory_kib,
        argon2_iterations=cheap.iterations,
        argon2_lanes=cheap.lanes,
    )
    engine = await db.open_database(settings)
    try:
        await migrate()
    finally:
        await db.close_database(engine)
    # The seeded key wraps carry holder tags, made under the installation's key.
    configure_holder_tag_key(Keyring.load(keys).holder_tag_key)
    seed_sqlite(settings.sqlite_path, fake_cases(cases))
    settle_writes()
    return settings


def _snapshot(url: str) -> dict[str, dict]:
    """Each page's status, bytes and headers as the real server answers them."""
    pages = {}
    with httpx.Client(base_url=url) as client:
        for path, _goal in PAGES:
            answer = client.get(path)
            pages[path] = {
                "status": answer.status_code,
                "body": answer.text,
                "media_type": answer.headers.get("content-type", "text/html"),
                "headers": {
                    name: value
                    for name, value in answer.headers.items()
                    if name.lower() not in _TRANSPORT_HEADERS | {"content-type"}
                },
            }
    return pages


def _compare(whistle: dict[str, dict], bare: dict[str, dict]) -> dict[str, tuple[tuple, tuple]]:
    """Each page's status, body, content type and headers as each server answered it."""

    def essentials(page: dict) -> tuple:
        return (page["status"], page["body"], page["media_type"], sorted(page["headers"].items()))

    return {path: (essentials(whistle[path]), essentials(bare[path])) for path in whistle}


class _Clients:
    """``count`` keep-alive HTTP/1.1 connections to one server asking for one path, kept open
    from round to round (a round then measures requests, not connection set-up)."""

    def __init__(self, port: int, path: str, count: int) -> None:
        self.request = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode()
        self.port = port
        self.count = count
        self.connections: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []

    async def open(self) -> None:
        for _ in range(self.count):
            self.connections.append(await asyncio.open_connection("127.0.0.1", self.port))

    def close(self) -> None:
        for _, writer in self.connections:
            writer.close()

    async def round(self, seconds: float) -> tuple[int, float]:
        """Requests answered in about ``seconds``, and the seconds they took."""
        started = time.perf_counter()
        deadline = started + seconds
        counts = await asyncio.gather(
            *(self._drive(reader, writer, deadline) for reader, writer in self.connections)
        )
        return sum(counts), time.perf_counter() - started

    async def _drive(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, deadline: float
    ) -> int:
        done = 0
        while time.perf_counter() < deadline:
            writer.write(self.request)
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            await reader.readexactly(length)
            done += 1
        return done


def _cpu_seconds(pid: int) -> float:
    """The CPU time a server process's threads have used, in nanoseconds (Linux schedstat:
    /proc/PID/stat counts clock ticks, 10 ms, too coarse for a short round)."""
    used = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            used += int((task / "schedstat").read_text().split()[0])
        except (FileNotFoundError, ProcessLookupError):  # a thread that has just ended
            continue
    return used / 1e9


def _quartiles(values: list[float]) -> tuple[float, float, float]:
    first, median, third = statistics.quantiles(values, n=4, method="inclusive")
    return first, median, third


async def _measure_page(
    path: str, seconds: float, rounds: int, clients: int, servers: list[tuple[str, int, Any]]
) -> list[dict[str, tuple[float, float]]]:
    """Each round: each server's requests per second and CPU microseconds per request, both
    servers driven at the same time."""
    pools = {name: _Clients(port, path, clients) for name, port, _ in servers}
    for pool in pools.values():
        await pool.open()
    measured = []
    try:
        for _round in range(rounds):
            before = {name: _cpu_seconds(process.pid) for name, _port, process in servers}
            results = await asyncio.gather(*(pools[name].round(seconds) for name, _, _ in servers))
            figures = {}
            for (name, _port, process), (answered, elapsed) in zip(servers, results, strict=True):
                used = _cpu_seconds(process.pid) - before[name]
                figures[name] = (answered / elapsed, used / answered * 1e6)
            measured.append(figures)
    finally:
        for pool in pools.values():
            pool.close()
    return measured


def main(cases: int, seconds: float, rounds: int, clients: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        settings = asyncio.run(_prepare(directory, cases))
        port = free_port()
        command = [sys.executable, "-m", "whistle.cli", "serve", "--port", str(port)]
        env = server_env(settings)
        with serving_process(command, port, directory / "server.log", env=env) as (url, server):
            pages = _snapshot(url)
            pages_file = directory / "pages.json"
            pages_file.write_text(json.dumps(pages))
            bare_port = free_port()
            bare_command = [
                sys.executable,
                "-m",
                "bench.bare_pages",
                str(bare_port),
                str(pages_file),
            ]
            with serving_process(
                bare_command, bare_port, directory / "bare.log", env=env, cwd=Path.cwd()
            ) as (bare_url, bare_server):
                # The baseline is only fair if it answers exactly what whistle answered.
                for path, (expected, served) in _compare(pages, _snapshot(bare_url)).items():
                    if expected != served:
                        raise SystemExit(f"the bare handler answers {path} differently: {served!r}")
                servers = [("app", port, server), ("bare", bare_port, bare_server)]
                rounds_of = {
                    path: asyncio.run(_measure_page(path, seconds, rounds, clients, servers))
                    for path, _goal in PAGES
                }
    if os.environ.get("WHISTLE_BENCH_PAGES_RAW"):  # every round's figures, for a closer look
        with Path(os.environ["WHISTLE_BENCH_PAGES_RAW"]).open("a") as raw:
            raw.write(json.dumps(rounds_of) + "\n")
    print(
        f"Public pages, {clients} keep-alive clients, {rounds} rounds of {seconds:g} s "
        f"with both servers at once, SQLite with {cases:,} cases. Server CPU microseconds per "
        "request and requests/s, medians; ratios: median of the rounds' ratios [quartiles]"
    )
    print(
        f"{'page':<24}{'cpu us':>8}{'bare':>6}{'cpu ratio':>10}{'spread':>13}{'goal':>6}"
        f"{'req/s':>8}{'bare':>6}{'ratio':>7}{'spread':>13}"
    )
    for path, goal in PAGES:
        measured = rounds_of[path]
        app_cpu = statistics.median(figures["app"][1] for figures in measured)
        bare_cpu = statistics.median(figures["bare"][1] for figures in measured)
        # bare / whistle: 1.0 is as cheap as the bare handler, as for requests/s.
        cpu_low, cpu_ratio, cpu_high = _quartiles(
            [figures["bare"][1] / figures["app"][1] for figures in measured]
        )
        app_rate = statistics.median(figures["app"][0] for figures in measured)
        bare_rate = statistics.median(figures["bare"][0] for figures in measured)
        rate_low, rate_ratio, rate_high = _quartiles(
            [figures["app"][0] / figures["bare"][0] for figures in measured]
        )
        print(
            f"{path:<24}{app_cpu:>8.0f}{bare_cpu:>6.0f}{cpu_ratio:>9.2f}x"
            f"{f'[{cpu_low:.2f}-{cpu_high:.2f}]':>13}{goal:>5.1f}x"
            f"{app_rate:>8.0f}{bare_rate:>6.0f}{rate_ratio:>6.2f}x"
            f"{f'[{rate_low:.2f}-{rate_high:.2f}]':>13}"
        )
        record(
            "public_pages", f"{path} vs bare handler, CPU per request", cpu_ratio, f">= {goal} x"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--seconds", type=float, default=0.5)
    parser.add_argument("--rounds", type=int, default=24)
    parser.add_argument("--clients", type=int, default=16)
    arguments = parser.parse_args()
    main(arguments.cases, arguments.seconds, arguments.rounds, arguments.clients)

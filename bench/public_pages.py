"""Public pages beside a bare handler serving the same bytes (issue: cheap public pages).

A real `whistle serve` (SQLite, seeded cases for /transparency) and a bare Litestar app
(bench.bare_pages) answering every path with exactly the bytes and headers the real server
gave, both under the same uvicorn options. A light keep-alive HTTP/1.1 client in this process
drives ``--clients`` connections at one path at a time; rounds alternate between the servers so
both see the same machine load. The figures are requests per second (medians of the rounds), and
the ratio is the median of each round's whistle/bare ratio (goal 0.8x for pages that are the
same for every visitor, 0.5x for the report form).

    .venv/bin/python -m bench.public_pages [--seconds 1] [--rounds 7] [--clients 16]
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

import httpx

from bench.inbox import fake_cases, seed_sqlite
from bench.results import record
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


async def _connection(port: int, request: bytes, deadline: float) -> int:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    done = 0
    try:
        while time.perf_counter() < deadline:
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            await reader.readexactly(length)
            done += 1
    finally:
        writer.close()
    return done


async def _rate(port: int, path: str, seconds: float, clients: int) -> tuple[int, float]:
    """Requests answered, and the seconds they took."""
    request = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode()
    started = time.perf_counter()
    counts = await asyncio.gather(
        *(_connection(port, request, started + seconds) for _ in range(clients))
    )
    return sum(counts), time.perf_counter() - started


def _cpu_seconds(pid: int) -> float:
    """The CPU time a server process has used (user and system, Linux /proc): unlike requests
    per second it barely moves with the load other processes put on the machine."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


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
                rates: dict[tuple[str, str], list[float]] = {}
                cpu: dict[tuple[str, str], list[float]] = {}
                for _ in range(rounds):
                    for path, _goal in PAGES:
                        for name, target, process in (
                            ("app", port, server),
                            ("bare", bare_port, bare_server),
                        ):
                            used = _cpu_seconds(process.pid)
                            answered, elapsed = asyncio.run(_rate(target, path, seconds, clients))
                            used = _cpu_seconds(process.pid) - used
                            rates.setdefault((name, path), []).append(answered / elapsed)
                            cpu.setdefault((name, path), []).append(used / answered * 1e6)
    print(
        f"Public pages, {clients} keep-alive clients, median of {rounds} x {seconds:g} s, "
        f"SQLite with {cases:,} cases (requests/s; server CPU microseconds per request)"
    )
    print(
        f"{'page':<24}{'whistle':>10}{'bare':>10}{'ratio':>8}{'goal':>7}"
        f"{'cpu us':>9}{'bare':>7}{'ratio':>8}"
    )
    for path, goal in PAGES:
        app = statistics.median(rates[("app", path)])
        bare = statistics.median(rates[("bare", path)])
        # The ratio of each round's neighbouring measurements, then their median: a shared
        # machine's load changes between rounds far more than within one.
        ratio = statistics.median(
            a / b for a, b in zip(rates[("app", path)], rates[("bare", path)], strict=True)
        )
        # The same comparison in CPU time per request (bare / whistle: 1.0 is as cheap).
        app_cpu = statistics.median(cpu[("app", path)])
        bare_cpu = statistics.median(cpu[("bare", path)])
        cpu_ratio = statistics.median(
            b / a for a, b in zip(cpu[("app", path)], cpu[("bare", path)], strict=True)
        )
        print(
            f"{path:<24}{app:>10.0f}{bare:>10.0f}{ratio:>7.2f}x{goal:>6.1f}x"
            f"{app_cpu:>9.0f}{bare_cpu:>7.0f}{cpu_ratio:>7.2f}x"
        )
        record("public_pages", f"{path} vs bare handler", ratio, f">= {goal} x")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--seconds", type=float, default=1.0)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--clients", type=int, default=16)
    arguments = parser.parse_args()
    main(arguments.cases, arguments.seconds, arguments.rounds, arguments.clients)

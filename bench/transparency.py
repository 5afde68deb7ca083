"""Transparency page benchmark: /transparency requests per second beside the home page's, in
the same run, on a SQLite database of seeded cases (goal: within 0.8x of the home page).

The app runs in this process behind httpx's ASGI transport, so both figures carry the same
client overhead; the public statistics are cached, so the page should cost about what any
template page costs. The first request (which computes the figures) is timed on its own.

    .venv/bin/python -m bench.transparency [--cases 100000] [--seconds 3] [--concurrency 8]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

import httpx

from bench.inbox import fake_cases, seed_sqlite
from bench.results import record
from bench.server import settle_writes
from whistle.app import create_app
from whistle.crypto import Argon2Params, Keyring, init_keys
from whistle.db import engine as db
from whistle.db.migrations import migrate
from whistle.reports.envelope import configure_holder_tag_key
from whistle.settings import Settings

PATHS = ("/", "/transparency")
ROUNDS = 3


async def _prepare(directory: Path, cases: int) -> Settings:
    keys = directory / "keys"
    init_keys(keys, "bench passphrase", Argon2Params(256, 1, 1))
    # The costs the keys were made with (the server refuses others for tracking codes).
    settings = Settings(
        database_url=f"sqlite:///{directory / 'bench.db'}",
        keys_dir=keys,
        argon2_memory_kib=256,
        argon2_iterations=1,
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


async def _rate(client: httpx.AsyncClient, path: str, seconds: float, concurrency: int) -> float:
    done = 0
    deadline = time.perf_counter() + seconds

    async def worker() -> None:
        nonlocal done
        while time.perf_counter() < deadline:
            response = await client.get(path)
            assert response.status_code == 200, (path, response.status_code)
            done += 1

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return done / (time.perf_counter() - started)


async def main(cases: int, seconds: float, concurrency: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        settings = await _prepare(Path(tmp), cases)
        app = create_app(settings)
        async with app.lifespan():
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(
                transport=transport, base_url="https://bench.local"
            ) as client:
                started = time.perf_counter()
                await client.get("/transparency")
                first = time.perf_counter() - started
                rates: dict[str, list[float]] = {path: [] for path in PATHS}
                for _ in range(ROUNDS):  # interleaved, so both see the same machine load
                    for path in PATHS:
                        rates[path].append(await _rate(client, path, seconds, concurrency))
    home = statistics.median(rates["/"])
    page = statistics.median(rates["/transparency"])
    print(
        f"SQLite, {cases:,} cases, {concurrency} clients, median of {ROUNDS} x {seconds:g} s "
        "(in-process ASGI)"
    )
    print(f"first /transparency (computes the figures): {first * 1000:.0f} ms")
    print(f"home page       {home:8.1f} requests/s")
    print(f"/transparency   {page:8.1f} requests/s ({page / home:.2f} x home; goal >= 0.8)")
    record("transparency", "/transparency vs home page, in-process", page / home, ">= 0.8 x")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--concurrency", type=int, default=8)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.cases, arguments.seconds, arguments.concurrency))

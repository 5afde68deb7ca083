"""Login benchmark: the failure kinds side by side, and logins and look-ups under a flood.

1. The median time of each kind of failed officer login (unknown user, wrong password, right
   password with a wrong or a missing TOTP code, disabled account, locked name) beside a
   successful one, at the production Argon2id cost: the failures should be indistinguishable.
2. Against a real `whistle serve` process, while 100 clients (another process) resubmit reports
   as fast as they are answered for ``--duration`` seconds, an officer logs in again and again
   and a reporter opens their report with the tracking code again and again: their success
   rates and latencies, and what happened to the submissions.

Both on SQLite and on a throw-away PostgreSQL cluster, with the default derivation budgets.

    .venv/bin/python -m bench.login [--duration 40] [--rounds 15] [--clients 100]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import tempfile
import time
from collections import Counter
from multiprocessing import Process, Queue
from pathlib import Path

import httpx

from bench.results import record
from tests.support.forms import VALID_REPORT, csrf_token
from tests.support.postgres import PostgresCluster
from tests.support.server import running_server
from whistle.app import create_app
from whistle.context import Context
from whistle.crypto import Argon2Params, add_receipt_params, init_keys
from whistle.db import engine as db
from whistle.db.migrations import migrate
from whistle.db.tables import Officer
from whistle.officers import login, throttle, totp
from whistle.officers.service import add_officer
from whistle.settings import Settings

PASSWORD = "benchmark passphrase 42 long enough"
WRONG = "not the benchmark passphrase at all"


def ms(seconds: float) -> str:
    return f"{seconds * 1000:7.0f} ms"


async def failure_kinds(app, rounds: int) -> dict[str, float]:
    """Median seconds per login outcome, measured round-robin so drift hits every kind alike."""
    ctx = app.state.ctx
    for name in ("plain", "twofactor", "disabled", "locked"):
        await add_officer(ctx, username=name, password=PASSWORD, roles=["triage"])
    row = await Officer.objects().where(Officer.username == "twofactor").first()
    secret = totp.new_secret()
    await Officer.update(
        {Officer.totp_secret_sealed: totp.seal_secret(row.public_key, row.id, secret)}
    ).where(Officer.id == row.id)
    await Officer.update({Officer.active: False}).where(Officer.username == "disabled")
    wrong_code = "000000" if totp.code_for(secret, totp.current_step()) != "000000" else "111111"
    kinds = {
        "success": ("plain", PASSWORD, ""),
        "unknown user": ("nobody", PASSWORD, ""),
        "wrong password": ("plain", WRONG, ""),
        "wrong TOTP code": ("twofactor", PASSWORD, wrong_code),
        "missing TOTP code": ("twofactor", PASSWORD, ""),
        "disabled account": ("disabled", PASSWORD, ""),
        "locked name": ("locked", PASSWORD, ""),
    }
    timings: dict[str, list[float]] = {kind: [] for kind in kinds}
    for round_number in range(rounds + 1):  # the first round warms up and is not counted
        for kind, (name, password, code) in kinds.items():
            if kind == "locked name":
                for _ in range(ctx.settings.login_lockout_threshold - 1):
                    await throttle.reserve_attempt(ctx, name)  # keep it locked
            else:
                await throttle.clear(ctx, name)
            started = time.perf_counter()
            try:
                await login.authenticate(ctx, name, password, code)
            except login.LoginRefused:
                pass
            if round_number:
                timings[kind].append(time.perf_counter() - started)
    return {kind: statistics.median(values) for kind, values in timings.items()}


async def _resubmit_for(url: str, duration: float, clients: int) -> dict[int, int]:
    """``clients`` clients each resubmitting a report as soon as the last one is answered."""
    submissions: Counter[int] = Counter()
    deadline = time.monotonic() + duration
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=120) as client:

        async def resubmit() -> None:
            while time.monotonic() < deadline:
                try:
                    answer = await client.post("/api/v1/reports", json=VALID_REPORT)
                    submissions[answer.status_code] += 1
                except httpx.HTTPError:
                    submissions[0] += 1

        await asyncio.gather(*(resubmit() for _ in range(clients)))
    return dict(submissions)


def _flood_process(url: str, duration: float, clients: int, results: Queue) -> None:
    results.put(asyncio.run(_resubmit_for(url, duration, clients)))


async def flood(settings: Settings, duration: float, clients: int, log: Path) -> dict[str, object]:
    """A real server; the flood from another process; an officer and a reporter from this one."""
    engine = await db.open_database(settings)
    try:
        await add_officer(
            Context.create(settings), username="oncall", password=PASSWORD, roles=["triage"]
        )
    finally:
        await db.close_database(engine)
    logins: list[tuple[bool, float]] = []
    lookups: list[tuple[bool, float]] = []
    with running_server(settings, log) as url:
        async with httpx.AsyncClient(base_url=url, timeout=120) as client:
            filed = await client.post("/api/v1/reports", json=VALID_REPORT)
            code = filed.json()["tracking_code"]
            results: Queue = Queue()
            flooder = Process(target=_flood_process, args=(url, duration, clients, results))
            flooder.start()
            deadline = time.monotonic() + duration
            await asyncio.sleep(2)  # let the flood build up first

            async def officer_logs_in() -> None:
                async with httpx.AsyncClient(base_url=url, timeout=120) as own:
                    while time.monotonic() < deadline:
                        started = time.perf_counter()
                        token = await csrf_token(own, "/officer/login")
                        answer = await own.post(
                            "/officer/login",
                            data={"username": "oncall", "password": PASSWORD, "_csrf_token": token},
                            follow_redirects=False,
                        )
                        logins.append((answer.status_code == 303, time.perf_counter() - started))
                        own.cookies.clear()
                        await asyncio.sleep(1)

            async def reporter_looks_up() -> None:
                while time.monotonic() < deadline:
                    started = time.perf_counter()
                    answer = await client.post("/api/v1/session", json={"tracking_code": code})
                    lookups.append((answer.status_code == 200, time.perf_counter() - started))
                    await asyncio.sleep(1)

            await asyncio.gather(officer_logs_in(), reporter_looks_up())
            submissions = await asyncio.to_thread(results.get)
            flooder.join()
    return {"submissions": submissions, "logins": logins, "lookups": lookups}


def summary(label: str, attempts: list[tuple[bool, float]]) -> str:
    ok = [seconds for success, seconds in attempts if success]
    if not ok:
        return f"{label:<14} 0/{len(attempts)} succeeded"
    rate = f"{len(ok)}/{len(attempts)} succeeded"
    return f"{label:<14} {rate}, latency median {ms(statistics.median(ok))}, max {ms(max(ok))}"


async def run(settings: Settings, label: str, args: argparse.Namespace, root: Path) -> None:
    engine = await db.open_database(settings)
    try:
        await migrate()
    finally:
        await db.close_database(engine)
    app = create_app(settings)
    async with app.lifespan():
        medians = await failure_kinds(app, args.rounds)
    print(f"{label}: login medians over {args.rounds} rounds")
    for kind, seconds in medians.items():
        print(f"  {kind:<18} {ms(seconds)}")
    spread = max(medians.values()) / min(medians.values())
    record("login", f"{label}: slowest / fastest login outcome (median)", spread, "about 1 x")
    result = await flood(settings, args.duration, args.clients, root / f"{label}-server.log")
    submissions = result["submissions"]
    stored, refused = submissions.get(201, 0), submissions.get(503, 0)
    other = sum(submissions.values()) - stored - refused
    print(f"{label}: {args.clients} clients resubmitting reports for {args.duration:.0f} s")
    print(f"  submissions    {stored} stored, {refused} refused (503), {other} other")
    print("  " + summary("officer logins", result["logins"]))
    logins = result["logins"]
    record(
        "login",
        f"{label}: officer logins through a {args.clients}-client flood",
        sum(ok for ok, _ in logins) / max(len(logins), 1),
        "all (1.0)",
        unit="",
    )
    print("  " + summary("code look-ups", result["lookups"]))


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=40.0, help="flood length in seconds")
    parser.add_argument("--rounds", type=int, default=15, help="attempts per failure kind")
    parser.add_argument("--clients", type=int, default=100, help="clients resubmitting reports")
    parser.add_argument("--memory-kib", type=int, default=Settings().argon2_memory_kib)
    parser.add_argument("--iterations", type=int, default=Settings().argon2_iterations)
    parser.add_argument("--engine", choices=["both", "sqlite", "postgres"], default="both")
    args = parser.parse_args()
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request otherwise
    with tempfile.TemporaryDirectory(prefix="whistle-bench-") as tmp:
        root = Path(tmp)
        init_keys(root / "keys", "benchmark office passphrase", Argon2Params(256, 1, 1))
        base = Settings(
            keys_dir=root / "keys",
            argon2_memory_kib=args.memory_kib,
            argon2_iterations=args.iterations,
        )
        # Tracking codes use the costs fixed in keys/: record the ones measured here.
        add_receipt_params(root / "keys", base.argon2)
        print(
            f"Argon2id m={args.memory_kib} KiB t={args.iterations}; derivation budgets: "
            f"submissions {base.kdf_submission_concurrency}, look-ups "
            f"{base.kdf_lookup_concurrency}, officers {base.kdf_officer_concurrency}, "
            f"queue {base.kdf_queue} each"
        )
        if args.engine in ("both", "sqlite"):
            await run(
                base.with_changes(database_url=f"sqlite:///{root / 'bench.db'}"),
                "SQLite",
                args,
                root,
            )
        if args.engine in ("both", "postgres"):
            cluster = PostgresCluster.start()
            try:
                import asyncpg

                admin = await asyncpg.connect(cluster.url("postgres"))
                await admin.execute("CREATE DATABASE bench")
                await admin.close()
                await run(
                    base.with_changes(database_url=cluster.url("bench")), "PostgreSQL", args, root
                )
            finally:
                cluster.stop()


if __name__ == "__main__":
    asyncio.run(main())

"""Intake benchmark: submissions and code look-ups per second at 1, 4, 16 and 64 clients,
each beside the bare Argon2id rate measured in the same run.

Each submission and each look-up costs one Argon2id derivation of the tracking code at the
production cost, so the derivation sets the ceiling: a server allowed ``b`` derivations at once
(its budget for that operation) serving ``c`` clients can at best match the bare rate of
``min(b, c)`` derivations running side by side, measured here in this process with nothing
else, just before and just after each level (their mean is the reference; both are printed, as
a shared machine's load can move within a level). The ratio shows what HTTP, encryption, key
wrapping and the database add on top (goal at least 0.9x). Requests go to a real
`whistle serve` process over loopback; every answer that is not a success is counted by kind,
and the only acceptable failure is 503 with Retry-After (a budget's queue is full). SQLite and
a throw-away PostgreSQL cluster, one after the other.

The server sizes its budgets to the machine as in production (whistle.settings
derivation_budgets) unless ``--concurrency`` sets both.

    .venv/bin/python -m bench.intake [--clients 1 4 16 64] [--per-client 1] [--queue 64]
                                     [--concurrency N] [--engine both]
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from bench.results import record
from bench.server import ENGINES, migrated, on_each_engine
from tests.support.forms import VALID_REPORT
from tests.support.server import running_server
from whistle.crypto import Argon2Params, add_receipt_params, argon2id, init_keys
from whistle.settings import Settings

GOAL = 0.9
MINIMUM_OPERATIONS = 12


def bare_rate(params: Argon2Params, parallel: int, count: int) -> float:
    """Derivations per second with ``parallel`` running side by side and nothing else."""
    salt = secrets.token_bytes(16)
    with ThreadPoolExecutor(parallel) as pool:
        started = time.perf_counter()
        list(pool.map(lambda _: argon2id(secrets.token_bytes(10), salt, params, 64), range(count)))
        return count / (time.perf_counter() - started)


def _bare(settings: Settings, parallel: int) -> float:
    return bare_rate(settings.argon2, parallel, max(MINIMUM_OPERATIONS, 4 * parallel))


def failure_kind(answer: httpx.Response | BaseException, success: int) -> str | None:
    if isinstance(answer, BaseException):
        return f"error {type(answer).__name__}"
    if answer.status_code == success:
        return None
    if answer.status_code == 503 and answer.headers.get("Retry-After"):
        return "503 with Retry-After"
    return f"{answer.status_code}"


async def load(
    client: httpx.AsyncClient,
    clients: int,
    requests: list[tuple[str, dict[str, str]]],
    success: int,
) -> tuple[float, list[httpx.Response | BaseException]]:
    """Send ``requests`` from ``clients`` concurrent clients; the rate of successful answers."""
    pending = iter(requests)
    answers: list[httpx.Response | BaseException] = []

    async def one_client() -> None:
        for path, body in pending:
            try:
                answers.append(await client.post(path, json=body))
            except httpx.HTTPError as error:
                answers.append(error)

    started = time.perf_counter()
    await asyncio.gather(*(one_client() for _ in range(clients)))
    elapsed = time.perf_counter() - started
    succeeded = sum(1 for answer in answers if failure_kind(answer, success) is None)
    return succeeded / elapsed, answers


async def measure(settings: Settings, args: argparse.Namespace, label: str, log: Path) -> None:
    await migrated(settings)
    served = Settings.from_env(
        {
            "WHISTLE_DEVELOPMENT": "true",
            "WHISTLE_ARGON2_MEMORY_KIB": str(settings.argon2_memory_kib),
            **(
                {
                    "WHISTLE_KDF_SUBMISSION_CONCURRENCY": str(args.concurrency),
                    "WHISTLE_KDF_LOOKUP_CONCURRENCY": str(args.concurrency),
                }
                if args.concurrency
                else {}
            ),
        }
    )
    budgets = {
        "submissions": served.kdf_submission_concurrency,
        "look-ups": served.kdf_lookup_concurrency,
    }
    env = {
        "WHISTLE_KDF_QUEUE": str(args.queue),
        "WHISTLE_KDF_SUBMISSION_CONCURRENCY": str(budgets["submissions"]),
        "WHISTLE_KDF_LOOKUP_CONCURRENCY": str(budgets["look-ups"]),
    }
    print(
        f"{label}: server budgets {budgets['submissions']} submissions, "
        f"{budgets['look-ups']} look-ups at once"
    )
    failures: Counter[str] = Counter()
    with running_server(settings, log, **env) as url:
        async with httpx.AsyncClient(base_url=url, timeout=600) as client:
            await client.post("/api/v1/reports", json=VALID_REPORT)  # warm-up
            for clients in args.clients:
                count = max(MINIMUM_OPERATIONS, args.per_client * clients)
                parallels = sorted({min(clients, budget) for budget in budgets.values()})
                # The bare rate before and after the level: a shared machine's load moves
                # within a minute, and one side measured alone would carry that move.
                bare_before = {n: _bare(settings, n) for n in parallels}
                submitted_rate, answers = await load(
                    client, clients, [("/api/v1/reports", VALID_REPORT)] * count, 201
                )
                failures.update(kind for a in answers if (kind := failure_kind(a, 201)))
                codes = [
                    a.json()["tracking_code"]
                    for a in answers
                    if isinstance(a, httpx.Response) and a.status_code == 201
                ]
                looked_up_rate, answers = await load(
                    client, clients, [("/api/v1/session", {"tracking_code": c}) for c in codes], 200
                )
                failures.update(kind for a in answers if (kind := failure_kind(a, 200)))
                bare_after = {n: _bare(settings, n) for n in parallels}
                bare = {n: (bare_before[n] + bare_after[n]) / 2 for n in parallels}
                cells = []
                for name, rate in (("submissions", submitted_rate), ("look-ups", looked_up_rate)):
                    parallel = min(clients, budgets[name])
                    ratio = rate / bare[parallel]
                    record("intake", f"{label}: {name}, {clients} clients", ratio, f">= {GOAL} x")
                    cells.append(
                        f"{name} {rate:6.1f}/s vs bare {bare[parallel]:5.1f}/s ({parallel} at once,"
                        f" {bare_before[parallel]:.1f} before, {bare_after[parallel]:.1f} after)"
                        f" = {ratio:4.2f} x {'ok' if ratio >= GOAL else 'BELOW'}"
                    )
                print(f"  {clients:3d} clients, {count:3d} of each | " + " | ".join(cells))
    acceptable = {kind: n for kind, n in failures.items() if kind == "503 with Retry-After"}
    other = {kind: n for kind, n in failures.items() if kind not in acceptable}
    if not failures:
        verdict = "none"
    elif other:
        verdict = f"{dict(failures)}: UNEXPECTED {other}"
    else:
        verdict = f"{dict(failures)} (only 503 with Retry-After: ok)"
    print(f"  failures: {verdict}")
    record("intake", f"{label}: failures other than 503", sum(other.values()), "0", unit="")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 4, 16, 64])
    parser.add_argument(
        "--per-client",
        type=int,
        default=1,
        help=f"operations per client (at least {MINIMUM_OPERATIONS} a level)",
    )
    parser.add_argument("--memory-kib", type=int, default=Settings().argon2_memory_kib)
    parser.add_argument("--iterations", type=int, default=Settings().argon2_iterations)
    parser.add_argument(
        "--concurrency", type=int, default=0, help="both budgets (default: sized to the machine)"
    )
    parser.add_argument(
        "--queue", type=int, default=Settings().kdf_queue, help="WHISTLE_KDF_QUEUE of the server"
    )
    parser.add_argument("--engine", choices=ENGINES, default="both")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="whistle-bench-") as tmp:
        root = Path(tmp)
        params = Argon2Params(args.memory_kib, args.iterations, 1)
        init_keys(root / "keys", "benchmark office passphrase", Argon2Params(256, 1, 1))
        base = Settings(
            keys_dir=root / "keys",
            argon2_memory_kib=params.memory_kib,
            argon2_iterations=params.iterations,
        )
        # Tracking codes use the costs fixed in keys/: record the ones measured here.
        add_receipt_params(root / "keys", base.argon2)
        print(
            f"Argon2id m={params.memory_kib} KiB t={params.iterations}; goal at least {GOAL} x "
            "the bare rate, no failure but 503 with Retry-After"
        )
        await on_each_engine(
            args.engine,
            root,
            base,
            lambda settings, label, log: measure(settings, args, label, log),
        )


if __name__ == "__main__":
    asyncio.run(main())

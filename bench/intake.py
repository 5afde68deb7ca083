"""Intake benchmark: submissions and code look-ups per second at 1, 4, 16 and 64 clients,
each beside the bare Argon2id rate measured in the same run.

Each submission and each look-up costs one Argon2id derivation of the tracking code at the
production cost, so the derivation sets the ceiling: a server allowed ``b`` derivations at once
(its budget for that operation) serving ``c`` clients can at best match the bare rate of
``min(b, c)`` derivations running side by side, measured here in this process with nothing
else. A shared machine's load moves within seconds, so every level runs ``--rounds`` rounds
(3 by default), each keeping every client busy (``--per-client`` operations per client, at least
``MINIMUM_PER_ROUND``), with a bare block before, between and after them; each round is judged
against the mean of the bare blocks around it, and the level's figure is the median round (every
round's ratio is printed). The ratio shows what HTTP, encryption, key wrapping and the database
add on top (goal at least 0.9x). Beside it, the
server's CPU time per operation (from /proc) against the bare CPU time per derivation: the
same question asked of CPU time, which the machine's other work moves less than the rates.
Requests go to a real `whistle serve` process over loopback; every answer that is not a
success is counted by kind, and the only acceptable failure is 503 with Retry-After (a
budget's queue is full). SQLite and a throw-away PostgreSQL cluster, one after the other.

The server sizes its budgets to the machine as in production (whistle.settings
derivation_budgets) unless ``--concurrency`` sets both.

    .venv/bin/python -m bench.intake [--clients 1 4 16 64] [--per-client 1] [--rounds 3]
                                     [--queue 64] [--concurrency N] [--engine both]
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import statistics
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench.results import record
from bench.server import ENGINES, cpu_seconds, migrated, on_each_engine, server_pid
from tests.support.forms import VALID_REPORT
from tests.support.server import running_server
from whistle.crypto import Argon2Params, add_receipt_params, argon2id, init_keys
from whistle.settings import Settings

GOAL = 0.9
# Fewer operations make a round of about half a second at one client, where one scheduler
# hiccup of the shared machine moves the figure by a quarter.
MINIMUM_PER_ROUND = 8
# A bare block lasts about half the server work beside it, within these seconds.
BARE_SECONDS = (1.5, 3.0)


@dataclass(frozen=True)
class Bare:
    """Derivations per second, and CPU seconds per derivation, with nothing else running."""

    rate: float
    cpu: float


def bare_rate(params: Argon2Params, parallel: int, count: int) -> Bare:
    """The bare rate with ``parallel`` derivations running side by side."""
    salt = secrets.token_bytes(16)
    with ThreadPoolExecutor(parallel) as pool:
        cpu_started = time.process_time()
        started = time.perf_counter()
        list(pool.map(lambda _: argon2id(secrets.token_bytes(10), salt, params, 64), range(count)))
        elapsed = time.perf_counter() - started
        return Bare(count / elapsed, (time.process_time() - cpu_started) / count)


def bare_block(params: Argon2Params, parallel: int, seconds: float, rate_guess: float) -> Bare:
    """The bare rate measured over about ``seconds`` (at least two derivations per thread)."""
    count = max(2 * parallel, round(seconds * rate_guess / parallel) * parallel)
    return bare_rate(params, parallel, count)


def failure_kind(answer: httpx.Response | BaseException, success: int) -> str | None:
    if isinstance(answer, BaseException):
        return f"error {type(answer).__name__}"
    if answer.status_code == success:
        return None
    if answer.status_code == 503 and answer.headers.get("Retry-After"):
        return "503 with Retry-After"
    return f"{answer.status_code}"


async def load(
    client: httpx.AsyncClient, clients: int, requests: list[tuple[str, dict[str, str]]]
) -> list[httpx.Response | BaseException]:
    """Send ``requests`` from ``clients`` concurrent clients; their answers."""
    pending = iter(requests)
    answers: list[httpx.Response | BaseException] = []

    async def one_client() -> None:
        for path, body in pending:
            try:
                answers.append(await client.post(path, json=body))
            except httpx.HTTPError as error:
                answers.append(error)

    await asyncio.gather(*(one_client() for _ in range(clients)))
    return answers


@dataclass
class Served:
    """One block of requests to the server: its answers, wall time and the server's CPU time."""

    answers: list[httpx.Response | BaseException]
    succeeded: int
    seconds: float
    cpu_seconds: float

    @property
    def rate(self) -> float:
        return self.succeeded / self.seconds


async def serve_block(
    client: httpx.AsyncClient,
    pid: int,
    clients: int,
    requests: list[tuple[str, dict[str, str]]],
    success: int,
) -> Served:
    """``load`` timed, with the server's CPU time spent on it."""
    cpu_before = cpu_seconds(pid)
    started = time.perf_counter()
    answers = await load(client, clients, requests)
    seconds = time.perf_counter() - started
    succeeded = sum(1 for answer in answers if failure_kind(answer, success) is None)
    return Served(answers, succeeded, seconds, cpu_seconds(pid) - cpu_before)


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
    params = settings.argon2
    with running_server(settings, log, **env) as url:
        pid = server_pid(int(url.rsplit(":", 1)[1]))
        async with httpx.AsyncClient(base_url=url, timeout=600) as client:
            await client.post("/api/v1/reports", json=VALID_REPORT)  # warm-up
            guess = {n: bare_rate(params, n, 2 * n).rate for n in {1, *budgets.values()}}
            for clients in args.clients:
                # Every round keeps every client busy, and a bare block comes before, between
                # and after the rounds: a shared machine's load moves within seconds, so each
                # round is judged against the bare rate around it and the level's figure is the
                # median round.
                rounds = args.rounds
                per_round = max(MINIMUM_PER_ROUND, args.per_client * clients)
                kinds = {name: min(clients, budget) for name, budget in budgets.items()}
                expected = sum(per_round / guess[p] for p in kinds.values())
                block = min(BARE_SECONDS[1], max(BARE_SECONDS[0], expected / 2))
                bare = [{p: bare_block(params, p, block, guess[p]) for p in {*kinds.values()}}]
                served_rounds: list[dict[str, Served]] = []
                for _ in range(rounds):
                    submitted = await serve_block(
                        client, pid, clients, [("/api/v1/reports", VALID_REPORT)] * per_round, 201
                    )
                    codes = [
                        a.json()["tracking_code"]
                        for a in submitted.answers
                        if isinstance(a, httpx.Response) and a.status_code == 201
                    ]
                    looked_up = await serve_block(
                        client,
                        pid,
                        clients,
                        [("/api/v1/session", {"tracking_code": c}) for c in codes],
                        200,
                    )
                    served_rounds.append({"submissions": submitted, "look-ups": looked_up})
                    bare.append({p: bare_block(params, p, block, guess[p]) for p in bare[0]})
                guess.update({p: b.rate for p, b in bare[-1].items()})
                cells = []
                for name, success in (("submissions", 201), ("look-ups", 200)):
                    parallel = kinds[name]
                    done = [r[name] for r in served_rounds]
                    failures.update(
                        kind for r in done for a in r.answers if (kind := failure_kind(a, success))
                    )
                    ratios = [
                        r.rate / ((bare[i][parallel].rate + bare[i + 1][parallel].rate) / 2)
                        for i, r in enumerate(done)
                    ]
                    ratio = statistics.median(ratios)
                    bare_mean = statistics.fmean(b[parallel].rate for b in bare)
                    rate = sum(r.succeeded for r in done) / sum(r.seconds for r in done)
                    cpu = sum(r.cpu_seconds for r in done) / max(1, sum(r.succeeded for r in done))
                    bare_cpu = statistics.fmean(b[parallel].cpu for b in bare)
                    record("intake", f"{label}: {name}, {clients} clients", ratio, f">= {GOAL} x")
                    cells.append(
                        f"{name} {rate:5.1f}/s vs bare {bare_mean:4.1f}/s ({parallel} at once)"
                        f" = {ratio:4.2f} x {'ok' if ratio >= GOAL else 'BELOW'}"
                        f" [rounds {' '.join(f'{x:.2f}' for x in ratios)};"
                        f" CPU {bare_cpu / cpu:.2f} x: server {1000 * cpu:.0f} ms/op,"
                        f" bare {1000 * bare_cpu:.0f}]"
                    )
                print(
                    f"  {clients:3d} clients, {rounds} x {per_round:3d} of each | "
                    + " | ".join(cells)
                )
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
        help=f"operations per client in a round (at least {MINIMUM_PER_ROUND} a round)",
    )
    parser.add_argument(
        "--rounds", type=int, default=3, help="rounds of every level (the median is its figure)"
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
    if args.rounds < 1 or args.per_client < 1:
        parser.error("--rounds and --per-client take at least 1")
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

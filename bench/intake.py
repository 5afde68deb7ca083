"""Intake benchmark: submissions and code look-ups per second at 1, 4, 16 and 64 clients,
each beside the bare Argon2id rate measured in the same run.

Each submission and each look-up costs one Argon2id derivation of the tracking code at the
production cost, so the derivation sets the ceiling: a server allowed ``b`` derivations at once
(its budget for that operation) serving ``c`` clients can at best match the bare rate of
``min(b, c)`` derivations running side by side, measured here in this process with nothing
else. A shared machine's speed drifts within seconds (a derivation's own CPU time moves by a
fifth over ten seconds on the 2-core machine), so every level runs ``--rounds`` rounds (3 by
default), each keeping every client busy (``--per-client`` operations per client, at least
``MINIMUM_PER_ROUND``), and every block of requests sits between two bare blocks of the same
width, each about half as long as the block (``B S B L B`` when both kinds get as many
derivations at once, ``B S B B L B`` otherwise): a drift hits the bare rate and the server
alike. The level's figure pools its rounds: the operations served per second of serving against
the derivations per second of the bare blocks beside them (each round's own ratio is printed);
with the blocks this close, pooling keeps the drift out and spends every operation measured,
where a median of three rounds kept the noise of the one it picked. The ratio shows what HTTP,
encryption, key wrapping and the database add on top (goal at least 0.9x). Beside it, the
server's CPU time per operation (from /proc) against the bare CPU time per derivation: the
same question asked of CPU time, which the machine's other work moves less than the rates.
Requests go to a real `whistle serve` process over loopback, each client on its own keep-alive
connection (``Connection``: a lean client, since the clients share the server's cores and the
bare rate pays for none; their CPU time per operation is printed too); every answer that is not a
success is counted by kind, and the only acceptable failure is 503 with Retry-After (a
budget's queue is full). SQLite and a throw-away PostgreSQL cluster syncing its commits as in
production, one after the other.

The server sizes its budgets to the machine as in production (whistle.settings
derivation_budgets) unless ``--concurrency`` sets both.

    .venv/bin/python -m bench.intake [--clients 1 4 16 64] [--per-client 1] [--rounds 3]
                                     [--queue 64] [--concurrency N] [--engine both]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import secrets
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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
# A connection idle longer than this is not reused: uvicorn closes one idle for 5 s
# (timeout_keep_alive), and a request written as it closes would be lost.
REUSE_SECONDS = 4.0
# A bare block lasts about half the block of requests beside it, within these seconds.
BARE_SECONDS = (0.4, 3.0)


@dataclass(frozen=True)
class Bare:
    """A block of derivations with nothing else running: how many side by side, how many in
    all, in how many seconds, and the CPU seconds they took."""

    parallel: int
    count: int
    seconds: float
    cpu_seconds: float

    @property
    def rate(self) -> float:
        return self.count / self.seconds

    @property
    def cpu(self) -> float:
        """CPU seconds per derivation."""
        return self.cpu_seconds / self.count


def bare_rate(params: Argon2Params, parallel: int, count: int) -> Bare:
    """The bare rate with ``parallel`` derivations running side by side."""
    salt = secrets.token_bytes(16)
    with ThreadPoolExecutor(parallel) as pool:
        cpu_started = time.process_time()
        started = time.perf_counter()
        list(pool.map(lambda _: argon2id(secrets.token_bytes(10), salt, params, 64), range(count)))
        elapsed = time.perf_counter() - started
        return Bare(parallel, count, elapsed, time.process_time() - cpu_started)


def bare_block(params: Argon2Params, parallel: int, seconds: float, rate_guess: float) -> Bare:
    """The bare rate measured over about ``seconds`` (at least two derivations per thread)."""
    count = max(2 * parallel, round(seconds * rate_guess / parallel) * parallel)
    return bare_rate(params, parallel, count)


@dataclass(frozen=True)
class Answer:
    """A response: status, headers (names in lower case) and body."""

    status_code: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Connection:
    """One client's keep-alive HTTP/1.1 connection to the server, as lean as a client can be.

    The clients share the machine's cores with the server they measure, and the bare rate has
    no client to pay for: httpx spent about 2 ms of CPU a request (a hundredth of a
    derivation), taken from the server's derivations at every level that fills the cores. This
    one writes the request and reads the status line, the headers and a Content-Length body.
    """

    host: str
    port: int
    streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
    last_used: float = 0.0

    async def post(self, path: str, payload: object) -> Answer:
        try:
            return await self._post(path, payload)
        except BaseException:
            await self.close()  # a broken exchange leaves nothing usable on the connection
            raise

    async def _post(self, path: str, payload: object) -> Answer:
        idle = time.monotonic() - self.last_used
        if self.streams is not None and (self.streams[0].at_eof() or idle > REUSE_SECONDS):
            # The server closes a connection idle for its keep-alive timeout; one it may be
            # closing right now is not reused either.
            await self.close()
        if self.streams is None:
            self.streams = await asyncio.open_connection(self.host, self.port)
        reader, writer = self.streams
        body = json.dumps(payload).encode()
        writer.write(
            f"POST {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n".encode()
            + body
        )
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        status = int(head[0].split(" ", 2)[1])
        headers = {}
        for line in head[1:]:
            if line:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
        if "content-length" not in headers:
            raise ConnectionError(f"no Content-Length in a {status} answer")
        answer = Answer(status, headers, await reader.readexactly(int(headers["content-length"])))
        self.last_used = time.monotonic()
        if headers.get("connection", "").lower() == "close":
            await self.close()
        return answer

    async def close(self) -> None:
        if self.streams is not None:
            writer = self.streams[1]
            self.streams = None
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()


def failure_kind(answer: Answer | BaseException, success: int) -> str | None:
    if isinstance(answer, BaseException):
        return f"error {type(answer).__name__}"
    if answer.status_code == success:
        return None
    if answer.status_code == 503 and answer.headers.get("retry-after"):
        return "503 with Retry-After"
    return f"{answer.status_code}"


async def load(
    connections: Sequence[Connection], requests: list[tuple[str, dict[str, str]]]
) -> list[Answer | BaseException]:
    """Send ``requests`` from one concurrent client per connection; their answers."""
    pending = iter(requests)
    answers: list[Answer | BaseException] = []

    async def one_client(connection: Connection) -> None:
        for path, body in pending:
            try:
                answers.append(await connection.post(path, body))
            except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError) as error:
                answers.append(error)

    await asyncio.gather(*(one_client(c) for c in connections))
    return answers


@dataclass
class Served:
    """One block of requests to the server: its answers, wall time, the server's CPU time and
    the clients' (this process's)."""

    answers: list[Answer | BaseException]
    succeeded: int
    seconds: float
    cpu_seconds: float
    client_cpu_seconds: float = 0.0

    @property
    def rate(self) -> float:
        return self.succeeded / self.seconds


def pooled_rates(rounds: Sequence[tuple[Bare, Served, Bare]]) -> tuple[float, float]:
    """Operations served per second of serving, and derivations per second of the bare blocks
    just before and just after each block of requests, pooled over ``rounds``."""
    served = sum(s.succeeded for _, s, _ in rounds) / sum(s.seconds for _, s, _ in rounds)
    beside = [block for before, _, after in rounds for block in (before, after)]
    bare = sum(b.count for b in beside) / sum(b.seconds for b in beside)
    return served, bare


def paired_ratio(rounds: Sequence[tuple[Bare, Served, Bare]]) -> float:
    """The served rate against the bare rate beside it (``pooled_rates``)."""
    served, bare = pooled_rates(rounds)
    return served / bare


def bare_beside(
    params: Argon2Params, parallel: int, requests: int, guess: dict[int, float]
) -> Bare:
    """A bare block about half as long as ``requests`` served ``parallel`` at a time (``guess``:
    the last rate measured at each width, updated here)."""
    seconds = min(BARE_SECONDS[1], max(BARE_SECONDS[0], requests / guess[parallel] / 2))
    measured = bare_block(params, parallel, seconds, guess[parallel])
    guess[parallel] = measured.rate
    return measured


async def serve_block(
    connections: Sequence[Connection],
    pid: int,
    requests: list[tuple[str, dict[str, str]]],
    success: int,
) -> Served:
    """``load`` timed, with the server's CPU time spent on it."""
    cpu_before, client_before = cpu_seconds(pid), time.process_time()
    started = time.perf_counter()
    answers = await load(connections, requests)
    seconds = time.perf_counter() - started
    succeeded = sum(1 for answer in answers if failure_kind(answer, success) is None)
    return Served(
        answers,
        succeeded,
        seconds,
        cpu_seconds(pid) - cpu_before,
        time.process_time() - client_before,
    )


async def serve_level(
    connections: Sequence[Connection],
    pid: int,
    params: Argon2Params,
    kinds: dict[str, int],
    per_round: int,
    rounds: int,
    guess: dict[int, float],
) -> dict[str, list[tuple[Bare, Served, Bare]]]:
    """``rounds`` rounds of ``per_round`` submissions, then look-ups of their codes, from one
    client per connection; each block of requests between two bare blocks of its width
    (``kinds``: derivations at once for each), next to it in time: B S B L B, or B S B B L B
    when the widths differ."""
    paired: dict[str, list[tuple[Bare, Served, Bare]]] = {name: [] for name in kinds}
    last: Bare | None = None
    for _ in range(rounds):
        codes: list[str] = []
        for name, path, success in (
            ("submissions", "/api/v1/reports", 201),
            ("look-ups", "/api/v1/session", 200),
        ):
            parallel = kinds[name]
            if last is not None and last.parallel == parallel:
                before = last
            else:
                before = bare_beside(params, parallel, per_round, guess)
            bodies = (
                [VALID_REPORT] * per_round
                if name == "submissions"
                else [{"tracking_code": code} for code in codes]
            )
            block = await serve_block(connections, pid, [(path, b) for b in bodies], success)
            last = bare_beside(params, parallel, per_round, guess)
            paired[name].append((before, block, last))
            if name == "submissions":
                codes = [
                    a.json()["tracking_code"]
                    for a in block.answers
                    if isinstance(a, Answer) and a.status_code == 201
                ]
    return paired


def describe(rounds: Sequence[tuple[Bare, Served, Bare]], parallel: int) -> str:
    """A cell of the table: the rates, the ratio, each round's ratio and the CPU figures."""
    rate, bare = pooled_rates(rounds)
    ratio = rate / bare
    served = [block for _, block, _ in rounds]
    beside = [b for before, _, after in rounds for b in (before, after)]
    done = max(1, sum(r.succeeded for r in served))
    cpu = sum(r.cpu_seconds for r in served) / done
    client = sum(r.client_cpu_seconds for r in served) / done
    bare_cpu = sum(b.cpu_seconds for b in beside) / sum(b.count for b in beside)
    return (
        f"{rate:5.1f}/s vs bare {bare:4.1f}/s ({parallel} at once)"
        f" = {ratio:4.2f} x {'ok' if ratio >= GOAL else 'BELOW'}"
        f" [rounds {' '.join(f'{paired_ratio([one]):.2f}' for one in rounds)};"
        f" CPU {bare_cpu / cpu:.2f} x: server {1000 * cpu:.0f} ms/op, bare {1000 * bare_cpu:.0f};"
        f" clients {1000 * client:.1f} ms/op]"
    )


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
        host, port = url.removeprefix("http://").rsplit(":", 1)
        connections = [Connection(host, int(port)) for _ in range(max(args.clients))]
        try:
            await connections[0].post("/api/v1/reports", VALID_REPORT)  # warm-up
            guess = {n: bare_rate(params, n, 2 * n).rate for n in {1, *budgets.values()}}
            for clients in args.clients:
                per_round = max(MINIMUM_PER_ROUND, args.per_client * clients)
                kinds = {name: min(clients, budget) for name, budget in budgets.items()}
                paired = await serve_level(
                    connections[:clients], pid, params, kinds, per_round, args.rounds, guess
                )
                cells = []
                for name, success in (("submissions", 201), ("look-ups", 200)):
                    rounds = paired[name]
                    failures.update(
                        kind
                        for _, block, _ in rounds
                        for a in block.answers
                        if (kind := failure_kind(a, success))
                    )
                    ratio = paired_ratio(rounds)
                    record("intake", f"{label}: {name}, {clients} clients", ratio, f">= {GOAL} x")
                    cells.append(f"{name} {describe(rounds, kinds[name])}")
                print(
                    f"  {clients:3d} clients, {args.rounds} x {per_round:3d} of each | "
                    + " | ".join(cells)
                )
        finally:
            for connection in connections:
                await connection.close()
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

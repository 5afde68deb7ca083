"""Server memory during a submission burst: resident memory fresh, at its peak during
``--submissions`` reports filed by ``--clients`` clients at once, and after, against the
limit of the derivation memory times the derivations allowed at once plus 100 MiB.

Read from /proc/PID/status of a real `whistle serve` process (VmRSS now, VmHWM the peak).

    .venv/bin/python -m bench.memory [--submissions 300] [--clients 16] [--engine sqlite]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
from collections import Counter
from pathlib import Path

import httpx

from bench.results import record
from bench.server import ENGINES, migrated, on_each_engine, server_pid, status_mib
from tests.support.forms import VALID_REPORT
from tests.support.server import running_server
from whistle.crypto import Argon2Params, add_receipt_params, init_keys
from whistle.settings import Settings

HEADROOM_MIB = 100
# Memory after the burst may stay at most this much above the fresh figure.
AFTER_FACTOR = 1.2


async def burst(url: str, submissions: int, clients: int) -> Counter[int]:
    statuses: Counter[int] = Counter()
    remaining = iter(range(submissions))
    async with httpx.AsyncClient(base_url=url, timeout=300) as client:

        async def submitter() -> None:
            for _ in remaining:
                answer = await client.post("/api/v1/reports", json=VALID_REPORT)
                statuses[answer.status_code] += 1

        await asyncio.gather(*(submitter() for _ in range(clients)))
    return statuses


async def measure(settings: Settings, args: argparse.Namespace, label: str, log: Path) -> None:
    await migrated(settings)
    # The server sizes its derivation budgets to the machine (as in production); the limit is
    # computed from the same figures and they are passed on so both agree.
    served = Settings.from_env(
        {
            "WHISTLE_DEVELOPMENT": "true",
            "WHISTLE_ARGON2_MEMORY_KIB": str(settings.argon2_memory_kib),
        }
    )
    settings = settings.with_changes(
        kdf_submission_concurrency=served.kdf_submission_concurrency,
        kdf_lookup_concurrency=served.kdf_lookup_concurrency,
        kdf_officer_concurrency=served.kdf_officer_concurrency,
    )
    budgets = {
        "WHISTLE_KDF_SUBMISSION_CONCURRENCY": str(settings.kdf_submission_concurrency),
        "WHISTLE_KDF_LOOKUP_CONCURRENCY": str(settings.kdf_lookup_concurrency),
        "WHISTLE_KDF_OFFICER_CONCURRENCY": str(settings.kdf_officer_concurrency),
    }
    with running_server(settings, log, **budgets) as url:
        pid = server_pid(int(url.rsplit(":", 1)[1]))
        async with httpx.AsyncClient(base_url=url, timeout=300) as client:
            await client.get("/")  # templates and routes loaded: the fresh figure of a live server
        fresh = status_mib(pid, "VmRSS")
        statuses = await burst(url, args.submissions, args.clients)
        await asyncio.sleep(args.settle)
        peak, after = status_mib(pid, "VmHWM"), status_mib(pid, "VmRSS")
    derivations = (
        settings.kdf_submission_concurrency
        + settings.kdf_lookup_concurrency
        + settings.kdf_officer_concurrency
    )
    limit = settings.argon2_memory_kib / 1024 * derivations + HEADROOM_MIB
    after_limit = fresh * AFTER_FACTOR
    record(
        "memory",
        f"{label}: peak RSS during the burst",
        peak,
        f"<= {limit:.0f} MiB",
        unit="MiB",
    )
    record(
        "memory", f"{label}: RSS after the burst", after, f"<= {after_limit:.0f} MiB", unit="MiB"
    )
    print(
        f"{label:<11} fresh {fresh:6.0f} MiB | peak {peak:6.0f} MiB (limit {limit:.0f} = "
        f"{derivations} x {settings.argon2_memory_kib / 1024:.0f} + {HEADROOM_MIB}: "
        f"{'ok' if peak <= limit else 'OVER'}) | after {after:6.0f} MiB (limit {after_limit:.0f} "
        f"= {AFTER_FACTOR:.2f} x fresh: {'ok' if after <= after_limit else 'OVER'}) "
        f"| statuses {dict(statuses)}"
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--submissions", type=int, default=300)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--settle", type=float, default=5.0, help="seconds before 'after'")
    parser.add_argument("--memory-kib", type=int, default=Settings().argon2_memory_kib)
    parser.add_argument("--iterations", type=int, default=Settings().argon2_iterations)
    parser.add_argument("--engine", choices=ENGINES, default="both")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="whistle-bench-") as tmp:
        root = Path(tmp)
        init_keys(root / "keys", "benchmark office passphrase", Argon2Params(256, 1, 1))
        base = Settings(
            keys_dir=root / "keys",
            argon2_memory_kib=args.memory_kib,
            argon2_iterations=args.iterations,
        )
        # Tracking codes use the costs fixed in keys/ (the server refuses to start otherwise).
        add_receipt_params(root / "keys", base.argon2)
        print(
            f"{args.submissions} submissions from {args.clients} clients, Argon2id "
            f"m={args.memory_kib} KiB t={args.iterations}; limit = memory x "
            f"derivations at once + {HEADROOM_MIB} MiB"
        )
        await on_each_engine(
            args.engine,
            root,
            base,
            lambda settings, label, log: measure(settings, args, label, log),
        )


if __name__ == "__main__":
    asyncio.run(main())

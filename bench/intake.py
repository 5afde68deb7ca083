"""Intake benchmark: submissions and code look-ups per second beside the bare Argon2id rate.

Each submission and each look-up costs one Argon2id derivation of the tracking code, so the
derivation sets the ceiling; the ratios show what encryption, key wrapping and the database add
on top. Everything is measured in the same run with the same concurrency, on SQLite and on a
throw-away PostgreSQL cluster.

    .venv/bin/python -m bench.intake [--count 48] [--memory-kib 65536] [--iterations 3]
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import tempfile
import time
from pathlib import Path

from tests.support.postgres import PostgresCluster
from whistle.audit.service import configure_chain_key
from whistle.context import Context
from whistle.crypto import Argon2Params, add_receipt_params, argon2id, init_keys
from whistle.db import engine as db
from whistle.db.migrations import migrate
from whistle.intake import service
from whistle.intake.schemas import validate_report
from whistle.officers.roster import configure_roster_key
from whistle.officers.service import add_officer
from whistle.reports.envelope import configure_holder_tag_key
from whistle.settings import Settings

REPORT = {
    "category": "pungli",
    "description": "Petugas meminta uang tambahan agar paspor selesai lebih cepat. " * 8,
    "location": "Loket 3",
    "persons_involved": "Petugas berkacamata",
    "amount_requested": "500000",
}


async def bare_derivations_per_second(ctx: Context, count: int) -> float:
    """The same derivation intake runs, through the submission limiter, and nothing else."""
    params = ctx.settings.argon2
    salt = ctx.keyring.receipt_salt
    started = time.perf_counter()
    await asyncio.gather(
        *(
            ctx.submission_kdf.run(argon2id, secrets.token_bytes(10), salt, params, 64)
            for _ in range(count)
        )
    )
    return count / (time.perf_counter() - started)


async def measure(settings: Settings, label: str, count: int) -> None:
    engine = await db.open_database(settings)
    try:
        await migrate()
        ctx = Context.create(settings)
        configure_chain_key(ctx.keyring.audit_chain_key)
        configure_holder_tag_key(ctx.keyring.holder_tag_key)
        configure_roster_key(ctx.keyring.roster_mac_key)
        await add_officer(
            ctx, username="triage", password="benchmark passphrase 42", roles=["triage"]
        )
        report = validate_report(REPORT)
        await service.submit_report(ctx, report)  # warm-up: connections, imports

        bare = await bare_derivations_per_second(ctx, count)
        started = time.perf_counter()
        receipts = await asyncio.gather(*(service.submit_report(ctx, report) for _ in range(count)))
        submissions = count / (time.perf_counter() - started)
        started = time.perf_counter()
        await asyncio.gather(
            *(service.unlock_with_code(ctx, receipt.tracking_code) for receipt in receipts)
        )
        lookups = count / (time.perf_counter() - started)
    finally:
        await db.close_database(engine)
    print(
        f"{label:<11} bare Argon2id {bare:8.1f}/s | submissions {submissions:8.1f}/s "
        f"({submissions / bare:5.2f} x bare) | code look-ups {lookups:8.1f}/s "
        f"({lookups / bare:5.2f} x bare)"
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=48)
    parser.add_argument("--memory-kib", type=int, default=Settings().argon2_memory_kib)
    parser.add_argument("--iterations", type=int, default=Settings().argon2_iterations)
    parser.add_argument("--concurrency", type=int, default=Settings().kdf_submission_concurrency)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="whistle-bench-") as tmp:
        root = Path(tmp)
        params = Argon2Params(args.memory_kib, args.iterations, 1)
        init_keys(root / "keys", "benchmark office passphrase", Argon2Params(256, 1, 1))
        base = Settings(
            keys_dir=root / "keys",
            argon2_memory_kib=params.memory_kib,
            argon2_iterations=params.iterations,
            # Submissions and look-ups get the same budget so their rates compare.
            kdf_submission_concurrency=args.concurrency,
            kdf_lookup_concurrency=args.concurrency,
        )
        # Tracking codes use the costs fixed in keys/: record the ones measured here.
        add_receipt_params(root / "keys", base.argon2)
        print(
            f"Argon2id m={params.memory_kib} KiB t={params.iterations}, "
            f"{args.concurrency} derivations at once, {args.count} operations per figure"
        )
        await measure(
            base.with_changes(database_url=f"sqlite:///{root / 'bench.db'}"), "SQLite", args.count
        )
        cluster = PostgresCluster.start()
        try:
            import asyncpg

            admin = await asyncpg.connect(cluster.url("postgres"))
            await admin.execute("CREATE DATABASE bench")
            await admin.close()
            await measure(
                base.with_changes(database_url=cluster.url("bench")), "PostgreSQL", args.count
            )
        finally:
            cluster.stop()


if __name__ == "__main__":
    asyncio.run(main())

"""Audit verify benchmark: entries per second over a valid keyed chain of 1,000,000 entries.

The chain is built quickly outside the application (MACs from ``service.entry_hash`` under a
fresh chain key, rows bulk-inserted through the raw driver: sqlite3 ``executemany`` into a
migrated SQLite file, asyncpg ``copy_records_to_table`` into a throw-away PostgreSQL cluster), with
a signed checkpoint stored at 90 % of it. ``verify_chain`` then reads it back through the engine
exactly as `whistle audit verify` does, in full (``--rounds`` times) and once with
``--since-checkpoint``. Beside it, just before and just after each full verification, the bare
rate of the chain function (``entry_body`` + ``entry_mac``: canonical JSON of the entry and the
very HMAC-SHA256 code verify uses) over the stored values held in memory: the ratio shows what
reading from the database costs (goal >= 0.9 x; the database assembles each entry's MAC input on
its other core, so above 1 x is possible and honest). Each round's ratio is taken against the
bare runs around it (each over half as many entries as the chain, so together they last about as
long as the verification), so a swing of the machine's load hits both; every round is printed,
the median round is the figure, the lowest and highest beside it. Also printed: entries checked
and seconds of the full verification against --since-checkpoint, how many entries the exact path
decided (0 for a chain ``append`` wrote), and both rates in CPU time of this process.

    .venv/bin/python -m bench.audit_verify [--entries 1000000] [--batch-size 5000]
        [--rounds 5] [--no-postgres | --no-sqlite]
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.results import record
from bench.server import migrated, settle_writes
from tests.support.postgres import PostgresCluster
from whistle.audit import actions
from whistle.audit.checkpoint import sign
from whistle.audit.service import (
    GENESIS_HASH,
    canonical_json,
    chain_key,
    configure_chain_key,
    entry_body,
    entry_hash,
    entry_mac,
    iso_utc,
)
from whistle.audit.verify import DEFAULT_BATCH, verify_chain
from whistle.crypto import Argon2Params, Keyring, init_keys
from whistle.db import engine as db
from whistle.settings import Settings

START = datetime(2026, 1, 1, tzinfo=UTC)
GOAL = 0.9
CHUNK = 50_000
# A plausible mix of entries: actors, actions, case numbers and small details.
TEMPLATES = [
    ("siti", actions.LOGIN, None, {}),
    ("siti", actions.CASE_OPENED, True, {}),
    ("siti", actions.CASE_STATUS_CHANGED, True, {"from": "received", "to": "verification"}),
    ("reporter", actions.REPORT_RECEIVED, True, {"category": "pungli"}),
    ("budi", actions.CASE_NOTE_ADDED, True, {}),
    ("root", actions.OFFICER_ROLES_CHANGED, None, {"officer": "budi", "roles": ["investigator"]}),
    ("budi", actions.CASE_ASSIGNED, True, {"officer": "dewi"}),
    ("siti", actions.LOGOUT, None, {}),
]

Row = tuple[int, datetime, str, str, str | None, str, str, str]


def chain(count: int) -> Iterator[list[Row]]:
    """The chain in chunks of rows (seq, at, actor, action, case_number, details, prev, hash)."""
    previous = GENESIS_HASH
    chunk: list[Row] = []
    for seq in range(1, count + 1):
        actor, action, has_case, details = TEMPLATES[seq % len(TEMPLATES)]
        at = START + timedelta(seconds=seq, microseconds=seq % 1000)
        case_number = f"2026-{seq // 40 % 10000:04d}" if has_case else None
        digest = entry_hash(
            prev_hash=previous,
            seq=seq,
            at=at,
            actor=actor,
            action=action,
            case_number=case_number,
            details=details,
        )
        chunk.append(
            (seq, at, actor, action, case_number, canonical_json(details), previous, digest)
        )
        previous = digest
        if len(chunk) == CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


@dataclass(frozen=True)
class Rates:
    wall: float
    cpu: float


def stored_rows(count: int) -> list[tuple[int, str, str, str, str | None, str, str, str]]:
    """Rows as the database keeps them: the time already as the UTC isoformat text."""
    return [(row[0], iso_utc(row[1]), *row[2:]) for row in next(chain(count))]


def bare_rate(
    rows: list[tuple[int, str, str, str, str | None, str, str, str]], passes: int = 1
) -> Rates:
    """The chain function alone over rows held in memory (``passes`` times over them): entries/s
    of wall and of CPU time.

    Canonical JSON of the stored values plus HMAC-SHA256, nothing else (no database, no date
    formatting): the strictest baseline, the very work verify cannot avoid.
    """
    key = chain_key()
    started, cpu_started = time.perf_counter(), time.process_time()
    for _ in range(passes):
        for seq, at, actor, action, case_number, details, previous, digest in rows:
            body = entry_body(seq, at, actor, action, case_number, details)
            if entry_mac(key, previous, body) != digest:
                raise AssertionError(f"bare chain function disagrees at {seq}")
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    return Rates(passes * len(rows) / wall, passes * len(rows) / cpu)


def fill_sqlite(path: Path, count: int) -> None:
    connection = sqlite3.connect(path)
    try:
        with connection:
            for rows in chain(count):
                connection.executemany(
                    "INSERT INTO audit_entry (seq, at, actor, action, case_number, details, "
                    "prev_hash, entry_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    # Stored the way piccolo stores a timestamptz on SQLite: str() of UTC.
                    [(row[0], str(row[1]), *row[2:]) for row in rows],
                )
    finally:
        connection.close()


async def fill_postgres(url: str, count: int) -> None:
    import asyncpg

    connection = await asyncpg.connect(url)
    try:
        for rows in chain(count):
            await connection.copy_records_to_table(
                "audit_entry",
                records=rows,
                columns=[
                    "seq",
                    "at",
                    "actor",
                    "action",
                    "case_number",
                    "details",
                    "prev_hash",
                    "entry_hash",
                ],
            )
        # As a chain that has lived in a database is: vacuumed (hint bits set, the visibility
        # map written) and analysed. Left to autovacuum, the freshly loaded table is vacuumed a
        # minute later, in the middle of the rounds, on one of the two cores verify uses; and
        # the first round would set every row's hint bits.
        await connection.execute("VACUUM ANALYZE audit_entry")
    finally:
        await connection.close()


async def store_checkpoint(keyring: Keyring, seq: int) -> None:
    """A signed checkpoint of entry ``seq``, stored as the worker stores it."""
    import base64

    rows = await db.fetch("SELECT entry_hash, at FROM audit_entry WHERE seq = {}", seq)
    signed = sign(keyring, seq=seq, entry_hash=rows[0]["entry_hash"], created_at=rows[0]["at"])
    await db.fetch(
        "INSERT INTO audit_checkpoint (seq, entry_hash, created_at, key_fingerprint, signature) "
        "VALUES ({}, {}, {}, {}, {})",
        signed.seq,
        signed.entry_hash,
        rows[0]["at"],
        signed.key_fingerprint,
        base64.b64encode(signed.signature).decode(),
    )


@dataclass(frozen=True)
class Round:
    """One full verification and the bare rate just before and after it."""

    bare: float  # entries/s of the chain function, the mean of the runs before and after
    bare_cpu: float  # the same per second of this process's CPU time
    seconds: float
    cpu_seconds: float  # this process's (with its SQLite reader threads; not PostgreSQL's)


@dataclass(frozen=True)
class Timing:
    rounds: list[Round]
    full_entries: int
    full_slow: int  # entries of the full verifications decided by the exact path (should be 0)
    since_entries: int
    since_seconds: float

    def ratios(self) -> list[float]:
        return sorted(self.full_entries / r.seconds / r.bare for r in self.rounds)

    def cpu_ratios(self) -> list[float]:
        return sorted(self.full_entries / r.cpu_seconds / r.bare_cpu for r in self.rounds)

    @property
    def median_round(self) -> Round:
        by_ratio = sorted(self.rounds, key=lambda r: self.full_entries / r.seconds / r.bare)
        return by_ratio[(len(by_ratio) - 1) // 2]


async def time_verify(
    settings: Settings, keyring: Keyring, count: int, batch_size: int, rows: list, rounds: int
) -> Timing:
    """``rounds`` full verifications, each between two runs of the bare chain function, and
    one ``--since-checkpoint``."""
    engine = await db.open_database(settings)
    measured: list[Round] = []
    slow = 0
    try:
        await store_checkpoint(keyring, max(1, count * 9 // 10))
        keys = keyring.audit_verify_keys
        # Each bare run does half a verification's entries, so that together the two around a
        # verification last about as long as it does and see the same swings of the load.
        passes = max(1, count // (2 * len(rows)))
        bare_after = bare_rate(rows, passes)
        for _ in range(rounds):
            bare_before = bare_after
            started, cpu_started = time.perf_counter(), time.process_time()
            full = await verify_chain(batch_size=batch_size, verify_keys=keys)
            elapsed = time.perf_counter() - started
            cpu = time.process_time() - cpu_started
            bare_after = bare_rate(rows, passes)
            assert full.ok and full.entries_checked == count, full
            slow += full.slow_path_entries
            measured.append(
                Round(
                    (bare_before.wall + bare_after.wall) / 2,
                    (bare_before.cpu + bare_after.cpu) / 2,
                    elapsed,
                    cpu,
                )
            )
        started = time.perf_counter()
        since = await verify_chain(batch_size=batch_size, verify_keys=keys, since_checkpoint=True)
        since_elapsed = time.perf_counter() - started
    finally:
        await db.close_database(engine)
    assert since.ok and since.head_seq == count, since
    return Timing(measured, count, slow, since.entries_checked, since_elapsed)


def report(label: str, built: float, timing: Timing) -> None:
    median = timing.median_round
    full = timing.full_entries / median.seconds
    since = timing.since_entries / timing.since_seconds
    ratios = timing.ratios()
    ratio = statistics.median(ratios)
    print(
        f"{label:<11} built in {built:5.1f} s | bare {median.bare:9,.0f}/s | verify "
        f"{full:9,.0f} entries/s ({ratio:4.2f} x bare, median of {len(ratios)} rounds, "
        f"{ratios[0]:4.2f}-{ratios[-1]:4.2f}; goal {GOAL} x) | "
        f"--since-checkpoint {since:9,.0f}/s ({since / median.bare:4.2f} x bare)"
    )
    print(
        f"{'':<11} full verify checked {timing.full_entries:,} entries in "
        f"{median.seconds:.2f} s; --since-checkpoint checked {timing.since_entries:,} "
        f"(the ones after the checkpoint) in {timing.since_seconds:.2f} s "
        f"({timing.since_seconds / median.seconds:.0%} of the time); exact path taken by "
        f"{timing.full_slow:,} entries"
    )
    record("audit_verify", f"{label}: verify vs bare chain function", ratio, f">= {GOAL} x")
    record(
        "audit_verify",
        f"{label}: --since-checkpoint time / full verify time",
        timing.since_seconds / median.seconds,
        "about the share of new entries (0.10)",
    )
    rounds = ", ".join(
        f"{timing.full_entries / r.seconds / r.bare:4.2f} x ({r.seconds:.2f} s)"
        for r in timing.rounds
    )
    print(f"{'':<11} every round, in order: {rounds}")
    cpu_ratios = timing.cpu_ratios()
    print(
        f"{'':<11} CPU time of this process (PostgreSQL's own work not counted): verify / bare "
        f"{statistics.median(cpu_ratios):4.2f} x (median; {cpu_ratios[0]:4.2f}-"
        f"{cpu_ratios[-1]:4.2f}), bare {median.bare_cpu:9,.0f}/s of CPU"
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH)
    parser.add_argument("--rounds", type=int, default=5, help="full verifications per engine")
    engines = parser.add_mutually_exclusive_group()
    engines.add_argument("--no-postgres", action="store_true", help="SQLite only")
    engines.add_argument("--no-sqlite", action="store_true", help="PostgreSQL only")
    args = parser.parse_args()
    count = args.entries

    with tempfile.TemporaryDirectory(prefix="whistle-bench-") as tmp:
        keys_dir = Path(tmp) / "keys"
        init_keys(keys_dir, "bench passphrase, not secret", Argon2Params(256, 1, 1))
        keyring = Keyring.load(keys_dir)
        configure_chain_key(keyring.audit_chain_key)

        rows = stored_rows(min(count, CHUNK))
        print(
            f"{count:,} entries, batches of {args.batch_size:,}, checkpoint at 90 %; bare = "
            f"canonical JSON + HMAC-SHA256 over {len(rows):,} stored rows in memory, "
            f"measured before and after each of {args.rounds} full verifications"
        )

        if not args.no_sqlite:
            path = Path(tmp) / "audit.db"
            settings = Settings(database_url=f"sqlite:///{path}", keys_dir=keys_dir)
            await migrated(settings)
            started = time.perf_counter()
            fill_sqlite(path, count)
            built = time.perf_counter() - started
            settle_writes()
            timing = await time_verify(settings, keyring, count, args.batch_size, rows, args.rounds)
            report("SQLite", built, timing)

        if args.no_postgres:
            return
        cluster = PostgresCluster.start()
        try:
            import asyncpg

            admin = await asyncpg.connect(cluster.url("postgres"))
            await admin.execute("CREATE DATABASE bench")
            await admin.close()
            settings = Settings(database_url=cluster.url("bench"), keys_dir=keys_dir)
            await migrated(settings)
            started = time.perf_counter()
            await fill_postgres(cluster.url("bench"), count)
            built = time.perf_counter() - started
            settle_writes()
            timing = await time_verify(settings, keyring, count, args.batch_size, rows, args.rounds)
            report("PostgreSQL", built, timing)
        finally:
            cluster.stop()


if __name__ == "__main__":
    asyncio.run(main())

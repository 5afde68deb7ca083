"""Audit verify benchmark: entries per second over a valid chain of 1,000,000 entries.

The chain is built quickly outside the application (hashes from ``service.entry_hash``, rows
bulk-inserted through the raw driver: sqlite3 ``executemany`` into a migrated SQLite file, asyncpg
``copy_records_to_table`` into a throw-away PostgreSQL cluster), then ``verify_chain`` reads it
back through the engine exactly as `whistle audit verify` does. Beside it, in the same run, the
bare rate of what verify computes per entry (JSON parse, canonical JSON, SHA-256) over entries held
in memory: the ratio shows what reading from the database costs.

    .venv/bin/python -m bench.audit_verify [--entries 1000000] [--batch-size 5000] [--no-postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sqlite3
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.support.postgres import PostgresCluster
from whistle.audit import actions
from whistle.audit.service import GENESIS_HASH, canonical_json, entry_hash
from whistle.audit.verify import verify_chain
from whistle.db import engine as db
from whistle.db.migrations import migrate
from whistle.settings import Settings

START = datetime(2026, 1, 1, tzinfo=UTC)
CHUNK = 50_000
# A plausible mix of entries: actors, actions, case numbers and small details.
TEMPLATES = [
    ("siti", actions.LOGIN, None, {}),
    ("siti", actions.CASE_OPENED, True, {}),
    ("siti", actions.CASE_STATUS_CHANGED, True, {"from": "received", "to": "verification"}),
    ("reporter", actions.REPORT_RECEIVED, True, {"category": "pungli", "key_holders": 3}),
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


def bare_rate(count: int) -> float:
    """What verify computes per entry, over rows already in memory: entries per second."""
    rows = next(chain(count))
    started = time.perf_counter()
    for _seq, at, actor, action, case_number, details, previous, digest in rows:
        parsed = json.loads(details)
        assert canonical_json(parsed) == details
        assert digest == entry_hash(
            prev_hash=previous,
            seq=_seq,
            at=at,
            actor=actor,
            action=action,
            case_number=case_number,
            details=parsed,
        )
    return len(rows) / (time.perf_counter() - started)


async def migrated(settings: Settings) -> None:
    engine = await db.open_database(settings)
    try:
        await migrate()
    finally:
        await db.close_database(engine)


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
        await connection.execute("ANALYZE audit_entry")
    finally:
        await connection.close()


async def time_verify(settings: Settings, count: int, batch_size: int) -> float:
    engine = await db.open_database(settings)
    try:
        started = time.perf_counter()
        result = await verify_chain(batch_size=batch_size)
        elapsed = time.perf_counter() - started
    finally:
        await db.close_database(engine)
    assert result.ok and result.entries_checked == count, result
    return count / elapsed


def report(label: str, build_seconds: float, rate: float, bare: float, count: int) -> None:
    print(
        f"{label:<11} built in {build_seconds:5.1f} s | verify {rate:10,.0f} entries/s "
        f"({count / rate:5.1f} s for {count:,}) | {rate / bare:4.2f} x bare"
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--batch-size", type=int, default=5000)
    parser.add_argument("--no-postgres", action="store_true", help="SQLite only")
    args = parser.parse_args()
    count = args.entries

    bare = bare_rate(min(count, CHUNK))
    print(f"{count:,} entries, batches of {args.batch_size:,}")
    print(f"bare        JSON parse + canonical JSON + SHA-256: {bare:10,.0f} entries/s")

    with tempfile.TemporaryDirectory(prefix="whistle-bench-") as tmp:
        path = Path(tmp) / "audit.db"
        settings = Settings(database_url=f"sqlite:///{path}", keys_dir=Path(tmp) / "keys")
        await migrated(settings)
        started = time.perf_counter()
        fill_sqlite(path, count)
        built = time.perf_counter() - started
        rate = await time_verify(settings, count, args.batch_size)
        report("SQLite", built, rate, bare, count)

    if args.no_postgres:
        return
    cluster = PostgresCluster.start()
    try:
        import asyncpg

        admin = await asyncpg.connect(cluster.url("postgres"))
        await admin.execute("CREATE DATABASE bench")
        await admin.close()
        settings = Settings(database_url=cluster.url("bench"), keys_dir=Path("keys"))
        await migrated(settings)
        started = time.perf_counter()
        await fill_postgres(cluster.url("bench"), count)
        built = time.perf_counter() - started
        rate = await time_verify(settings, count, args.batch_size)
        report("PostgreSQL", built, rate, bare, count)
    finally:
        cluster.stop()


if __name__ == "__main__":
    asyncio.run(main())

"""Inbox benchmark: page latency (median and p95) with 100,000 cases, on SQLite and PostgreSQL.

Seeds metadata rows with dummy ciphertext in bulk (the inbox never decrypts), a key wrap of every
case for one triage officer and a few assigned cases for one investigator, then times the inbox
service function for several views and prints the query plan of the default view.

    .venv/bin/python -m bench.inbox [--cases 100000] [--runs 50]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import secrets
import sqlite3
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg

from tests.support.postgres import PostgresCluster
from whistle.cases.inbox import InboxFilter, inbox, inbox_sql, mark_counts
from whistle.crypto import Argon2Params, Keyring, init_keys
from whistle.db import engine as db
from whistle.db.migrations import migrate
from whistle.reports import statuses as st
from whistle.reports.content import CATEGORIES
from whistle.reports.envelope import configure_holder_tag_key, holder_tag
from whistle.settings import Settings

NOW = datetime.now(UTC)
TRIAGE_ID, INVESTIGATOR_ID = 1, 2
ASSIGNED = 25
STATUS_WEIGHTS = {
    st.RECEIVED: 4,
    st.VERIFICATION: 8,
    st.INVESTIGATION: 12,
    st.CONCLUDED: 25,
    st.NOT_ACTIONABLE: 10,
    st.REFERRED: 6,
    st.ARCHIVED: 35,
}
VIEWS: dict[str, Callable[[], InboxFilter]] = {
    "triage, default (all, by deadline)": lambda: InboxFilter(),
    "triage, open + category pungli": lambda: InboxFilter(status="open", category="pungli"),
    "triage, overdue": lambda: InboxFilter(due="overdue"),
    "triage, priority urgent": lambda: InboxFilter(priority="urgent"),
    "triage, status investigation, page 20": lambda: InboxFilter(status="investigation", page=20),
    "triage, assignee = investigator": lambda: InboxFilter(assignee=str(INVESTIGATOR_ID)),
    "triage, newest first": lambda: InboxFilter(sort="newest"),
    "triage, mark unread answer": lambda: InboxFilter(mark="unread"),
    "triage, mark waiting for reporter": lambda: InboxFilter(mark="waiting"),
    "triage, mark never opened": lambda: InboxFilter(mark="new"),
}


def fake_cases(count: int) -> list[dict]:
    """Metadata as intake and the workflow would have left it; dummy bytes for ciphertext."""
    rng = random.Random(42)
    statuses = list(STATUS_WEIGHTS)
    weights = list(STATUS_WEIGHTS.values())
    categories = list(CATEGORIES)
    rows = []
    for number in range(1, count + 1):
        received = (NOW - timedelta(hours=rng.randrange(3 * 365 * 24))).replace(
            minute=0, second=0, microsecond=0
        )
        status = rng.choices(statuses, weights)[0]
        acknowledged = None if status == st.RECEIVED else received + timedelta(days=2)
        rows.append(
            {
                "id": uuid.UUID(int=rng.getrandbits(128), version=4),
                "case_number": f"{received.year}-{number:06d}",
                "lookup_id": secrets.token_hex(32),
                "category": rng.choice(categories),
                "status": status,
                "priority": rng.choices(["low", "normal", "high", "urgent"], [2, 14, 3, 1])[0],
                "retaliation_risk": rng.random() < 0.05,
                "received_at": received,
                "acknowledge_due": received + timedelta(days=7),
                "acknowledged_at": acknowledged,
                "feedback_due": acknowledged + timedelta(days=90) if acknowledged else None,
                "updated_at": received,
            }
        )
    return rows


REPORT_COLUMNS = [
    "id",
    "case_number",
    "lookup_id",
    "category",
    "status",
    "priority",
    "retaliation_risk",
    "received_at",
    "acknowledge_due",
    "acknowledged_at",
    "feedback_due",
    "updated_at",
    "content",
]
DUMMY = b"\x01" + bytes(60)


def officer_rows() -> list[tuple]:
    return [
        (TRIAGE_ID, "triage", "Triage", True, "x", False, b"k", b"k", NOW),
        (
            INVESTIGATOR_ID,
            "investigator",
            "Investigator",
            True,
            "x",
            False,
            b"k",
            b"k",
            NOW,
        ),
    ]


OFFICER_ROLES = [(TRIAGE_ID, "triage"), (INVESTIGATOR_ID, "investigator")]

OFFICER_COLUMNS = [
    "id",
    "username",
    "display_name",
    "active",
    "password_hash",
    "must_change_password",
    "public_key",
    "private_key_protected",
    "created_at",
]


def _insert(table: str, columns: list[str]) -> str:
    # Constant table and column names from this file only.
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"  # noqa: S608


def seed_sqlite(path: Path, cases: list[dict]) -> None:
    def text(value):
        if isinstance(value, datetime):
            return str(value.astimezone(UTC))
        if isinstance(value, uuid.UUID):
            return str(value)
        if isinstance(value, bool):
            return int(value)
        return value

    connection = sqlite3.connect(path)
    with connection:
        connection.executemany(
            _insert("officer", OFFICER_COLUMNS),
            [tuple(text(v) for v in row) for row in officer_rows()],
        )
        connection.executemany(
            "INSERT INTO officer_role (officer, role) VALUES (?, ?)", OFFICER_ROLES
        )
        connection.executemany(
            _insert("report", REPORT_COLUMNS),
            [tuple(text(case.get(c, DUMMY)) for c in REPORT_COLUMNS) for case in cases],
        )
        connection.executemany(
            "INSERT INTO report_key (report, holder, holder_tag, wrapped) VALUES (?, ?, ?, ?)",
            [(str(case["id"]), "officer", holder_tag(TRIAGE_ID), DUMMY) for case in cases]
            + [
                (str(case["id"]), "officer", holder_tag(INVESTIGATOR_ID), DUMMY)
                for case in assigned(cases)
            ],
        )
        connection.executemany(
            "INSERT INTO case_assignment (report, officer, assigned_by, assigned_at) "
            "VALUES (?, ?, ?, ?)",
            [(str(c["id"]), INVESTIGATOR_ID, TRIAGE_ID, text(NOW)) for c in assigned(cases)],
        )
    connection.execute("ANALYZE")
    connection.close()


async def seed_postgres(url: str, cases: list[dict]) -> None:
    connection = await asyncpg.connect(url)
    try:
        await connection.copy_records_to_table(
            "officer", records=officer_rows(), columns=OFFICER_COLUMNS
        )
        await connection.execute("SELECT setval('officer_id_seq', 10)")
        await connection.copy_records_to_table(
            "officer_role", records=OFFICER_ROLES, columns=["officer", "role"]
        )
        await connection.copy_records_to_table(
            "report",
            records=[tuple(case.get(c, DUMMY) for c in REPORT_COLUMNS) for case in cases],
            columns=REPORT_COLUMNS,
        )
        await connection.copy_records_to_table(
            "report_key",
            records=[(case["id"], "officer", holder_tag(TRIAGE_ID), DUMMY) for case in cases]
            + [
                (case["id"], "officer", holder_tag(INVESTIGATOR_ID), DUMMY)
                for case in assigned(cases)
            ],
            columns=["report", "holder", "holder_tag", "wrapped"],
        )
        await connection.copy_records_to_table(
            "case_assignment",
            records=[(c["id"], INVESTIGATOR_ID, TRIAGE_ID, NOW) for c in assigned(cases)],
            columns=["report", "officer", "assigned_by", "assigned_at"],
        )
        await connection.execute("ANALYZE")
    finally:
        await connection.close()


def assigned(cases: list[dict]) -> list[dict]:
    return [case for case in cases if case["status"] == st.INVESTIGATION][:ASSIGNED]


async def timed(officer_id: int, view: InboxFilter, runs: int) -> tuple[float, float, int]:
    await inbox(officer_id, view, due_soon_days=3)  # warm the cache and the connection
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        page = await inbox(officer_id, view, due_soon_days=3)
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    p95 = samples[min(len(samples) - 1, round(0.95 * len(samples)) - 1)]
    return statistics.median(samples), p95, len(page.rows)


async def plan(view: InboxFilter) -> list[str]:
    text, args = inbox_sql(TRIAGE_ID, view, now=NOW, due_soon_days=3, small=False)
    if db.is_sqlite():
        return [row["detail"] for row in await db.fetch("EXPLAIN QUERY PLAN " + text, *args)]
    return [row["QUERY PLAN"] for row in await db.fetch("EXPLAIN " + text, *args)]


async def measure(settings: Settings, label: str, seed, runs: int) -> None:
    engine = await db.open_database(settings)
    try:
        await migrate()
        started = time.perf_counter()
        await seed()
        print(f"\n{label}: seeded in {time.perf_counter() - started:.1f} s")
        print("  plan of the default view:")
        for line in await plan(InboxFilter()):
            print(f"    {line}")
        for name, make in VIEWS.items():
            median, p95, shown = await timed(TRIAGE_ID, make(), runs)
            print(f"  {name:<42} median {median:7.2f} ms  p95 {p95:7.2f} ms  ({shown} rows)")
        median, p95, shown = await timed(INVESTIGATOR_ID, InboxFilter(), runs)
        name = f"investigator ({ASSIGNED} assigned), default"
        print(f"  {name:<42} median {median:7.2f} ms  p95 {p95:7.2f} ms  ({shown} rows)")
        # The mark counts are part of every page above: their own share, for the triage officer.
        samples = []
        for _ in range(runs):
            started = time.perf_counter()
            await mark_counts(TRIAGE_ID)
            samples.append((time.perf_counter() - started) * 1000)
        name = "  of which the mark counts (triage)"
        print(f"{name:<44} median {statistics.median(samples):7.2f} ms")
    finally:
        await db.close_database(engine)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=50)
    args = parser.parse_args()
    cases = fake_cases(args.cases)
    print(f"{args.cases} cases, {args.runs} runs per view, page size 50")
    with tempfile.TemporaryDirectory(prefix="whistle-bench-") as tmp:
        root = Path(tmp)
        init_keys(root / "keys", "benchmark office passphrase", Argon2Params(256, 1, 1))
        configure_holder_tag_key(Keyring.load(root / "keys").holder_tag_key)
        base = Settings(keys_dir=root / "keys")
        sqlite_path = root / "bench.db"

        async def seed_sqlite_file() -> None:
            seed_sqlite(sqlite_path, cases)

        await measure(
            base.with_changes(database_url=f"sqlite:///{sqlite_path}"),
            "SQLite",
            seed_sqlite_file,
            args.runs,
        )
        cluster = PostgresCluster.start()
        try:
            admin = await asyncpg.connect(cluster.url("postgres"))
            await admin.execute("CREATE DATABASE bench")
            await admin.close()
            url = cluster.url("bench")
            await measure(
                base.with_changes(database_url=url),
                "PostgreSQL",
                lambda: seed_postgres(url, cases),
                args.runs,
            )
        finally:
            cluster.stop()


if __name__ == "__main__":
    asyncio.run(main())

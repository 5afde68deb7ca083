"""What the benchmarks share about the servers they measure: a fresh database on each engine
(bench.intake, bench.memory, bench.uploads), seeded data written out before measuring, and a
running `whistle serve` process's pid, CPU time and memory, read from /proc (bench.mixed,
bench.memory, bench.uploads)."""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable
from pathlib import Path

from tests.support.postgres import PostgresCluster
from whistle.db import engine as db
from whistle.db.migrations import migrate
from whistle.settings import Settings

ENGINES = ("both", "sqlite", "postgres")


async def migrated(settings: Settings) -> None:
    """Give the database the settings name the application's schema."""
    engine = await db.open_database(settings)
    try:
        await migrate()
    finally:
        await db.close_database(engine)


async def on_each_engine(
    engines: str,
    root: Path,
    base: Settings,
    measure: Callable[[Settings, str, Path], Awaitable[None]],
) -> None:
    """``measure(settings, label, log)`` on a SQLite file in ``root``, then on a throw-away
    PostgreSQL cluster (``engines``: one of ENGINES); each database starts empty. The cluster
    syncs its commits as a production server does, as SQLite does (synchronous=FULL): a
    submission is acknowledged only once it is on disk on both engines."""
    if engines in ("both", "sqlite"):
        sqlite_url = f"sqlite:///{root / 'bench.db'}"
        await measure(base.with_changes(database_url=sqlite_url), "SQLite", root / "s")
    if engines in ("both", "postgres"):
        cluster = PostgresCluster.start(durable=True)
        try:
            import asyncpg

            admin = await asyncpg.connect(cluster.url("postgres"))
            await admin.execute("CREATE DATABASE bench")
            await admin.close()
            await measure(
                base.with_changes(database_url=cluster.url("bench")), "PostgreSQL", root / "p"
            )
        finally:
            cluster.stop()


def settle_writes() -> None:
    """Write freshly seeded data out before measuring: left to the kernel, the writeback of its
    dirty pages starts about 30 s later (vm.dirty_expire_centisecs), in the middle of the
    measurement, and takes CPU from whichever round it lands in. The pages stay cached."""
    os.sync()


def server_pid(port: int) -> int:
    """The `whistle serve` process listening on ``port`` (found by its command line)."""
    wanted = ["serve", "--port", str(port)]
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            argv = Path(f"/proc/{entry}/cmdline").read_bytes().decode().split("\0")
        except OSError:
            continue
        if any(argv[i : i + 3] == wanted for i in range(len(argv))):
            return int(entry)
    raise RuntimeError(f"no server on port {port}")


def _stat(pid: int) -> list[str]:
    """The fields of /proc/PID/stat after the command name (field 3 onwards)."""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def cpu_seconds(pid: int) -> float:
    return sum(cpu_split(pid))


def cpu_split(pid: int) -> tuple[float, float]:
    """(user, system) CPU seconds of the process so far."""
    fields = _stat(pid)
    tick = os.sysconf("SC_CLK_TCK")
    return int(fields[11]) / tick, int(fields[12]) / tick


def tree_cpu_seconds(pid: int) -> float:
    """CPU seconds of the process, its live children and the children it has reaped (a
    PostgreSQL postmaster and its backends)."""
    tick = os.sysconf("SC_CLK_TCK")
    fields = _stat(pid)
    total = sum(int(fields[index]) for index in (11, 12, 13, 14))
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == pid:
            continue
        try:
            child = _stat(int(entry))
        except OSError:
            continue
        if int(child[1]) == pid:
            total += sum(int(child[index]) for index in (11, 12, 13, 14))
    return total / tick


def status_mib(pid: int, field: str) -> float:
    """A memory figure of /proc/PID/status in MiB (VmRSS now, VmHWM the peak)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"{field} missing")


def reset_peak(pid: int) -> bool:
    """Reset the process's peak resident memory (VmHWM) to its current size; False where the
    kernel or the permissions do not allow it (the peak then counts from the start)."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    except OSError:
        return False
    return True

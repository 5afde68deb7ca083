"""Everything a thief would get: the SQLite files (with WAL) or a pg_dump of the database."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.support.postgres import PostgresCluster
from whistle.settings import Settings


def database_copy(settings: Settings, cluster: PostgresCluster) -> bytes:
    if settings.is_sqlite:
        path = settings.sqlite_path
        files = [Path(f"{path}{suffix}") for suffix in ("", "-wal", "-shm")]
        return b"".join(file.read_bytes() for file in files if file.exists())
    database = settings.database_url.rsplit("/", 1)[1]
    command = [str(cluster.bindir / "pg_dump"), "-h", "127.0.0.1", "-p", str(cluster.port)]
    return subprocess.run(
        [*command, "-U", cluster.user, database], capture_output=True, check=True
    ).stdout


def copied_rows(
    settings: Settings, cluster: PostgresCluster, table: str, directory: Path
) -> list[dict[str, str]]:
    """A table's rows as a thief reads them from a copy, every value as text (bytes as hex):
    the SQLite files copied aside and opened, or the COPY block of a pg_dump."""
    if settings.is_sqlite:
        import shutil
        import sqlite3

        target = directory / "stolen.db"
        for suffix in ("", "-wal"):
            source = Path(f"{settings.sqlite_path}{suffix}")
            if source.exists():
                shutil.copyfile(source, Path(f"{target}{suffix}"))
        connection = sqlite3.connect(target)
        try:
            cursor = connection.execute(f"SELECT * FROM {table}")  # noqa: S608 - a test's table
            names = [column[0] for column in cursor.description]
            rows = cursor.fetchall()
        finally:
            connection.close()
        return [
            {
                name: value.hex() if isinstance(value, bytes) else str(value)
                for name, value in zip(names, row, strict=True)
            }
            for row in rows
        ]
    dump = database_copy(settings, cluster).decode()
    header = f"COPY public.{table} ("
    start = dump.index(header)
    names = dump[start + len(header) : dump.index(")", start)].split(", ")
    body = dump[dump.index("\n", start) + 1 : dump.index("\n\\.\n", start)]
    return [
        {
            name: value.removeprefix("\\\\x")
            for name, value in zip(names, line.split("\t"), strict=True)
        }
        for line in body.splitlines()
        if line
    ]

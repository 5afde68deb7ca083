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

"""A throw-away PostgreSQL cluster for the test session, from the machine's own binaries.

PostgreSQL refuses to run as root, so as root the cluster belongs to the `postgres` system user.
A missing server is a failure with a clear message, never a silent skip: PostgreSQL is the
production engine.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path


def find_bindir() -> Path:
    candidates = []
    if pg_config := shutil.which("pg_config"):
        out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=False)
        candidates.append(Path(out.stdout.strip()))
    candidates += sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)
    for bindir in candidates:
        if (bindir / "initdb").exists() and (bindir / "pg_ctl").exists():
            return bindir
    raise RuntimeError(
        "PostgreSQL server binaries (initdb, pg_ctl) not found: install the Debian package "
        "'postgresql' (.ci/run does) - the suite tests PostgreSQL for real."
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class PostgresCluster:
    bindir: Path
    directory: Path
    port: int
    user: str = "postgres"
    options: str = ""

    def url(self, database: str) -> str:
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/{database}"

    def _run(self, *args: str) -> None:
        command = [str(a) for a in args]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True)

    @classmethod
    def start(cls, *, durable: bool = False, directory: Path | None = None) -> PostgresCluster:
        """A throw-away cluster; without ``durable`` it skips fsync (tests need no crash
        safety), with it it syncs commits as a production server does (benchmarks). With
        ``directory`` (a benchmark keeping its seeded data) the cluster lives there, and a
        cluster already there is started again; stop it with ``pause`` to keep it."""
        bindir = find_bindir()
        if directory is None:
            directory = Path(tempfile.mkdtemp(prefix="whistle-pg-"))
        directory.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(directory, "postgres", "postgres")
        cluster = cls(bindir=bindir, directory=directory, port=free_port())
        data = directory / "data"
        if not (data / "PG_VERSION").exists():
            cluster._run(
                bindir / "initdb",
                "-D",
                data,
                "-U",
                cluster.user,
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-sync",
            )
        options = f"-p {cluster.port} -k {directory} -c listen_addresses=127.0.0.1 "
        if not durable:
            options += "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
        options += "-c max_connections=200"
        cluster.options = options
        cluster._run(
            bindir / "pg_ctl", "-D", data, "-o", options, "-l", directory / "log", "-w", "start"
        )
        cluster._wait_for_port()
        return cluster

    def _wait_for_port(self) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"PostgreSQL did not start; see {self.directory / 'log'}")

    def pause(self) -> None:
        """Stop the server as an administrator would (open connections cut, committed data
        flushed: the cluster runs with synchronous_commit off), keeping its data."""
        self._run(self.bindir / "pg_ctl", "-D", self.directory / "data", "-m", "fast", "stop")

    def resume(self) -> None:
        """Start the paused server again on the same port and data."""
        data = self.directory / "data"
        log = self.directory / "log"
        self._run(self.bindir / "pg_ctl", "-D", data, "-o", self.options, "-l", log, "-w", "start")
        self._wait_for_port()

    def stop(self) -> None:
        try:
            self._run(
                self.bindir / "pg_ctl", "-D", self.directory / "data", "-m", "immediate", "stop"
            )
        finally:
            shutil.rmtree(self.directory, ignore_errors=True)

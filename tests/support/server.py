"""Run `whistle serve` as a real process on a free loopback port, for tests that need one."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.support.postgres import free_port
from whistle.settings import Settings


def server_env(settings: Settings, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "WHISTLE_DATABASE_URL": settings.database_url,
        "WHISTLE_KEYS_DIR": str(settings.keys_dir),
        "WHISTLE_ARGON2_MEMORY_KIB": str(settings.argon2_memory_kib),
        "WHISTLE_ARGON2_ITERATIONS": str(settings.argon2_iterations),
        "WHISTLE_DEVELOPMENT": "true",
        "WHISTLE_STRICT_TEMPLATES": "true",
        **extra,
    }


@contextmanager
def running_server(settings: Settings, log: Path, **extra_env: str) -> Iterator[str]:
    """Yield the base URL of a live server; its combined output goes to ``log``."""
    port = free_port()
    command = [sys.executable, "-m", "whistle.cli", "serve", "--port", str(port)]
    with serving(command, port, log, env=server_env(settings, **extra_env)) as url:
        yield url


@contextmanager
def serving(
    command: list[str], port: int, log: Path, *, env: dict[str, str], cwd: Path | None = None
) -> Iterator[str]:
    """Run ``command`` (a server listening on ``port``) until the block ends; yield its URL."""
    with serving_process(command, port, log, env=env, cwd=cwd) as (url, _):
        yield url


@contextmanager
def serving_process(
    command: list[str],
    port: int,
    log: Path,
    *,
    env: dict[str, str],
    cwd: Path | None = None,
    preexec_fn: Callable[[], None] | None = None,
) -> Iterator[tuple[str, subprocess.Popen]]:
    """``serving``, yielding the process too (for tests that act on it)."""
    with log.open("wb") as sink:
        process = subprocess.Popen(
            command, env=env, cwd=cwd, stdout=sink, stderr=subprocess.STDOUT, preexec_fn=preexec_fn
        )
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                raise AssertionError(f"server exited early:\n{log.read_text()}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise AssertionError("server did not start") from None
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}", process
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()

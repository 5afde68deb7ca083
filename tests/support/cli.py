"""Run the real `whistle` command as a subprocess, the way an administrator runs it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def whistle(*args: str, env: dict[str, str], stdin: str | None = None, cwd: Path | None = None):
    return subprocess.run(
        [sys.executable, "-m", "whistle.cli", *args],
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=60,
    )


def fresh_env(directory: Path) -> dict[str, str]:
    """Settings for a new installation under ``directory`` (cheap Argon2id, SQLite)."""
    return {
        **os.environ,
        "WHISTLE_DATABASE_URL": f"sqlite:///{directory / 'data' / 'whistle.db'}",
        "WHISTLE_KEYS_DIR": str(directory / "keys"),
        "WHISTLE_ARGON2_MEMORY_KIB": "256",
        "WHISTLE_ARGON2_ITERATIONS": "1",
        "WHISTLE_DEVELOPMENT": "true",  # cheap Argon2 is a development setting
    }


def passphrase_file(directory: Path, passphrase: str, name: str = "passphrase") -> Path:
    """The office passphrase in a file, as `--passphrase-file` reads it."""
    path = directory / name
    path.write_text(passphrase + "\n")
    return path


def add_officer(
    username: str, role: str, *, password: str, passphrase: Path, env: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    """`whistle officer add` without a terminal: the password on stdin, the office passphrase
    (the second person a content role needs) from the file ``passphrase``."""
    return whistle(
        "officer",
        "add",
        username,
        "--role",
        role,
        "--password-stdin",
        "--passphrase-file",
        str(passphrase),
        env=env,
        stdin=password,
    )

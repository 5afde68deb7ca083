"""The built wheel is complete: installed into a fresh venv outside the checkout, `whistle init`,
`whistle migrate` and `whistle serve` work and a report can be filed through the API.

The fresh venv borrows this venv's third-party packages through a .pth line (nothing is
downloaded); whistle itself comes only from the wheel, and nothing runs inside the checkout.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path
from typing import Any

import httpx

from tests.support.forms import VALID_REPORT
from tests.support.postgres import free_port
from tests.support.server import serving

ROOT = Path(__file__).resolve().parents[2]
# Where each source directory lands inside the installed package.
SOURCES = {
    "whistle": "whistle",
    "templates": "whistle/templates",
    "migrations": "whistle/migrations",
}
PASSWORD = "a long and unusual passphrase 42"


def _run(command: list[Any], **kwargs: Any) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [str(part) for part in command], capture_output=True, text=True, check=False, **kwargs
    )
    assert result.returncode == 0, f"{command} failed:\n{result.stdout}\n{result.stderr}"
    return result


def _shipped_files() -> set[str]:
    """Every file of the source directories, named as it must appear in the wheel."""
    return {
        f"{inside}/{path.relative_to(ROOT / source).as_posix()}"
        for source, inside in SOURCES.items()
        for path in (ROOT / source).rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    }


def _build_wheel(tmp_path: Path) -> Path:
    # Built from a copy so the checkout gets no build/ or egg-info of this run.
    source = tmp_path / "source"
    for name in SOURCES:
        shutil.copytree(ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    out = tmp_path / "dist"
    _run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", out, source]
    )  # fmt: skip
    (wheel,) = out.glob("whistle-*.whl")
    return wheel


def _fresh_venv(tmp_path: Path, wheel: Path) -> Path:
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", venv])
    python = venv / "bin" / "python"
    _run([sys.executable, "-m", "pip", "--python", python, "install", "-q", "--no-deps", wheel])
    purelib = Path(
        _run(
            [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]
        ).stdout.strip()
    )
    # Added after the install so pip never sees this venv's editable whistle.
    (purelib / "borrowed.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return venv


def test_wheel_installs_and_serves_outside_the_checkout(tmp_path: Path) -> None:
    wheel = _build_wheel(tmp_path)
    with zipfile.ZipFile(wheel) as archive:
        in_wheel = set(archive.namelist())
    missing = sorted(_shipped_files() - in_wheel)
    assert not missing, f"files left out of the wheel: {missing}"

    venv = _fresh_venv(tmp_path, wheel)
    work = tmp_path / "work"
    work.mkdir()
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("WHISTLE_", "PICCOLO_", "PYTHON"))
    }
    env |= {
        "WHISTLE_DATABASE_URL": f"sqlite:///{work / 'whistle.db'}",
        "WHISTLE_KEYS_DIR": str(work / "keys"),
        "WHISTLE_ARGON2_MEMORY_KIB": "256",
        "WHISTLE_ARGON2_ITERATIONS": "1",
        "WHISTLE_OFFICE_PASSPHRASE": "correct horse battery staple",
        "WHISTLE_DEVELOPMENT": "true",
    }
    which = [venv / "bin" / "python", "-c", "import whistle; print(whistle.__file__)"]
    origin = _run(which, env=env, cwd=work).stdout.strip()
    assert Path(origin).is_relative_to(venv), origin

    whistle = venv / "bin" / "whistle"
    _run([whistle, "init"], env=env, cwd=work)
    migrated = _run([whistle, "migrate"], env=env, cwd=work).stdout
    assert f"applied {len(list((ROOT / 'migrations').glob('whistle_*.py')))} migration" in migrated
    # Reads the common-password list shipped in the package.
    _run([whistle, "officer", "add", "lead", "--role", "auditor", "--password-stdin"],
         env=env, cwd=work, input=PASSWORD + "\n")  # fmt: skip

    port = free_port()
    command = [str(whistle), "serve", "--host", "127.0.0.1", "--port", str(port)]
    with serving(command, port, tmp_path / "server.log", env=env, cwd=work) as url:
        with httpx.Client(base_url=url, timeout=30) as client:
            filed = client.post("/api/v1/reports", json=VALID_REPORT)
            assert filed.status_code == 201, filed.text
            assert len(filed.json()["tracking_code"]) == 19
            # Templates and the English catalog come from the package.
            assert "Buat Laporan" in client.get("/").text
            client.cookies.set("lang", "en")
            assert "Make a Report" in client.get("/").text
            assert client.get("/static/whistle.css").status_code == 200

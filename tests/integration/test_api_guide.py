"""docs/API_GUIDE.md is a guide that works: every `sh` and `python` block runs against a live
server (``BASE``), and every line of the `text` block after it appears in what it printed. The
sections the messages and evidence work will fill are there, marked, without examples yet."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import anyio
import pytest

from tests.support.server import running_server

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "API_GUIDE.md"
FENCE = re.compile(r"^```(\w*)\n(.*?)^```\n", re.M | re.S)


def examples() -> list[tuple[str, str, str]]:
    """(language, code, expected output) for each runnable block, in the guide's order."""
    blocks = FENCE.findall(GUIDE.read_text())
    found = []
    for index, (language, code) in enumerate(blocks):
        if language in ("sh", "python"):
            following = blocks[index + 1] if index + 1 < len(blocks) else ("", "")
            assert following[0] == "text", f"no expected output after:\n{code}"
            found.append((language, code, following[1]))
    return found


def _run(language: str, code: str, base: str, workdir: Path) -> str:
    env = {
        **os.environ,
        "BASE": base,
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
    }
    command = (
        ["bash", "-euo", "pipefail", "-c", code]
        if language == "sh"
        else [sys.executable, "-c", code]
    )
    done = subprocess.run(
        command, env=env, cwd=workdir, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, f"{language} example failed:\n{code}\n{done.stdout}\n{done.stderr}"
    return done.stdout


def test_the_guide_has_examples_and_the_sections_still_to_come():
    text = GUIDE.read_text()
    assert len(examples()) >= 8
    for section in ("## Pesan", "## Lampiran"):
        body = text.split(section, 1)[1].split("\n## ", 1)[0]
        assert "```" not in body, f"{section} has no examples yet"
    for topic in ("Idempotency-Key", "Retry-After", "413", "422", "409", "503", "Accept-Language"):
        assert topic in text


@pytest.mark.parametrize("engine_name", ["sqlite"])
async def test_every_example_answers_as_documented(settings, tmp_path: Path):
    def run() -> list[str]:
        failures = []
        with running_server(settings, tmp_path / "server.log") as base:
            for language, code, expected in examples():
                output = _run(language, code, base, tmp_path).lower()
                for line in expected.splitlines():
                    if line.strip() and line.strip().lower() not in output:
                        failures.append(f"{line!r} not in the output of:\n{code}\n---\n{output}")
        return failures

    failures = await anyio.to_thread.run_sync(run)
    assert not failures, "\n\n".join(failures)

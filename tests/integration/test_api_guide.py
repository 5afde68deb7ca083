"""docs/API_GUIDE.md is a guide that works: every `sh` and `python` block runs against a live
server (``BASE``), and every line of the `text` block after it appears in what it printed.

Blocks run in the guide's order in one working directory, so a block may use a file an earlier
one wrote (the `token` of the evidence examples). Where the guide has an ``<!-- office: ... -->``
marker, the test acts as the office before the next block: it runs the release, one triage
officer answers the reporter of `token`, asks to reveal their identity and a second approves."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import anyio
import pytest

from tests.support.cases import as_officer
from tests.support.officers import make_officer
from tests.support.release import publish
from tests.support.server import running_server
from whistle.cases import service as cases
from whistle.context import Context
from whistle.db.tables import Report
from whistle.intake import service as intake

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "API_GUIDE.md"
FENCE = re.compile(r"^```(\w*)\n(.*?)^```\n", re.M | re.S)
OFFICE = re.compile(r'^<!-- office: release, reply "(.+?)", reveal "(.+?)" -->$', re.M)
STEP = re.compile(f"{FENCE.pattern}|{OFFICE.pattern}", re.M | re.S)


@dataclass(frozen=True)
class Example:
    language: str
    code: str
    expected: str


@dataclass(frozen=True)
class OfficeActs:
    reply: str
    reveal_reason: str


def steps() -> list[Example | OfficeActs]:
    """The runnable blocks with their expected output, and the office's turns, in order."""
    found: list[Example | OfficeActs] = []
    matches = list(STEP.finditer(GUIDE.read_text()))
    for index, match in enumerate(matches):
        language, code, reply, reason = match.groups()
        if reply is not None:
            found.append(OfficeActs(reply, reason))
        elif language in ("sh", "python"):
            following = matches[index + 1] if index + 1 < len(matches) else None
            assert following is not None and following.group(1) == "text", (
                f"no expected output after:\n{code}"
            )
            found.append(Example(language, code, following.group(2)))
    return found


def examples() -> list[Example]:
    return [step for step in steps() if isinstance(step, Example)]


def _section(text: str, heading: str) -> str:
    return text.split(heading, 1)[1].split("\n## ", 1)[0]


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


def test_every_section_of_the_guide_has_examples():
    text = GUIDE.read_text()
    assert len(examples()) >= 16
    assert sum(isinstance(step, OfficeActs) for step in steps()) == 1
    sections = {
        "## Rilis per jam": ("release_at", "pending"),
        "## Pesan": ("GET /api/v1/report/messages", "POST /api/v1/report/messages", "damaged"),
        "## Identitas": ("POST /api/v1/report/identity", "GET /api/v1/report/identity", "reveals"),
        "## Lampiran": ("POST /api/v1/report/attachments", "multipart/form-data", "removed"),
    }
    for heading, topics in sections.items():
        body = _section(text, heading)
        assert "```python" in body or "```sh" in body, f"{heading} has no example"
        for topic in topics:
            assert topic in body, f"{heading} does not explain {topic}"
    for topic in (
        "Idempotency-Key",
        "Retry-After",
        "413",
        "415",
        "422",
        "409",
        "503",
        "Accept-Language",
    ):
        assert topic in text
    for setting in (
        "WHISTLE_EVIDENCE_FILE_BYTES",
        "WHISTLE_EVIDENCE_FILES_PER_REPORT",
        "WHISTLE_EVIDENCE_REPORT_BYTES",
        "WHISTLE_RELEASE_MINUTES",
    ):
        assert setting in text


async def _office_acts(ctx: Context, workdir: Path, acts: OfficeActs) -> None:
    """What the office does between two blocks, through the real services: the release, an
    answer to the reporter of the `token` file, a reveal asked by one and approved by another."""
    await publish(ctx)
    report_id, _ = await intake.reporter_session(ctx, (workdir / "token").read_text().strip())
    row = await Report.select(Report.case_number).where(Report.id == report_id).first()
    tina, tomi = await as_officer(ctx, "tina"), await as_officer(ctx, "tomi")
    await cases.send_message(tina, row["case_number"], acts.reply)
    await cases.request_identity_reveal(tina, row["case_number"], acts.reveal_reason)
    await cases.decide_identity_reveal(tomi, row["case_number"], approve=True)


def _documented_paths(base: str) -> set[str]:
    with urllib.request.urlopen(f"{base}/schema/openapi.json", timeout=30) as answer:  # noqa: S310
        return {path for path in json.load(answer)["paths"] if path.startswith("/api/v1/")}


@pytest.mark.parametrize("engine_name", ["sqlite"])
async def test_every_example_answers_as_documented(settings, ctx, tmp_path: Path):
    # Triage officers exist before any report is filed, so every report's key is theirs too.
    await make_officer(ctx, "tina", ["triage"])
    await make_officer(ctx, "tomi", ["triage"])
    workdir = tmp_path / "work"
    workdir.mkdir()
    failures = []
    with running_server(settings, tmp_path / "server.log") as base:
        for step in steps():
            if isinstance(step, OfficeActs):
                await _office_acts(ctx, workdir, step)
                continue
            output = await anyio.to_thread.run_sync(_run, step.language, step.code, base, workdir)
            for line in step.expected.splitlines():
                if line.strip() and line.strip().lower() not in output.lower():
                    failures.append(f"{line!r} not in the output of:\n{step.code}\n---\n{output}")
        paths = await anyio.to_thread.run_sync(_documented_paths, base)
    guide = GUIDE.read_text()
    # /api/v1/stats belongs to the transparency pages, not to the reporter's app.
    undocumented = {path for path in paths - {"/api/v1/stats"} if path not in guide}
    assert not failures, "\n\n".join(failures)
    assert not undocumented, f"the guide does not mention {sorted(undocumented)}"

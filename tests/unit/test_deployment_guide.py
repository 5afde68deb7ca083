"""The deployment guide names only commands, options and settings that exist.

Every `whistle ...` in a fenced block of docs/DEPLOYMENT.md is walked through the real click
command tree (subcommands and --options), and every WHISTLE_* name anywhere in the guide must be
one that whistle/settings.py reads.
"""

from __future__ import annotations

import re
from pathlib import Path

import click
import pytest

from whistle.cli import main

ROOT = Path(__file__).resolve().parents[2]
GUIDE = ROOT / "docs" / "DEPLOYMENT.md"
FENCE = re.compile(r"^```[a-z]*\n(.*?)^```", re.MULTILINE | re.DOTALL)
# `whistle` as a command word: at a line start, after a space, or as .../bin/whistle.
INVOCATION = re.compile(r"(?:^|[\s=]|/bin/)whistle((?:[ \t]+[^\s#]+)*)", re.MULTILINE)
SETTING = re.compile(r"\bWHISTLE_[A-Z0-9_]+\b")


def fenced_blocks(text: str) -> list[str]:
    return FENCE.findall(text)


def invocations(text: str) -> list[list[str]]:
    found = []
    for block in fenced_blocks(text):
        for match in INVOCATION.finditer(block):
            words = match.group(1).split()
            if words and re.fullmatch(r"[a-z][a-z-]*", words[0]):
                found.append(words)
    return found


def check_invocation(words: list[str]) -> None:
    command: click.Command = main
    index = 0
    while isinstance(command, click.Group) and index < len(words):
        sub = command.get_command(click.Context(command), words[index])
        assert sub is not None, f"`whistle {' '.join(words)}`: no subcommand {words[index]!r}"
        command, index = sub, index + 1
    assert not isinstance(command, click.Group), f"`whistle {' '.join(words)}` is incomplete"
    known = {opt for param in command.params for opt in param.opts}
    for word in words[index:]:
        option = word.split("=", 1)[0]
        if option.startswith("--"):
            assert option in known, f"`whistle {' '.join(words)}`: no option {option}"


def settings_read_by_the_code() -> set[str]:
    source = (ROOT / "whistle" / "settings.py").read_text()
    return set(SETTING.findall(source)) - {"WHISTLE_KDF_CONCURRENCY"}  # retired, refused


def test_the_guide_names_commands_in_fenced_blocks():
    found = {words[0] for words in invocations(GUIDE.read_text())}
    # The guide walks through the whole life of an installation.
    assert {"init", "migrate", "db", "officer", "serve", "worker", "backup", "restore"} <= found


@pytest.mark.parametrize("words", invocations(GUIDE.read_text()), ids=" ".join)
def test_every_command_in_the_guide_exists(words):
    check_invocation(words)


def test_every_setting_in_the_guide_exists():
    named = set(SETTING.findall(GUIDE.read_text()))
    assert named, "the guide names no setting"
    assert named <= settings_read_by_the_code(), named - settings_read_by_the_code()


def test_the_checker_refuses_what_does_not_exist():
    with pytest.raises(AssertionError):
        check_invocation(["officer", "promote", "budi"])
    with pytest.raises(AssertionError):
        check_invocation(["backup", "x.dump", "--compress"])
    with pytest.raises(AssertionError):
        check_invocation(["db"])
    assert invocations("```sh\n/opt/whistle/.venv/bin/whistle serve --port 1\n```\n") == [
        ["serve", "--port", "1"]
    ]

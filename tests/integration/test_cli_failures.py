"""The common mistakes an administrator makes with `whistle`, each answered by one English
sentence and a non-zero exit, never a traceback. Run as real subprocesses."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.test_cli import PASSPHRASE
from tests.support.cli import add_officer, fresh_env, passphrase_file, whistle
from tests.support.postgres import free_port

PASSWORD = "a long and unusual passphrase 42\n"


def assert_one_sentence(result, expected: str) -> None:
    assert result.returncode != 0, result.stdout
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: ") and expected in lines[0], lines[0]


@pytest.fixture
def cli_env(tmp_path: Path) -> dict[str, str]:
    return fresh_env(tmp_path)


@pytest.fixture
def initialised(cli_env):
    assert whistle("init", env={**cli_env, "WHISTLE_OFFICE_PASSPHRASE": PASSPHRASE}).returncode == 0
    return cli_env


@pytest.fixture
def migrated(initialised):
    assert whistle("migrate", env=initialised).returncode == 0
    return initialised


@pytest.mark.parametrize(
    "command",
    [["officer", "list"], ["audit", "verify"], ["worker", "--once"], ["serve", "--port", "1"]],
)
def test_no_keys(cli_env, command):
    assert_one_sentence(whistle(*command, env=cli_env), "whistle init")


@pytest.mark.parametrize(
    "command",
    [
        ["officer", "list"],
        ["audit", "verify"],
        ["worker", "--once"],
        ["serve", "--port", "1"],
        ["officer", "add", "siti", "--role", "triage", "--password-stdin"],
    ],
)
def test_not_migrated(initialised, command):
    result = whistle(*command, env=initialised, stdin=PASSWORD)
    assert_one_sentence(result, "run `whistle migrate` first")


@pytest.mark.parametrize(
    "command", [["migrate"], ["officer", "list"], ["serve", "--port", "1"], ["backup", "x.db"]]
)
def test_postgresql_unreachable(initialised, command, tmp_path):
    url = f"postgresql://whistle:secret-password@127.0.0.1:{free_port()}/whistle"
    result = whistle(*command, env={**initialised, "WHISTLE_DATABASE_URL": url}, cwd=tmp_path)
    assert_one_sentence(result, "cannot be reached")
    assert "secret-password" not in result.stderr


def test_sqlite_directory_unusable(initialised, tmp_path):
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    url = f"sqlite:///{blocker / 'whistle.db'}"
    result = whistle("migrate", env={**initialised, "WHISTLE_DATABASE_URL": url})
    assert_one_sentence(result, "cannot be reached")


def test_wrong_passphrase(migrated, tmp_path: Path):
    passphrase = passphrase_file(tmp_path, PASSPHRASE)
    added = add_officer("siti", "triage", password=PASSWORD, passphrase=passphrase, env=migrated)
    assert added.returncode == 0, added.stderr
    result = whistle(
        "keys",
        "recover",
        "--officer",
        "siti",
        env={**migrated, "WHISTLE_OFFICE_PASSPHRASE": "not the office passphrase"},
    )
    assert_one_sentence(result, "wrong passphrase")


def test_name_taken_in_english(migrated):
    command = ["officer", "add", "siti", "--role", "auditor", "--password-stdin"]
    assert whistle(*command, env=migrated, stdin=PASSWORD).returncode == 0
    assert_one_sentence(whistle(*command, env=migrated, stdin=PASSWORD), "already taken")


def test_restore_refuses_a_database_that_is_not_empty(migrated, tmp_path: Path):
    copy = tmp_path / "copy.db"
    taken = whistle("backup", str(copy), env=migrated)
    assert taken.returncode == 0, taken.stderr
    assert_one_sentence(whistle("restore", str(copy), env=migrated), "not empty")


@pytest.mark.parametrize("role", ["triage", "investigator"])
def test_adding_a_content_role_needs_the_office_passphrase(migrated, tmp_path: Path, role):
    command = ["officer", "add", "siti", "--role", role, "--password-stdin"]
    # $WHISTLE_OFFICE_PASSPHRASE does not stand in: the passphrase is given on purpose, as a file.
    env = {**migrated, "WHISTLE_OFFICE_PASSPHRASE": PASSPHRASE}
    assert_one_sentence(whistle(*command, env=env, stdin=PASSWORD), "second person")
    wrong = passphrase_file(tmp_path, "not the office passphrase", name="wrong")
    refused = add_officer("siti", role, password=PASSWORD, passphrase=wrong, env=migrated)
    assert_one_sentence(refused, "wrong passphrase")
    assert "siti" not in whistle("officer", "list", env=migrated).stdout

    right = passphrase_file(tmp_path, PASSPHRASE, name="right")
    added = add_officer("siti", role, password=PASSWORD, passphrase=right, env=migrated)
    assert added.returncode == 0, added.stderr
    assert f"siti\t{role}\tactive" in whistle("officer", "list", env=migrated).stdout
    # Roles that open no report content need no second person.
    other = ["officer", "add", "rudi", "--role", "auditor", "--password-stdin"]
    assert whistle(*other, env=migrated, stdin=PASSWORD).returncode == 0

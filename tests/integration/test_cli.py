"""The `whistle` command on a fresh directory: init, migrate, officer add, serve refusing
without keys. Run as real subprocesses, the way an administrator runs them."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from tests.support.cli import add_officer, fresh_env, passphrase_file, whistle
from whistle.crypto.keyring import REQUIRED_FILES

PASSPHRASE = "a very long office passphrase"


@pytest.fixture
def cli_env(tmp_path: Path) -> dict[str, str]:
    return fresh_env(tmp_path)


def test_every_command_has_help(cli_env):
    for command in (
        [],
        ["init"],
        ["migrate"],
        ["serve"],
        ["officer", "add"],
        ["audit"],
        ["keys"],
    ):
        result = whistle(*command, "--help", env=cli_env)
        assert result.returncode == 0, result.stderr
        assert "Usage:" in result.stdout


def test_init_creates_private_key_files_once_and_never_overwrites(cli_env, tmp_path):
    first = whistle(
        "init", "--passphrase-file", str(passphrase_file(tmp_path, PASSPHRASE)), env=cli_env
    )
    assert first.returncode == 0, first.stderr
    keys = tmp_path / "keys"
    names = sorted(path.name for path in keys.iterdir())
    assert set(REQUIRED_FILES) <= set(names)
    for path in keys.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path.name
    before = {path.name: path.read_bytes() for path in keys.iterdir()}
    second = whistle("init", env={**cli_env, "WHISTLE_OFFICE_PASSPHRASE": "another passphrase!"})
    assert second.returncode == 0
    assert "nothing changed" in second.stdout
    assert {path.name: path.read_bytes() for path in keys.iterdir()} == before
    assert PASSPHRASE not in first.stdout + first.stderr


def test_init_refuses_a_short_passphrase_without_echoing_it(cli_env):
    result = whistle("init", env={**cli_env, "WHISTLE_OFFICE_PASSPHRASE": "short9"})
    assert result.returncode != 0
    assert "at least 12" in result.stderr
    assert "short9" not in result.stderr + result.stdout


def test_migrate_then_officer_add_non_interactively(cli_env, tmp_path):
    assert whistle("init", env={**cli_env, "WHISTLE_OFFICE_PASSPHRASE": PASSPHRASE}).returncode == 0
    migrated = whistle("migrate", env=cli_env)
    assert migrated.returncode == 0, migrated.stderr
    assert "applied" in migrated.stdout
    assert "up to date" in whistle("migrate", env=cli_env).stdout
    # Triage opens report content: the office passphrase stands as the second person.
    passphrase = passphrase_file(tmp_path, PASSPHRASE)

    added = add_officer(
        "siti",
        "triage",
        password="a long and unusual passphrase 42\n",
        passphrase=passphrase,
        env=cli_env,
    )
    assert added.returncode == 0, added.stderr
    assert "unusual passphrase" not in added.stdout + added.stderr
    weak = add_officer(
        "budi", "triage", password="password123\n", passphrase=passphrase, env=cli_env
    )
    assert weak.returncode != 0
    assert "at least 12 characters" in weak.stderr
    duplicate = add_officer(
        "siti",
        "triage",
        password="another long passphrase 77\n",
        passphrase=passphrase,
        env=cli_env,
    )
    assert duplicate.returncode != 0
    assert "already taken" in duplicate.stderr


def test_serve_refuses_to_start_without_keys(cli_env):
    result = whistle("serve", "--port", "1", env=cli_env)
    assert result.returncode != 0
    assert "whistle init" in result.stderr


def test_malformed_setting_stops_a_command_naming_the_variable(cli_env):
    result = whistle("migrate", env={**cli_env, "WHISTLE_ARGON2_ITERATIONS": "many"})
    assert result.returncode != 0
    assert "WHISTLE_ARGON2_ITERATIONS" in result.stderr


def test_unrecorded_argon2_change_is_refused_until_receipt_params_records_it(cli_env):
    assert whistle("init", env={**cli_env, "WHISTLE_OFFICE_PASSPHRASE": PASSPHRASE}).returncode == 0
    assert whistle("migrate", env=cli_env).returncode == 0
    raised = {**cli_env, "WHISTLE_ARGON2_ITERATIONS": "2"}
    for command in (["serve", "--port", "1"], ["officer", "list"]):
        refused = whistle(*command, env=raised)
        assert refused.returncode != 0
        assert "whistle keys receipt-params" in refused.stderr
    recorded = whistle("keys", "receipt-params", env=raised)
    assert recorded.returncode == 0, recorded.stderr
    assert "version 2" in recorded.stdout
    listed = whistle("officer", "list", env=raised)
    assert listed.returncode == 0, listed.stderr

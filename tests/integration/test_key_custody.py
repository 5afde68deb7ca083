"""Key custody: per-purpose subkeys of the web secret, the chain key added to an existing keys
directory, and the audit signing key read only by what signs (never by the web process)."""

from __future__ import annotations

import hashlib
import hmac
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.conftest import TEST_ARGON2
from whistle.app import create_app
from whistle.cli import main
from whistle.context import Context
from whistle.crypto import (
    AUDIT_CHAIN,
    AUDIT_SIGNING,
    Argon2Params,
    Keyring,
    MissingKeys,
    init_keys,
)
from whistle.officers.throttle import normalise_username, throttle_key
from whistle.settings import Settings
from whistle.web.csrf import SessionBoundCsrf

PASSPHRASE = "a very long office passphrase"


@pytest.fixture
def own_keys(keys_dir: Path, tmp_path: Path) -> Path:
    directory = tmp_path / "keys"
    shutil.copytree(keys_dir, directory)
    return directory


def test_each_use_of_the_web_secret_has_its_own_subkey(keys_dir: Path):
    keyring = Keyring.load(keys_dir)
    subkeys = {
        keyring.csrf_secret,
        keyring.login_throttle_key,
        keyring.recovery_code_key,
        keyring.web_secret,
    }
    assert len(subkeys) == 4
    assert all(len(key) == 32 for key in subkeys)
    # Derived, not random: every instance sharing keys/ derives the same subkeys.
    assert Keyring.load(keys_dir).csrf_secret == keyring.csrf_secret
    assert keyring.audit_chain_key not in subkeys


def test_csrf_tokens_use_the_csrf_subkey(keys_dir: Path):
    app = create_app(Settings(keys_dir=keys_dir, **TEST_ARGON2))
    keyring = Keyring.load(keys_dir)
    [csrf] = [layer for layer in app.middleware if isinstance(layer, SessionBoundCsrf)]
    assert csrf.policy.secret == keyring.csrf_secret
    assert csrf.policy.secret != keyring.web_secret


def test_the_login_throttle_uses_its_own_subkey(keys_dir: Path):
    ctx = Context.create(Settings(keys_dir=keys_dir, **TEST_ARGON2))
    message = b"login-throttle\x00" + normalise_username("Siti").encode()
    expected = hmac.new(ctx.keyring.login_throttle_key, message, hashlib.sha256).hexdigest()
    assert throttle_key(ctx, "Siti") == expected
    assert (
        throttle_key(ctx, "Siti")
        != hmac.new(ctx.keyring.web_secret, message, hashlib.sha256).hexdigest()
    )


def test_init_adds_the_chain_key_to_an_existing_keys_dir_and_changes_nothing_else(own_keys):
    (own_keys / AUDIT_CHAIN).unlink()
    before = {path.name: path.read_bytes() for path in own_keys.iterdir()}
    with pytest.raises(MissingKeys) as missing:
        Keyring.load(own_keys)
    assert missing.value.missing == (AUDIT_CHAIN,)
    created = init_keys(own_keys, PASSPHRASE, Argon2Params(256, 1, 1))
    assert created == [AUDIT_CHAIN]
    after = {path.name: path.read_bytes() for path in own_keys.iterdir()}
    assert {name: after[name] for name in before} == before
    assert len(after[AUDIT_CHAIN]) == 32
    Keyring.load(own_keys)


async def test_the_web_process_runs_without_the_audit_signing_key(settings, own_keys, tmp_path):
    # Production: the signing key lives only where the worker runs (or is unreadable to the
    # web user); the web process starts and serves without it.
    (own_keys / AUDIT_SIGNING).unlink()
    from litestar.testing import AsyncTestClient

    app = create_app(settings.with_changes(keys_dir=own_keys))
    async with AsyncTestClient(app, base_url="https://testserver.local") as client:
        assert (await client.get("/")).status_code == 200
    with pytest.raises(MissingKeys):
        Keyring.load(own_keys).sign_audit(b"checkpoint")


async def test_the_worker_refuses_to_start_without_the_signing_key(settings, own_keys):
    (own_keys / AUDIT_SIGNING).unlink()
    env = {
        "WHISTLE_DATABASE_URL": settings.database_url,
        "WHISTLE_KEYS_DIR": str(own_keys),
        # The tracking-code costs fixed in the test keys (cheap: a development setting).
        "WHISTLE_ARGON2_MEMORY_KIB": str(TEST_ARGON2["argon2_memory_kib"]),
        "WHISTLE_ARGON2_ITERATIONS": str(TEST_ARGON2["argon2_iterations"]),
        "WHISTLE_DEVELOPMENT": "true",
    }
    result = CliRunner().invoke(main, ["worker", "--once"], env=env)
    assert result.exit_code != 0
    assert AUDIT_SIGNING in result.output

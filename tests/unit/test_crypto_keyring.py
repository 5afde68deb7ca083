"""Installation key files: creation without overwriting, loading, unlocking and signing."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from whistle.crypto.envelope import generate_keypair, seal, unseal
from whistle.crypto.errors import CryptoError, MissingKeys, WrongPassphrase
from whistle.crypto.kdf import Argon2Params
from whistle.crypto.keyring import (
    AUDIT_CHAIN,
    AUDIT_SIGNING,
    AUDIT_VERIFY,
    OFFICE_PRIVATE,
    OFFICE_PUBLIC,
    RECEIPT_PARAMS,
    RECEIPT_SALT,
    WEB_SECRET,
    Keyring,
    add_receipt_params,
    init_keys,
)

CHEAP = Argon2Params(memory_kib=1024, iterations=1)
PASSPHRASE = "correct horse battery staple"
ALL_FILES = {
    OFFICE_PUBLIC,
    OFFICE_PRIVATE,
    RECEIPT_SALT,
    RECEIPT_PARAMS,
    AUDIT_SIGNING,
    AUDIT_VERIFY,
    AUDIT_CHAIN,
    WEB_SECRET,
}


def snapshot(keys_dir: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in keys_dir.iterdir()}


@pytest.fixture
def keys_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "keys"
    init_keys(directory, PASSPHRASE, CHEAP)
    return directory


def test_file_names() -> None:
    assert OFFICE_PUBLIC == "office_recovery.pub"
    assert OFFICE_PRIVATE == "office_recovery.key"
    assert RECEIPT_SALT == "receipt_salt"
    assert AUDIT_SIGNING == "audit_signing.key"
    assert AUDIT_VERIFY == "audit_signing.pub"
    assert WEB_SECRET == "web_secret"


def test_init_creates_files_with_private_modes(tmp_path: Path) -> None:
    directory = tmp_path / "nested" / "keys"
    created = init_keys(directory, PASSPHRASE, CHEAP)
    assert set(created) == ALL_FILES
    assert len(created) == len(ALL_FILES)
    assert {path.name for path in directory.iterdir()} == ALL_FILES
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    for name in ALL_FILES:
        assert stat.S_IMODE((directory / name).stat().st_mode) == 0o600, name
    for name in (OFFICE_PUBLIC, RECEIPT_SALT, AUDIT_SIGNING, AUDIT_VERIFY, WEB_SECRET):
        assert len((directory / name).read_bytes()) == 32, name
    assert PASSPHRASE.encode() not in (directory / OFFICE_PRIVATE).read_bytes()


def test_second_init_creates_nothing_and_changes_nothing(keys_dir: Path) -> None:
    before = snapshot(keys_dir)
    assert init_keys(keys_dir, PASSPHRASE, CHEAP) == []
    assert init_keys(keys_dir, "another long passphrase", CHEAP) == []
    assert snapshot(keys_dir) == before


def test_init_fills_in_only_missing_files(keys_dir: Path) -> None:
    before = snapshot(keys_dir)
    (keys_dir / WEB_SECRET).unlink()
    assert init_keys(keys_dir, PASSPHRASE, CHEAP) == [WEB_SECRET]
    after = snapshot(keys_dir)
    assert after[WEB_SECRET] != before[WEB_SECRET]
    del after[WEB_SECRET], before[WEB_SECRET]
    assert after == before


def test_init_keeps_office_key_offline(keys_dir: Path) -> None:
    """The office private key may be moved offline: init must not replace the pair."""
    public = (keys_dir / OFFICE_PUBLIC).read_bytes()
    (keys_dir / OFFICE_PRIVATE).unlink()
    assert init_keys(keys_dir, PASSPHRASE, CHEAP) == []
    assert (keys_dir / OFFICE_PUBLIC).read_bytes() == public
    assert not (keys_dir / OFFICE_PRIVATE).exists()


def test_init_rebuilds_missing_public_files(keys_dir: Path) -> None:
    before = snapshot(keys_dir)
    (keys_dir / OFFICE_PUBLIC).unlink()
    (keys_dir / AUDIT_VERIFY).unlink()
    assert sorted(init_keys(keys_dir, PASSPHRASE, CHEAP)) == sorted([OFFICE_PUBLIC, AUDIT_VERIFY])
    assert snapshot(keys_dir) == before


def test_init_rebuilding_office_public_needs_the_passphrase(keys_dir: Path) -> None:
    (keys_dir / OFFICE_PUBLIC).unlink()
    with pytest.raises(WrongPassphrase):
        init_keys(keys_dir, "a different passphrase", CHEAP)
    assert not (keys_dir / OFFICE_PUBLIC).exists()


def test_init_refuses_orphan_audit_public_key(keys_dir: Path) -> None:
    (keys_dir / AUDIT_SIGNING).unlink()
    with pytest.raises(CryptoError) as info:
        init_keys(keys_dir, PASSPHRASE, CHEAP)
    assert AUDIT_SIGNING in str(info.value)
    assert not (keys_dir / AUDIT_SIGNING).exists()


@pytest.mark.parametrize("passphrase", ["", "short", "elevenchars", " " * 20])
def test_init_refuses_weak_passphrase(tmp_path: Path, passphrase: str) -> None:
    with pytest.raises(ValueError) as info:
        init_keys(tmp_path / "keys", passphrase, CHEAP)
    if passphrase.strip():
        assert passphrase not in str(info.value)
    assert not (tmp_path / "keys").exists()


def test_init_never_follows_symlinks(tmp_path: Path) -> None:
    target = tmp_path / "elsewhere"
    target.write_bytes(b"untouched")
    directory = tmp_path / "keys"
    directory.mkdir()
    (directory / WEB_SECRET).symlink_to(target)
    created = init_keys(directory, PASSPHRASE, CHEAP)
    assert WEB_SECRET not in created
    assert target.read_bytes() == b"untouched"


def test_load(keys_dir: Path) -> None:
    keyring = Keyring.load(keys_dir)
    assert keyring.keys_dir == keys_dir
    assert keyring.office_public_key == (keys_dir / OFFICE_PUBLIC).read_bytes()
    assert keyring.receipt_salt == (keys_dir / RECEIPT_SALT).read_bytes()
    assert keyring.audit_signing_key == (keys_dir / AUDIT_SIGNING).read_bytes()
    assert keyring.audit_verify_key == (keys_dir / AUDIT_VERIFY).read_bytes()
    assert keyring.web_secret == (keys_dir / WEB_SECRET).read_bytes()
    text = repr(keyring)
    for secret in (keyring.receipt_salt, keyring.audit_signing_key, keyring.web_secret):
        assert repr(secret) not in text


def test_load_without_office_private_key(keys_dir: Path) -> None:
    (keys_dir / OFFICE_PRIVATE).unlink()
    keyring = Keyring.load(keys_dir)
    with pytest.raises(MissingKeys) as info:
        keyring.unlock_office_private_key(PASSPHRASE)
    assert info.value.missing == (OFFICE_PRIVATE,)


def test_load_empty_dir_raises_missing_keys(tmp_path: Path) -> None:
    with pytest.raises(MissingKeys) as info:
        Keyring.load(tmp_path)
    message = str(info.value)
    assert "whistle init" in message
    for name in (OFFICE_PUBLIC, RECEIPT_SALT, AUDIT_VERIFY, AUDIT_CHAIN, WEB_SECRET):
        assert name in message
        assert name in info.value.missing
    # Neither private key is needed to run: recovery and signing read theirs when they need it.
    assert OFFICE_PRIVATE not in info.value.missing
    assert AUDIT_SIGNING not in info.value.missing


def test_load_missing_directory_raises_missing_keys(tmp_path: Path) -> None:
    with pytest.raises(MissingKeys):
        Keyring.load(tmp_path / "nowhere")


def test_load_names_only_missing_files(keys_dir: Path) -> None:
    secret = (keys_dir / RECEIPT_SALT).read_bytes()
    (keys_dir / RECEIPT_SALT).unlink()
    with pytest.raises(MissingKeys) as info:
        Keyring.load(keys_dir)
    assert info.value.missing == (RECEIPT_SALT,)
    assert secret.hex() not in str(info.value)


def test_load_refuses_damaged_files(keys_dir: Path) -> None:
    path = keys_dir / WEB_SECRET
    path.unlink()
    fd = os.open(path, os.O_CREAT | os.O_WRONLY, 0o600)
    os.write(fd, b"too short")
    os.close(fd)
    with pytest.raises(CryptoError) as info:
        Keyring.load(keys_dir)
    assert WEB_SECRET in str(info.value)
    assert "too short" not in str(info.value)


def test_signing_refuses_mismatched_audit_pair(keys_dir: Path, tmp_path: Path) -> None:
    other = tmp_path / "other"
    init_keys(other, PASSPHRASE, CHEAP)
    (keys_dir / AUDIT_VERIFY).unlink()
    (keys_dir / AUDIT_VERIFY).write_bytes((other / AUDIT_VERIFY).read_bytes())
    # Loading does not read the signing key any more; the first signature refuses the pair.
    keyring = Keyring.load(keys_dir)
    with pytest.raises(CryptoError):
        keyring.sign_audit(b"checkpoint")


def test_unlock_office_private_key(keys_dir: Path) -> None:
    keyring = Keyring.load(keys_dir)
    private = keyring.unlock_office_private_key(PASSPHRASE)
    assert len(private) == 32
    blob = seal(keyring.office_public_key, b"report key", b"ctx")
    assert unseal(private, blob, b"ctx") == b"report key"


def test_wrong_passphrase(keys_dir: Path) -> None:
    keyring = Keyring.load(keys_dir)
    with pytest.raises(WrongPassphrase) as info:
        keyring.unlock_office_private_key("not the passphrase")
    assert "not the passphrase" not in str(info.value)


def test_office_private_key_must_match_public(keys_dir: Path, tmp_path: Path) -> None:
    keyring = Keyring.load(keys_dir)
    other = tmp_path / "other"
    init_keys(other, PASSPHRASE, CHEAP)
    (keys_dir / OFFICE_PRIVATE).unlink()
    (keys_dir / OFFICE_PRIVATE).write_bytes((other / OFFICE_PRIVATE).read_bytes())
    with pytest.raises(CryptoError):
        keyring.unlock_office_private_key(PASSPHRASE)


def test_sign_and_verify_audit(keys_dir: Path) -> None:
    keyring = Keyring.load(keys_dir)
    message = b"checkpoint 42 head=abcdef"
    signature = keyring.sign_audit(message)
    assert len(signature) == 64
    verify = Keyring.verify_audit_signature
    assert verify(keyring.audit_verify_key, message, signature)
    assert not verify(keyring.audit_verify_key, message + b"!", signature)
    assert not verify(keyring.audit_verify_key, message, bytes(64))
    assert not verify(keyring.audit_verify_key, message, signature[:10])
    assert not verify(b"short", message, signature)
    _, unrelated_public = generate_keypair()
    assert not verify(unrelated_public, message, signature)


def test_receipt_params_are_fixed_at_init_and_added_to_an_older_keys_dir(tmp_path: Path) -> None:
    directory = tmp_path / "keys"
    init_keys(directory, PASSPHRASE, CHEAP)
    assert (directory / RECEIPT_PARAMS).read_text() == f"1 {CHEAP.encode()}\n"
    # An installation from before the file: init adds it, touching nothing else.
    (directory / RECEIPT_PARAMS).unlink()
    before = snapshot(directory)
    assert init_keys(directory, PASSPHRASE, CHEAP) == [RECEIPT_PARAMS]
    assert {name: data for name, data in snapshot(directory).items() if name in before} == before
    raised = Argon2Params(memory_kib=2048, iterations=2)
    assert add_receipt_params(directory, raised) == 2
    keyring = Keyring.load(directory)
    assert keyring.receipt_params == (CHEAP, raised)
    assert keyring.receipt_version == 2
    assert keyring.receipt_params_of(1) == CHEAP
    # init never rewrites it, whatever the configured costs.
    init_keys(directory, PASSPHRASE, Argon2Params(memory_kib=4096, iterations=3))
    assert Keyring.load(directory).receipt_params == (CHEAP, raised)


@pytest.mark.parametrize("content", ["", "2 m=1024,t=1,p=1\n", "1 m=lots,t=1,p=1\n", "junk"])
def test_damaged_receipt_params_are_refused(tmp_path: Path, content: str) -> None:
    directory = tmp_path / "keys"
    init_keys(directory, PASSPHRASE, CHEAP)
    (directory / RECEIPT_PARAMS).write_text(content)
    with pytest.raises(CryptoError, match=RECEIPT_PARAMS):
        Keyring.load(directory)

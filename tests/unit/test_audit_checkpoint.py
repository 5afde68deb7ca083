"""Signed checkpoints: the document round-trips; any change to it or a foreign key is refused."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from whistle.audit.checkpoint import (
    FORMAT,
    CheckpointError,
    check_signature,
    key_fingerprint,
    parse,
    sign,
)
from whistle.crypto import Argon2Params, Keyring, init_keys

HEAD_HASH = "ab" * 32


@pytest.fixture(scope="module")
def keyring(tmp_path_factory: pytest.TempPathFactory) -> Keyring:
    directory = tmp_path_factory.mktemp("checkpoint-keys") / "keys"
    init_keys(directory, "a passphrase for the tests", Argon2Params(256, 1, 1))
    return Keyring.load(directory)


@pytest.fixture(scope="module")
def other_keyring(tmp_path_factory: pytest.TempPathFactory) -> Keyring:
    directory: Path = tmp_path_factory.mktemp("other-keys") / "keys"
    init_keys(directory, "another passphrase for tests", Argon2Params(256, 1, 1))
    return Keyring.load(directory)


def signed_document(keyring: Keyring) -> dict:
    checkpoint = sign(
        keyring, seq=42, entry_hash=HEAD_HASH, created_at=datetime(2026, 11, 28, 3, tzinfo=UTC)
    )
    return json.loads(checkpoint.to_json())


def test_a_signed_checkpoint_round_trips_and_verifies(keyring):
    document = signed_document(keyring)
    assert document["format"] == FORMAT
    assert (document["seq"], document["entry_hash"]) == (42, HEAD_HASH)
    assert document["created_at"] == "2026-11-28T03:00:00+00:00"
    assert document["key_fingerprint"] == key_fingerprint(keyring.audit_verify_key)
    checkpoint = parse(json.dumps(document))
    check_signature(checkpoint, keyring.audit_verify_key)  # no error


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("seq", 41),
        ("seq", 4200),
        ("entry_hash", "cd" * 32),
        ("created_at", "2026-11-29T03:00:00+00:00"),
    ],
)
def test_any_change_to_a_signed_field_is_refused(keyring, field, value):
    document = signed_document(keyring)
    document[field] = value
    with pytest.raises(CheckpointError, match="signature is not valid"):
        check_signature(parse(json.dumps(document)), keyring.audit_verify_key)


def test_a_forged_signature_is_refused(keyring):
    document = signed_document(keyring)
    signature = bytearray(base64.b64decode(document["signature"]))
    signature[0] ^= 1
    document["signature"] = base64.b64encode(bytes(signature)).decode()
    with pytest.raises(CheckpointError, match="signature is not valid"):
        check_signature(parse(json.dumps(document)), keyring.audit_verify_key)


def test_a_checkpoint_signed_by_another_key_is_refused(keyring, other_keyring):
    document = signed_document(other_keyring)
    with pytest.raises(CheckpointError, match="another audit key"):
        check_signature(parse(json.dumps(document)), keyring.audit_verify_key)
    # Claiming this installation's fingerprint does not help: the signature is still foreign.
    document["key_fingerprint"] = key_fingerprint(keyring.audit_verify_key)
    with pytest.raises(CheckpointError, match="signature is not valid"):
        check_signature(parse(json.dumps(document)), keyring.audit_verify_key)


@pytest.mark.parametrize(
    "text",
    [
        "not json",
        "[]",
        json.dumps({"format": "something else"}),
        json.dumps({"format": FORMAT, "seq": 1}),
    ],
)
def test_malformed_documents_are_refused(text):
    with pytest.raises(CheckpointError):
        parse(text)


@pytest.mark.parametrize(
    ("field", "value"),
    [("seq", -1), ("seq", "7"), ("seq", True), ("entry_hash", "short"), ("signature", "!!")],
)
def test_malformed_fields_are_refused(keyring, field, value):
    document = signed_document(keyring)
    document[field] = value
    with pytest.raises(CheckpointError):
        parse(json.dumps(document))

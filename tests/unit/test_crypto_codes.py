"""Tracking codes: format, randomness, normalisation and receipt derivation."""

from __future__ import annotations

import re

import pytest

from whistle.crypto.codes import (
    ALPHABET,
    ReporterSecrets,
    derive_reporter_secrets,
    format_tracking_code,
    new_tracking_code,
    normalise_tracking_code,
)
from whistle.crypto.errors import InvalidTrackingCode
from whistle.crypto.kdf import Argon2Params

CHEAP = Argon2Params(memory_kib=1024, iterations=1)
SALT = bytes(range(32))
CODE = "7K3M-Q9XA-2B4C-DEFG"


def test_alphabet_is_crockford_base32() -> None:
    assert len(ALPHABET) == 32
    assert len(set(ALPHABET)) == 32
    assert not set("ILOU") & set(ALPHABET)


def test_new_code_format() -> None:
    code = new_tracking_code()
    assert re.fullmatch(r"[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){3}", code)
    bare = normalise_tracking_code(code)
    assert len(bare) == 16
    assert set(bare) <= set(ALPHABET)


def test_new_codes_are_random() -> None:
    codes = {new_tracking_code() for _ in range(1000)}
    assert len(codes) == 1000
    # Every symbol position varies, and all 32 symbols show up (80 bits, not a narrower source).
    bare = [normalise_tracking_code(code) for code in codes]
    for position in range(16):
        assert len({code[position] for code in bare}) > 16
    assert set("".join(bare)) == set(ALPHABET)


def test_new_code_uses_all_80_bits(monkeypatch: pytest.MonkeyPatch) -> None:
    import whistle.crypto.codes as codes

    monkeypatch.setattr(codes.secrets, "token_bytes", lambda n: b"\xff" * n)
    assert codes.new_tracking_code() == "ZZZZ-ZZZZ-ZZZZ-ZZZZ"
    monkeypatch.setattr(codes.secrets, "token_bytes", lambda n: b"\x00" * (n - 1) + b"\x01")
    assert codes.new_tracking_code() == "0000-0000-0000-0001"


def test_format() -> None:
    assert format_tracking_code("7K3MQ9XA2B4CDEFG") == CODE
    assert format_tracking_code(CODE) == CODE


@pytest.mark.parametrize(
    "typed",
    [
        "7K3M-Q9XA-2B4C-DEFG",
        "7k3m-q9xa-2b4c-defg",
        "7K3M Q9XA 2B4C DEFG",
        " 7k3mq9xa2b4cdefg ",
        "7K3M_Q9XA.2B4C--DEFG",
        "7K3M\tQ9XA\n2B4C DEFG",
    ],
)
def test_normalise_forgives_case_and_separators(typed: str) -> None:
    assert normalise_tracking_code(typed) == "7K3MQ9XA2B4CDEFG"


def test_normalise_maps_look_alikes() -> None:
    assert normalise_tracking_code("IiLl-OoO0-1111-0000") == "1111000011110000"


@pytest.mark.parametrize(
    "typed",
    [
        "",
        "7K3M-Q9XA-2B4C-DEF",  # 15 symbols
        "7K3M-Q9XA-2B4C-DEFGH",  # 17 symbols
        "7K3M-Q9XA-2B4C-DEFU",  # U is not in the alphabet
        "7K3M-Q9XA-2B4C-DEF!",
        "7K3M-Q9XA-2B4C-DEF\u0130",  # non-ASCII that upper-cases to I
        "7K3M-Q9XA-2B4C-DEF\u00e9",
        "-" * 1000 + "7K3MQ9XA2B4CDEFG",
    ],
)
def test_normalise_rejects_without_echo(typed: str) -> None:
    with pytest.raises(InvalidTrackingCode) as info:
        normalise_tracking_code(typed)
    message = str(info.value)
    assert message == "invalid tracking code"
    stripped = typed.strip("-")
    if stripped:
        assert stripped[:4] not in message


def test_normalise_rejects_non_strings() -> None:
    with pytest.raises(InvalidTrackingCode):
        normalise_tracking_code(None)  # type: ignore[arg-type]
    with pytest.raises(ValueError):  # InvalidTrackingCode is a ValueError
        normalise_tracking_code(b"7K3MQ9XA2B4CDEFG")  # type: ignore[arg-type]


def test_derive_reporter_secrets_shape_and_determinism() -> None:
    first = derive_reporter_secrets(CODE, SALT, CHEAP)
    second = derive_reporter_secrets(CODE, SALT, CHEAP)
    assert isinstance(first, ReporterSecrets)
    assert first == second
    assert len(first.lookup_id) == 32
    assert len(first.wrapping_key) == 32
    assert first.lookup_id != first.wrapping_key
    assert first.wrapping_key.hex() not in repr(first)


def test_derive_reporter_secrets_matches_spec() -> None:
    import hashlib

    from whistle.crypto.kdf import argon2id

    material = argon2id(b"7K3MQ9XA2B4CDEFG", SALT, CHEAP, length=64)
    secrets_ = derive_reporter_secrets(CODE, SALT, CHEAP)
    assert secrets_.lookup_id == hashlib.sha256(material[:32]).digest()
    assert secrets_.wrapping_key == material[32:]


def test_derive_reporter_secrets_differs_by_salt_and_code() -> None:
    base = derive_reporter_secrets(CODE, SALT, CHEAP)
    other_salt = derive_reporter_secrets(CODE, bytes(32), CHEAP)
    other_code = derive_reporter_secrets("7K3M-Q9XA-2B4C-DEFH", SALT, CHEAP)
    for other in (other_salt, other_code):
        assert other.lookup_id != base.lookup_id
        assert other.wrapping_key != base.wrapping_key


def test_derive_reporter_secrets_same_for_equivalent_spellings() -> None:
    base = derive_reporter_secrets("1000-0000-0000-0001", SALT, CHEAP)
    assert derive_reporter_secrets("loOo ooOo oooo oooi", SALT, CHEAP) == base
    assert derive_reporter_secrets("1000000000000001", SALT, CHEAP) == base


def test_derive_reporter_secrets_rejects_bad_code() -> None:
    with pytest.raises(InvalidTrackingCode):
        derive_reporter_secrets("not a code", SALT, CHEAP)

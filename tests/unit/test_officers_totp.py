"""TOTP (RFC 6238) helpers, the lockout schedule and the password policy, without a database."""

from __future__ import annotations

import base64
from datetime import timedelta

import pytest

from whistle.crypto import DecryptionError, generate_keypair
from whistle.officers import totp
from whistle.officers.passwords import password_problem
from whistle.officers.throttle import lock_duration

RFC_SECRET = b"12345678901234567890"


def test_codes_match_the_rfc_6238_sha1_vectors():
    # RFC 6238 appendix B, truncated to 6 digits: T=59 -> 94287082, T=1111111109 -> 07081804.
    assert totp.code_for(RFC_SECRET, 59 // 30) == "287082"
    assert totp.code_for(RFC_SECRET, 1111111109 // 30) == "081804"


def test_a_code_is_accepted_one_step_either_side_and_never_twice():
    now = 1111111109.0
    step = totp.current_step(now)
    for offset in (-1, 0, 1):
        code = totp.code_for(RFC_SECRET, step + offset)
        assert totp.matching_step(RFC_SECRET, code, last_step=None, now=now) == step + offset
    for offset in (-3, -2, 2, 3):
        code = totp.code_for(RFC_SECRET, step + offset)
        assert totp.matching_step(RFC_SECRET, code, last_step=None, now=now) is None
    code = totp.code_for(RFC_SECRET, step)
    assert totp.matching_step(RFC_SECRET, code, last_step=step, now=now) is None
    earlier = totp.code_for(RFC_SECRET, step - 1)
    assert totp.matching_step(RFC_SECRET, earlier, last_step=step, now=now) is None
    later = totp.code_for(RFC_SECRET, step + 1)
    assert totp.matching_step(RFC_SECRET, later, last_step=step, now=now) == step + 1


@pytest.mark.parametrize("code", ["", None, "12345", "1234567", "abcdef", "١٢٣٤٥٦"])
def test_malformed_codes_are_refused(code):
    assert totp.matching_step(RFC_SECRET, code, last_step=None) is None


def test_spaces_inside_a_code_are_ignored():
    now = 59.0
    assert totp.matching_step(RFC_SECRET, "287 082", last_step=None, now=now) == 1


def test_secret_is_sealed_to_the_officer_and_bound_to_their_id():
    private_key, public_key = generate_keypair()
    secret = totp.new_secret()
    sealed = totp.seal_secret(public_key, 7, secret)
    assert secret not in sealed
    assert totp.unseal_secret(private_key, 7, sealed) == secret
    with pytest.raises(DecryptionError):
        totp.unseal_secret(private_key, 8, sealed)
    with pytest.raises(DecryptionError):
        totp.unseal_secret(generate_keypair()[0], 7, sealed)


def test_open_secret_is_none_when_there_is_none_or_it_no_longer_opens():
    private_key, public_key = generate_keypair()
    secret = totp.new_secret()
    sealed = totp.seal_secret(public_key, 7, secret)
    assert totp.open_secret(private_key, 7, sealed) == secret
    assert totp.open_secret(private_key, 7, None) is None
    assert totp.open_secret(private_key, 8, sealed) is None
    assert totp.open_secret(generate_keypair()[0], 7, sealed) is None  # a key pair since reset


def test_enrolment_text_uri_and_qr():
    secret = totp.new_secret()
    text = totp.base32_secret(secret)
    assert base64.b32decode(text + "=" * (-len(text) % 8)) == secret
    assert totp.grouped("ABCDEFGHIJ") == "ABCD EFGH IJ"
    uri = totp.provisioning_uri(secret, "siti")
    assert uri.startswith("otpauth://totp/")
    assert f"secret={text}" in uri and "siti" in uri
    svg = totp.qr_svg(uri)
    assert svg.startswith("<svg") and "<script" not in svg and "href" not in svg


def test_lock_duration_doubles_by_episode_from_one_minute_up_to_a_day():
    assert [lock_duration(n) for n in (1, 2, 3, 4)] == [timedelta(minutes=m) for m in (1, 2, 4, 8)]
    assert lock_duration(12) == timedelta(hours=24)
    assert lock_duration(10_000) == timedelta(hours=24)


@pytest.mark.parametrize(
    ("password", "ok"),
    [
        ("short", False),
        ("siti is my name 2026", False),
        ("password1234", False),
        ("aaaaaaaaaaaaaaaa", False),
        ("quiet river under the old bridge", True),
    ],
)
def test_password_policy(password, ok):
    assert (password_problem(password, "siti") is None) is ok

"""Objects that hold secrets never print them (issue 9): a repr reaches log lines, tracebacks
and debugger output. Each object is built with known secret values and its repr scanned for
them in every usual spelling (raw bytes, hex, base64, URL-safe base64, the text itself)."""

from __future__ import annotations

import base64
import dataclasses
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.conftest import TEST_ARGON2
from whistle.context import Context
from whistle.crypto import Argon2Params, ReporterSecrets, init_keys
from whistle.officers.auth import CurrentOfficer
from whistle.officers.login import LoginResult
from whistle.officers.service import TotpEnrolment
from whistle.sessions import Session
from whistle.settings import Settings

PASSPHRASE = "a passphrase nobody may print"


def _spellings(secret: bytes | str) -> list[str]:
    if isinstance(secret, str):
        return [secret]
    spellings = [repr(secret), secret.hex(), secret.hex().upper()]
    for encode in (base64.b64encode, base64.urlsafe_b64encode):
        text = encode(secret).decode()
        spellings += [text, text.rstrip("=")]
    return spellings


def _assert_hidden(holder: object, *secrets: bytes | str) -> None:
    shown = repr(holder) + str(holder)
    for secret in secrets:
        for spelling in _spellings(secret):
            assert spelling not in shown, f"{type(holder).__name__} shows a secret"


@pytest.fixture(scope="module")
def own_keys(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("repr") / "keys"
    init_keys(directory, PASSPHRASE, Argon2Params(256, 1, 1))
    return directory


def test_keyring_and_context_hide_their_secrets(own_keys):
    settings = Settings(keys_dir=own_keys, office_passphrase=PASSPHRASE, **TEST_ARGON2)
    ctx = Context.create(settings)
    keyring = ctx.keyring
    secrets = [
        keyring.receipt_salt,
        keyring.audit_chain_key,
        keyring.web_secret,
        keyring.csrf_secret,
        keyring.login_throttle_key,
        keyring.recovery_code_key,
        keyring.audit_signing_key,
        PASSPHRASE,
    ]
    _assert_hidden(keyring, *secrets)
    _assert_hidden(ctx, *secrets)


def test_session_and_officer_objects_hide_their_secrets():
    secret = bytes(range(64))
    token = base64.urlsafe_b64encode(bytes(range(100, 132))).decode().rstrip("=")
    _assert_hidden(
        Session(kind="officer", officer_id=1, secret=secret, created_at=datetime.now(UTC)),
        secret,
    )
    officer = CurrentOfficer(
        id=1,
        username="siti",
        display_name="Siti",
        roles=frozenset({"triage"}),
        must_change_password=False,
        private_key=secret[:32],
        session_token=token,
    )
    _assert_hidden(officer, secret[:32], token)
    login = LoginResult(
        token=token,
        officer_id=1,
        username="siti",
        roles=frozenset(),
        must_change_password=False,
    )
    _assert_hidden(login, token)
    totp_secret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
    enrolment = TotpEnrolment(
        secret_text=totp_secret,
        uri=f"otpauth://totp/Whistle:siti?secret={totp_secret}",
        qr_svg="<svg/>",
    )
    _assert_hidden(enrolment, totp_secret)


def test_reporter_secrets_hide_the_wrapping_key():
    wrapping_key = bytes(range(32, 64))
    _assert_hidden(ReporterSecrets(lookup_id=b"\x01" * 32, wrapping_key=wrapping_key), wrapping_key)


def test_every_dataclass_scanned_here_still_has_the_fields_it_hides():
    # If a field is renamed, the scan above must be updated rather than silently pass.
    assert {f.name for f in dataclasses.fields(Session)} >= {"secret"}
    assert {f.name for f in dataclasses.fields(LoginResult)} >= {"token"}
    assert {f.name for f in dataclasses.fields(TotpEnrolment)} >= {"secret_text"}

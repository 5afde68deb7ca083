"""Time-based one-time passwords (RFC 6238): SHA-1, 6 digits, 30-second steps.

The secret is stored sealed to the officer's own X25519 public key, so it can be read only once
the password has unlocked the private key; the database alone does not yield it. A code is
accepted one step either side of now, and never twice: the last accepted step is stored and
only later steps pass.
"""

from __future__ import annotations

import base64
import hmac
import secrets
import time
from urllib.parse import quote

import segno
from cryptography.hazmat.primitives.hashes import SHA1
from cryptography.hazmat.primitives.twofactor.totp import TOTP

from whistle.crypto import DecryptionError, seal, unseal

DIGITS = 6
TIME_STEP = 30
SECRET_BYTES = 20  # 160 bits, the RFC 4226 recommendation
ISSUER = "WBS Imigrasi"
# Steps accepted either side of the current one, for clock drift and typing time.
DRIFT_STEPS = 1


def new_secret() -> bytes:
    return secrets.token_bytes(SECRET_BYTES)


def _context(officer_id: int) -> bytes:
    return b"whistle-totp/v1\x00" + str(officer_id).encode()


def seal_secret(public_key: bytes, officer_id: int, secret: bytes) -> bytes:
    """Seal a TOTP secret to the officer's own public key, bound to their id."""
    return seal(public_key, secret, _context(officer_id))


def unseal_secret(private_key: bytes, officer_id: int, sealed: bytes) -> bytes:
    """Open a sealed TOTP secret with the officer's unlocked private key (DecryptionError)."""
    return unseal(private_key, sealed, _context(officer_id))


def open_secret(private_key: bytes, officer_id: int, sealed: bytes | None) -> bytes | None:
    """The sealed TOTP secret opened, or None when there is none or it no longer opens (sealed
    to a key pair that a reset replaced): either way no code can match it."""
    if sealed is None:
        return None
    try:
        return unseal_secret(private_key, officer_id, sealed)
    except DecryptionError:
        return None


def base32_secret(secret: bytes) -> str:
    """The secret as authenticator apps expect to have it typed: Base32, no padding."""
    return base64.b32encode(secret).decode("ascii").rstrip("=")


def grouped(text: str, size: int = 4) -> str:
    """Group characters for reading aloud or typing (spaces are ignored by the apps)."""
    return " ".join(text[i : i + size] for i in range(0, len(text), size))


def _totp(secret: bytes) -> TOTP:
    return TOTP(secret, DIGITS, SHA1(), TIME_STEP)  # noqa: S303 - RFC 6238 default for apps


def provisioning_uri(secret: bytes, username: str) -> str:
    """The otpauth:// URI the QR code carries."""
    return _totp(secret).get_provisioning_uri(quote(username, safe=""), ISSUER)


def qr_svg(uri: str) -> str:
    """The URI as an inline SVG QR code (no script, no external resource: fits the CSP)."""
    return segno.make(uri, error="m").svg_inline(
        scale=5, border=4, dark="#000", light="#fff", title="QR"
    )


def current_step(now: float | None = None) -> int:
    return int((time.time() if now is None else now) // TIME_STEP)


def code_for(secret: bytes, step: int) -> str:
    """The code of one time step (tests and enrolment checks use it)."""
    return _totp(secret).generate(step * TIME_STEP).decode("ascii")


def normalise_code(code: str | None) -> str | None:
    """Digits only, spaces removed; None if it cannot be a code."""
    cleaned = (code or "").replace(" ", "").strip()
    return cleaned if len(cleaned) == DIGITS and cleaned.isascii() and cleaned.isdigit() else None


def matching_step(
    secret: bytes, code: str | None, *, last_step: int | None, now: float | None = None
) -> int | None:
    """The time step ``code`` belongs to, if it is within the drift window and later than
    ``last_step``; otherwise None. Every candidate is compared, in constant time."""
    cleaned = normalise_code(code)
    if cleaned is None:
        return None
    step_now = current_step(now)
    found = None
    for step in range(step_now - DRIFT_STEPS, step_now + DRIFT_STEPS + 1):
        if hmac.compare_digest(code_for(secret, step), cleaned) and found is None:
            found = step
    if found is None or (last_step is not None and found <= last_step):
        return None
    return found

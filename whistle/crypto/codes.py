"""Tracking codes: the only thing a reporter holds, and the root of the reporter's keys.

A code is 16 Crockford Base32 symbols (80 random bits), shown as XXXX-XXXX-XXXX-XXXX. The code is
never stored: one Argon2id derivation with the installation's receipt salt yields a lookup id
(stored, unique) and the key that wraps the report key for the reporter.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field

from whistle.crypto.errors import InvalidTrackingCode
from whistle.crypto.kdf import Argon2Params, argon2id

__all__ = [
    "ALPHABET",
    "CODE_SYMBOLS",
    "ReporterSecrets",
    "derive_reporter_secrets",
    "format_tracking_code",
    "new_tracking_code",
    "normalise_tracking_code",
]

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CODE_SYMBOLS = 16
_CODE_BYTES = 10  # 16 symbols * 5 bits = 80 bits
_GROUP = 4

# Characters people type between groups; dropped before checking.
_SEPARATORS = frozenset(" \t\r\n-_.")
# Crockford's decoding aliases for symbols that are easy to confuse.
_ALIASES = {"I": "1", "L": "1", "O": "0"}
_VALID = frozenset(ALPHABET)
# Far longer than any honest input; keeps the work per request trivially small.
_MAX_INPUT_CHARS = 64


def new_tracking_code() -> str:
    """Return a fresh random code (80 bits from the OS CSPRNG) formatted for display."""
    number = int.from_bytes(secrets.token_bytes(_CODE_BYTES), "big")
    symbols = "".join(
        ALPHABET[(number >> (5 * (CODE_SYMBOLS - 1 - index))) & 0x1F]
        for index in range(CODE_SYMBOLS)
    )
    return format_tracking_code(symbols)


def normalise_tracking_code(text: str) -> str:
    """Turn what a reporter typed into the 16 bare symbols, forgiving case, gaps and look-alikes.

    Raises InvalidTrackingCode (with a generic message) for anything that is not a code.
    """
    if not isinstance(text, str) or len(text) > _MAX_INPUT_CHARS or not text.isascii():
        raise InvalidTrackingCode()
    symbols = []
    for char in text.upper():
        if char in _SEPARATORS:
            continue
        char = _ALIASES.get(char, char)
        if char not in _VALID:
            raise InvalidTrackingCode()
        symbols.append(char)
    if len(symbols) != CODE_SYMBOLS:
        raise InvalidTrackingCode()
    return "".join(symbols)


def format_tracking_code(symbols: str) -> str:
    """Group a code as XXXX-XXXX-XXXX-XXXX so it is easy to read aloud and copy down."""
    bare = normalise_tracking_code(symbols)
    return "-".join(bare[index : index + _GROUP] for index in range(0, CODE_SYMBOLS, _GROUP))


@dataclass(frozen=True)
class ReporterSecrets:
    """What a tracking code unlocks: the stored lookup id and the reporter's wrapping key."""

    lookup_id: bytes
    wrapping_key: bytes = field(repr=False)


def derive_reporter_secrets(
    code: str, receipt_salt: bytes, params: Argon2Params
) -> ReporterSecrets:
    """Derive the lookup id and wrapping key from a code with one Argon2id run.

    Equivalent spellings of a code give the same secrets. The lookup id is a SHA-256 of the first
    half so the stored value reveals nothing about the wrapping key (the second half).
    """
    bare = normalise_tracking_code(code)
    material = argon2id(bare.encode("ascii"), receipt_salt, params, length=64)
    return ReporterSecrets(
        lookup_id=hashlib.sha256(material[:32]).digest(),
        wrapping_key=material[32:],
    )

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
    "CASE_NUMBER_SYMBOLS",
    "CODE_SYMBOLS",
    "InvalidCaseNumber",
    "ReporterSecrets",
    "derive_reporter_secrets",
    "format_tracking_code",
    "new_case_number",
    "new_tracking_code",
    "normalise_case_number",
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


def _crockford_symbols(text: object) -> str | None:
    """The Crockford symbols of what someone typed, forgiving case, gaps and look-alikes (I/L
    for 1, O for 0); None when it holds anything else. Shared by codes and case numbers."""
    if not isinstance(text, str) or len(text) > _MAX_INPUT_CHARS or not text.isascii():
        return None
    symbols = []
    for char in text.upper():
        if char in _SEPARATORS:
            continue
        char = _ALIASES.get(char, char)
        if char not in _VALID:
            return None
        symbols.append(char)
    return "".join(symbols)


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
    symbols = _crockford_symbols(text)
    if symbols is None or len(symbols) != CODE_SYMBOLS:
        raise InvalidTrackingCode()
    return symbols


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


# --- case numbers -------------------------------------------------------------------------
# An officer's handle on a case: the year and random symbols, so numbers neither count reports
# nor order them (threat model 3). Shown as YYYY-XXXX-XXXC, where C is a check symbol.
CASE_NUMBER_SYMBOLS = 7  # random: 35 bits, so collisions (retried) are rare even at scale
_YEAR_DIGITS = 4


class InvalidCaseNumber(ValueError):
    """Text that is not a case number (wrong shape or check symbol)."""


def _check_symbol(symbols: str) -> str:
    """Weighted sum mod 32 with odd weights: odd weights are invertible mod 32, so any single
    mistyped symbol changes the check, and so does swapping two neighbours unless they differ
    by 16."""
    total = sum((2 * index + 1) * ALPHABET.index(char) for index, char in enumerate(symbols))
    return ALPHABET[total % 32]


def new_case_number(year: int) -> str:
    """A fresh random case number of the given year, formatted for display."""
    if not 1000 <= year <= 9999:
        raise ValueError("a case number's year has four digits")
    body = "".join(secrets.choice(ALPHABET) for _ in range(CASE_NUMBER_SYMBOLS))
    return _format_case_number(f"{year}{body}{_check_symbol(f'{year}{body}')}")


def _format_case_number(bare: str) -> str:
    year, rest = bare[:_YEAR_DIGITS], bare[_YEAR_DIGITS:]
    return f"{year}-{rest[:_GROUP]}-{rest[_GROUP:]}"


def normalise_case_number(text: str) -> str:
    """The display form of a case number typed with any case, gaps, hyphens or look-alikes
    (I/L for 1, O for 0). Raises InvalidCaseNumber when it is not one or its check fails."""
    bare = _crockford_symbols(text)
    if bare is None:
        raise InvalidCaseNumber()
    if (
        len(bare) != _YEAR_DIGITS + CASE_NUMBER_SYMBOLS + 1
        or not bare[:_YEAR_DIGITS].isdigit()
        or _check_symbol(bare[:-1]) != bare[-1]
    ):
        raise InvalidCaseNumber()
    return _format_case_number(bare)

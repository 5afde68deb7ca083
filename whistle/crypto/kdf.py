"""Argon2id key derivation, password hashing and a limiter for running derivations off the loop.

Argon2id is memory-hard on purpose, which makes it both the right tool (guessing tracking codes and
passwords is expensive) and a hazard (a burst of requests can exhaust memory or stall the event
loop). The parameters travel with every hash so they can be raised later.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import re
import secrets
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import anyio
import anyio.lowlevel
import anyio.to_thread
from cryptography.hazmat.primitives.kdf.argon2 import Argon2id

from whistle.crypto.errors import DerivationQueueFull

__all__ = [
    "Argon2Params",
    "KeyDerivationLimiter",
    "argon2id",
    "hash_password",
    "needs_rehash",
    "password_bytes",
    "verify_password",
]

T = TypeVar("T")

# Sanity bounds: parameters are read back from stored hashes and blobs, so absurd values must not
# be able to make a single derivation allocate unbounded memory or run for hours.
MAX_MEMORY_KIB = 4 * 1024 * 1024  # 4 GiB
MAX_ITERATIONS = 1000
MAX_LANES = 64

_PARAMS_RE = re.compile(r"m=([0-9]{1,10}),t=([0-9]{1,10}),p=([0-9]{1,10})", re.ASCII)
_B64_RE = re.compile(r"[A-Za-z0-9_-]+", re.ASCII)

_HASH_SCHEME = "argon2id"
# The same with Argon2's ``secret`` input set to the officer pepper (version 1), a key kept in
# keys/: a hash copied out of the database cannot be checked without it.
_PEPPERED_SCHEME = "argon2id+pepper1"
_HASH_SALT_BYTES = 16
_HASH_BYTES = 32
_MIN_HASH_BYTES = 16
_MAX_HASH_BYTES = 64


@dataclass(frozen=True)
class Argon2Params:
    """Argon2id cost parameters (memory in KiB, passes, lanes), validated on construction."""

    memory_kib: int
    iterations: int
    lanes: int = 1

    def __post_init__(self) -> None:
        """Reject parameters Argon2 cannot use or that are absurd enough to be an attack."""
        for name in ("memory_kib", "iterations", "lanes"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool):
                raise TypeError(f"Argon2 {name} must be an integer")
        if not 1 <= self.lanes <= MAX_LANES:
            raise ValueError(f"Argon2 lanes must be between 1 and {MAX_LANES}")
        if not 1 <= self.iterations <= MAX_ITERATIONS:
            raise ValueError(f"Argon2 iterations must be between 1 and {MAX_ITERATIONS}")
        if not 8 * self.lanes <= self.memory_kib <= MAX_MEMORY_KIB:
            raise ValueError(f"Argon2 memory must be between 8*lanes and {MAX_MEMORY_KIB} KiB")

    def encode(self) -> str:
        """Render as "m=<KiB>,t=<iterations>,p=<lanes>" so the costs can be stored with a hash."""
        return f"m={self.memory_kib},t={self.iterations},p={self.lanes}"

    @classmethod
    def decode(cls, text: str) -> Argon2Params:
        """Parse the output of encode(); raises ValueError on anything else."""
        if not isinstance(text, str):
            raise ValueError("malformed Argon2 parameters")
        match = _PARAMS_RE.fullmatch(text)
        if match is None:
            raise ValueError("malformed Argon2 parameters")
        memory, iterations, lanes = (int(group) for group in match.groups())
        return cls(memory_kib=memory, iterations=iterations, lanes=lanes)


def argon2id(
    secret: bytes,
    salt: bytes,
    params: Argon2Params,
    length: int = 32,
    *,
    pepper: bytes | None = None,
) -> bytes:
    """Derive `length` bytes from a low-entropy secret; slow and memory-hard to resist guessing.

    ``pepper`` is Argon2's keyed ``secret`` input: without it the output cannot be recomputed,
    so a guess cannot be checked against a stolen hash or blob alone."""
    if not isinstance(params, Argon2Params):
        raise TypeError("params must be Argon2Params")
    kdf = Argon2id(
        salt=bytes(salt),
        length=length,
        iterations=params.iterations,
        lanes=params.lanes,
        memory_cost=params.memory_kib,
        secret=bytes(pepper) if pepper is not None else None,
    )
    return kdf.derive(bytes(secret))


def password_bytes(password: str) -> bytes:
    """Encode a password as NFC UTF-8 so the same typed text gives the same bytes on any device."""
    if not isinstance(password, str):
        raise TypeError("password must be a string")
    return unicodedata.normalize("NFC", password).encode("utf-8")


class KeyDerivationLimiter:
    """Run blocking derivations in worker threads, at most `max_concurrent` at a time.

    Each Argon2id run holds its whole memory cost, so the bound caps memory use under a burst, and
    the worker threads keep the event loop responsive. The anyio limiter is created lazily inside
    run() (and again if the event loop changes) so this object can be built at import or
    configuration time, outside any loop.
    """

    def __init__(self, max_concurrent: int, max_waiting: int | None = None) -> None:
        """Remember the bounds; no event-loop object is created here.

        ``max_waiting`` caps the queue behind the running derivations: one more caller gets
        DerivationQueueFull at once instead of waiting (None: the queue is unbounded).
        """
        if not isinstance(max_concurrent, int) or isinstance(max_concurrent, bool):
            raise TypeError("max_concurrent must be an integer")
        if max_concurrent < 1:
            raise ValueError("max_concurrent must be at least 1")
        self.max_concurrent = max_concurrent
        self.max_waiting = max_waiting
        self._in_flight = 0
        self._limiter: anyio.CapacityLimiter | None = None
        self._token: object | None = None

    def _current_limiter(self) -> anyio.CapacityLimiter:
        """Return the limiter for the running event loop, creating it on first use."""
        token = anyio.lowlevel.current_token()
        if self._limiter is None or self._token != token:
            self._limiter = anyio.CapacityLimiter(self.max_concurrent)
            self._token = token
        return self._limiter

    async def run(self, func: Callable[..., T], *args: Any) -> T:
        """Call func(*args) in a worker thread once a slot is free, and return its result.

        The slot stays taken until the thread has finished, even if the caller is cancelled, so
        the bound holds for the memory actually in use.
        """
        limiter = self._current_limiter()
        if (
            self.max_waiting is not None
            and self._in_flight >= self.max_concurrent + self.max_waiting
        ):
            raise DerivationQueueFull()
        self._in_flight += 1
        try:
            result = await anyio.to_thread.run_sync(func, *args, limiter=limiter)
        finally:
            self._in_flight -= 1
        # The freed slot went to the next waiter: let it start its thread before this caller
        # goes on, or the slot stands idle through this caller's work up to its next wait.
        await anyio.lowlevel.cancel_shielded_checkpoint()
        return result


def _b64encode(data: bytes) -> str:
    """URL-safe base64 without padding, as used inside password hash strings."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    """Strict inverse of _b64encode; raises ValueError on anything non-canonical."""
    if not _B64_RE.fullmatch(text):
        raise ValueError("malformed base64")
    try:
        data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise ValueError("malformed base64") from None
    if _b64encode(data) != text:
        raise ValueError("malformed base64")
    return data


def _parse_password_hash(encoded: str) -> tuple[Argon2Params, bytes, bytes, bool]:
    """Split a stored hash into (params, salt, hash, peppered); ValueError if malformed."""
    if not isinstance(encoded, str):
        raise ValueError("malformed password hash")
    parts = encoded.split("$")
    if len(parts) != 4 or parts[0] not in (_HASH_SCHEME, _PEPPERED_SCHEME):
        raise ValueError("malformed password hash")
    params = Argon2Params.decode(parts[1])
    salt = _b64decode(parts[2])
    digest = _b64decode(parts[3])
    if len(salt) < 8 or not _MIN_HASH_BYTES <= len(digest) <= _MAX_HASH_BYTES:
        raise ValueError("malformed password hash")
    return params, salt, digest, parts[0] == _PEPPERED_SCHEME


def hash_password(password: str, params: Argon2Params, *, pepper: bytes | None = None) -> str:
    """Hash a password into a self-describing "<scheme>$m=..,t=..,p=..$salt$hash" string.

    The parameters are stored with the hash so they can be raised later (see needs_rehash);
    with ``pepper`` the scheme says so ("argon2id+pepper1") and verifying needs the same pepper.
    """
    salt = secrets.token_bytes(_HASH_SALT_BYTES)
    digest = argon2id(password_bytes(password), salt, params, _HASH_BYTES, pepper=pepper)
    scheme = _HASH_SCHEME if pepper is None else _PEPPERED_SCHEME
    return f"{scheme}${params.encode()}${_b64encode(salt)}${_b64encode(digest)}"


def verify_password(password: str, encoded: str, *, pepper: bytes | None = None) -> bool:
    """Check a password against a stored hash in constant time; False for malformed hashes and
    for a peppered hash checked without the pepper. A hash from before the pepper is checked
    without it (``needs_rehash`` then says to replace it)."""
    try:
        params, salt, expected, peppered = _parse_password_hash(encoded)
    except (ValueError, TypeError):
        return False
    if peppered and pepper is None:
        return False
    candidate = argon2id(
        password_bytes(password), salt, params, len(expected), pepper=pepper if peppered else None
    )
    return hmac.compare_digest(candidate, expected)


def needs_rehash(encoded: str, params: Argon2Params, *, pepper: bytes | None = None) -> bool:
    """Tell whether a stored hash was made with other costs, layout or pepper use than the
    current ones.

    Call after a successful login and store a fresh hash_password() result when True.
    """
    try:
        stored, salt, digest, peppered = _parse_password_hash(encoded)
    except (ValueError, TypeError):
        return True
    return (
        stored != params
        or len(salt) != _HASH_SALT_BYTES
        or len(digest) != _HASH_BYTES
        or peppered != (pepper is not None)
    )

"""Exceptions raised by the cryptography package.

Messages never carry secrets, codes, keys or plaintext: they end up in logs and error pages.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path


class CryptoError(Exception):
    """Base class for every failure of the cryptography layer."""


class DecryptionError(CryptoError):
    """Ciphertext could not be opened: wrong key, wrong context, tampering or a malformed blob.

    The message is always the same so that callers cannot tell the causes apart (and neither can
    an attacker reading logs or responses).
    """

    def __init__(self, *_ignored: object) -> None:
        """Build the error with its fixed message; any arguments are dropped so none can leak."""
        super().__init__("decryption failed")


class InvalidTrackingCode(ValueError):
    """Text that is not a well-formed tracking code; the message never echoes the input."""

    def __init__(self, *_ignored: object) -> None:
        """Build the error with a generic message; arguments are dropped so input never leaks."""
        super().__init__("invalid tracking code")


class MissingKeys(CryptoError):
    """Key files are missing from the keys directory; the operator has to run `whistle init`."""

    def __init__(self, missing: Iterable[str], keys_dir: Path | str | None = None) -> None:
        """Name the missing files (never their contents) and tell the operator what to do."""
        self.missing: tuple[str, ...] = tuple(missing)
        self.keys_dir = Path(keys_dir) if keys_dir is not None else None
        where = f" in {self.keys_dir}" if self.keys_dir is not None else ""
        names = ", ".join(self.missing) if self.missing else "(none)"
        super().__init__(
            f"missing key files{where}: {names}; run `whistle init` to create them "
            "(or restore them from backup)"
        )

    def __reduce__(self) -> tuple[object, ...]:
        """Keep the exception picklable despite its custom constructor."""
        return (type(self), (self.missing, self.keys_dir))


class WrongPassphrase(CryptoError):
    """The passphrase does not open the protected key."""

    def __init__(self, message: str = "wrong passphrase") -> None:
        """Build the error; the default message is deliberately generic."""
        super().__init__(message)


class DerivationQueueFull(CryptoError):
    """More key derivations are waiting than the limiter accepts: refuse now, retry later."""

    def __init__(self) -> None:
        super().__init__("too many key derivations waiting")


class ReceiptParamsChanged(CryptoError):
    """The configured Argon2 costs differ from the tracking-code costs fixed in the keys
    directory: starting would silently derive other secrets from every reporter's code."""

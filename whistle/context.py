"""What every service function needs besides its arguments: settings, keys, the KDF limiter."""

from __future__ import annotations

from dataclasses import dataclass

from whistle.crypto import KeyDerivationLimiter, Keyring
from whistle.settings import Settings


@dataclass(frozen=True)
class Context:
    settings: Settings
    keyring: Keyring
    kdf: KeyDerivationLimiter

    @classmethod
    def create(cls, settings: Settings) -> Context:
        """Load the keys (raising MissingKeys with a pointer to `whistle init`) and build the
        limiter that bounds concurrent Argon2id derivations. The composition roots (app, CLI)
        hand the audit log its chain key from ``keyring``."""
        keyring = Keyring.load(settings.keys_dir)
        return cls(
            settings=settings,
            keyring=keyring,
            kdf=KeyDerivationLimiter(settings.kdf_concurrency, settings.kdf_queue),
        )

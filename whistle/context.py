"""What every service function needs besides its arguments: settings, keys, the KDF limiters."""

from __future__ import annotations

from dataclasses import dataclass

from whistle.crypto import KeyDerivationLimiter, Keyring
from whistle.settings import Settings


@dataclass(frozen=True)
class Context:
    """Settings, keys and three separate Argon2id budgets.

    ``kdf`` serves officer work (login, password re-checks and changes, account administration,
    key recovery); ``submission_kdf`` serves anonymous report submissions; ``lookup_kdf`` serves
    tracking-code look-ups. Separate budgets mean a flood of one kind only queues behind itself.
    """

    settings: Settings
    keyring: Keyring
    kdf: KeyDerivationLimiter
    submission_kdf: KeyDerivationLimiter
    lookup_kdf: KeyDerivationLimiter

    @classmethod
    def create(cls, settings: Settings) -> Context:
        """Load the keys (raising MissingKeys with a pointer to `whistle init`) and build the
        limiters that bound concurrent Argon2id derivations. The composition roots (app, CLI)
        hand the audit log its chain key from ``keyring``. ReceiptParamsChanged when the
        configured Argon2 costs are not the tracking-code costs fixed in the keys directory."""
        keyring = Keyring.load(settings.keys_dir)
        keyring.check_receipt_params(settings.argon2)
        return cls(
            settings=settings,
            keyring=keyring,
            kdf=KeyDerivationLimiter(settings.kdf_officer_concurrency, settings.kdf_queue),
            submission_kdf=KeyDerivationLimiter(
                settings.kdf_submission_concurrency, settings.kdf_queue
            ),
            lookup_kdf=KeyDerivationLimiter(settings.kdf_lookup_concurrency, settings.kdf_queue),
        )

"""Installation keys kept as files in the keys directory.

`whistle init` creates whatever is missing and never overwrites anything: replacing the receipt
salt or the office recovery key would make every existing report unreachable. Files are created
with mode 0600 in a 0700 directory. The office recovery private key is passphrase-protected and
may be moved offline; the running application only needs its public half.

The audit signing key (Ed25519) is read only when something signs: the web process never
calls ``sign_audit``, so it can run without read access to ``audit_signing.key``. Public keys
retired by ``rotate_audit_signing_key`` stay in ``audit_signing.retired`` so checkpoints signed
before a rotation still verify. The tracking-code Argon2 costs are fixed at init in
``receipt_params`` beside the receipt salt, one numbered version a line: raising
``WHISTLE_ARGON2_*`` afterwards needs ``whistle keys receipt-params`` (a new version for new
reports) and never changes what an existing code derives. The web secret is never used as
such: each job gets its own HKDF subkey (distinct ``info`` labels), so a weakness in one use
cannot leak into another.
"""

from __future__ import annotations

import logging
import os
import secrets
import stat
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PublicKey
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from whistle.crypto.envelope import (
    generate_keypair,
    protect_private_key,
    public_key_from_private,
    unprotect_private_key,
)
from whistle.crypto.errors import (
    CryptoError,
    DecryptionError,
    MissingKeys,
    ReceiptParamsChanged,
    WrongPassphrase,
)
from whistle.crypto.kdf import Argon2Params

__all__ = [
    "AUDIT_CHAIN",
    "AUDIT_RETIRED",
    "AUDIT_SIGNING",
    "AUDIT_VERIFY",
    "MIN_PASSPHRASE_CHARS",
    "OFFICE_PRIVATE",
    "OFFICE_PUBLIC",
    "RECEIPT_PARAMS",
    "RECEIPT_SALT",
    "REQUIRED_FILES",
    "WEB_SECRET",
    "Keyring",
    "add_receipt_params",
    "init_keys",
    "rotate_audit_signing_key",
]

logger = logging.getLogger(__name__)

OFFICE_PUBLIC = "office_recovery.pub"
OFFICE_PRIVATE = "office_recovery.key"
RECEIPT_SALT = "receipt_salt"
RECEIPT_PARAMS = "receipt_params"  # "<version> m=..,t=..,p=.." a line, oldest first
AUDIT_SIGNING = "audit_signing.key"
AUDIT_VERIFY = "audit_signing.pub"
AUDIT_RETIRED = "audit_signing.retired"  # retired verify keys, one hex public key a line
AUDIT_CHAIN = "audit_chain.key"  # HMAC key of the audit chain
WEB_SECRET = "web_secret"  # noqa: S105 - a file name, not a secret

# What the running application needs; the office private key and the audit signing key are
# deliberately not among them (the signing key is read by the command or worker that signs).
REQUIRED_FILES = (
    OFFICE_PUBLIC,
    RECEIPT_SALT,
    RECEIPT_PARAMS,
    AUDIT_VERIFY,
    AUDIT_CHAIN,
    WEB_SECRET,
)
# HKDF info labels of the web secret's subkeys: one label, one job.
CSRF_LABEL = b"whistle/web-secret/csrf/v1"
LOGIN_THROTTLE_LABEL = b"whistle/web-secret/login-throttle/v1"
RECOVERY_CODE_LABEL = b"whistle/web-secret/recovery-code/v1"
SUBMISSION_LABEL = b"whistle/web-secret/submission-receipt/v1"
HOLDER_TAG_LABEL = b"whistle/web-secret/holder-tag/v1"
ROSTER_MAC_LABEL = b"whistle/web-secret/roster-mac/v1"
OFFICER_PEPPER_LABEL = b"whistle/web-secret/officer-argon2-pepper/v1"
DRAFT_LABEL = b"whistle/web-secret/officer-draft/v1"
MIN_PASSPHRASE_CHARS = 12
_RAW_BYTES = 32


def _create_file(path: Path, data: bytes) -> None:
    """Write a new 0600 file, failing if anything (even a symlink) already has that name."""
    flags = os.O_CREAT | os.O_EXCL | os.O_WRONLY | getattr(os, "O_CLOEXEC", 0)
    fd = os.open(path, flags, 0o600)
    try:
        view = memoryview(data)
        while view:
            written = os.write(fd, view)
            view = view[written:]
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        path.unlink(missing_ok=True)
        raise
    os.close(fd)


def _fsync_dir(directory: Path) -> None:
    """Flush the directory entry so newly created key files survive a crash."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _read_raw(keys_dir: Path, name: str) -> bytes:
    """Read a raw 32-byte key file, refusing damaged ones (the error names the file only)."""
    data = (keys_dir / name).read_bytes()
    if len(data) != _RAW_BYTES:
        raise CryptoError(f"key file {name} is damaged (unexpected size)")
    return data


def _ed25519_public(private_key: bytes) -> bytes:
    """Return the raw Ed25519 public key of a raw private key."""
    return (
        Ed25519PrivateKey.from_private_bytes(private_key)
        .public_key()
        .public_bytes(Encoding.Raw, PublicFormat.Raw)
    )


def _check_passphrase(passphrase: str) -> None:
    """Refuse passphrases too weak to protect the office recovery key (without echoing them)."""
    if (
        not isinstance(passphrase, str)
        or len(passphrase) < MIN_PASSPHRASE_CHARS
        or not passphrase.strip()
    ):
        raise ValueError(f"the passphrase must have at least {MIN_PASSPHRASE_CHARS} characters")


def init_keys(keys_dir: Path, passphrase: str, params: Argon2Params) -> list[str]:
    """Create every missing key file and return the names created; existing files stay untouched.

    If the office recovery public key exists, its private half may legitimately be offline, so
    nothing is generated for it. A private key whose public file is missing gets its public file
    rebuilt from it (the office key needs the passphrase for that).
    """
    _check_passphrase(passphrase)
    keys_dir = Path(keys_dir)
    if not keys_dir.exists():
        keys_dir.mkdir(mode=0o700, parents=True)
        keys_dir.chmod(0o700)
    elif not keys_dir.is_dir():
        raise NotADirectoryError(f"{keys_dir} is not a directory")

    def exists(name: str) -> bool:
        return os.path.lexists(keys_dir / name)

    created: list[str] = []

    def create(name: str, data: bytes) -> None:
        _create_file(keys_dir / name, data)
        created.append(name)

    for name in (RECEIPT_SALT, WEB_SECRET, AUDIT_CHAIN):
        if not exists(name):
            create(name, secrets.token_bytes(_RAW_BYTES))
    if not exists(RECEIPT_PARAMS):
        # An installation from before this file derived its codes with the configured costs.
        create(RECEIPT_PARAMS, _encode_receipt_params((params,)))

    if not exists(AUDIT_SIGNING):
        if exists(AUDIT_VERIFY):
            raise CryptoError(
                f"{AUDIT_VERIFY} exists without {AUDIT_SIGNING}: restore {AUDIT_SIGNING} from "
                f"backup, or move {AUDIT_VERIFY} away to start a new audit signing key"
            )
        signing = Ed25519PrivateKey.generate().private_bytes_raw()
        create(AUDIT_SIGNING, signing)
    if not exists(AUDIT_VERIFY):
        create(AUDIT_VERIFY, _ed25519_public(_read_raw(keys_dir, AUDIT_SIGNING)))

    if not exists(OFFICE_PUBLIC):
        if exists(OFFICE_PRIVATE):
            try:
                private = unprotect_private_key(
                    (keys_dir / OFFICE_PRIVATE).read_bytes(), passphrase
                )
            except DecryptionError:
                raise WrongPassphrase(f"the passphrase does not open {OFFICE_PRIVATE}") from None
            create(OFFICE_PUBLIC, public_key_from_private(private))
        else:
            private, public = generate_keypair()
            # Private half first: if we stop in between, the next run rebuilds the public file.
            create(OFFICE_PRIVATE, protect_private_key(private, passphrase, params))
            create(OFFICE_PUBLIC, public)

    if created:
        _fsync_dir(keys_dir)
    return created


def _replace_file(path: Path, data: bytes) -> None:
    """Atomically replace ``path`` with a new 0600 file holding ``data``."""
    temporary = path.with_name(path.name + ".new")
    temporary.unlink(missing_ok=True)
    _create_file(temporary, data)
    os.replace(temporary, path)


def _read_retired(keys_dir: Path) -> tuple[bytes, ...]:
    path = keys_dir / AUDIT_RETIRED
    if not path.is_file():
        return ()
    keys = []
    for line in path.read_text().split():
        try:
            key = bytes.fromhex(line)
            Ed25519PublicKey.from_public_bytes(key)
        except ValueError:
            raise CryptoError(f"key file {AUDIT_RETIRED} is damaged") from None
        keys.append(key)
    return tuple(keys)


def rotate_audit_signing_key(keys_dir: Path) -> bytes:
    """Replace the audit signing key pair and return the new public key.

    The old public key is appended to ``audit_signing.retired`` first, so every checkpoint it
    signed keeps verifying; the old private key is gone once the new one replaces it.
    """
    keys_dir = Path(keys_dir)
    old_public = _read_raw(keys_dir, AUDIT_VERIFY)
    retired = _read_retired(keys_dir)
    if old_public not in retired:
        lines = [key.hex() for key in (*retired, old_public)]
        _replace_file(keys_dir / AUDIT_RETIRED, ("\n".join(lines) + "\n").encode())
    signing = Ed25519PrivateKey.generate().private_bytes_raw()
    # Private half first: if we stop in between, load refuses the mismatched pair loudly.
    _replace_file(keys_dir / AUDIT_SIGNING, signing)
    public = _ed25519_public(signing)
    _replace_file(keys_dir / AUDIT_VERIFY, public)
    _fsync_dir(keys_dir)
    return public


def _encode_receipt_params(versions: tuple[Argon2Params, ...]) -> bytes:
    return "".join(
        f"{number} {params.encode()}\n" for number, params in enumerate(versions, 1)
    ).encode("ascii")


def _read_receipt_params(keys_dir: Path) -> tuple[Argon2Params, ...]:
    """Every tracking-code parameter version, oldest (version 1) first; refuses damaged files."""
    versions = []
    try:
        lines = (keys_dir / RECEIPT_PARAMS).read_text("ascii").splitlines()
        for expected, line in enumerate(lines, 1):
            number, encoded = line.split(" ")
            if int(number) != expected:
                raise ValueError("versions out of order")
            versions.append(Argon2Params.decode(encoded))
    except (ValueError, UnicodeDecodeError):
        raise CryptoError(f"key file {RECEIPT_PARAMS} is damaged") from None
    if not versions:
        raise CryptoError(f"key file {RECEIPT_PARAMS} is damaged")
    return tuple(versions)


def add_receipt_params(keys_dir: Path, params: Argon2Params) -> int:
    """Make ``params`` the tracking-code costs of new reports and return their version.

    Earlier versions stay in the file, so codes issued under them keep opening (each is moved
    to the newest version on its reporter's next look-up). Nothing changes when ``params`` are
    already the newest.
    """
    keys_dir = Path(keys_dir)
    versions = _read_receipt_params(keys_dir)
    if versions[-1] != params:
        versions = (*versions, params)
        _replace_file(keys_dir / RECEIPT_PARAMS, _encode_receipt_params(versions))
        _fsync_dir(keys_dir)
    return len(versions)


def _warn_if_exposed(keys_dir: Path, name: str) -> None:
    """Log (file name only) when a secret key file is readable by group or others."""
    try:
        mode = (keys_dir / name).stat().st_mode
    except OSError:
        return
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        logger.warning("key file %s is accessible to group or others; chmod 600 it", name)


@dataclass(frozen=True)
class Keyring:
    """The keys the running application needs; the office private key stays on disk (or offline)."""

    office_public_key: bytes
    receipt_salt: bytes = field(repr=False)
    # Tracking-code Argon2 costs by version (version n is index n - 1); the last is current.
    receipt_params: tuple[Argon2Params, ...]
    audit_verify_key: bytes
    audit_chain_key: bytes = field(repr=False)
    web_secret: bytes = field(repr=False)
    keys_dir: Path
    # Public keys of earlier audit signing keys (oldest first), for checkpoints they signed.
    retired_audit_verify_keys: tuple[bytes, ...] = ()

    @classmethod
    def load(cls, keys_dir: Path) -> Keyring:
        """Read the key files, raising MissingKeys (naming them) when any required one is absent."""
        keys_dir = Path(keys_dir)
        missing = [name for name in REQUIRED_FILES if not (keys_dir / name).is_file()]
        if missing:
            raise MissingKeys(missing, keys_dir)
        for name in (RECEIPT_SALT, AUDIT_CHAIN, WEB_SECRET):
            _warn_if_exposed(keys_dir, name)
        office_public = _read_raw(keys_dir, OFFICE_PUBLIC)
        audit_verify = _read_raw(keys_dir, AUDIT_VERIFY)
        try:
            X25519PublicKey.from_public_bytes(office_public)
            Ed25519PublicKey.from_public_bytes(audit_verify)
        except ValueError:
            raise CryptoError(f"{AUDIT_VERIFY} or {OFFICE_PUBLIC} is damaged") from None
        return cls(
            office_public_key=office_public,
            receipt_salt=_read_raw(keys_dir, RECEIPT_SALT),
            receipt_params=_read_receipt_params(keys_dir),
            audit_verify_key=audit_verify,
            audit_chain_key=_read_raw(keys_dir, AUDIT_CHAIN),
            web_secret=_read_raw(keys_dir, WEB_SECRET),
            keys_dir=keys_dir,
            retired_audit_verify_keys=_read_retired(keys_dir),
        )

    def _subkey(self, label: bytes) -> bytes:
        return HKDF(algorithm=SHA256(), length=_RAW_BYTES, salt=None, info=label).derive(
            self.web_secret
        )

    @property
    def receipt_version(self) -> int:
        """The tracking-code parameter version new reports are filed with."""
        return len(self.receipt_params)

    def receipt_params_of(self, version: int) -> Argon2Params:
        """The tracking-code costs of ``version``; CryptoError for a version this file lacks."""
        if not 1 <= version <= len(self.receipt_params):
            raise CryptoError(f"{RECEIPT_PARAMS} has no version {version}")
        return self.receipt_params[version - 1]

    def check_receipt_params(self, configured: Argon2Params) -> None:
        """Refuse to start when the configured costs are not the current receipt costs.

        Deriving codes with other costs would answer every existing code "unknown"; the
        operator records a raise on purpose with ``whistle keys receipt-params``.
        """
        current = self.receipt_params[-1]
        if configured != current:
            raise ReceiptParamsChanged(
                f"WHISTLE_ARGON2_* ({configured.encode()}) differ from the tracking-code costs "
                f"fixed in {RECEIPT_PARAMS} (version {self.receipt_version}: {current.encode()}). "
                "Run `whistle keys receipt-params` to use the new costs for new reports "
                "(existing codes keep working), or restore the previous values."
            )

    @cached_property  # public forms sign a token with it on every answer
    def csrf_secret(self) -> bytes:
        """The web secret's subkey for CSRF tokens (and nothing else)."""
        return self._subkey(CSRF_LABEL)

    @property
    def login_throttle_key(self) -> bytes:
        """The web secret's subkey for the login throttle's keyed hash (and nothing else)."""
        return self._subkey(LOGIN_THROTTLE_LABEL)

    @property
    def recovery_code_key(self) -> bytes:
        """The web secret's subkey for two-factor recovery code hashes (and nothing else)."""
        return self._subkey(RECOVERY_CODE_LABEL)

    @property
    def officer_pepper(self) -> bytes:
        """The web secret's subkey given to Argon2 as its ``secret`` input for officer password
        hashes and officer key blobs (and nothing else): a database copy alone cannot check a
        password guess. Replacing web_secret would lock every officer out."""
        return self._subkey(OFFICER_PEPPER_LABEL)

    @property
    def draft_key(self) -> bytes:
        """The web secret's subkey sealing the form an officer was writing when their session
        expired, while it crosses the login page (and nothing else)."""
        return self._subkey(DRAFT_LABEL)

    @property
    def submission_key(self) -> bytes:
        """The web secret's subkey for the keyed hash of submission tokens and Idempotency-Keys
        (and nothing else)."""
        return self._subkey(SUBMISSION_LABEL)

    @property
    def holder_tag_key(self) -> bytes:
        """The web secret's subkey for the tags naming an officer's key wraps (report_key and
        pending wraps) without their id (and nothing else)."""
        return self._subkey(HOLDER_TAG_LABEL)

    @property
    def roster_mac_key(self) -> bytes:
        """The web secret's subkey for the MAC of each officer roster row (and nothing else)."""
        return self._subkey(ROSTER_MAC_LABEL)

    @property
    def audit_verify_keys(self) -> tuple[bytes, ...]:
        """Every audit verify key a stored checkpoint may have been signed with: current first."""
        return (self.audit_verify_key, *self.retired_audit_verify_keys)

    @property
    def audit_signing_key(self) -> bytes:
        """Read the audit signing key from disk now (only the signing command or worker does).

        CryptoError when it does not belong to ``audit_signing.pub``; MissingKeys when absent.
        """
        if not (self.keys_dir / AUDIT_SIGNING).is_file():
            raise MissingKeys([AUDIT_SIGNING], self.keys_dir)
        _warn_if_exposed(self.keys_dir, AUDIT_SIGNING)
        signing = _read_raw(self.keys_dir, AUDIT_SIGNING)
        try:
            matches = _ed25519_public(signing) == self.audit_verify_key
        except ValueError:
            matches = False
        if not matches:
            raise CryptoError(f"{AUDIT_SIGNING} does not belong to {AUDIT_VERIFY}")
        return signing

    def unlock_office_private_key(self, passphrase: str) -> bytes:
        """Open the office recovery private key (for recovery only); WrongPassphrase if it fails."""
        path = self.keys_dir / OFFICE_PRIVATE
        if not path.is_file():
            raise MissingKeys([OFFICE_PRIVATE], self.keys_dir)
        if not isinstance(passphrase, str):
            raise WrongPassphrase()
        try:
            private = unprotect_private_key(path.read_bytes(), passphrase)
        except DecryptionError:
            raise WrongPassphrase() from None
        try:
            matches = public_key_from_private(private) == self.office_public_key
        except ValueError:
            matches = False
        if not matches:
            raise CryptoError(f"{OFFICE_PRIVATE} does not belong to {OFFICE_PUBLIC}")
        return private

    def sign_audit(self, message: bytes, *, signing_key: bytes | None = None) -> bytes:
        """Sign an audit checkpoint so an offline copy can later prove history was not rewritten.

        Reads the signing key from disk unless the caller already holds it (``signing_key``).
        """
        key = self.audit_signing_key if signing_key is None else signing_key
        return Ed25519PrivateKey.from_private_bytes(key).sign(bytes(message))

    @staticmethod
    def verify_audit_signature(public_key: bytes, message: bytes, signature: bytes) -> bool:
        """Check an audit checkpoint signature; False for a bad signature or malformed key."""
        try:
            Ed25519PublicKey.from_public_bytes(bytes(public_key)).verify(
                bytes(signature), bytes(message)
            )
        except (InvalidSignature, ValueError, TypeError):
            return False
        return True

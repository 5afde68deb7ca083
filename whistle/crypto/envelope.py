"""Authenticated encryption of report data, key wrapping, sealing to public keys and sessions.

Blob layouts (all start with a version byte so formats can evolve):

- encrypt / wrap_key:      0x01 | nonce (12) | AES-256-GCM ciphertext and tag
- seal:                    0x02 | HPKE (RFC 9180, base mode, X25519 / HKDF-SHA256 / AES-256-GCM):
                           encapsulated key (32) | ciphertext+tag; the context is HPKE's info
- seal, before HPKE:       0x01 | ephemeral X25519 public key (32) | nonce (12) | ciphertext+tag
                           (still opened by unseal, never written)
- protect_private_key:     0x04 | len (2, big endian) | Argon2 params (ASCII) | salt (16)
                           | nonce (12) | ciphertext+tag; the Argon2 key is derived with the
                           officer pepper (Argon2's ``secret`` input, version 1) as well as the
                           password, and the ciphertext is bound (associated data) to what the
                           caller names, e.g. the officer's id and public key. What officer keys
                           are written as; every older layout below still opens and is replaced
                           by this one at the officer's next login.
- protect_private_key, bound only: 0x02 | the same fields, no pepper (written only when no
                           pepper is given)
- protect_private_key, peppered only: 0x03 | the same fields, fixed associated data (written
                           only when nothing is bound)
- protect_private_key, the original: 0x01 | the same fields, no pepper, fixed associated data
                           (written only when neither is given, e.g. the office key)

Every opening function raises DecryptionError, with a fixed message, on any failure: it never
returns wrong plaintext and never passes on the underlying library's exception text.
"""

from __future__ import annotations

import hashlib
import secrets

from cryptography.hazmat.primitives import hashes, hpke
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from whistle.crypto.errors import DecryptionError
from whistle.crypto.kdf import Argon2Params, argon2id, password_bytes

__all__ = [
    "KEY_BYTES",
    "associated_data",
    "decrypt",
    "encrypt",
    "generate_keypair",
    "new_data_key",
    "new_session_id",
    "private_key_is_bound",
    "private_key_is_current",
    "private_key_is_peppered",
    "protect_private_key",
    "public_key_from_private",
    "seal",
    "session_lookup",
    "session_secret_key",
    "unprotect_private_key",
    "unseal",
    "unwrap_key",
    "wrap_key",
]

KEY_BYTES = 32
_NONCE_BYTES = 12
_TAG_BYTES = 16
_X25519_BYTES = 32
_VERSION = b"\x01"
_HPKE_VERSION = b"\x02"
_PEPPERED_KEY_VERSION = b"\x03"
# RFC 9180 suite for sealing to officers and the office: the audited standard construction.
_HPKE = hpke.Suite(hpke.KEM.X25519, hpke.KDF.HKDF_SHA256, hpke.AEAD.AES_256_GCM)

_AAD_PREFIX = b"whistle/v1\x00"
_SEAL_INFO = b"whistle-seal/v1"
_OFFICER_KEY_AAD = b"whistle-officer-key/v1"
_BOUND_KEY_VERSION = b"\x02"
_BOUND_KEY_AAD = b"whistle-officer-key/v2\x00"
# Peppered and bound (what officer keys are written as): its own associated-data label, so a
# blob relabelled to another layout byte does not open.
_PEPPERED_BOUND_KEY_VERSION = b"\x04"
_PEPPERED_BOUND_KEY_AAD = b"whistle-officer-key/v4\x00"
_PRIVATE_KEY_VERSIONS = (
    _VERSION,
    _BOUND_KEY_VERSION,
    _PEPPERED_KEY_VERSION,
    _PEPPERED_BOUND_KEY_VERSION,
)
_OFFICER_KEY_SALT_BYTES = 16
_SESSION_INFO = b"whistle-session/v1"
_SESSION_ID_BYTES = 32


def _require_key(key: bytes) -> bytes:
    """Check that a symmetric key is 32 bytes; a short key must never silently pick AES-128."""
    if not isinstance(key, bytes | bytearray | memoryview) or len(key) != KEY_BYTES:
        raise ValueError("key must be 32 bytes")
    return bytes(key)


def new_data_key() -> bytes:
    """Return a fresh random 256-bit key (one per report, encrypting all of its data)."""
    return secrets.token_bytes(KEY_BYTES)


def associated_data(report_id: str, purpose: str) -> bytes:
    """Encode (report id, purpose) unambiguously to bind a ciphertext to its report and use.

    Each part is length-prefixed, so no two different pairs give the same bytes; a value moved to
    another report or column therefore fails to decrypt.
    """
    if not isinstance(report_id, str) or not isinstance(purpose, str):
        raise TypeError("report_id and purpose must be strings")
    if not purpose:
        raise ValueError("purpose must not be empty")
    parts = [report_id.encode("utf-8"), purpose.encode("utf-8")]
    return _AAD_PREFIX + b"".join(len(part).to_bytes(4, "big") + part for part in parts)


def encrypt(key: bytes, plaintext: bytes, aad: bytes) -> bytes:
    """Encrypt and authenticate with AES-256-GCM under a random 96-bit nonce."""
    aead = AESGCM(_require_key(key))
    nonce = secrets.token_bytes(_NONCE_BYTES)
    return _VERSION + nonce + aead.encrypt(nonce, bytes(plaintext), bytes(aad))


def decrypt(key: bytes, blob: bytes, aad: bytes) -> bytes:
    """Open an encrypt() blob; any failure (key, aad, tampering, format) is DecryptionError."""
    try:
        data = bytes(blob)
        if len(data) < 1 + _NONCE_BYTES + _TAG_BYTES or data[:1] != _VERSION:
            raise DecryptionError()
        aead = AESGCM(_require_key(key))
        return aead.decrypt(data[1 : 1 + _NONCE_BYTES], data[1 + _NONCE_BYTES :], bytes(aad))
    except Exception:
        raise DecryptionError() from None


def wrap_key(kek: bytes, data_key: bytes, aad: bytes) -> bytes:
    """Encrypt a 32-byte data key under a key-encryption key (for example the reporter's)."""
    return encrypt(kek, _require_key(data_key), aad)


def unwrap_key(kek: bytes, blob: bytes, aad: bytes) -> bytes:
    """Recover a data key wrapped by wrap_key(); DecryptionError on any failure."""
    data_key = decrypt(kek, blob, aad)
    if len(data_key) != KEY_BYTES:
        raise DecryptionError()
    return data_key


def generate_keypair() -> tuple[bytes, bytes]:
    """Create an X25519 key pair as raw bytes (private, public), e.g. for an officer."""
    private = X25519PrivateKey.generate()
    return (
        private.private_bytes_raw(),
        private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw),
    )


def public_key_from_private(private_key: bytes) -> bytes:
    """Return the raw X25519 public key belonging to a raw private key."""
    private = X25519PrivateKey.from_private_bytes(bytes(private_key))
    return private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def _seal_key(
    shared: bytes, ephemeral_public: bytes, recipient_public: bytes, context: bytes
) -> bytes:
    """Derive the one-time AES key of a sealed box, bound to both public keys and the context."""
    return HKDF(
        algorithm=hashes.SHA256(),
        length=KEY_BYTES,
        salt=ephemeral_public + recipient_public,
        info=_SEAL_INFO + context,
    ).derive(shared)


def seal(public_key: bytes, plaintext: bytes, context: bytes) -> bytes:
    """Encrypt for the holder of an X25519 private key with HPKE (RFC 9180, base mode).

    Used to wrap report keys for officers and the office recovery key; `context` is
    authenticated, so a sealed key cannot be replayed for another report or purpose.
    """
    if (
        not isinstance(public_key, bytes | bytearray | memoryview)
        or len(public_key) != _X25519_BYTES
    ):
        raise ValueError("public key must be 32 bytes")
    recipient = X25519PublicKey.from_public_bytes(bytes(public_key))
    return _HPKE_VERSION + _HPKE.encrypt(bytes(plaintext), recipient, info=bytes(context))


def unseal(private_key: bytes, blob: bytes, context: bytes) -> bytes:
    """Open a seal() blob with the recipient's raw private key; DecryptionError on any failure.

    Opens both layouts: HPKE (0x02) and the hand-built sealed box written before it (0x01).
    """
    try:
        data = bytes(blob)
        context = bytes(context)
        if data[:1] == _HPKE_VERSION:
            private = X25519PrivateKey.from_private_bytes(bytes(private_key))
            return _HPKE.decrypt(data[1:], private, info=context)
        header = 1 + _X25519_BYTES + _NONCE_BYTES
        if len(data) < header + _TAG_BYTES or data[:1] != _VERSION:
            raise DecryptionError()
        private = X25519PrivateKey.from_private_bytes(bytes(private_key))
        recipient_public = private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        ephemeral_public = data[1 : 1 + _X25519_BYTES]
        shared = private.exchange(X25519PublicKey.from_public_bytes(ephemeral_public))
        key = _seal_key(shared, ephemeral_public, recipient_public, context)
        nonce = data[1 + _X25519_BYTES : header]
        return AESGCM(key).decrypt(nonce, data[header:], context)
    except Exception:
        raise DecryptionError() from None


def protect_private_key(
    private_key: bytes,
    password: str,
    params: Argon2Params,
    bound_to: bytes = b"",
    *,
    pepper: bytes | None = None,
) -> bytes:
    """Encrypt a private key under an Argon2id key derived from a password or passphrase.

    The parameters and a fresh salt (distinct from any password-hash salt) travel inside the blob,
    so the costs can be raised later and the blob is self-contained. ``bound_to`` (e.g. the
    officer's id and public key) is bound in as associated data: the blob then opens only when
    the same value is given, so it cannot be moved to another officer or public key. With
    ``pepper`` (officer keys) the blob says so and opening it needs the same pepper. Both given
    (as for every officer key) make layout 0x04; one alone 0x02 (bound) or 0x03 (peppered).
    """
    if not isinstance(private_key, bytes | bytearray | memoryview) or len(private_key) == 0:
        raise ValueError("private key must be non-empty bytes")
    encoded_params = params.encode().encode("ascii")
    salt = secrets.token_bytes(_OFFICER_KEY_SALT_BYTES)
    key = argon2id(password_bytes(password), salt, params, KEY_BYTES, pepper=pepper)
    nonce = secrets.token_bytes(_NONCE_BYTES)
    if bound_to and pepper is not None:
        version, aad = _PEPPERED_BOUND_KEY_VERSION, _PEPPERED_BOUND_KEY_AAD + bytes(bound_to)
    elif bound_to:
        version, aad = _BOUND_KEY_VERSION, _BOUND_KEY_AAD + bytes(bound_to)
    elif pepper is not None:
        version, aad = _PEPPERED_KEY_VERSION, _OFFICER_KEY_AAD
    else:
        version, aad = _VERSION, _OFFICER_KEY_AAD
    ciphertext = AESGCM(key).encrypt(nonce, bytes(private_key), aad)
    header = version + len(encoded_params).to_bytes(2, "big") + encoded_params
    return header + salt + nonce + ciphertext


def private_key_is_bound(blob: bytes) -> bool:
    """Whether a protected private key carries a binding (layout 0x02 or 0x04)."""
    return bytes(blob[:1]) in (_BOUND_KEY_VERSION, _PEPPERED_BOUND_KEY_VERSION)


def private_key_is_peppered(blob: bytes) -> bool:
    """Whether a protected private key was derived with the pepper (layout 0x03 or 0x04)."""
    return bytes(blob[:1]) in (_PEPPERED_KEY_VERSION, _PEPPERED_BOUND_KEY_VERSION)


def private_key_is_current(blob: bytes) -> bool:
    """Whether a protected private key has the newest layout (0x04: peppered and bound); any
    other is rewritten at the officer's next login."""
    return bytes(blob[:1]) == _PEPPERED_BOUND_KEY_VERSION


def unprotect_private_key(
    blob: bytes, password: str, bound_to: bytes = b"", *, pepper: bytes | None = None
) -> bytes:
    """Recover a key protected by protect_private_key(); DecryptionError on a wrong password,
    when a bound blob is opened with another ``bound_to`` than it was made with, and on a
    peppered blob opened without the (same) pepper. A blob of an older layout opens with what
    it needs: an unbound one whatever ``bound_to`` says, one from before the pepper with or
    without it (rewrite it in the newest layout after use)."""
    if not isinstance(password, str):
        raise DecryptionError()
    try:
        data = bytes(blob)
        version = data[:1]
        if len(data) < 3 or version not in _PRIVATE_KEY_VERSIONS:
            raise DecryptionError()
        peppered = private_key_is_peppered(version)
        if peppered and pepper is None:
            raise DecryptionError()
        if version == _PEPPERED_BOUND_KEY_VERSION:
            aad = _PEPPERED_BOUND_KEY_AAD + bytes(bound_to)
        elif version == _BOUND_KEY_VERSION:
            aad = _BOUND_KEY_AAD + bytes(bound_to)
        else:
            aad = _OFFICER_KEY_AAD
        params_len = int.from_bytes(data[1:3], "big")
        offset = 3 + params_len
        params = Argon2Params.decode(data[3:offset].decode("ascii"))
        salt = data[offset : offset + _OFFICER_KEY_SALT_BYTES]
        offset += _OFFICER_KEY_SALT_BYTES
        nonce = data[offset : offset + _NONCE_BYTES]
        offset += _NONCE_BYTES
        ciphertext = data[offset:]
        if len(salt) != _OFFICER_KEY_SALT_BYTES or len(nonce) != _NONCE_BYTES:
            raise DecryptionError()
        if len(ciphertext) < _TAG_BYTES:
            raise DecryptionError()
        key = argon2id(
            password_bytes(password), salt, params, KEY_BYTES, pepper=pepper if peppered else None
        )
        return AESGCM(key).decrypt(nonce, ciphertext, aad)
    except Exception:
        raise DecryptionError() from None


def new_session_id() -> bytes:
    """Return a fresh random 256-bit session id (it lives only in the client's cookie)."""
    return secrets.token_bytes(_SESSION_ID_BYTES)


def _require_session_id(session_id: bytes) -> bytes:
    """Accept only bytes-like session ids, so a str cookie value is never hashed by accident."""
    if not isinstance(session_id, bytes | bytearray | memoryview):
        raise TypeError("session id must be bytes")
    return bytes(session_id)


def session_secret_key(session_id: bytes) -> bytes:
    """Derive the key that encrypts what a session unlocks; the database never holds it."""
    return HKDF(
        algorithm=hashes.SHA256(),
        length=KEY_BYTES,
        salt=None,
        info=_SESSION_INFO,
    ).derive(_require_session_id(session_id))


def session_lookup(session_id: bytes) -> bytes:
    """Return the SHA-256 of a session id: what the database stores to find the session."""
    return hashlib.sha256(_require_session_id(session_id)).digest()

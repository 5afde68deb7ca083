"""Envelope encryption, sealing, key protection and session helpers."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import pytest

from whistle.crypto.envelope import (
    associated_data,
    decrypt,
    encrypt,
    generate_keypair,
    new_data_key,
    new_session_id,
    private_key_is_bound,
    private_key_is_current,
    private_key_is_peppered,
    protect_private_key,
    public_key_from_private,
    seal,
    session_lookup,
    session_secret_key,
    unprotect_private_key,
    unseal,
    unwrap_key,
    wrap_key,
)
from whistle.crypto.errors import DecryptionError
from whistle.crypto.kdf import Argon2Params

CHEAP = Argon2Params(memory_kib=1024, iterations=1)
PLAINTEXT = b"the head of section took a bribe on 3 March"
AAD = associated_data("report-1", "description")


def assert_fails(func: Callable[..., object], *args: object) -> None:
    """Opening must raise DecryptionError with the fixed message and no chained cause."""
    with pytest.raises(DecryptionError) as info:
        func(*args)
    assert str(info.value) == "decryption failed"
    assert info.value.__cause__ is None
    assert info.value.__context__ is None or info.value.__suppress_context__


def test_new_data_key() -> None:
    key = new_data_key()
    assert isinstance(key, bytes) and len(key) == 32
    assert new_data_key() != key


def test_associated_data_is_unambiguous() -> None:
    assert associated_data("a", "b") == associated_data("a", "b")
    pairs = [("a", "b"), ("ab", ""), ("a\x00", "b"), ("a", "\x00b"), ("b", "a"), ("", "ab")]
    encoded = {associated_data(r, p) for r, p in pairs if p}
    assert len(encoded) == len([p for _, p in pairs if p])
    assert associated_data("a\x00b", "c") != associated_data("a", "b\x00c")
    assert associated_data("r", "p").startswith(b"whistle/v1\x00")


def test_associated_data_rejects_bad_input() -> None:
    with pytest.raises(ValueError):
        associated_data("report-1", "")
    with pytest.raises(TypeError):
        associated_data(b"report-1", "description")  # type: ignore[arg-type]


def test_round_trip() -> None:
    key = new_data_key()
    blob = encrypt(key, PLAINTEXT, AAD)
    assert blob[0] == 1
    assert len(blob) == 1 + 12 + len(PLAINTEXT) + 16
    assert PLAINTEXT not in blob
    assert decrypt(key, blob, AAD) == PLAINTEXT
    assert decrypt(key, encrypt(key, b"", AAD), AAD) == b""


def test_nonces_are_fresh() -> None:
    key = new_data_key()
    assert encrypt(key, PLAINTEXT, AAD) != encrypt(key, PLAINTEXT, AAD)


def test_every_flipped_bit_fails() -> None:
    key = new_data_key()
    blob = encrypt(key, b"short", AAD)
    for index in range(len(blob)):
        for bit in range(8):
            tampered = bytearray(blob)
            tampered[index] ^= 1 << bit
            assert_fails(decrypt, key, bytes(tampered), AAD)


def test_swapped_associated_data_fails() -> None:
    key = new_data_key()
    blob = encrypt(key, PLAINTEXT, AAD)
    assert_fails(decrypt, key, blob, associated_data("report-2", "description"))
    assert_fails(decrypt, key, blob, associated_data("report-1", "reporter_note"))
    assert_fails(decrypt, key, blob, b"")


def test_wrong_key_fails() -> None:
    blob = encrypt(new_data_key(), PLAINTEXT, AAD)
    assert_fails(decrypt, new_data_key(), blob, AAD)


@pytest.mark.parametrize("bad_key", [b"", b"k" * 16, b"k" * 24, b"k" * 31, b"k" * 33, "k" * 32])
def test_wrong_key_length_fails(bad_key: object) -> None:
    key = new_data_key()
    blob = encrypt(key, PLAINTEXT, AAD)
    assert_fails(decrypt, bad_key, blob, AAD)


def test_encrypt_refuses_short_key() -> None:
    with pytest.raises(ValueError):
        encrypt(b"k" * 16, PLAINTEXT, AAD)


def test_truncation_fails() -> None:
    key = new_data_key()
    blob = encrypt(key, PLAINTEXT, AAD)
    for length in range(len(blob)):
        assert_fails(decrypt, key, blob[:length], AAD)
    assert_fails(decrypt, key, blob + b"\x00", AAD)


def test_wrong_version_fails() -> None:
    key = new_data_key()
    blob = encrypt(key, PLAINTEXT, AAD)
    assert_fails(decrypt, key, b"\x02" + blob[1:], AAD)
    assert_fails(decrypt, key, None, AAD)


def test_wrap_unwrap() -> None:
    kek, data_key = new_data_key(), new_data_key()
    aad = associated_data("report-1", "reporter_wrap")
    blob = wrap_key(kek, data_key, aad)
    assert data_key not in blob
    assert unwrap_key(kek, blob, aad) == data_key
    assert_fails(unwrap_key, new_data_key(), blob, aad)
    assert_fails(unwrap_key, kek, blob, associated_data("report-2", "reporter_wrap"))
    # Something that decrypts but is not a 32-byte key is refused too.
    assert_fails(unwrap_key, kek, encrypt(kek, b"short", aad), aad)
    with pytest.raises(ValueError):
        wrap_key(kek, b"short", aad)


def test_generate_keypair() -> None:
    private, public = generate_keypair()
    assert len(private) == 32 and len(public) == 32
    assert public_key_from_private(private) == public
    assert generate_keypair()[0] != private


def test_seal_round_trip() -> None:
    private, public = generate_keypair()
    context = associated_data("report-1", "officer_wrap")
    blob = seal(public, PLAINTEXT, context)
    # HPKE layout: version 2 | encapsulated X25519 key | ciphertext and tag.
    assert blob[0] == 2
    assert len(blob) == 1 + 32 + len(PLAINTEXT) + 16
    assert unseal(private, blob, context) == PLAINTEXT
    # Fresh ephemeral key every time.
    assert seal(public, PLAINTEXT, context)[1:33] != blob[1:33]


# Written by the hand-built sealed box (layout 0x01) before sealing moved to HPKE: wraps stored
# in existing databases look like this and must keep opening.
V1_PRIVATE = bytes.fromhex("a8134fe8988d6d8515d773954459b8c105cd59394d0e754ab60b1c07b2eba24c")
V1_BLOB = bytes.fromhex(
    "01f897b1c6b6f1acb7b043c872596e38654002f942a5beefb84a3c073f22dcdd31ee244e320dc69254b6c66e"
    "85d310d5d5cbf9f68a863e73f0d1774fc8223dc93dc3e694d18e5c336db0031f7673a1eeb14d01d3bccbf66b"
    "e3d2624e"
)
V1_CONTEXT = b"whistle-test/v1-wrap"


def test_seal_uses_hpke_rfc_9180() -> None:
    # An independent HPKE decryption (the library's Suite, not unseal) opens a new seal.
    from cryptography.hazmat.primitives import hpke
    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

    private, public = generate_keypair()
    blob = seal(public, PLAINTEXT, b"ctx")
    suite = hpke.Suite(hpke.KEM.X25519, hpke.KDF.HKDF_SHA256, hpke.AEAD.AES_256_GCM)
    opened = suite.decrypt(blob[1:], X25519PrivateKey.from_private_bytes(private), info=b"ctx")
    assert opened == PLAINTEXT


def test_seal_from_before_hpke_still_opens() -> None:
    assert V1_BLOB[0] == 1
    assert unseal(V1_PRIVATE, V1_BLOB, V1_CONTEXT) == b"a report key sealed before HPKE"
    assert_fails(unseal, V1_PRIVATE, V1_BLOB, b"another context")
    tampered = bytearray(V1_BLOB)
    tampered[-1] ^= 0x01
    assert_fails(unseal, V1_PRIVATE, bytes(tampered), V1_CONTEXT)


def test_seal_wrong_private_key_fails() -> None:
    _, public = generate_keypair()
    other_private, _ = generate_keypair()
    blob = seal(public, PLAINTEXT, b"ctx")
    assert_fails(unseal, other_private, blob, b"ctx")


def test_seal_wrong_context_fails() -> None:
    private, public = generate_keypair()
    blob = seal(public, PLAINTEXT, b"ctx")
    assert_fails(unseal, private, blob, b"ctx2")
    assert_fails(unseal, private, blob, b"")


def test_seal_tampering_and_truncation_fail() -> None:
    private, public = generate_keypair()
    blob = seal(public, b"k", b"ctx")
    for index in range(len(blob)):
        tampered = bytearray(blob)
        tampered[index] ^= 0x01
        assert_fails(unseal, private, bytes(tampered), b"ctx")
    for length in range(len(blob)):
        assert_fails(unseal, private, blob[:length], b"ctx")
    assert_fails(unseal, b"short", blob, b"ctx")


def test_seal_rejects_bad_public_key() -> None:
    with pytest.raises(ValueError):
        seal(b"short", PLAINTEXT, b"ctx")
    with pytest.raises(ValueError):
        seal(bytes(32), PLAINTEXT, b"ctx")  # low-order point: no shared secret


def test_protect_private_key_round_trip() -> None:
    private, _ = generate_keypair()
    blob = protect_private_key(private, "officer password 1", CHEAP)
    assert private not in blob
    assert b"m=1024,t=1,p=1" in blob  # params travel with the blob
    assert unprotect_private_key(blob, "officer password 1") == private
    assert protect_private_key(private, "officer password 1", CHEAP) != blob  # fresh salt


def test_protect_private_key_wrong_password_fails() -> None:
    private, _ = generate_keypair()
    blob = protect_private_key(private, "officer password 1", CHEAP)
    assert_fails(unprotect_private_key, blob, "officer password 2")
    assert_fails(unprotect_private_key, blob, "")


def test_protect_private_key_uses_params_from_blob() -> None:
    private, _ = generate_keypair()
    blob = protect_private_key(private, "pw", Argon2Params(memory_kib=2048, iterations=2))
    assert unprotect_private_key(blob, "pw") == private


def test_protect_private_key_malformed_fails() -> None:
    private, _ = generate_keypair()
    blob = protect_private_key(private, "pw", CHEAP)
    for length in range(len(blob)):
        assert_fails(unprotect_private_key, blob[:length], "pw")
    for index in range(len(blob)):
        tampered = bytearray(blob)
        tampered[index] ^= 0x01
        assert_fails(unprotect_private_key, bytes(tampered), "pw")


def test_session_helpers() -> None:
    session_id = new_session_id()
    assert len(session_id) == 32
    assert new_session_id() != session_id
    key = session_secret_key(session_id)
    lookup = session_lookup(session_id)
    assert len(key) == 32 and len(lookup) == 32
    assert key == session_secret_key(session_id)
    assert lookup == session_lookup(session_id)
    assert key != lookup
    assert session_secret_key(new_session_id()) != key
    # What a session unlocks round-trips under the derived key.
    officer_private, _ = generate_keypair()
    blob = encrypt(key, officer_private, b"session")
    assert decrypt(session_secret_key(session_id), blob, b"session") == officer_private
    with pytest.raises(TypeError):
        session_lookup(session_id.hex())  # type: ignore[arg-type]


def test_peppered_private_key_needs_the_pepper() -> None:
    private, _ = generate_keypair()
    pepper = b"p" * 32
    blob = protect_private_key(private, "pw", CHEAP, pepper=pepper)
    assert blob[:1] == b"\x03"
    assert unprotect_private_key(blob, "pw", pepper=pepper) == private
    assert_fails(unprotect_private_key, blob, "pw")
    assert_fails(unprotect_private_key, b"\x01" + blob[1:], "pw")
    # A blob from before the pepper opens whether or not the pepper is given.
    old = protect_private_key(private, "pw", CHEAP)
    assert unprotect_private_key(old, "pw", pepper=pepper) == private


def test_peppered_and_bound_private_key_needs_both() -> None:
    """The layout officer keys are written in (0x04): the pepper AND the binding. Every older
    layout still opens; a relabelled 0x04 blob opens as none of them."""
    private, _ = generate_keypair()
    pepper, binding = b"p" * 32, b"officer:7:" + bytes(range(32))
    blob = protect_private_key(private, "pw", CHEAP, binding, pepper=pepper)
    assert blob[:1] == b"\x04"
    assert private_key_is_current(blob)
    assert private_key_is_bound(blob) and private_key_is_peppered(blob)
    assert unprotect_private_key(blob, "pw", binding, pepper=pepper) == private
    assert_fails(unprotect_private_key, blob, "pw", binding)  # no pepper
    assert_fails(partial(unprotect_private_key, pepper=b"q" * 32), blob, "pw", binding)
    peppered = partial(unprotect_private_key, pepper=pepper)
    assert_fails(peppered, blob, "pw")  # no binding
    assert_fails(peppered, blob, "pw", b"officer:8:" + binding[10:])
    assert_fails(peppered, blob, "pw2", binding)
    for layout in (b"\x01", b"\x02", b"\x03", b"\x05"):
        assert_fails(peppered, layout + blob[1:], "pw", binding)
    for index in range(len(blob)):
        tampered = bytearray(blob)
        tampered[index] ^= 0x01
        assert_fails(peppered, bytes(tampered), "pw", binding)
    # The older layouts: each opens given what it was made with, and none is current.
    older = {
        b"\x01": protect_private_key(private, "pw", CHEAP),
        b"\x02": protect_private_key(private, "pw", CHEAP, binding),
        b"\x03": protect_private_key(private, "pw", CHEAP, pepper=pepper),
    }
    for layout, old in older.items():
        assert old[:1] == layout and not private_key_is_current(old)
        assert unprotect_private_key(old, "pw", binding, pepper=pepper) == private
    assert private_key_is_bound(older[b"\x02"]) and not private_key_is_peppered(older[b"\x02"])
    assert private_key_is_peppered(older[b"\x03"]) and not private_key_is_bound(older[b"\x03"])

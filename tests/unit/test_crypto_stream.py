"""The streaming AEAD of evidence files: round trips, and every rearrangement detected."""

from __future__ import annotations

import os

import pytest

from whistle.crypto import DecryptionError
from whistle.crypto.stream import (
    CHUNK_BYTES,
    SEALED_CHUNK_BYTES,
    StreamDecryptor,
    StreamEncryptor,
    new_stream_key,
)

FILE_A = b"A" * 16
FILE_B = b"B" * 16


def seal_all(key: bytes, stream_id: bytes, data: bytes, piece: int = 10_000) -> list[bytes]:
    encryptor = StreamEncryptor(key, stream_id)
    sealed = []
    for start in range(0, len(data), piece):
        sealed += encryptor.update(data[start : start + piece])
    sealed.append(encryptor.finish())
    assert encryptor.size == len(data)
    return sealed


def open_all(key: bytes, stream_id: bytes, sealed: list[bytes]) -> bytes:
    decryptor = StreamDecryptor(key, stream_id)
    return b"".join(decryptor.open_all(enumerate(sealed), len(sealed)))


@pytest.mark.parametrize(
    "size", [0, 1, CHUNK_BYTES - 1, CHUNK_BYTES, CHUNK_BYTES + 1, 3 * CHUNK_BYTES, 200_001]
)
def test_round_trip_at_chunk_boundaries(size):
    key, data = new_stream_key(), os.urandom(size)
    sealed = seal_all(key, FILE_A, data)
    assert open_all(key, FILE_A, sealed) == data
    assert len(sealed) == max(1, -(-size // CHUNK_BYTES))


def test_every_chunk_has_the_same_size_whatever_the_tail():
    key = new_stream_key()
    for size in (1, 1000, CHUNK_BYTES, CHUNK_BYTES + 7):
        assert {len(chunk) for chunk in seal_all(key, FILE_A, bytes(size))} == {SEALED_CHUNK_BYTES}


def test_encryptor_holds_at_most_one_chunk():
    encryptor = StreamEncryptor(new_stream_key(), FILE_A)
    emitted = 0
    for _ in range(40):
        emitted += len(encryptor.update(bytes(10_000)))
        assert encryptor.size - emitted * CHUNK_BYTES <= CHUNK_BYTES


@pytest.fixture
def three_chunks():
    key = new_stream_key()
    data = os.urandom(2 * CHUNK_BYTES + 500)
    return key, data, seal_all(key, FILE_A, data)


def test_truncation_is_detected(three_chunks):
    key, _, sealed = three_chunks
    with pytest.raises(DecryptionError):
        open_all(key, FILE_A, sealed[:-1])


def test_reordering_is_detected(three_chunks):
    key, _, sealed = three_chunks
    with pytest.raises(DecryptionError):
        open_all(key, FILE_A, [sealed[1], sealed[0], sealed[2]])


def test_extension_is_detected(three_chunks):
    key, _, sealed = three_chunks
    with pytest.raises(DecryptionError):
        open_all(key, FILE_A, [*sealed, sealed[-1]])


def test_a_chunk_from_another_file_is_detected(three_chunks):
    key, _, sealed = three_chunks
    other = seal_all(key, FILE_B, os.urandom(2 * CHUNK_BYTES + 500))
    with pytest.raises(DecryptionError):
        open_all(key, FILE_A, [sealed[0], other[1], sealed[2]])
    # The whole stream under another id does not open either, even with the same key.
    with pytest.raises(DecryptionError):
        open_all(key, FILE_B, sealed)


def test_a_flipped_bit_is_detected(three_chunks):
    key, _, sealed = three_chunks
    tampered = bytearray(sealed[1])
    tampered[100] ^= 1
    with pytest.raises(DecryptionError):
        open_all(key, FILE_A, [sealed[0], bytes(tampered), sealed[2]])


def test_indexes_must_run_without_gaps(three_chunks):
    key, _, sealed = three_chunks
    decryptor = StreamDecryptor(key, FILE_A)
    with pytest.raises(DecryptionError):
        list(decryptor.open_all([(0, sealed[0]), (2, sealed[2])], 3))
    with pytest.raises(DecryptionError):
        list(decryptor.open_all([], 0))


def test_the_wrong_key_opens_nothing(three_chunks):
    _, _, sealed = three_chunks
    with pytest.raises(DecryptionError):
        open_all(new_stream_key(), FILE_A, sealed)

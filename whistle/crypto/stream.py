"""Streaming authenticated encryption of files in chunks (the STREAM construction).

A file is cut into ``CHUNK_BYTES`` plaintext chunks, each sealed with AES-256-GCM under a key
used for that one file only. Following STREAM (Hoang, Reyhanitabar, Rogaway, Vizar, "Online
authenticated-encryption and its nonce-reuse misuse-resistance", CRYPTO 2015) each chunk's nonce
is the chunk index (4 bytes, big endian) and a final flag (1 byte), after a fixed prefix, and
the stream's id (the file's id) is bound in as associated data. So:

- reordering or dropping chunks in the middle fails (an index opens only at its position);
- truncation fails (the last chunk kept was sealed with the flag "not final");
- extension fails (nothing opens after a chunk sealed with the flag "final");
- a chunk moved from another file fails (other key, other id).

Length hiding: the final chunk is framed as a 4-byte length, its bytes, then zeros up to a full
chunk, so every chunk of a stream has the same ciphertext size and a copy shows only the number
of chunks (the size to within ``CHUNK_BYTES``). Opening checks the length and the zeros.

The key is single-use (a fresh random key per file), which is what makes the fixed nonce prefix
safe; never seal two streams under one key.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Iterator

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from whistle.crypto.errors import DecryptionError

__all__ = [
    "CHUNK_BYTES",
    "SEALED_CHUNK_BYTES",
    "StreamDecryptor",
    "StreamEncryptor",
    "new_stream_key",
]

CHUNK_BYTES = 64 * 1024
_LENGTH_BYTES = 4
_TAG_BYTES = 16
# Every sealed chunk has this size (the final one carries the length frame in its plaintext).
SEALED_CHUNK_BYTES = _LENGTH_BYTES + CHUNK_BYTES + _TAG_BYTES
_PREFIX = b"wstrm1\x00"  # 7 bytes; the key is single-use, so a fixed prefix is safe
_AAD_PREFIX = b"whistle-stream/v1\x00"
_MAX_CHUNKS = 2**32 - 1


def new_stream_key() -> bytes:
    """A fresh random 256-bit key for one stream (one file)."""
    return secrets.token_bytes(32)


def _nonce(index: int, final: bool) -> bytes:
    if not 0 <= index < _MAX_CHUNKS:
        raise ValueError("chunk index out of range")
    return _PREFIX + index.to_bytes(4, "big") + (b"\x01" if final else b"\x00")


def _aad(stream_id: bytes) -> bytes:
    return _AAD_PREFIX + stream_id


class StreamEncryptor:
    """Seals one file chunk by chunk as its bytes arrive, holding at most one chunk.

    ``update`` returns the chunks completed so far (never the last one, which is only known at
    the end); ``finish`` returns the final, padded chunk. Chunk ``i`` of the output belongs at
    index ``i``."""

    def __init__(self, key: bytes, stream_id: bytes) -> None:
        if len(key) != 32:
            raise ValueError("key must be 32 bytes")
        self._aead = AESGCM(key)
        self._aad = _aad(stream_id)
        self._buffer = bytearray()
        self._index = 0
        self._finished = False
        self.size = 0

    def _seal(self, plaintext: bytes, final: bool) -> bytes:
        sealed = self._aead.encrypt(_nonce(self._index, final), plaintext, self._aad)
        self._index += 1
        return sealed

    def update(self, data: bytes) -> list[bytes]:
        """Take more plaintext; return the sealed chunks that are complete and not last."""
        if self._finished:
            raise ValueError("stream already finished")
        self._buffer += data
        self.size += len(data)
        sealed = []
        # Keep the last full chunk back: it may turn out to be the final one.
        while len(self._buffer) > CHUNK_BYTES:
            chunk = bytes(self._buffer[:CHUNK_BYTES])
            del self._buffer[:CHUNK_BYTES]
            sealed.append(self._seal(_LENGTH_BYTES * b"\x00" + chunk, final=False))
        return sealed

    def finish(self) -> bytes:
        """Seal and return the final chunk (length-framed and zero-padded to a full chunk)."""
        if self._finished:
            raise ValueError("stream already finished")
        self._finished = True
        tail = bytes(self._buffer)
        self._buffer.clear()
        framed = len(tail).to_bytes(_LENGTH_BYTES, "big") + tail
        return self._seal(framed + bytes(_LENGTH_BYTES + CHUNK_BYTES - len(framed)), final=True)

    @property
    def chunks(self) -> int:
        """How many chunks have been sealed so far."""
        return self._index


class StreamDecryptor:
    """Opens the chunks of one stream, each at its index; the last one must be final."""

    def __init__(self, key: bytes, stream_id: bytes) -> None:
        if len(key) != 32:
            raise ValueError("key must be 32 bytes")
        self._aead = AESGCM(key)
        self._aad = _aad(stream_id)

    def open_chunk(self, index: int, sealed: bytes, final: bool) -> bytes:
        """The plaintext of chunk ``index``; DecryptionError if it was not sealed at that index,
        with that final flag, in this stream, or its framing is wrong."""
        try:
            plaintext = self._aead.decrypt(_nonce(index, final), sealed, self._aad)
        except (InvalidTag, ValueError):
            raise DecryptionError() from None
        if len(plaintext) != _LENGTH_BYTES + CHUNK_BYTES:
            raise DecryptionError()
        if not final:
            return plaintext[_LENGTH_BYTES:]
        length = int.from_bytes(plaintext[:_LENGTH_BYTES], "big")
        end = _LENGTH_BYTES + length
        if length > CHUNK_BYTES or any(plaintext[end:]):
            raise DecryptionError()
        return plaintext[_LENGTH_BYTES:end]

    def open_all(self, chunks: Iterable[tuple[int, bytes]], count: int) -> Iterator[bytes]:
        """Open ``count`` chunks given as (index, sealed) in index order, yielding plaintext.

        Raises DecryptionError on a missing, repeated, extra or out-of-order index as well as on
        any chunk that does not open; a stream is whole only when the generator ends."""
        if count < 1:
            raise DecryptionError()
        expected = 0
        for index, sealed in chunks:
            if index != expected or index >= count:
                raise DecryptionError()
            yield self.open_chunk(index, sealed, final=index == count - 1)
            expected += 1
        if expected != count:
            raise DecryptionError()

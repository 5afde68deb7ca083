"""An incremental multipart/form-data reader that never writes to disk.

Litestar's own form parsing keeps each file part in a SpooledTemporaryFile, which moves to the
temp directory past 1 MiB: for evidence that would be plaintext on disk. The upload routes read
the request body as a stream instead, and this reader turns it into events as the bytes arrive:
a ``Part`` (its headers), then ``bytes`` pieces of its content, then ``PART_END``. It holds at
most one network chunk plus a delimiter's length of the body in memory; the caller decides what
to keep. Headers and the number of parts are bounded, so a hostile body fails early and clearly.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass

from whistle.errors import ValidationFailed
from whistle.i18n import N_

MAX_HEADER_BYTES = 8 * 1024
MAX_PARTS = 64
MALFORMED = N_("Isi formulir tidak dapat dibaca. Muat ulang halaman lalu kirim lagi.")

_BOUNDARY = re.compile(r"^[0-9A-Za-z'()+_,\-./:=? ]{1,70}$")
_PARAM = re.compile(r';\s*([A-Za-z0-9_*-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;\s]*))')


class MalformedMultipart(ValidationFailed):
    """A body that is not well-formed multipart/form-data (or exceeds the reader's bounds)."""

    def __init__(self) -> None:
        super().__init__({"form": MALFORMED})


@dataclass(frozen=True)
class Part:
    """The headers of one part: its field name, the file name a browser sent (None for a plain
    field) and the content type it claimed (never trusted for files)."""

    name: str
    filename: str | None
    content_type: str


class _PartEnd:
    pass


PART_END = _PartEnd()
Event = Part | bytes | _PartEnd


def boundary_of(content_type_params: dict[str, str]) -> bytes:
    """The boundary parameter of a multipart Content-Type, checked against RFC 2046."""
    boundary = content_type_params.get("boundary", "")
    if not _BOUNDARY.fullmatch(boundary) or boundary.endswith(" "):
        raise MalformedMultipart()
    return boundary.encode("ascii")


def _parse_headers(block: bytes) -> Part:
    try:
        text = block.decode("utf-8")
    except UnicodeDecodeError:
        raise MalformedMultipart() from None
    name = filename = None
    content_type = "text/plain"
    for line in text.split("\r\n"):
        key, _, value = line.partition(":")
        key = key.strip().lower()
        if key == "content-disposition":
            disposition, _, params = value.strip().partition(";")
            if disposition.strip().lower() != "form-data":
                raise MalformedMultipart()
            for match in _PARAM.finditer(";" + params):
                param = match.group(1).lower()
                quoted = match.group(2)
                raw = quoted.replace('\\"', '"') if quoted is not None else match.group(3)
                if param == "name":
                    name = raw
                elif param == "filename":
                    filename = raw
        elif key == "content-type":
            content_type = value.strip().lower()
    if name is None:
        raise MalformedMultipart()
    return Part(name=name, filename=filename, content_type=content_type)


async def read_multipart(body: AsyncIterable[bytes], boundary: bytes) -> AsyncIterator[Event]:
    """Yield the events of a multipart body as its bytes arrive (see the module docstring)."""
    delimiter = b"\r\n--" + boundary
    # The first delimiter has no CRLF before it: pretend it had.
    buffer = bytearray(b"\r\n")
    stream = aiter(body)
    ended = False

    async def more() -> bool:
        nonlocal ended
        if ended:
            return False
        try:
            buffer.extend(await anext(stream))
        except StopAsyncIteration:
            ended = True
            return False
        return True

    # Preamble: everything up to the first delimiter is ignored.
    while (start := buffer.find(delimiter)) < 0:
        if len(buffer) > MAX_HEADER_BYTES or not await more():
            raise MalformedMultipart()
    del buffer[: start + len(delimiter)]
    parts = 0
    while True:
        while len(buffer) < 2:
            if not await more():
                raise MalformedMultipart()
        if buffer[:2] == b"--":
            return  # the closing delimiter: the epilogue is ignored
        if buffer[:2] != b"\r\n":
            raise MalformedMultipart()
        del buffer[:2]
        parts += 1
        if parts > MAX_PARTS:
            raise MalformedMultipart()
        while (end := buffer.find(b"\r\n\r\n")) < 0:
            if len(buffer) > MAX_HEADER_BYTES or not await more():
                raise MalformedMultipart()
        if end > MAX_HEADER_BYTES:
            raise MalformedMultipart()
        yield _parse_headers(bytes(buffer[:end]))
        del buffer[: end + 4]
        while (found := buffer.find(delimiter)) < 0:
            # Keep back what could be the start of a delimiter cut by the network.
            keep = len(delimiter) - 1
            if len(buffer) > keep:
                piece = bytes(buffer[:-keep])
                del buffer[:-keep]
                yield piece
            if not await more():
                raise MalformedMultipart()
        if found:
            yield bytes(buffer[:found])
        del buffer[: found + len(delimiter)]
        yield PART_END

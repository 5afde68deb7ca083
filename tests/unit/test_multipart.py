"""The streaming multipart reader: the same events however the network cuts the body, and a
clear refusal for bodies that are not multipart."""

from __future__ import annotations

import pytest

from whistle.web.multipart import PART_END, MalformedMultipart, Part, read_multipart

BOUNDARY = b"----b0und4ry"
BODY = (
    b"preamble\r\n"
    b"------b0und4ry\r\n"
    b'Content-Disposition: form-data; name="_csrf_token"\r\n\r\n'
    b"tok\r\n"
    b"------b0und4ry\r\n"
    b'Content-Disposition: form-data; name="files"; filename="a \\"b\\".txt"\r\n'
    b"Content-Type: text/plain\r\n\r\n"
    b"line one\r\n------b0und4r not yet\r\nend"
    b"\r\n------b0und4ry--\r\nepilogue"
)


async def _events(body: bytes, step: int) -> list:
    async def pieces():
        for start in range(0, len(body), step):
            yield body[start : start + step]

    merged: list = []
    async for event in read_multipart(pieces(), BOUNDARY):
        if isinstance(event, bytes) and merged and isinstance(merged[-1], bytes):
            merged[-1] += event
        else:
            merged.append(event)
    return merged


@pytest.mark.parametrize("step", [1, 2, 3, 7, 16, 64, 4096])
async def test_the_events_do_not_depend_on_how_the_body_is_cut(step):
    assert await _events(BODY, step) == [
        Part("_csrf_token", None, "text/plain"),
        b"tok",
        PART_END,
        Part("files", 'a "b".txt', "text/plain"),
        b"line one\r\n------b0und4r not yet\r\nend",
        PART_END,
    ]


@pytest.mark.parametrize(
    "body",
    [
        b"no boundary at all",
        BODY.replace(b"------b0und4ry--", b""),  # never closed
        BODY.replace(b'form-data; name="_csrf_token"', b"attachment"),  # no field name
        b"------b0und4ry\r\n" + b"X" * 20_000,  # headers without end
    ],
)
async def test_malformed_bodies_are_refused(body):
    with pytest.raises(MalformedMultipart):
        await _events(body, 64)

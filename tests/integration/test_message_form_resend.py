"""The status page's message and files forms send once however often they are sent: a double
tap on a slow connection, or Back then resend, brings the same one-time token and gets the
first message (or upload); a new load of the page gives a new token, so a second message is a
second message."""

from __future__ import annotations

import re

import httpx

from tests.support.cases import file_report
from tests.support.forms import CSRF_FIELD, post_form
from whistle.db.tables import PendingChunk, PendingItem

ANSWER = "Loket 3, sekitar pukul 09.30, petugas berkacamata."
TOKEN_FIELD = re.compile(r'name="submission_token" value="([^"]*)"')
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
    "0000000d49444154789c6360000002000105fe02fea70000000049454e44ae426082"
)


async def _status_page(client: httpx.AsyncClient) -> tuple[str, str, str]:
    """The page, its CSRF token and the message form's one-time token."""
    page = (await client.get("/track/report")).text
    [token] = set(TOKEN_FIELD.findall(page))  # one token, in the message and files forms
    return page, CSRF_FIELD.search(page).group(1), token


async def _pending(kind: str) -> int:
    return await PendingItem.count().where(PendingItem.kind == kind)


async def _opened(client: httpx.AsyncClient, ctx) -> None:
    _, code = await file_report(ctx)
    opened = await post_form(client, "/track", {"tracking_code": code})
    assert opened.status_code == 200


async def test_a_double_tap_sends_one_message(client, ctx):
    await _opened(client, ctx)
    _, csrf, token = await _status_page(client)
    form = {"_csrf_token": csrf, "submission_token": token, "body": ANSWER}

    first = await client.post("/track/messages", data=form)
    again = await client.post("/track/messages", data=form)

    for answer in (first, again):
        assert answer.status_code == 200, answer.text
        assert answer.text.count(ANSWER) == 1
    assert await _pending("message") == 1


async def test_a_double_tap_with_a_file_sends_one_message_and_one_file(client, ctx):
    await _opened(client, ctx)
    _, csrf, token = await _status_page(client)
    form = {"_csrf_token": csrf, "submission_token": token, "body": ANSWER}
    photo = [("files", ("kuitansi.png", PNG, "image/png"))]

    first = await client.post("/track/messages", data=form, files=photo)
    chunks = await PendingChunk.count()
    again = await client.post("/track/messages", data=form, files=photo)

    assert first.status_code == again.status_code == 200, again.text
    assert again.text.count("kuitansi.png") == first.text.count("kuitansi.png") > 0
    assert await _pending("message") == 1
    assert await _pending("attachment") == 1
    assert await PendingChunk.count() == chunks  # the resent copy was dropped


async def test_a_new_load_of_the_page_sends_a_new_message(client, ctx):
    await _opened(client, ctx)
    _, csrf, token = await _status_page(client)
    await client.post(
        "/track/messages", data={"_csrf_token": csrf, "submission_token": token, "body": ANSWER}
    )
    _, csrf, second_token = await _status_page(client)
    assert second_token != token

    later = "Satu lagi: petugas itu juga meminta uang di loket 5."
    sent = await client.post(
        "/track/messages",
        data={"_csrf_token": csrf, "submission_token": second_token, "body": later},
    )

    assert sent.status_code == 200
    assert ANSWER in sent.text and later in sent.text
    assert await _pending("message") == 2


async def test_the_same_token_with_another_text_sends_nothing_and_keeps_the_text(client, ctx):
    await _opened(client, ctx)
    _, csrf, token = await _status_page(client)
    await client.post(
        "/track/messages", data={"_csrf_token": csrf, "submission_token": token, "body": ANSWER}
    )

    edited = "Koreksi: kejadiannya pukul 10.15, bukan 09.30."
    refused = await client.post(
        "/track/messages",
        data={"_csrf_token": csrf, "submission_token": token, "body": edited},
    )

    assert refused.status_code == 409
    assert "sudah mengirim pesan sebelumnya" in refused.text
    assert f">{edited}</textarea>" in refused.text  # what was typed, ready to send again
    [fresh] = set(TOKEN_FIELD.findall(refused.text))
    assert fresh != token
    assert await _pending("message") == 1
    resent = await client.post(
        "/track/messages", data={"_csrf_token": csrf, "submission_token": fresh, "body": edited}
    )
    assert resent.status_code == 200 and edited in resent.text
    assert await _pending("message") == 2


async def test_a_form_without_a_token_still_sends(client, ctx):
    # A page served before the token existed (or a hand-made form) is not refused.
    await _opened(client, ctx)
    _, csrf, _ = await _status_page(client)
    sent = await client.post("/track/messages", data={"_csrf_token": csrf, "body": ANSWER})
    assert sent.status_code == 200 and ANSWER in sent.text
    assert await _pending("message") == 1


async def test_a_double_tap_on_the_files_form_adds_the_files_once(client, ctx):
    await _opened(client, ctx)
    _, csrf, token = await _status_page(client)
    form = {"_csrf_token": csrf, "submission_token": token}
    photo = [("files", ("kuitansi.png", PNG, "image/png"))]

    first = await client.post("/track/report/files", data=form, files=photo)
    chunks = await PendingChunk.count()
    again = await client.post("/track/report/files", data=form, files=photo)

    assert first.status_code == again.status_code == 200, again.text
    assert await _pending("attachment") == 1
    assert await PendingChunk.count() == chunks  # the resent copy was dropped

    other = [("files", ("catatan.txt", b"Nomor antrean 117, pukul 09.30.", "text/plain"))]
    refused = await client.post("/track/report/files", data=form, files=other)
    assert refused.status_code == 409
    assert "sudah mengirim berkas sebelumnya" in refused.text
    assert await _pending("attachment") == 1
    assert await PendingChunk.count() == chunks
    [fresh] = set(TOKEN_FIELD.findall(refused.text))
    assert fresh != token
    added = await client.post(
        "/track/report/files",
        data={"_csrf_token": csrf, "submission_token": fresh},
        files=other,
    )
    assert added.status_code == 200
    assert await _pending("attachment") == 2

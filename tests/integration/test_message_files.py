"""Files sent with messages: the officer asks with a file, the reporter downloads it, answers
with a file, and the officer downloads that after the release; through the pages and the API.
A reporter downloads only what officers sent with a message of their own report."""

from __future__ import annotations

import re
import uuid

import httpx

from tests.support.cases import as_officer, attach_text_file, file_report, send_with_file
from tests.support.forms import csrf_token, post_form
from tests.support.officers import logged_in, make_officer
from tests.support.release import publish, publish_for
from whistle.cases import service
from whistle.context import Context
from whistle.db.tables import Attachment, AttachmentChunk, AuditEntry, CaseMessage, PendingItem
from whistle.evidence import files
from whistle.evidence import store as evidence
from whistle.reports.messages import OFFICER, REPORTER

QUESTION = "Mohon kirim foto kuitansi dari calo tersebut."
ANSWER = "Ini fotonya, diambil di depan loket 3."
FORM_FILE = b"Daftar dokumen yang perlu dibawa:\n1. Paspor lama\n" * 1500  # ~75 KB: two chunks
ORIGIN = {"Origin": "https://testserver.local"}
REPORTER_FILE_LINK = re.compile(r'href="(/track/report/files/[0-9a-f-]+)"')
OFFICER_FILE_LINK = re.compile(r'href="(/officer/cases/[^"]+/files/[0-9a-f-]+)"')


def _png() -> bytes:
    return bytes.fromhex(
        "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
        "0000000d49444154789c6360000002000105fe02fea70000000049454e44ae426082"
    )


async def _officer_sends(ctx: Context, username: str, number: str, data: bytes) -> uuid.UUID:
    """A message with one text file, through the real service; the file's id."""
    message_id = await send_with_file(ctx, username, number, QUESTION, "daftar.txt", data)
    row = await Attachment.select(Attachment.id).where(Attachment.message_id == message_id).first()
    return row["id"]


async def _bearer(client: httpx.AsyncClient, code: str) -> dict[str, str]:
    session = await client.post("/api/v1/session", json={"tracking_code": code})
    assert session.status_code == 200
    return {"Authorization": f"Bearer {session.json()['token']}"}


async def _message_id(author: str) -> uuid.UUID:
    row = await CaseMessage.select(CaseMessage.id).where(CaseMessage.author == author).first()
    return row["id"]


async def test_a_dialogue_with_files_through_the_pages(client, ctx):
    await make_officer(ctx, "tina", ["triage"])
    number, code = await file_report(ctx)
    await logged_in(client, ctx, "tina")

    # The officer asks, with a file, on the case page.
    token = await csrf_token(client, f"/officer/cases/{number}")
    asked = await client.post(
        f"/officer/cases/{number}/messages",
        data={"_csrf_token": token, "message": QUESTION},
        files=[("files", ("daftar.txt", FORM_FILE, "text/plain"))],
        headers=ORIGIN,
    )
    assert asked.status_code == 200, asked.text
    assert QUESTION in asked.text and "daftar.txt" in asked.text
    [officer_file] = await Attachment.select().where(Attachment.author == OFFICER)
    assert officer_file["message_id"] == await _message_id(OFFICER)
    assert await AuditEntry.count().where(AuditEntry.action == "message.sent") == 1

    # The reporter sees it under the question and downloads it byte-identical.
    opened = await post_form(client, "/track", {"tracking_code": code})
    assert QUESTION in opened.text
    [link] = REPORTER_FILE_LINK.findall(opened.text)
    download = await client.get(link)
    assert download.status_code == 200
    assert download.content == files.clean(files.TEXT, FORM_FILE).data
    assert download.headers["content-disposition"].startswith("attachment;")
    assert download.headers["x-content-type-options"] == "nosniff"

    # The reporter answers with a photo: held for the release together with the answer.
    audit_before = await AuditEntry.count()
    token = await csrf_token(client, "/track/report")
    image = _png()
    answered = await client.post(
        "/track/messages",
        data={"_csrf_token": token, "body": ANSWER},
        files=[("files", ("kuitansi.png", image, "image/png"))],
    )
    assert answered.status_code == 200, answered.text
    assert ANSWER in answered.text and "kuitansi.png" in answered.text
    assert await PendingItem.count().where(PendingItem.kind == "attachment") == 1
    assert await AuditEntry.count() == audit_before  # nothing names the reporter's moment

    # After the release the officer sees it under the answer and downloads what clean() made.
    await publish_for(client)
    reporter_file = await Attachment.select().where(Attachment.author == REPORTER).first()
    assert reporter_file["message_id"] == await _message_id(REPORTER)
    page = (await client.get(f"/officer/cases/{number}")).text
    # Listed under the answer (as well as among the case's files).
    assert "kuitansi.png" in page[page.index(ANSWER) :]
    links = OFFICER_FILE_LINK.findall(page)
    [reporter_link] = {link for link in links if str(reporter_file["id"]) in link}
    fetched = await client.get(reporter_link)
    assert fetched.content == files.clean(files.PNG, image).data


async def test_a_dialogue_with_files_through_the_api(client, ctx):
    await make_officer(ctx, "tina", ["triage"])
    number, code = await file_report(ctx)
    officer_file = await _officer_sends(ctx, "tina", number, FORM_FILE)
    bearer = await _bearer(client, code)

    [question] = (await client.get("/api/v1/report/messages", headers=bearer)).json()
    assert question["body"] == QUESTION
    [listed] = question["files"]
    assert listed["id"] == str(officer_file) and listed["name"] == "daftar.txt"
    download = await client.get(f"/api/v1/report/attachments/{officer_file}", headers=bearer)
    assert download.status_code == 200
    assert download.content == files.clean(files.TEXT, FORM_FILE).data
    assert download.headers["content-disposition"].startswith("attachment;")

    sent = await client.post("/api/v1/report/messages", json={"body": ANSWER}, headers=bearer)
    answer_id = sent.json()["id"]
    image = _png()
    attached = await client.post(
        "/api/v1/report/attachments",
        headers=bearer,
        data={"message_id": answer_id},
        files=[("files", ("kuitansi.png", image, "image/png"))],
    )
    assert attached.status_code == 201, attached.text
    assert attached.json()["files"][0]["message_id"] == answer_id
    listed = (await client.get("/api/v1/report/messages", headers=bearer)).json()
    assert [m["files"][0]["name"] for m in listed] == ["daftar.txt", "kuitansi.png"]

    await publish(ctx)
    row = await Attachment.select().where(Attachment.author == REPORTER).first()
    assert str(row["message_id"]) == answer_id
    tina = await as_officer(ctx, "tina")
    fetched = await service.download_file(tina, number, row["id"])
    content = b"".join([piece async for piece in fetched.content])
    assert content == files.clean(files.PNG, image).data


async def test_a_reporter_downloads_only_files_sent_to_their_report(client, ctx):
    await make_officer(ctx, "tina", ["triage"])
    number, code = await file_report(ctx)
    other_number, _ = await file_report(ctx)
    other_file = await _officer_sends(ctx, "tina", other_number, FORM_FILE)
    loose_file = await attach_text_file(ctx, "tina", number)  # not sent with a message
    bearer = await _bearer(client, code)
    attached = await client.post(
        "/api/v1/report/attachments",
        headers=bearer,
        files=[("files", ("kuitansi.png", _png(), "image/png"))],
    )
    assert attached.status_code == 201
    await publish(ctx)
    own_file = (await Attachment.select().where(Attachment.author == REPORTER).first())["id"]

    await post_form(client, "/track", {"tracking_code": code})
    for file_id in (other_file, loose_file, own_file, uuid.uuid4()):
        page = await client.get(f"/track/report/files/{file_id}")
        assert page.status_code == 404
        api = await client.get(f"/api/v1/report/attachments/{file_id}", headers=bearer)
        assert api.status_code == 404
        assert api.headers["content-type"].startswith("application/problem+json")
    # Without a session there is nothing to download.
    assert (await client.get(f"/api/v1/report/attachments/{other_file}")).status_code == 401


async def test_files_may_name_only_the_callers_own_message(client, ctx):
    await make_officer(ctx, "tina", ["triage"])
    number, code = await file_report(ctx)
    await _officer_sends(ctx, "tina", number, FORM_FILE)
    officer_message = await _message_id(OFFICER)
    bearer = await _bearer(client, code)
    for message_id in (str(officer_message), str(uuid.uuid4()), "bukan-id"):
        refused = await client.post(
            "/api/v1/report/attachments",
            headers=bearer,
            data={"message_id": message_id},
            files=[("files", ("kuitansi.png", _png(), "image/png"))],
        )
        assert refused.status_code == 422
        assert "message_id" in refused.json()["errors"]
    assert await PendingItem.count() == 0
    assert await evidence.PendingChunk.count() == 0


async def test_a_refused_file_in_a_message_form_sends_nothing(client, ctx):
    await make_officer(ctx, "tina", ["triage"])
    number, code = await file_report(ctx)
    await logged_in(client, ctx, "tina")
    token = await csrf_token(client, f"/officer/cases/{number}")
    refused = await client.post(
        f"/officer/cases/{number}/messages",
        data={"_csrf_token": token, "message": QUESTION},
        files=[("files", ("program.exe", b"MZ\x90\x00" * 100, "application/octet-stream"))],
        headers=ORIGIN,
    )
    assert refused.status_code == 422
    assert refused.headers["content-type"].startswith("text/html")
    assert QUESTION in refused.text and "tidak diterima" in refused.text
    assert await CaseMessage.count() == 0 and await Attachment.count() == 0

    await post_form(client, "/track", {"tracking_code": code})
    token = await csrf_token(client, "/track/report")
    refused = await client.post(
        "/track/messages",
        data={"_csrf_token": token, "body": ANSWER},
        files=[("files", ("program.exe", b"MZ\x90\x00" * 100, "application/octet-stream"))],
    )
    assert refused.status_code == 422
    assert refused.headers["content-type"].startswith("text/html")
    assert ANSWER in refused.text and "tidak diterima" in refused.text
    assert await PendingItem.count() == 0 and await evidence.PendingChunk.count() == 0


async def test_a_damaged_file_is_refused_to_the_reporter_before_any_byte(client, ctx):
    await make_officer(ctx, "tina", ["triage"])
    number, code = await file_report(ctx)
    file_id = await _officer_sends(ctx, "tina", number, FORM_FILE)
    # The file's first chunk replaced by its second (reordered): it no longer opens.
    chunks = {
        row["idx"]: row
        for row in await AttachmentChunk.select().where(AttachmentChunk.attachment == file_id)
    }
    await AttachmentChunk.update({AttachmentChunk.data: chunks[1]["data"]}).where(
        AttachmentChunk.id == chunks[0]["id"]
    )
    bearer = await _bearer(client, code)
    audit_before = await AuditEntry.count()

    api = await client.get(f"/api/v1/report/attachments/{file_id}", headers=bearer)
    assert api.status_code == 409
    assert api.headers["content-type"].startswith("application/problem+json")
    assert "content-disposition" not in api.headers
    await post_form(client, "/track", {"tracking_code": code})
    page = await client.get(f"/track/report/files/{file_id}")
    assert page.status_code == 409
    assert "text/html" in page.headers["content-type"]
    assert FORM_FILE[:20].decode() not in page.text
    assert await AuditEntry.count() == audit_before

"""Evidence files: uploads through the API, the status page and the case page, officer downloads,
tampered chunks detected, refusals that store nothing, nothing in plaintext on disk."""

from __future__ import annotations

import dataclasses
import os
import re
import tempfile
import uuid
from pathlib import Path

import httpx
import pytest

from tests.support.cases import CASE_LINK, file_report
from tests.support.forms import VALID_REPORT, csrf_token, post_form
from tests.support.officers import logged_in, make_officer
from tests.support.release import filed_reports, publish_for
from whistle.app import create_app
from whistle.audit import actions
from whistle.crypto.stream import CHUNK_BYTES
from whistle.db.tables import (
    Attachment,
    AttachmentChunk,
    AuditEntry,
    PendingChunk,
    PendingItem,
    ReporterIdentity,
    SubmissionReceipt,
)
from whistle.evidence import files

TEXT = b"Bukti kuitansi calo nomor 17.\n" * 3000  # ~90 KB: two chunks
ID3 = b"ID3\x04\x00\x00\x00\x00\x00\x00"  # an MP3 start: a kind that cannot be cleaned


def _png(size: int = 0) -> bytes:
    """A minimal PNG without metadata (plus padding bytes when a size is wanted)."""
    body = bytes.fromhex(
        "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
        "0000000d49444154789c6360000002000105fe02fea70000000049454e44ae426082"
    )
    return body + bytes(max(0, size - len(body)))


async def _reporter_token(client: httpx.AsyncClient, code: str) -> dict[str, str]:
    session = await client.post("/api/v1/session", json={"tracking_code": code})
    assert session.status_code == 200
    return {"Authorization": f"Bearer {session.json()['token']}"}


async def _api_upload(
    client: httpx.AsyncClient, headers: dict[str, str], *uploads: tuple[str, bytes]
) -> httpx.Response:
    return await client.post(
        "/api/v1/report/attachments",
        headers=headers,
        files=[("files", (name, data, "application/octet-stream")) for name, data in uploads],
    )


async def _stored_counts() -> tuple[int, int, int, int]:
    return (
        await Attachment.count(),
        await AttachmentChunk.count(),
        await PendingChunk.count(),
        await PendingItem.count().where(PendingItem.kind == "attachment"),
    )


@pytest.fixture
def private_tmp(monkeypatch, tmp_path) -> Path:
    """TMPDIR pointed at an empty test directory: it must stay empty through every upload."""
    directory = tmp_path / "tmpdir"
    directory.mkdir()
    monkeypatch.setenv("TMPDIR", str(directory))
    monkeypatch.setattr(tempfile, "tempdir", str(directory))
    return directory


async def _file_links(client: httpx.AsyncClient, number: str) -> list[str]:
    page = await client.get(f"/officer/cases/{number}")
    assert page.status_code == 200
    return re.findall(r'href="(/officer/cases/[^"]+/files/[0-9a-f-]+)"', page.text)


async def test_api_upload_is_published_and_downloads_byte_identical(client, ctx, private_tmp):
    await make_officer(ctx, "tina", ["triage"])
    number, code = await file_report(ctx)
    headers = await _reporter_token(client, code)
    sound = ID3 + os.urandom(3 * CHUNK_BYTES)

    answer = await _api_upload(client, headers, ("kuitansi.txt", TEXT), ("rekaman.mp3", sound))
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert [(f["name"], f["kind"], f["pending"]) for f in body["files"]] == [
        ("kuitansi.txt", "text", True),
        ("rekaman.mp3", "mp3", True),
    ]
    assert body["files"][1]["cleaned"] is False and body["files"][1]["warning"]
    # Pending until the release: nothing in the case tables yet, the reporter sees them already.
    assert await Attachment.count() == 0
    view = await client.get("/api/v1/report", headers=headers)
    assert [(f["name"], f["pending"]) for f in view.json()["files"]] == [
        ("kuitansi.txt", True),
        ("rekaman.mp3", True),
    ]

    assert await publish_for(client) == 2
    assert await PendingChunk.count() == 0
    await logged_in(client, ctx, "tina")
    links = await _file_links(client, number)
    assert len(links) == 2
    downloads = {}
    for link in links:
        response = await client.get(link)
        assert response.status_code == 200
        assert response.headers["content-disposition"].startswith("attachment; filename=")
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["content-security-policy"] == "sandbox; default-src 'none'"
        downloads[response.headers["content-type"].split(";")[0]] = response.content
    assert downloads["text/plain"] == files.clean(files.TEXT, TEXT).data
    assert downloads["audio/mpeg"] == sound
    entries = await AuditEntry.select(AuditEntry.details).where(
        AuditEntry.action == actions.EVIDENCE_DOWNLOADED
    )
    assert len(entries) == 2
    assert all("kuitansi" not in row["details"] for row in entries)
    assert list(private_tmp.iterdir()) == []


async def _tamper(kind: str) -> None:
    """Damage the stored chunks of the (one) multi-chunk file in the given way."""
    row = await Attachment.select().where(Attachment.kind == "mp3").first()
    chunks = await AttachmentChunk.select().where(AttachmentChunk.attachment == row["id"])
    by_index = {chunk["idx"]: chunk for chunk in chunks}
    if kind == "truncated":
        last = max(by_index)
        await AttachmentChunk.delete().where(AttachmentChunk.id == by_index[last]["id"])
        await Attachment.update({Attachment.chunk_count: last}).where(Attachment.id == row["id"])
    elif kind == "reordered":
        first, second = by_index[0], by_index[1]
        await AttachmentChunk.update({AttachmentChunk.data: second["data"]}).where(
            AttachmentChunk.id == first["id"]
        )
        await AttachmentChunk.update({AttachmentChunk.data: first["data"]}).where(
            AttachmentChunk.id == second["id"]
        )
    elif kind == "swapped":
        other = await Attachment.select().where(Attachment.id != row["id"]).first()
        foreign = await AttachmentChunk.select().where(
            (AttachmentChunk.attachment == other["id"]) & (AttachmentChunk.idx == 0)
        )
        await AttachmentChunk.update({AttachmentChunk.data: foreign[0]["data"]}).where(
            AttachmentChunk.id == by_index[0]["id"]
        )


@pytest.mark.parametrize("damage", ["truncated", "reordered", "swapped"])
async def test_damaged_chunks_are_refused_with_an_error_page_and_audited(client, ctx, damage):
    await make_officer(ctx, "tina", ["triage"])
    number, code = await file_report(ctx)
    headers = await _reporter_token(client, code)
    upload = await _api_upload(
        client, headers, ("a.txt", TEXT), ("b.mp3", ID3 + os.urandom(2 * CHUNK_BYTES))
    )
    assert upload.status_code == 201
    await publish_for(client)
    await _tamper(damage)
    await logged_in(client, ctx, "tina")
    target = await Attachment.select(Attachment.id).where(Attachment.kind == "mp3").first()
    link = next(link for link in await _file_links(client, number) if str(target["id"]) in link)
    response = await client.get(link)
    assert response.status_code == 409
    assert "content-disposition" not in response.headers
    assert "text/html" in response.headers["content-type"]
    assert TEXT[:20].decode() not in response.text
    assert (
        await AuditEntry.count().where(AuditEntry.action == actions.EVIDENCE_DOWNLOAD_FAILED) == 1
    )
    assert await AuditEntry.count().where(AuditEntry.action == actions.EVIDENCE_DOWNLOADED) == 0


async def test_an_officer_without_the_key_gets_404_like_a_missing_file(client, ctx):
    await make_officer(ctx, "tina", ["triage"])
    tom_id = await make_officer(ctx, "tom", ["triage"])
    number, code = await file_report(ctx, excluded=[tom_id])
    headers = await _reporter_token(client, code)
    assert (await _api_upload(client, headers, ("a.txt", TEXT))).status_code == 201
    await publish_for(client)
    await logged_in(client, ctx, "tina")
    [link] = await _file_links(client, number)
    client.cookies.clear()
    await logged_in(client, ctx, "tom")
    refused = await client.get(link)
    missing = await client.get(link.rsplit("/", 1)[0] + "/00000000-0000-4000-8000-000000000000")
    assert refused.status_code == missing.status_code == 404
    assert await AuditEntry.count().where(AuditEntry.action == actions.EVIDENCE_DOWNLOADED) == 0


REFUSALS = {
    "not allowed": [("program.txt", b"MZ\x90\x00\x03" + bytes(200))],
    "too large": [("besar.mp3", ID3 + bytes(21_000_000))],
    "empty": [("kosong.txt", b"")],
}


@pytest.mark.parametrize("case", sorted(REFUSALS))
async def test_refused_api_uploads_store_nothing(client, ctx, private_tmp, case):
    _, code = await file_report(ctx)
    headers = await _reporter_token(client, code)
    before = await _stored_counts()
    answer = await _api_upload(client, headers, ("ok.txt", TEXT), *REFUSALS[case])
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert answer.json()["errors"]["files"]
    assert await _stored_counts() == before
    assert list(private_tmp.iterdir()) == []


async def test_an_eleventh_file_and_the_report_total_are_refused(client, ctx, private_tmp):
    _, code = await file_report(ctx)
    headers = await _reporter_token(client, code)
    ten = [(f"{n}.txt", b"catatan %d\n" % n) for n in range(10)]
    assert (await _api_upload(client, headers, *ten)).status_code == 201
    before = await _stored_counts()
    eleventh = await _api_upload(client, headers, ("11.txt", b"satu lagi\n"))
    assert eleventh.status_code == 422
    assert await _stored_counts() == before
    assert list(private_tmp.iterdir()) == []


async def test_the_report_total_is_refused(settings, ctx):
    small = dataclasses.replace(settings, evidence_report_bytes=3 * CHUNK_BYTES)
    app = create_app(small)
    async with app.lifespan():
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="https://testserver.local"
        ) as client:
            _, code = await file_report(ctx)
            headers = await _reporter_token(client, code)
            first = await _api_upload(client, headers, ("1.mp3", ID3 + bytes(CHUNK_BYTES)))
            assert first.status_code == 201
            before = await _stored_counts()
            over = await _api_upload(client, headers, ("2.mp3", ID3 + bytes(CHUNK_BYTES + 10)))
            assert over.status_code == 422
            assert await _stored_counts() == before


async def test_status_page_upload_keeps_nothing_on_disk(client, ctx, private_tmp):
    await make_officer(ctx, "tina", ["triage"])
    number, code = await file_report(ctx)
    opened = await post_form(client, "/track", {"tracking_code": code})
    assert opened.status_code == 200
    status_token = await csrf_token(client, "/track/report")
    image = _png()
    answer = await client.post(
        "/track/report/files",
        data={"_csrf_token": status_token},
        files=[("files", ("foto.png", image, "image/png"))],
    )
    assert answer.status_code == 200, answer.text
    assert "foto.png" in answer.text
    assert list(private_tmp.iterdir()) == []
    await publish_for(client)
    await logged_in(client, ctx, "tina")
    [link] = await _file_links(client, number)
    assert (await client.get(link)).content == files.clean(files.PNG, image).data


async def test_officer_upload_is_audited_and_downloadable(client, ctx, private_tmp):
    await make_officer(ctx, "tina", ["triage"])
    number, _ = await file_report(ctx)
    await logged_in(client, ctx, "tina")
    token = await csrf_token(client, f"/officer/cases/{number}")
    answer = await client.post(
        f"/officer/cases/{number}/files",
        data={"_csrf_token": token},
        files=[("files", ("catatan.txt", TEXT, "text/plain"))],
        headers={"Origin": "https://testserver.local"},
    )
    assert answer.status_code == 200, answer.text
    assert await AuditEntry.count().where(AuditEntry.action == actions.EVIDENCE_ADDED) == 1
    [link] = await _file_links(client, number)
    assert (await client.get(link)).content == files.clean(files.TEXT, TEXT).data
    assert list(private_tmp.iterdir()) == []


async def test_an_upload_form_without_its_token_first_is_refused(client, ctx):
    await make_officer(ctx, "tina", ["triage"])
    number, _ = await file_report(ctx)
    await logged_in(client, ctx, "tina")
    await csrf_token(client, f"/officer/cases/{number}")
    before = await _stored_counts()
    answer = await client.post(
        f"/officer/cases/{number}/files",
        files=[("files", ("catatan.txt", TEXT, "text/plain"))],
        headers={"Origin": "https://testserver.local"},
    )
    assert answer.status_code == 403
    assert await _stored_counts() == before


async def _post_report_with_files(
    client: httpx.AsyncClient, fields: dict, uploads: list[tuple[str, bytes]]
) -> httpx.Response:
    token = await csrf_token(client, "/report")
    return await client.post(
        "/report",
        data={"_csrf_token": token, **fields},
        files=[("files", (name, data, "application/octet-stream")) for name, data in uploads],
    )


async def test_report_form_with_files_files_both_together(client, ctx, private_tmp):
    await make_officer(ctx, "tina", ["triage"])
    sound = ID3 + os.urandom(CHUNK_BYTES + 5)
    receipt = await _post_report_with_files(
        client, VALID_REPORT, [("kuitansi.txt", TEXT), ("suara.mp3", sound)]
    )
    assert receipt.status_code == 200 and "tracking-code" in receipt.text
    assert await filed_reports() == 1
    assert await publish_for(client) == 3
    await logged_in(client, ctx, "tina")
    inbox = await client.get("/officer")
    [number] = CASE_LINK.findall(inbox.text)
    contents = {(await client.get(link)).content for link in await _file_links(client, number)}
    assert contents == {files.clean(files.TEXT, TEXT).data, sound}
    assert list(private_tmp.iterdir()) == []


async def test_report_form_files_report_identity_files_and_receipt_together(client, ctx):
    await make_officer(ctx, "tina", ["triage"])
    identity = {"identity_name": "Budi", "identity_contact": "0812 0000 1111"}
    receipt = await _post_report_with_files(
        client, {**VALID_REPORT, **identity}, [("kuitansi.txt", TEXT)]
    )
    assert receipt.status_code == 200 and "tracking-code" in receipt.text
    # One commit: the report, its identity and its file wait together; the receipt is kept.
    assert await filed_reports() == 1
    kinds = sorted(row["kind"] for row in await PendingItem.select(PendingItem.kind))
    assert kinds == ["attachment", "identity", "report"]
    assert await SubmissionReceipt.count().where(SubmissionReceipt.sealed_code.is_not_null()) == 1
    assert (await client.get("/report/receipt")).status_code == 200
    assert await publish_for(client) == 3
    assert await ReporterIdentity.count() == 1 and await Attachment.count() == 1


async def test_report_form_refusing_a_file_keeps_the_text_and_stores_nothing(client, private_tmp):
    answer = await _post_report_with_files(
        client, VALID_REPORT, [("ok.txt", TEXT), ("setup.txt", b"MZ\x90\x00" + bytes(300))]
    )
    assert answer.status_code == 422
    assert VALID_REPORT["description"] in answer.text  # what was typed comes back
    assert "setup.txt" in answer.text
    assert await filed_reports() == 0
    assert await _stored_counts() == (0, 0, 0, 0)
    assert list(private_tmp.iterdir()) == []


async def test_report_form_refused_with_files_stores_neither(client, private_tmp):
    answer = await _post_report_with_files(
        client, {**VALID_REPORT, "description": ""}, [("ok.txt", TEXT)]
    )
    assert answer.status_code == 422
    assert await filed_reports() == 0
    assert await _stored_counts() == (0, 0, 0, 0)
    assert list(private_tmp.iterdir()) == []


async def test_chunks_of_an_upload_that_never_committed_are_swept(ctx):
    from datetime import UTC, datetime, timedelta

    from whistle.evidence import store
    from whistle.intake import release

    async def pieces():
        yield TEXT

    report_id, data_key = uuid.uuid4(), bytes(32)
    budget = store.Budget(files=2, bytes=10**7, file_bytes=10**7)
    hour = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    # One upload whose request died before its pending item was written...
    orphan = await store.receive_file(report_id, data_key, "a.txt", pieces(), budget, hour)
    assert await PendingChunk.count().where(PendingChunk.upload == orphan.id) == 2
    # ...is swept once it is old enough, and not before.
    await release.run_release(ctx, hour + timedelta(minutes=30))
    assert await PendingChunk.count().where(PendingChunk.upload == orphan.id) == 2
    await release.run_release(ctx, hour + store.ORPHAN_AGE + timedelta(hours=1))
    assert await PendingChunk.count() == 0


async def test_a_file_cleaning_refuses_is_refused_with_its_message(
    client, ctx, private_tmp, monkeypatch
):
    # The cleaning itself belongs to files.clean; here only its refusal is stood in for, to
    # show what the upload does with any UnsafeFile: its message, nothing stored.
    reason = "Gambar ini terpotong atau rusak."

    def refuse(kind, data):
        raise files.UnsafeFile(reason)

    monkeypatch.setattr(files, "clean", refuse)
    _, code = await file_report(ctx)
    opened = await post_form(client, "/track", {"tracking_code": code})
    token = await csrf_token(client, "/track/report")
    before = await _stored_counts()
    answer = await client.post(
        "/track/report/files",
        data={"_csrf_token": token},
        files=[("files", ("foto.png", _png(), "image/png"))],
    )
    assert opened.status_code == 200
    assert answer.status_code == 422
    assert reason in answer.text and "foto.png" in answer.text
    assert await _stored_counts() == before
    assert list(private_tmp.iterdir()) == []

"""What the office's app needs from the reporter API beyond the pages: the place of each message,
when pending writes reach the team, safe upload retries, which file a refusal is about, and the
upload limits before uploading."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx

from tests.support.cases import file_report
from tests.support.release import publish
from whistle.clock import release_period_end
from whistle.db.tables import PendingChunk, PendingItem, SubmissionReceipt
from whistle.evidence import files

NOTE = b"Catatan: petugas meminta Rp150.000 di loket 3.\n"
NOT_A_PDF = b"MZ\x90\x00 program Windows"
REPORT = {"category": "pungli", "description": "Diminta Rp200.000 untuk antrean cepat."}


async def _bearer(client: httpx.AsyncClient, code: str) -> dict[str, str]:
    session = await client.post("/api/v1/session", json={"tracking_code": code})
    assert session.status_code == 200
    return {"Authorization": f"Bearer {session.json()['token']}"}


def _when(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _next_release(ctx) -> datetime:
    # The request ran in this period, or in the one before if the clock just ticked over.
    return release_period_end(datetime.now(UTC), ctx.settings.release_minutes)


async def _upload(
    client: httpx.AsyncClient, headers: dict[str, str], *uploads: tuple[str, bytes], **data: str
) -> httpx.Response:
    return await client.post(
        "/api/v1/report/attachments",
        headers=headers,
        data=data,
        files=[("files", (name, content, "application/octet-stream")) for name, content in uploads],
    )


async def test_messages_carry_their_place_and_when_pending_ones_reach_the_team(client, ctx):
    _, code = await file_report(ctx)
    bearer = await _bearer(client, code)

    first = await client.post("/api/v1/report/messages", json={"body": "Satu."}, headers=bearer)
    assert first.status_code == 201
    sent = first.json()
    assert (sent["position"], sent["previous"]) == (1, None)
    release_at = _when(sent["release_at"])
    period = timedelta(minutes=ctx.settings.release_minutes)
    assert release_at in (_next_release(ctx), _next_release(ctx) - period)
    [held] = await PendingItem.select(PendingItem.release_at).where(PendingItem.kind == "message")
    assert release_at == held["release_at"]
    await client.post("/api/v1/report/messages", json={"body": "Dua."}, headers=bearer)

    listed = (await client.get("/api/v1/report/messages", headers=bearer)).json()
    assert [(m["position"], m["previous"]) for m in listed] == [(1, None), (2, sent["id"])]
    assert {m["release_at"] for m in listed} == {sent["release_at"]}

    await publish(ctx)
    published = (await client.get("/api/v1/report/messages", headers=bearer)).json()
    assert [(m["position"], m["pending"], m["release_at"]) for m in published] == [
        (1, False, None),
        (2, False, None),
    ]


async def test_a_report_not_yet_published_says_when_it_will_be(client, ctx):
    filed = await client.post("/api/v1/reports", json=REPORT)
    bearer = await _bearer(client, filed.json()["tracking_code"])

    pending = (await client.get("/api/v1/report", headers=bearer)).json()
    [held] = await PendingItem.select(PendingItem.release_at).where(PendingItem.kind == "report")
    assert _when(pending["release_at"]) == held["release_at"]
    assert pending["release_at"].endswith(":00:00Z") or ctx.settings.release_minutes < 60

    await publish(ctx)
    published = (await client.get("/api/v1/report", headers=bearer)).json()
    assert published["release_at"] is None


async def test_a_retried_upload_with_its_key_stores_nothing_new(client, ctx):
    _, code = await file_report(ctx)
    bearer = await _bearer(client, code)
    keyed = {**bearer, "Idempotency-Key": "upload-7f3c"}

    first = await _upload(client, keyed, ("catatan.txt", NOTE))
    assert first.status_code == 201, first.text
    stored = (await PendingItem.count(), await PendingChunk.count())
    again = await _upload(client, keyed, ("catatan.txt", NOTE))
    assert again.status_code == 200, again.text
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json() == first.json()
    assert (await PendingItem.count(), await PendingChunk.count()) == stored
    listed = (await client.get("/api/v1/report", headers=bearer)).json()["files"]
    # One file, listed under the opaque id the upload answered with.
    assert [(f["id"], f["name"]) for f in listed] == [
        (f["id"], f["name"]) for f in first.json()["files"]
    ]

    # The same key with other files is a mistake, refused without storing anything.
    other = await _upload(client, keyed, ("lain.txt", b"Isi yang lain.\n"))
    assert other.status_code == 409, other.text
    assert other.headers["content-type"] == "application/problem+json"
    assert (await PendingItem.count(), await PendingChunk.count()) == stored

    # Nor may the key tie the same file to one of the reporter's messages instead.
    sent = await client.post("/api/v1/report/messages", json={"body": "Ini."}, headers=bearer)
    moved = await _upload(client, keyed, ("catatan.txt", NOTE), message_id=sent.json()["id"])
    assert moved.status_code == 409, moved.text
    assert await PendingItem.count().where(PendingItem.kind == "attachment") == 1

    # Without a key every request stores its files, as before.
    assert (await _upload(client, bearer, ("catatan.txt", NOTE))).status_code == 201
    assert await PendingItem.count().where(PendingItem.kind == "attachment") == 2


async def test_an_upload_key_is_kept_only_as_a_keyed_hash(client, ctx):
    _, code = await file_report(ctx)
    bearer = await _bearer(client, code)
    key = "upload-key-that-must-not-be-stored"
    answer = await _upload(client, {**bearer, "Idempotency-Key": key}, ("catatan.txt", NOTE))
    assert answer.status_code == 201
    rows = await SubmissionReceipt.select()
    assert len(rows) == 1
    kept = repr(rows)
    for secret in (key, "catatan.txt", answer.json()["files"][0]["id"]):
        assert secret not in kept


async def test_the_same_upload_key_on_two_reports_is_two_uploads(client, ctx):
    _, first_code = await file_report(ctx)
    _, second_code = await file_report(ctx)
    key = {"Idempotency-Key": "same-key-on-two-phones"}
    for code in (first_code, second_code):
        bearer = await _bearer(client, code)
        answer = await _upload(client, {**bearer, **key}, ("catatan.txt", NOTE))
        assert answer.status_code == 201, answer.text
    assert await PendingItem.count().where(PendingItem.kind == "attachment") == 2


async def test_a_refused_file_is_named_by_its_place_and_name(client, ctx):
    _, code = await file_report(ctx)
    bearer = await _bearer(client, code)

    refused = await _upload(
        client, bearer, ("catatan.txt", NOTE), ("bukti.pdf", NOT_A_PDF), ("lagi.txt", NOTE)
    )
    assert refused.status_code == 422
    problem = refused.json()
    assert problem["file"] == {"field": "files", "index": 1, "name": "bukti.pdf"}
    assert "MZ" not in refused.text and "program" not in refused.text
    assert await PendingItem.count() == 0


async def test_a_body_that_is_not_multipart_is_refused_in_the_callers_language(client, ctx):
    _, code = await file_report(ctx)
    bearer = await _bearer(client, code)
    plain = {**bearer, "Content-Type": "application/json"}

    indonesian = await client.post("/api/v1/report/attachments", headers=plain, content=b"{}")
    english = await client.post(
        "/api/v1/report/attachments",
        headers={**plain, "Accept-Language": "en"},
        content=b"{}",
    )
    assert indonesian.status_code == english.status_code == 415
    assert "multipart/form-data" in indonesian.json()["detail"]
    assert indonesian.json()["detail"] != english.json()["detail"]
    assert "This route takes" not in indonesian.json()["detail"]


async def test_the_upload_limits_are_published(client, ctx):
    answer = await client.get("/api/v1/limits")
    assert answer.status_code == 200
    uploads = answer.json()["files"]
    assert uploads["max_files"] == ctx.settings.evidence_files_per_report
    assert uploads["max_file_bytes"] == ctx.settings.evidence_file_bytes
    assert uploads["max_total_bytes"] == ctx.settings.evidence_report_bytes
    kinds = {kind["kind"]: kind for kind in uploads["kinds"]}
    assert set(kinds) == {kind.name for kind in files.ALLOWED}
    assert kinds["jpeg"] == {
        "kind": "jpeg",
        "mime": "image/jpeg",
        "extension": "jpg",
        "cleaned": True,
    }
    assert kinds["mp3"]["cleaned"] is False


async def test_a_retried_message_with_its_key_sends_nothing_new(client, ctx):
    _, code = await file_report(ctx)
    bearer = await _bearer(client, code)
    keyed = {**bearer, "Idempotency-Key": "message-51d0"}

    first = await client.post("/api/v1/report/messages", json={"body": "Satu."}, headers=keyed)
    assert first.status_code == 201, first.text
    assert "idempotent-replayed" not in first.headers
    again = await client.post("/api/v1/report/messages", json={"body": "Satu."}, headers=keyed)
    assert again.status_code == 200, again.text
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json() == first.json()
    assert await PendingItem.count().where(PendingItem.kind == "message") == 1

    # The same key with another text is a mistake, refused without sending anything.
    other = await client.post("/api/v1/report/messages", json={"body": "Dua."}, headers=keyed)
    assert other.status_code == 409, other.text
    assert other.headers["content-type"] == "application/problem+json"
    assert await PendingItem.count().where(PendingItem.kind == "message") == 1

    # After the release the retry still answers with the message, now published.
    await publish(ctx)
    later = await client.post("/api/v1/report/messages", json={"body": "Satu."}, headers=keyed)
    assert later.status_code == 200, later.text
    assert (later.json()["id"], later.json()["pending"]) == (first.json()["id"], False)
    listed = (await client.get("/api/v1/report/messages", headers=bearer)).json()
    assert [m["body"] for m in listed] == ["Satu."]

    # Without a key every request sends its message, as before.
    plain = await client.post("/api/v1/report/messages", json={"body": "Satu."}, headers=bearer)
    assert plain.status_code == 201
    assert len((await client.get("/api/v1/report/messages", headers=bearer)).json()) == 2


async def test_a_message_key_is_kept_only_as_a_keyed_hash(client, ctx):
    _, code = await file_report(ctx)
    bearer = await _bearer(client, code)
    key = "message-key-that-must-not-be-stored"
    sent = await client.post(
        "/api/v1/report/messages",
        json={"body": "Petugas loket 3 meminta uang."},
        headers={**bearer, "Idempotency-Key": key},
    )
    assert sent.status_code == 201, sent.text
    rows = await SubmissionReceipt.select()
    assert len(rows) == 1
    kept = repr(rows)
    for secret in (key, "loket 3", sent.json()["id"]):
        assert secret not in kept


async def test_a_refused_message_leaves_its_key_free(client, ctx):
    _, code = await file_report(ctx)
    keyed = {**await _bearer(client, code), "Idempotency-Key": "message-after-a-refusal"}
    empty = await client.post("/api/v1/report/messages", json={"body": "  "}, headers=keyed)
    assert empty.status_code == 422, empty.text
    assert await SubmissionReceipt.count() == 0
    sent = await client.post("/api/v1/report/messages", json={"body": "Isi."}, headers=keyed)
    assert sent.status_code == 201, sent.text

"""A real server process, real requests: what a reporter writes never reaches the database in
plain text or any log line, and nothing of the reporter's device is stored or logged."""

from __future__ import annotations

import re
from pathlib import Path

import anyio
import httpx

from tests.support.dump import database_copy
from tests.support.release import publish
from tests.support.server import running_server
from whistle.context import Context
from whistle.crypto import Keyring, derive_reporter_secrets
from whistle.db import engine as db

MARKER = "ZEBRAMARKER7731"
USER_AGENT = "MarkerPhone/9.9 (UAMARKER4242)"
FORWARDED_IP = "203.0.113.77"
# The reporter's requests come from their own loopback address, so it can be told from the
# server's (127.0.0.1) in what the server wrote.
CLIENT_IP = "127.0.0.2"
CSRF_FIELD = re.compile(r'name="_csrf_token" value="([^"]+)"')
CODE = re.compile(r'id="tracking-code"[^>]*>([0-9A-Z-]{19})<')
# Inside evidence files (more than a chunk, so it spans several sealed chunks).
FILE_TEXT = f"Kuitansi calo {MARKER} Rp500.000\n".encode() * 3000
FREE_TEXT = {
    "description": f"Petugas meminta uang {MARKER} di loket untuk mempercepat paspor.",
    "location": f"Loket {MARKER}",
    "persons_involved": f"Petugas {MARKER}",
}


def _exercise(base: str) -> list[str]:
    """File and reopen reports through the form and the API; return the tracking codes."""
    headers = {"User-Agent": USER_AGENT, "X-Forwarded-For": FORWARDED_IP, "X-Real-IP": FORWARDED_IP}

    def transport() -> httpx.HTTPTransport:
        return httpx.HTTPTransport(local_address=CLIENT_IP)

    with httpx.Client(
        base_url=base, headers=headers, follow_redirects=True, transport=transport()
    ) as web:
        token = CSRF_FIELD.search(web.get("/report").text).group(1)
        form = {
            "category": "pungli",
            "amount_requested": "500000",
            "incident_date": "2026-11-01",
            "how_known": "witnessed",
            **FREE_TEXT,
            "identity_name": f"Nama {MARKER}",
            "identity_contact": f"0812 {MARKER}",
            "_csrf_token": token,
        }
        receipt = web.post("/report", data=form)
        assert receipt.status_code == 200
        code = CODE.search(receipt.text).group(1)
        # A rejected submission too: its text must not be logged either.
        rejected = web.post("/report", data={**form, "category": "salah"})
        assert rejected.status_code == 422
        token = CSRF_FIELD.search(web.get("/track").text).group(1)
        view = web.post("/track", data={"tracking_code": code, "_csrf_token": token})
        assert MARKER in view.text
        # An answer to the team and an identity, on the status page; a refused one too.
        token = CSRF_FIELD.search(view.text).group(1)
        answer = web.post(
            "/track/messages", data={"body": f"Jawaban {MARKER}", "_csrf_token": token}
        )
        assert answer.status_code == 200 and f"Jawaban {MARKER}" in answer.text
        too_long = web.post("/track/messages", data={"body": MARKER * 400, "_csrf_token": token})
        assert too_long.status_code == 422
        identity = web.post(
            "/track/identity",
            data={
                "name": f"Nama {MARKER}",
                "contact": f"{MARKER}@example.org",
                "_csrf_token": token,
            },
        )
        assert identity.status_code == 200
        # Evidence on the status page: a marker inside the file and in its name.
        added = web.post(
            "/track/report/files",
            data={"_csrf_token": token},
            files=[("files", (f"foto-{MARKER}.txt", FILE_TEXT, "text/plain"))],
        )
        assert added.status_code == 200 and f"foto-{MARKER}.txt" in added.text
    with httpx.Client(base_url=base, headers=headers, transport=transport()) as api:
        created = api.post("/api/v1/reports", json={"category": "calo", **FREE_TEXT})
        assert created.status_code == 201
        bad = api.post("/api/v1/reports", json={"category": "calo", "description": MARKER * 3000})
        assert bad.status_code == 422
        session = api.post(
            "/api/v1/session", json={"tracking_code": created.json()["tracking_code"]}
        )
        bearer = {"Authorization": f"Bearer {session.json()['token']}"}
        assert MARKER in api.get("/api/v1/report", headers=bearer).text
        sent = api.post("/api/v1/report/messages", json={"body": f"API {MARKER}"}, headers=bearer)
        assert sent.status_code == 201
        refused = api.post("/api/v1/report/messages", json={"body": MARKER * 400}, headers=bearer)
        assert refused.status_code == 422
        given = api.post("/api/v1/report/identity", json={"name": f"API {MARKER}"}, headers=bearer)
        assert given.status_code == 202
        uploaded = api.post(
            "/api/v1/report/attachments",
            headers=bearer,
            files=[("files", (f"bukti-{MARKER}.txt", FILE_TEXT, "text/plain"))],
        )
        assert uploaded.status_code == 201
        # A refused file (an executable by its bytes): neither it nor its name may be kept.
        refused_file = api.post(
            "/api/v1/report/attachments",
            headers=bearer,
            files=[("files", (f"x-{MARKER}.txt", b"MZ\x90\x00" + FILE_TEXT, "text/plain"))],
        )
        assert refused_file.status_code == 422
        assert api.post("/api/v1/session", json={"tracking_code": MARKER}).status_code == 401
    return [code, created.json()["tracking_code"]]


def _serve_and_exercise(settings, log: Path, temp: Path) -> list[str]:
    with running_server(settings, log, WHISTLE_LOG_LEVEL="DEBUG", TMPDIR=str(temp)) as base:
        return _exercise(base)


async def test_marker_device_and_address_appear_nowhere(settings, templates, tmp_path):
    log = tmp_path / "server.log"
    temp = tmp_path / "server-tmp"
    temp.mkdir()
    codes = await anyio.to_thread.run_sync(_serve_and_exercise, settings, log, temp)
    assert list(temp.iterdir()) == [], "the server wrote to its temp directory"
    logged = log.read_text()
    for code in codes:
        assert code not in logged and code.replace("-", "") not in logged, "a code was logged"
    assert "Application startup complete" in logged, "the log was captured"
    for needle in (MARKER, USER_AGENT, "UAMARKER4242", FORWARDED_IP, CLIENT_IP):
        assert needle not in logged, f"{needle!r} reached the server log"
    # At DEBUG the drivers would log each statement with its parameters: they stay at WARNING.
    salt = Keyring.load(settings.keys_dir).receipt_salt
    for code in codes:
        secrets = derive_reporter_secrets(code, salt, settings.argon2)
        lookup_id = secrets.lookup_id.hex()
        assert lookup_id not in logged, "a report's lookup id was logged"
    assert "DEBUG" in logged, "the server logged at DEBUG"
    assert "INSERT INTO" not in logged.upper(), "a database statement was logged"

    # The reports as officers get them: published by the release (the dump then shows their
    # plain metadata; before it, the pending store holds them as one opaque payload).
    engine = await db.open_database(settings)
    try:
        # Two reports, each with a reporter message and an identity (the form's report with a
        # second identity given on the form itself), and their two files.
        assert await publish(Context.create(settings)) == 9
    finally:
        await db.close_database(engine)
    stored = await anyio.to_thread.run_sync(database_copy, settings, templates.postgres)
    assert b"pungli" in stored and b"calo" in stored, "the dump holds the reports' metadata"
    for needle in (MARKER, "UAMARKER4242", FORWARDED_IP, CLIENT_IP, "MarkerPhone", *codes):
        for encoding in ("utf-8", "utf-16-le"):
            assert needle.encode(encoding) not in stored, f"{needle!r} stored ({encoding})"

"""A receipt that survives people: reload, Back then resend, a double tap, an edit after Back and
an app's retry with the same Idempotency-Key each file one report and show the same receipt;
the receipt survives a language switch, downloads as text, and keeps no code in clear."""

from __future__ import annotations

import re

import anyio
import pytest

from tests.support.forms import CODE, CSRF_FIELD, VALID_REPORT, post_form
from tests.support.release import filed_reports
from whistle.db.tables import SubmissionReceipt

TOKEN_FIELD = re.compile(r'name="submission_token" value="([^"]+)"')


async def _form(client) -> dict:
    page = await client.get("/report")
    return {
        "_csrf_token": CSRF_FIELD.search(page.text).group(1),
        "submission_token": TOKEN_FIELD.search(page.text).group(1),
    }


def _code(page) -> str:
    match = CODE.search(page.text)
    assert match, page.text[:2000]
    return match.group(1)


async def test_receipt_is_reached_by_redirect_and_a_reload_files_nothing(client):
    form = await _form(client)
    sent = await client.post("/report", data={**VALID_REPORT, **form}, follow_redirects=False)
    assert sent.status_code == 303
    assert sent.headers["location"] == "/report/receipt"
    first = await client.get("/report/receipt")
    reload = await client.get("/report/receipt")
    assert first.status_code == reload.status_code == 200
    assert _code(first) == _code(reload)
    assert first.headers["cache-control"] == "no-store"
    assert await filed_reports() == 1


async def test_back_then_resend_and_an_edit_after_back_show_the_same_receipt(client):
    form = await _form(client)
    first = await client.post("/report", data={**VALID_REPORT, **form})
    again = await client.post("/report", data={**VALID_REPORT, **form})
    edited = await client.post(
        "/report", data={**VALID_REPORT, **form, "description": VALID_REPORT["description"] + "!"}
    )
    assert _code(first) == _code(again) == _code(edited)
    assert await filed_reports() == 1


async def test_a_double_tap_files_one_report(client):
    form = await _form(client)
    pages = []

    async def send() -> None:
        pages.append(await client.post("/report", data={**VALID_REPORT, **form}))

    async with anyio.create_task_group() as group:
        for _ in range(3):
            group.start_soon(send)
    assert len({_code(page) for page in pages}) == 1
    assert await filed_reports() == 1


async def test_a_refused_form_keeps_its_token_and_the_corrected_send_files_once(client):
    form = await _form(client)
    refused = await client.post("/report", data={**VALID_REPORT, **form, "description": "x"})
    assert refused.status_code == 422
    assert f'value="{form["submission_token"]}"' in refused.text
    first = await client.post("/report", data={**VALID_REPORT, **form})
    again = await client.post("/report", data={**VALID_REPORT, **form})
    assert _code(first) == _code(again)
    assert await filed_reports() == 1


async def test_two_forms_file_two_reports(client):
    first = await client.post("/report", data={**VALID_REPORT, **await _form(client)})
    second = await client.post("/report", data={**VALID_REPORT, **await _form(client)})
    assert _code(first) != _code(second)
    assert await filed_reports() == 2


async def test_the_code_survives_the_language_switch(client):
    code = _code(await post_form(client, "/report", VALID_REPORT))
    english = await client.get("/bahasa?lang=en&next=/report/receipt")
    assert '<html lang="en">' in english.text
    assert "Your tracking code:" in english.text
    assert _code(english) == code


async def test_the_receipt_downloads_as_text_and_can_be_forgotten(client):
    code = _code(await post_form(client, "/report", VALID_REPORT))
    text = await client.get("/report/receipt/text")
    assert text.status_code == 200
    assert text.headers["content-type"].startswith("text/plain")
    assert text.headers["content-disposition"].startswith("attachment;")
    assert code in text.text and "Cek Status" in text.text

    page = await client.get("/report/receipt")
    token = CSRF_FIELD.search(page.text).group(1)
    await client.post("/report/receipt/forget", data={"_csrf_token": token})
    gone = await client.get("/report/receipt")
    assert gone.status_code == 404
    assert code not in gone.text
    assert await SubmissionReceipt.count() == 0


async def test_the_kept_receipt_holds_no_code_in_clear_and_no_minute(client):
    code = _code(await post_form(client, "/report", VALID_REPORT))
    rows = await SubmissionReceipt.select()
    assert len(rows) == 1
    row = rows[0]
    raw = bytes(row["sealed_code"])
    for form in (code, code.replace("-", "")):
        assert form.encode() not in raw
    assert row["expires_at"].minute == row["expires_at"].second == 0
    assert row["received_at"].minute == 0
    # Without the token (another browser) there is no receipt to see.
    client.cookies.clear()
    assert (await client.get("/report/receipt")).status_code == 404


async def test_the_form_and_receipt_say_no_store_and_the_form_no_autocomplete(client):
    form = await client.get("/report")
    assert form.headers["cache-control"] == "no-store"
    assert re.search(
        r'<form id="report-form" method="post" action="/report" novalidate autocomplete="off">',
        form.text,
    )
    receipt = await post_form(client, "/report", VALID_REPORT)
    assert receipt.headers["cache-control"] == "no-store"
    # The receipt's copy and print buttons come from a same-origin script only.
    csp = receipt.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "default-src 'none'" in csp
    assert '<script src="/static/receipt.js" defer></script>' in receipt.text


KEY = {"Idempotency-Key": "6f1c2b9e-4a1d-4c57-9a43-0c2f5d1e8b77"}


async def test_api_retry_with_the_same_key_returns_the_same_receipt(client):
    first = await client.post("/api/v1/reports", json=VALID_REPORT, headers=KEY)
    retry = await client.post("/api/v1/reports", json=VALID_REPORT, headers=KEY)
    assert first.status_code == 201, first.text
    assert retry.status_code == 200, retry.text
    assert retry.headers["idempotent-replayed"] == "true"
    assert retry.json() == first.json()
    assert await filed_reports() == 1


async def test_api_concurrent_retries_file_one_report(client):
    answers = []

    async def send() -> None:
        answers.append(await client.post("/api/v1/reports", json=VALID_REPORT, headers=KEY))

    async with anyio.create_task_group() as group:
        for _ in range(3):
            group.start_soon(send)
    assert sorted(answer.status_code for answer in answers) == [200, 200, 201]
    assert len({answer.json()["tracking_code"] for answer in answers}) == 1
    assert await filed_reports() == 1


async def test_api_same_key_with_another_report_is_refused(client):
    await client.post("/api/v1/reports", json=VALID_REPORT, headers=KEY)
    other = await client.post(
        "/api/v1/reports", json={**VALID_REPORT, "location": "Loket 9"}, headers=KEY
    )
    # 409, like a key still in flight: the key's state, not the report, is what conflicts.
    assert other.status_code == 409
    assert "sudah dipakai untuk laporan lain" in other.json()["detail"]
    assert await filed_reports() == 1


async def test_api_without_a_key_files_each_time(client):
    for _ in range(2):
        assert (await client.post("/api/v1/reports", json=VALID_REPORT)).status_code == 201
    assert await filed_reports() == 2


@pytest.mark.parametrize("key", ["", "a" * 256, "with space"])
async def test_api_refuses_a_malformed_key(client, key):
    response = await client.post(
        "/api/v1/reports",
        json=VALID_REPORT,
        headers={"Idempotency-Key": key.encode().decode("latin-1")},
    )
    assert response.status_code == 400, response.text
    assert await filed_reports() == 0


async def test_openapi_documents_the_idempotency_key(client):
    operation = (await client.get("/schema/openapi.json")).json()["paths"]["/api/v1/reports"][
        "post"
    ]
    header = next(p for p in operation["parameters"] if p["name"] == "Idempotency-Key")
    assert header["in"] == "header" and not header.get("required")
    assert {"200", "201", "409", "422"} <= set(operation["responses"])

"""Filing and reopening reports through the form and the API, on SQLite and PostgreSQL."""

from __future__ import annotations

from tests.support.forms import VALID_REPORT, post_form, submit_report_form
from whistle.crypto import normalise_case_number
from whistle.db.tables import AuditEntry, Report, ReportKey, StatusEvent


async def test_form_report_opens_with_its_code_and_nothing_else(client):
    code = await submit_report_form(client)
    assert await Report.count() == 1

    page = await post_form(client, "/track", {"tracking_code": code.lower().replace("-", " ")})
    assert page.status_code == 200, page.text
    assert VALID_REPORT["description"] in page.text
    assert "Diterima" in page.text
    assert "Rp500.000" in page.text

    client.cookies.clear()
    wrong = code[:-1] + ("0" if code[-1] != "0" else "1")
    for attempt in (wrong, "not-a-code", ""):
        refused = await post_form(client, "/track", {"tracking_code": attempt})
        assert refused.status_code == 401
        assert "Kode pelacakan tidak dikenali" in refused.text
        assert VALID_REPORT["description"] not in refused.text
    # Without the session cookie the report page sends the reporter back to the code form.
    page = await client.get("/track/report", follow_redirects=False)
    assert page.status_code in (302, 303)


async def test_api_report_opens_with_its_code_and_nothing_else(client):
    body = {**VALID_REPORT, "amount_requested": 750000, "excluded_officers": []}
    created = await client.post("/api/v1/reports", json=body)
    assert created.status_code == 201, created.text
    receipt = created.json()
    assert receipt["status"] == "received"
    code = receipt["tracking_code"]
    assert len(code) == 19

    session = await client.post("/api/v1/session", json={"tracking_code": code})
    assert session.status_code == 200
    token = session.json()["token"]
    view = await client.get("/api/v1/report", headers={"Authorization": f"Bearer {token}"})
    assert view.status_code == 200, view.text
    data = view.json()
    assert data["status"] == "received"
    assert data["status_label"] == "Diterima"
    assert data["report"]["description"] == VALID_REPORT["description"]
    assert data["report"]["amount_requested"] == 750000
    assert [entry["status"] for entry in data["timeline"]] == ["received"]

    other = code[:-1] + ("0" if code[-1] != "0" else "1")
    answers = [
        await client.post("/api/v1/session", json={"tracking_code": attempt})
        for attempt in (other, "ZZZZ", "IIII-LLLL-OOOO-0000")
    ]
    assert {answer.status_code for answer in answers} == {401}
    assert len({answer.text for answer in answers}) == 1, "every wrong code gets the same answer"
    assert answers[0].headers["content-type"].startswith("application/problem+json")

    no_token = await client.get("/api/v1/report")
    assert no_token.status_code == 401
    bad_token = await client.get("/api/v1/report", headers={"Authorization": "Bearer abc"})
    assert bad_token.status_code == 401

    ended = await client.delete("/api/v1/session", headers={"Authorization": f"Bearer {token}"})
    assert ended.status_code == 204
    after = await client.get("/api/v1/report", headers={"Authorization": f"Bearer {token}"})
    assert after.status_code == 401


async def test_report_commits_key_wraps_timeline_and_audit_entry(client):
    await submit_report_form(client)
    report = await Report.objects().first()
    assert report.status == "received"
    assert report.received_at.minute == 0 and report.received_at.second == 0
    # Case numbers are year + random symbols with a check symbol (no counter to read).
    assert normalise_case_number(report.case_number) == report.case_number
    assert report.case_number.startswith(f"{report.received_at.year}-")
    holders = sorted(row["holder"] for row in await ReportKey.select(ReportKey.holder))
    assert holders == ["office", "reporter"]  # no triage officer exists yet
    assert await StatusEvent.count() == 1
    entries = await AuditEntry.select()
    assert [(e["action"], e["actor"], e["case_number"]) for e in entries] == [
        ("report.received", "reporter", report.case_number)
    ]

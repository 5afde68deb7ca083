"""The reporter's identity, only if they want to give it: sealed under its own purpose, through
the hourly release; officers see only that it exists until a second triage officer approves a
reveal requested with a reason; the reporter sees when and why."""

from __future__ import annotations

import pytest

from tests.support.cases import as_officer, file_report, post_case
from tests.support.forms import CSRF_FIELD, VALID_REPORT
from tests.support.officers import logged_in, make_officer
from tests.support.release import publish
from whistle.audit.service import REPORTER_ACTOR
from whistle.cases import service
from whistle.db.tables import AuditEntry, IdentityReveal, PendingItem, Report, ReporterIdentity
from whistle.errors import Conflict, PermissionDenied, ValidationFailed
from whistle.intake import service as intake

NAME = "Budi Santoso"
CONTACT = "0812-3456-7890"
REASON = "Perlu keterangan langsung sebagai saksi di persidangan kode etik."


async def _with_identity(ctx) -> tuple[str, str]:
    number, code = await file_report(ctx)
    report_id, data_key = await intake.unlock_with_code(ctx, code)
    await intake.give_identity(ctx, report_id, data_key, NAME, CONTACT)
    assert await ReporterIdentity.count() == 0  # waits for the release like any reporter write
    await publish(ctx)
    return number, code


async def test_two_triage_officers_reveal_and_the_reporter_sees_it(client, ctx):
    await make_officer(ctx, "tina", ["triage"])
    await make_officer(ctx, "tomi", ["triage"])
    number, code = await _with_identity(ctx)
    tina, tomi = await as_officer(ctx, "tina"), await as_officer(ctx, "tomi")

    view = await service.open_case(ctx, tina, number)
    assert view.identity.given and view.identity.revealed == []

    await service.request_identity_reveal(tina, number, REASON)
    # The one who asked cannot approve (nor reject) their own request.
    with pytest.raises(Conflict):
        await service.decide_identity_reveal(tina, number, approve=True)
    assert (await service.open_case(ctx, tina, number)).identity.revealed == []

    await service.decide_identity_reveal(tomi, number, approve=True)
    view = await service.open_case(ctx, tina, number)
    assert view.identity.revealed == [(NAME, CONTACT)]
    assert view.identity.requests[0].approved and view.identity.requests[0].reason == REASON

    # The audit records the facts, never the reason or the identity.
    entries = await AuditEntry.select(AuditEntry.action, AuditEntry.details, AuditEntry.actor)
    actions = [(e["action"], e["actor"]) for e in entries]
    assert ("identity.given", REPORTER_ACTOR) in actions
    assert ("identity.reveal_requested", "tina") in actions
    assert ("identity.reveal_approved", "tomi") in actions
    assert not any(NAME in e["details"] or "saksi" in e["details"] for e in entries)

    # The reporter sees when and why on the status page and through the API.
    token = CSRF_FIELD.search((await client.get("/track")).text).group(1)
    page = await client.post("/track", data={"tracking_code": code, "_csrf_token": token})
    assert "Identitas Anda dibuka oleh tim pada" in page.text and REASON in page.text
    session = await client.post("/api/v1/session", json={"tracking_code": code})
    bearer = {"Authorization": f"Bearer {session.json()['token']}"}
    status = (await client.get("/api/v1/report/identity", headers=bearer)).json()
    assert status["given"] and status["reveals"][0]["reason"] == REASON


async def test_one_officer_alone_cannot_reveal(client, ctx):
    await make_officer(ctx, "tina", ["triage"])
    await make_officer(ctx, "ivan", ["investigator"])
    number, _ = await _with_identity(ctx)
    tina = await as_officer(ctx, "tina")
    await service.assign(tina, number, (await as_officer(ctx, "ivan")).id)
    ivan = await as_officer(ctx, "ivan")

    with pytest.raises(ValidationFailed):
        await service.request_identity_reveal(tina, number, "  ")
    with pytest.raises(PermissionDenied):  # investigators neither ask nor approve
        await service.request_identity_reveal(ivan, number, REASON)
    await service.request_identity_reveal(tina, number, REASON)
    with pytest.raises(PermissionDenied):
        await service.decide_identity_reveal(ivan, number, approve=True)
    with pytest.raises(Conflict):
        await service.request_identity_reveal(tina, number, REASON)  # one waiting at a time
    with pytest.raises(Conflict):
        await service.decide_identity_reveal(tina, number, approve=True)

    # Through the page too: the requester's approval is refused and nothing is revealed.
    await logged_in(client, ctx, "tina")
    refused = await post_case(client, number, "identity/decide", {"decision": "approve"})
    assert refused.status_code == 409
    page = await client.get(f"/officer/cases/{number}")
    assert NAME not in page.text and CONTACT not in page.text
    assert "menunggu persetujuan" in page.text
    assert await IdentityReveal.count().where(IdentityReveal.approved.is_null()) == 1


async def test_a_second_officer_rejects_through_the_page(client, ctx):
    await make_officer(ctx, "tina", ["triage"])
    await make_officer(ctx, "tomi", ["triage"])
    number, code = await _with_identity(ctx)
    await logged_in(client, ctx, "tina")
    asked = await post_case(client, number, "identity/request", {"reveal_reason": REASON})
    assert asked.status_code == 200 and REASON in asked.text
    await logged_in(client, ctx, "tomi")
    page = await client.get(f"/officer/cases/{number}")
    assert "Setujui pembukaan identitas" in page.text and NAME not in page.text
    rejected = await post_case(client, number, "identity/decide", {"decision": "reject"})
    assert rejected.status_code == 200 and NAME not in rejected.text
    assert "ditolak oleh" in rejected.text
    report_id, data_key = await intake.unlock_with_code(ctx, code)
    assert (await intake.identity_status(report_id, data_key)).reveals == []


async def test_reporter_gives_identity_on_the_status_page(client, ctx):
    await make_officer(ctx, "tina", ["triage"])
    number, code = await file_report(ctx)
    token = CSRF_FIELD.search((await client.get("/track")).text).group(1)
    await client.post("/track", data={"tracking_code": code, "_csrf_token": token})
    token = CSRF_FIELD.search((await client.get("/track/report")).text).group(1)
    too_long = "n" * 201
    refused = await client.post(
        "/track/identity", data={"name": too_long, "contact": "", "_csrf_token": token}
    )
    assert refused.status_code == 422 and "Nama terlalu panjang" in refused.text
    assert too_long in refused.text and await PendingItem.count() == 0
    given = await client.post(
        "/track/identity", data={"name": NAME, "contact": CONTACT, "_csrf_token": token}
    )
    assert given.status_code == 200 and "Anda telah memberikan nama atau kontak" in given.text
    assert await PendingItem.count().where(PendingItem.kind == "identity") == 1
    await publish(ctx)
    view = await service.open_case(ctx, await as_officer(ctx, "tina"), number)
    assert view.identity.given and not view.identity.revealed

    # And through the API.
    session = await client.post("/api/v1/session", json={"tracking_code": code})
    bearer = {"Authorization": f"Bearer {session.json()['token']}"}
    accepted = await client.post(
        "/api/v1/report/identity", json={"contact": "budi@example.org"}, headers=bearer
    )
    assert accepted.status_code == 202
    blank = await client.post("/api/v1/report/identity", json={}, headers=bearer)
    assert blank.status_code == 422


async def test_identity_given_on_the_report_form(client, ctx):
    await make_officer(ctx, "tina", ["triage"])
    token = CSRF_FIELD.search((await client.get("/report")).text).group(1)
    form = {**VALID_REPORT, "_csrf_token": token, "identity_contact": "c" * 501}
    refused = await client.post("/report", data={**form, "description": "pendek"})
    # Every mistake at once, what was typed kept, nothing filed.
    assert refused.status_code == 422
    assert "Kontak terlalu panjang" in refused.text and "paling sedikit 20 huruf" in refused.text
    assert "c" * 501 in refused.text and await PendingItem.count() == 0

    token = CSRF_FIELD.search(refused.text).group(1)
    filed = await client.post(
        "/report",
        data={**form, "identity_name": NAME, "identity_contact": CONTACT, "_csrf_token": token},
    )
    assert filed.status_code == 200
    assert await PendingItem.count().where(PendingItem.kind == "identity") == 1
    assert await publish(ctx) == 2
    [row] = await ReporterIdentity.select(ReporterIdentity.report)
    number = (await Report.select(Report.case_number).where(Report.id == row["report"]).first())[
        "case_number"
    ]
    view = await service.open_case(ctx, await as_officer(ctx, "tina"), number)
    assert view.identity.given and view.identity.revealed == []
    await logged_in(client, ctx, "tina")
    page = await client.get(f"/officer/cases/{number}")
    assert "Pelapor memberikan identitas" in page.text and NAME not in page.text

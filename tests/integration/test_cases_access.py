"""Who can read a case: wraps, exclusion, recusal, assignment, and the roles that never read."""

from __future__ import annotations

import json

import pytest

from tests.support.cases import as_officer, file_report, post_case, snapshot
from tests.support.forms import VALID_REPORT
from tests.support.holders import officer_ids_of
from tests.support.officers import logged_in, make_officer
from whistle.audit import actions
from whistle.cases import service
from whistle.crypto import DecryptionError, associated_data, unseal
from whistle.db.tables import (
    AuditEntry,
    CaseAssignment,
    IdentityReveal,
    LegalHold,
    Officer,
    Recusal,
    Report,
    ReportKey,
)
from whistle.errors import Conflict, PermissionDenied, ValidationFailed
from whistle.reports import envelope
from whistle.reports.envelope import HOLDER_OFFICER, key_purpose

SECRET = VALID_REPORT["description"]


async def _report_id(number: str):
    return (await Report.select(Report.id).where(Report.case_number == number).first())["id"]


async def _wrap_holders(number: str) -> set[int]:
    rows = await ReportKey.select(ReportKey.holder_tag).where(
        (ReportKey.report == await _report_id(number)) & (ReportKey.holder == HOLDER_OFFICER)
    )
    return await officer_ids_of(rows)


async def _cannot_decrypt_any_wrap(number: str, officer) -> None:
    """The officer's private key opens none of the case's wraps, whoever they were sealed for."""
    report_id = await _report_id(number)
    wraps = await ReportKey.select(ReportKey.wrapped).where(ReportKey.report == report_id)
    assert wraps
    purpose = associated_data(str(report_id), key_purpose(HOLDER_OFFICER, officer.id))
    for wrap in wraps:
        with pytest.raises(DecryptionError):
            unseal(officer.private_key, wrap["wrapped"], purpose)


async def _audit_details() -> str:
    return " ".join(row["details"] for row in await AuditEntry.select(AuditEntry.details))


async def test_an_excluded_officer_cannot_read_be_assigned_granted_or_decrypt(client, ctx):
    tina_id = await make_officer(ctx, "tina", ["triage"])
    tom_id = await make_officer(ctx, "tom", ["triage"])
    xavier_id = await make_officer(ctx, "xavier", ["investigator"])
    number, _ = await file_report(ctx, excluded=[tom_id, xavier_id])
    tina, tom = await as_officer(ctx, "tina"), await as_officer(ctx, "tom")
    xavier = await as_officer(ctx, "xavier")
    assert await _wrap_holders(number) == {tina_id}

    # Cannot read: the service refuses, the page shows nothing of the case (answered as a
    # missing case: no existence oracle).
    with pytest.raises(PermissionDenied):
        await service.open_case(ctx, tom, number)
    await logged_in(client, ctx, "tom")
    page = await client.get(f"/officer/cases/{number}")
    assert page.status_code == 404
    assert SECRET not in page.text and "Loket 3" not in page.text
    inbox = await client.get("/officer")
    assert number not in inbox.text

    # Cannot be assigned or granted, and the page does not offer them.
    before = await snapshot(number)
    with pytest.raises(Conflict):
        await service.assign(tina, number, xavier_id)
    with pytest.raises(Conflict):
        await service.grant_access(tina, number, tom_id)
    assert await snapshot(number) == before
    assert await CaseAssignment.count() == 0
    assert await _wrap_holders(number) == {tina_id}
    view = await service.open_case(ctx, tina, number)
    assert tom_id not in {p.id for p in view.grantable}
    assert xavier_id not in {p.id for p in view.assignable}
    assert {p.username for p in view.excluded} == {"tom", "xavier"}

    # Cannot decrypt: no wrap opens with their keys.
    await _cannot_decrypt_any_wrap(number, tom)
    await _cannot_decrypt_any_wrap(number, xavier)
    with pytest.raises(PermissionDenied):
        await envelope.officer_data_key(await _report_id(number), tom.id, tom.private_key)


async def test_a_recused_officer_loses_the_key_and_can_never_be_assigned_again(client, ctx):
    await make_officer(ctx, "tina", ["triage"])
    ivan_id = await make_officer(ctx, "ivan", ["investigator"])
    number, _ = await file_report(ctx)
    tina = await as_officer(ctx, "tina")
    await service.assign(tina, number, ivan_id)
    assert ivan_id in await _wrap_holders(number)

    await logged_in(client, ctx, "ivan")
    assert SECRET in (await client.get(f"/officer/cases/{number}")).text
    reason = "Terlapor adalah sepupu saya"
    response = await post_case(client, number, "recuse", {"recusal_reason": reason})
    assert response.status_code == 200 and str(response.url).endswith("/officer")

    report_id = await _report_id(number)
    assert ivan_id not in await _wrap_holders(number)
    assert await CaseAssignment.count().where(CaseAssignment.report == report_id) == 0
    recusal = await Recusal.select().where(Recusal.report == report_id).first()
    assert recusal["officer"] == ivan_id and reason.encode() not in recusal["reason"]
    entry = await AuditEntry.select().where(AuditEntry.action == actions.CASE_RECUSED).first()
    assert json.loads(entry["details"])["officer"] == "ivan"
    assert "sepupu" not in await _audit_details()

    page = await client.get(f"/officer/cases/{number}")
    assert page.status_code == 404 and SECRET not in page.text
    ivan = await as_officer(ctx, "ivan")
    await _cannot_decrypt_any_wrap(number, ivan)
    with pytest.raises(Conflict):
        await service.assign(tina, number, ivan_id)
    assert ivan_id not in await _wrap_holders(number)
    # The triage officer reads the recusal and its reason; ivan is no longer assignable.
    view = await service.open_case(ctx, tina, number)
    assert [item.reason for item in view.recusals] == [reason]
    assert ivan_id not in {p.id for p in view.assignable}


async def test_recusing_needs_a_reason_and_changes_nothing_without_one(client, ctx):
    tina_id = await make_officer(ctx, "tina", ["triage"])
    number, _ = await file_report(ctx)
    await logged_in(client, ctx, "tina")
    response = await post_case(client, number, "recuse", {"recusal_reason": "  "})
    assert response.status_code == 422
    assert "Tuliskan alasan konflik kepentingan." in response.text
    assert await Recusal.count() == 0
    assert tina_id in await _wrap_holders(number)


@pytest.mark.parametrize(
    ("action", "field", "missing"),
    [
        ("recuse", "recusal_reason", "Tuliskan alasan konflik kepentingan."),
        ("set_hold", "hold_reason", "Tuliskan alasan penahanan hukum."),
        ("request_identity_reveal", "reveal_reason", "Tuliskan alasan membuka identitas pelapor."),
    ],
)
async def test_a_written_reason_is_required_and_bounded(ctx, action, field, missing):
    await make_officer(ctx, "tina", ["triage"])
    number, _ = await file_report(ctx)
    tina = await as_officer(ctx, "tina")
    before = await snapshot(number)
    too_long = "Alasan terlalu panjang (paling banyak 2.000 huruf)."
    for reason, message in (("  ", missing), (None, missing), ("x" * 2001, too_long)):
        with pytest.raises(ValidationFailed) as refused:
            await getattr(service, action)(tina, number, reason)
        assert refused.value.errors == {field: message}
    assert await snapshot(number) == before
    assert await Recusal.count() == 0
    assert await LegalHold.count() == 0 and await IdentityReveal.count() == 0


async def test_an_investigator_sees_only_assigned_cases(client, ctx):
    await make_officer(ctx, "tina", ["triage"])
    ivan_id = await make_officer(ctx, "ivan", ["investigator"])
    assigned, _ = await file_report(ctx, location="Loket Satu")
    other, _ = await file_report(ctx, location="Loket Dua")
    await service.assign(await as_officer(ctx, "tina"), assigned, ivan_id)

    await logged_in(client, ctx, "ivan")
    inbox = await client.get("/officer")
    assert inbox.status_code == 200
    assert assigned in inbox.text and other not in inbox.text
    assert (await client.get(f"/officer/cases/{assigned}")).status_code == 200
    refused = await client.get(f"/officer/cases/{other}")
    assert refused.status_code == 404 and "Loket Dua" not in refused.text
    # Not a triage officer: no assigning, granting, or triage forms; triage routes refused.
    page = await client.get(f"/officer/cases/{assigned}")
    assert "/assign" not in page.text and "/grant" not in page.text and "/triage" not in page.text
    before = await snapshot(assigned)
    response = await post_case(client, assigned, "triage", {"priority": "urgent"})
    assert response.status_code == 403
    assert (await snapshot(assigned))["report"] == before["report"]


async def test_assigning_wraps_the_key_and_unassigning_removes_it(client, ctx):
    await make_officer(ctx, "tina", ["triage"])
    ivan_id = await make_officer(ctx, "ivan", ["investigator"])
    number, _ = await file_report(ctx)
    await logged_in(client, ctx, "tina")
    response = await post_case(client, number, "assign", {"officer_id": str(ivan_id)})
    assert response.status_code == 200
    assert ivan_id in await _wrap_holders(number)
    ivan = await as_officer(ctx, "ivan")
    view = await service.open_case(ctx, ivan, number)
    assert view.report.description == SECRET and view.is_assigned
    assert [item.name for item in view.transitions] == []  # received: triage's move first

    response = await post_case(client, number, "unassign", {"officer_id": str(ivan_id)})
    assert response.status_code == 200
    assert ivan_id not in await _wrap_holders(number)
    with pytest.raises(PermissionDenied):
        await service.open_case(ctx, ivan, number)
    actions_logged = [
        row["action"] for row in await AuditEntry.select(AuditEntry.action).order_by(AuditEntry.seq)
    ]
    assert actions.CASE_ASSIGNED in actions_logged and actions.CASE_UNASSIGNED in actions_logged


async def test_granting_and_revoking_another_triage_officer(ctx):
    await make_officer(ctx, "tina", ["triage"])
    number, _ = await file_report(ctx)
    # Created after the report: intake did not seal it for him.
    tom_id = await make_officer(ctx, "tom", ["triage"])
    ivan_id = await make_officer(ctx, "ivan", ["investigator"])
    tina, tom = await as_officer(ctx, "tina"), await as_officer(ctx, "tom")
    with pytest.raises(PermissionDenied):
        await service.open_case(ctx, tom, number)
    # Investigators are assigned, not granted.
    with pytest.raises(Conflict):
        await service.grant_access(tina, number, ivan_id)
    await service.grant_access(tina, number, tom_id)
    assert (await service.open_case(ctx, tom, number)).report.description == SECRET
    with pytest.raises(Conflict):
        await service.grant_access(tina, number, tom_id)  # already holds it
    with pytest.raises(Conflict):
        await service.revoke_access(tina, number, tina.id)  # recuse instead
    await service.revoke_access(tina, number, tom_id)
    with pytest.raises(PermissionDenied):
        await service.open_case(ctx, tom, number)
    logged = {
        row["action"]: json.loads(row["details"])
        for row in await AuditEntry.select(AuditEntry.action, AuditEntry.details)
    }
    assert logged[actions.CASE_ACCESS_GRANTED] == {"officer": "tom"}
    assert logged[actions.CASE_ACCESS_REVOKED]["officer"] == "tom"


async def test_admin_and_auditor_never_reach_inbox_or_case(client, ctx):
    await make_officer(ctx, "tina", ["triage"])
    await make_officer(ctx, "adam", ["admin"])
    await make_officer(ctx, "audi", ["auditor"])
    number, _ = await file_report(ctx)
    for username in ("adam", "audi"):
        client.cookies.clear()
        await logged_in(client, ctx, username)
        # /officer sends them on to their own start page, never the inbox.
        start = await client.get("/officer")
        assert start.status_code == 200 and start.url.path != "/officer", username
        assert SECRET not in start.text
        response = await client.get(f"/officer/cases/{number}")
        assert response.status_code == 403, username
        assert SECRET not in response.text


async def test_anonymous_is_sent_to_the_login_page(client, ctx):
    number, _ = await file_report(ctx)
    for path in ("/officer", f"/officer/cases/{number}"):
        response = await client.get(path, follow_redirects=False)
        assert response.status_code == 303
        assert response.headers["location"].startswith("/officer/login?next=")
    response = await client.post(
        f"/officer/cases/{number}/transition",
        data={"transition": "verify", "reason": "x"},
        follow_redirects=False,
    )
    assert response.status_code in (303, 403)
    assert (await Report.select(Report.status).first())["status"] == "received"


async def test_an_unknown_case_is_404(client, ctx):
    await make_officer(ctx, "tina", ["triage"])
    await logged_in(client, ctx, "tina")
    assert (await client.get("/officer/cases/2099-9999")).status_code == 404


async def test_triage_sets_priority_and_retaliation_risk(client, ctx):
    await make_officer(ctx, "tina", ["triage"])
    number, _ = await file_report(ctx)
    await logged_in(client, ctx, "tina")
    response = await post_case(
        client, number, "triage", {"priority": "urgent", "retaliation_risk": "on"}
    )
    assert response.status_code == 200
    row = await Report.select().where(Report.case_number == number).first()
    assert row["priority"] == "urgent" and row["retaliation_risk"] is True
    entry = await AuditEntry.select().where(AuditEntry.action == actions.CASE_TRIAGED).first()
    assert json.loads(entry["details"])["priority"] == {"from": "normal", "to": "urgent"}
    before = await snapshot(number)
    response = await post_case(client, number, "triage", {"priority": "extreme"})
    assert response.status_code == 422
    after = await snapshot(number)
    assert after["report"] == before["report"]


async def test_notes_are_encrypted_and_shown_only_to_officers(client, ctx):
    await make_officer(ctx, "tina", ["triage"])
    number, _ = await file_report(ctx)
    await logged_in(client, ctx, "tina")
    text = "Cek rekaman CCTV loket tanggal 20"
    response = await post_case(client, number, "notes", {"body": text})
    assert response.status_code == 200 and text in response.text
    from whistle.db.tables import CaseNote

    note = await CaseNote.select().first()
    assert text.encode() not in note["body"]
    assert "CCTV" not in await _audit_details()
    empty = await post_case(client, number, "notes", {"body": ""})
    assert empty.status_code == 422 and await CaseNote.count() == 1


async def test_a_disabled_officer_cannot_be_assigned(ctx):
    await make_officer(ctx, "tina", ["triage"])
    ivan_id = await make_officer(ctx, "ivan", ["investigator"])
    await Officer.update({Officer.active: False}).where(Officer.id == ivan_id)
    number, _ = await file_report(ctx)
    with pytest.raises(Conflict):
        await service.assign(await as_officer(ctx, "tina"), number, ivan_id)
    assert await CaseAssignment.count() == 0

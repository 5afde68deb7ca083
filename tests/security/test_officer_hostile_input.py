"""Hostile values on the officer side get a clear 4xx (a refused form comes back on its page),
never a 500, on SQLite and PostgreSQL: the red team's examples, each a named regression."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx

from tests.support.cases import as_officer, file_report, post_case, snapshot
from tests.support.forms import csrf_token, post_form
from tests.support.officers import logged_in, make_officer, roles_of_user
from whistle.audit import actions
from whistle.cases import service as cases
from whistle.db.tables import AuditEntry, CaseNote, Officer, WebSession

UNICODE_DIGIT = "²"
HUGE_NUMBERS = [str(2**64), "9" * 5000]
CONTROL_MESSAGE = "Isian ini memuat karakter yang tidak diizinkan."


async def _case_with_triage(ctx) -> tuple[str, dict[str, int]]:
    ids = {
        "triage": await make_officer(ctx, "triage", ["triage"]),
        "investigator": await make_officer(ctx, "investigator", ["investigator"]),
    }
    number, _ = await file_report(ctx)
    return number, ids


async def _unchanged(number: str) -> dict:
    """What a refused form must leave as it was (opening the page to post is audited)."""
    state = await snapshot(number)
    state["audit"] = await AuditEntry.count().where(AuditEntry.action != actions.CASE_OPENED)
    return state


def _client_error(response: httpx.Response) -> bool:
    return 400 <= response.status_code < 500


async def test_inbox_page_and_assignee_out_of_range_are_refused(client, ctx):
    await make_officer(ctx, "triage", ["triage"])
    await logged_in(client, ctx, "triage")
    for name in ("page", "assignee"):
        for value in [UNICODE_DIGIT, *HUGE_NUMBERS]:
            response = await client.get("/officer", params={name: value})
            assert _client_error(response), (name, value[:20], response.status_code)
    # In range, the inbox still opens (an unknown assignee simply matches nobody).
    assert (await client.get("/officer", params={"page": "2", "assignee": "2147483647"})).is_success


async def test_audit_cursors_beyond_64_bits_are_refused(client, ctx):
    await make_officer(ctx, "auditor", ["auditor"])
    await logged_in(client, ctx, "auditor")
    for name in ("before", "after"):
        for value in [str(2**63), str(2**64), UNICODE_DIGIT, "9" * 5000]:
            response = await client.get("/officer/audit", params={name: value})
            assert _client_error(response), (name, value[:20], response.status_code)


async def test_audit_dates_outside_the_supported_years_come_back_on_the_form(client, ctx):
    await make_officer(ctx, "auditor", ["auditor"])
    await logged_in(client, ctx, "auditor")
    for field in ("date_from", "date_to"):
        for day in ("0001-01-01", "9999-12-31"):
            response = await client.get("/officer/audit", params={field: day})
            assert response.status_code == 422, (field, day, response.status_code)
            assert "Tanggal tidak valid" in response.text
            assert f'value="{day}"' in response.text  # what was typed is kept
            export = await client.get("/officer/audit/export.csv", params={field: day})
            assert export.status_code == 422
    assert await AuditEntry.count().where(AuditEntry.action == "audit.exported") == 0


async def test_audit_filter_with_nul_comes_back_on_the_form(client, ctx):
    await make_officer(ctx, "auditor", ["auditor"])
    await logged_in(client, ctx, "auditor")
    for field in ("actor", "case", "action"):
        response = await client.get("/officer/audit", params={field: "a\x00b"})
        assert response.status_code == 422, (field, response.status_code)
        assert CONTROL_MESSAGE in response.text


async def test_admin_officer_id_beyond_the_integer_range_is_refused(client, ctx):
    await make_officer(ctx, "admin", ["admin"])
    await logged_in(client, ctx, "admin")
    for value in [str(2**31), str(2**64), "9" * 5000, UNICODE_DIGIT]:
        response = await client.get(f"/officer/admin/officers/{value}")
        assert _client_error(response), (value[:20], response.status_code)
        response = await post_form(
            client,
            f"/officer/admin/officers/{value}/disable",
            {},
            form_page="/officer/admin/officers",
        )
        assert _client_error(response), (value[:20], response.status_code)


async def test_colleague_officer_id_out_of_range_comes_back_on_the_case_page(client, ctx):
    number, _ = await _case_with_triage(ctx)
    await logged_in(client, ctx, "triage")
    before = await _unchanged(number)
    for action in ("assign", "unassign", "grant", "revoke"):
        for value in [str(2**31), str(2**64), "9" * 5000, UNICODE_DIGIT, "-1"]:
            response = await post_case(client, number, action, {"officer_id": value})
            assert response.status_code == 422, (action, value[:20], response.status_code)
            if action == "assign":  # the one form of these with a visible field here
                assert "Pilih petugas dari daftar." in response.text
    assert await _unchanged(number) == before


async def test_unknown_colleague_action_is_refused(client, ctx):
    number, _ = await _case_with_triage(ctx)
    await logged_in(client, ctx, "triage")
    response = await post_case(client, number, "promote", {"officer_id": "1"})
    assert response.status_code == 400


async def test_nul_in_case_forms_comes_back_with_the_text_kept(client, ctx):
    number, _ = await _case_with_triage(ctx)
    # In verification, so that the referral form (the one plain-text field) is on the page.
    triage = await as_officer(ctx, "triage")
    await cases.apply_transition(ctx, triage, number, "verify", reason="Diperiksa")
    await logged_in(client, ctx, "triage")
    before = await _unchanged(number)
    forms = [
        ("notes", {"body": "Catatan dengan\x00nol"}, "Catatan dengannol"),
        ("recuse", {"recusal_reason": "Saudara\x00pelapor"}, "Saudarapelapor"),
        (
            "transition",
            {"transition": "investigate", "reason": "Alasan\x00ini", "referred_to": ""},
            "Alasanini",
        ),
        (
            "transition",
            {"transition": "refer", "reason": "Dilimpahkan", "referred_to": "KPK\x00"},
            "KPK",
        ),
        ("triage", {"priority": "high\x00"}, None),
    ]
    for action, data, kept in forms:
        response = await post_case(client, number, action, data)
        assert response.status_code == 422, (action, response.status_code)
        assert CONTROL_MESSAGE in response.text, action
        if kept:
            assert kept in response.text, action
    assert await _unchanged(number) == before
    assert await CaseNote.count() == 0


async def test_nul_in_the_login_username_is_refused_on_the_login_page(client, ctx):
    await make_officer(ctx, "admin", ["admin"])
    token = await csrf_token(client, "/officer/login")
    for username in ("ad\x00min", "admin\x01"):
        response = await client.post(
            "/officer/login",
            data={"username": username, "password": "x", "_csrf_token": token},
        )
        assert response.status_code == 422, (username, response.status_code)
        assert CONTROL_MESSAGE in response.text
        assert 'name="username"' in response.text


async def test_nul_in_officer_account_and_admin_forms_is_refused(client, ctx):
    await make_officer(ctx, "admin", ["admin"])
    target = await make_officer(ctx, "target", ["investigator"])
    await logged_in(client, ctx, "admin")
    forms = [
        ("/officer/password", "/officer/password", {"current_password": "a\x00b"}),
        (
            "/officer/admin/officers/new",
            "/officer/admin/officers/new",
            {"username": "baru", "display_name": "Nama\x00", "password": "x", "roles": "triage"},
        ),
        (
            f"/officer/admin/officers/{target}/roles",
            f"/officer/admin/officers/{target}",
            {"roles": "triage\x00"},
        ),
        (
            f"/officer/admin/officers/{target}/reset-password",
            f"/officer/admin/officers/{target}",
            {"password": "a\x00" * 8},
        ),
        ("/officer/admin/settings", "/officer/admin/officers", {"require_totp": "on\x00"}),
    ]
    for path, page, data in forms:
        response = await post_form(client, path, data, form_page=page)
        assert response.status_code == 422, (path, response.status_code)
    assert await Officer.count() == 2
    assert await roles_of_user("target") == "investigator"


async def test_a_refused_new_officer_form_keeps_what_was_typed(client, ctx):
    await make_officer(ctx, "admin", ["admin"])
    await logged_in(client, ctx, "admin")
    response = await post_form(
        client,
        "/officer/admin/officers/new",
        {"username": "x" * 300, "display_name": "Nama Baru", "roles": ["triage", "investigator"]},
        form_page="/officer/admin/officers/new",
    )
    assert response.status_code == 422
    assert "Isian ini terlalu panjang." in response.text
    assert 'value="Nama Baru"' in response.text
    assert response.text.count("checked") == 2


async def test_logout_with_an_expired_session_still_ends_it(client, ctx):
    # Logout is outside the router's authentication: an expired session must not loop to login.
    await make_officer(ctx, "admin", ["admin"])
    await logged_in(client, ctx, "admin")
    token = await csrf_token(client, "/officer/login")
    past = datetime.now(UTC) - timedelta(minutes=1)
    await WebSession.update({WebSession.expires_at: past}).where(WebSession.kind == "officer")
    response = await client.post(
        "/officer/logout", data={"_csrf_token": token}, follow_redirects=False
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/officer/login"
    assert 'whistle_officer=""' in response.headers["set-cookie"]
    assert await WebSession.count() == 0

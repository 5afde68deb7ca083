"""The officer's own account: forced password change keeping access, TOTP enrolment and removal,
and the administrator's two-factor requirement."""

from __future__ import annotations

import base64
import re

import httpx

from tests.integration.test_officers_login import audit_rows, login, session_cookie
from tests.support.forms import VALID_REPORT, csrf_token, submit_report_form
from tests.support.officers import DEFAULT_PASSWORD, logged_in, make_officer
from whistle.crypto import associated_data, unprotect_private_key, unseal
from whistle.db.tables import Officer, Report, ReportKey, WebSession
from whistle.officers import policy, totp
from whistle.officers.auth import OFFICER_COOKIE
from whistle.officers.service import key_binding
from whistle.reports.envelope import HOLDER_OFFICER, holder_tag, key_purpose, open_content

NEW_PASSWORD = "quiet river under the old bridge"
SECRET_TEXT = re.compile(r'id="totp-secret"[^>]*>([A-Z2-7 ]+)<')


async def post(client: httpx.AsyncClient, path: str, data: dict, form_page: str) -> httpx.Response:
    token = await csrf_token(client, form_page)
    return await client.post(path, data={**data, "_csrf_token": token}, follow_redirects=False)


async def read_report_as(officer_id: int, private_key: bytes) -> dict:
    """Open the officer's wrap with their private key and decrypt the report content."""
    wrap = (
        await ReportKey.objects()
        .where(
            (ReportKey.holder == HOLDER_OFFICER) & (ReportKey.holder_tag == holder_tag(officer_id))
        )
        .first()
    )
    assert wrap is not None, "no key wrapped for this officer"
    rid = str(wrap.report)
    data_key = unseal(
        private_key, wrap.wrapped, associated_data(rid, key_purpose(HOLDER_OFFICER, officer_id))
    )
    report = await Report.objects().where(Report.id == wrap.report).first()
    return open_content(report.id, data_key, report.content).to_json()


async def test_forced_password_change_keeps_access_to_sealed_reports(client, ctx):
    officer_id = await make_officer(ctx, "siti", ["triage"])
    await Officer.update({Officer.must_change_password: True}).where(Officer.id == officer_id)
    await submit_report_form(client)
    before = await Officer.objects().where(Officer.id == officer_id).first()

    landed = await login(client, "siti")
    assert landed.headers["location"] == "/officer/password"
    first_token = session_cookie(client)
    page = await client.get("/officer/password")
    assert page.status_code == 200 and "current_password" in page.text

    wrong_current = await post(
        client,
        "/officer/password",
        {
            "current_password": "wrong wrong wrong wrong",
            "new_password": NEW_PASSWORD,
            "confirm_password": NEW_PASSWORD,
        },
        "/officer/password",
    )
    assert wrong_current.status_code == 422
    assert "Kata sandi saat ini salah" in wrong_current.text
    assert NEW_PASSWORD not in wrong_current.text
    weak = await post(
        client,
        "/officer/password",
        {
            "current_password": DEFAULT_PASSWORD,
            "new_password": "siti-password-1",
            "confirm_password": "siti-password-2",
        },
        "/officer/password",
    )
    assert weak.status_code == 422
    assert "nama pengguna" in weak.text and "tidak sama" in weak.text
    unchanged = await Officer.objects().where(Officer.id == officer_id).first()
    assert unchanged.password_hash == before.password_hash
    assert unchanged.must_change_password

    changed = await post(
        client,
        "/officer/password",
        {
            "current_password": DEFAULT_PASSWORD,
            "new_password": NEW_PASSWORD,
            "confirm_password": NEW_PASSWORD,
        },
        "/officer/password",
    )
    assert changed.status_code == 303
    assert changed.headers["location"].startswith("/officer/account")
    new_token = session_cookie(client)
    assert new_token and new_token != first_token
    assert (await client.get("/officer/account", follow_redirects=False)).status_code == 200
    assert await WebSession.count().where(WebSession.officer == officer_id) == 1

    after = await Officer.objects().where(Officer.id == officer_id).first()
    assert not after.must_change_password
    assert after.public_key == before.public_key  # the same key pair, re-protected
    private_key = unprotect_private_key(
        after.private_key_protected,
        NEW_PASSWORD,
        key_binding(after.id, after.public_key),
        pepper=ctx.keyring.officer_pepper,
    )
    report = await read_report_as(officer_id, private_key)
    assert report["description"] == VALID_REPORT["description"]
    assert [row["actor"] for row in await audit_rows("officer.password_changed")] == ["siti"]

    client.cookies.clear()
    assert (await login(client, "siti", DEFAULT_PASSWORD)).status_code == 401
    assert (await login(client, "siti", NEW_PASSWORD)).status_code == 303


def secret_from(page: httpx.Response) -> bytes:
    match = SECRET_TEXT.search(page.text)
    assert match, "enrolment page shows no secret"
    text = match.group(1).replace(" ", "")
    return base64.b32decode(text + "=" * (-len(text) % 8))


async def test_totp_enrolment_login_and_disable(client, ctx):
    officer_id = await make_officer(ctx, "siti", ["triage"])
    await login(client, "siti")
    page = await client.get("/officer/account/totp")
    assert page.status_code == 200
    assert "<svg" in page.text and "<script" not in page.text
    secret = secret_from(page)
    # The same pending secret is shown again until it is confirmed or renewed.
    assert secret_from(await client.get("/officer/account/totp")) == secret
    row = await Officer.objects().where(Officer.id == officer_id).first()
    assert row.totp_pending_sealed is not None and secret not in row.totp_pending_sealed

    step = totp.current_step()
    wrong = "000000" if totp.code_for(secret, step) != "000000" else "111111"
    refused = await post(client, "/officer/account/totp", {"code": wrong}, "/officer/account/totp")
    assert refused.status_code == 422 and "Kode tidak cocok" in refused.text
    confirmed = await post(
        client,
        "/officer/account/totp",
        {"code": totp.code_for(secret, step)},
        "/officer/account/totp",
    )
    # The recovery codes are shown once, on the answer to the confirmation.
    assert confirmed.status_code == 200 and "Kode pemulihan" in confirmed.text
    assert len(re.findall(r"<li><code>[0-9A-Z]{5}-[0-9A-Z]{5}</code></li>", confirmed.text)) == 10
    row = await Officer.objects().where(Officer.id == officer_id).first()
    assert row.totp_secret_sealed is not None and row.totp_pending_sealed is None
    assert [r["actor"] for r in await audit_rows("officer.totp_enabled")] == ["siti"]
    account = await client.get("/officer/account")
    assert "Aktif" in account.text

    client.cookies.clear()
    assert (await login(client, "siti")).status_code == 401
    # The enrolment code was used; the next step's code is accepted.
    assert (await login(client, "siti", code=totp.code_for(secret, step))).status_code == 401
    assert (await login(client, "siti", code=totp.code_for(secret, step + 1))).status_code == 303

    bad = await post(
        client,
        "/officer/account/totp/disable",
        {"password": "nope nope nope"},
        "/officer/account/totp",
    )
    assert bad.status_code == 422
    # The right password alone is not enough: a current code is asked for too.
    no_code = await post(
        client,
        "/officer/account/totp/disable",
        {"password": DEFAULT_PASSWORD},
        "/officer/account/totp",
    )
    assert no_code.status_code == 422 and "Kode verifikasi salah" in no_code.text
    assert (await Officer.objects().where(Officer.id == officer_id).first()).totp_secret_sealed
    # As if the login code's step had passed: the current step's code is a fresh one.
    await Officer.update({Officer.totp_last_step: step - 1}).where(Officer.id == officer_id)
    off = await post(
        client,
        "/officer/account/totp/disable",
        {"password": DEFAULT_PASSWORD, "code": totp.code_for(secret, totp.current_step())},
        "/officer/account/totp",
    )
    assert off.status_code == 303
    row = await Officer.objects().where(Officer.id == officer_id).first()
    assert row.totp_secret_sealed is None and row.totp_last_step is None
    assert [r["actor"] for r in await audit_rows("officer.totp_disabled")] == ["siti"]


async def test_renewing_the_pending_secret_replaces_it(client, ctx):
    await make_officer(ctx, "siti", ["triage"])
    await login(client, "siti")
    first = secret_from(await client.get("/officer/account/totp"))
    renewed = await post(client, "/officer/account/totp/renew", {}, "/officer/account/totp")
    assert renewed.status_code == 303
    assert secret_from(await client.get("/officer/account/totp")) != first


async def test_required_two_factor_sends_officers_to_enrolment(client, ctx):
    await make_officer(ctx, "siti", ["triage"])
    await policy.set_totp_required(True, actor="admin")
    assert await policy.totp_required()
    await logged_in(client, ctx, "siti")
    redirected = await client.get("/officer/account", follow_redirects=False)
    assert redirected.status_code == 303
    assert redirected.headers["location"] == "/officer/account/totp"
    page = await client.get("/officer/account/totp")
    assert page.status_code == 200 and "<svg" in page.text
    secret = secret_from(page)
    await post(
        client,
        "/officer/account/totp",
        {"code": totp.code_for(secret, totp.current_step())},
        "/officer/account/totp",
    )
    assert (await client.get("/officer/account", follow_redirects=False)).status_code == 200
    refused = await post(
        client,
        "/officer/account/totp/disable",
        {"password": DEFAULT_PASSWORD},
        "/officer/account/totp",
    )
    assert refused.status_code == 409
    assert "diwajibkan" in refused.text
    assert (await Officer.objects().where(Officer.username == "siti").first()).totp_secret_sealed
    changes = await audit_rows("settings.changed")
    assert [r["details"] for r in changes] == [{"setting": "require_totp", "value": True}]


async def test_session_cookie_is_scoped_to_officer_pages(client, ctx):
    await make_officer(ctx, "siti", ["triage"])
    response = await login(client, "siti")
    assert f"{OFFICER_COOKIE}=" in response.headers["set-cookie"]
    assert "Path=/officer" in response.headers["set-cookie"]

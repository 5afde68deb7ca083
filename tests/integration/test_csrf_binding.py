"""CSRF tokens are bound to the session, and officer requests that change state must come from
this site (issue 14: tokens were not bound to the session and Origin was not checked)."""

from __future__ import annotations

import pytest

from tests.integration.test_officers_login import login
from tests.support.forms import csrf_token, post_form
from tests.support.officers import make_officer, session_for
from whistle.db.tables import AuditEntry, WebSession
from whistle.officers.auth import OFFICER_COOKIE

ORIGIN = "https://testserver.local"
CSRF_REFUSAL = "token keamanan"
CROSS_SITE_REFUSAL = "dikirim dari situs lain"


async def _logout(client, token: str, **headers: str):
    return await client.post(
        "/officer/logout", data={"_csrf_token": token}, headers=headers, follow_redirects=False
    )


async def test_a_csrf_token_from_another_session_is_refused(client, ctx):
    await make_officer(ctx, "tina", ["triage"])
    await make_officer(ctx, "tom", ["triage"])
    tina_token = await session_for(ctx, "tina")
    client.cookies.set(OFFICER_COOKIE, tina_token, domain="testserver.local")
    tinas_form_token = await csrf_token(client, "/officer/account")

    # Same browser, same CSRF cookie, another officer's session: tina's token is worthless.
    client.cookies.set(OFFICER_COOKIE, await session_for(ctx, "tom"), domain="testserver.local")
    refused = await _logout(client, tinas_form_token)
    assert refused.status_code == 403 and CSRF_REFUSAL in refused.text
    assert await WebSession.count() == 2
    toms_form_token = await csrf_token(client, "/officer/account")
    assert toms_form_token != tinas_form_token
    assert (await _logout(client, toms_form_token)).status_code == 303


async def test_signing_in_retires_the_tokens_issued_before(client, ctx):
    await make_officer(ctx, "tina", ["triage"])
    before_login = await csrf_token(client, "/officer/login")
    assert (await login(client, "tina")).status_code == 303
    refused = await _logout(client, before_login)
    assert refused.status_code == 403
    assert await AuditEntry.count().where(AuditEntry.action == "officer.logout") == 0


async def test_a_reporter_without_a_session_still_files_the_report_form(client):
    response = await post_form(
        client, "/report", {"category": "pungli", "description": "Diminta uang tambahan."}
    )
    assert response.status_code in (200, 201, 422)
    assert response.status_code != 403


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "https://evil.example"},
        {"Origin": "null"},
        {"Origin": "http://testserver.local"},  # downgraded to plain http
        {"Origin": "https://testserver.local.evil.example"},
        {"Referer": "https://evil.example/page"},
    ],
)
async def test_a_cross_origin_officer_post_is_refused_even_with_a_valid_token(client, ctx, headers):
    await make_officer(ctx, "tina", ["triage"])
    client.cookies.set(OFFICER_COOKIE, await session_for(ctx, "tina"), domain="testserver.local")
    token = await csrf_token(client, "/officer/account")
    refused = await _logout(client, token, **headers)
    assert refused.status_code == 403
    assert refused.headers["content-type"].startswith("text/html")
    assert CROSS_SITE_REFUSAL in refused.text
    assert await WebSession.count() == 1, "the officer was logged out"
    # The same token from this site's own page is accepted.
    assert (await _logout(client, token, Origin=ORIGIN)).status_code == 303
    assert await WebSession.count() == 0


async def test_a_cross_origin_login_is_refused(client, ctx):
    await make_officer(ctx, "tina", ["triage"])
    token = await csrf_token(client, "/officer/login")
    refused = await client.post(
        "/officer/login",
        data={"username": "tina", "password": "x", "_csrf_token": token},
        headers={"Origin": "https://evil.example"},
    )
    assert refused.status_code == 403 and CROSS_SITE_REFUSAL in refused.text
    attempts = AuditEntry.action.is_in(["officer.login", "officer.login_failed"])
    assert await AuditEntry.count().where(attempts) == 0


async def test_officer_pages_let_browsers_send_their_origin(client):
    # Under no-referrer, browsers send "Origin: null" on same-site form posts.
    page = await client.get("/officer/login")
    assert page.headers["referrer-policy"] == "same-origin"
    assert '<meta name="referrer" content="same-origin">' in page.text  # the meta tag wins
    public = await client.get("/report")
    assert public.headers["referrer-policy"] == "no-referrer"
    assert '<meta name="referrer" content="no-referrer">' in public.text

"""Reporter and officer session tokens are not interchangeable on any route, and every cookie
carries Secure outside development (issue 14: `DELETE /api/v1/session` with an officer's token
logged that officer out; the `lang` cookie lacked Secure)."""

from __future__ import annotations

import httpx

from tests.integration.test_officers_login import login
from tests.support.forms import VALID_REPORT, csrf_token, post_form
from tests.support.officers import make_officer, session_for
from whistle.db.tables import WebSession
from whistle.intake.routes import REPORTER_COOKIE
from whistle.officers.auth import OFFICER_COOKIE


async def _reporter_token(client: httpx.AsyncClient) -> str:
    code = (await client.post("/api/v1/reports", json=VALID_REPORT)).json()["tracking_code"]
    return (await client.post("/api/v1/session", json={"tracking_code": code})).json()["token"]


async def _officer_is_logged_in(client: httpx.AsyncClient, token: str) -> bool:
    client.cookies.clear()
    client.cookies.set(OFFICER_COOKIE, token, domain="testserver.local")
    response = await client.get("/officer/account", follow_redirects=False)
    return response.status_code == 200


async def _reporter_is_in(client: httpx.AsyncClient, token: str) -> bool:
    response = await client.get("/api/v1/report", headers={"Authorization": f"Bearer {token}"})
    return response.status_code == 200


async def test_an_officer_token_cannot_end_or_open_a_reporter_session_route(client, ctx):
    await make_officer(ctx, "tina", ["triage"])
    officer_token = await session_for(ctx, "tina")
    bearer = {"Authorization": f"Bearer {officer_token}"}

    ended = await client.delete("/api/v1/session", headers=bearer)
    assert ended.status_code in (204, 401)
    assert await _officer_is_logged_in(client, officer_token), "the officer was logged out"
    assert (await client.get("/api/v1/report", headers=bearer)).status_code == 401

    # The reporter's HTML routes read the reporter cookie: an officer token there is nobody.
    client.cookies.set(REPORTER_COOKIE, officer_token, domain="testserver.local")
    page = await client.get("/track/report", follow_redirects=False)
    assert page.status_code in (302, 303)
    token = await csrf_token(client, "/track")
    await client.post("/track/logout", data={"_csrf_token": token})
    assert await _officer_is_logged_in(client, officer_token)


async def test_a_reporter_token_cannot_end_or_open_an_officer_session(client, ctx):
    await make_officer(ctx, "tina", ["triage"])
    reporter_token = await _reporter_token(client)

    client.cookies.set(OFFICER_COOKIE, reporter_token, domain="testserver.local")
    refused = await client.get("/officer/account")
    assert refused.url.path == "/officer/login"
    token = await csrf_token(client, "/officer/login")
    await client.post("/officer/logout", data={"_csrf_token": token})
    assert await _reporter_is_in(client, reporter_token), "an officer route ended it"

    # Logging in on a browser that carries a reporter token where the officer cookie goes.
    client.cookies.set(OFFICER_COOKIE, reporter_token, domain="testserver.local")
    assert (await login(client, "tina")).status_code == 303
    assert await _reporter_is_in(client, reporter_token)
    assert await WebSession.count().where(WebSession.kind == "reporter") == 1


async def test_ending_a_session_with_its_own_kind_still_works(client, ctx):
    reporter_token = await _reporter_token(client)
    bearer = {"Authorization": f"Bearer {reporter_token}"}
    assert (await client.delete("/api/v1/session", headers=bearer)).status_code == 204
    assert not await _reporter_is_in(client, reporter_token)


def _set_cookies(response: httpx.Response) -> list[str]:
    cookies = response.headers.get_list("set-cookie")
    for earlier in response.history:
        cookies += earlier.headers.get_list("set-cookie")
    return cookies


async def test_every_cookie_carries_secure_outside_development(client, ctx):
    await make_officer(ctx, "tina", ["triage"])
    seen: list[str] = []
    seen += _set_cookies(await client.get("/report"))  # CSRF cookie
    seen += _set_cookies(await client.get("/bahasa", params={"lang": "en", "next": "/"}))
    code = (await client.post("/api/v1/reports", json=VALID_REPORT)).json()["tracking_code"]
    seen += _set_cookies(await post_form(client, "/track", {"tracking_code": code}))
    seen += _set_cookies(await login(client, "tina"))
    token = await csrf_token(client, "/officer/account")
    seen += _set_cookies(await client.post("/officer/logout", data={"_csrf_token": token}))
    names = {cookie.split("=", 1)[0] for cookie in seen}
    assert {"lang", "whistle_csrf", REPORTER_COOKIE, OFFICER_COOKIE} <= names
    for cookie in seen:
        attributes = [part.strip().lower() for part in cookie.split(";")[1:]]
        assert "secure" in attributes, cookie.split("=", 1)[0]
        assert "httponly" in attributes and "samesite=strict" in attributes

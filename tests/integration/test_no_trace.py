"""A visitor who only reads leaves no trace: no cookie from any public page until a form is used.

The tracking form works without a CSRF cookie: its POST is refused when the browser says it
came from another site (Fetch metadata or Origin), and its token is signed and expires.
"""

from __future__ import annotations

from tests.support.cases import file_report
from tests.support.forms import CSRF_FIELD, post_form
from whistle.transparency.content import PAGES

READING_PAGES = [
    "/",
    "/track",
    "/track?expired=true",
    "/transparency",
    "/informasi",
    *[f"/informasi/{slug}" for slug in PAGES],
]


async def test_reading_a_public_page_sets_no_cookie(client):
    for path in READING_PAGES:
        response = await client.get(path)
        assert response.status_code == 200, path
        assert "set-cookie" not in response.headers, f"{path} sets {response.headers['set-cookie']}"
    assert not client.cookies, "nothing was stored in the visitor's browser"


async def test_the_report_form_still_sets_its_csrf_cookie(client):
    # The one public page with a form that needs the double-submit cookie.
    response = await client.get("/report")
    assert "whistle_csrf=" in response.headers["set-cookie"]


async def test_tracking_works_without_any_cookie_from_the_form(client, ctx):
    _, code = await file_report(ctx)
    page = await post_form(client, "/track", {"tracking_code": code})
    assert page.url.path == "/track/report"
    opened = page.history[0]
    # Using the form sets the reporter's session cookie and nothing else.
    assert opened.headers.get_list("set-cookie")[0].startswith("whistle_reporter=")
    assert len(opened.headers.get_list("set-cookie")) == 1


async def test_tracking_refuses_a_post_from_another_site(client, ctx):
    _, code = await file_report(ctx)
    token = CSRF_FIELD.search((await client.get("/track")).text).group(1)
    form = {"tracking_code": code, "_csrf_token": token}
    for headers in (
        {"sec-fetch-site": "cross-site"},
        {"sec-fetch-site": "same-site"},
        {"origin": "https://evil.example"},
        {"origin": "null"},
    ):
        refused = await client.post("/track", data=form, headers=headers)
        assert refused.status_code == 403, headers
        assert "whistle_reporter" not in client.cookies
    # The browser's own same-origin post (Chromium sends Origin: null under no-referrer).
    accepted = await client.post(
        "/track", data=form, headers={"sec-fetch-site": "same-origin", "origin": "null"}
    )
    assert accepted.url.path == "/track/report"


async def test_tracking_refuses_a_missing_or_forged_form_token(client, ctx):
    _, code = await file_report(ctx)
    token = CSRF_FIELD.search((await client.get("/track")).text).group(1)
    for bad in ("", "x", token[:-2] + ("00" if not token.endswith("00") else "11")):
        refused = await client.post("/track", data={"tracking_code": code, "_csrf_token": bad})
        assert refused.status_code == 403, bad

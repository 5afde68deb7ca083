"""Walk every page under strict templates: each renders, and every link and form on it leads to
a route of the app that answers that method."""

from __future__ import annotations

import html
import re
from urllib.parse import urlsplit

from tests.support.cases import as_officer, file_report
from tests.support.forms import CODE, VALID_REPORT, post_form
from tests.support.officers import logged_in, make_officer
from whistle.app import create_app
from whistle.cases import service

LINK = re.compile(r'<(a|link)\b[^>]*\bhref="([^"]*)"')
FORM = re.compile(r'<form\b[^>]*\bmethod="(get|post)"[^>]*\baction="([^"]*)"', re.IGNORECASE)


def _route_patterns(settings) -> list[tuple[re.Pattern[str], set[str]]]:
    """Each route of the app as a regular expression over paths, with its methods."""
    patterns = []
    for route in create_app(settings).routes:
        regex = re.sub(
            r"\\\{(\w+):(\w+)\\\}",
            lambda match: ".*" if match[2] == "path" else "[^/]+",
            re.escape(route.path),
        )
        patterns.append((re.compile(f"^{regex}/?$"), set(getattr(route, "methods", set()))))
    return patterns


def _targets(page: str) -> list[tuple[str, str]]:
    """(method, path) of every internal link and form on the page."""
    found = [("GET", href) for _, href in LINK.findall(page)]
    found += [(method.upper(), action) for method, action in FORM.findall(page)]
    return [
        (method, urlsplit(html.unescape(url)).path)
        for method, url in found
        if url.startswith("/") and not url.startswith("//")
    ]


def _assert_targets_exist(patterns, url: str, page: str) -> int:
    targets = _targets(page)
    for method, path in targets:
        assert any(regex.match(path) and method in methods for regex, methods in patterns), (
            f"{url}: {method} {path} is no route"
        )
    return len(targets)


async def test_every_page_renders_and_links_only_to_routes(client, ctx, settings):
    patterns = _route_patterns(settings)
    await make_officer(ctx, "tina", ["triage", "admin", "auditor"])
    await make_officer(ctx, "tom", ["triage"])
    ivan_id = await make_officer(ctx, "ivan", ["investigator"])
    number, _ = await file_report(ctx)
    await service.assign(await as_officer(ctx, "tina"), number, ivan_id)
    # Made after the report: neither holds its key nor is assigned, so both forms are offered.
    await make_officer(ctx, "ida", ["investigator"])
    await make_officer(ctx, "tara", ["triage"])

    checked = 0
    public_pages = ["/", "/report", "/track", "/track?expired=true", "/no-such-page"]
    for url in public_pages:
        response = await client.get(url)
        assert response.status_code == (404 if url == "/no-such-page" else 200), url
        checked += _assert_targets_exist(patterns, url, response.text)

    receipt = await post_form(client, "/report", VALID_REPORT)
    checked += _assert_targets_exist(patterns, "receipt", receipt.text)
    refused = await post_form(client, "/track", {"tracking_code": "0000-0000-0000-0000"})
    assert refused.status_code == 401
    checked += _assert_targets_exist(patterns, "refused code", refused.text)
    code = CODE.search(receipt.text).group(1)
    tracked = await post_form(client, "/track", {"tracking_code": code})
    assert tracked.status_code == 200 and str(tracked.url).endswith("/track/report")
    checked += _assert_targets_exist(patterns, "/track/report", tracked.text)

    login = await client.get("/officer/login")
    assert login.status_code == 200
    checked += _assert_targets_exist(patterns, "/officer/login", login.text)

    await logged_in(client, ctx, "tina")
    tina_id = (await as_officer(ctx, "tina")).id
    officer_pages = [
        "/officer",
        "/officer?status=open&page=1",
        f"/officer/cases/{number}",
        "/officer/audit",
        "/officer/audit?date_from=not-a-date",
        "/officer/admin/officers",
        "/officer/admin/officers/new",
        f"/officer/admin/officers/{tina_id}",
        f"/officer/admin/officers/{ivan_id}",
        "/officer/account",
        "/officer/password",
        "/officer/account/totp",
    ]
    for url in officer_pages:
        response = await client.get(url)
        assert response.status_code in (200, 422), url
        checked += _assert_targets_exist(patterns, url, response.text)
    case_page = (await client.get(f"/officer/cases/{number}")).text
    for action in ("assign", "unassign", "grant", "revoke", "transition", "triage", "notes"):
        assert f'action="/officer/cases/{number}/{action}"' in case_page, action
    assert 'href="/static/whistle.css"' in case_page
    assert checked > 100

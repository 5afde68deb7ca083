"""Every officer route, for every role and for an anonymous client: each gets exactly what it
should, and report content appears only where a key is wrapped for that officer.

The table below is the specification. The test enumerates the application's routes, so a new
officer route without a row here fails the suite."""

from __future__ import annotations

import httpx
import pytest

from tests.support.cases import as_officer, attach_text_file, file_report
from tests.support.forms import VALID_REPORT, csrf_token
from tests.support.holders import officer_ids_of
from tests.support.officers import make_officer, session_for
from whistle.cases import service as cases
from whistle.cases.schemas import ColleagueAction
from whistle.db.tables import ReportKey
from whistle.officers import admin
from whistle.officers.auth import OFFICER_COOKIE

ROLES = {
    "admin": ["admin"],
    "triage": ["triage"],
    "triage.excluded": ["triage"],  # the reporter excluded this officer
    "investigator": ["investigator"],  # assigned to the case
    "investigator.other": ["investigator"],  # not assigned
    "auditor": ["auditor"],
}
PRINCIPALS = ["anonymous", *ROLES]
OFFICERS = list(ROLES)
CASE_READERS = {"triage", "investigator"}

# Outcomes: "ok" page served, "login" sent to the login page, "403" refused,
# "done" accepted for processing (the empty form may then be refused as invalid: 409/422),
# "404" a case the officer holds no key for, answered exactly as a missing one.
EVERY_OFFICER = dict.fromkeys(OFFICERS, "ok")
ADMIN_ONLY = {**dict.fromkeys(OFFICERS, "403"), "admin": "ok"}
AUDITOR_ONLY = {**dict.fromkeys(OFFICERS, "403"), "auditor": "ok"}
AUDIT_READERS = {**dict.fromkeys(OFFICERS, "403"), "admin": "ok", "auditor": "ok"}
CASE_WORKERS = {
    **dict.fromkeys(OFFICERS, "403"),
    **dict.fromkeys(["triage", "triage.excluded", "investigator", "investigator.other"], "ok"),
}
NO_KEY = dict.fromkeys(["triage.excluded", "investigator.other"], "404")
CASE_PAGE = {**dict.fromkeys(OFFICERS, "403"), **NO_KEY, "triage": "ok", "investigator": "ok"}
TRIAGE_ACTION = {**dict.fromkeys(OFFICERS, "403"), "triage.excluded": "404", "triage": "done"}
TRIAGE_OR_ASSIGNEE = {**TRIAGE_ACTION, **NO_KEY, "investigator": "done"}

# /officer is the inbox for case workers; every other role is sent on to its own start page.
START_PAGE = {**CASE_WORKERS, "admin": "ok", "auditor": "ok"}

GET_EXPECTED = {
    "/officer": START_PAGE,
    "/officer/start": EVERY_OFFICER,  # redirects to the role's start page
    "/officer/account": EVERY_OFFICER,
    "/officer/account/totp": EVERY_OFFICER,
    "/officer/account/recovery-codes": EVERY_OFFICER,
    "/officer/password": EVERY_OFFICER,
    "/officer/admin/officers": ADMIN_ONLY,
    "/officer/admin/officers/new": ADMIN_ONLY,
    "/officer/admin/officers/{officer_id:int}": ADMIN_ONLY,
    "/officer/admin/officers/{officer_id:int}/reset-password": ADMIN_ONLY,
    "/officer/admin/officers/{officer_id:int}/disable": ADMIN_ONLY,
    "/officer/audit": AUDIT_READERS,
    "/officer/audit/export.csv": AUDIT_READERS,
    "/officer/cases/{number:str}": CASE_PAGE,
    # A file of the case: the same rule as the case page (no key: 404 like a missing file).
    "/officer/cases/{number:str}/files/{file_id:uuid}": CASE_PAGE,
    "/officer/statistics": AUDITOR_ONLY,
    "/officer/statistics/export.csv": AUDITOR_ONLY,
}
DONE_FOR_EVERY_OFFICER = dict.fromkeys(OFFICERS, "done")
DONE_FOR_ADMIN = {**dict.fromkeys(OFFICERS, "403"), "admin": "done"}
POST_EXPECTED = {
    "/officer/password": DONE_FOR_EVERY_OFFICER,
    "/officer/account/totp": DONE_FOR_EVERY_OFFICER,
    "/officer/account/totp/disable": DONE_FOR_EVERY_OFFICER,
    "/officer/account/totp/renew": DONE_FOR_EVERY_OFFICER,
    "/officer/account/email": DONE_FOR_EVERY_OFFICER,
    "/officer/account/recovery-codes": DONE_FOR_EVERY_OFFICER,
    "/officer/admin/officers/new": DONE_FOR_ADMIN,
    "/officer/admin/officers/{officer_id:int}/disable": DONE_FOR_ADMIN,
    "/officer/admin/officers/{officer_id:int}/enable": DONE_FOR_ADMIN,
    "/officer/admin/officers/{officer_id:int}/unlock": DONE_FOR_ADMIN,
    "/officer/admin/officers/{officer_id:int}/reset-password": DONE_FOR_ADMIN,
    "/officer/admin/officers/{officer_id:int}/roles": DONE_FOR_ADMIN,
    "/officer/admin/officers/{officer_id:int}/email": DONE_FOR_ADMIN,
    "/officer/admin/settings": DONE_FOR_ADMIN,
    # Confirm first: the requester's own confirmation is refused (409), then the reject admits.
    "/officer/admin/role-grants/{request_id:int}/confirm": DONE_FOR_ADMIN,
    "/officer/admin/role-grants/{request_id:int}/reject": DONE_FOR_ADMIN,
    "/officer/cases/{number:str}/transition": TRIAGE_OR_ASSIGNEE,
    "/officer/cases/{number:str}/notes": TRIAGE_OR_ASSIGNEE,
    "/officer/cases/{number:str}/messages": TRIAGE_OR_ASSIGNEE,
    # Revealing the reporter's identity: triage only (a second triage officer approves).
    "/officer/cases/{number:str}/identity/request": TRIAGE_ACTION,
    "/officer/cases/{number:str}/identity/decide": TRIAGE_ACTION,
    "/officer/cases/{number:str}/recuse": TRIAGE_OR_ASSIGNEE,
    # An officer's own file (a form without files is refused: 422).
    "/officer/cases/{number:str}/files": TRIAGE_OR_ASSIGNEE,
    "/officer/cases/{number:str}/triage": TRIAGE_ACTION,
    "/officer/cases/{number:str}/assign": TRIAGE_ACTION,
    "/officer/cases/{number:str}/unassign": TRIAGE_ACTION,
    "/officer/cases/{number:str}/grant": TRIAGE_ACTION,
    "/officer/cases/{number:str}/revoke": TRIAGE_ACTION,
    "/officer/cases/{number:str}/hold": TRIAGE_ACTION,
    "/officer/cases/{number:str}/hold/lift": TRIAGE_ACTION,
}
# Open to anyone by design: the login form itself, and logout (which only ends a session).
PUBLIC = {("GET", "/officer/login"), ("POST", "/officer/login"), ("POST", "/officer/logout")}


def _officer_routes(app) -> set[tuple[str, str]]:
    return {
        (method, path)
        for route in app.routes
        if route.path.startswith("/officer")
        for handler in getattr(route, "route_handlers", [])
        for method in handler.http_methods
        if method in ("GET", "POST")
        for path in _concrete_actions(route.path)
    }


def _concrete_actions(path: str) -> list[str]:
    # The colleague forms share one route whose last segment is a declared action.
    if path.endswith("/{action:str}"):
        return [path.replace("{action:str}", action.value) for action in ColleagueAction]
    return [path]


def _outcome(response: httpx.Response, requested: str) -> str:
    if response.url.path == "/officer/login" and requested != "/officer/login":
        return "login"
    if response.status_code == 403:
        return "403"
    return str(response.status_code)


async def test_every_officer_route_for_every_role(client, ctx):
    routes = _officer_routes(client._transport.app)
    tabled = {("GET", path) for path in GET_EXPECTED} | {("POST", path) for path in POST_EXPECTED}
    assert routes == tabled | PUBLIC, "every officer route needs its row in this table"

    ids = {name: await make_officer(ctx, name, roles) for name, roles in ROLES.items()}
    target = await make_officer(ctx, "target", ["investigator"])  # admin actions act on it
    number, _ = await file_report(ctx, excluded=[ids["triage.excluded"]])
    await cases.assign(await as_officer(ctx, "triage"), number, str(ids["investigator"]))
    await admin.set_roles(ctx, target, ["investigator", "triage"], actor="admin")
    [grant] = await admin.pending_grants()
    file_id = await attach_text_file(ctx, "triage", number)

    clients: dict[str, httpx.AsyncClient] = {}
    for principal in PRINCIPALS:
        clients[principal] = httpx.AsyncClient(
            transport=client._transport, base_url=str(client.base_url), follow_redirects=True
        )
        if principal != "anonymous":
            token = await session_for(ctx, principal)
            clients[principal].cookies.set(OFFICER_COOKIE, token, domain="testserver.local")

    def concrete(path: str) -> str:
        return (
            path.replace("{number:str}", number)
            .replace("{officer_id:int}", str(target))
            .replace("{request_id:int}", str(grant.id))
            .replace("{file_id:uuid}", str(file_id))
        )

    seen: list[str] = []
    for path, expected in GET_EXPECTED.items():
        for principal in PRINCIPALS:
            response = await clients[principal].get(concrete(path))
            outcome = _outcome(response, path)
            want = "login" if principal == "anonymous" else expected[principal]
            got = "ok" if outcome == "200" else outcome
            assert got == want, f"GET {path} as {principal}: {outcome}, expected {want}"
            shows_content = VALID_REPORT["description"] in response.text
            if shows_content:
                seen.append(f"{principal} {path}")
            assert not shows_content or principal in CASE_READERS, f"{principal} saw {path}"
    # The case page, and the inbox's preview (also reached through the start page), for the
    # officers holding the key; nowhere else, and never for the excluded or unassigned.
    pages = ("/officer", "/officer/start", "/officer/cases/{number:str}")
    assert sorted(seen) == sorted(f"{p} {page}" for p in CASE_READERS for page in pages)

    # Refusals first, then what is admitted (an empty form changes little or nothing).
    posts = sorted(
        ((path, principal) for path in POST_EXPECTED for principal in PRINCIPALS),
        key=lambda item: item[1] != "anonymous" and POST_EXPECTED[item[0]][item[1]] == "done",
    )
    for path, principal in posts:
        token = await csrf_token(clients[principal], "/officer/login")
        response = await clients[principal].post(concrete(path), data={"_csrf_token": token})
        outcome = _outcome(response, path)
        want = "login" if principal == "anonymous" else POST_EXPECTED[path][principal]
        if want == "done":
            assert outcome in {"200", "409", "422"}, f"POST {path} as {principal}: {outcome}"
        else:
            assert outcome == want, f"POST {path} as {principal}: {outcome}, expected {want}"
        assert VALID_REPORT["description"] not in response.text or principal in CASE_READERS

    # Cryptographically: only the readers hold a key for this case.
    holders = await officer_ids_of(await ReportKey.select(ReportKey.holder_tag))
    assert {ids[name] for name in CASE_READERS} <= holders
    assert not holders & {ids[name] for name in OFFICERS if name not in CASE_READERS}


@pytest.mark.parametrize("path", ["/officer", "/officer/audit", "/officer/admin/officers"])
async def test_stale_or_forged_session_cookies_get_the_login_page(client, path):
    client.cookies.set(OFFICER_COOKIE, "forged-token", domain="testserver.local")
    response = await client.get(path)
    assert response.url.path == "/officer/login"

"""Property: hostile values in any input of any officer route, sent by an officer whose role
reaches it, get an answer below 500 and never a cut connection (SQLite and PostgreSQL).

Hostile means huge and negative integers, Unicode digits, NUL and other control characters,
very long text, impossible or far dates, repeated fields where one is expected, and plain
random text. Path segments are hostile too.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from urllib.parse import quote, urlencode

import httpx
import pytest
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st

from tests.support.cases import file_report
from tests.support.forms import csrf_token
from tests.support.officers import logged_in, make_officer


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # "{...}" segments are filled with a valid value or a hostile one
    who: str  # the principal that reaches it
    fields: tuple[str, ...]


CASE = "/officer/cases/{number}"
TARGET = "/officer/admin/officers/{officer_id}"
AUDIT_FILTERS = ("actor", "action", "case", "date_from", "date_to")
ROUTES = [
    Route("GET", "/officer/login", "anonymous", ("next",)),
    Route("POST", "/officer/login", "anonymous", ("username", "password", "code", "next")),
    Route(
        "GET",
        "/officer",
        "triage",
        ("status", "category", "priority", "assignee", "due", "sort", "page"),
    ),
    Route("GET", CASE, "triage", ()),
    Route(
        "POST",
        CASE + "/transition",
        "triage",
        ("transition", "reason", "public_note", "outcome", "referred_to", "referral_detail"),
    ),
    Route("POST", CASE + "/triage", "triage", ("priority", "retaliation_risk")),
    Route("POST", CASE + "/notes", "triage", ("body",)),
    Route("POST", CASE + "/assign", "triage", ("officer_id",)),
    Route("POST", CASE + "/unassign", "triage", ("officer_id",)),
    Route("POST", CASE + "/grant", "triage", ("officer_id",)),
    Route("POST", CASE + "/revoke", "triage", ("officer_id",)),
    Route("POST", CASE + "/{action}", "triage", ("officer_id",)),
    Route("POST", CASE + "/recuse", "triage", ("recusal_reason",)),
    Route("GET", "/officer/audit", "auditor", (*AUDIT_FILTERS, "before", "after")),
    Route("GET", "/officer/audit/export.csv", "auditor", AUDIT_FILTERS),
    Route("GET", "/officer/account", "admin", ("changed",)),
    Route("POST", "/officer/password", "admin", ("current_password", "new_password")),
    Route("POST", "/officer/account/totp", "admin", ("code",)),
    Route("POST", "/officer/account/totp/disable", "admin", ("password",)),
    Route("POST", "/officer/account/email", "admin", ("email",)),
    Route("GET", "/officer/admin/officers", "admin", ("done",)),
    Route(
        "POST",
        "/officer/admin/officers/new",
        "admin",
        ("username", "display_name", "password", "roles", "email"),
    ),
    Route("GET", TARGET, "admin", ()),
    Route("POST", TARGET + "/roles", "admin", ("roles",)),
    Route("POST", TARGET + "/email", "admin", ("email",)),
    Route("POST", TARGET + "/reset-password", "admin", ("password",)),
    Route("POST", TARGET + "/disable", "admin", ()),
    Route("POST", TARGET + "/enable", "admin", ()),
    Route("POST", "/officer/admin/settings", "admin", ("require_totp",)),
]

# Each input gets values hostile for its kind, and any of the others.
TEXT = st.one_of(
    st.text(alphabet=st.characters(max_codepoint=0x1F), min_size=1, max_size=4),
    st.text(min_size=1, max_size=3).map(lambda text: f"a{text}\x00b"),
    st.text(max_size=40),
    st.sampled_from(["x" * 30_000, "\u202e", "../../etc/passwd", "%00", "on", "none", ""]),
)
NUMBER = st.one_of(
    st.integers(min_value=-(2**80), max_value=2**80).map(str),
    st.text(alphabet=st.characters(categories=["Nd", "No"]), min_size=1, max_size=6),
    st.sampled_from(["9" * 5000, str(2**31), str(2**63), str(2**64), "0", "-1", "1e3"]),
)
DATE = st.one_of(
    st.sampled_from(["0001-01-01", "9999-12-31"]),  # the edges of what ``date`` holds
    st.dates().map(lambda day: day.isoformat()),  # years 1 to 9999
    st.sampled_from(["2026-02-30", "2026-13-01", "20261128", "0000-01-01", "+10000-01-01"]),
)
KINDS = {
    **dict.fromkeys(("page", "assignee", "before", "after", "officer_id"), NUMBER),
    **dict.fromkeys(("date_from", "date_to"), DATE),
}
ANY = st.one_of(TEXT, NUMBER, DATE)


def hostile(name: str) -> st.SearchStrategy[str]:
    kind = KINDS.get(name, TEXT)
    return st.one_of(kind, kind, ANY)


FORM = {"content-type": "application/x-www-form-urlencoded"}


@dataclass
class World:
    clients: dict[str, httpx.AsyncClient]
    tokens: dict[str, str]
    valid: dict[str, str]


@pytest.fixture
async def world(client, ctx) -> World:
    await make_officer(ctx, "admin", ["admin"])
    await make_officer(ctx, "triage", ["triage"])
    await make_officer(ctx, "auditor", ["auditor"])
    target = await make_officer(ctx, "target", ["investigator"])
    number, _ = await file_report(ctx)
    clients, tokens = {}, {}
    for who in ("anonymous", "triage", "auditor", "admin"):
        clients[who] = httpx.AsyncClient(
            transport=client._transport, base_url=str(client.base_url), follow_redirects=False
        )
        if who != "anonymous":
            await logged_in(clients[who], ctx, who)
        tokens[who] = await csrf_token(clients[who], "/officer/login")
    return World(clients, tokens, {"number": number, "officer_id": str(target), "action": "assign"})


def _path(template: str, segments: dict[str, str]) -> str:
    path = template
    for name, value in segments.items():
        path = path.replace("{" + name + "}", quote(value, safe=""))
    return path


@dataclass(frozen=True)
class Probe:
    route: Route
    hostile_segments: dict[str, str]  # path segments replaced by a hostile value
    fields: list[tuple[str, str]]


@st.composite
def probes(draw: st.DrawFn, route: Route, target: str | None) -> Probe:
    """One hostile input per request: several at once would hide all but the first refused.
    ``target`` is a path segment or a field (or None: the route's path as it is)."""
    if target is None:
        return Probe(route, {}, [])
    if f"{{{target}}}" in route.path:
        return Probe(route, {target: draw(hostile(target))}, [])
    values = draw(
        st.one_of(
            hostile(target).map(lambda v: [v]), st.lists(hostile(target), min_size=2, max_size=3)
        )
    )
    return Probe(route, {}, [(target, value) for value in values])


def generated(route: Route, target: str | None, count: int) -> list[Probe]:
    """``count`` probes drawn by hypothesis (the same on every run, different per input), drawn
    up front and sent by the async test below: one app, database and set of clients serve all."""
    drawn: list[Probe] = []

    @settings(
        max_examples=count,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @seed(zlib.crc32(f"{route.method} {route.path} {target}".encode()))
    @given(probes(route, target))
    def collect(probe: Probe) -> None:
        drawn.append(probe)

    collect()
    return drawn


def _inputs(route: Route) -> list[str | None]:
    segments = [name for name in ("number", "officer_id", "action") if f"{{{name}}}" in route.path]
    return [*segments, *route.fields] or [None]


PER_INPUT = 4  # the first is the simplest value; about 260 requests per engine
PROBES = [
    probe
    for route in ROUTES
    for target in _inputs(route)
    for probe in generated(route, target, PER_INPUT)
]


async def test_hostile_values_on_officer_routes_never_get_a_server_error(world):
    failures = []
    for probe in PROBES:
        client = world.clients[probe.route.who]
        path = _path(probe.route.path, {**world.valid, **probe.hostile_segments})
        if probe.route.method == "GET":
            response = await client.get(path, params=probe.fields)
        else:
            body = urlencode([*probe.fields, ("_csrf_token", world.tokens[probe.route.who])])
            response = await client.post(path, content=body, headers=FORM)
        if response.status_code >= 500:
            failures.append((probe, response.status_code))
    assert not failures, failures[:5]

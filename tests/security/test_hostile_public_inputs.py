"""Property: no value sent to a public page or the reporter API makes the server answer 5xx or cut
the connection (issue 14). Hypothesis draws hostile values for every parameter of every public
route and API operation, against a live server on each engine."""

from __future__ import annotations

import json
import re
from pathlib import Path

import anyio
import httpx
from hypothesis import HealthCheck, given
from hypothesis import settings as run_settings
from hypothesis import strategies as st

from tests.support.forms import VALID_REPORT
from tests.support.server import running_server
from whistle.settings import Settings

CSRF_FIELD = re.compile(r'name="_csrf_token" value="([^"]+)"')
REPORT_FIELDS = [*VALID_REPORT, "excluded_officers"]

# Text a person could send (HTTP cannot carry lone surrogates), with the known troublemakers
# given extra weight: Unicode digits, huge numbers, NUL and other controls, traversal.
KNOWN_HOSTILE = [
    "²",
    "١٢٣",
    "５００",
    "9" * 5_000,
    str(2**63),
    str(2**31),
    str(10**30),
    "-1",
    "0",
    "\x00",
    "a\x00b",
    "\x1b[31m",
    "\x7f",
    "../../etc/passwd",
    "%00",
    "<script>alert(1)</script>",
    "2999-12-31",
    "0001-01-01",
    "25:99",
    "",
    " " * 30,
]
TEXT = st.one_of(
    st.sampled_from(KNOWN_HOSTILE),
    st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=60),
)
JSON_LEAF = st.one_of(
    TEXT,
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
    st.none(),
)
JSON_VALUE = st.recursive(JSON_LEAF, lambda inner: st.lists(inner, max_size=3), max_leaves=6)


def _probe_all(base: str) -> None:
    with httpx.Client(base_url=base, timeout=30) as client:
        token = CSRF_FIELD.search(client.get("/report").text).group(1)

        def check(response: httpx.Response) -> None:
            assert response.status_code < 500, (response.request.method, response.request.url)

        # Every known troublemaker in every field once, then Hypothesis explores around them.
        for field in REPORT_FIELDS:
            for value in KNOWN_HOSTILE:
                form = {**VALID_REPORT, field: value, "_csrf_token": token}
                check(client.post("/report", data=form))
                check(client.post("/api/v1/reports", json={**VALID_REPORT, field: value}))

        @run_settings(
            max_examples=40,
            deadline=None,
            database=None,
            suppress_health_check=[HealthCheck.too_slow],
        )
        @given(field=st.sampled_from(REPORT_FIELDS), value=TEXT, json_value=JSON_VALUE)
        def probe(field: str, value: str, json_value: object) -> None:
            check(client.post("/report", data={**VALID_REPORT, field: value, "_csrf_token": token}))
            check(client.post("/track", data={"tracking_code": value, "_csrf_token": token}))
            check(client.get("/track", params={"expired": value}))
            check(client.get("/bahasa", params={"lang": value, "next": value}))
            body = json.dumps({**VALID_REPORT, field: json_value})
            headers = {"content-type": "application/json"}
            check(client.post("/api/v1/reports", content=body, headers=headers))
            session_body = json.dumps({"tracking_code": json_value})
            check(client.post("/api/v1/session", content=session_body, headers=headers))
            # A header carries printable ASCII only (the client refuses anything else).
            printable = "".join(c for c in value if " " <= c <= "~")
            bearer = {"Authorization": f"Bearer {printable}".strip()}
            check(client.get("/api/v1/report", headers=bearer))
            check(client.delete("/api/v1/session", headers=bearer))

        probe()


async def test_hostile_values_on_public_routes_never_get_a_server_error(
    settings: Settings, tmp_path: Path
):
    log = tmp_path / "server.log"

    def serve_and_probe() -> None:
        with running_server(settings, log) as base:
            _probe_all(base)

    await anyio.to_thread.run_sync(serve_and_probe)
    assert "unhandled" not in log.read_text()

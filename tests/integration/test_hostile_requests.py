"""Hostile requests found by the red team get a clear 4xx and change nothing (issue 14).

Each test is named after its finding and fails on the code before the fix.
"""

from __future__ import annotations

import json
import time

import pytest

from tests.support.forms import VALID_REPORT
from tests.support.release import publish_for
from whistle.db.tables import AuditEntry, Report
from whistle.web.inbound import MAX_JSON_BYTES, MAX_JSON_DEPTH, json_depth

REPORT_JSON = json.dumps(VALID_REPORT).encode()


def _is_problem(response, status: int) -> bool:
    return response.status_code == status and response.headers["content-type"].startswith(
        "application/problem+json"
    )


@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        None,
        "application/json; charset=latin-1",
    ],
)
async def test_api_report_with_a_content_type_other_than_json_is_refused_with_415(
    client, content_type
):
    # Any web page can send these three without a preflight: none may file a report.
    headers = {"Content-Type": content_type} if content_type else {}
    response = await client.post("/api/v1/reports", content=REPORT_JSON, headers=headers)
    assert _is_problem(response, 415), response.text
    assert response.json()["status"] == 415
    assert "application/json" in response.json()["detail"]
    assert await Report.count() == 0


async def test_api_session_with_a_form_body_is_refused_with_415(client):
    response = await client.post("/api/v1/session", data={"tracking_code": "AAAA-AAAA-AAAA-AAAA"})
    assert _is_problem(response, 415)


async def test_api_report_as_json_is_still_filed(client):
    response = await client.post(
        "/api/v1/reports",
        content=REPORT_JSON,
        headers={"Content-Type": "application/json; charset=utf-8"},
    )
    assert response.status_code == 201, response.text
    assert await publish_for(client) == 1
    assert await Report.count() == 1


@pytest.mark.parametrize(
    "body",
    [
        b'{"category": "pungli", "description": "\xff\xfe bukan utf-8"}',
        b"\xff\xfe",
        b'{"category": "\xc3\x28"}',
    ],
)
async def test_api_body_with_invalid_utf8_is_refused_with_400(client, body):
    response = await client.post(
        "/api/v1/reports", content=body, headers={"Content-Type": "application/json"}
    )
    assert _is_problem(response, 400), response.text
    assert await Report.count() == 0


@pytest.mark.parametrize("path", ["/api/v1/reports", "/api/v1/session"])
async def test_api_body_nested_1000_deep_is_refused_with_400(client, path):
    deep = b"[" * 1000 + b"]" * 1000
    for body in (deep, b'{"category": "pungli", "description": ' + deep + b"}"):
        response = await client.post(
            path, content=body, headers={"Content-Type": "application/json"}
        )
        assert _is_problem(response, 400), response.text
        assert "terlalu dalam" in response.json()["detail"]
    assert await Report.count() == 0


async def test_api_json_body_beyond_what_the_api_needs_is_refused_with_413(client):
    body = b'{"category": "pungli", "description": "' + b"a" * MAX_JSON_BYTES + b'"}'
    response = await client.post(
        "/api/v1/reports", content=body, headers={"Content-Type": "application/json"}
    )
    assert _is_problem(response, 413), response.text
    assert await Report.count() == 0


def test_json_depth_counts_brackets_outside_strings_only():
    assert json_depth(b'{"a": [1, {"b": []}]}') == 4
    assert json_depth(b'[[], [[]], {"a": {}}]') == 3
    assert json_depth(b'{"a": "[[[[[[[[[[[[[[[[[[[[[[", "b": "\\"[[[["}') == 1
    assert json_depth(b"[" * 1000 + b"]" * 1000) == MAX_JSON_DEPTH + 1
    assert json_depth(b"[}") == 0  # malformed: left for the decoder to refuse


@pytest.mark.parametrize(
    "body",
    [b'"' + b'\\"' * 1_000_000, b"[]" * 1_000_000, b'"\\' * 1_000_000, b'"' * 2_000_000],
)
def test_json_depth_takes_linear_time_on_hostile_bodies(body):
    started = time.perf_counter()
    json_depth(body)
    # Quadratic scanning of 2 MB would take hours; linear takes well under a second.
    assert time.perf_counter() - started < 5


async def test_the_415_is_documented_in_openapi(client):
    schema = (await client.get("/schema/openapi.json")).json()
    for path in ("/api/v1/reports", "/api/v1/session"):
        responses = schema["paths"][path]["post"]["responses"]
        assert {"400", "413", "415"} <= set(responses), path


@pytest.mark.parametrize(
    "path",
    [
        "/static/whistle.css%00.js",
        "/static/%00",
        "/static/../whistle/app.py",
        "/static/%2e%2e/%2e%2e/whistle/app.py",
        "/static/..%2f..%2fwhistle%2fapp.py",
        "/static/%2e%2e%5c%2e%2e%5cpyproject.toml",
        "/%00",
        "/officer/cases/2026-AAAA%00",
    ],
)
async def test_static_path_with_nul_or_traversal_is_404_not_500(client, path):
    response = await client.get(path)
    assert response.status_code == 404, (path, response.status_code)
    assert "create_app" not in response.text and "[project]" not in response.text
    assert await AuditEntry.count() == 0

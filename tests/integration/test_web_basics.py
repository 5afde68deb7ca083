"""Site-wide behaviour: headers, OpenAPI, language choice, SQLite mode."""

from __future__ import annotations

import pytest

from whistle.db import engine as db


async def test_security_headers_on_pages_api_and_errors(client):
    for path in ("/", "/report", "/api/v1/categories", "/no-such-page"):
        response = await client.get(path)
        csp = response.headers["content-security-policy"]
        assert "default-src 'none'" in csp and "script-src" not in csp
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "no-referrer"
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["cache-control"] == "no-store"
        assert "strict-transport-security" in response.headers
    static = await client.get("/static/whistle.css")
    assert static.status_code == 200
    assert static.headers.get("cache-control") != "no-store"


async def test_pages_load_nothing_from_other_hosts(client):
    for path in ("/", "/report", "/track"):
        text = (await client.get(path)).text
        assert "http://" not in text and "https://" not in text, path
        assert "<script" not in text


async def test_openapi_documents_the_reporter_api_only(client):
    schema = (await client.get("/schema/openapi.json")).json()
    paths = set(schema["paths"])
    assert {
        "/api/v1/categories",
        "/api/v1/reports",
        "/api/v1/session",
        "/api/v1/report",
    } <= paths
    assert not [path for path in paths if not path.startswith("/api/")]
    assert "BearerToken" in schema["components"]["securitySchemes"]


async def test_categories_api(client):
    categories = (await client.get("/api/v1/categories")).json()
    assert [item["code"] for item in categories][:2] == ["pungli", "calo"]
    assert categories[0]["label"] == "Pungutan liar (pungli)"


async def test_language_choice_is_remembered_and_safe(client):
    response = await client.get("/bahasa?lang=en&next=//evil.example/", follow_redirects=False)
    assert response.status_code in (302, 303)
    assert response.headers["location"] == "/"
    assert "lang=en" in response.headers["set-cookie"]
    page = await client.get("/", headers={"accept-language": "en-US"})
    assert '<html lang="en">' in page.text
    client.cookies.clear()
    page = await client.get("/", headers={"accept-language": "en-US"})
    assert '<html lang="id">' in page.text, "Indonesian unless English was chosen"


@pytest.mark.parametrize("engine_name", ["sqlite"])
async def test_sqlite_runs_in_wal_mode_with_foreign_keys(database):
    assert (await db.fetch("PRAGMA journal_mode"))[0]["journal_mode"] == "wal"
    async with db.transaction():
        assert (await db.fetch("PRAGMA foreign_keys"))[0]["foreign_keys"] == 1

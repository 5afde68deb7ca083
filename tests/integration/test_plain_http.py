"""Plain http outside development: the browser drops the Secure cookies, so a form post fails
its CSRF check; the page says that https is required rather than "token keamanan tidak ada"."""

from __future__ import annotations

import dataclasses

import httpx

from tests.support.forms import VALID_REPORT, csrf_token
from whistle.app import create_app


async def post_over(settings, base_url: str) -> httpx.Response:
    app = create_app(settings)
    async with app.lifespan():
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=base_url) as client:
            token = await csrf_token(client, "/report")
            return await client.post("/report", data={**VALID_REPORT, "_csrf_token": token})


async def test_plain_http_outside_development_says_https_is_required(settings):
    response = await post_over(settings, "http://wbs.example")
    assert response.status_code == 403
    assert "https://" in response.text
    assert "token keamanan tidak ada" not in response.text


async def test_development_over_http_keeps_working(settings):
    response = await post_over(dataclasses.replace(settings, development=True), "http://localhost")
    # Filed: the form answers with the redirect to the receipt (POST-redirect-GET).
    assert response.status_code == 303, response.status_code
    assert response.headers["location"].startswith("/report/receipt")


async def test_healthz_names_states_only(client):
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "database": "ok",
        "migrations": "current",
        "keys": "loaded",
    }

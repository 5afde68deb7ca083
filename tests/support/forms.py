"""Small helpers shared by tests."""

from __future__ import annotations

import re

import httpx

from tests.support.release import publish_for

CSRF_FIELD = re.compile(r'name="_csrf_token" value="([^"]+)"')
CODE = re.compile(r'id="tracking-code"[^>]*>([0-9A-Z-]{19})<')

VALID_REPORT = {
    "category": "pungli",
    "description": "Petugas di loket meminta uang tambahan agar paspor cepat selesai.",
    "location": "Loket 3",
    "incident_date": "2026-11-20",
    "incident_time": "09:30",
    "persons_involved": "Petugas berkacamata",
    "amount_requested": "500000",
    "how_known": "experienced",
}


async def csrf_token(client: httpx.AsyncClient, path: str) -> str:
    page = await client.get(path)
    match = CSRF_FIELD.search(page.text)
    assert match, f"no CSRF field on {path}"
    return match.group(1)


async def post_form(
    client: httpx.AsyncClient, path: str, data: dict, *, form_page: str | None = None
):
    token = await csrf_token(client, form_page or path)
    return await client.post(path, data={**data, "_csrf_token": token})


async def submit_report_form(
    client: httpx.AsyncClient, data: dict | None = None, *, publish: bool = True
) -> str:
    """File a report through the HTML form; return the tracking code shown on the receipt.

    The report is then published by the real release (as at the end of its period), unless
    ``publish`` is False (it stays in the pending store)."""
    response = await post_form(client, "/report", data or VALID_REPORT)
    assert response.status_code == 201 or response.status_code == 200, response.text
    match = CODE.search(response.text)
    assert match, "receipt shows no tracking code"
    if publish:
        await publish_for(client)
    return match.group(1)

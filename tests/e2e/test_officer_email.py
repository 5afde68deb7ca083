"""An officer gives their alert address on their account page in a real browser (Chromium through
Playwright): a mistyped address comes back with what was typed and a message, the corrected one
is saved and shown."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.browser import (
    against_live_server,
    officer_page,
)
from tests.support.officers import DEFAULT_PASSWORD, make_officer
from whistle.db.tables import Officer

pytestmark = pytest.mark.e2e


def _set_address(base: str) -> dict[str, str]:
    seen = {}
    with officer_page() as page:
        page.goto(base + "/officer/login")
        page.fill("#username", "ivan")
        page.fill("#password", DEFAULT_PASSWORD)
        page.get_by_role("button", name="Masuk").click()
        page.goto(base + "/officer/account")
        # The browser's own check for type=email would stop "ivan@"; this one gets past it
        # and is refused by the server.
        page.fill("#email", "ivan@imigrasi")
        page.get_by_role("button", name="Simpan alamat surel").click()
        seen["refused"] = page.content()
        seen["typed"] = page.input_value("#email")
        page.fill("#email", "ivan@imigrasi.example")
        page.get_by_role("button", name="Simpan alamat surel").click()
        seen["saved_url"] = page.url.removeprefix(base)
        seen["saved"] = page.content()
    return seen


@pytest.mark.parametrize("engine_name", ["sqlite"])
async def test_an_officer_sets_their_alert_address_in_a_real_browser(ctx, settings, tmp_path: Path):
    await make_officer(ctx, "ivan", ["investigator"])

    seen = await against_live_server(settings, tmp_path / "server.log", _set_address)
    assert "Alamat surel tidak valid" in seen["refused"]
    assert seen["typed"] == "ivan@imigrasi"
    assert seen["saved_url"] == "/officer/account?changed=email"
    assert "Alamat surel pemberitahuan disimpan." in seen["saved"]
    row = await Officer.select(Officer.email).where(Officer.username == "ivan").first()
    assert row["email"] == "ivan@imigrasi.example"

"""An officer switches language in the middle of typing (Chromium through Playwright, no
script): on the login page the typed username stays, on the case page the note being written
stays in its field, the page is in English and nothing was saved until the officer sends it."""

from __future__ import annotations

from pathlib import Path

import anyio
import anyio.from_thread
import pytest

from tests.support.browser import (
    against_live_server,
    officer_page,
)
from tests.support.cases import file_report
from tests.support.officers import DEFAULT_PASSWORD, make_officer
from whistle.db.tables import AuditEntry, CaseNote

pytestmark = pytest.mark.e2e

NOTE = "Saksi di loket 3 bersedia diwawancarai hari Senin; jangan hubungi lewat telepon kantor."


async def _stored() -> tuple[int, int]:
    return await CaseNote.count(), await AuditEntry.count()


def _switch_while_typing(base: str, number: str) -> dict[str, object]:
    seen: dict[str, object] = {}
    with officer_page() as page:
        page.goto(base + "/officer/login")
        page.fill("#username", "tina")
        page.locator("nav.lang").get_by_role("button", name="English").click()
        seen["login_lang"] = page.get_attribute("html", "lang")
        seen["login_username"] = page.input_value("#username")
        page.fill("#password", DEFAULT_PASSWORD)
        page.get_by_role("button", name="Sign in", exact=True).click()
        # Back to Indonesian through the header's links (nothing typed yet on this page).
        page.goto(f"{base}/bahasa?lang=id&next=/officer/cases/{number}")
        page.fill("#note-body", NOTE)
        seen["before_switch"] = anyio.from_thread.run(_stored)
        page.locator("#note-form").get_by_role("button", name="English").click()
        seen["after_switch_url"] = page.url.removeprefix(base)
        seen["lang"] = page.get_attribute("html", "lang")
        seen["label"] = page.inner_text("label[for=note-body]")
        seen["note_field"] = page.input_value("#note-body")
        seen["after_switch"] = anyio.from_thread.run(_stored)
        page.locator("#note-form").get_by_role("button", name="Save note").click()
        seen["after_save_url"] = page.url.removeprefix(base)
        seen["saved_page_lang"] = page.get_attribute("html", "lang")
    return seen


@pytest.mark.parametrize("engine_name", ["sqlite"])
async def test_an_officer_switches_language_while_writing_a_note(ctx, settings, tmp_path: Path):
    await make_officer(ctx, "tina", ["triage"])
    number, _ = await file_report(ctx)

    seen = await against_live_server(
        settings, tmp_path / "server.log", lambda base: _switch_while_typing(base, number)
    )
    assert seen["login_lang"] == "en" and seen["login_username"] == "tina"
    assert seen["after_switch_url"] == f"/officer/cases/{number}/notes?lang=en"
    assert seen["lang"] == "en" and seen["label"].startswith("Add a note")
    assert seen["note_field"] == NOTE
    assert seen["after_switch"] == seen["before_switch"], "switching saved and logged nothing"
    assert seen["after_save_url"] == f"/officer/cases/{number}"
    assert seen["saved_page_lang"] == "en", "the choice is remembered"
    notes, _ = await _stored()
    assert notes == seen["before_switch"][0] + 1
    log = (tmp_path / "server.log").read_text()
    assert "Saksi di loket 3" not in log

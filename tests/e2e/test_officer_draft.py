"""An officer's session expires while they write a case note (Chromium through Playwright): the
note is not lost. The form's answer is the login page; after signing in the officer is back on
the case page with the text in the note field, saved only when they send it again."""

from __future__ import annotations

from pathlib import Path

import anyio
import anyio.from_thread
import pytest

from tests.support.browser import (
    against_live_server,
    officer_page,
    sign_in,
)
from tests.support.cases import file_report
from tests.support.officers import DEFAULT_PASSWORD, make_officer
from whistle.db.tables import CaseNote, WebSession

pytestmark = pytest.mark.e2e

NOTE = (
    "Saksi di loket 3 bersedia diwawancarai hari Senin (catatan panjang yang tidak boleh hilang)."
)


async def _expire_officer_sessions() -> None:
    await WebSession.delete().where(WebSession.kind == "officer")


def _write_through_an_expiry(base: str, number: str) -> dict[str, str]:
    seen: dict[str, str] = {}
    with officer_page() as page:
        sign_in(page, base, "tina", DEFAULT_PASSWORD)
        page.goto(f"{base}/officer/cases/{number}")
        page.fill("#note-body", NOTE)
        # The session ends while the note is being written.
        anyio.from_thread.run(_expire_officer_sessions)
        page.get_by_role("button", name="Simpan catatan").click()
        seen["after_send"] = page.url.removeprefix(base)
        seen["login_notice"] = page.inner_text("main")
        page.fill("#username", "tina")
        page.fill("#password", DEFAULT_PASSWORD)
        page.get_by_role("button", name="Masuk").click()
        seen["after_login"] = page.url.removeprefix(base)
        seen["note_field"] = page.input_value("#note-body")
        seen["restored_notice"] = page.inner_text("#restored")
        page.get_by_role("button", name="Simpan catatan").click()
        seen["after_save"] = page.url.removeprefix(base)
    return seen


@pytest.mark.parametrize("engine_name", ["sqlite"])
async def test_typed_note_survives_an_expired_session(ctx, settings, tmp_path: Path):
    await make_officer(ctx, "tina", ["triage"])
    number, _ = await file_report(ctx)

    seen = await against_live_server(
        settings, tmp_path / "server.log", lambda base: _write_through_an_expiry(base, number)
    )
    assert seen["after_send"] == f"/officer/cases/{number}/notes"  # the login page, no 405
    assert "Sesi Anda sudah berakhir" in seen["login_notice"]
    assert seen["after_login"] == f"/officer/cases/{number}"
    assert seen["note_field"] == NOTE
    assert "belum disimpan" in seen["restored_notice"]
    assert seen["after_save"] == f"/officer/cases/{number}"
    assert await CaseNote.count() == 1
    log = (tmp_path / "server.log").read_text()
    assert "Saksi di loket 3" not in log

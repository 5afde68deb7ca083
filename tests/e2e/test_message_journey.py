"""The dialogue in a real browser (Chromium through Playwright), JavaScript off, on a phone:
the team asked a question with a file; the reporter opens the status page with the code, reads
it, downloads the file and answers with a photo; the answer shows at once as waiting for the
release, and the team reads it and downloads the photo after."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import sync_playwright

from tests.support.browser import (
    CHROMIUM,
    CHROMIUM_ARGS,
    PHONE,
    accessible,
    against_live_server,
    fits_phone_width,
)
from tests.support.cases import as_officer, file_report, send_with_file
from tests.support.officers import make_officer
from tests.support.release import publish
from whistle.cases import service as cases
from whistle.evidence import files
from whistle.reports.messages import OFFICER, REPORTER

pytestmark = pytest.mark.e2e

QUESTION = "Apakah Anda menyimpan bukti pembayaran kepada petugas itu?"
ANSWER = "Ya, saya punya foto kuitansi tanpa kop dari petugas tersebut."


TEAM_FILE = b"Daftar dokumen yang perlu dibawa: paspor lama, KTP.\n" * 50
PHOTO = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
    "0000000d49444154789c6360000002000105fe02fea70000000049454e44ae426082"
)


def _answer_in_browser(base: str, code: str, photo: Path) -> None:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport=PHONE, java_script_enabled=False)
            page = context.new_page()
            page.goto(base + "/track")
            page.get_by_label("Kode pelacakan").fill(code)
            page.get_by_role("button", name="Buka Laporan").click()
            assert page.get_by_text("Pesan dengan Tim WBS").is_visible()
            assert page.get_by_text(QUESTION).is_visible()
            with page.expect_download() as downloading:
                page.get_by_role("link", name="daftar.txt").click()
            saved = Path(downloading.value.path())
            assert saved.read_bytes() == files.clean(files.TEXT, TEAM_FILE).data

            # Sending nothing says what to do and sends nothing.
            page.get_by_role("button", name="Kirim pesan").click()
            assert page.get_by_text("Tulis isi pesan.").first.is_visible()

            page.get_by_label("Tulis pesan atau jawaban").fill(ANSWER)
            page.get_by_label("Lampirkan berkas (boleh dikosongkan)").set_input_files(str(photo))
            page.get_by_role("button", name="Kirim pesan").click()
            assert page.url.endswith("/track/report#pesan")
            assert page.get_by_text(ANSWER).is_visible()
            assert page.get_by_text(re.compile("belum diteruskan kepada tim")).first.is_visible()
            assert page.locator("ol.messages").get_by_text("kuitansi.png").is_visible()
            fits_phone_width(page)
            cookies = context.cookies()
            context.close()

            # The status page with its dialogue passes axe too (axe needs script).
            checked_context = browser.new_context(viewport=PHONE)
            checked_context.add_cookies(cookies)
            checked = checked_context.new_page()
            checked.goto(base + "/track/report")
            assert checked.get_by_text(ANSWER).is_visible()
            accessible(checked, Axe())
        finally:
            browser.close()


@pytest.mark.parametrize("engine_name", ["sqlite"])
async def test_reporter_answers_on_the_status_page(settings, ctx, tmp_path: Path):
    await make_officer(ctx, "tina", ["triage"])
    number, code = await file_report(ctx)
    tina = await as_officer(ctx, "tina")
    await send_with_file(ctx, "tina", number, QUESTION, "daftar.txt", TEAM_FILE)
    photo = tmp_path / "kuitansi.png"
    photo.write_bytes(PHOTO)

    await against_live_server(
        settings, tmp_path / "server.log", lambda base: _answer_in_browser(base, code, photo)
    )
    assert await publish(ctx) == 2  # the answer and its photo
    view = await cases.open_case(ctx, tina, number)
    assert [(m.author, m.text) for m in view.messages] == [(OFFICER, QUESTION), (REPORTER, ANSWER)]
    [sent] = [f for f in view.files if f.author == REPORTER]
    assert sent.message_id == view.messages[1].id
    download = await cases.download_file(tina, number, sent.id)
    assert (
        b"".join([piece async for piece in download.content]) == files.clean(files.PNG, PHOTO).data
    )

"""A citizen on a small phone, in a real browser (Chromium through Playwright), JavaScript off:
file a report, keep the code, come back and read the status. Pages pass axe's serious and
critical checks and make no request to any other host."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

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

pytestmark = pytest.mark.e2e

DESCRIPTION = "Di loket 2 petugas meminta Rp300.000 agar wawancara paspor didahulukan."


def _journey(base: str) -> None:
    host = urlsplit(base).netloc
    requested: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport=PHONE, java_script_enabled=False)
            page = context.new_page()
            page.on("request", lambda request: requested.append(request.url))

            page.goto(base + "/")
            page.get_by_role("link", name="Buat Laporan").first.click()
            assert page.url.endswith("/report")

            page.get_by_role("button", name="Kirim Laporan").click()
            assert page.get_by_text("Laporan belum terkirim.").is_visible()
            # Beside its field, and (since issue 12) also linked from the summary above the form.
            message = "Pilih jenis pelanggaran dari daftar."
            assert page.locator("#category-error").get_by_text(message).is_visible()
            assert page.get_by_role("link", name=message).is_visible()

            page.get_by_label("Jenis pelanggaran").select_option("pungli")
            page.get_by_label("Apa yang terjadi?").fill(DESCRIPTION)
            page.get_by_label("Di mana?").fill("Loket 2")
            page.get_by_label("Saya mengalaminya sendiri").check()
            page.get_by_label(re.compile("Jumlah uang yang diminta")).fill("300000")
            page.get_by_role("button", name="Kirim Laporan").click()

            code = page.locator("#tracking-code").inner_text().strip()
            assert re.fullmatch(r"[0-9A-Z]{4}(-[0-9A-Z]{4}){3}", code)
            assert page.get_by_text("tidak dapat dipulihkan").is_visible()
            fits_phone_width(page)

            page.get_by_role("link", name="Cek Status").first.click()
            page.get_by_label("Kode pelacakan").fill(code.lower().replace("-", " "))
            page.get_by_role("button", name="Buka Laporan").click()
            assert page.get_by_text("Status Laporan Anda").is_visible()
            assert page.locator(".status-label").inner_text() == "Diterima"
            assert page.get_by_text(DESCRIPTION).is_visible()
            assert page.get_by_text("Rp300.000", exact=True).is_visible()
            fits_phone_width(page)

            page.get_by_role("button", name=re.compile("Tutup laporan")).click()
            page.goto(base + "/track/report")
            assert page.url.endswith("/track?expired=true"), "closing ends the reporter session"
            context.close()

            # axe needs script: a second context, JavaScript on, same pages.
            axe = Axe()
            checked = browser.new_context(viewport=PHONE).new_page()
            for path in ("/", "/report", "/track", "/transparency", "/informasi", FEES_PAGE):
                checked.goto(base + path)
                accessible(checked, axe)
                fits_phone_width(checked)
            checked.goto(base + "/report")
            checked.get_by_role("button", name="Kirim Laporan").click()
            accessible(checked, axe)  # the form with its error messages
        finally:
            browser.close()
    foreign = [url for url in requested if urlsplit(url).netloc != host]
    assert not foreign, f"third-party requests: {foreign}"


FEES_PAGE = "/informasi/biaya-resmi"


@pytest.mark.parametrize("engine_name", ["sqlite"])
async def test_reporter_journey_on_a_phone(settings, tmp_path: Path):
    log = tmp_path / "server.log"

    await against_live_server(settings, log, _journey)

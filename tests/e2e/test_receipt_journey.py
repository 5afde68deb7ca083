"""The receipt in a real browser (Chromium, JavaScript on): reload, Back then resend and a
double tap each leave exactly one report; the code survives the language switch; Back after the
receipt shows no report text."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pytest
from playwright.sync_api import Page, sync_playwright

from tests.support.browser import CHROMIUM, CHROMIUM_ARGS, PHONE, against_live_server

pytestmark = pytest.mark.e2e

DESCRIPTION = "Petugas loket 4 meminta Rp 1.500.000,00 agar paspor selesai besok pagi."


def _reports(database: Path) -> int:
    """Reports filed: published, or waiting in the pending store for the hourly release."""
    with sqlite3.connect(database) as connection:
        published = connection.execute("SELECT count(*) FROM report").fetchone()[0]
        pending = connection.execute(
            "SELECT count(*) FROM pending_item WHERE kind = 'report'"
        ).fetchone()[0]
    return published + pending


def _fill(page: Page, base: str) -> None:
    page.goto(base + "/report")
    page.locator("#category").select_option("pungli")
    page.locator("#description").fill(DESCRIPTION)


def _code(page: Page) -> str:
    code = page.locator("#tracking-code").inner_text().strip()
    assert re.fullmatch(r"[0-9A-Z]{4}(-[0-9A-Z]{4}){3}", code)
    return code


def _journeys(base: str, database: Path) -> None:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_context(viewport=PHONE).new_page()

            _fill(page, base)
            page.get_by_role("button", name="Kirim Laporan").click()
            code = _code(page)
            assert page.url.endswith("/report/receipt")
            page.reload()
            assert _code(page) == code
            assert _reports(database) == 1

            page.get_by_role("link", name="English").click()
            assert page.locator("html").get_attribute("lang") == "en"
            assert _code(page) == code

            page.go_back()  # the Indonesian receipt
            page.go_back()  # the form: fetched again, empty
            assert page.url.endswith("/report")
            assert DESCRIPTION not in page.content()
            # (in English now: the switch is remembered)
            assert page.locator("#description").input_value() == ""
            page.locator("form[action='/report'] button[type=submit]").click()
            assert _reports(database) == 1

            _fill(page, base)
            page.locator("form[action='/report'] button[type=submit]").dblclick()
            page.wait_for_url(re.compile(r"/report/receipt"))
            assert _code(page) != code
            assert _reports(database) == 2
        finally:
            browser.close()


@pytest.mark.parametrize("engine_name", ["sqlite"])
async def test_receipt_survives_reload_back_language_and_double_tap(settings, tmp_path: Path):
    log = tmp_path / "server.log"
    database = Path(settings.database_url.removeprefix("sqlite:///"))

    await against_live_server(settings, log, lambda base: _journeys(base, database))

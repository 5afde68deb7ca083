"""Browser journeys: Chromium (Debian's package, installed by .ci/run) driven through Playwright
against a real `whistle serve` process, from a thread so the test's event loop stays free."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

import anyio
import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, sync_playwright

from tests.support.server import running_server
from whistle.settings import Settings

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
PHONE = {"width": 360, "height": 740}

T = TypeVar("T")


@contextmanager
def officer_page() -> Iterator[Page]:
    """A page in a fresh Chromium with JavaScript off, as the officer pages must work without it."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser.new_context(java_script_enabled=False).new_page()
        finally:
            browser.close()


def sign_in(page: Page, base: str, username: str, password: str) -> None:
    """Sign in through the Indonesian login form."""
    page.goto(base + "/officer/login")
    page.fill("#username", username)
    page.fill("#password", password)
    page.get_by_role("button", name="Masuk").click()


async def against_live_server(settings: Settings, log: Path, journey: Callable[[str], T]) -> T:
    """Start a server on ``settings`` (its output in ``log``) and run ``journey(base_url)`` in a
    thread; fails, never skips, when Chromium is missing."""

    def run() -> T:
        if not Path(CHROMIUM).exists():
            pytest.fail("Chromium is missing: .ci/run installs Debian's chromium package")
        with running_server(settings, log) as base:
            return journey(base)

    return await anyio.to_thread.run_sync(run)


def fits_phone_width(page: Page) -> None:
    overflow = page.evaluate("document.documentElement.scrollWidth")
    assert overflow <= PHONE["width"], f"{page.url} scrolls sideways ({overflow}px)"


def accessible(page: Page, axe: Axe) -> None:
    results = axe.run(page)
    serious = [
        (violation["id"], violation["impact"], len(violation["nodes"]))
        for violation in results.response["violations"]
        if violation["impact"] in ("serious", "critical")
    ]
    assert not serious, f"{page.url}: {serious}"

"""An officer signs in and out in a real browser (Chromium through Playwright): the Origin the
browser itself sends passes the same-site check on officer forms (issue 14). Under a
no-referrer policy Chromium sends "Origin: null" and every officer form would be refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.browser import (
    against_live_server,
    officer_page,
    sign_in,
)
from tests.support.officers import DEFAULT_PASSWORD, make_officer
from whistle.db.tables import AuditEntry, WebSession

pytestmark = pytest.mark.e2e


def _sign_in_and_out(base: str) -> list[str]:
    """Returns the paths the browser landed on."""
    landed = []
    with officer_page() as page:
        sign_in(page, base, "tina", DEFAULT_PASSWORD)
        landed.append(page.url.removeprefix(base))
        page.get_by_role("button", name="Keluar").click()
        landed.append(page.url.removeprefix(base))
    return landed


@pytest.mark.parametrize("engine_name", ["sqlite"])
async def test_an_officer_signs_in_and_out_in_a_real_browser(ctx, settings, tmp_path: Path):
    await make_officer(ctx, "tina", ["triage"])

    landed = await against_live_server(settings, tmp_path / "server.log", _sign_in_and_out)
    assert landed[0] == "/officer", landed  # the inbox: login passed the same-site check
    assert landed[1] == "/officer/login", landed
    assert await WebSession.count() == 0
    logins = await AuditEntry.count().where(AuditEntry.action == "officer.login")
    logouts = await AuditEntry.count().where(AuditEntry.action == "officer.logout")
    assert (logins, logouts) == (1, 1)

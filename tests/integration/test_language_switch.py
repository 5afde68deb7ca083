"""Accessibility of the reporter's forms (issue 12, WCAG 2.2 AA): switching language keeps what
was typed (on the report form, after a refusal, on the tracking form and on the receipt) and
stores nothing; a refused form says so in its title and lists each mistake with a link to its
field, in a summary that takes focus on load."""

from __future__ import annotations

import re

from tests.support.forms import CODE, VALID_REPORT, csrf_token, post_form
from tests.support.release import filed_reports
from whistle.db.tables import WebSession
from whistle.web.language import LANGUAGE_COOKIE

TYPED = {**VALID_REPORT, "description": "Calo di parkiran menawarkan paspor kilat Rp2.500.000."}


def _title(html: str) -> str:
    match = re.search(r"<title>(.*?)</title>", html, re.S)
    assert match
    return match.group(1).strip()


async def test_the_report_form_switches_language_with_what_was_typed(client):
    token = await csrf_token(client, "/report")
    response = await client.post(
        "/report?lang=en", data={**TYPED, "_csrf_token": token, "switch_language": "en"}
    )
    assert response.status_code == 200
    assert 'lang="en"' in response.text and "Send Report" in response.text
    assert TYPED["description"] in response.text
    assert 'value="Loket 3"' in response.text
    assert "Kesalahan" not in _title(response.text) and "Error" not in _title(response.text)
    assert response.cookies.get(LANGUAGE_COOKIE) == "en"
    assert await filed_reports() == 0, "switching language files nothing"
    # The buttons that switch are part of the form: no text ever travels in a URL.
    assert 'form="report-form"' in response.text and 'name="switch_language"' in response.text
    # And back, still holding the text.
    back = await client.post(
        "/report?lang=id", data={**TYPED, "_csrf_token": token, "switch_language": "id"}
    )
    assert "Kirim Laporan" in back.text and TYPED["description"] in back.text


async def test_after_a_refusal_the_switch_keeps_the_text_and_the_summary_links_each_field(client):
    refused = await post_form(client, "/report", {**TYPED, "category": ""})
    assert refused.status_code == 422
    assert _title(refused.text).startswith("Kesalahan: ")
    summary = refused.text[refused.text.index('class="alert error-summary"') :]
    summary = summary[: summary.index("</div>")]
    assert 'tabindex="-1"' in refused.text and "autofocus" in refused.text
    assert '<a href="#category">' in summary
    assert 'id="category"' in refused.text  # the link lands on the control
    token = await csrf_token(client, "/report")
    switched = await client.post(
        "/report?lang=en",
        data={**TYPED, "category": "", "_csrf_token": token, "switch_language": "en"},
    )
    assert switched.status_code == 200 and TYPED["description"] in switched.text
    refused_en = await client.post(
        "/report?lang=en", data={**TYPED, "category": "", "_csrf_token": token}
    )
    assert _title(refused_en.text).startswith("Error: ")
    assert await filed_reports() == 0


async def test_the_tracking_form_switches_language_keeping_the_code(client):
    page = await client.get("/track")
    token = re.search(r'name="_csrf_token" value="([^"]+)"', page.text).group(1)
    typed = "ABCD-EFGH-JKMN-PQRS"
    switched = await client.post(
        "/track?lang=en",
        data={"tracking_code": typed, "_csrf_token": token, "switch_language": "en"},
    )
    assert switched.status_code == 200
    assert "Check Report Status" in switched.text and f'value="{typed}"' in switched.text
    assert await WebSession.count() == 0, "nothing was looked up"
    wrong = await client.post("/track", data={"tracking_code": typed, "_csrf_token": token})
    assert wrong.status_code == 401
    assert _title(wrong.text).startswith("Error: ")  # the language chosen stays
    assert '<a href="#tracking_code">' in wrong.text


async def test_the_receipt_switches_language_and_still_shows_the_code(client):
    receipt = await post_form(client, "/report", VALID_REPORT)
    code = CODE.search(receipt.text).group(1)
    english = await client.get("/bahasa", params={"lang": "en", "next": "/report/receipt"})
    assert english.status_code == 200 and 'lang="en"' in english.text
    assert CODE.search(english.text).group(1) == code
    assert await filed_reports() == 1

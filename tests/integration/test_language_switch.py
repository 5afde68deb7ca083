"""Accessibility of the reporter's forms (issue 12, WCAG 2.2 AA): switching language keeps what
was typed (on the report form, after a refusal, on the tracking form and on the receipt) and
stores nothing; a refused form says so in its title and lists each mistake with a link to its
field, in a summary that takes focus on load."""

from __future__ import annotations

import re

from tests.support.cases import file_report
from tests.support.forms import CODE, VALID_REPORT, csrf_token, post_form
from tests.support.release import filed_reports
from whistle.db.tables import CaseMessage, PendingItem, WebSession
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


async def _status_page(client, ctx) -> str:
    """The reporter's status page opened with the tracking code; returns its CSRF token."""
    _, code = await file_report(ctx)
    token = await csrf_token(client, "/track")
    opened = await client.post("/track", data={"tracking_code": code, "_csrf_token": token})
    assert opened.status_code == 200
    return await csrf_token(client, "/track/report")


async def _held() -> dict[str, int]:
    return {"pending": await PendingItem.count(), "messages": await CaseMessage.count()}


async def test_the_status_page_forms_switch_language_keeping_what_was_typed(client, ctx):
    """The status page has several forms, so each form of typed text (the message to the team,
    the identity) carries its own language buttons; switching sends nothing to the team."""
    token = await _status_page(client, ctx)
    page = (await client.get("/track/report")).text
    for form in ("message-form", "identity-form"):
        assert f'form="{form}"' in page and 'name="switch_language"' in page
    before = await _held()
    answer = "Kuitansinya saya simpan; petugasnya memakai rompi biru."
    switched = await client.post(
        "/track/messages?lang=en",
        data={"body": answer, "_csrf_token": token, "switch_language": "en"},
    )
    assert switched.status_code == 200 and 'lang="en"' in switched.text
    assert f"{answer}</textarea>" in switched.text
    assert switched.cookies.get(LANGUAGE_COOKIE) == "en"
    identity = await client.post(
        "/track/identity?lang=en",
        data={"name": "Sari", "contact": "0812 0000 1111", "_csrf_token": token}
        | {"switch_language": "en"},
    )
    assert identity.status_code == 200 and 'lang="en"' in identity.text
    assert 'value="Sari"' in identity.text and 'value="0812 0000 1111"' in identity.text
    assert await _held() == before, "a language button sends nothing to the team"
    # The streamed message form checks its own token: a forged switch is refused.
    forged = await client.post(
        "/track/messages?lang=en",
        data={"body": answer, "_csrf_token": "0" * 64, "switch_language": "en"},
    )
    assert forged.status_code == 403
    assert await _held() == before

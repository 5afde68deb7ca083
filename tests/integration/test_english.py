"""The reporter's pages and API in English, chosen with ?lang=en or remembered from /bahasa."""

from __future__ import annotations

from functools import cache

import httpx
from babel.messages.pofile import read_po

from tests.support.cases import file_report
from tests.support.forms import CODE, VALID_REPORT, post_form
from tests.support.officers import logged_in, make_officer
from whistle.i18n import LOCALE_DIR

ENGLISH_HTML = '<html lang="en">'


@cache
def _indonesian_sentences() -> tuple[str, ...]:
    """Longer message ids whose English differs: none of them may show on an English page."""
    with (LOCALE_DIR / "en" / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        catalog = read_po(handle, locale="en")
    return tuple(
        message.id
        for message in catalog
        if isinstance(message.id, str) and len(message.id) >= 12 and message.string != message.id
    )


def assert_english(page: httpx.Response, *expected: str) -> None:
    assert ENGLISH_HTML in page.text
    for text in expected:
        assert text in page.text, f"{text!r} not on {page.url}"
    left = [text for text in _indonesian_sentences() if text in page.text]
    assert not left, f"Indonesian text left on the English {page.url}: {left}"


async def choose_english(client: httpx.AsyncClient, next_path: str = "/") -> httpx.Response:
    page = await client.get(f"/bahasa?lang=en&next={next_path}")
    assert client.cookies.get("lang") == "en"
    return page


async def test_home_page_in_english_with_the_query_parameter(client):
    page = await client.get("/?lang=en")
    assert page.status_code == 200
    assert_english(
        page,
        "Report integrity violations without giving your name",
        "Make a Report",
        "Illegal levies (pungli)",
        "Brokers (calo)",
        "How your identity is protected",
    )
    # The query parameter is for this page only; nothing is remembered.
    indonesian = await client.get("/")
    assert '<html lang="id">' in indonesian.text
    # The check for leftover Indonesian above is not vacuous: it sees the Indonesian page's text.
    assert any(text in indonesian.text for text in _indonesian_sentences())


async def test_error_page_in_english(client):
    page = await client.get("/no-such-page?lang=en")
    assert page.status_code == 404
    assert_english(page, "Page not found", "Back to the home page")


async def test_refused_form_without_csrf_token_explains_itself_in_english(client):
    await choose_english(client)
    page = await client.post("/report", data=VALID_REPORT)
    assert page.status_code == 403
    assert_english(page, "Access denied", "The form is invalid or has expired")


async def test_report_form_and_its_validation_messages_in_english(client):
    form = await choose_english(client, "/report")
    assert str(form.url).endswith("/report")
    assert_english(form, "Type of violation", "What happened?", "Send Report", "- Choose -")

    typed = {
        **VALID_REPORT,
        "category": "not-a-category",
        "description": "short",
        "incident_date": "2999-01-01",
        "incident_time": "25:99",
        "amount_requested": "five hundred",
    }
    page = await post_form(client, "/report", typed)
    assert page.status_code == 422
    assert_english(
        page,
        "Your report has not been sent yet.",
        "Choose the type of violation from the list.",
        "Please tell us a little more (at least 20 characters).",
        "The date of the incident cannot be in the future.",
        "Invalid time (for example 09:30).",
        "Write the amount in rupiah as a number, for example 500000.",
    )
    assert 'value="five hundred"' in page.text


async def test_receipt_and_tracking_pages_in_english(client):
    await choose_english(client)
    receipt = await post_form(client, "/report", VALID_REPORT)
    assert receipt.status_code == 200
    assert_english(
        receipt,
        "We have received your report",
        "Your tracking code:",
        "Write down or save this code now.",
        "Current status:",
    )
    code = CODE.search(receipt.text).group(1)

    track = await client.get("/track")
    assert_english(track, "Check Report Status", "Tracking code", "Open Report")

    refused = await post_form(client, "/track", {"tracking_code": "AAAA-AAAA-AAAA-AAAA"})
    assert refused.status_code == 401
    assert_english(refused, "Tracking code not recognised. Please check your code.")

    view = await post_form(client, "/track", {"tracking_code": code})
    assert str(view.url).endswith("/track/report")
    assert_english(
        view,
        "Status of Your Report",
        "Received",
        "We have received your report and it is waiting to be examined",
        "Illegal levies (pungli)",
        "It happened to me",
        "Close report (sign out)",
    )
    # What the reporter wrote is shown as written, untranslated.
    assert VALID_REPORT["description"] in view.text


async def test_receipt_in_english_with_the_query_parameter(client):
    token_page = "/report?lang=en"
    response = await post_form(client, "/report?lang=en", VALID_REPORT, form_page=token_page)
    assert response.status_code == 200
    assert_english(response, "We have received your report", "Your tracking code:")


async def test_api_categories_follow_the_language_cookie(client):
    indonesian = (await client.get("/api/v1/categories")).json()
    assert indonesian[0] == {"code": "pungli", "label": "Pungutan liar (pungli)"}

    await choose_english(client)
    english = {
        item["code"]: item["label"] for item in (await client.get("/api/v1/categories")).json()
    }
    assert english["pungli"] == "Illegal levies (pungli)"
    assert english["calo"] == "Brokers (calo) / brokering"
    assert english["lainnya"] == "Other"
    assert [item["code"] for item in indonesian] == list(english)


async def test_officer_pages_in_english(client, ctx):
    await make_officer(ctx, "tim", ["triage", "auditor"])
    case_number, _code = await file_report(ctx)
    await logged_in(client, ctx, "tim")
    await choose_english(client, "/officer")

    inbox = await client.get("/officer")
    assert_english(inbox, "Inbox", "Case number", "Clear filters", "Illegal levies (pungli)")
    case = await client.get(f"/officer/cases/{case_number}")
    assert_english(
        case, "Change status", "Start verification", "Internal notes", "Case audit trail"
    )
    audit = await client.get("/officer/audit")
    assert_english(audit, "Audit Log", "Report received", "Export CSV")
    account = await client.get("/officer/account")
    assert_english(account, "My Account", "Two-step verification", "Auditor (Inspektorat")

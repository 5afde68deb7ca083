"""Hostile values in a report are refused with a clear 4xx and store nothing; a case whose stored
report already holds such values stays readable (issue 14, item 1, the public side)."""

from __future__ import annotations

import pytest

from tests.support.forms import VALID_REPORT, post_form
from tests.support.officers import logged_in, make_officer
from tests.support.release import publish
from whistle.audit import actions
from whistle.db.tables import AuditEntry, Report, ReportKey, StatusEvent
from whistle.intake import service as intake
from whistle.reports.content import ReportInput

OUT_OF_RANGE_IDS = {"2^63": 2**63, "10^30": 10**30, "2^31": 2**31}
HOSTILE_NUMBERS = {"superscript two": "²", "4,301 digits": "9" * 4_301, "arabic one": "١"}


async def _nothing_stored() -> None:
    assert await Report.count() == 0
    assert await ReportKey.count() == 0
    assert await StatusEvent.count() == 0
    assert await AuditEntry.count().where(AuditEntry.action == actions.REPORT_RECEIVED) == 0


def _refused_field(response, field: str) -> None:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert field in response.json()["errors"]


@pytest.mark.parametrize("officer_id", OUT_OF_RANGE_IDS.values(), ids=OUT_OF_RANGE_IDS.keys())
async def test_api_refuses_excluded_officer_ids_beyond_the_database_range(client, officer_id):
    response = await client.post(
        "/api/v1/reports", json={**VALID_REPORT, "excluded_officers": [officer_id]}
    )
    _refused_field(response, "excluded_officers")
    await _nothing_stored()


@pytest.mark.parametrize("officer_id", OUT_OF_RANGE_IDS.values(), ids=OUT_OF_RANGE_IDS.keys())
async def test_form_refuses_excluded_officer_ids_beyond_the_database_range(client, ctx, officer_id):
    await make_officer(ctx, "tina", ["triage"])  # the form lists exclusions only when any exist
    page = await post_form(client, "/report", {**VALID_REPORT, "excluded_officers": officer_id})
    assert page.status_code == 422
    assert "Pilihan petugas tidak valid." in page.text
    await _nothing_stored()


@pytest.mark.parametrize("value", HOSTILE_NUMBERS.values(), ids=HOSTILE_NUMBERS.keys())
async def test_form_refuses_hostile_numbers_for_amount_and_exclusions(client, ctx, value):
    await make_officer(ctx, "tina", ["triage"])
    amount = await post_form(client, "/report", {**VALID_REPORT, "amount_requested": value})
    assert amount.status_code == 422
    assert "Tulis jumlah dalam angka rupiah" in amount.text
    excluded = await post_form(client, "/report", {**VALID_REPORT, "excluded_officers": value})
    assert excluded.status_code == 422
    assert "Pilihan petugas tidak valid." in excluded.text
    await _nothing_stored()


@pytest.mark.parametrize("value", HOSTILE_NUMBERS.values(), ids=HOSTILE_NUMBERS.keys())
async def test_api_refuses_hostile_numbers_for_amount_and_exclusions(client, value):
    amount = await client.post("/api/v1/reports", json={**VALID_REPORT, "amount_requested": value})
    excluded = await client.post(
        "/api/v1/reports", json={**VALID_REPORT, "excluded_officers": [value]}
    )
    for response in (amount, excluded):
        assert 400 <= response.status_code < 500, response.text
        assert response.headers["content-type"].startswith("application/problem+json")
    await _nothing_stored()


async def test_unicode_digits_are_refused_in_dates_times_and_amounts(client):
    for field, value in (
        ("incident_date", "２０２６-１１-２０"),
        ("incident_time", "０９:３０"),
        ("amount_requested", "５０００００"),
    ):
        page = await post_form(client, "/report", {**VALID_REPORT, field: value})
        assert page.status_code == 422, field
        api = await client.post("/api/v1/reports", json={**VALID_REPORT, field: value})
        assert 400 <= api.status_code < 500, field
    await _nothing_stored()


@pytest.mark.parametrize("character", ["\x00", "\x07", "\x1b", "\x7f"], ids=repr)
async def test_control_characters_are_refused_in_every_text_field(client, character):
    for field in ("description", "location", "persons_involved"):
        text = f"{VALID_REPORT[field]} {character} lagi"
        page = await post_form(client, "/report", {**VALID_REPORT, field: text})
        assert page.status_code == 422, field
        assert "Isian ini memuat karakter yang tidak diizinkan." in page.text
        _refused_field(
            await client.post("/api/v1/reports", json={**VALID_REPORT, field: text}), field
        )
    await _nothing_stored()


async def test_tabs_and_newlines_stay_allowed_in_free_text(client):
    text = "Petugas meminta uang.\r\n\tDua kali,\nlalu pergi."
    created = await client.post("/api/v1/reports", json={**VALID_REPORT, "description": text})
    assert created.status_code == 201, created.text


async def test_a_case_stays_readable_whatever_its_report_excludes(client, ctx):
    """A report stored before the bounds held may name ids beyond any integer column."""
    await make_officer(ctx, "tina", ["triage"])
    receipt = await intake.submit_report(
        ctx,
        ReportInput(
            category="pungli",
            description=VALID_REPORT["description"],
            excluded_officers=list(OUT_OF_RANGE_IDS.values()),
        ),
    )
    await publish(ctx)
    report_id, _ = await intake.unlock_with_code(ctx, receipt.tracking_code)
    number = (await Report.select(Report.case_number).where(Report.id == report_id).first())[
        "case_number"
    ]
    await logged_in(client, ctx, "tina")
    page = await client.get(f"/officer/cases/{number}")
    assert page.status_code == 200
    assert VALID_REPORT["description"] in page.text

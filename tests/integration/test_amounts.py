"""Amounts as Indonesians write them: each is read to the rupiah through the form and the API, or
refused with a message that says what to fix. Never a silent factor of 100 or 1,000."""

from __future__ import annotations

import pytest

from tests.support.forms import VALID_REPORT, post_form, submit_report_form
from whistle.db.tables import Report
from whistle.intake import service

READ = {
    "Rp 1.500.000": ("Rp 1.500.000", 1_500_000),
    "1.500.000,00": ("1.500.000,00", 1_500_000),
    "Rp 1.500.000,00": ("Rp 1.500.000,00", 1_500_000),
    "1,5 juta": ("1,5 juta", 1_500_000),
    "1500000": ("1500000", 1_500_000),
    "Rp1.500.000,-": ("Rp1.500.000,-", 1_500_000),
    "2 jt": ("2 jt", 2_000_000),
    "500 ribu": ("500 ribu", 500_000),
    "rp. 750.000": ("rp. 750.000", 750_000),
    "2,5 jt": ("2,5 jt", 2_500_000),
    "1.5 juta": ("1.5 juta", 1_500_000),
}
REFUSED = {
    "comma thousands 1,500,000": ("1,500,000", "koma pada jumlah ini tidak jelas"),
    "comma thousands 500,000": ("500,000", "koma pada jumlah ini tidak jelas"),
    "sen 1.500.000,50": ("1.500.000,50", "tanpa sen"),
    "dot decimals 1500.50": ("1500.50", "Tulis jumlah dalam angka rupiah"),
    "broken groups 1.50.000": ("1.50.000", "Tulis jumlah dalam angka rupiah"),
    "words with a digit": ("5 ratus ribu", "Tulis jumlah dalam angka rupiah"),
    "unknown unit 2 m": ("2 m", "Tulis jumlah dalam angka rupiah"),
    "too large 11 miliar": ("11 miliar", "Jumlah terlalu besar"),
}


async def _stored_amount(ctx, code: str) -> int | None:
    report_id, data_key = await service.unlock_with_code(ctx, code)
    view = await service.reporter_view(ctx, report_id, data_key)
    return view.report.amount_requested


@pytest.mark.parametrize(("typed", "rupiah"), READ.values(), ids=READ.keys())
async def test_form_reads_the_amount_as_written(client, ctx, typed, rupiah):
    code = await submit_report_form(client, {**VALID_REPORT, "amount_requested": typed})
    assert await _stored_amount(ctx, code) == rupiah


@pytest.mark.parametrize(("typed", "rupiah"), READ.values(), ids=READ.keys())
async def test_api_reads_the_amount_text_as_written(client, ctx, typed, rupiah):
    created = await client.post("/api/v1/reports", json={**VALID_REPORT, "amount_requested": typed})
    assert created.status_code == 201, created.text
    assert await _stored_amount(ctx, created.json()["tracking_code"]) == rupiah


async def test_api_takes_a_json_integer(client, ctx):
    created = await client.post(
        "/api/v1/reports", json={**VALID_REPORT, "amount_requested": 1_500_000}
    )
    assert created.status_code == 201, created.text
    assert await _stored_amount(ctx, created.json()["tracking_code"]) == 1_500_000


@pytest.mark.parametrize(("typed", "message"), REFUSED.values(), ids=REFUSED.keys())
async def test_form_refuses_an_unclear_amount_and_keeps_it(client, typed, message):
    page = await post_form(client, "/report", {**VALID_REPORT, "amount_requested": typed})
    assert page.status_code == 422
    assert message in page.text
    assert f'value="{typed}"' in page.text
    assert await Report.count() == 0


async def test_api_answers_text_without_a_digit_as_a_wrong_type(client):
    response = await client.post(
        "/api/v1/reports", json={**VALID_REPORT, "amount_requested": "lima ratus ribu"}
    )
    assert response.status_code == 400, response.text
    assert await Report.count() == 0


@pytest.mark.parametrize(("typed", "message"), REFUSED.values(), ids=REFUSED.keys())
async def test_api_refuses_an_unclear_amount(client, typed, message):
    response = await client.post(
        "/api/v1/reports", json={**VALID_REPORT, "amount_requested": typed}
    )
    assert response.status_code == 422, response.text
    assert message in response.json()["errors"]["amount_requested"]
    assert await Report.count() == 0

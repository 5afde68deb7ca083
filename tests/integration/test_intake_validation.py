"""Bad input gets a clear message, keeps what was typed, and stores nothing."""

from __future__ import annotations

from tests.support.forms import VALID_REPORT, post_form
from whistle.db.tables import AuditEntry, Report, ReportKey, StatusEvent


async def _nothing_stored() -> None:
    assert await Report.count() == 0
    assert await ReportKey.count() == 0
    assert await StatusEvent.count() == 0
    assert await AuditEntry.count() == 0


async def test_rejected_form_is_shown_again_with_messages_and_typed_values(client):
    typed = {
        **VALID_REPORT,
        "category": "bukan-kategori",
        "description": "pendek",
        "incident_date": "2999-01-01",
        "incident_time": "25:99",
        "amount_requested": "lima ratus",
        "location": "Loket <b>7</b> & ruang tunggu",
    }
    page = await post_form(client, "/report", typed)
    assert page.status_code == 422
    assert "Laporan belum terkirim" in page.text
    for message in (
        "Pilih jenis pelanggaran dari daftar.",
        "Ceritakan sedikit lebih lengkap",
        "Tanggal kejadian tidak boleh di masa depan.",
        "Jam tidak valid",
        "Tulis jumlah dalam angka rupiah",
    ):
        assert message in page.text
    # What was typed comes back (escaped), so nothing has to be typed again.
    assert 'value="Loket &lt;b&gt;7&lt;/b&gt; &amp; ruang tunggu"' in page.text
    assert ">pendek</textarea>" in page.text
    assert 'value="lima ratus"' in page.text
    assert 'aria-invalid="true"' in page.text
    await _nothing_stored()


async def test_overlong_fields_are_refused(client):
    page = await post_form(client, "/report", {**VALID_REPORT, "description": "x" * 10_001})
    assert page.status_code == 422
    assert "Cerita terlalu panjang" in page.text
    await _nothing_stored()


async def test_form_without_csrf_token_is_refused_and_stores_nothing(client):
    await client.get("/report")
    response = await client.post("/report", data=VALID_REPORT)
    assert response.status_code == 403
    await _nothing_stored()


async def test_api_rejects_bad_fields_with_a_problem_document(client):
    response = await client.post(
        "/api/v1/reports",
        json={
            **VALID_REPORT,
            "category": "nope",
            "amount_requested": 1,
            "incident_date": "kemarin",
        },
    )
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["status"] == 422
    assert problem["title"]
    assert set(problem["errors"]) == {"category", "incident_date"}
    await _nothing_stored()


async def test_api_rejects_wrong_types_unknown_fields_and_malformed_json(client):
    wrong_type = await client.post(
        "/api/v1/reports", json={**VALID_REPORT, "amount_requested": "banyak"}
    )
    unknown = await client.post("/api/v1/reports", json={**VALID_REPORT, "reporter_ip": "1.2.3.4"})
    missing = await client.post("/api/v1/reports", json={"category": "pungli"})
    malformed = await client.post(
        "/api/v1/reports", content=b"{not json", headers={"content-type": "application/json"}
    )
    for response in (wrong_type, unknown, missing, malformed):
        assert response.status_code == 400, response.text
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["status"] == 400
    await _nothing_stored()


async def test_oversized_bodies_get_413_and_store_nothing(client):
    huge = "x" * (11 * 1024 * 1024)
    api = await client.post("/api/v1/reports", json={**VALID_REPORT, "description": huge})
    assert api.status_code == 413
    assert api.headers["content-type"].startswith("application/problem+json")
    form = await post_form(client, "/report", {**VALID_REPORT, "description": huge})
    assert form.status_code == 413
    assert "Kiriman terlalu besar" in form.text
    await _nothing_stored()


async def test_unknown_page_and_api_path_get_clear_errors(client):
    page = await client.get("/tidak-ada")
    assert page.status_code == 404
    assert "Halaman tidak ditemukan" in page.text
    api = await client.get("/api/v1/tidak-ada")
    assert api.status_code == 404
    assert api.headers["content-type"].startswith("application/problem+json")

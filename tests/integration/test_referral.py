"""Referrals: the receiving agency chosen from a fixed list, which the reporter sees by its label
in both languages; the officer's free-text detail kept only encrypted under the report key, out
of the audit log; old free-text values migrated to the list."""

from __future__ import annotations

import importlib.util

import anyio

from tests.support.cases import as_officer, file_report, post_case
from tests.support.dump import database_copy
from tests.support.forms import post_form
from tests.support.officers import logged_in, make_officer
from whistle import resources
from whistle.cases import service as cases
from whistle.db import engine as db
from whistle.db.tables import AuditEntry, Report

DETAIL = "Satreskrim Polres REFERRALMARKER7731"


async def _refer(ctx, client, code: str, detail: str):
    await make_officer(ctx, "tia", ["triage"])
    number, tracking_code = await file_report(ctx)
    await cases.apply_transition(ctx, await as_officer(ctx, "tia"), number, "verify", reason="x")
    await logged_in(client, ctx, "tia")
    referred = await post_case(
        client,
        number,
        "transition",
        {
            "transition": "refer",
            "reason": "Bukan kewenangan kantor",
            "referred_to": code,
            "referral_detail": detail,
        },
    )
    return number, tracking_code, referred


async def test_referral_detail_is_encrypted_and_the_reporter_sees_the_agency(
    client, ctx, settings, templates
):
    number, code, referred = await _refer(ctx, client, "other", DETAIL)
    assert referred.status_code == 200, referred.text
    # The officer reads both on the case page.
    assert "Instansi lain yang berwenang" in referred.text and DETAIL in referred.text
    row = await Report.select(Report.referred_to).where(Report.case_number == number).first()
    assert row["referred_to"] == "other"

    stored = await anyio.to_thread.run_sync(database_copy, settings, templates.postgres)
    assert number.encode() in stored, "the copy holds the case"
    assert b"REFERRALMARKER7731" not in stored
    assert "REFERRALMARKER7731".encode("utf-16-le") not in stored
    entries = [str(row) for row in await AuditEntry.select()]
    assert any("case.status_changed" in entry and '"other"' in entry for entry in entries)
    assert not any("REFERRALMARKER7731" in entry for entry in entries)

    client.cookies.clear()
    page = await post_form(client, "/track", {"tracking_code": code})
    assert "Instansi lain yang berwenang" in page.text
    assert "REFERRALMARKER7731" not in page.text
    session = await client.post("/api/v1/session", json={"tracking_code": code})
    bearer = {"Authorization": f"Bearer {session.json()['token']}"}
    view = (await client.get("/api/v1/report", headers=bearer)).json()
    assert view["referred_to"] == "other"
    assert view["referred_to_label"] == "Instansi lain yang berwenang"
    await client.get("/bahasa?lang=en&next=/")
    english = await client.get("/api/v1/report", headers=bearer)
    assert english.json()["referred_to_label"] == "Another competent agency"
    assert "REFERRALMARKER7731" not in english.text


async def test_referral_must_come_from_the_list(client, ctx):
    number, _, refused = await _refer(ctx, client, "Ombudsman RI", "")
    assert refused.status_code == 422
    assert "Pilih instansi yang menerima pelimpahan." in refused.text
    # "Another agency" needs its name in the detail.
    other = await post_case(
        client,
        number,
        "transition",
        {"transition": "refer", "reason": "x", "referred_to": "other", "referral_detail": " "},
    )
    assert other.status_code == 422
    assert "Sebutkan instansi yang menerima pelimpahan." in other.text
    row = await Report.select(Report.status).where(Report.case_number == number).first()
    assert row["status"] == "verification"


async def test_old_free_text_is_mapped_to_the_list(ctx):
    numbers = [(await file_report(ctx))[0] for _ in range(4)]
    old = ["KPK", " ombudsman ri ", "Inspektorat Jenderal", "Polres Contoh unit 3"]
    for number, value in zip(numbers, old, strict=True):
        await Report.update({Report.referred_to: value}).where(Report.case_number == number)
    path = resources.MIGRATIONS_DIR / "whistle_2026_11_29t02_00_00_000000.py"
    spec = importlib.util.spec_from_file_location("referral_migration", path)
    assert spec and spec.loader
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    await db.fetch(migration._mapping())
    mapped = {
        row["case_number"]: row["referred_to"]
        for row in await Report.select(Report.case_number, Report.referred_to)
    }
    assert [mapped[number] for number in numbers] == [
        "kpk",
        "ombudsman",
        "inspektorat_jenderal",
        "other",
    ]

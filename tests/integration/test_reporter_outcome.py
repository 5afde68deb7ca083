"""The reporter sees the result: for every terminal status, in both languages, the status page
and the API give the outcome's label (never its code), what happens next (for a referral: to
whom and what the reporter can do) and, while the case is open, the dates the office committed to.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from tests.support.cases import as_officer, file_report
from tests.support.forms import post_form
from tests.support.officers import make_officer
from whistle.cases import service as cases
from whistle.db.tables import Report

# Each terminal status and the moves that reach it (with their values).
PATHS = {
    "concluded": [
        ("verify", {}),
        ("investigate", {}),
        ("conclude", {"outcome": "substantiated_discipline"}),
    ],
    "not_actionable": [("verify", {}), ("not_actionable", {})],
    "referred": [("verify", {}), ("refer", {"referred_to": "ombudsman"})],
    "archived": [("verify", {}), ("refer", {"referred_to": "kpk"}), ("archive", {})],
}
# What the reporter must read, per status and language.
EXPECTED = {
    ("concluded", "id"): [
        "Selesai",
        "Terbukti - pelanggaran disiplin",
        "peraturan disiplin pegawai",
        "Penanganan laporan ini sudah selesai",
    ],
    ("concluded", "en"): [
        "Concluded",
        "Substantiated - disciplinary breach",
        "civil service discipline",
        "Handling of this report is complete",
    ],
    ("not_actionable", "id"): ["Tidak Dapat Ditindaklanjuti", "pengaduan baru yang lebih lengkap"],
    ("not_actionable", "en"): ["Not Actionable", "a new, fuller report"],
    ("referred", "id"): [
        "Dilimpahkan",
        "Ombudsman Republik Indonesia",
        "hubungi instansi tersebut",
    ],
    ("referred", "en"): ["Referred", "Ombudsman of the Republic of Indonesia", "contact that body"],
    ("archived", "id"): [
        "Diarsipkan",
        "Komisi Pemberantasan Korupsi",
        "Tidak ada tindak lanjut lagi",
    ],
    ("archived", "en"): ["Archived", "Corruption Eradication Commission", "no further follow-up"],
}
CODES = ["substantiated_discipline", "not_actionable", "referred", "archived", "concluded"]


def _visible_words(html: str) -> set[str]:
    """The words a reader sees: markup (class names included) left out."""
    return set(re.sub(r"<[^>]+>", " ", html).split())


async def _walk(ctx, status: str) -> str:
    await make_officer(ctx, "tia", ["triage"])
    number, code = await file_report(ctx)
    officer = await as_officer(ctx, "tia")
    for name, values in PATHS[status]:
        await cases.apply_transition(
            ctx, officer, number, name, reason="alasan tertulis", public_note=None, **values
        )
    return code


@pytest.mark.parametrize("language", ["id", "en"])
@pytest.mark.parametrize("status", PATHS)
async def test_status_page_shows_outcome_and_next_steps(client, ctx, status, language):
    code = await _walk(ctx, status)
    if language == "en":
        await client.get("/bahasa?lang=en&next=/")
    page = await post_form(client, "/track", {"tracking_code": code})
    assert page.status_code == 200, page.text
    for text in EXPECTED[(status, language)]:
        assert text in page.text, text
    # English prose may say "referred"; a code with an underscore is never prose.
    codes = set(CODES) if language == "id" else {code for code in CODES if "_" in code}
    assert not _visible_words(page.text) & codes


@pytest.mark.parametrize("language", ["id", "en"])
@pytest.mark.parametrize("status", PATHS)
async def test_api_shows_outcome_and_next_steps(client, ctx, status, language):
    code = await _walk(ctx, status)
    if language == "en":
        await client.get("/bahasa?lang=en&next=/")
    session = await client.post("/api/v1/session", json={"tracking_code": code})
    token = session.json()["token"]
    view = (await client.get("/api/v1/report", headers={"Authorization": f"Bearer {token}"})).json()
    said = " ".join(
        str(view[key])
        for key in (
            "status_label",
            "next_steps",
            "outcome_label",
            "outcome_explanation",
            "referred_to_label",
        )
    )
    for text in EXPECTED[(status, language)]:
        assert text in said, text
    assert view["status"] == status


async def test_open_case_shows_the_dates_the_office_committed_to(client, ctx):
    await make_officer(ctx, "tia", ["triage"])
    number, code = await file_report(ctx)
    row = await Report.select(Report.acknowledge_due).where(Report.case_number == number).first()
    page = await post_form(client, "/track", {"tracking_code": code})
    assert "Tim WBS menanggapi paling lambat" in page.text
    assert (
        f"paling lambat {ctx.settings.feedback_days} hari setelah laporan ditanggapi" in page.text
    )
    due = row["acknowledge_due"] + timedelta(hours=7)
    assert f"{due.day} " in page.text

    officer = await as_officer(ctx, "tia")
    await cases.apply_transition(ctx, officer, number, "verify", reason="mulai")
    page = await client.get("/track/report")
    assert "Ditanggapi Tim WBS" in page.text
    assert "Hasil penanganan paling lambat" in page.text


async def test_a_wrong_code_comes_back_in_the_field_so_one_typo_is_one_fix(client, ctx):
    _number, code = await file_report(ctx)
    typo = code[:-1] + ("0" if code[-1] != "0" else "1")
    refused = await post_form(client, "/track", {"tracking_code": typo})
    assert refused.status_code == 401
    assert f'value="{typo}"' in refused.text
    # Fixing the one wrong character opens the report.
    page = await post_form(client, "/track", {"tracking_code": code})
    assert page.status_code == 200
    assert "Status Laporan Anda" in page.text


async def test_a_refused_code_comes_back_escaped_and_bounded(client):
    refused = await post_form(client, "/track", {"tracking_code": '"><b>x' + "A" * 100})
    assert refused.status_code == 401
    assert "&#34;&gt;&lt;b&gt;x" in refused.text and "<b>x" not in refused.text
    assert "A" * 41 not in refused.text

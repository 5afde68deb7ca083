"""The officer side of issue 12: one "case opened" line per case per session, error pages in the
officer layout leading to the officer's start page, the inbox preview and look-alike marks."""

from __future__ import annotations

from tests.support.cases import as_officer, file_report
from tests.support.officers import logged_in, make_officer
from whistle.audit import actions
from whistle.cases import service as cases
from whistle.cases.inbox import PREVIEW_CHARACTERS, preview_of
from whistle.db.tables import AuditEntry, SessionCaseView, WebSession


async def _openings(case_number: str) -> list[str]:
    rows = await AuditEntry.select(AuditEntry.actor).where(
        (AuditEntry.action == actions.CASE_OPENED) & (AuditEntry.case_number == case_number)
    )
    return [row["actor"] for row in rows]


async def test_repeated_views_in_one_session_leave_one_audit_line(client, ctx):
    await make_officer(ctx, "tina", ["triage"])
    await make_officer(ctx, "tono", ["triage"])
    number, _ = await file_report(ctx)
    other, _ = await file_report(ctx)
    await logged_in(client, ctx, "tina")
    for _ in range(3):
        assert (await client.get(f"/officer/cases/{number}")).status_code == 200
    assert await _openings(number) == ["tina"]
    # Another case is its own first view.
    assert (await client.get(f"/officer/cases/{other}")).status_code == 200
    assert await _openings(other) == ["tina"]
    # A new session (signing in again) logs the next view again; another officer is their own.
    await logged_in(client, ctx, "tina")
    await client.get(f"/officer/cases/{number}")
    await client.get(f"/officer/cases/{number}")
    tono = await as_officer(ctx, "tono")
    await cases.open_case(ctx, tono, number)
    await cases.open_case(ctx, tono, number)
    assert await _openings(number) == ["tina", "tina", "tono"]


async def test_the_marks_go_with_the_session(client, ctx):
    await make_officer(ctx, "tina", ["triage"])
    number, _ = await file_report(ctx)
    await logged_in(client, ctx, "tina")
    await client.get(f"/officer/cases/{number}")
    assert await SessionCaseView.count() == 1
    page = await client.get("/officer")
    token = page.text.split('name="_csrf_token" value="')[1].split('"')[0]
    await client.post("/officer/logout", data={"_csrf_token": token})
    assert await WebSession.count() == 0
    assert await SessionCaseView.count() == 0


async def test_refused_pages_under_officer_keep_the_officer_layout(client, ctx):
    await make_officer(ctx, "audi", ["auditor"])
    await logged_in(client, ctx, "audi")
    refused = await client.get("/officer/admin/officers")  # administrators only
    assert refused.status_code == 403
    assert 'href="/officer/start"' in refused.text
    assert "Kembali ke beranda" not in refused.text
    assert 'href="/officer/audit"' in refused.text  # the officer's own menu
    assert "<title>Kesalahan: Akses ditolak" in refused.text
    missing = await client.get("/officer/no-such-page")
    assert missing.status_code == 404
    assert 'href="/officer/start"' in missing.text
    assert 'href="/officer/cases"' not in missing.text
    # The start page is the one login lands on for the officer's roles.
    start = await client.get("/officer/start", follow_redirects=False)
    assert (start.status_code, start.headers["location"]) == (303, "/officer/audit")


async def test_public_error_pages_keep_the_public_layout(client):
    missing = await client.get("/no-such-page")
    assert missing.status_code == 404
    assert "Kembali ke beranda" in missing.text
    assert "/officer/start" not in missing.text


LONG = (
    "Petugas loket dua meminta uang tambahan sebesar tiga ratus ribu rupiah agar wawancara "
    "paspor saya didahulukan, dan menyebut bahwa semua pemohon yang ingin cepat harus membayar."
)


def _row_of(html: str, case_number: str) -> str:
    start = html.index(f">{case_number}</a>")
    return html[start : html.index("</tr>", start)]


async def test_the_inbox_previews_and_marks_reports_that_look_alike(client, ctx):
    await make_officer(ctx, "tina", ["triage"])
    first, _ = await file_report(ctx, location="Loket 2", description=LONG)
    second, _ = await file_report(ctx, location="  loket 2. ", description="Diminta uang di loket.")
    other_kind, _ = await file_report(ctx, category="calo", location="Loket 2")
    other_place, _ = await file_report(ctx, location="Parkiran")
    await logged_in(client, ctx, "tina")
    audit_before = await AuditEntry.count()
    page = (await client.get("/officer")).text

    row = _row_of(page, first)
    assert LONG[:80] in row and LONG not in row, "a preview, not the whole description"
    assert "…" in row
    assert "Diminta uang di loket." in _row_of(page, second)
    # Same category, same place once normalised, same week: one mark for both.
    assert "Mirip A" in row and "Mirip A" in _row_of(page, second)
    assert "Mirip" not in _row_of(page, other_kind)
    assert "Mirip" not in _row_of(page, other_place)
    # Reading the inbox writes nothing (no audit line, nothing kept).
    assert await AuditEntry.count() == audit_before


async def test_the_preview_is_only_for_officers_holding_the_key(client, ctx):
    await make_officer(ctx, "tina", ["triage"])
    number, _ = await file_report(ctx, description=LONG)
    await make_officer(ctx, "ivan", ["investigator"])  # holds no key to it
    await logged_in(client, ctx, "ivan")
    page = (await client.get("/officer")).text
    assert number not in page and LONG[:40] not in page


def test_previews_cut_at_a_word_and_say_so():
    assert preview_of("pendek  sekali\nteks") == "pendek sekali teks"
    cut = preview_of(LONG)
    assert len(cut) <= PREVIEW_CHARACTERS + 1 and cut.endswith("…")
    assert LONG.startswith(cut[:-1])
    assert LONG[len(cut) - 1] == " ", "cut where a word ends"

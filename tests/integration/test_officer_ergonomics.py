"""Officer ergonomics: refused forms say why, each role lands on its own start page,
destructive administration asks first and says what will be lost."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta

import pytest

from tests.conftest import OFFICE_PASSPHRASE
from tests.integration.test_officers_account import post, secret_from
from tests.integration.test_officers_login import audit_rows, login
from tests.support.cases import as_officer, file_report, post_case
from tests.support.forms import csrf_token
from tests.support.officers import DEFAULT_PASSWORD, logged_in, make_officer
from whistle.cases import service as cases
from whistle.db.tables import CaseAssignment, CaseNote, Officer, Report, ReportKey, WebSession
from whistle.officers import admin, recovery, recovery_codes, totp
from whistle.reports.envelope import holder_tag

RECOVERY_CODE = re.compile(r"<li><code>([0-9A-Z]{5}-[0-9A-Z]{5})</code></li>")


async def test_new_officer_form_shows_the_display_name_message(client, ctx):
    await make_officer(ctx, "root", ["admin"])
    await logged_in(client, ctx, "root")
    refused = await post(
        client,
        "/officer/admin/officers/new",
        {
            "username": "budi",
            "display_name": "x" * 200,
            "roles": "auditor",
            "password": "a long and unusual passphrase 43",
        },
        "/officer/admin/officers/new",
    )
    assert refused.status_code == 422
    assert 'id="display_name-error"' in refused.text
    assert "terlalu panjang" in refused.text
    assert 'value="budi"' in refused.text
    assert await Officer.count().where(Officer.username == "budi") == 0


@pytest.mark.parametrize("action", ["unassign", "revoke"])
async def test_refused_inline_colleague_form_says_why(client, ctx, action):
    await make_officer(ctx, "siti", ["triage"])
    investigator = await make_officer(ctx, "budi", ["investigator"])
    number, _ = await file_report(ctx)
    await cases.assign(await as_officer(ctx, "siti"), number, str(investigator))
    await logged_in(client, ctx, "siti")
    before = (await CaseAssignment.count(), await ReportKey.count())

    refused = await post_case(client, number, action, {"officer_id": "not-a-number"})
    assert refused.status_code == 422
    assert f'id="{action}-error"' in refused.text
    assert "Pilih petugas dari daftar." in refused.text
    assert (await CaseAssignment.count(), await ReportKey.count()) == before


@pytest.mark.parametrize(
    ("roles", "start"),
    [
        (["triage"], "/officer"),
        (["investigator"], "/officer"),
        (["admin"], "/officer/admin/officers"),
        (["auditor"], "/officer/audit"),
    ],
)
async def test_each_role_lands_on_its_start_page(client, ctx, roles, start):
    await make_officer(ctx, "siti", roles)
    landed = await login(client, "siti")
    assert landed.status_code == 303
    assert landed.headers["location"] == start
    page = await client.get("/officer")
    assert page.status_code == 200
    assert page.url.path == start
    assert "Akses ditolak" not in page.text


async def test_reset_and_disable_ask_first_and_say_what_is_lost(client, ctx):
    await make_officer(ctx, "root", ["admin"])
    budi = await make_officer(ctx, "budi", ["triage"])
    await file_report(ctx)
    await file_report(ctx)
    await logged_in(client, ctx, "root")
    before = await Officer.objects().where(Officer.id == budi).first()

    detail = await client.get(f"/officer/admin/officers/{budi}")
    assert f'href="/officer/admin/officers/{budi}/reset-password"' in detail.text
    assert f'href="/officer/admin/officers/{budi}/disable"' in detail.text
    assert f'action="/officer/admin/officers/{budi}/disable"' not in detail.text

    asked = await client.get(f"/officer/admin/officers/{budi}/reset-password")
    assert asked.status_code == 200
    assert "Pasangan kunci petugas ini" in asked.text
    assert "Kunci kasus yang dipegang: <strong>2</strong>" in asked.text
    # A post that did not come from the confirmation page only shows it: nothing changes.
    unconfirmed = await post(
        client,
        f"/officer/admin/officers/{budi}/reset-password",
        {"password": "a temporary passphrase 2026 x"},
        f"/officer/admin/officers/{budi}",
    )
    assert unconfirmed.status_code == 200 and "Ya, reset kata sandi" in unconfirmed.text
    unchanged = await Officer.objects().where(Officer.id == budi).first()
    assert unchanged.password_hash == before.password_hash
    assert unchanged.public_key == before.public_key

    asked = await client.get(f"/officer/admin/officers/{budi}/disable")
    assert "Kunci kasus yang dipegang: <strong>2</strong>" in asked.text
    unconfirmed = await post(
        client, f"/officer/admin/officers/{budi}/disable", {}, f"/officer/admin/officers/{budi}"
    )
    assert unconfirmed.status_code == 200 and "Ya, nonaktifkan" in unconfirmed.text
    assert (await Officer.objects().where(Officer.id == budi).first()).active
    assert await ReportKey.count().where(ReportKey.holder_tag == holder_tag(budi)) == 2

    confirmed = await post(
        client,
        f"/officer/admin/officers/{budi}/disable",
        {"confirm": "yes"},
        f"/officer/admin/officers/{budi}/disable",
    )
    assert confirmed.status_code == 303
    assert not (await Officer.objects().where(Officer.id == budi).first()).active
    assert await ReportKey.count().where(ReportKey.holder_tag == holder_tag(budi)) == 0


async def test_recovery_codes_are_regenerated_after_password_and_current_code(client, ctx):
    officer_id = await make_officer(ctx, "siti", ["triage"])
    await login(client, "siti")
    secret = secret_from(await client.get("/officer/account/totp"))
    step = totp.current_step()
    first = await post(
        client,
        "/officer/account/totp",
        {"code": totp.code_for(secret, step)},
        "/officer/account/totp",
    )
    old_codes = RECOVERY_CODE.findall(first.text)
    assert len(old_codes) == 10
    page = "/officer/account/recovery-codes"
    assert (
        'href="/officer/account/recovery-codes"' in (await client.get("/officer/account/totp")).text
    )

    wrong_password = await post(
        client, page, {"password": "nope nope nope", "code": totp.code_for(secret, step + 1)}, page
    )
    assert wrong_password.status_code == 422 and "Kata sandi salah" in wrong_password.text
    # A recovery code is not a current code from the app.
    no_app_code = await post(
        client, page, {"password": DEFAULT_PASSWORD, "code": old_codes[0]}, page
    )
    assert no_app_code.status_code == 422 and "Kode verifikasi salah" in no_app_code.text
    # The code used at enrolment cannot be used again.
    replayed = await post(
        client, page, {"password": DEFAULT_PASSWORD, "code": totp.code_for(secret, step)}, page
    )
    assert replayed.status_code == 422
    assert await audit_rows("officer.recovery_codes_regenerated") == []

    renewed = await post(
        client, page, {"password": DEFAULT_PASSWORD, "code": totp.code_for(secret, step + 1)}, page
    )
    assert renewed.status_code == 200 and "Kode pemulihan baru" in renewed.text
    new_codes = RECOVERY_CODE.findall(renewed.text)
    assert len(new_codes) == 10 and not set(new_codes) & set(old_codes)
    assert [r["actor"] for r in await audit_rows("officer.recovery_codes_regenerated")] == ["siti"]
    entry = (await audit_rows("officer.recovery_codes_regenerated"))[0]
    assert not any(code in str(entry) for code in new_codes)

    # Old codes stop working at login; a new one works, once.
    client.cookies.clear()
    assert (await login(client, "siti", code=old_codes[1])).status_code == 401
    assert (await login(client, "siti", code=new_codes[0])).status_code == 303
    assert await recovery_codes.remaining(officer_id) == 9


async def test_admin_page_lists_officers_without_access_to_existing_cases(client, ctx):
    await make_officer(ctx, "root", ["admin"])
    await make_officer(ctx, "tia", ["triage"])
    await file_report(ctx)
    await logged_in(client, ctx, "root")
    listing = await client.get("/officer/admin/officers")
    assert 'id="awaiting-tia"' not in listing.text  # intake sealed the case to her

    # A triage officer added after the report exists: her inbox would be empty.
    await make_officer(ctx, "budi", ["triage"])
    # One made an investigator through the second-person path, with nothing assigned: nothing
    # to hold, not listed.
    await make_officer(ctx, "rina", ["auditor"])
    await admin.set_roles(
        ctx, await _id("rina"), ["investigator"], actor="root", office_passphrase=OFFICE_PASSPHRASE
    )
    listing = await client.get("/officer/admin/officers")
    assert 'id="awaiting-budi"' in listing.text
    assert "whistle keys recover --officer budi" in listing.text
    assert 'id="awaiting-rina"' not in listing.text and 'id="awaiting-tia"' not in listing.text

    assert await recovery.recover_keys(ctx, "budi", OFFICE_PASSPHRASE) == 1
    listing = await client.get("/officer/admin/officers")
    assert 'id="awaiting-budi"' not in listing.text
    number = (await Report.select(Report.case_number).first())["case_number"]
    view = await cases.open_case(ctx, await as_officer(ctx, "budi"), number)
    assert view.report.description


async def _id(username: str) -> int:
    return (await Officer.select(Officer.id).where(Officer.username == username).first())["id"]


NOTE_TEXT = "Rekaman CCTV loket 3 DRAFTMARKER4417 sudah diminta"


async def test_a_note_typed_when_the_session_expired_comes_back_after_login(client, ctx, caplog):
    await make_officer(ctx, "tia", ["triage"])
    number, _ = await file_report(ctx)
    await login(client, "tia")
    case_page = f"/officer/cases/{number}"
    token = await csrf_token(client, case_page)
    # The session passes its idle timeout while the note is being written.
    await WebSession.update(
        {WebSession.last_seen_at: datetime.now(UTC) - timedelta(hours=2)}, force=True
    )

    sent = await client.post(
        f"{case_page}/notes",
        data={"body": NOTE_TEXT, "_csrf_token": token},
        follow_redirects=False,
    )
    assert sent.status_code == 401
    assert 'name="draft"' in sent.text and "Sesi Anda sudah berakhir" in sent.text
    assert "DRAFTMARKER4417" not in sent.text  # sealed, not shown
    assert await CaseNote.count() == 0
    draft = re.search(r'name="draft" value="([A-Za-z0-9_-]+)"', sent.text).group(1)

    landed = await client.post(
        "/officer/login",
        data={
            "username": "tia",
            "password": DEFAULT_PASSWORD,
            "next": case_page,
            "draft": draft,
            "_csrf_token": token,
        },
        follow_redirects=False,
    )
    assert landed.status_code == 303 and landed.headers["location"] == case_page
    assert "DRAFTMARKER4417" not in landed.headers["location"]
    # Kept only encrypted on the new session row.
    rows = [str(row) for row in await WebSession.select()]
    assert rows and not any("DRAFTMARKER4417" in row for row in rows)

    page = await client.get(case_page)
    assert page.status_code == 200
    assert 'id="restored"' in page.text and NOTE_TEXT in page.text
    assert await CaseNote.count() == 0  # not saved until sent again
    # Shown once.
    again = await client.get(case_page)
    assert 'id="restored"' not in again.text and NOTE_TEXT not in again.text
    assert "DRAFTMARKER4417" not in caplog.text


async def test_a_draft_is_never_kept_with_secrets_nor_opened_when_forged(ctx):
    from whistle.web import drafts

    key = ctx.keyring.draft_key
    values = drafts._kept(
        {"body": "x", "password": "p", "current_password": "p", "code": "1", "_csrf_token": "t"}
    )
    assert values == {"body": "x"}
    sealed = drafts.seal(key, drafts.Draft("/officer/cases/a/notes", "/officer/cases/a", values))
    assert sealed and drafts.open_sealed(key, sealed) is not None
    assert drafts.open_sealed(key, sealed[:-2] + "AA") is None
    assert drafts.open_sealed(b"k" * 32, sealed) is None
    late = time.time() + (drafts.DRAFT_MINUTES + 1) * 60
    assert drafts.open_sealed(key, sealed, now=late) is None


async def test_a_status_change_typed_when_the_session_expired_reopens_its_form(client, ctx):
    await make_officer(ctx, "tia", ["triage"])
    number, _ = await file_report(ctx)
    await login(client, "tia")
    case_page = f"/officer/cases/{number}"
    token = await csrf_token(client, case_page)
    await WebSession.update(
        {WebSession.last_seen_at: datetime.now(UTC) - timedelta(hours=2)}, force=True
    )
    reason = "Bukti awal cukup REASONMARKER"
    sent = await client.post(
        f"{case_page}/transition",
        data={"transition": "verify", "reason": reason, "_csrf_token": token},
        follow_redirects=False,
    )
    assert sent.status_code == 401
    draft = re.search(r'name="draft" value="([A-Za-z0-9_-]+)"', sent.text).group(1)
    # A wrong password first: the draft stays on the login page.
    refused = await client.post(
        "/officer/login",
        data={"username": "tia", "password": "wrong wrong wrong", "draft": draft,
              "_csrf_token": token},
    )  # fmt: skip
    assert f'name="draft" value="{draft}"' in refused.text
    landed = await client.post(
        "/officer/login",
        data={"username": "tia", "password": DEFAULT_PASSWORD, "draft": draft,
              "_csrf_token": token},
        follow_redirects=False,
    )  # fmt: skip
    assert landed.headers["location"] == case_page
    page = await client.get(case_page)
    assert 'id="restored"' in page.text
    assert re.search(r'<details class="case-form" open>\s*<summary>[^<]*Verifikasi', page.text)
    assert f">{reason}</textarea>" in page.text
    row = await Report.select(Report.status).where(Report.case_number == number).first()
    assert row["status"] == "received"

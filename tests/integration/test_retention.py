"""Retention (issue 11 item 2): past its period a closed case's content and every wrap of its key
are destroyed, nothing in keys/ opens it again, the statistics still count it, a legal hold
keeps it, and a dry run changes nothing. Both engines."""

from __future__ import annotations

import asyncio
import dataclasses
import os
from datetime import UTC, datetime, timedelta

import pytest

from tests.conftest import OFFICE_PASSPHRASE
from tests.support.cases import as_officer, attach_text_file, file_report, post_case
from tests.support.cli import whistle
from tests.support.dump import database_copy
from tests.support.forms import VALID_REPORT, post_form
from tests.support.officers import logged_in, make_officer
from tests.support.release import publish
from whistle.audit.verify import verify_chain
from whistle.cases import retention
from whistle.cases import service as cases
from whistle.context import Context
from whistle.crypto import Keyring
from whistle.db.tables import (
    Attachment,
    AttachmentChunk,
    AuditEntry,
    CaseMessage,
    CaseNote,
    IdentityReveal,
    LegalHold,
    PendingChunk,
    PendingItem,
    Recusal,
    Report,
    ReporterIdentity,
    ReportKey,
    StatusEvent,
)
from whistle.errors import Conflict, ValidationFailed
from whistle.evidence import store as evidence
from whistle.intake import service as intake
from whistle.jobs.runner import run_due_jobs
from whistle.reports import envelope
from whistle.transparency import statistics

NOW = datetime.now(UTC)
SECRET_NOTE = "Catatan rahasia tentang saksi Pak Joko"
PUBLIC_NOTE = "Terima kasih, laporan tidak dapat ditindaklanjuti."
HOLD_REASON = "Diminta penyidik Polri untuk perkara pidana"


def after_days(days: int) -> datetime:
    return NOW + timedelta(days=days + 1)


async def close_as_not_actionable(ctx: Context, number: str) -> None:
    lead = await as_officer(ctx, "lead")
    await cases.apply_transition(ctx, lead, number, "verify", reason="Mulai cek.")
    await cases.add_note(lead, number, SECRET_NOTE)
    await cases.apply_transition(
        ctx,
        lead,
        number,
        "not_actionable",
        reason="Bukti tidak cukup untuk ditindaklanjuti.",
        public_note=PUBLIC_NOTE,
    )


async def conclude(ctx: Context, number: str) -> None:
    lead = await as_officer(ctx, "lead")
    await cases.apply_transition(ctx, lead, number, "verify", reason="Mulai cek.")
    await cases.apply_transition(ctx, lead, number, "investigate", reason="Layak diperiksa.")
    await cases.apply_transition(
        ctx, lead, number, "conclude", reason="Terbukti.", outcome="not_substantiated"
    )


async def report_id(number: str):
    row = await Report.select(Report.id).where(Report.case_number == number).first()
    return row["id"]


async def stored_secrets(number: str) -> list[bytes]:
    """Every ciphertext and wrap stored for the case."""
    rid = await report_id(number)
    blobs = [(await Report.select(Report.content).where(Report.id == rid).first())["content"]]
    for event in await StatusEvent.select().where(StatusEvent.report == rid):
        blobs += [event["reason"], event["public_note"]]
    blobs += [n["body"] for n in await CaseNote.select().where(CaseNote.report == rid)]
    blobs += [r["reason"] for r in await Recusal.select().where(Recusal.report == rid)]
    blobs += [m["body"] for m in await CaseMessage.select().where(CaseMessage.report == rid)]
    blobs += [
        i["body"] for i in await ReporterIdentity.select().where(ReporterIdentity.report == rid)
    ]
    blobs += [
        r["reason"] for r in await IdentityReveal.select().where(IdentityReveal.report == rid)
    ]
    blobs += [w["wrapped"] for w in await ReportKey.select().where(ReportKey.report == rid)]
    return [bytes(blob) for blob in blobs if blob]


def figures(stats: statistics.Statistics) -> dict:
    return {k: v for k, v in dataclasses.asdict(stats).items() if k != "computed_at"}


async def _pending_reporter_file(ctx: Context, code: str):
    """A small file the reporter sent on the status page, waiting for the release; its id."""
    text = b"bukti pelapor\n"

    async def pieces():
        yield text

    report_id, data_key = await intake.unlock_with_code(ctx, code)
    budget = evidence.Budget(files=1, bytes=len(text), file_bytes=len(text))
    sealed = await evidence.receive_file(
        report_id, data_key, "bukti.txt", pieces(), budget, datetime.now(UTC)
    )
    await intake.add_evidence(ctx, [sealed])
    return sealed.id


async def test_purge_shreds_the_content_and_keeps_the_statistics(ctx, templates):
    await make_officer(ctx, "lead", ["triage"])
    await make_officer(ctx, "rina", ["triage"])
    gone, gone_code = await file_report(ctx)
    await close_as_not_actionable(ctx, gone)
    rina = await as_officer(ctx, "rina")
    await cases.recuse(rina, gone, "Terlapor adalah sepupu saya.")
    # The dialogue and an identity the reporter gave, asked to be revealed.
    lead = await as_officer(ctx, "lead")
    await cases.send_message(lead, gone, "Di loket mana kejadiannya?")
    rid, data_key = await intake.unlock_with_code(ctx, gone_code)
    await intake.send_reporter_message(ctx, rid, data_key, "Loket 3, pagi hari.")
    await intake.give_identity(ctx, rid, data_key, "Budi Santoso", "0812 0000 0000")
    await publish(ctx)
    await cases.request_identity_reveal(lead, gone, "Saksi diperlukan untuk sidang.")
    assert await CaseMessage.count().where(CaseMessage.report == rid) == 2
    # Evidence: an officer's file (published chunks) and a reporter's still waiting (pending).
    officer_file = await attach_text_file(ctx, "lead", gone)
    pending_file = await _pending_reporter_file(ctx, gone_code)
    file_chunks = [bytes(c["data"]) for c in await AttachmentChunk.select(AttachmentChunk.data)]
    assert file_chunks and await PendingChunk.count() == 1
    kept, _ = await file_report(ctx)
    await conclude(ctx, kept)  # five years: not due a year on
    still_open, _ = await file_report(ctx)
    secrets_of_gone = await stored_secrets(gone)
    # Content, reasons, public note, note, recusal, two messages, identity, reveal reason, wraps.
    assert len(secrets_of_gone) >= 12
    before = {number: await stored_secrets(number) for number in (kept, still_open)}
    stats_before = await statistics.compute(NOW)

    result = await retention.purge(ctx, after_days(ctx.settings.not_actionable_retention_days))

    assert [case.case_number for case in result.cases] == [gone]
    assert (result.due, result.purged) == (1, 1)
    gone_id = await report_id(gone)
    assert await ReportKey.count().where(ReportKey.report == gone_id) == 0
    assert await stored_secrets(gone) == []
    assert await CaseMessage.count().where(CaseMessage.report == gone_id) == 0
    assert await ReporterIdentity.count().where(ReporterIdentity.report == gone_id) == 0
    # Its evidence goes whole: chunks, file rows, pending chunks and the pending file's item.
    assert await AttachmentChunk.count().where(AttachmentChunk.attachment == officer_file) == 0
    assert await Attachment.count().where(Attachment.report == gone_id) == 0
    assert await PendingChunk.count().where(PendingChunk.upload == pending_file) == 0
    assert not await PendingItem.exists().where(PendingItem.id == pending_file)
    row = await Report.select().where(Report.id == gone_id).first()
    assert row["purged_at"] is not None
    assert (row["status"], row["category"]) == ("not_actionable", VALID_REPORT["category"])
    # Nothing in the database copy a thief would get holds any of it (SQLite: file and WAL).
    copy = database_copy(ctx.settings, templates.postgres)
    assert not [blob for blob in secrets_of_gone + file_chunks if blob in copy]
    # Not even the office recovery key opens it: there is no wrap left to open.
    office_key = Keyring.load(ctx.settings.keys_dir).unlock_office_private_key(OFFICE_PASSPHRASE)
    assert await envelope.office_data_key(gone_id, office_key) is None
    # The other cases are untouched; the statistics count every case as before.
    assert {number: await stored_secrets(number) for number in (kept, still_open)} == before
    assert figures(await statistics.compute(NOW)) == figures(stats_before)
    # One audit entry, without content, and the chain verifies.
    [entry] = await AuditEntry.select().where(AuditEntry.action == "case.purged")
    assert entry["case_number"] == gone
    assert SECRET_NOTE not in entry["details"] and "Pak Joko" not in entry["details"]
    assert (await verify_chain()).ok

    # The reporter still opens it with the code and reads that the content was destroyed.
    rid, data_key = await intake.unlock_with_code(ctx, gone_code)
    view = await intake.reporter_view(ctx, rid, data_key)
    assert (view.report, view.status, view.purged_at) == (None, "not_actionable", row["purged_at"])
    assert [entry.public_note for entry in view.timeline] == [None] * len(view.timeline)

    # Five years on, the concluded case goes too; the open one never does.
    later = await retention.purge(ctx, after_days(ctx.settings.retention_days))
    assert [case.case_number for case in later.cases] == [kept]
    assert await stored_secrets(still_open) == before[still_open]
    assert await retention.purge(ctx, after_days(10 * 365)) == retention.PurgeResult(0, 0, [])


async def test_a_legal_hold_keeps_the_case_until_lifted(ctx):
    await make_officer(ctx, "lead", ["triage"])
    number, _ = await file_report(ctx)
    await close_as_not_actionable(ctx, number)
    lead = await as_officer(ctx, "lead")
    with pytest.raises(ValidationFailed):
        await cases.set_hold(lead, number, "   ")
    await cases.set_hold(lead, number, HOLD_REASON)
    with pytest.raises(Conflict):
        await cases.set_hold(lead, number, HOLD_REASON)
    view = await cases.open_case(ctx, lead, number, record=False)
    assert view.hold is not None and view.hold.reason == HOLD_REASON
    # The reason is stored encrypted and kept out of the audit log.
    [hold] = await LegalHold.select()
    assert HOLD_REASON.encode() not in hold["reason"]
    details = [
        e["details"] for e in await AuditEntry.select().where(AuditEntry.action.like("case.hold%"))
    ]
    assert details and not [d for d in details if "Polri" in d]
    secrets_before = await stored_secrets(number)

    when = after_days(ctx.settings.retention_days)
    assert await retention.purge(ctx, when) == retention.PurgeResult(0, 0, [])
    assert await stored_secrets(number) == secrets_before

    await cases.lift_hold(lead, number)
    with pytest.raises(Conflict):
        await cases.lift_hold(lead, number)
    assert (await retention.purge(ctx, when)).purged == 1
    assert await stored_secrets(number) == []
    actions = [
        e["action"] for e in await AuditEntry.select().where(AuditEntry.case_number == number)
    ]
    assert actions[-3:] == ["case.hold_set", "case.hold_lifted", "case.purged"]


async def test_dry_run_changes_nothing_and_lists_what_would_go(ctx):
    await make_officer(ctx, "lead", ["triage"])
    numbers = [(await file_report(ctx))[0] for _ in range(3)]
    for number in numbers[:2]:
        await close_as_not_actionable(ctx, number)
    when = after_days(ctx.settings.not_actionable_retention_days)
    before = ([await stored_secrets(n) for n in numbers], await AuditEntry.count())
    seen: list[tuple[int, int]] = []

    result = await retention.purge(
        ctx, when, dry_run=True, progress=lambda done, total: seen.append((done, total))
    )

    assert sorted(case.case_number for case in result.cases) == sorted(numbers[:2])
    assert (result.due, result.purged, seen) == (2, 0, [(2, 2)])
    assert ([await stored_secrets(n) for n in numbers], await AuditEntry.count()) == before
    assert await Report.count().where(Report.purged_at.is_not_null()) == 0


async def test_batches_report_progress_and_a_second_run_finds_nothing(ctx, monkeypatch):
    monkeypatch.setattr(retention, "PURGE_BATCH", 2)
    await make_officer(ctx, "lead", ["triage"])
    for _ in range(5):
        await close_as_not_actionable(ctx, (await file_report(ctx))[0])
    when = after_days(ctx.settings.not_actionable_retention_days)
    seen: list[tuple[int, int]] = []

    result = await retention.purge(ctx, when, progress=lambda d, t: seen.append((d, t)))

    assert seen == [(2, 5), (4, 5), (5, 5)]
    assert result.purged == 5
    assert await ReportKey.count() == 0
    again = await retention.purge(ctx, when)
    assert again.purged == 0
    assert await AuditEntry.count().where(AuditEntry.action == "case.purged") == 5


async def test_the_purge_job_runs_once_with_two_workers(ctx):
    await make_officer(ctx, "lead", ["triage"])
    for _ in range(3):
        await close_as_not_actionable(ctx, (await file_report(ctx))[0])
    not_yet = after_days(ctx.settings.not_actionable_retention_days) - timedelta(days=2)
    assert await run_due_jobs(ctx, [retention.PURGE_JOB], holder="a", now=not_yet) == []

    when = after_days(ctx.settings.not_actionable_retention_days)
    ran = await asyncio.gather(
        *(run_due_jobs(ctx, [retention.PURGE_JOB], holder=h, now=when) for h in ("a", "b"))
    )
    assert sorted(len(names) for names in ran) == [0, 1]
    assert await AuditEntry.count().where(AuditEntry.action == "case.purged") == 3
    assert await ReportKey.count() == 0
    assert (await verify_chain()).ok


async def test_pages_say_the_content_was_destroyed(client, ctx):
    await make_officer(ctx, "lead", ["triage"])
    await make_officer(ctx, "ivan", ["investigator"])
    number, code = await file_report(ctx)
    await close_as_not_actionable(ctx, number)
    await retention.purge(ctx, after_days(ctx.settings.not_actionable_retention_days))

    page = await post_form(client, "/track", {"tracking_code": code})
    assert page.status_code == 200
    assert "Isi dihapus sesuai masa retensi pada" in page.text
    assert VALID_REPORT["description"] not in page.text

    officer = await logged_in(client, ctx, "lead")
    case_page = await officer.get(f"/officer/cases/{number}")
    assert case_page.status_code == 200
    assert "Isi dihapus sesuai masa retensi pada" in case_page.text
    assert "case.purged" not in case_page.text  # shown by its label

    investigator = await logged_in(client, ctx, "ivan")
    assert (await investigator.get(f"/officer/cases/{number}")).status_code == 404


async def test_hold_form_on_the_case_page(client, ctx):
    await make_officer(ctx, "lead", ["triage"])
    number, _ = await file_report(ctx)
    officer = await logged_in(client, ctx, "lead")
    refused = await post_case(officer, number, "hold", {"hold_reason": ""})
    assert refused.status_code == 422
    assert "Tuliskan alasan penahanan hukum." in refused.text
    assert await LegalHold.count() == 0
    done = await post_case(officer, number, "hold", {"hold_reason": HOLD_REASON})
    assert done.status_code == 200 and HOLD_REASON in done.text
    assert await LegalHold.count() == 1
    lifted = await post_case(officer, number, "hold/lift", {})
    assert lifted.status_code == 200
    assert await LegalHold.count() == 0


async def test_the_purge_command_dry_run_then_for_real(ctx, tmp_path):
    await make_officer(ctx, "lead", ["triage"])
    number, _ = await file_report(ctx)
    await close_as_not_actionable(ctx, number)
    # Closed long enough ago (the command purges as of now).
    old = NOW - timedelta(days=ctx.settings.not_actionable_retention_days + 1)
    await Report.update({Report.concluded_at: old}).where(Report.case_number == number)
    await StatusEvent.update({StatusEvent.at: old}).where(StatusEvent.to_status == "not_actionable")
    env = {
        **os.environ,
        "WHISTLE_DATABASE_URL": ctx.settings.database_url,
        "WHISTLE_KEYS_DIR": str(ctx.settings.keys_dir),
        "WHISTLE_ARGON2_MEMORY_KIB": "256",
        "WHISTLE_ARGON2_ITERATIONS": "1",
        "WHISTLE_DEVELOPMENT": "true",
    }
    secrets_before = await stored_secrets(number)

    dry = whistle("purge", "--dry-run", env=env)
    assert dry.returncode == 0, dry.stderr
    assert number in dry.stdout and "would purge 1 case(s); nothing changed" in dry.stdout
    assert "1/1" in dry.stderr
    assert await stored_secrets(number) == secrets_before

    real = whistle("purge", env=env)
    assert real.returncode == 0, real.stderr
    assert "purged 1 case(s)" in real.stdout and "1/1" in real.stderr
    assert await stored_secrets(number) == []

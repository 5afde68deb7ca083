"""Alerts by mail, end to end with a real SMTP server on loopback: publication, assignment,
reporter answers and both digests each give the expected content-free mail; an outage delays
mail and loses or duplicates none; two workers send each mail once; the web never waits on SMTP.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

import httpx
import pytest

from tests.support.cases import as_officer, file_report, post_case
from tests.support.cli import whistle
from tests.support.forms import VALID_REPORT
from tests.support.officers import logged_in, make_officer
from tests.support.release import publish
from tests.support.smtp import LOOPBACK, SmtpServer, free_port, self_signed_certificate
from whistle.app import create_app
from whistle.audit import queries
from whistle.audit.checkpoint import take_checkpoint
from whistle.cases import service as cases
from whistle.cases.digest import OFFICER_DIGEST_JOB, queue_officer_digests
from whistle.context import Context
from whistle.db import engine as db
from whistle.db.tables import MailOutbox, PendingItem, Report
from whistle.errors import Conflict
from whistle.intake import service as intake
from whistle.intake.schemas import validate_report
from whistle.jobs.runner import run_due_jobs
from whistle.notify import outbox
from whistle.notify.jobs import AUDITOR_DIGEST_JOB, MAIL_JOB, latest_digest_time
from whistle.notify.sender import BATCH, claim_due, claim_lease, send_due_mail
from whistle.officers import admin
from whistle.officers.service import set_email
from whistle.settings import Settings

MARKER = "ZQXMARKER"
# A marker in every free-text field, an amount nobody would write by chance.
MARKED_REPORT = {
    **VALID_REPORT,
    "description": f"{MARKER} petugas loket meminta uang tambahan {MARKER}",
    "location": f"Loket {MARKER}",
    "persons_involved": f"Petugas {MARKER}",
    "amount_requested": "987654",
}
PUBLIC_URL = "https://wbs.imigrasi.example"


def mail_settings(settings: Settings, port: int, **changes: object) -> Settings:
    values: dict[str, object] = {
        "smtp_host": LOOPBACK,
        "smtp_port": port,
        "smtp_security": "none",
        "smtp_from": "wbs@imigrasi.example",
        "public_url": PUBLIC_URL,
    }
    return settings.with_changes(**{**values, **changes})


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


async def officer_with_mail(ctx: Context, username: str, roles: list[str]) -> int:
    officer_id = await make_officer(ctx, username, roles)
    await set_email(officer_id, f"{username}@imigrasi.example", actor="root")
    return officer_id


def text_of(message: EmailMessage) -> str:
    body = message.get_body(("plain",))
    assert body is not None
    return f"{message['Subject']}\n{body.get_content()}"


def assert_content_free(message: EmailMessage, *secrets: str) -> None:
    """Nothing the reporter wrote, no tracking code, no case number or category; a link."""
    text = text_of(message)
    for secret in (MARKER, "987654", "987.654", "pungli", "Pungutan", *secrets):
        assert secret.lower() not in text.lower(), secret
    assert f"{PUBLIC_URL}/officer/" in text


async def case_numbers() -> list[str]:
    return [row["case_number"] for row in await Report.select(Report.case_number)]


def mails_to(server: SmtpServer, address: str) -> list[EmailMessage]:
    return [message for message in server.messages if message["To"] == address]


# --- the events ------------------------------------------------------------------------------


async def test_publication_mails_each_triage_officer_once_with_counts_only(ctx, smtp):
    lead = await officer_with_mail(ctx, "lead", ["triage"])
    second = await officer_with_mail(ctx, "second", ["triage"])
    await make_officer(ctx, "quiet", ["triage"])  # no address: no mail
    codes = []
    for excluded in ([], [], [second]):
        receipt = await intake.submit_report(ctx, validate_report(MARKED_REPORT, excluded=excluded))
        codes.append(receipt.tracking_code)
    assert await MailOutbox.count() == 0, "nothing is queued before the release"

    assert await publish(ctx) == 3
    # One row per officer with an address for the whole release, counting what each can read.
    rows = await MailOutbox.select(MailOutbox.officer, MailOutbox.kind, MailOutbox.payload)
    assert sorted((r["officer"], r["kind"], r["payload"]) for r in rows) == sorted(
        [(lead, "new_reports", '{"count": 3}'), (second, "new_reports", '{"count": 2}')]
    )

    outcome = await send_due_mail(mail_settings(ctx.settings, smtp.port))
    assert outcome.sent == 2
    assert sorted(smtp.keeper.recipients) == ["lead@imigrasi.example", "second@imigrasi.example"]
    [to_lead] = mails_to(smtp, "lead@imigrasi.example")
    assert "Laporan baru menunggu triase: 3." in text_of(to_lead)
    assert "New reports waiting for triage: 3." in text_of(to_lead)
    assert "Laporan baru menunggu triase: 2." in text_of(
        mails_to(smtp, "second@imigrasi.example")[0]
    )
    for message in smtp.messages:
        assert_content_free(message, *codes, *await case_numbers())


async def test_assignment_mails_the_investigator(ctx, smtp):
    await make_officer(ctx, "lead", ["triage"])
    ivan = await officer_with_mail(ctx, "ivan", ["investigator"])
    number, code = await file_report(ctx, **MARKED_REPORT)
    await MailOutbox.delete(force=True)

    await cases.assign(await as_officer(ctx, "lead"), number, ivan)
    assert await outbox.waiting_count() == 1
    await send_due_mail(mail_settings(ctx.settings, smtp.port))

    [message] = smtp.messages
    assert message["To"] == "ivan@imigrasi.example"
    assert "Kasus baru ditugaskan kepada Anda: 1." in text_of(message)
    assert "New case assigned to you: 1." in text_of(message)
    assert_content_free(message, code, number)


async def test_a_refused_assignment_queues_no_mail(ctx):
    await make_officer(ctx, "lead", ["triage"])
    ivan = await officer_with_mail(ctx, "ivan", ["investigator"])
    number, _ = await file_report(ctx)
    lead = await as_officer(ctx, "lead")
    await cases.assign(lead, number, ivan)
    await MailOutbox.delete(force=True)
    with pytest.raises(Conflict):
        await cases.assign(lead, number, ivan)
    assert await MailOutbox.count() == 0


async def test_reporter_answers_alert_the_case_holders_coalesced(ctx, smtp):
    await officer_with_mail(ctx, "lead", ["triage"])
    ivan = await officer_with_mail(ctx, "ivan", ["investigator"])
    await officer_with_mail(ctx, "other", ["investigator"])  # holds no key to the case
    number, code = await file_report(ctx, **MARKED_REPORT)
    await cases.assign(await as_officer(ctx, "lead"), number, ivan)
    await MailOutbox.delete(force=True)
    row = await Report.select(Report.id).where(Report.case_number == number).first()

    # As the publishing transaction of two reporter messages would call it.
    async with db.transaction():
        await outbox.queue_reporter_answer_alert(row["id"])
        await outbox.queue_reporter_answer_alert(row["id"])
    # And a rolled-back publication queues nothing.
    with pytest.raises(RuntimeError):
        async with db.transaction():
            await outbox.queue_reporter_answer_alert(row["id"])
            raise RuntimeError("publication failed")

    assert await MailOutbox.count() == 2
    await send_due_mail(mail_settings(ctx.settings, smtp.port))
    assert sorted(smtp.keeper.recipients) == ["ivan@imigrasi.example", "lead@imigrasi.example"]
    for message in smtp.messages:
        assert "Pelapor mengirim balasan pada kasus Anda: 2." in text_of(message)
        assert_content_free(message, code, number)


async def test_a_published_reporter_answer_alerts_the_case_holders(ctx, smtp):
    await officer_with_mail(ctx, "lead", ["triage"])
    number, code = await file_report(ctx, **MARKED_REPORT)
    lead = await as_officer(ctx, "lead")
    await cases.send_message(lead, number, "Di loket mana kejadiannya?")
    await MailOutbox.delete(force=True)
    report_id, data_key = await intake.unlock_with_code(ctx, code)
    await intake.send_reporter_message(ctx, report_id, data_key, f"Loket 3 {MARKER}")
    assert await MailOutbox.count() == 0, "nothing is told before the release"

    await publish(ctx)  # the real release publishes the answer and queues the alert with it
    await send_due_mail(mail_settings(ctx.settings, smtp.port))
    assert smtp.keeper.recipients == ["lead@imigrasi.example"]
    assert "Pelapor mengirim balasan pada kasus Anda: 1." in text_of(smtp.messages[0])
    assert_content_free(smtp.messages[0], code, number)


async def test_officer_digest_counts_overdue_and_due_soon(ctx, smtp):
    await officer_with_mail(ctx, "lead", ["triage"])
    ivan = await officer_with_mail(ctx, "ivan", ["investigator"])
    late, late_code = await file_report(ctx, **MARKED_REPORT)
    soon, _ = await file_report(ctx, **MARKED_REPORT)
    await file_report(ctx, **MARKED_REPORT)  # due in a week: neither
    now = datetime.now(UTC)
    await Report.update({Report.acknowledge_due: now - timedelta(days=1)}).where(
        Report.case_number == late
    )
    await Report.update({Report.acknowledge_due: now + timedelta(days=1)}).where(
        Report.case_number == soon
    )
    await MailOutbox.delete(force=True)

    assert await queue_officer_digests(ctx, now) == 1  # ivan holds no case: no digest
    await send_due_mail(mail_settings(ctx.settings, smtp.port))
    [message] = smtp.messages
    assert message["To"] == "lead@imigrasi.example"
    assert "Kasus Anda yang melewati tenggat: 1." in text_of(message)
    assert "Kasus Anda yang tenggatnya segera tiba: 1." in text_of(message)
    assert "Your cases past their deadline: 1." in text_of(message)
    assert_content_free(message, late_code, *await case_numbers())
    assert ivan


async def test_auditor_digest_names_role_changes_exports_and_the_checkpoint(ctx, smtp):
    await officer_with_mail(ctx, "inspektorat", ["auditor"])
    await make_officer(ctx, "root", ["admin"])
    ivan = await make_officer(ctx, "ivan", ["investigator"])
    number, code = await file_report(ctx, **MARKED_REPORT)
    await admin.set_roles(ctx, ivan, ["investigator", "auditor"], actor="root")
    async for _ in queries.export_csv(
        queries.AuditFilter(), up_to_seq=await queries.export_head(), actor="inspektorat"
    ):
        pass
    checkpoint = await take_checkpoint(ctx.keyring, actor="worker")
    await MailOutbox.delete(force=True)

    async def auditor_digest_due(now: datetime) -> list[str]:
        return await run_due_jobs(ctx, [AUDITOR_DIGEST_JOB], holder="w1", now=now)

    assert await auditor_digest_due(datetime.now(UTC)) == ["notify.auditor_digest"]
    await send_due_mail(mail_settings(ctx.settings, smtp.port))
    [message] = smtp.messages
    assert message["To"] == "inspektorat@imigrasi.example"
    text = text_of(message)
    # The three accounts added, then ivan's new role; officer names, with the time.
    assert "Perubahan peran petugas: 4." in text
    assert "cli: inspektorat (Petugas ditambahkan)" in text
    assert "root: ivan (Peran petugas diubah)" in text
    assert "root: ivan (Officer roles changed)" in text
    assert "Ekspor log audit: 1." in text
    assert f"Titik periksa terakhir: entri {checkpoint.seq}," in text
    assert "Latest checkpoint" in text
    assert_content_free(message, code, number)


async def test_digests_run_once_a_day_at_the_office_hour_across_workers(ctx, caplog):
    caplog.set_level(logging.ERROR, logger="whistle.worker")
    await officer_with_mail(ctx, "inspektorat", ["auditor"])
    await officer_with_mail(ctx, "lead", ["triage"])
    number, _ = await file_report(ctx)
    await Report.update({Report.acknowledge_due: datetime.now(UTC) - timedelta(days=1)}).where(
        Report.case_number == number
    )
    await MailOutbox.delete(force=True)
    jobs = [OFFICER_DIGEST_JOB, AUDITOR_DIGEST_JOB]
    hour = latest_digest_time(ctx.settings.digest_hour, datetime.now(UTC))

    async def two_workers(now: datetime) -> list[str]:
        first, second = await asyncio.gather(
            run_due_jobs(ctx, jobs, holder="worker-a", now=now),
            run_due_jobs(ctx, jobs, holder="worker-b", now=now),
        )
        # A job that raised is logged by the runner with its error class: show it if so.
        assert "failed" not in caplog.text, caplog.text
        return sorted(first + second)

    assert await two_workers(hour + timedelta(minutes=5)) == [
        "cases.digest",
        "notify.auditor_digest",
    ]
    assert await MailOutbox.count() == 2
    # Later the same day: nothing more; the next day after the hour: once more.
    assert await two_workers(hour + timedelta(hours=5)) == []
    assert await two_workers(hour + timedelta(days=1) - timedelta(minutes=5)) == []
    assert await two_workers(hour + timedelta(days=1, minutes=1)) == [
        "cases.digest",
        "notify.auditor_digest",
    ]
    assert await MailOutbox.count() == 4


# --- delivery --------------------------------------------------------------------------------


async def test_an_outage_delays_mail_with_backoff_and_loses_or_duplicates_nothing(ctx, caplog):
    server = SmtpServer()  # not started yet: the relay is down
    settings = mail_settings(ctx.settings, server.port, mail_retry_seconds=60)
    for name in ("lead", "second"):
        await officer_with_mail(ctx, name, ["triage"])
    await file_report(ctx)
    assert await MailOutbox.count() == 2
    start = datetime.now(UTC)

    caplog.set_level(logging.WARNING, logger="whistle.mail")
    first = await send_due_mail(settings, start)
    assert (first.sent, first.failed) == (0, 2)
    rows = await MailOutbox.select().order_by(MailOutbox.id)
    assert [(r["attempts"], r["last_error"], r["sent_at"]) for r in rows] == [
        (1, "ConnectionRefusedError", None)
    ] * 2
    assert all(r["due_at"] == start + timedelta(seconds=60) for r in rows)
    log_text = caplog.text
    assert "ConnectionRefusedError" in log_text
    assert "@" not in log_text, "no address in the log"

    # Before the backoff ends nothing is tried; after it, the second attempt waits twice as long.
    assert await send_due_mail(settings, start + timedelta(seconds=30)) == type(first)()
    second = await send_due_mail(settings, start + timedelta(seconds=61))
    assert second.failed == 2
    rows = await MailOutbox.select().order_by(MailOutbox.id)
    assert {r["attempts"] for r in rows} == {2}
    assert all(r["due_at"] == start + timedelta(seconds=61 + 120) for r in rows)

    server.start()
    try:
        recovered = await send_due_mail(settings, start + timedelta(seconds=200))
        assert recovered.sent == 2
        # Sent rows stay a day (so a duplicate would show), then go.
        again = await send_due_mail(settings, start + timedelta(hours=2))
        assert again.sent == 0
        assert sorted(server.keeper.recipients) == [
            "lead@imigrasi.example",
            "second@imigrasi.example",
        ]
        rows = await MailOutbox.select().order_by(MailOutbox.id)
        assert [(r["attempts"], r["sent_at"] is not None) for r in rows] == [(3, True)] * 2
        await send_due_mail(settings, start + timedelta(days=2))
        assert await MailOutbox.count() == 0
        assert len(server.messages) == 2
    finally:
        server.stop()


async def test_mail_is_given_up_after_the_last_attempt(ctx, caplog):
    settings = mail_settings(ctx.settings, free_port(), mail_max_attempts=2, mail_retry_seconds=1)
    await officer_with_mail(ctx, "lead", ["triage"])
    await file_report(ctx)
    [row] = await MailOutbox.select(MailOutbox.id)
    start = datetime.now(UTC)
    caplog.set_level(logging.WARNING, logger="whistle.mail")
    assert (await send_due_mail(settings, start)).failed == 1
    assert (await send_due_mail(settings, start + timedelta(seconds=5))).given_up == 1
    assert await MailOutbox.count() == 0
    assert f"mail {row['id']} given up after 2 attempts (ConnectionRefusedError)" in caplog.text


async def test_two_workers_send_each_mail_once(ctx, smtp):
    settings = mail_settings(ctx.settings, smtp.port)
    officers = [await officer_with_mail(ctx, f"officer{n}", ["auditor"]) for n in range(4)]
    async with db.transaction():
        for round_number in range(6):
            for officer_id in officers:
                await outbox.queue_mail(
                    officer_id, outbox.OFFICER_DIGEST, {"overdue": round_number, "due_soon": 0}
                )
    now = datetime.now(UTC)
    first, second = await asyncio.gather(
        send_due_mail(settings, now, batch=5), send_due_mail(settings, now, batch=5)
    )
    assert first.sent + second.sent == 24
    assert len(smtp.messages) == 24
    assert len({message["Message-ID"] for message in smtp.messages}) == 24
    # And through the worker's job: two instances at once, each new mail sent by one of them.
    async with db.transaction():
        for officer_id in officers:
            await outbox.queue_mail(officer_id, outbox.ASSIGNED, {"count": 1})
    worker_ctx = Context.create(settings)
    later = datetime.now(UTC)
    ran = await asyncio.gather(
        run_due_jobs(worker_ctx, [MAIL_JOB], holder="a", now=later),
        run_due_jobs(worker_ctx, [MAIL_JOB], holder="b", now=later),
    )
    assert sorted(ran) == [[], ["notify.mail"]]
    assert len(smtp.messages) == 28
    assert len({message["Message-ID"] for message in smtp.messages}) == 28
    assert await MailOutbox.count().where(MailOutbox.sent_at.is_null()) == 0


async def test_a_dead_workers_claim_is_taken_over_only_after_its_lease(ctx, smtp):
    settings = mail_settings(ctx.settings, smtp.port)
    await officer_with_mail(ctx, "lead", ["triage"])
    await file_report(ctx)
    now = datetime.now(UTC)
    lease = claim_lease(settings, BATCH)
    # A worker claims the row and dies before sending or recording anything.
    [claimed] = await claim_due(now, BATCH, lease)
    assert claimed.attempts == 1
    assert (await send_due_mail(settings, now + lease - timedelta(seconds=1))).sent == 0
    assert smtp.messages == []
    taken_over = await send_due_mail(settings, now + lease + timedelta(seconds=1))
    assert taken_over.sent == 1
    [row] = await MailOutbox.select(MailOutbox.attempts, MailOutbox.sent_at)
    assert row["attempts"] == 2 and row["sent_at"] is not None
    assert len(smtp.messages) == 1


async def test_a_refused_recipient_fails_alone_and_the_batch_goes_on(ctx, smtp):
    for name in ("lead", "second", "third"):
        await officer_with_mail(ctx, name, ["triage"])
    smtp.keeper.refused.add("second@imigrasi.example")
    await file_report(ctx)
    outcome = await send_due_mail(mail_settings(ctx.settings, smtp.port))
    assert (outcome.sent, outcome.failed) == (2, 1)
    assert sorted(smtp.keeper.recipients) == ["lead@imigrasi.example", "third@imigrasi.example"]
    [waiting] = await MailOutbox.select().where(MailOutbox.sent_at.is_null())
    assert (waiting["attempts"], waiting["last_error"]) == (1, "SMTPRecipientsRefused")


async def test_officers_without_an_address_or_disabled_get_no_mail(ctx, smtp):
    lead = await officer_with_mail(ctx, "lead", ["triage"])
    await make_officer(ctx, "root", ["admin"])
    await make_officer(ctx, "spare", ["admin"])
    await file_report(ctx)
    await admin.disable_officer(ctx, lead, actor="root")
    outcome = await send_due_mail(mail_settings(ctx.settings, smtp.port))
    assert (outcome.sent, outcome.dropped) == (0, 1)
    assert smtp.messages == []


async def test_without_smtp_settings_alerts_are_dropped_not_kept(ctx):
    await officer_with_mail(ctx, "lead", ["triage"])
    await file_report(ctx)
    assert await MailOutbox.count() == 1
    assert (await send_due_mail(ctx.settings)).dropped == 1
    assert await MailOutbox.count() == 0


async def test_starttls_with_a_private_ca_and_login(ctx, tmp_path: Path):
    cert, key = self_signed_certificate(tmp_path)
    password_file = tmp_path / "smtp-password"
    password_file.write_text("relay secret 7\n")
    server = SmtpServer(tls=(cert, key), login=("wbs", "relay secret 7"))
    server.start()
    try:
        await officer_with_mail(ctx, "lead", ["triage"])
        await file_report(ctx)
        base = mail_settings(ctx.settings, server.port, smtp_security="starttls")
        # Without the CA the certificate is refused, and nothing is sent in clear.
        untrusted = await send_due_mail(base)
        assert untrusted.failed == 1
        [row] = await MailOutbox.select(MailOutbox.last_error)
        assert row["last_error"] == "SSLCertVerificationError"
        trusted = base.with_changes(
            smtp_ca_file=cert, smtp_username="wbs", smtp_password_file=password_file
        )
        later = datetime.now(UTC) + timedelta(hours=1)
        assert (await send_due_mail(trusted, later)).sent == 1
        assert [m["To"] for m in server.messages] == ["lead@imigrasi.example"]
    finally:
        server.stop()


async def test_implicit_tls(ctx, tmp_path: Path):
    cert, key = self_signed_certificate(tmp_path)
    server = SmtpServer(tls=(cert, key), implicit_tls=True)
    server.start()
    try:
        await officer_with_mail(ctx, "lead", ["triage"])
        await file_report(ctx)
        settings = mail_settings(ctx.settings, server.port, smtp_security="tls", smtp_ca_file=cert)
        assert (await send_due_mail(settings)).sent == 1
        assert [m["To"] for m in server.messages] == ["lead@imigrasi.example"]
    finally:
        server.stop()


async def test_a_web_request_that_queues_mail_returns_while_smtp_is_down(settings):
    # Mail configured towards a port where nothing listens.
    app = create_app(mail_settings(settings, free_port()))
    async with app.lifespan():
        ctx = app.state["ctx"]
        await make_officer(ctx, "lead", ["triage"])
        ivan = await officer_with_mail(ctx, "ivan", ["investigator"])
        number, _ = await file_report(ctx)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="https://testserver.local", follow_redirects=True
        ) as client:
            await logged_in(client, ctx, "lead")
            response = await post_case(client, number, "assign", {"officer_id": str(ivan)})
        assert response.status_code == 200
        rows = await MailOutbox.select().where(MailOutbox.officer == ivan)
        assert [(r["kind"], r["attempts"], r["sent_at"]) for r in rows] == [("assigned", 0, None)]


async def test_the_real_worker_publishes_and_mails_in_one_run(ctx, smtp):
    """`whistle worker --once`, as systemd runs it: the release queues the alert, the mail job
    of the same run sends it."""
    await officer_with_mail(ctx, "lead", ["triage"])
    receipt = await intake.submit_report(ctx, validate_report(MARKED_REPORT, excluded=[]))
    await PendingItem.update(
        {PendingItem.release_at: datetime.now(UTC) - timedelta(minutes=1)}, force=True
    )
    env = {
        **os.environ,
        "WHISTLE_DATABASE_URL": ctx.settings.database_url,
        "WHISTLE_KEYS_DIR": str(ctx.settings.keys_dir),
        "WHISTLE_ARGON2_MEMORY_KIB": "256",
        "WHISTLE_ARGON2_ITERATIONS": "1",
        "WHISTLE_DEVELOPMENT": "true",
        "WHISTLE_SMTP_HOST": LOOPBACK,
        "WHISTLE_SMTP_PORT": str(smtp.port),
        "WHISTLE_SMTP_SECURITY": "none",
        "WHISTLE_SMTP_FROM": "wbs@imigrasi.example",
        "WHISTLE_PUBLIC_URL": PUBLIC_URL,
    }
    done = await asyncio.to_thread(whistle, "worker", "--once", env=env)
    assert done.returncode == 0, done.stderr
    [message] = smtp.messages
    assert message["To"] == "lead@imigrasi.example"
    assert "Laporan baru menunggu triase: 1." in text_of(message)
    assert_content_free(message, receipt.tracking_code, *await case_numbers())
    assert "lead@imigrasi.example" not in done.stderr + done.stdout

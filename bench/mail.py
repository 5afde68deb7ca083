"""Mail benchmark (SQLite): what alerts cost the release, and how fast the outbox drains.

1. The release of N reports to T mailable triage officers (one coalesced alert each), and in
   the same run the alert step alone on the same published reports: its share of the
   publishing transaction (goal <= 0.1). Timing the release with and without addresses on
   separate copies was tried first: on a shared machine the noise (0.5 x to 2.4 x) drowned the
   difference.
2. Draining M queued alerts through ``send_due_mail`` to an aiosmtpd server on loopback, against
   the bare rate of wording the same mails and sending them with smtplib over one connection,
   alternating in the same run: the ratio is what claiming and recording cost (goal >= 0.5 x).
   Wording a mail (``email.message.EmailMessage``) costs about as much as sending it here.

    .venv/bin/python -m bench.mail [--reports 200] [--officers 10] [--mails 500]
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import smtplib
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.results import record
from tests.conftest import TEST_ARGON2
from tests.support.forms import VALID_REPORT
from tests.support.officers import make_officer
from tests.support.smtp import LOOPBACK, SmtpServer
from whistle.audit.service import configure_chain_key
from whistle.context import Context
from whistle.crypto import Argon2Params, Keyring, init_keys
from whistle.db import engine as db
from whistle.db.migrations import migrate
from whistle.db.tables import MailOutbox, Officer, Report
from whistle.intake import service as intake
from whistle.intake.release import publish_pending
from whistle.intake.schemas import validate_report
from whistle.notify import outbox
from whistle.notify.messages import Alert, compose
from whistle.notify.outbox import queue_new_reports_alert
from whistle.notify.sender import send_due_mail
from whistle.officers.roster import configure_roster_key
from whistle.reports.envelope import configure_holder_tag_key
from whistle.settings import Settings

ROUNDS = 5


def _settings(keys: Path, path: Path, port: int = 0) -> Settings:
    return Settings(
        database_url=f"sqlite:///{path}",
        keys_dir=keys,
        development=True,
        smtp_host=LOOPBACK,
        smtp_port=port,
        smtp_security="none",
        smtp_from="wbs@imigrasi.example",
        public_url="https://wbs.imigrasi.example",
        **TEST_ARGON2,
    )


async def _prepare(settings: Settings, reports: int, officers: int) -> None:
    engine = await db.open_database(settings)
    try:
        await migrate()
        ctx = Context.create(settings)
        for n in range(officers):
            await make_officer(ctx, f"triage{n}", ["triage"])
        for _ in range(reports):
            await intake.submit_report(ctx, validate_report(VALID_REPORT, excluded=[]))
    finally:
        await db.close_database(engine)


async def _release(settings: Settings) -> tuple[float, float]:
    """Publish everything pending with every officer mailable; returns (the whole publishing
    transaction, then the alert step alone run again on the published reports)."""
    engine = await db.open_database(settings)
    try:
        for row in await Officer.select(Officer.id, Officer.username):
            address = f"{row['username']}@imigrasi.example"
            await Officer.update({Officer.email: address}).where(Officer.id == row["id"])
        ctx = Context.create(settings)
        started = time.perf_counter()
        await publish_pending(ctx, datetime.now(UTC) + timedelta(days=1))
        release = time.perf_counter() - started
        assert await MailOutbox.count() == await Officer.count()
        report_ids = [row["id"] for row in await Report.select(Report.id)]
        started = time.perf_counter()
        async with db.transaction():
            await queue_new_reports_alert(report_ids)
        return release, time.perf_counter() - started
    finally:
        await db.close_database(engine)


async def bench_release(directory: Path, keys: Path, reports: int, officers: int) -> None:
    template = directory / "template.db"
    await _prepare(_settings(keys, template), reports, officers)
    releases, alerts = [], []
    for round_number in range(ROUNDS):
        copy = directory / f"release-{round_number}.db"
        shutil.copyfile(template, copy)
        release, alert = await _release(_settings(keys, copy))
        releases.append(release)
        alerts.append(alert)
    release, alert = min(releases), min(alerts)
    print(f"release of {reports} reports to {officers} triage officers (best of {ROUNDS})")
    print(f"  whole publishing transaction: {release * 1000:.1f} ms")
    print(f"  the alert step alone (coalescing into the waiting rows): {alert * 1000:.1f} ms")
    print(f"  share: {alert / release:.3f} of the release (goal <= 0.1)")
    record("mail", "alert step / publishing transaction", alert / release, "<= 0.1", unit="")


async def bench_send(directory: Path, keys: Path, mails: int) -> None:
    server = SmtpServer()
    server.start()
    try:
        settings = _settings(keys, directory / "send.db", server.port)
        engine = await db.open_database(settings)
        try:
            await migrate()
            ctx = Context.create(settings)
            officer_id = await make_officer(ctx, "lead", ["auditor"])
            await Officer.update({Officer.email: "lead@imigrasi.example"}).where(
                Officer.id == officer_id
            )
            bares, drains = [], []
            for _ in range(ROUNDS):
                # The bare rate: the same mails worded and sent over one connection, no database.
                started = time.perf_counter()
                with smtplib.SMTP(LOOPBACK, server.port) as client:
                    for n in range(mails):
                        alert = Alert(n, officer_id, outbox.ASSIGNED, '{"count": 1}', 1)
                        client.send_message(compose(alert, "lead@imigrasi.example", settings))
                bares.append(time.perf_counter() - started)

                async with db.transaction():
                    for _ in range(mails):
                        await outbox.queue_mail(officer_id, outbox.ASSIGNED, {"count": 1})
                started = time.perf_counter()
                outcome = await send_due_mail(settings)
                drains.append(time.perf_counter() - started)
                assert outcome.sent == mails, outcome
            assert len(server.messages) == 2 * mails * ROUNDS
            bare, drained = min(bares), min(drains)
        finally:
            await db.close_database(engine)
    finally:
        server.stop()
    print(f"draining {mails} alerts to a loopback SMTP server (best of {ROUNDS}, alternating)")
    print(f"  bare smtplib: {mails / bare:.0f} mails/s   outbox: {mails / drained:.0f} mails/s")
    print(f"  ratio: {bare / drained:.3f} x of the bare rate (goal >= 0.5 x)")
    record("mail", "outbox drain vs bare smtplib", bare / drained, ">= 0.5 x")


async def main(arguments: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as temporary:
        directory = Path(temporary)
        keys = directory / "keys"
        init_keys(keys, "bench passphrase words", Argon2Params(256, 1, 1))
        keyring = Keyring.load(keys)
        configure_chain_key(keyring.audit_chain_key)
        configure_holder_tag_key(keyring.holder_tag_key)
        configure_roster_key(keyring.roster_mac_key)
        await bench_release(directory, keys, arguments.reports, arguments.officers)
        await bench_send(directory, keys, arguments.mails)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reports", type=int, default=200)
    parser.add_argument("--officers", type=int, default=10)
    parser.add_argument("--mails", type=int, default=500)
    asyncio.run(main(parser.parse_args()))

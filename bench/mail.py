"""Mail benchmark (SQLite): what alerts cost the release, and how fast the outbox drains.

1. The release of N reports to T triage officers, timed with no officer address (no alert
   queued: the baseline) and with every officer mailable (one coalesced alert each), on fresh
   copies of the same migrated database: the ratio is the alerts' share of the publishing
   transaction (goal <= 1.1 x).
2. Draining M queued alerts through ``send_due_mail`` to an aiosmtpd server on loopback, against
   the bare rate of smtplib sending the same prepared messages over one connection in the same
   run: the ratio is what claiming, composing and recording cost (goal >= 0.5 x).

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

from tests.conftest import TEST_ARGON2
from tests.support.forms import VALID_REPORT
from tests.support.officers import make_officer
from tests.support.smtp import LOOPBACK, SmtpServer
from whistle.audit.service import configure_chain_key
from whistle.context import Context
from whistle.crypto import Argon2Params, Keyring, init_keys
from whistle.db import engine as db
from whistle.db.migrations import migrate
from whistle.db.tables import MailOutbox, Officer
from whistle.intake import service as intake
from whistle.intake.release import publish_pending
from whistle.intake.schemas import validate_report
from whistle.notify import outbox
from whistle.notify.messages import Alert, compose
from whistle.notify.sender import send_due_mail
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


async def _release(settings: Settings, *, mailable: bool) -> float:
    engine = await db.open_database(settings)
    try:
        if mailable:
            for row in await Officer.select(Officer.id, Officer.username):
                await Officer.update({Officer.email: f"{row['username']}@imigrasi.example"}).where(
                    Officer.id == row["id"]
                )
        ctx = Context.create(settings)
        started = time.perf_counter()
        await publish_pending(ctx, datetime.now(UTC) + timedelta(days=1))
        elapsed = time.perf_counter() - started
        queued = await MailOutbox.count()
        assert queued == (await Officer.count() if mailable else 0), queued
        return elapsed
    finally:
        await db.close_database(engine)


async def bench_release(directory: Path, keys: Path, reports: int, officers: int) -> None:
    template = directory / "template.db"
    await _prepare(_settings(keys, template), reports, officers)
    timings: dict[bool, list[float]] = {False: [], True: []}
    for round_number in range(ROUNDS):
        # Alternating which goes first, so drift in the machine's load favours neither.
        for mailable in (False, True) if round_number % 2 else (True, False):
            copy = directory / f"release-{round_number}-{mailable}.db"
            shutil.copyfile(template, copy)
            timings[mailable].append(await _release(_settings(keys, copy), mailable=mailable))
    base, alerts = min(timings[False]), min(timings[True])
    print(f"release of {reports} reports to {officers} triage officers (best of {ROUNDS})")
    print(f"  without alerts: {base * 1000:.1f} ms   with alerts: {alerts * 1000:.1f} ms")
    print(f"  ratio: {alerts / base:.3f} x (goal <= 1.1 x)")


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
            # The bare rate: the same messages, prepared, over one connection.
            messages = [
                compose(
                    Alert(n, officer_id, outbox.ASSIGNED, '{"count": 1}', 1),
                    "lead@imigrasi.example",
                    settings,
                )
                for n in range(mails)
            ]
            started = time.perf_counter()
            with smtplib.SMTP(LOOPBACK, server.port) as client:
                for message in messages:
                    client.send_message(message)
            bare = time.perf_counter() - started

            async with db.transaction():
                for _ in range(mails):
                    await outbox.queue_mail(officer_id, outbox.ASSIGNED, {"count": 1})
            started = time.perf_counter()
            outcome = await send_due_mail(settings)
            drained = time.perf_counter() - started
            assert outcome.sent == mails, outcome
            assert len(server.messages) == 2 * mails
        finally:
            await db.close_database(engine)
    finally:
        server.stop()
    print(f"draining {mails} alerts to a loopback SMTP server")
    print(f"  bare smtplib: {mails / bare:.0f} mails/s   outbox: {mails / drained:.0f} mails/s")
    print(f"  ratio: {bare / drained:.3f} x of the bare rate (goal >= 0.5 x)")


async def main(arguments: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as temporary:
        directory = Path(temporary)
        keys = directory / "keys"
        init_keys(keys, "bench passphrase words", Argon2Params(256, 1, 1))
        configure_chain_key(Keyring.load(keys).audit_chain_key)
        await bench_release(directory, keys, arguments.reports, arguments.officers)
        await bench_send(directory, keys, arguments.mails)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reports", type=int, default=200)
    parser.add_argument("--officers", type=int, default=10)
    parser.add_argument("--mails", type=int, default=500)
    asyncio.run(main(parser.parse_args()))

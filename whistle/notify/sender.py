"""Sending the outbox: claim due rows atomically, send over SMTP, retry with backoff.

Runs only in `whistle worker` (the ``notify.mail`` job), never in a web request. A batch is
claimed with one UPDATE ... RETURNING that sets a lease (``claimed_until``) and counts the
attempt; on PostgreSQL its row choice skips rows another worker has locked (SKIP LOCKED), on
SQLite the writer's IMMEDIATE transaction serialises claims. So two workers, or a worker that
runs while another's claim is still valid, send each mail once; a worker that dies mid-batch
leaves rows whose lease expires and which are then tried again (SMTP has no exactly-once: a
worker killed between the relay's acceptance and the record sends that one mail again).

A failed attempt is retried after ``mail_retry_seconds`` doubled per attempt, until
``mail_max_attempts``; then the row is dropped and the failure logged. Logs name the outbox id
and the error's class, never an address or the server's reply. Sent rows are kept a day (so a
duplicate would show) and then deleted: a sent alert holds nothing anyone needs.
"""

from __future__ import annotations

import asyncio
import logging
import smtplib
import ssl
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage

from whistle.db import engine as db
from whistle.db.tables import MailOutbox, Officer
from whistle.notify.messages import Alert, compose
from whistle.settings import Settings

log = logging.getLogger("whistle.mail")

BATCH = 50
KEEP_SENT = timedelta(days=1)


@dataclass(frozen=True)
class SendOutcome:
    sent: int = 0
    failed: int = 0
    given_up: int = 0
    # Rows whose officer has no address any more, or is disabled: nobody to mail.
    dropped: int = 0


def claim_lease(settings: Settings, batch: int) -> timedelta:
    """How long a claim holds its rows: longer than sending the batch can take (connecting and
    each mail, every socket operation bounded by the SMTP timeout), so a slow relay never lets
    another worker take rows that are still being sent."""
    return timedelta(seconds=settings.smtp_timeout_seconds * (batch + 1) * 2)


def retry_delay(settings: Settings, attempts: int) -> timedelta:
    """The wait after the ``attempts``-th failed try: the base, doubled per earlier failure."""
    return timedelta(seconds=settings.mail_retry_seconds * 2 ** max(attempts - 1, 0))


_CLAIM = (
    "UPDATE mail_outbox SET claimed_until = {{}}, attempts = attempts + 1 "
    "WHERE id IN (SELECT id FROM mail_outbox WHERE sent_at IS NULL AND due_at <= {{}} "
    "AND (claimed_until IS NULL OR claimed_until < {{}}) "
    "ORDER BY due_at, id LIMIT {{}}{lock}) "
    "RETURNING id, officer, kind, payload, attempts"
)
_CLAIM_SQLITE = _CLAIM.format(lock="")
_CLAIM_POSTGRES = _CLAIM.format(lock=" FOR UPDATE SKIP LOCKED")


async def claim_due(now: datetime, limit: int, lease: timedelta) -> list[Alert]:
    """Claim up to ``limit`` due, unclaimed (or lease-expired) rows for this worker, counting
    the attempt; nobody else gets them until the lease ends."""
    # Two constant texts: PostgreSQL skips rows a concurrent claim holds locked; SQLite's
    # IMMEDIATE transaction already lets one claim run at a time.
    statement = _CLAIM_SQLITE if db.is_sqlite() else _CLAIM_POSTGRES
    async with db.transaction():
        rows = await db.fetch(
            statement,
            now + lease,
            now,
            now,
            limit,
        )
    return sorted(
        (Alert(r["id"], r["officer"], r["kind"], r["payload"], r["attempts"]) for r in rows),
        key=lambda alert: alert.id,
    )


def _tls_context(settings: Settings) -> ssl.SSLContext:
    return ssl.create_default_context(
        cafile=str(settings.smtp_ca_file) if settings.smtp_ca_file else None
    )


def _connect(settings: Settings) -> smtplib.SMTP:
    assert settings.smtp_host is not None
    host, port = settings.smtp_host, settings.smtp_effective_port
    timeout = settings.smtp_timeout_seconds
    if settings.smtp_security == "tls":
        server: smtplib.SMTP = smtplib.SMTP_SSL(
            host, port, timeout=timeout, context=_tls_context(settings)
        )
    else:
        server = smtplib.SMTP(host, port, timeout=timeout)
    try:
        if settings.smtp_security == "starttls":
            server.starttls(context=_tls_context(settings))
        if settings.smtp_username:
            password = ""
            if settings.smtp_password_file is not None:
                password = settings.smtp_password_file.read_text(encoding="utf-8").strip()
            server.login(settings.smtp_username, password)
    except BaseException:
        server.close()
        raise
    return server


def _connection_lost(error: OSError) -> bool:
    # smtplib's errors are OSErrors too; only these mean the connection itself is gone.
    return isinstance(error, smtplib.SMTPServerDisconnected) or not isinstance(
        error, smtplib.SMTPException
    )


def deliver(settings: Settings, mails: Sequence[tuple[int, EmailMessage]]) -> dict[int, str | None]:
    """Blocking: send ``mails`` over one SMTP connection; per outbox id, None when the server
    accepted it, else the error's class name. A connection failure fails them all; a refused
    message (e.g. an unknown recipient) fails only itself."""
    results: dict[int, str | None] = {}
    try:
        server = _connect(settings)
    except OSError as error:  # smtplib's and ssl's errors included
        return {outbox_id: type(error).__name__ for outbox_id, _ in mails}
    try:
        for outbox_id, message in mails:
            try:
                server.send_message(message)
                results[outbox_id] = None
            except OSError as error:
                results[outbox_id] = type(error).__name__
                if _connection_lost(error):
                    # The rest fail alike and are retried later.
                    for rest, _ in mails:
                        results.setdefault(rest, type(error).__name__)
                    break
    finally:
        try:
            server.quit()
        except OSError:
            server.close()
    return results


async def _addresses(officer_ids: set[int]) -> dict[int, str]:
    rows = await Officer.select(Officer.id, Officer.email).where(
        Officer.id.is_in(sorted(officer_ids))
        & (Officer.active == True)  # noqa: E712 - piccolo builds SQL from the comparison
        & Officer.email.is_not_null()
    )
    return {row["id"]: row["email"] for row in rows}


async def _record(settings: Settings, alert: Alert, error: str | None, now: datetime) -> str:
    """Store one attempt's outcome (inside the batch's transaction); returns "sent", "failed"
    or "given_up"."""
    if error is None:
        await MailOutbox.update(
            {MailOutbox.sent_at: now, MailOutbox.claimed_until: None, MailOutbox.last_error: None}
        ).where(MailOutbox.id == alert.id)
        return "sent"
    if alert.attempts >= settings.mail_max_attempts:
        await MailOutbox.delete().where(MailOutbox.id == alert.id)
        log.error("mail %d given up after %d attempts (%s)", alert.id, alert.attempts, error)
        return "given_up"
    retry_at = now + retry_delay(settings, alert.attempts)
    await MailOutbox.update(
        {
            MailOutbox.due_at: retry_at,
            MailOutbox.claimed_until: None,
            MailOutbox.last_error: error[:64],
        }
    ).where(MailOutbox.id == alert.id)
    log.warning(
        "mail %d not sent (attempt %d, %s); next try at %s",
        alert.id,
        alert.attempts,
        error,
        retry_at.isoformat(timespec="seconds"),
    )
    return "failed"


async def drop_unsendable() -> int:
    """With no SMTP server configured nothing can be sent: waiting alerts are dropped (so the
    table does not grow for an office that runs without mail)."""
    async with db.transaction():
        rows = (
            await MailOutbox.delete().where(MailOutbox.sent_at.is_null()).returning(MailOutbox.id)
        )
    return len(rows)


async def delete_old_sent(now: datetime) -> int:
    async with db.transaction():
        rows = await (
            MailOutbox.delete()
            .where(MailOutbox.sent_at.is_not_null() & (MailOutbox.sent_at < now - KEEP_SENT))
            .returning(MailOutbox.id)
        )
    return len(rows)


async def send_due_mail(
    settings: Settings, now: datetime | None = None, *, batch: int = BATCH
) -> SendOutcome:
    """Claim and send every due alert (in batches), recording each outcome; returns counts."""
    now = now or datetime.now(UTC)
    await delete_old_sent(now)
    if not settings.mail_enabled:
        dropped = await drop_unsendable()
        return SendOutcome(dropped=dropped)
    totals = {"sent": 0, "failed": 0, "given_up": 0}
    dropped = 0
    lease = claim_lease(settings, batch)
    while alerts := await claim_due(now, batch, lease):
        addresses = await _addresses({alert.officer for alert in alerts})
        mails = []
        for alert in alerts:
            address = addresses.get(alert.officer)
            if address is None:
                async with db.transaction():
                    await MailOutbox.delete().where(MailOutbox.id == alert.id)
                dropped += 1
                continue
            mails.append((alert.id, compose(alert, address, settings)))
        results = await asyncio.to_thread(deliver, settings, mails) if mails else {}
        # One transaction records the whole batch (a commit per mail would halve the rate).
        async with db.transaction():
            for alert in alerts:
                if alert.id in results:
                    totals[await _record(settings, alert, results[alert.id], now)] += 1
        if len(alerts) < batch:
            break
    return SendOutcome(dropped=dropped, **totals)

"""One report per submission, however often it is sent: a reload, Back then resend, a double
tap or an app retrying with the same Idempotency-Key all get the first receipt.

The form carries a random submission token, the API an Idempotency-Key; whistle.sessions keeps
the claim and the receipt (the code encrypted under a key only the token gives). Nothing here
knows about HTTP.
"""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import anyio
import msgspec

from whistle import sessions
from whistle.context import Context
from whistle.errors import Conflict
from whistle.evidence import store as evidence
from whistle.i18n import N_
from whistle.intake import service
from whistle.intake.service import Receipt
from whistle.reports import messages, statuses
from whistle.reports.content import ReportInput

# How long a resend waits for the first request to finish filing (its derivation may queue).
WAIT_FOR_FIRST_SECONDS = 20.0
_POLL_SECONDS = 0.2
FORM = b"form:"
API = b"api:"

STILL_FILING = N_("Laporan ini masih diproses. Tunggu sebentar lalu coba lagi.")
OTHER_REPORT = N_(
    "Kunci ini sudah dipakai untuk laporan lain. Gunakan kunci baru untuk laporan baru."
)
UPLOAD = b"upload:"
STILL_UPLOADING = N_("Kiriman berkas ini masih diproses. Tunggu sebentar lalu coba lagi.")
OTHER_UPLOAD = N_(
    "Kunci ini sudah dipakai untuk kiriman berkas lain. Gunakan kunci baru untuk kiriman baru."
)
MESSAGE = b"message:"
STILL_SENDING = N_("Pesan ini masih diproses. Tunggu sebentar lalu coba lagi.")
OTHER_MESSAGE = N_("Kunci ini sudah dipakai untuk pesan lain. Gunakan kunci baru untuk pesan baru.")
# The status page's forms sent again with other content: the first went, this one did not.
FORM_UPLOAD_SENT = N_(
    "Formulir ini sudah mengirim berkas sebelumnya (lihat daftar berkas di atas). Berkas ini "
    "belum terkirim: pilih lagi lalu tekan Kirim berkas untuk mengirimnya."
)
FORM_MESSAGE_SENT = N_(
    "Formulir ini sudah mengirim pesan sebelumnya (lihat daftar pesan di atas). Teks ini belum "
    "terkirim: tekan Kirim pesan lagi untuk mengirimnya sebagai pesan baru."
)


def _receipt(kept: sessions.KeptReceipt) -> Receipt | None:
    if kept.tracking_code is None or kept.received_at is None:
        return None
    return Receipt(
        tracking_code=kept.tracking_code, status=statuses.RECEIVED, received_at=kept.received_at
    )


async def _wait_for_first(
    ctx: Context, token: bytes, still: str = STILL_FILING
) -> sessions.KeptReceipt:
    """What the request that claimed ``token`` first kept, once it has filed; Conflict with
    ``still`` if it takes too long."""
    with anyio.move_on_after(WAIT_FOR_FIRST_SECONDS):
        while True:
            kept = await sessions.recall_receipt(ctx.keyring.submission_key, token)
            if kept is None:  # the first one failed and let go: nothing was filed
                break
            if kept.tracking_code is not None and kept.received_at is not None:
                return kept
            await anyio.sleep(_POLL_SECONDS)
    raise Conflict(still)


async def submit_once(
    ctx: Context,
    report: ReportInput,
    token: bytes,
    *,
    refuse_other_report: bool,
    identity: tuple[str, str] | None = None,
    **filing: Any,
) -> tuple[Receipt, bool]:
    """File ``report`` unless ``token`` (prefixed FORM or API) already filed one; return the
    receipt and whether it is the earlier one.

    A token that filed a different report raises Conflict (409) when ``refuse_other_report``
    (an API key reused by mistake); else that report's receipt is shown (a form edited after
    Back: it was already sent). A token whose first request is still filing raises Conflict
    after a wait. ``identity`` (name, contact), checked by the caller, is filed with it.
    ``filing`` goes to ``service.submit_report`` (files sent with the report); a
    resend files nothing, so the caller discards the files it brought when the answer is the
    earlier receipt."""
    body = msgspec.json.encode(report)
    key = ctx.keyring.submission_key
    earlier = await sessions.claim_submission(key, token, body)
    if earlier is not None:
        if refuse_other_report and not earlier.same_body:
            raise Conflict(OTHER_REPORT)
        receipt = _receipt(earlier) or _receipt(await _wait_for_first(ctx, token))
        assert receipt is not None
        return receipt, True

    async def keep(receipt: Receipt) -> None:
        await sessions.keep_receipt(key, token, receipt.tracking_code, receipt.received_at)

    try:
        # The receipt commits with the report: a report stored without it could never be shown.
        receipt = await service.submit_report(
            ctx, report, with_receipt=keep, identity=identity, **filing
        )
    except BaseException:
        # Nothing was filed: a corrected or repeated send may file it. During an outage the
        # release fails too, so the form is shown again with a new token.
        with anyio.CancelScope(shield=True), contextlib.suppress(Exception):
            await sessions.release_submission(key, token)
        raise
    return receipt, False


@dataclass(frozen=True)
class Kept:
    """What a request under an Idempotency-Key stored: the ids of what it made (an upload's
    files, a message) and when that reaches the integrity team."""

    ids: list[uuid.UUID]
    release_at: datetime


KeepIds = Callable[[list[uuid.UUID], datetime], Awaitable[None]]


async def _once(
    ctx: Context,
    token: bytes,
    fingerprint: bytes,
    store: Callable[[KeepIds], Awaitable[Kept]],
    *,
    still: str,
    other: str,
    on_retry: Callable[[], Awaitable[None]] | None = None,
) -> tuple[Kept, bool]:
    """Run ``store`` unless ``token`` already stored something; return what the token stored
    and whether it is the earlier request's.

    ``store`` is given the function that keeps the ids (encrypted under a key only the token
    gives) and must call it in its own transaction, so that what was stored is never stored
    twice. A retry with another ``fingerprint`` raises Conflict(``other``); a first request
    still storing, Conflict(``still``) after a wait. ``on_retry`` drops what a retry brought."""
    key = ctx.keyring.submission_key
    try:
        earlier = await sessions.claim_submission(key, token, fingerprint)
    except BaseException:
        if on_retry is not None:
            await on_retry()
        raise
    if earlier is not None:
        if on_retry is not None:
            await on_retry()
        if not earlier.same_body:
            raise Conflict(other)
        if earlier.tracking_code is None:
            earlier = await _wait_for_first(ctx, token, still)
        assert earlier.tracking_code is not None and earlier.received_at is not None
        ids = [uuid.UUID(text) for text in json.loads(earlier.tracking_code)]
        return Kept(ids, earlier.received_at), True

    async def keep(ids: list[uuid.UUID], release_at: datetime) -> None:
        await sessions.keep_receipt(key, token, json.dumps([str(i) for i in ids]), release_at)

    try:
        kept = await store(keep)
    except BaseException:
        with anyio.CancelScope(shield=True), contextlib.suppress(Exception):
            await sessions.release_submission(key, token)
        raise
    return kept, False


async def upload_once(
    ctx: Context,
    report_id: uuid.UUID,
    files: list[evidence.SealedFile],
    idempotency_key: bytes,
    fingerprint: bytes,
    *,
    other: str = OTHER_UPLOAD,
) -> tuple[Kept, bool]:
    """Hold the received ``files`` for the release unless ``idempotency_key`` already stored an
    upload to this report; return what the key stored and whether it is the earlier upload.

    The same storage and rules as a report's key: a keyed hash of the key (scoped to the
    report), a keyed fingerprint of the request (``fingerprint``: every part's name, file name
    and bytes), and what the answer needs encrypted under a key only the key itself gives. A
    retry stores nothing (its ``files`` are discarded); the key with another upload raises
    Conflict(``other``), as does a first upload still being stored after a wait."""

    async def store(keep: KeepIds) -> Kept:
        ids = [sealed.id for sealed in files]
        # Kept in the files' own transaction: stored files without it would be stored twice.
        release_at = await service.add_evidence(ctx, files, with_receipt=lambda at: keep(ids, at))
        assert release_at is not None
        return Kept(ids, release_at)

    return await _once(
        ctx,
        UPLOAD + report_id.bytes + idempotency_key,
        fingerprint,
        store,
        still=STILL_UPLOADING,
        other=other,
        on_retry=lambda: _discard(files),
    )


async def message_once(
    ctx: Context,
    report_id: uuid.UUID,
    data_key: bytes,
    text: str | None,
    idempotency_key: bytes,
    files: Sequence[evidence.SealedFile] = (),
    *,
    fingerprint: bytes | None = None,
    other: str = OTHER_MESSAGE,
) -> tuple[messages.Message, bool]:
    """Send the reporter's message (with ``files``, received for this report) unless
    ``idempotency_key`` already sent one to this report; return the message (the earlier one,
    as it is now, for a retry) and whether it is a retry.

    Stored and refused like an upload's key; the fingerprint is the text unless given (the
    status page's form gives the text and every file's bytes). A retry stores nothing (its
    ``files`` are discarded); the key with another message raises Conflict(``other``)."""

    async def store(keep: KeepIds) -> Kept:
        message = await service.send_reporter_message(
            ctx, report_id, data_key, text, files, with_receipt=keep
        )
        assert message.release_at is not None
        return Kept([message.id], message.release_at)

    kept, replayed = await _once(
        ctx,
        MESSAGE + report_id.bytes + idempotency_key,
        (text or "").encode() if fingerprint is None else fingerprint,
        store,
        still=STILL_SENDING,
        other=other,
        on_retry=lambda: _discard(files),
    )
    [message_id] = kept.ids
    for message in await service.reporter_messages(report_id, data_key):
        if message.id == message_id:
            return message, replayed
    raise LookupError("a kept message is gone from the dialogue")  # pragma: no cover


async def _discard(files: Sequence[evidence.SealedFile]) -> None:
    with anyio.CancelScope(shield=True):
        for sealed in files:
            await evidence.discard(sealed.id)


async def kept_receipt(ctx: Context, token: bytes) -> Receipt | None:
    """The receipt kept for a form's token (to show it again), or None once it expired."""
    kept = await sessions.recall_receipt(ctx.keyring.submission_key, token)
    return _receipt(kept) if kept is not None else None


async def forget(ctx: Context, token: bytes) -> None:
    """The reporter saved the code: drop the kept receipt now."""
    await sessions.forget_receipt(ctx.keyring.submission_key, token)

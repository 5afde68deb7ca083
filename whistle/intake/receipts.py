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
from whistle.reports import statuses
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
class KeptUpload:
    """What an upload under an Idempotency-Key stored: its files' ids and their release."""

    file_ids: list[uuid.UUID]
    release_at: datetime


async def upload_once(
    ctx: Context,
    report_id: uuid.UUID,
    files: list[evidence.SealedFile],
    idempotency_key: bytes,
    fingerprint: bytes,
) -> tuple[KeptUpload, bool]:
    """Hold the received ``files`` for the release unless ``idempotency_key`` already stored an
    upload to this report; return what the key stored and whether it is the earlier upload.

    The same storage and rules as a report's key: a keyed hash of the key (scoped to the
    report), a keyed fingerprint of the request (``fingerprint``: every part's name, file name
    and bytes), and what the answer needs encrypted under a key only the key itself gives. A
    retry stores nothing (its ``files`` are discarded); the key with another upload raises
    Conflict (409), as does a first upload still being stored after a wait."""
    token = UPLOAD + report_id.bytes + idempotency_key
    key = ctx.keyring.submission_key
    try:
        earlier = await sessions.claim_submission(key, token, fingerprint)
    except BaseException:
        await _discard(files)
        raise
    if earlier is not None:
        await _discard(files)
        if not earlier.same_body:
            raise Conflict(OTHER_UPLOAD)
        if earlier.tracking_code is None:
            earlier = await _wait_for_first(ctx, token, STILL_UPLOADING)
        return _kept_upload(earlier), True

    async def keep(release_at: datetime) -> None:
        ids = json.dumps([str(sealed.id) for sealed in files])
        await sessions.keep_receipt(key, token, ids, release_at)

    try:
        # Kept in the files' own transaction: stored files without it would be stored twice.
        release_at = await service.add_evidence(ctx, files, with_receipt=keep)
    except BaseException:
        with anyio.CancelScope(shield=True), contextlib.suppress(Exception):
            await sessions.release_submission(key, token)
        raise
    assert release_at is not None
    return KeptUpload([sealed.id for sealed in files], release_at), False


def _kept_upload(kept: sessions.KeptReceipt) -> KeptUpload:
    assert kept.tracking_code is not None and kept.received_at is not None
    ids = [uuid.UUID(text) for text in json.loads(kept.tracking_code)]
    return KeptUpload(ids, kept.received_at)


async def _discard(files: list[evidence.SealedFile]) -> None:
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

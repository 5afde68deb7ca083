"""One report per submission, however often it is sent: a reload, Back then resend, a double
tap or an app retrying with the same Idempotency-Key all get the first receipt.

The form carries a random submission token, the API an Idempotency-Key; whistle.sessions keeps
the claim and the receipt (the code encrypted under a key only the token gives). Nothing here
knows about HTTP.
"""

from __future__ import annotations

import contextlib
from typing import Any

import anyio
import msgspec

from whistle import sessions
from whistle.context import Context
from whistle.errors import Conflict
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


def _receipt(kept: sessions.KeptReceipt) -> Receipt | None:
    if kept.tracking_code is None or kept.received_at is None:
        return None
    return Receipt(
        tracking_code=kept.tracking_code, status=statuses.RECEIVED, received_at=kept.received_at
    )


async def _wait_for_first(ctx: Context, token: bytes) -> Receipt:
    """The receipt of the request that claimed ``token`` first, once it has filed."""
    with anyio.move_on_after(WAIT_FOR_FIRST_SECONDS):
        while True:
            kept = await sessions.recall_receipt(ctx.keyring.submission_key, token)
            if kept is None:  # the first one failed and let go: nothing was filed
                break
            if (receipt := _receipt(kept)) is not None:
                return receipt
            await anyio.sleep(_POLL_SECONDS)
    raise Conflict(STILL_FILING)


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
        return (_receipt(earlier) or await _wait_for_first(ctx, token)), True

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


async def kept_receipt(ctx: Context, token: bytes) -> Receipt | None:
    """The receipt kept for a form's token (to show it again), or None once it expired."""
    kept = await sessions.recall_receipt(ctx.keyring.submission_key, token)
    return _receipt(kept) if kept is not None else None


async def forget(ctx: Context, token: bytes) -> None:
    """The reporter saved the code: drop the kept receipt now."""
    await sessions.forget_receipt(ctx.keyring.submission_key, token)

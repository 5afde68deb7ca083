"""Evidence uploads from a request: multipart read as a stream, files sealed as they arrive.

The upload routes never call ``request.form()`` (Litestar would spool file parts to the temp
directory). ``receive_uploads`` reads the body with ``whistle.web.multipart``, hands each file
part to ``whistle.evidence.store.receive_file`` and collects the plain fields (bounded). On any
refusal the files sealed so far are discarded and the rest of the body is read and dropped
(so the browser gets the answer, not a cut connection), then the refusal is raised again.

The body limit of these routes is their own: Litestar's per-handler limit is switched off
(``request_max_body_size=None``) and ``upload_body`` stops at the report's evidence total plus a
margin for the form's text fields, answering 413 like Litestar would.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl, quote

from litestar import Request, post
from litestar.enums import RequestEncodingType
from litestar.exceptions import PermissionDeniedException
from litestar.exceptions.http_exceptions import RequestEntityTooLarge

from whistle.context import Context
from whistle.errors import ValidationFailed
from whistle.evidence import store
from whistle.i18n import N_
from whistle.web.csrf import CSRF_FAILED, CSRF_FIELD, STREAMED_FORM_OPT, streamed_form_token
from whistle.web.inbound import UnsupportedMediaType
from whistle.web.multipart import (
    PART_END,
    MalformedMultipart,
    Part,
    boundary_of,
    read_multipart,
)

# The form's text fields together (a report at its limits stays well under this).
MAX_FIELDS_BYTES = 256 * 1024
FILE_FIELD = "files"
NOT_MULTIPART = N_("Alamat ini hanya menerima isi berjenis multipart/form-data.")


@dataclass
class Received:
    fields: dict[str, Any] = field(default_factory=dict)
    files: list[store.SealedFile] = field(default_factory=list)
    # What was sent, whatever the multipart boundary: every part's name, file name and bytes
    # in order (an Idempotency-Key's retry must send the same).
    digest: Any = field(default_factory=hashlib.sha256)

    def note_part(self, name: str | None, filename: str | None) -> None:
        for label in (name or "", "\x00" if filename is None else filename):
            encoded = label.encode("utf-8", "surrogatepass")
            self.digest.update(len(encoded).to_bytes(8, "big") + encoded)

    async def hashed(self, pieces: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
        size = 0
        async for piece in pieces:
            size += len(piece)
            self.digest.update(piece)
            yield piece
        self.digest.update(size.to_bytes(8, "big"))


def upload_limit(ctx: Context) -> int:
    """The largest body an upload route reads: every file of a report, and the form around it."""
    return ctx.settings.evidence_report_bytes + MAX_FIELDS_BYTES + 64 * 1024


async def upload_body(request: Request, limit: int) -> AsyncIterator[bytes]:
    """The request body as it arrives, refused with 413 past ``limit`` bytes."""
    if (request.content_length or 0) > limit:
        raise RequestEntityTooLarge()
    total = 0
    async for piece in request.stream():
        total += len(piece)
        if total > limit:
            raise RequestEntityTooLarge()
        yield piece


async def _part_content(events: AsyncIterator[Any]) -> AsyncIterator[bytes]:
    async for event in events:
        if event is PART_END:
            return
        yield event


async def _drain(events: AsyncIterator[Any]) -> None:
    try:
        async for _ in events:
            pass
    except (MalformedMultipart, RequestEntityTooLarge):
        pass


async def receive_uploads(
    ctx: Context,
    request: Request,
    *,
    report_id: uuid.UUID,
    data_key: bytes,
    budget: store.Budget,
    hour: datetime,
    csrf: bool,
) -> Received:
    """Read a multipart request: plain fields into ``fields`` (repeated names as lists), each
    non-empty part of the ``files`` field sealed into ``files`` (chunks pending, see
    whistle.evidence.store). ``csrf``: the form's first part must be its valid CSRF token.

    Raises FileRefused / ValidationFailed / 413 / 415 with nothing left stored."""
    media_type, params = request.content_type
    if media_type != RequestEncodingType.MULTI_PART:
        if csrf and media_type == RequestEncodingType.URL_ENCODED:
            # A page's form sent without files: bounded like any form, its token checked here.
            return Received(fields=await _urlencoded_fields(ctx, request))
        raise UnsupportedMediaType(detail=NOT_MULTIPART)
    events = read_multipart(upload_body(request, upload_limit(ctx)), boundary_of(params))
    received = Received()
    field_bytes = 0
    first = True
    current_name = ""
    try:
        async for event in events:
            if not isinstance(event, Part):
                raise MalformedMultipart()
            if first and csrf:
                if event.name != CSRF_FIELD or event.filename is not None:
                    raise PermissionDeniedException(detail=CSRF_FAILED)
                _check_token(request, await _text(_part_content(events)))
                first = False
                continue
            first = False
            received.note_part(event.name, event.filename)
            if event.filename is not None and event.name == FILE_FIELD:
                current_name = event.filename
                pieces = received.hashed(_part_content(events))
                if not event.filename:
                    # A file input left empty still sends an empty part.
                    async for _ in pieces:
                        raise MalformedMultipart()
                    continue
                received.files.append(
                    await store.receive_file(
                        report_id, data_key, event.filename, pieces, budget, hour
                    )
                )
                continue
            value = await _text(
                received.hashed(_part_content(events)), MAX_FIELDS_BYTES - field_bytes
            )
            field_bytes += len(value.encode())
            if event.name in received.fields:
                existing = received.fields[event.name]
                received.fields[event.name] = [
                    *(existing if isinstance(existing, list) else [existing]),
                    value,
                ]
            else:
                received.fields[event.name] = value
        if first and csrf:
            raise PermissionDeniedException(detail=CSRF_FAILED)
    except BaseException as failure:
        for sealed in received.files:
            await store.discard(sealed.id)
        await _drain(events)
        if isinstance(failure, store.FileRefused):
            failure.fields = received.fields
            failure.field = FILE_FIELD
            failure.index = len(received.files)
            failure.sent_name = store.as_sent(current_name)
        raise
    return received


def upload_post(
    path: str, *, page_form: bool = True, opt: dict[str, Any] | None = None, **kwargs: Any
) -> Any:
    """``@post`` for a route whose body ``receive_uploads`` reads: Litestar's body limit off
    (the evidence settings bound it there) and, for a page's form (``page_form``), the CSRF
    token checked in the stream rather than by the middleware. ``opt`` adds route options."""
    route_opt = {STREAMED_FORM_OPT: True} if page_form else {}
    return post(path, request_max_body_size=None, opt={**route_opt, **(opt or {})}, **kwargs)


def refused_upload(
    refusal: store.FileRefused, *, field: str = FILE_FIELD, keep: str | None = None
) -> dict[str, Any]:
    """What a page shows again for a refused file: the reason under ``field``, which file,
    and (``keep``) the text typed in that field of the same form."""
    shown: dict[str, Any] = {"errors": {field: refusal.reason}, "refused_file": refusal.name}
    if keep is not None:
        typed = refusal.fields.get(keep)
        shown["values"] = {keep: typed if isinstance(typed, str) else ""}
    return shown


async def _urlencoded_fields(ctx: Context, request: Request) -> dict[str, Any]:
    """An urlencoded body read up to the app's request limit, parsed as Litestar parses forms
    (a repeated name becomes a list), its CSRF token checked."""
    body = bytearray()
    async for piece in upload_body(request, ctx.settings.max_request_bytes):
        body += piece
    grouped: dict[str, list[str]] = {}
    for name, value in parse_qsl(body.decode("latin-1"), keep_blank_values=True, separator="&"):
        grouped.setdefault(name, []).append(value)
    fields: dict[str, Any] = {k: v if len(v) > 1 else v[0] for k, v in grouped.items()}
    sent = fields.get(CSRF_FIELD)
    _check_token(request, sent if isinstance(sent, str) else "")
    return fields


def _check_token(request: Request, sent: str) -> None:
    expected = streamed_form_token(request)
    if not expected or not hmac.compare_digest(sent, expected):
        raise PermissionDeniedException(detail=CSRF_FAILED)


async def _text(pieces: AsyncIterator[bytes], limit: int = 4096) -> str:
    data = bytearray()
    async for piece in pieces:
        data += piece
        if len(data) > limit:
            raise ValidationFailed({"form": MalformedMultipart().errors["form"]})
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise MalformedMultipart() from None


def attachment_headers(name: str, mime: str, size: int) -> dict[str, str]:
    """Headers of a file download: saved, never shown (``attachment``), under a plain ASCII name
    with the real one in RFC 5987 ``filename*``; the type is the one decided from the bytes."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    ascii_name = re.sub(r"[^A-Za-z0-9._ -]", "_", ascii_name).strip(" .") or "file"
    return {
        "Content-Disposition": (
            f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name, safe='')}"
        ),
        "Content-Type": mime,
        "Content-Length": str(size),
        "X-Content-Type-Options": "nosniff",
    }

"""JSON API for the office's mobile app: the same intake service as the pages."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Annotated, TypeVar

import msgspec
from litestar import Controller, HttpMethod, Request, Response, delete, get, post, route
from litestar.di import NamedDependency
from litestar.exceptions import ValidationException
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath, HeaderParameter, ParameterKwarg
from litestar.response import Stream

from whistle.clock import to_the_hour
from whistle.context import Context
from whistle.errors import ValidationFailed
from whistle.evidence import store as evidence
from whistle.evidence.files import ALLOWED as ACCEPTED_KINDS
from whistle.i18n import N_, gettext
from whistle.intake import receipts, service
from whistle.intake.openapi import (
    BAD_REQUEST,
    BUSY,
    FILE_DAMAGED,
    FILE_NOT_FOUND,
    IDEMPOTENT_REPLAYED,
    MESSAGE_CONFLICT,
    REFUSED_FIELDS,
    REFUSED_FILE,
    RETRY_AFTER,
    STILL_FILING,
    TOO_LARGE,
    UNAUTHENTICATED,
    UNSUPPORTED,
    UNSUPPORTED_UPLOAD,
    UPLOAD_CONFLICT,
    WWW_AUTHENTICATE,
    attachments_body_schema,
    documented,
    report_body_schema,
)
from whistle.intake.schemas import (
    CATEGORIES,
    IdentityBody,
    MessageBody,
    ReportBody,
    office_today,
    validate_report,
)
from whistle.reports.content import ReportInput
from whistle.reports.messages import MESSAGE_MAX, Message
from whistle.reports.statuses import (
    OUTCOME_EXPLANATIONS,
    OUTCOME_LABELS,
    REFERRAL_LABELS,
    STATUS_EXPLANATIONS,
    STATUS_LABELS,
    STATUS_NEXT_STEPS,
)
from whistle.web.dependencies import bearer_token
from whistle.web.uploads import attachment_headers, receive_uploads, upload_post


def idempotency_header(what_a_retry_does: str) -> ParameterKwarg:
    """The optional Idempotency-Key header: printable ASCII, one new random key per request."""
    return HeaderParameter(
        name="Idempotency-Key",
        min_length=1,
        max_length=255,
        pattern=r"^[!-~]+$",
        description=f"A new random key per request; {what_a_retry_does}.",
    )


class Category(msgspec.Struct):
    code: str
    label: str


class FileKindOut(msgspec.Struct):
    kind: str
    mime: str
    # The extension a stored file of this kind gets, whatever its name was.
    extension: str
    # False for kinds whose metadata cannot be removed (audio, video).
    cleaned: bool


class UploadLimitsOut(msgspec.Struct):
    # Files per report (all uploads together), bytes per file, bytes of all files of a report.
    max_files: int
    max_file_bytes: int
    max_total_bytes: int
    # The kinds accepted, judged from the bytes (never from the name or the part's type).
    kinds: list[FileKindOut]


class LimitsOut(msgspec.Struct):
    files: UploadLimitsOut
    # The longest message, in characters.
    message_max_characters: int


class ReceiptOut(msgspec.Struct):
    tracking_code: str
    status: str
    status_label: str
    received_at: datetime


REPLAYED = {
    200: ResponseSpec(
        data_container=ReceiptOut,
        description="A retry with the same Idempotency-Key and body: the earlier receipt",
    )
}


class SessionRequest(msgspec.Struct, forbid_unknown_fields=True):
    tracking_code: str


class SessionOut(msgspec.Struct):
    token: str
    token_type: str
    expires_in: int


class TimelineOut(msgspec.Struct):
    status: str
    status_label: str
    at: datetime
    public_note: str | None


class AttachmentOut(msgspec.Struct):
    id: str
    name: str
    # The kind decided from the bytes (jpeg, pdf, mp4, ...), whatever the name says.
    kind: str
    size: int
    # What cleaning removed, in words; empty when nothing was found or the kind cannot be cleaned.
    removed: list[str]
    # False for kinds whose metadata cannot be removed (audio, video): see `warning`.
    cleaned: bool
    warning: str | None
    # Until the next release the file waits with the reporter's other new writes.
    pending: bool
    # The message the file was sent with; null for a file on its own.
    message_id: str | None = None


class ReportOut(msgspec.Struct):
    status: str
    status_label: str
    status_explanation: str
    # What happens next and what the reporter can do, in plain words.
    next_steps: str
    status_since: datetime
    received_at: datetime
    outcome: str | None
    outcome_label: str | None
    outcome_explanation: str | None
    # Who the case was referred to: a code from a fixed list, and its label in the language
    # asked for.
    referred_to: str | None
    referred_to_label: str | None
    # The dates the office committed to: an answer by acknowledge_due; once answered
    # (acknowledged_at), the result by feedback_due. Null when not (yet) set.
    acknowledge_due: datetime
    acknowledged_at: datetime | None
    feedback_due: datetime | None
    timeline: list[TimelineOut]
    # Null once the retention purge destroyed the report's content (on ``purged_at``).
    report: ReportInput | None
    purged_at: datetime | None = None
    # The reporter's evidence files, those waiting for the release included.
    files: list[AttachmentOut] = msgspec.field(default_factory=list)
    # Until the release publishes the report: when it reaches the integrity team; then null.
    release_at: datetime | None = None


class MessageOut(msgspec.Struct):
    id: str
    # "reporter" (the caller) or "officer" (the integrity team).
    author: str
    at: datetime
    # Null for a damaged message: its ciphertext did not open or its place was changed.
    body: str | None
    damaged: bool
    # The caller's own message still waiting for the next release to reach the team.
    pending: bool
    # Its place in the dialogue: one more than that of the message its writer saw last
    # (``previous``, null for the first). Two messages written after the same one share a place.
    position: int
    previous: str | None
    # When a pending message reaches the team (the release ending its period); null once it has.
    release_at: datetime | None = None
    # The files sent with it; the officers' are downloaded from /report/attachments/{id}.
    files: list[AttachmentOut] = msgspec.field(default_factory=list)


class RevealOut(msgspec.Struct):
    at: datetime
    reason: str


class IdentityOut(msgspec.Struct):
    # Whether the caller gave a name or contact (published to the team, or still pending).
    given: bool
    pending: bool
    # Every time the team revealed it (two triage officers agreed), with their reason.
    reveals: list[RevealOut]


class IdentityAccepted(msgspec.Struct):
    # When the identity reaches the team (the next release).
    release_at: datetime


def _message_out(message: Message, files: Sequence[evidence.FileInfo] = ()) -> MessageOut:
    return MessageOut(
        id=str(message.id),
        author=message.author,
        at=message.at,
        body=message.text,
        damaged=message.damaged,
        pending=message.pending,
        position=message.position,
        previous=None if message.previous is None else str(message.previous),
        release_at=message.release_at,
        files=[attachment_out(info) for info in files if info.message_id == message.id],
    )


def _message_body_schema() -> dict:
    return {
        "type": "object",
        "properties": {
            "body": {
                "type": "string",
                "minLength": 1,
                "maxLength": MESSAGE_MAX,
                "pattern": r"\S",
                "description": "The message (at most 5,000 characters, no control characters)",
            }
        },
        "required": ["body"],
        "additionalProperties": False,
    }


def _identity_body_schema() -> dict:
    return {
        "type": "object",
        "properties": {
            "name": {"type": "string", "maxLength": 200},
            "contact": {"type": "string", "maxLength": 500},
        },
        "additionalProperties": False,
        "description": "A name, a contact, or both (at least one not blank)",
    }


class AttachmentsOut(msgspec.Struct):
    files: list[AttachmentOut]
    # When the files reach the integrity team.
    release_at: datetime


UPLOAD_REPLAYED = {
    200: ResponseSpec(
        data_container=AttachmentsOut,
        description="A retry with the same Idempotency-Key and body: the earlier upload's files",
    )
}

MESSAGE_REPLAYED = {
    200: ResponseSpec(
        data_container=MessageOut,
        description="A retry with the same Idempotency-Key and text: the earlier message",
    )
}

NO_FILES = N_("Pilih paling sedikit satu berkas.")


def attachment_out(info: evidence.FileInfo) -> AttachmentOut:
    """How the API describes one of the reporter's files."""
    return AttachmentOut(
        id=str(info.id),
        name=info.name,
        kind=info.kind.name,
        size=info.size,
        removed=[gettext(label) for label in info.removed],
        cleaned=info.kind.cleanable,
        warning=None if info.kind.cleanable else gettext(evidence.CANNOT_CLEAN_WARNING),
        pending=info.pending,
        message_id=None if info.message_id is None else str(info.message_id),
    )


def _sealed_out(files: Sequence[evidence.SealedFile], now: datetime) -> list[AttachmentOut]:
    """How the API describes files just received and held for the release."""
    return [
        attachment_out(
            evidence.FileInfo(
                id=sealed.id,
                name=sealed.name,
                kind=sealed.kind,
                size=sealed.size,
                removed=sealed.removed,
                author=evidence.AUTHOR_REPORTER,
                uploaded_at=to_the_hour(now),
                pending=True,
                message_id=sealed.message_id,
            )
        )
        for sealed in files
    ]


def _label(table: dict[str, str], code: str | None) -> str | None:
    """The translated label of ``code``, the code itself if the table lacks it, None for none."""
    if code is None:
        return None
    return gettext(table[code]) if code in table else code


BEARER: list[dict[str, list[str]]] = [{"BearerToken": []}]
OPTIONAL_BEARER: list[dict[str, list[str]]] = [{"BearerToken": []}, {}]
StructT = TypeVar("StructT", bound=msgspec.Struct)


async def strict_json(request: Request, body_type: type[StructT]) -> StructT:
    """The request body decoded as ``body_type`` with JSON's own types, nothing coerced."""
    try:
        return msgspec.json.decode(await request.body(), type=body_type, strict=True)
    except msgspec.ValidationError as failure:
        # msgspec names the field and the expected type, never the value.
        raise ValidationException(
            detail="Invalid request body", extra=[{"key": "body", "message": str(failure)}]
        ) from None
    except msgspec.DecodeError:
        raise ValidationException(
            detail="Invalid request body", extra=[{"key": "body", "message": "Invalid JSON"}]
        ) from None


class ReporterApi(Controller):
    path = "/api/v1"
    tags = ("reporter",)

    @get("/categories", summary="Report categories")
    async def categories(self) -> list[Category]:
        return [Category(code, gettext(label)) for code, label in CATEGORIES.items()]

    @get("/limits", summary="What an upload and a message may hold, to check before sending")
    async def limits(self, ctx: NamedDependency[Context]) -> LimitsOut:
        settings = ctx.settings
        return LimitsOut(
            files=UploadLimitsOut(
                max_files=settings.evidence_files_per_report,
                max_file_bytes=settings.evidence_file_bytes,
                max_total_bytes=settings.evidence_report_bytes,
                kinds=[
                    FileKindOut(kind.name, kind.mime, kind.extension, kind.cleanable)
                    for kind in ACCEPTED_KINDS
                ],
            ),
            message_max_characters=MESSAGE_MAX,
        )

    @post(
        "/reports",
        status_code=201,
        summary="File a report; the answer holds the tracking code",
        description=(
            "Send an `Idempotency-Key` header (any printable text up to 255 characters, a new "
            "random one per report, e.g. a UUID) to make retries safe: a retry with the same "
            "key and body within at least an hour files nothing new and answers 200 with the "
            "same receipt (header `Idempotent-Replayed: true`); the same key with another "
            "report is refused with 409, like a retry while the first is still being filed that "
            "waits for it too long."
        ),
        responses={
            **REPLAYED,
            **BAD_REQUEST,
            **STILL_FILING,
            **TOO_LARGE,
            **UNSUPPORTED,
            **REFUSED_FIELDS,
            **BUSY,
        },
        operation_class=documented(
            request_body=lambda: report_body_schema(office_today()),
            headers={"200": IDEMPOTENT_REPLAYED, "503": RETRY_AFTER},
        ),
    )
    async def submit(
        self,
        request: Request,
        ctx: NamedDependency[Context],
        idempotency_key: Annotated[
            str | None, idempotency_header("a retry with it files nothing new")
        ] = None,
    ) -> Response[ReceiptOut]:
        # Decoded here, strictly: Litestar's own body parsing would turn "1" into 1 and accept
        # what the documented schema refuses.
        body = await strict_json(request, ReportBody)
        report = validate_report(msgspec.structs.asdict(body))
        replayed = False
        if idempotency_key is None:
            receipt = await service.submit_report(ctx, report)
        else:
            receipt, replayed = await receipts.submit_once(
                ctx, report, receipts.API + idempotency_key.encode(), refuse_other_report=True
            )
        return Response(
            ReceiptOut(
                tracking_code=receipt.tracking_code,
                status=receipt.status,
                status_label=gettext(STATUS_LABELS[receipt.status]),
                received_at=receipt.received_at,
            ),
            status_code=200 if replayed else 201,
            headers={"Idempotent-Replayed": "true"} if replayed else None,
        )

    @post(
        "/session",
        status_code=200,
        summary="Exchange a tracking code for a bearer token",
        responses={**BAD_REQUEST, **TOO_LARGE, **UNSUPPORTED, **UNAUTHENTICATED, **BUSY},
        operation_class=documented(
            request_body=lambda: msgspec.json.schema_components([SessionRequest])[1][
                "SessionRequest"
            ],
            headers={"401": WWW_AUTHENTICATE, "503": RETRY_AFTER},
        ),
    )
    async def open_session(self, request: Request, ctx: NamedDependency[Context]) -> SessionOut:
        body = await strict_json(request, SessionRequest)
        token = await service.start_reporter_session(ctx, body.tracking_code)
        return SessionOut(
            token=token,
            token_type="Bearer",  # noqa: S106 - the scheme name, not a secret
            expires_in=ctx.settings.reporter_idle_minutes * 60,
        )

    @delete(
        "/session",
        status_code=204,
        summary="End the reporter session (without a valid token there is nothing to end)",
        security=OPTIONAL_BEARER,
    )
    async def close_session(self, request: Request) -> None:
        await service.end_reporter_session(bearer_token(request))

    @route("/session", http_method=[HttpMethod.OPTIONS], include_in_schema=False)
    async def allowed_session_methods(self) -> Response[None]:
        # Litestar's automatic OPTIONS answer for a path with two handlers names only the first
        # one registered (handlers register in name order, so this one comes first).
        return Response(None, status_code=204, headers={"Allow": "DELETE, OPTIONS, POST"})

    @get(
        "/report",
        summary="Status, timeline and content of the caller's report",
        security=BEARER,
        responses=UNAUTHENTICATED,
        operation_class=documented(headers={"401": WWW_AUTHENTICATE}),
    )
    async def report(self, request: Request, ctx: NamedDependency[Context]) -> ReportOut:
        report_id, data_key = await service.reporter_session(ctx, bearer_token(request))
        view = await service.reporter_view(ctx, report_id, data_key)
        return ReportOut(
            status=view.status,
            status_label=gettext(STATUS_LABELS[view.status]),
            status_explanation=gettext(STATUS_EXPLANATIONS[view.status]),
            next_steps=gettext(STATUS_NEXT_STEPS[view.status]),
            status_since=view.status_since,
            received_at=view.received_at,
            outcome=view.outcome,
            outcome_label=_label(OUTCOME_LABELS, view.outcome),
            outcome_explanation=_label(OUTCOME_EXPLANATIONS, view.outcome),
            referred_to=view.referred_to,
            referred_to_label=_label(REFERRAL_LABELS, view.referred_to),
            acknowledge_due=view.acknowledge_due,
            acknowledged_at=view.acknowledged_at,
            feedback_due=view.feedback_due,
            timeline=[
                TimelineOut(
                    status=entry.status,
                    status_label=gettext(STATUS_LABELS[entry.status]),
                    at=entry.at,
                    public_note=entry.public_note,
                )
                for entry in view.timeline
            ],
            report=view.report,
            purged_at=view.purged_at,
            release_at=view.release_at,
            files=[
                attachment_out(info) for info in await service.reporter_files(report_id, data_key)
            ],
        )

    @upload_post(
        "/report/attachments",
        page_form=False,
        status_code=201,
        summary="Add evidence files to the caller's report",
        description=(
            "A multipart/form-data body with one `files` part per file. The kind is decided "
            "from the bytes against an allow-list; images, PDF, text and office documents are "
            "cleaned of metadata first (`removed` says what went), audio and video cannot be "
            "(`warning`). A refused file refuses the whole request and nothing is stored; "
            "the problem's `file` names it (field, place from 0, name as sent). "
            "Files reach the integrity team at the next release (`release_at`). Limits: "
            "GET /api/v1/limits. An `Idempotency-Key` header (a new random one per upload) "
            "makes a retry safe: the same key and body again stores nothing and answers 200 "
            "with the same files (header `Idempotent-Replayed: true`); the same key with "
            "other files or fields is refused with 409."
        ),
        security=BEARER,
        responses={
            **UPLOAD_REPLAYED,
            **BAD_REQUEST,
            **UNAUTHENTICATED,
            **UPLOAD_CONFLICT,
            **TOO_LARGE,
            **UNSUPPORTED_UPLOAD,
            **REFUSED_FILE,
        },
        operation_class=documented(
            request_body=attachments_body_schema,
            headers={"200": IDEMPOTENT_REPLAYED, "401": WWW_AUTHENTICATE},
            media_type="multipart/form-data",
        ),
    )
    async def attach(
        self,
        request: Request,
        ctx: NamedDependency[Context],
        idempotency_key: Annotated[
            str | None, idempotency_header("a retry with it stores nothing new")
        ] = None,
    ) -> Response[AttachmentsOut]:
        report_id, data_key = await service.reporter_session(ctx, bearer_token(request))
        now = datetime.now(UTC)
        received = await receive_uploads(
            ctx,
            request,
            report_id=report_id,
            data_key=data_key,
            budget=await service.evidence_budget(ctx, report_id),
            hour=to_the_hour(now),
            csrf=False,
        )
        if not received.files:
            raise ValidationFailed({"files": NO_FILES})
        files = await service.with_own_message(
            report_id, data_key, received.files, received.fields.get("message_id")
        )
        if idempotency_key is None:
            release_at = await service.add_evidence(ctx, files, now)
            assert release_at is not None
            return Response(
                AttachmentsOut(files=_sealed_out(files, now), release_at=release_at),
                status_code=201,
            )
        kept, replayed = await receipts.upload_once(
            ctx, report_id, files, idempotency_key.encode(), received.digest.digest()
        )
        if not replayed:
            answer = AttachmentsOut(files=_sealed_out(files, now), release_at=kept.release_at)
            return Response(answer, status_code=201)
        # The earlier upload's files as they are now (published since, perhaps).
        stored = {info.id: info for info in await service.reporter_files(report_id, data_key)}
        return Response(
            AttachmentsOut(
                files=[attachment_out(stored[i]) for i in kept.ids if i in stored],
                release_at=kept.release_at,
            ),
            status_code=200,
            headers={"Idempotent-Replayed": "true"},
        )

    @get(
        "/report/attachments/{file_id:uuid}",
        summary="Download a file the integrity team sent with a message",
        description=(
            "Only files an officer attached to a message of the caller's report (listed in "
            "`files` of GET /report/messages); any other id answers 404. The body is the file, "
            "checked whole before it is sent, as `Content-Disposition: attachment`."
        ),
        security=BEARER,
        responses={**UNAUTHENTICATED, **FILE_NOT_FOUND, **FILE_DAMAGED},
        operation_class=documented(headers={"401": WWW_AUTHENTICATE}),
    )
    async def sent_file(
        self, request: Request, ctx: NamedDependency[Context], file_id: FromPath[uuid.UUID]
    ) -> Stream:
        report_id, data_key = await service.reporter_session(ctx, bearer_token(request))
        sent = await service.download_sent_file(report_id, data_key, file_id)
        return Stream(
            sent.content,
            headers=attachment_headers(sent.info.name, sent.info.kind.mime, sent.size),
            media_type=sent.info.kind.mime,
        )

    @route("/report/messages", http_method=[HttpMethod.OPTIONS], include_in_schema=False)
    async def allowed_message_methods(self) -> Response[None]:
        # As for /session: the automatic answer would name only one of the two handlers.
        return Response(None, status_code=204, headers={"Allow": "GET, OPTIONS, POST"})

    @route("/report/identity", http_method=[HttpMethod.OPTIONS], include_in_schema=False)
    async def allowed_identity_methods(self) -> Response[None]:
        return Response(None, status_code=204, headers={"Allow": "GET, OPTIONS, POST"})

    @get(
        "/report/messages",
        summary="The dialogue with the integrity team, oldest first",
        security=BEARER,
        responses=UNAUTHENTICATED,
        operation_class=documented(headers={"401": WWW_AUTHENTICATE}),
    )
    async def messages(self, request: Request, ctx: NamedDependency[Context]) -> list[MessageOut]:
        report_id, data_key = await service.reporter_session(ctx, bearer_token(request))
        files = await service.dialogue_files(report_id, data_key)
        return [
            _message_out(m, files) for m in await service.reporter_messages(report_id, data_key)
        ]

    @post(
        "/report/messages",
        status_code=201,
        summary="Answer the integrity team (reaches them at the next release)",
        description=(
            "An `Idempotency-Key` header (a new random one per message) makes a retry safe: "
            "the same key and text again sends nothing and answers 200 with the earlier message "
            "as it is now (header `Idempotent-Replayed: true`); the same key with another text "
            "is refused with 409."
        ),
        security=BEARER,
        responses={
            **MESSAGE_REPLAYED,
            **BAD_REQUEST,
            **UNAUTHENTICATED,
            **MESSAGE_CONFLICT,
            **TOO_LARGE,
            **UNSUPPORTED,
            **REFUSED_FIELDS,
        },
        operation_class=documented(
            request_body=_message_body_schema,
            headers={"200": IDEMPOTENT_REPLAYED, "401": WWW_AUTHENTICATE},
        ),
    )
    async def send_message(
        self,
        request: Request,
        ctx: NamedDependency[Context],
        idempotency_key: Annotated[
            str | None, idempotency_header("a retry with it sends nothing new")
        ] = None,
    ) -> Response[MessageOut]:
        report_id, data_key = await service.reporter_session(ctx, bearer_token(request))
        body = await strict_json(request, MessageBody)
        if idempotency_key is None:
            message = await service.send_reporter_message(ctx, report_id, data_key, body.body)
            return Response(_message_out(message), status_code=201)
        message, replayed = await receipts.message_once(
            ctx, report_id, data_key, body.body, idempotency_key.encode()
        )
        if not replayed:
            return Response(_message_out(message), status_code=201)
        files = await service.dialogue_files(report_id, data_key)
        return Response(
            _message_out(message, files),
            status_code=200,
            headers={"Idempotent-Replayed": "true"},
        )

    @get(
        "/report/identity",
        summary="Whether the caller gave an identity, and when the team revealed it",
        security=BEARER,
        responses=UNAUTHENTICATED,
        operation_class=documented(headers={"401": WWW_AUTHENTICATE}),
    )
    async def identity(self, request: Request, ctx: NamedDependency[Context]) -> IdentityOut:
        report_id, data_key = await service.reporter_session(ctx, bearer_token(request))
        status = await service.identity_status(report_id, data_key)
        return IdentityOut(
            given=status.given,
            pending=status.pending,
            reveals=[RevealOut(at=item.at, reason=item.reason) for item in status.reveals],
        )

    @post(
        "/report/identity",
        status_code=202,
        summary="Give a name and contact (encrypted; the team sees only that one exists)",
        security=BEARER,
        responses={
            **BAD_REQUEST,
            **UNAUTHENTICATED,
            **TOO_LARGE,
            **UNSUPPORTED,
            **REFUSED_FIELDS,
        },
        operation_class=documented(
            request_body=_identity_body_schema, headers={"401": WWW_AUTHENTICATE}
        ),
    )
    async def give_identity(
        self, request: Request, ctx: NamedDependency[Context]
    ) -> IdentityAccepted:
        report_id, data_key = await service.reporter_session(ctx, bearer_token(request))
        body = await strict_json(request, IdentityBody)
        release_at = await service.give_identity(ctx, report_id, data_key, body.name, body.contact)
        return IdentityAccepted(release_at=release_at)

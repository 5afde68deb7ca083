"""Public pages: home, the report form, the receipt, and tracking. Thin over intake.service."""

from __future__ import annotations

import contextlib
import logging
import re
import uuid
from datetime import UTC, datetime
from typing import Any

import anyio
import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.datastructures import Cookie
from litestar.di import NamedDependency
from litestar.exceptions import ValidationException
from litestar.params import FromPath, URLEncodedBody
from litestar.response import Redirect, Stream, Template

from whistle import sessions
from whistle.clock import to_the_hour
from whistle.context import Context
from whistle.crypto import DerivationQueueFull
from whistle.db.outage import is_unavailable
from whistle.errors import (
    Conflict,
    InvalidTrackingCode,
    NotAuthenticated,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from whistle.evidence import store as evidence
from whistle.i18n import LANGUAGES, N_, choose_language, current_language, gettext, ngettext
from whistle.intake import receipts, service
from whistle.intake.schemas import (
    LIMITS,
    IdentityForm,
    ReportForm,
    TrackForm,
    validate_report,
)
from whistle.logs import reporter_record
from whistle.reports.messages import MESSAGE_MAX
from whistle.settings import Settings
from whistle.web.csrf import CSRF_FIELD
from whistle.web.dependencies import query_flag, session_cookie
from whistle.web.errors import (
    BUSY_RETRY_SECONDS,
    CSRF_FAILED_DETAIL,
    UNAVAILABLE_RETRY_SECONDS,
)
from whistle.web.forms import (
    FORM_EXCEPTION_HANDLERS,
    OWN_LANGUAGE_SWITCH_OPT,
    FormFailure,
    redisplay,
)
from whistle.web.language import language_cookie
from whistle.web.security import (
    NO_CSRF_COOKIE,
    form_token,
    form_token_valid,
    same_origin_request,
)
from whistle.web.templating import csrf_input, format_date_id, shared_page, shared_pages
from whistle.web.uploads import (
    Received,
    attachment_headers,
    receive_uploads,
    refused_upload,
    upload_post,
)

REPORTER_COOKIE = "whistle_reporter"
# Holds the form's submission token after filing, so the receipt page can show the code again
# (reload, language switch) without the code being stored anywhere in clear.
RECEIPT_COOKIE = "whistle_receipt"
RECEIPT_PATH = "/report/receipt"
# Said on the receipt page and in its text file alike.
CODE_CANNOT_BE_RECOVERED = N_(
    "Kode ini tidak dapat dipulihkan: kami tidak menyimpannya dan tidak dapat mengirimkannya "
    "kepada Anda. Tanpa kode ini Anda tidak dapat melihat perkembangan laporan."
)
DEADLINES_SINGULAR = DEADLINES_PLURAL = (
    "Tim WBS akan menanggapi laporan Anda paling lambat %(num)d hari kalender setelah diterima, "
    "dan memberi hasil penanganannya paling lambat %(feedback)d hari kalender setelah itu."
)
_SUBMISSION_TOKEN = re.compile(r"^[A-Za-z0-9_-]{43}$")
# The tracking field's maxlength: a refused code comes back no longer than the field takes.
log = logging.getLogger("whistle.errors")

TYPED_CODE_MAX = 40

# The tracking form sets no cookie (a visitor who only looks leaves no trace): its token is
# signed and expiring, and a post from another site is refused (see whistle.web.security).
TRACK_FORM = "track"


def _track_page(ctx: Context, status: int = 200, **context: Any) -> Template:
    token = form_token(ctx.keyring.csrf_secret, TRACK_FORM)
    return Template(
        template_name="public/track.html",
        context={**context, "form_token": token},
        status_code=status,
    )


NO_FILES = N_("Pilih paling sedikit satu berkas.")


def reporter_cookie(ctx: Context, value: str, *, expire: bool = False) -> Cookie:
    return session_cookie(ctx, REPORTER_COOKIE, value, "/track", expire=expire)


def _form_context(
    values: dict[str, Any],
    errors: dict[str, str],
    excluded: list[str],
    officers: list[service.ExcludableOfficer] | None,
    *,
    busy: bool = False,
    unavailable: bool = False,
    refused_file: str | None = None,
    files_dropped: bool = False,
) -> dict[str, Any]:
    return {
        "values": values,
        "errors": errors,
        "excluded": {str(value) for value in excluded},
        "officers": officers or [],
        # The form still works while the database is down, without the list.
        "officers_unavailable": officers is None,
        "limits": LIMITS,
        "busy": busy,
        "unavailable": unavailable,
        # A refused file's name, or files that must be chosen again after a refused form.
        "refused_file": refused_file,
        "files_dropped": files_dropped,
    }


def _language_kept(ctx: Context, data: ReportForm | TrackForm) -> list[Cookie]:
    """Serve this request in the language a form's switch chose, and remember it like the
    /bahasa links do."""
    language = choose_language(data.switch_language)
    current_language.set(language)
    return [language_cookie(language, secure=not ctx.settings.development)]


async def _discard(files: list[evidence.SealedFile]) -> None:
    """Drop the pending chunks of files that will not be filed. Best effort: while the database
    is down this fails too, and the release's sweep removes them later (sweep_orphans)."""
    with anyio.CancelScope(shield=True), contextlib.suppress(Exception):
        for sealed in files:
            await evidence.discard(sealed.id)


async def _form_page(
    values: dict[str, Any],
    errors: dict[str, str],
    excluded: list[str],
    status: int = 200,
    *,
    busy: bool = False,
    unavailable: bool = False,
    cookies: list[Cookie] | None = None,
    refused_file: str | None = None,
    files_dropped: bool = False,
) -> Template:
    officers = await _excludable_officers()
    retry_after = BUSY_RETRY_SECONDS if busy else UNAVAILABLE_RETRY_SECONDS if unavailable else 0
    return Template(
        template_name="public/report_form.html",
        context=_form_context(
            values,
            errors,
            excluded,
            officers,
            busy=busy,
            unavailable=unavailable,
            refused_file=refused_file,
            files_dropped=files_dropped,
        ),
        status_code=status,
        headers={"Retry-After": str(retry_after)} if retry_after else None,
        cookies=cookies,
    )


async def _excludable_officers() -> list[service.ExcludableOfficer] | None:
    """The officers a reporter may exclude, or None while the database is unavailable."""
    try:
        return await service.excludable_officers()
    except Exception as error:
        if not is_unavailable(error):
            raise
        return None


async def _kept_receipt(request: Request, ctx: Context) -> service.Receipt | None:
    token = request.cookies.get(RECEIPT_COOKIE) or ""
    if not _SUBMISSION_TOKEN.match(token):
        return None
    return await receipts.kept_receipt(ctx, receipts.FORM + token.encode())


def receipt_text(receipt: service.Receipt, settings: Settings) -> str:
    """The receipt as a small text file to keep: the code and what to do with it."""
    lines = [
        gettext("WBS Kantor Imigrasi - tanda terima pengaduan"),
        "",
        f"{gettext('Kode pelacakan Anda:')} {receipt.tracking_code}",
        f"{gettext('Diterima:')} {format_date_id(receipt.received_at)}",
        "",
        gettext(
            "Simpan file ini di tempat yang aman dan jangan bagikan kode ini kepada siapa pun."
        ),
        gettext(CODE_CANNOT_BE_RECOVERED),
        ngettext(DEADLINES_SINGULAR, DEADLINES_PLURAL, settings.acknowledge_days)
        % {"num": settings.acknowledge_days, "feedback": settings.feedback_days},
        gettext("Untuk melihat status: buka halaman Cek Status Pengaduan dan masukkan kode ini."),
    ]
    return "\r\n".join(lines) + "\r\n"


async def _status_page(
    ctx: Context,
    report_id: Any,
    data_key: bytes,
    *,
    form: str | None = None,
    errors: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
    refused_file: str | None = None,
    status_code: int | None = None,
) -> Template:
    """The reporter's status page: the dialogue, the identity, their files (those still pending
    included) and, after a refused form (``form``: message, identity, files), its message and
    what was typed, or the name of the file refused."""
    return Template(
        template_name="public/track_view.html",
        context={
            "view": await service.reporter_view(ctx, report_id, data_key),
            "messages": await service.reporter_messages(report_id, data_key),
            "identity": await service.identity_status(report_id, data_key),
            "files": await service.reporter_files(report_id, data_key),
            "message_files": await service.dialogue_files(report_id, data_key),
            "failed_form": form,
            "errors": errors or {},
            "values": values or {},
            # The message form's one-time token: kept while the same message may still be
            # on its way, new for every other showing of the page.
            "submission_token": (values or {}).get("submission_token")
            or sessions.new_submission_token(),
            "refused_file": refused_file,
            "limits": {
                "message": MESSAGE_MAX,
                "name": service.IDENTITY_NAME_MAX,
                "contact": service.IDENTITY_CONTACT_MAX,
            },
            "evidence_limits": {
                "file_bytes": ctx.settings.evidence_file_bytes,
                "files": ctx.settings.evidence_files_per_report,
                "report_bytes": ctx.settings.evidence_report_bytes,
            },
        },
        status_code=status_code or (422 if errors else 200),
    )


STATUS_FORM_OPT = "status_form"


async def _status_form_again(request: Request, failure: FormFailure) -> Template | Redirect:
    """The status page with the refused form, its message and what was typed (nothing sent)."""
    ctx: Context = request.app.state.ctx
    try:
        report_id, data_key = await service.reporter_session(
            ctx, request.cookies.get(REPORTER_COOKIE)
        )
    except NotAuthenticated:
        return Redirect(path="/track?expired=true")
    return await _status_page(
        ctx,
        report_id,
        data_key,
        form=request.route_handler.opt[STATUS_FORM_OPT],
        errors=failure.errors,
        values=failure.values,
    )


def _form_token(received: Received) -> bytes | None:
    """The status page form's one-time token as the receipts key it (None if it has none)."""
    token = received.fields.get("submission_token")
    if isinstance(token, str) and _SUBMISSION_TOKEN.match(token):
        return receipts.FORM + token.encode()
    return None


def _token_after(conflict: Conflict, received: Received) -> dict[str, Any]:
    """The form's token for the page after a refused resend: the same while the first request
    may still be on its way (sending again stays one), a new one once it went (what was sent
    now is something new)."""
    if conflict.detail in (receipts.STILL_SENDING, receipts.STILL_UPLOADING):
        return {"submission_token": received.fields["submission_token"]}
    return {}


def status_form(name: str) -> dict[str, Any]:
    return {STATUS_FORM_OPT: name, **redisplay(_status_form_again)}


def _checked_form(data: ReportForm) -> tuple[tuple[str, str] | None, Any]:
    """The optional identity and the report, or ValidationFailed naming every bad field."""
    errors: dict[str, str] = {}
    identity = data.identity()
    if identity is not None:
        try:
            identity = service.check_identity(*identity, prefix="identity_")
        except ValidationFailed as failure:
            errors.update(failure.errors)
    try:
        report = validate_report(data.as_typed())
    except ValidationFailed as failure:
        errors = {**failure.errors, **errors}
    if errors:
        raise ValidationFailed(errors)
    return identity, report


class PublicPages(Controller):
    include_in_schema = False

    @get("/", name="home", opt=NO_CSRF_COOKIE)
    async def home(self, request: Request) -> Response[bytes]:
        return shared_page(request, "public/home.html")

    @get("/report", name="report_form")
    async def report_form(self, request: Request) -> Response[bytes]:
        # The empty form is the same for everyone but for its two tokens; it changes with the
        # list of officers a reporter may exclude.
        officers = await _excludable_officers()
        pages = shared_pages(request)
        token = {"submission_token": pages.placeholder("submission_token")}
        return pages.response(
            request,
            "public/report_form.html",
            context=_form_context(token, {}, [], officers),
            key=None if officers is None else tuple(officers),
            per_request={
                "submission_token": sessions.new_submission_token(),
                "csrf_input": csrf_input(request),
            },
        )

    @upload_post("/report", name="report_submit", opt={OWN_LANGUAGE_SWITCH_OPT: True})
    async def report_submit(
        self, request: Request, ctx: NamedDependency[Context]
    ) -> Template | Redirect:
        """The report form, multipart with its evidence files (read as a stream: nothing on
        disk) or urlencoded without. A refused form or file comes back with what was typed;
        files must be chosen again (a browser never fills a file field), nothing was kept."""
        report_id, data_key = service.new_report_identity()
        now = datetime.now(UTC)
        try:
            received = await receive_uploads(
                ctx,
                request,
                report_id=report_id,
                data_key=data_key,
                budget=service.new_report_budget(ctx),
                hour=to_the_hour(now),
                csrf=True,
            )
        except evidence.FileRefused as refusal:
            return await self._refused_form(refusal.fields, refusal.errors, refusal.name)
        try:
            data = msgspec.convert(received.fields, ReportForm, strict=False)
        except msgspec.ValidationError as failure:
            await _discard(received.files)
            # As Litestar answers a body that does not fit the form: names the rule, not the value.
            raise ValidationException(
                detail="Invalid request body", extra=[{"key": "body", "message": str(failure)}]
            ) from None
        values = msgspec.structs.asdict(data)
        if not _SUBMISSION_TOKEN.match(data.submission_token):
            values["submission_token"] = sessions.new_submission_token()
        token: str = values["submission_token"]
        excluded = data.ticked_officers()
        if data.switch_language:
            # A language button: the same form in that language, nothing checked or stored
            # (files sent along are dropped: a browser makes them be chosen again).
            await _discard(received.files)
            return await _form_page(
                values,
                {},
                excluded,
                cookies=_language_kept(ctx, data),
                files_dropped=bool(received.files),
            )
        try:
            identity, report = _checked_form(data)
            _, earlier = await receipts.submit_once(
                ctx,
                report,
                receipts.FORM + token.encode(),
                refuse_other_report=False,
                identity=identity,
                report_id=report_id,
                data_key=data_key,
                files=received.files,
            )
        except ValidationFailed as failure:
            await _discard(received.files)
            return await _form_page(
                values, failure.errors, excluded, status=422, files_dropped=bool(received.files)
            )
        except DerivationQueueFull:
            await _discard(received.files)
            # Nothing was stored; keep what was typed so sending again is one tap.
            return await _form_page(values, {}, excluded, status=503, busy=True)
        except Exception as error:
            await _discard(received.files)
            if not is_unavailable(error):
                raise
            # The database is down or cannot be written: the report and its receipt commit
            # together, so nothing was stored (at worst an unacknowledged copy, whose code
            # nobody has). Keep what was typed; a new token, since the claim on the old one
            # could not be released. Files must be chosen again.
            log.warning(
                "database unavailable (%s) on the report form",
                type(error).__name__,
                extra=reporter_record(),
            )
            values["submission_token"] = sessions.new_submission_token()
            return await _form_page(
                values,
                {},
                excluded,
                status=503,
                unavailable=True,
                files_dropped=bool(received.files),
            )
        except BaseException:
            await _discard(received.files)
            raise
        if earlier:
            await _discard(received.files)  # a resend: its report (and files) were filed before
        # POST-redirect-GET: reloading the receipt asks for the receipt, not a second report.
        lang = request.query_params.get("lang")
        return Redirect(
            path=f"{RECEIPT_PATH}?lang={lang}" if lang in LANGUAGES else RECEIPT_PATH,
            cookies=[session_cookie(ctx, RECEIPT_COOKIE, token, RECEIPT_PATH)],
            status_code=303,
        )

    async def _refused_form(
        self, fields: dict[str, Any], errors: dict[str, str], refused_file: str
    ) -> Template:
        values = {name: value for name, value in fields.items() if name != CSRF_FIELD}
        excluded = values.get("excluded_officers", [])
        values.setdefault("submission_token", sessions.new_submission_token())
        return await _form_page(
            values,
            errors,
            [excluded] if isinstance(excluded, str) else list(excluded),
            status=422,
            refused_file=refused_file,
        )

    @get(RECEIPT_PATH, name="receipt")
    async def receipt(self, request: Request, ctx: NamedDependency[Context]) -> Template:
        receipt = await _kept_receipt(request, ctx)
        if receipt is None:
            return Template(template_name="public/receipt_gone.html", status_code=404)
        return Template(template_name="public/receipt.html", context={"receipt": receipt})

    @get(f"{RECEIPT_PATH}/text", name="receipt_text")
    async def receipt_text(self, request: Request, ctx: NamedDependency[Context]) -> Response[str]:
        receipt = await _kept_receipt(request, ctx)
        if receipt is None:
            raise NotFound(N_("Tanda terima sudah tidak tersedia."))
        return Response(
            receipt_text(receipt, ctx.settings),
            media_type="text/plain; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="kode-pelacakan-wbs.txt"'},
        )

    @post(f"{RECEIPT_PATH}/forget", name="receipt_forget")
    async def receipt_forget(self, request: Request, ctx: NamedDependency[Context]) -> Redirect:
        token = request.cookies.get(RECEIPT_COOKIE) or ""
        if _SUBMISSION_TOKEN.match(token):
            await receipts.forget(ctx, receipts.FORM + token.encode())
        return Redirect(
            path="/",
            cookies=[session_cookie(ctx, RECEIPT_COOKIE, "", RECEIPT_PATH, expire=True)],
            status_code=303,
        )

    @get("/track", name="track_form", opt=NO_CSRF_COOKIE)
    async def track_form(self, request: Request) -> Response[bytes]:
        # The request alone: an injected context and a parsed query cost more than the stored
        # page they would choose (see whistle.web.dependencies.query_flag).
        ctx: Context = request.app.state.ctx
        expired = query_flag(request, "expired")
        return shared_page(
            request,
            "public/track.html",
            context={"expired": expired},
            key=expired,
            per_request={"form_token": form_token(ctx.keyring.csrf_secret, TRACK_FORM)},
        )

    @post("/track", name="track_open", opt={**NO_CSRF_COOKIE, OWN_LANGUAGE_SWITCH_OPT: True})
    async def track_open(
        self,
        request: Request,
        data: URLEncodedBody[TrackForm],
        ctx: NamedDependency[Context],
    ) -> Redirect | Template:
        if not same_origin_request(request.headers, request.url.netloc) or not form_token_valid(
            ctx.keyring.csrf_secret, TRACK_FORM, data.csrf_token
        ):
            raise PermissionDenied(CSRF_FAILED_DETAIL)
        if data.switch_language:
            # A language button: the form again in that language, the typed code kept (this
            # no-store page only), nothing looked up.
            page = _track_page(ctx, typed=data.tracking_code[:TYPED_CODE_MAX])
            page.cookies.extend(_language_kept(ctx, data))
            return page
        try:
            token = await service.start_reporter_session(ctx, data.tracking_code)
        except InvalidTrackingCode as failure:
            # The code comes back into the field (on this no-store page only, never logged) so
            # one typo is one fix; the answer is otherwise the same for every wrong code.
            return _track_page(
                ctx, status=401, error=failure.title, typed=data.tracking_code[:TYPED_CODE_MAX]
            )
        return Redirect(
            path="/track/report", cookies=[reporter_cookie(ctx, token)], status_code=303
        )

    @get("/track/report", name="track_view")
    async def track_view(
        self, request: Request, ctx: NamedDependency[Context]
    ) -> Template | Redirect:
        try:
            report_id, data_key = await service.reporter_session(
                ctx, request.cookies.get(REPORTER_COOKIE)
            )
        except NotAuthenticated:
            return Redirect(path="/track?expired=true")
        return await _status_page(ctx, report_id, data_key)

    # A language button sends the typed message back to this page (whistle.web.forms).
    @upload_post("/track/messages", name="track_message", opt=status_form("message"))
    async def track_message(
        self, request: Request, ctx: NamedDependency[Context]
    ) -> Template | Redirect:
        """The reporter's message with optional files (multipart read as a stream, nothing on
        disk; a form without files may come urlencoded): held for the release together."""
        try:
            report_id, data_key = await service.reporter_session(
                ctx, request.cookies.get(REPORTER_COOKIE)
            )
        except NotAuthenticated:
            return Redirect(path="/track?expired=true", status_code=303)
        now = datetime.now(UTC)
        typed: dict[str, Any] = {}
        try:
            received = await receive_uploads(
                ctx,
                request,
                report_id=report_id,
                data_key=data_key,
                budget=await service.evidence_budget(ctx, report_id),
                hour=to_the_hour(now),
                csrf=True,
            )
            body = received.fields.get("body")
            typed["body"] = body if isinstance(body, str) else ""
            token = _form_token(received)
            if token is None:  # a page from before the token, or a hand-made form
                await service.send_reporter_message(
                    ctx, report_id, data_key, typed["body"], received.files
                )
            else:
                # A double tap or a resend brings the same token: one message (and its files).
                await receipts.message_once(
                    ctx,
                    report_id,
                    data_key,
                    typed["body"],
                    token,
                    received.files,
                    fingerprint=typed["body"].encode() + received.digest.digest(),
                    other=receipts.FORM_MESSAGE_SENT,
                )
        except Conflict as conflict:
            return await _status_page(
                ctx,
                report_id,
                data_key,
                form="message",
                errors={"body": conflict.detail},
                values={**typed, **_token_after(conflict, received)},
                status_code=409,
            )
        except evidence.FileRefused as refusal:
            return await _status_page(
                ctx,
                report_id,
                data_key,
                form="message",
                **refused_upload(refusal, field="message_files", keep="body"),
            )
        except ValidationFailed as failure:
            return await _status_page(
                ctx, report_id, data_key, form="message", errors=failure.errors, values=typed
            )
        return Redirect(path="/track/report#pesan", status_code=303)

    @get(
        "/track/report/files/{file_id:uuid}",
        name="track_file",
        # The body is the file, never a page; see whistle.web.security for the headers.
    )
    async def track_file(
        self, request: Request, ctx: NamedDependency[Context], file_id: FromPath[uuid.UUID]
    ) -> Stream | Redirect:
        """A file the officers sent the reporter with a message, verified then streamed."""
        try:
            report_id, data_key = await service.reporter_session(
                ctx, request.cookies.get(REPORTER_COOKIE)
            )
        except NotAuthenticated:
            return Redirect(path="/track?expired=true")
        sent = await service.download_sent_file(report_id, data_key, file_id)
        return Stream(
            sent.content,
            headers=attachment_headers(sent.info.name, sent.info.kind.mime, sent.size),
            media_type=sent.info.kind.mime,
        )

    @post(
        "/track/identity",
        name="track_identity",
        opt=status_form("identity"),
        exception_handlers=FORM_EXCEPTION_HANDLERS,  # type: ignore[arg-type]
    )
    async def track_identity(
        self, request: Request, data: URLEncodedBody[IdentityForm], ctx: NamedDependency[Context]
    ) -> Redirect:
        try:
            report_id, data_key = await service.reporter_session(
                ctx, request.cookies.get(REPORTER_COOKIE)
            )
        except NotAuthenticated:
            return Redirect(path="/track?expired=true", status_code=303)
        await service.give_identity(ctx, report_id, data_key, data.name, data.contact)
        return Redirect(path="/track/report#identitas", status_code=303)

    @upload_post("/track/report/files", name="track_files")
    async def track_files(
        self, request: Request, ctx: NamedDependency[Context]
    ) -> Template | Redirect:
        """Evidence added on the status page: multipart read as a stream, nothing on disk; the
        files wait for the release like everything a reporter sends."""
        try:
            report_id, data_key = await service.reporter_session(
                ctx, request.cookies.get(REPORTER_COOKIE)
            )
        except NotAuthenticated:
            return Redirect(path="/track?expired=true")
        now = datetime.now(UTC)
        try:
            received = await receive_uploads(
                ctx,
                request,
                report_id=report_id,
                data_key=data_key,
                budget=await service.evidence_budget(ctx, report_id),
                hour=to_the_hour(now),
                csrf=True,
            )
            if not received.files:
                raise ValidationFailed({"files": NO_FILES})
            token = _form_token(received)
            if token is None:  # a page from before the token, or a hand-made form
                await service.add_evidence(ctx, received.files, now)
            else:
                # A double tap or a resend brings the same token: the files are added once.
                await receipts.upload_once(
                    ctx,
                    report_id,
                    received.files,
                    token,
                    received.digest.digest(),
                    other=receipts.FORM_UPLOAD_SENT,
                )
        except Conflict as conflict:
            return await _status_page(
                ctx,
                report_id,
                data_key,
                form="files",
                errors={"files": conflict.detail},
                values=_token_after(conflict, received),
                status_code=409,
            )
        except evidence.FileRefused as refusal:
            return await _status_page(
                ctx,
                report_id,
                data_key,
                form="files",
                **refused_upload(refusal),
            )
        except ValidationFailed as failure:
            return await _status_page(ctx, report_id, data_key, form="files", errors=failure.errors)
        return Redirect(path="/track/report", status_code=303)

    @post("/track/logout", name="track_logout")
    async def track_logout(self, request: Request, ctx: NamedDependency[Context]) -> Redirect:
        await service.end_reporter_session(request.cookies.get(REPORTER_COOKIE))
        return Redirect(path="/", cookies=[reporter_cookie(ctx, "", expire=True)], status_code=303)

"""Public pages: home, the report form, the receipt, and tracking. Thin over intake.service."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.datastructures import Cookie
from litestar.di import NamedDependency
from litestar.exceptions import ValidationException
from litestar.params import FromQuery, URLEncodedBody
from litestar.response import Redirect, Template

from whistle import sessions
from whistle.clock import to_the_hour
from whistle.context import Context
from whistle.crypto import DerivationQueueFull
from whistle.errors import (
    InvalidTrackingCode,
    NotAuthenticated,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from whistle.evidence import store as evidence
from whistle.i18n import LANGUAGES, N_, gettext, ngettext
from whistle.intake import receipts, service
from whistle.intake.schemas import (
    LIMITS,
    ReportForm,
    TrackForm,
    validate_report,
)
from whistle.settings import Settings
from whistle.web.csrf import CSRF_FIELD, STREAMED_FORM_OPT
from whistle.web.dependencies import session_cookie
from whistle.web.errors import BUSY_RETRY_SECONDS, CSRF_FAILED_DETAIL
from whistle.web.security import (
    NO_CSRF_COOKIE,
    form_token,
    form_token_valid,
    same_origin_request,
)
from whistle.web.templating import format_date_id
from whistle.web.uploads import receive_uploads

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


async def _track_view_page(
    ctx: Context,
    report_id: Any,
    data_key: bytes,
    *,
    errors: dict[str, str] | None = None,
    refused_file: str | None = None,
) -> Template:
    """The reporter's status page, with their files (those still pending included) and, after
    a refused upload, the message and the name of the file refused."""
    return Template(
        template_name="public/track_view.html",
        context={
            "view": await service.reporter_view(ctx, report_id, data_key),
            "files": await service.reporter_files(report_id, data_key),
            "errors": errors or {},
            "refused_file": refused_file,
            "evidence_limits": {
                "file_bytes": ctx.settings.evidence_file_bytes,
                "files": ctx.settings.evidence_files_per_report,
                "report_bytes": ctx.settings.evidence_report_bytes,
            },
        },
        status_code=422 if errors else 200,
    )


def reporter_cookie(ctx: Context, value: str, *, expire: bool = False) -> Cookie:
    return session_cookie(ctx, REPORTER_COOKIE, value, "/track", expire=expire)


async def _discard(files: list[evidence.SealedFile]) -> None:
    for sealed in files:
        await evidence.discard(sealed.id)


async def _form_page(
    values: dict[str, Any],
    errors: dict[str, str],
    excluded: list[str],
    status: int = 200,
    *,
    busy: bool = False,
    refused_file: str | None = None,
    files_dropped: bool = False,
) -> Template:
    return Template(
        template_name="public/report_form.html",
        context={
            "values": values,
            "errors": errors,
            "excluded": {str(value) for value in excluded},
            "officers": await service.excludable_officers(),
            "limits": LIMITS,
            "busy": busy,
            # A refused file's name, or files that must be chosen again after a refused form.
            "refused_file": refused_file,
            "files_dropped": files_dropped,
        },
        status_code=status,
        headers={"Retry-After": str(BUSY_RETRY_SECONDS)} if busy else None,
    )


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


class PublicPages(Controller):
    include_in_schema = False

    @get("/", name="home", opt=NO_CSRF_COOKIE)
    async def home(self) -> Template:
        return Template(template_name="public/home.html")

    @get("/report", name="report_form")
    async def report_form(self) -> Template:
        return await _form_page({"submission_token": sessions.new_submission_token()}, {}, [])

    @post(
        "/report",
        name="report_submit",
        request_max_body_size=None,  # bounded in receive_uploads (evidence, or the app limit)
        opt={STREAMED_FORM_OPT: True},
    )
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
        try:
            report = validate_report(data.as_typed())
            _, earlier = await receipts.submit_once(
                ctx,
                report,
                receipts.FORM + token.encode(),
                refuse_other_report=False,
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
    async def track_form(
        self, ctx: NamedDependency[Context], expired: FromQuery[bool] = False
    ) -> Template:
        return _track_page(ctx, expired=expired)

    @post("/track", name="track_open", opt=NO_CSRF_COOKIE)
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
        return await _track_view_page(ctx, report_id, data_key)

    @post(
        "/track/report/files",
        name="track_files",
        request_max_body_size=None,  # bounded by the evidence settings in receive_uploads
        opt={STREAMED_FORM_OPT: True},
    )
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
            await service.add_evidence(ctx, received.files, now)
        except evidence.FileRefused as refusal:
            return await _track_view_page(
                ctx, report_id, data_key, errors=refusal.errors, refused_file=refusal.name
            )
        except ValidationFailed as failure:
            return await _track_view_page(ctx, report_id, data_key, errors=failure.errors)
        return Redirect(path="/track/report", status_code=303)

    @post("/track/logout", name="track_logout")
    async def track_logout(self, request: Request, ctx: NamedDependency[Context]) -> Redirect:
        await service.end_reporter_session(request.cookies.get(REPORTER_COOKIE))
        return Redirect(path="/", cookies=[reporter_cookie(ctx, "", expire=True)], status_code=303)

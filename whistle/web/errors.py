"""One place that renders errors: an HTML page for pages, RFC 9457 problem JSON for /api."""

from __future__ import annotations

import logging
import traceback
from functools import lru_cache
from typing import Any
from urllib.parse import quote

from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.response import Redirect, Template
from litestar.serialization import encode_json
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR

from whistle.crypto import DerivationQueueFull
from whistle.db.outage import is_unavailable
from whistle.errors import (
    DomainError,
    PasswordChangeRequired,
    TwoFactorEnrolmentRequired,
    ValidationFailed,
)
from whistle.evidence.store import FileRefused
from whistle.i18n import N_, gettext
from whistle.logs import reporter_record
from whistle.web.csrf import CSRF_FAILED
from whistle.web.language import set_request_language
from whistle.web.security import OFFICER_PREFIX
from whistle.web.templating import shared_page

log = logging.getLogger("whistle.errors")

PROBLEM_MEDIA_TYPE = "application/problem+json"
BUSY_TITLE = N_("Sistem sedang sibuk")
BUSY_DETAIL = N_("Banyak permintaan sedang diproses. Tidak ada yang tersimpan; coba lagi sebentar.")
BUSY_RETRY_SECONDS = 10
UNAVAILABLE_TITLE = N_("Layanan sementara tidak tersedia")
UNAVAILABLE_DETAIL = N_(
    "Penyimpanan data sedang tidak dapat dijangkau. Tidak ada yang tersimpan; coba lagi sebentar."
)
UNAVAILABLE_RETRY_SECONDS = 30
GENERIC_TITLES = {
    400: N_("Permintaan tidak valid"),
    401: N_("Perlu masuk terlebih dahulu"),
    403: N_("Akses ditolak"),
    404: N_("Halaman tidak ditemukan"),
    405: N_("Metode tidak diizinkan"),
    413: N_("Kiriman terlalu besar"),
    415: N_("Jenis isi tidak didukung"),
    422: N_("Isian belum benar"),
    429: N_("Terlalu banyak permintaan, coba lagi sebentar lagi"),
    500: N_("Terjadi kesalahan pada sistem"),
}

# The CSRF check refuses with CSRF_FAILED; people get an explanation instead.
CSRF_FAILED_DETAIL = N_(
    "Formulir tidak sah atau sudah kedaluwarsa (token keamanan tidak ada). "
    "Muat ulang halaman lalu coba lagi."
)


# Over plain http the browser drops the Secure cookies, so the CSRF check is what fails first:
# say what is really wrong.
HTTPS_REQUIRED_TITLE = N_("Diperlukan sambungan aman (https)")
HTTPS_REQUIRED_DETAIL = N_(
    "Situs ini hanya dapat dipakai melalui https://. Buka alamat yang diawali https:// lalu "
    "coba lagi."
)


def plain_http_outside_development(request: Request) -> bool:
    ctx = request.app.state.get("ctx")
    if ctx is None or ctx.settings.development:
        return False
    # Behind the proxy the scheme comes from its header; it only chooses this message.
    scheme = request.headers.get("x-forwarded-proto") or request.url.scheme
    return scheme.lower() == "http"


def wants_problem_json(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def _problem(status: int, title: str, detail: str | None) -> dict[str, Any]:
    body: dict[str, Any] = {"type": "about:blank", "title": title, "status": status}
    if detail and detail != title:
        body["detail"] = detail
    return body


@lru_cache(maxsize=256)
def _plain_problem(status: int, title: str, detail: str | None) -> bytes:
    """A problem document without extension members, from its (translated) texts. Bounded:
    a flood of distinct details only cycles the cache."""
    return encode_json(_problem(status, title, detail))


def error_response(
    request: Request,
    status: int,
    title: str,
    detail: str | None = None,
    errors: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
    members: dict[str, Any] | None = None,
) -> Response[Any]:
    """The error as a page, or under /api as a problem document (``members``: its extension
    members, e.g. which file was refused)."""
    # Errors raised before a handler runs (no route, CSRF refusal, guards) skip the app's
    # before_request hook, so the language is chosen here as well.
    set_request_language(request)
    title = gettext(title)
    detail = gettext(detail) if detail else None
    if wants_problem_json(request):
        if not (errors or members):
            # The same few documents (a 404 in each language) for every caller: encoded once.
            document = _plain_problem(status, title, detail)
            return Response(
                document, status_code=status, media_type=PROBLEM_MEDIA_TYPE, headers=headers
            )
        body = _problem(status, title, detail)
        if errors:
            body["errors"] = {name: gettext(message) for name, message in errors.items()}
        body.update(members or {})
        return Response(body, status_code=status, media_type=PROBLEM_MEDIA_TYPE, headers=headers)
    context = {"status": status, "title": title, "detail": detail}
    if request.url.path.startswith(OFFICER_PREFIX):
        # Officer pages keep the officer's layout and lead back to their start page. The officer
        # is known only when the session was read (not for a path no route matches); never
        # shared between requests.
        return Template(
            template_name="errors/officer_error.html",
            context={**context, "officer": request.scope.get("user")},
            status_code=status,
            headers=headers,
        )
    # The same for every visitor of this path: rendered once (a scan of made-up paths only
    # cycles the bounded cache).
    return shared_page(
        request,
        "errors/error.html",
        context=context,
        key=(status, title, detail),
        status_code=status,
        headers=headers,
    )


def handle_domain_error(request: Request, exc: DomainError) -> Response[Any]:
    if not wants_problem_json(request) and request.url.path.startswith("/officer"):
        # Officer pages send people where they can act: the login or the password change.
        if exc.status_code == 401:
            return Redirect(path=f"/officer/login?next={quote(request.url.path)}", status_code=303)
        if isinstance(exc, PasswordChangeRequired):
            return Redirect(path="/officer/password", status_code=303)
        if isinstance(exc, TwoFactorEnrolmentRequired):
            return Redirect(path="/officer/account/totp", status_code=303)
    errors = exc.errors if isinstance(exc, ValidationFailed) else None
    headers = {"WWW-Authenticate": "Bearer"} if exc.status_code == 401 else None
    members = None
    if isinstance(exc, FileRefused) and exc.index is not None:
        # Which file, as the client sent it: its field, place and name, never its content.
        members = {
            "file": {"field": exc.field, "index": exc.index, "name": exc.sent_name or exc.name}
        }
    return error_response(request, exc.status_code, exc.title, exc.detail, errors, headers, members)


def handle_http_exception(request: Request, exc: HTTPException) -> Response[Any]:
    status = exc.status_code
    title = GENERIC_TITLES.get(status, GENERIC_TITLES[400] if status < 500 else GENERIC_TITLES[500])
    errors = None
    if isinstance(exc, ValidationException) and isinstance(exc.extra, list):
        # Litestar/msgspec messages name the field and the expected type, never the value.
        errors = {
            str(item.get("key") or "body"): str(item.get("message", ""))
            for item in exc.extra
            if isinstance(item, dict)
        }
    detail = exc.detail if status < 500 and exc.detail and exc.detail != title else None
    if isinstance(exc, ValidationException):
        detail = N_("Isi permintaan tidak sesuai dengan skema.")
    if status == 403 and exc.detail == CSRF_FAILED:
        if plain_http_outside_development(request):
            title, detail = HTTPS_REQUIRED_TITLE, HTTPS_REQUIRED_DETAIL
        else:
            detail = CSRF_FAILED_DETAIL
    headers = dict(exc.headers) if exc.headers else None
    return error_response(request, status, title, detail, errors, headers)


def handle_busy(request: Request, exc: DerivationQueueFull) -> Response[Any]:
    """Too many key derivations queued: refuse at once, ask to retry (nothing was stored)."""
    return error_response(
        request, 503, BUSY_TITLE, BUSY_DETAIL, headers={"Retry-After": str(BUSY_RETRY_SECONDS)}
    )


def unavailable_response(request: Request) -> Response[Any]:
    """The database cannot be reached or written: 503, ask to retry, never claim anything stored."""
    return error_response(
        request,
        503,
        UNAVAILABLE_TITLE,
        UNAVAILABLE_DETAIL,
        headers={"Retry-After": str(UNAVAILABLE_RETRY_SECONDS)},
    )


def handle_internal_error(request: Request, exc: Exception) -> Response[Any]:
    if is_unavailable(exc):
        # An outage, not a bug: logged by kind only, and the next request tries again.
        log.warning(
            "database unavailable (%s) on %s",
            type(exc).__name__,
            request.url.path,
            # A reporter's request is dated to the hour only (threat model 2).
            extra={} if request.url.path.startswith("/officer") else reporter_record(),
        )
        return unavailable_response(request)
    # Type and stack only: an exception's message may quote data a reporter wrote.
    stack = "".join(traceback.format_tb(exc.__traceback__))
    # A reporter's request is logged with its time to the hour only (whistle.logs).
    extra = {} if request.url.path.startswith("/officer") else reporter_record()
    log.error(
        "unhandled %s on %s %s\n%s",
        type(exc).__name__,
        request.method,
        request.url.path,
        stack,
        extra=extra,
    )
    return error_response(request, HTTP_500_INTERNAL_SERVER_ERROR, GENERIC_TITLES[500])


EXCEPTION_HANDLERS = {
    DerivationQueueFull: handle_busy,
    DomainError: handle_domain_error,
    HTTPException: handle_http_exception,
    Exception: handle_internal_error,
}

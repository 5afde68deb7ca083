"""Checks on a request before any handler sees it: hostile paths and JSON API bodies.

Each check answers with a clear 4xx (an error page, or a problem document under /api) instead
of letting a decoder or the file system fail with a 500 or a cut connection.
"""

from __future__ import annotations

import re
from typing import Any

from litestar import Request
from litestar.enums import ScopeType
from litestar.exceptions import ClientException, HTTPException, NotFoundException
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Receive, Scope, Send

from whistle.i18n import N_

API_PREFIX = "/api/"
JSON_MEDIA_TYPE = "application/json"
# The reporter API's bodies are flat objects with one list: anything deeper is hostile.
MAX_JSON_DEPTH = 8
# A report at every text limit, each character escaped, stays under 100 KB; the app-wide limit
# (WHISTLE_MAX_REQUEST_BYTES) is sized for evidence files, not for JSON that must be scanned.
MAX_JSON_BYTES = 256 * 1024
BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
# The one API route whose body is multipart/form-data (evidence files, read as a stream by its
# handler, never buffered here).
MULTIPART_API_PATHS = frozenset({"/api/v1/report/attachments"})
MULTIPART_MEDIA_TYPE = "multipart/form-data"

# JSON strings (escapes included) are removed before brackets are counted: brackets in text are
# text. Possessive, and an unclosed string runs to the end: one linear pass whatever the body.
_JSON_STRING = re.compile(rb'"(?:[^"\\]++|\\.?)*+(?:"|\Z)', re.DOTALL)
_NOT_BRACKET = re.compile(rb"[^\[\]{}]++")
_EMPTY_PAIR = re.compile(rb"\[\]|\{\}")

NOT_JSON_DETAIL = N_("API ini hanya menerima isi berjenis application/json.")
NOT_UTF8_DETAIL = N_("Isi permintaan bukan teks UTF-8 yang sah.")
TOO_DEEP_DETAIL = N_("Isi permintaan bersarang terlalu dalam.")
TOO_LARGE_DETAIL = N_("Isi JSON terlalu besar untuk API ini.")


class UnsupportedMediaType(HTTPException):
    status_code = 415


def json_depth(body: bytes, limit: int = MAX_JSON_DEPTH) -> int:
    """How deep arrays and objects nest in a JSON text, counted up to ``limit + 1``.

    Each pass removes the innermost empty pairs, so the passes are the depth; they run in C and
    stop past the limit. Unbalanced brackets stop the count: the decoder refuses that text."""
    brackets = _NOT_BRACKET.sub(b"", _JSON_STRING.sub(b"", body))
    depth = 0
    while brackets and depth <= limit:
        inner = _EMPTY_PAIR.sub(b"", brackets)
        if inner == brackets:
            break
        brackets, depth = inner, depth + 1
    return depth


def _is_hostile_path(path: str) -> bool:
    # A NUL makes the file system raise instead of answering "not found".
    return "\x00" in path


async def check_api_body(request: Request[Any, Any, Any]) -> None:
    """Refuse an API body that is not UTF-8 JSON of reasonable size and depth (415, 413, 400).

    The media type matters beyond tidiness: a browser can send text/plain or form bodies to any
    site without asking, but application/json only after a CORS preflight this API never grants,
    so no web page can make its visitors' browsers file reports.
    """
    media_type, params = request.content_type
    if media_type != JSON_MEDIA_TYPE or params.get("charset", "utf-8").lower() != "utf-8":
        raise UnsupportedMediaType(detail=NOT_JSON_DETAIL)
    body = await request.body()  # kept on the connection: the handler reads it again
    if len(body) > MAX_JSON_BYTES:
        raise ClientException(status_code=413, detail=TOO_LARGE_DETAIL)
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        raise ClientException(detail=NOT_UTF8_DETAIL) from None
    if json_depth(body) > MAX_JSON_DEPTH:
        raise ClientException(detail=TOO_DEEP_DETAIL)


class InboundGuard(ASGIMiddleware):
    """App-wide: 404 for paths no file or route can hold; API bodies checked before decoding.

    The application runs ``check`` inside its CSRF layer (whistle.web.csrf), so that every
    request passes one middleware layer, not two; ``handle`` serves it as a layer of its own."""

    scopes = (ScopeType.HTTP,)

    async def check(self, scope: Scope, receive: Receive) -> None:
        """Raise the 4xx a hostile path or an unfit API body gets; return for anything else."""
        path: str = scope["path"]
        if _is_hostile_path(path):
            raise NotFoundException()
        if scope.get("method") in BODY_METHODS and path.startswith(API_PREFIX):
            request = scope["litestar_app"].request_class(scope, receive)
            if not (
                path in MULTIPART_API_PATHS and request.content_type[0] == MULTIPART_MEDIA_TYPE
            ):
                await check_api_body(request)

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        await self.check(scope, receive)
        await next_app(scope, receive, send)

"""Checks on a request before any handler sees it: hostile paths and JSON API bodies.

Each check answers with a clear 4xx (an error page, or a problem document under /api) instead
of letting a decoder or the file system fail with a 500 or a cut connection.
"""

from __future__ import annotations

import re
from typing import Any

import msgspec
from litestar import Request
from litestar.enums import ScopeType
from litestar.exceptions import ClientException, HTTPException, NotFoundException
from litestar.middleware import ASGIMiddleware
from litestar.openapi.datastructures import ResponseSpec
from litestar.types import ASGIApp, Receive, Scope, Send

from whistle.i18n import N_

API_PREFIX = "/api/"
JSON_MEDIA_TYPE = "application/json"
# The reporter API's bodies are flat objects with one list: anything deeper is hostile.
MAX_JSON_DEPTH = 8
BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})

# JSON strings (escapes included) removed before brackets are counted: brackets in text are text.
_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_JSON_BRACKET = re.compile(rb"[\[\]{}]")

NOT_JSON_DETAIL = N_("API ini hanya menerima isi berjenis application/json.")
NOT_UTF8_DETAIL = N_("Isi permintaan bukan teks UTF-8 yang sah.")
TOO_DEEP_DETAIL = N_("Isi permintaan bersarang terlalu dalam.")


class UnsupportedMediaType(HTTPException):
    status_code = 415


class ProblemDocument(msgspec.Struct):
    """RFC 9457 problem details, as whistle.web.errors renders them under /api."""

    type: str
    title: str
    status: int
    detail: str | None = None


# For the OpenAPI description of every API route that takes a JSON body.
JSON_BODY_RESPONSES = {
    400: ResponseSpec(
        data_container=ProblemDocument,
        description="The body is not UTF-8, or nested deeper than the API allows",
        media_type="application/problem+json",
        generate_examples=False,
    ),
    415: ResponseSpec(
        data_container=ProblemDocument,
        description="The body is not application/json (UTF-8)",
        media_type="application/problem+json",
        generate_examples=False,
    ),
}


def json_depth(body: bytes) -> int:
    """The deepest nesting of arrays and objects in a JSON text (malformed text included)."""
    depth = deepest = 0
    for bracket in _JSON_BRACKET.finditer(_JSON_STRING.sub(b"", body)):
        if bracket.group() in (b"[", b"{"):
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest


def _is_hostile_path(path: str) -> bool:
    # A NUL makes the file system raise instead of answering "not found".
    return "\x00" in path


async def check_api_body(request: Request[Any, Any, Any]) -> None:
    """Refuse an API body that is not UTF-8 JSON of reasonable depth (415 or 400).

    The media type matters beyond tidiness: a browser can send text/plain or form bodies to any
    site without asking, but application/json only after a CORS preflight this API never grants,
    so no web page can make its visitors' browsers file reports.
    """
    media_type, params = request.content_type
    if media_type != JSON_MEDIA_TYPE or params.get("charset", "utf-8").lower() != "utf-8":
        raise UnsupportedMediaType(detail=NOT_JSON_DETAIL)
    body = await request.body()  # kept on the connection: the handler reads it again
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        raise ClientException(detail=NOT_UTF8_DETAIL) from None
    if json_depth(body) > MAX_JSON_DEPTH:
        raise ClientException(detail=TOO_DEEP_DETAIL)


class InboundGuard(ASGIMiddleware):
    """App-wide: 404 for paths no file or route can hold; API bodies checked before decoding."""

    scopes = (ScopeType.HTTP,)

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        if _is_hostile_path(scope["path"]):
            raise NotFoundException()
        if scope["path"].startswith(API_PREFIX) and scope["method"] in BODY_METHODS:
            await check_api_body(scope["litestar_app"].request_class(scope, receive))
        await next_app(scope, receive, send)

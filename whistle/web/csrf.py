"""CSRF protection for every form: tokens bound to the browser's session, and officer requests
that change state refused from any other origin.

SameSite=Strict cookies already keep other sites' requests anonymous; this is the second line.
A form token is an HMAC of the browser's CSRF cookie (a random nonce) and of the session cookies
the request carries (officer, reporter), so a token seen in one session is worthless in any
other, and signing in or out retires every token issued before. A reporter without a session
(the report form) is bound to the CSRF cookie alone, as before.

Officer pages send ``Referrer-Policy: same-origin`` (whistle.web.security) so that browsers put
the real Origin on their form posts; a request whose Origin (or, lacking one, Referer) names
another site, or ``null``, is refused with a 403 page that says why, whatever token it carries.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from litestar import Request
from litestar.datastructures import Cookie, MutableScopeHeaders
from litestar.enums import RequestEncodingType, ScopeType
from litestar.exceptions import PermissionDeniedException
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from litestar.utils.scope.state import ScopeState

from whistle.i18n import N_
from whistle.web.inbound import InboundGuard

CSRF_COOKIE = "whistle_csrf"
CSRF_FIELD = "_csrf_token"  # the name Litestar's ``csrf_input`` gives the hidden field
CSRF_HEADER = "x-csrftoken"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Litestar's own wording, which whistle.web.errors turns into an explanation for people.
CSRF_FAILED = "CSRF token verification failed"
CROSS_ORIGIN_DETAIL = N_(
    "Permintaan ini dikirim dari situs lain sehingga ditolak. "
    "Buka halaman petugas langsung di alamat Whistle lalu coba lagi."
)
# Handler opt for pages that only show something (no cookie for a visitor who has done nothing)
# and for the tracking form, which carries its own signed token (whistle.web.security).
NO_CSRF_COOKIE_OPT = "exclude_from_csrf"
# Handler opt for evidence upload forms: their body (multipart, or urlencoded when sent without
# files) is read by the handler (whistle.web.uploads), never parsed here (Litestar would spool
# files to disk, and read any size); the handler checks the token (streamed_form_token): the
# first part of a multipart form, the field of an urlencoded one.
STREAMED_FORM_OPT = "csrf_token_in_stream"
_STREAMED_EXPECTED = "whistle_csrf_expected"
_NONCE = re.compile(r"^[A-Za-z0-9_-]{43}$")  # 32 random bytes, base64url without padding
_TOKEN_CONTEXT = b"whistle-csrf/v1\x00"


@dataclass(frozen=True)
class CsrfPolicy:
    secret: bytes = b""
    secure_cookie: bool = True
    # Cookies that carry a session: their values bind the token.
    session_cookies: Sequence[str] = ()
    # Paths whose state-changing requests must come from this site (Origin/Referer checked).
    same_origin_prefixes: Sequence[str] = ("/officer",)
    # Paths without cookie authentication (the JSON API uses bearer tokens): no CSRF exposure.
    exempt_prefixes: Sequence[str] = ("/api/",)


def form_token(secret: bytes, nonce: str, session_binding: bytes) -> str:
    """The token a form must send back: HMAC of the CSRF cookie's nonce and the session."""
    mac = hmac.new(secret, _TOKEN_CONTEXT + nonce.encode() + b"\x00" + session_binding, "sha256")
    return mac.hexdigest()


def session_binding(cookies: dict[str, str], names: Sequence[str]) -> bytes:
    """What ties a token to the sessions this request carries (empty without any)."""
    digest = hashlib.sha256()
    for name in names:
        digest.update(name.encode() + b"=" + cookies.get(name, "").encode() + b"\x00")
    return digest.digest()


def _same_origin(source: str, host: str, *, https_only: bool) -> bool:
    parts = urlsplit(source)
    schemes = ("https",) if https_only else ("https", "http")
    return parts.scheme in schemes and bool(host) and parts.netloc.lower() == host.lower()


def comes_from_another_site(request: Request[Any, Any, Any], *, https_only: bool) -> bool:
    """True when Origin (or, without it, Referer) names anything but this site; ``null`` too.

    A request with neither header is not a browser's cross-site form post (browsers send Origin
    on every POST); the token still has to match."""
    host = request.headers.get("host", "")
    origin = request.headers.get("origin")
    if origin is not None:
        return not _same_origin(origin, host, https_only=https_only)
    referer = request.headers.get("referer")
    if referer is not None:
        return not _same_origin(referer, host, https_only=https_only)
    return False


class SessionBoundCsrf(ASGIMiddleware):
    """Issues the CSRF cookie and the page's form token; checks both on every other method.

    ``inbound``: the request checks (whistle.web.inbound.InboundGuard) run first in this same
    layer, so a request pays for one middleware layer instead of two."""

    scopes = (ScopeType.HTTP,)

    def __init__(self, policy: CsrfPolicy, inbound: InboundGuard | None = None) -> None:
        self.policy = policy
        self.inbound = inbound
        self._exempt_prefixes = tuple(policy.exempt_prefixes)
        self._same_origin_prefixes = tuple(policy.same_origin_prefixes)
        # The cookie header is the same but for the nonce (a URL-safe word, never quoted):
        # formatted once, as Litestar's Cookie formats it, then joined per visitor.
        marker = "NONCE"
        header = Cookie(
            key=CSRF_COOKIE,
            value=marker,
            path="/",
            secure=policy.secure_cookie,
            httponly=True,
            samesite="strict",
        ).to_header(header="")
        self._cookie_prefix, self._cookie_suffix = header.split(marker, 1)

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        if self.inbound is not None:
            await self.inbound.check(scope, receive)
        path: str = scope["path"]
        handler = scope.get("route_handler")
        if path.startswith(self._exempt_prefixes) or (
            handler is not None and handler.opt.get(NO_CSRF_COOKIE_OPT)
        ):
            await next_app(scope, receive, send)
            return
        request: Request[Any, Any, Any] = scope["litestar_app"].request_class(scope, receive)
        cookie = request.cookies.get(CSRF_COOKIE, "")
        nonce = cookie if _NONCE.match(cookie) else None
        binding = session_binding(request.cookies, self.policy.session_cookies)
        state = ScopeState.from_scope(scope)
        if request.method in SAFE_METHODS:
            if nonce is None:
                nonce = secrets.token_urlsafe(32)
                send = self._setting_cookie(send, nonce)
            state.csrf_token = form_token(self.policy.secret, nonce, binding)
            await next_app(scope, receive, send)
            return
        if path.startswith(self._same_origin_prefixes) and comes_from_another_site(
            request, https_only=self.policy.secure_cookie
        ):
            raise PermissionDeniedException(detail=CROSS_ORIGIN_DETAIL)
        sent = request.headers.get(CSRF_HEADER)
        media_type, _ = request.content_type
        expected = form_token(self.policy.secret, nonce, binding) if nonce else None
        if (
            sent is None
            and media_type in (RequestEncodingType.MULTI_PART, RequestEncodingType.URL_ENCODED)
            and handler is not None
            and handler.opt.get(STREAMED_FORM_OPT)
        ):
            scope.setdefault("state", {})[_STREAMED_EXPECTED] = expected
            if expected:
                state.csrf_token = expected  # a refused upload's page keeps a valid token
            await next_app(scope, receive, send)
            return
        if sent is None and media_type in (
            RequestEncodingType.URL_ENCODED,
            RequestEncodingType.MULTI_PART,
        ):
            sent = (await request.form()).get(CSRF_FIELD)  # kept for the handler
        if not (isinstance(sent, str) and expected and hmac.compare_digest(sent, expected)):
            raise PermissionDeniedException(detail=CSRF_FAILED)
        state.csrf_token = sent  # a form sent back with a mistake keeps a valid token
        await next_app(scope, receive, send)

    def _setting_cookie(self, send: Send, nonce: str) -> Send:
        cookie = self._cookie_prefix + nonce + self._cookie_suffix

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableScopeHeaders.from_message(message).add("set-cookie", cookie)
            await send(message)

        return send_with_cookie


def streamed_form_token(request: Request[Any, Any, Any]) -> str | None:
    """The token a streamed upload form must carry first (None without a CSRF cookie)."""
    return request.scope.get("state", {}).get(_STREAMED_EXPECTED)

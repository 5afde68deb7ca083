"""Response headers that every page and API answer carries, and request-scoped language."""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Awaitable, Callable, Mapping
from urllib.parse import urlsplit

from litestar.types import Message, Scope

from whistle.web.csrf import NO_CSRF_COOKIE_OPT

OFFICER_PREFIX = "/officer"
# No script at all, nothing from any other origin.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
# Pages whose same-origin script adds conveniences (copy, print) to a page that works without.
SCRIPTED_PATHS = frozenset({"/report/receipt"})
SCRIPTED_CONTENT_SECURITY_POLICY = CONTENT_SECURITY_POLICY + "; script-src 'self'"
# A downloaded evidence file: should a browser render it anyway, it runs and loads nothing.
DOWNLOAD_CONTENT_SECURITY_POLICY = "sandbox; default-src 'none'"
DOWNLOAD_CSP = DOWNLOAD_CONTENT_SECURITY_POLICY.encode("latin-1")
BASE_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), interest-cohort=()",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
}


def security_headers_hook(development: bool) -> Callable[[Message, Scope], Awaitable[None]]:
    """A ``before_send`` hook: it wraps the app's send, so even routing errors get the headers.

    The header sets are encoded once per kind of path; each answer only drops any header of the
    same name a handler set and appends the set (this runs on every response, cheap pages too).
    """
    common = dict(BASE_HEADERS)
    if not development:
        common["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"
    # Pages may show a tracking code or a decrypted report: never keep them in a cache.
    page = {**common, "Cache-Control": "no-store"}
    variants = {
        # Officer forms must carry their real Origin (checked by whistle.web.csrf); browsers
        # send "null" under no-referrer. Other sites still learn nothing.
        "officer": {**page, "Referrer-Policy": "same-origin"},
        "scripted": {**page, "Content-Security-Policy": SCRIPTED_CONTENT_SECURITY_POLICY},
        "static": common,
        "page": page,
    }
    encoded = {kind: _encoded(headers) for kind, headers in variants.items()}

    def kind_of(path: str) -> str:
        if path.startswith(OFFICER_PREFIX):
            return "officer"
        if path in SCRIPTED_PATHS:
            return "scripted"
        if path.startswith("/static/"):
            return "static"
        return "page"

    async def add_headers(message: Message, scope: Scope) -> None:
        if message["type"] != "http.response.start":
            return
        names, headers = encoded[kind_of(scope.get("path", ""))]
        kept = [header for header in message.get("headers", ()) if header[0].lower() not in names]
        if any(
            name.lower() == b"content-disposition" and value.lower().startswith(b"attachment")
            for name, value in kept
        ):
            # A downloaded evidence file: its own, stricter policy replaces the page's.
            headers = [
                (name, DOWNLOAD_CSP) if name == b"content-security-policy" else (name, value)
                for name, value in headers
            ]
        message["headers"] = kept + headers

    return add_headers


def _encoded(headers: Mapping[str, str]) -> tuple[frozenset[bytes], list[tuple[bytes, bytes]]]:
    pairs = [
        (name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in headers.items()
    ]
    return frozenset(name for name, _ in pairs), pairs


# Handler opt that keeps the CSRF middleware (and its cookie) away from a handler: for pages that
# only show something, so a visitor who has done nothing keeps no cookie.
NO_CSRF_COOKIE = {NO_CSRF_COOKIE_OPT: True}
# Fetch metadata a browser sends on a request made by our own pages (or typed by the user).
_OWN_SITE = {"same-origin", "none"}
FORM_TOKEN_SECONDS = 2 * 3600
_last_form_token: dict[tuple[bytes, str, int], str] = {}


def same_origin_request(headers: Mapping[str, str], host: str) -> bool:
    """Whether a browser made this request from one of our own pages.

    Sec-Fetch-Site decides when present (every current browser sends it). Without it, an Origin
    header must name this host; ``Origin: null`` (sandboxed or privacy-stripped) is refused. A
    request with neither comes from no browser, so it cannot be a cross-site forgery.
    """
    fetch_site = headers.get("sec-fetch-site")
    if fetch_site is not None:
        return fetch_site in _OWN_SITE
    origin = headers.get("origin")
    if origin is None:
        return True
    return urlsplit(origin).netloc == host


def form_token(secret: bytes, purpose: str, *, now: float | None = None) -> str:
    """A signed, expiring token for a form that sets no cookie: ``issued-at.mac``.

    It binds the form to this installation and to a recent page load; it is not tied to a
    browser, so the cross-site refusal (``same_origin_request``) is what stops a forgery.
    """
    issued = int(time.time() if now is None else now)
    key = (secret, purpose, issued)
    token = _last_form_token.get(key)
    if token is None:
        # Every visitor of the same second gets the same token: keep the last one per purpose.
        token = f"{issued}.{_form_mac(secret, purpose, issued)}"
        if len(_last_form_token) > 8:
            _last_form_token.clear()
        _last_form_token[key] = token
    return token


def form_token_valid(secret: bytes, purpose: str, token: str, *, now: float | None = None) -> bool:
    issued_text, _, mac = token.partition(".")
    if not issued_text.isdigit() or not mac:
        return False
    issued = int(issued_text)
    age = (time.time() if now is None else now) - issued
    if not 0 <= age <= FORM_TOKEN_SECONDS:
        return False
    return hmac.compare_digest(mac, _form_mac(secret, purpose, issued))


def _form_mac(secret: bytes, purpose: str, issued: int) -> str:
    message = f"form-token|{purpose}|{issued}".encode()
    return hmac.new(secret, message, hashlib.sha256).hexdigest()

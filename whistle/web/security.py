"""Response headers that every page and API answer carries, and request-scoped language."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from litestar.datastructures import MutableScopeHeaders
from litestar.types import Message, Scope

OFFICER_PREFIX = "/officer"
# No script at all, nothing from any other origin.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
# Pages whose same-origin script adds conveniences (copy, print) to a page that works without.
SCRIPTED_PATHS = frozenset({"/report/receipt"})
SCRIPTED_CONTENT_SECURITY_POLICY = CONTENT_SECURITY_POLICY + "; script-src 'self'"
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
    """A ``before_send`` hook: it wraps the app's send, so even routing errors get the headers."""
    headers_to_add = dict(BASE_HEADERS)
    if not development:
        headers_to_add["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"

    async def add_headers(message: Message, scope: Scope) -> None:
        if message["type"] != "http.response.start":
            return
        headers = MutableScopeHeaders.from_message(message)
        for name, value in headers_to_add.items():
            headers[name] = value
        if scope.get("path", "").startswith(OFFICER_PREFIX):
            # Officer forms must carry their real Origin (checked by whistle.web.csrf); browsers
            # send "null" under no-referrer. Other sites still learn nothing.
            headers["Referrer-Policy"] = "same-origin"
        if scope.get("path", "") in SCRIPTED_PATHS:
            headers["Content-Security-Policy"] = SCRIPTED_CONTENT_SECURITY_POLICY
        if not scope.get("path", "").startswith("/static/"):
            # Pages may show a tracking code or a decrypted report: never keep them in a cache.
            headers["Cache-Control"] = "no-store"

    return add_headers

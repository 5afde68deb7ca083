"""Which language a request is served in: query, then the cookie set by /bahasa, then Indonesian."""

from __future__ import annotations

from litestar import Request

from whistle.i18n import LANGUAGES, choose_language, current_language

LANGUAGE_COOKIE = "lang"


def language_for(query: str | None, cookie: str | None) -> str:
    """The language asked for in the query or chosen earlier (cookie); else Bahasa Indonesia.

    The browser's Accept-Language is deliberately ignored: many Indonesian phones send English,
    and the office's public face is Indonesian first.
    """
    for candidate in (query, cookie):
        if candidate in LANGUAGES:
            return candidate
    return choose_language(None)


def set_request_language(request: Request) -> None:
    """Choose this request's interface language (query, then cookie, then Indonesian)."""
    # Most requests ask for no language at all: spare them parsing the query and cookies.
    asked = b"lang=" in request.scope.get("query_string", b"") or any(
        name == b"cookie" and b"lang=" in value for name, value in request.scope["headers"]
    )
    if not asked:
        current_language.set(choose_language(None))
        return
    current_language.set(
        language_for(request.query_params.get("lang"), request.cookies.get(LANGUAGE_COOKIE))
    )

"""Which language a request is served in: query, then the cookie set by /bahasa, then Indonesian."""

from __future__ import annotations

from litestar import Request
from litestar.datastructures import Cookie

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
    current_language.set(
        language_for(request.query_params.get("lang"), request.cookies.get(LANGUAGE_COOKIE))
    )


def language_cookie(language: str, *, secure: bool) -> Cookie:
    """Remembers the reader's choice for a year (the /bahasa links and the forms' switch)."""
    return Cookie(
        key=LANGUAGE_COOKIE,
        value=language,
        max_age=365 * 24 * 3600,
        httponly=True,
        secure=secure,
        samesite="strict",
    )

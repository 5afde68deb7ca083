"""Which language a request is served in: query, then the cookie set by /bahasa, then Indonesian;
on the JSON API the app's Accept-Language comes before the cookie."""

from __future__ import annotations

from litestar import Request
from litestar.datastructures import Cookie

from whistle.i18n import DEFAULT_LANGUAGE, LANGUAGES, choose_language, current_language
from whistle.web.inbound import API_PREFIX

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


def accepted_language(header: str | None) -> str | None:
    """The supported language an Accept-Language header prefers most (``en-US;q=0.8`` counts
    as ``en``), or None."""
    ranked = []
    for position, item in enumerate((header or "").split(",")):
        tag, _, params = item.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                continue
        primary = tag.strip().split("-")[0].lower()
        if primary in LANGUAGES and quality > 0:
            ranked.append((-quality, position, primary))
    return min(ranked)[2] if ranked else None


def set_request_language(request: Request) -> None:
    """Choose this request's interface language (query, then cookie, then Indonesian). The
    JSON API also honours Accept-Language (the office's app says what its user chose) before
    the cookie; pages ignore it (see language_for)."""
    scope = request.scope
    is_api = scope["path"].startswith(API_PREFIX)
    # One pass over the raw headers: most requests ask for no language at all, and are spared
    # parsing the query, the cookies and the headers into their mappings.
    cookie_asks = False
    accept: bytes | None = None
    for name, value in scope["headers"]:
        if name == b"cookie":
            cookie_asks = cookie_asks or b"lang=" in value
        elif name == b"accept-language" and is_api and accept is None:
            accept = value
    query_asks = b"lang=" in scope.get("query_string", b"")
    if not (query_asks or cookie_asks or accept):
        current_language.set(DEFAULT_LANGUAGE)
        return
    query = request.query_params.get("lang") if query_asks else None
    if is_api and query not in LANGUAGES:
        query = accepted_language(accept.decode("latin-1") if accept else None)
    cookie = request.cookies.get(LANGUAGE_COOKIE) if cookie_asks else None
    current_language.set(language_for(query, cookie))


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

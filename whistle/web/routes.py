"""Small site-wide routes: language choice and a health check."""

from __future__ import annotations

from litestar import Controller, Request, get
from litestar.datastructures import Cookie
from litestar.di import NamedDependency
from litestar.params import FromQuery
from litestar.response import Redirect

from whistle.context import Context
from whistle.i18n import LANGUAGES, choose_language, current_language
from whistle.web.dependencies import safe_next

LANGUAGE_COOKIE = "lang"


class SiteRoutes(Controller):
    include_in_schema = False

    @get("/bahasa", name="set_language")
    async def set_language(
        self, ctx: NamedDependency[Context], lang: FromQuery[str] = "id", next: FromQuery[str] = "/"
    ) -> Redirect:
        language = choose_language(lang)
        return Redirect(
            path=safe_next(next),
            cookies=[
                Cookie(
                    key=LANGUAGE_COOKIE,
                    value=language,
                    max_age=365 * 24 * 3600,
                    httponly=True,
                    secure=not ctx.settings.development,
                    samesite="strict",
                )
            ],
        )

    @get("/healthz", name="health")
    async def health(self) -> dict[str, str]:
        return {"status": "ok"}


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

"""Small site-wide routes: language choice and a health check."""

from __future__ import annotations

from litestar import Controller, get
from litestar.datastructures import Cookie
from litestar.di import NamedDependency
from litestar.params import FromQuery
from litestar.response import Redirect

from whistle.context import Context
from whistle.i18n import choose_language
from whistle.web.dependencies import safe_next
from whistle.web.language import LANGUAGE_COOKIE


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

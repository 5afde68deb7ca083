"""Small site-wide routes: language choice and a health check."""

from __future__ import annotations

from litestar import Controller, Response, get
from litestar.di import NamedDependency
from litestar.params import FromQuery
from litestar.response import Redirect

from whistle.context import Context
from whistle.db.migrations import pending_migrations
from whistle.db.outage import is_unavailable
from whistle.i18n import choose_language
from whistle.web.dependencies import safe_next
from whistle.web.errors import UNAVAILABLE_RETRY_SECONDS
from whistle.web.language import language_cookie


class SiteRoutes(Controller):
    include_in_schema = False

    @get("/bahasa", name="set_language")
    async def set_language(
        self, ctx: NamedDependency[Context], lang: FromQuery[str] = "id", next: FromQuery[str] = "/"
    ) -> Redirect:
        language = choose_language(lang)
        return Redirect(
            path=safe_next(next),
            cookies=[language_cookie(language, secure=not ctx.settings.development)],
        )

    @get("/healthz", name="health")
    async def health(self, ctx: NamedDependency[Context]) -> Response[dict[str, str]]:
        """For the proxy and monitoring: database reachable, migrations current, keys loaded.
        Names states only: no secrets, no counts, no versions."""
        checks = await health_checks(ctx)
        healthy = all(value in ("ok", "current", "loaded") for value in checks.values())
        return Response(
            {"status": "ok" if healthy else "unavailable", **checks},
            status_code=200 if healthy else 503,
            headers=None if healthy else {"Retry-After": str(UNAVAILABLE_RETRY_SECONDS)},
        )


async def health_checks(ctx: Context) -> dict[str, str]:
    keys = "loaded" if ctx.keyring.receipt_salt else "missing"
    try:
        pending = await pending_migrations()
    except Exception as error:
        if not is_unavailable(error):
            raise
        return {"database": "unreachable", "migrations": "unknown", "keys": keys}
    return {"database": "ok", "migrations": "pending" if pending else "current", "keys": keys}

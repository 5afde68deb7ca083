"""The composition root: ``create_app(settings)`` wires the whole application."""

from __future__ import annotations

from pathlib import Path

from litestar import Litestar, Request
from litestar.config.csrf import CSRFConfig
from litestar.datastructures import State
from litestar.di import Provide
from litestar.openapi.config import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme
from litestar.static_files import create_static_files_router

from whistle.audit.labels import ACTION_LABELS
from whistle.audit.routes import ROUTES as AUDIT_ROUTES
from whistle.cases.routes import ROUTES as CASE_ROUTES
from whistle.cases.statuses import (
    OUTCOME_LABELS,
    PRIORITY_LABELS,
    STATUS_EXPLANATIONS,
    STATUS_LABELS,
)
from whistle.context import Context
from whistle.db import engine as db
from whistle.db.migrations import pending_migrations
from whistle.intake.api import ReporterApi
from whistle.intake.routes import PublicPages
from whistle.officers.auth import provide_officer
from whistle.officers.roles import ROLE_LABELS
from whistle.officers.routes import ROUTES as OFFICER_ROUTES
from whistle.reports.content import CATEGORIES, HOW_KNOWN
from whistle.settings import Settings
from whistle.transparency.content import PAGES as EDUCATION_PAGES
from whistle.transparency.content import load_content
from whistle.transparency.routes import ROUTES as TRANSPARENCY_ROUTES
from whistle.transparency.routes import provide_education, provide_public_statistics
from whistle.transparency.statistics import PublicStatisticsCache
from whistle.web.dependencies import provide_context
from whistle.web.errors import EXCEPTION_HANDLERS
from whistle.web.routes import SiteRoutes, set_request_language
from whistle.web.security import security_headers_hook
from whistle.web.templating import template_config

STATIC_DIR = Path(__file__).resolve().parent / "web" / "static"
# Template filters that name a code in the reader's language: {{ case.status | status_label }}.
TEMPLATE_LABELS = {
    "status_label": STATUS_LABELS,
    "status_explanation": STATUS_EXPLANATIONS,
    "outcome_label": OUTCOME_LABELS,
    "priority_label": PRIORITY_LABELS,
    "category_label": CATEGORIES,
    "how_known_label": HOW_KNOWN,
    "role_label": ROLE_LABELS,
    "action_label": ACTION_LABELS,
    "learn_label": EDUCATION_PAGES,
}


async def _set_language(request: Request) -> None:
    set_request_language(request)


def create_app(settings: Settings | None = None) -> Litestar:
    """Build the application. Refuses to start without keys (MissingKeys names the files) or
    with an unusable education content file (ContentError names it)."""
    settings = settings or Settings.from_env()
    ctx = Context.create(settings)
    # Checked now, so a mistake in the office's content files stops start-up with its name.
    education = load_content(
        settings.content_dir,
        {"acknowledge_days": settings.acknowledge_days, "feedback_days": settings.feedback_days},
    )

    async def open_db(app: Litestar) -> None:
        app.state.engine = await db.open_database(settings)
        if pending := await pending_migrations():
            raise RuntimeError(
                f"the database lacks {len(pending)} migration(s): run `whistle migrate` first"
            )

    async def close_db(app: Litestar) -> None:
        await app.state.public_statistics.settle()
        await db.close_database(app.state.engine)

    return Litestar(
        route_handlers=[
            SiteRoutes,
            PublicPages,
            ReporterApi,
            *OFFICER_ROUTES,
            *CASE_ROUTES,
            *AUDIT_ROUTES,
            *TRANSPARENCY_ROUTES,
            create_static_files_router(
                path="/static", directories=[STATIC_DIR], include_in_schema=False
            ),
        ],
        dependencies={
            "ctx": Provide(provide_context, sync_to_thread=False),
            # Only meaningful behind officer_guard, which puts the officer on the connection.
            "officer": Provide(provide_officer, sync_to_thread=False),
            "public_statistics": Provide(provide_public_statistics, sync_to_thread=False),
            "education": Provide(provide_education, sync_to_thread=False),
        },
        state=State(
            {
                "ctx": ctx,
                "public_statistics": PublicStatisticsCache(settings.statistics_cache_seconds),
                "education": education,
            }
        ),
        on_startup=[open_db],
        on_shutdown=[close_db],
        before_request=_set_language,
        before_send=[security_headers_hook(settings.development)],
        exception_handlers=EXCEPTION_HANDLERS,  # type: ignore[arg-type]
        csrf_config=CSRFConfig(
            secret=ctx.keyring.web_secret.hex(),
            cookie_name="whistle_csrf",
            cookie_secure=not settings.development,
            cookie_httponly=True,
            cookie_samesite="strict",
            # The API authenticates with bearer tokens, never cookies, so it has no CSRF exposure.
            exclude=[r"^/api/"],
        ),
        template_config=template_config(TEMPLATE_LABELS, strict=settings.strict_templates),
        openapi_config=OpenAPIConfig(
            title="Whistle API",
            version="1.0.0",
            description="Anonymous integrity reporting: the reporter's API for the mobile app.",
            path="/schema",
            render_plugins=[JsonRenderPlugin(path=["/openapi.json"])],
            components=Components(
                security_schemes={"BearerToken": SecurityScheme(type="http", scheme="bearer")}
            ),
        ),
        request_max_body_size=settings.max_request_bytes,
        debug=False,
    )

"""The composition root: ``create_app(settings)`` wires the whole application."""

from __future__ import annotations

from typing import Any

from litestar import Litestar, Request, Response, Router
from litestar.datastructures import State
from litestar.di import Provide
from litestar.openapi.config import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme
from litestar.static_files import create_static_files_router

from whistle.audit.labels import ACTION_LABELS
from whistle.audit.routes import ROUTES as AUDIT_ROUTES
from whistle.audit.service import configure_chain_key
from whistle.cases.routes import ROUTES as CASE_ROUTES
from whistle.cases.workflow import TRANSITIONS
from whistle.context import Context
from whistle.db import engine as db
from whistle.db.migrations import pending_migrations
from whistle.errors import NotAuthenticated
from whistle.intake.api import ReporterApi
from whistle.intake.routes import REPORTER_COOKIE, PublicPages
from whistle.jobs import Job
from whistle.officers.auth import OFFICER_COOKIE, OfficerAuthentication, provide_officer
from whistle.officers.roles import ROLE_LABELS
from whistle.officers.roster import configure_roster_key
from whistle.officers.routes import ROUTES as OFFICER_ROUTES
from whistle.reports.content import CATEGORIES, HOW_KNOWN
from whistle.reports.envelope import UNTAGGED_WRAPS, configure_holder_tag_key, untagged_wraps
from whistle.reports.statuses import (
    OUTCOME_EXPLANATIONS,
    OUTCOME_LABELS,
    PRIORITY_LABELS,
    REFERRAL_LABELS,
    STATUS_EXPLANATIONS,
    STATUS_LABELS,
    STATUS_NEXT_STEPS,
)
from whistle.resources import STATIC_DIR
from whistle.settings import Settings
from whistle.transparency.content import PAGES as EDUCATION_PAGES
from whistle.transparency.content import load_content
from whistle.transparency.routes import OFFICER_ROUTES as STATISTICS_ROUTES
from whistle.transparency.routes import PUBLIC_ROUTES as TRANSPARENCY_ROUTES
from whistle.transparency.routes import provide_public_statistics
from whistle.transparency.statistics import PublicStatisticsCache
from whistle.web.csrf import CsrfPolicy, SessionBoundCsrf
from whistle.web.dependencies import provide_context
from whistle.web.drafts import on_expired_session
from whistle.web.errors import EXCEPTION_HANDLERS
from whistle.web.forms import FORM_EXCEPTION_HANDLERS, language_switch
from whistle.web.inbound import InboundGuard
from whistle.web.language import set_request_language
from whistle.web.routes import SiteRoutes
from whistle.web.security import security_headers_hook
from whistle.web.templating import SharedPages, template_config

# Template filters that name a code in the reader's language: {{ case.status | status_label }}.
TEMPLATE_LABELS = {
    "status_label": STATUS_LABELS,
    "status_explanation": STATUS_EXPLANATIONS,
    "status_next_steps": STATUS_NEXT_STEPS,
    "outcome_explanation": OUTCOME_EXPLANATIONS,
    "outcome_label": OUTCOME_LABELS,
    "referral_label": REFERRAL_LABELS,
    "priority_label": PRIORITY_LABELS,
    "category_label": CATEGORIES,
    "how_known_label": HOW_KNOWN,
    "role_label": ROLE_LABELS,
    "action_label": ACTION_LABELS,
    "learn_label": EDUCATION_PAGES,
    "transition_label": {name: move.label for name, move in TRANSITIONS.items()},
}


async def _before_handler(request: Request) -> Response[Any] | None:
    """Every request's language; a form's language button answered without its handler."""
    set_request_language(request)
    return await language_switch(request)


def officer_router() -> Router:
    """Every officer page under /officer: kept out of the public OpenAPI document, each request
    authenticated by its session (login and logout excepted), each controller guarded for the
    roles it serves, and a refused form shown again on its page."""
    return Router(
        path="/officer",
        route_handlers=[*OFFICER_ROUTES, *CASE_ROUTES, *AUDIT_ROUTES, *STATISTICS_ROUTES],
        middleware=[OfficerAuthentication],
        dependencies={"officer": Provide(provide_officer, sync_to_thread=False)},
        # A form sent with an expired session keeps what was typed through the login.
        exception_handlers={
            **FORM_EXCEPTION_HANDLERS,  # type: ignore[dict-item]
            NotAuthenticated: on_expired_session,
        },
        include_in_schema=False,
    )


def create_app(settings: Settings | None = None) -> Litestar:
    """Build the application. Refuses to start without keys (MissingKeys names the files) or
    with an unusable education content file (ContentError names it)."""
    settings = settings or Settings.from_env()
    ctx = Context.create(settings)
    configure_chain_key(ctx.keyring.audit_chain_key)
    configure_holder_tag_key(ctx.keyring.holder_tag_key)
    configure_roster_key(ctx.keyring.roster_mac_key)
    # Checked now, so a mistake in the office's content files stops start-up with its name.
    education = load_content(
        settings.content_dir,
        {"acknowledge_days": settings.acknowledge_days, "feedback_days": settings.feedback_days},
    )

    async def open_db(app: Litestar) -> None:
        app.state.engine = await db.open_database(
            settings, command_timeout=db.WEB_COMMAND_TIMEOUT_SECONDS
        )
        if pending := await pending_migrations():
            raise RuntimeError(
                f"the database lacks {len(pending)} migration(s): run `whistle migrate` first"
            )
        if untagged := await untagged_wraps():
            raise RuntimeError(UNTAGGED_WRAPS.format(untagged))

    async def close_db(app: Litestar) -> None:
        await app.state.public_statistics.settle()
        await db.close_database(app.state.engine)

    return Litestar(
        route_handlers=[
            SiteRoutes,
            PublicPages,
            ReporterApi,
            officer_router(),
            *TRANSPARENCY_ROUTES,
            create_static_files_router(
                path="/static", directories=[STATIC_DIR], include_in_schema=False
            ),
        ],
        dependencies={
            "ctx": Provide(provide_context, sync_to_thread=False),
            "public_statistics": Provide(provide_public_statistics, sync_to_thread=False),
        },
        state=State(
            {
                "ctx": ctx,
                "shared_pages": SharedPages(),
                "public_statistics": PublicStatisticsCache(settings.statistics_cache_seconds),
                "education": education,
            }
        ),
        middleware=[
            # One layer: hostile paths and API bodies refused first, then CSRF on every form
            # (the JSON API authenticates with bearer tokens, never cookies).
            SessionBoundCsrf(
                CsrfPolicy(
                    secret=ctx.keyring.csrf_secret,
                    secure_cookie=not settings.development,
                    session_cookies=(OFFICER_COOKIE, REPORTER_COOKIE),
                ),
                inbound=InboundGuard(),
            ),
        ],
        on_startup=[open_db],
        on_shutdown=[close_db],
        before_request=_before_handler,
        before_send=[security_headers_hook(settings.development)],
        exception_handlers=EXCEPTION_HANDLERS,  # type: ignore[arg-type]
        # Logging is configured in one place, whistle.logs (by `whistle serve`): Litestar's own
        # default would reset the root logger's level and format.
        logging_config=None,
        template_config=template_config(
            TEMPLATE_LABELS,
            # The deadlines the office commits to, written on the home page and the receipt.
            constants={
                "acknowledge_days": settings.acknowledge_days,
                "feedback_days": settings.feedback_days,
            },
            strict=settings.strict_templates,
        ),
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


def worker_jobs() -> list[Job]:
    """The periodic jobs `whistle worker` runs (the worker's half of the composition root)."""
    from whistle.audit.jobs import CHECKPOINT_JOB
    from whistle.cases.digest import OFFICER_DIGEST_JOB
    from whistle.cases.retention import PURGE_JOB
    from whistle.intake.release import RELEASE_JOB
    from whistle.notify.jobs import AUDITOR_DIGEST_JOB, MAIL_JOB

    # The release and the purge first: the checkpoint then covers the entries they just wrote,
    # the auditor's digest names that checkpoint, and the mail job sends what all of them queued.
    return [
        RELEASE_JOB,
        PURGE_JOB,
        CHECKPOINT_JOB,
        OFFICER_DIGEST_JOB,
        AUDITOR_DIGEST_JOB,
        MAIL_JOB,
    ]

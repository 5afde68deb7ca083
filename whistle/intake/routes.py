"""Public pages: home, the report form, the receipt, and tracking. Thin over intake.service."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Controller, Request, get, post
from litestar.datastructures import Cookie
from litestar.di import NamedDependency
from litestar.params import FromQuery, URLEncodedBody
from litestar.response import Redirect, Template

from whistle.context import Context
from whistle.crypto import DerivationQueueFull
from whistle.errors import InvalidTrackingCode, NotAuthenticated, ValidationFailed
from whistle.intake import service
from whistle.intake.schemas import (
    LIMITS,
    ReportForm,
    TrackForm,
    validate_report,
)
from whistle.web.dependencies import session_cookie
from whistle.web.errors import BUSY_RETRY_SECONDS

REPORTER_COOKIE = "whistle_reporter"
# The tracking field's maxlength: a refused code comes back no longer than the field takes.
TYPED_CODE_MAX = 40


def reporter_cookie(ctx: Context, value: str, *, expire: bool = False) -> Cookie:
    return session_cookie(ctx, REPORTER_COOKIE, value, "/track", expire=expire)


async def _form_page(
    values: dict[str, Any],
    errors: dict[str, str],
    excluded: list[str],
    status: int = 200,
    *,
    busy: bool = False,
) -> Template:
    return Template(
        template_name="public/report_form.html",
        context={
            "values": values,
            "errors": errors,
            "excluded": {str(value) for value in excluded},
            "officers": await service.excludable_officers(),
            "limits": LIMITS,
            "busy": busy,
        },
        status_code=status,
        headers={"Retry-After": str(BUSY_RETRY_SECONDS)} if busy else None,
    )


class PublicPages(Controller):
    include_in_schema = False

    @get("/", name="home")
    async def home(self) -> Template:
        return Template(template_name="public/home.html")

    @get("/report", name="report_form")
    async def report_form(self) -> Template:
        return await _form_page({}, {}, [])

    @post("/report", name="report_submit")
    async def report_submit(
        self, data: URLEncodedBody[ReportForm], ctx: NamedDependency[Context]
    ) -> Template:
        values = msgspec.structs.asdict(data)
        excluded = data.ticked_officers()
        try:
            report = validate_report(data.as_typed())
            receipt = await service.submit_report(ctx, report)
        except ValidationFailed as failure:
            return await _form_page(values, failure.errors, excluded, status=422)
        except DerivationQueueFull:
            # Nothing was stored; keep what was typed so sending again is one tap.
            return await _form_page(values, {}, excluded, status=503, busy=True)
        return Template(template_name="public/receipt.html", context={"receipt": receipt})

    @get("/track", name="track_form")
    async def track_form(self, expired: FromQuery[bool] = False) -> Template:
        return Template(template_name="public/track.html", context={"expired": expired})

    @post("/track", name="track_open")
    async def track_open(
        self, data: URLEncodedBody[TrackForm], ctx: NamedDependency[Context]
    ) -> Redirect | Template:
        try:
            token = await service.start_reporter_session(ctx, data.tracking_code)
        except InvalidTrackingCode as failure:
            # The code comes back into the field (on this no-store page only, never logged) so
            # one typo is one fix; the answer is otherwise the same for every wrong code.
            return Template(
                template_name="public/track.html",
                context={"error": failure.title, "typed": data.tracking_code[:TYPED_CODE_MAX]},
                status_code=401,
            )
        return Redirect(
            path="/track/report", cookies=[reporter_cookie(ctx, token)], status_code=303
        )

    @get("/track/report", name="track_view")
    async def track_view(
        self, request: Request, ctx: NamedDependency[Context]
    ) -> Template | Redirect:
        try:
            report_id, data_key = await service.reporter_session(
                ctx, request.cookies.get(REPORTER_COOKIE)
            )
        except NotAuthenticated:
            return Redirect(path="/track?expired=true")
        view = await service.reporter_view(report_id, data_key)
        return Template(
            template_name="public/track_view.html",
            context={"view": view},
        )

    @post("/track/logout", name="track_logout")
    async def track_logout(self, request: Request, ctx: NamedDependency[Context]) -> Redirect:
        await service.end_reporter_session(request.cookies.get(REPORTER_COOKIE))
        return Redirect(path="/", cookies=[reporter_cookie(ctx, "", expire=True)], status_code=303)

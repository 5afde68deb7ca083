"""JSON API for the office's mobile app: the same intake service as the pages."""

from __future__ import annotations

from datetime import datetime

import msgspec
from litestar import Controller, Request, delete, get, post
from litestar.di import NamedDependency
from litestar.params import JSONBody

from whistle.cases.statuses import STATUS_EXPLANATIONS, STATUS_LABELS
from whistle.context import Context
from whistle.i18n import gettext
from whistle.intake import service
from whistle.intake.schemas import CATEGORIES, ReportBody, validate_report
from whistle.reports.content import ReportInput
from whistle.web.dependencies import bearer_token


class Category(msgspec.Struct):
    code: str
    label: str


class ReceiptOut(msgspec.Struct):
    tracking_code: str
    status: str
    status_label: str
    received_at: datetime


class SessionRequest(msgspec.Struct, forbid_unknown_fields=True):
    tracking_code: str


class SessionOut(msgspec.Struct):
    token: str
    token_type: str
    expires_in: int


class TimelineOut(msgspec.Struct):
    status: str
    status_label: str
    at: datetime
    public_note: str | None


class ReportOut(msgspec.Struct):
    status: str
    status_label: str
    status_explanation: str
    status_since: datetime
    received_at: datetime
    outcome: str | None
    referred_to: str | None
    timeline: list[TimelineOut]
    report: ReportInput


BEARER = [{"BearerToken": []}]


class ReporterApi(Controller):
    path = "/api/v1"
    tags = ("reporter",)

    @get("/categories", summary="Report categories")
    async def categories(self) -> list[Category]:
        return [Category(code, gettext(label)) for code, label in CATEGORIES.items()]

    @post("/reports", status_code=201, summary="File a report; the answer holds the tracking code")
    async def submit(self, data: JSONBody[ReportBody], ctx: NamedDependency[Context]) -> ReceiptOut:
        report = validate_report(msgspec.structs.asdict(data))
        receipt = await service.submit_report(ctx, report)
        return ReceiptOut(
            tracking_code=receipt.tracking_code,
            status=receipt.status,
            status_label=gettext(STATUS_LABELS[receipt.status]),
            received_at=receipt.received_at,
        )

    @post("/session", status_code=200, summary="Exchange a tracking code for a bearer token")
    async def open_session(
        self, data: JSONBody[SessionRequest], ctx: NamedDependency[Context]
    ) -> SessionOut:
        token = await service.start_reporter_session(ctx, data.tracking_code)
        return SessionOut(
            token=token,
            token_type="Bearer",  # noqa: S106 - the scheme name, not a secret
            expires_in=ctx.settings.reporter_idle_minutes * 60,
        )

    @delete("/session", status_code=204, summary="End the reporter session", security=BEARER)
    async def close_session(self, request: Request) -> None:
        await service.end_reporter_session(bearer_token(request))

    @get("/report", summary="Status, timeline and content of the caller's report", security=BEARER)
    async def report(self, request: Request, ctx: NamedDependency[Context]) -> ReportOut:
        report_id, data_key = await service.reporter_session(ctx, bearer_token(request))
        view = await service.reporter_view(report_id, data_key)
        return ReportOut(
            status=view.status,
            status_label=gettext(STATUS_LABELS[view.status]),
            status_explanation=gettext(STATUS_EXPLANATIONS[view.status]),
            status_since=view.status_since,
            received_at=view.received_at,
            outcome=view.outcome,
            referred_to=view.referred_to,
            timeline=[
                TimelineOut(
                    status=entry.status,
                    status_label=gettext(STATUS_LABELS[entry.status]),
                    at=entry.at,
                    public_note=entry.public_note,
                )
                for entry in view.timeline
            ],
            report=view.report,
        )

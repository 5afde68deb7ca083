"""HTTP faces of the transparency statistics: the public page and API (small cells hidden,
cached), and the auditor's page and CSV export (every figure, computed on request)."""

from __future__ import annotations

import csv
import io
from datetime import datetime

import msgspec
from litestar import Controller, Request, get
from litestar.di import NamedDependency
from litestar.response import Response, Template

from whistle.audit.queries import csv_safe
from whistle.errors import NotFound
from whistle.i18n import current_language
from whistle.officers.auth import ACCOUNT_READY, CurrentOfficer, requires_role
from whistle.officers.roles import AUDITOR
from whistle.transparency import statistics as stats
from whistle.transparency.content import PAGES, EducationContent
from whistle.web.security import NO_CSRF_COOKIE
from whistle.web.templating import shared_page


class CountOut(msgspec.Struct):
    code: str
    # None: fewer than min_cases, or hidden so that no other hidden cell can be worked out.
    count: int | None


class DistributionOut(msgspec.Struct):
    counts: list[CountOut]
    total: int | None


class MeasureOut(msgspec.Struct):
    value: float | None
    # How many reports the value rests on: null in the public figures, where it could be
    # subtracted from a total to reveal a hidden cell.
    cases: int | None


class StatisticsOut(msgspec.Struct):
    """Aggregate figures over all reports. A null figure is hidden: it rests on fewer than
    ``min_cases`` reports (or would reveal one that does). Codes: categories as in
    /api/v1/categories; statuses and outcomes as in the reporter's API."""

    computed_at: datetime
    min_cases: int
    reports_per_month: DistributionOut
    by_category: DistributionOut
    by_status: DistributionOut
    by_outcome: DistributionOut
    median_days_to_acknowledge: MeasureOut
    median_days_to_conclude: MeasureOut
    percent_acknowledged_in_time: MeasureOut
    percent_concluded_in_time: MeasureOut


def _distribution_out(distribution: stats.Distribution) -> DistributionOut:
    return DistributionOut(
        counts=[CountOut(code, count) for code, count in distribution.counts.items()],
        total=distribution.total,
    )


def _measure_out(measure: stats.Measure) -> MeasureOut:
    return MeasureOut(measure.value, measure.cases)


def statistics_out(figures: stats.Statistics) -> StatisticsOut:
    return StatisticsOut(
        computed_at=figures.computed_at,
        min_cases=stats.MIN_CASES,
        reports_per_month=_distribution_out(figures.per_month),
        by_category=_distribution_out(figures.by_category),
        by_status=_distribution_out(figures.by_status),
        by_outcome=_distribution_out(figures.by_outcome),
        median_days_to_acknowledge=_measure_out(figures.days_to_acknowledge),
        median_days_to_conclude=_measure_out(figures.days_to_conclude),
        percent_acknowledged_in_time=_measure_out(figures.acknowledged_in_time),
        percent_concluded_in_time=_measure_out(figures.concluded_in_time),
    )


def statistics_csv(figures: stats.Statistics) -> str:
    """Every figure as ``table,code,value`` rows; no cell can start a spreadsheet formula."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(["table", "code", "value"])
    for row in stats.rows_for_export(figures):
        writer.writerow([csv_safe(value) for value in row])
    return buffer.getvalue()


def provide_public_statistics(request: Request) -> stats.PublicStatisticsCache:
    return request.app.state.public_statistics


class EducationPages(Controller):
    """The education pages, in the reader's language, from the checked content files."""

    path = "/informasi"
    include_in_schema = False

    # The content is read once at start-up, so a page depends only on its language and slug.
    # The handlers take the request alone and read the rest from the app's state and the
    # route's path: each injected value would cost a resolution on every request of a page
    # that is otherwise served as stored bytes.
    @get("/", name="learn_index", opt=NO_CSRF_COOKIE)
    async def index(self, request: Request) -> Response[bytes]:
        education: EducationContent = request.app.state.education
        language = current_language.get()
        return shared_page(
            request,
            "public/learn/index.html",
            context=lambda: {"pages": [education.page(slug, language) for slug in PAGES]},
        )

    @get("/{slug:str}", name="learn_page", opt=NO_CSRF_COOKIE)
    async def page(self, request: Request) -> Response[bytes]:
        education: EducationContent = request.app.state.education
        page = education.page(request.path_params["slug"], current_language.get())
        if page is None:
            raise NotFound()
        return shared_page(
            request, "public/learn/page.html", context=lambda: {"page": page, "slugs": list(PAGES)}
        )


class PublicStatistics(Controller):
    @get("/transparency", name="transparency", include_in_schema=False, opt=NO_CSRF_COOKIE)
    async def page(self, request: Request) -> Response[bytes]:
        # Rendered once per language and set of figures: the page then costs what a static
        # one does.
        public_statistics: stats.PublicStatisticsCache = request.app.state.public_statistics
        figures, version = await public_statistics.get_versioned()
        return shared_page(
            request,
            "public/transparency.html",
            context=lambda: {"figures": figures, "min_cases": stats.MIN_CASES},
            key=version,
        )

    @get(
        "/api/v1/stats",
        name="api_stats",
        summary="Public statistics",
        description=(
            "Reports per month (last 12 months, WIB), by category, status and outcome; median "
            "days to acknowledgement and to conclusion; share handled within the deadlines. "
            "Recomputed every few minutes. Figures resting on fewer than `min_cases` reports "
            "are null."
        ),
        tags=["statistics"],
    )
    async def api(
        self, public_statistics: NamedDependency[stats.PublicStatisticsCache]
    ) -> StatisticsOut:
        return statistics_out(await public_statistics.get())


class AuditorStatistics(Controller):
    path = "/statistics"
    guards = [*ACCOUNT_READY, requires_role(AUDITOR)]  # noqa: RUF012
    include_in_schema = False

    @get("/", name="officer_statistics")
    async def page(self, officer: NamedDependency[CurrentOfficer]) -> Template:
        return Template(
            "officer/statistics.html",
            context={"officer": officer, "figures": await stats.compute()},
        )

    @get("/export.csv", name="officer_statistics_export")
    async def export(self, officer: NamedDependency[CurrentOfficer]) -> Response[bytes]:
        figures = await stats.compute()
        stamp = figures.computed_at.strftime("%Y%m%dT%H%M")
        return Response(
            statistics_csv(figures).encode(),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="statistics-{stamp}.csv"'},
        )


PUBLIC_ROUTES: list = [EducationPages, PublicStatistics]
# Registered on the /officer router, behind its session middleware.
OFFICER_ROUTES: list = [AuditorStatistics]

"""HTTP routes of whistle.audit; app.py registers ``ROUTES``.

The audit viewer and its CSV export, for administrators and auditors: thin controllers over
whistle.audit.queries.
"""

from __future__ import annotations

from datetime import datetime
from urllib.parse import urlencode

from litestar import Controller, Request, get
from litestar.di import NamedDependency
from litestar.params import FromQuery
from litestar.response import Stream, Template

from whistle.audit import queries
from whistle.audit.actions import ALL_ACTIONS
from whistle.audit.checkpoint import latest_checkpoint
from whistle.audit.labels import ACTION_LABELS
from whistle.errors import ValidationFailed
from whistle.officers.auth import ROLES_OPT, CurrentOfficer, officer_guard
from whistle.officers.roles import ADMIN, AUDITOR


def _raw_filter(request: Request) -> dict[str, str]:
    return {name: str(request.query_params.get(name) or "") for name in queries.FILTER_FIELDS}


class AuditPages(Controller):
    path = "/officer/audit"
    guards = [officer_guard]  # noqa: RUF012 - Litestar's declared layer attribute
    opt = {ROLES_OPT: {ADMIN, AUDITOR}}  # noqa: RUF012
    include_in_schema = False

    @get("/", name="audit_log")
    async def log(
        self,
        request: Request,
        officer: NamedDependency[CurrentOfficer],
        before: FromQuery[int | None] = None,
        after: FromQuery[int | None] = None,
    ) -> Template:
        raw = _raw_filter(request)
        latest = await latest_checkpoint()
        context = {
            "latest_checkpoint": latest,
            "latest_checkpoint_at": datetime.fromisoformat(latest.created_at) if latest else None,
            "officer": officer,
            "values": raw,
            "actions": sorted(ALL_ACTIONS),
            "action_labels": ACTION_LABELS,
            "errors": {},
            "page": None,
        }
        try:
            audit_filter = queries.parse_filter(raw)
        except ValidationFailed as failure:
            context["errors"] = failure.errors
            return Template("officer/audit.html", context=context, status_code=422)
        page = await queries.search(audit_filter, before=before, after=after)
        query = audit_filter.query()
        context.update(
            page=page,
            page_size=queries.PAGE_SIZE,
            older_link=f"?{urlencode({**query, 'before': page.older})}" if page.older else None,
            newer_link=f"?{urlencode({**query, 'after': page.newer})}" if page.newer else None,
            newest_link=f"?{urlencode(query)}" if before is not None or after is not None else None,
            export_link=f"/officer/audit/export.csv?{urlencode(query)}",
        )
        return Template("officer/audit.html", context=context)

    @get("/export.csv", name="audit_export")
    async def export(self, request: Request, officer: NamedDependency[CurrentOfficer]) -> Stream:
        # Bad filters raise ValidationFailed: an error page, and nothing is exported or audited.
        audit_filter = queries.parse_filter(_raw_filter(request))
        up_to_seq = await queries.start_export(audit_filter, actor=officer.username)
        return Stream(
            queries.export_csv(audit_filter, up_to_seq=up_to_seq),
            media_type="text/csv; charset=utf-8",
            headers={
                "Content-Disposition": f'attachment; filename="audit-log-{up_to_seq}.csv"',
                "Cache-Control": "no-store",
            },
        )


ROUTES: list = [AuditPages]

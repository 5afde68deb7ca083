"""HTTP routes of whistle.audit; app.py registers ``ROUTES``.

The audit viewer and its CSV export, for administrators and auditors: thin controllers over
whistle.audit.queries.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from urllib.parse import urlencode

from litestar import Controller, Request, get
from litestar.di import NamedDependency
from litestar.params import FromQuery, Parameter
from litestar.response import Stream, Template

from whistle.audit import queries
from whistle.audit.actions import ALL_ACTIONS
from whistle.audit.checkpoint import latest_checkpoint
from whistle.inputs import NO_CONTROL_PATTERN, AuditCursorParam
from whistle.officers.auth import ACCOUNT_READY, CurrentOfficer, requires_role
from whistle.officers.roles import ADMIN, AUDITOR
from whistle.web.forms import FormFailure, redisplay

# The filter form's fields, bounded; queries.parse_filter keeps the rules (known action, dates
# in the supported years, a range that runs forward) and their messages.
FilterText = Annotated[str, Parameter(max_length=256, pattern=NO_CONTROL_PATTERN)]


async def _page_context(officer: CurrentOfficer, values: dict[str, str]) -> dict:
    latest = await latest_checkpoint()
    return {
        "latest_checkpoint": latest,
        "latest_checkpoint_at": datetime.fromisoformat(latest.created_at) if latest else None,
        "officer": officer,
        "values": values,
        "actions": sorted(ALL_ACTIONS),
        "errors": {},
        "page": None,
    }


async def _filter_again(request: Request, failure: FormFailure) -> Template:
    values = {name: str(failure.values.get(name) or "") for name in queries.FILTER_FIELDS}
    context = {**(await _page_context(request.user, values)), "errors": failure.errors}
    return Template("officer/audit.html", context=context)


class AuditPages(Controller):
    path = "/audit"
    guards = [*ACCOUNT_READY, requires_role(ADMIN, AUDITOR)]  # noqa: RUF012

    @get("/", name="audit_log", opt=redisplay(_filter_again))
    async def log(
        self,
        officer: NamedDependency[CurrentOfficer],
        actor: FromQuery[FilterText] = "",
        action: FromQuery[FilterText] = "",
        case: FromQuery[FilterText] = "",
        date_from: FromQuery[FilterText] = "",
        date_to: FromQuery[FilterText] = "",
        before: FromQuery[AuditCursorParam] = None,
        after: FromQuery[AuditCursorParam] = None,
    ) -> Template:
        raw = {
            "actor": actor,
            "action": action,
            "case": case,
            "date_from": date_from,
            "date_to": date_to,
        }
        # Bad filters raise ValidationFailed: the form comes back with the messages.
        audit_filter = queries.parse_filter(raw)
        page = await queries.search(audit_filter, before=before, after=after)
        query = audit_filter.query()
        context = await _page_context(officer, raw)
        context.update(
            page=page,
            page_size=queries.PAGE_SIZE,
            older_link=f"?{urlencode({**query, 'before': page.older})}" if page.older else None,
            newer_link=f"?{urlencode({**query, 'after': page.newer})}" if page.newer else None,
            newest_link=f"?{urlencode(query)}" if before is not None or after is not None else None,
            export_link=f"/officer/audit/export.csv?{urlencode(query)}",
        )
        return Template("officer/audit.html", context=context)

    @get("/export.csv", name="audit_export", opt=redisplay(_filter_again))
    async def export(
        self,
        officer: NamedDependency[CurrentOfficer],
        actor: FromQuery[FilterText] = "",
        action: FromQuery[FilterText] = "",
        case: FromQuery[FilterText] = "",
        date_from: FromQuery[FilterText] = "",
        date_to: FromQuery[FilterText] = "",
    ) -> Stream:
        # Bad filters raise ValidationFailed here, before the stream: an error page, and
        # nothing is exported or audited.
        audit_filter = queries.parse_filter(
            {
                "actor": actor,
                "action": action,
                "case": case,
                "date_from": date_from,
                "date_to": date_to,
            }
        )
        up_to_seq = await queries.export_head()
        return Stream(
            queries.export_csv(audit_filter, up_to_seq=up_to_seq, actor=officer.username),
            media_type="text/csv; charset=utf-8",
            headers={
                "Content-Disposition": f'attachment; filename="audit-log-{up_to_seq}.csv"',
                "Cache-Control": "no-store",
            },
        )


ROUTES: list = [AuditPages]

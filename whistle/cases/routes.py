"""HTTP routes of whistle.cases (inbox and case page); app.py registers ``ROUTES``.

Thin controllers over inbox and service: each POST reads its form, calls one service function
and redirects (303); a form sent back with a mistake re-renders the case page with the message
beside the field and the typed values kept, having changed nothing.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Redirect, Template

from whistle.cases import inbox as inbox_service
from whistle.cases import service, workflow
from whistle.context import Context
from whistle.errors import ValidationFailed
from whistle.officers.auth import ROLES_OPT, CurrentOfficer, officer_guard
from whistle.officers.roles import INVESTIGATOR, RoleHolder, officers_with_role

CASE_ROLES = {"triage", "investigator"}


def _case_url(number: str) -> str:
    return f"/officer/cases/{number}"


async def _investigators() -> list[RoleHolder]:
    return await officers_with_role(INVESTIGATOR)


async def _case_page(
    ctx: Context,
    officer: CurrentOfficer,
    number: str,
    *,
    record: bool = True,
    form: str | None = None,
    errors: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
) -> Template:
    view = await service.open_case(ctx, officer, number, record=record)
    return Template(
        template_name="officer/case.html",
        context={
            "officer": officer,
            "case": view,
            "failed_form": form,
            "errors": errors or {},
            "values": values or {},
            "referral_suggestions": workflow.REFERRAL_SUGGESTIONS,
            "limits": {
                "reason": workflow.REASON_MAX,
                "public_note": workflow.PUBLIC_NOTE_MAX,
                "referred_to": workflow.REFERRED_TO_MAX,
                "note": service.NOTE_MAX,
                "recusal": service.RECUSAL_REASON_MAX,
            },
        },
        status_code=422 if errors else 200,
    )


# The case page's forms that act on one colleague's access: action -> service function.
PEOPLE_ACTIONS = {
    "assign": service.assign,
    "unassign": service.unassign,
    "grant": service.grant_access,
    "revoke": service.revoke_access,
}


class CasePages(Controller):
    path = "/officer"
    guards = [officer_guard]  # noqa: RUF012 - Litestar's declared layer attribute
    include_in_schema = False
    opt = {ROLES_OPT: CASE_ROLES}  # noqa: RUF012

    @get("/", name="officer_inbox")
    async def inbox(
        self,
        request: Request,
        ctx: NamedDependency[Context],
        officer: NamedDependency[CurrentOfficer],
    ) -> Template:
        view = inbox_service.InboxFilter.parse(dict(request.query_params))
        page = await inbox_service.inbox(officer.id, view, due_soon_days=ctx.settings.due_soon_days)
        return Template(
            template_name="officer/inbox.html",
            context={
                "officer": officer,
                "page": page,
                "view": view,
                "investigators": await _investigators(),
                "due_soon_days": ctx.settings.due_soon_days,
            },
        )

    @get("/cases/{number:str}", name="officer_case")
    async def case(
        self,
        ctx: NamedDependency[Context],
        officer: NamedDependency[CurrentOfficer],
        number: FromPath[str],
    ) -> Template:
        return await _case_page(ctx, officer, number)

    async def _submit(
        self,
        ctx: Context,
        officer: CurrentOfficer,
        number: str,
        form_name: str,
        values: dict[str, Any],
        action: Awaitable[Any],
        *,
        then: str | None = None,
    ) -> Template | Redirect:
        try:
            await action
        except ValidationFailed as failure:
            return await _case_page(
                ctx,
                officer,
                number,
                record=False,
                form=form_name,
                errors=failure.errors,
                values=values,
            )
        return Redirect(path=then or _case_url(number), status_code=303)

    @post("/cases/{number:str}/transition", name="officer_case_transition")
    async def transition(
        self,
        request: Request,
        ctx: NamedDependency[Context],
        officer: NamedDependency[CurrentOfficer],
        number: FromPath[str],
    ) -> Template | Redirect:
        form = await request.form()
        values = {
            name: str(form.get(name, ""))
            for name in ("transition", "reason", "public_note", "outcome", "referred_to")
        }
        return await self._submit(
            ctx,
            officer,
            number,
            f"transition:{values['transition']}",
            values,
            service.apply_transition(
                ctx,
                officer,
                number,
                values["transition"],
                reason=values["reason"],
                public_note=values["public_note"],
                outcome=values["outcome"],
                referred_to=values["referred_to"],
            ),
        )

    @post("/cases/{number:str}/triage", name="officer_case_triage")
    async def triage(
        self,
        request: Request,
        ctx: NamedDependency[Context],
        officer: NamedDependency[CurrentOfficer],
        number: FromPath[str],
    ) -> Template | Redirect:
        form = await request.form()
        values: dict[str, Any] = {
            "priority": str(form.get("priority", "")),
            "retaliation_risk": form.get("retaliation_risk") == "on",
        }
        return await self._submit(
            ctx,
            officer,
            number,
            "triage",
            values,
            service.set_triage(
                officer,
                number,
                priority=values["priority"],
                retaliation_risk=values["retaliation_risk"],
            ),
        )

    @post("/cases/{number:str}/notes", name="officer_case_note")
    async def note(
        self,
        request: Request,
        ctx: NamedDependency[Context],
        officer: NamedDependency[CurrentOfficer],
        number: FromPath[str],
    ) -> Template | Redirect:
        form = await request.form()
        values = {"body": str(form.get("body", ""))}
        return await self._submit(
            ctx, officer, number, "note", values, service.add_note(officer, number, values["body"])
        )

    @post(
        [f"/cases/{{number:str}}/{action}" for action in PEOPLE_ACTIONS],
        name="officer_case_people",
    )
    async def people(
        self,
        request: Request,
        ctx: NamedDependency[Context],
        officer: NamedDependency[CurrentOfficer],
        number: FromPath[str],
    ) -> Template | Redirect:
        """Assign, unassign, grant or revoke: one colleague, named by ``officer_id``."""
        action = request.url.path.rsplit("/", 1)[1]
        form = await request.form()
        return await self._submit(
            ctx,
            officer,
            number,
            action,
            {},
            PEOPLE_ACTIONS[action](officer, number, form.get("officer_id")),
        )

    @post("/cases/{number:str}/recuse", name="officer_case_recuse")
    async def recuse(
        self,
        request: Request,
        ctx: NamedDependency[Context],
        officer: NamedDependency[CurrentOfficer],
        number: FromPath[str],
    ) -> Template | Redirect:
        form = await request.form()
        values = {"recusal_reason": str(form.get("recusal_reason", ""))}
        return await self._submit(
            ctx,
            officer,
            number,
            "recuse",
            values,
            service.recuse(officer, number, values["recusal_reason"]),
            then="/officer",
        )


ROUTES: list = [CasePages]

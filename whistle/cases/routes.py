"""HTTP routes of whistle.cases (inbox and case page); app.py mounts ``ROUTES`` on the /officer
router.

Thin controllers over inbox and service: each POST takes its typed form, calls one service
function and redirects (303); a form refused (by its types or by the service) comes back on the
case page with the message beside the field and the typed values kept, having changed nothing
(whistle.web.forms).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, Parameter, URLEncodedBody
from litestar.response import Redirect, Stream, Template

from whistle.cases import inbox as inbox_service
from whistle.cases import service, workflow
from whistle.cases.schemas import (
    CaseNumberParam,
    ColleagueAction,
    ColleagueForm,
    HoldForm,
    NoteForm,
    RecusalForm,
    RevealDecision,
    RevealDecisionForm,
    RevealRequestForm,
    TransitionForm,
    TriageForm,
)
from whistle.clock import release_period_end
from whistle.context import Context
from whistle.errors import CaseUnreadable, ValidationFailed
from whistle.evidence import store as evidence
from whistle.i18n import N_
from whistle.inputs import NO_CONTROL_PATTERN
from whistle.officers.auth import ACCOUNT_READY, CurrentOfficer, requires_role, start_page
from whistle.officers.roles import INVESTIGATOR, TRIAGE, RoleHolder, officers_with_role
from whistle.web import drafts
from whistle.web.forms import FormFailure, redisplay
from whistle.web.uploads import (
    attachment_headers,
    receive_uploads,
    refused_upload,
    upload_post,
)

# Inbox filters: unknown words are dropped by InboxFilter (a stale bookmark still opens) and
# numbers it could not hold refused; what could never be a filter is refused here.
FilterChoice = Annotated[str, Parameter(max_length=32, pattern=NO_CONTROL_PATTERN)]
FilterNumber = Annotated[str, Parameter(max_length=12, pattern=NO_CONTROL_PATTERN)]


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
    refused_file: str | None = None,
    restored: bool = False,
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
            # A form kept through a re-login, filled in again: not saved yet.
            "restored": restored,
            "limits": {
                "reason": workflow.REASON_MAX,
                "public_note": workflow.PUBLIC_NOTE_MAX,
                "referral_detail": workflow.REFERRAL_DETAIL_MAX,
                "note": service.NOTE_MAX,
                "recusal": service.RECUSAL_REASON_MAX,
                "hold": service.HOLD_REASON_MAX,
                "message": service.messages.MESSAGE_MAX,
                "reveal_reason": service.REVEAL_REASON_MAX,
            },
            "refused_file": refused_file,
        },
        status_code=422 if errors else 200,
    )


def _officer_budget(ctx: Context) -> evidence.Budget:
    """What one officer upload may take (officer files do not count against the reporter's)."""
    return evidence.Budget(
        files=ctx.settings.evidence_files_per_report,
        bytes=ctx.settings.evidence_report_bytes,
        file_bytes=ctx.settings.evidence_file_bytes,
    )


# The case page's forms by the last segment of the path they post to: a draft kept through a
# re-login (whistle.web.drafts) opens its form again. A new case-page form adds its row.
RESTORABLE_FORMS = {"notes": "note", "recuse": "recuse", "triage": "triage"}


def _restored_form(draft: drafts.Draft, number: str) -> str | None:
    """The case-page form the draft was typed into, if it was one of this case's."""
    prefix = _case_url(number) + "/"
    if not draft.action.startswith(prefix):
        return None
    action = draft.action.removeprefix(prefix)
    if action == "transition":
        return f"transition:{draft.values.get('transition', '')}"
    return RESTORABLE_FORMS.get(action)


CASE_FORM_OPT = "case_form"


async def _case_form_again(request: Request, failure: FormFailure) -> Template:
    """The case page with the refused form open, its message and what was typed."""
    form = request.route_handler.opt[CASE_FORM_OPT]
    if form == "transition":
        form = f"transition:{failure.values.get('transition', '')}"
    elif form == "colleague":
        form = str(request.path_params["action"])
    return await _case_page(
        request.app.state.ctx,
        request.user,
        request.path_params["number"],
        record=False,
        form=form,
        errors=failure.errors,
        values=failure.values,
    )


def case_form(name: str, **messages: str) -> dict[str, Any]:
    """Handler ``opt`` of a case-page form: its name on the page, and the page shown again."""
    return {CASE_FORM_OPT: name, **redisplay(_case_form_again, **messages)}


# The colleague forms: one service call each, with the same argument.
COLLEAGUE_ACTIONS = {
    ColleagueAction.ASSIGN: service.assign,
    ColleagueAction.UNASSIGN: service.unassign,
    ColleagueAction.GRANT: service.grant_access,
    ColleagueAction.REVOKE: service.revoke_access,
}


class InboxPage(Controller):
    """/officer itself: the inbox for those who work cases; every other role is sent to its own
    start page rather than refused."""

    path = "/"
    guards = [*ACCOUNT_READY]  # noqa: RUF012 - Litestar's declared layer attribute

    @get("/", name="officer_inbox")
    async def inbox(
        self,
        ctx: NamedDependency[Context],
        officer: NamedDependency[CurrentOfficer],
        status: FromQuery[FilterChoice] = "",
        category: FromQuery[FilterChoice] = "",
        priority: FromQuery[FilterChoice] = "",
        assignee: FromQuery[FilterNumber] = "",
        due: FromQuery[FilterChoice] = "",
        mark: FromQuery[FilterChoice] = "",
        sort: FromQuery[FilterChoice] = "",
        page: FromQuery[FilterNumber] = "",
    ) -> Template | Redirect:
        if not officer.has(TRIAGE, INVESTIGATOR):
            return Redirect(path=start_page(officer.roles), status_code=303)
        view = inbox_service.InboxFilter.parse(
            {
                "status": status,
                "category": category,
                "priority": priority,
                "assignee": assignee,
                "due": due,
                "mark": mark,
                "sort": sort,
                "page": page,
            }
        )
        inbox = await inbox_service.inbox(
            officer.id,
            view,
            due_soon_days=ctx.settings.due_soon_days,
            private_key=officer.private_key,
        )
        return Template(
            template_name="officer/inbox.html",
            context={
                "officer": officer,
                "page": inbox,
                "view": view,
                "investigators": await _investigators(),
                "due_soon_days": ctx.settings.due_soon_days,
                # New reports arrive together at the end of each release period (threat model 2).
                "release_minutes": ctx.settings.release_minutes,
                "next_release": release_period_end(datetime.now(UTC), ctx.settings.release_minutes),
            },
        )


class CasePages(Controller):
    path = "/"
    guards = [*ACCOUNT_READY, requires_role(TRIAGE, INVESTIGATOR)]  # noqa: RUF012

    @get("/cases/{number:str}", name="officer_case")
    async def case(
        self,
        request: Request,
        ctx: NamedDependency[Context],
        officer: NamedDependency[CurrentOfficer],
        number: FromPath[CaseNumberParam],
    ) -> Template:
        draft = await drafts.take(request)
        form = _restored_form(draft, number) if draft else None
        try:
            if draft is None or form is None:
                return await _case_page(ctx, officer, number)
            return await _case_page(
                ctx, officer, number, form=form, values=draft.values, restored=True
            )
        except CaseUnreadable:
            # Nobody holds the key of a purged case: triage still sees what is left of it.
            purged = await service.purged_case(officer, number)
            return Template(
                template_name="officer/case_purged.html",
                context={"officer": officer, "case": purged},
            )

    @post(
        "/cases/{number:str}/transition",
        name="officer_case_transition",
        opt=case_form("transition"),
    )
    async def transition(
        self,
        ctx: NamedDependency[Context],
        officer: NamedDependency[CurrentOfficer],
        number: FromPath[CaseNumberParam],
        data: URLEncodedBody[TransitionForm],
    ) -> Redirect:
        await service.apply_transition(
            ctx,
            officer,
            number,
            data.transition,
            reason=data.reason,
            public_note=data.public_note,
            outcome=data.outcome,
            referred_to=data.referred_to,
            referral_detail=data.referral_detail,
        )
        return Redirect(path=_case_url(number), status_code=303)

    @post("/cases/{number:str}/triage", name="officer_case_triage", opt=case_form("triage"))
    async def triage(
        self,
        officer: NamedDependency[CurrentOfficer],
        number: FromPath[CaseNumberParam],
        data: URLEncodedBody[TriageForm],
    ) -> Redirect:
        await service.set_triage(
            officer,
            number,
            priority=data.priority,
            retaliation_risk=data.retaliation_risk == "on",
        )
        return Redirect(path=_case_url(number), status_code=303)

    @post("/cases/{number:str}/notes", name="officer_case_note", opt=case_form("note"))
    async def note(
        self,
        officer: NamedDependency[CurrentOfficer],
        number: FromPath[CaseNumberParam],
        data: URLEncodedBody[NoteForm],
    ) -> Redirect:
        await service.add_note(officer, number, data.body)
        return Redirect(path=_case_url(number), status_code=303)

    @post("/cases/{number:str}/hold", name="officer_case_hold", opt=case_form("hold"))
    async def hold(
        self,
        officer: NamedDependency[CurrentOfficer],
        number: FromPath[CaseNumberParam],
        data: URLEncodedBody[HoldForm],
    ) -> Redirect:
        await service.set_hold(officer, number, data.hold_reason)
        return Redirect(path=_case_url(number), status_code=303)

    @post("/cases/{number:str}/hold/lift", name="officer_case_hold_lift", opt=case_form("hold"))
    async def lift_hold(
        self,
        officer: NamedDependency[CurrentOfficer],
        number: FromPath[CaseNumberParam],
    ) -> Redirect:
        await service.lift_hold(officer, number)
        return Redirect(path=_case_url(number), status_code=303)

    # The page comes back for the form's language buttons (whistle.web.forms).
    @upload_post(
        "/cases/{number:str}/messages", name="officer_case_message", opt=case_form("message")
    )
    async def message(
        self,
        request: Request,
        ctx: NamedDependency[Context],
        officer: NamedDependency[CurrentOfficer],
        number: FromPath[CaseNumberParam],
    ) -> Response[Any]:
        """A message to the reporter with optional files (multipart read as a stream: nothing
        on disk; a form without files may come urlencoded)."""
        typed: dict[str, Any] = {}

        async def receive(
            report_id: uuid.UUID, data_key: bytes
        ) -> tuple[str | None, list[evidence.SealedFile]]:
            received = await receive_uploads(
                ctx,
                request,
                report_id=report_id,
                data_key=data_key,
                budget=_officer_budget(ctx),
                hour=datetime.now(UTC),
                csrf=True,
            )
            text = received.fields.get("message")
            typed["message"] = text if isinstance(text, str) else ""
            return typed["message"], received.files

        try:
            await service.send_message_with_files(officer, number, receive)
        except evidence.FileRefused as refusal:
            return await _case_page(
                ctx,
                officer,
                number,
                record=False,
                form="message",
                **refused_upload(refusal, field="message_files", keep="message"),
            )
        except ValidationFailed as failure:
            return await _case_page(
                ctx,
                officer,
                number,
                record=False,
                form="message",
                errors=failure.errors,
                values=typed,
            )
        return Redirect(path=f"{_case_url(number)}#pesan", status_code=303)

    @post(
        "/cases/{number:str}/identity/request",
        name="officer_case_identity_request",
        opt=case_form("reveal"),
    )
    async def identity_request(
        self,
        officer: NamedDependency[CurrentOfficer],
        number: FromPath[CaseNumberParam],
        data: URLEncodedBody[RevealRequestForm],
    ) -> Redirect:
        await service.request_identity_reveal(officer, number, data.reveal_reason)
        return Redirect(path=_case_url(number), status_code=303)

    @post(
        "/cases/{number:str}/identity/decide",
        name="officer_case_identity_decide",
        opt=case_form("reveal_decision"),
    )
    async def identity_decide(
        self,
        officer: NamedDependency[CurrentOfficer],
        number: FromPath[CaseNumberParam],
        data: URLEncodedBody[RevealDecisionForm],
    ) -> Redirect:
        await service.decide_identity_reveal(
            officer, number, approve=data.decision == RevealDecision.APPROVE
        )
        return Redirect(path=_case_url(number), status_code=303)

    @post(
        "/cases/{number:str}/{action:str}",
        name="officer_case_people",
        opt=case_form("colleague", officer_id=N_("Pilih petugas dari daftar.")),
    )
    async def colleague(
        self,
        officer: NamedDependency[CurrentOfficer],
        number: FromPath[CaseNumberParam],
        action: FromPath[ColleagueAction],
        data: URLEncodedBody[ColleagueForm],
    ) -> Redirect:
        """Assign, unassign, grant or revoke: one colleague, named by ``officer_id``."""
        await COLLEAGUE_ACTIONS[action](officer, number, data.officer_id)
        return Redirect(path=_case_url(number), status_code=303)

    @post("/cases/{number:str}/recuse", name="officer_case_recuse", opt=case_form("recuse"))
    async def recuse(
        self,
        officer: NamedDependency[CurrentOfficer],
        number: FromPath[CaseNumberParam],
        data: URLEncodedBody[RecusalForm],
    ) -> Redirect:
        await service.recuse(officer, number, data.recusal_reason)
        return Redirect(path="/officer", status_code=303)

    @get(
        "/cases/{number:str}/files/{file_id:uuid}",
        name="officer_case_file",
        # The body is the file, never a page; see whistle.web.security for the headers.
    )
    async def download(
        self,
        officer: NamedDependency[CurrentOfficer],
        number: FromPath[CaseNumberParam],
        file_id: FromPath[uuid.UUID],
    ) -> Stream:
        download = await service.download_file(officer, number, file_id)
        return Stream(
            download.content,
            headers=attachment_headers(download.info.name, download.info.kind.mime, download.size),
            media_type=download.info.kind.mime,
        )

    @upload_post("/cases/{number:str}/files", name="officer_case_file_upload")
    async def upload(
        self,
        request: Request,
        ctx: NamedDependency[Context],
        officer: NamedDependency[CurrentOfficer],
        number: FromPath[CaseNumberParam],
    ) -> Response[Any]:
        """An officer's own file for the case (multipart, read as a stream: nothing on disk)."""
        budget = _officer_budget(ctx)

        async def receive(report_id: uuid.UUID, data_key: bytes) -> list[evidence.SealedFile]:
            received = await receive_uploads(
                ctx,
                request,
                report_id=report_id,
                data_key=data_key,
                budget=budget,
                hour=datetime.now(UTC),
                csrf=True,
            )
            return received.files

        try:
            await service.add_officer_files(officer, number, receive)
        except evidence.FileRefused as refusal:
            return await _case_page(
                ctx,
                officer,
                number,
                record=False,
                form="files",
                **refused_upload(refusal),
            )
        except ValidationFailed as failure:
            return await _case_page(
                ctx, officer, number, record=False, form="files", errors=failure.errors
            )
        return Redirect(path=_case_url(number), status_code=303)


ROUTES: list = [InboxPage, CasePages]

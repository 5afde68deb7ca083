"""HTTP routes of whistle.officers (login, own account, administration); app.py registers
``ROUTES``. Thin controllers over login, service, admin and policy."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post
from litestar.datastructures import Cookie
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from whistle import sessions
from whistle.context import Context
from whistle.errors import Conflict, ValidationFailed
from whistle.i18n import N_
from whistle.officers import admin, login, policy, service, throttle
from whistle.officers.auth import (
    ALLOW_PASSWORD_CHANGE_PENDING_OPT,
    ALLOW_TOTP_ENROLMENT_PENDING_OPT,
    OFFICER_COOKIE,
    ROLES_OPT,
    CurrentOfficer,
    officer_guard,
)
from whistle.officers.roles import ADMIN, AUDITOR, INVESTIGATOR, ROLE_LABELS, TRIAGE
from whistle.web.dependencies import safe_next, session_cookie


def officer_cookie(ctx: Context, token: str, *, expire: bool = False) -> Cookie:
    return session_cookie(ctx, OFFICER_COOKIE, token, "/officer", expire=expire)


def home_for(roles: frozenset[str] | set[str]) -> str:
    """Where an officer lands after login when no page was asked for."""
    if roles & {TRIAGE, INVESTIGATOR}:
        return "/officer"
    if ADMIN in roles:
        return "/officer/admin/officers"
    if AUDITOR in roles:
        return "/officer/audit"
    return "/officer/account"


def _page(name: str, officer: CurrentOfficer | None, status: int = 200, **context: Any) -> Template:
    return Template(
        template_name=name,
        context={"officer": officer, "role_labels": ROLE_LABELS, **context},
        status_code=status,
    )


class LoginPages(Controller):
    """Open to anyone: the login form and logout (which must work with an expired session)."""

    path = "/officer"
    include_in_schema = False

    @get("/login", name="officer_login_form")
    async def login_form(self, next: FromQuery[str] = "") -> Template:
        return _page("officer/login.html", None, next=safe_next(next, ""), values={}, error=None)

    @post("/login", name="officer_login")
    async def login_submit(
        self, request: Request, ctx: NamedDependency[Context]
    ) -> Redirect | Template:
        form = await request.form()
        username = str(form.get("username", ""))
        next_page = safe_next(str(form.get("next", "")), "")
        try:
            result = await login.authenticate(
                ctx, username, str(form.get("password", "")), str(form.get("code", ""))
            )
        except login.LoginRefused as refused:
            # The username typed is kept; the password and code never are.
            return _page(
                "officer/login.html",
                None,
                status=refused.status_code,  # one status for every cause
                next=next_page,
                values={"username": username[:64]},
                error=refused.detail,
            )
        # Any earlier session on this browser ends: the new id is the only one in use.
        await sessions.destroy_session(request.cookies.get(OFFICER_COOKIE))
        if result.must_change_password:
            target = "/officer/password"
        else:
            target = next_page or home_for(result.roles)
        return Redirect(path=target, cookies=[officer_cookie(ctx, result.token)], status_code=303)

    @post("/logout", name="officer_logout")
    async def logout(self, request: Request, ctx: NamedDependency[Context]) -> Redirect:
        await login.logout(ctx, request.cookies.get(OFFICER_COOKIE))
        return Redirect(
            path="/officer/login", cookies=[officer_cookie(ctx, "", expire=True)], status_code=303
        )


ACCOUNT_SETUP = {ALLOW_PASSWORD_CHANGE_PENDING_OPT: True, ALLOW_TOTP_ENROLMENT_PENDING_OPT: True}


class AccountPages(Controller):
    """The officer's own account: summary, password change, two-factor enrolment."""

    path = "/officer"
    guards = [officer_guard]  # noqa: RUF012 - Litestar's declared layer attribute
    include_in_schema = False

    @get("/account", name="officer_account")
    async def account(
        self, officer: NamedDependency[CurrentOfficer], changed: FromQuery[str] = ""
    ) -> Template:
        return _page(
            "officer/account.html",
            officer,
            required=await policy.totp_required(),
            changed=changed,
        )

    @get("/password", name="officer_password_form", opt=ACCOUNT_SETUP)
    async def password_form(self, officer: NamedDependency[CurrentOfficer]) -> Template:
        return _page("officer/password.html", officer, errors={})

    @post("/password", name="officer_password_change", opt=ACCOUNT_SETUP)
    async def password_change(
        self,
        request: Request,
        ctx: NamedDependency[Context],
        officer: NamedDependency[CurrentOfficer],
    ) -> Redirect | Template:
        form = await request.form()
        try:
            token = await service.change_password(
                ctx,
                officer.id,
                current=str(form.get("current_password", "")),
                new=str(form.get("new_password", "")),
                confirm=str(form.get("confirm_password", "")),
            )
        except ValidationFailed as failure:
            return _page("officer/password.html", officer, status=422, errors=failure.errors)
        return Redirect(
            path="/officer/account?changed=password",
            cookies=[officer_cookie(ctx, token)],
            status_code=303,
        )

    @get("/account/totp", name="officer_totp_form", opt={ALLOW_TOTP_ENROLMENT_PENDING_OPT: True})
    async def totp_form(self, officer: NamedDependency[CurrentOfficer]) -> Template | Redirect:
        if officer.totp_enabled:
            return _page("officer/totp_active.html", officer, errors={}, conflict=None)
        enrolment = await service.totp_enrolment(officer.id, officer.private_key)
        return _page("officer/totp.html", officer, enrolment=enrolment, errors={})

    @post(
        "/account/totp", name="officer_totp_confirm", opt={ALLOW_TOTP_ENROLMENT_PENDING_OPT: True}
    )
    async def totp_confirm(
        self,
        request: Request,
        ctx: NamedDependency[Context],
        officer: NamedDependency[CurrentOfficer],
    ) -> Template:
        form = await request.form()
        try:
            codes = await service.confirm_totp(
                ctx, officer.id, officer.private_key, str(form.get("code", ""))
            )
        except ValidationFailed as failure:
            enrolment = await service.totp_enrolment(officer.id, officer.private_key)
            return _page(
                "officer/totp.html", officer, status=422, enrolment=enrolment, errors=failure.errors
            )
        # Shown this once only: the database keeps nothing they can be read back from.
        return _page("officer/recovery_codes.html", officer, codes=codes)

    @post(
        "/account/totp/renew",
        name="officer_totp_renew",
        opt={ALLOW_TOTP_ENROLMENT_PENDING_OPT: True},
    )
    async def totp_renew(self, officer: NamedDependency[CurrentOfficer]) -> Redirect:
        await service.totp_enrolment(officer.id, officer.private_key, renew=True)
        return Redirect(path="/officer/account/totp", status_code=303)

    @post("/account/totp/disable", name="officer_totp_disable")
    async def totp_disable(
        self,
        request: Request,
        ctx: NamedDependency[Context],
        officer: NamedDependency[CurrentOfficer],
    ) -> Template | Redirect:
        form = await request.form()
        try:
            await service.disable_totp(
                ctx, officer.id, str(form.get("password", "")), str(form.get("code", ""))
            )
        except ValidationFailed as failure:
            return _page(
                "officer/totp_active.html",
                officer,
                status=422,
                errors=failure.errors,
                conflict=None,
            )
        except Conflict as conflict:
            return _page(
                "officer/totp_active.html", officer, status=409, errors={}, conflict=conflict.detail
            )
        return Redirect(path="/officer/account?changed=totp_off", status_code=303)


ROLE_FIELD = "roles"


class AdminPages(Controller):
    """Officer administration, for the admin role only."""

    path = "/officer/admin"
    guards = [officer_guard]  # noqa: RUF012 - Litestar's declared layer attribute
    opt = {ROLES_OPT: {ADMIN}}  # noqa: RUF012
    include_in_schema = False

    async def _list(
        self,
        ctx: Context,
        officer: CurrentOfficer,
        *,
        status: int = 200,
        message: str | None = None,
        error: str | None = None,
    ) -> Template:
        return _page(
            "officer/admin/officers.html",
            officer,
            status=status,
            officers=await admin.list_officers(ctx),
            require_totp=await policy.totp_required(),
            message=message,
            error=error,
        )

    @get("/officers", name="admin_officers")
    async def officers(
        self,
        ctx: NamedDependency[Context],
        officer: NamedDependency[CurrentOfficer],
        done: FromQuery[str] = "",
    ) -> Template:
        return await self._list(ctx, officer, message=ADMIN_MESSAGES.get(done))

    @get("/officers/new", name="admin_officer_new_form")
    async def new_form(self, officer: NamedDependency[CurrentOfficer]) -> Template:
        return _page("officer/admin/officer_new.html", officer, values={"roles": []}, errors={})

    @post("/officers/new", name="admin_officer_add")
    async def add(
        self,
        request: Request,
        ctx: NamedDependency[Context],
        officer: NamedDependency[CurrentOfficer],
    ) -> Template | Redirect:
        form = await request.form()
        values = {
            "username": str(form.get("username", ""))[:64],
            "display_name": str(form.get("display_name", ""))[:128],
            "roles": [str(role) for role in form.getall(ROLE_FIELD, [])],
        }
        try:
            await service.add_officer(
                ctx,
                username=values["username"],
                password=str(form.get("password", "")),
                roles=values["roles"],
                display_name=values["display_name"] or None,
                actor=officer.username,
                must_change_password=True,
            )
        except ValidationFailed as failure:
            return _page(
                "officer/admin/officer_new.html",
                officer,
                status=422,
                values=values,
                errors=failure.errors,
            )
        except Conflict as conflict:
            return _page(
                "officer/admin/officer_new.html",
                officer,
                status=409,
                values=values,
                errors={"username": conflict.detail},
            )
        return Redirect(path="/officer/admin/officers?done=added", status_code=303)

    async def _detail(
        self,
        officer: CurrentOfficer,
        target_id: int,
        *,
        status: int = 200,
        errors: dict[str, str] | None = None,
        roles: list[str] | None = None,
    ) -> Template:
        target = await service.officer_by_id(target_id)
        return _page(
            "officer/admin/officer.html",
            officer,
            status=status,
            target=target,
            target_roles=roles if roles is not None else target.roles.split(","),
            errors=errors or {},
        )

    @get("/officers/{officer_id:int}", name="admin_officer")
    async def detail(
        self, officer: NamedDependency[CurrentOfficer], officer_id: FromPath[int]
    ) -> Template:
        return await self._detail(officer, officer_id)

    @post("/officers/{officer_id:int}/roles", name="admin_officer_roles")
    async def roles(
        self,
        request: Request,
        ctx: NamedDependency[Context],
        officer: NamedDependency[CurrentOfficer],
        officer_id: FromPath[int],
    ) -> Template | Redirect:
        form = await request.form()
        roles = [str(role) for role in form.getall(ROLE_FIELD, [])]
        try:
            await admin.set_roles(ctx, officer_id, roles, actor=officer.username)
        except ValidationFailed as failure:
            return await self._detail(
                officer, officer_id, status=422, errors=failure.errors, roles=roles
            )
        except Conflict as conflict:
            return await self._detail(
                officer, officer_id, status=409, errors={"roles": conflict.detail}, roles=roles
            )
        return Redirect(path="/officer/admin/officers?done=roles", status_code=303)

    @post("/officers/{officer_id:int}/reset-password", name="admin_officer_reset")
    async def reset(
        self,
        request: Request,
        ctx: NamedDependency[Context],
        officer: NamedDependency[CurrentOfficer],
        officer_id: FromPath[int],
    ) -> Template | Redirect:
        form = await request.form()
        try:
            await admin.reset_password(
                ctx, officer_id, str(form.get("password", "")), actor=officer.username
            )
        except ValidationFailed as failure:
            return await self._detail(officer, officer_id, status=422, errors=failure.errors)
        return Redirect(path="/officer/admin/officers?done=reset", status_code=303)

    @post("/officers/{officer_id:int}/disable", name="admin_officer_disable")
    async def disable(
        self,
        ctx: NamedDependency[Context],
        officer: NamedDependency[CurrentOfficer],
        officer_id: FromPath[int],
    ) -> Template | Redirect:
        try:
            await admin.disable_officer(ctx, officer_id, actor=officer.username)
        except Conflict as conflict:
            return await self._detail(
                officer, officer_id, status=409, errors={"active": conflict.detail}
            )
        return Redirect(path="/officer/admin/officers?done=disabled", status_code=303)

    @post("/officers/{officer_id:int}/enable", name="admin_officer_enable")
    async def enable(
        self,
        ctx: NamedDependency[Context],
        officer: NamedDependency[CurrentOfficer],
        officer_id: FromPath[int],
    ) -> Redirect:
        await admin.enable_officer(ctx, officer_id, actor=officer.username)
        return Redirect(path="/officer/admin/officers?done=enabled", status_code=303)

    @post("/officers/{officer_id:int}/unlock", name="admin_officer_unlock")
    async def unlock(
        self,
        ctx: NamedDependency[Context],
        officer: NamedDependency[CurrentOfficer],
        officer_id: FromPath[int],
    ) -> Redirect:
        await throttle.unlock_officer(ctx, officer_id, actor=officer.username)
        return Redirect(path="/officer/admin/officers?done=unlocked", status_code=303)

    @post("/settings", name="admin_settings")
    async def settings(
        self, request: Request, officer: NamedDependency[CurrentOfficer]
    ) -> Redirect:
        form = await request.form()
        await policy.set_totp_required(form.get("require_totp") == "on", actor=officer.username)
        return Redirect(path="/officer/admin/officers?done=settings", status_code=303)


ADMIN_MESSAGES = {
    "added": N_("Petugas ditambahkan. Ia harus mengganti kata sandi saat pertama masuk."),
    "roles": N_("Peran petugas diperbarui."),
    "unlocked": N_("Kunci masuk dibuka. Kata sandi dan kunci petugas tidak berubah."),
    "reset": N_(
        "Kata sandi direset. Petugas mendapat kunci baru: akses ke kasus harus diberikan lagi."
    ),
    "disabled": N_("Petugas dinonaktifkan; kunci kasus dan penugasannya dihapus."),
    "enabled": N_("Petugas diaktifkan kembali. Akses ke kasus harus diberikan lagi."),
    "settings": N_("Pengaturan disimpan."),
}

ROUTES: list = [LoginPages, AccountPages, AdminPages]

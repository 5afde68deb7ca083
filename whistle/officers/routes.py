"""HTTP routes of whistle.officers (login, own account, administration); app.py mounts
``ROUTES`` on the /officer router. Thin controllers over login, service, admin and policy; each
controller's guards say who may enter, and a refused form comes back on its page
(whistle.web.forms)."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post
from litestar.datastructures import Cookie
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, URLEncodedBody
from litestar.response import Redirect, Template

from whistle import sessions
from whistle.context import Context
from whistle.errors import Conflict
from whistle.i18n import N_
from whistle.inputs import DbIdParam
from whistle.officers import admin, login, policy, service, throttle
from whistle.officers.auth import (
    ACCOUNT_READY,
    OFFICER_COOKIE,
    PUBLIC_OPT,
    CurrentOfficer,
    password_changed,
    requires_role,
    start_page,
)
from whistle.officers.roles import ADMIN, roles_of
from whistle.officers.schemas import (
    ConfirmForm,
    EmailForm,
    LoginForm,
    NewOfficerForm,
    PasswordChangeForm,
    RecoveryCodesForm,
    ResetForm,
    RolesForm,
    SettingsForm,
    TotpCodeForm,
    TotpDisableForm,
)
from whistle.web import drafts
from whistle.web.dependencies import safe_next, session_cookie
from whistle.web.forms import FormFailure, redisplay


def officer_cookie(ctx: Context, token: str, *, expire: bool = False) -> Cookie:
    return session_cookie(ctx, OFFICER_COOKIE, token, "/officer", expire=expire)


def _page(name: str, officer: CurrentOfficer | None, status: int = 200, **context: Any) -> Template:
    return Template(
        template_name=name,
        context={"officer": officer, **context},
        status_code=status,
    )


def _text(values: dict[str, Any], name: str) -> str:
    value = values.get(name, "")
    return value if isinstance(value, str) else ""


def _roles(values: dict[str, Any]) -> list[str]:
    value = values.get("roles", [])
    return [value] if isinstance(value, str) else list(value)


# --- the pages a refused form is shown on again -----------------------------------------------


async def _login_again(request: Request, failure: FormFailure) -> Template:
    # The username typed is kept; the password and code never are.
    return _page(
        "officer/login.html",
        None,
        next=safe_next(_text(failure.values, "next"), ""),
        values={"username": _text(failure.values, "username")[:64]},
        error=next(iter(failure.errors.values()), None),
        # Sealed; a malformed one simply fails to open after the login.
        draft=_text(failure.values, "draft")[:140_000],
    )


async def _password_again(request: Request, failure: FormFailure) -> Template:
    return _page("officer/password.html", request.user, errors=failure.errors)


async def _totp_enrolment_again(request: Request, failure: FormFailure) -> Template:
    officer: CurrentOfficer = request.user
    enrolment = await service.totp_enrolment(officer.id, officer.private_key)
    return _page("officer/totp.html", officer, enrolment=enrolment, errors=failure.errors)


async def _totp_active_again(request: Request, failure: FormFailure) -> Template:
    return _page("officer/totp_active.html", request.user, errors=failure.errors, conflict=None)


async def _account(
    officer: CurrentOfficer,
    *,
    status: int = 200,
    changed: str = "",
    email: str | None = None,
    errors: dict[str, str] | None = None,
) -> Template:
    """The account page; ``email`` is what the form shows (the stored address by default)."""
    stored = (await service.officer_by_id(officer.id)).email
    return _page(
        "officer/account.html",
        officer,
        status=status,
        required=await policy.totp_required(),
        changed=changed,
        email=stored if email is None else email,
        has_email=stored is not None,
        errors=errors or {},
    )


async def _account_again(request: Request, failure: FormFailure) -> Template:
    typed = _text(failure.values, "email")[:320]
    return await _account(request.user, status=422, email=typed, errors=failure.errors)


async def _recovery_codes_again(request: Request, failure: FormFailure) -> Template:
    return _page("officer/recovery_codes_renew.html", request.user, errors=failure.errors)


async def _new_officer_again(request: Request, failure: FormFailure) -> Template:
    values = {
        "username": _text(failure.values, "username")[:64],
        "display_name": _text(failure.values, "display_name")[:128],
        "email": _text(failure.values, "email")[:320],
        "roles": _roles(failure.values),
    }
    return _page(
        "officer/admin/officer_new.html", request.user, values=values, errors=failure.errors
    )


async def _officer_detail(
    officer: CurrentOfficer,
    target_id: int,
    *,
    status: int = 200,
    errors: dict[str, str] | None = None,
    roles: list[str] | None = None,
    email: str | None = None,
) -> Template:
    target = await service.officer_by_id(target_id)
    return _page(
        "officer/admin/officer.html",
        officer,
        status=status,
        target=target,
        target_roles=roles if roles is not None else await roles_of(target.id),
        target_email=(target.email or "") if email is None else email,
        errors=errors or {},
    )


async def _officer_detail_again(request: Request, failure: FormFailure) -> Template:
    # The form sent back (refused, or switched to another language) keeps what was typed.
    sent = request.route_handler.name
    roles = _roles(failure.values) if sent == "admin_officer_roles" else None
    email = _text(failure.values, "email")[:320] if sent == "admin_officer_email" else None
    return await _officer_detail(
        request.user,
        request.path_params["officer_id"],
        errors=failure.errors,
        roles=roles,
        email=email,
    )


CONFIRMED = "yes"


async def _confirm_page(
    officer: CurrentOfficer,
    target_id: int,
    action: str,
    *,
    status: int = 200,
    errors: dict[str, str] | None = None,
) -> Template:
    """The page that says what a reset or a disable destroys before it is done."""
    target = await service.officer_by_id(target_id)
    return _page(
        f"officer/admin/confirm_{action}.html",
        officer,
        status=status,
        target=target,
        lost=await admin.what_is_lost(target.id),
        errors=errors or {},
    )


async def _reset_again(request: Request, failure: FormFailure) -> Template:
    return await _confirm_page(
        request.user, request.path_params["officer_id"], "reset", errors=failure.errors
    )


async def _officer_list(
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
        pending_grants=await admin.pending_grants(),
        awaiting_access=await admin.officers_awaiting_case_access(),
        require_totp=await policy.totp_required(),
        message=message,
        error=error,
    )


async def _officer_list_again(request: Request, failure: FormFailure) -> Template:
    error = next(iter(failure.errors.values()), None)
    return await _officer_list(request.app.state.ctx, request.user, error=error)


# --- controllers --------------------------------------------------------------------------------


class LoginPages(Controller):
    """Open to anyone: the login form and logout (which must work with an expired session)."""

    path = "/"
    opt = PUBLIC_OPT

    @get("/login", name="officer_login_form")
    async def login_form(self, next: FromQuery[str] = "") -> Template:
        return _page(
            "officer/login.html", None, next=safe_next(next, ""), values={}, error=None, draft=""
        )

    @post("/login", name="officer_login", opt=redisplay(_login_again))
    async def login_submit(
        self, request: Request, ctx: NamedDependency[Context], data: URLEncodedBody[LoginForm]
    ) -> Redirect | Template:
        next_page = safe_next(data.next, "")
        try:
            result = await login.authenticate(ctx, data.username, data.password, data.code)
        except login.LoginRefused as refused:
            # The username typed is kept; the password and code never are.
            return _page(
                "officer/login.html",
                None,
                status=refused.status_code,  # one status for every cause
                next=next_page,
                values={"username": data.username[:64]},
                error=refused.detail,
                draft=data.draft,
            )
        # Any earlier session on this browser ends: the new id is the only one in use.
        await sessions.destroy_session(request.cookies.get(OFFICER_COOKIE), sessions.OFFICER)
        # A form left when the previous session expired: kept on the new one, for its page.
        draft = await drafts.keep_for_session(ctx, result.token, data.draft)
        if result.must_change_password:
            target = "/officer/password"
        else:
            target = safe_next(draft.page, "") if draft else next_page
            target = target or start_page(result.roles)
        return Redirect(path=target, cookies=[officer_cookie(ctx, result.token)], status_code=303)

    @post("/logout", name="officer_logout")
    async def logout(self, request: Request, ctx: NamedDependency[Context]) -> Redirect:
        await login.logout(ctx, request.cookies.get(OFFICER_COOKIE))
        return Redirect(
            path="/officer/login", cookies=[officer_cookie(ctx, "", expire=True)], status_code=303
        )


class PasswordPages(Controller):
    """Replacing a temporary password: open to any logged-in officer, before anything else."""

    path = "/password"

    @get("/", name="officer_password_form")
    async def password_form(self, officer: NamedDependency[CurrentOfficer]) -> Template:
        return _page("officer/password.html", officer, errors={})

    @post("/", name="officer_password_change", opt=redisplay(_password_again))
    async def password_change(
        self,
        ctx: NamedDependency[Context],
        officer: NamedDependency[CurrentOfficer],
        data: URLEncodedBody[PasswordChangeForm],
    ) -> Redirect:
        token = await service.change_password(
            ctx,
            officer.id,
            current=data.current_password,
            new=data.new_password,
            confirm=data.confirm_password,
        )
        return Redirect(
            path="/officer/account?changed=password",
            cookies=[officer_cookie(ctx, token)],
            status_code=303,
        )


class TotpEnrolmentPages(Controller):
    """Two-factor enrolment: open before enrolment, which the office may require."""

    path = "/account/totp"
    guards = [password_changed]  # noqa: RUF012 - Litestar's declared layer attribute

    @get("/", name="officer_totp_form")
    async def totp_form(self, officer: NamedDependency[CurrentOfficer]) -> Template | Redirect:
        if officer.totp_enabled:
            return _page("officer/totp_active.html", officer, errors={}, conflict=None)
        enrolment = await service.totp_enrolment(officer.id, officer.private_key)
        return _page("officer/totp.html", officer, enrolment=enrolment, errors={})

    @post("/", name="officer_totp_confirm", opt=redisplay(_totp_enrolment_again))
    async def totp_confirm(
        self,
        ctx: NamedDependency[Context],
        officer: NamedDependency[CurrentOfficer],
        data: URLEncodedBody[TotpCodeForm],
    ) -> Template:
        codes = await service.confirm_totp(ctx, officer.id, officer.private_key, data.code)
        # Shown this once only: the database keeps nothing they can be read back from.
        return _page("officer/recovery_codes.html", officer, codes=codes, renewed=False)

    @post("/renew", name="officer_totp_renew")
    async def totp_renew(self, officer: NamedDependency[CurrentOfficer]) -> Redirect:
        await service.totp_enrolment(officer.id, officer.private_key, renew=True)
        return Redirect(path="/officer/account/totp", status_code=303)


class StartPage(Controller):
    """The officer's own start page (the one login lands on), for links that cannot know the
    officer's roles: the officer error pages."""

    path = "/start"

    @get("/", name="officer_start")
    async def start(self, officer: NamedDependency[CurrentOfficer]) -> Redirect:
        return Redirect(path=start_page(officer.roles), status_code=303)


class AccountPages(Controller):
    """The officer's own account: summary, turning two-factor off."""

    path = "/account"
    guards = [*ACCOUNT_READY]  # noqa: RUF012 - Litestar's declared layer attribute

    @get("/", name="officer_account")
    async def account(
        self, officer: NamedDependency[CurrentOfficer], changed: FromQuery[str] = ""
    ) -> Template:
        return await _account(officer, changed=changed)

    @post("/email", name="officer_email", opt=redisplay(_account_again))
    async def email(
        self, officer: NamedDependency[CurrentOfficer], data: URLEncodedBody[EmailForm]
    ) -> Redirect:
        """The officer's own alert address (empty: no mail)."""
        await service.set_email(officer.id, data.email, actor=officer.username)
        return Redirect(path="/officer/account?changed=email", status_code=303)

    @post("/totp/disable", name="officer_totp_disable", opt=redisplay(_totp_active_again))
    async def totp_disable(
        self,
        ctx: NamedDependency[Context],
        officer: NamedDependency[CurrentOfficer],
        data: URLEncodedBody[TotpDisableForm],
    ) -> Template | Redirect:
        try:
            await service.disable_totp(ctx, officer.id, data.password, data.code)
        except Conflict as conflict:
            return _page(
                "officer/totp_active.html", officer, status=409, errors={}, conflict=conflict.detail
            )
        return Redirect(path="/officer/account?changed=totp_off", status_code=303)

    @get("/recovery-codes", name="officer_recovery_codes_form")
    async def recovery_codes_form(self, officer: NamedDependency[CurrentOfficer]) -> Template:
        return _page("officer/recovery_codes_renew.html", officer, errors={})

    @post(
        "/recovery-codes", name="officer_recovery_codes_renew", opt=redisplay(_recovery_codes_again)
    )
    async def recovery_codes_renew(
        self,
        ctx: NamedDependency[Context],
        officer: NamedDependency[CurrentOfficer],
        data: URLEncodedBody[RecoveryCodesForm],
    ) -> Template:
        codes = await service.regenerate_recovery_codes(ctx, officer.id, data.password, data.code)
        # Shown this once only, like the first ones; the old codes no longer work.
        return _page("officer/recovery_codes.html", officer, codes=codes, renewed=True)


class AdminPages(Controller):
    """Officer administration, for the admin role only."""

    path = "/admin"
    guards = [*ACCOUNT_READY, requires_role(ADMIN)]  # noqa: RUF012

    @get("/officers", name="admin_officers")
    async def officers(
        self,
        ctx: NamedDependency[Context],
        officer: NamedDependency[CurrentOfficer],
        done: FromQuery[str] = "",
    ) -> Template:
        return await _officer_list(ctx, officer, message=ADMIN_MESSAGES.get(done))

    @get("/officers/new", name="admin_officer_new_form")
    async def new_form(self, officer: NamedDependency[CurrentOfficer]) -> Template:
        return _page("officer/admin/officer_new.html", officer, values={"roles": []}, errors={})

    @post("/officers/new", name="admin_officer_add", opt=redisplay(_new_officer_again))
    async def add(
        self,
        ctx: NamedDependency[Context],
        officer: NamedDependency[CurrentOfficer],
        data: URLEncodedBody[NewOfficerForm],
    ) -> Template | Redirect:
        try:
            change = await admin.add_officer_by_admin(
                ctx,
                username=data.username,
                password=data.password,
                roles=data.role_list(),
                display_name=data.display_name or None,
                actor=officer.username,
                email=data.email,
            )
        except Conflict as conflict:
            values = {
                "username": data.username,
                "display_name": data.display_name,
                "email": data.email,
                "roles": data.role_list(),
            }
            return _page(
                "officer/admin/officer_new.html",
                officer,
                status=409,
                values=values,
                errors={"username": conflict.detail},
            )
        done = "added" if change is admin.RoleChange.APPLIED else "added_pending"
        return Redirect(path=f"/officer/admin/officers?done={done}", status_code=303)

    @get("/officers/{officer_id:int}", name="admin_officer")
    async def detail(
        self, officer: NamedDependency[CurrentOfficer], officer_id: FromPath[DbIdParam]
    ) -> Template:
        return await _officer_detail(officer, officer_id)

    @post(
        "/officers/{officer_id:int}/roles",
        name="admin_officer_roles",
        opt=redisplay(_officer_detail_again),
    )
    async def roles(
        self,
        ctx: NamedDependency[Context],
        officer: NamedDependency[CurrentOfficer],
        officer_id: FromPath[DbIdParam],
        data: URLEncodedBody[RolesForm],
    ) -> Template | Redirect:
        try:
            change = await admin.set_roles(
                ctx, officer_id, data.role_list(), actor=officer.username
            )
        except Conflict as conflict:
            return await _officer_detail(
                officer,
                officer_id,
                status=409,
                errors={"roles": conflict.detail},
                roles=data.role_list(),
            )
        done = "roles" if change is admin.RoleChange.APPLIED else "role_pending"
        return Redirect(path=f"/officer/admin/officers?done={done}", status_code=303)

    @get("/officers/{officer_id:int}/reset-password", name="admin_officer_reset_confirm")
    async def reset_confirm(
        self, officer: NamedDependency[CurrentOfficer], officer_id: FromPath[DbIdParam]
    ) -> Template:
        return await _confirm_page(officer, officer_id, "reset")

    @post(
        "/officers/{officer_id:int}/email",
        name="admin_officer_email",
        opt=redisplay(_officer_detail_again),
    )
    async def set_email(
        self,
        officer: NamedDependency[CurrentOfficer],
        officer_id: FromPath[DbIdParam],
        data: URLEncodedBody[EmailForm],
    ) -> Redirect:
        await service.set_email(officer_id, data.email, actor=officer.username)
        return Redirect(path="/officer/admin/officers?done=email", status_code=303)

    @post(
        "/officers/{officer_id:int}/reset-password",
        name="admin_officer_reset",
        opt=redisplay(_reset_again),
    )
    async def reset(
        self,
        ctx: NamedDependency[Context],
        officer: NamedDependency[CurrentOfficer],
        officer_id: FromPath[DbIdParam],
        data: URLEncodedBody[ResetForm],
    ) -> Template | Redirect:
        if data.confirm != CONFIRMED:
            return await _confirm_page(officer, officer_id, "reset")
        await admin.reset_password(ctx, officer_id, data.password, actor=officer.username)
        return Redirect(path="/officer/admin/officers?done=reset", status_code=303)

    @get("/officers/{officer_id:int}/disable", name="admin_officer_disable_confirm")
    async def disable_confirm(
        self, officer: NamedDependency[CurrentOfficer], officer_id: FromPath[DbIdParam]
    ) -> Template:
        return await _confirm_page(officer, officer_id, "disable")

    @post("/officers/{officer_id:int}/disable", name="admin_officer_disable")
    async def disable(
        self,
        ctx: NamedDependency[Context],
        officer: NamedDependency[CurrentOfficer],
        officer_id: FromPath[DbIdParam],
        data: URLEncodedBody[ConfirmForm],
    ) -> Template | Redirect:
        if data.confirm != CONFIRMED:
            return await _confirm_page(officer, officer_id, "disable")
        try:
            await admin.disable_officer(ctx, officer_id, actor=officer.username)
        except Conflict as conflict:
            return await _officer_detail(
                officer, officer_id, status=409, errors={"active": conflict.detail}
            )
        return Redirect(path="/officer/admin/officers?done=disabled", status_code=303)

    @post("/officers/{officer_id:int}/enable", name="admin_officer_enable")
    async def enable(
        self,
        ctx: NamedDependency[Context],
        officer: NamedDependency[CurrentOfficer],
        officer_id: FromPath[DbIdParam],
    ) -> Redirect:
        await admin.enable_officer(ctx, officer_id, actor=officer.username)
        return Redirect(path="/officer/admin/officers?done=enabled", status_code=303)

    @post("/officers/{officer_id:int}/unlock", name="admin_officer_unlock")
    async def unlock(
        self,
        ctx: NamedDependency[Context],
        officer: NamedDependency[CurrentOfficer],
        officer_id: FromPath[DbIdParam],
    ) -> Redirect:
        await throttle.unlock_officer(ctx, officer_id, actor=officer.username)
        return Redirect(path="/officer/admin/officers?done=unlocked", status_code=303)

    @post("/role-grants/{request_id:int}/confirm", name="admin_role_grant_confirm")
    async def confirm_grant(
        self,
        ctx: NamedDependency[Context],
        officer: NamedDependency[CurrentOfficer],
        request_id: FromPath[DbIdParam],
    ) -> Template | Redirect:
        try:
            await admin.confirm_role_grant(ctx, request_id, actor=officer.username)
        except Conflict as conflict:
            return await _officer_list(ctx, officer, status=409, error=conflict.detail)
        return Redirect(path="/officer/admin/officers?done=role_granted", status_code=303)

    @post("/role-grants/{request_id:int}/reject", name="admin_role_grant_reject")
    async def reject_grant(
        self,
        ctx: NamedDependency[Context],
        officer: NamedDependency[CurrentOfficer],
        request_id: FromPath[DbIdParam],
    ) -> Redirect:
        await admin.reject_role_grant(ctx, request_id, actor=officer.username)
        return Redirect(path="/officer/admin/officers?done=role_rejected", status_code=303)

    @post("/settings", name="admin_settings", opt=redisplay(_officer_list_again))
    async def settings(
        self, officer: NamedDependency[CurrentOfficer], data: URLEncodedBody[SettingsForm]
    ) -> Redirect:
        await policy.set_totp_required(data.require_totp == "on", actor=officer.username)
        return Redirect(path="/officer/admin/officers?done=settings", status_code=303)


ADMIN_MESSAGES = {
    "added": N_("Petugas ditambahkan. Ia harus mengganti kata sandi saat pertama masuk."),
    "added_pending": N_(
        "Petugas ditambahkan. Peran yang membuka isi laporan menunggu konfirmasi administrator "
        "lain; ia harus mengganti kata sandi saat pertama masuk."
    ),
    "roles": N_("Peran petugas diperbarui."),
    "role_pending": N_(
        "Peran yang membuka isi laporan menunggu konfirmasi administrator lain sebelum berlaku."
    ),
    "role_granted": N_("Pemberian peran dikonfirmasi dan berlaku."),
    "role_rejected": N_("Permintaan peran ditolak."),
    "unlocked": N_("Kunci masuk dibuka. Kata sandi dan kunci petugas tidak berubah."),
    "reset": N_(
        "Kata sandi direset. Petugas belum memegang kunci sampai memilih kata sandinya sendiri: "
        "akses ke kasus harus diberikan lagi."
    ),
    "disabled": N_("Petugas dinonaktifkan; kunci kasus dan penugasannya dihapus."),
    "enabled": N_("Petugas diaktifkan kembali. Akses ke kasus harus diberikan lagi."),
    "settings": N_("Pengaturan disimpan."),
    "email": N_("Alamat surel petugas disimpan."),
}

ROUTES: list = [LoginPages, PasswordPages, TotpEnrolmentPages, StartPage, AccountPages, AdminPages]

"""Who the officer behind a request is, and the guards every officer route carries.

An officer session's secret is the officer's unlocked X25519 private key, so a logged-in request
can open exactly the reports whose key was sealed for that officer, and nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

from whistle import sessions
from whistle.context import Context
from whistle.db.tables import Officer
from whistle.errors import (
    NotAuthenticated,
    PasswordChangeRequired,
    PermissionDenied,
    TwoFactorEnrolmentRequired,
)
from whistle.i18n import N_
from whistle.officers.policy import totp_required

OFFICER_COOKIE = "whistle_officer"
# Handler opt keys: roles any of which admits the officer; routes open before the password change.
ROLES_OPT = "roles"
ALLOW_PASSWORD_CHANGE_PENDING_OPT = "allow_password_change_pending"  # noqa: S105 - not a secret
# Routes open to an officer who must still enrol two-factor authentication (when required).
ALLOW_TOTP_ENROLMENT_PENDING_OPT = "allow_totp_enrolment_pending"


@dataclass(frozen=True)
class CurrentOfficer:
    id: int
    username: str
    display_name: str
    roles: frozenset[str]
    must_change_password: bool
    # The unlocked X25519 private key: lives only in this request, from the session.
    private_key: bytes = field(repr=False)
    session_token: str = field(repr=False)
    totp_enabled: bool = False

    def has(self, *roles: str) -> bool:
        return bool(self.roles & set(roles))


async def load_current_officer(ctx: Context, token: str | None) -> CurrentOfficer | None:
    """The active officer behind a session token, or None (expired, unknown, disabled)."""
    session = await sessions.load_session(
        token, sessions.OFFICER, idle=timedelta(minutes=ctx.settings.officer_idle_minutes)
    )
    if session is None or session.officer_id is None:
        return None
    row = await Officer.objects().where(Officer.id == session.officer_id).first()
    if row is None or not row.active:
        await sessions.destroy_session(token, sessions.OFFICER)
        return None
    return CurrentOfficer(
        id=row.id,
        username=row.username,
        display_name=row.display_name,
        roles=frozenset(row.roles.split(",")),
        must_change_password=row.must_change_password,
        private_key=session.secret,
        session_token=token or "",
        totp_enabled=row.totp_secret_sealed is not None,
    )


async def officer_guard(connection: ASGIConnection, handler: BaseRouteHandler) -> None:
    """Every officer route: a live session, the password changed if required, two-factor
    enrolled if the administrator requires it, an allowed role.

    Roles come from the handler's ``opt={"roles": {...}}``; a route without them admits any
    officer. The officer is kept on ``connection.state.officer`` for ``provide_officer``.
    """
    ctx: Context = connection.app.state.ctx
    officer = await load_current_officer(ctx, connection.cookies.get(OFFICER_COOKIE))
    if officer is None:
        raise NotAuthenticated(N_("Silakan masuk terlebih dahulu."))
    if officer.must_change_password and not handler.opt.get(ALLOW_PASSWORD_CHANGE_PENDING_OPT):
        raise PasswordChangeRequired()
    if (
        not officer.totp_enabled
        and not handler.opt.get(ALLOW_TOTP_ENROLMENT_PENDING_OPT)
        and await totp_required()
    ):
        raise TwoFactorEnrolmentRequired()
    allowed = handler.opt.get(ROLES_OPT)
    if allowed and not officer.has(*allowed):
        raise PermissionDenied()
    connection.state.officer = officer


def provide_officer(request: Request) -> CurrentOfficer:
    # ``request`` is a name Litestar injects; ``connection`` would be read as a query parameter.
    return request.state.officer

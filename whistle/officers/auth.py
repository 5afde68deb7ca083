"""Who the officer behind a request is, and the small guards officer routes compose.

``OfficerAuthentication`` (middleware on the /officer router) turns the session cookie into
``request.user``; the guards then each check one thing: the password changed when required,
two-factor enrolled when the office requires it, a role. An officer session's secret is the
officer's unlocked X25519 private key, so a logged-in request can open exactly the reports whose
key was sealed for that officer, and nothing else.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult

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
from whistle.officers.roles import ADMIN, AUDITOR, INVESTIGATOR, TRIAGE, roles_of

OFFICER_COOKIE = "whistle_officer"
# Controller/handler opt that lets a route through without a session (login, logout).
PUBLIC_OPT = {"exclude_from_auth": True}

Guard = Callable[[ASGIConnection, BaseRouteHandler], Awaitable[None]]


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
        roles=frozenset(await roles_of(row.id)),
        must_change_password=row.must_change_password,
        private_key=session.secret,
        session_token=token or "",
        totp_enabled=row.totp_secret_sealed is not None,
    )


class OfficerAuthentication(AbstractAuthenticationMiddleware):
    """Loads the officer session for every /officer route not marked ``PUBLIC_OPT``: a live
    session sets ``request.user`` to the ``CurrentOfficer``; none sends the browser to login."""

    async def authenticate_request(self, connection: ASGIConnection) -> AuthenticationResult:
        token = connection.cookies.get(OFFICER_COOKIE)
        officer = await load_current_officer(connection.app.state.ctx, token)
        if officer is None:
            raise NotAuthenticated(N_("Silakan masuk terlebih dahulu."))
        return AuthenticationResult(user=officer, auth=token)


def start_page(roles: frozenset[str] | set[str]) -> str:
    """Where an officer lands after login when no page was asked for, and where /officer
    sends a role that has no inbox."""
    if roles & {TRIAGE, INVESTIGATOR}:
        return "/officer"
    if ADMIN in roles:
        return "/officer/admin/officers"
    if AUDITOR in roles:
        return "/officer/audit"
    return "/officer/account"


def _officer(connection: ASGIConnection) -> CurrentOfficer:
    return connection.user


async def password_changed(connection: ASGIConnection, _: BaseRouteHandler) -> None:
    """A temporary password (new account, reset) is replaced before anything else."""
    if _officer(connection).must_change_password:
        raise PasswordChangeRequired()


async def two_factor_when_required(connection: ASGIConnection, _: BaseRouteHandler) -> None:
    """Two-factor enrolled, when the administrator requires it for every officer."""
    if not _officer(connection).totp_enabled and await totp_required():
        raise TwoFactorEnrolmentRequired()


def requires_role(*roles: str) -> Guard:
    """A guard admitting an officer holding any of ``roles``."""

    async def has_role(connection: ASGIConnection, _: BaseRouteHandler) -> None:
        if not _officer(connection).has(*roles):
            raise PermissionDenied()

    has_role.__name__ = f"requires_role({', '.join(roles)})"
    return has_role


# What every officer page needs beyond a session; only the account set-up pages skip some.
ACCOUNT_READY: list[Guard] = [password_changed, two_factor_when_required]


def provide_officer(request: Request[CurrentOfficer, Any, Any]) -> CurrentOfficer:
    # ``request`` is a name Litestar injects; ``connection`` would be read as a query parameter.
    return request.user

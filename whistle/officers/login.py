"""Officer login and logout.

A login checks the lockout first, then the password (Argon2id), then the account state and the
TOTP code, and answers with one generic message for every credential failure, so nobody learns
whether a username exists. An unknown username costs one dummy Argon2id verification, like a
wrong password. Success issues a fresh session whose secret is the officer's private key,
unlocked with the password: the session id never exists before login (no fixation).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache

from whistle import audit, sessions
from whistle.audit import actions
from whistle.context import Context
from whistle.crypto import (
    Argon2Params,
    DecryptionError,
    hash_password,
    needs_rehash,
    unprotect_private_key,
    verify_password,
)
from whistle.db import engine as db
from whistle.db.tables import Officer, WebSession
from whistle.errors import NotAuthenticated
from whistle.i18n import N_
from whistle.officers import throttle, totp
from whistle.officers.auth import load_current_officer
from whistle.officers.roles import roles_of
from whistle.officers.service import reprotect_key

UNKNOWN_ACTOR = "unknown"

# Reason codes written to the audit log (never the password or the code typed).
BAD_CREDENTIALS = "bad_credentials"
BAD_TOTP = "bad_totp"
LOCKED = "locked"
DISABLED = "disabled"

GENERIC_FAILURE = N_("Nama pengguna, kata sandi, atau kode verifikasi salah.")
LOCKED_MESSAGE = N_("Terlalu banyak percobaan masuk. Coba lagi nanti.")
DISABLED_MESSAGE = N_("Akun ini dinonaktifkan. Hubungi administrator.")


class LoginRefused(NotAuthenticated):
    """A refused login; ``detail`` is what the person sees, ``reason`` what the audit log keeps."""

    title = N_("Gagal masuk")

    def __init__(self, detail: str, reason: str) -> None:
        super().__init__(detail)
        self.reason = reason


@dataclass(frozen=True)
class LoginResult:
    token: str
    officer_id: int
    username: str
    roles: frozenset[str]
    must_change_password: bool


@cache
def _dummy_hash(params: Argon2Params) -> str:
    return hash_password(secrets.token_urlsafe(24), params)


def _dummy_verify(password: str, params: Argon2Params) -> bool:
    """As costly as checking a real password: unknown usernames take as long as known ones."""
    verify_password(password, _dummy_hash(params))
    return False


def session_lifetime(ctx: Context) -> timedelta:
    return timedelta(hours=ctx.settings.officer_session_hours)


async def _refuse(
    ctx: Context, username: str, actor: str, reason: str, message: str, *, count: bool
) -> LoginRefused:
    async with db.transaction():
        if count:
            await throttle.record_failure(ctx, username)
        await audit.append(actions.LOGIN_FAILED, actor=actor, details={"reason": reason})
    return LoginRefused(message, reason)


async def authenticate(
    ctx: Context, username: str, password: str, code: str | None = None
) -> LoginResult:
    """Check the credentials and open a new officer session; raise LoginRefused otherwise."""
    name = throttle.normalise_username(username)[:64]
    row = await Officer.objects().where(Officer.username == name).first() if name else None
    actor = row.username if row is not None else UNKNOWN_ACTOR
    if await throttle.locked_until(ctx, name):
        raise await _refuse(ctx, name, actor, LOCKED, LOCKED_MESSAGE, count=False)
    if row is None:
        await ctx.kdf.run(_dummy_verify, password, ctx.settings.argon2)
        raise await _refuse(ctx, name, actor, BAD_CREDENTIALS, GENERIC_FAILURE, count=True)
    if not await ctx.kdf.run(verify_password, password, row.password_hash):
        raise await _refuse(ctx, name, actor, BAD_CREDENTIALS, GENERIC_FAILURE, count=True)
    if not row.active:
        raise await _refuse(ctx, name, actor, DISABLED, DISABLED_MESSAGE, count=False)
    try:
        private_key = await ctx.kdf.run(unprotect_private_key, row.private_key_protected, password)
    except DecryptionError:
        raise await _refuse(
            ctx, name, actor, BAD_CREDENTIALS, GENERIC_FAILURE, count=True
        ) from None

    step = None
    if row.totp_secret_sealed is not None:
        try:
            secret = totp.unseal_secret(private_key, row.id, row.totp_secret_sealed)
        except DecryptionError:
            secret = None
        step = totp.matching_step(secret, code, last_step=row.totp_last_step) if secret else None
        if step is None:
            raise await _refuse(ctx, name, actor, BAD_TOTP, GENERIC_FAILURE, count=True)

    # Costs raised since the password was set: store a new hash and key blob (same key).
    upgraded = None
    if needs_rehash(row.password_hash, ctx.settings.argon2):
        upgraded = await ctx.kdf.run(reprotect_key, private_key, password, ctx)

    now = datetime.now(UTC)
    async with db.transaction():
        if step is not None:
            # Conditional, so two logins racing with one code cannot both pass.
            claimed = (
                await Officer.update({Officer.totp_last_step: step})
                .where(
                    (Officer.id == row.id)
                    & (Officer.totp_last_step.is_null() | (Officer.totp_last_step < step))
                )
                .returning(Officer.id)
            )
            replayed = not claimed
        else:
            replayed = False
        if not replayed:
            await throttle.clear(ctx, name)
            changes: dict = {Officer.last_login_at: now}
            if upgraded is not None:
                changes[Officer.password_hash], changes[Officer.private_key_protected] = upgraded
            await Officer.update(changes).where(Officer.id == row.id)
            token = await sessions.create_session(
                sessions.OFFICER,
                private_key,
                officer_id=row.id,
                lifetime=session_lifetime(ctx),
            )
            await audit.append(actions.LOGIN, actor=row.username)
    if replayed:
        raise await _refuse(ctx, name, actor, BAD_TOTP, GENERIC_FAILURE, count=True)
    return LoginResult(
        token=token,
        officer_id=row.id,
        username=row.username,
        roles=frozenset(await roles_of(row.id)),
        must_change_password=row.must_change_password,
    )


async def destroy_officer_sessions(officer_id: int) -> int:
    """End every session of one officer (all devices). Call inside a transaction."""
    deleted = (
        await WebSession.delete()
        .where(WebSession.officer == officer_id)
        .returning(WebSession.lookup)
    )
    return len(deleted)


async def logout(ctx: Context, token: str | None) -> None:
    """End the officer's sessions; an unknown or expired token just ends nothing."""
    officer = await load_current_officer(ctx, token)
    if officer is None:
        await sessions.destroy_session(token, sessions.OFFICER)
        return
    async with db.transaction():
        await destroy_officer_sessions(officer.id)
        await audit.append(actions.LOGOUT, actor=officer.username)

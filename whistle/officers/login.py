"""Officer login and logout, without oracles.

Every attempt first reserves a slot in the throttle (atomically, before any derivation), then
does the same work whatever the outcome: one password-hash check and one private-key unlock
(two Argon2id runs, against a dummy hash and key blob for unknown names), then the TOTP check.
Unknown name, wrong password, right password with a wrong or missing code, disabled account and
locked name all get the same status and message; a locked name, refused before deriving, waits
as long as a check typically takes. The audit log keeps the true reason (never the password or
the code). Success issues a fresh session whose secret is the officer's private key, unlocked
with the password: the session id never exists before login (no fixation).
"""

from __future__ import annotations

import secrets
import statistics
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache

import anyio

from whistle import audit, sessions
from whistle.audit import actions
from whistle.context import Context
from whistle.crypto import (
    Argon2Params,
    DecryptionError,
    generate_keypair,
    hash_password,
    needs_rehash,
    private_key_is_current,
    protect_private_key,
    public_key_from_private,
    unprotect_private_key,
    verify_password,
)
from whistle.db import engine as db
from whistle.db.tables import Officer, WebSession
from whistle.errors import NotAuthenticated
from whistle.i18n import N_
from whistle.officers import recovery_codes, throttle, totp
from whistle.officers.auth import load_current_officer
from whistle.officers.roles import roles_of
from whistle.officers.service import key_binding, reprotect_key
from whistle.reports.envelope import NO_KEY_YET, has_key_pair

UNKNOWN_ACTOR = "unknown"

# Reason codes written to the audit log (never the password or the code typed). The person
# trying to log in is never told which one applies.
BAD_CREDENTIALS = "bad_credentials"
BAD_TOTP = "bad_totp"
LOCKED = "locked"
DISABLED = "disabled"
# The right password, but the private key it unlocks is not the stored public key's half (or
# its blob is bound to another officer or key): the row was altered. Checked only after a
# correct password, so it tells a guesser nothing.
KEY_MISMATCH = "key_mismatch"

GENERIC_FAILURE = N_("Nama pengguna, kata sandi, atau kode verifikasi salah.")


class LoginRefused(NotAuthenticated):
    """A refused login: the same status and ``detail`` for every cause; ``reason`` is what the
    audit log keeps."""

    title = N_("Gagal masuk")

    def __init__(self, reason: str) -> None:
        super().__init__(GENERIC_FAILURE)
        self.reason = reason


@dataclass(frozen=True)
class LoginResult:
    token: str = field(repr=False)
    officer_id: int
    username: str
    roles: frozenset[str]
    must_change_password: bool


@dataclass(frozen=True)
class _Dummy:
    password_hash: str
    private_key_protected: bytes


@cache
def _dummy(params: Argon2Params, pepper: bytes) -> _Dummy:
    """A hash and key blob nobody knows the password of, at the current costs and in the
    newest layout (peppered, bound): unknown names cost exactly what known ones do."""
    password = secrets.token_urlsafe(24)
    private_key, _ = generate_keypair()
    return _Dummy(
        password_hash=hash_password(password, params, pepper=pepper),
        private_key_protected=protect_private_key(
            private_key, password, params, b"officer:dummy", pepper=pepper
        ),
    )


def check_password(
    password: str,
    password_hash: str | None,
    private_key_protected: bytes | None,
    params: Argon2Params,
    pepper: bytes,
    bound_to: bytes = b"",
) -> tuple[bool, bytes | None]:
    """Verify the password against its hash AND unlock the private key with it (with the
    ``pepper``, bound to ``bound_to``), always both (two Argon2id runs whatever the outcome).
    Returns whether the password is right and, if so, the private key (None when the blob does
    not open). A missing hash or key blob is replaced by a dummy one at ``params`` (newest
    layout), at the same cost. An account still waiting for its first own password has no key
    blob (NO_KEY_YET): the dummy is unlocked for the same work, and NO_KEY_YET is the key when
    the password is right.

    Blocking: call through ``ctx.kdf.run``.
    """
    dummy = _dummy(params, pepper)
    password_ok = verify_password(password, password_hash or dummy.password_hash, pepper=pepper)
    try:
        private_key: bytes | None = unprotect_private_key(
            private_key_protected or dummy.private_key_protected,
            password,
            bound_to,
            pepper=pepper,
        )
    except DecryptionError:
        private_key = None
    if password_hash is None or private_key_protected is None or not password_ok:
        return False, None
    if private_key_protected == NO_KEY_YET:
        return True, NO_KEY_YET
    return True, private_key


# Recent durations of a password check in this process: a locked name is answered after the
# median, so the refusal does not stand out by being fast.
_CHECK_SECONDS: deque[float] = deque(maxlen=64)


async def _wait_like_a_check(started: float) -> None:
    if _CHECK_SECONDS:
        await anyio.sleep(
            max(0.0, statistics.median(_CHECK_SECONDS) - (time.monotonic() - started))
        )


def session_lifetime(ctx: Context) -> timedelta:
    return timedelta(hours=ctx.settings.officer_session_hours)


async def _refuse(actor: str, reason: str) -> LoginRefused:
    async with db.transaction():
        await audit.append(actions.LOGIN_FAILED, actor=actor, details={"reason": reason})
    return LoginRefused(reason)


async def authenticate(
    ctx: Context, username: str, password: str, code: str | None = None
) -> LoginResult:
    """Check the credentials and open a new officer session; raise LoginRefused otherwise.

    The attempt is reserved in the throttle before any derivation, and every failure costs the
    same work and gets the same answer (see the module docstring).
    """
    started = time.monotonic()
    name = throttle.normalise_username(username)[:64]
    row = await Officer.objects().where(Officer.username == name).first() if name else None
    actor = row.username if row is not None else UNKNOWN_ACTOR
    if not await throttle.reserve_attempt(ctx, name):
        await _wait_like_a_check(started)
        raise await _refuse(actor, LOCKED)
    password_ok, private_key = await ctx.kdf.run(
        check_password,
        password,
        row.password_hash if row is not None else None,
        row.private_key_protected if row is not None else None,
        ctx.settings.argon2,
        ctx.keyring.officer_pepper,
        key_binding(row.id, row.public_key) if row is not None else b"",
    )
    _CHECK_SECONDS.append(time.monotonic() - started)
    if row is None or not password_ok:
        raise await _refuse(actor, BAD_CREDENTIALS)
    if not row.active:
        raise await _refuse(actor, DISABLED)
    if private_key is None or (
        has_key_pair(row.public_key) and public_key_from_private(private_key) != row.public_key
    ):
        raise await _refuse(actor, KEY_MISMATCH)

    step = None
    used_recovery_code = False
    if row.totp_secret_sealed is not None:
        secret = totp.open_secret(private_key, row.id, row.totp_secret_sealed)
        step = totp.matching_step(secret, code, last_step=row.totp_last_step) if secret else None
        if step is None:
            # A one-time recovery code may stand in for the TOTP code.
            async with db.transaction():
                used_recovery_code = await recovery_codes.claim(ctx, row.id, code)
            if not used_recovery_code:
                raise await _refuse(actor, BAD_TOTP)

    # Costs raised since the password was set, a hash from before the pepper, or a key blob of
    # an older layout (before binding, before the pepper, or both): store a new hash and key
    # blob in the newest layout (same key, peppered and bound to the officer and public key).
    upgraded = None
    stale = needs_rehash(
        row.password_hash, ctx.settings.argon2, pepper=ctx.keyring.officer_pepper
    ) or not private_key_is_current(row.private_key_protected)
    if stale and has_key_pair(row.public_key):
        upgraded = await ctx.kdf.run(
            reprotect_key, private_key, password, ctx, row.id, row.public_key
        )

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
            await audit.append(
                actions.LOGIN,
                actor=row.username,
                details={"second_factor": "recovery_code"} if used_recovery_code else None,
            )
    if replayed:
        raise await _refuse(actor, BAD_TOTP)
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

"""Officer accounts: creation, the key pair every officer holds, password change and TOTP.

Each officer has an X25519 key pair; report keys are sealed to the public half, and the private
half is stored only encrypted under an Argon2id key derived from the officer's password.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from whistle import audit, sessions
from whistle.audit import actions
from whistle.context import Context
from whistle.crypto import (
    DecryptionError,
    generate_keypair,
    hash_password,
    protect_private_key,
    unprotect_private_key,
)
from whistle.db import engine as db
from whistle.db.tables import Officer, WebSession
from whistle.errors import Conflict, NotFound, ValidationFailed
from whistle.i18n import N_
from whistle.officers import policy, recovery_codes, throttle, totp
from whistle.officers.passwords import password_problem
from whistle.officers.roles import parse_roles, replace_roles

USERNAME_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789._-")


@dataclass(frozen=True)
class ProtectedKeys:
    password_hash: str
    public_key: bytes
    private_key_protected: bytes


def protect_new_keys(password: str, ctx: Context) -> ProtectedKeys:
    """Blocking (two Argon2id runs): call through ``ctx.kdf.run``."""
    private_key, public_key = generate_keypair()
    return ProtectedKeys(
        password_hash=hash_password(password, ctx.settings.argon2),
        public_key=public_key,
        private_key_protected=protect_private_key(private_key, password, ctx.settings.argon2),
    )


def validate_username(username: str) -> str:
    username = username.strip().lower()
    if not (3 <= len(username) <= 64) or not set(username) <= USERNAME_CHARS:
        raise ValidationFailed(
            {"username": N_("Nama pengguna 3-64 karakter: huruf kecil, angka, titik, - atau _.")}
        )
    return username


async def add_officer(
    ctx: Context,
    *,
    username: str,
    password: str,
    roles: list[str] | str,
    display_name: str | None = None,
    actor: str = "cli",
    must_change_password: bool = False,
) -> int:
    """Create an officer with a fresh key pair protected by ``password``; returns the id."""
    username = validate_username(username)
    try:
        role_list = parse_roles(roles)
    except ValueError:
        raise ValidationFailed({"roles": N_("Peran tidak dikenal.")}) from None
    if problem := password_problem(password, username):
        raise ValidationFailed({"password": problem})
    display_name = (display_name or username).strip()[:128]
    keys = await ctx.kdf.run(protect_new_keys, password, ctx)
    # The unique index decides, so two administrators adding the same name at once get the
    # same clear answer as one adding a taken name.
    try:
        async with db.transaction():
            rows = await Officer.insert(
                Officer(
                    username=username,
                    display_name=display_name,
                    active=True,
                    password_hash=keys.password_hash,
                    must_change_password=must_change_password,
                    public_key=keys.public_key,
                    private_key_protected=keys.private_key_protected,
                    created_at=datetime.now(UTC),
                )
            )
            officer_id = rows[0]["id"]
            await replace_roles(officer_id, role_list)
            await audit.append(
                actions.OFFICER_ADDED,
                actor=actor,
                details={"officer": username, "roles": role_list},
            )
    except Exception as error:
        if db.is_unique_violation(error):
            raise Conflict(N_("Nama pengguna sudah dipakai.")) from None
        raise
    return officer_id


async def officer_by_username(username: str) -> Officer:
    """The officer row for ``username``; NotFound otherwise."""
    row = await Officer.objects().where(Officer.username == username.strip().lower()).first()
    if row is None:
        raise NotFound(N_("Petugas tidak ditemukan."))
    return row


async def officer_by_id(officer_id: int) -> Officer:
    row = await Officer.objects().where(Officer.id == officer_id).first()
    if row is None:
        raise NotFound(N_("Petugas tidak ditemukan."))
    return row


def reprotect_key(private_key: bytes, password: str, ctx: Context) -> tuple[str, bytes]:
    """Blocking (two Argon2id runs): a new hash and the SAME private key under ``password``."""
    return (
        hash_password(password, ctx.settings.argon2),
        protect_private_key(private_key, password, ctx.settings.argon2),
    )


async def change_password(
    ctx: Context, officer_id: int, *, current: str, new: str, confirm: str
) -> str:
    """Change an officer's own password and return a fresh session token.

    The current password must open the private key; the same key is then protected under the
    new password, so every report wrapped for the officer stays readable. All the officer's
    other sessions end.
    """
    row = await officer_by_id(officer_id)
    errors: dict[str, str] = {}
    if problem := password_problem(new, row.username):
        errors["new_password"] = problem
    elif new == current:
        errors["new_password"] = N_("Kata sandi baru harus berbeda dari yang lama.")
    if new != confirm:
        errors["confirm_password"] = N_("Kedua isian kata sandi baru tidak sama.")
    # The re-check is throttled like a login, reserved before deriving.
    if not await throttle.reserve_attempt(ctx, row.username):
        raise ValidationFailed({**errors, "current_password": throttle.TOO_MANY_ATTEMPTS})
    try:
        private_key = await ctx.kdf.run(unprotect_private_key, row.private_key_protected, current)
    except DecryptionError:
        errors["current_password"] = N_("Kata sandi saat ini salah.")
    else:
        await throttle.clear(ctx, row.username)
    if errors:
        raise ValidationFailed(errors)
    password_hash, protected = await ctx.kdf.run(reprotect_key, private_key, new, ctx)
    async with db.transaction():
        await Officer.update(
            {
                Officer.password_hash: password_hash,
                Officer.private_key_protected: protected,
                Officer.must_change_password: False,
            }
        ).where(Officer.id == row.id)
        await WebSession.delete().where(WebSession.officer == row.id)
        token = await sessions.create_session(
            sessions.OFFICER,
            private_key,
            officer_id=row.id,
            lifetime=timedelta(hours=ctx.settings.officer_session_hours),
        )
        await audit.append(actions.PASSWORD_CHANGED, actor=row.username)
    return token


@dataclass(frozen=True)
class TotpEnrolment:
    """What the enrolment page shows: the pending secret as text and as a QR code."""

    secret_text: str = field(repr=False)
    uri: str = field(repr=False)
    qr_svg: str = field(repr=False)


async def totp_enrolment(
    officer_id: int, private_key: bytes, *, renew: bool = False
) -> TotpEnrolment:
    """The pending TOTP secret (created and stored sealed on first call, or when ``renew``)."""
    async with db.transaction():
        row = await officer_by_id(officer_id)
        if row.totp_secret_sealed is not None:
            raise Conflict(N_("Verifikasi dua langkah sudah aktif."))
        secret = None
        if row.totp_pending_sealed is not None and not renew:
            try:
                secret = totp.unseal_secret(private_key, row.id, row.totp_pending_sealed)
            except DecryptionError:
                secret = None  # sealed to a key pair replaced by a reset: start again
        if secret is None:
            secret = totp.new_secret()
            await Officer.update(
                {Officer.totp_pending_sealed: totp.seal_secret(row.public_key, row.id, secret)}
            ).where(Officer.id == row.id)
    uri = totp.provisioning_uri(secret, row.username)
    return TotpEnrolment(
        secret_text=totp.grouped(totp.base32_secret(secret)), uri=uri, qr_svg=totp.qr_svg(uri)
    )


async def confirm_totp(ctx: Context, officer_id: int, private_key: bytes, code: str) -> list[str]:
    """Activate the pending secret once a code from it verifies; return the one-time recovery
    codes issued with it (shown once, stored only as HMACs)."""
    async with db.transaction():
        row = await officer_by_id(officer_id)
        if row.totp_secret_sealed is not None:
            raise Conflict(N_("Verifikasi dua langkah sudah aktif."))
        secret = None
        if row.totp_pending_sealed is not None:
            try:
                secret = totp.unseal_secret(private_key, row.id, row.totp_pending_sealed)
            except DecryptionError:
                secret = None
        step = totp.matching_step(secret, code, last_step=None) if secret else None
        if step is None:
            raise ValidationFailed(
                {"code": N_("Kode tidak cocok. Periksa jam ponsel Anda dan coba kode terbaru.")}
            )
        await Officer.update(
            {
                Officer.totp_secret_sealed: row.totp_pending_sealed,
                Officer.totp_pending_sealed: None,
                # The code just used for enrolment cannot be used again at login.
                Officer.totp_last_step: step,
            }
        ).where(Officer.id == row.id)
        codes = await recovery_codes.issue(ctx, row.id)
        await audit.append(actions.TOTP_ENABLED, actor=row.username)
    return codes


async def disable_totp(ctx: Context, officer_id: int, password: str, code: str) -> None:
    """Turn two-factor off after re-checking the password (throttled like a login) and a
    current code; refused while it is required."""
    if await policy.totp_required():
        raise Conflict(N_("Verifikasi dua langkah diwajibkan untuk semua petugas."))
    row = await officer_by_id(officer_id)
    if not await throttle.reserve_attempt(ctx, row.username):
        raise ValidationFailed({"password": throttle.TOO_MANY_ATTEMPTS})
    try:
        private_key = await ctx.kdf.run(unprotect_private_key, row.private_key_protected, password)
    except DecryptionError:
        raise ValidationFailed({"password": N_("Kata sandi salah.")}) from None
    await throttle.clear(ctx, row.username)
    secret = None
    if row.totp_secret_sealed is not None:
        try:
            secret = totp.unseal_secret(private_key, row.id, row.totp_secret_sealed)
        except DecryptionError:
            secret = None
    step = totp.matching_step(secret, code, last_step=row.totp_last_step) if secret else None
    if step is None:
        raise ValidationFailed({"code": N_("Kode verifikasi salah.")})
    async with db.transaction():
        await Officer.update(
            {
                Officer.totp_secret_sealed: None,
                Officer.totp_pending_sealed: None,
                Officer.totp_last_step: None,
            }
        ).where(Officer.id == row.id)
        await recovery_codes.forget(row.id)
        await audit.append(actions.TOTP_DISABLED, actor=row.username)

"""Officer accounts: creation, the key pair every officer holds, password change and TOTP.

Each officer has an X25519 key pair; report keys are sealed to the public half, and the private
half is stored only encrypted under an Argon2id key derived from the officer's password.

The key pair is born under the officer's OWN password (threat model 7): an account whose password
an administrator chose (added from the admin page or the CLI, or reset) holds no key pair until
its holder sets their own password, so whoever knew the temporary password, with a backup from
before that change, finds no private key to open. Intake, grants and recovery skip such accounts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial

from whistle import audit, sessions
from whistle.audit import actions
from whistle.context import Context
from whistle.crypto import (
    DecryptionError,
    generate_keypair,
    hash_password,
    protect_private_key,
    public_key_from_private,
    unprotect_private_key,
    verify_password,
)
from whistle.db import engine as db
from whistle.db.tables import Officer, WebSession
from whistle.errors import Conflict, NotFound, ValidationFailed
from whistle.i18n import N_
from whistle.officers import policy, recovery_codes, roster, throttle, totp
from whistle.officers.passwords import password_problem
from whistle.officers.roles import parse_roles, replace_roles
from whistle.reports.envelope import NO_KEY_YET, has_key_pair

USERNAME_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789._-")
EMAIL_MAX = 254
# One address, no display name, no spaces or header characters: what a mail server routes.
_EMAIL = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")


@dataclass(frozen=True)
class ProtectedKeys:
    password_hash: str
    public_key: bytes
    private_key_protected: bytes


def pepper(ctx: Context) -> bytes:
    """The Argon2 pepper of officer passwords and key blobs (a subkey of keys/web_secret):
    every new hash and blob uses it; those from before it are replaced at the next login."""
    return ctx.keyring.officer_pepper


def keyless_account(password: str, ctx: Context) -> ProtectedKeys:
    """Blocking (one Argon2id run): an account with only a password hash and no key pair, for a
    password someone else chose. Call through ``ctx.kdf.run``."""
    return ProtectedKeys(
        password_hash=hash_password(password, ctx.settings.argon2, pepper=pepper(ctx)),
        public_key=NO_KEY_YET,
        private_key_protected=NO_KEY_YET,
    )


def key_binding(officer_id: int, public_key: bytes) -> bytes:
    """What an officer's protected private key is bound to (associated data): their id and
    public key, so the blob opens neither on another officer's row nor beside a swapped key."""
    return f"officer:{int(officer_id)}:".encode() + bytes(public_key)


def new_key_pair(password: str, ctx: Context, officer_id: int) -> tuple[bytes, ProtectedKeys]:
    """Blocking (two Argon2id runs): a fresh key pair under ``password``, bound to the officer,
    returned with its private half (for the session of the officer who just chose it). Call
    through ``ctx.kdf.run``."""
    private_key, public_key = generate_keypair()
    return private_key, ProtectedKeys(
        password_hash=hash_password(password, ctx.settings.argon2, pepper=pepper(ctx)),
        public_key=public_key,
        private_key_protected=protect_private_key(
            private_key,
            password,
            ctx.settings.argon2,
            key_binding(officer_id, public_key),
            pepper=pepper(ctx),
        ),
    )


def open_private_key(
    protected: bytes, password: str, officer_id: int, public_key: bytes, pepper: bytes
) -> bytes | None:
    """Blocking (one Argon2id run): the officer's private key, or None when the password is
    wrong, the blob is bound to another officer or key, or the key it holds is not the one
    whose public half is stored. ``pepper`` (``pepper(ctx)``) opens a peppered blob; a blob of
    an older layout opens as it was written."""
    try:
        private_key = unprotect_private_key(
            protected, password, key_binding(officer_id, public_key), pepper=pepper
        )
    except DecryptionError:
        return None
    return private_key if public_key_from_private(private_key) == bytes(public_key) else None


def validate_username(username: str) -> str:
    username = username.strip().lower()
    if not (3 <= len(username) <= 64) or not set(username) <= USERNAME_CHARS:
        raise ValidationFailed(
            {"username": N_("Nama pengguna 3-64 karakter: huruf kecil, angka, titik, - atau _.")}
        )
    return username


def validate_email(email: str | None) -> str | None:
    """An alert address (lower-cased domain), or None for "no mail"; ValidationFailed otherwise."""
    email = (email or "").strip()
    if not email:
        return None
    local, _, domain = email.rpartition("@")
    if len(email) > EMAIL_MAX or not _EMAIL.fullmatch(email) or ".." in email:
        raise ValidationFailed(
            {"email": N_("Alamat surel tidak valid (contoh: nama@kantor.go.id).")}
        )
    return f"{local}@{domain.lower()}"


async def set_email(officer_id: int, email: str | None, *, actor: str) -> None:
    """Set (or with None/empty, remove) where an officer's alerts go. Audited without the
    address; alerts already queued go to the new address (it is read when sending)."""
    address = validate_email(email)
    async with db.transaction():
        row = await officer_by_id(officer_id)
        if row.email == address:
            return
        await Officer.update({Officer.email: address}).where(Officer.id == officer_id)
        await audit.append(
            actions.OFFICER_EMAIL_CHANGED,
            actor=actor,
            details={"officer": row.username, "mail": address is not None},
        )


async def add_officer(
    ctx: Context,
    *,
    username: str,
    password: str,
    roles: list[str] | str,
    display_name: str | None = None,
    email: str | None = None,
    actor: str = "cli",
    must_change_password: bool = False,
    allow_no_roles: bool = False,
    confirmed_by: str | None = None,
) -> int:
    """Create an officer; returns the id.

    With ``must_change_password`` (a password an administrator chose), the account gets no key
    pair: its holder's first own password creates it. Otherwise ``password`` is the holder's own
    and protects a fresh key pair at once. ``confirmed_by`` names the second person who stood
    for a content role given at creation (audited)."""
    username = validate_username(username)
    address = validate_email(email)
    try:
        # An administrator's new account may start with none: its content roles wait for a
        # second administrator (whistle.officers.admin.add_officer_by_admin).
        role_list = [] if allow_no_roles and not roles else parse_roles(roles)
    except ValueError:
        raise ValidationFailed({"roles": N_("Peran tidak dikenal.")}) from None
    if problem := password_problem(password, username):
        raise ValidationFailed({"password": problem})
    display_name = (display_name or username).strip()[:128]
    keys = await ctx.kdf.run(keyless_account, password, ctx)
    # An officer typing their own password gets a key pair at once, bound to the id the row
    # gets (so protected after the insert, in the same transaction).
    own_key = None if must_change_password else generate_keypair()
    public_key = keys.public_key if own_key is None else own_key[1]
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
                    public_key=public_key,
                    private_key_protected=keys.private_key_protected,
                    created_at=datetime.now(UTC),
                    email=address,
                    # A key pair born now misses the cases that exist (admin page list).
                    case_access_pending=has_key_pair(public_key),
                )
            )
            officer_id = rows[0]["id"]
            if own_key is not None:
                protected = await ctx.kdf.run(
                    partial(protect_private_key, pepper=pepper(ctx)),
                    own_key[0],
                    password,
                    ctx.settings.argon2,
                    key_binding(officer_id, public_key),
                )
                await Officer.update({Officer.private_key_protected: protected}).where(
                    Officer.id == officer_id
                )
            await replace_roles(officer_id, role_list)
            # The one MAC written from scratch: every field is the one just inserted.
            await roster.stamp(
                roster.RosterRow(officer_id, username, tuple(role_list), True, public_key)
            )
            details: dict = {"officer": username, "roles": role_list}
            if confirmed_by is not None:
                details["confirmed_by"] = confirmed_by
            await audit.append(actions.OFFICER_ADDED, actor=actor, details=details)
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


def reprotect_key(
    private_key: bytes, password: str, ctx: Context, officer_id: int, public_key: bytes
) -> tuple[str, bytes]:
    """Blocking (two Argon2id runs): a new (peppered) hash and the SAME private key under
    ``password`` and the pepper, bound to the officer and their public key (the newest blob
    layout)."""
    return (
        hash_password(password, ctx.settings.argon2, pepper=pepper(ctx)),
        protect_private_key(
            private_key,
            password,
            ctx.settings.argon2,
            key_binding(officer_id, public_key),
            pepper=pepper(ctx),
        ),
    )


def _open_with_current(row: Officer, current: str, key: bytes) -> bytes | None:
    """Blocking: the private key opened with ``current`` and the pepper ``key`` (NO_KEY_YET for
    an account without a key pair whose hash matches), or None if ``current`` is wrong."""
    if not has_key_pair(row.public_key):
        return NO_KEY_YET if verify_password(current, row.password_hash, pepper=key) else None
    return open_private_key(row.private_key_protected, current, row.id, row.public_key, key)


async def change_password(
    ctx: Context, officer_id: int, *, current: str, new: str, confirm: str
) -> str:
    """Change an officer's own password and return a fresh session token.

    The current password must open the private key; the same key is then protected under the
    new password, so every report wrapped for the officer stays readable. An account without a
    key pair (its password was chosen by an administrator) gets its key pair now, born under
    this first own password (audited as such). All the officer's other sessions end.
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
    private_key = await ctx.kdf.run(_open_with_current, row, current, pepper(ctx))
    if private_key is None:
        errors["current_password"] = N_("Kata sandi saat ini salah.")
    else:
        await throttle.clear(ctx, row.username)
    if errors or private_key is None:
        raise ValidationFailed(errors)
    unlocked: bytes = private_key
    keys_born = not has_key_pair(row.public_key)
    changes: dict = {Officer.must_change_password: False}
    if keys_born:
        unlocked, keys = await ctx.kdf.run(new_key_pair, new, ctx, row.id)
        changes[Officer.password_hash] = keys.password_hash
        changes[Officer.public_key] = keys.public_key
        changes[Officer.private_key_protected] = keys.private_key_protected
        changes[Officer.case_access_pending] = True
    else:
        password_hash, protected = await ctx.kdf.run(
            reprotect_key, unlocked, new, ctx, row.id, row.public_key
        )
        changes[Officer.password_hash] = password_hash
        changes[Officer.private_key_protected] = protected
    async with db.transaction():
        if keys_born:
            await roster.restamp(row.id, public_key=changes[Officer.public_key])
        # Conditional on the key columns read above: two first changes racing cannot both
        # install a key pair.
        updated = (
            await Officer.update(changes)
            .where((Officer.id == row.id) & (Officer.public_key == row.public_key))
            .returning(Officer.id)
        )
        if not updated:
            raise Conflict(N_("Akun ini baru saja diubah. Silakan masuk lagi."))
        await WebSession.delete().where(WebSession.officer == row.id)
        token = await sessions.create_session(
            sessions.OFFICER,
            unlocked,
            officer_id=row.id,
            lifetime=timedelta(hours=ctx.settings.officer_session_hours),
        )
        if keys_born:
            await audit.append(actions.OFFICER_KEYS_CREATED, actor=row.username)
        else:
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
        # None as well when sealed to a key pair replaced by a reset: start again.
        secret = None if renew else totp.open_secret(private_key, row.id, row.totp_pending_sealed)
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
        secret = totp.open_secret(private_key, row.id, row.totp_pending_sealed)
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


async def _recheck_password_and_code(ctx: Context, row: Officer, password: str, code: str) -> int:
    """The password (throttled like a login, reserved before deriving) and a current TOTP code
    (not a recovery code) re-checked before a change to two-factor; returns the code's step."""
    if not await throttle.reserve_attempt(ctx, row.username):
        raise ValidationFailed({"password": throttle.TOO_MANY_ATTEMPTS})
    private_key = await ctx.kdf.run(
        open_private_key, row.private_key_protected, password, row.id, row.public_key, pepper(ctx)
    )
    if private_key is None:
        raise ValidationFailed({"password": N_("Kata sandi salah.")})
    await throttle.clear(ctx, row.username)
    secret = totp.open_secret(private_key, row.id, row.totp_secret_sealed)
    step = totp.matching_step(secret, code, last_step=row.totp_last_step) if secret else None
    if step is None:
        raise ValidationFailed({"code": N_("Kode verifikasi salah.")})
    return step


async def regenerate_recovery_codes(
    ctx: Context, officer_id: int, password: str, code: str
) -> list[str]:
    """New one-time recovery codes after re-checking the password and a current TOTP code; the
    old ones stop working in the same transaction. Returns the new codes, to be shown once."""
    row = await officer_by_id(officer_id)
    if row.totp_secret_sealed is None:
        raise Conflict(N_("Verifikasi dua langkah belum aktif."))
    step = await _recheck_password_and_code(ctx, row, password, code)
    async with db.transaction():
        # The code just used cannot be used again, here or at login.
        used = (
            await Officer.update({Officer.totp_last_step: step})
            .where(
                (Officer.id == row.id)
                & (Officer.totp_last_step.is_null() | (Officer.totp_last_step < step))
            )
            .returning(Officer.id)
        )
        if not used:
            raise ValidationFailed({"code": N_("Kode verifikasi salah.")})
        codes = await recovery_codes.issue(ctx, row.id)
        await audit.append(actions.RECOVERY_CODES_REGENERATED, actor=row.username)
    return codes


async def disable_totp(ctx: Context, officer_id: int, password: str, code: str) -> None:
    """Turn two-factor off after re-checking the password (throttled like a login) and a
    current code; refused while it is required."""
    if await policy.totp_required():
        raise Conflict(N_("Verifikasi dua langkah diwajibkan untuk semua petugas."))
    row = await officer_by_id(officer_id)
    await _recheck_password_and_code(ctx, row, password, code)
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

"""Officer accounts: creation and the key pair every officer holds.

Each officer has an X25519 key pair; report keys are sealed to the public half, and the private
half is stored only encrypted under an Argon2id key derived from the officer's password.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from whistle import audit
from whistle.audit import actions
from whistle.context import Context
from whistle.crypto import generate_keypair, hash_password, protect_private_key
from whistle.db import engine as db
from whistle.db.tables import Officer
from whistle.errors import Conflict, ValidationFailed
from whistle.i18n import N_
from whistle.officers.passwords import password_problem
from whistle.officers.roles import parse_roles

USERNAME_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789._-")


@dataclass(frozen=True)
class ProtectedKeys:
    password_hash: str
    public_key: bytes
    private_key_protected: bytes


def _protect_new_keys(password: str, ctx: Context) -> ProtectedKeys:
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
    keys = await ctx.kdf.run(_protect_new_keys, password, ctx)
    async with db.transaction():
        if await Officer.exists().where(Officer.username == username):
            raise Conflict(N_("Nama pengguna sudah dipakai."))
        rows = await Officer.insert(
            Officer(
                username=username,
                display_name=display_name,
                roles=",".join(role_list),
                active=True,
                password_hash=keys.password_hash,
                must_change_password=must_change_password,
                public_key=keys.public_key,
                private_key_protected=keys.private_key_protected,
                failed_logins=0,
                created_at=datetime.now(UTC),
            )
        )
        officer_id = rows[0]["id"]
        await audit.append(
            actions.OFFICER_ADDED,
            actor=actor,
            details={"officer": username, "roles": role_list},
        )
    return officer_id

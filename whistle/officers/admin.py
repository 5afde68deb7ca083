"""Officer administration: list, disable, enable, reset a password, change roles.

Shared by the admin pages and the `whistle officer ...` commands. ``actor`` is the
administrator's username (or "cli"); audit details name the target and roles, never a password.
Access follows the key wraps (DESIGN.md): whoever loses the right to read cases loses their wraps.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from whistle import audit
from whistle.audit import actions
from whistle.context import Context
from whistle.db import engine as db
from whistle.db.tables import CaseAssignment, Officer, WebSession
from whistle.errors import Conflict, ValidationFailed
from whistle.i18n import N_
from whistle.officers import throttle
from whistle.officers.passwords import password_problem
from whistle.officers.roles import (
    ADMIN,
    INVESTIGATOR,
    TRIAGE,
    officers_with_role,
    parse_roles,
    replace_roles,
    roles_by_officer,
    roles_of,
)
from whistle.officers.service import officer_by_id, protect_new_keys
from whistle.reports import envelope

# PostgreSQL: changes that could remove the last administrator are serialised by this lock
# (SQLite's IMMEDIATE transactions already serialise writers).
_ADMIN_CHANGE_LOCK = 0x5748_4F46_4649  # "WHOFFI"


@dataclass(frozen=True)
class OfficerSummary:
    id: int
    username: str
    display_name: str
    roles: list[str]
    active: bool
    totp_enabled: bool
    must_change_password: bool
    last_login_at: datetime | None
    locked: bool


async def list_officers(ctx: Context) -> list[OfficerSummary]:
    """Every officer, by username, with what an administrator needs to see (no secrets)."""
    rows = await Officer.select(
        Officer.id,
        Officer.username,
        Officer.display_name,
        Officer.active,
        Officer.totp_secret_sealed,
        Officer.must_change_password,
        Officer.last_login_at,
    ).order_by(Officer.username)
    roles = await roles_by_officer()
    result = []
    for row in rows:
        locked = await throttle.locked_until(ctx, row["username"]) is not None
        result.append(
            OfficerSummary(
                id=row["id"],
                username=row["username"],
                display_name=row["display_name"],
                roles=roles.get(row["id"], []),
                active=bool(row["active"]),
                totp_enabled=row["totp_secret_sealed"] is not None,
                must_change_password=bool(row["must_change_password"]),
                last_login_at=row["last_login_at"],
                locked=locked,
            )
        )
    return result


async def _lock_admin_changes() -> None:
    if not db.is_sqlite():
        await db.fetch("SELECT pg_advisory_xact_lock({})", _ADMIN_CHANGE_LOCK)


async def _other_active_admins(officer_id: int) -> int:
    return sum(1 for admin in await officers_with_role(ADMIN) if admin.id != officer_id)


async def disable_officer(ctx: Context, officer_id: int, *, actor: str) -> None:
    """Disable an account: sessions end, and every report wrap and assignment goes."""
    async with db.transaction():
        await _lock_admin_changes()
        row = await officer_by_id(officer_id)
        if not row.active:
            return
        roles = await roles_of(row.id)
        if ADMIN in roles and not await _other_active_admins(row.id):
            raise Conflict(N_("Administrator aktif terakhir tidak dapat dinonaktifkan."))
        await Officer.update({Officer.active: False}).where(Officer.id == row.id)
        wraps = await envelope.revoke_all(row.id)
        assignments = (
            await CaseAssignment.delete()
            .where(CaseAssignment.officer == row.id)
            .returning(CaseAssignment.id)
        )
        await WebSession.delete().where(WebSession.officer == row.id)
        await audit.append(
            actions.OFFICER_DISABLED,
            actor=actor,
            details={
                "officer": row.username,
                "roles": roles,
                "wraps_removed": wraps,
                "assignments_removed": len(assignments),
            },
        )


async def enable_officer(ctx: Context, officer_id: int, *, actor: str) -> None:
    """Re-enable an account. Its access to cases must be granted again (no wraps come back)."""
    async with db.transaction():
        row = await officer_by_id(officer_id)
        if row.active:
            return
        await Officer.update({Officer.active: True}).where(Officer.id == row.id)
        await throttle.clear(ctx, row.username)
        await audit.append(
            actions.OFFICER_ENABLED,
            actor=actor,
            details={"officer": row.username, "roles": await roles_of(row.id)},
        )


async def reset_password(ctx: Context, officer_id: int, password: str, *, actor: str) -> None:
    """Set a password chosen by an administrator.

    The old private key is unreadable without the old password, so the officer gets a new key
    pair: their wraps are deleted (access must be granted again), two-factor is cleared, their
    sessions end, and they must choose their own password at the next login.
    """
    row = await officer_by_id(officer_id)
    if problem := password_problem(password, row.username):
        raise ValidationFailed({"password": problem})
    keys = await ctx.kdf.run(protect_new_keys, password, ctx)
    async with db.transaction():
        await Officer.update(
            {
                Officer.password_hash: keys.password_hash,
                Officer.public_key: keys.public_key,
                Officer.private_key_protected: keys.private_key_protected,
                Officer.must_change_password: True,
                Officer.totp_secret_sealed: None,
                Officer.totp_pending_sealed: None,
                Officer.totp_last_step: None,
            }
        ).where(Officer.id == row.id)
        wraps = await envelope.revoke_all(row.id)
        await WebSession.delete().where(WebSession.officer == row.id)
        await throttle.clear(ctx, row.username)
        await audit.append(
            actions.OFFICER_PASSWORD_RESET,
            actor=actor,
            details={
                "officer": row.username,
                "roles": await roles_of(row.id),
                "wraps_removed": wraps,
            },
        )


async def set_roles(ctx: Context, officer_id: int, roles: list[str] | str, *, actor: str) -> None:
    """Replace an officer's roles; the last active administrator keeps the admin role.

    Wraps follow the roles: triage holds every case it was given, an investigator only the cases
    assigned to them, any other role none.
    """
    try:
        new_roles = parse_roles(roles)
    except ValueError:
        raise ValidationFailed(
            {"roles": N_("Pilih paling sedikit satu peran yang dikenal.")}
        ) from None
    async with db.transaction():
        await _lock_admin_changes()
        row = await officer_by_id(officer_id)
        old_roles = await roles_of(row.id)
        if old_roles == new_roles:
            return
        if (
            row.active
            and ADMIN in old_roles
            and ADMIN not in new_roles
            and not await _other_active_admins(row.id)
        ):
            raise Conflict(N_("Peran administrator aktif terakhir tidak dapat dicabut."))
        await replace_roles(row.id, new_roles)
        wraps = 0
        if TRIAGE not in new_roles:
            assigned: set = set()
            if INVESTIGATOR in new_roles:
                rows = await CaseAssignment.select(CaseAssignment.report).where(
                    CaseAssignment.officer == row.id
                )
                assigned = {item["report"] for item in rows}
            else:
                await CaseAssignment.delete().where(CaseAssignment.officer == row.id)
            wraps = await envelope.revoke_all(row.id, keep_reports=assigned)
        await audit.append(
            actions.OFFICER_ROLES_CHANGED,
            actor=actor,
            details={
                "officer": row.username,
                "roles": new_roles,
                "previous_roles": old_roles,
                "wraps_removed": wraps,
            },
        )

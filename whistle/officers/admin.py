"""Officer administration: list, disable, enable, reset a password, change roles.

Shared by the admin pages and the `whistle officer ...` commands. ``actor`` is the
administrator's username (or "cli"); audit details name the target and roles, never a password.
Access follows the key wraps (DESIGN.md): whoever loses the right to read cases loses their wraps.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from whistle import audit
from whistle.audit import actions
from whistle.context import Context
from whistle.db import engine as db
from whistle.db.tables import CaseAssignment, Officer, RoleGrantRequest, WebSession
from whistle.errors import Conflict, NotFound, ValidationFailed
from whistle.i18n import N_
from whistle.officers import recovery, roster, throttle
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
from whistle.officers.service import add_officer, has_key_pair, keyless_account, officer_by_id
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
    # False while the account waits for its holder's first own password (no key pair yet).
    has_keys: bool
    # False when the row's roster MAC is missing or broken (whistle.officers.roster): the
    # officer receives no report key until `whistle keys reseal-roster`.
    trusted: bool = True
    # Where alerts go; None: this officer gets no mail.
    email: str | None = None


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
        Officer.public_key,
        Officer.email,
    ).order_by(Officer.username)
    roles = await roles_by_officer()
    trusted = {stored.row.id for stored in await roster.stored_rows() if stored.trusted}
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
                has_keys=has_key_pair(row["public_key"]),
                trusted=row["id"] in trusted,
                email=row["email"],
            )
        )
    return result


@dataclass(frozen=True)
class WhatIsLost:
    """What a reset or a disable takes from an officer, for the page that asks first."""

    case_keys: int
    assignments: int
    has_keys: bool
    totp_enabled: bool


async def what_is_lost(officer_id: int) -> WhatIsLost:
    """Counts only: which cases are held is not shown to the administrator."""
    row = await officer_by_id(officer_id)
    return WhatIsLost(
        case_keys=len(await envelope.reports_held_by(row.id)),
        assignments=await CaseAssignment.count().where(CaseAssignment.officer == row.id),
        has_keys=has_key_pair(row.public_key),
        totp_enabled=row.totp_secret_sealed is not None,
    )


@dataclass(frozen=True)
class AwaitingAccess:
    """An officer who holds none of the cases from before their key pair or content role."""

    username: str
    display_name: str
    roles: list[str]


async def officers_awaiting_case_access() -> list[AwaitingAccess]:
    """Active officers with a key pair and a content role, flagged when that key pair was born
    or the role given, while open cases exist that they do not hold (``recovery.missing_cases``).
    What to do is on the admin page: a colleague grants each case, or ``whistle keys recover``."""
    rows = (
        await Officer.objects()
        .where(Officer.case_access_pending.eq(True) & Officer.active.eq(True))
        .order_by(Officer.username)
    )
    roles = await roles_by_officer()
    waiting = []
    for row in rows:
        held_roles = set(roles.get(row.id, []))
        if not has_key_pair(row.public_key) or not CONTENT_ROLES & held_roles:
            continue
        if await recovery.missing_cases(row, held_roles, with_content=False):
            waiting.append(AwaitingAccess(row.username, row.display_name, sorted(held_roles)))
    return waiting


async def _lock_admin_changes() -> None:
    if not db.is_sqlite():
        await db.fetch("SELECT pg_advisory_xact_lock({})", _ADMIN_CHANGE_LOCK)


async def _other_active_admins(officer_id: int) -> int:
    admins = await officers_with_role(ADMIN, key_holders_only=False)
    return sum(1 for admin in admins if admin.id != officer_id)


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
        await roster.restamp(row.id, active=False)
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
        await roster.restamp(row.id, active=True)
        await Officer.update({Officer.active: True}).where(Officer.id == row.id)
        await throttle.clear(ctx, row.username)
        await audit.append(
            actions.OFFICER_ENABLED,
            actor=actor,
            details={"officer": row.username, "roles": await roles_of(row.id)},
        )


async def reset_password(ctx: Context, officer_id: int, password: str, *, actor: str) -> None:
    """Set a password chosen by an administrator.

    The old private key is unreadable without the old password, and a key pair must never be
    born under a password someone else knows: the officer is left WITHOUT a key pair until they
    choose their own password at the next login. Their wraps are deleted (access must be granted
    again), two-factor (sealed to the old key) is cleared and their sessions end.
    """
    row = await officer_by_id(officer_id)
    if problem := password_problem(password, row.username):
        raise ValidationFailed({"password": problem})
    keys = await ctx.kdf.run(keyless_account, password, ctx)
    async with db.transaction():
        await roster.restamp(row.id, public_key=keys.public_key)
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


# Roles that open report content: granting one needs a second person (threat model 7).
CONTENT_ROLES = frozenset({TRIAGE, INVESTIGATOR})

# Who stood second for a content role given through the CLI (audit detail "confirmed_by").
OFFICE_PASSPHRASE_WITNESS = "office_passphrase"  # noqa: S105 - a label, not a secret


SECOND_PERSON_NEEDED = N_(
    "Peran yang membuka isi laporan memerlukan orang kedua: konfirmasi administrator lain di "
    "halaman admin, atau frasa sandi pemulihan kantor (--passphrase-file)."
)


class RoleChange(StrEnum):
    APPLIED = "applied"
    PENDING = "pending"  # waiting for a second administrator


@dataclass(frozen=True)
class PendingGrant:
    """A content role asked for an officer, as the admin pages show it."""

    id: int
    officer_id: int
    username: str
    roles: list[str]
    previous_roles: list[str]
    requested_by: str
    requested_at: datetime


def _joined(roles: list[str]) -> str:
    return ",".join(roles)


async def set_roles(
    ctx: Context,
    officer_id: int,
    roles: list[str] | str,
    *,
    actor: str,
    office_passphrase: str | None = None,
    may_wait: bool = True,
) -> RoleChange:
    """Change an officer's roles, or ask for it when a second person is needed.

    Nobody changes their own roles, and the last active administrator keeps the admin role. A
    change that gives a content role (triage, investigator) the officer lacks is only stored as
    a pending grant for another administrator to confirm (``confirm_role_grant``), unless
    ``office_passphrase`` opens the office recovery key (the CLI's second person); without
    ``may_wait`` (the CLI, which has no administrator to wait for) such a change is refused.
    Other changes apply at once.
    """
    try:
        new_roles = parse_roles(roles)
    except ValueError:
        raise ValidationFailed(
            {"roles": N_("Pilih paling sedikit satu peran yang dikenal.")}
        ) from None
    if office_passphrase is not None:
        # WrongPassphrase if it does not open the key: nothing is changed.
        await ctx.kdf.run(ctx.keyring.unlock_office_private_key, office_passphrase)
    async with db.transaction():
        await _lock_admin_changes()
        row = await officer_by_id(officer_id)
        old_roles = await roles_of(row.id)
        if old_roles == new_roles:
            return RoleChange.APPLIED
        _refuse_last_admin(row, old_roles, new_roles, await _other_active_admins(row.id))
        if actor == row.username:
            raise Conflict(N_("Anda tidak dapat mengubah peran Anda sendiri."))
        if CONTENT_ROLES & (set(new_roles) - set(old_roles)) and office_passphrase is None:
            if not may_wait:
                raise Conflict(SECOND_PERSON_NEEDED)
            await RoleGrantRequest.delete().where(RoleGrantRequest.officer == row.id)
            await RoleGrantRequest.insert(
                RoleGrantRequest(
                    officer=row.id,
                    roles=_joined(new_roles),
                    previous_roles=_joined(old_roles),
                    requested_by=actor,
                    requested_at=datetime.now(UTC),
                )
            )
            await audit.append(
                actions.ROLE_GRANT_REQUESTED,
                actor=actor,
                details={"officer": row.username, "roles": new_roles, "previous_roles": old_roles},
            )
            return RoleChange.PENDING
        await _apply_roles(
            row,
            old_roles,
            new_roles,
            actor=actor,
            requested_by=actor,
            confirmed_by=OFFICE_PASSPHRASE_WITNESS,
        )
    return RoleChange.APPLIED


async def add_officer_by_admin(
    ctx: Context,
    *,
    username: str,
    password: str,
    roles: list[str],
    display_name: str | None,
    actor: str,
    email: str | None = None,
) -> RoleChange:
    """An administrator adds an account with a temporary password (no key pair until its
    holder's own password). Its content roles are not given at once: they wait as a pending
    grant for a second administrator, like any other content-role grant. Returns PENDING when
    such a grant was asked."""
    try:
        requested = parse_roles(roles)
    except ValueError:
        raise ValidationFailed({"roles": N_("Peran tidak dikenal.")}) from None
    at_once = [role for role in requested if role not in CONTENT_ROLES]
    officer_id = await add_officer(
        ctx,
        username=username,
        password=password,
        roles=at_once,
        display_name=display_name,
        email=email,
        actor=actor,
        must_change_password=True,
        allow_no_roles=True,
    )
    if at_once == requested:
        return RoleChange.APPLIED
    return await set_roles(ctx, officer_id, requested, actor=actor)


async def add_officer_from_cli(
    ctx: Context,
    *,
    username: str,
    password: str,
    roles: list[str],
    display_name: str | None,
    must_change_password: bool,
    office_passphrase: str | None,
    email: str | None = None,
) -> int:
    """The command line adds an account. A content role (triage, investigator) given at once
    needs the office recovery passphrase as the second person, as ``set_roles`` does: without
    it the account is not created."""
    try:
        requested = parse_roles(roles)
    except ValueError:
        raise ValidationFailed({"roles": N_("Peran tidak dikenal.")}) from None
    witness = None
    if CONTENT_ROLES & set(requested):
        if office_passphrase is None:
            raise Conflict(SECOND_PERSON_NEEDED)
        # WrongPassphrase if it does not open the key: nothing is created.
        await ctx.kdf.run(ctx.keyring.unlock_office_private_key, office_passphrase)
        witness = OFFICE_PASSPHRASE_WITNESS
    return await add_officer(
        ctx,
        username=username,
        password=password,
        roles=requested,
        display_name=display_name,
        email=email,
        actor="cli",
        must_change_password=must_change_password,
        confirmed_by=witness,
    )


def _refuse_last_admin(row: Officer, old: list[str], new: list[str], other_admins: int) -> None:
    if row.active and ADMIN in old and ADMIN not in new and not other_admins:
        raise Conflict(N_("Peran administrator aktif terakhir tidak dapat dicabut."))


async def _apply_roles(
    row: Officer,
    old_roles: list[str],
    new_roles: list[str],
    *,
    actor: str,
    requested_by: str,
    confirmed_by: str,
) -> None:
    """Store the new roles and audit them (inside the caller's transaction).

    Wraps follow the roles: triage holds every case it was given, an investigator only the cases
    assigned to them, any other role none. A change that adds a content role is audited as a
    role grant (its own action, so it stands out), naming both persons.
    """
    await roster.restamp(row.id, roles=new_roles)
    await replace_roles(row.id, new_roles)
    await RoleGrantRequest.delete().where(RoleGrantRequest.officer == row.id)
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
    details: dict = {
        "officer": row.username,
        "roles": new_roles,
        "previous_roles": old_roles,
        "wraps_removed": wraps,
    }
    if CONTENT_ROLES & (set(new_roles) - set(old_roles)):
        # Cases that exist were not sealed to them for this role (admin page list).
        await Officer.update({Officer.case_access_pending: True}).where(Officer.id == row.id)
        details |= {"requested_by": requested_by, "confirmed_by": confirmed_by}
        await audit.append(actions.CONTENT_ROLE_GRANTED, actor=actor, details=details)
    else:
        await audit.append(actions.OFFICER_ROLES_CHANGED, actor=actor, details=details)


async def pending_grants(officer_id: int | None = None) -> list[PendingGrant]:
    """Content-role grants waiting for a second administrator (one officer's, or all)."""
    query = RoleGrantRequest.select(
        RoleGrantRequest.id,
        RoleGrantRequest.officer,
        RoleGrantRequest.officer.username.as_alias("username"),
        RoleGrantRequest.roles,
        RoleGrantRequest.previous_roles,
        RoleGrantRequest.requested_by,
        RoleGrantRequest.requested_at,
    ).order_by(RoleGrantRequest.requested_at)
    if officer_id is not None:
        query = query.where(RoleGrantRequest.officer == officer_id)
    return [
        PendingGrant(
            id=row["id"],
            officer_id=row["officer"],
            username=row["username"],
            roles=parse_roles(row["roles"]),
            previous_roles=[role for role in row["previous_roles"].split(",") if role],
            requested_by=row["requested_by"],
            requested_at=row["requested_at"],
        )
        for row in await query
    ]


async def _pending(request_id: int) -> RoleGrantRequest:
    request = await RoleGrantRequest.objects().where(RoleGrantRequest.id == request_id).first()
    if request is None:
        raise NotFound(N_("Permintaan peran tidak ditemukan atau sudah diputuskan."))
    return request


async def confirm_role_grant(ctx: Context, request_id: int, *, actor: str) -> None:
    """A second administrator confirms a pending content-role grant.

    Refused for the administrator who asked for it and for the officer it is for; refused (and
    left pending) if the officer's roles changed since it was asked."""
    async with db.transaction():
        await _lock_admin_changes()
        request = await _pending(request_id)
        row = await officer_by_id(request.officer)
        if actor in (request.requested_by, row.username):
            raise Conflict(N_("Permintaan peran harus dikonfirmasi oleh administrator lain."))
        old_roles = await roles_of(row.id)
        if _joined(old_roles) != request.previous_roles:
            raise Conflict(N_("Peran petugas ini sudah berubah sejak permintaan dibuat."))
        new_roles = parse_roles(request.roles)
        _refuse_last_admin(row, old_roles, new_roles, await _other_active_admins(row.id))
        await _apply_roles(
            row,
            old_roles,
            new_roles,
            actor=actor,
            requested_by=request.requested_by,
            confirmed_by=actor,
        )


async def reject_role_grant(ctx: Context, request_id: int, *, actor: str) -> None:
    """An administrator (the requester too, withdrawing it) rejects a pending grant."""
    async with db.transaction():
        request = await _pending(request_id)
        row = await officer_by_id(request.officer)
        await RoleGrantRequest.delete().where(RoleGrantRequest.id == request.id)
        await audit.append(
            actions.ROLE_GRANT_REJECTED,
            actor=actor,
            details={
                "officer": row.username,
                "roles": parse_roles(request.roles),
                "requested_by": request.requested_by,
            },
        )

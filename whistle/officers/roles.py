"""Officer roles (DESIGN.md, Who uses it), stored one row per role in officer_role."""

from __future__ import annotations

from dataclasses import dataclass

from whistle.db.tables import Officer, OfficerRole
from whistle.i18n import N_
from whistle.officers.roster import trusted_ids
from whistle.reports.envelope import NO_KEY_YET

ADMIN = "admin"
TRIAGE = "triage"
INVESTIGATOR = "investigator"
AUDITOR = "auditor"

ROLE_LABELS = {
    ADMIN: N_("Administrator"),
    TRIAGE: N_("Tim WBS (triase)"),
    INVESTIGATOR: N_("Investigator"),
    AUDITOR: N_("Auditor (Inspektorat)"),
}
ALL_ROLES = frozenset(ROLE_LABELS)


def parse_roles(text: str | list[str] | tuple[str, ...] | set[str]) -> list[str]:
    """Sorted, de-duplicated role names; ValueError names any unknown one."""
    items = text.split(",") if isinstance(text, str) else list(text)
    roles = sorted({item.strip() for item in items if item.strip()})
    unknown = [role for role in roles if role not in ALL_ROLES]
    if unknown or not roles:
        raise ValueError(f"unknown or missing role(s): {', '.join(unknown) or '(none)'}")
    return roles


@dataclass(frozen=True)
class RoleHolder:
    """An active officer found by role, with the public key report keys are sealed to."""

    id: int
    username: str
    display_name: str
    public_key: bytes


async def officers_with_role(*roles: str, key_holders_only: bool = True) -> list[RoleHolder]:
    """Active officers holding any of ``roles``, by display name: the one place that lists
    officers by role (the filter runs in SQL on officer_role).

    By default only officers a report key can be sealed to: with a key pair (an account still
    waiting for its holder's first own password has none) and an authentic roster row
    (whistle.officers.roster: a row forged or altered in the database is left out).
    ``key_holders_only`` False lists every active one, e.g. to count administrators."""
    query = Officer.select(
        Officer.id, Officer.username, Officer.display_name, Officer.public_key
    ).where(
        (Officer.active == True)  # noqa: E712 - piccolo builds SQL from the comparison
        & Officer.id.is_in(
            OfficerRole.select(OfficerRole.officer).where(OfficerRole.role.is_in(list(roles)))
        )
    )
    if key_holders_only:
        query = query.where(Officer.public_key != NO_KEY_YET)
    rows = await query.order_by(Officer.display_name).order_by(Officer.id)
    if key_holders_only:
        trusted = await trusted_ids([row["id"] for row in rows])
        rows = [row for row in rows if row["id"] in trusted]
    return [
        RoleHolder(row["id"], row["username"], row["display_name"], row["public_key"])
        for row in rows
    ]


async def roles_of(officer_id: int) -> list[str]:
    """The officer's roles, sorted (empty for an unknown officer)."""
    rows = await OfficerRole.select(OfficerRole.role).where(OfficerRole.officer == officer_id)
    return sorted(row["role"] for row in rows)


async def roles_by_officer() -> dict[int, list[str]]:
    """Every officer's sorted roles, by officer id (for the administrator's list)."""
    result: dict[int, list[str]] = {}
    for row in await OfficerRole.select(OfficerRole.officer, OfficerRole.role):
        result.setdefault(row["officer"], []).append(row["role"])
    return {officer: sorted(roles) for officer, roles in result.items()}


async def replace_roles(officer_id: int, roles: list[str]) -> None:
    """Store exactly ``roles`` (already parsed) for the officer; run inside a transaction."""
    await OfficerRole.delete().where(OfficerRole.officer == officer_id)
    if roles:
        await OfficerRole.insert(*(OfficerRole(officer=officer_id, role=role) for role in roles))

"""Officer roles (DESIGN.md, Who uses it), stored one row per role in officer_role."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from whistle.db import engine as db
from whistle.db.tables import OfficerRole
from whistle.i18n import N_
from whistle.officers.roster import RosterRow, is_authentic
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
    # Every role the officer holds, sorted (not only the ones asked for).
    roles: tuple[str, ...] = ()


# The whole roster in one statement (officers with each of their roles), so a page that lists
# officers by role pays one round trip, and the rows and roles come from the same moment.
_ROSTER_SQL = (
    "SELECT o.id, o.username, o.display_name, o.active, o.public_key, o.roster_mac, r.role"
    " FROM officer o LEFT JOIN officer_role r ON r.officer = o.id"
    " ORDER BY o.display_name, o.id"
)


async def officers_with_role(*roles: str, key_holders_only: bool = True) -> list[RoleHolder]:
    """Active officers holding any of ``roles``, by display name: the one place that lists
    officers by role (read fresh on every call, one query).

    By default only officers a report key can be sealed to: with a key pair (an account still
    waiting for its holder's first own password has none) and an authentic roster row
    (whistle.officers.roster: a row forged or altered in the database is left out).
    ``key_holders_only`` False lists every active one, e.g. to count administrators."""
    rows: dict[int, dict[str, Any]] = {}
    held: dict[int, list[str]] = {}
    for row in await db.fetch(_ROSTER_SQL):
        rows.setdefault(row["id"], row)
        if row["role"] is not None:
            held.setdefault(row["id"], []).append(row["role"])
    wanted = set(roles)
    found = []
    for officer_id, row in rows.items():  # in the query's order
        officer_roles = tuple(sorted(held.get(officer_id, [])))
        if not row["active"] or wanted.isdisjoint(officer_roles):
            continue
        public_key = bytes(row["public_key"])
        if key_holders_only and (
            public_key == NO_KEY_YET
            or not is_authentic(
                RosterRow(officer_id, row["username"], officer_roles, True, public_key),
                row["roster_mac"],
            )
        ):
            continue
        found.append(
            RoleHolder(officer_id, row["username"], row["display_name"], public_key, officer_roles)
        )
    return found


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

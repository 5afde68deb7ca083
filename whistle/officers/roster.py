"""The authenticated officer roster (threat model 7).

Report keys are sealed only to officers whose row is authentic: ``officer.roster_mac`` is
HMAC-SHA256, under a subkey of keys/ (``Keyring.roster_mac_key``), of the fields that decide who
receives report keys: id, username, roles, active and public key. Someone who can write to the
database but has no keys/ cannot add a triage role, insert an officer or swap a public key and
then receive the next report: the row's MAC no longer verifies, so intake, grants and recovery
skip it and the administrator's page flags it.

Only the code paths that legitimately change those fields write a MAC (account creation, roles
confirmed, enable and disable, the first own password creating the key pair, a reset), and they
never bless what they did not write themselves: ``restamp`` first verifies the row as it stands
and computes the new MAC from the verified fields plus the caller's own change. A row whose MAC
is missing or broken stays so until an administrator checks it and runs
``whistle keys reseal-roster`` (with the office passphrase).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass, replace
from typing import Any

from whistle import audit
from whistle.audit import actions
from whistle.context import Context
from whistle.db import engine as db
from whistle.db.tables import Officer, OfficerRole
from whistle.i18n import N_
from whistle.reports import envelope

UNTRUSTED_ROSTER_ROW = N_(
    "Data akun petugas ini tidak terverifikasi: administrator perlu memeriksanya dan "
    "menjalankan whistle keys reseal-roster."
)

_roster_key: bytes | None = None
# Rows already checked under the current key, with the verdict: the roster is read on every
# report form, and a row only needs checking again when a byte of it (or its MAC) changed.
_checked: dict[tuple[RosterRow, str], bool] = {}
_CHECKED_MAX = 4096


def configure_roster_key(key: bytes) -> None:
    """Set the MAC key of the roster (the app and the CLI do it with the key from keys/)."""
    global _roster_key
    if len(key) < 32:
        raise ValueError("the roster MAC key must have at least 32 bytes")
    _roster_key = bytes(key)
    _checked.clear()


@dataclass(frozen=True)
class RosterRow:
    """The fields of an officer row the MAC covers."""

    id: int
    username: str
    roles: tuple[str, ...]
    active: bool
    public_key: bytes


def roster_mac(row: RosterRow) -> str:
    """The MAC of a roster row (hex): canonical JSON of its fields under the roster key."""
    if _roster_key is None:
        raise RuntimeError("the roster MAC key is not configured: create the Context first")
    canonical = json.dumps(
        [
            "officer/v1",
            int(row.id),
            row.username,
            sorted(set(row.roles)),
            bool(row.active),
            bytes(row.public_key).hex(),
        ],
        separators=(",", ":"),
    ).encode()
    return hmac.new(_roster_key, canonical, hashlib.sha256).hexdigest()


def is_authentic(row: RosterRow, mac: str | None) -> bool:
    """Whether ``mac`` is the roster MAC of ``row`` (False when missing)."""
    if mac is None:
        return False
    verdict = _checked.get((row, mac))
    if verdict is None:
        verdict = hmac.compare_digest(roster_mac(row), mac)
        if len(_checked) >= _CHECKED_MAX:
            _checked.clear()
        _checked[(row, mac)] = verdict
    return verdict


@dataclass(frozen=True)
class StoredRow:
    """An officer row as stored, with its MAC and whether it verifies."""

    row: RosterRow
    mac: str | None

    @property
    def trusted(self) -> bool:
        return is_authentic(self.row, self.mac)


async def stored_rows(officer_ids: list[int] | None = None) -> list[StoredRow]:
    """The roster rows (all, or those of ``officer_ids``) as stored, by id."""
    query = Officer.select(
        Officer.id, Officer.username, Officer.active, Officer.public_key, Officer.roster_mac
    )
    roles_query = OfficerRole.select(OfficerRole.officer, OfficerRole.role)
    if officer_ids is not None:
        if not officer_ids:
            return []
        query = query.where(Officer.id.is_in(officer_ids))
        roles_query = roles_query.where(OfficerRole.officer.is_in(officer_ids))
    roles: dict[int, list[str]] = {}
    for role in await roles_query:
        roles.setdefault(role["officer"], []).append(role["role"])
    rows = await query.order_by(Officer.id)
    return [
        StoredRow(
            RosterRow(
                id=row["id"],
                username=row["username"],
                roles=tuple(sorted(roles.get(row["id"], []))),
                active=bool(row["active"]),
                public_key=bytes(row["public_key"]),
            ),
            row["roster_mac"],
        )
        for row in rows
    ]


async def trusted_ids(officer_ids: list[int]) -> set[int]:
    """Which of ``officer_ids`` have an authentic roster row: the one check every path that
    seals a report key to an officer goes through (officers_with_role, grants, recovery)."""
    return {stored.row.id for stored in await stored_rows(officer_ids) if stored.trusted}


async def is_trusted(officer_id: int) -> bool:
    """Whether the officer's roster row is authentic."""
    return officer_id in await trusted_ids([officer_id])


async def stamp(row: RosterRow) -> None:
    """Write the MAC of ``row``, whose fields the caller itself has just written (a new
    account); inside the caller's transaction."""
    await Officer.update({Officer.roster_mac: roster_mac(row)}).where(Officer.id == row.id)


async def restamp(officer_id: int, **change: Any) -> bool:
    """Before the caller writes ``change`` (any of roles, active, public_key) to an officer row,
    inside its transaction: if the row as stored is authentic, store the MAC of the row with the
    change applied; returns whether it did. An untrusted row stays untrusted (its fields are
    not the ones this process wrote), whatever the change."""
    found = await stored_rows([officer_id])
    if not found or not found[0].trusted:
        return False
    if "roles" in change:
        change["roles"] = tuple(sorted(set(change["roles"])))
    await stamp(replace(found[0].row, **change))
    return True


async def untrusted_rows() -> list[StoredRow]:
    """Every roster row whose MAC is missing or broken, by id: what the administrator checks
    before ``reseal``."""
    return [stored for stored in await stored_rows() if not stored.trusted]


async def reseal(
    ctx: Context, passphrase: str, reviewed: list[StoredRow], *, actor: str = "cli"
) -> list[str]:
    """Give the ``reviewed`` rows their MAC; returns the usernames resealed, audited.

    The office recovery passphrase must open the office key (WrongPassphrase otherwise): it
    stands for the person who checked the rows. A row that changed since it was listed (or is
    trusted by now) is left alone, so nothing is blessed that the administrator did not see."""
    await ctx.kdf.run(ctx.keyring.unlock_office_private_key, passphrase)
    async with db.transaction():
        current = {s.row.id: s for s in await stored_rows([s.row.id for s in reviewed])}
        resealed = []
        for stored in reviewed:
            now = current.get(stored.row.id)
            if now is None or now.row != stored.row or now.trusted:
                continue
            await stamp(stored.row)
            resealed.append(stored.row.username)
        await audit.append(actions.ROSTER_RESEALED, actor=actor, details={"officers": resealed})
    return resealed


async def retag(*, actor: str = "cli") -> int:
    """Move every key wrap that still names its officer to the officer's holder tag (rows
    written before tags); returns how many, audited (the count only)."""
    async with db.transaction():
        changed = await envelope.retag_wraps()
        await audit.append(actions.KEYS_RETAGGED, actor=actor, details={"wraps": changed})
    return changed

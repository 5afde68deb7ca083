"""Who holds a case's data key: unwrap for the logged-in officer, grant to a colleague, revoke.

Access is cryptographic (threat model 3): an officer reads a report only through a wrap of its
data key sealed to their own public key. Exclusion by the reporter and recusal are enforced here,
at the one place a wrap is ever created after intake. Callers run these inside their own
``db.transaction()``.
"""

from __future__ import annotations

import json
import uuid

from whistle.crypto import DecryptionError, associated_data, decrypt, seal, unseal
from whistle.db.tables import Officer, Recusal, ReportKey
from whistle.errors import CaseUnreadable, Conflict
from whistle.i18n import N_
from whistle.intake.service import CONTENT, HOLDER_OFFICER, key_purpose
from whistle.officers.auth import CurrentOfficer
from whistle.reports.content import ReportInput


def _officer_aad(report_id: uuid.UUID, officer_id: int) -> bytes:
    return associated_data(str(report_id), key_purpose(HOLDER_OFFICER, officer_id))


async def holds_key(report_id: uuid.UUID, officer_id: int) -> bool:
    return await ReportKey.exists().where(
        (ReportKey.report == report_id)
        & (ReportKey.holder == HOLDER_OFFICER)
        & (ReportKey.officer == officer_id)
    )


async def officer_data_key(report_id: uuid.UUID, officer: CurrentOfficer) -> bytes:
    """The report's data key, unwrapped with the officer's own private key.

    Raises CaseUnreadable (a PermissionDenied answered as "not found") when no key is wrapped
    for them (never assigned, excluded, recused, revoked, or no such report) or their wrap does
    not open (e.g. a key pair replaced by a password reset)."""
    row = await (
        ReportKey.select(ReportKey.wrapped)
        .where(
            (ReportKey.report == report_id)
            & (ReportKey.holder == HOLDER_OFFICER)
            & (ReportKey.officer == officer.id)
        )
        .first()
    )
    if row is None:
        raise CaseUnreadable()
    try:
        return unseal(officer.private_key, row["wrapped"], _officer_aad(report_id, officer.id))
    except DecryptionError:
        raise CaseUnreadable() from None


def excluded_officers(report_id: uuid.UUID, data_key: bytes, content: bytes) -> set[int]:
    """Officer ids the reporter excluded: they live only inside the encrypted report."""
    report = ReportInput.from_json(
        json.loads(decrypt(data_key, content, associated_data(str(report_id), CONTENT)))
    )
    return set(report.excluded_officers)


async def ineligibility(report_id: uuid.UUID, officer_id: int, excluded: set[int]) -> str | None:
    """Why this officer may never hold the case's key, or None if they may."""
    if officer_id in excluded:
        return N_("Petugas ini dikecualikan oleh pelapor.")
    if await Recusal.exists().where(
        (Recusal.report == report_id) & (Recusal.officer == officer_id)
    ):
        return N_("Petugas ini telah menyatakan konflik kepentingan pada kasus ini.")
    return None


async def grant(report_id: uuid.UUID, data_key: bytes, content: bytes, to_officer_id: int) -> bool:
    """Seal the data key for a colleague's public key; returns False if they already hold it.

    ``content`` is the report's ciphertext, read with ``data_key`` to honour the reporter's
    exclusions. Raises Conflict for an excluded, recused, unknown or disabled officer."""
    reason = await ineligibility(
        report_id, to_officer_id, excluded_officers(report_id, data_key, content)
    )
    if reason:
        raise Conflict(reason)
    officer = (
        await Officer.select(Officer.public_key, Officer.active)
        .where(Officer.id == to_officer_id)
        .first()
    )
    if officer is None or not officer["active"]:
        raise Conflict(N_("Petugas tidak ditemukan atau tidak aktif."))
    if await holds_key(report_id, to_officer_id):
        return False
    await ReportKey.insert(
        ReportKey(
            report=report_id,
            holder=HOLDER_OFFICER,
            officer=to_officer_id,
            wrapped=seal(officer["public_key"], data_key, _officer_aad(report_id, to_officer_id)),
        )
    )
    return True


async def revoke(report_id: uuid.UUID, officer_id: int) -> bool:
    """Delete the officer's wrap of the case's key; returns whether there was one."""
    had = await holds_key(report_id, officer_id)
    await ReportKey.delete().where(
        (ReportKey.report == report_id)
        & (ReportKey.holder == HOLDER_OFFICER)
        & (ReportKey.officer == officer_id)
    )
    return had

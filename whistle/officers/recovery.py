"""Key recovery with the office recovery key (`whistle keys recover --officer NAME`).

For when no colleague can grant access, e.g. the first triage officer after a password reset:
the office recovery private key (passphrase-protected, normally offline) opens the office wrap
of every open case the officer should hold, and the data key is sealed to the officer's current
public key. A triage officer should hold every case except those the reporter excluded them from,
they recused from, or a colleague deliberately revoked their key for; an investigator only the
cases assigned to them.
"""

from __future__ import annotations

from whistle import audit
from whistle.audit import actions
from whistle.context import Context
from whistle.db import engine as db
from whistle.db.tables import CaseAssignment, Officer, Recusal, Report
from whistle.errors import Conflict
from whistle.i18n import N_
from whistle.officers import roster
from whistle.officers.roles import INVESTIGATOR, TRIAGE, roles_of
from whistle.officers.service import officer_by_username
from whistle.reports import envelope, statuses


async def missing_cases(
    officer: Officer, roles: set[str], *, with_content: bool = True
) -> list[dict]:
    """The cases (id, and content unless ``with_content`` is False) the officer should hold and
    does not, as recovery sees them: not archived, not recused from, not deliberately revoked;
    triage every case, an investigator the assigned ones. Whom the reporter excluded is only
    known once the content is opened with the office key (``envelope.recover_for_officer``)."""
    held = await envelope.reports_held_by(officer.id)
    recused = {
        row["report"]
        for row in await Recusal.select(Recusal.report).where(Recusal.officer == officer.id)
    }
    assigned = {
        row["report"]
        for row in await CaseAssignment.select(CaseAssignment.report).where(
            CaseAssignment.officer == officer.id
        )
    }
    columns = [Report.id, Report.content] if with_content else [Report.id]
    if TRIAGE in roles:
        query = Report.select(*columns)
    elif INVESTIGATOR in roles and assigned:
        query = Report.select(*columns).where(Report.id.is_in(list(assigned)))
    else:
        return []
    revoked = await envelope.revoked_from(officer.id)
    skipped = held | recused | revoked
    return [
        report
        for report in await query.where(Report.status != statuses.ARCHIVED)
        if report["id"] not in skipped
    ]


async def recover_keys(ctx: Context, username: str, passphrase: str, *, actor: str = "cli") -> int:
    """Grant ``username`` every open case they should hold and lack; returns how many.

    Raises WrongPassphrase if the passphrase does not open the office recovery key.
    """
    office_private = await ctx.kdf.run(ctx.keyring.unlock_office_private_key, passphrase)
    officer = await officer_by_username(username)
    if not officer.active:
        raise Conflict(N_("Akun petugas ini dinonaktifkan."))
    if not envelope.has_key_pair(officer.public_key):
        raise Conflict(N_("Petugas ini belum memiliki kunci: menunggu kata sandi pertamanya."))
    if not await roster.is_trusted(officer.id):
        raise Conflict(roster.UNTRUSTED_ROSTER_ROW)
    roles = set(await roles_of(officer.id))
    granted = 0
    async with db.transaction():
        for report in await missing_cases(officer, roles):
            if await envelope.recover_for_officer(
                report["id"], report["content"], office_private, officer.id, officer.public_key
            ):
                granted += 1
        await Officer.update({Officer.case_access_pending: False}).where(Officer.id == officer.id)
        await audit.append(
            actions.KEYS_RECOVERED,
            actor=actor,
            details={"officer": officer.username, "roles": sorted(roles), "granted": granted},
        )
    return granted

"""Key recovery with the office recovery key (`whistle keys recover --officer NAME`).

For when no colleague can grant access, e.g. the first triage officer after a password reset:
the office recovery private key (passphrase-protected, normally offline) opens the office wrap
of every open case the officer should hold, and the data key is sealed to the officer's current
public key. A triage officer should hold every case except those the reporter excluded them from
or they recused from; an investigator only the cases assigned to them.
"""

from __future__ import annotations

import json

from whistle import audit
from whistle.audit import actions
from whistle.cases import statuses
from whistle.context import Context
from whistle.crypto import associated_data, decrypt, seal, unseal
from whistle.db import engine as db
from whistle.db.tables import CaseAssignment, Recusal, Report, ReportKey
from whistle.errors import Conflict
from whistle.i18n import N_
from whistle.intake.service import CONTENT, HOLDER_OFFICE, HOLDER_OFFICER, key_purpose
from whistle.officers.roles import INVESTIGATOR, TRIAGE
from whistle.officers.service import officer_by_username


def _excluded_by_reporter(data_key: bytes, report_id: str, content: bytes, officer_id: int) -> bool:
    """The reporter's exclusions live inside the encrypted report, nowhere else."""
    body = json.loads(decrypt(data_key, content, associated_data(report_id, CONTENT)))
    return officer_id in body.get("excluded_officers", [])


async def recover_keys(ctx: Context, username: str, passphrase: str, *, actor: str = "cli") -> int:
    """Grant ``username`` every open case they should hold and lack; returns how many.

    Raises WrongPassphrase if the passphrase does not open the office recovery key.
    """
    office_private = await ctx.kdf.run(ctx.keyring.unlock_office_private_key, passphrase)
    officer = await officer_by_username(username)
    if not officer.active:
        raise Conflict(N_("Akun petugas ini dinonaktifkan."))
    roles = set(officer.roles.split(","))
    granted = 0
    async with db.transaction():
        held = {
            row["report"]
            for row in await ReportKey.select(ReportKey.report).where(
                (ReportKey.holder == HOLDER_OFFICER) & (ReportKey.officer == officer.id)
            )
        }
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
        if TRIAGE in roles:
            query = Report.select(Report.id, Report.content)
        elif INVESTIGATOR in roles and assigned:
            query = Report.select(Report.id, Report.content).where(Report.id.is_in(list(assigned)))
        else:
            query = None
        reports = await query.where(Report.status != statuses.ARCHIVED) if query else []
        for report in reports:
            if report["id"] in held or report["id"] in recused:
                continue
            rid = str(report["id"])
            office_wrap = (
                await ReportKey.select(ReportKey.wrapped)
                .where((ReportKey.report == report["id"]) & (ReportKey.holder == HOLDER_OFFICE))
                .first()
            )
            if office_wrap is None:
                continue
            data_key = unseal(
                office_private,
                office_wrap["wrapped"],
                associated_data(rid, key_purpose(HOLDER_OFFICE)),
            )
            if _excluded_by_reporter(data_key, rid, report["content"], officer.id):
                continue
            await ReportKey.insert(
                ReportKey(
                    report=report["id"],
                    holder=HOLDER_OFFICER,
                    officer=officer.id,
                    wrapped=seal(
                        officer.public_key,
                        data_key,
                        associated_data(rid, key_purpose(HOLDER_OFFICER, officer.id)),
                    ),
                )
            )
            granted += 1
        await audit.append(
            actions.KEYS_RECOVERED,
            actor=actor,
            details={"officer": officer.username, "roles": sorted(roles), "granted": granted},
        )
    return granted

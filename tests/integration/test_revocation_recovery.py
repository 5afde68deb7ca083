"""Revocations are recorded and honoured by recovery (issue 9): `whistle keys recover` must not
give back a case key a colleague deliberately revoked; a deliberate re-grant lifts the record."""

from __future__ import annotations

from tests.conftest import OFFICE_PASSPHRASE
from tests.support.cases import as_officer, file_report
from tests.support.officers import make_officer
from whistle.cases import service as cases
from whistle.db.tables import KeyRevocation, Report
from whistle.officers import admin
from whistle.officers.recovery import recover_keys
from whistle.officers.service import change_password
from whistle.reports import envelope

TEMPORARY = "a temporary passphrase 2026 x"
OWN = "a river of lanterns at dusk 7301"


async def test_recovery_does_not_restore_a_deliberate_revocation(ctx):
    await make_officer(ctx, "siti", ["triage"])
    budi = await make_officer(ctx, "budi", ["triage"])
    revoked_case, _ = await file_report(ctx)
    kept_case, _ = await file_report(ctx)
    revoked_id = (await Report.select(Report.id).where(Report.case_number == revoked_case))[0]["id"]
    kept_id = (await Report.select(Report.id).where(Report.case_number == kept_case))[0]["id"]
    siti = await as_officer(ctx, "siti")

    await cases.revoke_access(siti, revoked_case, budi)
    assert await envelope.reports_held_by(budi) == {kept_id}
    assert await KeyRevocation.count().where(KeyRevocation.officer == budi) == 1

    # Recovery after a password reset gives back what the reset took, not what Siti revoked.
    await admin.reset_password(ctx, budi, TEMPORARY, actor="root")
    assert await envelope.reports_held_by(budi) == set()
    # Keys are born under the officer's own password: Budi chooses it before recovery.
    await change_password(ctx, budi, current=TEMPORARY, new=OWN, confirm=OWN)
    assert await recover_keys(ctx, "budi", OFFICE_PASSPHRASE) == 1
    assert await envelope.reports_held_by(budi) == {kept_id}

    # A colleague's deliberate grant lifts the revocation: later recoveries include the case.
    await cases.grant_access(siti, revoked_case, budi)
    assert await KeyRevocation.count().where(KeyRevocation.officer == budi) == 0
    await admin.reset_password(ctx, budi, TEMPORARY + "2", actor="root")
    await change_password(ctx, budi, current=TEMPORARY + "2", new=OWN + "2", confirm=OWN + "2")
    assert await recover_keys(ctx, "budi", OFFICE_PASSPHRASE) == 2
    assert await envelope.reports_held_by(budi) == {kept_id, revoked_id}

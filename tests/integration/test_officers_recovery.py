"""`whistle keys recover`: the office recovery key grants an officer the open cases they should
hold, and nothing else (exclusions, recusals, archived cases and other investigators' cases)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.conftest import OFFICE_PASSPHRASE
from tests.integration.test_officers_account import read_report_as
from tests.integration.test_officers_login import audit_rows
from tests.support.forms import VALID_REPORT, submit_report_form
from tests.support.officers import make_officer
from whistle.crypto import WrongPassphrase, unprotect_private_key
from whistle.db.tables import CaseAssignment, Officer, Recusal, Report, ReportKey, StatusEvent
from whistle.errors import Conflict
from whistle.officers import admin
from whistle.officers.recovery import recover_keys
from whistle.officers.service import change_password, key_binding
from whistle.reports import statuses
from whistle.reports.envelope import holder_tag

TEMPORARY = "a temporary passphrase 2026 x"
OWN = "his very own passphrase of 2026"


async def wrapped_reports(officer_id: int) -> set[str]:
    rows = await ReportKey.select(ReportKey.report).where(
        ReportKey.holder_tag == holder_tag(officer_id)
    )
    return {str(row["report"]) for row in rows}


async def reports_by_number() -> list[str]:
    """Report ids in the order they were filed (each was published on its own, so the first
    status events follow that order; case numbers are random)."""
    rows = await StatusEvent.select(StatusEvent.report).order_by(StatusEvent.id)
    ordered = dict.fromkeys(str(row["report"]) for row in rows)
    return list(ordered)


async def test_recovery_grants_triage_every_open_case_except_exclusions(client, ctx):
    await make_officer(ctx, "siti", ["triage"])
    budi = await make_officer(ctx, "budi", ["triage"])
    await submit_report_form(client)  # 0: budi should hold it
    await submit_report_form(client, {**VALID_REPORT, "excluded_officers": str(budi)})  # 1
    await submit_report_form(client)  # 2: budi recuses
    await submit_report_form(client)  # 3: archived
    ids = await reports_by_number()
    assert await wrapped_reports(budi) == {ids[0], ids[2], ids[3]}
    await Recusal.insert(
        Recusal(report=ids[2], officer=budi, at=datetime.now(UTC), reason=b"\x01ciphertext")
    )
    await Report.update({Report.status: statuses.ARCHIVED}).where(Report.id == ids[3])

    # The reset leaves Budi with no key pair and no wraps at all; recovery waits for the key
    # pair his own first password creates.
    await admin.reset_password(ctx, budi, TEMPORARY, actor="root")
    assert await wrapped_reports(budi) == set()
    with pytest.raises(Conflict):
        await recover_keys(ctx, "budi", OFFICE_PASSPHRASE)
    await change_password(ctx, budi, current=TEMPORARY, new=OWN, confirm=OWN)

    with pytest.raises(WrongPassphrase):
        await recover_keys(ctx, "budi", "not the office passphrase")
    assert await wrapped_reports(budi) == set()

    granted = await recover_keys(ctx, "budi", OFFICE_PASSPHRASE)
    assert granted == 1
    assert await wrapped_reports(budi) == {ids[0]}
    row = await Officer.objects().where(Officer.id == budi).first()
    private_key = unprotect_private_key(
        row.private_key_protected,
        OWN,
        key_binding(row.id, row.public_key),
        pepper=ctx.keyring.officer_pepper,
    )
    report = await read_report_as(budi, private_key)
    assert report["description"] == VALID_REPORT["description"]

    # Nothing more to grant on a second run; each run leaves one audit entry with the count.
    assert await recover_keys(ctx, "budi", OFFICE_PASSPHRASE) == 0
    entries = await audit_rows("keys.recovered")
    assert [entry["details"]["granted"] for entry in entries] == [1, 0]
    assert entries[0]["details"]["officer"] == "budi"
    assert OFFICE_PASSPHRASE not in str(entries)


async def test_recovery_grants_an_investigator_only_assigned_cases(client, ctx):
    await make_officer(ctx, "siti", ["triage"])
    await submit_report_form(client)
    await submit_report_form(client)
    ids = await reports_by_number()
    rudi = await make_officer(ctx, "rudi", ["investigator"])
    await CaseAssignment.insert(
        CaseAssignment(report=ids[1], officer=rudi, assigned_at=datetime.now(UTC))
    )
    assert await recover_keys(ctx, "rudi", OFFICE_PASSPHRASE) == 1
    assert await wrapped_reports(rudi) == {ids[1]}
    auditor = await make_officer(ctx, "ani", ["auditor", "admin"])
    assert await recover_keys(ctx, "ani", OFFICE_PASSPHRASE) == 0
    assert await wrapped_reports(auditor) == set()

"""Who can open a new report: the reporter, the office key, and non-excluded triage officers."""

from __future__ import annotations

import asyncio
import json

import pytest

from tests.conftest import OFFICE_PASSPHRASE
from tests.support.forms import VALID_REPORT, post_form
from tests.support.holders import officer_ids_of
from tests.support.officers import DEFAULT_PASSWORD, make_officer
from tests.support.release import publish
from whistle.crypto import associated_data, unprotect_private_key, unseal
from whistle.crypto.codes import normalise_case_number
from whistle.db.tables import AuditEntry, Officer, Report, ReportKey
from whistle.errors import ValidationFailed
from whistle.intake import service
from whistle.intake.schemas import validate_report
from whistle.officers.service import key_binding
from whistle.reports import envelope
from whistle.reports.envelope import holder_tag


async def _wrapped_officers(report_id) -> set[int]:
    rows = await ReportKey.select(ReportKey.holder_tag).where(
        (ReportKey.report == report_id) & (ReportKey.holder == "officer")
    )
    return await officer_ids_of(rows)


async def test_key_is_sealed_for_every_triage_officer_but_the_excluded(ctx):
    first = await make_officer(ctx, "triage1", ["triage"])
    second = await make_officer(ctx, "triage2", ["triage"])
    investigator = await make_officer(ctx, "investigator1", ["investigator"])
    report = validate_report(VALID_REPORT, excluded=[str(second)])
    await service.submit_report(ctx, report)
    await publish(ctx)
    row = await Report.objects().first()
    assert await _wrapped_officers(row.id) == {first}, "excluded and non-triage hold no key"
    assert investigator not in await _wrapped_officers(row.id)

    # The wrap really opens the report with the officer's own private key.
    officer = await Officer.objects().where(Officer.id == first).first()
    private_key = unprotect_private_key(
        officer.private_key_protected,
        DEFAULT_PASSWORD,
        key_binding(officer.id, officer.public_key),
        pepper=ctx.keyring.officer_pepper,
    )
    wrap = await ReportKey.objects().where(ReportKey.holder_tag == holder_tag(first)).first()
    rid = str(row.id)
    data_key = unseal(private_key, wrap.wrapped, associated_data(rid, f"key:officer:{first}"))
    content = envelope.open_content(row.id, data_key, row.content).to_json()
    assert content["description"] == VALID_REPORT["description"]
    assert content["excluded_officers"] == [second]

    # The excluded officer's key opens nothing: there is simply no wrap for them.
    assert await ReportKey.count().where(ReportKey.holder_tag == holder_tag(second)) == 0

    # The office recovery key (offline private half) opens it too.
    office_private = ctx.keyring.unlock_office_private_key(OFFICE_PASSPHRASE)
    office_wrap = await ReportKey.objects().where(ReportKey.holder == "office").first()
    assert (
        unseal(office_private, office_wrap.wrapped, associated_data(rid, "key:office")) == data_key
    )


async def test_form_refuses_to_exclude_every_triage_officer(client, ctx):
    only = await make_officer(ctx, "triage1", ["triage"])
    form = await client.get("/report")
    assert "Triage1" in form.text, "the form lists officers who can be excluded"
    page = await post_form(client, "/report", {**VALID_REPORT, "excluded_officers": str(only)})
    assert page.status_code == 422
    assert "Sisakan paling sedikit satu petugas Tim WBS" in page.text
    assert await Report.count() == 0
    with pytest.raises(ValidationFailed):
        await service.submit_report(ctx, validate_report(VALID_REPORT, excluded=[only]))
    assert await Report.count() == 0


async def test_concurrent_submissions_all_succeed_with_unique_case_numbers(ctx, engine_name):
    await make_officer(ctx, "triage1", ["triage"])
    reports = [
        validate_report({**VALID_REPORT, "description": f"Laporan nomor {index} tentang pungli"})
        for index in range(50)
    ]
    receipts = await asyncio.gather(*(service.submit_report(ctx, item) for item in reports))
    assert len({receipt.tracking_code for receipt in receipts}) == 50
    assert await publish(ctx) == 50
    numbers = [row["case_number"] for row in await Report.select(Report.case_number)]
    assert len(set(numbers)) == 50
    # Random, well-formed case numbers (the release assigns them; none is sequential).
    assert all(normalise_case_number(number) == number for number in numbers)
    # Each code opens its own report and no other.
    for index, receipt in enumerate(receipts):
        report_id, data_key = await service.unlock_with_code(ctx, receipt.tracking_code)
        view = await service.reporter_view(ctx, report_id, data_key)
        assert view.report.description == f"Laporan nomor {index} tentang pungli"


async def test_audit_details_do_not_count_the_key_holders(ctx):
    """A count of wraps beside the roster would tell that someone was excluded."""
    await make_officer(ctx, "triage1", ["triage"])
    second = await make_officer(ctx, "triage2", ["triage"])
    await service.submit_report(ctx, validate_report(VALID_REPORT, excluded=[str(second)]))
    await service.submit_report(ctx, validate_report(VALID_REPORT))
    await publish(ctx)
    entries = await AuditEntry.select(AuditEntry.details).where(
        AuditEntry.action == "report.received"
    )
    details = [
        json.loads(e["details"]) if isinstance(e["details"], str) else e["details"] for e in entries
    ]
    assert details == [{"category": VALID_REPORT["category"]}] * 2

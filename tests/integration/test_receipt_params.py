"""Receipt parameters fixed at init (issue 9, item 6): the tracking-code Argon2 costs live in
keys/receipt_params by version, each report records the version it was filed with, raising
WHISTLE_ARGON2_* never locks out an existing code, and start-up refuses an unrecorded change."""

from __future__ import annotations

import shutil

import pytest

from tests.support.cases import file_report
from whistle.context import Context
from whistle.crypto import (
    ReceiptParamsChanged,
    add_receipt_params,
    derive_reporter_secrets,
)
from whistle.db.tables import Report
from whistle.errors import InvalidTrackingCode
from whistle.intake import service as intake


@pytest.fixture
def own_keys(database, keys_dir, tmp_path):
    """Settings with a private copy of the test keys (this test rewrites receipt_params)."""
    directory = tmp_path / "keys"
    shutil.copytree(keys_dir, directory)
    return database.with_changes(keys_dir=directory)


async def _row(case_number: str) -> dict:
    return (
        await Report.select(Report.id, Report.lookup_id, Report.receipt_version)
        .where(Report.case_number == case_number)
        .first()
    )


async def test_code_filed_with_one_setting_opens_after_the_setting_is_raised(own_keys):
    before = Context.create(own_keys)
    case_number, code = await file_report(before)
    filed = await _row(case_number)
    assert filed["receipt_version"] == 1

    raised = own_keys.with_changes(argon2_iterations=own_keys.argon2_iterations + 1)
    # A silent change is refused at start-up, with a message naming the way forward.
    with pytest.raises(ReceiptParamsChanged, match="whistle keys receipt-params"):
        Context.create(raised)
    assert add_receipt_params(raised.keys_dir, raised.argon2) == 2
    after = Context.create(raised)

    report_id, _ = await intake.unlock_with_code(after, code)
    assert report_id == filed["id"]
    moved = await _row(case_number)
    # Re-derived and re-wrapped with the current costs on this successful unlock.
    assert moved["receipt_version"] == 2
    current = derive_reporter_secrets(code, after.keyring.receipt_salt, raised.argon2)
    assert moved["lookup_id"] == current.lookup_id.hex() != filed["lookup_id"]
    report_id, _ = await intake.unlock_with_code(after, code)
    assert report_id == filed["id"]

    # New reports are filed with the new version; wrong codes still fail alike.
    new_case, _ = await file_report(after)
    assert (await _row(new_case))["receipt_version"] == 2
    for wrong in ("0000-0000-0000-0000", "not a code"):
        with pytest.raises(InvalidTrackingCode):
            await intake.unlock_with_code(after, wrong)


async def test_recording_the_same_costs_again_adds_no_version(own_keys):
    assert add_receipt_params(own_keys.keys_dir, own_keys.argon2) == 1
    assert Context.create(own_keys).keyring.receipt_version == 1

"""The report envelope binds every ciphertext to its report and purpose, and every wrap to its
holder: what is sealed for one use does not open for another."""

from __future__ import annotations

import uuid

import pytest

from whistle.crypto import DecryptionError, associated_data, generate_keypair, unseal
from whistle.reports import envelope
from whistle.reports.content import ReportInput

REPORT = ReportInput(category="pungli", description="Diminta uang", excluded_officers=[7])


def test_content_round_trips_and_is_bound_to_its_report():
    report_id, data_key = uuid.uuid4(), envelope.new_report_key()
    blob = envelope.seal_content(report_id, data_key, REPORT)
    assert envelope.open_content(report_id, data_key, blob) == REPORT
    with pytest.raises(DecryptionError):
        envelope.open_content(uuid.uuid4(), data_key, blob)


def test_a_field_opens_only_for_its_own_purpose():
    report_id, data_key = uuid.uuid4(), envelope.new_report_key()
    blob = envelope.seal_field(report_id, data_key, envelope.PUBLIC_NOTE, "catatan")
    assert envelope.open_field(report_id, data_key, envelope.PUBLIC_NOTE, blob) == "catatan"
    with pytest.raises(DecryptionError):
        envelope.open_field(report_id, data_key, envelope.NOTE, blob)
    with pytest.raises(ValueError, match="unknown field purpose"):
        envelope.seal_field(report_id, data_key, envelope.CONTENT, "not a field")


def test_the_reporter_wrap_opens_only_with_the_code_key_for_that_report():
    report_id, data_key, code_key = uuid.uuid4(), envelope.new_report_key(), bytes(32)
    wrap = envelope.wrap_for_reporter(report_id, data_key, code_key)
    assert wrap.holder == envelope.HOLDER_REPORTER
    assert envelope.unwrap_for_reporter(report_id, wrap.wrapped, code_key) == data_key
    with pytest.raises(DecryptionError):
        envelope.unwrap_for_reporter(report_id, wrap.wrapped, b"\x01" * 32)
    with pytest.raises(DecryptionError):
        envelope.unwrap_for_reporter(uuid.uuid4(), wrap.wrapped, code_key)


def test_an_officer_wrap_is_bound_to_that_officer():
    report_id, data_key = uuid.uuid4(), envelope.new_report_key()
    private_key, public_key = generate_keypair()
    wrap = envelope.wrap_for_officer(report_id, data_key, 5, public_key)
    assert (wrap.holder, wrap.officer_id) == (envelope.HOLDER_OFFICER, 5)
    own = associated_data(str(report_id), envelope.key_purpose(envelope.HOLDER_OFFICER, 5))
    other = associated_data(str(report_id), envelope.key_purpose(envelope.HOLDER_OFFICER, 6))
    assert unseal(private_key, wrap.wrapped, own) == data_key
    with pytest.raises(DecryptionError):
        unseal(private_key, wrap.wrapped, other)

"""The report envelope binds every ciphertext to its report and purpose, and every wrap to its
holder: what is sealed for one use does not open for another."""

from __future__ import annotations

import json
import uuid

import pytest

from whistle.crypto import (
    DecryptionError,
    associated_data,
    encrypt,
    generate_keypair,
    unseal,
)
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


def _report(description: str) -> ReportInput:
    return ReportInput(category="pungli", description=description, excluded_officers=[3, 9])


def test_short_and_long_descriptions_seal_to_the_same_length():
    report_id, data_key = uuid.uuid4(), envelope.new_report_key()
    short = envelope.seal_content(report_id, data_key, _report("x" * 25))
    long = envelope.seal_content(report_id, data_key, _report("y" * 900))
    assert len(short) == len(long)
    assert envelope.open_content(report_id, data_key, long).description == "y" * 900


def test_fields_of_different_lengths_seal_to_one_bucket_and_open_exactly():
    report_id, data_key = uuid.uuid4(), envelope.new_report_key()
    texts = ["a", "catatan singkat", "b" * 400, "ü " * 100 + "akhir\n"]
    blobs = [envelope.seal_field(report_id, data_key, envelope.NOTE, text) for text in texts]
    assert len({len(blob) for blob in blobs}) == 1
    assert [envelope.open_field(report_id, data_key, envelope.NOTE, b) for b in blobs] == texts


def test_buckets_grow_by_powers_of_two_past_the_minimum():
    assert envelope.padded_size(envelope.CONTENT, 0) == 4096
    assert envelope.padded_size(envelope.CONTENT, 4092) == 4096
    assert envelope.padded_size(envelope.CONTENT, 4093) == 8192
    assert envelope.padded_size(envelope.NOTE, 508) == 512
    assert envelope.padded_size(envelope.NOTE, 509) == 1024


def test_ciphertexts_sealed_before_padding_still_open():
    report_id, data_key = uuid.uuid4(), envelope.new_report_key()
    legacy_content = encrypt(
        data_key,
        json.dumps(REPORT.to_json()).encode(),
        associated_data(str(report_id), envelope.CONTENT),
    )
    legacy_note = encrypt(data_key, b"lama", associated_data(str(report_id), envelope.NOTE))
    assert envelope.open_content(report_id, data_key, legacy_content) == REPORT
    assert envelope.open_field(report_id, data_key, envelope.NOTE, legacy_note) == "lama"


@pytest.mark.parametrize(
    "padded",
    [
        (4).to_bytes(4, "big") + b"teks" + b"\x00" * 503 + b"\x01",  # a non-zero padding byte
        (600).to_bytes(4, "big") + b"teks" + bytes(504),  # a length past the end
    ],
)
def test_malformed_padding_does_not_open(padded):
    report_id, data_key = uuid.uuid4(), envelope.new_report_key()
    aad = associated_data(str(report_id), envelope.NOTE + envelope.PADDED_SUFFIX)
    blob = encrypt(data_key, padded, aad)
    with pytest.raises(DecryptionError):
        envelope.open_field(report_id, data_key, envelope.NOTE, blob)

"""Case numbers: year + random Crockford symbols + a check symbol, typed any which way."""

from __future__ import annotations

import re

import pytest

from whistle.crypto import InvalidCaseNumber, new_case_number, normalise_case_number

SHAPE = re.compile(r"^2026-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$")


def test_format_and_randomness():
    numbers = {new_case_number(2026) for _ in range(2000)}
    assert len(numbers) == 2000  # 35 random bits: no repeats at this scale
    assert all(SHAPE.fullmatch(number) for number in numbers)
    assert all(normalise_case_number(number) == number for number in numbers)
    assert len(max(numbers, key=len)) <= 16  # fits report.case_number


def test_typing_is_forgiven():
    number = new_case_number(2026)
    body = number.replace("-", "")
    typed = " ".join([body[:4], body[4:8].lower(), body[8:]])
    assert normalise_case_number(typed) == number
    looks_alike = number.replace("1", "l").replace("0", "O")
    assert normalise_case_number(looks_alike) == number


def test_a_mistyped_symbol_or_swapped_neighbours_fail_the_check():
    number = new_case_number(2026)
    alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
    for position in (5, 6, 7, 8, 10, 11, 12, 13):
        for replacement in alphabet:
            if replacement == number[position]:
                continue
            typo = number[:position] + replacement + number[position + 1 :]
            with pytest.raises(InvalidCaseNumber):
                normalise_case_number(typo)
    for text in ("", "2026-0042", "2026-ABCD-EFG", "2026-ABCD-EFGHX", "ÄÄÄÄ", "x" * 100):
        with pytest.raises(InvalidCaseNumber):
            normalise_case_number(text)

"""A case the officer cannot read answers exactly like a case that does not exist (issue 14:
no key gave 403 and a missing number 404, which told any officer which case numbers exist)."""

from __future__ import annotations

import pytest

from tests.support.cases import as_officer, file_report, snapshot
from tests.support.forms import csrf_token
from tests.support.officers import logged_in, make_officer
from whistle.cases import service
from whistle.db.tables import AuditEntry
from whistle.errors import CaseUnreadable


def _missing(number: str) -> str:
    """A case number of the same shape that matches no case."""
    year, _, rest = number.partition("-")
    return f"{year}-{'9' * len(rest)}" if rest != "9" * len(rest) else f"{year}-{'8' * len(rest)}"


def _same_page(unreadable, missing, number: str) -> None:
    assert unreadable.status_code == missing.status_code == 404
    assert unreadable.text.replace(number, _missing(number)) == missing.text


async def test_an_unreadable_case_and_a_missing_one_get_the_same_answer(client, ctx):
    await make_officer(ctx, "tina", ["triage"])
    tom_id = await make_officer(ctx, "tom", ["triage"])
    await make_officer(ctx, "ivan", ["investigator"])  # never assigned
    number, _ = await file_report(ctx, excluded=[tom_id])

    for name in ("tom", "ivan"):
        client.cookies.clear()
        await logged_in(client, ctx, name)
        unreadable = await client.get(f"/officer/cases/{number}")
        missing = await client.get(f"/officer/cases/{_missing(number)}")
        _same_page(unreadable, missing, number)
        assert "Kasus tidak ditemukan" in missing.text

        before = await snapshot(number)
        token = await csrf_token(client, "/officer/account")
        for action, data in (
            ("notes", {"body": "catatan"}),
            ("recuse", {"recusal_reason": "saudara"}),
            ("transition", {"transition": "verify", "reason": "cek"}),
        ):
            unreadable = await client.post(
                f"/officer/cases/{number}/{action}", data={**data, "_csrf_token": token}
            )
            missing = await client.post(
                f"/officer/cases/{_missing(number)}/{action}", data={**data, "_csrf_token": token}
            )
            _same_page(unreadable, missing, number)
        assert await snapshot(number) == before


async def test_a_triage_action_on_an_unreadable_case_answers_like_a_missing_one(client, ctx):
    await make_officer(ctx, "tina", ["triage"])
    tom_id = await make_officer(ctx, "tom", ["triage"])
    ivan_id = await make_officer(ctx, "ivan", ["investigator"])
    number, _ = await file_report(ctx, excluded=[tom_id])
    await logged_in(client, ctx, "tom")
    token = await csrf_token(client, "/officer/account")
    for action, data in (
        ("assign", {"officer_id": str(ivan_id)}),
        ("triage", {"priority": "urgent"}),
    ):
        unreadable = await client.post(
            f"/officer/cases/{number}/{action}", data={**data, "_csrf_token": token}
        )
        missing = await client.post(
            f"/officer/cases/{_missing(number)}/{action}", data={**data, "_csrf_token": token}
        )
        _same_page(unreadable, missing, number)


async def test_the_service_raises_one_error_for_unreadable_and_missing_cases(ctx):
    await make_officer(ctx, "tina", ["triage"])  # someone must be left to read it
    tom_id = await make_officer(ctx, "tom", ["triage"])
    number, _ = await file_report(ctx, excluded=[tom_id])
    tom = await as_officer(ctx, "tom")
    errors = []
    for case_number in (number, _missing(number)):
        with pytest.raises(CaseUnreadable) as refused:
            await service.open_case(ctx, tom, case_number)
        errors.append((type(refused.value), refused.value.status_code, refused.value.detail))
    assert errors[0] == errors[1]
    # Nothing about either attempt is recorded as an opening.
    assert await AuditEntry.count().where(AuditEntry.action == "case.opened") == 0

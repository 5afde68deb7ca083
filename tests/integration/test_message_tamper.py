"""A database writer cannot swap, reorder or move messages unnoticed: each ciphertext is bound
to its id, report, author kind, position and the message before it. A tampered row is shown as
"pesan rusak" to officers and to the reporter; nothing crashes."""

from __future__ import annotations

from tests.support.cases import as_officer, file_report
from tests.support.forms import CSRF_FIELD
from tests.support.officers import logged_in, make_officer
from tests.support.release import publish
from whistle.cases import service
from whistle.db.tables import CaseMessage, Report
from whistle.intake import service as intake

TEXTS = ["Pertanyaan pertama dari tim.", "Jawaban pelapor.", "Pertanyaan kedua dari tim."]


async def _dialogue(ctx) -> tuple[str, str, list[dict]]:
    """A case with three messages (officer, reporter, officer); returns its number, code and
    the message rows in dialogue order."""
    tina = await as_officer(ctx, "tina")
    number, code = await file_report(ctx)
    await service.send_message(tina, number, TEXTS[0])
    report_id, data_key = await intake.unlock_with_code(ctx, code)
    await intake.send_reporter_message(ctx, report_id, data_key, TEXTS[1])
    await publish(ctx)
    await service.send_message(tina, number, TEXTS[2])
    rows = (
        await CaseMessage.select()
        .where(CaseMessage.report == report_id)
        .order_by(CaseMessage.position)
    )
    return number, code, rows


async def _texts(ctx, number: str) -> list[str | None]:
    view = await service.open_case(ctx, await as_officer(ctx, "tina"), number)
    return [message.text for message in view.messages]


async def test_untouched_dialogue_opens(ctx):
    await make_officer(ctx, "tina", ["triage"])
    number, _, rows = await _dialogue(ctx)
    assert [row["position"] for row in rows] == [1, 2, 3]
    assert await _texts(ctx, number) == TEXTS


async def test_swapped_ciphertexts_are_detected(ctx):
    await make_officer(ctx, "tina", ["triage"])
    number, _, rows = await _dialogue(ctx)
    first, _, third = rows
    await CaseMessage.update({CaseMessage.body: third["body"]}).where(CaseMessage.id == first["id"])
    await CaseMessage.update({CaseMessage.body: first["body"]}).where(CaseMessage.id == third["id"])
    assert await _texts(ctx, number) == [None, TEXTS[1], None]


async def test_reordered_messages_are_detected(ctx):
    await make_officer(ctx, "tina", ["triage"])
    number, _, rows = await _dialogue(ctx)
    first, second, third = rows
    # Give the last message the first place and the other way round (ids and bodies stay).
    await CaseMessage.update({CaseMessage.position: 3, CaseMessage.previous: second["id"]}).where(
        CaseMessage.id == first["id"]
    )
    await CaseMessage.update({CaseMessage.position: 1, CaseMessage.previous: None}).where(
        CaseMessage.id == third["id"]
    )
    # The moved ones do not open in their new place, and the answer between them no longer
    # follows the message it was written after.
    assert await _texts(ctx, number) == [None, None, None]

    # Changing only the author kind breaks a message too.
    number, _, rows = await _dialogue(ctx)
    await CaseMessage.update({CaseMessage.author: "officer"}).where(CaseMessage.id == rows[1]["id"])
    assert await _texts(ctx, number) == [TEXTS[0], None, TEXTS[2]]


async def test_a_message_moved_to_another_report_is_detected(client, ctx):
    await make_officer(ctx, "tina", ["triage"])
    number, code, rows = await _dialogue(ctx)
    other, _ = await file_report(ctx)
    other_id = (await Report.select(Report.id).where(Report.case_number == other).first())["id"]
    await CaseMessage.update({CaseMessage.report: other_id}).where(CaseMessage.id == rows[2]["id"])
    view = await service.open_case(ctx, await as_officer(ctx, "tina"), other)
    assert [m.text for m in view.messages] == [None]
    # The first report lost its last message; what is left still opens.
    assert await _texts(ctx, number) == TEXTS[:2]

    # Deleting a message in the middle leaves its successor out of the chain.
    await CaseMessage.delete().where(CaseMessage.id == rows[0]["id"])
    assert await _texts(ctx, number) == [None]

    # Both sides see "pesan rusak" on their pages instead of an error.
    await logged_in(client, ctx, "tina")
    page = await client.get(f"/officer/cases/{other}")
    assert page.status_code == 200 and "Pesan rusak" in page.text
    token = CSRF_FIELD.search((await client.get("/track")).text).group(1)
    status = await client.post("/track", data={"tracking_code": code, "_csrf_token": token})
    assert status.status_code == 200 and "Pesan rusak" in status.text
    session = await client.post("/api/v1/session", json={"tracking_code": code})
    bearer = {"Authorization": f"Bearer {session.json()['token']}"}
    listed = (await client.get("/api/v1/report/messages", headers=bearer)).json()
    assert [(m["body"], m["damaged"]) for m in listed] == [(None, True)]

"""Messages between the reporter and the case team: the whole dialogue through the pages and
through the API, the limits, the inbox marks, and the hourly release of reporter messages."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from bench.inbox import TRIAGE_ID, fake_cases, seed_postgres, seed_sqlite
from tests.integration.test_cases_inbox import PLAN_CASES, _full_scan_of_report, _plan
from tests.support.cases import as_officer, file_report, post_case
from tests.support.forms import CSRF_FIELD
from tests.support.officers import logged_in, make_officer
from tests.support.release import publish
from whistle.audit.verify import verify_chain
from whistle.cases import inbox, service
from whistle.cases.inbox import InboxFilter
from whistle.db import engine as db
from whistle.db.tables import AuditEntry, CaseMessage, PendingItem, Report
from whistle.errors import CaseUnreadable, ValidationFailed
from whistle.intake import service as intake
from whistle.reports.messages import MESSAGE_MAX, OFFICER, REPORTER

QUESTION = "Di loket mana tepatnya, dan jam berapa kejadiannya?"
ANSWER = "Loket 3, sekitar pukul 09.30, petugas berkacamata."


async def _open_status_page(client, code: str) -> str:
    token = CSRF_FIELD.search((await client.get("/track")).text).group(1)
    page = await client.post("/track", data={"tracking_code": code, "_csrf_token": token})
    assert page.status_code == 200
    return page.text


async def _answer_on_status_page(client, text: str):
    token = CSRF_FIELD.search((await client.get("/track/report")).text).group(1)
    return await client.post("/track/messages", data={"body": text, "_csrf_token": token})


async def test_a_dialogue_through_the_pages(client, ctx):
    await make_officer(ctx, "tina", ["triage"])
    number, code = await file_report(ctx)
    await logged_in(client, ctx, "tina")

    # The officer asks on the case page, apart from internal notes.
    asked = await post_case(client, number, "messages", {"message": QUESTION})
    assert asked.status_code == 200
    assert "Pesan untuk pelapor" in asked.text and QUESTION in asked.text
    row = await Report.select(Report.awaiting_reporter).where(Report.case_number == number).first()
    assert row["awaiting_reporter"]

    # The reporter reads it on the status page and answers; their answer shows at once.
    page = await _open_status_page(client, code)
    assert QUESTION in page
    answered = await _answer_on_status_page(client, ANSWER)
    assert answered.status_code == 200
    assert ANSWER in answered.text and "belum diteruskan kepada tim" in answered.text
    assert await CaseMessage.count().where(CaseMessage.author == REPORTER) == 0
    assert await PendingItem.count().where(PendingItem.kind == "message") == 1

    # The team does not see it before the release ...
    case_page = await client.get(f"/officer/cases/{number}")
    assert ANSWER not in case_page.text
    # ... and reads it, after the question, once it is published.
    assert await publish(ctx) == 1
    case_page = await client.get(f"/officer/cases/{number}")
    assert case_page.text.index(QUESTION) < case_page.text.index(ANSWER)
    assert "pesan rusak" not in case_page.text.lower()
    page = (await client.get("/track/report")).text
    assert ANSWER in page and "belum diteruskan kepada tim" not in page
    actions = [row["action"] for row in await AuditEntry.select(AuditEntry.action)]
    assert actions.count("message.sent") == 1 and actions.count("message.received") == 1
    assert (await verify_chain()).ok


async def test_a_dialogue_through_the_api(client, ctx):
    await make_officer(ctx, "tina", ["triage"])
    number, code = await file_report(ctx)
    tina = await as_officer(ctx, "tina")
    await service.send_message(tina, number, QUESTION)

    session = await client.post("/api/v1/session", json={"tracking_code": code})
    bearer = {"Authorization": f"Bearer {session.json()['token']}"}
    listed = await client.get("/api/v1/report/messages", headers=bearer)
    assert listed.status_code == 200
    [question] = listed.json()
    assert question["author"] == OFFICER and question["body"] == QUESTION
    assert not question["damaged"] and not question["pending"]

    sent = await client.post("/api/v1/report/messages", json={"body": ANSWER}, headers=bearer)
    assert sent.status_code == 201, sent.text
    assert sent.json()["body"] == ANSWER and sent.json()["pending"]
    listed = await client.get("/api/v1/report/messages", headers=bearer)
    assert [m["body"] for m in listed.json()] == [QUESTION, ANSWER]

    await publish(ctx)
    view = await service.open_case(ctx, tina, number)
    assert [(m.author, m.text) for m in view.messages] == [(OFFICER, QUESTION), (REPORTER, ANSWER)]
    # A second question after the answer comes after it for both sides.
    await service.send_message(tina, number, "Terima kasih. Apakah ada saksi?")
    listed = await client.get("/api/v1/report/messages", headers=bearer)
    assert [m["author"] for m in listed.json()] == [OFFICER, REPORTER, OFFICER]

    # Without a token there are no messages to read or send.
    assert (await client.get("/api/v1/report/messages")).status_code == 401
    refused = await client.post("/api/v1/report/messages", json={"body": "x"})
    assert refused.status_code == 401


async def test_message_limits_give_clear_messages_and_change_nothing(client, ctx):
    await make_officer(ctx, "tina", ["triage"])
    number, code = await file_report(ctx)
    await logged_in(client, ctx, "tina")
    too_long = "a" * (MESSAGE_MAX + 1)

    refused = await post_case(client, number, "messages", {"message": too_long})
    assert refused.status_code == 422
    assert "Pesan terlalu panjang" in refused.text
    assert too_long in refused.text  # what was typed is kept

    await _open_status_page(client, code)
    refused = await _answer_on_status_page(client, too_long)
    assert refused.status_code == 422
    assert "Pesan terlalu panjang" in refused.text and too_long in refused.text
    blank = await _answer_on_status_page(client, "   ")
    assert blank.status_code == 422 and "Tulis isi pesan" in blank.text

    session = await client.post("/api/v1/session", json={"tracking_code": code})
    bearer = {"Authorization": f"Bearer {session.json()['token']}"}
    problem = await client.post("/api/v1/report/messages", json={"body": too_long}, headers=bearer)
    assert problem.status_code == 422
    assert problem.headers["content-type"].startswith("application/problem+json")
    assert "body" in problem.json()["errors"]
    assert await CaseMessage.count() == 0 and await PendingItem.count() == 0
    exactly = await client.post(
        "/api/v1/report/messages", json={"body": "b" * MESSAGE_MAX}, headers=bearer
    )
    assert exactly.status_code == 201


async def test_inbox_marks_new_unread_and_waiting_cases(client, ctx):
    await make_officer(ctx, "tina", ["triage"])
    tina = await as_officer(ctx, "tina")
    first, first_code = await file_report(ctx)
    second, _ = await file_report(ctx)
    third, _ = await file_report(ctx)

    def numbers(page: inbox.InboxPage) -> set[str]:
        return {row.case_number for row in page.rows}

    async def view(mark: str = "") -> inbox.InboxPage:
        return await inbox.inbox(tina.id, InboxFilter(mark=mark), due_soon_days=3)

    page = await view()
    assert all(row.new for row in page.rows) and page.counts.new == 3
    assert numbers(await view("new")) == {first, second, third}

    # Opening a case page takes its "new" mark; a question makes it wait for the reporter.
    await service.open_case(ctx, tina, first)
    await service.send_message(tina, first, QUESTION)
    await service.open_case(ctx, tina, second)
    page = await view()
    assert page.counts.new == 1 and page.counts.waiting == 1 and page.counts.unread == 0
    assert numbers(await view("new")) == {third}
    assert numbers(await view("waiting")) == {first}
    assert numbers(await view("unread")) == set()

    # The reporter's answer, once published: unread, no longer waiting.
    report_id, data_key = await intake.unlock_with_code(ctx, first_code)
    await intake.send_reporter_message(ctx, report_id, data_key, ANSWER)
    assert numbers(await view("unread")) == set()  # not before the release
    await publish(ctx)
    page = await view()
    assert page.counts.unread == 1 and page.counts.waiting == 0
    assert numbers(await view("unread")) == {first}
    assert [row.unread for row in page.rows if row.case_number == first] == [True]
    # Reading the case takes the mark away.
    await service.open_case(ctx, tina, first)
    assert (await view()).counts.unread == 0

    # The page shows the counts and filters by mark.
    await logged_in(client, ctx, "tina")
    html = (await client.get("/officer?mark=new")).text
    assert re.search(r'class="mark-count-new">1<', html)
    assert third in html and second not in html


async def test_inbox_mark_filters_and_counts_use_their_indexes(database):
    """With realistic volume and statistics: the waiting filter is driven by the few cases
    with a dialogue (partial index), "unread" and "never opened" walk the officer's flagged or
    unopened wraps in the inbox order, and none of them, nor the counts, scans report."""
    cases = fake_cases(PLAN_CASES, marks=False)
    if database.is_sqlite:
        seed_sqlite(database.sqlite_path, cases)
    else:
        await seed_postgres(database.database_url, cases)
    # One case in a hundred has a dialogue: half wait for the reporter, half have answers.
    dialogue = [case.id for case in cases[::100]]
    await Report.update({Report.reporter_messages: 1}).where(Report.id.is_in(dialogue[::2]))
    await Report.update({Report.awaiting_reporter: True}).where(Report.id.is_in(dialogue[1::2]))
    await db.fetch("ANALYZE")
    now = datetime.now(UTC)
    expected = {
        # In deadline order through partial indexes: the officer's wraps flagged with an
        # unseen answer in their copy of the inbox order (migration t14), the cases waiting
        # for the reporter (migration 2026-11-29T08).
        "unread": "report_key_unseen_answer",
        "waiting": "report_inbox_waiting",
        # The officer's unopened wraps in their copy of the inbox order (migration t14).
        "new": "report_key_unopened_due",
    }
    for mark, index in expected.items():
        text, args = inbox.inbox_sql(
            TRIAGE_ID, InboxFilter(mark=mark), now=now, due_soon_days=3, small=False
        )
        plan = await _plan(text, args)
        assert index in plan and not _full_scan_of_report(plan), (mark, plan)
    counts = inbox.mark_counts_sql(small=False, cap=PLAN_CASES // 1000)
    plan = await _plan(counts, inbox.mark_counts_args(TRIAGE_ID))
    assert not _full_scan_of_report(plan), plan
    # The unread count reads the officer's wraps flagged with an unseen answer (t14).
    assert "report_key_unseen_answer" in plan and "report_awaiting_reporter" in plan, plan


async def test_a_refused_message_to_a_case_without_key_is_not_found(ctx):
    await make_officer(ctx, "tina", ["triage"])
    number, _ = await file_report(ctx)
    await make_officer(ctx, "late", ["triage"])  # joined after: holds no key
    late = await as_officer(ctx, "late")

    with pytest.raises(CaseUnreadable):
        await service.send_message(late, number, QUESTION)
    with pytest.raises(ValidationFailed):
        await service.send_message(await as_officer(ctx, "tina"), number, "")
    assert await CaseMessage.count() == 0


REPORTERS = 10  # a shuffle of 10 keeps submission order by chance once in 3.6 million


def _order(rows: list[dict], key: str, submitted: list[str]) -> list[int]:
    """Positions in submission order of the messages, sorted by ``key``."""
    ours = sorted((row for row in rows if str(row["id"]) in submitted), key=lambda r: r[key])
    return [submitted.index(str(row["id"])) for row in ours]


async def test_reporter_messages_carry_no_order_against_officers_or_submission(ctx):
    await make_officer(ctx, "tina", ["triage"])
    tina = await as_officer(ctx, "tina")
    worked, _ = await file_report(ctx)
    codes = []
    for _ in range(REPORTERS):
        codes.append((await file_report(ctx))[1])
    keys = [await intake.unlock_with_code(ctx, code) for code in codes]

    submitted = []
    for index, (report_id, data_key) in enumerate(keys):
        sent = await intake.send_reporter_message(ctx, report_id, data_key, f"Jawaban {index}")
        submitted.append(str(sent.id))
        # Officer actions with exact times between the reporters' messages.
        await service.send_message(tina, worked, f"Pertanyaan {index}")
        await service.add_note(tina, worked, f"Catatan {index}")
    officer_seq = (
        await AuditEntry.select(AuditEntry.seq).order_by(AuditEntry.seq, ascending=False).first()
    )["seq"]
    assert await CaseMessage.count().where(CaseMessage.author == REPORTER) == 0

    assert await publish(ctx) == REPORTERS
    rows = await CaseMessage.select().where(CaseMessage.author == REPORTER)
    assert sorted(str(row["id"]) for row in rows) == sorted(submitted)
    assert all(row["at"].minute == 0 and row["at"].second == 0 for row in rows)
    received = await AuditEntry.select().where(AuditEntry.action == "message.received")
    assert len(received) == REPORTERS
    assert min(entry["seq"] for entry in received) > officer_seq
    assert all(entry["at"].minute == 0 and entry["at"].second == 0 for entry in received)

    numbers = {
        row["id"]: row["case_number"] for row in await Report.select(Report.id, Report.case_number)
    }
    by_case = {numbers[row["report"]]: str(row["id"]) for row in rows}
    audit_rows = [{"id": by_case[e["case_number"]], "seq": e["seq"]} for e in received]
    orders = {
        "audit seq": _order(audit_rows, "seq", submitted),
        "message id": _order(rows, "id", submitted),
    }
    if db.is_sqlite():
        physical = await db.fetch("SELECT rowid AS position, id FROM case_message")
    else:
        physical = await db.fetch(
            "SELECT (ctid::text::point)[0] * 100000 + (ctid::text::point)[1] AS position, "
            "id FROM case_message"
        )
        xmins = await db.fetch(
            "SELECT DISTINCT xmin::text AS x FROM case_message WHERE author = 'reporter'"
        )
        assert len(xmins) == 1
    orders["case_message rowid/ctid"] = _order(physical, "position", submitted)
    # Every officer message of the period sits before the reporters' messages physically.
    officer_rows = {
        str(r["id"]) for r in await CaseMessage.select().where(CaseMessage.author == OFFICER)
    }
    positions = {str(row["id"]): row["position"] for row in physical}
    assert max(positions[i] for i in officer_rows) < min(positions[i] for i in submitted)
    for name, order in orders.items():
        assert sorted(order) == list(range(REPORTERS)), name
        assert order != list(range(REPORTERS)), f"{name} follows submission order"
    assert (await verify_chain()).ok

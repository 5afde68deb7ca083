"""The audit viewer at /officer/audit and its CSV export: who may see them, filters, pages."""

from __future__ import annotations

import csv
import io
import itertools
import re
from datetime import UTC, datetime

from tests.support.audit import append_one
from tests.support.officers import logged_in, make_officer
from whistle.audit import actions, append
from whistle.audit.verify import verify_chain
from whistle.db import engine as db
from whistle.db.tables import AuditEntry

ENTRY_ROW = re.compile(r'<tr id="entry-(\d+)">')
LINK = re.compile(r'<a class="button secondary" (?:rel="(prev|next)" )?href="([^"]+)">')


def shown_seqs(html: str) -> list[int]:
    return [int(seq) for seq in ENTRY_ROW.findall(html)]


def links(html: str) -> dict[str, str]:
    """The pagination links by their rel (prev = newer, next = older)."""
    return {rel: href.replace("&amp;", "&") for rel, href in LINK.findall(html) if rel}


async def as_role(client, ctx, role: str):
    await make_officer(ctx, f"{role}1", [role])
    return await logged_in(client, ctx, f"{role}1")


async def test_admin_and_auditor_see_the_log_others_do_not(client, ctx):
    anonymous = await client.get("/officer/audit", follow_redirects=False)
    assert anonymous.status_code == 303
    assert anonymous.headers["location"].startswith("/officer/login?next=")
    anonymous_export = await client.get("/officer/audit/export.csv", follow_redirects=False)
    assert anonymous_export.status_code == 303
    for role in ("triage", "investigator"):
        await as_role(client, ctx, role)
        assert (await client.get("/officer/audit")).status_code == 403
        assert (await client.get("/officer/audit/export.csv")).status_code == 403
    assert await AuditEntry.count().where(AuditEntry.action == actions.AUDIT_EXPORTED) == 0
    for role in ("admin", "auditor"):
        await as_role(client, ctx, role)
        page = await client.get("/officer/audit")
        assert page.status_code == 200
        assert "Log Audit" in page.text
        # The officers just added are in the log, newest first.
        assert shown_seqs(page.text) == sorted(shown_seqs(page.text), reverse=True)
        assert "auditor1" in page.text if role == "auditor" else "admin1" in page.text


async def test_filters_by_actor_action_and_case(client, ctx):
    await as_role(client, ctx, "auditor")
    first = await append_one(actions.CASE_OPENED, "siti", "2026-0001")
    second = await append_one(actions.CASE_NOTE_ADDED, "siti", "2026-0002")
    third = await append_one(actions.CASE_OPENED, "budi", "2026-0002")
    by_actor = await client.get("/officer/audit", params={"actor": "siti"})
    assert shown_seqs(by_actor.text) == [second.seq, first.seq]
    by_action = await client.get("/officer/audit", params={"action": actions.CASE_OPENED})
    assert shown_seqs(by_action.text) == [third.seq, first.seq]
    by_case = await client.get("/officer/audit", params={"case": "2026-0002"})
    assert shown_seqs(by_case.text) == [third.seq, second.seq]
    combined = await client.get(
        "/officer/audit", params={"case": "2026-0002", "action": actions.CASE_OPENED}
    )
    assert shown_seqs(combined.text) == [third.seq]
    assert "budi" in combined.text and 'value="2026-0002"' in combined.text
    nothing = await client.get("/officer/audit", params={"actor": "nobody"})
    assert shown_seqs(nothing.text) == []
    assert "Tidak ada entri yang cocok" in nothing.text


async def test_date_filter_uses_wib_days(client, ctx):
    await as_role(client, ctx, "auditor")

    async def at(moment: datetime):
        async with db.transaction():
            return await append(actions.SETTING_CHANGED, actor="clock", at=moment)

    late_27th = await at(datetime(2026, 11, 27, 16, 59, 59, tzinfo=UTC))  # 23:59:59 WIB, 27th
    early_28th = await at(datetime(2026, 11, 27, 17, 0, 0, tzinfo=UTC))  # 00:00 WIB, 28th
    late_28th = await at(datetime(2026, 11, 28, 16, 59, 59, 999999, tzinfo=UTC))
    early_29th = await at(datetime(2026, 11, 28, 17, 0, 0, tzinfo=UTC))

    async def between(start: str, end: str) -> list[int]:
        params = {"actor": "clock", "date_from": start, "date_to": end}
        response = await client.get("/officer/audit", params=params)
        assert response.status_code == 200
        return shown_seqs(response.text)

    assert await between("2026-11-28", "2026-11-28") == [late_28th.seq, early_28th.seq]
    assert await between("2026-11-27", "2026-11-27") == [late_27th.seq]
    assert await between("2026-11-29", "") == [early_29th.seq]
    assert await between("", "2026-11-27") == [late_27th.seq]


async def test_bad_filters_are_shown_beside_the_fields_with_the_values_kept(client, ctx):
    await as_role(client, ctx, "admin")
    response = await client.get(
        "/officer/audit",
        params={
            "actor": "siti",
            "action": "officer.unknown",
            "date_from": "2026-11-30",
            "date_to": "2026-11-01",
        },
    )
    assert response.status_code == 422
    assert 'id="f-action-error"' in response.text
    assert 'id="f-date_to-error"' in response.text
    assert 'value="siti"' in response.text and 'value="2026-11-30"' in response.text
    assert shown_seqs(response.text) == []
    not_a_date = await client.get("/officer/audit", params={"date_from": "28/11/2026"})
    assert not_a_date.status_code == 422 and 'id="f-date_from-error"' in not_a_date.text


async def test_pages_of_one_hundred_newest_first(client, ctx):
    await as_role(client, ctx, "auditor")
    async with db.transaction():
        seqs = [(await append(actions.LOGIN, actor="bulk")).seq for _ in range(230)]
    newest_first = sorted(seqs, reverse=True)
    first = await client.get("/officer/audit", params={"actor": "bulk"})
    assert shown_seqs(first.text) == newest_first[:100]
    assert "prev" not in links(first.text)
    second = await client.get("/officer/audit" + links(first.text)["next"])
    assert shown_seqs(second.text) == newest_first[100:200]
    third = await client.get("/officer/audit" + links(second.text)["next"])
    assert shown_seqs(third.text) == newest_first[200:]
    assert "next" not in links(third.text)
    assert "actor=bulk" in links(third.text)["prev"]  # the filter is kept across pages
    back = await client.get("/officer/audit" + links(third.text)["prev"])
    assert shown_seqs(back.text) == newest_first[100:200]
    back_again = await client.get("/officer/audit" + links(back.text)["prev"])
    assert shown_seqs(back_again.text) == newest_first[:100]
    assert "prev" not in links(back_again.text)


async def read_csv(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.text)))


async def test_csv_export_streams_the_filtered_log_and_is_audited_once(client, ctx):
    await as_role(client, ctx, "auditor")
    opened = await append_one(actions.CASE_OPENED, "siti", "2026-0001")
    await append_one(actions.CASE_NOTE_ADDED, "siti", "2026-0001")
    await append_one(actions.CASE_OPENED, "budi", "2026-0002")
    before = await AuditEntry.count()
    response = await client.get(
        "/officer/audit/export.csv", params={"actor": "siti", "action": actions.CASE_OPENED}
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    rows = await read_csv(response)
    assert rows[0] == [
        "seq",
        "at_utc",
        "actor",
        "action",
        "case_number",
        "details",
        "prev_hash",
        "entry_hash",
    ]
    assert [row[0] for row in rows[1:]] == [str(opened.seq)]
    assert rows[1][2:5] == ["siti", actions.CASE_OPENED, "2026-0001"]
    assert rows[1][7] == opened.entry_hash
    # Exactly one new entry: the export itself, naming who exported what.
    assert await AuditEntry.count() == before + 1
    exported = await AuditEntry.select().where(AuditEntry.action == actions.AUDIT_EXPORTED)
    assert len(exported) == 1
    assert exported[0]["actor"] == "auditor1"
    assert exported[0]["details"] == ('{"filters":{"action":"case.opened","actor":"siti"}}')
    assert (await verify_chain()).ok


async def test_an_unfiltered_export_holds_the_log_up_to_its_own_entry(client, ctx):
    await as_role(client, ctx, "admin")
    await append_one(actions.LOGIN, "siti")
    response = await client.get("/officer/audit/export.csv")
    rows = (await read_csv(response))[1:]
    export_entry = await AuditEntry.select().where(AuditEntry.action == actions.AUDIT_EXPORTED)
    assert [int(row[0]) for row in rows] == list(range(1, export_entry[0]["seq"]))
    # Each row's link: an offline copy can check the chain it holds.
    for previous, row in itertools.pairwise(rows):
        assert row[6] == previous[7]


async def test_csv_cells_cannot_become_spreadsheet_formulas(client, ctx):
    await as_role(client, ctx, "auditor")
    for actor in ('=HYPERLINK("http://x")', "+1+1", "-2+3", "@SUM(A1)", "plain"):
        await append_one(actions.LOGIN_FAILED, actor, None, {"reason": "bad_credentials"})
    response = await client.get(
        "/officer/audit/export.csv", params={"action": actions.LOGIN_FAILED}
    )
    actors = [row[2] for row in (await read_csv(response))[1:]]
    assert actors == ['\'=HYPERLINK("http://x")', "'+1+1", "'-2+3", "'@SUM(A1)", "plain"]


async def test_an_export_with_bad_filters_exports_and_records_nothing(client, ctx):
    await as_role(client, ctx, "auditor")
    response = await client.get("/officer/audit/export.csv", params={"date_from": "yesterday"})
    assert response.status_code == 422
    assert await AuditEntry.count().where(AuditEntry.action == actions.AUDIT_EXPORTED) == 0

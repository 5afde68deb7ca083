"""The hourly release of reporter writes (threat model 2): pending until the period ends, then
published in one transaction, in random order, after the period's officer actions."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from tests.support.cases import as_officer, file_report
from tests.support.forms import CODE, CSRF_FIELD, VALID_REPORT
from tests.support.officers import logged_in, make_officer
from tests.support.postgres import free_port
from tests.support.release import publish
from tests.support.server import server_env
from whistle.audit.verify import verify_chain
from whistle.cases.service import add_note, apply_transition
from whistle.clock import WIB, release_period_end
from whistle.context import Context
from whistle.db import engine as db
from whistle.db.tables import AuditEntry, PendingItem, Report, ReportKey, StatusEvent
from whistle.intake import service as intake
from whistle.intake.release import RELEASE_JOB, publish_pending
from whistle.intake.schemas import validate_report
from whistle.jobs import run_due_jobs
from whistle.officers.login import LoginRefused, authenticate

REPORTS = 10  # a shuffle of 10 keeps submission order by chance once in 3.6 million


async def _submit(ctx: Context, **fields: str) -> str:
    receipt = await intake.submit_report(ctx, validate_report({**VALID_REPORT, **fields}))
    return receipt.tracking_code


async def _report_id(ctx: Context, code: str) -> str:
    report_id, _ = await intake.unlock_with_code(ctx, code)
    return str(report_id)


async def _highest(table, column) -> int:
    row = await table.select(column).order_by(column, ascending=False).first()
    return row[column._meta.name]


def _order(rows: list[dict], key: str, submitted: list[str]) -> list[int]:
    """Positions in submission order of the reports, sorted by ``key``."""
    ours = [row for row in rows if str(row["report"]) in submitted]
    ours.sort(key=lambda row: row[key])
    seen = list(dict.fromkeys(str(row["report"]) for row in ours))
    return [submitted.index(report) for report in seen]


async def test_published_rows_carry_no_order_against_officers_or_submission(ctx):
    await make_officer(ctx, "tina", ["triage"])
    earlier, _ = await file_report(ctx)  # published before this hour: officers work on it
    officer = await as_officer(ctx, "tina")
    codes = []
    for index in range(REPORTS):
        codes.append(await _submit(ctx, location=f"Loket {index}"))
        # Officer actions with exact times between the submissions, and a failed login (which
        # anyone on the internet can cause) as an outside anchor.
        if index == 3:
            await apply_transition(ctx, officer, earlier, "verify", reason="Cukup.")
        await add_note(officer, earlier, f"Catatan {index}")
        if index == 6:
            with pytest.raises(LoginRefused):
                await authenticate(ctx, "tina", "not the password at all")
    assert await Report.count() == 1
    officer_seq = await _highest(AuditEntry, AuditEntry.seq)
    officer_events = await _highest(StatusEvent, StatusEvent.id)
    officer_keys = await _highest(ReportKey, ReportKey.id)

    assert await publish(ctx) == REPORTS
    submitted = [await _report_id(ctx, code) for code in codes]
    assert await PendingItem.count() == 0

    # Audit: every report.received after every officer entry of the hour, at the hour.
    numbers = {
        row["case_number"]: str(row["id"])
        for row in await Report.select(Report.id, Report.case_number).where(
            Report.id.is_in(submitted)
        )
    }
    received = await AuditEntry.select().where(
        (AuditEntry.action == "report.received") & AuditEntry.case_number.is_in(list(numbers))
    )
    assert len(received) == REPORTS
    assert min(entry["seq"] for entry in received) > officer_seq
    assert all(entry["at"].minute == 0 and entry["at"].second == 0 for entry in received)
    audit_rows = [{"report": numbers[e["case_number"]], "seq": e["seq"]} for e in received]

    events = await StatusEvent.select(StatusEvent.id, StatusEvent.report).where(
        StatusEvent.report.is_in(submitted)
    )
    assert len(events) == REPORTS
    assert min(event["id"] for event in events) > officer_events
    keys = await ReportKey.select(ReportKey.id, ReportKey.report).where(
        ReportKey.report.is_in(submitted)
    )
    assert min(key["id"] for key in keys) > officer_keys
    by_number = [{"report": report, "number": number} for number, report in numbers.items()]

    orders = {
        "audit seq": _order(audit_rows, "seq", submitted),
        "status_event id": _order(events, "id", submitted),
        "report_key id": _order(keys, "id", submitted),
        "case number": _order(by_number, "number", submitted),
    }
    if db.is_sqlite():
        physical = await db.fetch("SELECT rowid AS position, id AS report FROM report")
        event_rows = await db.fetch("SELECT rowid AS position, report FROM status_event")
    else:
        # ctid as (page, line) numbers; xmin: one transaction wrote them all.
        physical = await db.fetch(
            "SELECT (ctid::text::point)[0] * 100000 + (ctid::text::point)[1] AS position, "
            "id AS report FROM report"
        )
        event_rows = await db.fetch(
            "SELECT (ctid::text::point)[0] * 100000 + (ctid::text::point)[1] AS position, "
            "report FROM status_event"
        )
        xmins = await db.fetch(
            "SELECT DISTINCT xmin::text AS x FROM report WHERE id = ANY({}::uuid[])", submitted
        )
        assert len(xmins) == 1
    orders["report rowid/ctid"] = _order(physical, "position", submitted)
    orders["status_event rowid/ctid"] = _order(event_rows, "position", submitted)
    in_submission_order = list(range(REPORTS))
    for name, order in orders.items():
        assert sorted(order) == in_submission_order, name
        assert order != in_submission_order, f"{name} follows submission order"
    assert (await verify_chain()).ok


async def test_reporter_opens_the_report_before_it_is_published(client, ctx):
    response = await client.get("/report")
    token = CSRF_FIELD.search(response.text).group(1)
    receipt = await client.post("/report", data={**VALID_REPORT, "_csrf_token": token})
    code = CODE.search(receipt.text).group(1)
    assert await Report.count() == 0 and await PendingItem.count() == 1

    token = CSRF_FIELD.search((await client.get("/track")).text).group(1)
    page = await client.post("/track", data={"tracking_code": code, "_csrf_token": token})
    assert page.status_code == 200
    assert VALID_REPORT["description"] in page.text
    assert "Diterima" in page.text
    assert "rilis berikutnya" in page.text  # it reaches the team at the next release

    session = await client.post("/api/v1/session", json={"tracking_code": code})
    bearer = {"Authorization": f"Bearer {session.json()['token']}"}
    view = await client.get("/api/v1/report", headers=bearer)
    assert view.status_code == 200 and view.json()["status"] == "received"

    await publish(ctx)
    assert await Report.count() == 1 and await PendingItem.count() == 0
    # The same session keeps working: now from the published report.
    after = await client.get("/api/v1/report", headers=bearer)
    assert after.status_code == 200
    assert after.json()["report"]["description"] == VALID_REPORT["description"]
    page = await client.get("/track/report")
    assert "rilis berikutnya" not in page.text


async def test_release_waits_for_the_end_of_the_period(ctx):
    await _submit(ctx)
    now = datetime.now(UTC)
    end = release_period_end(now, ctx.settings.release_minutes)
    assert await publish_pending(ctx, end - timedelta(microseconds=1)) == 0
    assert not await RELEASE_JOB.due(ctx, None, end - timedelta(microseconds=1))
    assert await RELEASE_JOB.due(ctx, None, end)
    # Long after (a worker that was down): still released, once.
    later = end + timedelta(days=2)
    assert await run_due_jobs(ctx, [RELEASE_JOB], holder="w1", now=later) == [RELEASE_JOB.name]
    assert await Report.count() == 1
    assert await run_due_jobs(ctx, [RELEASE_JOB], holder="w1", now=later) == []
    assert await Report.count() == 1


async def test_concurrent_releases_publish_each_item_once(ctx):
    for _ in range(6):
        await _submit(ctx)
    later = datetime.now(UTC) + timedelta(hours=2)
    counts = await asyncio.gather(*(publish_pending(ctx, later) for _ in range(3)))
    assert sum(counts) == 6
    for _ in range(3):
        await _submit(ctx)
    ran = await asyncio.gather(
        *(run_due_jobs(ctx, [RELEASE_JOB], holder=f"w{n}", now=later) for n in range(3))
    )
    assert sum(len(names) for names in ran) == 1  # the lease: one worker ran it
    assert await Report.count() == 9
    assert await ReportKey.count().where(ReportKey.holder == "reporter") == 9
    assert await AuditEntry.count().where(AuditEntry.action == "report.received") == 9
    assert (await verify_chain()).ok


def _start_server(settings, log: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    with log.open("ab") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "whistle.cli", "serve", "--port", str(port)],
            env=server_env(settings),
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        assert process.poll() is None, log.read_text()
        try:
            httpx.get(base + "/", timeout=1)
            return process, base
        except httpx.HTTPError:
            assert time.monotonic() < deadline, "server did not start"
            time.sleep(0.1)


def _file(base: str) -> str:
    created = httpx.post(base + "/api/v1/reports", json=VALID_REPORT, timeout=30)
    assert created.status_code == 201
    return created.json()["tracking_code"]


async def test_kill_minus_nine_loses_nothing_and_publishes_once(settings, tmp_path):
    log = tmp_path / "server.log"
    process, base = _start_server(settings, log)
    try:
        codes = [await asyncio.to_thread(_file, base) for _ in range(3)]
    finally:
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=20)
    process, base = _start_server(settings, log)
    try:
        codes.append(await asyncio.to_thread(_file, base))
        engine = await db.open_database(settings)
        try:
            ctx = Context.create(settings)
            assert await PendingItem.count() == 4
            later = datetime.now(UTC) + timedelta(hours=1)
            assert await run_due_jobs(ctx, [RELEASE_JOB], holder="w", now=later) == [
                "intake.release"
            ]
            assert await publish_pending(ctx, later + timedelta(hours=1)) == 0
            assert await Report.count() == 4
            assert await AuditEntry.count().where(AuditEntry.action == "report.received") == 4
            for code in codes:
                assert await _report_id(ctx, code)
        finally:
            await db.close_database(engine)
        session = await asyncio.to_thread(
            httpx.post, base + "/api/v1/session", json={"tracking_code": codes[0]}
        )
        assert session.status_code == 200
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=20)


async def test_inbox_says_reports_arrive_in_hourly_batches(client, ctx):
    await make_officer(ctx, "tina", ["triage"])
    await logged_in(client, ctx, "tina")
    page = await client.get("/officer/")
    assert page.status_code == 200
    assert "Laporan baru masuk dalam kelompok per jam" in page.text
    next_release = release_period_end(datetime.now(UTC), 60).astimezone(WIB)
    assert "Rilis berikutnya: " in page.text
    assert next_release.strftime("%H.%M") in page.text
    english = await client.get("/officer/?lang=en")
    assert "Reports arrive in hourly batches" in english.text

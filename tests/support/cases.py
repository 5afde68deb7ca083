"""Helpers for the case tests: file reports through intake, act as an officer at service level."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx

from tests.support.forms import VALID_REPORT, csrf_token
from tests.support.officers import session_for
from tests.support.release import publish
from whistle.cases import service as cases_service
from whistle.context import Context
from whistle.db.tables import AuditEntry, Report, ReportKey, StatusEvent
from whistle.evidence import store as evidence
from whistle.intake import service as intake
from whistle.intake.schemas import validate_report
from whistle.officers.auth import CurrentOfficer, load_current_officer

CASE_LINK = re.compile(r'href="/officer/cases/([0-9]{4}-[0-9A-Z-]+)"')


async def file_report(
    ctx: Context, *, excluded: list[int] | None = None, **fields: str
) -> tuple[str, str]:
    """File a report through intake and publish it; returns (case number, tracking code)."""
    receipt = await intake.submit_report(
        ctx, validate_report({**VALID_REPORT, **fields}, excluded=excluded or [])
    )
    await publish(ctx)
    report_id, _ = await intake.unlock_with_code(ctx, receipt.tracking_code)
    row = await Report.select(Report.case_number).where(Report.id == report_id).first()
    return row["case_number"], receipt.tracking_code


async def attach_text_file(
    ctx: Context, username: str, case_number: str, text: bytes = b"catatan petugas\n"
) -> uuid.UUID:
    """Attach a small text file to a case as the officer, through the real service; its id."""

    async def pieces() -> AsyncIterator[bytes]:
        yield text

    async def receive(report_id: uuid.UUID, data_key: bytes) -> list[evidence.SealedFile]:
        budget = evidence.Budget(files=1, bytes=len(text), file_bytes=len(text))
        hour = datetime.now(UTC)
        return [
            await evidence.receive_file(report_id, data_key, "catatan.txt", pieces(), budget, hour)
        ]

    officer = await as_officer(ctx, username)
    [sealed] = await cases_service.add_officer_files(officer, case_number, receive)
    return sealed.id


async def send_with_file(
    ctx: Context, username: str, case_number: str, text: str, name: str, data: bytes
) -> uuid.UUID:
    """Send the reporter a message with one file as the officer, through the real service;
    the message's id."""

    async def pieces() -> AsyncIterator[bytes]:
        yield data

    async def receive(report_id: uuid.UUID, data_key: bytes):
        budget = evidence.Budget(files=1, bytes=len(data), file_bytes=len(data))
        hour = datetime.now(UTC)
        sealed = await evidence.receive_file(report_id, data_key, name, pieces(), budget, hour)
        return text, [sealed]

    officer = await as_officer(ctx, username)
    return await cases_service.send_message_with_files(officer, case_number, receive)


async def as_officer(ctx: Context, username: str) -> CurrentOfficer:
    """The officer as a request sees them: their private key unlocked through a session."""
    officer = await load_current_officer(ctx, await session_for(ctx, username))
    assert officer is not None
    return officer


async def snapshot(case_number: str) -> dict:
    """What a refused action must leave unchanged."""
    row = await Report.select().where(Report.case_number == case_number).first()
    return {
        "report": row,
        "events": await StatusEvent.count().where(StatusEvent.report == row["id"]),
        "audit": await AuditEntry.count(),
        "wraps": await ReportKey.count().where(ReportKey.report == row["id"]),
    }


async def post_case(
    client: httpx.AsyncClient, case_number: str, action: str, data: dict
) -> httpx.Response:
    """POST one of the case page's forms with the CSRF token the page carries."""
    token = await csrf_token(client, f"/officer/cases/{case_number}")
    return await client.post(
        f"/officer/cases/{case_number}/{action}", data={**data, "_csrf_token": token}
    )

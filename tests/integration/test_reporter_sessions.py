"""Reporter sessions: idle and absolute expiry, logout, and what the session table reveals."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.support.forms import VALID_REPORT
from tests.support.release import publish_for
from whistle.db.tables import Report, WebSession


async def _session(client) -> tuple[str, dict[str, str]]:
    created = (await client.post("/api/v1/reports", json=VALID_REPORT)).json()
    await publish_for(client)
    token = (
        await client.post("/api/v1/session", json={"tracking_code": created["tracking_code"]})
    ).json()["token"]
    return token, {"Authorization": f"Bearer {token}"}


async def test_idle_session_expires_and_is_deleted(client):
    _, bearer = await _session(client)
    assert (await client.get("/api/v1/report", headers=bearer)).status_code == 200
    await WebSession.update(
        {WebSession.last_seen_at: datetime.now(UTC) - timedelta(hours=1)}, force=True
    )
    assert (await client.get("/api/v1/report", headers=bearer)).status_code == 401
    assert await WebSession.count() == 0


async def test_absolute_lifetime_ends_a_busy_session(client):
    _, bearer = await _session(client)
    await WebSession.update({WebSession.expires_at: datetime.now(UTC)}, force=True)
    assert (await client.get("/api/v1/report", headers=bearer)).status_code == 401


async def test_session_row_holds_neither_token_nor_report_link(client):
    token, _ = await _session(client)
    row = await WebSession.objects().first()
    report = await Report.objects().first()
    assert row.kind == "reporter" and row.officer is None
    assert token not in row.lookup
    assert str(report.id).encode() not in row.secret and report.id.bytes not in row.secret


def _on_the_hour(moment: datetime) -> bool:
    return (moment.minute, moment.second, moment.microsecond) == (0, 0, 0)


async def test_reporter_session_row_keeps_times_to_the_hour(client):
    _, bearer = await _session(client)
    assert (await client.get("/api/v1/report", headers=bearer)).status_code == 200
    row = await WebSession.objects().first()
    for moment in (row.created_at, row.last_seen_at, row.expires_at):
        assert _on_the_hour(moment), moment
    now = datetime.now(UTC)
    assert row.created_at <= now < row.last_seen_at <= row.created_at + timedelta(hours=2)
    assert row.expires_at > now

"""The audit CSV export records itself only when it completed, and validates its filters before
streaming (issue 14: ``date_from=0001-01-01`` was recorded as exported, then cut the stream)."""

from __future__ import annotations

import pytest
from litestar.exceptions import LitestarException

from tests.integration.test_audit_viewer import as_role, read_csv
from tests.support.audit import append_one, disable_append_only_triggers
from whistle.audit import actions
from whistle.db import engine as db
from whistle.db.tables import AuditEntry


async def _exports() -> int:
    return await AuditEntry.count().where(AuditEntry.action == actions.AUDIT_EXPORTED)


@pytest.mark.parametrize(
    "params",
    [
        {"date_from": "0001-01-01"},
        {"date_to": "9999-12-31"},
        {"date_from": "1999-12-31"},
        {"date_to": "2101-01-01"},
        {"actor": "siti\x00"},
        {"case": "2026-\x00"},
    ],
)
async def test_audit_export_with_out_of_range_filters_is_refused_before_streaming(
    client, ctx, params
):
    await as_role(client, ctx, "auditor")
    await append_one(actions.LOGIN, "siti")
    response = await client.get("/officer/audit/export.csv", params=params)
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("text/html")
    assert await _exports() == 0
    # The viewer refuses the same filters the same way.
    page = await client.get("/officer/audit", params=params)
    assert page.status_code == 422


async def test_audit_export_within_the_supported_years_streams_and_is_recorded(client, ctx):
    await as_role(client, ctx, "auditor")
    entry = await append_one(actions.LOGIN, "siti")
    response = await client.get(
        "/officer/audit/export.csv", params={"date_from": "2000-01-01", "date_to": "2100-12-31"}
    )
    assert response.status_code == 200
    assert str(entry.seq) in [row[0] for row in await read_csv(response)]
    assert await _exports() == 1


async def test_a_failed_audit_export_is_not_recorded_as_done(client, ctx):
    await as_role(client, ctx, "auditor")
    for _ in range(3):
        await append_one(actions.LOGIN, "siti")
    # An entry the export cannot read (a database writer's doing): the stream fails mid-way.
    await disable_append_only_triggers()
    await db.fetch("UPDATE audit_entry SET details = {} WHERE seq = 3", "{not json")
    with pytest.raises(LitestarException, match="after response started"):
        await client.get("/officer/audit/export.csv")  # headers were sent: the stream is cut
    assert await _exports() == 0

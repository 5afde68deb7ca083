"""Publish what reporters submitted, as the worker's release would once the period has ended."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx

from whistle.context import Context
from whistle.db.tables import PendingItem, Report
from whistle.intake.release import publish_pending


async def publish(ctx: Context, *, now: datetime | None = None) -> int:
    """Run the real release at ``now`` (default: one period from now, so every pending item is
    due). Returns how many items it published."""
    later = datetime.now(UTC) + timedelta(minutes=ctx.settings.release_minutes)
    return await publish_pending(ctx, now or later)


def app_context(client: httpx.AsyncClient) -> Context:
    """The Context of the app a test client talks to (the ``client`` fixture's ASGI app)."""
    transport = client._transport
    assert isinstance(transport, httpx.ASGITransport)
    return transport.app.state["ctx"]  # type: ignore[attr-defined]


async def publish_for(client: httpx.AsyncClient) -> int:
    """``publish`` with the Context of the client's app."""
    return await publish(app_context(client))


async def filed_reports() -> int:
    """Reports filed so far, published or still waiting for the release."""
    return await Report.count() + await PendingItem.count().where(PendingItem.kind == "report")

"""Reading key holders back in tests: wraps carry holder tags, the roster maps tags to ids."""

from __future__ import annotations

from whistle.db.tables import Officer
from whistle.reports.envelope import holder_tag


async def officer_ids_of(rows: list[dict]) -> set[int]:
    """The officer ids behind report_key rows selected with their ``holder_tag``."""
    by_tag = {holder_tag(row["id"]): row["id"] for row in await Officer.select(Officer.id)}
    return {by_tag[row["holder_tag"]] for row in rows if row["holder_tag"] in by_tag}

"""Usernames are unique even when two administrators add the same one at the same moment."""

from __future__ import annotations

import asyncio

from tests.support.officers import DEFAULT_PASSWORD
from whistle.db.tables import AuditEntry, Officer
from whistle.errors import Conflict
from whistle.officers.service import add_officer


async def test_concurrent_adds_of_one_name_give_one_officer_and_a_clear_conflict(ctx):
    results = await asyncio.gather(
        *(
            add_officer(ctx, username="siti", password=DEFAULT_PASSWORD, roles=["triage"])
            for _ in range(2)
        ),
        return_exceptions=True,
    )
    assert sum(isinstance(result, int) for result in results) == 1
    assert [type(result) for result in results if not isinstance(result, int)] == [Conflict]
    assert await Officer.count() == 1
    assert await AuditEntry.count() == 1, "the refused add left no audit entry"

"""Helpers for audit tests: appending entries, and tampering with the table the way an attacker
with database access would (bypassing the append-only triggers)."""

from __future__ import annotations

from typing import Any

from whistle.audit import actions, append
from whistle.db import engine as db

SAMPLE_ACTIONS = [
    (actions.LOGIN, "siti", None, {}),
    (actions.CASE_OPENED, "siti", "2026-0001", {}),
    (actions.CASE_STATUS_CHANGED, "siti", "2026-0001", {"from": "received", "to": "verification"}),
    (actions.REPORT_RECEIVED, "reporter", "2026-0002", {"category": "pungli"}),
    (actions.CASE_NOTE_ADDED, "budi", "2026-0002", {}),
    (actions.LOGOUT, "siti", None, {}),
]


async def append_one(
    action: str = actions.LOGIN,
    actor: str = "siti",
    case_number: str | None = None,
    details: dict[str, Any] | None = None,
):
    async with db.transaction():
        return await append(action, actor=actor, case_number=case_number, details=details)


async def append_samples(count: int = len(SAMPLE_ACTIONS)) -> None:
    for index in range(count):
        action, actor, case_number, details = SAMPLE_ACTIONS[index % len(SAMPLE_ACTIONS)]
        await append_one(action, actor, case_number, details)


async def disable_append_only_triggers() -> None:
    """What an attacker holding the database does first (the tests' PostgreSQL user is the
    superuser that owns the table)."""
    if db.is_sqlite():
        await db.fetch("DROP TRIGGER IF EXISTS audit_entry_no_update")
        await db.fetch("DROP TRIGGER IF EXISTS audit_entry_no_delete")
    else:
        await db.fetch("ALTER TABLE audit_entry DISABLE TRIGGER USER")


async def entry_rows() -> list[dict[str, Any]]:
    return await db.fetch("SELECT * FROM audit_entry ORDER BY seq")

"""The append-only, hash-chained audit log.

Each entry's hash is SHA-256(previous hash + canonical JSON of the entry), so altering, deleting
or reordering any past entry breaks every hash after it. ``append`` must run inside the
transaction of the action it records: if the entry cannot be written, the action rolls back.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from whistle.audit.actions import ALL_ACTIONS
from whistle.db import engine as db
from whistle.db.tables import AuditEntry

GENESIS_HASH = "0" * 64
# Any constant: PostgreSQL transactions that append take this advisory lock, so appends are
# strictly ordered across app instances. SQLite's IMMEDIATE transactions already serialise writers.
_POSTGRES_APPEND_LOCK = 0x5748_4953_544C  # "WHISTL"


@dataclass(frozen=True)
class AuditRecord:
    seq: int
    at: datetime
    actor: str
    action: str
    case_number: str | None
    details: dict[str, Any]
    prev_hash: str
    entry_hash: str


def canonical_json(value: Any) -> str:
    """Deterministic JSON: sorted keys, no whitespace, UTF-8 kept as is."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def entry_hash(
    *,
    prev_hash: str,
    seq: int,
    at: datetime,
    actor: str,
    action: str,
    case_number: str | None,
    details: dict[str, Any],
) -> str:
    """The chain hash of one entry; ``verify`` recomputes exactly this."""
    body = canonical_json(
        {
            "seq": seq,
            "at": at.astimezone(UTC).isoformat(),
            "actor": actor,
            "action": action,
            "case_number": case_number,
            "details": details,
        }
    )
    return hashlib.sha256((prev_hash + body).encode()).hexdigest()


async def append(
    action: str,
    *,
    actor: str,
    case_number: str | None = None,
    details: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> AuditRecord:
    """Append one entry to the chain. Call it inside the action's own ``db.transaction()``.

    ``details`` must hold only non-secret workflow facts (ids, statuses, role names): never report
    text, tracking codes, passwords or keys.
    """
    if action not in ALL_ACTIONS:
        raise ValueError(f"unknown audit action {action!r}: add it to whistle.audit.actions")
    details = details or {}
    at = (at or datetime.now(UTC)).astimezone(UTC)
    if not db.is_sqlite():
        await db.fetch("SELECT pg_advisory_xact_lock({})", _POSTGRES_APPEND_LOCK)
    head = (
        await AuditEntry.select(AuditEntry.seq, AuditEntry.entry_hash)
        .order_by(AuditEntry.seq, ascending=False)
        .first()
    )
    seq = head["seq"] + 1 if head else 1
    prev_hash = head["entry_hash"] if head else GENESIS_HASH
    digest = entry_hash(
        prev_hash=prev_hash,
        seq=seq,
        at=at,
        actor=actor,
        action=action,
        case_number=case_number,
        details=details,
    )
    await AuditEntry.insert(
        AuditEntry(
            seq=seq,
            at=at,
            actor=actor,
            action=action,
            case_number=case_number,
            details=canonical_json(details),
            prev_hash=prev_hash,
            entry_hash=digest,
        )
    )
    return AuditRecord(seq, at, actor, action, case_number, details, prev_hash, digest)


def _record(row: dict[str, Any]) -> AuditRecord:
    return AuditRecord(
        seq=row["seq"],
        at=row["at"],
        actor=row["actor"],
        action=row["action"],
        case_number=row["case_number"],
        details=json.loads(row["details"]),
        prev_hash=row["prev_hash"],
        entry_hash=row["entry_hash"],
    )


async def case_history(case_number: str) -> list[AuditRecord]:
    """Every entry about one case, oldest first (shown on the case page)."""
    rows = (
        await AuditEntry.select()
        .where(AuditEntry.case_number == case_number)
        .order_by(AuditEntry.seq)
    )
    return [_record(row) for row in rows]

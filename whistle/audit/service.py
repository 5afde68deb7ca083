"""The append-only, keyed audit chain.

Each entry's MAC is HMAC-SHA256(chain key, previous MAC + canonical JSON of the entry), with the
chain key in keys/ (``audit_chain.key``), so altering, deleting or reordering any past entry
breaks every MAC after it, and someone who can write only to the database cannot recompute them.
``append`` must run inside the transaction of the action it records: if the entry cannot be
written, the action rolls back.

Chain format versions. Entries written before the chain was keyed carry plain SHA-256 hashes
(format 1). They are not migrated: rewriting them would erase the very evidence they are. Instead
``verify`` accepts format 1 only as an unbroken prefix: once one entry carries a valid MAC, every
later one must, and the first MAC covers the last SHA-256 hash, which pins the whole prefix (a
writer who changes it would have to forge that MAC). A chain with entries but no MAC at all is
refused, so a database writer cannot downgrade the whole log to format 1 and recompute it; the
checkpoint job appends a keyed entry soon after an upgrade, so a real installation never stays
in that state. The columns keep their names (``prev_hash``, ``entry_hash``): both formats are 64
hex characters.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from piccolo.engine.sqlite import TransactionType

from whistle.audit.actions import ALL_ACTIONS
from whistle.db import engine as db
from whistle.db.tables import AuditEntry

GENESIS_HASH = "0" * 64
# The actor of every reporter-originated entry: nothing that could identify the reporter.
REPORTER_ACTOR = "reporter"
# Column sizes (migrations): checked here so both engines refuse the same values.
MAX_ACTOR_CHARS = 80
MAX_CASE_NUMBER_CHARS = 16
# Any constant: PostgreSQL transactions that append take this advisory lock, so appends are
# strictly ordered across app instances. SQLite's IMMEDIATE transactions already serialise writers.
_POSTGRES_APPEND_LOCK = 0x5748_4953_544C  # "WHISTL"


_chain_key: bytes | None = None


def configure_chain_key(key: bytes) -> None:
    """Set the HMAC key of the chain (the app and the CLI do it with the key from keys/)."""
    global _chain_key
    if len(key) < 32:
        raise ValueError("the audit chain key must have at least 32 bytes")
    _chain_key = bytes(key)


def chain_key() -> bytes:
    if _chain_key is None:
        raise RuntimeError("the audit chain key is not configured: create the Context first")
    return _chain_key


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
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )


_encode_string = json.encoder.encode_basestring  # the C encoder behind ensure_ascii=False


def entry_body(
    seq: int, at_iso: str, actor: str, action: str, case_number: str | None, details_json: str
) -> bytes:
    """The canonical JSON of one entry, built from its stored columns.

    Byte for byte ``canonical_json`` of {seq, at, actor, action, case_number, details} when
    ``details_json`` is the canonical JSON of the details (``append`` stores exactly that), but
    built without parsing the details again: a stored text that is not canonical simply yields
    other bytes and fails the MAC. This is the per-entry cost of verification, so keep it lean.
    """
    case_json = "null" if case_number is None else _encode_string(case_number)
    return (
        f'{{"action":{_encode_string(action)},"actor":{_encode_string(actor)},'
        f'"at":{_encode_string(at_iso)},"case_number":{case_json},'
        f'"details":{details_json},"seq":{seq}}}'
    ).encode()


def entry_mac(key: bytes, prev_mac: str, body: bytes) -> str:
    """Chain format 2: HMAC-SHA256(chain key, previous MAC + canonical JSON), in hex."""
    return hmac.digest(key, prev_mac.encode() + body, "sha256").hex()


def legacy_entry_hash(prev_hash: str, body: bytes) -> str:
    """Chain format 1 (before the chain was keyed): SHA-256(previous hash + canonical JSON)."""
    return hashlib.sha256(prev_hash.encode() + body).hexdigest()


def iso_utc(at: datetime) -> str:
    return at.astimezone(UTC).isoformat()


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
    """The chain MAC of one entry under the configured chain key; ``verify`` recomputes this."""
    body = entry_body(seq, iso_utc(at), actor, action, case_number, canonical_json(details))
    return entry_mac(chain_key(), prev_hash, body)


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
    if not actor or len(actor) > MAX_ACTOR_CHARS:
        raise ValueError(f"audit actor must have 1 to {MAX_ACTOR_CHARS} characters")
    if case_number is not None and len(case_number) > MAX_CASE_NUMBER_CHARS:
        raise ValueError(f"audit case number longer than {MAX_CASE_NUMBER_CHARS} characters")
    details_json = canonical_json(details or {})  # refuses what JSON cannot hold, before writing
    # Hash what verify will read back (tuples become lists, keys strings), not the caller's dict.
    details = json.loads(details_json)
    at = (at or datetime.now(UTC)).astimezone(UTC)
    if actor == REPORTER_ACTOR:
        # Threat model 2: reporter-originated events are kept to the hour, whatever the caller.
        at = at.replace(minute=0, second=0, microsecond=0)
    _require_write_transaction()
    if not db.is_sqlite():
        # Held until the action's transaction ends: the next append reads this entry as head.
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
            details=details_json,
            prev_hash=prev_hash,
            entry_hash=digest,
        )
    )
    return AuditRecord(seq, at, actor, action, case_number, details, prev_hash, digest)


def _require_write_transaction() -> None:
    """Refuse to append outside the action's own write transaction.

    Outside one, the head read and the insert would be separate statements (two appends could
    pick the same seq) and the PostgreSQL advisory lock would be released at once. On SQLite the
    transaction must be IMMEDIATE (``db.transaction()``): it takes the write lock at BEGIN, so
    appends queue instead of reading a head that another writer is about to replace.
    """
    transaction = db.current().current_transaction.get()
    if transaction is None:
        raise RuntimeError("audit.append must run inside the action's db.transaction()")
    kind = getattr(transaction, "transaction_type", None)
    if db.is_sqlite() and kind not in (TransactionType.immediate, TransactionType.exclusive):
        raise RuntimeError("audit.append on SQLite needs db.transaction() (BEGIN IMMEDIATE)")


def record_from_row(row: dict[str, Any]) -> AuditRecord:
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
    return [record_from_row(row) for row in rows]

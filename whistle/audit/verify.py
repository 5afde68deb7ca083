"""Recompute the audit chain and name the first entry that breaks it.

The chain is read in batches by keyset pagination on ``seq`` (constant memory whatever its
length). Every entry must have the next sequence number, link to the previous entry's hash and
hash to its own ``entry_hash``. A signed checkpoint adds what the chain alone cannot show: that
it was not cut short (truncation) or recomputed from some point on (rewriting).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from whistle.audit.checkpoint import Checkpoint
from whistle.audit.service import GENESIS_HASH, canonical_json, entry_hash
from whistle.db import engine as db

DEFAULT_BATCH = 5000

# Kinds of problem, first one found wins.
MISSING = "missing"  # the expected seq is absent (deleted entry, or seq edited)
BAD_SEQ = "bad_seq"  # a seq out of the 1, 2, 3, ... order
ALTERED = "altered"  # the entry's content no longer produces its own hash
BROKEN_LINK = "broken_link"  # prev_hash is not the previous entry's hash
TRUNCATED = "truncated"  # the chain ends before the checkpoint's head
REWRITTEN = "rewritten"  # the entry at the checkpoint's seq has another hash

_EXPLANATIONS = {
    MISSING: "entry {seq} is missing (deleted, or its sequence number was changed)",
    BAD_SEQ: "entry {seq} has a sequence number out of order",
    ALTERED: "entry {seq} was altered: its content does not match its hash",
    BROKEN_LINK: "entry {seq} does not link to the entry before it (prev_hash differs)",
    TRUNCATED: "the log was truncated: entry {seq} and later are gone (the checkpoint has them)",
    REWRITTEN: "history was rewritten: entry {seq} no longer has the checkpoint's hash",
}


@dataclass(frozen=True)
class Problem:
    seq: int
    kind: str

    @property
    def explanation(self) -> str:
        return _EXPLANATIONS[self.kind].format(seq=self.seq)


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    entries_checked: int
    head_seq: int
    head_hash: str
    problem: Problem | None = None


_SELECT_BATCH = (
    "SELECT seq, at, actor, action, case_number, details, prev_hash, entry_hash "
    "FROM audit_entry WHERE seq > {} ORDER BY seq LIMIT {}"
)


def _parse_at(value: Any) -> datetime:
    # The engine returns a datetime; a raw SQLite cursor would return piccolo's stored text.
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return datetime.fromisoformat(str(value)).replace(tzinfo=UTC)


def _content_matches(row: dict[str, Any]) -> bool:
    """True when the stored content hashes to the stored entry_hash (and details are canonical,
    so even an edit that keeps the JSON's meaning is caught)."""
    try:
        details = json.loads(row["details"])
    except (TypeError, ValueError):
        return False
    if not isinstance(details, dict) or canonical_json(details) != row["details"]:
        return False
    expected = entry_hash(
        prev_hash=row["prev_hash"],
        seq=row["seq"],
        at=_parse_at(row["at"]),
        actor=row["actor"],
        action=row["action"],
        case_number=row["case_number"],
        details=details,
    )
    return expected == row["entry_hash"]


async def chain_length() -> int:
    """The highest seq (the number of entries of an intact chain)."""
    rows = await db.fetch("SELECT MAX(seq) AS head FROM audit_entry")
    return int(rows[0]["head"] or 0)


async def verify_chain(
    checkpoint: Checkpoint | None = None,
    *,
    batch_size: int = DEFAULT_BATCH,
    progress: Callable[[int], None] | None = None,
) -> VerifyResult:
    """Recompute the whole chain and stop at the first problem.

    ``checkpoint`` (already signature-checked by the caller) must be extended by the chain.
    ``progress`` is called with the number of entries checked in each batch.
    """
    checked = 0
    # The cursor starts below any seq so that a stray entry with seq <= 0 is seen, not skipped.
    cursor = -(2**62)
    previous_seq = 0
    previous_hash = GENESIS_HASH

    def failed(seq: int, kind: str) -> VerifyResult:
        return VerifyResult(False, checked, previous_seq, previous_hash, Problem(seq, kind))

    while True:
        rows = await db.fetch(_SELECT_BATCH, cursor, batch_size)
        if not rows:
            break
        for row in rows:
            seq = row["seq"]
            expected_seq = previous_seq + 1
            if seq > expected_seq:
                return failed(expected_seq, MISSING)
            if seq < expected_seq:
                return failed(seq, BAD_SEQ)
            if not _content_matches(row):
                return failed(seq, ALTERED)
            if row["prev_hash"] != previous_hash:
                return failed(seq, BROKEN_LINK)
            if checkpoint is not None and seq == checkpoint.seq:
                if row["entry_hash"] != checkpoint.entry_hash:
                    return failed(seq, REWRITTEN)
            checked += 1
            previous_seq = seq
            previous_hash = row["entry_hash"]
        cursor = rows[-1]["seq"]
        if progress is not None:
            progress(len(rows))
    if checkpoint is not None and previous_seq < checkpoint.seq:
        return failed(previous_seq + 1, TRUNCATED)
    return VerifyResult(True, checked, previous_seq, previous_hash)

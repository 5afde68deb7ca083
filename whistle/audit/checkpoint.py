"""Signed checkpoints of the audit chain's head, for keeping outside the server.

A checkpoint is a small JSON document: the head's seq and hash, when it was taken, the
fingerprint of the audit verify key and an Ed25519 signature over the canonical JSON of those
fields. Kept offline, it later proves the chain was neither cut short nor recomputed: the entry at
its seq must still exist and still have its hash.

Taking a checkpoint is itself audited: the ``audit.checkpoint`` entry is appended first, and the
checkpoint describes the head *including* that entry (it is the head). Every checkpoint is also
stored in the append-only ``audit_checkpoint`` table, where ``whistle audit verify`` checks each
one (signature under the current or a retired verify key, and the entry's hash), so history
cannot be rewritten behind a checkpoint nobody copied out. The worker takes them automatically
(``whistle.audit.jobs``); only the worker and the CLI ever read the signing key.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from whistle.audit import actions
from whistle.audit.service import append, canonical_json
from whistle.crypto import Keyring
from whistle.db import engine as db
from whistle.db.tables import AuditCheckpoint

FORMAT = "whistle-audit-checkpoint/1"
_SIGNED_FIELDS = ("format", "seq", "entry_hash", "created_at", "key_fingerprint")


class CheckpointError(ValueError):
    """A checkpoint file that is malformed, signed by another key, or has a bad signature."""


@dataclass(frozen=True)
class Checkpoint:
    seq: int
    entry_hash: str
    created_at: str
    key_fingerprint: str
    signature: bytes

    def signed_fields(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "seq": self.seq,
            "entry_hash": self.entry_hash,
            "created_at": self.created_at,
            "key_fingerprint": self.key_fingerprint,
        }

    def to_json(self) -> str:
        document = {**self.signed_fields(), "signature": base64.b64encode(self.signature).decode()}
        return json.dumps(document, indent=2, sort_keys=True) + "\n"


def key_fingerprint(public_key: bytes) -> str:
    """Names the audit verify key a checkpoint was signed with."""
    return "sha256:" + hashlib.sha256(bytes(public_key)).hexdigest()


def _message(fields: dict[str, Any]) -> bytes:
    return canonical_json(fields).encode()


def sign(
    keyring: Keyring,
    *,
    seq: int,
    entry_hash: str,
    created_at: datetime,
    signing_key: bytes | None = None,
) -> Checkpoint:
    """Sign the head (seq, hash, time) with the audit signing key (read now unless given)."""
    unsigned = Checkpoint(
        seq=seq,
        entry_hash=entry_hash,
        created_at=created_at.astimezone(UTC).isoformat(),
        key_fingerprint=key_fingerprint(keyring.audit_verify_key),
        signature=b"",
    )
    signature = keyring.sign_audit(_message(unsigned.signed_fields()), signing_key=signing_key)
    return Checkpoint(**{**unsigned.__dict__, "signature": signature})


async def take_checkpoint(keyring: Keyring, *, actor: str) -> Checkpoint:
    """Append the ``audit.checkpoint`` entry, sign it as the head and store the checkpoint.

    The signing key is read before anything is written, so a process without it changes nothing.
    """
    signing_key = keyring.audit_signing_key
    async with db.transaction():
        head = await append(actions.AUDIT_CHECKPOINT, actor=actor)
        signed = sign(
            keyring,
            seq=head.seq,
            entry_hash=head.entry_hash,
            created_at=head.at,
            signing_key=signing_key,
        )
        await AuditCheckpoint.insert(
            AuditCheckpoint(
                seq=signed.seq,
                entry_hash=signed.entry_hash,
                created_at=head.at,
                key_fingerprint=signed.key_fingerprint,
                signature=base64.b64encode(signed.signature).decode(),
            )
        )
    return signed


def _from_row(row: dict[str, Any]) -> Checkpoint:
    created_at = row["created_at"]
    if isinstance(created_at, datetime):
        created_at = created_at.astimezone(UTC).isoformat()
    try:
        signature = base64.b64decode(str(row["signature"]), validate=True)
    except (binascii.Error, ValueError):
        signature = b""  # refused by check_stored_signature like any bad signature
    return Checkpoint(
        seq=int(row["seq"]),
        entry_hash=str(row["entry_hash"]),
        created_at=str(created_at),
        key_fingerprint=str(row["key_fingerprint"]),
        signature=signature,
    )


async def stored_checkpoints(*, after_seq: int = -(2**62)) -> list[Checkpoint]:
    """The checkpoints in the table (oldest first), from ``after_seq`` on. Nothing is verified."""
    rows = await db.fetch(
        "SELECT seq, entry_hash, created_at, key_fingerprint, signature FROM audit_checkpoint "
        "WHERE seq > {} ORDER BY seq",
        after_seq,
    )
    return [_from_row(row) for row in rows]


async def latest_checkpoint() -> Checkpoint | None:
    """The newest stored checkpoint (as stored: the viewer shows it, verify checks it)."""
    rows = await db.fetch(
        "SELECT seq, entry_hash, created_at, key_fingerprint, signature FROM audit_checkpoint "
        "ORDER BY seq DESC LIMIT 1"
    )
    return _from_row(rows[0]) if rows else None


def check_with_any(checkpoint: Checkpoint, public_keys: tuple[bytes, ...]) -> None:
    """Check the signature with whichever of ``public_keys`` (current and retired) it names."""
    for public_key in public_keys:
        if checkpoint.key_fingerprint == key_fingerprint(public_key):
            check_signature(checkpoint, public_key)
            return
    raise CheckpointError(
        f"the checkpoint at entry {checkpoint.seq} was signed with an unknown audit key "
        f"({checkpoint.key_fingerprint})"
    )


def parse(text: str) -> Checkpoint:
    """Read a checkpoint document; CheckpointError if it is not one (nothing is verified yet)."""
    try:
        document = json.loads(text)
    except ValueError:
        raise CheckpointError("the checkpoint is not valid JSON") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise CheckpointError(f"the checkpoint is not a {FORMAT} document")
    missing = [name for name in (*_SIGNED_FIELDS, "signature") if name not in document]
    if missing:
        raise CheckpointError(f"the checkpoint lacks {', '.join(missing)}")
    seq, digest = document["seq"], document["entry_hash"]
    if not isinstance(seq, int) or isinstance(seq, bool) or seq < 0:
        raise CheckpointError("the checkpoint's seq is not a non-negative integer")
    if not isinstance(digest, str) or len(digest) != 64:
        raise CheckpointError("the checkpoint's entry_hash is not a SHA-256 hex digest")
    if not all(isinstance(document[name], str) for name in ("created_at", "key_fingerprint")):
        raise CheckpointError("the checkpoint's created_at and key_fingerprint must be text")
    try:
        signature = base64.b64decode(str(document["signature"]), validate=True)
    except (binascii.Error, ValueError):
        raise CheckpointError("the checkpoint's signature is not base64") from None
    return Checkpoint(
        seq=seq,
        entry_hash=digest,
        created_at=document["created_at"],
        key_fingerprint=document["key_fingerprint"],
        signature=signature,
    )


def check_signature(checkpoint: Checkpoint, public_key: bytes) -> None:
    """Raise CheckpointError unless ``public_key`` signed exactly these checkpoint fields."""
    if checkpoint.key_fingerprint != key_fingerprint(public_key):
        raise CheckpointError(
            "the checkpoint was signed with another audit key "
            f"({checkpoint.key_fingerprint}, this installation has {key_fingerprint(public_key)})"
        )
    if not Keyring.verify_audit_signature(
        public_key, _message(checkpoint.signed_fields()), checkpoint.signature
    ):
        raise CheckpointError("the checkpoint's signature is not valid: it was altered or forged")

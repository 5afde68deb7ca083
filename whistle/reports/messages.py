"""The dialogue between a reporter and the case team: one ordered chain of encrypted messages.

Position binding: each message names the message its writer saw last (``previous``, None for
the first) and its ``position`` (one more than that message's). Both, with the message's random
id, its report and its author kind, are bound into its ciphertext's associated data
(envelope.seal_message), so the order a reader sees is the order the writers saw: a swapped
body, a row moved to another report or given another place does not open, and a message whose
``previous`` is missing (deleted) or out of place no longer fits the chain. Either way the
reader shows "pesan rusak" for it instead of failing.

A reporter seals a message before the release publishes it, knowing only what they see: the
published messages and their own pending ones. Two writers who saw the same last message get
the same position; they are shown by time, then author, then id (all bound except the time,
which only orders such siblings).

Both sides (intake for the reporter, cases for officers) read and write through this module.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from whistle.crypto import DecryptionError
from whistle.db.tables import CaseMessage
from whistle.errors import ValidationFailed
from whistle.i18n import N_
from whistle.inputs import clean_text, has_control_characters
from whistle.reports import envelope

REPORTER = "reporter"
OFFICER = "officer"
MESSAGE_MAX = 5000


@dataclass(frozen=True)
class SealedMessage:
    """One message as stored: in case_message, or in a pending item until its release."""

    id: uuid.UUID
    report_id: uuid.UUID
    author: str
    position: int
    previous: uuid.UUID | None
    at: datetime
    body: bytes
    officer_id: int | None = None
    officer_name: str | None = None
    pending: bool = False
    # A pending message's release (the end of the period it was written in), None once published.
    release_at: datetime | None = None


@dataclass(frozen=True)
class Message:
    """One message as a reader sees it; ``text`` is None for a damaged one ("pesan rusak")."""

    id: uuid.UUID
    author: str
    position: int
    previous: uuid.UUID | None
    at: datetime
    text: str | None
    officer_name: str | None = None
    pending: bool = False
    release_at: datetime | None = None

    @property
    def damaged(self) -> bool:
        return self.text is None


def check_text(text: str | None, field: str = "body") -> str:
    """The message as it will be sealed, or ValidationFailed naming ``field``."""
    text = clean_text(text)
    if not text:
        raise ValidationFailed({field: N_("Tulis isi pesan.")})
    if has_control_characters(text):
        raise ValidationFailed({field: N_("Isian ini memuat karakter yang tidak diizinkan.")})
    if len(text) > MESSAGE_MAX:
        raise ValidationFailed({field: N_("Pesan terlalu panjang (paling banyak 5.000 huruf).")})
    return text


def _sort_key(message: SealedMessage) -> tuple:
    return (message.position, message.at, message.author, str(message.id))


def open_dialogue(
    report_id: uuid.UUID, data_key: bytes, rows: Iterable[SealedMessage]
) -> list[Message]:
    """The messages in dialogue order, each opened and checked against the chain."""
    ordered = sorted(rows, key=_sort_key)
    positions = {row.id: row.position for row in ordered}
    result = []
    for row in ordered:
        fits = (
            row.position == 1
            if row.previous is None
            else positions.get(row.previous) == row.position - 1
        )
        text: str | None = None
        if fits and row.report_id == report_id:
            try:
                text = envelope.open_message(
                    report_id,
                    data_key,
                    row.id,
                    row.author,
                    row.position,
                    row.previous,
                    row.body,
                )
            except (DecryptionError, UnicodeDecodeError, ValueError):
                text = None
        result.append(
            Message(
                id=row.id,
                author=row.author,
                position=row.position,
                previous=row.previous,
                at=row.at,
                text=text,
                officer_name=row.officer_name,
                pending=row.pending,
                release_at=row.release_at,
            )
        )
    return result


def new_message(
    report_id: uuid.UUID,
    data_key: bytes,
    author: str,
    text: str,
    seen: list[Message],
    at: datetime,
    officer_id: int | None = None,
) -> SealedMessage:
    """Seal a new message placed after the last of ``seen`` (what its writer sees now)."""
    last = seen[-1] if seen else None
    message_id = uuid.uuid4()
    position = last.position + 1 if last else 1
    previous = last.id if last else None
    body = envelope.seal_message(report_id, data_key, message_id, author, position, previous, text)
    return SealedMessage(
        id=message_id,
        report_id=report_id,
        author=author,
        position=position,
        previous=previous,
        at=at,
        body=body,
        officer_id=officer_id,
    )


async def published(report_id: uuid.UUID) -> list[SealedMessage]:
    """The report's published messages as stored (officers' names joined)."""
    rows = await CaseMessage.select(
        CaseMessage.id,
        CaseMessage.author,
        CaseMessage.officer,
        CaseMessage.officer.display_name.as_alias("officer_name"),
        CaseMessage.position,
        CaseMessage.previous,
        CaseMessage.at,
        CaseMessage.body,
    ).where(CaseMessage.report == report_id)
    return [
        SealedMessage(
            id=row["id"],
            report_id=report_id,
            author=row["author"],
            position=row["position"],
            previous=row["previous"],
            at=row["at"],
            body=row["body"],
            officer_id=row["officer"],
            officer_name=row["officer_name"],
        )
        for row in rows
    ]


async def store(message: SealedMessage) -> None:
    """Insert a message into case_message (inside the caller's transaction)."""
    await CaseMessage.insert(
        CaseMessage(
            id=message.id,
            report=message.report_id,
            author=message.author,
            officer=message.officer_id,
            position=message.position,
            previous=message.previous,
            at=message.at,
            body=message.body,
        )
    )

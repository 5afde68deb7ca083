"""Receiving, storing and reading evidence files; nothing here knows about HTTP.

A file arrives as an async stream of byte pieces. Its kind is decided from its first bytes
(``files.detect_type``); a kind that can be cleaned (images, PDF, text, office documents) is
held in memory up to the per-file limit, cleaned (``files.clean``) and then sealed; a kind that
cannot (audio, video) is sealed chunk by chunk as it is read, so memory stays bounded by the
chunk size. Nothing is ever written to disk in plaintext.

Sealed chunks go to ``pending_chunk`` as they are made, outside any transaction (a slow upload
must not hold the database's writer). The file becomes part of its report only when the
caller's transaction commits its record: at once for an officer's file (``attach_officer_file``
moves the chunks into ``attachment_chunk``), at the release for a reporter's (the pending item
of kind "attachment", published by ``publish_reporter_file``, which copies its chunks in random
order). A refused or failed upload deletes its chunks (``discard``); chunks of an upload that
never committed (a killed server) are swept by ``sweep_orphans``.

Sizes: the final chunk is padded to a full chunk (whistle.crypto.stream), so a database copy
shows each file's size only to within 64 KiB; the exact size is inside the sealed metadata.
"""

from __future__ import annotations

import re
import unicodedata
import uuid
from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from whistle.crypto import DecryptionError
from whistle.crypto.stream import CHUNK_BYTES
from whistle.db import engine as db
from whistle.db.tables import Attachment, AttachmentChunk, PendingChunk, PendingItem
from whistle.errors import ValidationFailed
from whistle.evidence import files
from whistle.evidence.files import SNIFF_BYTES, FileType, UnsafeFile
from whistle.i18n import N_
from whistle.reports import envelope

AUTHOR_REPORTER = "reporter"
AUTHOR_OFFICER = "officer"
# The kind of pending item (whistle.intake.release) holding a reporter's file until its release.
PENDING_KIND = "attachment"
# Chunks read from the database at a time when checking or streaming a file (1 MiB).
READ_BATCH = 16
# Sealed chunks written to the database at a time while receiving (512 KiB).
WRITE_BATCH = 8
NAME_MAX = 120
# The name of a file sent without one (stored as is: a name, not interface text).
DEFAULT_STEM = "berkas"
# Chunks of an upload that never committed are swept after this long.
ORPHAN_AGE = timedelta(hours=3)

NOT_ALLOWED = N_("Jenis berkas ini tidak diterima (dilihat dari isinya, bukan dari namanya).")
TOO_LARGE = N_("Berkas terlalu besar.")
TOO_MANY = N_("Jumlah berkas untuk laporan ini sudah mencapai batas.")
REPORT_FULL = N_("Ukuran seluruh berkas laporan ini melebihi batas.")
EMPTY = N_("Berkas kosong.")
CANNOT_CLEAN_WARNING = N_(
    "Jenis berkas ini (audio/video) tidak dapat dibersihkan dari metadata: "
    "rekaman dapat memuat keterangan perangkat, waktu atau lokasi."
)


class FileRefused(ValidationFailed):
    """One file refused: nothing of it is stored. ``name`` is the (sanitised) name the reporter
    chose, so the message can say which file; ``reason`` a translatable msgid."""

    def __init__(self, name: str, reason: str) -> None:
        super().__init__({"files": reason})
        self.name = name
        self.reason = reason
        # The form's other fields read before the file (set by the caller that reads forms),
        # so a refused form comes back as it was typed.
        self.fields: dict = {}
        # The refused file's field and place among the request's files, counted from 0 (set by
        # the caller that reads forms), so an app can tell which of several files it was.
        self.field = "files"
        self.index: int | None = None
        self.sent_name: str | None = None


@dataclass
class Budget:
    """What a report may still take: files and bytes (reporter files only)."""

    files: int
    bytes: int
    file_bytes: int

    def take(self, name: str, size: int) -> None:
        if self.files < 1:
            raise FileRefused(name, TOO_MANY)
        if size > self.bytes:
            raise FileRefused(name, REPORT_FULL)
        self.files -= 1
        self.bytes -= size


@dataclass(frozen=True)
class SealedFile:
    """A received file, sealed and its chunks in ``pending_chunk``, not yet part of a report."""

    id: uuid.UUID
    report_id: uuid.UUID
    name: str
    kind: FileType
    size: int
    removed: tuple[str, ...]
    chunk_count: int
    file_key: bytes
    meta: bytes
    # The message the file was sent with (None for a file on its own).
    message_id: uuid.UUID | None = None

    def to_json(self) -> dict:
        return {
            "id": str(self.id),
            "report": str(self.report_id),
            "kind": self.kind.name,
            "chunks": self.chunk_count,
            "file_key": self.file_key.hex(),
            "meta": self.meta.hex(),
            "message": None if self.message_id is None else str(self.message_id),
        }

    def with_message(self, message_id: uuid.UUID) -> SealedFile:
        """The same file, sent with the message ``message_id``."""
        return replace(self, message_id=message_id)


@dataclass(frozen=True)
class FileInfo:
    """What a file list shows: decrypted name, kind, size and what was removed."""

    id: uuid.UUID
    name: str
    kind: FileType
    size: int
    removed: tuple[str, ...]
    author: str
    uploaded_at: datetime
    # A reporter's file still waiting for the release.
    pending: bool = False
    # The message it was sent with, if any.
    message_id: uuid.UUID | None = None


def sanitise_name(raw: str | None, kind: FileType) -> str:
    """A display and download name: the last path component, no control or format characters,
    at most NAME_MAX characters, ending in the extension of the kind its bytes are."""
    name = unicodedata.normalize("NFC", raw or "")
    name = re.split(r"[/\\]", name)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] not in "CZ" or ch == " ")
    name = name.strip(" .")
    stem, dot, extension = name.rpartition(".")
    if not dot or extension.lower() not in {kind.extension, *_ALIASES.get(kind.name, ())}:
        stem = name
        extension = kind.extension
    stem = stem[: NAME_MAX - len(extension) - 1] or DEFAULT_STEM
    return f"{stem}.{extension}"


def as_sent(raw: str | None) -> str:
    """The name a client sent, to tell it which file was refused: without control or format
    characters, at most NAME_MAX characters (the stored name may differ: see sanitise_name)."""
    name = "".join(ch for ch in raw or "" if unicodedata.category(ch)[0] != "C")
    return name[:NAME_MAX]


_ALIASES = {"jpeg": ("jpeg", "jpe"), "text": ("text", "log", "csv", "md"), "mp4": ("m4v",)}


async def _write_chunks(
    file_id: uuid.UUID, first_index: int, sealed: list[bytes], hour: datetime
) -> None:
    if sealed:
        await PendingChunk.insert(
            *(
                PendingChunk(
                    id=uuid.uuid4(),
                    upload=file_id,
                    idx=first_index + i,
                    data=blob,
                    received_at=hour,
                )
                for i, blob in enumerate(sealed)
            )
        )


class _ChunkWriter:
    """Writes sealed chunks to pending_chunk in batches of WRITE_BATCH (fewer round trips)."""

    def __init__(self, file_id: uuid.UUID, hour: datetime) -> None:
        self.file_id = file_id
        self.hour = hour
        self.pending: list[bytes] = []
        self.written = 0

    async def add(self, sealed: list[bytes]) -> None:
        self.pending += sealed
        if len(self.pending) >= WRITE_BATCH:
            await self.flush()

    async def flush(self) -> None:
        await _write_chunks(self.file_id, self.written, self.pending, self.hour)
        self.written += len(self.pending)
        self.pending = []


async def _slices(data: memoryview, size: int = 4 * CHUNK_BYTES) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield bytes(data[start : start + size])


async def _chain(first: bytes, rest: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    yield first
    async for piece in rest:
        yield piece


async def discard(file_id: uuid.UUID) -> None:
    """Delete the chunks of an upload that will not be committed."""
    with db.long_writes():  # megabytes zeroed (secure_delete): off the event loop
        await PendingChunk.delete().where(PendingChunk.upload == file_id)


async def receive_file(
    report_id: uuid.UUID,
    data_key: bytes,
    raw_name: str | None,
    pieces: AsyncIterable[bytes],
    budget: Budget,
    hour: datetime,
) -> SealedFile:
    """Read one file from ``pieces``, clean it when its kind allows, seal it and store its
    chunks as pending; FileRefused (with nothing stored) for a file not allowed by its bytes,
    empty, over the per-file limit or the report's budget, or refused by cleaning.

    ``budget`` is charged with the file. ``hour`` dates the pending chunks (to the hour)."""
    stream = aiter(pieces)
    head = bytearray()
    while len(head) < SNIFF_BYTES:
        try:
            head += await anext(stream)
        except StopAsyncIteration:
            break
    kind = files.detect_type(bytes(head[:SNIFF_BYTES]))
    name = sanitise_name(raw_name, kind or files.TEXT)
    if not head:
        raise FileRefused(name, EMPTY)
    if kind is None:
        raise FileRefused(name, NOT_ALLOWED)
    if budget.files < 1:
        raise FileRefused(name, TOO_MANY)
    limit = min(budget.file_bytes, budget.bytes)

    def refuse_size(size: int) -> None:
        if size > budget.file_bytes:
            raise FileRefused(name, TOO_LARGE)
        if size > budget.bytes:
            raise FileRefused(name, REPORT_FULL)

    file_id = uuid.uuid4()
    encryptor, wrapped = envelope.file_encryptor(report_id, data_key, file_id)
    if kind.cleanable:
        # Cleaning needs the whole file: held in memory only, up to the per-file limit.
        chunks = [bytes(head)]
        received = len(head)
        del head
        async for piece in stream:
            chunks.append(piece)
            received += len(piece)
            if received > limit:
                refuse_size(received)
        refuse_size(received)
        data = b"".join(chunks)
        del chunks
        try:
            cleaned = files.clean(kind, data)
        except UnsafeFile as refusal:
            raise FileRefused(name, refusal.message) from None
        del data
        removed = cleaned.removed
        plaintext = memoryview(cleaned.data)
        pieces_in: AsyncIterator[bytes] = _slices(plaintext)
    else:
        removed = ()
        pieces_in = _chain(bytes(head), stream)
        del head
    writer = _ChunkWriter(file_id, hour)
    try:
        # Sealed as read (for cleaned kinds: as sliced): written a batch at a time, so beyond the
        # cleaned file itself memory stays bounded by the batch, not the file size.
        async for piece in pieces_in:
            await writer.add(encryptor.update(piece))
            refuse_size(encryptor.size)
        await writer.add([encryptor.finish()])
        await writer.flush()
    except BaseException:
        await discard(file_id)
        raise
    size = encryptor.size
    budget.take(name, size)
    return SealedFile(
        id=file_id,
        report_id=report_id,
        name=name,
        kind=kind,
        size=size,
        removed=removed,
        chunk_count=encryptor.chunks,
        file_key=wrapped,
        meta=envelope.seal_file_meta(report_id, data_key, file_id, name, removed, size),
    )


_MOVE_CHUNKS = (
    "INSERT INTO attachment_chunk (id, attachment, idx, data) "
    "SELECT id, upload, idx, data FROM pending_chunk WHERE upload = {}"
)
# Rows written in random order: neither rowid (SQLite) nor ctid (PostgreSQL) keeps upload order.
_MOVE_CHUNKS_SHUFFLED = _MOVE_CHUNKS + " ORDER BY random()"


async def _move_chunks(file_id: uuid.UUID, *, shuffled: bool) -> None:
    with db.long_writes():  # megabytes copied and zeroed: off the event loop
        await db.fetch(_MOVE_CHUNKS_SHUFFLED if shuffled else _MOVE_CHUNKS, file_id)
        await PendingChunk.delete().where(PendingChunk.upload == file_id)


async def attach_officer_file(sealed: SealedFile, at: datetime) -> None:
    """Make an officer's file part of its case at once (inside the caller's transaction)."""
    await _insert(sealed.id, sealed.report_id, AUTHOR_OFFICER, sealed.to_json(), at)
    await _move_chunks(sealed.id, shuffled=False)


async def publish_reporter_file(record: dict, at: datetime) -> None:
    """Publish a reporter's file held as ``SealedFile.to_json()`` (inside the release's
    transaction, which shuffles the files of a period): its chunk rows in random order."""
    file_id = uuid.UUID(record["id"])
    await _insert(file_id, uuid.UUID(record["report"]), AUTHOR_REPORTER, record, at)
    await _move_chunks(file_id, shuffled=True)


async def _insert(
    file_id: uuid.UUID, report_id: uuid.UUID, author: str, record: dict, at: datetime
) -> None:
    await Attachment.insert(
        Attachment(
            id=file_id,
            report=report_id,
            author=author,
            kind=record["kind"],
            chunk_count=record["chunks"],
            file_key=bytes.fromhex(record["file_key"]),
            meta=bytes.fromhex(record["meta"]),
            uploaded_at=at,
            message_id=uuid.UUID(record["message"]) if record.get("message") else None,
        )
    )


async def orphans_due(now: datetime) -> bool:
    """Whether any pending chunk is old enough that its upload may have died (a sweep is due
    when it belongs to no pending item)."""
    return await PendingChunk.exists().where(PendingChunk.received_at < now - ORPHAN_AGE)


async def sweep_orphans(now: datetime) -> int:
    """Delete pending chunks of uploads that never committed (older than ORPHAN_AGE)."""
    committed = {row["id"] for row in await PendingItem.select(PendingItem.id)}
    rows = await PendingChunk.select(PendingChunk.upload).where(
        PendingChunk.received_at < now - ORPHAN_AGE
    )
    orphans = {row["upload"] for row in rows} - committed
    for upload in orphans:
        await discard(upload)
    return len(orphans)


# --- reading ------------------------------------------------------------------------------


def describe(
    report_id: uuid.UUID,
    data_key: bytes,
    record: dict,
    author: str,
    uploaded_at: datetime,
    *,
    pending: bool = False,
) -> FileInfo:
    """The FileInfo of a stored file (a row of ``attachment`` or a pending record)."""
    file_id = uuid.UUID(str(record["id"]))
    name, removed, size = envelope.open_file_meta(
        report_id, data_key, file_id, bytes.fromhex(record["meta"])
    )
    message = record.get("message")
    return FileInfo(
        id=file_id,
        name=name,
        kind=files.BY_NAME[record["kind"]],
        size=size,
        removed=removed,
        author=author,
        uploaded_at=uploaded_at,
        pending=pending,
        message_id=uuid.UUID(str(message)) if message else None,
    )


def _record(row: dict) -> dict:
    """An ``attachment`` row in the shape of a pending record (what ``describe`` reads)."""
    return {
        "id": row["id"],
        "kind": row["kind"],
        "meta": row["meta"].hex(),
        "message": row["message_id"],
    }


async def files_of(report_id: uuid.UUID, data_key: bytes) -> list[FileInfo]:
    """The report's published files, decrypted for a key holder, by upload time then name."""
    rows = await Attachment.select().where(Attachment.report == report_id)
    infos = [
        describe(
            report_id,
            data_key,
            _record(row),
            row["author"],
            row["uploaded_at"],
        )
        for row in rows
    ]
    return sorted(infos, key=lambda info: (info.uploaded_at, info.name))


async def usage(report_id: uuid.UUID) -> tuple[int, int]:
    """(files, stored bytes) of the report's published reporter files; stored bytes count whole
    chunks, an upper bound of the real sizes."""
    rows = await Attachment.select(Attachment.chunk_count).where(
        (Attachment.report == report_id) & (Attachment.author == AUTHOR_REPORTER)
    )
    return len(rows), sum(row["chunk_count"] for row in rows) * CHUNK_BYTES


@dataclass(frozen=True)
class OpenedFile:
    info: FileInfo
    decryptor: envelope.FileDecryptor
    chunk_count: int

    async def _sealed_chunks(self) -> AsyncIterator[tuple[int, bytes]]:
        for start in range(0, self.chunk_count + 1, READ_BATCH):
            rows = (
                await AttachmentChunk.select(AttachmentChunk.idx, AttachmentChunk.data)
                .where(
                    (AttachmentChunk.attachment == self.info.id)
                    & (AttachmentChunk.idx >= start)
                    & (AttachmentChunk.idx < start + READ_BATCH)
                )
                .order_by(AttachmentChunk.idx)
            )
            for row in rows:
                yield row["idx"], row["data"]

    async def plaintext(self) -> AsyncIterator[bytes]:
        """The file's bytes chunk by chunk; DecryptionError (before anything is yielded for a
        bad chunk) on a missing, extra, moved, reordered or altered chunk."""
        expected = 0
        async for index, sealed in self._sealed_chunks():
            if index != expected or index >= self.chunk_count:
                raise DecryptionError()
            yield self.decryptor.open_chunk(index, sealed, final=index == self.chunk_count - 1)
            expected += 1
        if expected != self.chunk_count:
            raise DecryptionError()

    async def verify(self) -> int:
        """Open every chunk without keeping any: the size, or DecryptionError. Run before a
        download starts, so a damaged file is refused with an error page, not cut short."""
        size = 0
        async for piece in self.plaintext():
            size += len(piece)
        if size != self.info.size:
            raise DecryptionError()
        return size


async def open_file(
    report_id: uuid.UUID, data_key: bytes, file_id: uuid.UUID, *, sent_to_reporter: bool = False
) -> OpenedFile | None:
    """A published file of the report, ready to verify and stream; None if it has none such.
    DecryptionError if its key or metadata do not open.

    ``sent_to_reporter``: only a file an officer sent with a message (what a reporter may
    download); any other file of the report is None, like a missing one."""
    where = (Attachment.id == file_id) & (Attachment.report == report_id)
    if sent_to_reporter:
        where = where & (Attachment.author == AUTHOR_OFFICER) & Attachment.message_id.is_not_null()
    row = await Attachment.select().where(where).first()
    if row is None:
        return None
    info = describe(
        report_id,
        data_key,
        _record(row),
        row["author"],
        row["uploaded_at"],
    )
    decryptor = envelope.file_decryptor(report_id, data_key, file_id, row["file_key"])
    return OpenedFile(info=info, decryptor=decryptor, chunk_count=row["chunk_count"])

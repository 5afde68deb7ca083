"""The file that decides who can decrypt a report: its envelope.

A report's data key (one random AES-256 key per report) encrypts everything anybody wrote about
it: the report itself ("content") and each secret field of the case (reasons, public notes,
internal notes, recusal reasons). Each ciphertext is bound to its report and purpose through the
associated data, so a value copied to another report or column does not open.

The data key itself is stored only wrapped, one row of ``report_key`` per holder:

- the reporter: AES-GCM under the key derived from the tracking code (Argon2id);
- the office: sealed to the office recovery public key (opened offline by ``keys recover``);
- an officer: sealed to that officer's X25519 public key.

Length hiding: every plaintext sealed under the data key is padded before encryption, so a
database copy shows only a size bucket, not how long a narrative, note or exclusion list is.
The padded form is a 4-byte big-endian length, the plaintext, then zero bytes up to the bucket:
the smallest power of two that holds both and is at least the purpose's minimum (4 KiB for the
content, which a report of a few thousand characters fits; 512 bytes for the shorter fields).
Padded ciphertexts are marked at the purpose level: their associated data names the purpose with
a ``+pad1`` suffix, so a padded blob never opens as an unpadded one (or the other way round), and
ciphertexts written before padding existed (plain purpose) still open. Opening checks the length
and that every padding byte is zero; anything else fails like a wrong key.

Holder tags (threat model 3): an officer's wrap row does not name the officer. It carries a tag,
HMAC-SHA256 under a subkey of keys/ (``Keyring.holder_tag_key``) of the officer's id, so a
database copy without keys/ cannot tell whose wraps a report has, hence not who was excluded.
The tag is per officer, not per (officer, report): the inbox and every access check find an
officer's wraps through one indexed equality (report_key_officer: tag, report), which a
per-report tag would turn into one look-up per report. The cost is that all wraps of one
officer share a tag, so activity columns that do name officers (status_event, case_assignment,
recusal) let a copy's reader guess which tag is whose; DESIGN.md states that limit. Rows from
before tags (``officer`` set, no tag) are converted by ``whistle keys retag``; the app refuses
to start while any remain (``untagged_wraps``).

Evidence files are sealed by the streaming AEAD (whistle.crypto.stream) under a fresh key per file;
that key is wrapped here under the data key (purpose ``file_key:<file id>``), and the file's name,
what cleaning removed and its size are one padded field (``file_meta:<file id>``).

Whoever holds no wrap cannot read the report: exclusion by the reporter and recusal mean no wrap
at all, and they are enforced here, at the one place a wrap is created after intake. Every other
module reads and writes report data through this one; ``tests/unit/test_envelope_owner.py`` fails
when code elsewhere calls the sealing primitives for report data. Functions that touch the
database expect to run inside the caller's ``db.transaction()``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from whistle.crypto import (
    DecryptionError,
    StreamDecryptor,
    StreamEncryptor,
    associated_data,
    decrypt,
    encrypt,
    new_data_key,
    seal,
    unseal,
    unwrap_key,
    wrap_key,
)
from whistle.crypto.stream import new_stream_key
from whistle.db import engine as db
from whistle.db.tables import KeyRevocation, Officer, OfficerCaseView, Recusal, Report, ReportKey
from whistle.errors import CaseUnreadable, Conflict
from whistle.i18n import N_
from whistle.reports import statuses
from whistle.reports.content import ReportInput

# Who holds a wrap of the data key (report_key.holder).
HOLDER_REPORTER = "reporter"
HOLDER_OFFICE = "office"
HOLDER_OFFICER = "officer"

# Purposes bound into the associated data of each ciphertext under the data key.
CONTENT = "content"
STATUS_REASON = "status_reason"
PUBLIC_NOTE = "public_note"
NOTE = "note"
RECUSAL = "recusal"
REFERRAL_DETAIL = "referral_detail"  # which unit a case was referred to, in the officer's words
SECRET_FIELDS = frozenset({STATUS_REASON, PUBLIC_NOTE, NOTE, RECUSAL, REFERRAL_DETAIL})
# An evidence file: its own stream key wrapped under the data key, and its name and the list of
# what cleaning removed; both purposes carry the file's id, so neither moves to another file.
FILE_KEY = "file_key"
FILE_META = "file_meta"


# Length hiding (see the module docstring): the marker of padded purposes, and the smallest
# bucket of each purpose.
PADDED_SUFFIX = "+pad1"
MIN_BUCKET = {CONTENT: 4096}
DEFAULT_MIN_BUCKET = 512
_LENGTH_BYTES = 4


def _aad(report_id: uuid.UUID, purpose: str) -> bytes:
    return associated_data(str(report_id), purpose)


def padded_size(purpose: str, length: int) -> int:
    """The bucket a plaintext of ``length`` bytes is padded to under ``purpose``."""
    needed = length + _LENGTH_BYTES
    bucket = MIN_BUCKET.get(purpose, DEFAULT_MIN_BUCKET)
    while bucket < needed:
        bucket *= 2
    return bucket


def _pad(purpose: str, plaintext: bytes) -> bytes:
    size = padded_size(purpose, len(plaintext))
    framed = len(plaintext).to_bytes(_LENGTH_BYTES, "big") + plaintext
    return framed + bytes(size - len(framed))


def _unpad(padded: bytes) -> bytes:
    length = int.from_bytes(padded[:_LENGTH_BYTES], "big")
    end = _LENGTH_BYTES + length
    if len(padded) < end or any(padded[end:]):
        raise DecryptionError()
    return padded[_LENGTH_BYTES:end]


def _seal_padded(report_id: uuid.UUID, data_key: bytes, purpose: str, plaintext: bytes) -> bytes:
    """Pad ``plaintext`` to its bucket and encrypt it under the padded purpose."""
    aad = _aad(report_id, purpose + PADDED_SUFFIX)
    return encrypt(data_key, _pad(purpose, plaintext), aad)


def _open_padded(report_id: uuid.UUID, data_key: bytes, purpose: str, blob: bytes) -> bytes:
    """Open a padded ciphertext, or one sealed before padding existed (plain purpose)."""
    try:
        padded = decrypt(data_key, blob, _aad(report_id, purpose + PADDED_SUFFIX))
    except DecryptionError:
        return decrypt(data_key, blob, _aad(report_id, purpose))
    return _unpad(padded)


def key_purpose(holder: str, officer_id: int | None = None) -> str:
    """The associated-data purpose of one holder's wrap (an officer's is bound to their id)."""
    return f"key:{holder}" if officer_id is None else f"key:{holder}:{officer_id}"


def _key_aad(report_id: uuid.UUID, holder: str, officer_id: int | None = None) -> bytes:
    return _aad(report_id, key_purpose(holder, officer_id))


# An officer account whose password an administrator chose has no key pair until its holder
# sets their own (threat model 7); both key columns hold this empty value meanwhile (they are
# NOT NULL since the first migration, and an empty value needs no table rebuild on SQLite).
NO_KEY_YET = b""


def has_key_pair(public_key: bytes | None) -> bool:
    """Whether an officer's stored public key is a real one that report keys can be sealed to."""
    return bool(public_key)


# --- holder tags ----------------------------------------------------------------------------

_holder_tag_key: bytes | None = None
TAG_CHARS = 32  # 128 bits of HMAC-SHA256, hex


def configure_holder_tag_key(key: bytes) -> None:
    """Set the key of the holder tags (the app and the CLI do it with the key from keys/)."""
    global _holder_tag_key
    if len(key) < 32:
        raise ValueError("the holder tag key must have at least 32 bytes")
    _holder_tag_key = bytes(key)


def holder_tag(officer_id: int) -> str:
    """The tag naming an officer's wraps in report_key and in pending payloads: computable only
    with the key from keys/, the same for every wrap of that officer (so it can be indexed)."""
    if _holder_tag_key is None:
        raise RuntimeError("the holder tag key is not configured: create the Context first")
    message = b"officer:" + str(int(officer_id)).encode()
    return hmac.new(_holder_tag_key, message, hashlib.sha256).hexdigest()[:TAG_CHARS]


# What the app and every command but `whistle keys retag` answer while untagged wraps remain.
UNTAGGED_WRAPS = (
    "{} report key wrap(s) still name their officer: run `whistle keys retag` first "
    "(docs/DEPLOYMENT.md, upgrades)"
)


async def untagged_wraps() -> int:
    """How many officer wraps still name their officer instead of a tag (rows from before
    tags); the app refuses to start until ``whistle keys retag`` has converted them."""
    return await ReportKey.count().where(ReportKey.officer.is_not_null())


async def retag_wraps() -> int:
    """Give every officer wrap that still names its officer the officer's tag and forget the
    id; returns how many rows changed. Run by ``whistle keys retag`` (it holds keys/), in the
    caller's transaction."""
    rows = await ReportKey.select(ReportKey.officer).where(ReportKey.officer.is_not_null())
    changed = 0
    for officer_id in sorted({row["officer"] for row in rows}):
        updated = await (
            ReportKey.update(
                {ReportKey.holder_tag: holder_tag(officer_id), ReportKey.officer: None}
            )
            .where(ReportKey.officer == officer_id)
            .returning(ReportKey.id)
        )
        changed += len(updated)
    return changed


# --- the data key and what it encrypts ----------------------------------------------------


def new_report_key() -> bytes:
    """A fresh data key for one new report."""
    return new_data_key()


def seal_content(report_id: uuid.UUID, data_key: bytes, report: ReportInput) -> bytes:
    """Encrypt the report's content (its JSON form) under its data key."""
    return _seal_padded(report_id, data_key, CONTENT, json.dumps(report.to_json()).encode())


def open_content(report_id: uuid.UUID, data_key: bytes, blob: bytes) -> ReportInput:
    """Decrypt and parse the report's content; DecryptionError if it does not open."""
    return ReportInput.from_json(json.loads(_open_padded(report_id, data_key, CONTENT, blob)))


def seal_field(report_id: uuid.UUID, data_key: bytes, purpose: str, text: str) -> bytes:
    """Encrypt one secret field (``purpose`` is one of SECRET_FIELDS) under the data key."""
    if purpose not in SECRET_FIELDS:
        raise ValueError(f"unknown field purpose: {purpose}")
    return _seal_padded(report_id, data_key, purpose, text.encode())


def open_field(report_id: uuid.UUID, data_key: bytes, purpose: str, blob: bytes) -> str:
    """Decrypt one secret field sealed by seal_field() for the same report and purpose."""
    if purpose not in SECRET_FIELDS:
        raise ValueError(f"unknown field purpose: {purpose}")
    return _open_padded(report_id, data_key, purpose, blob).decode()


# --- legal hold --------------------------------------------------------------------------
# The reason a triage officer gives for holding a case past its retention period: its own
# purpose, so a hold reason never opens as (or from) any other field of the case.
LEGAL_HOLD = "legal_hold"


def seal_hold_reason(report_id: uuid.UUID, data_key: bytes, reason: str) -> bytes:
    """Encrypt a legal hold's reason under the case's data key (padded like the other fields)."""
    return _seal_padded(report_id, data_key, LEGAL_HOLD, reason.encode())


def open_hold_reason(report_id: uuid.UUID, data_key: bytes, blob: bytes) -> str:
    """Decrypt a legal hold's reason sealed by seal_hold_reason() for the same case."""
    return _open_padded(report_id, data_key, LEGAL_HOLD, blob).decode()


# --- evidence files ------------------------------------------------------------------------


def _file_purpose(purpose: str, file_id: uuid.UUID) -> str:
    return f"{purpose}:{file_id}"


def file_encryptor(
    report_id: uuid.UUID, data_key: bytes, file_id: uuid.UUID
) -> tuple[StreamEncryptor, bytes]:
    """A stream encryptor for one new file of the report, and its key wrapped under the data key.

    The file's chunks are sealed under a fresh key of its own (whistle.crypto.stream), bound to
    ``file_id``; the wrapped key is stored beside the file and opens only for this report and id."""
    file_key = new_stream_key()
    wrapped = wrap_key(data_key, file_key, _aad(report_id, _file_purpose(FILE_KEY, file_id)))
    return StreamEncryptor(file_key, file_id.bytes), wrapped


# What file_decryptor() returns, for callers' annotations.
FileDecryptor = StreamDecryptor


def file_decryptor(
    report_id: uuid.UUID, data_key: bytes, file_id: uuid.UUID, wrapped_key: bytes
) -> StreamDecryptor:
    """The decryptor of a file stored with ``wrapped_key``; DecryptionError if it does not open."""
    aad = _aad(report_id, _file_purpose(FILE_KEY, file_id))
    return StreamDecryptor(unwrap_key(data_key, wrapped_key, aad), file_id.bytes)


def seal_file_meta(
    report_id: uuid.UUID,
    data_key: bytes,
    file_id: uuid.UUID,
    name: str,
    removed: Iterable[str],
    size: int,
) -> bytes:
    """Encrypt a file's (sanitised) name, what cleaning removed and its exact size, padded like
    every field."""
    meta = json.dumps({"name": name, "removed": list(removed), "size": size}).encode()
    return _seal_padded(report_id, data_key, _file_purpose(FILE_META, file_id), meta)


def open_file_meta(
    report_id: uuid.UUID, data_key: bytes, file_id: uuid.UUID, blob: bytes
) -> tuple[str, tuple[str, ...], int]:
    """(name, removed labels, size) sealed by seal_file_meta() for the same report and file."""
    meta = json.loads(_open_padded(report_id, data_key, _file_purpose(FILE_META, file_id), blob))
    return meta["name"], tuple(meta["removed"]), meta["size"]


# --- wrapping the data key for each holder ------------------------------------------------


@dataclass(frozen=True)
class Wrap:
    """One holder's wrap of a report's data key, as stored in a report_key row.

    An officer's wrap knows its officer when just made (``officer_id``); one read back from a
    pending payload knows only the officer's holder ``tag``."""

    report_id: uuid.UUID
    holder: str
    wrapped: bytes
    officer_id: int | None = None
    tag: str | None = None

    @property
    def holder_tag(self) -> str | None:
        """The tag stored with an officer's wrap (None for the reporter's and the office's)."""
        if self.tag is not None or self.officer_id is None:
            return self.tag
        return holder_tag(self.officer_id)


def wrap_for_reporter(report_id: uuid.UUID, data_key: bytes, wrapping_key: bytes) -> Wrap:
    """The reporter's wrap: AES-GCM under the key derived from the tracking code."""
    aad = _key_aad(report_id, HOLDER_REPORTER)
    return Wrap(report_id, HOLDER_REPORTER, wrap_key(wrapping_key, data_key, aad))


def wrap_for_office(report_id: uuid.UUID, data_key: bytes, office_public_key: bytes) -> Wrap:
    """The office's wrap: sealed to the office recovery public key."""
    aad = _key_aad(report_id, HOLDER_OFFICE)
    return Wrap(report_id, HOLDER_OFFICE, seal(office_public_key, data_key, aad))


def wrap_for_officer(
    report_id: uuid.UUID, data_key: bytes, officer_id: int, public_key: bytes
) -> Wrap:
    """An officer's wrap: sealed to that officer's public key, bound to their id."""
    aad = _key_aad(report_id, HOLDER_OFFICER, officer_id)
    return Wrap(report_id, HOLDER_OFFICER, seal(public_key, data_key, aad), officer_id)


async def _opened_before(wrap: Wrap) -> bool:
    # Only a wrap made for a known officer (a grant, a recovery) can meet a case_view row; the
    # hourly release's wraps, read back by tag, are of reports nobody has opened yet.
    if wrap.officer_id is None:
        return False
    return await OfficerCaseView.exists().where(
        (OfficerCaseView.officer == wrap.officer_id) & (OfficerCaseView.report == wrap.report_id)
    )


async def _answer_unseen(wrap: Wrap, answers: dict[str, int]) -> bool:
    # A candidate for the unread count: the report has reporter answers that the officer (when
    # known) has not seen all of in case_view. The count checks case_view again.
    count = answers.get(str(wrap.report_id), 0)
    if wrap.holder != HOLDER_OFFICER or count == 0:
        return False
    if wrap.officer_id is None:
        return True
    return not await OfficerCaseView.exists().where(
        (OfficerCaseView.officer == wrap.officer_id)
        & (OfficerCaseView.report == wrap.report_id)
        & (OfficerCaseView.reporter_messages_seen >= count)
    )


async def store_wraps(*wraps: Wrap) -> None:
    """Insert the wraps as report_key rows (inside the caller's transaction), officers' wraps
    under their holder tags and in a random order: inserted in roster order, their serial ids
    would line tags up with officer ids. A wrap given back to an officer who opened the case
    before (granted again, recovered) is stored opened, so "never opened" does not read it, and
    flagged with an unseen answer only when the report has answers they have not seen."""
    shuffled = list(wraps)
    secrets.SystemRandom().shuffle(shuffled)
    answered = await Report.select(Report.id, Report.reporter_messages).where(
        Report.id.is_in(list({wrap.report_id for wrap in shuffled}))
        & (Report.reporter_messages > 0)
    )
    answers = {str(row["id"]): row["reporter_messages"] for row in answered}
    await ReportKey.insert(
        *[
            ReportKey(
                report=wrap.report_id,
                holder=wrap.holder,
                holder_tag=wrap.holder_tag,
                wrapped=wrap.wrapped,
                opened=await _opened_before(wrap),
                unseen_answer=await _answer_unseen(wrap, answers),
            )
            for wrap in shuffled
        ]
    )
    await copy_inbox_order(*{wrap.report_id for wrap in shuffled})


async def replace_reporter_wrap(
    report_id: uuid.UUID, data_key: bytes, lookup_id: str, wrapping_key: bytes, version: int
) -> None:
    """Move a report to a newer tracking-code derivation: new lookup id, version and reporter
    wrap (the same code, derived with the current receipt costs); inside one transaction."""
    wrap = wrap_for_reporter(report_id, data_key, wrapping_key)
    await Report.update({Report.lookup_id: lookup_id, Report.receipt_version: version}).where(
        Report.id == report_id
    )
    await ReportKey.update({ReportKey.wrapped: wrap.wrapped}).where(
        (ReportKey.report == report_id) & (ReportKey.holder == HOLDER_REPORTER)
    )


# --- unwrapping ---------------------------------------------------------------------------


def unwrap_for_reporter(report_id: uuid.UUID, wrapped: bytes, wrapping_key: bytes) -> bytes:
    """The data key from the reporter's wrap; DecryptionError if the code's key does not open it."""
    return unwrap_key(wrapping_key, wrapped, _key_aad(report_id, HOLDER_REPORTER))


async def reporter_wrap(lookup_id: str) -> tuple[uuid.UUID, bytes, int] | None:
    """(report id, reporter's wrap, receipt parameter version) of the report whose tracking
    code has this lookup id."""
    row = await (
        ReportKey.select(
            ReportKey.report, ReportKey.wrapped, ReportKey.report.receipt_version.as_alias("v")
        )
        .where((ReportKey.report.lookup_id == lookup_id) & (ReportKey.holder == HOLDER_REPORTER))
        .first()
    )
    return None if row is None else (row["report"], row["wrapped"], row["v"])


async def officer_data_key(report_id: uuid.UUID, officer_id: int, private_key: bytes) -> bytes:
    """The report's data key, unwrapped with the officer's own private key.

    Raises CaseUnreadable (a PermissionDenied answered as "not found") when no key is wrapped
    for them (never assigned, excluded, recused, revoked, or no such report) or their wrap does
    not open (e.g. a key pair replaced by a password reset)."""
    row = await (
        ReportKey.select(ReportKey.wrapped)
        .where(
            (ReportKey.report == report_id)
            & (ReportKey.holder == HOLDER_OFFICER)
            & (ReportKey.holder_tag == holder_tag(officer_id))
        )
        .first()
    )
    if row is None:
        raise CaseUnreadable()
    try:
        return unseal(private_key, row["wrapped"], _key_aad(report_id, HOLDER_OFFICER, officer_id))
    except DecryptionError:
        raise CaseUnreadable() from None


async def open_contents_for_officer(
    officer_id: int, private_key: bytes, report_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, ReportInput]:
    """The content of each of ``report_ids`` whose key is wrapped for the officer, opened with
    their own private key (two queries for the lot). Reports they hold no key to, or whose wrap
    or content does not open, are left out. Nothing is kept: the caller uses and drops them."""
    ids = list(report_ids)
    if not ids:
        return {}
    wraps = await ReportKey.select(ReportKey.report, ReportKey.wrapped).where(
        (ReportKey.report.is_in(ids))
        & (ReportKey.holder == HOLDER_OFFICER)
        & (ReportKey.holder_tag == holder_tag(officer_id))
    )
    held = {row["report"]: row["wrapped"] for row in wraps}
    if not held:
        return {}
    rows = await Report.select(Report.id, Report.content).where(Report.id.is_in(list(held)))
    opened = {}
    for row in rows:
        report_id = row["id"]
        try:
            data_key = unseal(
                private_key, held[report_id], _key_aad(report_id, HOLDER_OFFICER, officer_id)
            )
            opened[report_id] = open_content(report_id, data_key, row["content"])
        except DecryptionError:
            continue
    return opened


async def office_data_key(report_id: uuid.UUID, office_private_key: bytes) -> bytes | None:
    """The data key from the office's wrap (key recovery), or None if the report has none."""
    row = await (
        ReportKey.select(ReportKey.wrapped)
        .where((ReportKey.report == report_id) & (ReportKey.holder == HOLDER_OFFICE))
        .first()
    )
    if row is None:
        return None
    return unseal(office_private_key, row["wrapped"], _key_aad(report_id, HOLDER_OFFICE))


# --- who holds the key --------------------------------------------------------------------


async def holds_key(report_id: uuid.UUID, officer_id: int) -> bool:
    """Whether the officer holds a wrap of the report's key."""
    return await ReportKey.exists().where(
        (ReportKey.report == report_id)
        & (ReportKey.holder == HOLDER_OFFICER)
        & (ReportKey.holder_tag == holder_tag(officer_id))
    )


async def reports_held_by(officer_id: int) -> set[uuid.UUID]:
    """Ids of every report whose key the officer holds."""
    rows = await ReportKey.select(ReportKey.report).where(
        (ReportKey.holder == HOLDER_OFFICER) & (ReportKey.holder_tag == holder_tag(officer_id))
    )
    return {row["report"] for row in rows}


async def mark_opened(report_id: uuid.UUID, officer_id: int) -> None:
    """Record on the officer's own wrap that they opened the case (inside the caller's
    transaction, where case_view is written, with every reporter answer the case has): the
    inbox's "never opened" mark reads the wraps not opened yet through their partial index
    (report_key_unopened), its unread count those with an unseen answer. Other holders' wraps
    are untouched: the case stays new and unread for them."""
    await db.fetch(
        # The flag is recomputed from case_view as written, not just cleared: an answer
        # published meanwhile by the release (another transaction) keeps it set.
        "UPDATE report_key SET opened = true, unseen_answer = (SELECT r.reporter_messages > "
        "COALESCE((SELECT v.reporter_messages_seen FROM case_view v WHERE v.officer = {} "
        "AND v.report = r.id), 0) FROM report r WHERE r.id = report_key.report) "
        "WHERE report = {} AND holder = {} AND holder_tag = {} AND (NOT opened OR unseen_answer)",
        officer_id,
        report_id,
        HOLDER_OFFICER,
        holder_tag(officer_id),
    )


async def copy_inbox_order(*report_ids: uuid.UUID) -> None:
    """Copy the reports' place in the inbox order (open rank, running deadline, case number) and
    status to their officers' wraps (inside the caller's transaction): "never opened" and
    "unread answer" walk the officer's unopened or flagged wraps in that order through their
    partial indexes (report_key_unopened_due, report_key_unseen_answer), and the other pages
    find their report ids in report_key_inbox_order; each stops after a page. Called where
    wraps are stored and where a case's status or deadlines change (the workflow transition)."""
    if not report_ids:
        return
    listed = ", ".join(["{}"] * len(report_ids))
    copied = "SELECT {} FROM report r WHERE r.id = report_key.report"
    await db.fetch(
        # Constant fragments only: the ids travel as placeholders.
        f"UPDATE report_key SET inbox_rank = ({copied.format(statuses.OPEN_RANK_SQL)}), "  # noqa: S608
        f"inbox_due = ({copied.format(statuses.DUE_SQL)}), "
        f"inbox_case = ({copied.format('r.case_number')}), "
        f"inbox_status = ({copied.format('r.status')}) "
        f"WHERE report IN ({listed}) AND holder = {{}}",
        *report_ids,
        HOLDER_OFFICER,
    )


async def mark_answer_unseen(report_id: uuid.UUID) -> None:
    """Flag every officer wrap of the report as holding a reporter answer its officer has not
    seen (inside the transaction that publishes the answer): the inbox's unread count reads
    these few wraps through their partial index (report_key_unseen_answer), each checked
    against case_view. Opening the case clears the opener's flag (``mark_opened``)."""
    await ReportKey.update({ReportKey.unseen_answer: True}).where(
        (ReportKey.report == report_id)
        & (ReportKey.holder == HOLDER_OFFICER)
        & (ReportKey.unseen_answer == False)  # noqa: E712 (SQL, not Python)
    )


async def officer_holders(report_id: uuid.UUID) -> list[dict]:
    """The officers holding the report's key (id, username, display_name), by display name.

    The wraps carry only tags: the roster's tags are computed here (keys/ at hand) and matched."""
    rows = await ReportKey.select(ReportKey.holder_tag).where(
        (ReportKey.report == report_id) & (ReportKey.holder == HOLDER_OFFICER)
    )
    tags = {row["holder_tag"] for row in rows}
    if not tags:
        return []
    officers = await Officer.select(Officer.id, Officer.username, Officer.display_name)
    holders = [officer for officer in officers if holder_tag(officer["id"]) in tags]
    return sorted(holders, key=lambda officer: (officer["display_name"], officer["id"]))


async def officers_by_tag() -> dict[str, int]:
    """Holder tag -> officer id for every officer on the roster (computed here: keys/ at hand),
    to turn wraps found by tag back into the officers who hold them."""
    return {holder_tag(row["id"]): row["id"] for row in await Officer.select(Officer.id)}


async def ineligibility(report_id: uuid.UUID, officer_id: int, excluded: set[int]) -> str | None:
    """Why this officer may never hold the case's key, or None if they may.

    ``excluded`` are the officers the reporter excluded (they live only in the content)."""
    if officer_id in excluded:
        return N_("Petugas ini dikecualikan oleh pelapor.")
    if await Recusal.exists().where(
        (Recusal.report == report_id) & (Recusal.officer == officer_id)
    ):
        return N_("Petugas ini telah menyatakan konflik kepentingan pada kasus ini.")
    return None


async def grant(report_id: uuid.UUID, data_key: bytes, content: bytes, to_officer_id: int) -> bool:
    """Seal the data key for a colleague's public key; returns False if they already hold it.

    ``content`` is the report's ciphertext, read with ``data_key`` to honour the reporter's
    exclusions. Raises Conflict for an excluded, recused, unknown or disabled officer."""
    excluded = set(open_content(report_id, data_key, content).excluded_officers)
    reason = await ineligibility(report_id, to_officer_id, excluded)
    if reason:
        raise Conflict(reason)
    officer = (
        await Officer.select(Officer.public_key, Officer.active)
        .where(Officer.id == to_officer_id)
        .first()
    )
    if officer is None or not officer["active"]:
        raise Conflict(N_("Petugas tidak ditemukan atau tidak aktif."))
    if not has_key_pair(officer["public_key"]):
        raise Conflict(N_("Petugas ini belum memiliki kunci: menunggu kata sandi pertamanya."))
    if await holds_key(report_id, to_officer_id):
        return False
    await store_wraps(wrap_for_officer(report_id, data_key, to_officer_id, officer["public_key"]))
    # A deliberate grant overrides an earlier deliberate revocation.
    await KeyRevocation.delete().where(
        (KeyRevocation.report == report_id) & (KeyRevocation.officer == to_officer_id)
    )
    return True


async def revoke(report_id: uuid.UUID, officer_id: int, *, deliberate: bool = False) -> bool:
    """Delete the officer's wrap of the case's key; returns whether there was one.

    ``deliberate``: a colleague took the key on purpose, so it is recorded and key recovery
    will not give it back (until a colleague grants it again)."""
    had = await holds_key(report_id, officer_id)
    await ReportKey.delete().where(
        (ReportKey.report == report_id)
        & (ReportKey.holder == HOLDER_OFFICER)
        & (ReportKey.holder_tag == holder_tag(officer_id))
    )
    if had and deliberate:
        await KeyRevocation.delete().where(
            (KeyRevocation.report == report_id) & (KeyRevocation.officer == officer_id)
        )
        await KeyRevocation.insert(
            KeyRevocation(report=report_id, officer=officer_id, at=datetime.now(UTC))
        )
    return had


async def destroy_all_wraps(report_ids: Iterable[uuid.UUID]) -> int:
    """Crypto-shredding: delete every wrap of these reports' data keys (reporter, office and
    officers alike), so nothing stored, and no key in keys/, opens them again; returns how many.
    Inside the caller's transaction, with the ciphertexts overwritten in the same one."""
    ids = list(report_ids)
    if not ids:
        return 0
    with db.long_writes():  # every officer's wrap of each report: off the event loop
        deleted = (
            await ReportKey.delete().where(ReportKey.report.is_in(ids)).returning(ReportKey.id)
        )
    return len(deleted)


async def revoked_from(officer_id: int) -> set[uuid.UUID]:
    """The reports whose key a colleague deliberately took from this officer."""
    rows = await KeyRevocation.select(KeyRevocation.report).where(
        KeyRevocation.officer == officer_id
    )
    return {row["report"] for row in rows}


async def revoke_all(officer_id: int, *, keep_reports: Iterable[uuid.UUID] = ()) -> int:
    """Delete every wrap the officer holds (except for ``keep_reports``); returns how many."""
    query = ReportKey.delete().where(
        (ReportKey.holder == HOLDER_OFFICER) & (ReportKey.holder_tag == holder_tag(officer_id))
    )
    keep = list(keep_reports)
    if keep:
        query = query.where(ReportKey.report.not_in(keep))
    with db.long_writes():  # up to every case of the office: off the event loop
        return len(await query.returning(ReportKey.id))


async def recover_for_officer(
    report_id: uuid.UUID,
    content: bytes,
    office_private_key: bytes,
    officer_id: int,
    public_key: bytes,
) -> bool:
    """Key recovery: open the office wrap and seal the data key to the officer.

    Returns False, sealing nothing, when the report has no office wrap or the reporter excluded
    the officer. The caller has already checked recusal, role and existing wraps."""
    if not has_key_pair(public_key):
        return False
    data_key = await office_data_key(report_id, office_private_key)
    if data_key is None:
        return False
    if officer_id in open_content(report_id, data_key, content).excluded_officers:
        return False
    await store_wraps(wrap_for_officer(report_id, data_key, officer_id, public_key))
    return True


# --- messages and the reporter's identity -------------------------------------------------
# Purposes of their own, each padded like every other field. A message's purpose names its id,
# author kind, position and the message its writer saw last, so a ciphertext copied to another
# row, report or place in the dialogue does not open (whistle.reports.messages reads them).

MESSAGE = "message"
IDENTITY = "identity"
REVEAL_REASON = "reveal_reason"


def message_purpose(
    message_id: uuid.UUID, author: str, position: int, previous: uuid.UUID | None
) -> str:
    """The associated-data purpose of one message: its id, author kind and place in the chain."""
    return f"{MESSAGE}:{message_id}:{author}:{position}:{previous or '-'}"


def seal_message(
    report_id: uuid.UUID,
    data_key: bytes,
    message_id: uuid.UUID,
    author: str,
    position: int,
    previous: uuid.UUID | None,
    text: str,
) -> bytes:
    """Encrypt a message's text, bound to its report, id, author kind, position and previous."""
    purpose = message_purpose(message_id, author, position, previous)
    return _seal_padded(report_id, data_key, purpose, text.encode())


def open_message(
    report_id: uuid.UUID,
    data_key: bytes,
    message_id: uuid.UUID,
    author: str,
    position: int,
    previous: uuid.UUID | None,
    blob: bytes,
) -> str:
    """Decrypt a message sealed by seal_message() with the same binding; DecryptionError if any
    of it differs (a swapped, moved or reordered row)."""
    purpose = message_purpose(message_id, author, position, previous)
    padded = decrypt(data_key, blob, _aad(report_id, purpose + PADDED_SUFFIX))
    return _unpad(padded).decode()


def seal_identity(
    report_id: uuid.UUID, data_key: bytes, identity_id: uuid.UUID, name: str, contact: str
) -> bytes:
    """Encrypt the name and contact a reporter chose to give, bound to the identity row's id."""
    body = json.dumps({"name": name, "contact": contact}).encode()
    return _seal_padded(report_id, data_key, f"{IDENTITY}:{identity_id}", body)


def open_identity(
    report_id: uuid.UUID, data_key: bytes, identity_id: uuid.UUID, blob: bytes
) -> tuple[str, str]:
    """(name, contact) from seal_identity()'s ciphertext; DecryptionError if it does not open."""
    padded = decrypt(data_key, blob, _aad(report_id, f"{IDENTITY}:{identity_id}{PADDED_SUFFIX}"))
    body = json.loads(_unpad(padded))
    return str(body["name"]), str(body["contact"])


def seal_reveal_reason(report_id: uuid.UUID, data_key: bytes, text: str) -> bytes:
    """Encrypt the written reason of a request to reveal the reporter's identity."""
    return _seal_padded(report_id, data_key, REVEAL_REASON, text.encode())


def open_reveal_reason(report_id: uuid.UUID, data_key: bytes, blob: bytes) -> str:
    """Decrypt a reason sealed by seal_reveal_reason()."""
    return _open_padded(report_id, data_key, REVEAL_REASON, blob).decode()

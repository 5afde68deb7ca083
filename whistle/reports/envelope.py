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

Whoever holds no wrap cannot read the report: exclusion by the reporter and recusal mean no wrap
at all, and they are enforced here, at the one place a wrap is created after intake. Every other
module reads and writes report data through this one; ``tests/unit/test_envelope_owner.py`` fails
when code elsewhere calls the sealing primitives for report data. Functions that touch the
database expect to run inside the caller's ``db.transaction()``.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from whistle.crypto import (
    DecryptionError,
    associated_data,
    decrypt,
    encrypt,
    new_data_key,
    seal,
    unseal,
    unwrap_key,
    wrap_key,
)
from whistle.db.tables import KeyRevocation, Officer, Recusal, Report, ReportKey
from whistle.errors import CaseUnreadable, Conflict
from whistle.i18n import N_
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


# --- wrapping the data key for each holder ------------------------------------------------


@dataclass(frozen=True)
class Wrap:
    """One holder's wrap of a report's data key, as stored in a report_key row."""

    report_id: uuid.UUID
    holder: str
    wrapped: bytes
    officer_id: int | None = None


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


async def store_wraps(*wraps: Wrap) -> None:
    """Insert the wraps as report_key rows (inside the caller's transaction)."""
    await ReportKey.insert(
        *(
            ReportKey(
                report=wrap.report_id,
                holder=wrap.holder,
                officer=wrap.officer_id,
                wrapped=wrap.wrapped,
            )
            for wrap in wraps
        )
    )


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
            & (ReportKey.officer == officer_id)
        )
        .first()
    )
    if row is None:
        raise CaseUnreadable()
    try:
        return unseal(private_key, row["wrapped"], _key_aad(report_id, HOLDER_OFFICER, officer_id))
    except DecryptionError:
        raise CaseUnreadable() from None


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
        & (ReportKey.officer == officer_id)
    )


async def reports_held_by(officer_id: int) -> set[uuid.UUID]:
    """Ids of every report whose key the officer holds."""
    rows = await ReportKey.select(ReportKey.report).where(
        (ReportKey.holder == HOLDER_OFFICER) & (ReportKey.officer == officer_id)
    )
    return {row["report"] for row in rows}


async def officer_holders(report_id: uuid.UUID) -> list[dict]:
    """The officers holding the report's key (id, username, display_name), by display name."""
    return await (
        ReportKey.select(
            ReportKey.officer.id.as_alias("id"),
            ReportKey.officer.username.as_alias("username"),
            ReportKey.officer.display_name.as_alias("display_name"),
        )
        .where((ReportKey.report == report_id) & (ReportKey.holder == HOLDER_OFFICER))
        .order_by(ReportKey.officer.display_name)
    )


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
        & (ReportKey.officer == officer_id)
    )
    if had and deliberate:
        await KeyRevocation.delete().where(
            (KeyRevocation.report == report_id) & (KeyRevocation.officer == officer_id)
        )
        await KeyRevocation.insert(
            KeyRevocation(report=report_id, officer=officer_id, at=datetime.now(UTC))
        )
    return had


async def revoked_from(officer_id: int) -> set[uuid.UUID]:
    """The reports whose key a colleague deliberately took from this officer."""
    rows = await KeyRevocation.select(KeyRevocation.report).where(
        KeyRevocation.officer == officer_id
    )
    return {row["report"] for row in rows}


async def revoke_all(officer_id: int, *, keep_reports: Iterable[uuid.UUID] = ()) -> int:
    """Delete every wrap the officer holds (except for ``keep_reports``); returns how many."""
    query = ReportKey.delete().where(
        (ReportKey.holder == HOLDER_OFFICER) & (ReportKey.officer == officer_id)
    )
    keep = list(keep_reports)
    if keep:
        query = query.where(ReportKey.report.not_in(keep))
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

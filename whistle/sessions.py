"""Server-side sessions for reporters and officers alike (DESIGN.md, Sessions).

The random session id lives only in the client's cookie or bearer token. The database keeps
SHA-256 of it and the secret the session unlocked (a report key, an officer's private key),
encrypted under a key derived from the id: a dump of the table yields nothing usable, and any
app instance sharing the database can serve the session.

Reporter sessions keep no time finer than the hour (threat model 2): ``created_at`` is the start
of the hour the session began in, ``last_seen_at`` the end of the hour it was last used in
(rewritten only when that hour changes), and ``expires_at`` the absolute end rounded up to a full
hour. The idle timeout counts from the end of that hour, so a reporter session left alone ends
between ``idle`` and ``idle`` + 1 hour after its last use: a few more minutes of an unattended
session, against a table that could otherwise say to the second when a reporter clicked.
Officer sessions keep exact times.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from whistle.clock import to_the_hour
from whistle.crypto import (
    DecryptionError,
    decrypt,
    encrypt,
    new_session_id,
    session_lookup,
    session_secret_key,
)
from whistle.db import engine as db
from whistle.db.outage import is_unavailable
from whistle.db.tables import SubmissionReceipt, WebSession

REPORTER = "reporter"
OFFICER = "officer"


@dataclass(frozen=True)
class Session:
    kind: str
    officer_id: int | None
    # Kept out of repr: it unlocks the session's keys.
    secret: bytes = field(repr=False)
    created_at: datetime


def _aad(kind: str) -> bytes:
    return b"whistle-session/" + kind.encode()


def _end_of_hour(moment: datetime) -> datetime:
    return to_the_hour(moment) + timedelta(hours=1)


def _up_to_the_hour(moment: datetime) -> datetime:
    floor = to_the_hour(moment)
    return floor if floor == moment else floor + timedelta(hours=1)


def _last_seen(kind: str, now: datetime) -> datetime:
    """What the row records as the last use at ``now``: exact for officers, coarse for reporters."""
    return _end_of_hour(now) if kind == REPORTER else now


def _decode_token(token: str) -> bytes | None:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (binascii.Error, ValueError):
        return None
    return raw if len(raw) == 32 else None


async def create_session(
    kind: str, secret: bytes, *, lifetime: timedelta, officer_id: int | None = None
) -> str:
    """Store a new session and return its token (the only copy of the id)."""
    # Expired rows would only say that someone was active when: clear them as we go.
    await purge_expired_sessions()
    session_id = new_session_id()
    now = datetime.now(UTC)
    created, expires = now, now + lifetime
    if kind == REPORTER:
        created, expires = to_the_hour(now), _up_to_the_hour(expires)
    await WebSession.insert(
        WebSession(
            lookup=session_lookup(session_id).hex(),
            kind=kind,
            officer=officer_id,
            secret=encrypt(session_secret_key(session_id), secret, _aad(kind)),
            created_at=created,
            last_seen_at=_last_seen(kind, now),
            expires_at=expires,
        )
    )
    return base64.urlsafe_b64encode(session_id).rstrip(b"=").decode()


# Reads must keep working when writes fail (read-only or full disk): last_seen_at is written at
# most once a minute per session, and a failed write does not refuse the request.
LAST_SEEN_STEP = timedelta(minutes=1)


async def _touch(lookup: str, now: datetime) -> None:
    try:
        await WebSession.update({WebSession.last_seen_at: now}).where(WebSession.lookup == lookup)
    except Exception as error:
        if not is_unavailable(error):
            raise


async def load_session(token: str | None, kind: str, *, idle: timedelta) -> Session | None:
    """The live session behind ``token``, or None. Expired sessions are deleted on sight."""
    session_id = _decode_token(token or "")
    if session_id is None:
        return None
    lookup = session_lookup(session_id).hex()
    row = await WebSession.objects().where(WebSession.lookup == lookup).first()
    if row is None or row.kind != kind:
        return None
    now = datetime.now(UTC)
    if row.expires_at <= now or row.last_seen_at + idle <= now:
        await WebSession.delete().where(WebSession.lookup == lookup)
        return None
    try:
        secret = decrypt(session_secret_key(session_id), row.secret, _aad(kind))
    except DecryptionError:
        return None
    last_seen = _last_seen(kind, now)
    # Officers' rows are touched at most once a minute, and best-effort: a read must not fail
    # because the database refuses writes. Reporters' rows change only when the hour does.
    if last_seen != row.last_seen_at and (
        kind == REPORTER or now - row.last_seen_at >= LAST_SEEN_STEP
    ):
        await _touch(lookup, last_seen)
    return Session(kind=kind, officer_id=row.officer, secret=secret, created_at=row.created_at)


def session_key(token: str | None) -> str | None:
    """The stored key (hash of the id) of the session behind ``token``, for rows that belong to
    one session and go with it; None for a malformed token."""
    session_id = _decode_token(token or "")
    return session_lookup(session_id).hex() if session_id is not None else None


# A form's text crossing the login page after its session expired (whistle.web.drafts): sealed
# under a subkey of the web secret with the time, opened only while recent.
_PAGE_DRAFT_AAD = b"whistle-officer-draft/v1"


def seal_page_draft(key: bytes, draft: bytes, *, now: float) -> str:
    """``draft`` sealed for a hidden form field (base64url), with the time it was sealed."""
    blob = encrypt(key, int(now).to_bytes(8, "big") + draft, _PAGE_DRAFT_AAD)
    return base64.urlsafe_b64encode(blob).rstrip(b"=").decode()


def open_page_draft(key: bytes, sealed: str, *, now: float, max_age: float) -> bytes | None:
    """What ``seal_page_draft`` sealed, if genuine and at most ``max_age`` seconds old."""
    try:
        blob = base64.urlsafe_b64decode(sealed + "=" * (-len(sealed) % 4))
        plain = decrypt(key, blob, _PAGE_DRAFT_AAD)
    except (binascii.Error, ValueError, DecryptionError):
        return None
    if not 0 <= now - int.from_bytes(plain[:8], "big") <= max_age:
        return None
    return plain[8:]


def _draft_aad(kind: str) -> bytes:
    return b"whistle-session-draft/" + kind.encode()


async def keep_draft(token: str, kind: str, draft: bytes) -> None:
    """Keep ``draft`` (a form being written) on the session behind ``token``, encrypted under
    the session's own key: a database copy shows only its size."""
    session_id = _decode_token(token)
    if session_id is None:
        return
    await WebSession.update(
        {WebSession.draft: encrypt(session_secret_key(session_id), draft, _draft_aad(kind))}
    ).where((WebSession.lookup == session_lookup(session_id).hex()) & (WebSession.kind == kind))


async def take_draft(token: str | None, kind: str) -> bytes | None:
    """The draft kept on the session, removed as it is read (shown once), or None."""
    session_id = _decode_token(token or "")
    if session_id is None:
        return None
    mine = (WebSession.lookup == session_lookup(session_id).hex()) & (WebSession.kind == kind)
    row = await WebSession.select(WebSession.draft).where(mine).first()
    if row is None or row["draft"] is None:
        return None
    # RETURNING gives the new value: read first, then clear only that one (a second reader
    # racing for it clears nothing and shows nothing).
    cleared = (
        await WebSession.update({WebSession.draft: None})
        .where(mine & (WebSession.draft == row["draft"]))
        .returning(WebSession.lookup)
    )
    if not cleared:
        return None
    try:
        return decrypt(session_secret_key(session_id), row["draft"], _draft_aad(kind))
    except DecryptionError:
        return None


async def destroy_session(token: str | None, kind: str) -> None:
    """End the session behind ``token`` if it is of ``kind``: a reporter's token never ends an
    officer's session, nor the other way round."""
    session_id = _decode_token(token or "")
    if session_id is not None:
        await WebSession.delete().where(
            (WebSession.lookup == session_lookup(session_id).hex()) & (WebSession.kind == kind)
        )


async def purge_expired_sessions() -> int:
    now = datetime.now(UTC)
    deleted = (
        await WebSession.delete().where(WebSession.expires_at <= now).returning(WebSession.lookup)
    )
    return len(deleted)


# --- kept receipts: one report per submission token -------------------------------------------
#
# A form carries a random submission token; an API client sends an Idempotency-Key. The first
# request with a token claims it (a row keyed by an HMAC of the token); a resend, a double tap
# or a retry finds the claim and shows the same receipt instead of filing again. The tracking
# code is kept AES-GCM under a key derived from the token, which only the reporter's browser or
# app holds, and only until the second whole hour after filing (no minute is kept).

RECEIPT_KEEP_HOURS = 2
_RECEIPT_INFO = b"whistle/submission-receipt/code/v1"
_RECEIPT_AAD = b"whistle-submission-receipt"


@dataclass(frozen=True)
class KeptReceipt:
    """An earlier request with the same token: its code (None while it is still being filed),
    when it was received, and whether it sent the same body."""

    tracking_code: str | None
    received_at: datetime | None
    same_body: bool


def new_submission_token() -> str:
    """A fresh random token for one report form (it lives only in the form and a cookie)."""
    return base64.urlsafe_b64encode(new_session_id()).rstrip(b"=").decode()


def _receipt_keys(hash_key: bytes, token: bytes) -> tuple[str, bytes]:
    """(lookup, code key): the keyed hash the database stores, and the key of the code."""
    lookup = hmac.new(hash_key, token, hashlib.sha256).hexdigest()
    code_key = HKDF(algorithm=SHA256(), length=32, salt=hash_key, info=_RECEIPT_INFO).derive(token)
    return lookup, code_key


def _fingerprint(code_key: bytes, body: bytes) -> str:
    # Keyed by the token's own key: the stored value tells nothing about the body without it.
    return hmac.new(code_key, body, hashlib.sha256).hexdigest()


async def claim_submission(hash_key: bytes, token: bytes, body: bytes) -> KeptReceipt | None:
    """Claim ``token`` for a report whose canonical ``body`` is given. None: this request holds
    the claim and must file the report, then call keep_receipt (or release_submission if it
    failed). Otherwise the earlier request's receipt."""
    await _purge_expired_receipts()
    lookup, code_key = _receipt_keys(hash_key, token)
    expires = to_the_hour(datetime.now(UTC)) + timedelta(hours=RECEIPT_KEEP_HOURS)
    # In a transaction: IMMEDIATE on SQLite, and committed on both engines.
    async with db.transaction():
        claimed = await db.fetch(
            "INSERT INTO submission_receipt (lookup, fingerprint, expires_at) "
            "VALUES ({}, {}, {}) ON CONFLICT (lookup) DO NOTHING RETURNING lookup",
            lookup,
            _fingerprint(code_key, body),
            expires,
        )
    if claimed:
        return None
    kept = await _kept(lookup, code_key)
    if kept is None:
        # Gone between the two statements (expired, or its first request failed): the
        # earlier request filed nothing that can be shown, so say it is still in progress.
        return KeptReceipt(None, None, same_body=True)
    return KeptReceipt(
        kept.tracking_code, kept.received_at, kept.same_body_as(_fingerprint(code_key, body))
    )


@dataclass(frozen=True)
class _Kept:
    tracking_code: str | None
    received_at: datetime | None
    fingerprint: str

    def same_body_as(self, fingerprint: str) -> bool:
        return hmac.compare_digest(self.fingerprint, fingerprint)


async def _kept(lookup: str, code_key: bytes) -> _Kept | None:
    row = await SubmissionReceipt.objects().where(SubmissionReceipt.lookup == lookup).first()
    if row is not None and row.expires_at <= datetime.now(UTC):
        row = None
    if row is None:
        return None
    code = None
    if row.sealed_code is not None:
        try:
            code = decrypt(code_key, row.sealed_code, _RECEIPT_AAD).decode()
        except DecryptionError:
            return None
    return _Kept(code, row.received_at, row.fingerprint)


async def keep_receipt(
    hash_key: bytes, token: bytes, tracking_code: str, received_at: datetime
) -> None:
    """Store the receipt of the report filed under a claimed ``token``."""
    lookup, code_key = _receipt_keys(hash_key, token)
    await SubmissionReceipt.update(
        {
            SubmissionReceipt.sealed_code: encrypt(code_key, tracking_code.encode(), _RECEIPT_AAD),
            SubmissionReceipt.received_at: received_at,
        }
    ).where(SubmissionReceipt.lookup == lookup)


async def release_submission(hash_key: bytes, token: bytes) -> None:
    """Give up a claim whose report was not filed, so sending again files it."""
    lookup, _ = _receipt_keys(hash_key, token)
    await SubmissionReceipt.delete().where(
        (SubmissionReceipt.lookup == lookup) & SubmissionReceipt.sealed_code.is_null()
    )


async def recall_receipt(hash_key: bytes, token: bytes) -> KeptReceipt | None:
    """The receipt kept for ``token`` (its code None while still being filed), or None."""
    lookup, code_key = _receipt_keys(hash_key, token)
    kept = await _kept(lookup, code_key)
    if kept is None:
        return None
    return KeptReceipt(kept.tracking_code, kept.received_at, same_body=True)


async def forget_receipt(hash_key: bytes, token: bytes) -> None:
    """Drop a kept receipt now (the reporter saved the code)."""
    lookup, _ = _receipt_keys(hash_key, token)
    await SubmissionReceipt.delete().where(SubmissionReceipt.lookup == lookup)


async def _purge_expired_receipts() -> None:
    # Compared here, not in SQL: SQLite would compare the stored text with the parameter's.
    now = datetime.now(UTC)
    rows = await SubmissionReceipt.select(SubmissionReceipt.lookup, SubmissionReceipt.expires_at)
    expired = [row["lookup"] for row in rows if row["expires_at"] <= now]
    if expired:
        await SubmissionReceipt.delete().where(SubmissionReceipt.lookup.is_in(expired))

"""Login lockout with a growing delay, per account name, for names that exist or not.

Counters are keyed by HMAC-SHA256(login-throttle subkey, normalised username): an unknown name
is throttled exactly like a known one (so the answers reveal nothing), and the table holds no
username. After ``login_lockout_threshold`` failures the account is locked for one minute, and
each further failure doubles the delay, up to a day. A successful login clears the counter.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime, timedelta

from whistle.context import Context
from whistle.db import engine as db
from whistle.db.tables import LoginThrottle

FIRST_DELAY = timedelta(minutes=1)
MAX_DELAY = timedelta(hours=24)


def normalise_username(username: str) -> str:
    return (username or "").strip().lower()


def throttle_key(ctx: Context, username: str) -> str:
    return hmac.new(
        ctx.keyring.login_throttle_key,
        b"login-throttle\x00" + normalise_username(username).encode("utf-8"),
        hashlib.sha256,
    ).hexdigest()


def lockout_delay(failures: int, threshold: int) -> timedelta | None:
    """How long an account stays locked after ``failures`` consecutive failures."""
    if failures < threshold:
        return None
    doublings = min(failures - threshold, 20)  # 2**20 minutes is far beyond the cap
    return min(FIRST_DELAY * (2**doublings), MAX_DELAY)


async def locked_until(ctx: Context, username: str, now: datetime | None = None) -> datetime | None:
    """When the lock on this name ends, or None if it is not locked now."""
    now = now or datetime.now(UTC)
    row = (
        await LoginThrottle.select(LoginThrottle.locked_until)
        .where(LoginThrottle.key == throttle_key(ctx, username))
        .first()
    )
    until = row["locked_until"] if row else None
    return until if until is not None and until > now else None


async def record_failure(ctx: Context, username: str) -> int:
    """Count one failure (atomically, across app instances); lock once past the threshold.
    Call inside a transaction. Returns the number of consecutive failures."""
    key = throttle_key(ctx, username)
    rows = await db.fetch(
        "INSERT INTO login_throttle (key, failures) VALUES ({}, 1) "
        "ON CONFLICT (key) DO UPDATE SET failures = login_throttle.failures + 1 "
        "RETURNING failures",
        key,
    )
    failures = int(rows[0]["failures"])
    delay = lockout_delay(failures, ctx.settings.login_lockout_threshold)
    if delay is not None:
        await LoginThrottle.update({LoginThrottle.locked_until: datetime.now(UTC) + delay}).where(
            LoginThrottle.key == key
        )
    return failures


async def clear(ctx: Context, username: str) -> None:
    """Forget the failures of this name (after a successful login or an administrator's reset)."""
    await LoginThrottle.delete().where(LoginThrottle.key == throttle_key(ctx, username))

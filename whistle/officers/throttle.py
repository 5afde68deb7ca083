"""Password attempts throttled per account name, reserved atomically before any derivation.

Counters are keyed by HMAC-SHA256(login-throttle subkey, normalised username): an unknown name is
throttled exactly like a known one (so the answers reveal nothing), and the table holds no
username. Every password check (login, password change, disabling two-factor) first reserves an
attempt with one conditional UPDATE that succeeds only while the name is not locked; the
reservation commits before the Argon2id work starts, so a burst of concurrent guesses gets at
most ``login_lockout_threshold`` checks, across app instances, on SQLite and PostgreSQL alike.
The attempt that reaches the threshold starts a lock EPISODE: 1 minute for the first, doubling
with each further episode up to a day, so one burst locks a name for a minute, not a day. A
successful check forgets the name; an administrator's unlock clears only this throttle.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime, timedelta

from whistle import audit
from whistle.audit import actions
from whistle.context import Context
from whistle.db import engine as db
from whistle.db.tables import LoginThrottle, Officer
from whistle.errors import NotFound
from whistle.i18n import N_

FIRST_DELAY = timedelta(minutes=1)
MAX_DELAY = timedelta(hours=24)

# Shown where an officer already signed in re-checks their password (no oracle to hide there).
TOO_MANY_ATTEMPTS = N_("Terlalu banyak percobaan. Coba lagi nanti.")


def normalise_username(username: str) -> str:
    return (username or "").strip().lower()


def throttle_key(ctx: Context, username: str) -> str:
    return hmac.new(
        ctx.keyring.login_throttle_key,
        b"login-throttle\x00" + normalise_username(username).encode("utf-8"),
        hashlib.sha256,
    ).hexdigest()


def lock_duration(episode: int) -> timedelta:
    """How long the ``episode``-th lock of a name lasts (1-based): 1 minute, doubling, <= a day."""
    doublings = min(max(episode, 1) - 1, 20)  # 2**20 minutes is far beyond the cap
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


async def reserve_attempt(ctx: Context, username: str) -> bool:
    """Count one password attempt for this name before checking it; False while it is locked.

    Commits on its own, before the caller derives anything. The UPDATE is conditional on the
    name not being locked: on PostgreSQL concurrent reservations queue on the row lock and
    re-check the condition, on SQLite the IMMEDIATE transaction serialises them.
    """
    key = throttle_key(ctx, username)
    now = datetime.now(UTC)
    async with db.transaction():
        await db.fetch(
            "INSERT INTO login_throttle (key, failures, episodes) VALUES ({}, 0, 0) "
            "ON CONFLICT (key) DO NOTHING",
            key,
        )
        reserved = (
            await LoginThrottle.update({LoginThrottle.failures: LoginThrottle.failures + 1})
            .where(
                (LoginThrottle.key == key)
                & (LoginThrottle.locked_until.is_null() | (LoginThrottle.locked_until <= now))
            )
            .returning(LoginThrottle.failures, LoginThrottle.episodes)
        )
        if not reserved:
            return False
        if reserved[0]["failures"] >= ctx.settings.login_lockout_threshold:
            # This attempt is the last one allowed: a new episode starts now.
            episode = int(reserved[0]["episodes"]) + 1
            await LoginThrottle.update(
                {
                    LoginThrottle.failures: 0,
                    LoginThrottle.episodes: episode,
                    LoginThrottle.locked_until: now + lock_duration(episode),
                }
            ).where(LoginThrottle.key == key)
    return True


async def clear(ctx: Context, username: str) -> None:
    """Forget this name's attempts and locks (after a successful check or an unlock)."""
    await LoginThrottle.delete().where(LoginThrottle.key == throttle_key(ctx, username))


async def unlock_officer(ctx: Context, officer_id: int, *, actor: str) -> None:
    """An administrator lifts a login lock: only the throttle is cleared, never the password,
    the keys or the sessions. Audited."""
    async with db.transaction():
        row = await Officer.objects().where(Officer.id == officer_id).first()
        if row is None:
            raise NotFound(N_("Petugas tidak ditemukan."))
        await clear(ctx, row.username)
        await audit.append(actions.OFFICER_UNLOCKED, actor=actor, details={"officer": row.username})

"""One-time recovery codes for two-factor login, issued when TOTP is enrolled.

Ten random codes of 10 Crockford Base32 symbols (50 bits each) are shown once; only an HMAC of
each (web secret, officer id, code) is stored, so a database copy yields none. A code stands in
for a TOTP code at login, and is claimed with a conditional UPDATE so it works exactly once,
even under concurrent logins.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import UTC, datetime

from whistle.context import Context
from whistle.crypto.codes import ALPHABET
from whistle.db.tables import OfficerRecoveryCode

COUNT = 10
SYMBOLS = 10
_NORMALISE = str.maketrans({"I": "1", "L": "1", "O": "0"})


def _new_code() -> str:
    symbols = "".join(secrets.choice(ALPHABET) for _ in range(SYMBOLS))
    return f"{symbols[:5]}-{symbols[5:]}"


def _normalise(code: str | None) -> str | None:
    cleaned = (code or "").upper().replace("-", "").replace(" ", "").translate(_NORMALISE)
    if len(cleaned) != SYMBOLS or any(symbol not in ALPHABET for symbol in cleaned):
        return None
    return cleaned


def code_hash(ctx: Context, officer_id: int, code: str) -> str:
    """HMAC-SHA256 of a normalised code, bound to its officer (hex)."""
    return hmac.new(
        ctx.keyring.recovery_code_key,
        b"recovery-code\x00" + str(officer_id).encode() + b"\x00" + code.encode("ascii"),
        hashlib.sha256,
    ).hexdigest()


async def issue(ctx: Context, officer_id: int) -> list[str]:
    """Replace the officer's recovery codes with new ones; return them, to be shown once.

    Call inside the transaction that enables two-factor.
    """
    codes = [_new_code() for _ in range(COUNT)]
    await OfficerRecoveryCode.delete().where(OfficerRecoveryCode.officer == officer_id)
    await OfficerRecoveryCode.insert(
        *(
            OfficerRecoveryCode(
                officer=officer_id, code_hash=code_hash(ctx, officer_id, _normalise(code) or "")
            )
            for code in codes
        )
    )
    return codes


async def claim(ctx: Context, officer_id: int, code: str | None) -> bool:
    """Use up one recovery code; False if it is malformed, unknown or already used.

    Call inside a transaction. The hash and the query run for any input, so a TOTP-shaped
    code costs the same as a recovery-shaped one.
    """
    normalised = _normalise(code)
    digest = code_hash(ctx, officer_id, normalised or "-")
    claimed = (
        await OfficerRecoveryCode.update({OfficerRecoveryCode.used_at: datetime.now(UTC)})
        .where(
            (OfficerRecoveryCode.officer == officer_id)
            & (OfficerRecoveryCode.code_hash == digest)
            & OfficerRecoveryCode.used_at.is_null()
        )
        .returning(OfficerRecoveryCode.id)
    )
    return normalised is not None and bool(claimed)


async def remaining(officer_id: int) -> int:
    """How many unused codes the officer still has."""
    return await OfficerRecoveryCode.count().where(
        (OfficerRecoveryCode.officer == officer_id) & OfficerRecoveryCode.used_at.is_null()
    )


async def forget(officer_id: int) -> None:
    """Delete every recovery code of the officer (two-factor turned off). In a transaction."""
    await OfficerRecoveryCode.delete().where(OfficerRecoveryCode.officer == officer_id)

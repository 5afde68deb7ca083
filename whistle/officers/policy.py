"""Account policies an administrator changes at run time (SystemSetting rows)."""

from __future__ import annotations

from whistle import audit
from whistle.audit import actions
from whistle.db import engine as db
from whistle.db.tables import SystemSetting

REQUIRE_TOTP = "require_totp"


async def _get(key: str) -> str | None:
    row = await SystemSetting.select(SystemSetting.value).where(SystemSetting.key == key).first()
    return row["value"] if row else None


async def _put(key: str, value: str) -> None:
    """Insert or replace one setting; call inside a transaction."""
    if await SystemSetting.exists().where(SystemSetting.key == key):
        await SystemSetting.update({SystemSetting.value: value}).where(SystemSetting.key == key)
    else:
        await SystemSetting.insert(SystemSetting(key=key, value=value))


async def totp_required() -> bool:
    """Whether every officer must use two-factor authentication."""
    return await _get(REQUIRE_TOTP) == "true"


async def set_totp_required(required: bool, *, actor: str) -> bool:
    """Turn the two-factor requirement on or off; returns whether anything changed."""
    async with db.transaction():
        if await totp_required() == required:
            return False
        await _put(REQUIRE_TOTP, "true" if required else "false")
        await audit.append(
            actions.SETTING_CHANGED,
            actor=actor,
            details={"setting": REQUIRE_TOTP, "value": required},
        )
    return True

"""Password policy for officer accounts."""

from __future__ import annotations

from functools import cache

from whistle.i18n import N_
from whistle.resources import COMMON_PASSWORDS_FILE

MIN_LENGTH = 12
MAX_LENGTH = 256


@cache
def _common_passwords() -> frozenset[str]:
    return frozenset(
        line.strip().lower()
        for line in COMMON_PASSWORDS_FILE.read_text().splitlines()
        if line.strip()
    )


def password_problem(password: str, username: str) -> str | None:
    """Why ``password`` is not acceptable for ``username``, or None when it is."""
    if len(password) < MIN_LENGTH:
        return N_("Kata sandi paling sedikit 12 karakter.")
    if len(password) > MAX_LENGTH:
        return N_("Kata sandi terlalu panjang.")
    lowered = password.lower()
    if username and username.lower() in lowered:
        return N_("Kata sandi tidak boleh memuat nama pengguna.")
    if lowered in _common_passwords() or len(set(lowered)) < 4:
        return N_("Kata sandi ini terlalu umum atau mudah ditebak.")
    return None

"""Domain errors: raised once by service functions, rendered by one handler in whistle.web.

Messages are shown to users, so they are short, in Bahasa Indonesia through gettext at render
time, and never contain secrets, codes or report text.
"""

from __future__ import annotations

from whistle.i18n import N_


class DomainError(Exception):
    status_code = 400
    title = N_("Permintaan tidak dapat diproses")

    def __init__(self, detail: str | None = None) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title


class ValidationFailed(DomainError):
    """Input broke a rule; ``errors`` maps each field to its message."""

    status_code = 422
    title = N_("Isian belum benar")

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(N_("Periksa kembali isian yang ditandai."))
        self.errors = errors


class NotAuthenticated(DomainError):
    status_code = 401
    title = N_("Perlu masuk terlebih dahulu")


class InvalidTrackingCode(DomainError):
    """Wrong, unknown or malformed code: one message for all, so nothing is learnt from it."""

    status_code = 401
    title = N_("Kode pelacakan tidak dikenali")


class PermissionDenied(DomainError):
    status_code = 403
    title = N_("Akses ditolak")


class PasswordChangeRequired(PermissionDenied):
    title = N_("Ganti kata sandi terlebih dahulu")


class TwoFactorEnrolmentRequired(PermissionDenied):
    title = N_("Aktifkan verifikasi dua langkah terlebih dahulu")


class NotFound(DomainError):
    status_code = 404
    title = N_("Tidak ditemukan")


class CaseUnreadable(PermissionDenied):
    """A case the officer holds no key for, or one that does not exist: one answer for both
    (404, the same page), so trying case numbers tells nobody which cases exist."""

    status_code = 404
    title = NotFound.title

    def __init__(self) -> None:
        super().__init__(N_("Kasus tidak ditemukan."))


class Conflict(DomainError):
    status_code = 409
    title = N_("Tidak dapat dilakukan pada keadaan saat ini")

"""How the interface names each audit action (Indonesian message ids, translated where shown)."""

from __future__ import annotations

from whistle.audit import actions
from whistle.i18n import N_

ACTION_LABELS = {
    actions.REPORT_RECEIVED: N_("Laporan diterima"),
    actions.LOGIN: N_("Petugas masuk"),
    actions.LOGIN_FAILED: N_("Gagal masuk"),
    actions.LOGOUT: N_("Petugas keluar"),
    actions.PASSWORD_CHANGED: N_("Kata sandi diganti"),
    actions.OFFICER_KEYS_CREATED: N_("Pasangan kunci petugas dibuat"),
    actions.TOTP_ENABLED: N_("Verifikasi dua langkah diaktifkan"),
    actions.TOTP_DISABLED: N_("Verifikasi dua langkah dinonaktifkan"),
    actions.RECOVERY_CODES_REGENERATED: N_("Kode pemulihan dibuat ulang"),
    actions.OFFICER_ADDED: N_("Petugas ditambahkan"),
    actions.OFFICER_DISABLED: N_("Petugas dinonaktifkan"),
    actions.OFFICER_ENABLED: N_("Petugas diaktifkan"),
    actions.OFFICER_UNLOCKED: N_("Kunci masuk petugas dibuka"),
    actions.OFFICER_PASSWORD_RESET: N_("Kata sandi petugas diatur ulang"),
    actions.OFFICER_ROLES_CHANGED: N_("Peran petugas diubah"),
    actions.ROLE_GRANT_REQUESTED: N_("Pemberian peran akses isi laporan diminta"),
    actions.CONTENT_ROLE_GRANTED: N_("Peran akses isi laporan diberikan"),
    actions.ROLE_GRANT_REJECTED: N_("Pemberian peran akses isi laporan ditolak"),
    actions.SETTING_CHANGED: N_("Pengaturan diubah"),
    actions.KEYS_RECOVERED: N_("Kunci dipulihkan"),
    actions.CASE_OPENED: N_("Kasus dibuka"),
    actions.CASE_STATUS_CHANGED: N_("Status diubah"),
    actions.CASE_TRIAGED: N_("Prioritas/risiko diubah"),
    actions.CASE_ASSIGNED: N_("Investigator ditugaskan"),
    actions.CASE_UNASSIGNED: N_("Penugasan dicabut"),
    actions.CASE_ACCESS_GRANTED: N_("Akses diberikan"),
    actions.CASE_ACCESS_REVOKED: N_("Akses dicabut"),
    actions.CASE_RECUSED: N_("Konflik kepentingan dinyatakan"),
    actions.CASE_NOTE_ADDED: N_("Catatan internal ditambahkan"),
    actions.AUDIT_EXPORTED: N_("Log audit diekspor"),
    actions.AUDIT_CHECKPOINT: N_("Titik periksa log audit dibuat"),
}

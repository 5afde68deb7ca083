"""How the interface names each audit action (Indonesian message ids, translated where shown)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from whistle.audit import actions
from whistle.i18n import N_, gettext

ACTION_LABELS = {
    actions.REPORT_RECEIVED: N_("Laporan diterima"),
    actions.MESSAGE_RECEIVED: N_("Pesan dari pelapor diterima"),
    actions.IDENTITY_GIVEN: N_("Pelapor memberikan identitas"),
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
    actions.OFFICER_EMAIL_CHANGED: N_("Alamat surel petugas diubah"),
    actions.ROLE_GRANT_REQUESTED: N_("Pemberian peran akses isi laporan diminta"),
    actions.CONTENT_ROLE_GRANTED: N_("Peran akses isi laporan diberikan"),
    actions.ROLE_GRANT_REJECTED: N_("Pemberian peran akses isi laporan ditolak"),
    actions.SETTING_CHANGED: N_("Pengaturan diubah"),
    actions.KEYS_RECOVERED: N_("Kunci dipulihkan"),
    actions.ROSTER_RESEALED: N_("Data akun petugas diverifikasi ulang"),
    actions.KEYS_RETAGGED: N_("Pemegang kunci lama diberi tanda"),
    actions.CASE_OPENED: N_("Kasus dibuka"),
    actions.CASE_STATUS_CHANGED: N_("Status diubah"),
    actions.CASE_TRIAGED: N_("Prioritas/risiko diubah"),
    actions.CASE_ASSIGNED: N_("Investigator ditugaskan"),
    actions.CASE_UNASSIGNED: N_("Penugasan dicabut"),
    actions.CASE_ACCESS_GRANTED: N_("Akses diberikan"),
    actions.CASE_ACCESS_REVOKED: N_("Akses dicabut"),
    actions.CASE_RECUSED: N_("Konflik kepentingan dinyatakan"),
    actions.CASE_NOTE_ADDED: N_("Catatan internal ditambahkan"),
    actions.CASE_HOLD_SET: N_("Penahanan hukum dipasang"),
    actions.CASE_HOLD_LIFTED: N_("Penahanan hukum dicabut"),
    actions.CASE_PURGED: N_("Isi kasus dihapus sesuai masa retensi"),
    actions.MESSAGE_SENT: N_("Pesan untuk pelapor dikirim"),
    actions.IDENTITY_REVEAL_REQUESTED: N_("Pembukaan identitas pelapor diminta"),
    actions.IDENTITY_REVEAL_APPROVED: N_("Pembukaan identitas pelapor disetujui"),
    actions.IDENTITY_REVEAL_REJECTED: N_("Pembukaan identitas pelapor ditolak"),
    actions.EVIDENCE_ADDED: N_("Berkas petugas dilampirkan"),
    actions.EVIDENCE_DOWNLOADED: N_("Berkas bukti diunduh"),
    actions.EVIDENCE_DOWNLOAD_FAILED: N_("Unduhan berkas bukti gagal: berkas rusak atau diubah"),
    actions.AUDIT_EXPORTED: N_("Log audit diekspor"),
    actions.AUDIT_CHECKPOINT: N_("Titik periksa log audit dibuat"),
}

# Codes only the audit log names: why a login was refused, which second factor, which setting.
LOGIN_FAILURE_LABELS = {
    "bad_credentials": N_("nama pengguna atau kata sandi salah"),
    "bad_totp": N_("kode verifikasi dua langkah salah"),
    "locked": N_("akun sedang dikunci sementara"),
    "disabled": N_("akun dinonaktifkan"),
}
SECOND_FACTOR_LABELS = {"recovery_code": N_("kode pemulihan")}
SETTING_LABELS = {"require_totp": N_("verifikasi dua langkah wajib bagi semua petugas")}
_OWN_TABLES = {
    "login_failure_label": LOGIN_FAILURE_LABELS,
    "second_factor_label": SECOND_FACTOR_LABELS,
    "setting_label": SETTING_LABELS,
}

YES = N_("ya")
NO = N_("tidak")
NOTHING = N_("tidak ada")

# Each detail an entry may carry: how it is named, and the label table (by its template filter
# name, see whistle.app.TEMPLATE_LABELS) that names its values; None shows the value as written
# (usernames, counts, dates). A "from"/"to" pair inside a detail is a change of that detail.
DETAIL_LABELS: dict[str, tuple[str, str | None]] = {
    "category": (N_("Jenis pelanggaran"), "category_label"),
    "reason": (N_("Sebab"), "login_failure_label"),
    "second_factor": (N_("Langkah kedua"), "second_factor_label"),
    "officer": (N_("Petugas"), None),
    "roles": (N_("Peran"), "role_label"),
    "previous_roles": (N_("Peran sebelumnya"), "role_label"),
    "wraps_removed": (N_("Kunci kasus yang dicabut"), None),
    "assignments_removed": (N_("Penugasan yang dicabut"), None),
    "requested_by": (N_("Diminta oleh"), None),
    "confirmed_by": (N_("Dikonfirmasi oleh"), None),
    "granted": (N_("Kasus yang aksesnya dipulihkan"), None),
    "setting": (N_("Pengaturan"), "setting_label"),
    "value": (N_("Nilai baru"), None),
    "transition": (N_("Langkah"), "transition_label"),
    "from": (N_("Dari status"), "status_label"),
    "to": (N_("Ke status"), "status_label"),
    "outcome": (N_("Hasil"), "outcome_label"),
    "referred_to": (N_("Dilimpahkan ke"), "referral_label"),
    "referral_detail": (N_("Dengan keterangan instansi"), None),
    "status": (N_("Status"), "status_label"),
    "concluded": (N_("Diselesaikan pada"), None),
    "file": (N_("Berkas"), None),
    "kind": (N_("Jenis berkas"), None),
    "wraps": (N_("Kunci kasus yang ditandai ulang"), None),
    "officers": (N_("Petugas"), None),
    "mail": (N_("Dengan alamat surel"), None),
    "public_note": (N_("Dengan catatan untuk pelapor"), None),
    "priority": (N_("Prioritas"), "priority_label"),
    "retaliation_risk": (N_("Risiko pembalasan"), None),
    "key_granted": (N_("Kunci laporan diberikan"), None),
    "key_revoked": (N_("Kunci laporan dicabut"), None),
    "unassigned": (N_("Penugasan ikut dicabut"), None),
    "filters": (N_("Saringan"), None),
    "actor": (N_("Pelaku"), None),
    "action": (N_("Tindakan"), "action_label"),
    "case_number": (N_("Nomor kasus"), None),
    "date_from": (N_("Dari tanggal"), None),
    "date_to": (N_("Sampai tanggal"), None),
}

LabelTables = Mapping[str, Mapping[str, str]]


def _value(value: Any, table: Mapping[str, str] | None, tables: LabelTables) -> str:
    if value is None:
        return gettext(NOTHING)
    if isinstance(value, bool):
        return gettext(YES if value else NO)
    if isinstance(value, list):
        return ", ".join(_value(item, table, tables) for item in value) or gettext(NOTHING)
    if isinstance(value, dict):
        if set(value) == {"from", "to"}:
            return f"{_value(value['from'], table, tables)} → {_value(value['to'], table, tables)}"
        return "; ".join(f"{label}: {text}" for label, text in describe_details(value, tables))
    if table is not None and str(value) in table:
        return gettext(table[str(value)])
    return str(value)


def describe_details(details: Mapping[str, Any], tables: LabelTables) -> list[tuple[str, str]]:
    """An entry's details as (label, value) pairs in the reader's language, for people.

    ``tables`` are the interface's label tables by filter name (statuses, roles, ...), handed in
    by the template set-up; the audit log's own codes are named here. A detail without a label
    keeps its technical name (a test checks every action's details have one)."""
    pairs = []
    for key, value in sorted(details.items()):
        label, table_name = DETAIL_LABELS.get(key, (key, None))
        table = None
        if table_name is not None:
            table = _OWN_TABLES.get(table_name) or tables.get(table_name)
        pairs.append((gettext(label), _value(value, table, tables)))
    return pairs

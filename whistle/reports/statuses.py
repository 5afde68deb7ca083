"""Case statuses and outcomes with their public labels: the one table the interface reads."""

from __future__ import annotations

from whistle.i18n import N_

RECEIVED = "received"
VERIFICATION = "verification"
INVESTIGATION = "investigation"
CONCLUDED = "concluded"
NOT_ACTIONABLE = "not_actionable"
REFERRED = "referred"
ARCHIVED = "archived"

STATUS_LABELS: dict[str, str] = {
    RECEIVED: N_("Diterima"),
    VERIFICATION: N_("Dalam Verifikasi"),
    INVESTIGATION: N_("Dalam Investigasi"),
    CONCLUDED: N_("Selesai"),
    NOT_ACTIONABLE: N_("Tidak Dapat Ditindaklanjuti"),
    REFERRED: N_("Dilimpahkan"),
    ARCHIVED: N_("Diarsipkan"),
}

# What each status means for the reporter, in plain words on /track.
STATUS_EXPLANATIONS: dict[str, str] = {
    RECEIVED: N_("Laporan Anda sudah kami terima dan menunggu diperiksa oleh Tim WBS."),
    VERIFICATION: N_("Tim WBS sedang memeriksa kelengkapan dan kebenaran awal laporan Anda."),
    INVESTIGATION: N_("Laporan Anda sedang diinvestigasi lebih lanjut."),
    CONCLUDED: N_("Penanganan laporan Anda sudah selesai."),
    NOT_ACTIONABLE: N_("Laporan Anda tidak dapat ditindaklanjuti. Lihat catatan dari Tim WBS."),
    REFERRED: N_("Laporan Anda dilimpahkan kepada pihak yang berwenang."),
    ARCHIVED: N_("Laporan Anda sudah diarsipkan."),
}

OUTCOME_LABELS: dict[str, str] = {
    "substantiated_ethics": N_("Terbukti - pelanggaran kode etik"),
    "substantiated_discipline": N_("Terbukti - pelanggaran disiplin"),
    "substantiated_criminal": N_("Dilimpahkan ke APH - dugaan pidana"),
    "not_substantiated": N_("Tidak terbukti"),
}

# Statuses in which the office still owes the reporter an answer: deadlines run only here.
OPEN_STATUSES: frozenset[str] = frozenset({RECEIVED, VERIFICATION, INVESTIGATION})

LOW = "low"
NORMAL = "normal"
HIGH = "high"
URGENT = "urgent"

PRIORITY_LABELS: dict[str, str] = {
    LOW: N_("Rendah"),
    NORMAL: N_("Normal"),
    HIGH: N_("Tinggi"),
    URGENT: N_("Mendesak"),
}

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

# What happens next, and what the reporter can do, for each status (the dates the office has
# committed to are shown beside it, from the report's own deadlines).
STATUS_NEXT_STEPS: dict[str, str] = {
    RECEIVED: N_(
        "Tim WBS akan menanggapi laporan Anda paling lambat pada tanggal yang tertera di bawah. "
        "Kembalilah dengan kode pelacakan untuk melihat perkembangannya."
    ),
    VERIFICATION: N_(
        "Tim WBS sedang menilai apakah laporan dapat ditindaklanjuti. Kembalilah dengan kode "
        "pelacakan sebelum tanggal umpan balik di bawah untuk melihat hasilnya."
    ),
    INVESTIGATION: N_(
        "Tim WBS sedang mengumpulkan bukti dan keterangan. Hasil penanganan akan ditampilkan di "
        "halaman ini paling lambat pada tanggal umpan balik di bawah."
    ),
    CONCLUDED: N_(
        "Penanganan laporan ini sudah selesai dan hasilnya tertulis di atas. Tidak ada yang perlu "
        "Anda lakukan. Jika terjadi lagi atau Anda punya bukti baru, buat pengaduan baru."
    ),
    NOT_ACTIONABLE: N_(
        "Tim WBS tidak dapat menindaklanjuti laporan ini, biasanya karena keterangannya belum "
        "cukup untuk diperiksa. Anda dapat membuat pengaduan baru yang lebih lengkap: apa yang "
        "terjadi, di mana, kapan, dan siapa yang terlibat."
    ),
    REFERRED: N_(
        "Perkara ini menjadi kewenangan instansi yang disebut di atas, dan Tim WBS sudah "
        "meneruskan laporan Anda kepada mereka. Instansi itu yang menanganinya sekarang. Jika "
        "ingin menambah keterangan atau menanyakan perkembangannya, hubungi instansi tersebut "
        "melalui kanal pengaduan resminya."
    ),
    ARCHIVED: N_(
        "Penanganan sudah selesai dan berkas laporan disimpan. Tidak ada tindak lanjut lagi; "
        "jika terjadi kejadian baru, buat pengaduan baru."
    ),
}

OUTCOME_LABELS: dict[str, str] = {
    "substantiated_ethics": N_("Terbukti - pelanggaran kode etik"),
    "substantiated_discipline": N_("Terbukti - pelanggaran disiplin"),
    "substantiated_criminal": N_("Dilimpahkan ke APH - dugaan pidana"),
    "not_substantiated": N_("Tidak terbukti"),
}

# What each outcome means, said to the reporter in plain words.
OUTCOME_EXPLANATIONS: dict[str, str] = {
    "substantiated_ethics": N_(
        "Laporan Anda terbukti: terjadi pelanggaran kode etik, dan pegawai yang bersangkutan "
        "ditindak menurut ketentuan kode etik."
    ),
    "substantiated_discipline": N_(
        "Laporan Anda terbukti: terjadi pelanggaran disiplin, dan pegawai yang bersangkutan "
        "ditindak menurut peraturan disiplin pegawai."
    ),
    "substantiated_criminal": N_(
        "Laporan Anda terbukti mengandung dugaan tindak pidana, dan perkaranya diserahkan "
        "kepada aparat penegak hukum."
    ),
    "not_substantiated": N_(
        "Setelah diperiksa, bukti yang ada tidak cukup untuk menyatakan pelanggaran terjadi. "
        "Ini tidak berarti laporan Anda dianggap tidak benar."
    ),
}
# Who a referred case went to: chosen from this list (the reporter sees the label). Which unit
# or any detail is free text, encrypted under the report key (envelope.REFERRAL_DETAIL).
REFERRAL_OTHER = "other"
REFERRAL_LABELS: dict[str, str] = {
    "kpk": N_("Komisi Pemberantasan Korupsi (KPK)"),
    "kepolisian": N_("Kepolisian Negara Republik Indonesia"),
    "kejaksaan": N_("Kejaksaan Republik Indonesia"),
    "ombudsman": N_("Ombudsman Republik Indonesia"),
    "inspektorat_jenderal": N_("Inspektorat Jenderal Kementerian Imigrasi dan Pemasyarakatan"),
    REFERRAL_OTHER: N_("Instansi lain yang berwenang"),
}

assert set(STATUS_NEXT_STEPS) == set(STATUS_LABELS) == set(STATUS_EXPLANATIONS)
assert set(OUTCOME_EXPLANATIONS) == set(OUTCOME_LABELS)

# Statuses in which the office still owes the reporter an answer: deadlines run only here.
OPEN_STATUSES: frozenset[str] = frozenset({RECEIVED, VERIFICATION, INVESTIGATION})
# The inbox's order in SQL over report's columns: open cases first, then the deadline that runs
# (acknowledgement until acknowledged, then feedback). Indexes are built on these expressions
# character for character (migrations 2026-11-28T06, T08; SQLite matches them literally), and
# officers' unopened wraps keep a copy of their values (envelope.copy_inbox_order).
OPEN_RANK_SQL = (
    "(CASE WHEN status IN ('received', 'verification', 'investigation') THEN 0 ELSE 1 END)"
)
DUE_SQL = "(CASE WHEN acknowledged_at IS NULL THEN acknowledge_due ELSE feedback_due END)"

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

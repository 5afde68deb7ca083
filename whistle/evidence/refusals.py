"""Why a file is refused, and what cleaning removed: the translatable texts shown per file.

Kept apart from ``files`` so the cleaners of each kind can raise and label without importing
the dispatcher that imports them.
"""

from __future__ import annotations

from whistle.i18n import N_

BROKEN = N_("Berkas rusak atau terpotong.")
MISMATCH = N_("Isi berkas tidak sesuai dengan jenisnya.")
BOMB = N_("Berkas terlalu besar setelah dibuka (kemungkinan bom dekompresi).")
MACROS = N_("Dokumen berisi makro dan tidak dapat diterima.")
ENCRYPTED = N_(
    "Dokumen terkunci dengan kata sandi atau terenkripsi; kirim versi yang tidak terkunci."
)
EMPTY = N_("Berkas kosong.")

# Labels for CleanResult.removed: what was present and taken out.
GPS = N_("lokasi GPS")
CAMERA = N_("data kamera dan waktu pengambilan")
AUTHOR = N_("nama penulis")
XMP = N_("metadata XMP")
IPTC = N_("metadata IPTC")
ICC = N_("profil warna (ICC)")
COMMENTS = N_("komentar dan teks tersemat")
OTHER_EXIF = N_("data EXIF lainnya")
EXTRA_IMAGES = N_("gambar tambahan (pratinjau atau peta kedalaman)")
PROGRAM = N_("nama program pembuat")
TITLE = N_("judul, subjek dan kata kunci")
DATES = N_("tanggal pembuatan dan perubahan")
ORGANISATION = N_("nama organisasi dan atasan")
OTHER_PROPERTIES = N_("properti dokumen lainnya")
CUSTOM_PROPERTIES = N_("properti khusus")
DOCUMENT_ID = N_("penanda unik dokumen")
EMBEDDED_FILES = N_("berkas tersemat")
JAVASCRIPT = N_("JavaScript")
THUMBNAIL = N_("gambar mini")
REVIEW_COMMENTS = N_("komentar peninjau dan nama mereka")
FILE_DATES = N_("tanggal berkas di dalam arsip")
EDIT_SESSIONS = N_("penanda sesi penyuntingan")
AUTHOR_PATHS = N_("lokasi berkas di komputer penulis")


class UnsafeFile(Exception):
    """A file refused before anything is stored; ``message`` is a translatable msgid (N_)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def ordered(labels: set[str] | list[str]) -> tuple[str, ...]:
    """The removed labels without repeats, in a stable order (the order of this module)."""
    order = {label: index for index, label in enumerate(_LABEL_ORDER)}
    return tuple(sorted(set(labels), key=lambda label: (order.get(label, len(order)), label)))


_LABEL_ORDER = (
    GPS, CAMERA, AUTHOR, ORGANISATION, PROGRAM, TITLE, DATES, XMP, IPTC, ICC, COMMENTS,
    REVIEW_COMMENTS, OTHER_EXIF, EXTRA_IMAGES, THUMBNAIL, CUSTOM_PROPERTIES, OTHER_PROPERTIES,
    DOCUMENT_ID, EDIT_SESSIONS, AUTHOR_PATHS, EMBEDDED_FILES, JAVASCRIPT, FILE_DATES,
)  # fmt: skip

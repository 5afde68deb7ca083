"""What an uploaded file is, decided from its bytes, and its metadata cleaning.

``detect_type`` looks only at the first bytes (``SNIFF_BYTES``); the name a browser sends is
never trusted. ``clean`` takes the whole file (images and documents are cleaned in memory, never
on disk) and returns the cleaned bytes with what was removed, or raises ``UnsafeFile``.
"""

from __future__ import annotations

from dataclasses import dataclass

from whistle.evidence import refusals
from whistle.evidence.images import clean_image
from whistle.evidence.office import clean_office
from whistle.evidence.pdfs import clean_pdf
from whistle.evidence.refusals import UnsafeFile

__all__ = ["ALLOWED", "BY_NAME", "CleanResult", "FileType", "UnsafeFile", "clean", "detect_type"]

# Enough for every signature below, including ISO-BMFF brands and a zip's first entry name.
SNIFF_BYTES = 64 * 1024


@dataclass(frozen=True)
class FileType:
    """One allowed kind of file."""

    name: str  # stable identifier stored with the file ("jpeg", "pdf", ...)
    mime: str
    extension: str
    # False for kinds whose metadata cannot be removed (audio, video): the reporter is warned.
    cleanable: bool


@dataclass(frozen=True)
class CleanResult:
    data: bytes
    # Translatable labels (N_) of what was removed, e.g. "lokasi GPS", "nama penulis".
    removed: tuple[str, ...]


JPEG = FileType("jpeg", "image/jpeg", "jpg", True)
PNG = FileType("png", "image/png", "png", True)
WEBP = FileType("webp", "image/webp", "webp", True)
HEIC = FileType("heic", "image/heic", "heic", True)
PDF = FileType("pdf", "application/pdf", "pdf", True)
TEXT = FileType("text", "text/plain", "txt", True)
MP3 = FileType("mp3", "audio/mpeg", "mp3", False)
M4A = FileType("m4a", "audio/mp4", "m4a", False)
OGG = FileType("ogg", "audio/ogg", "ogg", False)
WAV = FileType("wav", "audio/wav", "wav", False)
AMR = FileType("amr", "audio/amr", "amr", False)
MP4 = FileType("mp4", "video/mp4", "mp4", False)
MOV = FileType("mov", "video/quicktime", "mov", False)
THREE_GP = FileType("3gp", "video/3gpp", "3gp", False)
WEBM = FileType("webm", "video/webm", "webm", False)
DOCX = FileType(
    "docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document", "docx", True
)
XLSX = FileType(
    "xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx", True
)
PPTX = FileType(
    "pptx",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "pptx",
    True,
)
ODT = FileType("odt", "application/vnd.oasis.opendocument.text", "odt", True)
ODS = FileType("ods", "application/vnd.oasis.opendocument.spreadsheet", "ods", True)

ALLOWED: tuple[FileType, ...] = (
    JPEG, PNG, WEBP, HEIC, PDF, TEXT, MP3, M4A, OGG, WAV, AMR, MP4, MOV, THREE_GP, WEBM,
    DOCX, XLSX, PPTX, ODT, ODS,
)  # fmt: skip
BY_NAME = {kind.name: kind for kind in ALLOWED}

_ISO_BRANDS = {
    b"heic": HEIC, b"heix": HEIC, b"mif1": HEIC, b"msf1": HEIC,
    b"M4A ": M4A, b"M4B ": M4A,
    b"qt  ": MOV,
    b"3gp4": THREE_GP, b"3gp5": THREE_GP, b"3gp6": THREE_GP, b"3g2a": THREE_GP,
}  # fmt: skip
_ODF = {
    b"application/vnd.oasis.opendocument.text": ODT,
    b"application/vnd.oasis.opendocument.spreadsheet": ODS,
}


def _zip_kind(head: bytes) -> FileType | None:
    # ODF stores an uncompressed "mimetype" entry first; OOXML names its parts in the
    # local headers, and the first part names are enough to tell the three apart.
    if head[30:38] == b"mimetype":
        for mime, kind in _ODF.items():
            if head[38 : 38 + len(mime)] == mime:
                return kind
        return None
    if b"[Content_Types].xml" not in head:
        return None
    if b"word/" in head:
        return DOCX
    if b"xl/" in head:
        return XLSX
    if b"ppt/" in head:
        return PPTX
    return None


_TEXT_CONTROLS = "\n\r\t\f"


def _looks_like_text(head: bytes) -> bool:
    if not head or b"\x00" in head:
        return False
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as error:
        # A multi-byte character cut by the sniff window is still text.
        if error.start < len(head) - 3:
            return False
        text = head[: error.start].decode("utf-8")
    text = text.removeprefix("\ufeff")
    return _printable(text) and not _looks_like_markup(text)


def _looks_like_markup(text: str) -> bool:
    # HTML, SVG and XML are text a browser would run scripts from (and sniff as HTML even
    # when told text/plain by an older client): refused rather than stored as plain text.
    start = text.lstrip()[:2]
    return len(start) == 2 and start[0] == "<" and (start[1].isalpha() or start[1] in "!?")


def detect_type(head: bytes) -> FileType | None:
    """The allowed kind the bytes are, or None. ``head`` is the first SNIFF_BYTES (or the whole
    file if shorter). Office documents are recognised by their zip layout, not their name."""
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return WEBP
    if head.startswith(b"RIFF") and head[8:12] == b"WAVE":
        return WAV
    if head.startswith(b"%PDF-"):
        return PDF
    if head.startswith(b"OggS"):
        return OGG
    if head.startswith(b"#!AMR"):
        return AMR
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return WEBM
    if head.startswith(b"ID3") or (len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0):
        return MP3
    if head[4:8] == b"ftyp":
        return _ISO_BRANDS.get(head[8:12], MP4)
    if head.startswith(b"PK\x03\x04"):
        return _zip_kind(head)
    if _looks_like_text(head):
        return TEXT
    return None


def clean(kind: FileType, data: bytes) -> CleanResult:
    """Remove identifying metadata from ``data`` of the given kind.

    Images are decoded and re-encoded from their pixels (orientation applied), PDFs and office
    documents rewritten without their properties, text normalised to UTF-8; audio and video
    (``kind.cleanable`` False) come back unchanged and the caller warns the reporter. Everything
    happens in memory. ``removed`` names what was present and taken out, empty when nothing was.

    Raises UnsafeFile (with a translatable message) for a file that is not what its first bytes
    say, is truncated or damaged, is encrypted, carries macros, or would expand beyond the limits
    when decoded (decompression bombs)."""
    if not data:
        raise UnsafeFile(refusals.EMPTY)
    if kind in (JPEG, PNG, WEBP, HEIC):
        cleaned, removed = clean_image(kind.name, data)
    elif kind == PDF:
        cleaned, removed = clean_pdf(data)
    elif kind in (DOCX, XLSX, PPTX, ODT, ODS):
        cleaned, removed = clean_office(kind.name, data)
    elif kind == TEXT:
        cleaned, removed = _clean_text(data), ()
    elif not kind.cleanable:
        cleaned, removed = data, ()
    else:
        raise ValueError(f"no cleaner for {kind.name}")
    return CleanResult(data=cleaned, removed=removed)


def _clean_text(data: bytes) -> bytes:
    """UTF-8 without byte-order mark, with Unix line ends; the same characters detect_type
    accepts, over the whole file rather than its head."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise UnsafeFile(refusals.MISMATCH) from None
    text = text.removeprefix("\ufeff").replace("\r\n", "\n")
    if not text:
        raise UnsafeFile(refusals.EMPTY)
    if not _printable(text) or _looks_like_markup(text):
        raise UnsafeFile(refusals.MISMATCH)
    return text.encode("utf-8")


def _printable(text: str) -> bool:
    return all(ch.isprintable() or ch in _TEXT_CONTROLS for ch in text)

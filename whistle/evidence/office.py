"""Office document cleaning: OOXML (docx, xlsx, pptx) and OpenDocument (odt, ods) zips rewritten.

The document properties (docProps/core.xml and app.xml, or ODF meta.xml and settings.xml) are
replaced by empty documents; custom properties, thumbnails, review comments and the people who
wrote them are dropped together with the references to them; author names on tracked changes
are blanked; pictures inside are cleaned like uploaded images; every entry gets the same fixed
date. Zip bombs (too many entries, too much once expanded) and macros are refused before
anything is expanded.
"""

from __future__ import annotations

import io
import posixpath
import re
import zipfile
from xml.etree import ElementTree

from whistle.evidence import refusals
from whistle.evidence.images import clean_image
from whistle.evidence.refusals import UnsafeFile

MAX_ENTRIES = 5_000
MAX_UNCOMPRESSED_BYTES = 200 * 1024 * 1024
# Office XML compresses about 5 to 20 times; a hundred is far beyond a real document.
MAX_RATIO = 100
# Below this, any ratio is harmless (a small document of repetitive XML).
RATIO_FLOOR_BYTES = 10 * 1024 * 1024
FIXED_DATE = (1980, 1, 1, 0, 0, 0)

_MAIN_CONTENT_TYPES = {
    "docx": b"wordprocessingml.document.main+xml",
    "xlsx": b"spreadsheetml.sheet.main+xml",
    "pptx": b"presentationml.presentation.main+xml",
}
_ODF_MIMETYPES = {
    "odt": b"application/vnd.oasis.opendocument.text",
    "ods": b"application/vnd.oasis.opendocument.spreadsheet",
}

_EMPTY_CORE = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    b'<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/'
    b'core-properties" xmlns:dc="http://purl.org/dc/elements/1.1/" '
    b'xmlns:dcterms="http://purl.org/dc/terms/" '
    b'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"/>'
)
_EMPTY_APP = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    b'<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/'
    b'extended-properties"/>'
)
_EMPTY_ODF_META = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n'
    b'<office:document-meta xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
    b'office:version="1.2"><office:meta/></office:document-meta>'
)
_EMPTY_ODF_SETTINGS = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n'
    b'<office:document-settings xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"'
    b' office:version="1.2"/>'
)

# Element local names in the property documents, by what they reveal; the rest is "other".
_PROPERTY_LABELS = {
    "creator": refusals.AUTHOR,
    "lastModifiedBy": refusals.AUTHOR,
    "initial-creator": refusals.AUTHOR,
    "printed-by": refusals.AUTHOR,
    "title": refusals.TITLE,
    "subject": refusals.TITLE,
    "keywords": refusals.TITLE,
    "keyword": refusals.TITLE,
    "description": refusals.TITLE,
    "category": refusals.TITLE,
    "created": refusals.DATES,
    "modified": refusals.DATES,
    "lastPrinted": refusals.DATES,
    "creation-date": refusals.DATES,
    "date": refusals.DATES,
    "print-date": refusals.DATES,
    "Application": refusals.PROGRAM,
    "AppVersion": refusals.PROGRAM,
    "generator": refusals.PROGRAM,
    "Company": refusals.ORGANISATION,
    "Manager": refusals.ORGANISATION,
    "user-defined": refusals.CUSTOM_PROPERTIES,
}
_MACRO_NAME = re.compile(r"(^|/)(vbaProject\.bin|vbaData\.xml)$|^(Basic|Scripts)/", re.IGNORECASE)
_COMMENT_PART = re.compile(
    r"(^|/)(comments\d*\.xml|commentsExtended\.xml|commentsIds\.xml|commentsExtensible\.xml"
    r"|people\.xml|commentAuthors\.xml|authors\.xml)$"
    r"|^xl/threadedComments/|^xl/persons/|^ppt/comments/",
    re.IGNORECASE,
)
_COMMENT_MARKS = re.compile(rb"<w:(commentRangeStart|commentRangeEnd|commentReference)\b[^>]*/>")
_REVISION_AUTHOR = re.compile(rb'\bw:(author|initials)="([^"]*)"')
# Word's revision-session ids tie documents edited in the same session together.
_EDIT_SESSION_IDS = re.compile(rb'\sw:rsid\w*="[0-9A-Fa-f]*"|<w:rsids>.*?</w:rsids>', re.DOTALL)
# Paths on the author's computer: Excel's absPath, Word's attached template (C:\Users\<name>\...).
_ABSOLUTE_PATH = re.compile(rb"<x15ac:absPath\b[^>]*/>|<w:attachedTemplate\b[^>]*/>")
_ATTACHED_TEMPLATE_TYPE = "relationships/attachedTemplate"
_ODF_CREATOR = re.compile(rb"<dc:creator>([^<]*)</dc:creator>")
_RELATIONSHIP = re.compile(rb"<Relationship\b[^>]*/>")
_OVERRIDE = re.compile(rb"<Override\b[^>]*/>")
_ATTRIBUTE = r'\b{}="([^"]*)"'


def clean_office(kind_name: str, data: bytes) -> tuple[bytes, tuple[str, ...]]:
    """Rewrite the office document ``data`` of kind ``kind_name`` without its identifying
    properties and review comments; returns the new zip and the labels of what was removed.
    Raises UnsafeFile for a broken zip, a zip bomb, macros, encryption or a document that is not
    of that kind."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        entries = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError, OSError):
        raise UnsafeFile(refusals.BROKEN) from None
    _check_limits(entries, len(data))
    names = [entry.filename for entry in entries]
    if len(set(names)) != len(names):
        raise UnsafeFile(refusals.BROKEN)
    if any(entry.flag_bits & 0x1 for entry in entries):
        raise UnsafeFile(refusals.ENCRYPTED)
    if any(_MACRO_NAME.search(name) for name in names):
        raise UnsafeFile(refusals.MACROS)
    try:
        contents = {entry.filename: archive.read(entry) for entry in entries}
    except (zipfile.BadZipFile, NotImplementedError, ValueError, EOFError, OSError):
        raise UnsafeFile(refusals.BROKEN) from None
    except RuntimeError:
        raise UnsafeFile(refusals.ENCRYPTED) from None
    removed: set[str] = set()
    if kind_name in _ODF_MIMETYPES:
        cleaned = _clean_odf(kind_name, names, contents, removed)
    else:
        cleaned = _clean_ooxml(kind_name, names, contents, removed)
    _clean_pictures(cleaned, removed)
    if any(entry.date_time != FIXED_DATE for entry in entries):
        removed.add(refusals.FILE_DATES)
    return _write(cleaned), refusals.ordered(removed)


def _check_limits(entries: list[zipfile.ZipInfo], compressed: int) -> None:
    expanded = sum(entry.file_size for entry in entries)
    if (
        len(entries) > MAX_ENTRIES
        or expanded > MAX_UNCOMPRESSED_BYTES
        or (expanded > RATIO_FLOOR_BYTES and expanded > MAX_RATIO * compressed)
    ):
        raise UnsafeFile(refusals.BOMB)


def _clean_ooxml(
    kind_name: str, names: list[str], contents: dict[str, bytes], removed: set[str]
) -> dict[str, bytes]:
    content_types = contents.get("[Content_Types].xml", b"")
    if b"macroEnabled" in content_types:
        raise UnsafeFile(refusals.MACROS)
    if _MAIN_CONTENT_TYPES[kind_name] not in content_types:
        raise UnsafeFile(refusals.MISMATCH)
    dropped = set()
    for name in names:
        if name == "docProps/custom.xml":
            dropped.add(name)
            removed.add(refusals.CUSTOM_PROPERTIES)
        elif name.startswith("docProps/thumbnail"):
            dropped.add(name)
            removed.add(refusals.THUMBNAIL)
        elif _COMMENT_PART.search(name):
            dropped.add(name)
            removed.add(refusals.REVIEW_COMMENTS)
    cleaned: dict[str, bytes] = {}
    for name in names:
        if name in dropped:
            continue
        content = contents[name]
        if name == "docProps/core.xml":
            removed |= _property_labels(content)
            content = _EMPTY_CORE
        elif name == "docProps/app.xml":
            removed |= _property_labels(content)
            content = _EMPTY_APP
        elif name.endswith(".rels"):
            content = _without_relationships(name, content, dropped, removed)
        elif name == "[Content_Types].xml":
            content = _without_overrides(content, dropped)
        elif name.startswith("word/") and name.endswith(".xml"):
            content = _COMMENT_MARKS.sub(b"", content)
            content = _blank_revision_authors(content, removed)
            content = _without(_EDIT_SESSION_IDS, content, refusals.EDIT_SESSIONS, removed)
            content = _without(_ABSOLUTE_PATH, content, refusals.AUTHOR_PATHS, removed)
        elif name.startswith("xl/") and name.endswith(".xml"):
            content = _without(_ABSOLUTE_PATH, content, refusals.AUTHOR_PATHS, removed)
        cleaned[name] = content
    return cleaned


def _clean_odf(
    kind_name: str, names: list[str], contents: dict[str, bytes], removed: set[str]
) -> dict[str, bytes]:
    if names[0] != "mimetype" or contents["mimetype"].strip() != _ODF_MIMETYPES[kind_name]:
        raise UnsafeFile(refusals.MISMATCH)
    if "content.xml" not in contents:
        raise UnsafeFile(refusals.MISMATCH)
    cleaned: dict[str, bytes] = {}
    for name in names:
        content = contents[name]
        if name == "meta.xml":
            removed |= _property_labels(content)
            content = _EMPTY_ODF_META
        elif name == "settings.xml":
            # Printer names and window layouts of the author's machine.
            removed.add(refusals.OTHER_PROPERTIES)
            content = _EMPTY_ODF_SETTINGS
        elif name in ("content.xml", "styles.xml"):
            # Comments (office:annotation) and tracked changes name their author.
            if any(match.group(1).strip() for match in _ODF_CREATOR.finditer(content)):
                removed.add(refusals.AUTHOR)
            content = _ODF_CREATOR.sub(b"<dc:creator></dc:creator>", content)
        cleaned[name] = content
    return cleaned


def _property_labels(document: bytes) -> set[str]:
    try:
        root = ElementTree.fromstring(document)  # noqa: S314 - expat >= 2.4 refuses entity bombs; no external entities
    except ElementTree.ParseError:
        raise UnsafeFile(refusals.BROKEN) from None
    labels = set()
    for element in root.iter():
        # Leaves carry the values: <dc:creator>Name</dc:creator>, <meta:document-statistic .../>.
        if len(element) == 0 and ((element.text or "").strip() or element.attrib):
            local = element.tag.rsplit("}", 1)[-1]
            labels.add(_PROPERTY_LABELS.get(local, refusals.OTHER_PROPERTIES))
    return labels


def _blank_revision_authors(content: bytes, removed: set[str]) -> bytes:
    def blank(match: re.Match[bytes]) -> bytes:
        if match.group(2).strip():
            removed.add(refusals.AUTHOR)
        return b"w:" + match.group(1) + b'=""'

    return _REVISION_AUTHOR.sub(blank, content)


def _without(pattern: re.Pattern[bytes], content: bytes, label: str, removed: set[str]) -> bytes:
    cleaned, count = pattern.subn(b"", content)
    if count:
        removed.add(label)
    return cleaned


def _without_relationships(
    rels_name: str, content: bytes, dropped: set[str], removed: set[str]
) -> bytes:
    # word/_rels/document.xml.rels describes word/document.xml: targets are relative to word/.
    base = posixpath.dirname(posixpath.dirname(rels_name))

    def keep(match: re.Match[bytes]) -> bytes:
        tag = match.group(0).decode("utf-8", "replace")
        if _ATTACHED_TEMPLATE_TYPE in tag:
            removed.add(refusals.AUTHOR_PATHS)
            return b""
        if re.search(_ATTRIBUTE.format("TargetMode"), tag) and "External" in tag:
            return match.group(0)
        target = re.search(_ATTRIBUTE.format("Target"), tag)
        if target is None:
            return match.group(0)
        path = target.group(1)
        resolved = path.lstrip("/") if path.startswith("/") else posixpath.join(base, path)
        return b"" if posixpath.normpath(resolved) in dropped else match.group(0)

    return _RELATIONSHIP.sub(keep, content)


def _without_overrides(content: bytes, dropped: set[str]) -> bytes:
    def keep(match: re.Match[bytes]) -> bytes:
        part = re.search(_ATTRIBUTE.format("PartName"), match.group(0).decode("utf-8", "replace"))
        return b"" if part is not None and part.group(1).lstrip("/") in dropped else match.group(0)

    return _OVERRIDE.sub(keep, content)


def _clean_pictures(contents: dict[str, bytes], removed: set[str]) -> None:
    """Photos pasted into a document keep their EXIF (GPS included): clean them as uploads."""
    signatures = {b"\xff\xd8\xff": "jpeg", b"\x89PNG\r\n\x1a\n": "png"}
    for name, content in contents.items():
        kind_name = next(
            (kind for sig, kind in signatures.items() if content.startswith(sig)), None
        )
        if kind_name is None and content.startswith(b"RIFF") and content[8:12] == b"WEBP":
            kind_name = "webp"
        if kind_name is not None:
            contents[name], labels = clean_image(kind_name, content)
            removed.update(labels)


def _write(contents: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, content in contents.items():
            entry = zipfile.ZipInfo(name, date_time=FIXED_DATE)
            # ODF readers find the mimetype as the first, stored entry.
            entry.compress_type = zipfile.ZIP_STORED if name == "mimetype" else zipfile.ZIP_DEFLATED
            archive.writestr(entry, content)
    return out.getvalue()

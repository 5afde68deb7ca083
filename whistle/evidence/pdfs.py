"""PDF cleaning with pikepdf (qpdf): document information, XMP, embedded files, JavaScript.

The document is rewritten whole, so earlier revisions kept by incremental saves are dropped too.
Streams are copied without decoding (a compressed-stream bomb is never expanded) and the file
identifier is derived from the new content, not kept from the author's copy. Everything stays in
memory: pikepdf only uses temporary files when saving to a path, and here it writes to a BytesIO.
"""

from __future__ import annotations

import io

import pikepdf
from pikepdf import Dictionary, Name, Pdf

from whistle.evidence import refusals
from whistle.evidence.refusals import UnsafeFile

_INFO_LABELS = {
    "/Author": refusals.AUTHOR,
    "/Creator": refusals.PROGRAM,
    "/Producer": refusals.PROGRAM,
    "/Title": refusals.TITLE,
    "/Subject": refusals.TITLE,
    "/Keywords": refusals.TITLE,
    "/CreationDate": refusals.DATES,
    "/ModDate": refusals.DATES,
}
# A tuple, not a set: pikepdf Names compare equal to str but do not hash like them.
# Far deeper than any real document nests dictionaries; a crafted one is refused, not recursed.
_MAX_NESTING = 100
_SCRIPT_ACTIONS = ("/JavaScript", "/Launch", "/ImportData", "/SubmitForm")
# Keys removed from any dictionary or stream they sit in, each with the label it is reported as.
_SCRUBBED_KEYS = (
    (Name.Metadata, refusals.XMP),
    (Name.PieceInfo, refusals.OTHER_PROPERTIES),
    (Name.JS, refusals.JAVASCRIPT),
    (Name.AA, refusals.JAVASCRIPT),
)


def clean_pdf(data: bytes) -> tuple[bytes, tuple[str, ...]]:
    """Return ``data`` rewritten without its document information, XMP metadata, embedded files
    and scripts, with the labels of what was removed. Raises UnsafeFile for an encrypted PDF or
    one qpdf cannot read without repairing it."""
    try:
        with Pdf.open(io.BytesIO(data), attempt_recovery=False) as pdf:
            if pdf.is_encrypted:
                raise UnsafeFile(refusals.ENCRYPTED)
            removed = _strip(pdf)
            out = io.BytesIO()
            pdf.save(
                out,
                stream_decode_level=pikepdf.StreamDecodeLevel.none,
                fix_metadata_version=False,
                deterministic_id=True,
            )
    except UnsafeFile:
        raise
    except pikepdf.PasswordError:
        raise UnsafeFile(refusals.ENCRYPTED) from None
    except MemoryError:
        raise UnsafeFile(refusals.BOMB) from None
    except Exception:
        # pikepdf.PdfError and whatever else a damaged or crafted file provokes.
        raise UnsafeFile(refusals.BROKEN) from None
    return out.getvalue(), refusals.ordered(removed)


def _strip(pdf: Pdf) -> set[str]:
    removed: set[str] = set()
    trailer = pdf.trailer
    if Name.Info in trailer:
        info = trailer.Info
        if isinstance(info, Dictionary):
            for key, value in info.items():
                if str(value):
                    removed.add(_INFO_LABELS.get(key, refusals.OTHER_PROPERTIES))
        del trailer.Info
    if Name.ID in trailer:
        removed.add(refusals.DOCUMENT_ID)
    root = pdf.Root
    for key in ("/PieceInfo", "/SpiderInfo"):
        _drop(root, key, refusals.OTHER_PROPERTIES, removed)
    _drop(root, Name.AA, refusals.JAVASCRIPT, removed)
    if Name.OpenAction in root and _is_script(root.OpenAction):
        _drop(root, Name.OpenAction, refusals.JAVASCRIPT, removed)
    if Name.Names in root and isinstance(root.Names, Dictionary):
        _drop(root.Names, Name.JavaScript, refusals.JAVASCRIPT, removed)
        _drop(root.Names, Name.EmbeddedFiles, refusals.EMBEDDED_FILES, removed)
    # XMP can sit on the catalogue, pages, images and fonts; scripts and attached files can sit
    # on any action or annotation, often as dictionaries nested directly inside another object:
    # every indirect object is visited once, with the direct objects inside it.
    for obj in pdf.objects:
        _scrub_tree(obj, removed, depth=0)
    return removed


def _scrub_tree(obj: object, removed: set[str], depth: int) -> None:
    if depth > _MAX_NESTING:
        raise UnsafeFile(refusals.BROKEN)
    if isinstance(obj, Dictionary | pikepdf.Stream):
        _scrub(obj, removed)
        children = [obj.get(key) for key in list(obj.keys())]
    elif isinstance(obj, pikepdf.Array):
        children = list(obj)
    else:
        return
    for child in children:
        # Indirect children are visited on their own from pdf.objects.
        if isinstance(child, Dictionary | pikepdf.Array) and not child.is_indirect:
            _scrub_tree(child, removed, depth + 1)


def _scrub(obj: Dictionary | pikepdf.Stream, removed: set[str]) -> None:
    for key, label in _SCRUBBED_KEYS:
        _drop(obj, key, label, removed)
    if obj.get(Name.S) in _SCRIPT_ACTIONS:
        obj.S = Name("/Named")  # a do-nothing action keeps the annotation valid
        obj.N = Name.FirstPage
        removed.add(refusals.JAVASCRIPT)
    if obj.get(Name.Subtype) == Name.FileAttachment:
        _drop(obj, Name.FS, refusals.EMBEDDED_FILES, removed)
    if obj.get(Name.Type) == Name.EmbeddedFile:
        removed.add(refusals.EMBEDDED_FILES)


def _drop(obj: pikepdf.Object, key: Name | str, label: str, removed: set[str]) -> None:
    """Delete ``key`` from ``obj`` when it is there, noting ``label`` among what was removed."""
    if key in obj:
        del obj[key]
        removed.add(label)


def _is_script(action: object) -> bool:
    return isinstance(action, Dictionary) and action.get(Name.S) in _SCRIPT_ACTIONS

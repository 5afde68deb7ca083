"""Evidence files: kinds decided from the bytes, metadata removed, unsafe files refused.

Every fixture is built here in memory (Pillow, pikepdf, zipfile) so what each test feeds in is
visible beside what it expects out.
"""

from __future__ import annotations

import io
import pathlib
import struct
import tempfile
import zipfile
import zlib

import pikepdf
import pillow_heif
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image, ImageCms
from PIL.PngImagePlugin import PngInfo

from whistle.evidence import files, images, office, refusals
from whistle.evidence.files import (
    ALLOWED,
    SNIFF_BYTES,
    CleanResult,
    FileType,
    UnsafeFile,
    clean,
    detect_type,
)

GPS_IFD = 0x8825
ORIENTATION = 0x0112
MAKE, MODEL, DATETIME_ORIGINAL = 0x010F, 0x0110, 0x9003


def _photo_exif(orientation: int = 6) -> Image.Exif:
    exif = Image.Exif()
    exif[MAKE] = "Canon"
    exif[MODEL] = "EOS 90D"
    exif[ORIENTATION] = orientation
    exif.get_ifd(0x8769)[DATETIME_ORIGINAL] = "2026:11:20 09:15:00"
    gps = exif.get_ifd(GPS_IFD)
    gps[1] = "S"
    gps[2] = (6.0, 10.0, 30.5)
    gps[3] = "E"
    gps[4] = (106.0, 49.0, 12.0)
    return exif


def _two_colour(size: tuple[int, int] = (40, 20)) -> Image.Image:
    """Left half red, right half blue: rotation is visible in where the colours land."""
    image = Image.new("RGB", size, (255, 0, 0))
    image.paste((0, 0, 255), (size[0] // 2, 0, size[0], size[1]))
    return image


def _jpeg_with_gps() -> bytes:
    out = io.BytesIO()
    _two_colour().save(out, "JPEG", exif=_photo_exif(), comment=b"Kantor Imigrasi", quality=95)
    return out.getvalue()


def _zip(entries: list[tuple[str, bytes]], *, stored_first: bool = False) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for index, (name, content) in enumerate(entries):
            info = zipfile.ZipInfo(name, date_time=(2026, 11, 20, 9, 15, 0))
            stored = stored_first and index == 0
            info.compress_type = zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED
            archive.writestr(info, content)
    return out.getvalue()


DOCX_CONTENT_TYPES = (
    b'<?xml version="1.0" encoding="UTF-8"?>'
    b'<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    b'<Default Extension="rels" '
    b'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    b'<Default Extension="xml" ContentType="application/xml"/>'
    b'<Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-'
    b'officedocument.wordprocessingml.document.main+xml"/>'
    b'<Override PartName="/word/comments.xml" ContentType="application/vnd.openxmlformats-'
    b'officedocument.wordprocessingml.comments+xml"/>'
    b'<Override PartName="/docProps/core.xml" ContentType="application/vnd.openxmlformats-'
    b'package.core-properties+xml"/>'
    b'<Override PartName="/docProps/app.xml" ContentType="application/vnd.openxmlformats-'
    b'officedocument.extended-properties+xml"/>'
    b'<Override PartName="/docProps/custom.xml" ContentType="application/vnd.openxmlformats-'
    b'officedocument.custom-properties+xml"/>'
    b"</Types>"
)
DOCX_ROOT_RELS = (
    b'<?xml version="1.0" encoding="UTF-8"?>'
    b'<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    b'<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    b'relationships/officeDocument" Target="word/document.xml"/>'
    b'<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/package/2006/'
    b'relationships/metadata/core-properties" Target="docProps/core.xml"/>'
    b'<Relationship Id="rId3" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    b'relationships/extended-properties" Target="docProps/app.xml"/>'
    b'<Relationship Id="rId4" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    b'relationships/custom-properties" Target="docProps/custom.xml"/>'
    b"</Relationships>"
)
DOCX_DOCUMENT_RELS = (
    b'<?xml version="1.0" encoding="UTF-8"?>'
    b'<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    b'<Relationship Id="rId9" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    b'relationships/comments" Target="comments.xml"/>'
    b"</Relationships>"
)
DOCX_DOCUMENT = (
    b'<?xml version="1.0" encoding="UTF-8"?>'
    b'<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
    b"<w:body><w:p>"
    b'<w:commentRangeStart w:id="0"/><w:r><w:t>Petugas loket meminta Rp 500.000</w:t></w:r>'
    b'<w:commentRangeEnd w:id="0"/><w:r><w:commentReference w:id="0"/></w:r>'
    b'<w:ins w:id="1" w:author="Siti Rahayu" w:date="2026-11-20T09:00:00Z">'
    b"<w:r><w:t> tanpa kuitansi</w:t></w:r></w:ins>"
    b"</w:p></w:body></w:document>"
)
DOCX_COMMENTS = (
    b'<?xml version="1.0" encoding="UTF-8"?>'
    b'<w:comments xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
    b'<w:comment w:id="0" w:author="Siti Rahayu" w:initials="SR"><w:p><w:r>'
    b"<w:t>cek lagi</w:t></w:r></w:p></w:comment></w:comments>"
)
DOCX_CORE = (
    b'<?xml version="1.0" encoding="UTF-8"?>'
    b'<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/'
    b'core-properties" xmlns:dc="http://purl.org/dc/elements/1.1/" '
    b'xmlns:dcterms="http://purl.org/dc/terms/" '
    b'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
    b"<dc:creator>Siti Rahayu</dc:creator><cp:lastModifiedBy>Siti Rahayu</cp:lastModifiedBy>"
    b"<dc:title>Laporan pungli</dc:title>"
    b'<dcterms:created xsi:type="dcterms:W3CDTF">2026-11-20T09:00:00Z</dcterms:created>'
    b"</cp:coreProperties>"
)
DOCX_APP = (
    b'<?xml version="1.0" encoding="UTF-8"?>'
    b'<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/'
    b'extended-properties"><Application>Microsoft Office Word</Application>'
    b"<Company>PT Contoh Sejahtera</Company></Properties>"
)
DOCX_CUSTOM = (
    b'<?xml version="1.0" encoding="UTF-8"?>'
    b'<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/custom-properties">'
    b"<property name='NIP'><vt:lpwstr>198001012005011001</vt:lpwstr></property></Properties>"
)


def _docx(*extra: tuple[str, bytes], content_types: bytes = DOCX_CONTENT_TYPES) -> bytes:
    return _zip(
        [
            ("[Content_Types].xml", content_types),
            ("_rels/.rels", DOCX_ROOT_RELS),
            ("word/document.xml", DOCX_DOCUMENT),
            ("word/_rels/document.xml.rels", DOCX_DOCUMENT_RELS),
            ("word/comments.xml", DOCX_COMMENTS),
            ("docProps/core.xml", DOCX_CORE),
            ("docProps/app.xml", DOCX_APP),
            ("docProps/custom.xml", DOCX_CUSTOM),
            *extra,
        ]
    )


def _odt() -> bytes:
    meta = (
        b'<?xml version="1.0" encoding="UTF-8"?>'
        b'<office:document-meta xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"'
        b' xmlns:meta="urn:oasis:names:tc:opendocument:xmlns:meta:1.0"'
        b' xmlns:dc="http://purl.org/dc/elements/1.1/"><office:meta>'
        b"<meta:initial-creator>Siti Rahayu</meta:initial-creator>"
        b"<meta:generator>LibreOffice/24.2</meta:generator>"
        b"</office:meta></office:document-meta>"
    )
    content = (
        b'<?xml version="1.0" encoding="UTF-8"?>'
        b'<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"'
        b' xmlns:dc="http://purl.org/dc/elements/1.1/"'
        b' xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"><office:body><office:text>'
        b"<text:p>Calo di loket paspor<office:annotation><dc:creator>Siti Rahayu</dc:creator>"
        b"<text:p>catatan</text:p></office:annotation></text:p>"
        b"</office:text></office:body></office:document-content>"
    )
    return _zip(
        [
            ("mimetype", b"application/vnd.oasis.opendocument.text"),
            ("content.xml", content),
            ("meta.xml", meta),
            (
                "settings.xml",
                b"<office:document-settings>PrinterName HP-KANIM</office:document-settings>",
            ),
        ],
        stored_first=True,
    )


def _pdf_with_metadata() -> bytes:
    pdf = pikepdf.new()
    pdf.add_blank_page()
    with pdf.open_metadata(set_pikepdf_as_editor=False) as xmp:
        xmp["dc:creator"] = ["Siti Rahayu"]
    pdf.docinfo["/Author"] = "Siti Rahayu"
    pdf.docinfo["/Producer"] = "Microsoft Word untuk Kantor Imigrasi"
    pdf.docinfo["/Title"] = "Laporan pungli"
    out = io.BytesIO()
    pdf.save(out)
    return out.getvalue()


def _png_bytes(image: Image.Image, **params: object) -> bytes:
    out = io.BytesIO()
    image.save(out, "PNG", **params)
    return out.getvalue()


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


# -- detect_type ----------------------------------------------------------------------------------


def _content_types(main_part: str, main_type: bytes) -> bytes:
    return (
        b'<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        b'<Override PartName="' + main_part.encode() + b'" ContentType="application/'
        b"vnd.openxmlformats-officedocument." + main_type + b'.main+xml"/></Types>'
    )


def _samples() -> dict[str, bytes]:
    heif = io.BytesIO()
    pillow_heif.from_pillow(_two_colour()).save(heif, quality=50)
    webp = io.BytesIO()
    _two_colour().save(webp, "WEBP")
    return {
        "jpeg": _jpeg_with_gps(),
        "png": _png_bytes(_two_colour()),
        "webp": webp.getvalue(),
        "heic": heif.getvalue(),
        "pdf": _pdf_with_metadata(),
        "text": b"Petugas meminta uang tambahan.\n",
        "mp3": b"ID3\x04\x00\x00\x00\x00\x00\x00" + b"\x00" * 32,
        "m4a": b"\x00\x00\x00\x20ftypM4A \x00\x00\x00\x00",
        "ogg": b"OggS\x00\x02" + b"\x00" * 20,
        "wav": b"RIFF\x24\x00\x00\x00WAVEfmt ",
        "amr": b"#!AMR\n" + b"\x00" * 10,
        "mp4": b"\x00\x00\x00\x20ftypisom\x00\x00\x02\x00",
        "mov": b"\x00\x00\x00\x14ftypqt  \x00\x00\x00\x00",
        "3gp": b"\x00\x00\x00\x14ftyp3gp5\x00\x00\x00\x00",
        "webm": b"\x1a\x45\xdf\xa3" + b"\x00" * 20,
        "docx": _docx(),
        "xlsx": _zip(
            [
                ("[Content_Types].xml", _content_types("/xl/workbook.xml", b"spreadsheetml.sheet")),
                ("xl/workbook.xml", b"<workbook/>"),
            ]
        ),
        "pptx": _zip(
            [
                (
                    "[Content_Types].xml",
                    _content_types("/ppt/presentation.xml", b"presentationml.presentation"),
                ),
                ("ppt/presentation.xml", b"<presentation/>"),
            ]
        ),
        "odt": _odt(),
        "ods": _zip(
            [("mimetype", b"application/vnd.oasis.opendocument.spreadsheet"), ("content.xml", b"")],
            stored_first=True,
        ),
    }


SAMPLES = _samples()


def test_every_allowed_kind_has_a_sample() -> None:
    assert set(SAMPLES) == {kind.name for kind in ALLOWED}


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_detect_type_recognises_each_allowed_kind(name: str) -> None:
    assert detect_type(SAMPLES[name][:SNIFF_BYTES]) == files.BY_NAME[name]


@pytest.mark.parametrize(
    "head",
    [
        pytest.param(b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 56 + b"PE\x00\x00", id="exe"),
        pytest.param(b"\x7fELF\x02\x01\x01" + b"\x00" * 9, id="elf"),
        pytest.param(_zip([("laporan.txt", b"isi")]), id="zip"),
        pytest.param(b"<!DOCTYPE html><html><script>alert(1)</script></html>", id="html"),
        pytest.param(
            b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', id="svg"
        ),
        pytest.param(b"GIF89a\x01\x00\x01\x00", id="gif"),
        pytest.param(b"", id="empty"),
    ],
)
def test_detect_type_refuses_kinds_outside_the_allow_list(head: bytes) -> None:
    assert detect_type(head) is None


def test_a_byte_order_mark_does_not_stop_text_being_text() -> None:
    assert detect_type("\ufeffLaporan\r\n".encode()) == files.TEXT
    assert clean(files.TEXT, "\ufeffLaporan\r\nkedua".encode()).data == b"Laporan\nkedua"


# -- images ---------------------------------------------------------------------------------------


def test_jpeg_loses_gps_camera_and_comment_and_is_turned_upright() -> None:
    original = _jpeg_with_gps()
    with Image.open(io.BytesIO(original)) as before:
        assert before.getexif().get_ifd(GPS_IFD)  # the fixture really carries a location

    result = clean(files.JPEG, original)

    assert isinstance(result, CleanResult)
    with Image.open(io.BytesIO(result.data)) as after:
        assert after.format == "JPEG"
        assert dict(after.getexif()) == {}
        assert not after.getexif().get_ifd(GPS_IFD)
        assert "comment" not in after.info
        assert "exif" not in after.info
        # Orientation 6 means "rotate 90 degrees clockwise to view": 40x20 becomes 20x40 with
        # the left (red) half on top.
        assert after.size == (20, 40)
        top = after.convert("RGB").getpixel((10, 5))
        bottom = after.convert("RGB").getpixel((10, 35))
    assert isinstance(top, tuple)
    assert isinstance(bottom, tuple)
    assert top[0] > 200 and top[2] < 60
    assert bottom[2] > 200 and bottom[0] < 60
    assert refusals.GPS in result.removed
    assert refusals.CAMERA in result.removed
    assert refusals.COMMENTS in result.removed
    assert b"Canon" not in result.data and b"Kantor Imigrasi" not in result.data


def test_clean_jpeg_reports_nothing_removed() -> None:
    plain = io.BytesIO()
    _two_colour().save(plain, "JPEG")
    assert clean(files.JPEG, plain.getvalue()).removed == ()


def test_png_text_chunks_xmp_and_icc_are_removed() -> None:
    info = PngInfo()
    info.add_text("Author", "Siti Rahayu")
    info.add_itxt("Comment", "diambil di loket 3", lang="id")
    info.add_itxt("XML:com.adobe.xmp", "<x:xmpmeta>Siti</x:xmpmeta>")
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    original = _png_bytes(_two_colour(), pnginfo=info, icc_profile=srgb)
    with Image.open(io.BytesIO(original)) as before:
        assert before.text["Author"] == "Siti Rahayu"

    result = clean(files.PNG, original)

    with Image.open(io.BytesIO(result.data)) as after:
        after.load()
        assert after.text == {}
        assert "icc_profile" not in after.info
        assert after.size == (40, 20)
    assert b"Siti" not in result.data and b"tEXt" not in result.data and b"iTXt" not in result.data
    assert set(result.removed) >= {refusals.COMMENTS, refusals.XMP, refusals.ICC}


def test_webp_exif_is_removed() -> None:
    original = io.BytesIO()
    _two_colour().save(original, "WEBP", exif=_photo_exif(orientation=1))
    result = clean(files.WEBP, original.getvalue())
    with Image.open(io.BytesIO(result.data)) as after:
        assert dict(after.getexif()) == {}
        assert "exif" not in after.info
    assert refusals.GPS in result.removed
    assert detect_type(result.data) == files.WEBP


def test_heic_exif_is_removed() -> None:
    heif = pillow_heif.from_pillow(_two_colour())
    heif.info["exif"] = _photo_exif(orientation=1).tobytes()
    original = io.BytesIO()
    heif.save(original, quality=50)
    with Image.open(io.BytesIO(original.getvalue())) as before:
        assert before.getexif().get_ifd(GPS_IFD)

    result = clean(files.HEIC, original.getvalue())

    with Image.open(io.BytesIO(result.data)) as after:
        assert not after.getexif().get_ifd(GPS_IFD)
        assert dict(after.getexif()) == {}
    assert refusals.GPS in result.removed
    assert detect_type(result.data) == files.HEIC


def test_decompression_bomb_is_refused() -> None:
    # A valid PNG header declaring 30000 x 30000 pixels (900 MP) with a tiny body.
    header = struct.pack(">IIBBBBB", 30000, 30000, 8, 2, 0, 0, 0)
    bomb = (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", zlib.compress(b"\x00" * 1000))
        + _png_chunk(b"IEND", b"")
    )
    assert len(bomb) < 200
    with pytest.raises(UnsafeFile) as refused:
        clean(files.PNG, bomb)
    assert refused.value.message == refusals.BOMB


def test_image_just_over_the_pixel_limit_is_refused_not_warned_about() -> None:
    # Between MAX_PIXELS and twice that, Pillow only warns: that too must refuse.
    side = int((1.2 * images.MAX_PIXELS) ** 0.5)
    header = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    image = b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header) + _png_chunk(b"IEND", b"")
    with pytest.raises(UnsafeFile) as refused:
        clean(files.PNG, image)
    assert refused.value.message == refusals.BOMB


def test_truncated_jpeg_is_refused() -> None:
    photo = io.BytesIO()
    Image.effect_noise((256, 256), 64).convert("RGB").save(photo, "JPEG", quality=90)
    truncated = photo.getvalue()[: len(photo.getvalue()) * 2 // 3]
    with pytest.raises(UnsafeFile) as refused:
        clean(files.JPEG, truncated)
    assert refused.value.message == refusals.BROKEN


def test_executable_behind_a_jpeg_header_is_refused() -> None:
    executable = (
        b"MZ\x90\x00\x03\x00\x00\x00\x04\x00" + b"\x00" * 50 + b"PE\x00\x00" + b"\x90" * 400
    )
    disguised = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + executable
    assert detect_type(disguised) == files.JPEG  # the head alone is fooled...
    with pytest.raises(UnsafeFile) as refused:
        clean(files.JPEG, disguised)  # ...the decoder is not
    assert refused.value.message == refusals.MISMATCH


def test_bytes_of_another_kind_are_refused_as_mismatched() -> None:
    with pytest.raises(UnsafeFile) as refused:
        clean(files.JPEG, SAMPLES["png"])
    assert refused.value.message == refusals.MISMATCH


def test_anything_glued_after_a_real_jpeg_is_dropped() -> None:
    polyglot = _jpeg_with_gps() + b"PK\x03\x04 hidden archive"
    assert b"hidden archive" not in clean(files.JPEG, polyglot).data


# -- PDF ------------------------------------------------------------------------------------------


def test_pdf_loses_document_information_and_xmp() -> None:
    original = _pdf_with_metadata()
    assert b"Siti Rahayu" in original

    result = clean(files.PDF, original)

    with pikepdf.open(io.BytesIO(result.data)) as pdf:
        assert "/Info" not in pdf.trailer
        assert "/Metadata" not in pdf.Root
        assert len(pdf.pages) == 1
    assert b"Siti Rahayu" not in result.data
    assert b"Microsoft Word" not in result.data
    assert b"pikepdf" not in result.data  # the cleaner does not sign its own work either
    assert set(result.removed) >= {
        refusals.AUTHOR, refusals.PROGRAM, refusals.TITLE, refusals.XMP,
    }  # fmt: skip


def test_pdf_embedded_files_and_javascript_are_removed() -> None:
    pdf = pikepdf.new()
    pdf.add_blank_page()
    pdf.attachments["kontak.txt"] = pikepdf.AttachedFileSpec(pdf, b"Siti 0812-3456-7890")
    pdf.Root.OpenAction = pikepdf.Dictionary(
        S=pikepdf.Name.JavaScript, JS=pikepdf.String("app.alert(1)")
    )
    out = io.BytesIO()
    pdf.save(out)

    result = clean(files.PDF, out.getvalue())

    assert b"0812-3456-7890" not in result.data
    assert b"app.alert" not in result.data
    assert {refusals.EMBEDDED_FILES, refusals.JAVASCRIPT} <= set(result.removed)


def test_encrypted_pdf_is_refused() -> None:
    pdf = pikepdf.new()
    pdf.add_blank_page()
    out = io.BytesIO()
    pdf.save(out, encryption=pikepdf.Encryption(owner="pemilik", user="rahasia"))
    with pytest.raises(UnsafeFile) as refused:
        clean(files.PDF, out.getvalue())
    assert refused.value.message == refusals.ENCRYPTED


def test_truncated_pdf_is_refused() -> None:
    original = _pdf_with_metadata()
    with pytest.raises(UnsafeFile) as refused:
        clean(files.PDF, original[: len(original) // 2])
    assert refused.value.message == refusals.BROKEN


# -- office documents -----------------------------------------------------------------------------


def test_docx_loses_its_properties_comments_and_revision_authors() -> None:
    result = clean(files.DOCX, _docx())

    with zipfile.ZipFile(io.BytesIO(result.data)) as archive:
        names = archive.namelist()
        core = archive.read("docProps/core.xml")
        app = archive.read("docProps/app.xml")
        document = archive.read("word/document.xml")
        relationships = archive.read("_rels/.rels") + archive.read("word/_rels/document.xml.rels")
        content_types = archive.read("[Content_Types].xml")
        dates = {entry.date_time for entry in archive.infolist()}
    assert b"Siti" not in result.data
    assert b"PT Contoh" not in app and b"Microsoft" not in app
    assert b"creator" not in core and b"title" not in core
    assert "docProps/custom.xml" not in names and "word/comments.xml" not in names
    # Nothing points at the parts that are gone (Word would call the file damaged).
    assert b"custom.xml" not in relationships and b"comments.xml" not in relationships
    assert b"custom.xml" not in content_types and b"comments.xml" not in content_types
    assert b"commentReference" not in document
    assert b"Petugas loket meminta Rp 500.000" in document  # the content stays
    assert dates == {(1980, 1, 1, 0, 0, 0)}
    assert detect_type(result.data[:SNIFF_BYTES]) == files.DOCX
    assert set(result.removed) >= {
        refusals.AUTHOR, refusals.TITLE, refusals.DATES, refusals.PROGRAM,
        refusals.ORGANISATION, refusals.CUSTOM_PROPERTIES, refusals.REVIEW_COMMENTS,
    }  # fmt: skip


def test_pictures_inside_a_docx_lose_their_gps() -> None:
    result = clean(files.DOCX, _docx(("word/media/image1.jpeg", _jpeg_with_gps())))
    with zipfile.ZipFile(io.BytesIO(result.data)) as archive:
        picture = archive.read("word/media/image1.jpeg")
    with Image.open(io.BytesIO(picture)) as after:
        assert not after.getexif().get_ifd(GPS_IFD)
    assert refusals.GPS in result.removed


def test_odt_loses_meta_settings_and_annotation_authors() -> None:
    result = clean(files.ODT, _odt())
    with zipfile.ZipFile(io.BytesIO(result.data)) as archive:
        first = archive.infolist()[0]
        assert first.filename == "mimetype" and first.compress_type == zipfile.ZIP_STORED
        assert b"Calo di loket paspor" in archive.read("content.xml")
    assert b"Siti" not in result.data and b"HP-KANIM" not in result.data
    assert b"LibreOffice" not in result.data
    assert {refusals.AUTHOR, refusals.PROGRAM} <= set(result.removed)
    assert detect_type(result.data[:SNIFF_BYTES]) == files.ODT


def test_zip_bomb_docx_is_refused() -> None:
    # 300 MB of zeros compresses to about 300 KB: far past both the size and the ratio limit.
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", DOCX_CONTENT_TYPES)
        archive.writestr("word/document.xml", DOCX_DOCUMENT)
        with archive.open("word/media/zeros.bin", "w", force_zip64=True) as entry:
            chunk = b"\x00" * (1024 * 1024)
            for _ in range(300):
                entry.write(chunk)
    bomb = out.getvalue()
    assert len(bomb) < 1024 * 1024
    assert detect_type(bomb[:SNIFF_BYTES]) == files.DOCX
    with pytest.raises(UnsafeFile) as refused:
        clean(files.DOCX, bomb)
    assert refused.value.message == refusals.BOMB


def test_too_many_entries_is_refused_as_a_bomb() -> None:
    many = [(f"word/part{index}.xml", b"") for index in range(office.MAX_ENTRIES)]
    with pytest.raises(UnsafeFile) as refused:
        clean(files.DOCX, _docx(*many))
    assert refused.value.message == refusals.BOMB


@pytest.mark.parametrize(
    "document",
    [
        pytest.param(_docx(("word/vbaProject.bin", b"\xd0\xcf\x11\xe0macro")), id="vba-part"),
        pytest.param(
            _docx(
                content_types=DOCX_CONTENT_TYPES.replace(
                    b"document.main", b"document.macroEnabled.main"
                )
            ),
            id="macro-enabled-type",
        ),
    ],
)
def test_macro_docx_is_refused(document: bytes) -> None:
    with pytest.raises(UnsafeFile) as refused:
        clean(files.DOCX, document)
    assert refused.value.message == refusals.MACROS


def test_xlsx_bytes_sent_as_docx_are_refused() -> None:
    with pytest.raises(UnsafeFile) as refused:
        clean(files.DOCX, SAMPLES["xlsx"])
    assert refused.value.message == refusals.MISMATCH


# -- text, audio and video ------------------------------------------------------------------------


def test_text_that_is_not_utf8_past_the_sniffed_head_is_refused() -> None:
    data = b"a" * SNIFF_BYTES + b"\xff\xfe binary"
    assert detect_type(data[:SNIFF_BYTES]) == files.TEXT
    with pytest.raises(UnsafeFile) as refused:
        clean(files.TEXT, data)
    assert refused.value.message == refusals.MISMATCH


def test_audio_and_video_come_back_unchanged_and_are_marked_not_cleanable() -> None:
    for kind in ALLOWED:
        if kind.mime.startswith(("audio/", "video/")):
            assert kind.cleanable is False
            assert clean(kind, SAMPLES[kind.name]) == CleanResult(SAMPLES[kind.name], ())


def test_empty_file_is_refused() -> None:
    with pytest.raises(UnsafeFile) as refused:
        clean(files.TEXT, b"")
    assert refused.value.message == refusals.EMPTY


# -- any bytes behind a signature -----------------------------------------------------------------


SIGNATURES: dict[str, bytes] = {
    "jpeg": b"\xff\xd8\xff\xe0",
    "png": b"\x89PNG\r\n\x1a\n",
    "webp": b"RIFF\x00\x00\x00\x00WEBPVP8 ",
    "heic": b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic",
    "pdf": b"%PDF-1.7\n",
    "text": b"Laporan: ",
    "mp3": b"ID3\x04\x00",
    "m4a": b"\x00\x00\x00\x20ftypM4A ",
    "ogg": b"OggS",
    "wav": b"RIFF\x00\x00\x00\x00WAVE",
    "amr": b"#!AMR\n",
    "mp4": b"\x00\x00\x00\x20ftypisom",
    "mov": b"\x00\x00\x00\x14ftypqt  ",
    "3gp": b"\x00\x00\x00\x14ftyp3gp5",
    "webm": b"\x1a\x45\xdf\xa3",
    # A zip's local header and the entry names detect_type looks for.
    "docx": b"PK\x03\x04" + b"\x00" * 26 + b"[Content_Types].xml word/",
    "xlsx": b"PK\x03\x04" + b"\x00" * 26 + b"[Content_Types].xml xl/",
    "pptx": b"PK\x03\x04" + b"\x00" * 26 + b"[Content_Types].xml ppt/",
    "odt": b"PK\x03\x04" + b"\x00" * 26 + b"mimetypeapplication/vnd.oasis.opendocument.text",
    "ods": b"PK\x03\x04" + b"\x00" * 26 + b"mimetypeapplication/vnd.oasis.opendocument.spreadsheet",
}


def test_each_signature_alone_detects_as_its_kind() -> None:
    for kind in ALLOWED:
        assert detect_type(SIGNATURES[kind.name] + b"abc") == kind


@pytest.mark.parametrize("kind", ALLOWED, ids=lambda kind: kind.name)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tail=st.binary(max_size=2048) | st.text(max_size=500).map(str.encode))
def test_clean_of_arbitrary_bytes_refuses_or_keeps_the_kind(kind: FileType, tail: bytes) -> None:
    data = SIGNATURES[kind.name] + tail
    try:
        result = clean(kind, data)
    except UnsafeFile as refused:
        assert refused.message in vars(refusals).values()
        return
    assert detect_type(result.data[:SNIFF_BYTES]) == kind


@pytest.mark.parametrize(
    ("kind", "mode"),
    [
        (files.JPEG, "L"),
        (files.JPEG, "CMYK"),
        (files.PNG, "P"),
        (files.PNG, "LA"),
        (files.PNG, "I;16"),
        (files.PNG, "1"),
        (files.WEBP, "RGBA"),
        (files.HEIC, "L"),
        (files.HEIC, "RGBA"),
    ],
)
def test_images_of_every_colour_mode_are_cleaned_into_their_own_kind(
    kind: FileType, mode: str
) -> None:
    image = _two_colour().convert(mode)
    if mode == "P":
        image.info["transparency"] = 0
    out = io.BytesIO()
    if kind == files.HEIC:
        pillow_heif.from_pillow(image).save(out, quality=50)
    else:
        image.save(out, {"jpeg": "JPEG", "png": "PNG", "webp": "WEBP"}[kind.name])
    result = clean(kind, out.getvalue())
    assert detect_type(result.data) == kind
    with Image.open(io.BytesIO(result.data)) as after:
        after.load()
        assert after.size == (40, 20)


def test_cleaning_writes_nothing_to_the_temp_directory(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Python's tempfile and the C libraries (qpdf, libheif) both look here.
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    for name, data in SAMPLES.items():
        clean(files.BY_NAME[name], data)
    assert list(tmp_path.iterdir()) == []


def test_docx_loses_edit_session_ids_and_the_template_path_on_the_authors_computer() -> None:
    document = DOCX_DOCUMENT.replace(
        b"<w:p>", b'<w:p w:rsidR="00A1B2C3" w:rsidRDefault="00D4E5F6">'
    )
    settings_part = (
        b'<w:settings xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main" '
        b'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
        b'<w:attachedTemplate r:id="rId1"/><w:rsids><w:rsidRoot w:val="00A1B2C3"/>'
        b'<w:rsid w:val="00D4E5F6"/></w:rsids></w:settings>'
    )
    settings_rels = (
        b'<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        b'<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
        b'relationships/attachedTemplate" Target="file:///C:\\Users\\siti.rahayu\\AppData\\'
        b'Roaming\\Microsoft\\Templates\\Normal.dotm" TargetMode="External"/></Relationships>'
    )
    original = _docx(
        ("word/settings.xml", settings_part), ("word/_rels/settings.xml.rels", settings_rels)
    )
    original = _zip(
        [
            (name, document if name == "word/document.xml" else content)
            for name, content in _entries(original)
        ]
    )

    result = clean(files.DOCX, original)

    assert b"siti.rahayu" not in result.data
    assert b"00A1B2C3" not in result.data and b"00D4E5F6" not in result.data
    with zipfile.ZipFile(io.BytesIO(result.data)) as archive:
        assert b"attachedTemplate" not in archive.read("word/settings.xml")
        assert b"<w:p>" in archive.read("word/document.xml")
    assert {refusals.EDIT_SESSIONS, refusals.AUTHOR_PATHS} <= set(result.removed)


def test_xlsx_loses_the_folder_it_was_saved_in() -> None:
    workbook = (
        b'<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
        b'xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006" '
        b'xmlns:x15ac="http://schemas.microsoft.com/office/spreadsheetml/2010/11/ac">'
        b'<mc:AlternateContent><mc:Choice Requires="x15"><x15ac:absPath '
        b'url="C:\\Users\\siti.rahayu\\Documents\\"/></mc:Choice></mc:AlternateContent>'
        b"<sheets/></workbook>"
    )
    original = _zip(
        [
            ("[Content_Types].xml", _content_types("/xl/workbook.xml", b"spreadsheetml.sheet")),
            ("xl/workbook.xml", workbook),
        ]
    )
    result = clean(files.XLSX, original)
    assert b"siti.rahayu" not in result.data
    assert refusals.AUTHOR_PATHS in result.removed


def _entries(archive_bytes: bytes) -> list[tuple[str, bytes]]:
    with zipfile.ZipFile(io.BytesIO(archive_bytes)) as archive:
        return [(name, archive.read(name)) for name in archive.namelist()]


def test_pdf_scripts_nested_inside_annotations_are_removed() -> None:
    pdf = pikepdf.new()
    pdf.add_blank_page()
    link = pikepdf.Dictionary(
        Type=pikepdf.Name.Annot,
        Subtype=pikepdf.Name.Link,
        Rect=[0, 0, 100, 100],
        # A direct action dictionary inside the annotation, as most writers produce.
        A=pikepdf.Dictionary(
            S=pikepdf.Name.JavaScript, JS=pikepdf.String("this.exportDataObject()")
        ),
    )
    pdf.pages[0].Annots = pdf.make_indirect(pikepdf.Array([pdf.make_indirect(link)]))
    out = io.BytesIO()
    pdf.save(out)

    result = clean(files.PDF, out.getvalue())

    assert b"exportDataObject" not in result.data
    assert refusals.JAVASCRIPT in result.removed


def test_pdf_every_scrubbed_key_goes_wherever_it_sits() -> None:
    Name = pikepdf.Name
    pdf = pikepdf.new()
    pdf.add_blank_page()
    script = pikepdf.Dictionary(S=Name.JavaScript, JS=pikepdf.String("app.alert(1)"))
    pdf.Root.AA = pikepdf.Dictionary(WC=script)
    pdf.Root.PieceInfo = pikepdf.Dictionary(Editor=pikepdf.String("catalogue-piece"))
    pdf.Root.SpiderInfo = pikepdf.Dictionary(V=pikepdf.String("spider-info"))
    pdf.Root.Names = pikepdf.Dictionary(
        JavaScript=pikepdf.Dictionary(Names=[pikepdf.String("x"), pdf.make_indirect(script)])
    )
    page = pdf.pages[0].obj
    page.PieceInfo = pikepdf.Dictionary(Editor=pikepdf.String("page-piece"))
    page.AA = pikepdf.Dictionary(O=pikepdf.Dictionary(S=Name.Named, N=Name.NextPage))
    attachment = pikepdf.Dictionary(
        Type=Name.Annot,
        Subtype=Name.FileAttachment,
        Rect=[0, 0, 10, 10],
        FS=pikepdf.Dictionary(Type=Name.Filespec, F=pikepdf.String("kontak-siti.txt")),
    )
    page.Annots = pdf.make_indirect(pikepdf.Array([pdf.make_indirect(attachment)]))
    out = io.BytesIO()
    pdf.save(out, compress_streams=False, object_stream_mode=pikepdf.ObjectStreamMode.disable)
    for marker in (b"catalogue-piece", b"spider-info", b"page-piece", b"kontak-siti", b"alert"):
        assert marker in out.getvalue()

    result = clean(files.PDF, out.getvalue())

    for marker in (b"catalogue-piece", b"spider-info", b"page-piece", b"kontak-siti", b"alert"):
        assert marker not in result.data
    with pikepdf.open(io.BytesIO(result.data)) as cleaned:
        for key in ("/AA", "/PieceInfo", "/SpiderInfo"):
            assert key not in cleaned.Root
        assert "/JavaScript" not in cleaned.Root.Names
        assert "/PieceInfo" not in cleaned.pages[0].obj and "/AA" not in cleaned.pages[0].obj
        assert "/FS" not in cleaned.pages[0].obj.Annots[0]
    assert {
        refusals.OTHER_PROPERTIES, refusals.JAVASCRIPT, refusals.EMBEDDED_FILES,
    } <= set(result.removed)  # fmt: skip


def test_phone_photo_with_a_second_picture_keeps_only_the_first() -> None:
    # Phones write MPO: a JPEG followed by more pictures (previews, depth maps) with own EXIF.
    out = io.BytesIO()
    second = Image.new("RGB", (8, 8), (0, 255, 0))
    _two_colour().save(out, "MPO", save_all=True, append_images=[second], exif=_photo_exif(1))
    with Image.open(io.BytesIO(out.getvalue())) as before:
        assert before.format == "MPO" and before.n_frames == 2

    result = clean(files.JPEG, out.getvalue())

    with Image.open(io.BytesIO(result.data)) as after:
        assert after.format == "JPEG" and getattr(after, "n_frames", 1) == 1
        assert after.size == (40, 20)
    assert {refusals.GPS, refusals.EXTRA_IMAGES} <= set(result.removed)


def test_animated_png_keeps_its_frames_without_text() -> None:
    info = PngInfo()
    info.add_text("Author", "Siti Rahayu")
    frames = [_two_colour(), _two_colour().transpose(Image.Transpose.FLIP_LEFT_RIGHT)]
    original = _png_bytes(
        frames[0], save_all=True, append_images=frames[1:], duration=200, pnginfo=info
    )

    result = clean(files.PNG, original)

    with Image.open(io.BytesIO(result.data)) as after:
        assert getattr(after, "n_frames", 1) == 2
        assert after.text == {}
    assert b"Siti" not in result.data

"""Image cleaning with Pillow: decode fully, apply the EXIF orientation, re-encode the pixels alone.

The output is a new image built from the decoded pixels, so nothing of the original file survives
but what is seen: EXIF (GPS, camera, dates), XMP, IPTC, ICC profiles, comments, text chunks, extra
frames (MPO previews, depth maps) and any bytes glued after the image are all gone. Colours in a
non-sRGB profile are converted to sRGB first so the picture looks the same without the profile.
"""

from __future__ import annotations

import io
import warnings
from typing import Any

import pillow_heif
from PIL import Image, ImageCms, ImageFile, ImageOps

from whistle.evidence import refusals
from whistle.evidence.refusals import UnsafeFile

# Larger than any phone's default photo (a 50 MP sensor) and small enough that the decoded image
# and its clean copy fit comfortably in memory (4 bytes a pixel, two copies: at most ~400 MB).
MAX_PIXELS = 50_000_000
# Animated WebP/PNG: all frames count against one budget.
MAX_TOTAL_PIXELS = 2 * MAX_PIXELS
JPEG_QUALITY = 90
WEBP_QUALITY = 90
HEIF_QUALITY = 85

Image.MAX_IMAGE_PIXELS = MAX_PIXELS
# A truncated image is refused, never padded with grey.
ImageFile.LOAD_TRUNCATED_IMAGES = False
# HEIC through libheif; thumbnails and depth images are not decoded (they are dropped anyway).
pillow_heif.register_heif_opener(thumbnails=False, depth_images=False, aux_images=False)

# Pillow's name of each kind's format, and the format the clean copy is written in.
_FORMATS = {
    "jpeg": (("JPEG",), "JPEG"),  # MPO (phone photos) opens through JPEG
    "png": (("PNG",), "PNG"),
    "webp": (("WEBP",), "WEBP"),
    "heic": (("HEIF",), "HEIF"),
}
_GPS_IFD = 0x8825
_EXIF_IFD = 0x8769
_ORIENTATION = 0x0112
_CAMERA_TAGS = {
    0x010F,  # Make
    0x0110,  # Model
    0x0132,  # DateTime
    0x9003,  # DateTimeOriginal
    0x9004,  # DateTimeDigitized
    0xA431,  # BodySerialNumber
    0xA434,  # LensModel
    0xA435,  # LensSerialNumber
    0x0131,  # Software
}
_AUTHOR_TAGS = {0x013B, 0x8298, 0x9C9D, 0xA430}  # Artist, Copyright, XPAuthor, CameraOwnerName
_COMMENT_TAGS = {0x010E, 0x9286, 0x9C9C}  # ImageDescription, UserComment, XPComment


def clean_image(kind_name: str, data: bytes) -> tuple[bytes, tuple[str, ...]]:
    """Decode ``data`` as the image kind ``kind_name`` and return a metadata-free re-encoding and
    the labels of what was removed. Raises UnsafeFile for anything that does not decode fully as
    that kind, or that would decode to more than MAX_PIXELS."""
    accepted, output_format = _FORMATS[kind_name]
    with warnings.catch_warnings():
        # Pillow warns (rather than refuses) between MAX_PIXELS and twice that. The filter is
        # process-wide and catch_warnings is not thread-safe, so _decoded_frames checks the
        # size itself as well: the warning is only the first line.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(io.BytesIO(data), formats=list(accepted)) as image:
                removed = _present_metadata(image)
                frames = _decoded_frames(image, output_format)
            encoded = _encode(frames, output_format)
        except UnsafeFile:
            raise
        except (Image.DecompressionBombError, Image.DecompressionBombWarning, MemoryError):
            raise UnsafeFile(refusals.BOMB) from None
        except Image.UnidentifiedImageError:
            raise UnsafeFile(refusals.MISMATCH) from None
        except Exception:
            # Whatever a damaged or crafted file makes the decoder raise, it is refused as such.
            raise UnsafeFile(refusals.BROKEN) from None
    return encoded, refusals.ordered(removed)


def _present_metadata(image: Image.Image) -> set[str]:
    removed: set[str] = set()
    info = image.info
    try:
        exif = image.getexif()
    except Exception:
        exif = Image.Exif()
    tags = set(exif.keys())
    if _GPS_IFD in tags and exif.get_ifd(_GPS_IFD):
        removed.add(refusals.GPS)
    tags.discard(_GPS_IFD)
    if _EXIF_IFD in tags:
        tags.discard(_EXIF_IFD)
        tags |= set(exif.get_ifd(_EXIF_IFD).keys())
    tags.discard(_ORIENTATION)  # applied to the pixels, not lost
    if tags & _CAMERA_TAGS:
        removed.add(refusals.CAMERA)
    if tags & _AUTHOR_TAGS:
        removed.add(refusals.AUTHOR)
    if tags & _COMMENT_TAGS:
        removed.add(refusals.COMMENTS)
    if tags - _CAMERA_TAGS - _AUTHOR_TAGS - _COMMENT_TAGS:
        removed.add(refusals.OTHER_EXIF)
    if info.get("xmp") or info.get("XML:com.adobe.xmp"):
        removed.add(refusals.XMP)
    if info.get("icc_profile"):
        removed.add(refusals.ICC)
    applist = getattr(image, "applist", [])
    if any(marker == "APP13" for marker, _ in applist):
        removed.add(refusals.IPTC)
    if info.get("comment") or getattr(image, "text", None):
        removed.add(refusals.COMMENTS)
    if image.format == "MPO" and getattr(image, "n_frames", 1) > 1:
        removed.add(refusals.EXTRA_IMAGES)
    return removed


def _decoded_frames(image: Image.Image, output_format: str) -> list[tuple[Image.Image, int]]:
    """Every frame to keep, decoded completely, upright, in sRGB, with no info attached, each with
    its duration (animations)."""
    # JPEG/MPO keeps its first picture only: the others are previews and depth maps.
    count = 1 if output_format in ("JPEG", "HEIF") else getattr(image, "n_frames", 1)
    pixels = image.width * image.height
    if pixels > MAX_PIXELS or pixels * count > MAX_TOTAL_PIXELS:
        raise UnsafeFile(refusals.BOMB)
    icc = image.info.get("icc_profile")
    frames = []
    for index in range(count):
        image.seek(index)
        image.load()
        duration = int(image.info.get("duration", 0) or 0)
        if count == 1:
            ImageOps.exif_transpose(image, in_place=True)  # no third copy of a large photo
            upright = image
        else:
            upright = ImageOps.exif_transpose(image)
        frames.append((_pixels_only(upright, icc), duration))
    return frames


def _pixels_only(image: Image.Image, icc: Any) -> Image.Image:
    if image.mode not in ("RGB", "RGBA", "L", "LA"):
        has_alpha = "A" in image.mode or "transparency" in image.info
        image = image.convert("RGBA" if has_alpha else "RGB")
    if icc and image.mode in ("RGB", "RGBA"):
        image = _to_srgb(image, icc)
    fresh = Image.new(image.mode, image.size)
    fresh.paste(image)
    return fresh


def _to_srgb(image: Image.Image, icc: bytes) -> Image.Image:
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        converted = ImageCms.profileToProfile(
            image, source, ImageCms.createProfile("sRGB"), outputMode=image.mode
        )
    except Exception:
        # An unreadable profile: the pixels are kept as they are, the profile still goes.
        return image
    return converted if converted is not None else image


def _encode(frames: list[tuple[Image.Image, int]], output_format: str) -> bytes:
    out = io.BytesIO()
    first, _ = frames[0]
    if output_format == "JPEG":
        if first.mode in ("RGBA", "LA"):
            first = first.convert("RGB" if first.mode == "RGBA" else "L")
        first.save(out, format="JPEG", quality=JPEG_QUALITY)
    elif output_format == "HEIF":
        first.save(out, format="HEIF", quality=HEIF_QUALITY)
    elif len(frames) > 1:
        first.save(
            out,
            format=output_format,
            save_all=True,
            append_images=[frame for frame, _ in frames[1:]],
            duration=[duration for _, duration in frames],
            loop=0,
            **({"quality": WEBP_QUALITY} if output_format == "WEBP" else {}),
        )
    elif output_format == "WEBP":
        first.save(out, format="WEBP", quality=WEBP_QUALITY)
    else:
        first.save(out, format=output_format)
    return out.getvalue()

"""glr's words for a photo Pillow cannot open or decode, and its checks of an icon and a palette PNG's tRNS.

One copy of these rules: `glr.data.images` decodes by them, and the exported predict.py holds their source, copied
with inspect.getsource (glr.export_script), so both refuse a damaged, cut or odd photo in the same words.
"""

from __future__ import annotations

import io
import struct
import warnings

from PIL import Image, PngImagePlugin, UnidentifiedImageError

from glr.data.sniff import SUPPORTED_TEXT, jpeg_scans, looks_like
from glr.errors import ImageError

# Pillow walks a PNG's chunks before its picture in Python at open: 500,000 empty ones (6 MB) took 4.4 s.
# Editors write a few dozen (text, profile, EXIF, XMP); a picture split into many IDAT chunks comes after.
MAX_PNG_CHUNKS = 10_000
# Pillow's error for a tRNS chunk too short for its PNG's colour type: libpng ignores the chunk (a benign error) and
# browsers show the picture, so decode_image and image_size read the file without it.
SHORT_TRNS = "Truncated tRNS chunk"
# Pillow refuses a PNG whose one compressed text chunk inflates past 1 MB, as a decompression
# bomb; photo editors write XMP edit histories near that size into real photos. 16 MB a chunk
# (with Pillow's 64 MB for all text together) still stops a bomb before it costs anything.
PNG_TEXT_CHUNK = 16 * 1024 * 1024
# Pillow's words for a well-formed file in a variant it has no decoder for (a float RGB TIFF, a
# 64-bit BMP), as opposed to a damaged one: the first needs converting, the second a new copy.
_UNSUPPORTED_WORDS = ("unsupported", "unknown pixel mode", "not supported", "cannot handle")  # JPEG: 12-bit
_PILLOW_FORMATS = {"WebP": "WEBP", "HEIC": "HEIF"}  # `looks_like`'s names that Pillow spells otherwise
# What Pillow raises for a photo it opened but cannot decode, besides its own bomb guard. TypeError: a TIFF whose strip
# offsets are stored as text (found by a fuzzer); RuntimeError: a damaged AVIF ("Failed to decode frame 0: Decoding of
# color planes failed", found by fuzzing predict.py against glr), which crashed glr.
DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, IndexError, struct.error, TypeError, RuntimeError)


def refused(name: str, data: bytes, exc: Exception) -> ImageError | None:
    """glr's words for `exc`, raised by Pillow opening or decoding `data` (the photo called `name`): a bomb, a format
    glr does not read, a kind it cannot decode, cut short or damaged, metadata too large. None for a tRNS chunk too
    short for its colour type, which the caller mends by decoding the photo without it (as libpng and browsers do).
    A HEIC or AVIF without its decoder is said by each caller, with what to install there."""
    if isinstance(exc, (Image.DecompressionBombError, Image.DecompressionBombWarning)):
        return ImageError(f"{name}: image is too large to decode safely; possibly a decompression bomb")
    fmt = looks_like(data)
    if isinstance(exc, UnidentifiedImageError):
        reason = _plugin_reason(data, fmt) if fmt else None
        if reason and _is_unsupported(reason):
            return _unsupported(name, fmt, reason)
        if fmt:
            return ImageError(f"{name}: a damaged or truncated {fmt} file (incomplete download or copy?)")
        if other := _other_format(data):  # a TGA, PCX, PPM...: Pillow knows it, glr does not decode it
            (other, size), article = other, "an" if other[0][0] in "AEIOU" else "a"
            if size:
                return ImageError(f"{name}: {article} {other} image of {size[0]}x{size[1]} pixels: too large to decode "
                                  f"safely (possibly a decompression bomb), and a format glr cannot read (glr reads "
                                  f"{SUPPORTED_TEXT})")
            return ImageError(f"{name}: {article} {other} image, a format glr cannot read; "
                              f"save it again as JPEG or PNG (glr reads {SUPPORTED_TEXT})")
        return ImageError(f"{name}: not an image, or a format glr cannot read (use {SUPPORTED_TEXT})")
    detail = str(exc) or exc.__class__.__name__
    if detail == SHORT_TRNS:
        return None
    if "MAX_TEXT" in detail:  # Pillow inflates text chunks and the colour profile (iCCP) under one limit
        what = "colour profile" if set(_png_chunks(data)) & {b"iCCP", b"zTXt", b"iTXt"} == {b"iCCP"} else "text metadata"
        return ImageError(f"{name}: its PNG {what} is too large to read safely (over {PNG_TEXT_CHUNK >> 20} MB in one "
                          f"chunk or {PngImagePlugin.MAX_TEXT_MEMORY >> 20} MB in all); save the photo again without metadata")
    # "cannot load this image": headers and no picture data at all, as a download cut early leaves a file.
    if detail == "cannot load this image" and fmt:
        return ImageError(f"{name}: a damaged or truncated {fmt} file (incomplete download or copy?)")
    if "truncated" in detail.lower():
        return ImageError(f"{name}: image file is truncated (incomplete download or copy?)")
    if _is_unsupported(detail):
        return _unsupported(name, fmt or "image", detail)
    return ImageError(f"{name}: image is corrupt and cannot be decoded ({detail})")


def decoder_missing(data: bytes) -> str | None:
    """"HEIC" or "AVIF" when `data` starts as such a photo and this Python has no decoder for it (pi-heif not installed,
    a Pillow built without AVIF), else None: a damaged one, with its decoder here, is refused as damaged."""
    fmt = looks_like(data)
    if fmt in ("HEIC", "AVIF") and (_PILLOW_FORMATS.get(fmt, fmt) not in Image.OPEN
                                    or "not installed" in (_plugin_reason(data, fmt) or "")):
        return fmt
    return None


def _other_format(data: bytes) -> tuple[str, tuple[int, int] | None] | None:
    """The format Pillow's own plugins (all of them, not only glr's) take `data` for, from its header alone, with its
    size when Image.open refuses it as too large (else None), or None: a TGA has no magic bytes at its start, so only
    Pillow's reading of its header names it."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(io.BytesIO(data)) as img:  # opened, never loaded: no pixel is decoded
                return img.format, None
    except Image.DecompressionBombError:  # past Pillow's open limit: its plugins read the header, as Image.open does
        for fmt in Image.ID:
            factory, accept = Image.OPEN[fmt]
            if (taken := not accept or accept(data[:16])) and not isinstance(taken, str):
                try:
                    with factory(io.BytesIO(data), None) as img:
                        return img.format, img.size
                except Exception:  # noqa: BLE001 - not this plugin's: the next one is asked
                    continue
        return None
    except Exception:  # noqa: BLE001 - no plugin takes it: not an image, as far as anyone here knows
        return None


def _is_unsupported(reason: str) -> bool:
    """Whether Pillow's message says the file is a variant it cannot decode, rather than damaged."""
    return any(word in reason.lower() for word in _UNSUPPORTED_WORDS)


def _unsupported(name: str, fmt: str, reason: str) -> ImageError:
    """The error for a well-formed file glr has no decoder for: what it is, and what to do."""
    return ImageError(f"{name}: a kind of {fmt} that glr cannot decode ({reason}); save it again as an 8-bit JPEG or PNG")


def _plugin_reason(data: bytes, fmt: str) -> str | None:
    """Why Pillow's plugin for `fmt` refuses `data`, in its own words (Image.open keeps them to itself), or None."""
    Image.init()
    opener = Image.OPEN.get(_PILLOW_FORMATS.get(fmt, fmt))
    if opener is None:
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            opener[0](io.BytesIO(data)).close()
    except Exception as exc:  # noqa: BLE001 - any refusal is the answer asked for
        return str(exc) or None
    return None


def refuse_large_icon(img: Image.Image, data: bytes, name: str, max_pixels: int) -> None:
    """ImageError for an ICO holding a picture of over `max_pixels`: its directory says at most 256 px a side, but
    Pillow decodes each picture at the size its own header says, so a bomb is caught before decoding."""
    if img.format == "ICO" and (inside := _icon_pixels(data)) > max_pixels:
        raise ImageError(f"{name}: an icon holding a picture of {inside:,} pixels is too large (limit "
                         f"{max_pixels / 1_000_000:g} megapixels); possibly a decompression bomb")


def refuse_costly(img: Image.Image, size: tuple[int, int], name: str, data: bytes, max_pixels: int,
                  max_jpeg_pixels: int, max_jpeg_scans: int) -> None:
    """Refuse, as a likely decompression bomb, a photo whose decode would cost far more than a photo's: over
    `max_pixels` decoded, or (a JPEG read at reduced size, `img.size` below its full `size`) over `max_jpeg_pixels`
    in full, or a JPEG of more than `max_jpeg_scans` scans, each decoded over the whole picture. The limits are
    passed in, so glr.data.images' may be patched and predict.py passes the ones written into it."""
    width, height = size
    limit = max_jpeg_pixels if img.size != size else max_pixels
    if width * height > limit or img.size[0] * img.size[1] > max_pixels:
        raise ImageError(f"{name}: {width}x{height} pixels is too large (limit {limit / 1_000_000:g} megapixels); "
                         "possibly a decompression bomb")
    if img.format in ("JPEG", "MPO") and (scans := jpeg_scans(data)) > max_jpeg_scans:
        raise ImageError(f"{name}: a JPEG of {scans:,} scans, each decoded over the whole picture (photos have at most "
                         "a few dozen); possibly a decompression bomb")


def _icon_pixels(data: bytes) -> int:
    """The most pixels any picture in an ICO says it holds, from its own header (a PNG's IHDR, a BMP's DIB header)."""
    most = 0
    for i in range(int.from_bytes(data[4:6], "little")):
        offset = int.from_bytes(data[18 + 16 * i:22 + 16 * i], "little")
        head = data[offset:offset + 24]
        if head.startswith(b"\x89PNG\r\n\x1a\n"):
            sides = int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")
        else:  # a DIB header: its height counts the picture and its transparency mask
            sides = int.from_bytes(head[4:8], "little", signed=True), int.from_bytes(head[8:12], "little", signed=True) // 2
        most = max(most, abs(sides[0] * sides[1]))
    return most


def _palette_trns_too_long(data: bytes) -> bool:
    """Whether a palette PNG's tRNS chunk holds more alphas than any palette has (256): Chromium ignores such a chunk,
    showing every colour opaque, where Pillow would apply its first 256. (One longer than its own palette is applied.)"""
    if not data.startswith(b"\x89PNG") or data[25:26] != b"\x03":  # IHDR's colour type 3: a palette
        return False
    at = 8
    while at + 8 <= len(data) and (kind := data[at + 4:at + 8]) != b"IDAT":
        length = int.from_bytes(data[at:at + 4], "big")
        if kind == b"tRNS":
            return length > 256
        at += 12 + length
    return False


def _short_chunks(data: bytes) -> set[bytes]:
    """The types of the chunks before a PNG's pixels too short to be read (gAMA, cHRM, sRGB or pHYs under its size, an
    iCCP without its name's end and method): libpng passes over each (a benign error) and Chromium 156 shows the
    picture (measured), where Pillow refuses the file as "truncated"; so glr reads the file without them."""
    sizes = {b"gAMA": 4, b"cHRM": 32, b"sRGB": 1, b"pHYs": 9}  # PNG's own sizes, all Pillow reads
    short, at = set(), 8
    while data.startswith(b"\x89PNG") and at + 8 <= len(data) and (kind := data[at + 4:at + 8]) != b"IDAT":
        length = int.from_bytes(data[at:at + 4], "big")
        body = data[at + 8:at + 8 + min(length, 81)]
        if length < sizes.get(kind, 0) or (kind == b"iCCP" and not 0 <= body.find(b"\0") < len(body) - 1):
            short.add(kind)
        at += 12 + length
    return short


def mended_png(data: bytes) -> bytes:
    """A PNG's bytes as Chromium reads them, the chunks it passes over taken out (any other file as it is): a palette's
    tRNS longer than any palette, an eXIf after the pixels, a colour or size chunk too short to read. glr's decoder
    and the exported predict.py (which copies this and what it calls) mend a photo by this one rule."""
    if _palette_trns_too_long(data):
        data = _png_without(data, b"tRNS")
    if _exif_after_pixels(data):  # read with the pixels, it would turn a photo Chromium shows as stored
        data = _png_without(data, b"eXIf")
    for kind in sorted(_short_chunks(data)):  # too short to read: passed over, as libpng and Chromium do
        data = _png_without(data, kind)
    return data


def _exif_after_pixels(data: bytes) -> bool:
    """Whether a PNG holds an eXIf chunk only after its pixels (IDAT), where Pillow reads it once they are decoded:
    Chromium ignores it there (PNG's third edition puts eXIf before them; CSS lets a browser ignore metadata after
    the pixels), so such a photo is shown as stored. Walks the chunks as Pillow does (a search of the whole file
    took 24 ms for a 23 MB photo and took the bytes "eXIf" inside pixels or text for a chunk)."""
    if not data.startswith(b"\x89PNG"):
        return False
    at, pixels_seen, head = 8, False, struct.Struct(">I4s")  # a chunk's length and type
    for _ in range(100_000):  # past this many chunks (a photo has a few thousand), the rest is searched, as before
        if at + 8 > len(data):
            return False
        length, kind = head.unpack_from(data, at)
        if kind == b"eXIf":
            return pixels_seen  # one before the pixels is read with them, as Chromium reads it
        if kind == b"IEND":
            return False
        pixels_seen = pixels_seen or kind == b"IDAT"
        at += 12 + length  # length, type, data, CRC
    return b"eXIf" in data[at:]


def _png_chunks(data: bytes | io.BufferedIOBase, limit: int = MAX_PNG_CHUNKS) -> list[bytes]:
    """The types of a PNG's chunks before its pixels (where the metadata sits), at most `limit` of them."""
    stream = io.BytesIO(data) if isinstance(data, bytes) else data
    types = []
    stream.seek(8)
    while len(types) < limit and len(head := stream.read(8)) == 8 and head[4:] != b"IDAT":
        types.append(head[4:])
        stream.seek(int.from_bytes(head[:4], "big") + 4, io.SEEK_CUR)  # past the chunk's data and CRC
    return types


def _png_without(data: bytes, kind: bytes) -> bytes:
    """A PNG's bytes without its chunks of type `kind`."""
    kept, at = [data[:8]], 8
    while at + 12 <= len(data):
        end = at + 12 + int.from_bytes(data[at:at + 4], "big")  # length, type, data, CRC
        if data[at + 4:at + 8] != kind:
            kept.append(data[at:end])
        at = end
    return b"".join(kept) + data[at:]

"""Robustness of reading photos as a person sees them: files phones, cameras, scanners and web pages give,
each read as a browser or viewer shows it or refused naming its format and what to do.

The matrix in docs/robustness.md lists each case with the test that holds it.
"""

from __future__ import annotations

import io
import re
import struct
import zipfile
import zlib

import numpy as np
import pytest
from PIL import Image

from glr.data.images import decode_image, image_size, load_resized
from glr.errors import ImageError

SUPPORTED = "JPEG, PNG, WebP, HEIC, AVIF, GIF, BMP or TIFF"


def _encode(img: Image.Image, fmt: str, **kw) -> bytes:
    buffer = io.BytesIO()
    img.save(buffer, format=fmt, **kw)
    return buffer.getvalue()


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def _palette_png(trns: bytes) -> bytes:
    """An 8x8 palette PNG of two colours (left half index 1, green; right half index 0, red) with tRNS `trns`."""
    rows = b"".join(b"\0" + bytes([1] * 4 + [0] * 4) for _ in range(8))
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", struct.pack(">IIBBBBB", 8, 8, 8, 3, 0, 0, 0))
            + _chunk(b"PLTE", bytes([255, 0, 0, 0, 255, 0])) + _chunk(b"tRNS", trns)
            + _chunk(b"IDAT", zlib.compress(rows)) + _chunk(b"IEND", b""))


@pytest.mark.parametrize("entries", [3, 256])
def test_a_palette_png_whose_transparency_chunk_is_longer_than_its_palette_is_read_as_browsers_show_it(entries):
    # Measured in Chromium 156: index 1 (alpha 0) see-through, index 0 (alpha 255) red; the entries past the palette's
    # two colours are ignored. Already handled: Pillow reads it the same way.
    out = decode_image(_palette_png(bytes([255, 0] + [255] * (entries - 2))))
    assert tuple(out[0, 0]) == (255, 255, 255) and tuple(out[0, 7]) == (255, 0, 0)


def test_a_palette_png_whose_transparency_chunk_is_longer_than_any_palette_is_shown_opaque_as_chromium_does():
    # Measured in Chromium 156: a tRNS of 300 entries (a palette holds at most 256) is ignored, index 1 shown green.
    # Was: Pillow applied its first 256, and index 1 went see-through (white).
    out = decode_image(_palette_png(bytes([255, 0] + [255] * 298)))
    assert tuple(out[0, 0]) == (0, 255, 0) and tuple(out[0, 7]) == (255, 0, 0)


def _icon() -> tuple[bytes, np.ndarray]:
    """An ICO of three sizes, 16, 64 and 32 px (so the largest is neither first nor last), and its 64 px picture."""
    picture = np.random.default_rng(3).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    return _encode(Image.fromarray(picture), "ICO", sizes=[(16, 16), (64, 64), (32, 32)]), picture


def test_an_ico_saved_from_a_web_page_is_read_at_its_largest_size(tmp_path):
    # Was: "not an image, or a format glr cannot read".
    data, picture = _icon()
    assert np.array_equal(decode_image(data), picture)
    path = tmp_path / "favicon.ico"
    path.write_bytes(data)
    assert image_size(path) == (64, 64)
    assert load_resized(path, 32).shape == (32, 32, 3)


def test_an_ico_holding_a_png_far_larger_than_its_directory_says_is_refused_as_a_bomb():
    # The directory allows at most 256 px a side; Pillow decodes the PNG inside at the size the PNG says.
    png = _encode(Image.new("1", (20000, 20000)), "PNG")
    ico = struct.pack("<HHH", 0, 1, 1) + struct.pack("<BBBBHHII", 0, 0, 0, 0, 1, 32, len(png), 22) + png
    with pytest.raises(ImageError, match=r"^the upload: an icon holding a picture of 400,000,000 pixels is too large "
                                         r"\(limit 90 megapixels\); possibly a decompression bomb$"):
        decode_image(ico)


def _zip(member: str = "a.jpg") -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(member, b"x")
    return buffer.getvalue()


def _empty_zip() -> bytes:
    buffer = io.BytesIO()
    zipfile.ZipFile(buffer, "w").close()
    return buffer.getvalue()


ARCHIVES = {
    "zip": (_zip(), "a zip archive: unzip it first"),
    "empty-zip": (_empty_zip(), "a zip archive: unzip it first"),
    "7z": (b"7z\xbc\xaf\x27\x1c\x00\x04" + bytes(24), "a 7z archive: unpack it first"),
    "rar": (b"Rar!\x1a\x07\x01\x00" + bytes(24), "a RAR archive: unpack it first"),
}


@pytest.mark.parametrize("case", list(ARCHIVES))
def test_an_archive_given_where_a_photo_goes_says_to_unpack_it_first(tmp_path, case):
    # Was "not an image, it looks like a zip archive; use JPEG, ..." (7z and RAR: "not an image, or a format ...").
    data, what = ARCHIVES[case]
    path = tmp_path / "album.zip"
    path.write_bytes(data)
    with pytest.raises(ImageError, match=f"^{re.escape(str(path))}: not an image but {re.escape(what)}, and give the "
                                         f"photos inside \\(glr reads {re.escape(SUPPORTED)}\\)$"):
        decode_image(path)


def _tiff_with(tag: int, order: str = "<") -> bytes:
    """A minimal TIFF (little- or big-endian) whose first directory holds `tag` as 4 bytes (DNGVersion is 50706)."""
    magic = b"II*\x00" if order == "<" else b"MM\x00*"
    entry = struct.pack(order + "HHI", tag, 1, 4) + bytes([1, 4, 0, 0])
    return magic + struct.pack(order + "I", 8) + struct.pack(order + "H", 1) + entry + struct.pack(order + "I", 0)


RAWS = {
    "dng-little-endian": (_tiff_with(50706), "an Adobe DNG raw photo"),
    "dng-big-endian": (_tiff_with(50706, ">"), "an Adobe DNG raw photo"),
    "cr2": (b"II*\x00\x10\x00\x00\x00CR\x02\x00" + bytes(64), "a Canon RAW (CR2) photo"),
    "orf": (b"IIRO\x08\x00\x00\x00" + bytes(64), "an Olympus RAW (ORF) photo"),
    "rw2": (b"IIU\x00\x08\x00\x00\x00" + bytes(64), "a Panasonic RAW (RW2) photo"),
    "raf": (b"FUJIFILMCCD-RAW 0201" + bytes(64), "a Fujifilm RAW (RAF) photo"),
}


@pytest.mark.parametrize("case", list(RAWS))
def test_a_camera_raw_file_is_named_and_told_to_be_exported_as_jpeg(case):
    # Was: a DNG read as whatever its first directory held (a small preview, or "a kind of TIFF glr cannot decode"),
    # a CR2 "image is corrupt", the others "not an image, or a format glr cannot read".
    data, what = RAWS[case]
    with pytest.raises(ImageError, match=f"^the upload: {re.escape(what)}, a format glr cannot read; export it as "
                                         "JPEG first"):
        decode_image(data)


def test_a_plain_tiff_with_other_tags_is_not_taken_for_a_dng():
    data = _encode(Image.new("RGB", (8, 8), (0, 128, 255)), "TIFF")
    assert tuple(decode_image(data)[0, 0]) == (0, 128, 255)
    with pytest.raises(ImageError, match="a damaged or truncated TIFF"):  # tag 305 (Software) alone: not a raw
        decode_image(_tiff_with(305))


def test_a_photoshop_file_is_named_as_an_image_format_glr_cannot_read():
    # Was "not an image, it looks like a Photoshop document".
    psd = b"8BPS\x00\x01" + bytes(6) + struct.pack(">HIIHH", 3, 8, 8, 8, 3) + bytes(64)
    with pytest.raises(ImageError, match=r"^the upload: a Photoshop \(PSD\) image, a format glr cannot read; "
                                         r"save it again as JPEG or PNG"):
        decode_image(psd)


def _avif_with_damaged_planes() -> bytes:
    """An AVIF photo with 20 bytes of its picture inverted: Pillow's AVIF plugin raises RuntimeError decoding it."""
    buffer = io.BytesIO()
    blocks = np.random.default_rng(0).integers(0, 256, (4, 6, 3), np.uint8)  # a smooth photo-like picture
    Image.fromarray(blocks).resize((64, 48), Image.Resampling.BILINEAR).save(buffer, "AVIF")
    raw = buffer.getvalue()
    at = int(len(raw) * 0.7)
    return raw[:at] + bytes(255 - b for b in raw[at:at + 20]) + raw[at + 20:]


def test_an_avif_whose_picture_is_damaged_is_refused_in_words_not_a_crash():
    # Found by fuzzing predict.py against glr: "RuntimeError: Failed to decode frame 0: Decoding of color planes
    # failed" came out of decode_image (a traceback on the Predict page, a crash of a dataset's check).
    with pytest.raises(ImageError, match=r"^the upload: image is corrupt and cannot be decoded \(Failed to decode frame 0"):
        decode_image(_avif_with_damaged_planes())

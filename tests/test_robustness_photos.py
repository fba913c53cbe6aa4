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

SUPPORTED = "JPEG, PNG, WebP, HEIC, AVIF, GIF, BMP, TIFF or ICO"


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


def _camera_tiff(order: str, make: bytes, compression: int = 1, photometric: int = 2, sub_ifds: bool = False) -> bytes:
    """A TIFF whose first directory is a camera's: an 8x8 picture stored as `compression` and `photometric` say (an
    RGB preview, or the sensor's data: photometric CFA is 32803) and its maker's name, and maybe SubIFDs (330)
    pointing to a second directory holding the sensor's data, as Nikon's NEF and Sony's ARW files lay themselves out."""
    magic = b"II*\x00" if order == "<" else b"MM\x00*"
    pixels = bytes(range(8 * 8 * 3))
    make = make + b"\x00"
    entries = [(256, 3, 1, 8), (257, 3, 1, 8), (258, 3, 1, 8), (259, 3, 1, compression), (262, 3, 1, photometric), (271, 2, len(make), None),
               (273, 4, 1, None), (277, 3, 1, 3), (278, 3, 1, 8), (279, 4, 1, len(pixels))]
    if sub_ifds:
        entries.append((330, 4, 1, None))
    ifd_size = 2 + 12 * len(entries) + 4
    make_at = 8 + ifd_size
    pixels_at = make_at + len(make)
    sub_at = pixels_at + len(pixels)
    inline = {271: make_at, 273: pixels_at, 330: sub_at}
    ifd = struct.pack(order + "H", len(entries))
    for tag, kind, count, value in entries:
        value = inline[tag] if value is None else value
        ifd += struct.pack(order + "HHI", tag, kind, count) + (struct.pack(order + "HH", value, 0) if kind == 3
                                                               else struct.pack(order + "I", value))
    raw_ifd = struct.pack(order + "H", 2) + struct.pack(order + "HHIHH", 259, 3, 1, 34713 if b"NIKON" in make else 32767, 0) \
        + struct.pack(order + "HHIHH", 262, 3, 1, 32803, 0) + struct.pack(order + "I", 0)
    return magic + struct.pack(order + "I", 8) + ifd + struct.pack(order + "I", 0) + make + pixels + \
        (raw_ifd if sub_ifds else b"")


CAMERA_RAWS = {
    "nikon-nef": (_camera_tiff(">", b"NIKON CORPORATION", sub_ifds=True), "a Nikon RAW (NEF) photo"),
    "sony-arw": (_camera_tiff("<", b"SONY", sub_ifds=True), "a Sony RAW (ARW) photo"),
    "pentax-pef": (_camera_tiff(">", b"PENTAX Corporation", compression=65535, photometric=32803),
                   "a Pentax RAW (PEF) photo"),
    "ricoh-pentax-pef": (_camera_tiff(">", b"RICOH IMAGING COMPANY, LTD.", compression=65535, photometric=32803),
                         "a Pentax RAW (PEF) photo"),
    "canon-cr3": (b"\x00\x00\x00\x18ftypcrx \x00\x00\x00\x01crx isom" + bytes(64), "a Canon RAW (CR3) photo"),
}


@pytest.mark.parametrize("case", list(CAMERA_RAWS))
def test_nikon_sony_pentax_and_canon_raws_are_named_and_told_to_be_exported_as_jpeg(tmp_path, case):
    # Was: a NEF or ARW read as its small preview (predicted from its 8x8 thumbnail), a PEF "a damaged or truncated
    # TIFF file (incomplete download or copy?)". A CR3 was already named (guard).
    data, what = CAMERA_RAWS[case]
    path = tmp_path / "DSC_0001.tif"
    path.write_bytes(data)
    with pytest.raises(ImageError, match=f"^{re.escape(str(path))}: {re.escape(what)}, a format glr cannot read; "
                                         f"export it as JPEG first \\(glr reads {re.escape(SUPPORTED)}\\)$"):
        decode_image(path)


def test_a_cameras_own_tiff_and_a_tiff_with_subifds_but_no_maker_still_decode():
    # Nikons can save a TIFF: its maker named, no sensor data; a pyramid TIFF points to SubIFDs and names no maker.
    for data in (_camera_tiff(">", b"NIKON CORPORATION"), _camera_tiff("<", b"", sub_ifds=True)):
        assert decode_image(data).shape == (8, 8, 3)


def _tga(width: int, height: int) -> bytes:
    """An uncompressed 24-bit TGA header of `width` x `height`, and a few pixels (TGA has no magic bytes)."""
    return struct.pack("<BBBHHBHHHHBB", 0, 0, 2, 0, 0, 0, 0, 0, width, height, 24, 0) + bytes(3 * 64)


@pytest.mark.parametrize("width, height", [(30000, 30000), (65535, 65535)])
def test_a_tga_too_large_for_pillow_to_open_is_named_and_said_too_large(width, height):
    # Was "not an image, or a format glr cannot read": past Pillow's open limit (800 MP) nothing named its format.
    with pytest.raises(ImageError, match=f"^the upload: a TGA image of {width}x{height} pixels: too large to decode "
                                         f"safely \\(possibly a decompression bomb\\), and a format glr cannot read "
                                         f"\\(glr reads {re.escape(SUPPORTED)}\\)$"):
        decode_image(_tga(width, height))
    with pytest.raises(ImageError, match="^the upload: a TGA image, a format glr cannot read; save it again"):
        decode_image(_tga(8, 8))  # within the limit: named as before


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def _grey_png(*chunks: bytes) -> bytes:
    """A 4x2 grey PNG of 128s and 20s, `chunks` before its pixels."""
    png = _encode(Image.fromarray(np.array([[128, 128, 20, 20]] * 2, np.uint8)), "PNG")
    return png[:33] + b"".join(chunks) + png[33:]


LINEAR = _png_chunk(b"gAMA", struct.pack(">I", 100000))  # a gamma of 1.0: 128 shows as 188, 20 as 79 (row 540)


@pytest.mark.parametrize("chunks, shown", [
    ((LINEAR, _png_chunk(b"cHRM", bytes(28))), (188, 79)),  # cHRM of 7 numbers, not 8: passed over, gAMA kept
    ((LINEAR, _png_chunk(b"cHRM", b"")), (188, 79)),
    ((_png_chunk(b"gAMA", b"\x00\x01"),), (128, 20)),
    ((_png_chunk(b"gAMA", b""),), (128, 20)),
    ((LINEAR, _png_chunk(b"sRGB", b"")), (188, 79)),  # an empty sRGB chunk is no sRGB chunk
    ((_png_chunk(b"pHYs", b"\x00\x01\x02"),), (128, 20)),
    ((_png_chunk(b"iCCP", b""),), (128, 20)),  # no profile name, no compression method
], ids=["chrm-28-bytes", "chrm-empty", "gama-2-bytes", "gama-empty", "srgb-empty", "phys-3-bytes", "iccp-empty"])
def test_a_png_whose_colour_or_size_chunk_is_too_short_is_shown_as_chromium_shows_it(tmp_path, chunks, shown):
    # Measured in Chromium 156: each chunk too short is passed over (libpng's benign error) and the picture shown.
    # Was "image file is truncated (incomplete download or copy?)" (the iCCP: "a damaged or truncated PNG file"),
    # and no size in the Dataset page's statistics.
    path = tmp_path / "web.png"
    path.write_bytes(_grey_png(*chunks))
    assert tuple(int(v) for v in decode_image(path)[0, ::2, 0]) == shown
    assert image_size(path) == (4, 2)
    assert tuple(int(v) for v in load_resized(path, (4, 2))[0, ::2, 0]) == shown


def test_a_progressive_jpeg_cut_half_way_is_refused_as_cut_not_shown_blurred():
    # A choice, measured: Chromium 156 draws a progressive JPEG cut at 30-80% whole from the scans it has (a blurrier
    # picture) and a baseline one cut at 50% with its lower half empty; glr refuses both as cut short, so a failed
    # download is fetched again rather than trained on in silence.
    photo = Image.fromarray(np.random.default_rng(0).integers(0, 255, (12, 16, 3), np.uint8)).resize((320, 240))
    for progressive in (True, False):
        data = _encode(photo, "JPEG", quality=90, progressive=progressive)
        with pytest.raises(ImageError, match=r"^the upload: image file is truncated \(incomplete download or copy\?\)$"):
            decode_image(data[:len(data) // 2])


def _cut_out(kind: str) -> tuple[bytes, tuple[int, int]]:
    """A 400x300 picture whose top half is see-through (and its bottom-left half so), told so as `kind` says; and the
    size a thumbnail of it is: left red, green, blue, white quadrants; a partial GIF frame instead for "gif"."""
    pixels = np.zeros((300, 400, 3), np.uint8)
    pixels[:150, :200], pixels[:150, 200:], pixels[150:, :200] = (255, 0, 0), (0, 255, 0), (0, 0, 255)
    pixels[150:, 200:] = 255
    alpha = np.full((300, 400), 255, np.uint8)
    alpha[:150], alpha[150:, :200] = 0, 128
    if kind == "rgba":
        return _encode(Image.fromarray(np.dstack([pixels, alpha]), "RGBA"), "PNG"), (40, 30)
    if kind == "la":
        return _encode(Image.fromarray(np.dstack([pixels[..., 2], alpha]), "LA"), "PNG"), (40, 30)
    if kind == "key":  # a tRNS colour key (black): the top half, black, is see-through
        pixels[:150] = 0
        return _encode(Image.fromarray(pixels), "PNG", transparency=(0, 0, 0)), (40, 30)
    frame = Image.new("RGB", (200, 100), (200, 100, 50)).convert("P", palette=Image.Palette.ADAPTIVE, colors=4)
    data = bytearray(_encode(frame, "GIF"))
    data[6:8] = struct.pack("<H", 400)  # the logical screen: 400 px wide, the frame 100 px from its left
    at = data.index(b"\x2c")
    data[at + 1:at + 3] = struct.pack("<H", 100)
    return bytes(data), (40, 10)


@pytest.mark.parametrize("kind", ["rgba", "la", "key", "gif"])
def test_a_shown_cut_out_goes_onto_white_after_its_shrink_only(monkeypatch, kind):
    # Measured: an 80 MP RGBA PNG's 120 px gallery thumbnail took 13.5 s and +1.5 GB (4.7 s, +315 MB without alpha): its
    # transparency went onto white at full size before the thumbnail's shrink. Now its own pixels only; training and
    # prediction (load_resized) still composite first, their cached features unchanged.
    from glr.data import pixel_modes

    data, size = _cut_out(kind)
    shrunk, composited = [], []
    composite = Image.alpha_composite
    monkeypatch.setattr(pixel_modes.Image, "alpha_composite", lambda a, b: composited.append(a.size) or composite(a, b))

    def shrink(im):
        shrunk.append(im.mode)
        return im.resize(size, Image.Resampling.BILINEAR, reducing_gap=2.0)

    shown = decode_image(data, shrink=shrink)
    assert shrunk == ["RGBa"] and composited == []  # premultiplied, so onto white after the shrink
    first = load_resized(data, size)
    # Training's: onto white in full, then shrunk, as before (a grey cut-out as grey, so not by alpha_composite).
    assert composited == ([] if kind == "la" else [Image.open(io.BytesIO(data)).size])
    assert np.abs(shown.astype(int) - first).max() <= 3
    if kind == "gif":  # the screen outside the frame: see-through (white), the frame orange
        assert [tuple(int(v) for v in shown[5, x]) for x in (2, 20, 37)] == [(255, 255, 255), (200, 100, 50),
                                                                             (255, 255, 255)]
        return
    grey = kind == "la"  # a grey cut-out of the blue channel: red and green are black, blue white
    top = [(255, 255, 255)] * 2
    bottom = [(255, 255, 255) if grey else (0, 0, 255) if kind == "key" else (127, 127, 255), (255, 255, 255)]
    got = [tuple(int(v) for v in shown[y, x]) for y, x in ((7, 10), (7, 30), (22, 10), (22, 30))]
    assert all(np.abs(np.subtract(g, w)).max() <= 1 for g, w in zip(got, top + bottom)), got

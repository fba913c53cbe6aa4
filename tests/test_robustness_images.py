"""Robustness of image decoding: every bad file gets an ImageError naming it and the problem;
every photo mode, format and shape decodes to an (H, W, 3) uint8 array the right way up.

The matrix in docs/robustness.md lists each case with the test that holds it.
"""

from __future__ import annotations

import io
import os
import re
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from glr.data.browse import thumbnail
from glr.errors import ImageError
from glr.data.images import MAX_PIXELS, decode_image, image_size, load_resized

from conftest import SRGB_BLUE, SRGB_GREEN, SRGB_RED, rgb_profile

SUPPORTED = "JPEG, PNG, WebP, HEIC, AVIF, GIF, BMP, TIFF or ICO"


def encode(img: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt, **kw)
    return buf.getvalue()


def halves(w: int = 40, h: int = 30) -> Image.Image:
    """Left half red, right half blue: shows both colour and orientation."""
    arr = np.zeros((h, w, 3), np.uint8)
    arr[:, : w // 2] = (255, 0, 0)
    arr[:, w // 2 :] = (0, 0, 255)
    return Image.fromarray(arr)


def noise_jpeg(size: int = 128) -> bytes:
    return encode(Image.effect_noise((size, size), 60).convert("RGB"), "JPEG", quality=90)


def close(pixel, colour, tol: int = 40) -> bool:
    return all(abs(int(a) - b) <= tol for a, b in zip(pixel, colour))


# --------------------------------------------------------------------------- unreadable input


def _zip_bytes() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("a.txt", "hello")
    return buf.getvalue()


UNREADABLE = {
    "zero-byte": (b"", "empty file (0 bytes)"),
    "truncated-jpeg": (noise_jpeg()[: len(noise_jpeg()) // 2], "image file is truncated (incomplete download or copy?)"),
    "jpeg-header-only": (b"\xff\xd8\xff\xe0\x00\x10JFIF", "image file is truncated (incomplete download or copy?)"),
    "jpeg-magic-only": (b"\xff\xd8\xff", "a damaged or truncated JPEG file (incomplete download or copy?)"),
    "truncated-png": (encode(halves(), "PNG")[:40], "a damaged or truncated PNG file"),
    "random-bytes": (np.random.default_rng(7).integers(0, 256, 4096, dtype=np.uint8).tobytes(),
                     f"not an image, or a format glr cannot read (use {SUPPORTED})"),
    "pdf": (b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n", "not an image, it looks like a PDF document"),
    "html": (b"<!doctype html>\n<html><body>404 Not Found</body></html>", "not an image, it looks like an HTML page"),
    "html-with-bom": (b"\xef\xbb\xbf  <HTML><body>login</body></HTML>", "not an image, it looks like an HTML page"),
    "svg": (b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>', "not an image, it looks like an SVG drawing"),
    "zip": (_zip_bytes(), "not an image but a zip archive: unzip it first"),
    "eps": (b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\n", "not an image, it looks like a PostScript/EPS file"),
    "mp4-video": (b"\x00\x00\x00\x20ftypisom\x00\x00\x02\x00isomiso2avc1mp41" + bytes(64),
                  "not an image, it looks like a video (MP4/MOV)"),
}


@pytest.mark.parametrize("case", list(UNREADABLE), ids=list(UNREADABLE))
def test_unreadable_file_named_jpg_gives_its_problem(tmp_path, case):
    data, message = UNREADABLE[case]
    path = tmp_path / f"{case}.jpg"  # every one of them named like a photo
    path.write_bytes(data)
    with pytest.raises(ImageError, match=f"^{re.escape(str(path))}: {re.escape(message)}"):
        decode_image(path)


def test_a_well_formed_file_glr_has_no_decoder_for_is_not_called_damaged():
    import struct

    import cv2

    ok, tiff = cv2.imencode(".tiff", np.random.default_rng(0).random((20, 20, 3)).astype(np.float32))  # float RGB
    with pytest.raises(ImageError, match=r"^the upload: a kind of TIFF that glr cannot decode \(unknown pixel mode\); "
                                         r"save it again as an 8-bit JPEG or PNG$"):
        decode_image(tiff.tobytes())
    bmp = bytearray(encode(halves(), "BMP"))
    bmp[28:30] = struct.pack("<H", 64)  # 64 bits per pixel: Pillow reads up to 32
    with pytest.raises(ImageError, match=r"a kind of BMP that glr cannot decode \(Unsupported BMP pixel depth \(64\)\)"):
        decode_image(bytes(bmp))
    with pytest.raises(ImageError, match="a damaged or truncated TIFF file"):  # a cut-short copy is still damaged
        decode_image(tiff.tobytes()[:60])

@pytest.mark.parametrize("case", ["truncated-jpeg", "pdf", "random-bytes"])
def test_unreadable_upload_is_named_by_its_file_name(case):
    upload = io.BytesIO(UNREADABLE[case][0])
    upload.name = "holiday.jpg"
    with pytest.raises(ImageError, match=f"^holiday.jpg: {re.escape(UNREADABLE[case][1])}"):
        decode_image(upload)


HEIC_FILES = Path(__file__).parent / "fixtures"


def test_a_heic_photo_decodes():
    out = decode_image(HEIC_FILES / "photo.heic")
    assert out.shape == (48, 64, 3)
    # Red left half, blue right half, a green band on top (lossy: a few grey levels off).
    assert np.abs(out[30, 5].astype(int) - (220, 30, 30)).max() < 12
    assert np.abs(out[30, 60].astype(int) - (30, 30, 220)).max() < 12
    assert np.abs(out[2, 30].astype(int) - (30, 200, 30)).max() < 12


def test_a_portrait_heic_is_turned_once_like_the_same_jpeg():
    # pi-heif applies the rotation itself and resets the EXIF tag: exif_transpose must not turn it again.
    flat = decode_image(HEIC_FILES / "photo.heic")
    out = decode_image(HEIC_FILES / "photo-rotated.heic")
    assert out.shape == (64, 48, 3)
    exif = Image.Exif()
    exif[0x0112] = 6
    jpeg = decode_image(encode(Image.fromarray(flat), "JPEG", exif=exif.tobytes()))
    assert np.abs(out.astype(int) - jpeg.astype(int)).mean() < 4


def test_an_avif_photo_decodes():
    arr = np.zeros((40, 50, 3), np.uint8)
    arr[:, 25:] = 200
    out = decode_image(encode(Image.fromarray(arr), "AVIF"))
    assert out.shape == (40, 50, 3) and out[:, :20].max() < 16 and out[:, 30:].min() > 180


@pytest.mark.parametrize("brand, fmt", [(b"heic", "HEIC"), (b"heix", "HEIC"), (b"mif1", "HEIC"), (b"avif", "AVIF")])
def test_a_damaged_heic_or_avif_is_named(tmp_path, brand, fmt):
    path = tmp_path / "IMG_0001.HEIC"
    path.write_bytes(b"\x00\x00\x00\x18ftyp" + brand + b"\x00\x00\x00\x00mif1heic" + bytes(200))
    with pytest.raises(ImageError, match=re.escape(
            f"{path}: a damaged or truncated {fmt} file (incomplete download or copy?)")):
        decode_image(path)


def test_heic_named_only_in_the_compatible_brands():
    data = b"\x00\x00\x00\x1cftypXYZ1\x00\x00\x00\x00msf1heic\x00\x00\x00\x00" + bytes(100)
    with pytest.raises(ImageError, match="a damaged or truncated HEIC file"):
        decode_image(data)


def test_a_cut_short_heic_is_named():
    data = (HEIC_FILES / "photo.heic").read_bytes()
    with pytest.raises(ImageError, match="a damaged or truncated HEIC file"):
        decode_image(data[: len(data) // 2])


def test_gif_whose_screen_claims_four_gigapixels_is_a_bomb():
    data = bytearray(encode(Image.new("P", (1, 1)), "GIF"))
    data[6:10] = (65535).to_bytes(2, "little") * 2  # logical screen 65535 x 65535, in a 40-byte file
    with pytest.raises(ImageError, match="too large to decode safely; possibly a decompression bomb"):
        decode_image(bytes(data))


def test_png_bomb_over_the_pixel_limit_is_refused_before_decoding():
    data = encode(Image.new("1", (10000, 10000)), "PNG")  # 100 MP in a few kB
    assert 10000 * 10000 > MAX_PIXELS and len(data) < 50_000
    with pytest.raises(ImageError, match=r"^the upload: 10000x10000 pixels is too large \(limit 90 megapixels\); "
                                         r"possibly a decompression bomb$"):
        decode_image(data)


def test_a_jpeg_over_the_limit_decodes_when_asked_at_reduced_size(monkeypatch):
    # A 108 MP phone photo, scaled down: only what the reduced decode holds counts against the limit.
    data = encode(halves(400, 300), "JPEG")
    assert decode_image(data, max_pixels=50_000, draft_size=100).shape == (150, 200, 3)  # decoded at 1/2
    with pytest.raises(ImageError, match=r"400x300 pixels is too large \(limit 0.05 megapixels\)"):
        decode_image(data, max_pixels=50_000)  # in full: refused
    monkeypatch.setattr("glr.data.images.MAX_JPEG_PIXELS", 100_000)
    with pytest.raises(ImageError, match=r"400x300 pixels is too large \(limit 0.1 megapixels\)"):
        decode_image(data, max_pixels=50_000, draft_size=100)  # past the cap even a reduced decode is refused


def test_pixel_limit_is_checked_before_decoding():
    data = encode(Image.new("RGB", (300, 200)), "PNG")
    with pytest.raises(ImageError, match=r"300x200 pixels is too large \(limit 0.05 megapixels\); possibly a decompression bomb"):
        decode_image(data, max_pixels=50_000)


@pytest.mark.parametrize("fmt", ["PPM", "TGA", "PCX"])
def test_formats_outside_the_allow_list_are_refused(fmt):
    # Pillow could decode these; glr decodes only the photo formats (less decoder surface), and names the format (a TGA
    # has no magic bytes: "not an image" left a user who saved one from an editor puzzled). An ICO is read
    # (test_robustness_photos.py): its pictures are BMP and PNG, decoded by those.
    with pytest.raises(ImageError, match=re.escape(f"the upload: a {fmt} image, a format glr cannot read; save it again "
                                                   f"as JPEG or PNG (glr reads {SUPPORTED})")):
        decode_image(encode(halves(), fmt))


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_a_pipe_named_jpg_does_not_block(tmp_path):
    path = tmp_path / "pipe.jpg"
    os.mkfifo(path)
    with pytest.raises(ImageError, match=f"^{re.escape(str(path))}: not a regular file$"):
        decode_image(path)


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(ImageError, match=f"^{re.escape(str(tmp_path / 'gone.jpg'))}: file not found$"):
        decode_image(tmp_path / "gone.jpg")
    with pytest.raises(ImageError, match="is a folder, not an image file"):
        decode_image(tmp_path)


def test_unreadable_image_gives_none_in_the_gallery_and_sizes(tmp_path):
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"%PDF-1.4")
    assert thumbnail(bad) is None
    assert image_size(bad) is None


# --------------------------------------------------------------------------- modes and formats


def test_cmyk_jpeg_keeps_its_colours():
    out = decode_image(encode(halves().convert("CMYK"), "JPEG", quality=95))
    assert out.shape == (30, 40, 3) and out.dtype == np.uint8
    assert close(out[15, 5], (255, 0, 0)) and close(out[15, 35], (0, 0, 255))


def test_sixteen_bit_png_is_scaled_not_clipped():
    arr = np.tile(np.array([0, 16384, 65535], np.uint16), (4, 1))
    out = decode_image(encode(Image.fromarray(arr), "PNG"))
    assert out.shape == (4, 3, 3)
    assert list(out[0, :, 0]) == [0, 64, 255]  # each value's high byte, as Chromium 156 shows them (was 63)


def test_rgba_png_is_composited_on_white():
    arr = np.zeros((4, 4, 4), np.uint8)
    arr[:, :2] = (255, 0, 0, 255)  # opaque red
    arr[:, 2:] = (255, 0, 0, 0)  # fully transparent red
    out = decode_image(encode(Image.fromarray(arr, "RGBA"), "PNG"))
    assert tuple(out[0, 0]) == (255, 0, 0) and tuple(out[0, 3]) == (255, 255, 255)


def test_palette_gif_and_palette_png_with_transparency():
    out = decode_image(encode(halves().convert("P", palette=Image.Palette.ADAPTIVE, colors=4), "GIF"))
    assert close(out[15, 5], (255, 0, 0), 5) and close(out[15, 35], (0, 0, 255), 5)
    pal = Image.new("P", (4, 4), 0)
    pal.putpalette([0, 0, 0] + [0, 255, 0] * 255)
    out = decode_image(encode(pal, "PNG", transparency=0))
    assert tuple(out[0, 0]) == (255, 255, 255)  # the transparent index becomes white, not black


def test_animated_gif_gives_its_first_frame():
    frames = [Image.new("RGB", (8, 8), c) for c in ((255, 0, 0), (0, 255, 0), (0, 0, 255))]
    buf = io.BytesIO()
    frames[0].save(buf, format="GIF", save_all=True, append_images=frames[1:], duration=50, loop=0)
    out = decode_image(buf.getvalue())
    assert out.shape == (8, 8, 3) and close(out[4, 4], (255, 0, 0), 10)


@pytest.mark.parametrize("orientation, shape, top, bottom", [
    (1, (30, 40, 3), "left red", "right blue"),
    (3, (30, 40, 3), "left blue", "right red"),  # rotated 180
    (6, (40, 30, 3), "red", "blue"),  # rotate 90 clockwise to display: the left side goes to the top
    (8, (40, 30, 3), "blue", "red"),  # rotate 90 counter-clockwise: the left side goes to the bottom
])
def test_exif_orientation_is_applied(orientation, shape, top, bottom):
    exif = Image.Exif()
    exif[0x0112] = orientation
    out = decode_image(encode(halves(), "JPEG", exif=exif, quality=95))
    assert out.shape == shape
    red, blue = (255, 0, 0), (0, 0, 255)
    if orientation in (1, 3):
        left, right = (red, blue) if orientation == 1 else (blue, red)
        assert close(out[15, 3], left) and close(out[15, 36], right)
    else:
        first, last = (red, blue) if top == "red" else (blue, red)
        assert close(out[3, 15], first) and close(out[36, 15], last)


def test_invalid_exif_orientation_is_ignored():
    exif = Image.Exif()
    exif[0x0112] = 9  # not a valid orientation
    assert decode_image(encode(halves(), "JPEG", exif=exif)).shape == (30, 40, 3)


@pytest.mark.parametrize("mode", ["L", "1", "LA", "I;16", "I", "F"])
def test_grey_and_wide_modes(mode):
    if mode in ("I;16", "I", "F"):
        arr = np.full((6, 6), {"I;16": 65535, "I": 65535, "F": 1.0}[mode], dtype={"I;16": np.uint16, "I": np.int32, "F": np.float32}[mode])
        data = encode(Image.fromarray(arr), "TIFF")
    else:
        data = encode(Image.new(mode, (6, 6), 255 if mode != "LA" else (255, 255)), "PNG")
    out = decode_image(data)
    assert out.shape == (6, 6, 3) and out.dtype == np.uint8
    assert tuple(out[0, 0]) == (255, 255, 255)


@pytest.mark.parametrize("fmt, kw", [("WEBP", {"lossless": True}), ("BMP", {}), ("TIFF", {}), ("PNG", {}), ("GIF", {})])
def test_formats_decode_to_the_same_pixels(fmt, kw):
    out = decode_image(encode(halves(), fmt, **kw))
    assert out.shape == (30, 40, 3)
    assert tuple(out[15, 5]) == (255, 0, 0) and tuple(out[15, 35]) == (0, 0, 255)


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "TIFF", "WEBP"])
def test_an_embedded_colour_profile_is_applied(fmt):
    # A profile whose red channel holds sRGB's blue: a browser shows this photo's left half blue.
    swapped = rgb_profile(SRGB_BLUE, SRGB_GREEN, SRGB_RED)
    data = encode(halves(), fmt, icc_profile=swapped, **({"quality": 95} if fmt == "JPEG" else {}))
    out = decode_image(data)
    assert close(out[15, 5], (0, 0, 255), 12) and close(out[15, 35], (255, 0, 0), 12)
    # What training and prediction see: resized first, then converted (fewer pixels to convert), alike.
    small = load_resized(data, (20, 15))
    assert close(small[7, 2], (0, 0, 255), 12) and close(small[7, 17], (255, 0, 0), 12)
    full_then_small = np.asarray(Image.fromarray(out).resize((20, 15), Image.Resampling.BILINEAR, reducing_gap=2.0))
    assert np.abs(small.astype(int) - full_then_small).max() <= 12  # measured: up to 6, at the edge between the halves
    # With alpha: composited onto white first (white stays white), then converted.
    rgba = halves().convert("RGBA")
    rgba.putpixel((0, 0), (0, 0, 0, 0))
    if fmt != "JPEG":
        out = decode_image(encode(rgba, fmt, icc_profile=swapped, **({"lossless": True} if fmt == "WEBP" else {})))
        assert tuple(out[0, 0]) == (255, 255, 255) and close(out[15, 5], (0, 0, 255), 12)


def test_srgb_broken_and_misfit_profiles_leave_the_pixels_as_they_are():
    from PIL import ImageCms

    plain = decode_image(encode(halves(), "PNG"))
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    for profile in (srgb, b"not a colour profile at all", rgb_profile(SRGB_RED, SRGB_GREEN, SRGB_BLUE)[:200]):
        assert np.array_equal(decode_image(encode(halves(), "PNG", icc_profile=profile)), plain)
    # An RGB profile on a grey photo does not fit it: the grey is kept.
    grey = decode_image(encode(Image.new("L", (6, 6), 120), "PNG", icc_profile=rgb_profile(SRGB_BLUE, SRGB_GREEN, SRGB_RED)))
    assert tuple(grey[0, 0]) == (120, 120, 120)


# --------------------------------------------------------------------------- shapes


@pytest.mark.parametrize("size", [(1, 1), (10000, 10), (10, 10000)])
def test_extreme_shapes_decode_resize_and_thumbnail(size):
    data = encode(Image.new("RGB", size, (200, 100, 50)), "PNG")
    assert decode_image(data).shape == (size[1], size[0], 3)
    resized = load_resized(data, 32)  # what the training pipeline and the predictor do
    assert resized.shape == (32, 32, 3) and close(resized[16, 16], (200, 100, 50), 2)
    thumb = thumbnail(io.BytesIO(data), 16)  # what the gallery does
    assert thumb.shape == (16, 16, 3)


def test_png_with_megabytes_of_text_metadata_decodes_and_a_text_bomb_is_named():
    from PIL import PngImagePlugin

    def png_with_text(chars: int) -> bytes:
        info = PngImagePlugin.PngInfo()
        info.add_itxt("XML:com.adobe.xmp", "x" * chars, zip=True)  # an editor's XMP history, compressed
        return encode(halves(), "PNG", pnginfo=info)

    arr = decode_image(png_with_text(3_000_000))  # over Pillow's own 1 MB a chunk
    assert arr.shape == (30, 40, 3) and tuple(arr[0, 0]) == (255, 0, 0)
    with pytest.raises(ImageError, match=r"^the upload: its PNG text metadata is too large to read safely .*16 MB"):
        decode_image(png_with_text(40_000_000))  # 40 kB on disk


def test_a_png_colour_profile_bomb_is_named_as_a_colour_profile():
    # An iCCP chunk inflating to 200 MB (a few hundred kB on disk) was called "text metadata", which it has none of.
    import struct
    import zlib

    raw = encode(halves(), "PNG")
    data = zlib.compress(b"\0" * 200_000_000, 9)
    chunk = b"iCCP" + b"icc\0\0" + data
    bomb = raw[:33] + struct.pack(">I", len(chunk) - 4) + chunk + struct.pack(">I", zlib.crc32(chunk)) + raw[33:]
    with pytest.raises(ImageError, match=r"^the upload: its PNG colour profile is too large to read safely .*16 MB"):
        decode_image(bomb)


def test_a_jpeg_cut_before_its_picture_is_named_truncated():
    # A download cut after the JPEG's headers (its tables, no picture data yet): "image is corrupt and cannot be
    # decoded (cannot load this image)", where one cut a little later is "truncated (incomplete download or copy?)".
    whole = noise_jpeg()
    with pytest.raises(ImageError, match=r"^the upload: a damaged or truncated JPEG file \(incomplete download or copy\?\)$"):
        decode_image(whole[:whole.index(b"\xff\xda")])


def test_a_png_of_a_million_empty_chunks_is_refused_at_once():
    # 500,000 empty chunks before the picture (6 MB) took Pillow 4.4 s to walk at open, 60 MB about 45 s:
    # a decoding cost no photo has (editors write a few dozen chunks), refused before Pillow reads them.
    import struct
    import time
    import zlib

    raw = encode(halves(), "PNG")
    empty = struct.pack(">I", 0) + b"abCd" + struct.pack(">I", zlib.crc32(b"abCd"))
    start = time.perf_counter()
    with pytest.raises(ImageError, match=r"^the upload: a PNG of over 10,000 chunks before its picture "
                                         r"\(photos have a few dozen\); possibly a decompression bomb$"):
        decode_image(raw[:33] + empty * 500_000 + raw[33:])
    assert time.perf_counter() - start < 1.0
    assert decode_image(raw[:33] + empty * 200 + raw[33:]).shape == (30, 40, 3)  # a few hundred: a photo still


def test_a_tiff_whose_second_page_lacks_its_size_decodes_its_first_page():
    # Found by the fuzzer: Pillow raises TypeError("Missing dimensions") when glr looks at a later page for the
    # photo, a traceback out of decode_image where a damaged later page should leave the first page's photo.
    import struct

    buffer = io.BytesIO()
    halves().save(buffer, "TIFF", save_all=True, append_images=[halves(20, 15)])
    data = bytearray(buffer.getvalue())
    first = struct.unpack_from("<I", data, 4)[0]
    second = struct.unpack_from("<I", data, first + 2 + 12 * struct.unpack_from("<H", data, first)[0])[0]
    for entry in range(struct.unpack_from("<H", data, second)[0]):
        at = second + 2 + 12 * entry
        if struct.unpack_from("<H", data, at)[0] in (256, 257):  # ImageWidth, ImageLength: made unknown tags
            struct.pack_into("<H", data, at, 65000 + entry)
    arr = decode_image(bytes(data))
    assert arr.shape == (30, 40, 3) and close(arr[0, 0], (255, 0, 0))


def test_the_size_of_a_png_of_a_million_empty_chunks_is_not_read(tmp_path):
    # The Dataset page's size statistics open each photo's header: the same PNG took 4.4 s there.
    import struct
    import time
    import zlib

    raw = encode(halves(), "PNG")
    empty = struct.pack(">I", 0) + b"abCd" + struct.pack(">I", zlib.crc32(b"abCd"))
    (tmp_path / "many.png").write_bytes(raw[:33] + empty * 500_000 + raw[33:])
    (tmp_path / "few.png").write_bytes(raw[:33] + empty * 200 + raw[33:])
    start = time.perf_counter()
    assert image_size(tmp_path / "many.png") is None
    assert time.perf_counter() - start < 1.0
    assert image_size(tmp_path / "few.png") == (40, 30)


def test_a_tiff_whose_strip_offset_is_stored_as_text_is_called_corrupt_not_a_crash(tmp_path):
    # Found by a fuzzer of header bytes (session 27): Pillow's load raised TypeError ("'str' object cannot be
    # interpreted as an integer") out of decode_image, so training's check, `glr predict` and the Predict page crashed.
    import struct

    from glr.data.pipeline import _decode_or_blank

    buffer = io.BytesIO()
    halves().save(buffer, "TIFF")
    data = bytearray(buffer.getvalue())
    ifd = struct.unpack_from("<I", data, 4)[0]
    for entry in range(struct.unpack_from("<H", data, ifd)[0]):
        at = ifd + 2 + 12 * entry
        if struct.unpack_from("<H", data, at)[0] == 273:  # StripOffsets: made the text "12"
            struct.pack_into("<HI4s", data, at + 2, 2, 3, b"12\0\0")
    path = tmp_path / "scan.tif"
    path.write_bytes(bytes(data))
    with pytest.raises(ImageError, match=r"scan.tif: image is corrupt and cannot be decoded \('str' object cannot be"):
        decode_image(path)
    (pixels,), ok = _decode_or_blank(str(path).encode(), 32, np.array([[0, 0, 0]]), 32)  # one view: the whole square
    assert not ok and pixels.shape == (32, 32, 3)


CMYK_SHOWN = [(0, 255, 255), (255, 0, 255), (255, 255, 0), (127, 127, 127)]  # cyan, magenta, yellow ink; half black


@pytest.mark.parametrize("kind, profile", [(kind, profile) for kind in ("tiff", "tiff-lzw", "tiff-jpeg", "jpeg")
                                           for profile in (False, True)] + [("tiff-16-bit", False)])
def test_a_cmyk_tiff_keeps_its_colours_as_a_cmyk_jpeg_does(kind, profile):
    # Print files (Photoshop, InDesign) come as CMYK TIFFs, 8 or 16 bits a channel, often with a CMYK profile; a CMYK
    # JPEG's inks are stored inverted (Adobe's way, which Pillow writes and reads back). Checked, not changed: each
    # shows its inks as a CMYK JPEG does, and a CMYK profile converts them (one swapping cyan and yellow, here).
    from test_pixel_modes import SWAPPED_INKS, cmyk_quadrants, cmyk_tiff, quadrant_centres

    if kind == "tiff-16-bit":  # written by hand (Pillow writes no 16-bit CMYK), without a profile
        data = cmyk_tiff()
    else:
        options = {"tiff": {}, "tiff-lzw": {"compression": "tiff_lzw"}, "tiff-jpeg": {"compression": "jpeg"},
                   "jpeg": {}}[kind]
        if kind in ("tiff-jpeg", "jpeg"):
            options["quality"] = 100
        data = encode(Image.fromarray(cmyk_quadrants(), "CMYK"), "JPEG" if kind == "jpeg" else "TIFF",
                      **options, **({"icc_profile": SWAPPED_INKS} if profile else {}))
    with Image.open(io.BytesIO(data)) as img:
        assert img.mode == "CMYK" and ("icc_profile" in img.info) == profile
    shown = [CMYK_SHOWN[i] for i in ((2, 1, 0) if profile else (0, 1, 2))]
    for decoded in (decode_image(data), load_resized(data, 8)):
        got = quadrant_centres(decoded)
        assert all(close(g, want, 3) for g, want in zip(got, shown)), got
        assert got[3][0] == got[3][1] == got[3][2] and 100 <= got[3][0] <= 200, got  # half black: a neutral grey


@pytest.mark.parametrize("kind", ["grey", "16-bit", "16-bit-tiff", "grey-alpha", "grey-key"])
def test_a_grey_profile_is_applied_to_a_grey_photo_of_any_depth_with_alpha_or_a_key(kind):
    # Grey profiles (a linear grey here: 128 shows as 188) were applied to an 8-bit grey only: a 16-bit grey's, or one
    # with alpha or a colour key (tRNS), was passed over as a misfit for RGB, so those photos showed too dark. An RGB
    # profile, which does not fit a grey, leaves each as it leaves an 8-bit grey (it was applied to them).
    from conftest import grey_profile

    levels = np.tile(np.array([0, 64, 128, 200, 255], np.uint8).repeat(8), (8, 1))
    photo = {"grey": Image.fromarray(levels), "16-bit": Image.fromarray(levels.astype(np.uint16) * 257),
             "grey-alpha": Image.merge("LA", [Image.fromarray(levels), Image.new("L", (40, 8), 255)]),
             "grey-key": Image.fromarray(levels)}[kind.removesuffix("-tiff")]
    fmt, key = ("TIFF" if kind.endswith("tiff") else "PNG"), ({"transparency": 0} if kind == "grey-key" else {})
    decoded = decode_image(encode(photo, fmt, icc_profile=grey_profile(1.0), **key))
    expected = [255 if key else 0, 137, 188, 229, 255]  # the key's see-through black: white
    assert decoded[4, 4::8, 0].tolist() == expected and (decoded == decoded[..., :1]).all()
    shrunk = load_resized(encode(photo, fmt, icc_profile=grey_profile(1.0), **key), (20, 4))  # training's way
    assert np.array_equal(shrunk, Image.fromarray(decoded).resize((20, 4), Image.Resampling.BILINEAR, reducing_gap=2.0))
    misfit = decode_image(encode(photo, fmt, icc_profile=rgb_profile(SRGB_BLUE, SRGB_GREEN, SRGB_RED), **key))
    assert misfit[4, 4::8, 0].tolist() == [255 if key else 0, 64, 128, 200, 255]


@pytest.mark.parametrize("extra", [1, 2], ids=["premultiplied-alpha", "alpha"])
def test_a_cmyk_tiff_with_transparency_is_refused_in_words_saying_what_to_do(extra):
    # Photoshop saves a CMYK picture's transparency as a fifth channel, which Pillow cannot read (it has no CMYK with
    # alpha). Checked, not changed: a clear refusal naming the way out, not a traceback or wrong colours.
    from test_pixel_modes import cmyk_tiff, quadrant_centres

    for bits in (8, 16):
        with pytest.raises(ImageError, match=r"^the upload: a kind of TIFF that glr cannot decode "
                                             r"\(unknown pixel mode\); save it again as an 8-bit JPEG or PNG$"):
            decode_image(cmyk_tiff(bits, extra))
    assert quadrant_centres(decode_image(cmyk_tiff(8, 0))) == CMYK_SHOWN  # a channel of no meaning: passed over

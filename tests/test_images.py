"""glr.data.images: every mode decodes to RGB uint8; everything else raises ImageError with a clear message."""

import io
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from glr.errors import BlankImageError, ImageError
from glr.data.images import BLANK_MESSAGE, MAX_PIXELS, decode_image, image_size, load_resized


def encode(img: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt, **kw)
    return buf.getvalue()


def rgb_image(w=40, h=30) -> Image.Image:
    """Left half red, right half blue: easy to check orientation and colour."""
    arr = np.zeros((h, w, 3), np.uint8)
    arr[:, : w // 2] = (255, 0, 0)
    arr[:, w // 2 :] = (0, 0, 255)
    return Image.fromarray(arr)


def test_decodes_path_bytes_and_filelike(tmp_path):
    data = encode(rgb_image(), "PNG")
    path = tmp_path / "a.png"
    path.write_bytes(data)
    for source in (path, str(path), data, io.BytesIO(data)):
        out = decode_image(source)
        assert out.shape == (30, 40, 3) and out.dtype == np.uint8
        assert tuple(out[0, 0]) == (255, 0, 0) and tuple(out[0, -1]) == (0, 0, 255)


@pytest.mark.parametrize(
    "make",
    [
        lambda: encode(rgb_image().convert("CMYK"), "JPEG"),
        lambda: encode(rgb_image().convert("L"), "PNG"),
        lambda: encode(rgb_image().convert("P"), "GIF"),
        lambda: encode(rgb_image(), "WEBP", lossless=True),
        lambda: encode(rgb_image(), "BMP"),
        lambda: encode(rgb_image(), "TIFF"),
    ],
    ids=["cmyk-jpeg", "grey-png", "palette-gif", "webp", "bmp", "tiff"],
)
def test_modes_and_formats_become_rgb(make):
    out = decode_image(make())
    assert out.shape == (30, 40, 3) and out.dtype == np.uint8


def test_sixteen_bit_png_is_scaled_not_clipped():
    arr = np.full((8, 8), 32768, np.uint16)
    out = decode_image(encode(Image.fromarray(arr), "PNG"))
    assert out.shape == (8, 8, 3)
    assert 120 <= out[0, 0, 0] <= 135  # half of full scale, not 255


def test_rgba_is_composited_on_white():
    img = Image.new("RGBA", (4, 4), (255, 0, 0, 0))  # fully transparent red
    out = decode_image(encode(img, "PNG"))
    assert tuple(out[0, 0]) == (255, 255, 255)


def test_animated_gif_gives_first_frame():
    frames = [Image.new("RGB", (6, 6), c) for c in ((255, 0, 0), (0, 255, 0))]
    buf = io.BytesIO()
    frames[0].save(buf, format="GIF", save_all=True, append_images=frames[1:])
    out = decode_image(buf.getvalue())
    assert out[0, 0, 0] > 200 and out[0, 0, 1] < 50


def test_exif_orientation_is_applied():
    img = rgb_image(40, 30)
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 CW to display"
    out = decode_image(encode(img, "JPEG", exif=exif, quality=95))
    assert out.shape == (40, 30, 3)  # portrait after rotation


@pytest.mark.parametrize("size", [(1, 1), (10000, 10)])
def test_extreme_shapes(size):
    out = decode_image(encode(Image.new("RGB", size, (9, 9, 9)), "PNG"))
    assert out.shape == (size[1], size[0], 3)


@pytest.mark.parametrize(
    "data, message",
    [
        (b"", "empty file (0 bytes)"),
        (b"\x00\x01garbage bytes that are not an image" * 10, "not an image, or a format glr cannot read"),
        (b"%PDF-1.4\n%...", "not an image, it looks like a PDF document"),
        (b"<!DOCTYPE html><html><body>404</body></html>", "not an image, it looks like an HTML page"),
        (b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic", "a damaged or truncated HEIC file"),
    ],
    ids=["zero-byte", "random", "pdf", "html", "heic"],
)
def test_non_images_raise_glr_error(data, message):
    with pytest.raises(ImageError, match=re.escape(message)):
        decode_image(data)


def test_truncated_jpeg():
    data = encode(Image.effect_noise((256, 256), 50).convert("RGB"), "JPEG")
    with pytest.raises(ImageError, match="truncated"):
        decode_image(data[: len(data) // 2])


def test_decompression_bomb_is_refused():
    # A 1-bit PNG of 12000x12000 is a few kB on disk but 144 megapixels in memory.
    data = encode(Image.new("1", (12000, 12000)), "PNG")
    assert len(data) < 100_000 and 12000 * 12000 > MAX_PIXELS
    with pytest.raises(ImageError, match="too large.*decompression bomb"):
        decode_image(data)


def test_missing_file_and_folder_named(tmp_path):
    with pytest.raises(ImageError, match="nope.jpg: file not found"):
        decode_image(tmp_path / "nope.jpg")
    with pytest.raises(ImageError, match="is a folder"):
        decode_image(tmp_path)


def test_error_names_the_upload():
    upload = io.BytesIO(b"not an image at all, really not")
    upload.name = "holiday.jpg"
    with pytest.raises(ImageError, match="^holiday.jpg: "):
        decode_image(upload)


def test_load_resized_and_image_size(tmp_path):
    path = tmp_path / "p.jpg"
    rgb_image(400, 300).save(path, quality=95)
    assert image_size(path) == (400, 300)
    assert image_size(tmp_path / "missing.jpg") is None
    out = load_resized(path, 64)
    assert out.shape == (64, 64, 3)
    assert out[32, 5, 0] > 200 and out[32, -5, 2] > 200  # colours survive the draft decode


def test_draft_decodes_a_640x480_photo_at_half_size_for_256_px(tmp_path):
    from PIL import Image

    from glr.data.images import draft_side

    path = tmp_path / "photo.jpg"
    yy, xx = np.mgrid[0:480, 0:640]
    smooth = np.stack([xx * 255 // 639, yy * 255 // 479, (xx + yy) * 255 // 1118], -1).astype(np.uint8)
    Image.fromarray(smooth).save(path, quality=95)
    # JPEG's 1/2 scale gives 320x240, slightly under 256 on one side: allowed by the slack.
    assert decode_image(path, draft_size=draft_side(256)).shape == (240, 320, 3)
    assert decode_image(path, draft_size=256).shape == (480, 640, 3)  # without the slack: a full decode
    fast = load_resized(path, 256).astype(int)
    exact = np.asarray(Image.fromarray(decode_image(path)).resize((256, 256), Image.Resampling.BILINEAR, reducing_gap=2.0))
    assert np.abs(fast - exact.astype(int)).mean() < 2.0  # the same picture, within JPEG noise


@pytest.mark.parametrize("mode, orientation", [("RGB", None), ("RGB", 6), ("CMYK", None), ("L", 3)])
def test_load_resized_is_the_decoded_photo_resized_with_pillows_bilinear(tmp_path, mode, orientation):
    # The feature cache's key assumes these exact pixels: the decode path skips copies, not steps.
    from glr.data.images import draft_side

    arr = np.random.default_rng(0).integers(0, 256, (300, 400, 3), dtype=np.uint8)
    exif = Image.Exif()
    if orientation:
        exif[0x0112] = orientation
    path = tmp_path / "p.jpg"
    path.write_bytes(encode(Image.fromarray(arr).convert(mode), "JPEG", exif=exif, quality=90))
    for size in (64, (50, 30), 150):
        w, h = (size, size) if isinstance(size, int) else size
        decoded = decode_image(path, draft_size=draft_side(max(w, h)))
        want = np.asarray(Image.fromarray(decoded).resize((w, h), Image.Resampling.BILINEAR, reducing_gap=2.0))
        np.testing.assert_array_equal(load_resized(path, size), want)
    # Only the centre crop of 256 px (glr.data.crop_resize): the same pixels.
    np.testing.assert_array_equal(load_resized(path, 256, crop=(16, 16, 224)), load_resized(path, 256)[16:240, 16:240])
    if orientation == 6:
        assert decode_image(path).shape == (400, 300, 3)  # rotated upright


@pytest.mark.parametrize("colour", [(0, 0, 0), (255, 255, 255), (200, 10, 10), (128, 128, 128)])
def test_a_flat_colour_photo_is_refused_as_blank_only_when_asked(tmp_path, colour):
    # JPEG's noise on a flat colour, and a few grey levels of sensor noise, are still blank.
    noise = np.random.default_rng(0).integers(-2, 3, (60, 80, 3))
    path = tmp_path / "lens-cap.jpg"
    Image.fromarray((np.array(colour) + noise).clip(0, 255).astype(np.uint8)).save(path, quality=85)
    assert load_resized(path, 32).shape == (32, 32, 3)
    with pytest.raises(BlankImageError, match=f"^{re.escape(str(path))}: {re.escape(BLANK_MESSAGE)}$"):
        load_resized(path, 32, refuse_blank=True)


@pytest.mark.parametrize("size, side", [(256, 224), (37, 32)])
def test_load_views_are_the_whole_resize_cut_and_mirrored(size, side):
    from glr.data.images import decode_views

    data = encode(Image.fromarray(np.random.default_rng(0).integers(0, 256, (300, 400, 3), np.uint8)), "JPEG")
    whole = load_resized(data, size)
    edge = size - side
    for boxes in ([[edge, 1, 0]], [[1, edge, 1]], [[edge // 2] * 2 + [0], [edge // 2] * 2 + [1]],  # one place
                  [[0, edge, 1], [edge, 0, 0], [3, 5, 1]]):  # several: the whole photo resized, then cut
        views = decode_views(data, size, np.array(boxes), side)
        assert len(views) == len(boxes)
        for view, (row, col, flip) in zip(views, boxes):
            want = whole[row:row + side, col:col + side]
            np.testing.assert_array_equal(view, want[:, ::-1] if flip else want)


def test_a_crop_is_refused_as_blank_only_when_the_whole_photo_is():
    # The blank check is the whole resize's: a flat middle inside a textured border is no blank photo, from a
    # path or a stream (read again from its start).
    from glr.data.images import is_blank

    flat = np.full((300, 400, 3), 90, np.uint8)
    framed = flat.copy()
    framed[:, :12] = np.random.default_rng(0).integers(0, 256, (300, 12, 3))  # left of the crop once resized
    crop = (16, 16, 224)
    assert is_blank(load_resized(encode(Image.fromarray(framed), "PNG"), 256, crop=crop))
    for data in (encode(Image.fromarray(framed), "PNG"), io.BytesIO(encode(Image.fromarray(framed), "PNG"))):
        assert load_resized(data, 256, refuse_blank=True, crop=crop).shape == (224, 224, 3)
    for data in (encode(Image.fromarray(flat), "PNG"), io.BytesIO(encode(Image.fromarray(flat), "PNG"))):
        with pytest.raises(BlankImageError):
            load_resized(data, 256, refuse_blank=True, crop=crop)


@pytest.mark.parametrize("scene", ["night", "fog", "noise"])
def test_dark_misty_or_noisy_photos_are_not_blank(scene):
    rng = np.random.default_rng(1)
    if scene == "night":  # black, with a few lit windows
        arr = np.zeros((120, 160, 3), np.uint8)
        arr[60:66, 40:46] = (250, 220, 120)
        arr[70:74, 100:104] = (240, 240, 200)
    elif scene == "fog":  # a faint tower in grey haze: 20 grey levels of contrast
        arr = np.full((120, 160, 3), 190, np.uint8)
        arr[20:120, 70:90] = 170
    else:
        arr = rng.integers(0, 256, (120, 160, 3), dtype=np.uint8)
    assert load_resized(encode(Image.fromarray(arr), "PNG"), 64, refuse_blank=True).shape == (64, 64, 3)


# --------------------------------------------------------------------------- files from phones, cameras and the web


def quadrants(w: int = 64, h: int = 48) -> np.ndarray:
    """Red, green / blue, white quadrants: shows colour, orientation and which picture of a file was read."""
    arr = np.zeros((h, w, 3), np.uint8)
    arr[: h // 2, : w // 2] = (255, 0, 0)
    arr[: h // 2, w // 2 :] = (0, 255, 0)
    arr[h // 2 :, : w // 2] = (0, 0, 255)
    arr[h // 2 :, w // 2 :] = (255, 255, 255)
    return arr


def quadrant_colours(arr: np.ndarray) -> list[tuple[int, ...]]:
    """The colours at the centres of the four quadrants (top-left, top-right, bottom-left, bottom-right)."""
    h, w = arr.shape[:2]
    return [tuple(int(v) for v in arr[y, x]) for y, x in ((h // 4, w // 4), (h // 4, 3 * w // 4),
                                                          (3 * h // 4, w // 4), (3 * h // 4, 3 * w // 4))]


def test_an_mpo_photo_is_decoded_at_reduced_size_like_a_jpeg():
    """Android's Ultra HDR photos and 3D cameras' pictures are MPO: a JPEG with more pictures after the first."""
    from glr.data.images import _decode_pil, draft_side

    photo = Image.fromarray(np.kron(quadrants(), np.ones((10, 10, 1), np.uint8)))  # 640x480
    mpo = encode(photo, "MPO", save_all=True, append_images=[photo.rotate(180)])
    assert Image.open(io.BytesIO(mpo)).format == "MPO"
    jpeg = encode(photo, "JPEG")
    assert _decode_pil(mpo, draft_size=draft_side(64)).size == _decode_pil(jpeg, draft_size=draft_side(64)).size == (80, 60)
    resized = load_resized(mpo, 64)
    assert np.abs(resized.astype(int) - load_resized(jpeg, 64)).max() <= 2
    for got, want in zip(quadrant_colours(resized), [(255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 255)]):
        assert np.abs(np.subtract(got, want)).max() <= 8  # the first picture, not the second


def _header(magic: bytes) -> bytes:
    return magic + bytes(range(256)) * 2


OTHER_FORMATS = {
    "jp2": (lambda: encode(Image.fromarray(quadrants()), "JPEG2000"), "a JPEG 2000 image"),
    "j2k": (lambda: encode(Image.fromarray(quadrants()), "JPEG2000", no_jp2=True), "a JPEG 2000 image"),
    "jxl": (lambda: _header(b"\xff\x0a\xfa\x1f"), "a JPEG XL image"),
    "jxl-container": (lambda: _header(b"\x00\x00\x00\x0cJXL \r\n\x87\n\x00\x00\x00\x14ftypjxl "), "a JPEG XL image"),
    "jxr": (lambda: _header(b"II\xbc\x01"), "a JPEG XR image"),
    "cr3": (lambda: _header(b"\x00\x00\x00\x18ftypcrx \x00\x00\x00\x01crx isom"), "a Canon RAW (CR3) photo"),
}


@pytest.mark.parametrize("case", list(OTHER_FORMATS))
def test_an_image_in_a_format_glr_does_not_read_is_named(tmp_path, case):
    make, what = OTHER_FORMATS[case]
    path = tmp_path / "photo.jpg"
    path.write_bytes(make())
    with pytest.raises(ImageError, match=f"^{re.escape(str(path))}: {re.escape(what)}, a format glr cannot read; "):
        decode_image(path)


def test_a_twelve_bit_jpeg_is_a_kind_glr_cannot_decode_not_a_damaged_file():
    jpeg = bytearray(encode(rgb_image(), "JPEG"))
    sof = jpeg.find(b"\xff\xc0")
    jpeg[sof + 1], jpeg[sof + 4] = 0xC1, 12  # extended sequential, 12 bits a sample: medical and some camera files
    with pytest.raises(ImageError, match=r"^the upload: a kind of JPEG that glr cannot decode \(cannot handle 12-bit "
                                         r"layers\); save it again as an 8-bit JPEG or PNG$"):
        decode_image(bytes(jpeg))


def test_a_bigtiff_decodes_and_a_cut_short_one_is_called_damaged():
    bigtiff = encode(Image.fromarray(quadrants()), "TIFF", big_tiff=True)
    assert bigtiff[:4] == b"II+\x00"
    assert quadrant_colours(decode_image(bigtiff)) == [(255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 255)]
    with pytest.raises(ImageError, match="^the upload: a damaged or truncated TIFF file"):
        decode_image(bigtiff[:20])


def test_file_names_not_in_utf8_or_with_a_newline_give_a_one_line_message_and_a_thumbnail(tmp_path, monkeypatch):
    import os

    from glr import thumbnails

    monkeypatch.setenv("GLR_CACHE_DIR", str(tmp_path / "cache"))
    latin1 = os.fsdecode(os.fsencode(tmp_path) + b"/caf\xe9.jpg")  # a Latin-1 name from an old camera or zip
    newline = str(tmp_path / "two\nlines.jpg")
    for name, shown in ((latin1, "caf\ufffd.jpg"), (newline, "two\\nlines.jpg")):  # as glr.paths.printable
        Path(name).write_bytes(b"not a photo")
        with pytest.raises(ImageError) as caught:
            decode_image(name)
        message = str(caught.value)
        message.encode("utf-8")  # the app and the logs write UTF-8: a surrogate there would crash them
        assert "\n" not in message and message.startswith(f"{tmp_path}/{shown}: not an image")
    good = os.fsdecode(os.fsencode(tmp_path) + b"/tour_\xe9t\xe9.jpg")
    Path(good).write_bytes(encode(rgb_image(), "JPEG"))
    data = thumbnails.thumbnail(good, 32)  # was a UnicodeEncodeError while making the cache key
    assert Image.open(io.BytesIO(data)).size == (32, 32)
    assert thumbnails.thumbnail(good, 32) == data  # and read back from the cache


def test_a_file_name_too_long_for_the_file_system_is_an_image_error(tmp_path):
    from glr.data.browse import thumbnail

    path = tmp_path / ("a" * 300 + ".jpg")  # over the 255 bytes a name may have
    with pytest.raises(ImageError, match=r"cannot be read \(File name too long\)$"):
        decode_image(path)
    assert thumbnail(path) is None  # was an OSError out of the gallery


def _bmp(bits: int, pixels: bytes, width: int, height: int, compression: int = 0, extra: bytes = b"",
         header: int = 40) -> bytes:
    """A BMP file written by hand: Pillow writes neither RLE, nor top-down rows, nor alpha bitfields."""
    import struct

    info = struct.pack("<IiiHHIIiiII", header, width, height, 1, bits, compression, len(pixels), 2835, 2835,
                       len(extra) // 4 if bits <= 8 else 0, 0)
    info = (info + (extra if bits > 8 else b"")).ljust(header, b"\0")
    palette = extra if bits <= 8 else b""
    offset = 14 + len(info) + len(palette)
    return b"BM" + struct.pack("<IHHI", offset + len(pixels), 0, 0, offset) + info + palette + pixels


def _variants() -> dict:
    """Files that phones, cameras, scanners and web tools write, each holding the quadrants (or noted otherwise)."""
    import struct

    from PIL import ImageCms

    photo = Image.fromarray(quadrants())
    inverse = Image.fromarray(255 - quadrants())
    transparent_top = np.dstack([quadrants(), np.full((48, 64), 255, np.uint8)])
    transparent_top[:24, :, 3] = 0
    rotated = Image.Exif()
    rotated[0x0112] = 6
    gif = encode(photo.quantize(4), "GIF")  # its palette moved from the file's header to the picture (a local one)
    flags, table = gif[10], 3 * 2 ** ((gif[10] & 7) + 1)
    rest = gif[13 + table:]
    at = rest.find(b"\x2c")
    local_palette = (gif[:10] + bytes([flags & 0x70]) + gif[11:13] + rest[:at] + rest[at:at + 9]
                     + bytes([0x80 | (flags & 7)]) + gif[13:13 + table] + rest[at + 10:])
    red_blue = struct.pack("<4B4B", 0, 0, 255, 0, 255, 0, 0, 0)  # BMP palette: 0 red, 1 blue (BGRX)
    long_exif = b"Exif\0\0II*\0\x08\0\0\0\x01\0\x12\x01\x04\0\x01\0\0\0\x06\0\0\0\0\0\0\0"  # orientation as a LONG
    return {
        "apng": (encode(photo, "PNG", save_all=True, append_images=[inverse]), "quadrants"),
        "animated-webp-with-alpha": (encode(Image.fromarray(transparent_top), "WEBP", save_all=True,
                                            append_images=[inverse.convert("RGBA")], lossless=True), "white top"),
        "lossless-webp-with-alpha": (encode(Image.fromarray(transparent_top), "WEBP", lossless=True), "white top"),
        "avif-with-alpha": (encode(Image.fromarray(transparent_top), "AVIF", quality=95), "white top"),
        "multi-page-tiff": (encode(photo, "TIFF", save_all=True, append_images=[inverse]), "quadrants"),
        "tiff-jpeg": (encode(photo, "TIFF", compression="jpeg"), "quadrants"),
        "tiff-lzw": (encode(photo, "TIFF", compression="tiff_lzw"), "quadrants"),
        "tiff-zip": (encode(photo, "TIFF", compression="tiff_adobe_deflate"), "quadrants"),
        "tiff-lab": (encode(ImageCms.applyTransform(photo, ImageCms.buildTransform(
            ImageCms.createProfile("sRGB"), ImageCms.createProfile("LAB"), "RGB", "LAB")), "TIFF"), "quadrants"),
        "png-holding-a-jpeg": (encode(photo, "JPEG", quality=95), "quadrants"),
        "gif-with-a-local-palette-only": (local_palette, "quadrants"),
        "exif-orientation-as-long": (encode(photo, "JPEG", quality=95, exif=long_exif), "turned"),
        "malformed-exif": (encode(photo, "JPEG", quality=95, exif=b"Exif\0\0II*\0\xff\xff\xff\0"), "quadrants"),
        "tiff-orientation-tag": (encode(photo, "TIFF", exif=rotated), "turned"),
        "png-exif-orientation": (encode(photo, "PNG", exif=rotated), "turned"),
        "avif-exif-orientation": (encode(photo, "AVIF", quality=95, exif=rotated), "turned"),
        "bmp-rle8": (_bmp(8, bytes([4, 1, 0, 0, 4, 0, 0, 1]), 4, 2, 1, red_blue), "red over blue"),
        "bmp-rle4": (_bmp(4, bytes([4, 0x11, 0, 0, 4, 0x00, 0, 1]), 4, 2, 2, red_blue), "red over blue"),
        "bmp-top-down": (_bmp(24, bytes([0, 0, 255] * 4 + [255, 0, 0] * 4), 4, -2), "red over blue"),
        "bmp-32-bit-alpha": (_bmp(32, bytes([255, 0, 0, 255] * 4 + [0, 0, 255, 0] * 4), 4, 2, 3,
                                  struct.pack("<4I", 0xFF0000, 0xFF00, 0xFF, 0xFF000000), header=108), "white over blue"),
        # Tried on 5 December and decoded right already; held here.
        "progressive-jpeg": (encode(photo, "JPEG", quality=95, progressive=True), "quadrants"),
        "jpeg-restart-markers": (encode(photo, "JPEG", quality=95, restart_marker_blocks=1), "quadrants"),
        "jpeg-with-bytes-after-its-end": (encode(photo, "JPEG", quality=95) + b"\0garbage" * 50, "quadrants"),
        "jpeg-orientation-0": (encode(photo, "JPEG", quality=95, exif=_orientation(0)), "quadrants"),
        "jpeg-orientation-65535": (encode(photo, "JPEG", quality=95, exif=_orientation(65535)), "quadrants"),
        "png-48-bit": (_png16(quadrants().astype(np.uint16) * 257, 2), "quadrants"),
        "png-64-bit-rgba": (_png16(np.dstack([quadrants().astype(np.uint16) * 257, np.full((48, 64), 65535, np.uint16)]), 6),
                            "quadrants"),
        "png-2-bit-palette": (encode(photo.quantize(4), "PNG", bits=2), "quadrants"),
        "gif-interlaced": (encode(photo.quantize(4), "GIF", interlace=True), "quadrants"),
        "tiff-cmyk-jpeg": (encode(photo.convert("CMYK"), "TIFF", compression="jpeg"), "quadrants"),
    }


def _orientation(value: int) -> Image.Exif:
    exif = Image.Exif()
    exif[0x0112] = value
    return exif


def _png16(pixels: np.ndarray, colour_type: int) -> bytes:
    """A 16-bit PNG written by hand (Pillow writes 16 bits for grey only): colour type 2 RGB, 6 RGBA."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    height, width = pixels.shape[:2]
    rows = b"".join(b"\0" + row.astype(">u2").tobytes() for row in pixels)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 16, colour_type, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


VARIANTS = _variants()
EXPECTED = {
    "quadrants": [(255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 255)],
    "white top": [(255, 255, 255), (255, 255, 255), (0, 0, 255), (255, 255, 255)],
    "turned": [(0, 0, 255), (255, 0, 0), (255, 255, 255), (0, 255, 0)],  # orientation 6: a quarter turn clockwise
    "red over blue": [(255, 0, 0), (255, 0, 0), (0, 0, 255), (0, 0, 255)],
    "white over blue": [(255, 255, 255), (255, 255, 255), (0, 0, 255), (0, 0, 255)],
}


@pytest.mark.parametrize("case", list(VARIANTS))
def test_phone_camera_and_web_variants_decode_to_the_right_pixels(tmp_path, case):
    data, expected = VARIANTS[case]
    path = tmp_path / ("photo.png" if case == "png-holding-a-jpeg" else "photo")  # the bytes decide, not the name
    path.write_bytes(data)
    out = decode_image(path)
    if expected == "turned":
        assert out.shape == (64, 48, 3)
    for got, want in zip(quadrant_colours(out), EXPECTED[expected]):
        assert np.abs(np.subtract(got, want)).max() <= (25 if case == "tiff-lab" else 6), (got, want)  # 8-bit Lab
    assert load_resized(data, 32).shape == (32, 32, 3)


def _jpeg_of_many_scans(side: int, scans: int) -> bytes:
    """A grey progressive JPEG whose AC scans each code the whole picture as one run of empty blocks: a few
    bytes a scan, yet each is decoded over every block."""
    import struct

    def segment(marker: int, payload: bytes) -> bytes:
        return bytes([0xFF, marker]) + struct.pack(">H", len(payload) + 2) + payload

    def stuffed(bits: str) -> bytes:  # entropy-coded bytes: padded with 1s, each 0xFF followed by 0x00
        bits += "1" * (-len(bits) % 8)
        return b"".join(b"\xff\x00" if b == 255 else bytes([b]) for b in (int(bits[i:i + 8], 2) for i in range(0, len(bits), 8)))

    blocks = ((side + 7) // 8) ** 2  # at least 16384 (side 1024): the one AC symbol is EOB14
    k = -(-blocks // 32767)
    runs = [blocks // k + (i < blocks % k) for i in range(k)]  # runs of 16384..32767 blocks: code "0", then 14 bits
    ac_scan = segment(0xDA, bytes([1, 1, 0, 1, 63, 0])) + stuffed("".join("0" + format(r - 16384, "014b") for r in runs))
    return (b"\xff\xd8" + segment(0xDB, b"\x00" + bytes([1] * 64))
            + segment(0xC2, struct.pack(">BHHB", 8, side, side, 1) + bytes([1, 0x11, 0]))
            + segment(0xC4, b"\x00" + bytes([1] + [0] * 15) + b"\x00") + segment(0xC4, b"\x10" + bytes([1] + [0] * 15) + b"\xe0")
            + segment(0xDA, bytes([1, 1, 0, 0, 0, 0])) + stuffed("0" * blocks) + ac_scan * scans + b"\xff\xd9")


def test_a_jpeg_of_thousands_of_scans_is_refused_before_decoding_and_a_progressive_photo_decodes():
    # 30,000 such scans of a 4000 px square (a 1 MB file) took 77 s to decode; a larger square takes longer still.
    import time

    few = _jpeg_of_many_scans(1024, 20)
    assert decode_image(few).shape == (1024, 1024, 3)  # the same file with 21 scans is a picture
    start = time.perf_counter()
    with pytest.raises(ImageError, match="a JPEG of 2,001 scans, each decoded over the whole picture .*decompression bomb"):
        load_resized(_jpeg_of_many_scans(2048, 2000), 224)
    assert time.perf_counter() - start < 0.5
    assert decode_image(encode(rgb_image(), "JPEG", progressive=True, quality=95))[0, 0, 0] > 240


@pytest.mark.parametrize("name", ["arithmetic.jpg", "arithmetic-progressive.jpg"])
def test_an_arithmetic_coded_jpeg_decodes(name):
    # Rare (patents kept encoders off it), but libjpeg-turbo reads it: held here so a Pillow build without it shows.
    out = decode_image(Path(__file__).parent / "fixtures" / name)
    for got, want in zip(quadrant_colours(out), [(255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 255)]):
        assert np.abs(np.subtract(got, want)).max() <= 6, (got, want)


def test_a_ycck_jpeg_as_photoshop_saves_cmyk_keeps_its_colours():
    # Photoshop writes CMYK JPEGs as YCCK (Adobe marker, transform 2); Pillow writes plain CMYK, so the YCCK
    # file is made by storing the YCC of the inverted CMY (what the decoder undoes) and setting the flag.
    cmyk = np.zeros((16, 16, 4), np.uint8)
    cmyk[:8, :8], cmyk[:8, 8:], cmyk[8:, :8], cmyk[8:, 8:] = (0, 128, 255, 30), (255, 0, 255, 0), (255, 255, 0, 0), (40, 90, 10, 60)
    rgb = 255 - cmyk[..., :3].astype(float)
    ycc = rgb @ np.array([[0.299, -0.168736, 0.5], [0.587, -0.331264, -0.418688], [0.114, 0.5, -0.081312]]) + (0, 128, 128)
    stored = np.dstack([np.clip(np.round(ycc), 0, 255), cmyk[..., 3]]).astype(np.uint8)
    data = bytearray(encode(Image.fromarray(stored, "CMYK"), "JPEG", quality=100, subsampling=0))
    flag = data.find(b"Adobe") + 11
    assert data[flag] == 0
    plain = decode_image(encode(Image.fromarray(cmyk, "CMYK"), "JPEG", quality=100, subsampling=0))
    data[flag] = 2
    assert np.abs(quadrant_array(decode_image(bytes(data))) - quadrant_array(plain)).max() <= 4


def quadrant_array(arr: np.ndarray) -> np.ndarray:
    """`quadrant_colours` as a signed array, for differences."""
    return np.array(quadrant_colours(arr), dtype=int)


def test_a_heic_or_avif_photo_without_its_decoder_installed_says_what_to_install(monkeypatch):
    # Without pi-heif glr did not start (an ImportError); a Pillow built without libavif called a good AVIF damaged.
    from PIL import AvifImagePlugin

    monkeypatch.delitem(Image.OPEN, "HEIF")
    with pytest.raises(ImageError, match=r"photo.heic: a HEIC photo, and this installation has no HEIC decoder; "
                                         r"install glr's requirements \(pip install -r requirements.txt"):
        decode_image(Path(__file__).parent / "fixtures" / "photo.heic")
    avif = encode(rgb_image(), "AVIF", quality=90)
    monkeypatch.setattr(AvifImagePlugin, "SUPPORTED", False)
    with pytest.raises(ImageError, match="an AVIF photo, and this installation has no AVIF decoder"):
        decode_image(avif)


@pytest.mark.parametrize("orientation", [1, 3, 6, 8, 9])
def test_image_size_is_the_size_the_photo_is_shown_at(tmp_path, orientation):
    # A phone's portrait photo is landscape pixels turned by EXIF (6 or 8): the Dataset page's size statistics
    # called it 60 x 40 while every other part of glr (and the model) sees it 40 x 60.
    exif = Image.Exif()
    exif[0x0112] = orientation
    path = tmp_path / "phone.jpg"
    Image.new("RGB", (60, 40), (200, 30, 30)).save(path, exif=exif)
    height, width = decode_image(path).shape[:2]
    assert image_size(path) == (width, height) == ((40, 60) if orientation in (6, 8) else (60, 40))


@pytest.mark.parametrize("orientation", [1, 3, 5, 6, 8])
@pytest.mark.parametrize("compression", [None, "tiff_lzw"])
def test_a_turned_tiffs_size_is_the_size_it_is_shown_at(tmp_path, orientation, compression):
    # Pillow reports a TIFF's size already turned by its orientation tag: turned again, a portrait TIFF was landscape.
    exif = Image.Exif()
    exif[0x0112] = orientation
    path = tmp_path / "scan.tif"
    Image.new("RGB", (60, 40), (200, 30, 30)).save(path, exif=exif, compression=compression)
    height, width = decode_image(path).shape[:2]
    assert image_size(path) == (width, height) == ((40, 60) if orientation in (5, 6, 8) else (60, 40))


def test_a_link_whose_photo_is_gone_says_where_it_pointed(tmp_path):
    # Was "file not found" for a file the user sees listed in its folder.
    link = tmp_path / "tower.jpg"
    link.symlink_to(tmp_path / "old" / "tower.jpg")
    with pytest.raises(ImageError, match=re.escape(f"tower.jpg: a link to {tmp_path / 'old' / 'tower.jpg'}, which is "
                                                   "not there (moved, deleted, or on a drive not mounted?)")):
        decode_image(link)
    with pytest.raises(ImageError, match="file not found"):
        decode_image(tmp_path / "none.jpg")


def test_a_tiff_that_leads_with_a_small_preview_gives_the_photo_not_the_preview():
    # Scanner and camera software write a reduced-resolution preview as a TIFF's first page: that 1x1 (or 160x120)
    # preview was taken for the photo, and refused as "a blank photo" or predicted from a few pixels.
    photo = Image.fromarray(quadrants(64, 48))
    preview = photo.resize((8, 6))
    data = encode(preview, "TIFF", save_all=True, append_images=[photo, photo.resize((32, 24))])
    assert np.array_equal(decode_image(data), np.asarray(photo))
    assert load_resized(data, 48, refuse_blank=True).shape == (48, 48, 3)
    # Pages of one size (a scanned document) keep the first, as before.
    assert np.array_equal(decode_image(encode(photo, "TIFF", save_all=True, append_images=[photo.rotate(180)])),
                          np.asarray(photo))


def test_a_web_address_given_as_a_photo_says_so():
    # `glr predict RUN https://.../Tower.jpg`: was "https:/.../Tower.jpg: file not found".
    url = "https://upload.wikimedia.org/wikipedia/commons/a/a8/Tower.jpg"
    with pytest.raises(ImageError, match=re.escape(f"{url}: is a web address, not a file on this computer; download the photo first")):
        decode_image(url)


def _lossless_jpeg(pixels: np.ndarray, precision: int = 8) -> bytes:
    """A lossless JPEG (SOF3, predictor 1: the sample to the left), written by hand: Pillow cannot write one."""
    import struct

    def segment(marker: int, payload: bytes) -> bytes:
        return bytes([0xFF, marker]) + struct.pack(">H", len(payload) + 2) + payload

    arr = (pixels if pixels.ndim == 3 else pixels[..., None]).astype(np.int64)
    height, width, bands = arr.shape
    # One Huffman table: each difference category (0..16) coded in 5 bits, then the difference's own bits.
    huffman = segment(0xC4, b"\x00" + bytes([0, 0, 0, 0, 17] + [0] * 11) + bytes(range(17)))
    frame = segment(0xC3, struct.pack(">BHHB", precision, height, width, bands)
                    + b"".join(bytes([b + 1, 0x11, 0]) for b in range(bands)))
    scan = segment(0xDA, bytes([bands]) + b"".join(bytes([b + 1, 0]) for b in range(bands)) + bytes([1, 0, 0]))
    left = np.concatenate([arr[:, :1] * 0, arr[:, :-1]], axis=1)  # predictor 1; the first column uses the one above
    left[1:, 0], left[0, 0] = arr[:-1, 0], 1 << (precision - 1)
    bits = []
    for diff in (arr - left).reshape(-1).tolist():
        diff = (diff + 32768) % 65536 - 32768
        size = abs(diff).bit_length()
        bits.append(format(size, "05b") + (format(diff if diff > 0 else diff + (1 << size) - 1, f"0{size}b") if size else ""))
    stream = "".join(bits)
    stream += "1" * (-len(stream) % 8)
    coded = b"".join(b"\xff\x00" if b == 255 else bytes([b]) for b in (int(stream[i:i + 8], 2) for i in range(0, len(stream), 8)))
    return b"\xff\xd8" + frame + huffman + scan + coded + b"\xff\xd9"


def test_a_lossless_jpeg_decodes_and_a_twelve_or_sixteen_bit_one_is_a_kind_glr_cannot_decode():
    # Tried in session 27 and already right (libjpeg-turbo 3 reads lossless JPEG): held here so a Pillow built on an
    # older libjpeg shows. Medical and some raw-converter files are lossless JPEGs of 12 or 16 bits.
    assert np.array_equal(decode_image(_lossless_jpeg(quadrants())), quadrants())
    grey = quadrants()[..., 1]
    assert np.array_equal(decode_image(_lossless_jpeg(grey))[..., 0], grey)
    for bits, scale in ((12, 16), (16, 257)):
        with pytest.raises(ImageError, match=f"^the upload: a kind of JPEG that glr cannot decode \\(cannot handle {bits}-bit"):
            decode_image(_lossless_jpeg(grey.astype(np.uint16) * scale, bits))


def _apng_with_a_default_image(default: Image.Image, frames: list[Image.Image], **kw) -> bytes:
    """An APNG whose default image (for viewers without APNG) is not one of its frames."""
    return encode(default, "PNG", save_all=True, append_images=frames, default_image=True, duration=1000, **kw)


def test_an_apng_whose_default_image_is_not_a_frame_gives_its_first_frame_as_browsers_show_it():
    # Measured in Chromium 156: a red default image and green, blue frames show green. glr gave red.
    red, green, blue = (Image.new("RGB", (40, 30), c) for c in ((255, 0, 0), (0, 255, 0), (0, 0, 255)))
    data = _apng_with_a_default_image(red, [green, blue])
    assert tuple(decode_image(data)[0, 0]) == (0, 255, 0)
    assert tuple(load_resized(data, 16)[0, 0]) == (0, 255, 0)
    # Its first frame see-through, blended OVER: drawn on a cleared canvas (white here), not over the red default image.
    clear = Image.new("RGBA", (40, 30), (0, 255, 0, 0))
    data = _apng_with_a_default_image(red.convert("RGBA"), [clear, blue.convert("RGBA")], blend=1)
    assert tuple(decode_image(data)[0, 0]) == (255, 255, 255)
    # An APNG whose default image is its first frame is unchanged.
    assert tuple(decode_image(encode(red, "PNG", save_all=True, append_images=[green]))[0, 0]) == (255, 0, 0)


def test_a_file_larger_than_any_photo_is_refused_unread(tmp_path, monkeypatch):
    # A 3 GB file named huge.jpg was read whole (3.3 GB of RAM) by `predict` and `inspect` before it was found to be
    # no photo, or decoded when it began as a JPEG; a larger one ran the machine out of memory.
    from glr.data import images

    huge = tmp_path / "huge.jpg"
    with open(huge, "wb") as file:  # sparse: no disk used, no bytes written but the JPEG's start
        file.write(encode(Image.new("RGB", (8, 8)), "JPEG"))
        file.truncate(images.MAX_FILE_BYTES + 1)
    monkeypatch.setattr(Path, "read_bytes", lambda self: pytest.fail(f"{self} was read"))
    with pytest.raises(ImageError, match=re.escape(f"{huge}: 500 MB, larger than any photo (glr reads files of up to "
                                                   "500 MB): not read")):
        decode_image(huge)
    junk = tmp_path / "junk.jpg"  # no image's header: `inspect` read it whole to look for a PNG's short chunks
    with open(junk, "wb") as file:
        file.truncate(images.MAX_FILE_BYTES + 1)
    assert image_size(junk) is None and image_size(huge) == (8, 8)  # a header alone is read
    with open(huge, "r+b") as file:  # at the limit it is read
        file.truncate(images.MAX_FILE_BYTES)
    monkeypatch.undo()
    assert images.larger_than_a_photo(huge.stat().st_size) is None

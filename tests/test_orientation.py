"""Which way up a photo is shown: its EXIF orientation applied however damaged the rest of its EXIF block is."""

from __future__ import annotations

import io
import struct

import numpy as np
import pytest
from PIL import Image

from glr.data.images import decode_image, image_size, load_resized
from glr.data.orientation import ORIENTATION, orientation, upright
from test_images import quadrant_colours, quadrants

# The quadrants (red, green / blue, white) as shown after a quarter turn clockwise (orientation 6).
TURNED = [(0, 0, 255), (255, 0, 0), (255, 255, 255), (0, 255, 0)]


def _exif(*entries: tuple[int, int, int, bytes]) -> bytes:
    """An EXIF block (little-endian) of one IFD holding `entries` (tag, type, count, value of at most 4 bytes),
    written by hand: Pillow writes each tag with the type it expects, and cameras and editors do not always."""
    ifd = struct.pack("<H", len(entries)) + b"".join(
        struct.pack("<HHI", tag, kind, count) + value.ljust(4, b"\0") for tag, kind, count, value in entries)
    return b"Exif\0\0II*\0\x08\0\0\0" + ifd + b"\0\0\0\0"


TURN = (ORIENTATION, 3, 1, struct.pack("<H", 6))  # SHORT 6: turn a quarter clockwise to show
# Tags whose stored type is not the one Pillow writes them as: Pillow's exif_transpose re-writes the whole block to
# drop the orientation tag, and failed on each (Pillow issues #4037, #4665, #6492, #6882, #7839 are real photos').
DAMAGED = {
    "make-stored-as-a-rational": (0x010F, 5, 1, b"\0\0\0\0"),  # its 8 bytes at offset 0: the header, read as a number
    "x-resolution-stored-as-text": (0x011A, 2, 3, b"72\0"),
    "resolution-unit-stored-as-text": (0x0128, 2, 2, b"2\0"),
    "xmp-stored-as-a-short-over-255": (0x02BC, 3, 1, struct.pack("<H", 300)),
    "software-stored-as-a-float": (0x0131, 11, 1, struct.pack("<f", 1.5)),
}


def _jpeg(exif: bytes) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(quadrants()).save(buffer, format="JPEG", quality=95, exif=exif)
    return buffer.getvalue()


@pytest.mark.parametrize("case", list(DAMAGED))
def test_a_photo_whose_exif_block_is_damaged_is_turned_and_decoded_not_refused_or_a_crash(tmp_path, case):
    # Each was a TypeError, AttributeError or "image is corrupt and cannot be decoded" out of every entry point
    # (training's check and its tf.data pipeline, glr predict, the Predict page), for a photo any browser shows.
    from glr.data.pipeline import _decode_or_blank
    from glr.data.uploads import named_upload

    path = tmp_path / "phone.jpg"
    path.write_bytes(_jpeg(_exif(TURN, DAMAGED[case])))
    for out in (decode_image(path), decode_image(named_upload("phone.jpg", path.read_bytes()))):
        assert out.shape == (64, 48, 3)
        assert all(np.abs(np.subtract(got, want)).max() <= 6 for got, want in zip(quadrant_colours(out), TURNED))
    assert image_size(path) == (48, 64)
    (pixels,), ok = _decode_or_blank(str(path).encode(), 40, np.array([[0, 0, 0]]), 40)  # one view: the whole square
    assert ok and quadrant_colours(pixels)[0][2] > 200  # the blue quadrant is at the top left: turned
    assert np.array_equal(pixels, load_resized(path, 40))


@pytest.mark.parametrize("value, turns", [(1, False), (2, False), (3, False), (4, False), (5, True), (6, True),
                                          (7, True), (8, True), (0, False), (9, False), (65535, False)])
def test_upright_turns_as_pillows_exif_transpose_and_leaves_a_bogus_orientation_alone(value, turns):
    from PIL import ImageOps

    exif = Image.Exif()
    exif[ORIENTATION] = value
    with Image.open(io.BytesIO(_jpeg(exif.tobytes()))) as img:
        img.load()
        assert orientation(img) == value
        shown = upright(img)
        assert np.array_equal(np.asarray(shown), np.asarray(ImageOps.exif_transpose(img)))
        assert shown.size == ((48, 64) if turns else (64, 48))
        assert (shown is img) == (value not in range(2, 9))  # nothing to turn: no copy


def test_an_orientation_that_cannot_be_read_is_none():
    img = Image.new("RGB", (4, 2))
    img.info["exif"] = b"Exif\0\0garbage"
    assert orientation(img) == 1 and upright(img) is img


def _chunk(kind: bytes, data: bytes) -> bytes:
    import zlib

    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _turned_6() -> bytes:
    exif = Image.Exif()
    exif[ORIENTATION] = 6
    return exif.tobytes()


_XMP_6 = ('<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
          '<rdf:Description xmlns:tiff="http://ns.adobe.com/tiff/1.0/" tiff:Orientation="6"/></rdf:RDF></x:xmpmeta>')


def _saved(fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(quadrants()).save(buffer, format=fmt, **options)
    return buffer.getvalue()


def _png_exif_after_pixels() -> bytes:
    png = _saved("PNG")
    end = png.rindex(b"IEND") - 4
    return png[:end] + _chunk(b"eXIf", _turned_6()[6:]) + png[end:]


def _png_raw_profile() -> bytes:
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()  # ImageMagick's way before eXIf: the EXIF block as hex in a text chunk
    info.add_text("Raw profile type exif", f"\nexif\n{len(_turned_6()):8d}\n{_turned_6().hex()}\n", zip=True)
    return _saved("PNG", pnginfo=info)


def _png_xmp() -> bytes:
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_itxt("XML:com.adobe.xmp", _XMP_6)
    return _saved("PNG", pnginfo=info)


# Each photo's quadrants as headless Chromium 156 drew them on a canvas (measured): turned by the EXIF orientation of
# a JPEG, of a PNG whose eXIf comes before its pixels and an AVIF's irot (Pillow writes the EXIF orientation as irot);
# shown as stored for a WebP's EXIF, a PNG's eXIf after its pixels, an XMP tiff:Orientation and ImageMagick's raw
# profile text. Firefox ignores a WebP's too; only Safari turns some of the others.
SHOWN = {
    "jpeg-exif": (lambda: _saved("JPEG", quality=95, exif=_turned_6()), True),
    "png-exif-before-its-pixels": (lambda: _saved("PNG", exif=_turned_6()), True),
    "avif-irot": (lambda: _saved("AVIF", quality=95, exif=_turned_6()), True),
    "webp-exif": (lambda: _saved("WEBP", lossless=True, exif=_turned_6()), False),
    "png-exif-after-its-pixels": (_png_exif_after_pixels, False),
    "jpeg-xmp-orientation-only": (lambda: _saved("JPEG", quality=95, xmp=_XMP_6.encode()), False),
    "png-xmp-orientation-only": (_png_xmp, False),
    "png-imagemagick-raw-profile": (_png_raw_profile, False),
}


@pytest.mark.parametrize("case", list(SHOWN))
def test_a_photo_is_turned_where_chromium_turns_it_and_shown_as_stored_where_it_does_not(tmp_path, case):
    # Before, Pillow's getexif found every one of these and glr turned the WebP, the late eXIf, the XMP and the raw
    # profile a quarter: a photo everyone saw upright in the browser was trained on and predicted lying on its side.
    make, turned = SHOWN[case]
    path = tmp_path / "photo"
    path.write_bytes(make())
    decoded = decode_image(path)
    assert decoded.shape[:2] == ((64, 48) if turned else (48, 64))
    want = TURNED if turned else [(255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 255)]
    assert all(np.abs(np.subtract(got, w)).max() <= 8 for got, w in zip(quadrant_colours(decoded), want))
    assert image_size(path) == ((48, 64) if turned else (64, 48))
    assert np.array_equal(load_resized(path, (24, 32) if turned else (32, 24)),
                          np.asarray(Image.fromarray(decoded).resize((24, 32) if turned else (32, 24),
                                                                     Image.Resampling.BILINEAR, reducing_gap=2.0)))


def test_the_shown_size_of_a_png_reads_its_header_not_its_pixels(tmp_path, monkeypatch):
    # Pillow's PNG getexif decodes the whole picture to look for an eXIf after it: image_size (the Dataset page's
    # size statistics) took 485-690 ms for a 12 MP PNG; its header alone takes about 5 ms.
    from PIL import PngImagePlugin

    plain, turned = tmp_path / "plain.png", tmp_path / "turned.png"
    plain.write_bytes(_saved("PNG"))
    turned.write_bytes(_saved("PNG", exif=_turned_6()))

    decoded = []
    load = PngImagePlugin.PngImageFile.load

    def counted(self):
        decoded.append(self.size)
        return load(self)

    monkeypatch.setattr(PngImagePlugin.PngImageFile, "load", counted)
    assert image_size(plain) == (64, 48) and image_size(turned) == (48, 64)
    assert decoded == []

"""glr.data.decode_words: glr's one copy of its words for a photo Pillow cannot open or decode, which the exported
predict.py holds word for word."""

from __future__ import annotations

import inspect
import io

from PIL import Image, UnidentifiedImageError

from glr.data import decode_words, sniff
from glr.errors import ImageError


def test_predict_py_holds_the_rules_as_glr_has_them_and_no_copy_of_its_own():
    from glr.export_script import example_script

    script = example_script("onnx", "onnxruntime")
    for rule in (decode_words.refused, decode_words.decoder_missing, decode_words._other_format,
                 decode_words.refuse_large_icon, decode_words._icon_pixels, decode_words._palette_trns_too_long,
                 decode_words.refuse_costly, sniff.jpeg_scans):
        assert inspect.getsource(rule) in script, rule.__name__
    assert "\ndef damaged(" not in script and script.count("\ndef refused(") == 1
    # The pixel and scan limits were written twice, glr's in images.py and a hand copy in predict.py.
    assert script.count("def jpeg_scans(") == 1 and script.count("pixels is too large (limit {limit") == 1
    assert script.count("scans, each decoded over the whole picture (photos have at") == 1
    assert "DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, IndexError, struct.error, TypeError, " \
           "RuntimeError)" in script


def test_a_format_pillow_knows_and_glr_does_not_read_is_named_and_unknown_bytes_are_not():
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8)).save(buffer, "TGA")  # no magic bytes at its start: named by Pillow's reading of its header
    said = decode_words.refused("a.tga", buffer.getvalue(), UnidentifiedImageError())
    assert str(said) == ("a.tga: a TGA image, a format glr cannot read; save it again as JPEG or PNG (glr reads JPEG, PNG, "
                         "WebP, HEIC, AVIF, GIF, BMP, TIFF or ICO)")
    said = decode_words.refused("b.jpg", bytes(range(256)) * 4, UnidentifiedImageError())
    assert str(said).startswith("b.jpg: not an image, or a format glr cannot read (use JPEG")


def test_a_trns_too_short_is_left_to_the_caller_to_mend_and_any_other_error_is_said():
    assert decode_words.refused("a.png", b"\x89PNG", ValueError(decode_words.SHORT_TRNS)) is None
    said = decode_words.refused("a.png", b"\x89PNG\r\n\x1a\n", OSError("image file is truncated (5 bytes not processed)"))
    assert isinstance(said, ImageError) and str(said) == "a.png: image file is truncated (incomplete download or copy?)"
    said = decode_words.refused("a.avif", b"", RuntimeError("Failed to decode frame 0"))
    assert str(said) == "a.avif: image is corrupt and cannot be decoded (Failed to decode frame 0)"


def test_refuse_costly_takes_its_limits_from_the_caller():
    # glr passes images' limits (tests patch them there), predict.py the ones written into it.
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48)).save(buffer, "JPEG", progressive=True)
    data = buffer.getvalue()
    with Image.open(io.BytesIO(data)) as img:
        decode_words.refuse_costly(img, img.size, "a.jpg", data, 64 * 48, 1, 100)  # full size: max_pixels alone
        img.draft("RGB", (16, 12))  # read at reduced size: its full size is held to max_jpeg_pixels
        assert img.size != (64, 48)
        try:
            decode_words.refuse_costly(img, (64, 48), "a.jpg", data, 10**9, 1000, 100)
        except ImageError as exc:
            assert str(exc) == ("a.jpg: 64x48 pixels is too large (limit 0.001 megapixels); possibly a decompression "
                                "bomb")
        else:
            raise AssertionError("not refused")
        scans = sniff.jpeg_scans(data)
        decode_words.refuse_costly(img, (64, 48), "a.jpg", data, 10**9, 10**9, scans)
        try:
            decode_words.refuse_costly(img, (64, 48), "a.jpg", data, 10**9, 10**9, scans - 1)
        except ImageError as exc:
            assert str(exc).startswith(f"a.jpg: a JPEG of {scans:,} scans, each decoded over the whole picture")
        else:
            raise AssertionError("not refused")

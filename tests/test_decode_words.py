"""glr.data.decode_words: glr's one copy of its words for a photo Pillow cannot open or decode, which the exported
predict.py holds word for word."""

from __future__ import annotations

import inspect
import io

from PIL import Image, UnidentifiedImageError

from glr.data import decode_words
from glr.errors import ImageError


def test_predict_py_holds_the_rules_as_glr_has_them_and_no_copy_of_its_own():
    from glr.export_script import example_script

    script = example_script("onnx", "onnxruntime")
    for rule in (decode_words.refused, decode_words.decoder_missing, decode_words._other_format,
                 decode_words.refuse_large_icon, decode_words._icon_pixels, decode_words._palette_trns_too_long):
        assert inspect.getsource(rule) in script, rule.__name__
    assert "\ndef damaged(" not in script and script.count("\ndef refused(") == 1
    assert "DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, IndexError, struct.error, TypeError, " \
           "RuntimeError)" in script


def test_a_format_pillow_knows_and_glr_does_not_read_is_named_and_unknown_bytes_are_not():
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8)).save(buffer, "TGA")  # no magic bytes at its start: named by Pillow's reading of its header
    said = decode_words.refused("a.tga", buffer.getvalue(), UnidentifiedImageError())
    assert str(said) == ("a.tga: a TGA image, a format glr cannot read; save it again as JPEG or PNG (glr reads JPEG, PNG, "
                         "WebP, HEIC, AVIF, GIF, BMP or TIFF)")
    said = decode_words.refused("b.jpg", bytes(range(256)) * 4, UnidentifiedImageError())
    assert str(said).startswith("b.jpg: not an image, or a format glr cannot read (use JPEG")


def test_a_trns_too_short_is_left_to_the_caller_to_mend_and_any_other_error_is_said():
    assert decode_words.refused("a.png", b"\x89PNG", ValueError(decode_words.SHORT_TRNS)) is None
    said = decode_words.refused("a.png", b"\x89PNG\r\n\x1a\n", OSError("image file is truncated (5 bytes not processed)"))
    assert isinstance(said, ImageError) and str(said) == "a.png: image file is truncated (incomplete download or copy?)"
    said = decode_words.refused("a.avif", b"", RuntimeError("Failed to decode frame 0"))
    assert str(said) == "a.avif: image is corrupt and cannot be decoded (Failed to decode frame 0)"

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


def _chunk(kind: bytes, data: bytes) -> bytes:
    import struct
    import zlib

    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _png(*chunks: bytes, pixels: bytes = b"\0\0\0\0\0") -> bytes:
    """A 4x1 grey PNG whose pixels are stored uncompressed (so their bytes show in the file), with `chunks` spliced
    in: those before the marker b"|" go before the IDAT, the rest after it."""
    import struct
    import zlib

    at = chunks.index(b"|") if b"|" in chunks else len(chunks)
    head = _chunk(b"IHDR", struct.pack(">IIBBBBB", 4, 1, 8, 0, 0, 0, 0))
    return (b"\x89PNG\r\n\x1a\n" + head + b"".join(chunks[:at]) + _chunk(b"IDAT", zlib.compress(pixels, 0))
            + b"".join(chunks[at + 1:]) + _chunk(b"IEND", b""))


def test_the_bytes_exif_inside_a_pngs_pixels_or_text_are_not_taken_for_an_exif_chunk():
    # Before, a search of the whole file for b"eXIf" answered yes for both (and glr copied the photo to take out a
    # chunk it did not have); walking the chunks, as Pillow does, it finds none.
    in_pixels = _png(pixels=b"\0eXIf")
    assert b"eXIf" in in_pixels and Image.open(io.BytesIO(in_pixels)).getexif() == {}
    in_text = _png(_chunk(b"tEXt", b"Comment\0eXIf"))
    for data in (in_pixels, in_text, _png(b"|", _chunk(b"tEXt", b"Comment\0eXIf"))):
        assert not decode_words._exif_after_pixels(data)
        assert decode_words.mended_png(data) == data


def test_an_exif_chunk_counts_only_after_the_pixels_and_only_where_none_came_before():
    exif = _chunk(b"eXIf", b"MM\0*\0\0\0\x08\0\0")
    assert decode_words._exif_after_pixels(_png(b"|", exif))
    assert decode_words._exif_after_pixels(_png(b"|", _chunk(b"tEXt", b"a\0b"), exif))
    assert not decode_words._exif_after_pixels(_png(exif))
    assert not decode_words._exif_after_pixels(_png(exif, b"|", exif))
    assert not decode_words._exif_after_pixels(_png(b"|", exif)[:40])  # cut in its pixels: no chunk after them
    assert not decode_words._exif_after_pixels(b"GIF89a" + exif)
    assert b"eXIf" not in decode_words.mended_png(_png(b"|", exif))


def test_a_png_of_more_chunks_than_the_walk_takes_is_searched_past_them():
    # 100,000 empty chunks are walked (tens of ms); the bytes after them are searched, as the whole file once was.
    exif = _chunk(b"eXIf", b"MM\0*\0\0\0\x08\0\0")
    many = _chunk(b"IDAT", b"") * 100_000
    assert decode_words._exif_after_pixels(_png(b"|", many, exif))
    assert not decode_words._exif_after_pixels(_png(b"|", many))

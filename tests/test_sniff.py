"""glr.data.sniff: a file's kind from its first bytes (decoding itself is tests/test_images.py's)."""

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from glr.data.sniff import looks_like, refuse_known_non_images
from glr.errors import ImageError


@pytest.mark.parametrize("head, fmt", [
    (b"\xff\xd8\xff\xe0", "JPEG"), (b"\x89PNG\r\n\x1a\n", "PNG"), (b"RIFF\0\0\0\0WEBPVP8 ", "WebP"),
    (b"\0\0\0\x18ftypheic\0\0\0\0mif1heic", "HEIC"), (b"\0\0\0\x18ftypavif\0\0\0\0mif1avif", "AVIF"),
    (b"II*\0", "TIFF"), (b"hello", None),
])
def test_looks_like_names_the_allowed_format_a_file_starts_as(head, fmt):
    assert looks_like(head) == fmt


@pytest.mark.parametrize("head, what", [
    (b"%PDF-1.7", "a PDF document"), (b"\xef\xbb\xbf <!DOCTYPE html>", "an HTML page"),
    (b"\0\0\0\x18ftypisom\0\0\0\0isomavc1", "a video"), (b"\xff\x0a", "JPEG XL"),
])
def test_files_that_are_not_photos_glr_reads_are_named(head, what):
    with pytest.raises(ImageError, match=f"x.jpg: .*{what}"):
        refuse_known_non_images(head, "x.jpg")
    refuse_known_non_images(b"\xff\xd8\xff\xe0", "x.jpg")  # a JPEG passes


def test_the_scans_of_a_jpeg_are_counted_in_its_picture_only():
    import io

    import numpy as np
    from PIL import Image

    from glr.data.images import decode_image
    from glr.data.sniff import jpeg_scans
    from test_images import _jpeg_of_many_scans

    rng = np.random.default_rng(0)
    photo = Image.fromarray(rng.integers(0, 255, (48, 64, 3), np.uint8))
    baseline, progressive = io.BytesIO(), io.BytesIO()
    photo.save(baseline, "JPEG")
    photo.save(progressive, "JPEG", progressive=True)
    assert jpeg_scans(baseline.getvalue()) == 1
    assert jpeg_scans(progressive.getvalue()) == progressive.getvalue().count(b"\xff\xda") > 1
    assert jpeg_scans(_jpeg_of_many_scans(1024, 2000)) == 2001
    # A motion photo: the picture, then a video of some MB (random bytes hold an FF DA every 64 kB or so).
    trailer = rng.integers(0, 256, 8 * 2**20, np.uint8).tobytes()
    motion = baseline.getvalue() + trailer
    assert trailer.count(b"\xff\xda") > 100 and jpeg_scans(motion) == 1
    assert decode_image(motion).shape == (48, 64, 3)  # refused as "a JPEG of 120 scans" before
    # An APP segment (an EXIF thumbnail, maker notes) is skipped by its length, whatever bytes it holds.
    app = b"\xff\xda" * 300
    with_app = b"\xff\xd8\xff\xe1" + (len(app) + 2).to_bytes(2, "big") + app + baseline.getvalue()[2:]
    assert jpeg_scans(with_app) == 1 and decode_image(with_app).shape == (48, 64, 3)


@pytest.mark.parametrize("content, message", [
    (b"version https://git-lfs.github.com/spec/v1\noid sha256:4d7a2146\nsize 48213\n",
     "a Git LFS pointer, not the photo (the repository was cloned without its LFS files); run `git lfs pull` in it"),
    (b"/annex/objects/SHA256E-s48213--4d7a2146.jpg\n", "a git-annex link whose photo is not here; run `git annex get` on it"),
])
def test_a_version_control_placeholder_is_named_with_what_to_run(content, message):
    # Was "not an image, or a format glr cannot read": nothing said the photos were never downloaded.
    with pytest.raises(ImageError, match=re.escape(f"photo.jpg: {message}")):
        refuse_known_non_images(content, "photo.jpg")


@pytest.mark.parametrize("body, line", [
    (b"403 Forbidden\n", "403 Forbidden"),
    (b"\r\n  Access Denied: you do not have permission\r\n", "Access Denied: you do not have permission"),
    ("Fehler 404 – Seite nicht gefunden".encode() * 30, "Fehler 404 – Seite nicht gefunden" * 2),
])
def test_plain_text_named_as_a_photo_is_said_to_be_text_with_its_first_line(body, line):
    # A download script that saved a server's error message under the photo's name: was "not an image, or a
    # format glr cannot read", which hid that the photo was never downloaded.
    with pytest.raises(ImageError, match=re.escape(f"x.jpg: not an image but text, beginning {line[:60]!r} "
                                                   "(an error message saved by a download that failed?)")):
        refuse_known_non_images(body, "x.jpg")


@pytest.mark.parametrize("head", [b"GIF89a\x28\x00\x1e\x00\xf7\x00\x00", b"BM6\x10\x00\x00\x00\x00\x00\x006\x00",
                                  b"P6\n40 30\n255\n\x00\xff"])
def test_images_whose_first_bytes_are_letters_are_not_taken_for_text(head):
    refuse_known_non_images(head, "x.jpg")


@pytest.mark.parametrize("head, what", [
    (b'<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" "http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd">\n<svg/>',
     "an SVG drawing"),
    (b"<!-- Created with Inkscape (http://www.inkscape.org/) -->\n<svg/>", "an HTML, SVG or XML document"),
    (b"<!DOCTYPE html>\n<html><body><svg/></body></html>", "an HTML page"),
])
def test_an_svg_drawing_that_opens_with_a_doctype_or_a_comment_is_named_as_markup(head, what):
    # Was "it looks like an HTML page" for the doctype, and for the comment "not an image but text, beginning
    # '<!-- Created with Inkscape...' (an error message saved by a download that failed?)".
    with pytest.raises(ImageError, match=f"^drawing.jpg: not an image, it looks like {what}; "):
        refuse_known_non_images(head, "drawing.jpg")


def _scans_walked_byte_by_byte(data: bytes) -> int:
    """jpeg_scans as it was, walking each FF in Python: the reference its regex search must agree with."""
    i, n, scans = 2, len(data), 0
    while (i := data.find(b"\xff", i)) != -1 and i + 1 < n:
        marker = data[i + 1]
        if marker in (0x00, 0x01, 0xFF) or 0xD0 <= marker <= 0xD8:
            i += 1 if marker == 0xFF else 2
            continue
        if marker == 0xD9:
            break
        scans += marker == 0xDA
        i += 2 + int.from_bytes(data[i + 2:i + 4], "big")
    return scans


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.sampled_from([b"\xff", b"\xff\x00", b"\xff\xff", b"\xff\xd9", b"\xff\xda\x00\x02",
                                           b"\xff\xda\x00\x05", b"\xff\xd0", b"\xff\xd8", b"\xff\x01", b"\xff\xe1\x00",
                                           b"\xff\xc4\x00\x03\xff", b"\x00", b"\xda"]),
                          st.binary(max_size=6)), max_size=40))
def test_the_scan_count_by_regex_is_the_byte_walk_s_on_any_bytes(parts):
    # The walk was sped up (a regex finds the next marker); on any bytes, truncated segments and markers in odd
    # places included, it must count what the walk counted.
    from glr.data.sniff import jpeg_scans

    data = b"\xff\xd8" + b"".join(parts)
    assert jpeg_scans(data) == _scans_walked_byte_by_byte(data)

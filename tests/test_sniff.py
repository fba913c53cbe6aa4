"""glr.data.sniff: a file's kind from its first bytes (decoding itself is tests/test_images.py's)."""

import pytest

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

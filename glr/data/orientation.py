"""Which way up a photo is shown: its EXIF orientation, read and applied without rewriting its EXIF block.

Phones and cameras store a photo as the sensor saw it and say in EXIF how to turn it for showing
(orientation 1-8; 5-8 turn it a quarter, so its width and height swap). Pillow's
`ImageOps.exif_transpose` turns the pixels, then writes the whole EXIF block again without the
tag; that rewrite fails (TypeError, AttributeError, struct.error...) on a tag stored with another type
than Pillow writes it as, which cameras, editors and Windows Explorer leave in real photos (Pillow issues
#4037, #4665, #6492, #6882, #7839). glr only needs the pixels turned: `upright` does that alone.
"""

from __future__ import annotations

from PIL import Image

ORIENTATION = 0x0112  # the EXIF tag
QUARTER_TURNS = (5, 6, 7, 8)  # the orientations that swap width and height


def orientation(img: Image.Image):
    """The EXIF orientation of an opened image as Chromium applies it, 1 if it has none or its EXIF cannot be read.
    Any other value (0, 9, a text) is returned as stored: no turn is known for it.

    Chromium 156 (measured) turns a JPEG, a PNG whose eXIf comes before its pixels and an AVIF (its irot/imir, which
    Pillow hands on as the EXIF orientation), and nothing else: not a WebP's EXIF (its chunk follows the pixels, and
    CSS lets a browser ignore metadata after them; Firefox ignores it too), not a PNG's eXIf after its pixels, nor an
    XMP tiff:Orientation or ImageMagick's "Raw profile type exif" text, which Pillow's getexif also reads. A photo
    that Chromium shows sideways is seen sideways. A HEIC arrives turned by pi-heif; a TIFF's own tag counts.
    """
    try:
        if img.format == "WEBP":
            return 1
        if img.format == "TIFF":  # its orientation is a tag of its own directory, which getexif reads in place
            return img.tag_v2.get(ORIENTATION, 1)
        exif = Image.Exif()  # the EXIF block alone: PNG's getexif would decode every pixel to look past them
        exif.load(img.info.get("exif") or b"")
        return exif.get(ORIENTATION, 1)
    except Exception:  # noqa: BLE001 - a damaged EXIF block in an untrusted file: the photo as stored
        return 1


def upright(img: Image.Image) -> Image.Image:
    """The image turned as its EXIF orientation says (a new image, info kept), or `img` itself when none applies.

    Its EXIF block is left as it was, orientation tag included: glr keeps the pixels, never the metadata. The turns are
    spelled out inside so that the exported predict.py can copy this function and `orientation` as they are.
    """
    turns = {2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180, 4: Image.Transpose.FLIP_TOP_BOTTOM,
             5: Image.Transpose.TRANSPOSE, 6: Image.Transpose.ROTATE_270, 7: Image.Transpose.TRANSVERSE,
             8: Image.Transpose.ROTATE_90}  # as Pillow's exif_transpose
    try:
        turn = turns.get(orientation(img))
    except TypeError:  # a value no dict key can be (unhashable): no turn, as for any unknown value
        turn = None
    return img if turn is None else img.transpose(turn)

"""Safe decoding of any image file or upload into an RGB uint8 array.

Photos arrive in every mode Pillow knows (palette, grey, CMYK, 16-bit, with alpha, animated,
rotated by an EXIF tag, in a colour space other than sRGB) and sometimes are not images at
all. Everything goes through `decode_image`, which either returns an (H, W, 3) uint8 sRGB
array the right way up or raises `ImageError` with a message that names the file and the
problem.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import struct
import warnings
from pathlib import Path
from typing import BinaryIO, Callable, Union

import numpy as np
from PIL import Image, ImageFile, PngImagePlugin, UnidentifiedImageError

# JPEG's draft slack and the blank range, re-exported: glr.data.decode_rules holds them apart from PIL and numpy for
# the feature cache's folder names. This module's functions read its own names (tests and bench_draft.py set them).
from glr.data.decode_rules import BLANK_RANGE, DRAFT_SLACK
from glr.data.decode_words import (DECODE_ERRORS, MAX_PNG_CHUNKS, PNG_TEXT_CHUNK, SHORT_TRNS, _png_chunks, _png_without,
                                   _short_chunks, decoder_missing, mended_png, refuse_costly, refuse_large_icon, refused)
from glr.data.crop_resize import resized
from glr.data.orientation import QUARTER_TURNS, orientation, upright
from glr.data.pixel_modes import to_rgb
from glr.data.sniff import WEB_ADDRESS, looks_like, refuse_known_non_images
from glr.errors import BlankImageError, ImageError
from glr.paths import broken_link, printable

# iPhones save HEIC by default. pi-heif is libheif's decoder alone (no encoder) as a Pillow
# plugin; it applies the photo's rotation while decoding and resets its EXIF orientation to 1,
# so `upright` does not turn it twice. Without it, a HEIC photo is refused naming what to install.
with contextlib.suppress(ImportError):
    from pi_heif import register_heif_opener
    register_heif_opener()

# A 24-megapixel camera photo is normal; 80 MP is a panorama; anything past this is far more likely
# a decompression bomb (a tiny file that inflates to gigabytes) than a photo.
MAX_PIXELS = 90_000_000
# A JPEG asked for at reduced size decodes at 1/2, 1/4 or 1/8 of its sides, so only that much
# memory counts against MAX_PIXELS: a 108 or 200 MP phone photo is then fine. Past this many
# source pixels even the reduced decode's Huffman pass takes too long: refused all the same.
MAX_JPEG_PIXELS = 400_000_000
# A progressive JPEG is decoded scan by scan, each over the whole picture: encoders write a few dozen at most; 1 MB
# of 30,000 empty scans took 77 s (djpeg's -maxscans guards the same). Counted in the picture only (sniff.jpeg_scans).
MAX_JPEG_SCANS = 100
# No photo file is larger (a 200 MP phone JPEG is about 60 MB, a 90 MP 8-bit TIFF 270 MB): a larger one was read
# whole into memory before it was found to be no photo (3 GB of RAM for a 3 GB file named huge.jpg).
MAX_FILE_BYTES = 500 * 1024 * 1024
# Pillow's own guard, at open: loosened to glr's largest limit; glr checks each image against the one for its decode.
Image.MAX_IMAGE_PIXELS = MAX_JPEG_PIXELS
# Pillow would otherwise pad a truncated JPEG with grey and carry on silently.
ImageFile.LOAD_TRUNCATED_IMAGES = False
PngImagePlugin.MAX_TEXT_CHUNK = PNG_TEXT_CHUNK

# The formats glr decodes. Pillow can open many more (EPS, PSD, ICNS, FITS...), but each is
# more decoder code run on untrusted bytes, and EPS even runs Ghostscript; photos come as
# these. (Camera JPEGs holding several pictures, MPO, open through the JPEG plugin.) An ICO (a site's icon, saved
# from a web page) holds only BMP and PNG pictures, read by those decoders: Pillow gives its largest.
ALLOWED_FORMATS = ("JPEG", "PNG", "WEBP", "HEIF", "AVIF", "GIF", "BMP", "TIFF", "ICO")

# A photo within BLANK_RANGE grey levels in every channel (glr.data.decode_rules) is refused in these words.
BLANK_MESSAGE = "a blank photo (one flat colour): nothing in it to recognise"
# Below this side the resize itself averages a photo's texture away (an 8x8 raw-pixel probe),
# so a textured photo could look flat: smaller sizes are not checked.
BLANK_MIN_SIDE = 32

# A view's mirror image, made by Pillow: NumPy's copy of a mirrored RGB array takes 10x as long.
MIRROR = Image.Transpose.FLIP_LEFT_RIGHT

ImageSource = Union[str, os.PathLike, bytes, bytearray, BinaryIO]


def _source_name(source: ImageSource) -> str:
    """The name `_read_bytes` gives `source` in messages: printable, on one line."""
    if isinstance(source, (bytes, bytearray)):
        return "the upload"
    if isinstance(source, (str, os.PathLike)):
        return _printable(str(Path(os.fsdecode(source))))
    return _printable(str(getattr(source, "name", None) or "the upload"))


def _printable(name: str) -> str:
    """`name` on one printable line: undecodable bytes as U+FFFD (as glr.paths.printable), control characters escaped.

    A Latin-1 file name arrives with surrogates that no UTF-8 output (the app, a log) can encode,
    and a newline in a name would break a one-line message in two.
    """
    if name.isascii() and name.isprintable():  # most names: nothing to change, and every photo's decode asks
        return name
    try:
        name = printable(name)
    except UnicodeEncodeError:  # a surrogate that stands for no byte (not from the OS)
        name = name.encode("utf-8", "replace").decode("utf-8")
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in name)


def _read_bytes(source: ImageSource) -> tuple[bytes, str]:
    """Return the raw bytes of `source` and a name to use in messages (`_source_name`'s)."""
    name = _source_name(source)
    if isinstance(source, (bytes, bytearray)):
        return bytes(source), name
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        try:
            if path.exists() and not path.is_file() and not path.is_dir():
                # A pipe or a device: reading it could block forever or never end.
                raise ImageError(f"{name}: not a regular file")
            if too_large := larger_than_a_photo(path.stat().st_size):
                raise ImageError(f"{name}: {too_large}")
            return path.read_bytes(), name
        except FileNotFoundError:
            if re.match(WEB_ADDRESS, os.fspath(source)):  # a photo's address pasted, not a file
                raise ImageError(f"{os.fspath(source)}: is a web address, not a file on this computer; "
                                 "download the photo first") from None
            raise ImageError(f"{name}: {broken_link(path) or 'file not found'}") from None
        except IsADirectoryError:
            raise ImageError(f"{name}: is a folder, not an image file") from None
        except OSError as exc:
            raise ImageError(f"{name}: cannot be read ({exc.strerror or exc})") from None
    # A file-like object, such as Streamlit's UploadedFile.
    try:
        data = source.read()
    except Exception as exc:  # noqa: BLE001 - any reader failure is the upload's problem
        raise ImageError(f"{name}: cannot be read ({exc})") from None
    return bytes(data), name


def larger_than_a_photo(size: int) -> str | None:
    """Why a file of `size` bytes is not read as a photo (over MAX_FILE_BYTES), else None."""
    if size <= MAX_FILE_BYTES:
        return None
    return f"{size / 2 ** 20:,.0f} MB, larger than any photo (glr reads files of up to {MAX_FILE_BYTES // 2 ** 20} MB): not read"


def _open_formats() -> list[str]:
    """ALLOWED_FORMATS that have a plugin here (pi-heif may be missing): Image.open raises KeyError for any other."""
    Image.init()
    return [f for f in ALLOWED_FORMATS if f in Image.OPEN]


def decode_image(source: ImageSource, max_pixels: int = MAX_PIXELS, draft_size: int | None = None,
                 shrink: Callable[[Image.Image], Image.Image] | None = None) -> np.ndarray:
    """Decode a path, bytes or file-like object into an (H, W, 3) uint8 RGB array.

    EXIF orientation is applied, every mode is converted to RGB, and an animated image
    gives its first frame. `draft_size` lets the JPEG decoder downscale while decoding
    (much faster) when the caller will shrink the image to about that size anyway; `shrink`
    (the caller's resize of the upright RGB image, or of a grey, 1-bit or palette photo's L, once per band of a colour
    palette: the same pixels, a quarter of the memory) runs before its colours are converted to
    sRGB, so a thumbnail's few pixels are converted, not a phone photo's 12 million; and, given
    a premultiplied RGBa cut-out, before its transparency goes onto white (pixels only shown:
    within rounding of `load_resized`'s, which composites first).
    Raises `ImageError` for anything that is not a decodable image.
    """
    return np.asarray(_decode_pil(source, max_pixels, draft_size, shrink, before_white=True), dtype=np.uint8)


def _decode_pil(source: ImageSource, max_pixels: int = MAX_PIXELS, draft_size: int | None = None,
                shrink: Callable[[Image.Image], Image.Image] | None = None, before_white: bool = False) -> Image.Image:
    """`decode_image`'s work, returning the RGB Pillow image (callers that resize skip one copy).

    `shrink`: the caller's resize, run inside the conversion to sRGB (`to_rgb`, and `before_white` as it says).
    """
    data, name = _read_bytes(source)
    if not data:
        raise ImageError(f"{name}: empty file (0 bytes)")
    refuse_known_non_images(data, name)
    if data.startswith(b"\x89PNG") and len(_png_chunks(data, MAX_PNG_CHUNKS + 1)) > MAX_PNG_CHUNKS:
        raise ImageError(f"{name}: a PNG of over {MAX_PNG_CHUNKS:,} chunks before its picture (photos have a few dozen); "
                         "possibly a decompression bomb")
    data = mended_png(data)  # the chunks Chromium passes over, taken out
    try:
        with warnings.catch_warnings():
            # Pillow only warns between MAX_IMAGE_PIXELS and twice that; make it an error.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            # "Corrupt EXIF data" and the like: the pixels still decode, the warning helps nobody.
            warnings.filterwarnings("ignore", category=UserWarning, module="PIL")
            with Image.open(io.BytesIO(data), formats=_open_formats()) as img:
                seek_photo(img)
                width, height = img.size
                refuse_large_icon(img, data, name, max_pixels)
                if width < 1 or height < 1:
                    raise ImageError(f"{name}: image has no pixels ({width}x{height})")
                # MPO: a JPEG with more pictures after the first (Android's Ultra HDR gain map, 3D cameras).
                if draft_size and img.format in ("JPEG", "MPO"):
                    img.draft("RGB", (draft_size, draft_size))  # img.size is now the size it will decode at
                refuse_costly(img, (width, height), name, data, max_pixels, MAX_JPEG_PIXELS, MAX_JPEG_SCANS)
                img.load()
                shown = upright(img)  # a photo's EXIF orientation: turned the way it is shown
                return to_rgb(with_colour_code(shown, img, data), shrink, before_white)
    except ImageError:
        raise
    except UnidentifiedImageError as exc:
        if fmt := decoder_missing(data):
            raise ImageError(f"{name}: {'an' if fmt == 'AVIF' else 'a'} {fmt} photo, and this installation has no {fmt} decoder; "
                             "install glr's requirements (pip install -r requirements.txt), or export the photo as JPEG") from None
        raise refused(name, data, exc) from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning, *DECODE_ERRORS) as exc:
        if (words := refused(name, data, exc)) is None:  # a tRNS too short for its colour type: libpng ignores it
            whole = io.BytesIO(_png_without(data, b"tRNS"))
            whole.name = name
            return _decode_pil(whole, max_pixels, draft_size, shrink, before_white)
        raise words from None


def with_colour_code(shown: Image.Image, img: Image.Image, data: bytes) -> Image.Image:
    """`shown` (the opened `img`, turned upright) with the colours of its file's bytes `data` by their H.273 codes
    (colour_code) and its format in its info["cicp"] for `to_rgb`, where they count: a PNG's cICP before its iCCP, an
    AVIF's or HEIC's profile before its nclx. One rule for glr and the exported predict.py, which copies it."""
    if (code := colour_code(data)) and (img.format == "PNG" or not img.info.get("icc_profile")):
        shown.info["cicp"] = (*code, img.format)  # Chromium reads some codes of a PNG otherwise than of an AVIF
    return shown


def colour_code(data: bytes) -> tuple[int, int] | None:
    """The colour primaries and transfer (ITU-T H.273 codes) of a PNG's cICP chunk or an AVIF's or HEIC's nclx colour
    box, or None: Pillow and pi-heif apply neither, and Chromium shows the pixels by them (a phone's Display P3 AVIF,
    an HDR PNG). Chromium shows no HEIC at all: its nclx box is read as an AVIF's, the same box of the same family."""
    if data.startswith(b"\x89PNG"):
        at = 8  # the chunks before the pixels, at most MAX_PNG_CHUNKS (checked before decoding)
        while at + 12 <= len(data) and (kind := data[at + 4:at + 8]) != b"IDAT":
            length = int.from_bytes(data[at:at + 4], "big")
            if kind == b"cICP" and length == 4 and data[at + 10:at + 12] == b"\x00\x01":  # RGB, full range: PNG's
                return data[at + 8], data[at + 9]
            at += 12 + length
    elif looks_like(data) in ("AVIF", "HEIC") and 0 <= (at := data.find(b"colrnclx", 0, 1 << 16)) <= len(data) - 15:
        return int.from_bytes(data[at + 8:at + 10], "big"), int.from_bytes(data[at + 10:at + 12], "big")
    return None


# A multi-page TIFF may lead with a small preview of the photo (scanner and camera software write one, a
# "reduced-resolution image"): its largest of the first pages is the photo. Only the first few are looked at: a
# scanned document can hold thousands of pages, all alike.
TIFF_PAGES_LOOKED_AT = 8


def largest_page(img: Image.Image) -> int:
    """The index of the page with the most pixels among a TIFF's first TIFF_PAGES_LOOKED_AT (the first of equals)."""
    sizes = []
    for page in range(TIFF_PAGES_LOOKED_AT):
        try:
            img.seek(page)
        # No more pages, or one unreadable (a page without its size is Pillow's TypeError): the pages before it
        # are still the photo's.
        except (EOFError, OSError, ValueError, SyntaxError, struct.error, TypeError, KeyError):
            break
        sizes.append(img.size[0] * img.size[1])
    return sizes.index(max(sizes)) if sizes else 0


def seek_photo(img: Image.Image) -> None:
    """Move an opened image to the picture glr decodes: a TIFF's largest early page, else the first frame.

    The one owner of this rule: the decoder, the size statistics (image_size) and the exported predict.py
    (glr.export_script copies these two functions' source) all see the same picture of a file.
    An APNG whose default image is not one of its frames (for viewers without APNG, often a "your browser cannot
    animate" still) gives its first frame, as browsers show it."""
    if img.format == "PNG" and img.info.get("default_image") and getattr(img, "n_frames", 1) > 1:
        img.seek(1)
        # The first frame of a play is drawn on a cleared canvas (APNG spec), never blended over the default image.
        img.blend_op = 0  # PngImagePlugin's Blend.OP_SOURCE
        return
    img.seek(largest_page(img) if img.format == "TIFF" else 0)


def image_size(path: str | os.PathLike) -> tuple[int, int] | None:
    """Width and height as the photo is shown (its EXIF rotation applied), from the file header only (no pixel
    decoding), or None if unreadable: a PNG's chunks too short to read (tRNS, gAMA...) are passed over, as decoded."""
    try:
        with open(path, "rb") as file:  # a PNG of too many chunks: Pillow's open alone would take seconds
            if file.read(4) == b"\x89PNG" and len(_png_chunks(file, MAX_PNG_CHUNKS + 1)) > MAX_PNG_CHUNKS:
                return None
        try:
            return _shown_size(path)
        except (OSError, SyntaxError, ValueError) as exc:
            if larger_than_a_photo(os.path.getsize(path)):
                raise
            data = Path(path).read_bytes()
            kinds = _short_chunks(data) | ({b"tRNS"} if str(exc) == SHORT_TRNS else set())
            if not kinds:
                raise
            for kind in kinds:
                data = _png_without(data, kind)
            return _shown_size(io.BytesIO(data))
    except Exception:  # noqa: BLE001 - size statistics skip what they cannot read
        return None


def _shown_size(source: str | os.PathLike | BinaryIO) -> tuple[int, int]:
    """The size of the picture glr decodes of an image file, turned as its EXIF orientation says."""
    with Image.open(source, formats=_open_formats()) as img:
        seek_photo(img)  # a TIFF's preview page first is not the photo's size
        # Phones store a portrait photo as landscape pixels with an orientation of 5-8 (turned a quarter). Pillow
        # gives a TIFF's size turned already (and turns its pixels on load): turned again, a portrait TIFF was landscape.
        turned = img.format != "TIFF" and orientation(img) in QUARTER_TURNS
        return img.size[::-1] if turned else img.size


def draft_side(side: int) -> int:
    """The side to ask JPEG's reduced-size decoding for, when the image will be resized to `side`."""
    return max(1, int(side * DRAFT_SLACK))


def is_blank(pixels: np.ndarray) -> bool:
    """Whether decoded pixels (height, width[, bands]) are one flat colour: every band within BLANK_RANGE grey levels."""
    bands = pixels.shape[2] if pixels.ndim == 3 else 1
    # Each row's values side by side, so NumPy reduces down contiguous columns (0.03 ms at 224 px, where Pillow's
    # getextrema, band by band, took 0.1 and NumPy's per-band min and max over strided pixels 2.5).
    rows = pixels.reshape(pixels.shape[0], -1)
    high = rows.max(axis=0).reshape(-1, bands).max(axis=0)
    low = rows.min(axis=0).reshape(-1, bands).min(axis=0)
    return int((high.astype(np.int16) - low).max()) <= BLANK_RANGE


def load_resized(source: ImageSource, size: int | tuple[int, int], refuse_blank: bool = False,
                 crop: tuple[int, int, int] | None = None) -> np.ndarray:
    """Decode and resize to `size` (square int or (width, height)) with a good filter.

    `refuse_blank`: raise BlankImageError for a photo of one flat colour, which training must
    not learn from and a prediction cannot be made on (checked from BLANK_MIN_SIDE px up).
    `crop` (row, col, side): only that square of the resized image, the same pixels (glr.data.crop_resize), faster.
    """
    width, height = (size, size) if isinstance(size, int) else size
    return _resized(source, width, height, refuse_blank, crop)[1]


def decode_views(source: ImageSource, size: int, boxes, side: int, refuse_blank: bool = False) -> list[np.ndarray]:
    """The views (row, col, flip) in `boxes` of `side` px, cut from `source` resized to a `size` square, decoded once.

    When they share one place (one view, or the centre crop and its mirror), only that square is resized. Pillow
    mirrors a view: NumPy's copy of a mirrored RGB array took 0.22 ms, 10x Pillow's (benchmarks/README.md).
    """
    boxes = np.asarray(boxes).tolist()
    places = {(row, col) for row, col, _ in boxes}
    crop = (*places.pop(), side) if len(places) == 1 else None
    img, pixels = _resized(source, size, size, refuse_blank, crop)
    views = []
    for row, col, flip in boxes:
        if not flip:
            views.append(pixels if crop else pixels[row:row + side, col:col + side])
        else:
            views.append(np.asarray((img if crop else img.crop((col, row, col + side, row + side))).transpose(MIRROR)))
    return views


def _resized(source: ImageSource, width: int, height: int, refuse_blank: bool,
             crop: tuple[int, int, int] | None) -> tuple[Image.Image, np.ndarray]:
    """load_resized's decode: the RGB Pillow image and its pixels."""
    img = _decode_pil(source, draft_size=draft_side(max(width, height)), shrink=lambda rgb: resized(rgb, (width, height), crop))
    pixels = np.asarray(img, dtype=np.uint8)
    if refuse_blank and min(width, height) >= BLANK_MIN_SIDE and is_blank(pixels):
        # A flat crop can be part of a photo with something outside it: then the whole resize decides.
        if crop is None or _whole_is_blank(source, (width, height)):
            raise BlankImageError(f"{_source_name(source)}: {BLANK_MESSAGE}")
    return img, pixels


def _whole_is_blank(source: ImageSource, size: tuple[int, int]) -> bool:
    """Whether `source` resized whole to `size` is blank, after a crop of it was: decoded again (a stream from its
    start; one that cannot go back leaves the crop's answer)."""
    if not isinstance(source, (str, os.PathLike, bytes, bytearray)):
        try:
            source.seek(0)
        except (AttributeError, OSError, ValueError):
            return True
    return is_blank(load_resized(source, size))

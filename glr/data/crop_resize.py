"""The bilinear resize photos are decoded with: of the whole photo, or of one square of the result, pixel for pixel.

Training, extraction and prediction keep a crop of the resized photo (224 of 256 px). Resizing only that
square skips the rest of the resize, a quarter of its work (benchmarks/README.md, "Session 39"). Pillow
computes a box's pixels as it computes the whole resize's when the box's corners are exact in its float32
arithmetic (sides that are powers of two, as 256 px is) and its two passes run in the same order; any
other size is resized whole and cut, which gives the same pixels too.
"""

from __future__ import annotations

from PIL import Image

# Pillow's resize first averages blocks of pixels when it shrinks by twice this or more (its `reducing_gap`): far
# faster for a large PNG (JPEGs are shrunk while decoded, glr.data.images.draft_side).
REDUCING_GAP = 2.0
# Below this, a photo's side times a crop's offset stays exact in the float32 coordinates Pillow takes a box in.
_EXACT_SIDE = 2 ** 15
# Modes Pillow resizes with their colours multiplied by their alpha, so that a see-through pixel's colour bleeds nowhere.
_PREMULTIPLIED = {"RGBA": "RGBa", "LA": "La"}


def resized(img: Image.Image, size: tuple[int, int], crop: tuple[int, int, int] | None = None) -> Image.Image:
    """`img` resized to `size` (width, height), bilinear; with `crop` (row, col, side), only that square of it."""
    width, height = size
    w, h = img.size
    if crop is None or not _box_is_exact(img.size, size):
        whole = img if img.size == size else img.resize(size, Image.Resampling.BILINEAR, reducing_gap=REDUCING_GAP)
        return whole if crop is None else whole.crop((crop[1], crop[0], crop[1] + crop[2], crop[0] + crop[2]))
    if img.mode in _PREMULTIPLIED:  # as Pillow resizes them, once for both passes
        return resized(img.convert(_PREMULTIPLIED[img.mode]), size, crop).convert(img.mode)
    row, col, side = crop
    # A side already at its size is cut first and only the other one resized, as the whole resize does.
    if w == width:
        img, col, w, width = img.crop((col, 0, col + side, h)), 0, side, side
    if h == height:
        img, row, h, height = img.crop((0, row, w, row + side)), 0, side, side
    if (w, h) == (side, side):
        return img
    # Multiplied before divided: a crop that reaches the edge ends exactly there, as Pillow requires.
    left, right, top, bottom = w * col / width, w * (col + side) / width, h * row / height, h * (row + side) / height
    first = _vertical_first((w, h), (width, height))
    if w != width and h != height and first != _vertical_first((w, h), (side, side)):
        # Pillow orders its two passes by the sizes, and would run the box's the other way round: one at a time.
        if first:
            img = img.resize((w, side), Image.Resampling.BILINEAR, box=(0, top, w, bottom))
            return img.resize((side, side), Image.Resampling.BILINEAR, box=(left, 0, right, side))
        img = img.resize((side, h), Image.Resampling.BILINEAR, box=(left, 0, right, h))
        return img.resize((side, side), Image.Resampling.BILINEAR, box=(0, top, side, bottom))
    return img.resize((side, side), Image.Resampling.BILINEAR, box=(left, top, right, bottom))


def _box_is_exact(have: tuple[int, int], want: tuple[int, int]) -> bool:
    """Whether a box on the `want` grid resizes from `have` exactly as the whole does: sides that are powers of two,
    and no shrink by REDUCING_GAP twice over (Pillow then first averages blocks, on a grid the box would move)."""
    return all(n & (n - 1) == 0 and m < _EXACT_SIDE and m < 2 * REDUCING_GAP * n for m, n in zip(have, want))


def _vertical_first(have: tuple[int, int], want: tuple[int, int]) -> bool:
    """Whether Pillow runs its vertical pass first (libImaging/Resample.c in the pinned 13.0): when the height shrinks
    by more than twice what the width does."""
    shrink_down = have[1] - want[1]
    return shrink_down > 0 and shrink_down > 2 * (have[0] - want[0])

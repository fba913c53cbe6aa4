"""glr.data.crop_resize: a square of the resized photo, computed alone, is pixel for pixel the whole resize's."""

import numpy as np
import pytest
from PIL import Image

from glr.data import crop_resize
from glr.data.crop_resize import resized


def noise(width, height, mode="RGB", seed=0):
    """A photo of noise in `mode` (every pixel differs from its neighbours, so any change of a resize weight shows)."""
    rng = np.random.default_rng(seed)
    if mode == "I;16":
        return Image.fromarray(rng.integers(0, 65536, (height, width), dtype=np.uint16))
    return Image.frombytes(mode, (width, height), rng.integers(0, 256, (height, width, len(mode)), np.uint8).tobytes())


def whole_then_cut(img, size, crop):
    row, col, side = crop
    return np.asarray(img.resize(size, Image.Resampling.BILINEAR, reducing_gap=2.0))[row:row + side, col:col + side]


# Photo sizes around 256 px: landscape and portrait, shrinking and growing on either side, one side already at
# 256 (then only the other is resized), shrinking 4x and more (resized whole), and both orders of Pillow's passes, including the sizes where the box's
# order differs from the whole's (321x396: the whole runs its vertical pass first, a 224 px box would not).
SIZES = [(320, 240), (240, 320), (321, 396), (262, 296), (500, 375), (300, 300), (256, 192), (200, 256), (256, 256),
         (160, 120), (1000, 250), (250, 1000), (1023, 767), (1200, 900), (257, 255)]


@pytest.mark.parametrize("have", SIZES)
def test_a_crop_is_the_whole_resize_cut(have):
    img = noise(*have, seed=have[0])
    rng = np.random.default_rng(have[1])
    corners = [(16, 16), (0, 0), (32, 32), (0, 32), (32, 0)] + [tuple(rng.integers(0, 33, 2)) for _ in range(4)]
    for row, col in corners:
        crop = (int(row), int(col), 224)
        np.testing.assert_array_equal(np.asarray(resized(img, (256, 256), crop)), whole_then_cut(img, (256, 256), crop))


def test_the_sizes_take_each_path_of_the_crop():
    # The cases above must cover what they claim: boxes whose pass order differs from the whole resize's, and not.
    differs = [have for have in SIZES if crop_resize._vertical_first(have, (256, 256))
               != crop_resize._vertical_first(have, (224, 224))]
    assert (321, 396) in differs and (320, 240) not in differs
    assert crop_resize._box_is_exact((320, 240), (256, 256))
    # From 1,024 px to 256, Pillow averages blocks first, on a grid a box would move; just under, it does not.
    assert not crop_resize._box_is_exact((1200, 900), (256, 256)) and crop_resize._box_is_exact((1023, 767), (256, 256))


@pytest.mark.parametrize("have", [(331, 287), (321, 396)])  # one pass order, then the other's pass by pass
@pytest.mark.parametrize("mode", ["L", "RGBA", "LA", "I;16", "CMYK"])
def test_a_crop_is_the_whole_resize_cut_in_every_mode(mode, have):
    img = noise(*have, mode)
    crop = (5, 27, 224)
    np.testing.assert_array_equal(np.asarray(resized(img, (256, 256), crop)), whole_then_cut(img, (256, 256), crop))


@pytest.mark.parametrize("want, side", [((37, 37), 32), ((299, 299), 261), ((128, 64), 60)])
def test_other_sizes_are_resized_whole_and_cut(want, side):
    # 37 and 299 px are no powers of two: a box's corners would round in Pillow's float32 (a level off here and there).
    img = noise(333, 250)
    crop = (2, 3, side)
    np.testing.assert_array_equal(np.asarray(resized(img, want, crop)), whole_then_cut(img, want, crop))


def test_without_a_crop_the_photo_is_resized_whole_or_kept():
    img = noise(300, 200)
    np.testing.assert_array_equal(np.asarray(resized(img, (256, 256))),
                                  np.asarray(img.resize((256, 256), Image.Resampling.BILINEAR, reducing_gap=2.0)))
    assert resized(img, (300, 200)) is img

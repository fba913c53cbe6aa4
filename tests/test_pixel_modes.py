"""Any Pillow mode to 8-bit sRGB: transparency goes onto white however the file says it is transparent."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from glr.data.images import decode_image, load_resized
from test_images import quadrant_colours, quadrants

WHITE_TOP = [(255, 255, 255), (255, 255, 255), (0, 0, 255), (255, 255, 255)]


def _png(img: Image.Image, **kw) -> bytes:
    buffer = io.BytesIO()
    img.save(buffer, format="PNG", **kw)
    return buffer.getvalue()


def _keyed(mode: str) -> bytes:
    """The quadrants with their top half transparent through a tRNS colour key (black), in `mode`: what PNG
    optimisers (optipng, oxipng) make of an RGBA cut-out whose see-through pixels are all one colour."""
    pixels = quadrants()
    pixels[:24] = 0
    if mode == "RGB":
        return _png(Image.fromarray(pixels), transparency=(0, 0, 0))
    grey = np.asarray(Image.fromarray(pixels).convert("L"))
    if mode == "L":
        return _png(Image.fromarray(grey), transparency=0)
    return _png(Image.fromarray(grey.astype(np.uint16) * 257), transparency=0)  # 16-bit grey


@pytest.mark.parametrize("mode", ["RGB", "L", "I;16"])
def test_a_png_whose_transparency_is_a_colour_key_goes_onto_white_like_its_rgba_original(mode):
    # Was the key colour (black) where an RGBA PNG of the same picture, or a palette PNG with tRNS, gives white.
    data = _keyed(mode)
    with Image.open(io.BytesIO(data)) as img:
        assert img.mode == mode and "transparency" in img.info
    out = decode_image(data)
    grey = {(0, 0, 255): (29, 29, 29)} if mode != "RGB" else {}
    for got, want in zip(quadrant_colours(out), WHITE_TOP):
        assert np.abs(np.subtract(got, grey.get(want, want))).max() <= 1, (got, want)
    rgba = quadrants()
    rgba = np.dstack([rgba, np.full(rgba.shape[:2], 255, np.uint8)])
    rgba[:24, :, 3] = 0
    if mode == "RGB":
        assert np.array_equal(out, decode_image(_png(Image.fromarray(rgba))))
    assert load_resized(data, 32, refuse_blank=True).shape == (32, 32, 3)


def test_a_key_colour_that_no_pixel_has_changes_nothing():
    data = _png(Image.fromarray(quadrants()), transparency=(1, 2, 3))
    assert np.array_equal(decode_image(data), quadrants())

"""Drawing the demo landmarks: one procedurally drawn structure per class, no photo around it.

`draw_landmark` draws a `LandmarkClass` alone on a transparent layer, in structure units
that render at any resolution. The vocabulary (classes, colours, patterns, the `Sketch`
canvas) is `glr.demo.sketch`'s; one drawing function per structure family lives in
`glr.demo.buildings` or `glr.demo.monuments`. The scene around the landmark (sky, ground,
weather, camera) is `glr.demo.scenes`'; the class catalogue and the dataset on disk are
`glr.demo.dataset`'s.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from glr.demo import buildings, monuments
from glr.demo.sketch import LandmarkClass, Sketch

# One drawing function per family. Each takes the sketch, the class, and two generators:
# `r` (seeded by the class: identical in every photo, so the landmark stays the same) and
# `photo` (seeded by the photo, for what really changes between photos, like a windmill's
# sails). Big discrete choices come from `c.variant`, so variants of a family differ in
# shape, not only in colour.

FAMILY_DRAWERS = {
    "tower": buildings.draw_tower,
    "dome": buildings.draw_dome,
    "arch": monuments.draw_arch,
    "pyramid": monuments.draw_pyramid,
    "bridge": monuments.draw_bridge,
    "pagoda": buildings.draw_pagoda,
    "temple": buildings.draw_temple,
    "skyscraper": buildings.draw_skyscraper,
    "obelisk": monuments.draw_obelisk,
    "lighthouse": buildings.draw_lighthouse,
    "castle": buildings.draw_castle,
    "windmill": buildings.draw_windmill,
    "statue": monuments.draw_statue,
    "minaret": buildings.draw_minaret,
    "lattice": monuments.draw_lattice,
    "torii": monuments.draw_torii,
    "wheel": monuments.draw_wheel,
    "amphitheatre": buildings.draw_amphitheatre,
}


def draw_landmark(cls: LandmarkClass, height: int, photo_rng: np.random.Generator) -> Image.Image:
    """The landmark alone on a transparent RGBA layer, cropped to its outline."""
    sk = Sketch(height, cls)
    FAMILY_DRAWERS[cls.family](sk, cls, np.random.default_rng(cls.design_seed), photo_rng)
    return sk.image.crop(sk.image.getbbox())

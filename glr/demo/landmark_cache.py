"""The landmark layers a demo worker has drawn, reused for the next photos of the same class.

Most structure families draw their landmark from the class's design alone (`r`, seeded by the class), so every
photo of a class starts from the same layer; only a few (the windmill's sails, the wheel's turn) draw from the
photo's generator. Whether a drawing used the photo's generator is read from the generator itself (its state is
unchanged after it), so a layer is reused only where drawing it again would give the same pixels and leave the
generator where it was: the photos, and so the dataset's bytes, stay exactly as drawn without it.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

import numpy as np
from PIL import Image

from glr.demo import landmarks
from glr.demo.sketch import LandmarkClass

KEPT = 4  # a worker draws a class's photos one after the other: the last few layers are all it reuses

_layers: OrderedDict[tuple, Image.Image] = OrderedDict()
_layers_lock = threading.Lock()  # a page may draw photos in several threads at once


def draw_landmark(cls: LandmarkClass, height: int, photo_rng: np.random.Generator) -> Image.Image:
    """`glr.demo.landmarks.draw_landmark`, drawn once per class and height when it takes nothing from `photo_rng`."""
    key = (cls, height)
    with _layers_lock:
        kept = _layers.get(key)
        if kept is not None:
            _layers.move_to_end(key)
            return kept.copy()
    before = photo_rng.bit_generator.state
    layer = landmarks.draw_landmark(cls, height, photo_rng)
    if photo_rng.bit_generator.state == before:  # drawn from the class alone: the same for its every photo
        with _layers_lock:
            _layers[key] = layer.copy()
            while len(_layers) > KEPT:
                _layers.popitem(last=False)
    return layer

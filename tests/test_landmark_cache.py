"""glr.demo.landmark_cache: a class's landmark is drawn once for all its photos, and the photos stay the same bytes."""

from __future__ import annotations

import numpy as np
import pytest

from glr.demo import landmark_cache, landmarks, scenes
from glr.demo.dataset import demo_classes
from glr.demo.sketch import FAMILIES


def _one_per_family():
    classes = {}
    for cls in demo_classes(len(FAMILIES) * 2, seed=3):
        classes.setdefault(cls.family, cls)
    return classes


def _photos(cls, n=3, width=64):
    """n photos of `cls` as the dataset draws them (one generator per photo), with each generator's state after."""
    out = []
    for index in range(n):
        rng = np.random.default_rng([3, cls.index, index])
        out.append((scenes.render_photo(cls, rng, width).tobytes(), rng.bit_generator.state))
    return out


@pytest.mark.parametrize("family, draws", [("tower", 1), ("windmill", 4)])
def test_a_landmark_drawn_from_its_class_alone_is_drawn_once_for_all_its_photos(monkeypatch, family, draws):
    # Every photo drew its landmark again, the same picture each time, for 16 of the 18 families: a fifth of the
    # demo's drawing time. A windmill's sails turn from photo to photo: it is drawn for each.
    landmark_cache._layers.clear()  # as in a new worker
    calls = []
    real = landmarks.FAMILY_DRAWERS[family]
    monkeypatch.setitem(landmarks.FAMILY_DRAWERS, family, lambda *args: calls.append(1) or real(*args))
    cls = _one_per_family()[family]
    _photos(cls, n=4, width=48)
    assert len(calls) == draws


def test_every_familys_photos_are_the_same_bytes_with_their_landmark_drawn_once_or_each_time(monkeypatch):
    for cls in _one_per_family().values():
        cached = _photos(cls)
        monkeypatch.setattr(scenes, "draw_landmark", landmarks.draw_landmark)  # drawn for every photo
        drawn = _photos(cls)
        monkeypatch.undo()
        assert cached == drawn, cls.family


def test_a_worker_keeps_only_its_last_few_classes_layers():
    # A worker draws one class's photos after the other: the layers of 100 classes need not stay in its memory.
    still = [cls for cls in _one_per_family().values() if cls.family not in ("windmill", "wheel")]
    for cls in still[:landmark_cache.KEPT + 3]:
        _photos(cls, n=1, width=32)
    kept = [cls for cls, height in landmark_cache._layers if height == 48]
    assert kept == still[3:landmark_cache.KEPT + 3]

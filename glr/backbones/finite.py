"""Features that are not finite numbers (NaN or inf): never trained on and never kept in the feature cache.

A backbone whose weights hold a NaN gives NaN features for every photo. The head's ReLU and L2 norm pass them
on, so the training's loss is NaN from its first batch and the run was said to have diverged, with advice to
lower the learning rate. Newly computed features are checked here before the cache stores them; cached ones as
they are read (glr.backbones.feature_cache), where a damaged one is computed again.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from glr.errors import BackboneError


# The largest float16: a feature above it (ResNet's are unnormalised) would be stored as inf.
HALF_MAX = float(np.finfo(np.float16).max)


class NonFiniteFeatures(BackboneError):
    """The backbone gave features that are not numbers: its weights are damaged, or it overflowed."""


class HalfOverflow(BackboneError):
    """Features too large for the float16 table they are meant for."""


def fits_half(vector: np.ndarray) -> bool:
    """Whether `vector` keeps every value in float16 (already float16, or none above HALF_MAX in size)."""
    vector = np.asarray(vector)
    if vector.dtype == np.float16 or vector.size == 0:
        return True
    # Its largest and smallest values rather than np.abs(vector).max(), which made a temporary copy of the table at
    # every call: 0.26 ms a 28 x 1,280 table in a cold demo train here (most likely its pages faulting in), against
    # 0.01 without, over 2,000 calls. NaN fails both comparisons, as it did the one before.
    return float(vector.max()) <= HALF_MAX and -float(vector.min()) <= HALF_MAX


def half_or_float32(vector: np.ndarray):
    """The dtype to store `vector` in when float16 is wanted: float16, or float32 where that would make it inf."""
    return np.float16 if fits_half(vector) else np.float32


def check_half(rows: np.ndarray) -> None:
    """HalfOverflow, saying what to do, when rows meant for a float16 table hold values it turns into inf.

    The memory budget keeps phase 1's feature table (the map windows always) in float16. An inf there is NaN
    once the head normalises it: the loss would be NaN from the first batch and the run said to have diverged.
    """
    if not fits_half(rows):
        top = float(np.abs(np.asarray(rows, np.float32)).max())
        raise HalfOverflow(
            f"the backbone's features reach {top:.4g}, more than float16 holds ({HALF_MAX:g}), and phase 1 keeps "
            "them in float16 (to fit its memory): they would become inf, and the training NaN. Use a backbone "
            "whose features are smaller (EfficientNet or MobileNet), or --augment-space images with fewer "
            "photos or views, so that they fit in float32")


def all_finite(vector: np.ndarray) -> bool:
    """Whether every number of `vector` is finite; float16 (the cached windows) by its exponent bits, which all
    ones mark NaN and inf: np.isfinite on float16 took 140 us for a 28 x 1280 table, 10x this (and more than
    reading the file)."""
    if vector.dtype == np.float16:
        return vector.size == 0 or bool((vector.view(np.uint16) & 0x7C00).max() < 0x7C00)
    return bool(np.isfinite(vector).all())


def finite_rows(feats: np.ndarray) -> np.ndarray:
    """Per photo (the first axis): whether every number of its features is finite."""
    feats = np.asarray(feats)
    return np.isfinite(feats.reshape(len(feats), -1)).all(axis=1)


def check_computed(feats: np.ndarray, decoded: np.ndarray, paths: Sequence[str]) -> None:
    """Raise NonFiniteFeatures naming the photos whose newly computed features hold NaN or inf.

    `decoded` marks the photos that went through the backbone (the others' zeros are no features).
    """
    bad = np.flatnonzero(np.asarray(decoded, bool) & ~finite_rows(feats))
    if len(bad):
        raise NonFiniteFeatures(
            f"the backbone gave features that are not numbers (NaN or inf) for {len(bad)} of {len(paths)} photos "
            f"(e.g. {paths[bad[0]]!r}), so nothing can be trained on them; none were kept. Its weights are likely "
            "damaged (a weights file holding NaN): give --weights imagenet or another weights file")

"""Regional (R-MAC) embeddings: what a new run's index holds and its queries search with.

R-MAC (Tolias, Sicre and Jégou, 2016) describes a photo by regions of the backbone's last
feature map: each region is average-pooled and L2-normalised, and the regions are summed and
normalised again. A region that holds the landmark then counts as much as the whole photo,
so two photos of one building from different distances stay close, while a look-alike that
shares only the overall layout (a dome against the sky) falls further away.

The regions are glr's map windows (glr.backbones.features.windows): for Lite0 at 224 px the
whole 7x7 map, its four 6x6 windows and its nine 5x5 ones. A training run pools them from each
photo's centre crop and mirror image already (the feature cache's windows), so a frozen run's
index needs no backbone pass of its own. Each region is flip-averaged as the global embedding
is (glr.retrieval.flip): the mirror image's window (side, row, n - side - col) covers what the
centre crop's (side, row, col) does, and the two are averaged before the normalisation.

benchmarks/bench_regional.py measured it against the flip-averaged global pooling ("flip"), on
the open-set benchmark and kNN top-1, on the demo and on wonders7 (benchmarks/README.md,
"Regional (R-MAC) similarities"). The head still classifies the flip-averaged whole map, so a
run's classifier, metrics and exports are what "flip" gives; only the index's vectors and the
similarities in the known score change. An index records its kind (`retrieval.json`'s
"embedding"), so runs indexed before keep "flip" or "single" until `python -m glr retrieval RUN --rebuild`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Callable, Sequence

import numpy as np

from glr.retrieval.index import normalize

KIND = "rmac"


@lru_cache(maxsize=None)
def mirror_order(count: int) -> np.ndarray:
    """For each of a map's `count` windows, the mirror image's window that covers the same part of the scene.

    Window k of `windows(n)` is (side, row, col); the mirror's map is the centre's flipped left
    to right, so its window (side, row, n - side - col) lines up with it. The order depends
    only on the window count (from a 3x3 map up every map has the same 14 windows, relative to its sides).
    """
    from glr.backbones.features import WINDOW_SHRINK, windows

    for n in range(1, WINDOW_SHRINK + 2):
        boxes = windows(n)
        if len(boxes) == count:
            where = {box: k for k, box in enumerate(boxes)}
            return np.array([where[(s, r, n - s - c)] for s, r, c in boxes], np.int64)
    raise ValueError(f"no map has {count} windows")


def rmac_from_windows(windows: np.ndarray) -> np.ndarray:
    """(N, D) unit R-MAC vectors from (N, 2W, D) window pools: each photo's centre crop's W windows, then its mirror's."""
    w = np.asarray(windows, np.float32)
    half = w.shape[1] // 2
    regions = (w[:, :half] + w[:, half:][:, mirror_order(half)]) / 2
    unit = regions / np.maximum(np.linalg.norm(regions, axis=2, keepdims=True), 1e-12)
    return normalize(unit.sum(axis=1))


def rmac_from_map(fmap):
    """TensorFlow: (N, D) unit R-MAC vectors of a (N, n, n, D) map (the flip-averaged one), over `windows(n)`.

    The predictor's half of `rmac_from_windows`: one stride-1 average pool per window side, as
    glr.backbones.features.window_features pools the training photos' maps.
    """
    import tensorflow as tf

    from glr.backbones.features import windows

    n = int(fmap.shape[1])
    sides = sorted({s for s, _, _ in windows(n)}, reverse=True)
    pools = [tf.nn.avg_pool2d(fmap, s, 1, "VALID") for s in sides]
    regions = tf.concat([tf.reshape(p, (-1, p.shape[1] * p.shape[2], p.shape[3])) for p in pools], axis=1)
    unit = regions / tf.maximum(tf.norm(regions, axis=2, keepdims=True), 1e-12)
    summed = tf.reduce_sum(unit, axis=1)
    return summed / tf.maximum(tf.norm(summed, axis=1, keepdims=True), 1e-12)


@dataclass
class Embedded:
    """A set of photos embedded for a run: what its head classifies and what its index searches with."""

    head: np.ndarray  # (N, D) the flip-averaged whole map (the centre view alone for "single")
    search: np.ndarray  # (N, D) the index's kind of vector (the same as `head` but for "rmac")
    centre: np.ndarray  # (N, D) the centre view alone: the head's single-view figure
    ok: np.ndarray  # (N,) decoded

    def decoded(self) -> "Embedded":
        """The photos that decoded, alone."""
        return Embedded(self.head[self.ok], self.search[self.ok], self.centre[self.ok], self.ok[self.ok])


def _regional(get_backbone: Callable[[], object], paths: list[str], cache, common: dict) -> Embedded:
    """Embedded photos of the "rmac" kind: windows through the cache, the whole maps from it in float32."""
    from glr.backbones.feature_cache import MIRROR_VIEW, cached_views, cached_window_features
    from glr.backbones.features import content_digest, spatial_model

    def keep(windows):  # the two whole maps (windows 0 and W) and the R-MAC vector: 3 rows per photo, not 28
        return np.stack([windows[0], windows[len(windows) // 2], rmac_from_windows(windows[None])[0]])

    maps = []

    def get_map_model():  # built once, not once per round of photos (each would hash its weights for its ONNX key)
        if not maps:
            maps.append(spatial_model(get_backbone()))
        return maps[0]

    digests = [content_digest(p) for p in paths]
    table, ok, _ = cached_window_features(get_map_model, paths, digests, cache, keep=keep, out_dtype=np.float32,
                                          **common)
    centre, mirror = table[:, 0], table[:, 1]
    if cache is not None:  # the cache stores windows in float16 but the whole maps in float32: the head gets those
        (centre, mirror), _, _ = cached_views(get_backbone, paths, digests, [0, MIRROR_VIEW], cache, **common)
    return Embedded((centre + mirror) / 2, table[:, 2], centre, ok)


def embed_for_index(kind: str, get_backbone: Callable[[], object], paths: Sequence[str], cache, *, input_size: int,
                    preprocess: Callable | None, batch_size: int) -> Embedded:
    """Photos embedded as an index of `kind` ("single", "flip" or "rmac") embeds them, through the feature cache.

    `get_backbone` is called only when something is missing from `cache` (None: no cache).
    """
    from glr.retrieval.flip import average, embed_views

    paths = [str(p) for p in paths]
    common = dict(input_size=input_size, preprocess=preprocess, batch_size=batch_size)
    if kind == KIND:
        return _regional(get_backbone, paths, cache, common)
    centre, mirror, ok = embed_views(get_backbone, paths, cache, flip=kind == "flip", **common)
    feats = average(centre, mirror)
    return Embedded(feats, feats, centre, ok)


def index_kind(backbone, train_photos: int, fine_tuned: bool, cached_windows: bool = True) -> str:
    """The kind a new index of this run gets: "rmac" where its windows cost no backbone pass of their own, else "flip".

    A backbone without a feature map (no final global average pooling) has no windows. A frozen
    backbone's windows are in the feature cache when phase 1 trained on them (`cached_windows`:
    not with `--augment-space images`) and could hold them; above that size
    (glr.training.head_data.WindowChoice.whole_maps_only: about a million photos here) the cache has
    only the whole maps, and R-MAC would cost a second extraction. A fine-tuned backbone's
    photos are embedded again anyway, windows and whole maps from one pass.
    """
    from glr.backbones.features import spatial_model
    from glr.training.head_data import WindowChoice

    if spatial_model(backbone) is None:
        return "flip"
    if fine_tuned:
        return KIND
    dim = int(backbone.output.shape[-1])
    return KIND if cached_windows and not WindowChoice(train_photos).whole_maps_only(dim) else "flip"

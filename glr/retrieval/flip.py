"""Flip averaging: a photo's embedding is the mean of its centre view's and its mirror image's pooled features.

benchmarks/bench_embeddings.py measured it as the only embedding variant that helped on both
the demo and wonders7 (left-out classes' photos called unknown 0.363 -> 0.385 and 0.546 ->
0.573, distractors and kNN top-1 no worse; benchmarks/README.md). A landmark photographed
from the other side of the street is close to a mirror image of it, and averaging the two
views makes the embedding blind to left and right, so such a photo finds its neighbours.

A run's index records how it was embedded (`retrieval.json`'s "embedding": "flip", or
"single" for one view; an index built before the record has one view). The predictor embeds
queries the same way as the index, and the head classifies the same (averaged) features, as
the benchmark measured. `python -m glr retrieval RUN --rebuild` re-embeds an older run with flips.

The mirror views of the training photos are kept in the feature cache under a view of their
own (`MIRROR_VIEW`), beside the clean view 0, so a rebuild or a second run computes nothing.
"""

from __future__ import annotations

import weakref
from typing import Callable, Sequence

import numpy as np

from glr.errors import GlrError

EMBEDDINGS = ("single", "flip")
EMBEDDING = "flip"  # what a new index uses
LEGACY_EMBEDDING = "single"  # an index whose retrieval.json does not say
MIRROR_VIEW = "view0-mirror"  # the feature cache's folder of the mirrored centre views
_MIRRORS: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def run_embedding(retrieval: dict | None) -> str:
    """How a run's index embeds photos ("single" or "flip"), from its retrieval evaluation (None: no index)."""
    kind = (retrieval or {}).get("embedding", LEGACY_EMBEDDING)
    if kind not in EMBEDDINGS:
        raise GlrError(f"the index was embedded as {kind!r}, which this version of glr does not know "
                       f"({', '.join(EMBEDDINGS)}): rebuild it with `python -m glr retrieval RUN --rebuild`")
    return kind


class Mirrored:
    """A backbone that sees each image of the batch mirrored left to right (image width is axis 2).

    It has the backbone's weights (`get_weights`, so the ONNX extractor can key and export it)
    and a name of its own, so its exported extractor is never confused with the plain one.
    """

    def __init__(self, backbone):
        self.backbone = backbone
        self.name = f"{getattr(backbone, 'name', 'backbone')}_mirror"

    def __call__(self, x, training=False):
        import tensorflow as tf

        return self.backbone(tf.reverse(x, axis=[2]), training=training)

    def get_weights(self):
        """The backbone's weights."""
        return self.backbone.get_weights()


def mirrored(backbone) -> Mirrored:
    """The mirrored view of `backbone`, one per backbone (its traced function is then reused)."""
    try:
        return _MIRRORS[backbone]
    except (KeyError, TypeError):
        pass
    mirror = Mirrored(backbone)
    try:
        _MIRRORS[backbone] = mirror
    except TypeError:
        pass
    return mirror


def embed_views(get_backbone: Callable[[], object], paths: Sequence[str], cache, *, flip: bool, input_size: int,
                preprocess: Callable | None, batch_size: int) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
    """(centre views' features, mirror views' features or None without `flip`, ok-mask), through the feature cache.

    `get_backbone` is called only when something is missing from `cache` (None: no cache).
    """
    from glr.backbones.feature_cache import cached_features, cached_view
    from glr.backbones.features import content_digest, extract_features

    paths = [str(p) for p in paths]
    digests = [content_digest(p) for p in paths]
    common = dict(input_size=input_size, preprocess=preprocess, batch_size=batch_size)
    feats, ok, _ = cached_features(get_backbone, paths, digests, 0, cache, **common)
    if not flip:
        return feats, None, ok

    def compute(todo_paths, _digests, engine, on_engine):
        return extract_features(mirrored(get_backbone()), todo_paths, engine=engine, on_engine=on_engine, **common)

    mirror, ok_mirror, _ = cached_view(compute, paths, digests, MIRROR_VIEW, cache)
    return feats, mirror.reshape(feats.shape), ok & ok_mirror


def average(centre: np.ndarray, mirror: np.ndarray | None) -> np.ndarray:
    """The embedding: the centre view's features, or their mean with the mirror view's."""
    return centre if mirror is None else (centre + mirror) / 2


def embed_photos(get_backbone: Callable[[], object], paths: Sequence[str], cache, *, flip: bool, input_size: int,
                 preprocess: Callable | None, batch_size: int) -> tuple[np.ndarray, np.ndarray]:
    """(embeddings, ok-mask) of the photos' clean centre views, flip-averaged when `flip` (see `embed_views`)."""
    centre, mirror, ok = embed_views(get_backbone, paths, cache, flip=flip, input_size=input_size,
                                     preprocess=preprocess, batch_size=batch_size)
    return average(centre, mirror), ok

"""Flip averaging: a photo's embedding is the mean of its centre view's and its mirror image's pooled features.

benchmarks/bench_embeddings.py measured it as the only embedding variant that helped on both
the demo and wonders7 (left-out classes' photos called unknown 0.363 -> 0.385 and 0.546 ->
0.573, distractors and kNN top-1 no worse; benchmarks/README.md). A landmark photographed
from the other side of the street is close to a mirror image of it, and averaging the two
views makes the embedding blind to left and right, so such a photo finds its neighbours.

A run's index records how it was embedded (`retrieval.json`'s "embedding": "flip", "single"
for one view, or "rmac", flip-averaged regions of the map (glr.retrieval.regional), which a new
run gets; an index built before the record has one view). The predictor embeds
queries the same way as the index, and the head classifies the same (averaged) features, as
the benchmark measured. `python -m glr retrieval RUN --rebuild` re-embeds an older run (by regions now).

The mirror views of the training photos are kept in the feature cache under a view of their
own (`MIRROR_VIEW`), beside the clean view 0, so a rebuild or a second run computes nothing.
A training run computes them with its augmented views, from the same decode, and trains its
head on them too (glr.training.trainer): the index step then runs no backbone pass of its own.
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from glr.backbones.feature_cache import MIRROR_VIEW  # noqa: F401 (re-exported: the mirror views' cache name)
from glr.errors import GlrError

EMBEDDINGS = ("single", "flip", "rmac")
EMBEDDING = "rmac"  # what a new index uses where it can (glr.retrieval.regional.index_kind), else "flip"
LEGACY_EMBEDDING = "single"  # an index whose retrieval.json does not say
MIRRORED = ("flip", "rmac")  # the kinds whose head classifies the mean of the centre crop's and the mirror's features


def run_embedding(retrieval: dict | None) -> str:
    """How a run's index embeds photos (one of EMBEDDINGS), from its retrieval evaluation (None: no index)."""
    kind = (retrieval or {}).get("embedding", LEGACY_EMBEDDING)
    if kind not in EMBEDDINGS:
        raise GlrError(f"the index was embedded as {kind!r}, which this version of glr does not know "
                       f"({', '.join(EMBEDDINGS)}): rebuild it with `python -m glr retrieval RUN --rebuild`")
    return kind


def head_embedding(run) -> str:
    """How the run's head sees a photo: "flip" (the mean of the photo's and its mirror's features) or "single", from
    its index's retrieval.json (an index that cannot be read, or none: "single", as runs before flip averaging).

    A regional index ("rmac", glr.retrieval.regional) searches by other vectors, but its head sees "flip".
    """
    from glr.retrieval.run_index import load_retrieval  # it reads this module

    try:
        kind = run_embedding(load_retrieval(run))
        return "flip" if kind in MIRRORED else kind
    except GlrError:
        return LEGACY_EMBEDDING


def embed_views(get_backbone: Callable[[], object], paths: Sequence[str], cache, *, flip: bool, input_size: int,
                preprocess: Callable | None, batch_size: int) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
    """(centre views' features, mirror views' features or None without `flip`, ok-mask), through the feature cache.

    `get_backbone` is called only when something is missing from `cache` (None: no cache).
    """
    from glr.backbones.feature_cache import cached_features, cached_views
    from glr.backbones.features import content_digest

    paths = [str(p) for p in paths]
    digests = [content_digest(p) for p in paths]
    common = dict(input_size=input_size, preprocess=preprocess, batch_size=batch_size)
    if not flip:
        feats, ok, _ = cached_features(get_backbone, paths, digests, 0, cache, **common)
        return feats, None, ok
    # Both views from one decode; a training run has usually cached them already (its views include the mirror).
    (feats, mirror), ok, _ = cached_views(get_backbone, paths, digests, [0, MIRROR_VIEW], cache, **common)
    return feats, mirror, ok


def average(centre: np.ndarray, mirror: np.ndarray | None) -> np.ndarray:
    """The embedding: the centre view's features, or their mean with the mirror view's."""
    return centre if mirror is None else (centre + mirror) / 2

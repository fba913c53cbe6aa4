"""Embedding variants for retrieval and the unknown verdict: pooling, flip averaging, whitening, known scores.

The run's head classifies the average pooling of the backbone's last feature map, flip-averaged
since that won here (glr.retrieval.flip); its index holds regions of the same map since they won
in turn (glr.retrieval.regional, measured by benchmarks/bench_regional.py). The variants here are
what benchmarks/bench_embeddings.py measures, on kNN top-1 and on the open-set figures:
- **pooling**: average, or generalised-mean (GeM, p = 3) pooling of the same map, which
  weighs the strongest activations more;
- **flip**: the mean of a photo's embedding and its mirror image's (one more backbone pass);
- **whitening**: PCA with whitening fitted on the index's own (training) embeddings, applied
  alike to the index and to every query;
- **known score**: how the head's confidence, the nearest similarity and the margin between
  the two best classes' similarities combine into the score the unknown threshold cuts.
  Every formula is fixed beforehand: nothing is fitted on left-out photos or distractors.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from glr.errors import GlrError
from glr.retrieval.recognition import class_margin

POOLINGS = ("avg", "gem")  # the order of glr.backbones.features.pooled_features' views (then the mirror's)


def view_embeddings(pooled: np.ndarray, pooling: str = "avg", flip: bool = False) -> np.ndarray:
    """(N, D) embeddings from `pooled_features`' (N, 4, D) views: one pooling, alone or averaged with its mirror."""
    pooled = np.asarray(pooled, np.float32)
    if pooling not in POOLINGS:
        raise GlrError(f"unknown pooling {pooling!r}: use {' or '.join(POOLINGS)}")
    j = POOLINGS.index(pooling)
    return (pooled[:, j] + pooled[:, j + len(POOLINGS)]) / 2 if flip else pooled[:, j]


def gem_numpy(fmap: np.ndarray, p: float = 3.0, eps: float = 1e-6) -> np.ndarray:
    """GeM pooling of a (N, H, W, D) map in NumPy: the reference `glr.backbones.features.gem_pool` is tested against."""
    x = np.maximum(np.asarray(fmap, np.float64), eps)
    return (np.mean(x ** p, axis=(1, 2)) ** (1.0 / p)).astype(np.float32)


def _unit(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, np.float32)
    return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)


@dataclass
class Whitening:
    """PCA whitening fitted on unit-length index embeddings: x -> unit((unit(x) - mean) @ projection)."""

    mean: np.ndarray  # (D,)
    projection: np.ndarray  # (D, d): principal axes divided by the square root of their variance

    @classmethod
    def fit(cls, vectors: np.ndarray, dims: int | None = None) -> "Whitening":
        """sklearn's PCA(whiten=True) on the unit-length `vectors`, keeping `dims` axes (at most N - 1 and D)."""
        from sklearn.decomposition import PCA

        x = _unit(vectors)
        if len(x) < 3:
            raise GlrError(f"whitening needs at least 3 index photos, got {len(x)}")
        keep = min(dims or x.shape[1], x.shape[0] - 1, x.shape[1])
        pca = PCA(keep, whiten=True, random_state=0).fit(x)
        scale = np.sqrt(np.maximum(pca.explained_variance_, 1e-12))
        return cls(pca.mean_.astype(np.float32), (pca.components_.T / scale).astype(np.float32))

    def apply(self, vectors: np.ndarray) -> np.ndarray:
        """The whitened unit-length embeddings (N, d): the same map for index and queries."""
        x = _unit(vectors)
        if x.shape[1] != len(self.mean):
            raise GlrError(f"embeddings have {x.shape[1]} dimensions; the whitening was fitted on {len(self.mean)}")
        return _unit((x - self.mean) @ self.projection)


# Fixed formulas of the known score, from the head's probabilities, the k nearest similarities and their classes.
KNOWN_SCORES = {
    "head+top": lambda probs, sims, classes: np.mean([probs.max(1), sims[:, 0]], axis=0),
    "head+top+margin": lambda probs, sims, classes: np.mean([probs.max(1), sims[:, 0], class_margin(sims, classes)], axis=0),
    "head+margin": lambda probs, sims, classes: np.mean([probs.max(1), class_margin(sims, classes)], axis=0),
    "top+margin": lambda probs, sims, classes: np.mean([sims[:, 0], class_margin(sims, classes)], axis=0),
}


def known_scores(formula: str, probs: np.ndarray, sims: np.ndarray, neighbour_classes: np.ndarray) -> np.ndarray:
    """The known score of each photo by one of `KNOWN_SCORES`."""
    if formula not in KNOWN_SCORES:
        raise GlrError(f"unknown known-score formula {formula!r}: use one of {', '.join(KNOWN_SCORES)}")
    return np.asarray(KNOWN_SCORES[formula](np.asarray(probs, np.float32), np.asarray(sims, np.float32),
                                            np.asarray(neighbour_classes)), np.float32)

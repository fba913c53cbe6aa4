"""glr.retrieval.embeddings: view choice, GeM reference, whitening fitted once and applied alike, class margin, known scores."""

import numpy as np
import pytest

from glr.errors import GlrError
from glr.retrieval import embeddings as emb


def test_view_embeddings_pick_a_pooling_and_average_the_mirror():
    pooled = np.arange(2 * 4 * 3, dtype=np.float32).reshape(2, 4, 3)
    assert np.array_equal(emb.view_embeddings(pooled, "avg"), pooled[:, 0])
    assert np.array_equal(emb.view_embeddings(pooled, "gem"), pooled[:, 1])
    assert np.allclose(emb.view_embeddings(pooled, "gem", flip=True), (pooled[:, 1] + pooled[:, 3]) / 2)
    # Symmetric: a photo and its mirror (views swapped) get the same flip-averaged embedding.
    mirror = pooled[:, [2, 3, 0, 1]]
    assert np.allclose(emb.view_embeddings(mirror, "avg", True), emb.view_embeddings(pooled, "avg", True))
    with pytest.raises(GlrError, match="pooling"):
        emb.view_embeddings(pooled, "max")


def test_gem_on_a_known_map():
    fmap = np.zeros((1, 2, 2, 2), np.float32)
    fmap[0, :, :, 0] = 2.0  # constant: GeM = the constant
    fmap[0, 0, 0, 1] = 4.0  # one hot cell: (4^3 / 4)^(1/3) = 4^(2/3), between the mean (1) and the max (4)
    out = emb.gem_numpy(fmap, p=3)
    assert out.shape == (1, 2)
    assert out[0, 0] == pytest.approx(2.0, rel=1e-5) and out[0, 1] == pytest.approx(4 ** (2 / 3), rel=1e-4)
    assert emb.gem_numpy(fmap, p=1)[0, 1] == pytest.approx(1.0, rel=1e-4)  # p = 1 is average pooling


def test_whitening_is_fitted_on_the_index_and_applied_alike():
    rng = np.random.default_rng(0)
    scales = np.r_[10.0, 5.0, np.ones(6)]
    train = rng.normal(size=(200, 8)) * scales + 3.0
    w = emb.Whitening.fit(train)
    white = w.apply(train)
    assert white.shape == (200, 8) and np.allclose(np.linalg.norm(white, axis=1), 1.0, atol=1e-5)
    # Whitened, no direction dominates: the covariance's eigenvalues are close to each other.
    eig = np.linalg.eigvalsh(np.cov(white.T))
    raw = np.linalg.eigvalsh(np.cov((train / np.linalg.norm(train, axis=1, keepdims=True)).T))
    assert eig.max() / eig.min() < 3 < raw.max() / raw.min()
    # A query gets exactly the map its copy in the index got.
    assert np.allclose(w.apply(train[:5]), white[:5], atol=1e-6)
    assert emb.Whitening.fit(train, dims=3).apply(train).shape == (200, 3)
    assert emb.Whitening.fit(train[:4]).projection.shape == (8, 3)  # at most N - 1 axes
    with pytest.raises(GlrError, match="dimensions"):
        w.apply(np.ones((1, 5)))
    with pytest.raises(GlrError, match="at least 3"):
        emb.Whitening.fit(train[:2])


def test_known_score_formulas():
    probs = np.array([[0.8, 0.2], [0.5, 0.5]], np.float32)
    sims = np.array([[0.9, 0.5], [0.6, 0.6]], np.float32)
    classes = np.array([[0, 1], [0, 1]])
    assert emb.known_scores("head+top", probs, sims, classes) == pytest.approx([0.85, 0.55])
    assert emb.known_scores("head+top+margin", probs, sims, classes) == pytest.approx([(0.8 + 0.9 + 0.4) / 3, 1.1 / 3])
    assert emb.known_scores("head+margin", probs, sims, classes) == pytest.approx([0.6, 0.25])
    with pytest.raises(GlrError, match="formula"):
        emb.known_scores("magic", probs, sims, classes)

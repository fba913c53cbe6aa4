"""glr.retrieval.index: exact search against brute force, the ANN backend's recall, save and load."""

import numpy as np
import pandas as pd
import pytest

from glr.retrieval import index as retrieval
from glr.errors import GlrError
from glr.retrieval.index import EmbeddingIndex, exact_search, normalize


def items(n):
    return pd.DataFrame({"id": [f"{i:016x}" for i in range(n)], "landmark_id": np.arange(n) % 7,
                         "name": [f"L{i % 7}" for i in range(n)], "path": [f"/img/{i}.jpg" for i in range(n)]})


def clustered(n, dim, classes, seed, noise=0.6):
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((classes, dim))
    return normalize(centres[rng.integers(0, classes, n)] + noise * rng.standard_normal((n, dim)))


@pytest.mark.parametrize("n, k", [(1, 1), (50, 5), (300, 300), (300, 500), (2500, 10)])
def test_exact_search_equals_brute_force(n, k):
    rng = np.random.default_rng(n)
    base, queries = normalize(rng.standard_normal((n, 16))), normalize(rng.standard_normal((40, 16)))
    sims, idx = exact_search(base, queries, k)
    full = queries @ base.T
    want = np.argsort(-full, axis=1, kind="stable")[:, :min(k, n)]
    assert idx.shape == (40, min(k, n))
    np.testing.assert_array_equal(idx, want)
    np.testing.assert_allclose(sims, np.take_along_axis(full, want, axis=1), rtol=1e-6)


def test_exact_search_breaks_ties_by_lower_index():
    base = np.array([[1, 0], [0, 1], [1, 0], [1, 0]], np.float32)
    sims, idx = exact_search(base, np.array([[1, 0]], np.float32), 3)
    assert idx.tolist() == [[0, 2, 3]] and sims.tolist() == [[1, 1, 1]]


def test_exact_search_in_chunks(monkeypatch):
    monkeypatch.setattr(retrieval, "QUERY_CHUNK", 7)
    base, queries = clustered(200, 8, 5, 0), clustered(50, 8, 5, 1)
    np.testing.assert_array_equal(exact_search(base, queries, 4)[1],
                                  np.argsort(-(queries @ base.T), axis=1, kind="stable")[:, :4])


def test_index_normalises_and_returns_cosines():
    rng = np.random.default_rng(0)
    raw = rng.standard_normal((100, 12)) * rng.uniform(0.1, 50, (100, 1))  # lengths must not matter
    index = EmbeddingIndex(raw, items(100))
    query = raw[17] * 3.0
    table = index.neighbours(query, 3)
    assert table["id"].iloc[0] == f"{17:016x}" and abs(table["similarity"].iloc[0] - 1.0) < 1e-3  # float16 storage
    cos = normalize(raw) @ normalize(query[None])[0]
    np.testing.assert_allclose(table["similarity"], np.sort(cos)[::-1][:3], atol=2e-3)
    assert list(table.columns) == ["id", "landmark_id", "name", "path", "similarity"]


def test_ann_backend_recall_against_exact():
    base, queries = clustered(3000, 32, 60, 0), clustered(200, 32, 60, 0)[:200]
    exact = EmbeddingIndex(base, items(3000), backend="exact")
    ann = EmbeddingIndex(base, items(3000), backend="faiss")
    assert exact.backend == "exact" and ann.backend == "faiss"
    es, ei = exact.search(queries, 10)
    as_, ai = ann.search(queries, 10)
    recall = np.mean([len(set(a) & set(e)) / 10 for a, e in zip(ai, ei)])
    assert recall >= 0.95
    # The similarities it reports are the true cosines of the items it returns.
    np.testing.assert_allclose(as_, np.einsum("qd,qkd->qk", normalize(queries), exact.vectors[ai]), atol=1e-5)


def test_auto_backend_switches_above_the_limit(monkeypatch):
    monkeypatch.setattr(retrieval, "EXACT_LIMIT", 99)
    assert EmbeddingIndex(clustered(99, 8, 3, 0), items(99)).backend == "exact"
    assert EmbeddingIndex(clustered(100, 8, 3, 0), items(100)).backend == "faiss"


def test_save_and_load_round_trip(tmp_path):
    base = clustered(400, 24, 9, 2)
    index = EmbeddingIndex(base, items(400))
    index.save(tmp_path / "index")
    loaded = EmbeddingIndex.load(tmp_path / "index")
    pd.testing.assert_frame_equal(loaded.items, index.items, check_dtype=False)
    queries = clustered(30, 24, 9, 3)
    s1, i1 = index.search(queries, 5)
    s2, i2 = loaded.search(queries, 5)
    np.testing.assert_allclose(s1, s2, atol=2e-3)  # stored as float16
    assert (i1[:, 0] == i2[:, 0]).mean() >= 0.95


def test_bad_inputs_name_the_problem(tmp_path):
    with pytest.raises(GlrError, match="vectors.npy is missing"):
        EmbeddingIndex.load(tmp_path)
    EmbeddingIndex(clustered(10, 4, 2, 0), items(10)).save(tmp_path)
    (tmp_path / "vectors.npy").write_bytes(b"not numpy")
    with pytest.raises(GlrError, match="damaged"):
        EmbeddingIndex.load(tmp_path)
    with pytest.raises(GlrError, match="10 vectors but 9 items"):
        EmbeddingIndex(clustered(10, 4, 2, 0), items(9))
    with pytest.raises(GlrError, match="4 dimensions; the index has 8"):
        EmbeddingIndex(clustered(10, 8, 2, 0), items(10)).search(np.ones((1, 4)), 3)
    with pytest.raises(GlrError, match="unknown index backend"):
        EmbeddingIndex(clustered(10, 8, 2, 0), items(10), backend="annoy")

"""glr.retrieval.index above EXACT_LIMIT: the compressed faiss index's recall, and its file in the index folder.

EXACT_LIMIT is lowered so that a few thousand tiny vectors take the large-index path.
"""

import json
import logging

import numpy as np
import pandas as pd
import pytest

from glr.retrieval import index as retrieval
from glr.retrieval.index import ANN_FILE, ANN_META, EmbeddingIndex, exact_search, normalize

N, DIM = 4000, 64


def items(n):
    return pd.DataFrame({"id": [f"{i:016x}" for i in range(n)], "landmark_id": np.arange(n) % 7,
                         "name": [f"L{i % 7}" for i in range(n)], "path": [f"/img/{i}.jpg" for i in range(n)]})


def landmarks(n, seed, classes=200, dim=DIM):
    """Photos of `classes` landmarks: each a centre plus noise (same-landmark cosines about 0.6)."""
    centres = np.random.default_rng(0).standard_normal((classes, dim))
    rng = np.random.default_rng(seed)
    return normalize(centres[rng.integers(0, classes, n)] + 0.8 * rng.standard_normal((n, dim)))


@pytest.fixture
def large(monkeypatch):
    monkeypatch.setattr(retrieval, "EXACT_LIMIT", 1000)


def test_the_large_index_recalls_what_exact_search_finds(large):
    base, queries = landmarks(N, 1), landmarks(300, 2)
    index = EmbeddingIndex(base, items(N))
    assert index.backend == "faiss" and index.vectors.dtype == np.float16  # half the memory of float32
    sims, idx = index.search(queries, 10)
    _, truth = exact_search(index.vectors.astype(np.float32), normalize(queries), 10)
    assert np.mean(idx[:, 0] == truth[:, 0]) >= 0.95
    assert np.mean([len(set(a) & set(t)) / 10 for a, t in zip(idx, truth)]) >= 0.95
    # Best first, and the similarities are the true cosines of the stored vectors.
    assert (np.diff(sims, axis=1) <= 0).all()
    np.testing.assert_allclose(sims, np.einsum("qd,qkd->qk", normalize(queries), index.vectors[idx].astype(np.float32)),
                               atol=1e-5)


def test_more_neighbours_than_the_probed_lists_hold(large):
    index = EmbeddingIndex(landmarks(1500, 1), items(1500))
    sims, idx = index.search(landmarks(3, 2), 1500)
    assert sorted(idx[0]) == list(range(1500)) and (np.diff(sims, axis=1) <= 0).all()


def test_save_and_load_answer_the_same_without_rebuilding(large, tmp_path, monkeypatch):
    index = EmbeddingIndex(landmarks(N, 1), items(N))
    queries = landmarks(50, 2)
    before = index.search(queries, 10)
    index.save(tmp_path)
    meta = json.loads((tmp_path / ANN_META).read_text())
    assert (meta["count"], meta["dim"]) == (N, DIM) and (tmp_path / ANN_FILE).stat().st_size > 0
    monkeypatch.setattr(retrieval, "build_ivf_pq", lambda *a, **k: pytest.fail("the faiss index was rebuilt"))
    loaded = EmbeddingIndex.load(tmp_path)
    after = loaded.search(queries, 10)
    np.testing.assert_array_equal(after[1], before[1])
    np.testing.assert_allclose(after[0], before[0], atol=1e-6)


def saved(tmp_path, n=N, seed=1):
    EmbeddingIndex(landmarks(n, seed), items(n)).save(tmp_path)
    return tmp_path


@pytest.mark.parametrize("damage, says", [
    (lambda f: (f / ANN_FILE).write_bytes((f / ANN_FILE).read_bytes()[:-100]), "damaged"),
    (lambda f: (f / ANN_FILE).write_bytes(b"\0" * 1000), "damaged"),
    (lambda f: (f / ANN_META).write_text("{not json"), "unreadable"),
    (lambda f: (f / ANN_FILE).unlink() or (f / ANN_META).unlink(), "older glr"),
])
def test_a_damaged_or_missing_faiss_file_is_rebuilt_once(large, tmp_path, caplog, damage, says, monkeypatch):
    folder = saved(tmp_path)
    queries = landmarks(20, 2)
    want = EmbeddingIndex.load(folder).search(queries, 5)
    damage(folder)
    with caplog.at_level(logging.WARNING, logger="glr.retrieval.index"):
        loaded = EmbeddingIndex.load(folder)
        assert loaded.backend == "faiss"
        got = loaded.search(queries, 5)
    assert says in caplog.text and "building the similarity index" in caplog.text
    np.testing.assert_array_equal(got[1], want[1])  # the rebuild is deterministic
    # ...and it was saved: the next load reads it.
    monkeypatch.setattr(retrieval, "build_ivf_pq", lambda *a, **k: pytest.fail("the faiss index was rebuilt"))
    np.testing.assert_array_equal(EmbeddingIndex.load(folder).search(queries, 5)[1], want[1])


def test_a_faiss_file_of_other_vectors_is_stale(large, tmp_path, caplog):
    folder, other = saved(tmp_path / "a", seed=1), saved(tmp_path / "b", seed=3)
    (folder / ANN_FILE).write_bytes((other / ANN_FILE).read_bytes())  # the same count and dimension
    (folder / ANN_META).write_text((other / ANN_META).read_text())
    queries = landmarks(20, 2)
    with caplog.at_level(logging.WARNING, logger="glr.retrieval.index"):
        sims, idx = EmbeddingIndex.load(folder).search(queries, 5)
    assert "stale" in caplog.text
    _, truth = exact_search(EmbeddingIndex.load(folder).vectors.astype(np.float32), normalize(queries), 5)
    assert np.mean(idx[:, 0] == truth[:, 0]) >= 0.95
    meta = json.loads((folder / ANN_META).read_text())
    assert meta["vectors_sha256"] != json.loads((other / ANN_META).read_text())["vectors_sha256"]


def test_a_read_only_folder_still_searches(large, tmp_path, caplog, monkeypatch):
    folder = saved(tmp_path)
    (folder / ANN_FILE).unlink()

    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(retrieval, "write_with", full_disk)
    with caplog.at_level(logging.WARNING, logger="glr.retrieval.index"):
        sims, idx = EmbeddingIndex.load(folder).search(landmarks(5, 2), 3)
    assert idx.shape == (5, 3) and "could not be saved" in caplog.text

"""glr.retrieval.index above EXACT_LIMIT: the compressed faiss index's recall, and its file in the index folder.

EXACT_LIMIT is lowered so that a few thousand tiny vectors take the large-index path. One
index is built and saved per module; each test that needs a rebuild copies its folder.
"""

import hashlib
import json
import logging
import shutil

import numpy as np
import pandas as pd
import pytest

from glr.errors import GlrError
from glr.retrieval import index as retrieval
from glr.retrieval.index import ANN_FILE, ANN_META, EmbeddingIndex, exact_search, normalize

N, DIM = 2000, 32


def items(n):
    return pd.DataFrame({"id": [f"{i:016x}" for i in range(n)], "landmark_id": np.arange(n) % 7,
                         "name": [f"L{i % 7}" for i in range(n)], "path": [f"/img/{i}.jpg" for i in range(n)]})


def landmarks(n, seed, classes=100, dim=DIM):
    """Photos of `classes` landmarks: each a centre plus noise (same-landmark cosines about 0.6)."""
    centres = np.random.default_rng(0).standard_normal((classes, dim))
    rng = np.random.default_rng(seed)
    return normalize(centres[rng.integers(0, classes, n)] + 0.8 * rng.standard_normal((n, dim)))


QUERIES = landmarks(200, 2)


@pytest.fixture(autouse=True)
def large(monkeypatch):
    monkeypatch.setattr(retrieval, "EXACT_LIMIT", 1000)


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """faiss on one thread: on a busy machine, its threads' barriers cost more than tiny indexes gain."""
    import faiss

    threads = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    yield
    faiss.omp_set_num_threads(threads)


@pytest.fixture(scope="module")
def built(tmp_path_factory, one_thread):
    """An index over N vectors, its answers to QUERIES (k=10) before saving, and the folder it was saved to."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(retrieval, "EXACT_LIMIT", 1000)
        index = EmbeddingIndex(landmarks(N, 1), items(N))
        answers = index.search(QUERIES, 10)
        folder = index.save(tmp_path_factory.mktemp("index"))
    return index, answers, folder


@pytest.fixture
def folder(built, tmp_path):
    """A copy of the saved index folder, free to damage."""
    return shutil.copytree(built[2], tmp_path / "index")


@pytest.fixture
def no_rebuild(monkeypatch):
    monkeypatch.setattr(retrieval, "build_ivf_pq", lambda *a, **k: pytest.fail("the faiss index was rebuilt"))


def test_the_large_index_recalls_what_exact_search_finds(built):
    index, (sims, idx), _ = built
    assert index.backend == "faiss" and index.vectors.dtype == np.float16  # half the memory of float32
    _, truth = exact_search(index.vectors.astype(np.float32), normalize(QUERIES), 10)
    assert np.mean(idx[:, 0] == truth[:, 0]) >= 0.95
    assert np.mean([len(set(a) & set(t)) / 10 for a, t in zip(idx, truth)]) >= 0.9
    # Best first, and the similarities are the true cosines of the stored vectors.
    assert (np.diff(sims, axis=1) <= 0).all()
    np.testing.assert_allclose(sims, np.einsum("qd,qkd->qk", normalize(QUERIES), index.vectors[idx].astype(np.float32)),
                               atol=1e-5)


def test_more_neighbours_than_the_probed_lists_hold(built):
    sims, idx = built[0].search(QUERIES[:2], N)  # the probed lists hold fewer: all lists are searched
    assert sorted(idx[0]) == list(range(N)) and (np.diff(sims, axis=1) <= 0).all()


def test_save_and_load_answer_the_same_without_rebuilding(built, no_rebuild):
    _, (sims, idx), folder = built
    meta = json.loads((folder / ANN_META).read_text())
    assert (meta["count"], meta["dim"]) == (N, DIM) and (folder / ANN_FILE).stat().st_size > 0
    loaded = EmbeddingIndex.load(folder)
    got = loaded.search(QUERIES, 10)
    np.testing.assert_array_equal(got[1], idx)
    np.testing.assert_allclose(got[0], sims, atol=1e-6)


@pytest.mark.parametrize("damage, says", [
    (lambda f: (f / ANN_FILE).write_bytes((f / ANN_FILE).read_bytes()[:-100]), "damaged"),
    (lambda f: (f / ANN_FILE).unlink() or (f / ANN_META).unlink(), "older glr"),
])
def test_a_damaged_or_missing_faiss_file_is_rebuilt_once(built, folder, caplog, damage, says, monkeypatch):
    damage(folder)
    with caplog.at_level(logging.WARNING, logger="glr.retrieval.index"):
        loaded = EmbeddingIndex.load(folder)
        assert loaded.backend == "faiss"
        got = loaded.search(QUERIES, 10)
    assert says in caplog.text and "building the similarity index" in caplog.text
    np.testing.assert_array_equal(got[1], built[1][1])  # the build is deterministic
    # ...and it was saved: the next load reads it.
    monkeypatch.setattr(retrieval, "build_ivf_pq", lambda *a, **k: pytest.fail("the faiss index was rebuilt"))
    np.testing.assert_array_equal(EmbeddingIndex.load(folder).search(QUERIES, 10)[1], built[1][1])


@pytest.mark.parametrize("damage, says", [
    (lambda f: (f / ANN_META).write_text("{not json"), "unreadable"),
    (lambda f: (f / ANN_FILE).write_bytes(b"\0" * 1000), "checksum"),
    (lambda f: (f / ANN_FILE).write_bytes(b"\0" * 1000) and (f / ANN_META).write_text(json.dumps(
        {**json.loads((f / ANN_META).read_text()), "index_sha256": hashlib.sha256(b"\0" * 1000).hexdigest()})),
     "faiss cannot read it"),  # a file whose checksum matches but which faiss cannot read
])
def test_every_damage_is_detected_before_faiss_reads_the_file(folder, damage, says):
    damage(folder)
    searcher = EmbeddingIndex.load(folder)._searcher
    assert says in searcher._read() and searcher._index is None


def test_a_faiss_file_of_other_vectors_is_stale(folder, caplog):
    other = landmarks(N, 3)  # the same count and dimension, other photos
    np.save(folder / "vectors.npy", normalize(other).astype(np.float16))
    with caplog.at_level(logging.WARNING, logger="glr.retrieval.index"):
        index = EmbeddingIndex.load(folder)
        sims, idx = index.search(QUERIES, 10)
    assert "stale" in caplog.text
    _, truth = exact_search(index.vectors.astype(np.float32), normalize(QUERIES), 10)
    assert np.mean(idx[:, 0] == truth[:, 0]) >= 0.95


def test_a_folder_that_cannot_be_written_still_searches(folder, caplog, monkeypatch):
    (folder / ANN_FILE).unlink()

    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(retrieval, "write_with", full_disk)
    with caplog.at_level(logging.WARNING, logger="glr.retrieval.index"):
        sims, idx = EmbeddingIndex.load(folder).search(QUERIES[:5], 3)
    assert idx.shape == (5, 3) and "could not be saved" in caplog.text


@pytest.mark.parametrize("how", ["empty", "cut"])
def test_an_empty_or_cut_vectors_file_is_a_glr_error_naming_it(tmp_path, how):
    # An empty vectors.npy was numpy's EOFError out of EmbeddingIndex.load (only glr.retrieval.run_index caught it).
    items = pd.DataFrame({"id": ["a", "b"], "landmark_id": [1, 2], "name": ["A", "B"], "path": ["a.jpg", "b.jpg"]})
    EmbeddingIndex(np.eye(2, 8, dtype=np.float32), items).save(tmp_path)
    data = (tmp_path / "vectors.npy").read_bytes()
    (tmp_path / "vectors.npy").write_bytes(b"" if how == "empty" else data[:len(data) // 2])
    with pytest.raises(GlrError, match=f"{tmp_path / 'vectors.npy'}: the embedding index is damaged"):
        EmbeddingIndex.load(tmp_path)

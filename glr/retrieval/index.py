"""The embedding index: L2-normalised image embeddings with their ids and labels, searched by cosine.

Every winner of the Google landmark competitions recognised by retrieval: find the most
similar training photos, then vote. This module holds the search, behind one small
interface (`EmbeddingIndex.search`):
- up to `EXACT_LIMIT` vectors, exact search: one matrix product in NumPy, which is exact
  and, at that size, faster than building any graph;
- above it, an HNSW graph from faiss-cpu. benchmarks/bench_index.py measured faiss-cpu and
  usearch side by side on the same 100k x 1280 vectors: faiss built its graph 5x faster,
  answered faster and recalled more (benchmarks/README.md has the figures).

On disk an index is a folder: `vectors.npy` (float16 halves the size; cosines change by
about 1e-3) and `items.csv` (id, landmark_id, name, path), written atomically. The vectors are rounded to
float16 when the index is built, so an index answers the same before and after a save.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
import pandas as pd

from glr.atomic import write_csv, write_with
from glr.errors import GlrError

EXACT_LIMIT = 50_000
# HNSW settings: links per node, and how wide the graph walk is when building and searching.
HNSW_LINKS, HNSW_BUILD_DEPTH, HNSW_SEARCH_DEPTH = 32, 100, 128
QUERY_CHUNK = 1024  # queries per matrix product: bounds memory at QUERY_CHUNK x N floats
ITEM_COLUMNS = ["id", "landmark_id", "name", "path"]


def normalize(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (zero rows stay zero), as float32."""
    vectors = np.asarray(vectors, np.float32)
    if vectors.ndim != 2:
        raise GlrError(f"embeddings must be a 2-D array, got shape {vectors.shape}")
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)


def exact_search(vectors: np.ndarray, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The k most similar rows of `vectors` for each query, by inner product (cosine for unit rows).

    Returns (similarities, indices), each (queries, k), best first; ties keep the lower index.
    """
    vectors, queries = np.asarray(vectors, np.float32), np.asarray(queries, np.float32)
    k = max(0, min(k, len(vectors)))
    sims = np.zeros((len(queries), k), np.float32)
    idx = np.zeros((len(queries), k), np.int64)
    if k == 0:
        return sims, idx
    for start in range(0, len(queries), QUERY_CHUNK):
        scores = queries[start:start + QUERY_CHUNK] @ vectors.T
        # argpartition finds the top k in linear time; only those k are then sorted.
        part = np.argpartition(-scores, k - 1, axis=1)[:, :k] if k < scores.shape[1] else np.tile(np.arange(k), (len(scores), 1))
        part_scores = np.take_along_axis(scores, part, axis=1)
        order = np.lexsort((part, -part_scores), axis=1)
        idx[start:start + len(scores)] = np.take_along_axis(part, order, axis=1)
        sims[start:start + len(scores)] = np.take_along_axis(part_scores, order, axis=1)
    return sims, idx


class _Exact:
    """Exact search over the vectors in memory."""

    name = "exact"

    def __init__(self, vectors: np.ndarray):
        self.vectors = vectors

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        return exact_search(self.vectors, queries, k)


class _Faiss:
    """An HNSW graph from faiss-cpu, over inner products (cosines of unit vectors); built once per loaded index."""

    name = "faiss"

    def __init__(self, vectors: np.ndarray):
        import faiss

        self.size = len(vectors)
        self.index = faiss.IndexHNSWFlat(vectors.shape[1], HNSW_LINKS, faiss.METRIC_INNER_PRODUCT)
        self.index.hnsw.efConstruction = HNSW_BUILD_DEPTH
        self.index.hnsw.efSearch = HNSW_SEARCH_DEPTH
        self.index.add(np.ascontiguousarray(vectors, np.float32))

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        k = max(0, min(k, self.size))
        if k == 0 or not len(queries):
            return np.zeros((len(queries), k), np.float32), np.zeros((len(queries), k), np.int64)
        self.index.hnsw.efSearch = max(HNSW_SEARCH_DEPTH, k)  # the graph walk must see at least k items
        sims, idx = self.index.search(np.ascontiguousarray(queries, np.float32), k)
        return sims.astype(np.float32), idx.astype(np.int64)


BACKENDS = {"exact": _Exact, "faiss": _Faiss}


class EmbeddingIndex:
    """Unit-length embeddings and a table of what each one is (id, landmark_id, name, path)."""

    def __init__(self, vectors: np.ndarray, items: pd.DataFrame, backend: str = "auto"):
        # Rounded to float16 here, as on disk, so a loaded index answers exactly as the one built.
        self.vectors = normalize(vectors).astype(np.float16).astype(np.float32)
        if len(items) != len(self.vectors):
            raise GlrError(f"the index has {len(self.vectors)} vectors but {len(items)} items")
        self.items = items.reset_index(drop=True)
        if backend == "auto":
            backend = "exact" if len(self.vectors) <= EXACT_LIMIT else "faiss"
        if backend not in BACKENDS:
            raise GlrError(f"unknown index backend {backend!r}; choose from {', '.join(BACKENDS)}")
        self._searcher = BACKENDS[backend](self.vectors)

    @property
    def backend(self) -> str:
        """The name of the search in use: exact or faiss."""
        return self._searcher.name

    def __len__(self) -> int:
        return len(self.vectors)

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(similarities, row indices) of the k nearest items for each query (normalised here)."""
        queries = normalize(np.atleast_2d(queries))
        if queries.shape[1] != self.vectors.shape[1]:
            raise GlrError(f"query embeddings have {queries.shape[1]} dimensions; the index has {self.vectors.shape[1]}")
        return self._searcher.search(queries, k)

    def neighbours(self, query: np.ndarray, k: int) -> pd.DataFrame:
        """The k most similar items to one embedding, with a `similarity` column, best first."""
        sims, idx = self.search(query, k)
        return self.rows(idx[0], sims[0])

    def rows(self, idx: np.ndarray, sims: np.ndarray) -> pd.DataFrame:
        """The items at `idx` (one search result row), with their `similarity`."""
        return self.items.iloc[idx].assign(similarity=sims).reset_index(drop=True)

    def save(self, folder: str | os.PathLike) -> Path:
        """Write vectors.npy and items.csv into `folder`, each atomically."""
        folder = Path(folder)
        buf = io.BytesIO()
        np.save(buf, self.vectors.astype(np.float16), allow_pickle=False)
        write_with(folder / "vectors.npy", lambda tmp: Path(tmp).write_bytes(buf.getvalue()), suffix=".npy")
        write_csv(folder / "items.csv", self.items[ITEM_COLUMNS])
        return folder

    @classmethod
    def load(cls, folder: str | os.PathLike, backend: str = "auto") -> "EmbeddingIndex":
        """Read an index written by `save`; GlrError naming the file if it is missing or damaged."""
        folder = Path(folder)
        try:
            vectors = np.load(folder / "vectors.npy", allow_pickle=False)
            items = pd.read_csv(folder / "items.csv", dtype={"id": str, "name": str, "path": str})
        except FileNotFoundError as exc:
            raise GlrError(f"{folder}: no embedding index ({Path(exc.filename).name} is missing)") from None
        except (OSError, ValueError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
            raise GlrError(f"{folder}: the embedding index is damaged ({exc.__class__.__name__}); "
                           "rebuild it with `python -m glr retrieval RUN`") from None
        missing = [c for c in ITEM_COLUMNS if c not in items.columns]
        if missing:
            raise GlrError(f"{folder / 'items.csv'}: missing columns {missing}")
        return cls(vectors.astype(np.float32), items, backend=backend)

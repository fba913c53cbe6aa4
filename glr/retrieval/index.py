"""The embedding index: L2-normalised image embeddings with their ids and labels, searched by cosine.

Every winner of the Google landmark competitions recognised by retrieval: find the most
similar training photos, then vote. This module holds the search, behind one small
interface (`EmbeddingIndex.search`):
- up to `EXACT_LIMIT` vectors, exact search: one matrix product in NumPy, which is exact
  and, at that size, faster than building any index;
- above it, a compressed faiss index: an inverted file of product-quantised codes (IVF-PQ,
  64 bytes per 1280-d vector) whose best `RERANK` candidates are re-ranked by their exact
  cosine against the stored float16 vectors. benchmarks/bench_index_large.py chose it at
  1M x 1280 over HNSW, flat (glr's index before) and with 8-bit scalar quantisation: built
  in about 8 minutes against an extrapolated 46 and 20, in an 84 MB file against 5.4 and
  1.6 GB, with recall@10 0.993 (benchmarks/README.md has the table). Earlier,
  benchmarks/bench_index.py chose faiss-cpu over usearch.

On disk an index is a folder: `vectors.npy` (float16 halves the size; cosines change by
about 1e-3) and `items.csv` (id, landmark_id, name, path), written atomically; above the
limit also the built faiss index (`ann.faiss`) and what it was built from (`ann.json`: the
count, dimension and SHA-256 of the vectors, and the file's own SHA-256), so loading never
rebuilds. A folder without them (written before they existed), or whose faiss file is
stale or damaged, still loads: the faiss index is then built once, at the first search, a
warning says so, and it is saved into the folder. The vectors are rounded to float16 when
the index is built, so an index answers the same before and after a save.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from pathlib import Path

import numpy as np
import pandas as pd

from glr.atomic import read_csv, read_json, write_csv, write_json, write_with
from glr.errors import GlrError

log = logging.getLogger(__name__)

EXACT_LIMIT = 50_000
# The compressed index (see the docstring): lists probed per query (64, not 32: at 30k photos of
# a sparser long tail 32 recalled 0.92 of the top 10, 64 0.95; at 1M both 0.99, 2.5 vs 2.0 ms),
# dimensions per PQ sub-vector (1280 / 20 = 64 one-byte codes), candidates re-ranked exactly, k-means rounds.
IVF_PROBES, PQ_SUBDIM, RERANK, KMEANS_ITER = 64, 20, 100, 10
QUERY_CHUNK = 1024  # queries per matrix product: bounds memory at QUERY_CHUNK x N floats
ROW_CHUNK = 65_536  # vectors converted to float32 at a time: bounds memory at large sizes
ITEM_COLUMNS = ["id", "landmark_id", "name", "path"]
ANN_FILE, ANN_META = "ann.faiss", "ann.json"


def normalize(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (zero rows stay zero), as float32."""
    vectors = np.asarray(vectors, np.float32)
    if vectors.ndim != 2:
        raise GlrError(f"embeddings must be a 2-D array, got shape {vectors.shape}")
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)


def unit_float16(vectors: np.ndarray) -> np.ndarray:
    """`normalize(vectors)` rounded to float16, converted in chunks (a 1.5M x 1280 float32 copy is 7.7 GB)."""
    vectors = np.asarray(vectors)
    if vectors.ndim != 2:
        raise GlrError(f"embeddings must be a 2-D array, got shape {vectors.shape}")
    out = np.empty(vectors.shape, np.float16)
    for start in range(0, len(vectors), ROW_CHUNK):
        out[start:start + ROW_CHUNK] = normalize(vectors[start:start + ROW_CHUNK])
    return out


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


def rerank(vectors: np.ndarray, queries: np.ndarray, candidates: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The k best of each query's `candidates` (row indices, -1 for none) by exact inner product, best first.

    `vectors` may be float16: only the candidates' rows are converted.
    """
    queries, candidates = np.asarray(queries, np.float32), np.asarray(candidates, np.int64)
    k = min(k, candidates.shape[1])
    sims, idx = np.zeros((len(queries), k), np.float32), np.zeros((len(queries), k), np.int64)
    step = max(1, 8_000_000 // max(1, candidates.shape[1] * queries.shape[1]))  # 32 MB of float32 rows at a time
    for start in range(0, len(queries), step):
        cand = candidates[start:start + step]
        rows = np.asarray(vectors[np.maximum(cand, 0)], np.float32)  # (b, candidates, d)
        scores = np.matmul(rows, queries[start:start + step, :, None])[..., 0]
        scores[cand < 0] = -np.inf
        order = np.lexsort((cand, -scores), axis=1)[:, :k]
        idx[start:start + len(cand)] = np.take_along_axis(cand, order, axis=1)
        sims[start:start + len(cand)] = np.take_along_axis(scores, order, axis=1)
    return sims, idx


def ivf_lists(n: int) -> int:
    """Inverted lists for n vectors: the power of two nearest 2 sqrt(n), with 39+ training points each."""
    return int(max(1, min(2 ** round(np.log2(max(1.0, 2 * np.sqrt(n)))), n // 39)))


def ivf_pq_spec(n: int, dim: int) -> str:
    """The faiss factory string of the compressed index for n vectors of `dim` dimensions."""
    subvectors = min(m for m in range(1, dim + 1) if dim % m == 0 and dim // m <= PQ_SUBDIM)
    bits = int(np.clip(np.floor(np.log2(max(2, n // 39))), 1, 8))  # 8-bit codebooks want 256 x 39 points
    return f"IVF{ivf_lists(n)},PQ{subvectors}x{bits}"


def build_ivf_pq(vectors: np.ndarray, seed: int = 0):
    """Train and fill the compressed faiss index (inner product) on unit vectors, float16 or float32."""
    import faiss

    n, dim = vectors.shape
    index = faiss.index_factory(dim, ivf_pq_spec(n, dim), faiss.METRIC_INNER_PRODUCT)
    # Neither the lists nor the codebooks need be optimal (the re-ranking is exact); each round costs a pass.
    index.cp.niter = index.pq.cp.niter = KMEANS_ITER
    index.do_polysemous_training = False  # the factory turns it on; glr never searches by Hamming distance
    sample = np.sort(np.random.default_rng(seed).choice(n, min(n, max(50 * index.nlist, 25_600)), replace=False))
    index.train(np.asarray(vectors[sample], np.float32))
    for start in range(0, n, ROW_CHUNK):
        index.add(np.asarray(vectors[start:start + ROW_CHUNK], np.float32))
    return index


def fingerprint(vectors: np.ndarray) -> str:
    """SHA-256 of the vectors' bytes and shape: which vectors a saved faiss index was built from."""
    digest = hashlib.sha256(repr((vectors.shape, str(vectors.dtype))).encode())
    digest.update(memoryview(np.ascontiguousarray(vectors)).cast("B"))
    return digest.hexdigest()


class _Exact:
    """Exact search over the vectors in memory."""

    name = "exact"

    def __init__(self, vectors: np.ndarray):
        self.vectors = vectors

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        return exact_search(self.vectors, queries, k)


class _Faiss:
    """faiss IVF-PQ over the float16 unit vectors, re-ranked exactly; built (or read from `folder`) at first use."""

    name = "faiss"

    def __init__(self, vectors: np.ndarray, folder: Path | None = None):
        self.vectors, self.folder, self.built = vectors, folder, False
        self._index, self._digest, self._lock = None, None, threading.Lock()

    def digest(self) -> str:
        if self._digest is None:
            self._digest = fingerprint(self.vectors)
        return self._digest

    def index(self):
        """The faiss index: the saved one if it matches the vectors, else built now (and saved if it can be)."""
        with self._lock:
            if self._index is None:
                problem = "no folder" if self.folder is None else self._read()
                if self._index is None:
                    if self.folder is not None:
                        log.warning("%s: %s; building the similarity index of %d vectors once (this takes a while "
                                    "at large sizes) and saving it", self.folder, problem, len(self.vectors))
                    self._index, self.built = build_ivf_pq(self.vectors), True
                    if self.folder is not None:
                        try:
                            self._write(self.folder)
                        except OSError as exc:  # a read-only folder: the index still works, in memory
                            log.warning("%s: the built similarity index could not be saved (%s)", self.folder, exc)
            return self._index

    def _read(self) -> str:
        """Load the saved faiss index into `_index` if it is whole and current; else say what is wrong with it."""
        import faiss

        try:
            meta = read_json(self.folder / ANN_META)
            data = (self.folder / ANN_FILE).read_bytes()
        except FileNotFoundError:
            return "no saved faiss index (a folder from an older glr)"
        except (OSError, ValueError) as exc:
            return f"the saved faiss index is unreadable ({exc.__class__.__name__})"
        n, dim = self.vectors.shape
        if not isinstance(meta, dict) or (meta.get("count"), meta.get("dim")) != (n, dim):
            return "the saved faiss index is stale (its count or dimension differs from vectors.npy)"
        if meta.get("spec") != ivf_pq_spec(n, dim) or meta.get("vectors_sha256") != self.digest():
            return "the saved faiss index is stale (built from other vectors or settings)"
        if meta.get("index_sha256") != hashlib.sha256(data).hexdigest():
            return "the saved faiss index is damaged (checksum mismatch)"
        try:
            index = faiss.deserialize_index(np.frombuffer(data, np.uint8))
        except RuntimeError:
            return "the saved faiss index is damaged (faiss cannot read it)"
        if index.ntotal != n or index.d != dim:
            return "the saved faiss index is stale (its size differs from vectors.npy)"
        self._index = index
        return ""

    def _write(self, folder: Path) -> None:
        import faiss

        data = faiss.serialize_index(self._index).tobytes()
        write_with(folder / ANN_FILE, lambda tmp: Path(tmp).write_bytes(data), suffix=".faiss")
        n, dim = self.vectors.shape
        write_json(folder / ANN_META, {"spec": ivf_pq_spec(n, dim), "count": n, "dim": dim, "faiss": faiss.__version__,
                                       "vectors_sha256": self.digest(), "index_sha256": hashlib.sha256(data).hexdigest()})

    def save(self, folder: Path) -> None:
        """Write the faiss index into `folder` (building it first if needed); it then belongs to that folder."""
        self.index()
        with self._lock:
            self._write(folder)
            self.folder = folder

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        import faiss

        n = len(self.vectors)
        k = max(0, min(k, n))
        if k == 0 or not len(queries):
            return np.zeros((len(queries), k), np.float32), np.zeros((len(queries), k), np.int64)
        index, depth = self.index(), min(n, max(RERANK, k))
        queries = np.ascontiguousarray(queries, np.float32)
        _, cand = index.search(queries, depth, params=faiss.SearchParametersIVF(nprobe=min(IVF_PROBES, index.nlist)))
        short = (cand[:, k - 1] < 0)  # the probed lists held fewer than k vectors: probe them all
        if short.any():
            _, cand[short] = index.search(queries[short], depth, params=faiss.SearchParametersIVF(nprobe=index.nlist))
        return rerank(self.vectors, queries, cand, k)


BACKENDS = {"exact": _Exact, "faiss": _Faiss}


class EmbeddingIndex:
    """Unit-length embeddings and a table of what each one is (id, landmark_id, name, path)."""

    def __init__(self, vectors: np.ndarray, items: pd.DataFrame, backend: str = "auto"):
        # Rounded to float16 here, as on disk, so a loaded index answers exactly as the one built.
        self._setup(unit_float16(vectors), items, backend)

    def _setup(self, vectors16: np.ndarray, items: pd.DataFrame, backend: str, folder: Path | None = None) -> None:
        if len(items) != len(vectors16):
            raise GlrError(f"the index has {len(vectors16)} vectors but {len(items)} items")
        self.items = items.reset_index(drop=True)
        if backend == "auto":
            backend = "exact" if len(vectors16) <= EXACT_LIMIT else "faiss"
        if backend not in BACKENDS:
            raise GlrError(f"unknown index backend {backend!r}; choose from {', '.join(BACKENDS)}")
        # Exact search multiplies float32; the faiss index re-ranks from float16 (half the memory at large sizes).
        self.vectors = vectors16.astype(np.float32) if backend == "exact" else vectors16
        self._searcher = _Exact(self.vectors) if backend == "exact" else _Faiss(self.vectors, folder)

    @property
    def backend(self) -> str:
        """The name of the search in use: exact or faiss."""
        return self._searcher.name

    def __len__(self) -> int:
        return len(self.vectors)

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(similarities, row indices) of the k nearest items for each query (normalised here), best first."""
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
        """Write vectors.npy and items.csv into `folder`, each atomically; above the limit also the faiss index."""
        folder = Path(folder)
        vectors = self.vectors.astype(np.float16, copy=False)

        def write_vectors(tmp):  # straight to the file: an in-memory copy is 3.8 GB at 1.5M x 1280
            with open(tmp, "wb") as fh:
                np.save(fh, vectors, allow_pickle=False)
        write_with(folder / "vectors.npy", write_vectors, suffix=".npy")
        write_csv(folder / "items.csv", self.items[ITEM_COLUMNS])
        if isinstance(self._searcher, _Faiss):
            self._searcher.save(folder)
        return folder

    @classmethod
    def load(cls, folder: str | os.PathLike, backend: str = "auto") -> "EmbeddingIndex":
        """Read an index written by `save`; GlrError naming the file if it is missing or damaged."""
        folder = Path(folder)
        file = folder / "vectors.npy"
        try:
            vectors = np.load(file, allow_pickle=False)
            file = folder / "items.csv"
            items = read_csv(file, dtype={"id": str, "name": str, "path": str})  # a class named "None" stays so
        except FileNotFoundError as exc:
            raise GlrError(f"{folder}: no embedding index ({Path(exc.filename).name} is missing)") from None
        except EOFError:  # numpy's word for an empty .npy
            raise GlrError(f"{file}: the embedding index is damaged (an empty file); "
                           "rebuild it with `python -m glr retrieval RUN`") from None
        except (OSError, ValueError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
            raise GlrError(f"{file}: the embedding index is damaged ({exc.__class__.__name__}); "
                           "rebuild it with `python -m glr retrieval RUN`") from None
        missing = [c for c in ITEM_COLUMNS if c not in items.columns]
        if missing:
            raise GlrError(f"{folder / 'items.csv'}: missing columns {missing}")
        if vectors.ndim != 2:
            raise GlrError(f"{folder / 'vectors.npy'}: embeddings must be a 2-D array, got shape {vectors.shape}")
        index = cls.__new__(cls)
        # Saved vectors are unit float16 already; normalising again could move their last bit and their checksum.
        index._setup(vectors if vectors.dtype == np.float16 else unit_float16(vectors), items, backend, folder)
        return index

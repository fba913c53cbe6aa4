"""Which ANN library backs glr's large embedding indexes: faiss-cpu or usearch, against exact search.

Builds the same clustered, L2-normalised vectors (shaped like landmark embeddings:
class centres plus noise) into exact NumPy search, faiss HNSW and usearch HNSW, then
prints build time, query throughput and recall@10 against the exact answer, all measured
in this one run. The summary line names the library glr uses for indexes above
`glr.retrieval.index.EXACT_LIMIT`.

    .venv/bin/python benchmarks/bench_index.py            # 100k x 1280 (about 25 minutes here)
    .venv/bin/python benchmarks/bench_index.py --tiny     # a smoke run
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from glr.retrieval.index import exact_search  # noqa: E402

K = 10


def clustered(n: int, dim: int, classes: int, seed: int) -> np.ndarray:
    """Unit vectors around `classes` random centres, like embeddings of photos of landmarks."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((classes, dim)).astype(np.float32)
    x = centres[rng.integers(0, classes, n)] + 1.2 * rng.standard_normal((n, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def recall(found: np.ndarray, truth: np.ndarray) -> float:
    """Fraction of the true top-k neighbours that the ANN search returned."""
    return float(np.mean([len(set(f) & set(t)) / truth.shape[1] for f, t in zip(found, truth)]))


def timed(fn):
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def bench_faiss(base, queries):
    import faiss

    def build():
        index = faiss.IndexHNSWFlat(base.shape[1], 32, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = 100
        index.add(base)
        index.hnsw.efSearch = 64
        return index

    index, t_build = timed(build)
    (_, idx), t_query = timed(lambda: index.search(queries, K))
    return t_build, t_query, idx


def bench_usearch(base, queries):
    from usearch.index import Index

    def build():
        index = Index(ndim=base.shape[1], metric="cos", dtype="f32", connectivity=32, expansion_add=100, expansion_search=64)
        index.add(np.arange(len(base)), base)
        return index

    index, t_build = timed(build)
    matches, t_query = timed(lambda: index.search(queries, K))
    return t_build, t_query, np.asarray(matches.keys)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tiny", action="store_true", help="a few thousand vectors, for the smoke test")
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--dim", type=int, default=1280)
    parser.add_argument("--queries", type=int, default=2000)
    args = parser.parse_args(argv)
    n, dim, nq = (3000, 64, 200) if args.tiny else (args.n, args.dim, args.queries)
    base = clustered(n, dim, classes=max(10, n // 20), seed=0)
    queries = clustered(nq, dim, classes=max(10, n // 20), seed=0)[:nq] + 0  # same centres: in-distribution
    queries = (queries + 0.05 * np.random.default_rng(1).standard_normal(queries.shape).astype(np.float32))
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    print(f"{n} vectors x {dim} dims, {nq} queries, k={K}")

    (_, truth), t_exact = timed(lambda: exact_search(base, queries, K))
    print(f"exact numpy : build 0.00 s, {nq / t_exact:9.0f} queries/s, recall 1.000")
    rows = {}
    for name, fn in (("faiss-cpu", bench_faiss), ("usearch", bench_usearch)):
        t_build, t_query, idx = fn(base, queries)
        rows[name] = (t_build, nq / t_query, recall(idx, truth))
        print(f"{name:12s}: build {t_build:5.2f} s, {nq / t_query:9.0f} queries/s, recall {rows[name][2]:.3f}, "
              f"{(nq / t_query) / (nq / t_exact):.1f}x exact's speed")
    # The winner: the faster query among libraries whose recall@10 is at least 0.95.
    good = {k: v for k, v in rows.items() if v[2] >= 0.95} or rows
    best = max(good, key=lambda k: good[k][1])
    other = next(k for k in rows if k != best)
    print(f"SUMMARY index: {best} answers {rows[best][1] / (nq / t_exact):.1f}x faster than exact search at recall "
          f"{rows[best][2]:.3f} ({other}: {rows[other][1] / (nq / t_exact):.1f}x, recall {rows[other][2]:.3f}; "
          f"build {rows[best][0]:.1f} s vs {rows[other][0]:.1f} s) on {n}x{dim}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The similarity index at GLDv2 size: faiss HNSW against compressed faiss indexes, at 1M x 1280.

Synthetic embeddings shaped like GLDv2's (a long tail of landmarks: many classes of a few
photos, a few of hundreds; landmarks of one kind alike; a decaying spectrum, so the data
has fewer effective dimensions than 1280), kept in float16 as glr stores them. 1,000
held-out queries (other photos of the same landmarks) are answered by exact search
(chunked, the ground truth) and by:
- HNSW-Flat (glr's index until now: M=32, efConstruction 100, efSearch 128);
- HNSW-SQ8 (the same graph over 8-bit scalar-quantised vectors);
- IVF-SQ8 (inverted lists of 8-bit vectors, no re-ranking);
- IVF-PQ + re-ranking (glr's `build_ivf_pq`: 64-byte codes; the best 100 candidates
  re-ranked against the float16 vectors with `glr.retrieval.index.rerank`).
Each row: build time, the serialized index's size, queries/s (a batch of 1,000, faiss'
threads) and one query's median latency, recall@1 and @10 against exact. HNSW builds
too slowly for 1M here (203 s per 100k before), so HNSW (and IVF-PQ, to compare) is
measured at `--small` vectors, and HNSW's 1M build time and size are extrapolated from it
(said so in its row). The variants run in order of importance: a cut-short run keeps the 1M rows. The summary names the default glr uses above `EXACT_LIMIT`.

    nice -n 10 .venv/bin/python benchmarks/bench_index_large.py  # 1M x 1280, HNSW at 30k (29 min at load 5-25)
    .venv/bin/python benchmarks/bench_index_large.py --tiny                # a smoke run
"""

from __future__ import annotations

import math
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import header, parser, peak_rss_gb, summary  # noqa: E402

from glr.retrieval.index import (  # noqa: E402
    IVF_PROBES, KMEANS_ITER, RERANK, build_ivf_pq, exact_search, ivf_lists, ivf_pq_spec, rerank,
)

K = 10
NOISE = 0.8  # photo noise against the landmark's centre: same-landmark cosines about 0.6


class Landmarks:
    """Synthetic photo embeddings shaped like GLDv2's: a long tail of landmarks, grouped in kinds."""

    def __init__(self, classes: int, dim: int, seed: int = 0):
        rng = np.random.default_rng(seed)
        # A decaying spectrum (effective dimension about 200 of 1280), on shuffled axes.
        scale = (np.arange(1, dim + 1) ** -0.35)[rng.permutation(dim)].astype(np.float32)
        self.scale = scale / np.sqrt((scale ** 2).sum())
        kinds = rng.standard_normal((max(2, classes // 100), dim), dtype=np.float32)  # churches look alike
        self.centres = 0.7 * kinds[rng.integers(0, len(kinds), classes)]
        self.centres += 0.7 * rng.standard_normal((classes, dim), dtype=np.float32)
        self.centres *= self.scale
        weights = rng.lognormal(0.0, 1.2, classes)  # photos per landmark: a long tail
        self.p = weights / weights.sum()

    def labels(self, n: int, seed: int) -> np.ndarray:
        return np.random.default_rng(seed).choice(len(self.p), n, p=self.p).astype(np.int32)

    def photos(self, labels: np.ndarray, seed: int, chunk: int = 65_536) -> np.ndarray:
        """Unit vectors, float16, one per label."""
        rng = np.random.default_rng(seed)
        out = np.empty((len(labels), self.centres.shape[1]), np.float16)
        for start in range(0, len(labels), chunk):
            lab = labels[start:start + chunk]
            x = self.centres[lab] + NOISE * rng.standard_normal((len(lab), out.shape[1]), dtype=np.float32) * self.scale
            out[start:start + chunk] = x / np.linalg.norm(x, axis=1, keepdims=True)
        return out


def exact_top(base: np.ndarray, queries: np.ndarray, k: int, chunk: int = 65_536) -> tuple[np.ndarray, float]:
    """Exact top-k row indices over float16 `base`, converting it in chunks; and the seconds it took."""
    start_t = time.perf_counter()
    best_s = np.full((len(queries), 0), -np.inf, np.float32)
    best_i = np.zeros((len(queries), 0), np.int64)
    for start in range(0, len(base), chunk):
        s, i = exact_search(base[start:start + chunk].astype(np.float32), queries, k)
        s, i = np.hstack([best_s, s]), np.hstack([best_i, i + start])
        order = np.lexsort((i, -s), axis=1)[:, :k]
        best_s, best_i = np.take_along_axis(s, order, axis=1), np.take_along_axis(i, order, axis=1)
    return best_i, time.perf_counter() - start_t


def recalls(found: np.ndarray, truth: np.ndarray) -> tuple[float, float]:
    """recall@1 (the true nearest is first) and recall@10 (share of the true top 10 returned)."""
    at1 = float(np.mean(found[:, 0] == truth[:, 0]))
    at10 = float(np.mean([len(set(f[:K]) & set(t[:K])) / K for f, t in zip(found, truth)]))
    return at1, at10


def file_bytes(index) -> int:
    import faiss

    with tempfile.TemporaryDirectory() as tmp:
        faiss.write_index(index, os.path.join(tmp, "i.faiss"))
        return os.path.getsize(os.path.join(tmp, "i.faiss"))


def add_chunks(index, base: np.ndarray, chunk: int = 65_536):
    for start in range(0, len(base), chunk):
        index.add(base[start:start + chunk].astype(np.float32))
    return index


def build_hnsw(base: np.ndarray, sq8: bool):
    import faiss

    d = base.shape[1]
    if sq8:
        index = faiss.IndexHNSWSQ(d, faiss.ScalarQuantizer.QT_8bit, 32, faiss.METRIC_INNER_PRODUCT)
        index.train(base[np.random.default_rng(0).choice(len(base), min(len(base), 100_000), replace=False)].astype(np.float32))
    else:
        index = faiss.IndexHNSWFlat(d, 32, faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efConstruction = 100
    return add_chunks(index, base)


def build_ivf_sq8(base: np.ndarray):
    import faiss

    index = faiss.index_factory(base.shape[1], f"IVF{ivf_lists(len(base))},SQ8", faiss.METRIC_INNER_PRODUCT)
    index.cp.niter = KMEANS_ITER
    sample = np.sort(np.random.default_rng(0).choice(len(base), min(len(base), max(50 * index.nlist, 25_600)), replace=False))
    index.train(base[sample].astype(np.float32))
    return add_chunks(index, base)


def searchers(name: str, index, base: np.ndarray) -> dict:
    """Search settings to measure for one built index: label -> fn(queries) -> (nq, K) row indices."""
    import faiss

    if name.startswith("HNSW"):
        def hnsw(q, ef=128):
            index.hnsw.efSearch = ef
            return index.search(q, K)[1]
        return {"efSearch 128": hnsw}
    if name == "IVF-SQ8":
        return {f"nprobe {p}": (lambda q, p=p: index.search(q, K, params=faiss.SearchParametersIVF(nprobe=p))[1])
                for p in (16, IVF_PROBES, 64)}

    def pq(q, p, depth=RERANK):
        cand = index.search(q, depth, params=faiss.SearchParametersIVF(nprobe=p))[1]
        return rerank(base, q, cand, K)[1]
    return {f"nprobe {p}, re-rank {RERANK}": (lambda q, p=p: pq(q, p)) for p in (16, IVF_PROBES, 64)}


def measure(name: str, build, base: np.ndarray, queries: np.ndarray, truth: np.ndarray) -> list[dict]:
    """Build one variant over `base` and measure every search setting of it."""
    t = time.perf_counter()
    index = build(base)
    built, size = time.perf_counter() - t, file_bytes(index)
    rows = []
    for label, fn in searchers(name, index, base).items():
        fn(queries[:10])  # warm up
        t = time.perf_counter()
        found = fn(queries)
        batch = time.perf_counter() - t
        single = []
        for q in queries[:50]:
            t = time.perf_counter()
            fn(q[None])
            single.append(time.perf_counter() - t)
        r1, r10 = recalls(found, truth)
        rows.append({"variant": name, "search": label, "n": len(base), "build_s": built, "bytes": size,
                     "qps": len(queries) / batch, "ms": 1000 * float(np.median(single)), "r1": r1, "r10": r10})
        print(f"  {name:16s} {label:24s} n={len(base):>9,} build {built:7.1f} s  {size / 1e6:8.1f} MB  "
              f"{rows[-1]['qps']:8.0f} q/s  {rows[-1]['ms']:6.2f} ms/query  recall@1 {r1:.3f}  @10 {r10:.3f}  "
              f"[load {os.getloadavg()[0]:.2f}, peak RSS {peak_rss_gb():.2f} GB]", flush=True)
    del index
    return rows


def main(argv=None) -> int:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=1_000_000)
    p.add_argument("--small", type=int, default=30_000, help="the size HNSW (and IVF-PQ) are measured at")
    p.add_argument("--dim", type=int, default=1280)
    p.add_argument("--queries", type=int, default=1000)
    args = p.parse_args(argv)
    n, small, dim, nq = (2000, 1000, 32, 50) if args.tiny else (args.n, args.small, args.dim, args.queries)
    header(f"similarity index at {n:,} x {dim} (HNSW at {small:,})")
    import faiss

    threads = faiss.omp_get_max_threads()
    if args.tiny:  # on a busy machine the barriers of 2 threads cost more than tiny indexes gain
        faiss.omp_set_num_threads(1)
    try:
        return run(faiss, n, small, dim, nq)
    finally:
        faiss.omp_set_num_threads(threads)


def run(faiss, n: int, small: int, dim: int, nq: int) -> int:
    """Measure every variant; print the table's rows, the rule's choice and the summary."""
    print(f"faiss {faiss.__version__}, {faiss.omp_get_max_threads()} threads; glr's IVF-PQ at {n:,}: {ivf_pq_spec(n, dim)}")
    t = time.perf_counter()
    world = Landmarks(max(10, n // 20), dim)
    labels = world.labels(n, 1)
    base = world.photos(labels, 2)
    qlabels = world.labels(nq, 3)
    queries = world.photos(qlabels, 4).astype(np.float32)
    sizes = np.bincount(labels, minlength=len(world.p))
    print(f"data: {time.perf_counter() - t:.1f} s; {int((sizes > 0).sum()):,} landmarks with photos, photos per "
          f"landmark median {int(np.median(sizes[sizes > 0]))}, max {sizes.max()}, {int((sizes[sizes > 0] <= 5).sum()):,} "
          f"with 5 or fewer", flush=True)

    rows, truths = [], {}
    for size in (n, small) if small < n else (n,):  # the large size first: it decides the default
        truths[size], t_exact = exact_top(base[:size], queries, K)
        same = float(np.mean(labels[truths[size][:, 0]] == qlabels))
        print(f"exact (chunked NumPy over float16) n={size:,}: {nq / t_exact:.0f} q/s; the nearest photo shows the "
              f"query's landmark for {same:.2f} of queries  [load {os.getloadavg()[0]:.2f}]", flush=True)
        rows.append({"variant": "exact", "search": "NumPy", "n": size, "build_s": 0.0, "bytes": base[:size].nbytes,
                     "qps": nq / t_exact, "ms": float("nan"), "r1": 1.0, "r10": 1.0})
    # In order of importance, as the machine is shared and a run may have to be cut short.
    jobs = [(n, "IVF-PQ + re-rank", build_ivf_pq)]
    if small < n:
        jobs += [(small, "HNSW-Flat", lambda b: build_hnsw(b, False)), (small, "HNSW-SQ8", lambda b: build_hnsw(b, True)),
                 (small, "IVF-PQ + re-rank", build_ivf_pq)]
    jobs += [(n, "IVF-SQ8", build_ivf_sq8)]
    for size, name, build in jobs:
        rows += measure(name, build, base[:size], queries, truths[size])

    # HNSW at n, extrapolated from `small`: its build is about n log n, its size linear.
    grow = (n / small) * (math.log(n) / math.log(small)) if small < n else 1.0
    for r in [r for r in rows if r["variant"].startswith("HNSW")]:
        print(f"  {r['variant']} at {n:,} (extrapolated from {small:,}: build x{grow:.1f} as n log n, size x{n / small:.0f}): "
              f"build about {r['build_s'] * grow / 60:.0f} min, {r['bytes'] * n / small / 1e9:.2f} GB")
    # The rule: among settings at n with recall@10 >= 0.95, the least memory, then the quickest build.
    at_n = [r for r in rows if r["n"] == n and r["variant"] != "exact"]
    best = min([r for r in at_n if r["r10"] >= 0.95] or at_n, key=lambda r: (r["bytes"], r["build_s"]))
    print(f"by the rule (recall@10 >= 0.95, then least memory, then quickest build): {best['variant']} ({best['search']})")
    glr = next(r for r in at_n if r["variant"] == "IVF-PQ + re-rank" and r["search"].startswith(f"nprobe {IVF_PROBES},"))
    hnsw = next((r for r in rows if r["variant"] == "HNSW-Flat"), None)
    vs = (f"; HNSW-Flat about {hnsw['build_s'] * grow / 60:.0f} min and {hnsw['bytes'] * n / small / 1e9:.1f} GB "
          f"(extrapolated from {small:,}, recall@10 {hnsw['r10']:.3f} there)") if hnsw and small < n else ""
    print(f"peak RSS {peak_rss_gb():.2f} GB")
    summary(f"index-1M: glr's default {glr['variant']} ({glr['search']}) at {n:,}x{dim}: built in {glr['build_s']:.0f} s, "
            f"{glr['bytes'] / 1e6:.0f} MB + the float16 vectors, {glr['qps']:.0f} q/s, recall@1 {glr['r1']:.3f} "
            f"@10 {glr['r10']:.3f}{vs}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The near-copy check's hash store at GLDv2 size: reading every photo's hash back, as a dict and as sorted arrays.

Training looks up every photo's perceptual hash by its content digest (glr.data.near_copies).
This writes a store of N synthetic entries (default 1,580,470: GLDv2-clean's photos; digests
are SHA-1s in hex, as glr's are), then, each in a fresh child process so that peak memory is its
own, looks all N up again, side by side:

- **dict**: the store read into a dict keyed by digest, one look-up per photo (the code before);
- **arrays**: `photo_hashes` as training calls it (sorted keys, binary search, whole digests checked).

Both must give every photo its own hash. Over interleaved rounds (`--rounds`), prints wall seconds and the peak memory each way
allocates (tracemalloc, which counts NumPy's arrays), and the ratios.

    .venv/bin/python benchmarks/bench_hash_store.py [--photos N] [--tiny]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402

GLDV2_CLEAN_PHOTOS = 1_580_470


def synthetic(n: int) -> tuple[list[str], np.ndarray]:
    """N SHA-1 hex digests and random 256-bit hashes."""
    from glr.data.near_copies import HASH_BYTES

    digests = [hashlib.sha1(i.to_bytes(8, "little")).hexdigest() for i in range(n)]
    return digests, np.random.default_rng(0).integers(0, 256, (n, HASH_BYTES), dtype=np.uint8)


def look_up(way: str, store, paths: list[str], digests: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """(hashes, found-mask) of every photo, one `way`."""
    from glr.data.near_copies import photo_hashes

    if way == "arrays":
        return photo_hashes(paths, digests, store)
    # photo_hashes before (git 8af9905), with every photo found in the store
    with np.load(store.path, allow_pickle=False) as stored:
        known = dict(zip(stored["digests"].astype(str).tolist(), stored["hashes"]))
    missing = [i for i, digest in enumerate(digests) if not digest or digest not in known]
    assert not missing and len(paths) == len(digests)
    rows = [known[digest] for digest in digests]
    return np.stack(rows), np.array([h is not None for h in rows], dtype=bool)


def child(way: str, folder: Path, n: int) -> dict:
    """Look every photo up one `way`: its seconds, then (a second time) its peak memory, and whether every hash came back right."""
    from glr.data.near_copies import HashStore

    digests, truth = synthetic(n)
    store, paths = HashStore(folder), ["(not read)"] * n
    with common.Timer() as t:
        table, hashed = look_up(way, store, paths, digests)
    right = bool(hashed.all() and np.array_equal(table, truth))
    del table, hashed
    tracemalloc.start()  # counts NumPy's arrays too, but slows Python code down: so not while timed
    look_up(way, store, paths, digests)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return {"seconds": t.seconds, "peak_gb": peak / 1e9, "right": right}


def main(argv=None) -> dict:
    """Run the benchmark; returns both ways' figures."""
    p = common.parser(__doc__.splitlines()[0])
    p.add_argument("--photos", type=int, default=GLDV2_CLEAN_PHOTOS)
    p.add_argument("--rounds", type=int, default=3, help="interleaved rounds; the medians are compared")
    p.add_argument("--child", nargs=2, metavar=("WAY", "FOLDER"), help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    n = 500 if args.tiny else args.photos
    if args.child:
        print(json.dumps(child(args.child[0], Path(args.child[1]), n)))
        return {}
    from glr.data.near_copies import HashStore

    common.header(f"the near-copy hash store, {n:,} photos")
    with tempfile.TemporaryDirectory(prefix="glr-bench-hashes-") as tmp:
        digests, hashes = synthetic(n)
        with common.Timer() as t:
            HashStore(tmp).add(np.asarray(digests, dtype="S"), hashes)
        print(f"store written in {t.seconds:.1f} s ({HashStore(tmp).path.stat().st_size / 1e6:.0f} MB)")
        rounds = {"dict": [], "arrays": []}
        for _ in range(1 if args.tiny else args.rounds):  # interleaved: the machine's load changes by the minute
            for way in rounds:
                out = subprocess.run([sys.executable, __file__, "--photos", str(n), "--child", way, tmp]
                                     + (["--tiny"] if args.tiny else []), capture_output=True, text=True, check=True)
                rounds[way].append(json.loads(out.stdout.strip().splitlines()[-1]))
                print(f"{way:>6}: {rounds[way][-1]['seconds']:.2f} s, peak memory {rounds[way][-1]['peak_gb']:.2f} GB, "
                      f"every hash right: {rounds[way][-1]['right']}", flush=True)
        figures = {way: {"seconds": float(np.median([r["seconds"] for r in runs])),
                         "peak_gb": max(r["peak_gb"] for r in runs), "right": all(r["right"] for r in runs)}
                   for way, runs in rounds.items()}
    d, a = figures["dict"], figures["arrays"]
    common.summary(f"{n:,} photos, medians: arrays {a['seconds']:.2f} s / {a['peak_gb']:.2f} GB against a dict's "
                   f"{d['seconds']:.2f} s / {d['peak_gb']:.2f} GB ({d['seconds'] / max(a['seconds'], 1e-9):.1f}x "
                   f"faster, {d['peak_gb'] / max(a['peak_gb'], 1e-3):.1f}x less memory)")
    return figures


if __name__ == "__main__":
    main()

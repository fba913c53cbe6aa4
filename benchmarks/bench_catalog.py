"""Scale: read a GLDv2-sized train.csv (4.1M rows, 200k classes) and curate the top 100.

The CSV is synthetic (random 16-hex ids, a long-tailed class distribution like GLDv2's,
with the url column) and written to a temp folder. Reading and curating run in a child
process, so its peak RSS is that of glr's work alone, not of making the file.
Goal: at most 10 s and 2 GB.

`--compare` then curates again, warm, with the kept rows' ids sorted as text (as curation did before) and as the
numbers they spell (`glr.data.id_order`), in turns, and says whether the two splits are the same; `--top-n 0` keeps
every class (all 4.1M rows sorted). The split's fingerprint, which a training run records, is timed apart from the goal.

    .venv/bin/python benchmarks/bench_catalog.py [--tiny] [--top-n N] [--compare]
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402

ROWS, CLASSES = 4_100_000, 200_000
TINY_ROWS, TINY_CLASSES = 20_000, 1_000
GOAL_SECONDS, GOAL_GB = 10.0, 2.0


def write_train_csv(path: Path, rows: int, classes: int, seed: int = 0) -> None:
    """A GLDv2-like train.csv: every class at least once, then a Zipf-like long tail."""
    rng = np.random.default_rng(seed)
    weights = 1.0 / np.arange(1, classes + 1) ** 0.9
    labels = np.concatenate([np.arange(classes), rng.choice(classes, rows - classes, p=weights / weights.sum())])
    landmark_ids = rng.permutation(rng.choice(10 * classes, classes, replace=False))[labels]
    ids = pd.Series(rng.integers(0, 2**63, rows, dtype=np.int64)).map("{:016x}".format)
    urls = "https://upload.wikimedia.org/wikipedia/commons/" + ids + ".jpg"
    pd.DataFrame({"id": ids, "url": urls, "landmark_id": landmark_ids}).to_csv(path, index=False)


def child(csv: str, top_n: int = 100, compare: bool = False) -> None:
    """Time load_catalog and curate; print the figures, then the peak RSS (GB) last."""
    from glr.data import datasets

    start = time.perf_counter()
    catalog = datasets.load_catalog(csv, check_files=False)
    read = time.perf_counter() - start
    start = time.perf_counter()
    split = datasets.curate(catalog, top_n=top_n)
    curate = time.perf_counter() - start
    start = time.perf_counter()
    split.fingerprint()  # what a training run records of its split, on top of curating (to_csv's hash took 4-12 s)
    fingerprint = time.perf_counter() - start
    print(f"rows {len(catalog.df)}  classes {catalog.df['landmark_id'].nunique()}  kept {split.num_classes} classes, "
          f"{len(split.train) + len(split.val)} images")
    if compare:
        compare_id_sorts(catalog, top_n)
    print(f"read {read:.2f} s  curate {curate:.2f} s  fingerprint {fingerprint:.2f} s")
    print(f"peak_rss_gb {common.peak_rss_gb():.3f}")


def compare_id_sorts(catalog, top_n: int, rounds: int = 2) -> None:
    """Curate (and fingerprint) `rounds` times each way, warm and in turns: the ids sorted as text, as numbers."""
    from unittest import mock

    from glr.data import datasets, id_order

    best, prints = {"text": [], "numbers": []}, {}
    for _ in range(rounds):
        for way in best:
            # id_order None: sort_by_id sorts the text, as curation did before glr.data.id_order.
            with mock.patch.object(id_order, "id_order", lambda ids: None) if way == "text" else contextlib.nullcontext():
                start = time.perf_counter()
                split = datasets.curate(catalog, top_n=top_n)
                middle = time.perf_counter()
                prints[way] = (split.fingerprint(), len(split.train), len(split.val))
                best[way].append((middle - start, time.perf_counter() - middle))
            del split
    (text_curate, text_print), (numbers_curate, numbers_print) = (map(min, zip(*best[w])) for w in ("text", "numbers"))
    print(f"warm, best of {rounds}: curate {text_curate:.2f} s with the ids sorted as text (before), {numbers_curate:.2f} s "
          f"as numbers; fingerprint {text_print:.2f} s -> {numbers_print:.2f} s; the same split: "
          f"{prints['text'] == prints['numbers']} ({prints['numbers'][0]})")


def main(argv=None) -> dict:
    """Run the benchmark; returns its figures."""
    p = common.parser(__doc__.splitlines()[0])
    p.add_argument("--child", help=argparse.SUPPRESS)
    p.add_argument("--top-n", type=int, default=100, help="classes curation keeps (0: every class)")
    p.add_argument("--compare", action="store_true", help="also curate with the ids sorted as text, as before")
    args = p.parse_args(argv)
    if args.child:
        child(args.child, args.top_n, args.compare)
        return {}
    common.header("catalog scale: read + curate a GLDv2-sized train.csv")
    rows, classes = (TINY_ROWS, TINY_CLASSES) if args.tiny else (ROWS, CLASSES)
    with tempfile.TemporaryDirectory(prefix="glr-bench-csv-") as tmp:
        csv = Path(tmp) / "train.csv"
        with common.Timer() as t:
            write_train_csv(csv, rows, classes)
        print(f"wrote {rows:,} rows, {classes:,} classes ({csv.stat().st_size / 1e6:.0f} MB) in {t.seconds:.1f} s")
        with common.Timer() as t:
            out, peak = common.run_child([__file__, "--child", str(csv), "--top-n", str(args.top_n)]
                                         + (["--compare"] if args.compare else []))
    print(out)
    times = dict(part.split() for part in out.splitlines()[-1].replace(" s", "").split("  "))
    total = float(times["read"]) + float(times["curate"])
    print(f"child process wall time, with Python and pandas start-up: {t.seconds:.1f} s")
    verdict = "met" if total <= GOAL_SECONDS and peak <= GOAL_GB else "NOT met"
    common.summary(f"catalog: {rows:,} rows read+curated in {total:.1f} s (goal <= {GOAL_SECONDS:.0f} s), "
                   f"peak RSS {peak:.2f} GB (goal <= {GOAL_GB:.0f} GB): {verdict}")
    return {"seconds": total, "peak_gb": peak}


if __name__ == "__main__":
    main()

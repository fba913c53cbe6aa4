"""Scale: load_catalog of a GLDv2-sized train.csv (4.1M rows): time, the repeated-id check, peak memory; before/after.

The synthetic train.csv of `bench_catalog.py` (random 16-hex ids, a long tail of 200k classes, the url column) is
read by `glr.data.datasets.load_catalog(check_files=False)` in a child process per run, once with the code of
`--before` (a git revision, extracted with `git archive`) and once with this checkout's, alternately, `--repeat`
times each. Each child prints the load's seconds, the seconds of the repeated-id check alone (the lower-case ids'
`duplicated()` before, `glr.data.id_text.duplicated_ids` after, on the same ids), its RSS after the imports, its peak
RSS (the kernel's VmHWM, which counts Arrow's memory too, where tracemalloc does not), the seconds to have every
row's path (a column until session 30, made of the ids by `Catalog.paths()` since; made after the peak is read) and
the catalog table's own size; the peak is said as a multiple of the table. Not `ru_maxrss`: Linux carries a process's high-water mark over
`exec`, so a child's ru_maxrss is at least the peak RSS of this parent when it spawned it (0.94 GB once it had written
the CSV, in every run of either code until session 29); `common.peak_rss_gb` reads VmHWM.

    .venv/bin/python benchmarks/bench_catalog_memory.py [--tiny] [--before REV] [--repeat N]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402
from bench_catalog import CLASSES, ROWS, TINY_CLASSES, TINY_ROWS, write_train_csv  # noqa: E402

BEFORE = "77f56b4"  # main before the fast id column (session 28)


def child(csv: str, code: str) -> None:
    """Load the catalog with the glr package under `code`; print the figures as JSON, then the peak RSS (GB)."""
    sys.path.insert(0, code)
    from glr.data import datasets

    base = common.current_rss_gb()
    start = time.perf_counter()
    catalog = datasets.load_catalog(csv, check_files=False)
    seconds = time.perf_counter() - start
    peak = common.peak_rss_gb()
    ids = catalog.df["id"]
    start = time.perf_counter()
    try:
        from glr.data.id_text import duplicated_ids
        repeats = duplicated_ids(ids)
    except ImportError:  # the code before: what read_gldv2 did
        repeats = ids.str.lower().duplicated()
    check = time.perf_counter() - start
    start = time.perf_counter()  # every row's path: a column before session 30, made of the ids since
    paths = catalog.paths() if hasattr(catalog, "paths") else catalog.df["path"]
    paths_s, n_paths = time.perf_counter() - start, len(paths)
    del paths
    table = catalog.df.memory_usage(deep=True).sum() / 1e9
    print(json.dumps({"seconds": seconds, "repeat_check": check, "repeats": int(repeats.sum()), "base": base, "paths": paths_s,
                      "table": table, "rows": len(catalog.df), "n_paths": n_paths, "module": datasets.__file__}))
    print(f"peak {peak:.3f}")


def main(argv=None) -> dict:
    """Run the benchmark; returns its figures (medians per code)."""
    p = common.parser(__doc__.splitlines()[0])
    p.add_argument("--before", metavar="REV", default=BEFORE, help="the code to compare with (a git revision)")
    p.add_argument("--repeat", type=int, default=2, help="runs of each code, alternating")
    p.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        child(*args.child)
        return {}
    common.header("catalog memory: load_catalog of a GLDv2-sized train.csv, before and after")
    rows, classes = (TINY_ROWS, TINY_CLASSES) if args.tiny else (ROWS, CLASSES)
    runs: dict[str, list[dict]] = {}
    with tempfile.TemporaryDirectory(prefix="glr-bench-catalog-memory-") as tmp:
        csv = Path(tmp) / "train.csv"
        write_train_csv(csv, rows, classes)
        print(f"wrote {rows:,} rows, {classes:,} classes ({csv.stat().st_size / 1e6:.0f} MB)")
        codes = {"now": str(common.ROOT)}
        try:
            codes = {f"before ({args.before})": str(common.checkout(args.before, Path(tmp) / "before")), **codes}
        except Exception as exc:  # no git history (an unpacked copy): the figures of this code alone
            print(f"no 'before' code: {exc}")
        print(f"{'code':20s} {'load s':>7s} {'repeat check s':>15s} {'paths s':>8s} {'table GB':>9s} {'peak GB':>8s} "
              f"{'peak/table':>11s} {'(peak-imports)/table':>21s}")
        for _ in range(1 if args.tiny else args.repeat):
            for name, code in codes.items():
                text, peak = common.run_child([__file__, "--child", str(csv), code])
                f = {**json.loads(text.splitlines()[-1]), "peak": peak}
                assert Path(f["module"]).is_relative_to(code), f["module"]  # the code asked for, not another
                runs.setdefault(name, []).append(f)
                print(f"{name:20s} {f['seconds']:7.2f} {f['repeat_check']:15.2f} {f['paths']:8.2f} {f['table']:9.3f} {peak:8.3f} "
                      f"{peak / f['table']:11.2f} {(peak - f['base']) / f['table']:21.2f}", flush=True)
    out = {name: {k: statistics.median(r[k] for r in rs) for k in ("seconds", "repeat_check", "paths", "table", "peak", "base")}
           for name, rs in runs.items()}
    parts = [f"{name}: load {m['seconds']:.1f} s, repeat check {m['repeat_check']:.2f} s, every path {m['paths']:.2f} s, "
             f"peak {m['peak']:.2f} GB "
             f"({m['peak'] / m['table']:.1f}x the {m['table']:.2f} GB table)" for name, m in out.items()]
    common.summary(f"catalog memory, {rows:,} rows (medians of {len(next(iter(runs.values())))}): " + "; ".join(parts))
    return out


if __name__ == "__main__":
    main()

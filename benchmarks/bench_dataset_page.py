"""Scale: open the app's Dataset page on a GLDv2-sized catalog (4.1M rows, 200k classes, no images).

The synthetic train.csv of `bench_catalog.py` is written to a temp folder; a child process
opens `pages/1_dataset.py` in Streamlit's AppTest with that folder as the dataset, and
times the first open (the app's home page, then the Dataset page: reading the CSV, indexing the classes, curating, drawing the long
tail), a rerun (everything cached), a search by name and a jump to the gallery's last
page. The child's peak RSS is its own. In the same run, bench_catalog's child times the bare
read + curate of the same file: the page's first open is reported as a ratio to it, and
scaled to that reference's time on a quiet machine. Goal: first open at most 10 s there,
reruns instant.

    .venv/bin/python benchmarks/bench_dataset_page.py [--tiny]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402
from bench_catalog import CLASSES, ROWS, write_train_csv  # noqa: E402

APP = common.ROOT / "app.py"
PAGE = "pages/1_dataset.py"  # relative to app.py
GOAL_SECONDS = 10.0
QUIET_LOAD = 2.5  # load average under which the 2-core machine counts as quiet enough to judge seconds
# Without images, a catalog of up to glr.data.datasets.MAX_ROWS_TO_CHECK rows has its files checked
# when read, and is refused as having none: the tiny mode stays just above that size.
TINY_ROWS, TINY_CLASSES = 210_000, 10_000


def child(folder: str) -> None:
    """Open the page, rerun it, search, page; print the times, then the peak RSS (GB) last."""
    os.environ["GLR_DATA"] = folder
    start = time.perf_counter()
    from streamlit.testing.v1 import AppTest  # part of what a first open costs

    # The page links to the others through app.py, so it is opened as a user does: the app, then the page.
    at = AppTest.from_file(str(APP), default_timeout=300)
    at.run()
    home = time.perf_counter() - start
    at.switch_page(PAGE).run()
    first = time.perf_counter() - start
    assert not at.exception, [e.value for e in at.exception]
    timings = {"first": first, "of_which_home": home}
    for name, action in (
        ("rerun", lambda: at.run()),
        ("search", lambda: at.text_input(key="gallery_query").input("landmark 12").run()),
        ("last_page", lambda: at.text_input(key="gallery_query").input("").run().number_input(
            key="gallery_page__8").set_value(int(at.number_input(key="gallery_page__8").max)).run()),
        ("rerun2", lambda: at.run()),
    ):
        start = time.perf_counter()
        action()
        timings[name] = time.perf_counter() - start
        assert not at.exception, [e.value for e in at.exception]
    classes = next(m.value for m in at.metric if m.label == "Classes")
    print(f"classes shown {classes}  charts {len(at.get('plotly_chart'))}")
    print("  ".join(f"{k} {v:.2f} s" for k, v in timings.items()))
    print(f"peak_rss_gb {common.peak_rss_gb():.3f}")


def main(argv=None) -> dict:
    """Run the benchmark; returns its figures."""
    p = common.parser(__doc__.splitlines()[0])
    p.add_argument("--child", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        child(args.child)
        return {}
    common.header("Dataset page at GLDv2 size: first open, rerun, search, last gallery page")
    rows, classes = (TINY_ROWS, TINY_CLASSES) if args.tiny else (ROWS, CLASSES)
    with tempfile.TemporaryDirectory(prefix="glr-bench-page-") as tmp:
        # The dataset gets a folder of its own: the app's cache and results folders created inside
        # it would change its modification time, so the app would read it again as a new dataset.
        data = Path(tmp) / "data"
        data.mkdir()
        with common.Timer() as t:
            write_train_csv(data / "train.csv", rows, classes)
        print(f"wrote {rows:,} rows, {classes:,} classes in {t.seconds:.1f} s")
        # The reference, in the same run: bench_catalog's bare read + curate of the same file.
        ref_out, _ = common.run_child([str(Path(__file__).with_name("bench_catalog.py")), "--child",
                                       str(data / "train.csv")])
        ref = sum(float(part.split()[1]) for part in ref_out.splitlines()[-1].split("  "))
        print(f"reference: bench_catalog's read + curate of the same file {ref:.2f} s")
        env = {"GLR_CACHE_DIR": str(Path(tmp) / "cache"), "GLR_RESULTS": str(Path(tmp) / "results")}
        out, peak = common.run_child([__file__, "--child", str(data)], env=env)
    print(out)
    times = {k: float(v) for k, v in (part.split()[:2] for part in out.splitlines()[-1].split("  "))}
    # The goal is in absolute seconds, so it is judged only on a quiet machine; the ratio to the
    # bare read (same run) is what to compare across loaded runs.
    load = os.getloadavg()[0]
    verdict = ("met" if times["first"] <= GOAL_SECONDS else "NOT met") if load < QUIET_LOAD else f"not judged at load {load:.1f}"
    common.summary(f"Dataset page: {rows:,} rows first open {times['first']:.1f} s = {times['first'] / ref:.2f}x the "
                   f"bare read + curate ({ref:.1f} s here; goal <= {GOAL_SECONDS:.0f} s: {verdict}); rerun {times['rerun']:.2f} s, search "
                   f"{times['search']:.2f} s, last gallery page {times['last_page']:.2f} s; peak RSS {peak:.2f} GB")
    return {**times, "reference": ref, "peak_gb": peak}


if __name__ == "__main__":
    main()

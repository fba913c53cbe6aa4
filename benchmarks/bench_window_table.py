"""Memory of the default's training table: reading cached map windows, before and after the rounds and the budget.

The default training (`--augment-space features`) holds 28 map windows per training photo for phase 1
(float16, 1280 numbers each: 72 KB per photo). This fills a temporary feature cache with synthetic
windows for N photos, then reads them back through `glr.backbones.feature_cache.cached_window_features`,
exactly as a warm `python -m glr train` does, in a child process per way, each reporting the peak RSS
it added (its peak RSS during the read, VmHWM, less the RSS before it):

- **before**: the `glr` of git revision `--before` (default 36e3b33, the code before the rounds: every
  cached vector loaded, then stacked), all windows;
- **rounds** of CHUNK_PHOTOS photos written into the table (the code now), all windows kept;
- **rounds over budget**: a budget (glr.training.head_data.WindowChoice) that leaves room for the
  two whole maps only, as phase 1 keeps when all windows would exceed a quarter of the machine's memory.

It then says what that budget keeps at GLDv2-clean's size on this machine.

    .venv/bin/python benchmarks/bench_window_table.py [--tiny] [--photos N] [--before REV]
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402

WINDOWS, DIM = 28, 1280
GLDV2_CLEAN_TRAIN = 1_264_376  # 80% of GLDv2-clean's 1,580,470 photos
VIEW = "windows-s2-mirror-f16"
BEFORE = "36e3b33"  # the last commit before the cache read in rounds


def fill_cache(root: Path, photos: int, dim: int) -> list[str]:
    """A feature cache holding synthetic windows for `photos` photos; returns their digests."""
    from glr.backbones.feature_cache import FeatureCache

    cache = FeatureCache(root, "synthetic")
    rng = np.random.default_rng(0)
    digests = [f"{i:040x}" for i in range(photos)]
    for digest in digests:
        cache.save(digest, VIEW, rng.standard_normal((WINDOWS, dim), np.float32), np.float16)
    return digests


def child(root: str, photos: int, way: str, code: str) -> None:
    """Read the cached windows one way with the `glr` under `code`; prints JSON (seconds, table GB), then the added peak RSS in GB."""
    sys.path.insert(0, code)  # after `common`, which put this checkout first
    from glr.backbones import feature_cache

    digests = [f"{i:040x}" for i in range(photos)]
    cache = feature_cache.FeatureCache(root, "synthetic")
    options = {}
    if way == "rounds over budget":
        from glr.training.head_data import WindowChoice

        options["keep"] = WindowChoice(photos, budget=0)
    before = common.current_rss_gb()
    common.reset_peak_rss()  # the peak of the read alone, not of the imports before it

    def never():
        raise AssertionError("everything is cached")

    started = time.monotonic()
    feats, ok, computed = feature_cache.cached_window_features(never, [""] * photos, digests, cache, input_size=224,
                                                               preprocess=None, **options)
    assert ok.all() and computed == 0
    print(json.dumps({"seconds": time.monotonic() - started, "table": feats.nbytes / 1e9}))
    print(f"peak {common.peak_rss_gb() - before:.3f}")


def main(argv=None) -> dict:
    """Run the benchmark; returns its figures."""
    p = common.parser(__doc__.splitlines()[0])
    p.add_argument("--photos", type=int, default=20_000)
    p.add_argument("--before", metavar="REV", default=BEFORE, help="the code to compare with (a git revision)")
    args = p.parse_args(argv)
    from glr.backbones.feature_cache import CHUNK_PHOTOS
    from glr.training.head_data import TABLE_MEMORY_SHARE, WindowChoice, machine_memory

    common.header("the default's training table in memory")
    photos, dim = (64, 32) if args.tiny else (args.photos, DIM)
    out = {}
    with tempfile.TemporaryDirectory(prefix="glr-bench-windows-") as tmp:
        with common.Timer() as t:
            fill_cache(Path(tmp), photos, dim)
        print(f"{photos:,} photos x {WINDOWS} windows x {dim} (float16) cached in {t.seconds:.1f} s; "
              f"rounds of {CHUNK_PHOTOS:,} photos")
        print(f"{'way':22s} {'table GB':>9s} {'added peak GB':>14s} {'x table':>8s} {'seconds':>8s}")
        codes = {"rounds": str(common.ROOT), "rounds over budget": str(common.ROOT)}
        if not args.tiny and args.before:  # the smoke test has no history to check out; --before "": none
            codes = {"before": str(common.checkout(args.before, Path(tmp) / "before")), **codes}
        for way, code in codes.items():
            text, peak = common.run_child([__file__, "--child", tmp, str(photos), way, code])
            figures = json.loads(text.splitlines()[-1])
            out[way] = {**figures, "peak": peak}
            ratio = peak / figures["table"] if figures["table"] else float("nan")
            print(f"{way:22s} {figures['table']:9.3f} {peak:14.3f} {ratio:8.2f} {figures['seconds']:8.1f}")
    full = WindowChoice(GLDV2_CLEAN_TRAIN)
    full(np.zeros((WINDOWS, DIM), np.float16))
    print(f"GLDv2-clean ({GLDV2_CLEAN_TRAIN:,} training photos) on this machine "
          f"({machine_memory() / 1e9:.1f} GB, budget {TABLE_MEMORY_SHARE:.0%} = {full.budget / 1e9:.1f} GB): "
          f"all {WINDOWS} windows {full.table_bytes(WINDOWS) / 1e9:.1f} GB; phase 1 holds {full.kept}, "
          f"{full.table_bytes(full.kept) / 1e9:.1f} GB")
    now = out["rounds"]
    before = (f"{out['before']['peak'] / out['before']['table']:.2f}x the table before ({args.before}, "
              f"{out['before']['peak']:.2f} GB), " if "before" in out else "")
    common.summary(f"window table: reading {photos:,} photos' cached windows peaks at {before}"
                   f"{now['peak'] / now['table']:.2f}x now ({now['peak']:.2f} GB); over budget, 2 windows per photo: "
                   f"{out['rounds over budget']['peak']:.2f} GB; GLDv2-clean keeps {full.kept} of {WINDOWS} windows "
                   f"({full.table_bytes(full.kept) / 1e9:.1f} GB instead of {full.table_bytes(WINDOWS) / 1e9:.0f})")
    out["gldv2_kept"] = full.kept
    return out


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5])
    else:
        main()

"""What tracing glr's dataset functions costs a fresh process: with AutoGraph's rewrite and without (glr's now).

Every process that extracts features or trains builds glr's tf.data datasets (the image
pipeline of `glr.data.pipeline.make_dataset`, phase 1's of `glr.training.head_data`), and
tf.data traces their functions once per dataset. AutoGraph rewrote each function's Python
first, which glr's functions do not need (they branch on Python values only), so they are
now wrapped in `glr.data.pipeline.plain`. A child process per setting builds the same four
datasets (training images, seeded views, phase 1's training and validation batches), takes
their first batch, and reports the CPU seconds; "on" makes `plain` a no-op, as before.

    .venv/bin/python benchmarks/bench_trace.py [--tiny] [--repeats N]
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


def child(autograph: bool) -> dict:
    """CPU seconds to build and start the four datasets, in this (fresh) process."""
    import numpy as np
    import tensorflow as tf  # noqa: F401 - imported before the clock starts, as every glr process has

    from glr.data import pipeline
    from glr.training import head_data

    own = pipeline.plain
    if autograph:  # the code before: AutoGraph rewrites every function tf.data traces
        pipeline.plain = head_data.plain = lambda fn: fn
    try:
        photos = common.jpeg_files(Path(tempfile.mkdtemp(prefix="glr-bench-trace-")), 4, 48, 40)
        feats = np.zeros((8, 3, 4), np.float16)
        start = time.process_time()
        next(iter(pipeline.make_dataset(photos, [0, 1, 2, 3], input_size=16, training=True, batch_size=2)))
        seeds = np.zeros((4, 2, 2), np.int64)
        next(iter(pipeline.make_dataset(photos, input_size=16, view_seeds=seeds, with_ok=True, batch_size=2)))
        images = time.process_time() - start
        next(iter(head_data.train_dataset(feats, np.arange(8), 4, 0)))
        next(iter(head_data.eval_dataset(feats[:, 0], np.arange(8), 4)))
    finally:
        pipeline.plain = head_data.plain = own
    return {"images": images, "phase 1": time.process_time() - start - images}


def main(argv=None) -> dict:
    """Run the benchmark; returns the median CPU seconds per setting."""
    p = common.parser(__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=3, help="child processes per setting, interleaved")
    p.add_argument("--child", choices=["on", "off"], help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.child == "on")))
        print(f"peak {common.peak_rss_gb():.2f}")
        return {}
    common.header("tracing glr's dataset functions in a fresh process: AutoGraph on (before) vs off (glr's)")
    runs = {"on": [], "off": []}
    for _ in range(1 if args.tiny else args.repeats):
        for setting in runs:
            if args.tiny:  # the smoke test, in this process: its second setting finds AutoGraph's caches warm
                runs[setting].append(child(setting == "on"))
                continue
            out, _ = common.run_child([__file__, "--child", setting])
            runs[setting].append(json.loads(out.splitlines()[-1]))
    medians = {s: {k: statistics.median(r[k] for r in rs) for k in ("images", "phase 1")} for s, rs in runs.items()}
    print(f"{'AutoGraph':10s} {'image pipeline CPU s':>22s} {'phase 1 CPU s':>15s}   (medians of {len(runs['on'])})")
    for setting, m in medians.items():
        print(f"{setting:10s} {m['images']:22.2f} {m['phase 1']:15.2f}")
    on, off = (sum(medians[s].values()) for s in ("on", "off"))
    common.summary(f"tracing the four datasets: {on:.2f} CPU-s with AutoGraph, {off:.2f} without "
                   f"({on - off:.2f} s less per process)")
    return medians


if __name__ == "__main__":
    main()

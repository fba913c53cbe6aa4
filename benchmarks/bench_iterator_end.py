"""What a finished input pipeline costs to let go of: tf.data's autotuning thread on and off, side by side.

`glr.data.pipeline.make_dataset` turns tf.data's autotuning off. With it on, deleting the
iterator of a finished extraction sat idle for seconds: TensorFlow's destructor waits for
the autotuning thread, which was asleep in a timed wait. This runs the same extraction
(`glr.backbones.features.window_features`, the default training's, on the demo's photos,
ONNX Runtime's backbone) twice in a fresh child process per setting, and prints per pass
the wall time, the backbone's part of it, and the time spent after the last batch.

    .venv/bin/python benchmarks/bench_iterator_end.py [--tiny] [--photos N]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402

PASSES = 2


def child(photos: int, autotune: bool, tiny: bool) -> list[dict]:
    """Extract the windows of `photos` demo photos PASSES times; the timings of each pass."""
    import numpy as np
    import tensorflow as tf

    from glr.backbones import features
    from glr.backbones.registry import build_backbone, get_backbone

    spec = get_backbone("efficientnet_lite0")
    size = common.TINY_SIZE if tiny else spec.input_size
    if tiny:
        import tempfile

        root = common.tiny_dataset(Path(tempfile.mkdtemp(prefix="glr-bench-iter-")))
    else:
        root = common.demo_root()
    paths = sorted(str(p) for p in Path(root).rglob("*.jpg"))[:photos]
    map_model = features.spatial_model(build_backbone(spec.name, weights=None if tiny else "imagenet",
                                                      input_size=size))
    original_make, original_engine = features.make_dataset, features._engine
    clock = {"forward": 0.0, "last batch": 0.0}

    def make(*args, **kwargs):
        ds = original_make(*args, **kwargs)
        if autotune:  # the setting before: tf.data's own default
            options = tf.data.Options()
            options.autotune.enabled = True
            ds = ds.with_options(options)
        return ds

    def engine(*args, **kwargs):
        def add(wall, cpu):
            clock["forward"] += wall
            clock["last batch"] = time.perf_counter()
        return common.timed_forward(original_engine(*args, **kwargs), add)

    features.make_dataset, features._engine = make, engine
    passes = []
    try:
        for _ in range(PASSES):
            clock["forward"] = 0.0
            start = time.perf_counter()
            feats, ok = features.window_features(map_model, paths, input_size=size, preprocess=spec.preprocess)
            end = time.perf_counter()
            passes.append({"wall": end - start, "forward": clock["forward"], "after": end - clock["last batch"],
                           "photos": int(np.sum(ok))})
    finally:
        features.make_dataset, features._engine = original_make, original_engine
    return passes


def main(argv=None) -> dict:
    """Run the benchmark; returns the passes of each setting."""
    p = common.parser(__doc__.splitlines()[0])
    p.add_argument("--photos", type=int, default=800, help="demo photos per pass (2 backbone inputs each)")
    p.add_argument("--child", choices=["on", "off"], help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.photos, args.child == "on", args.tiny)))
        print(f"peak {common.peak_rss_gb():.2f}")
        return {}
    common.header("a finished pipeline's end: tf.data autotuning on (tf.data's default) vs off (glr's)")
    results = {}
    for setting in ("on", "off"):
        if args.tiny:  # the smoke test: in this process, no child's TensorFlow import
            results[setting] = child(args.photos, setting == "on", True)
        else:
            out, _ = common.run_child([__file__, "--child", setting, "--photos", str(args.photos)])
            results[setting] = json.loads(out.splitlines()[-1])
    print(f"{'autotune':10s} {'pass':>4s} {'photos':>7s} {'wall s':>8s} {'forward s':>10s} {'after the last batch s':>24s}")
    for setting, passes in results.items():
        for i, one in enumerate(passes, 1):
            print(f"{setting:10s} {i:4d} {one['photos']:7d} {one['wall']:8.2f} {one['forward']:10.2f} {one['after']:24.2f}")
    on, off = (sum(x["wall"] for x in results[s]) for s in ("on", "off"))
    after_on, after_off = (max(x["after"] for x in results[s]) for s in ("on", "off"))
    photos = results["off"][0]["photos"]
    common.summary(f"{PASSES} extractions of {photos} photos: {on:.1f} s with tf.data's autotuning, {off:.1f} s "
                   f"without ({on / max(off, 1e-9):.2f}x); the longest wait after a last batch {after_on:.2f} s vs "
                   f"{after_off:.2f} s")
    return results


if __name__ == "__main__":
    main()

"""Input pipeline: decode + resize throughput of glr's tf.data pipeline vs the backbone's.

The pipeline (glr.data.pipeline.make_dataset: Pillow decode with JPEG draft, resize, random
crop and flip, preprocessing, batching) runs alone over photo-sized JPEGs (640x480);
then the default backbone runs alone on batches of 32, on the engine feature extraction
uses (glr.backbones.features.ENGINE: ONNX Runtime by default). If the
pipeline is at least 3x faster, training never waits on its input.

    .venv/bin/python benchmarks/bench_pipeline.py [--tiny]
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402

GOAL = 3.0
BATCH = 32


def pipeline_rate(paths: list[str], input_size: int, preprocess, passes: int) -> float:
    """Images per second through make_dataset (training mode), after one warm-up batch."""
    from glr.data.pipeline import make_dataset

    ds = make_dataset(paths, list(range(len(paths))), input_size=input_size, preprocess=preprocess,
                      training=True, batch_size=BATCH)
    next(iter(ds))  # builds the graph and starts the worker threads
    with common.Timer() as t:
        n = sum(int(images.shape[0]) for _ in range(passes) for images, _ in ds)
    return n / t.seconds


def backbone_rate(model, input_size: int, batches: int, engine: str) -> float:
    """Images per second through the backbone at batch 32, on the engine extraction runs it on."""
    from glr.backbones import features

    forward = features._engine(model, features.compiled_forward(model), input_size, 1 << 30, "pooled", engine)
    x = np.random.default_rng(0).uniform(-1, 1, (BATCH, input_size, input_size, 3)).astype(np.float32)
    forward(x)
    with common.Timer() as t:
        for _ in range(batches):
            forward(x)
    return batches * BATCH / t.seconds


def main(argv=None) -> dict:
    """Run the benchmark; returns its figures."""
    args = common.parser(__doc__.splitlines()[0]).parse_args(argv)
    from glr.backbones import features
    from glr.backbones.registry import DEFAULT_BACKBONE, build_backbone, get_backbone

    common.header("input pipeline vs backbone throughput")
    spec = get_backbone(DEFAULT_BACKBONE)
    size = common.TINY_SIZE if args.tiny else spec.input_size
    n, passes, batches = (16, 1, 2) if args.tiny else (320, 2, 12)
    with tempfile.TemporaryDirectory(prefix="glr-bench-jpeg-") as tmp:
        photos = common.jpeg_files(Path(tmp), n, *((64, 48) if args.tiny else (640, 480)))
        demo = photos if args.tiny else sorted(str(p) for p in (common.demo_root() / "train").rglob("*.jpg"))[:n]
        pipe = pipeline_rate(photos, size, spec.preprocess, passes)
        small = pipeline_rate(demo, size, spec.preprocess, passes)
        model = build_backbone(DEFAULT_BACKBONE, input_size=size)
        # The engine extraction uses (ONNX Runtime by default; the tiny mode skips its export).
        engine = "tf" if args.tiny else features.ENGINE
        net = backbone_rate(model, size, batches, engine)
        # Before and after the backbone: the machine's load drifts.
        pipe = (pipe + pipeline_rate(photos, size, spec.preprocess, passes)) / 2
        small = (small + pipeline_rate(demo, size, spec.preprocess, passes)) / 2
    ratio, demo_ratio = pipe / net, small / net
    print(f"pipeline, 640x480 photos (decode, resize, crop, flip, preprocess): {pipe:.0f} img/s")
    print(f"pipeline, the demo's photos (about 256 px):                       {small:.0f} img/s")
    print(f"{DEFAULT_BACKBONE} forward at {size} px, batch {BATCH} ({engine} engine):            {net:.1f} img/s")
    common.summary(f"pipeline: {ratio:.1f}x the backbone's throughput on 640x480 photos ({pipe:.0f} vs {net:.1f} img/s), "
                   f"{demo_ratio:.1f}x on the demo's photos (goal >= {GOAL:.0f}x): {'met' if ratio >= GOAL else 'NOT met'}")
    return {"ratio": ratio, "demo_ratio": demo_ratio}


if __name__ == "__main__":
    main()

"""Memory: peak RSS of glr's phase 1 (features + head training) for the default backbone and ResNet152.

Each training runs in its own child process (glr.training.trainer.train_run on a demo subset, from an
empty feature cache, so the backbone passes are included), which reports its own peak RSS
(VmHWM, `common.peak_rss_gb`). ResNet152 uses random weights: Keras' ImageNet weights cannot be downloaded
here, and the weights' values do not change the memory.
Goal: at most 4 GB for ResNet152.

    .venv/bin/python benchmarks/bench_memory.py [--tiny] [--backbones efficientnet_lite0]

ResNet152's two cases take many minutes on a busy 2-core machine: `--backbones efficientnet_lite0` runs the
default backbone's case alone.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402

GOAL_GB = 4.0
# (backbone, weights, augment space): the default way, and ResNet152 both ways (feature
# space builds a second copy of the backbone, at the load size).
CASES = [("efficientnet_lite0", "imagenet", "images"), ("resnet152", None, "images"), ("resnet152", None, "features")]
# Peak memory is set by the batch (32 images), not by the number of images.
CLASSES, PER_CLASS, EPOCHS = 5, 8, 5


def child(backbone: str, weights: str, space: str, data: str, input_size: int, epochs: int, results: str) -> None:
    """Phase 1 of one run; prints the peak RSS in GB on the last line."""
    from glr.training.config import TrainConfig
    from glr.training.launch import new_run
    from glr.training.trainer import train_run

    cfg = TrainConfig(data=data, top_n=CLASSES, backbone=backbone, weights=None if weights == "none" else weights,
                      input_size=input_size or None, epochs=epochs, patience=epochs, augment_space=space)
    with common.empty_feature_cache():
        metrics = train_run(new_run(results, cfg))
    print(f"top-1 {metrics['top1']:.3f}")
    print(f"peak_rss_gb {common.peak_rss_gb():.3f}")


def main(argv=None) -> dict:
    """Run the benchmark; returns its figures."""
    p = common.parser(__doc__.splitlines()[0])
    p.add_argument("--backbones", nargs="+", help="only the cases of these backbones (default: every case)")
    p.add_argument("--child", nargs=6, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        backbone, weights, space, data, size, results = args.child
        child(backbone, weights, space, data, int(size), 1 if args.tiny else EPOCHS, results)
        return {}
    cases = [case for case in CASES if not args.backbones or case[0] in args.backbones]
    if not cases:  # before any work, so a typo costs nothing
        p.error(f"--backbones: none of {args.backbones} is measured here (the cases: "
                f"{', '.join(sorted({case[0] for case in CASES}))})")
    common.header("peak memory of phase 1")
    peaks = {}
    with tempfile.TemporaryDirectory(prefix="glr-bench-memory-") as tmp:
        tmp = Path(tmp)
        if args.tiny:
            data, cases, size = common.tiny_dataset(tmp / "tiny"), [("efficientnet_lite0", "imagenet", "features")], \
                common.TINY_SIZE
        else:
            data, size = common.demo_subset(tmp / "data", CLASSES, PER_CLASS), 0
        for backbone, weights, space in cases:
            with common.Timer() as t:
                out, peak = common.run_child([__file__, *(["--tiny"] if args.tiny else []), "--child", backbone,
                                              str(weights).lower(), space, str(data), str(size),
                                              str(tmp / f"results-{backbone}-{space}")])
            peaks[f"{backbone} ({space})"] = peak
            print(f"{backbone:20s} {space:9s} ({'ImageNet' if weights else 'random init'}): peak RSS {peak:.2f} GB "
                  f"({t.seconds:.0f} s, {out.strip().splitlines()[-1]})", flush=True)
    deep = [gb for name, gb in peaks.items() if name.startswith("resnet152")]
    line = ", ".join(f"{name} {gb:.2f} GB" for name, gb in peaks.items())
    if not deep:
        common.summary(f"memory: phase 1 peak RSS {line} ({'tiny mode' if args.tiny else '--backbones'}: no ResNet152)")
    else:
        common.summary(f"memory: phase 1 peak RSS {line} (goal <= {GOAL_GB:.0f} GB for resnet152): "
                       f"{'met' if max(deep) <= GOAL_GB else 'NOT met'}")
    return peaks


if __name__ == "__main__":
    main()

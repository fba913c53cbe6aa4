"""Where a cold `python -m glr train` on the demo spends its time, stage by stage.

A child process runs exactly `python -m glr train` (the CLI's `main(["train", ...])`) on
the whole demo with the shipped defaults, from an EMPTY feature cache (a temporary
GLR_CACHE_DIR into which only the converted weights, the exported extractors and the
distractor photos are linked: those are made once per machine) and a temporary
results folder. Timers wrap the stages without changing them: importing TensorFlow,
reading the dataset, building the backbone, hashing the photos, extraction (split into
the backbone's forward passes, the wait for the input pipeline, and the CPU time the
pipeline's threads spent decoding and resizing), cache reads and writes, phase 1 (and its
per-epoch checkpoints), evaluation, the similarity index and the report. Each stage gets
its wall time and the process's CPU time (all threads), since other work shares the
machine. Goal (issue #15): the whole run in <= 60 s at top-1 >= 0.92.

    .venv/bin/python benchmarks/bench_cold_train.py [--tiny] [--engine auto|int8|onnx|fp32|tf]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402

GOAL_SECONDS = 60.0
GOAL_TOP1 = 0.92
# Tiny mode: 2 epochs at 32 px. On the demo "auto" leaves phase 2 off (its estimate is over the budget), but on
# 18 tiny photos it would turn it on for 16 epochs, which the full run never pays: it stays off here too.
TINY_ARGS = ["--epochs", "2", "--input-size", str(common.TINY_SIZE), "--no-fine-tune"]


class Stages:
    """Wall and CPU seconds per stage, from wrappers around functions."""

    def __init__(self):
        self.wall: dict[str, float] = {}
        self.cpu: dict[str, float] = {}

    def add(self, name: str, wall: float, cpu: float) -> None:
        self.wall[name] = self.wall.get(name, 0.0) + wall
        self.cpu[name] = self.cpu.get(name, 0.0) + cpu

    def wrap(self, owner, attr: str, name: str) -> None:
        """Time every call of `owner.attr` as stage `name`."""
        original = getattr(owner, attr)

        def timed(*args, **kwargs):
            wall, cpu = time.perf_counter(), time.process_time()
            try:
                return original(*args, **kwargs)
            finally:
                self.add(name, time.perf_counter() - wall, time.process_time() - cpu)

        setattr(owner, attr, timed)


def child(data: str, results: str, engine: str, tiny: bool) -> None:
    """Run the CLI's train with timers; print the stages as JSON, then a peak-RSS line."""
    stages = Stages()
    start_wall, start_cpu = time.perf_counter(), time.process_time()
    import tensorflow  # noqa: F401 - timed: every `glr train` pays it

    stages.add("import tensorflow", time.perf_counter() - start_wall, time.process_time() - start_cpu)
    from glr import cli
    from glr.backbones import feature_cache, features, onnx_backend
    from glr.data import pipeline
    from glr.evaluation import finish, report
    from glr.training import checkpoints, trainer, trainer_features

    features.ENGINE = engine
    stages.wrap(trainer.Trainer, "prepare_data", "read the dataset")
    stages.wrap(trainer, "build_backbone", "build the backbone")
    stages.wrap(trainer_features, "content_digest", "hash the photos")
    stages.wrap(trainer.Trainer, "features", "features (all)")
    stages.wrap(onnx_backend, "export", "  ONNX export")
    stages.wrap(feature_cache.FeatureCache, "load_views", "  cache reads")  # `load` calls it
    # Every write goes through _save_all, whose threads write a round's files: its wall time is theirs together.
    stages.wrap(feature_cache, "_save_all", "  cache writes")
    original_engine, original_run, original_decode = features._engine, features._run_batches, pipeline._decode_or_blank

    def engine_timed(*args, **kwargs):
        return common.timed_forward(original_engine(*args, **kwargs),
                                    lambda wall, cpu: stages.add("  backbone forward", wall, cpu))

    def run_timed(forward, ds, *rest):
        wall, cpu = time.perf_counter(), time.process_time()
        try:
            return original_run(forward, ds, *rest)
        finally:
            stages.add("  batches (forward + waiting for input)", time.perf_counter() - wall, time.process_time() - cpu)

    def decode_timed(*args):
        cpu = time.thread_time()
        try:
            return original_decode(*args)
        finally:  # CPU of the pipeline's threads, which run beside the backbone
            stages.add("  decode + resize (pipeline threads, CPU)", 0.0, time.thread_time() - cpu)

    features._engine, features._run_batches, pipeline._decode_or_blank = engine_timed, run_timed, decode_timed
    stages.wrap(trainer.Trainer, "phase1", "phase 1 (all)")
    stages.wrap(checkpoints.Checkpoints, "write", "  checkpoint writes")
    stages.wrap(finish, "evaluate_run", "evaluate")
    stages.wrap(finish, "index_run", "similarity index")
    # Made in a thread beside phase 1 (its wall time overlaps phase 1's), then looked up by the index step.
    stages.wrap(finish, "make_thumbnails", "  thumbnails (every call, wall)")
    stages.wrap(report, "write_report", "report")
    args = ["train", data, "--results", results, "--seed", "42", "--feature-engine", engine] + (TINY_ARGS if tiny else [])
    code = cli.main(args)
    stages.add("total", time.perf_counter() - start_wall, time.process_time() - start_cpu)
    run = sorted((Path(results) / "runs").iterdir())[-1]
    metrics = json.loads((run / "metrics.json").read_text()) if (run / "metrics.json").is_file() else {}
    print(json.dumps({"code": code, "wall": stages.wall, "cpu": stages.cpu, "top1": metrics.get("top1")}))
    print(f"peak {common.peak_rss_gb():.2f}")


def main(argv=None) -> dict:
    """Run the benchmark; returns its figures."""
    p = common.parser(__doc__.splitlines()[0])
    p.add_argument("--engine", default="auto", choices=["auto", "int8", "onnx", "fp32", "tf"])
    p.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        return child(*args.child, args.engine, args.tiny)
    common.header(f"a cold `python -m glr train` on the demo, stage by stage (engine {args.engine})")
    with tempfile.TemporaryDirectory(prefix="glr-bench-cold-") as tmp, common.empty_feature_cache():
        data = str(common.tiny_dataset(Path(tmp) / "tiny")) if args.tiny else str(common.demo_root())
        out, peak = common.run_child([__file__, "--child", data, str(Path(tmp) / "results"), "--engine", args.engine,
                                      *(["--tiny"] if args.tiny else [])])
    figures = json.loads(out.splitlines()[-1])
    wall, cpu = figures["wall"], figures["cpu"]
    print(f"{'stage':44s} {'wall s':>8s} {'CPU s':>8s}")
    for name in wall:
        print(f"{name:44s} {wall[name]:8.1f} {cpu[name]:8.1f}")
    top1 = figures["top1"] or 0.0
    total = wall["total"]
    met = total <= GOAL_SECONDS and top1 >= GOAL_TOP1
    common.summary(f"cold train on the {'tiny set' if args.tiny else 'demo'}: {total:.1f} s wall ({cpu['total']:.1f} s CPU), "
                   f"top-1 {top1:.3f}, peak RSS {peak:.2f} GB (goal <= {GOAL_SECONDS:.0f} s at top-1 >= {GOAL_TOP1}): "
                   f"{'met' if met else 'NOT met'}")
    return figures


if __name__ == "__main__":
    main()

"""Scale-out: `python -m glr train --workers 1` against `--workers 2` on the same data, in one run.

Each case is the real command (`python -m glr train DATA --workers N --fine-tune`), from an
EMPTY feature cache, so the sharded feature extraction is timed; phase 1 and phase 2 times
come from the run's history, the features from its status. It prints the ratio of the
totals and the rates that docs/scale-out.md scales to GLDv2 (photos/s of feature
extraction, head samples/s, fine-tune images/s per worker).

Honest note: here 2 workers share the same 2 cores (one thread each), so they cannot be
faster than one process using both; the ratio shows the cost of the collectives and of a
second TensorFlow, not the gain of a second machine.

    .venv/bin/python benchmarks/bench_distributed.py [--tiny]

`--epochs [--before REF] [--rounds N]` measures instead the fixed cost of a `--workers 2` epoch: phase 1 only,
on the tests' tiny dataset and settings (18 photos, 20 epochs), the feature cache warm, this tree against git REF
(exported with `git archive`) in interleaved rounds: the chief's seconds per epoch (its history), the seconds from
its last epoch to the end of the run (the classifier's save, the evaluation, index and report), and the whole run.
`--epochs --fine-tune` measures phase 2 so instead, on real photos (a subset of wonders7, up to 640 px): the
chief's seconds per fine-tune epoch, each worker decoding its photos; and the final weights' digest.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402

GLDV2_CLEAN = dict(photos=1_580_470, classes=81_313)  # train-clean (NOTES.md)
VAL_FRACTION, VIEWS = 0.2, 4  # glr's defaults: a fifth for validation, K = 4 augmented views + the clean one
CASE = dict(classes=8, per_class=20)  # 160 demo photos at Lite0's 224 px
ARGS = ["--epochs", "10", "--patience", "100", "--fine-tune", "--fine-tune-epochs", "1"]
EPOCH_ARGS = ["--input-size", "32", "--views", "2", "--epochs", "20", "--batch-size", "4", "--hidden", "32",
              "--learning-rate", "1e-2", "--patience", "100", "--no-fine-tune"]  # tests/conftest.py's TINY_TRAIN
# Phase 2 where decoding the photos counts: 7 wonders7 classes of 16 photos, at 160 px, 2 fine-tune epochs.
WONDERS7 = Path(__file__).resolve().parents[2] / "shared" / "data" / "wonders7"
FINE_TUNE_CASE = dict(classes=7, per_class=16)
FINE_TUNE_ARGS = ["--input-size", "160", "--views", "1", "--epochs", "2", "--batch-size", "16", "--hidden", "32",
                  "--patience", "100", "--fine-tune", "--fine-tune-epochs", "2", "--fine-tune-layers", "5"]
TINY_ARGS = ["--input-size", "32", "--views", "1", "--epochs", "2", "--batch-size", "4", "--hidden", "16",
             "--fine-tune", "--fine-tune-epochs", "1", "--fine-tune-layers", "3"]


def train(data: Path, results: Path, workers: int, args: list[str]) -> dict:
    """One `python -m glr train` with `workers` workers and an empty feature cache; its figures."""
    from glr.training.run import Run, runs_dir

    with common.empty_feature_cache(), common.Timer() as t:
        done = subprocess.run([sys.executable, "-m", "glr", "train", str(data), "--results", str(results),
                               "--workers", str(workers), *args], capture_output=True, text=True, cwd=common.ROOT,
                              env=dict(os.environ))
    if done.returncode != 0:
        raise RuntimeError(f"--workers {workers} failed:\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}")
    (path,) = list(runs_dir(results).iterdir())
    run = Run(path)
    history, status, data_info = run.history(), run.status(), run.config()["dataset"]
    phase1 = history[history["phase"] == 1]
    phase2 = history[history["phase"] == 2]
    return {"seconds": t.seconds, "top1": run.metrics()["top1"], "features": status.get("features_computed"),
            "features_seconds": status.get("features_seconds"),
            "phase1": float(phase1["seconds"].sum()), "phase1_epochs": len(phase1),
            "phase2": float(phase2["seconds"].sum()), "phase2_epochs": len(phase2),
            "train": data_info["train"], "val": data_info["val"]}


def gldv2_table(rates: dict, workers=(1, 4, 16)) -> list[str]:
    """Hours per worker for GLDv2 train-clean at the measured per-worker rates, as a Markdown table.

    Linear scaling is assumed (each worker does 1/N of the photos and of each epoch's samples);
    the head's real cost grows with 81k classes, so phase 1 is a lower bound.
    """
    train = GLDV2_CLEAN["photos"] * (1 - VAL_FRACTION)
    passes = train * (VIEWS + 1) + GLDV2_CLEAN["photos"] * VAL_FRACTION
    rows = ["| workers | features (h) | phase 1, one head epoch (min) | phase 2, one fine-tune epoch (h) |",
            "|---|---|---|---|"]
    for n in workers:
        rows.append(f"| {n} | {passes / n / rates['feature_passes_per_s'] / 3600:.1f} | "
                    f"{train / n / rates['head_samples_per_s'] / 60:.1f} | "
                    f"{GLDV2_CLEAN['photos'] / n / rates['fine_tune_images_per_s'] / 3600:.1f} |")
    return rows


def loop_vs_fit(tiny: bool, steps: int = 8, rounds: int = 3) -> float:
    """Phase 2's step in one process: glr's loop (default strategy) against Keras' fit, interleaved; fit/loop time."""
    import keras
    import numpy as np
    import tensorflow as tf

    from glr.backbones.registry import build_backbone
    from glr.training.loop import Steps, build_optimizer, distribute
    from glr.training.model import build_classifier, build_head

    size, classes, batch = (32, 3, 4) if tiny else (224, 10, 32)
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (batch * steps, size, size, 3)).astype(np.float32)
    y = np.eye(classes, dtype=np.float32)[rng.integers(0, classes, batch * steps)]
    ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(batch)
    models = {}
    for way in ("fit", "loop"):
        keras.utils.set_random_seed(0)
        backbone = build_backbone("efficientnet_lite0", weights="imagenet", input_size=size)
        for layer in backbone.layers[:-60]:
            layer.trainable = False
        model = build_classifier(backbone, build_head(backbone.output_shape[-1], classes, 512, 0.5), size)
        model.compile(optimizer=keras.optimizers.Adam(1e-4), loss=keras.losses.CategoricalCrossentropy(label_smoothing=0.1),
                      metrics=["accuracy"])
        models[way] = model
    strategy = tf.distribute.get_strategy()
    build_optimizer(strategy, models["loop"])
    ours, dist = Steps(strategy, models["loop"], 0.1, classes), distribute(strategy, ds)
    run = {"fit": lambda: models["fit"].fit(ds, epochs=1, verbose=0),
           "loop": lambda: [ours.train(b, tf.constant(0.0)) for b in dist][-1].numpy()}
    for fn in run.values():  # trace and warm up
        fn()
    seconds = {way: [] for way in run}
    for _ in range(rounds):
        for way, fn in run.items():
            with common.Timer() as t:
                fn()
            seconds[way].append(t.seconds)
    med = {way: float(np.median(v)) for way, v in seconds.items()}
    print(f"phase 2 in one process, {steps} steps of {batch} at {size} px: Keras fit {med['fit']:.2f} s, glr's loop "
          f"{med['loop']:.2f} s (median of {rounds}, interleaved) [load {os.getloadavg()[0]:.2f}]", flush=True)
    return med["fit"] / med["loop"]


def timed(argv: list[str], cwd: Path, env: dict) -> tuple[str, float, float | None]:
    """Run `argv`: (its output, its seconds, the seconds from its last "epoch" line on stdout to its end, or None)."""
    import time

    with tempfile.TemporaryFile() as err:
        started = time.monotonic()
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=err, text=True, cwd=cwd, env=env)
        lines, last = [], None
        for line in proc.stdout:  # the chief's epoch lines, as it prints them
            lines.append(line)
            if line.startswith("epoch "):
                last = time.monotonic()
        proc.wait()
        ended = time.monotonic()
        err.seek(0)
        output = "".join(lines) + err.read().decode(errors="replace")
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed in {cwd}:\n{output[-4000:]}")
    return output, ended - started, (ended - last) if last else None


def epoch_run(tree: Path, data: Path, results: Path, args: list[str] = EPOCH_ARGS) -> dict:
    """One run with 2 workers of the glr in `tree`: the chief's epoch seconds (each phase), its end, the whole run's."""
    import statistics

    from glr.training.run import Run, runs_dir

    env = dict(os.environ, PYTHONPATH=str(tree))
    _, whole, after = timed([sys.executable, "-m", "glr", "train", str(data), "--results", str(results),
                             "--workers", "2", *args], tree, env)
    (path,) = list(runs_dir(results).iterdir())
    history = Run(path).history()  # the chief's wall time of each epoch, validation included
    seconds, tuned = history[history["phase"] == 1]["seconds"].tolist(), history[history["phase"] == 2]["seconds"].tolist()
    return {"first": seconds[0], "median": statistics.median(seconds[1:] or seconds), "epochs": sum(seconds),
            "phase2": statistics.median(tuned) if tuned else None, "after": after, "whole": whole,
            "top1": Run(path).metrics()["top1"], "digest": Run(path).status().get("weights_digest")}


def wonders7_subset(out: Path, classes: int, per_class: int) -> Path:
    """A GLDv2 folder of wonders7's first `classes` classes, `per_class` photos each (its `train/` linked, not copied)."""
    import pandas as pd

    table = pd.read_csv(WONDERS7 / "train.csv")
    table = table[table["landmark_id"].isin(sorted(table["landmark_id"].unique())[:classes])]
    out.mkdir(parents=True, exist_ok=True)
    table.groupby("landmark_id").head(per_class).to_csv(out / "train.csv", index=False)
    (out / "train").symlink_to(WONDERS7 / "train")
    return out


def epoch_cost(before: str | None, rounds: int, fine_tune: bool = False) -> dict:
    """`--epochs`: the fixed costs of a --workers 2 run, this tree against `before`, interleaved."""
    import statistics

    what = "phase 2 on real photos" if fine_tune else "phase 1, feature cache warm"
    common.header(f"the fixed cost of an epoch with 2 local workers ({what})")
    args = FINE_TUNE_ARGS if fine_tune else EPOCH_ARGS
    keys = ("phase2", "after", "whole") if fine_tune else ("median", "epochs", "after", "whole")
    with tempfile.TemporaryDirectory(prefix="glr-bench-epochs-") as tmp, common.empty_feature_cache():
        tmp = Path(tmp)
        data = wonders7_subset(tmp / "w7", **FINE_TUNE_CASE) if fine_tune else common.tiny_dataset(tmp / "tiny")
        trees = {"now": common.ROOT}
        if before:
            trees = {f"before ({before})": common.checkout(before, tmp / "before"), **trees}
        epoch_run(common.ROOT, data, tmp / "warm-up", args)  # fills the feature cache: the rounds train only
        runs = {name: [] for name in trees}
        for i in range(rounds):
            for name, tree in trees.items():
                r = epoch_run(tree, data, tmp / f"{name[:3]}-{i}", args)
                runs[name].append(r)
                print(f"round {i + 1}, {name}: " + (f"phase 2 epoch median {r['phase2']:.2f} s" if fine_tune else
                                                    f"epoch median {r['median']:.3f} s (first {r['first']:.2f} s), "
                                                    f"20 epochs {r['epochs']:.1f} s") +
                      f", after the last epoch {r['after']:.1f} s, the whole run {r['whole']:.1f} s, top-1 "
                      f"{r['top1']:.3f}, weights {r['digest']}  [load {os.getloadavg()[0]:.2f}]", flush=True)
    out = {name: {k: statistics.median(r[k] for r in rs) for k in keys} for name, rs in runs.items()}
    common.summary("; ".join(f"{name}: " + ", ".join(f"{k} {o[k]:.2f} s" for k in keys) for name, o in out.items())
                   + f" (medians of {rounds} rounds)")
    return out


def main(argv=None) -> dict:
    """Run the benchmark; returns its figures."""
    parser = common.parser(__doc__.splitlines()[0])
    parser.add_argument("--epochs", action="store_true", help="measure the fixed cost of an epoch instead")
    parser.add_argument("--before", help="with --epochs: also measure this git revision")
    parser.add_argument("--rounds", type=int, default=3, help="with --epochs: interleaved rounds")
    parser.add_argument("--fine-tune", action="store_true", help="with --epochs: phase 2 on real photos instead")
    args = parser.parse_args(argv)
    if args.epochs:
        return epoch_cost(args.before, args.rounds, args.fine_tune)
    common.header("scale-out: 1 vs 2 local workers (tf.distribute)")
    speed = loop_vs_fit(args.tiny)
    out = {}
    with tempfile.TemporaryDirectory(prefix="glr-bench-dist-") as tmp:
        tmp = Path(tmp)
        data = common.tiny_dataset(tmp / "tiny") if args.tiny else common.demo_subset(tmp / "data", **CASE)
        for workers in (1, 2):
            r = train(data, tmp / f"results-{workers}", workers, TINY_ARGS if args.tiny else ARGS)
            out[workers] = r
            print(f"{workers} worker(s): {r['seconds']:7.1f} s in all, top-1 {r['top1']:.3f}; features: "
                  f"{r['features']} computed by the chief in {r['features_seconds']} s; phase 1 {r['phase1']:.1f} s for {r['phase1_epochs']} epochs "
                  f"of {r['train']} samples; phase 2 {r['phase2']:.1f} s for {r['phase2_epochs']} epoch(s)  "
                  f"[load {os.getloadavg()[0]:.2f}]", flush=True)
    one, two = out[1], out[2]
    rates = {"feature_passes_per_s": one["features"] / max(one["features_seconds"], 1e-9),
             "head_samples_per_s": one["phase1_epochs"] * one["train"] / max(one["phase1"], 1e-9),
             "fine_tune_images_per_s": one["phase2_epochs"] * (one["train"] + one["val"]) / max(one["phase2"], 1e-9)}
    print("rates, 1 worker: " + json.dumps({k: round(v, 1) for k, v in rates.items()}))
    print("GLDv2 train-clean at these rates (docs/scale-out.md):\n" + "\n".join(gldv2_table(rates)))
    ratio = one["seconds"] / two["seconds"]
    common.summary(f"distributed: 2 local workers take {1 / ratio:.2f}x the time of 1 ({two['seconds']:.1f} vs "
                   f"{one['seconds']:.1f} s; ratio {ratio:.2f}), top-1 {two['top1']:.3f} vs {one['top1']:.3f}; "
                   "2 workers on the same 2 cores cannot be faster (they measure the cost of the collectives); "
                   f"one process: glr's loop runs phase 2 at {speed:.2f}x Keras fit's speed")
    return {"ratio": ratio, "loop_vs_fit": speed, "runs": out, "rates": rates}


if __name__ == "__main__":
    main()

"""Phase 1 at the demo's size: the trainer's own phase 1 on random features, before/after side by side.

The cold demo training's phase 1 is 1,600 training photos x 5 cached views (the clean view
and 4 augmented ones) of 1280 numbers, 400 validation photos, 100 classes, 40 epochs of
batch 32 (`Trainer.phase1`: head, datasets, the loop, status, history and checkpoints in a
real run folder). Here the features are synthetic (each photo its class's centre plus noise,
each view a little more noise), so the head learns something and its accuracy says whether
a change to the loop changed the training.

Each measurement runs in a child process with the glr of one source tree (`--tree`, e.g.
the main checkout for "before"), the trees interleaved over `--rounds`, so both see the
same load. Each child reports wall and CPU seconds of phase 1 and its last/best val figures.

    nice -n 10 .venv/bin/python benchmarks/bench_phase1.py [--tiny] [--tree before=/work/main] [--rounds 2]
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402

DEMO = dict(photos=1600, views=5, val=400, dim=1280, classes=100, epochs=40)
TINY = dict(photos=64, views=2, val=16, dim=8, classes=4, epochs=2)
NOISE = (6.0, 2.0)  # per photo, per view: hard enough that the head stays below 100%


def synthetic(photos: int, views: int, val: int, dim: int, classes: int, seed: int = 0):
    """(train (N, K, D), train labels, val (M, D), val labels) in float32: class centres plus noise."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((classes, dim), dtype=np.float32)
    y_train, y_val = np.arange(photos) % classes, np.arange(val) % classes
    # Photo noise as large as the centre and a smaller one per view: hard enough not to reach 100%.
    train = centres[y_train][:, None] + NOISE[0] * rng.standard_normal((photos, 1, dim), dtype=np.float32)
    train = train + NOISE[1] * rng.standard_normal((photos, views, dim), dtype=np.float32)
    x_val = centres[y_val] + NOISE[0] * rng.standard_normal((val, dim), dtype=np.float32)
    return train, y_train, x_val, y_val


def child(size: dict, seed: int) -> dict:
    """Phase 1 of a Trainer on synthetic features, in a fresh run folder; its figures."""
    sys.path.insert(0, os.environ.get("GLR_TREE", str(common.ROOT)))  # before common's ROOT: the tree measured
    import pandas as pd
    import tensorflow as tf

    from glr.training.config import TrainConfig
    from glr.training.launch import new_run
    from glr.training.progress import Progress
    from glr.training.settings import resolve
    from glr.training.trainer import Trainer

    train, y_train, val, y_val = synthetic(**{k: v for k, v in size.items() if k != "epochs"})
    cfg = TrainConfig(epochs=size["epochs"], seed=seed)
    with tempfile.TemporaryDirectory(prefix="glr-bench-phase1-") as tmp:
        run = new_run(tmp, cfg)
        trainer = Trainer.__new__(Trainer)  # phase 1 alone: no dataset, no backbone
        trainer.run, trainer.cfg, trainer.console = run, cfg, False
        trainer.strategy, trainer.cluster, trainer.distributed = tf.distribute.get_strategy(), None, False
        trainer.progress, trainer.phase_end = Progress(run), cfg.epochs
        trainer.train, trainer.val = pd.DataFrame({"label": y_train}), pd.DataFrame({"label": y_val})
        trainer.labels = list(range(size["classes"]))
        settings = resolve(cfg)  # what the checkpoints record the weights fit (Trainer.about)
        trainer.spec, trainer.input_size = settings.spec, settings.input_size
        wall, cpu = time.perf_counter(), time.process_time()
        trainer.phase1(train, val, None)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        history = run.history()
    best = history.loc[history["val_loss"].idxmin()]
    return {"wall": wall, "cpu": cpu, "epochs": len(history), "last_val_acc": float(history["val_accuracy"].iloc[-1]),
            "best_val_loss": float(best["val_loss"]), "best_val_acc": float(best["val_accuracy"]),
            "last_loss": float(history["loss"].iloc[-1])}


def measure(tree: str, tiny: bool, seed: int) -> dict:
    """Run `child` in a process that imports glr from `tree`."""
    env = dict(os.environ, GLR_TREE=tree, TF_CPP_MIN_LOG_LEVEL="2")
    argv = [sys.executable, __file__, "--child", "--seeds", str(seed), *(["--tiny"] if tiny else [])]
    out = subprocess.run(argv, env=env, cwd=tree,
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main(argv=None) -> dict:
    """Run the benchmark; returns the figures of each tree (lists over the rounds)."""
    p = common.parser(__doc__.splitlines()[0])
    p.add_argument("--tree", action="append", default=[], help="name=path of a source tree to time (repeatable); "
                   "default: this one")
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--seeds", default="0", help="training seeds, comma-separated: each round runs each (default 0, "
                   "the configuration's)")
    p.add_argument("--child", action="store_true", help="(internal) run one measurement here")
    args = p.parse_args(argv)
    size = TINY if args.tiny else DEMO
    if args.child:
        figures = child(size, int(args.seeds))
        import glr

        figures["glr"] = str(Path(glr.__file__).parent.parent)  # which tree it measured, for the record
        print(json.dumps(figures))
        return {}
    trees = dict(t.split("=", 1) for t in args.tree) or {"this": str(common.ROOT)}
    if args.tiny:
        args.rounds = 1
    common.header(f"phase 1 on demo-sized synthetic features: {size}")
    results = {name: [] for name in trees}
    seeds = [int(s) for s in args.seeds.split(",")]
    for r in range(args.rounds):
        for seed in seeds:
            for name, tree in trees.items():
                figures = measure(tree, args.tiny, seed)
                results[name].append(figures)
                print(f"round {r + 1} seed {seed} {name:>8}: wall {figures['wall']:.1f} s, CPU {figures['cpu']:.1f} s, "
                      f"{figures['epochs']} epochs, last val_acc {figures['last_val_acc']:.4f}, best val_loss "
                      f"{figures['best_val_loss']:.4f} (val_acc {figures['best_val_acc']:.4f}), "
                      f"load {os.getloadavg()[0]:.2f} (glr from {figures['glr']})", flush=True)
    parts = []
    for name, rows in results.items():
        parts.append(f"{name}: {np.median([r['wall'] for r in rows]):.1f} s wall, "
                     f"{np.median([r['cpu'] for r in rows]):.1f} s CPU, best epoch's val_acc "
                     f"{np.mean([r['best_val_acc'] for r in rows]):.4f} (mean)")
    common.summary("phase 1, demo size: " + "; ".join(parts))
    return results


if __name__ == "__main__":
    main()

"""Phase 1 at GLDv2-clean size: time per epoch, checkpoint writes and peak memory of an 81k-class head.

Synthetic features stand in for the cache: 1,580,470 photos x 1280 numbers (EfficientNet-Lite0's
width) in 81,313 classes of long-tailed sizes (GLDv2-clean's counts), each photo its class's centre
plus noise, stored in float16 with one view per photo (K views would take K times the memory:
1.26M x 1280 x 2 B = 3.2 GB per view). It runs phase 1's own code, not a copy: the head
(glr.training.model), its datasets (glr.training.head_data: class indices, rows gathered from the
NumPy table in place), the compiled steps of glr.training.loop under the default strategy, and
glr.training.checkpoints' writes into a real run folder. It times a fixed number of training and
validation steps, extrapolates an epoch, times the checkpoint writes, and reports the peak RSS
(VmHWM, `common.peak_rss_gb`) since the features were made (the making's own transients apart). Last, it measures what `tf.constant(table)` (the trainer's old way) adds for part of
the table, against the in-place datasets.

    nice -n 10 .venv/bin/python benchmarks/bench_head.py [--tiny] [--classes N] [--photos N] [--batch-size B]
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402

GLDV2_CLEAN = (81_313, 1_580_470)  # classes, photos
DIM, VAL_FRACTION, CHUNK = 1280, 0.2, 1 << 16


def class_sizes(classes: int, photos: int, rng) -> np.ndarray:
    """Long-tailed class sizes (at least 2 each, as curation keeps) that sum to `photos`."""
    raw = rng.lognormal(mean=0.0, sigma=1.0, size=classes)
    sizes = 2 + np.floor(raw / raw.sum() * (photos - 2 * classes)).astype(np.int64)
    sizes[: photos - sizes.sum()] += 1  # hand out the rounding
    return sizes


def synthetic(classes: int, photos: int, dim: int, seed: int = 0):
    """(train (N, 1, D) float16, train labels, val (M, D) float16, val labels): a fifth of each class held out."""
    rng = np.random.default_rng(seed)
    sizes = class_sizes(classes, photos, rng)
    labels = np.repeat(np.arange(classes, dtype=np.int32), sizes)
    first = np.repeat(np.cumsum(sizes) - sizes, sizes)  # the index of each photo's class's first photo
    val = (np.arange(photos) - first) < np.maximum(1, np.round(sizes * VAL_FRACTION)).astype(np.int64)[labels]
    centres = (rng.standard_normal((classes, dim), dtype=np.float32) / np.sqrt(dim)).astype(np.float16)
    tables = {side: np.empty((int(mask.sum()), dim), np.float16) for side, mask in (("train", ~val), ("val", val))}
    at = {"train": 0, "val": 0}
    for start in range(0, photos, CHUNK):
        y = labels[start:start + CHUNK]
        x = centres[y] + (rng.standard_normal((len(y), dim), dtype=np.float32) * (0.8 / np.sqrt(dim))).astype(np.float16)
        for side, mask in (("train", ~val[start:start + CHUNK]), ("val", val[start:start + CHUNK])):
            n = int(mask.sum())
            tables[side][at[side]:at[side] + n] = x[mask]
            at[side] += n
    return tables["train"][:, None, :], labels[~val], tables["val"], labels[val]


def rss_gb() -> float:
    """The resident set size right now (not the peak), in GB."""
    import os

    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e9


def timed_steps(fn, batches, n: int) -> float:
    """Median seconds of `fn(batch)` over `n` batches (each call's result is read, as the loop does)."""
    times = []
    for _, batch in zip(range(n), batches):
        start = time.perf_counter()
        fn(batch)
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def main(argv=None) -> dict:
    """Run the benchmark; returns its figures."""
    p = common.parser(__doc__.splitlines()[0])
    p.add_argument("--classes", type=int, default=GLDV2_CLEAN[0])
    p.add_argument("--photos", type=int, default=GLDV2_CLEAN[1])
    p.add_argument("--batch-size", type=int, default=None, help="default: the training configuration's")
    p.add_argument("--steps", type=int, default=60, help="training steps timed (after 5 untimed)")
    p.add_argument("--copy-rows", type=int, default=250_000, help="rows of the table the tf.constant copy is measured on")
    args = p.parse_args(argv)
    if args.tiny:
        args.classes, args.photos, args.steps, args.copy_rows = 50, 2000, 5, 1000
    dim = 32 if args.tiny else DIM

    import tensorflow as tf

    from glr.training.checkpoints import Checkpoints
    from glr.training.config import TrainConfig
    from glr.training.head_data import eval_dataset, train_dataset
    from glr.training.launch import new_run
    from glr.training.loop import Steps, build_optimizer, distribute
    from glr.training.model import build_head, compile_model, save_model

    cfg = TrainConfig(batch_size=args.batch_size or TrainConfig().batch_size)
    common.header(f"phase 1's head at {args.classes:,} classes, {args.photos:,} photos x {dim} (float16, 1 view), "
                  f"batch {cfg.batch_size}, hidden {cfg.hidden}")
    with common.Timer() as made:
        train, y_train, val, y_val = synthetic(args.classes, args.photos, dim)
    table_gb = (train.nbytes + val.nbytes) / 1e9
    # Making the table has transients of its own (float32 noise per chunk) that no training holds: the peak
    # starts again here, over the table, the imports and nothing else.
    made_peak = common.peak_rss_gb()
    common.reset_peak_rss()
    print(f"synthetic features: {len(y_train):,} train + {len(y_val):,} val, {table_gb:.2f} GB in float16 "
          f"({made.seconds:.0f} s to make); RSS {rss_gb():.2f} GB, peak while making them {made_peak:.2f} GB",
          flush=True)

    strategy = tf.distribute.get_strategy()
    head = build_head(dim, args.classes, cfg.hidden, cfg.dropout, cfg.seed)
    compile_model(head, cfg.learning_rate, cfg.label_smoothing)
    build_optimizer(strategy, head)
    params = head.count_params()
    step = Steps(strategy, head, cfg.label_smoothing, args.classes)
    stop = tf.constant(0.0)
    rss_before = rss_gb()
    train_batches = iter(distribute(strategy, train_dataset(train, y_train, cfg.batch_size, cfg.seed)))
    val_batches = iter(distribute(strategy, eval_dataset(val, y_val, cfg.batch_size)))
    timed_steps(lambda b: step.train(b, stop).numpy(), train_batches, 5)  # tracing, first batches
    t_train = timed_steps(lambda b: step.train(b, stop).numpy(), train_batches, args.steps)
    timed_steps(lambda b: step.evaluate(b, stop).numpy(), val_batches, 3)
    t_val = timed_steps(lambda b: step.evaluate(b, stop).numpy(), val_batches, max(5, args.steps // 3))
    datasets_gb = rss_gb() - rss_before
    steps_per_epoch, val_steps = -(-len(y_train) // cfg.batch_size), -(-len(y_val) // cfg.batch_size)
    epoch = steps_per_epoch * t_train + val_steps * t_val
    print(f"head: {params:,} parameters ({params * 4 / 1e9:.2f} GB in float32; with Adam's two slots "
          f"{params * 12 / 1e9:.2f} GB)")
    print(f"train step {1000 * t_train:.1f} ms x {steps_per_epoch:,} steps + validation step {1000 * t_val:.1f} ms "
          f"x {val_steps:,} = {epoch / 60:.1f} min per epoch ({len(y_train) / epoch:.0f} photos/s)")
    print(f"RSS growth from the datasets and the steps: {datasets_gb:.2f} GB (the feature tables are {table_gb:.2f} GB)",
          flush=True)

    with tempfile.TemporaryDirectory(prefix="glr-bench-head-") as tmp:
        run = new_run(tmp, cfg)
        saver = Checkpoints(run, 1, cfg.epochs, None, save=save_model)
        with common.Timer() as kept:
            saver.count(1, 1.0)
            saver.keep(head, write=False)  # the best weights into memory, no file
        step.train(next(train_batches), stop).numpy()  # the model moves on past its best
        with common.Timer() as both:
            saver.write(head)  # best (from memory) and last
        with common.Timer() as last:
            save_model(head, run.last_checkpoint)
        size_gb = run.last_checkpoint.stat().st_size / 1e9
        best_gb = run.best_checkpoint.stat().st_size / 1e9
    peak = common.peak_rss_gb()
    print(f"checkpoints: best weights kept in memory {kept.seconds:.2f} s; a write of best + last {both.seconds:.1f} s "
          f"({best_gb:.2f} + {size_gb:.2f} GB); last alone {last.seconds:.1f} s")
    print(f"peak RSS {peak:.2f} GB (since the features were made: they, the imports and phase 1)", flush=True)

    rows = min(args.copy_rows, len(train))
    part = np.ascontiguousarray(train[:rows])
    before = rss_gb()
    copy = tf.constant(part)  # what Trainer.head_dataset did with the whole table
    copy_gb = rss_gb() - before
    print(f"tf.constant of {rows:,} rows ({part.nbytes / 1e9:.2f} GB): RSS +{copy_gb:.2f} GB; "
          f"the whole train table would add {copy_gb * len(train) / rows:.2f} GB", flush=True)
    del copy
    common.summary(f"phase 1 head, {args.classes:,} classes, {args.photos:,} photos x {dim} (float16, 1 view), batch "
                   f"{cfg.batch_size}: {1000 * t_train:.1f} ms/step, {epoch / 60:.1f} min/epoch; checkpoint write "
                   f"{both.seconds:.1f} s (best + last, {best_gb + size_gb:.2f} GB); peak RSS {peak:.2f} GB")
    return {"step_s": t_train, "val_step_s": t_val, "epoch_s": epoch, "write_s": both.seconds, "peak_gb": peak,
            "copy_gb": copy_gb, "params": params}


if __name__ == "__main__":
    main()

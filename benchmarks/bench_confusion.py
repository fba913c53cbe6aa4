"""The confusion matrix at GLDv2 scale: writing it at the end of an evaluation, and the Results page that reads it.

Synthetic predictions, no training: N classes, 2 validation photos per class, 70% of them right and the rest
called a random class. For each N it measures, each step in a fresh process (its wall time, the process's RSS before
the step, the imports included, and its peak RSS during the step: VmHWM started again at the step, since session 29;
before, ru_maxrss began at this parent's peak, which most "write, sparse" figures were):

- write: the confusion matrix built from the predictions and stored as Run.write_evaluation stores it; now
  sparse (glr.evaluation.confusion: one row per non-empty cell), before a dense N x N table (sklearn's
  confusion_matrix, a DataFrame, `to_csv`, as glr.evaluation.metrics did), and the file's size;
- write_evaluation: the whole evaluation a training ends with (`--photos` validation photos x N float32
  probabilities: predictions and their top 5, per-class scores, confusions, metrics), and with `--before REF` that
  of glr at REF (not above `--dense-max`);
- page: the Results page opened on the run (AppTest: the app, then a switch to Results, timed, then a rerun,
  what each click costs once the imports are done): labels.json,
  per_class.csv, val_predictions.csv, the confusion matrix, the heatmap and the most confused pairs. With
  `--before REF` the same page of glr at git REF (exported with `git archive`) on the dense file.

A dense step is skipped above `--dense-max` classes (its N x N int64 matrix alone is printed instead: 52 GB at
81,000 classes).

    .venv/bin/python benchmarks/bench_confusion.py [--classes 1000 20000 81000] [--before REF] [--dense-max 20000]
    .venv/bin/python benchmarks/bench_confusion.py --tiny   (50 classes, in this process, no page)
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402

RUN_ID = "20260101-000000-big"


def synthetic(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, pd.DataFrame]:
    """(true, predicted, labels) of 2 photos per class, 70% right."""
    rng = np.random.default_rng(seed)
    true = np.repeat(np.arange(n), 2)
    pred = np.where(rng.random(len(true)) < 0.7, true, rng.integers(0, n, len(true)))
    labels = pd.DataFrame({"index": range(n), "landmark_id": range(100_000, 100_000 + n),
                           "name": [f"Landmark {i}" for i in range(n)], "images": 10})
    return true, pred, labels


def make_run(results: Path, n: int) -> Path:
    """A finished run of `n` classes with its evaluation (sparse confusion.csv) but no model; its folder."""
    from glr.evaluation import confusion, metrics
    from glr.training.run import Run

    true, pred, labels = synthetic(n)
    run = Run.create(results, {"train": {"backbone": "efficientnet_lite0"}}, run_id=RUN_ID)
    run.write_labels(labels)
    names, ids = labels["name"].to_numpy(), labels["landmark_id"].to_numpy()
    photos = [f"{i:06d}" for i in range(len(true))]
    predictions = pd.DataFrame({
        "id": photos, "path": [f"/gone/{p}.jpg" for p in photos], "true_index": true, "true_landmark_id": ids[true],
        "true_name": names[true], "pred_index": pred, "pred_landmark_id": ids[pred], "pred_name": names[pred],
        "confidence": 0.5, "correct": pred == true, "top5": [str(p) for p in pred]}, columns=metrics.PREDICTION_COLUMNS)
    per_class = metrics.per_class_report(true, pred, labels).round(6)
    scores = {"n_images": len(true), "n_classes": n, "top1": float(np.mean(pred == true)), "top5": None, "gap": None}
    run.write_evaluation(predictions=predictions, per_class=per_class,
                         confusion=confusion.to_frame(metrics.confusion_counts(true, pred, n)), metrics=scores)
    run.update_status(state="finished")
    return run.path


# --------------------------------------------------------------------------- steps (each in its own process)


def step_write(n: int, folder: Path, dense: bool) -> dict:
    """Build and store the confusion matrix of `n` classes in `folder`/confusion.csv: sparse, or dense as before."""
    from sklearn.metrics import confusion_matrix  # imported before the clock: a server imports them once

    from glr.atomic import write_csv
    from glr.evaluation import confusion, metrics

    true, pred, _ = synthetic(n)
    before = common.start_step_mb()
    start = time.perf_counter()
    if dense:  # glr before: metrics.confusion_matrix_df, then Run.write_evaluation's reset_index and to_csv
        cm = confusion_matrix(true, pred, labels=np.arange(n))
        frame = pd.DataFrame(cm, index=pd.RangeIndex(n, name="true"), columns=pd.RangeIndex(n))
    else:
        frame = confusion.to_frame(metrics.confusion_counts(true, pred, n))
    write_csv(folder / "confusion.csv", frame.reset_index())
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "rss_before": before, "rss_peak": common.peak_rss_mb(),
            "bytes": (folder / "confusion.csv").stat().st_size}


def step_evaluate(n: int, photos: int, folder: Path, root: Path) -> dict:
    """The whole metrics.write_evaluation of glr at `root` on `photos` x `n` float32 probabilities, as a training
    ends: predictions with their top 5, per-class scores, the confusion matrix, the metrics."""
    sys.path.insert(0, str(root))
    from glr.evaluation import metrics

    rng = np.random.default_rng(1)
    true = rng.integers(0, n, photos)
    probs = rng.random((photos, n), dtype=np.float32)
    right = rng.random(photos) < 0.7
    probs[np.flatnonzero(right), true[right]] = 2.0  # 70% right
    probs /= probs.sum(axis=1, keepdims=True)
    _, _, labels = synthetic(n)
    ids = [f"{i:06d}" for i in range(photos)]
    folder.mkdir(parents=True, exist_ok=True)
    before = common.start_step_mb()
    start = time.perf_counter()
    metrics.write_evaluation(folder, ids, [f"/gone/{i}.jpg" for i in ids], true, probs, labels)
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "rss_before": before, "rss_peak": common.peak_rss_mb(),
            "bytes": (folder / "confusion.csv").stat().st_size}


def step_page(results: Path, root: Path) -> dict:
    """Open the app of the checkout `root` on `results`, then time the Results page's load."""
    import os

    sys.path.insert(0, str(root))
    os.environ["GLR_RESULTS"] = str(results)
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(root / "app.py"), default_timeout=1800).run()
    before = common.start_step_mb()
    start = time.perf_counter()
    at.switch_page("pages/3_results.py").run()
    seconds = time.perf_counter() - start
    start = time.perf_counter()
    at.run()  # what every click on the page costs again, its imports done
    rerun = time.perf_counter() - start
    problems = [str(e.value) for e in at.exception] + [str(e.value) for e in at.error]
    charts = len(at.get("plotly_chart"))
    return {"seconds": seconds, "rerun": rerun, "rss_before": before, "rss_peak": common.peak_rss_mb(), "problems": problems,
            "charts": charts}


def in_process(step: str, **kwargs) -> dict:
    """Run a step in a fresh Python (its peak RSS its own), and return what it measured."""
    code = (f"import sys, json; sys.path.insert(0, {str(Path(__file__).parent)!r}); import bench_confusion as b; "
            f"from pathlib import Path; print('RESULT ' + json.dumps(b.{step}(**{kwargs!r})))")
    code = code.replace("PosixPath(", "Path(")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=common.ROOT)
    line = next((ln for ln in out.stdout.splitlines() if ln.startswith("RESULT ")), None)
    if line is None:
        return {"failed": (out.stderr.strip().splitlines() or ["no output"])[-1][:200]}
    return json.loads(line[len("RESULT "):])


def export_ref(ref: str, into: Path) -> Path:
    """glr as it was at git `ref`, written to `into` with `git archive`."""
    data = subprocess.run(["git", "archive", ref], cwd=common.ROOT, check=True, capture_output=True).stdout
    into.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        tar.extractall(into, filter="data")
    return into


def line(what: str, m: dict) -> str:
    """One measured step in words."""
    if "failed" in m:
        return f"  {what}: FAILED ({m['failed']})"
    size = f", file {m['bytes'] / 2**20:,.1f} MB" if "bytes" in m else ""
    shown = f", rerun {m['rerun']:.2f} s, {m['charts']} charts" if "charts" in m else ""
    bad = f", PROBLEMS {m['problems']}" if m.get("problems") else ""
    return (f"  {what}: {m['seconds']:.2f} s, peak RSS {m['rss_peak']:,.0f} MB (before the step "
            f"{m['rss_before']:,.0f} MB){size}{shown}{bad}")


def main(argv=None) -> None:
    p = common.parser(__doc__.splitlines()[0])
    p.add_argument("--classes", type=int, nargs="+", default=[1000, 20000, 81000])
    p.add_argument("--dense-max", type=int, default=20000, help="skip the dense (before) steps above this many classes")
    p.add_argument("--before", help="git ref of the glr whose Results page reads the dense file")
    p.add_argument("--photos", type=int, default=2000, help="validation photos of the whole evaluation step")
    args = p.parse_args(argv)
    common.header("confusion matrix at GLDv2 scale: sparse confusion.csv against the dense N x N table")
    sizes = [50] if args.tiny else args.classes
    summary = []
    with tempfile.TemporaryDirectory(prefix="bench_confusion_") as tmp:
        tmp = Path(tmp)
        old_root = export_ref(args.before, tmp / "before") if args.before and not args.tiny else None
        for n in sizes:
            print(f"{n:,} classes, {2 * n:,} validation photos", flush=True)
            sparse_results, dense_results = tmp / f"sparse-{n}", tmp / f"dense-{n}"
            run = make_run(sparse_results, n)
            dense_run = dense_results / run.relative_to(sparse_results)
            dense_run.parent.mkdir(parents=True)
            subprocess.run(["cp", "-r", str(run), str(dense_run)], check=True)
            measure = (lambda step, **kw: globals()[step](**kw)) if args.tiny else in_process
            after = measure("step_write", n=n, folder=run, dense=False)
            print(line("write, sparse", after), flush=True)
            dense_ok = n <= args.dense_max
            if dense_ok:
                before = measure("step_write", n=n, folder=dense_run, dense=True)
                print(line("write, dense (before)", before), flush=True)
            else:
                print(f"  write, dense (before): not run: its {n:,} x {n:,} int64 matrix alone is "
                      f"{n * n * 8 / 1e9:,.1f} GB", flush=True)
            row = f"{n}: write {after.get('seconds', float('nan')):.2f} s / {after.get('rss_peak', 0):.0f} MB"
            photos = 20 if args.tiny else args.photos
            whole = measure("step_evaluate", n=n, photos=photos, folder=tmp / f"eval-{n}", root=common.ROOT)
            print(line(f"write_evaluation, {photos:,} photos", whole), flush=True)
            row += f", write_evaluation {whole.get('seconds', float('nan')):.2f} s / {whole.get('rss_peak', 0):.0f} MB"
            if old_root is not None and dense_ok:
                old = in_process("step_evaluate", n=n, photos=photos, folder=tmp / f"eval-old-{n}", root=old_root)
                print(line(f"write_evaluation at {args.before}, {photos:,} photos", old), flush=True)
                row += f" (before {old.get('seconds', float('nan')):.2f} s / {old.get('rss_peak', 0):.0f} MB)"
            if not args.tiny:
                page = in_process("step_page", results=sparse_results, root=common.ROOT)
                print(line("Results page, sparse", page), flush=True)
                row += f", page {page.get('seconds', float('nan')):.1f} s / {page.get('rss_peak', 0):.0f} MB"
                if old_root is not None and dense_ok:
                    old = in_process("step_page", results=dense_results, root=old_root)
                    print(line(f"Results page at {args.before}, dense", old), flush=True)
                    row += f" (before {old.get('seconds', float('nan')):.1f} s / {old.get('rss_peak', 0):.0f} MB)"
            summary.append(row)
    common.summary("; ".join(summary))


if __name__ == "__main__":
    main()

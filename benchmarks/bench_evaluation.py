"""A run's evaluation at GLDv2 scale: the head's probabilities ranked batch by batch against the whole matrix.

Fake validation photos (random features) against a fake GLDv2-clean head (a Keras Dense softmax of 81,313
classes, random weights), evaluated as glr.evaluation.finish.evaluate_run does at the end of a training and
written as a run's evaluation (metrics.json, val_predictions.csv with the top 5, per_class.csv, the sparse
confusion.csv). Each step runs in a fresh process and its peak RSS (VmHWM) is started again at the step, so it is the step's own;
"before the step" is that process's RSS with TensorFlow, the head and the features loaded.

- streamed (now): `finish.head_blocks` feeds `metrics.write_evaluation` one predict batch of photos at a
  time (glr.evaluation.ranked keeps each photo's top 5, best class and confidence);
- whole matrix (before): `head.predict` of every photo at once, as evaluate_run did, then the same
  evaluation of the matrix. Its memory grows with the photo count (Keras' predict holds its batches and
  their concatenation: about 2 x photos x classes x 4 bytes), so it runs at the smaller `--before-photos`
  sizes and the figure at the streamed sizes is extrapolated from them.

- `--retrieval`: the similarity index's evaluation (glr.retrieval.run_index.write_run_retrieval: the index
  of TRAIN_PHOTOS fake training photos, the known score's weight, the search, head, kNN and blend with and
  without DISTRACTORS fake distractors, its files) fed the head's predictions block by block (now); before,
  the head's whole matrices and `method_scores`' dense head, kNN and blend matrices of both sets, with
  `evaluate_methods` on them (what the step held; its index, weight and files are left out, so a lower bound).

    .venv/bin/python benchmarks/bench_evaluation.py [--photos 20000] [--before-photos 2000 4000] [--classes 81313]
    .venv/bin/python benchmarks/bench_evaluation.py --retrieval [--photos 5000] [--before-photos 1000 2000]
    .venv/bin/python benchmarks/bench_evaluation.py --tiny [--retrieval]   (200 photos x 50 classes)
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402

DIM = 64  # the features the head's last Dense reads (its hidden layer): the class count is what costs


def step(photos: int, classes: int, folder: str, streamed: bool) -> dict:
    """Evaluate `photos` fake validation photos against a fake `classes`-class head into `folder`."""
    import keras
    import pandas as pd

    from glr.evaluation import finish, metrics

    rng = np.random.default_rng(0)
    head = keras.Sequential([keras.Input((DIM,)), keras.layers.Dense(classes, activation="softmax")])
    head.predict(np.zeros((1, DIM), np.float32), verbose=0)  # built and traced before the clock
    feats = rng.normal(size=(photos, DIM)).astype(np.float32)
    true = rng.integers(0, classes, photos)
    labels = pd.DataFrame({"index": range(classes), "landmark_id": range(classes),
                           "name": [f"landmark {i}" for i in range(classes)], "images": 1})
    ids = [f"{i:016x}" for i in range(photos)]
    Path(folder).mkdir(parents=True, exist_ok=True)
    before = common.start_step_mb()
    start = time.perf_counter()
    probs = finish.head_blocks(head, feats, classes) if streamed else head.predict(feats, verbose=0, batch_size=256)
    scores = metrics.write_evaluation(folder, ids, [f"/gone/{i}.jpg" for i in ids], true, probs, labels)
    return {"seconds": time.perf_counter() - start, "rss_before": before, "rss_peak": common.peak_rss_mb(),
            "top1": scores["top1"]}


TRAIN_PHOTOS = 20_000  # the fake index's training photos (the photo x class scores are what grow with the classes)
DISTRACTORS = 500


def retrieval_step(photos: int, classes: int, folder: str, streamed: bool, train_photos: int = TRAIN_PHOTOS) -> dict:
    """The similarity index's evaluation of `photos` fake validation photos and DISTRACTORS fake distractors
    against a fake `classes`-class head, into `folder` (streamed), or its dense score matrices (not streamed)."""
    import keras
    import pandas as pd

    from glr.evaluation import finish
    from glr.retrieval import run_index
    from glr.retrieval.index import EmbeddingIndex
    from glr.retrieval.recognition import KNN_K, Calibration, evaluate_methods, method_scores

    rng = np.random.default_rng(0)
    head = keras.Sequential([keras.Input((DIM,)), keras.layers.Dense(classes, activation="softmax")])
    head.predict(np.zeros((1, DIM), np.float32), verbose=0)  # built and traced before the clock
    train_classes = rng.integers(0, classes, train_photos)
    train_feats = rng.normal(size=(train_photos, DIM)).astype(np.float32)
    feats = rng.normal(size=(photos, DIM)).astype(np.float32)
    d_feats = rng.normal(size=(DISTRACTORS, DIM)).astype(np.float32)
    true = rng.integers(0, classes, photos)
    labels = pd.DataFrame({"index": range(classes), "landmark_id": range(classes),
                           "name": [f"landmark {i}" for i in range(classes)], "images": 1})
    train = pd.DataFrame({"id": [f"t{i}" for i in range(train_photos)], "landmark_id": train_classes,
                          "path": [f"/gone/t{i}.jpg" for i in range(train_photos)]})
    distractors = pd.DataFrame({"name": [f"generated:d{i}" for i in range(DISTRACTORS)], "source": "generated",
                                "path": [f"/gone/d{i}.jpg" for i in range(DISTRACTORS)]})
    Path(folder).mkdir(parents=True, exist_ok=True)
    before = common.start_step_mb()
    start = time.perf_counter()
    if streamed:
        result = run_index.write_run_retrieval(folder, labels, train, train_feats, true, feats,
                                               finish.head_blocks(head, feats, classes), distractors, d_feats,
                                               finish.head_blocks(head, d_feats, classes))
        top1 = result["methods"]["blend"]["top1"]
    else:  # what the step held before: each set's whole probabilities, then its head, kNN and blend matrices
        index = EmbeddingIndex(train_feats, train)
        sets = []
        for x in (feats, d_feats):
            sims, idx = index.search(x, KNN_K)
            probs = head.predict(x, verbose=0, batch_size=256)
            sets.append((method_scores(probs, sims, train_classes[idx]), probs.max(1)))
        (v, v_head), (d, d_head) = sets
        top1 = evaluate_methods(v, true, d, v_head, d_head, Calibration(0.5))["blend"]["top1"]
    return {"seconds": time.perf_counter() - start, "rss_before": before, "rss_peak": common.peak_rss_mb(), "top1": top1}


def in_process(**kwargs) -> dict:
    """Run `step` in a fresh Python (its peak RSS its own) and return what it measured."""
    what = "retrieval_step" if kwargs.pop("retrieval", False) else "step"
    code = (f"import sys, json; sys.path.insert(0, {str(Path(__file__).parent)!r}); import bench_evaluation as b; "
            f"print('RESULT ' + json.dumps(b.{what}(**{kwargs!r})))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=common.ROOT)
    line = next((ln for ln in out.stdout.splitlines() if ln.startswith("RESULT ")), None)
    if line is None:
        return {"failed": (out.stderr.strip().splitlines() or ["no output"])[-1][:200]}
    return json.loads(line[len("RESULT "):])


def line(what: str, m: dict) -> str:
    """One measured step in words."""
    if "failed" in m:
        return f"  {what}: FAILED ({m['failed']})"
    return (f"  {what}: {m['seconds']:.1f} s, peak RSS {m['rss_peak']:,.0f} MB (before the step {m['rss_before']:,.0f} MB, "
            f"so the step took {m['rss_peak'] - m['rss_before']:,.0f} MB)")


def main(argv=None) -> None:
    p = common.parser(__doc__.splitlines()[0])
    p.add_argument("--photos", type=int, nargs="+", help="validation photos, streamed (default 20000; 5000 --retrieval)")
    p.add_argument("--before-photos", type=int, nargs="+",
                   help="validation photos of the whole-matrix path (its memory grows with them; default 2000 4000, "
                        "1000 2000 --retrieval)")
    p.add_argument("--classes", type=int, default=81313, help="the head's classes (GLDv2-clean: 81,313)")
    p.add_argument("--retrieval", action="store_true", help="the similarity index's evaluation instead of the head's")
    args = p.parse_args(argv)
    common.header(f"{'the similarity index' if args.retrieval else 'evaluation'} at GLDv2 scale: the head's "
                  "probabilities streamed against the whole matrix")
    classes = 50 if args.tiny else args.classes
    default = ([5000], [1000, 2000]) if args.retrieval else ([20000], [2000, 4000])
    streamed_sizes, whole_sizes = ([200], [200]) if args.tiny else (args.photos or default[0], args.before_photos or default[1])
    # Tiny mode runs in this process (the smoke test); its RSS figures are then this process's.
    if not args.retrieval:
        measure = (lambda **kw: step(**kw)) if args.tiny else in_process
    else:
        measure = ((lambda **kw: retrieval_step(train_photos=300, **kw)) if args.tiny
                   else (lambda **kw: in_process(retrieval=True, **kw)))
    growth = []
    with tempfile.TemporaryDirectory(prefix="bench_evaluation_") as tmp:
        for photos in whole_sizes:
            m = measure(photos=photos, classes=classes, folder=f"{tmp}/whole-{photos}", streamed=False)
            print(line(f"whole matrix (before), {photos:,} photos x {classes:,} classes", m), flush=True)
            if "failed" not in m:
                growth.append((photos, m["rss_peak"] - m["rss_before"], m["seconds"]))
        streamed = {}
        for photos in sorted(set(streamed_sizes + whole_sizes)):
            m = measure(photos=photos, classes=classes, folder=f"{tmp}/streamed-{photos}", streamed=True)
            print(line(f"streamed (now), {photos:,} photos x {classes:,} classes", m), flush=True)
            streamed[photos] = m
    per_photo = max(g[1] / g[0] for g in growth) if growth else float("nan")  # MB the whole path takes per photo
    summary = []
    for photos in streamed_sizes:
        m = streamed[photos]
        if "failed" in m:
            summary.append(f"{photos}: streamed FAILED")
            continue
        matrix = photos * classes * 4 / 2**20
        print(f"  at {photos:,} photos the matrix alone is {matrix:,.0f} MB of float32; the whole path would take "
              f"about {per_photo * photos:,.0f} MB (extrapolated), the streamed one took "
              f"{m['rss_peak'] - m['rss_before']:,.0f} MB", flush=True)
        summary.append(f"{photos} x {classes}: streamed {m['seconds']:.1f} s / +{m['rss_peak'] - m['rss_before']:.0f} MB "
                       f"(peak {m['rss_peak']:.0f} MB), whole ~+{per_photo * photos:.0f} MB extrapolated")
    for photos, grown, seconds in growth:
        m = streamed.get(photos, {})
        summary.append(f"{photos}: whole {seconds:.1f} s / +{grown:.0f} MB vs streamed {m.get('seconds', float('nan')):.1f} s"
                       f" / +{m.get('rss_peak', float('nan')) - m.get('rss_before', float('nan')):.0f} MB")
    common.summary("; ".join(summary))


if __name__ == "__main__":
    main()

"""Does the predictor agree with a run's evaluation when the run's features were int8?

A run evaluates its head on cached features; with the int8 engine (the default) those
come from the quantized extractor. The predictor (`glr.predict.Predictor`) runs the whole
model (backbone and head) in fp32. This prints, for each run given, the run's reported
top-1 on its validation photos next to the predictor's top-1 on the same photos, and how
many photos they disagree on.

    .venv/bin/python benchmarks/bench_int8_predict.py RUN_DIR [RUN_DIR ...]
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402


def compare(run_dir: str) -> dict:
    """The run's top-1 (its val_predictions.csv) and the predictor's on the same photos."""
    from glr.predict import Predictor
    from glr.training.run import as_run

    run = as_run(run_dir)
    engine = run.config().get("train", {}).get("feature_engine", "(none: fp32)")
    val = pd.read_csv(Path(run_dir) / "val_predictions.csv")
    predictor = Predictor(run_dir)
    preds = predictor.predict(val["path"].tolist(), k=1)
    top = [int(p.top[0][0]) if p.top else -1 for p in preds]
    val["predictor"] = top
    run_ok = val["pred_landmark_id"] == val["true_landmark_id"]
    pred_ok = val["predictor"] == val["true_landmark_id"]
    return {"run": Path(run_dir).name, "engine": engine, "backend": predictor.backend, "n": len(val),
            "run_top1": float(run_ok.mean()), "predictor_top1": float(pred_ok.mean()),
            "disagree": int((val["predictor"] != val["pred_landmark_id"]).sum()),
            "only_run_right": int((run_ok & ~pred_ok).sum()), "only_predictor_right": int((~run_ok & pred_ok).sum())}


def main(argv=None) -> list[dict]:
    """Compare each run; print one line per run and a summary."""
    p = common.parser(__doc__.splitlines()[0])
    p.add_argument("runs", nargs="*", help="run folders")
    args = p.parse_args(argv)
    common.header("a run's top-1 (its cached features) vs the fp32 predictor's on its validation photos")
    rows = [compare(r) for r in args.runs]
    for r in rows:
        print(f"{r['run']} (features: {r['engine']}, predictor: {r['backend']}): {r['n']} photos, run top-1 "
              f"{r['run_top1']:.4f}, predictor top-1 {r['predictor_top1']:.4f} "
              f"(gap {100 * (r['predictor_top1'] - r['run_top1']):+.2f} points); top-1 differs on {r['disagree']} "
              f"photos, only the run right on {r['only_run_right']}, only the predictor on {r['only_predictor_right']}",
              flush=True)
    gaps = [abs(r["predictor_top1"] - r["run_top1"]) * r["n"] for r in rows]
    common.summary(f"largest gap {max(gaps, default=0):.0f} photos over {len(rows)} runs")
    return rows


if __name__ == "__main__":
    main()

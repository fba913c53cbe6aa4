"""glr.evaluation.compare: several runs side by side, mistakes and the report zip."""

import io
import json
import zipfile

import pandas as pd

from glr.evaluation import compare
from test_run_table import _run


def test_metrics_table_and_histories_survive_damage(tmp_path):
    good = _run(tmp_path, "good", "finished", "2026-01-01T00:00:00", history=True)
    (good.path / "metrics.json").write_text(json.dumps({"top1": 0.5, "top5": 0.9, "gap": 0.4}))
    bad = _run(tmp_path, "bad", "failed", "2026-01-02T00:00:00")
    (bad.path / "history.csv").write_text("phase,epoch\n1,")  # cut short
    table = compare.metrics_table([good.path, bad.path])
    assert table.set_index("run_id").loc["good", "top1"] == 0.5
    assert pd.isna(table.set_index("run_id").loc["bad", "top1"])
    found, problems = compare.histories([good.path, bad.path])
    assert list(found) == ["good"] and len(problems) == 1 and "history.csv" in problems[0]


def test_misclassified_most_confident_first():
    preds = pd.DataFrame({
        "id": ["a", "b", "c", "d"], "path": ["p"] * 4, "true_name": ["X", "X", "Y", "Y"],
        "pred_name": ["Y", "X", "X", "X"], "confidence": [0.4, 0.9, 0.8, 0.6],
        "correct": ["False", "True", "False", "False"],  # as read from a CSV without bool parsing
    })
    wrong = compare.misclassified(preds)
    assert wrong["id"].tolist() == ["c", "d", "a"]
    assert compare.misclassified(preds, limit=1)["id"].tolist() == ["c"]
    assert compare.misclassified(preds, true_name="X")["id"].tolist() == ["a"]
    assert compare.misclassified(None).empty


def test_report_zip(tmp_path):
    run = tmp_path / "runs" / "r1"
    assert compare.report_zip(run) is None
    (run / "report").mkdir(parents=True)
    (run / "report" / "summary.md").write_text("# hi\n")
    (run / "report" / ".tmp").write_text("partial")
    names = zipfile.ZipFile(io.BytesIO(compare.report_zip(run))).namelist()
    assert names == ["r1/report/summary.md"]

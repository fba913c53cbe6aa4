"""glr.evaluation.compare: several runs side by side, mistakes and the report zip."""

import io
import json
import zipfile

import pandas as pd

from glr.evaluation import compare, confusion
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


def test_misclassified_reads_wrong_from_the_class_indices_when_the_correct_column_is_gone():
    # A val_predictions.csv without its `correct` column (an older or hand-edited file) was "no mistake" in silence.
    preds = pd.DataFrame({
        "id": ["a", "b", "c"], "path": ["p"] * 3, "true_index": [0, 1, 1], "pred_index": [1, 1, 0],
        "true_name": ["X", "Y", "Y"], "pred_name": ["Y", "Y", "X"], "confidence": [0.4, 0.9, 0.8],
    })
    assert compare.misclassified(preds)["id"].tolist() == ["c", "a"]
    assert compare.misclassified(preds.drop(columns="pred_index")).empty  # nothing to tell them by: none listed


def test_report_zip(tmp_path):
    run = tmp_path / "runs" / "r1"
    assert compare.report_zip(run) is None
    (run / "report").mkdir(parents=True)
    (run / "report" / "summary.md").write_text("# hi\n")
    (run / "report" / ".tmp").write_text("partial")
    names = zipfile.ZipFile(io.BytesIO(compare.report_zip(run))).namelist()
    assert names == ["r1/report/summary.md"]


def test_a_clicked_confusion_cell_gives_its_photos():
    import numpy as np
    from glr.evaluation import plots

    preds = pd.DataFrame({
        "id": ["a", "b", "c", "d", "e"], "path": list("ABCDE"), "true_index": [0, 0, 1, 0, 2],
        "pred_index": [1, 1, 1, 0, 1], "confidence": [0.5, 0.7, 0.9, 0.8, 0.6],
    })
    cm = np.array([[1, 2, 0], [0, 1, 0], [0, 1, 0]])
    fig = plots.confusion_figure(cm, ["X", "Y", "Z"], clickable=True)
    assert len(plots.confusion_figure(cm, ["X", "Y", "Z"]).data) == 1  # the report's: no click layer
    cells = fig.data[1]  # the clickable layer over the heatmap: one marker per non-empty cell
    assert sorted(map(tuple, cells.customdata)) == [(0, 0), (0, 1), (1, 1), (2, 1)]
    # What Streamlit hands back for a click on the (X -> Y) cell, plus noise it may carry.
    points = [{"customdata": [0, 1], "x": "Y", "y": "X"}, {"customdata": [0, 1]}, {"x": 3}, {"customdata": "bad"}]
    assert compare.selected_cells(points) == [(0, 1)]
    assert compare.selected_cells(None) == []
    photos = compare.cell_photos(preds, 0, 1)
    assert photos["id"].tolist() == ["b", "a"]  # the most confident first
    assert compare.cell_photos(preds, 2, 0).empty and compare.cell_photos(None, 0, 1).empty


def test_display_table_drops_the_raw_index():
    table = pd.DataFrame({"index": [0, 1], "landmark_id": [7, 9], "name": ["a", "b"], "f1": [0.5, 1.0]})
    assert list(compare.display_table(table).columns) == ["landmark_id", "name", "f1"]
    assert compare.display_table(None) is None


def test_metrics_table_survives_a_metrics_json_that_is_not_scores_and_blanks_what_has_no_value(tmp_path):
    damaged = _run(tmp_path, "damaged", "finished", "2026-01-01T00:00:00")
    (damaged.path / "metrics.json").write_text("[1, 2]")  # 'list' object has no attribute 'get'
    odd = _run(tmp_path, "odd", "finished", "2026-01-02T00:00:00")
    (odd.path / "metrics.json").write_text(json.dumps({"top1": "high", "top5": 1.0, "gap": 0.4, "n_classes": 3,
                                                       "n_images": 9}))
    table = compare.metrics_table([damaged.path, odd.path]).set_index("run_id")
    assert table.loc["damaged", ["top1", "top5", "gap"]].isna().all()
    # "high" was shown as it was written; top-5 over 3 classes (every photo a hit) as a real 1.000.
    assert pd.isna(table.loc["odd", "top1"]) and pd.isna(table.loc["odd", "top5"]) and table.loc["odd", "gap"] == 0.4
    assert table.loc["odd", "classes"] == 3 and table.loc["odd", "val_photos"] == 9


def test_runs_that_know_different_classes_are_said_not_to_compare(tmp_path):
    runs = []
    for name, ids in (("a", [1, 2, 3]), ("b", [1, 2, 3]), ("c", [1, 2, 4])):
        run = _run(tmp_path, name, "finished", "2026-01-01T00:00:00")
        (run.path / "labels.json").write_text(json.dumps(
            [{"index": i, "landmark_id": lid, "name": f"n{lid}", "images": 5} for i, lid in enumerate(ids)]))
        runs.append(run.path)
    assert compare.comparison_note(runs[:2]) is None
    note = compare.comparison_note(runs)  # the same number of classes, not the same classes
    assert note.startswith("These runs know different classes (3 in a, 3 in b, 3 in c)")
    assert compare.metrics_table(runs)["classes"].tolist() == [3, 3, 3]


def test_comparing_runs_reads_each_runs_labels_once(tmp_path, monkeypatch):
    from glr.training.run import Run

    runs = []
    for name, ids in (("a", [1, 2, 3]), ("b", [1, 2, 4])):
        run = _run(tmp_path, name, "finished", "2026-01-01T00:00:00")
        (run.path / "labels.json").write_text(json.dumps(
            [{"index": i, "landmark_id": lid, "name": f"n{lid}", "images": 5} for i, lid in enumerate(ids)]))
        runs.append(run.path)
    reads = []
    real = Run.labels
    monkeypatch.setattr(Run, "labels", lambda self: reads.append(self.id) or real(self))
    table, note = compare.comparison(runs)
    assert sorted(reads) == ["a", "b"]  # the table and the note each read them: twice per run
    assert table["classes"].tolist() == [3, 3] and note.startswith("These runs know different classes")


def test_a_top5_over_five_classes_is_blank_in_the_table_when_only_labels_json_counts_them(tmp_path):
    run = _run(tmp_path, "old", "finished", "2026-01-01T00:00:00")
    (run.path / "labels.json").write_text(json.dumps(
        [{"index": i, "landmark_id": i, "name": f"n{i}", "images": 5} for i in range(3)]))
    (run.path / "metrics.json").write_text(json.dumps({"top1": 0.5, "top5": 1.0, "gap": 0.4}))  # no n_classes
    row = compare.metrics_table([run.path]).iloc[0]
    assert pd.isna(row["top5"]) and row["top1"] == 0.5 and row["classes"] == 3  # top-5 read as a real 1.000
    assert row["note"].startswith("top5: only 3 classes: every photo's class is among its 5 best guesses")


def test_the_table_says_why_each_score_is_blank(tmp_path):
    fresh = _run(tmp_path, "fresh", "running", "2026-01-01T00:00:00")
    cut = _run(tmp_path, "cut", "finished", "2026-01-02T00:00:00")
    (cut.path / "metrics.json").write_text('{"top1": 0.')
    good = _run(tmp_path, "good", "finished", "2026-01-03T00:00:00")
    (good.path / "metrics.json").write_text(json.dumps({"top1": 0.5, "top5": 0.9, "gap": float("nan"), "n_classes": 9,
                                                        "n_images": 9}))
    notes = compare.metrics_table([fresh.path, cut.path, good.path]).set_index("run_id")["note"]
    assert notes["fresh"] == "not evaluated yet" and notes["cut"] == "metrics.json is damaged"
    assert notes["good"] == "gap: no validation photo shows a known landmark"


def test_a_cut_heatmap_says_what_it_shows_and_the_whole_matrix_downloads_by_name():
    assert compare.heatmap_note(30, 30, 5, 5) is None  # all classes shown: nothing to say
    assert compare.heatmap_note(5000, 30, 120, 4000) == (
        "The heatmap shows 30 of the 5,000 classes, those in the largest confusions: their cells hold 120 of the "
        "4,000 mistakes (3%). A 5,000 x 5,000 heatmap cannot be read; the whole matrix is in the CSV, the most "
        "confused pairs under the heatmap.")
    assert "hold 17 of the 3,981 mistakes (under 1%)." in compare.heatmap_note(5000, 30, 17, 3981)
    assert "30 of the 5,000 classes, those with the most validation photos, as no photo is misclassified." in (
        compare.heatmap_note(5000, 30, 0, 0))
    labels = pd.DataFrame({"index": [0, 1], "landmark_id": [7, 9], "name": ["Big, Ben", "Tour\nEiffel"]})
    cm = pd.DataFrame([[3, 1], [0, 2]])  # dense or sparse, it downloads as one row per non-empty cell
    for matrix in (cm, confusion.as_sparse(cm)):
        back = pd.read_csv(io.BytesIO(compare.confusion_csv(matrix, labels)))
        assert back.to_numpy().tolist() == [["Big, Ben", "Big, Ben", 3, 0, 0], ["Big, Ben", "Tour Eiffel", 1, 0, 1],
                                            ["Tour Eiffel", "Tour Eiffel", 2, 1, 1]]
        assert back.columns.tolist() == ["true", "predicted", "count", "true_index", "predicted_index"]


def test_a_confusion_matrix_is_recomputed_from_the_predictions_when_its_file_is_gone():
    preds = pd.DataFrame({"true_index": [0, 0, 1, 2], "pred_index": [0, 1, 1, 1]})
    assert compare.confusion_from(preds, 3).toarray().tolist() == [[1, 1, 0], [0, 1, 0], [0, 1, 0]]
    assert compare.confusion_from(preds, 2) is None  # class 2 is not among 2 classes: not a matrix of this run
    assert compare.confusion_from(preds.assign(pred_index=["1", "x", 1, 1]), 3) is None
    assert compare.confusion_from(None, 3) is None and compare.confusion_from(preds.drop(columns="pred_index"), 3) is None


def test_a_run_at_its_backbones_own_input_size_shows_that_size(tmp_path):
    # A run left at the backbone's default size (input_size null in config.json) had a blank input size in the table.
    run = _run(tmp_path, "default", "finished", "2026-01-01T00:00:00")
    config = json.loads(run.config_path.read_text())
    config.setdefault("train", {}).update({"backbone": "efficientnet_lite0", "input_size": None})
    run.config_path.write_text(json.dumps(config))
    assert compare.metrics_table([run.path]).set_index("run_id").loc["default", "input_size"] == 224

"""The Results page (AppTest): its tabs, tables without the raw index, a confusion cell's photos, the exports."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from glr.training.run import RUNS_SUBDIR
from test_app_pages import RESULTS, alt_texts, assert_no_exception, button, open_page, raw_texts, texts

RUN = "20260101-000000-a"
CONFUSION_CSV = "Download the whole confusion matrix (CSV)"


def edit_confusion(run: Path, edit) -> None:
    """Change a run's confusion.csv through its dense matrix: `edit(matrix)` changes it in place, stored sparse."""
    from glr.evaluation import confusion

    matrix = confusion.read(run / "confusion.csv").toarray()
    edit(matrix)
    confusion.to_frame(matrix).reset_index().to_csv(run / "confusion.csv", index=False)


@pytest.fixture
def results(monkeypatch, tmp_path, finished_run, tiny_data) -> Path:
    folder = tmp_path / "results"
    shutil.copytree(finished_run.path, folder / RUNS_SUBDIR / RUN, ignore=shutil.ignore_patterns("export"))
    monkeypatch.setenv("GLR_RESULTS", str(folder))
    monkeypatch.setenv("GLR_DATA", str(tiny_data))
    return folder


def test_the_page_is_in_tabs_and_its_tables_have_no_raw_index(results):
    at = open_page(RESULTS)
    assert [t.label for t in at.tabs] == [":material/dashboard: Overview", ":material/table: Classes",
                                         ":material/error: Mistakes", ":material/hub: Retrieval",
                                         ":material/scatter_plot: Map"]
    for frame in at.dataframe:
        assert "index" not in frame.value.columns
    collage = next(i for i in at.image if "Validation photos picked at random" in str(i.proto))
    assert "so this grid is not the accuracy" in str(collage.proto)
    assert "Click a cell to see the validation photos behind it." in texts(at.caption)
    assert "PCA is instant" in texts(at.caption)  # what each projection shows
    heatmap = json.loads(at.get("plotly_chart")[2].proto.spec)
    assert [t["type"] for t in heatmap["data"]] == ["heatmap", "scatter"]  # the click layer over the cells


def test_a_confusion_cell_shows_its_photos(results):
    at = open_page(RESULTS)
    spec = json.loads(at.get("plotly_chart")[2].proto.spec)
    true_index, pred_index = spec["data"][1]["customdata"][0]
    # What the browser sends when a cell is clicked (AppTest has no plotly click of its own).
    at.session_state["results_confusion"] = {"selection": {"points": [{"customdata": [true_index, pred_index]}],
                                                           "point_indices": [0], "box": [], "lasso": []}}
    at.run()
    assert_no_exception(at)
    shown = texts(at.markdown)
    assert re.search(r"(right|called .+): \d+ photos?\b", shown), shown


def test_an_export_is_made_on_request_then_downloadable(results):
    at = open_page(RESULTS)
    labels = [b.label for b in at.download_button]
    # No export yet: nothing is built before it is asked for (the confusion matrix is in the Mistakes tab).
    assert labels == ["Download the report (zip)", CONFUSION_CSV]
    button(at, "Export as ONNX").click().run(timeout=180)  # tf2onnx: over a minute on a loaded machine
    assert_no_exception(at)
    assert (results / RUNS_SUBDIR / RUN / "export" / "onnx" / "model.onnx").is_file()
    assert [b.label for b in at.download_button] == ["Download the report (zip)", "ONNX", CONFUSION_CSV]
    assert "Export as ONNX" not in [b.label for b in at.button]


def test_the_mistakes_show_where_the_model_looked_on_request(results):
    from glr.training.run import Run

    run = Run(results / RUNS_SUBDIR / RUN)
    predictions = run.predictions()
    # The tiny run makes no mistakes: turn one prediction into a confident wrong guess of another class.
    other = predictions.loc[predictions["true_landmark_id"] != predictions.loc[0, "true_landmark_id"]].iloc[0]
    predictions.loc[0, ["pred_landmark_id", "pred_name", "correct"]] = [other["true_landmark_id"], other["true_name"],
                                                                        False]
    predictions.to_csv(run.predictions_path, index=False)
    at = open_page(RESULTS)
    before = len(at.image)
    toggle = next(t for t in at.toggle if t.label == "Show where the model looked")
    toggle.set_value(True).run()
    assert_no_exception(at)
    assert len(at.image) == before + 1  # one heatmap under the one mistake
    assert "no heatmap" not in texts(at.caption)


def test_the_problems_with_the_data_are_under_the_scores(results):
    from glr.training.run import Run

    assert not [e for e in open_page(RESULTS).expander if e.label.startswith("Problems with the data")]
    Run(results / RUNS_SUBDIR / RUN).add_data_problem("left out 1 image that could not be decoded (e.g. 'a/b.jpg')")
    at = open_page(RESULTS)
    assert_no_exception(at)
    panel = next(e for e in at.expander if e.label == "Problems with the data (1)")
    assert "left out 1 image that could not be decoded" in panel.markdown[0].value


def test_the_retrieval_tab_says_how_the_known_score_mixes_its_parts(results):
    weight = json.loads((results / RUNS_SUBDIR / RUN / "retrieval.json").read_text())["known_head_weight"]
    at = open_page(RESULTS)
    threshold = next(m for m in at.metric if m.label == "Unknown threshold")
    assert f"{weight:.2f} x the head's confidence + {1 - weight:.2f} x the nearest training photo's similarity" in threshold.help


def test_a_retrieval_json_without_its_threshold_says_damaged_and_offers_the_rebuild(results):
    # Valid JSON without the evaluation's keys (cut or edited by hand) raised KeyError 'unknown' out of the page.
    (results / RUNS_SUBDIR / RUN / "retrieval.json").write_text(json.dumps({"index": {"items": 14}}))
    at = open_page(RESULTS)
    assert "retrieval.json: damaged (its unknown threshold cannot be read: KeyError 'unknown')" in texts(at.warning)
    assert any(b.key == f"results_build_index_{RUN}" for b in at.button)
    assert not any(m.label == "Unknown threshold" for m in at.metric) and "no embedding index yet" not in texts(at.info)


def test_class_names_in_mistakes_and_confusion_cells_show_as_written(results):
    import pandas as pd

    from app_common import md

    run = results / RUNS_SUBDIR / RUN
    labels = json.loads((run / "labels.json").read_text())
    odd = {e["name"]: f"St_Mark *{e['index']}* ~ok~" for e in labels}  # would be italics and strikethrough
    (run / "labels.json").write_text(json.dumps([{**e, "name": odd[e["name"]]} for e in labels]))
    df = pd.read_csv(run / "val_predictions.csv")
    df["true_name"] = df["true_name"].map(odd)
    df["pred_index"] = (df["true_index"] + 1) % len(labels)  # every photo wrong, so every one is a mistake
    df["pred_name"] = df["pred_index"].map({e["index"]: odd[e["name"]] for e in labels})
    df["correct"] = False
    df.to_csv(run / "val_predictions.csv", index=False)
    at = open_page(RESULTS)
    t, p = df.loc[0, ["true_name", "pred_name"]]
    assert f"{md(t)} → {md(p)} (" in raw_texts(at.caption)  # was the raw name, formatted as Markdown
    at.session_state["results_confusion"] = {"selection": {"points": [{"customdata": [int(df.loc[0, "true_index"]),
                                                                                     int(df.loc[0, "pred_index"])]}]}}
    at.run()
    assert_no_exception(at)
    assert f"**{md(t)}**, called {md(p)}: " in raw_texts(at.markdown)


def test_a_failed_run_and_a_finished_one_missing_its_scores_say_why(results):
    from glr.training.run import Run

    failed = Run.create(results, {"train": {"backbone": "efficientnet_lite0", "epochs": 4}}, run_id="20260102-000000-f")
    failed.update_status(state="failed", message="RuntimeError: boom")
    failed.history_path.write_text("phase,epoch,loss,accuracy,val_loss,val_accuracy,val_top5,lr,seconds\n"
                                   "1,1,1.0,0.5,1.1,0.4,0.9,0.001,0.1\n")
    at = open_page(RESULTS)
    at.multiselect(key="results_runs").set_value([failed.id]).run()
    assert_no_exception(at)
    shown = texts(at.info)
    assert "This run failed before it was evaluated (RuntimeError: boom): resume it on the Train page" in shown
    assert "appears when the training finishes" not in shown  # it will not finish by itself
    for name in ("metrics.json", "per_class.csv", "val_predictions.csv", "labels.json"):
        (results / RUNS_SUBDIR / RUN / name).unlink()
    at.multiselect(key="results_runs").set_value([RUN]).run()
    assert_no_exception(at)
    shown = texts(at.info)
    assert "This run finished but its metrics.json is missing (deleted?)" in shown
    assert "its per_class.csv is missing" in shown
    assert "its val_predictions.csv is missing" in shown  # the Mistakes tab was left empty


def _parents_of(node, wanted: set[str], found: list | None = None) -> list:
    """(label, parent block proto) of every element under `node` whose type is in `wanted`."""
    found = [] if found is None else found
    for child in getattr(node, "children", {}).values():
        if getattr(child, "type", None) in wanted:
            found.append((child.proto.label, node.proto))
        _parents_of(child, wanted, found)
    return found


@pytest.mark.parametrize("page", ["app.py", "pages/1_dataset.py", RESULTS])
def test_scores_and_export_buttons_wrap_in_a_narrow_window_instead_of_being_cut(results, page):
    # In st.columns, an 800 px window with the sidebar open cut "100.0%" to "10…", "folders" to "fol…"
    # and all four export buttons to "Export …" (seen in Chromium); a wrapping row moves them down instead.
    at = open_page(page)
    found = [(label, parent) for label, parent in _parents_of(at.main, {"metric", "button"})
             if label.startswith(("Export as", "Rewrite the report")) or label in {m.label for m in at.metric}]
    top_level = [label for label, _ in found if label in ("Classes", "Top-1 accuracy", "Export as ONNX")]
    assert top_level, [label for label, _ in found]
    for label, parent in found:
        if label in ("Classes kept", "Training images", "Validation images") and page != RESULTS:
            continue  # the Dataset page's split: three short values
        flex = parent.flex_container if "flex_container" in parent.DESCRIPTOR.fields_by_name else None  # not a column
        assert flex is not None and flex.wrap and flex.direction == flex.HORIZONTAL, label


@pytest.mark.parametrize("page", ["pages/1_dataset.py", RESULTS])
def test_a_long_class_name_never_pushes_the_scores_out_of_view(results, page):
    # Sized to its content, a 120-character name took the table's width (seen in Chromium at 1280 px).
    at = open_page(page)
    table = next(d for d in at.dataframe if {"name", "images" if page != RESULTS else "f1"} <= set(d.value.columns))
    assert json.loads(table.proto.columns)["name"]["width"] == "medium"


def test_a_metrics_json_that_is_damaged_is_named_and_the_other_tabs_still_show(results):
    run = results / RUNS_SUBDIR / RUN
    (run / "metrics.json").write_text("[1, 2]")  # valid JSON, not the scores: 'list' object has no attribute 'get'
    at = open_page(RESULTS)
    assert "metrics.json is damaged: not a JSON object of scores" in texts(at.error)
    assert "missing (deleted?)" not in texts(at.info)  # it is there, damaged: not "missing"
    assert any("f1" in d.value.columns for d in at.dataframe)  # the Classes tab still shows


def test_one_damaged_result_file_is_named_and_the_others_still_show(results):
    run = results / RUNS_SUBDIR / RUN
    (run / "per_class.csv").write_text("")
    at = open_page(RESULTS)
    errors = texts(at.error)
    assert "per_class.csv is damaged: No columns to parse from file" in errors
    # It hid the confusion matrix and the mistakes too, and said val_predictions.csv was "missing (deleted?)".
    assert "val_predictions.csv is missing" not in texts(at.info) and "per_class.csv is missing" not in texts(at.info)
    assert len(at.get("plotly_chart")) >= 3  # loss, accuracy, and the confusion heatmap


def test_a_confidence_that_is_not_a_number_names_the_file_instead_of_a_traceback(results):
    import pandas as pd

    path = results / RUNS_SUBDIR / RUN / "val_predictions.csv"
    df = pd.read_csv(path)
    df["confidence"] = df["confidence"].astype(object)
    df.loc[0, "confidence"] = "high"
    df.loc[0, "correct"] = False  # a mistake, so its caption "(high)" is formatted as a percentage
    df.to_csv(path, index=False)
    at = open_page(RESULTS)  # raised "Unknown format code '%' for object of type 'str'"
    assert "val_predictions.csv is damaged: its 'confidence' column holds 'high', not a number" in texts(at.error)


def test_scores_with_no_value_show_a_dash_and_say_why(results):
    run = results / RUNS_SUBDIR / RUN
    scores = json.loads((run / "metrics.json").read_text())
    (run / "metrics.json").write_text(json.dumps({**scores, "gap": float("nan")}))  # Python's json writes NaN
    at = open_page(RESULTS)
    top5 = next(m for m in at.metric if m.label == "Top-5 accuracy")
    # The tiny run has 3 classes: top-5 was a meaningless "100.0%".
    assert top5.value == "—" and "only 3 classes" in top5.help
    gap = next(m for m in at.metric if m.label == "GAP")
    assert gap.value == "—" and "no validation photo shows a known landmark" in gap.help  # was "nan"
    assert not any("nan" in m.value for m in at.metric)


def test_the_class_table_leaves_undefined_scores_empty_and_says_why(results):
    import pandas as pd

    run = results / RUNS_SUBDIR / RUN
    per_class = pd.read_csv(run / "per_class.csv")
    per_class.loc[0, ["precision", "recall", "f1", "support"]] = [0.0, 0.0, 0.0, 0]  # no validation photo
    per_class.to_csv(run / "per_class.csv", index=False)
    edit_confusion(run, lambda m: m.__setitem__((slice(None), 0), 0))  # and never predicted
    at = open_page(RESULTS)
    table = next(d.value for d in at.dataframe if "f1" in d.value.columns)
    row = table.iloc[0]
    assert pd.isna(row["recall"]) and pd.isna(row["precision"])  # were 0.00, read as "always wrong"
    assert row["note"] == "no validation photo: recall and F1 are undefined; never predicted: precision is undefined"


def test_comparing_runs_that_know_different_classes_says_so(results):
    from glr.training.run import Run

    other = results / RUNS_SUBDIR / "20260102-000000-b"
    shutil.copytree(results / RUNS_SUBDIR / RUN, other)
    labels = json.loads((other / "labels.json").read_text())
    (other / "labels.json").write_text(json.dumps(labels[:2]))  # trained on 2 of the 3 classes
    at = open_page(RESULTS)
    at.multiselect(key="results_runs").set_value([RUN, Run(other).id]).run()
    assert_no_exception(at)
    assert "These runs know different classes (3 in 20260101-000000-a, 2 in 20260102-000000-b)" in texts(at.warning)
    table = at.dataframe[0].value
    assert table["classes"].tolist() == [3, 2] and table["top5"].isna().all()  # 3 classes: top-5 has no value
    assert table["note"].str.startswith("top5: only 3 classes").all()  # a blank cell said nothing of why
    assert "A blank score has no value: its note says why." in texts(at.caption)


def test_runs_are_listed_by_their_name_and_a_rename_in_another_tab_shows_at_once(results):
    from glr.training.run import Run

    run = Run(results / RUNS_SUBDIR / RUN)
    run.set_name("baseline *v1*")
    at = open_page(RESULTS)
    # Named on the Train page, the run was listed here by its id alone.
    assert at.multiselect(key="results_runs").options == [f"baseline *v1* · {RUN}"]
    run.set_name("lite0 at 32 px")  # renamed meanwhile, in another tab or with `runs --rename`
    at.run()
    assert_no_exception(at)
    assert at.multiselect(key="results_runs").options == [f"lite0 at 32 px · {RUN}"]
    assert at.multiselect(key="results_runs").value == [RUN]  # still shown
    assert any(h.value == f"lite0 at 32 px · {RUN}" for h in at.subheader)


def test_photos_moved_since_training_are_named_in_the_grids_and_the_report_is_still_written(results):
    import pandas as pd

    run = results / RUNS_SUBDIR / RUN
    df = pd.read_csv(run / "val_predictions.csv")
    df["path"] = [f"/gone/{i}.jpg" for i in df["id"]]  # the dataset moved or deleted
    df["pred_index"] = (df["true_index"] + 1) % 3
    df["correct"] = False
    df.to_csv(run / "val_predictions.csv", index=False)
    shutil.rmtree(run / "report")
    at = open_page(RESULTS)
    at.session_state["results_confusion"] = {"selection": {"points": [{"customdata": [int(df.loc[0, "true_index"]),
                                                                                     int(df.loc[0, "pred_index"])]}]}}
    at.run()
    assert_no_exception(at)
    assert f"cannot show {df.loc[0, 'id']}.jpg" in texts(at.caption)  # in the cell's photos and the mistakes
    button(at, "Write the report").click().run()
    assert_no_exception(at)
    assert (run / "report" / "collage.png").is_file()  # grey "image not readable" tiles, not a failed report


def test_a_run_still_training_shows_its_curves_and_says_its_scores_come_at_the_end(results, capsys):
    from glr.cli import main
    from test_app_pages import _fake_run

    live = _fake_run(results, "20260102-000000-live", "running")  # one epoch done, no evaluation yet
    at = open_page(RESULTS)
    at.multiselect(key="results_runs").set_value([live.id]).run()
    assert_no_exception(at)
    assert "This run is still running: its metrics appear when it finishes." in texts(at.info)
    assert not at.error and not at.metric
    assert len(at.get("plotly_chart")) == 2  # its loss and accuracy so far
    assert main(["evaluate", str(live.path)]) == 2
    assert capsys.readouterr().err.strip() == f"error: {live.path}: no metrics.json yet (the run is running)"


def test_retrieval_scores_with_no_value_show_a_dash_not_nan(results):
    path = results / RUNS_SUBDIR / RUN / "retrieval.json"
    retrieval = json.loads(path.read_text())
    retrieval["unknown"]["distractors_flagged"] = float("nan")  # what an index with no distractor scored stores
    retrieval["unknown"]["auroc"]["known_score"] = float("nan")
    path.write_text(json.dumps(retrieval))
    at = open_page(RESULTS)
    shown = {m.label: m.value for m in at.metric}
    assert shown["Distractors called unknown"] == "—" and shown["ROC AUC, known vs distractor"] == "—"  # "nan%", "nan"
    assert not any("nan" in value for value in shown.values())


def test_the_report_zip_is_built_on_the_click_not_at_every_rerun(results, monkeypatch):
    from glr.evaluation import compare

    calls = []
    real = compare.report_zip
    monkeypatch.setattr(compare, "report_zip", lambda run: calls.append(run) or real(run))
    monkeypatch.setattr(compare, "confusion_csv", lambda *a: calls.append(a) or b"")  # 50 MB at 5,000 classes
    at = open_page(RESULTS)
    at.slider(key="results_top").set_value(2).run()  # any click reruns the page
    # It zipped the 4.8 MB report (plotly inline) on every rerun: ~0.2 s, and 1.7 MB sent to the browser each time.
    assert calls == [] and [b.label for b in at.download_button] == ["Download the report (zip)", CONFUSION_CSV]


def test_a_confusion_cell_without_its_predictions_file_says_why_not_zero_photos(results):
    run = results / RUNS_SUBDIR / RUN
    (run / "val_predictions.csv").write_text("id,path\n")  # damaged: no prediction columns
    at = open_page(RESULTS)
    spec = json.loads(at.get("plotly_chart")[2].proto.spec)
    true_index, pred_index = spec["data"][1]["customdata"][0]
    at.session_state["results_confusion"] = {"selection": {"points": [{"customdata": [true_index, pred_index]}]}}
    at.run()
    assert_no_exception(at)
    from glr.evaluation import confusion

    count = int(confusion.read(run / "confusion.csv")[true_index, pred_index])
    assert f": {count} photo" in texts(at.markdown) and count > 0  # the cell's count: it said "0 photos"
    assert "Its photos cannot be shown: val_predictions.csv is damaged (above)." in texts(at.caption)
    assert "no validation photo in this cell" not in texts(at.caption)


def test_a_long_class_name_never_pushes_the_confused_pairs_count_out_of_view(results):
    run = results / RUNS_SUBDIR / RUN
    edit_confusion(run, lambda m: m.__setitem__((0, 1), 2))  # one confusion, so the pairs table shows
    labels = json.loads((run / "labels.json").read_text())
    labels[0]["name"] = "W" * 120
    (run / "labels.json").write_text(json.dumps(labels))
    at = open_page(RESULTS)
    pairs = next(d for d in at.dataframe if "count" in d.value.columns)
    assert pairs.value["true"].tolist() == ["W" * 120]
    columns = json.loads(pairs.proto.columns)
    assert columns["true"]["width"] == "medium" and columns["predicted"]["width"] == "medium"
    # First: two "medium" name columns fill a phone's 390 px, and the count was scrolled out of view there.
    assert list(pairs.value.columns) == ["count", "true", "predicted"]


def test_a_run_of_many_classes_shows_its_most_confused_part_and_a_click_still_opens_a_cell(results):
    import numpy as np
    import pandas as pd

    from glr.evaluation import metrics
    from glr.training.run import Run

    n = 80  # more than the heatmap's 60 at most: cut, it said neither how much it left out nor where the rest was
    big = Run.create(results, {"train": {"backbone": "efficientnet_lite0"}}, run_id="20260103-000000-big")
    labels = pd.DataFrame({"index": range(n), "landmark_id": range(1000, 1000 + n),
                           "name": [f"Landmark {i}" for i in range(n)], "images": 3})
    big.write_labels(labels)
    y = np.repeat(np.arange(n), 2)
    guess = y.copy()
    guess[-1] = 3  # one photo of the last class called class 3: the only confusion, far outside the first 60
    probs = np.full((len(y), n), 0.001)
    probs[np.arange(len(y)), guess] = 0.9
    metrics.write_evaluation(big, [f"{i:04d}" for i in range(len(y))], [f"/gone/{i}.jpg" for i in range(len(y))],
                             y, probs, labels)
    big.update_status(state="finished")
    at = open_page(RESULTS)
    at.multiselect(key="results_runs").set_value([big.id]).run()
    assert_no_exception(at)
    assert ("The heatmap shows 30 of the 80 classes, those in the largest confusions: their cells hold 1 of the 1 "
            "mistakes (100%).") in texts(at.caption)
    assert CONFUSION_CSV in [b.label for b in at.download_button]
    spec = json.loads(at.get("plotly_chart")[2].proto.spec)
    assert spec["layout"]["title"]["text"] == "confusion matrix"
    assert spec["layout"]["title"]["subtitle"]["text"] == "the 30 most confused of 80 classes"
    assert [79, 3] in spec["data"][1]["customdata"]  # the click layer keeps the classes' own indices
    at.session_state["results_confusion"] = {"selection": {"points": [{"customdata": [79, 3]}]}}
    at.run()
    assert_no_exception(at)
    assert "**Landmark 79**, called Landmark 3: 1 photo" in raw_texts(at.markdown)
    assert "cannot show 159.jpg" in raw_texts(at.caption)  # the cell's photo, named though it is gone


def test_a_resumed_run_says_its_scores_are_from_before_it_resumed(results):
    from test_app_pages import _fake_run

    live = _fake_run(results, "20260102-000000-live", "running")
    shutil.copy(results / RUNS_SUBDIR / RUN / "metrics.json", live.metrics_path)  # evaluated when it stopped
    at = open_page(RESULTS)
    at.multiselect(key="results_runs").set_value([live.id]).run()
    assert_no_exception(at)
    # It said "its metrics appear when it finishes" above the scores it showed.
    assert ("This run is still running: the scores below are from its evaluation before it was resumed; new ones "
            "replace them when it finishes.") in texts(at.info)
    assert "Top-1 accuracy" in [m.label for m in at.metric]


def test_a_run_whose_confusion_csv_is_gone_still_has_its_heatmap_from_the_predictions(results):
    (results / RUNS_SUBDIR / RUN / "confusion.csv").unlink()
    at = open_page(RESULTS)
    # The Mistakes tab lost its heatmap and most confused pairs without a word.
    assert "confusion.csv is missing: the confusions below are recomputed from val_predictions.csv." in texts(at.caption)
    assert "Click a cell to see the validation photos behind it." in texts(at.caption)
    assert [t["type"] for t in json.loads(at.get("plotly_chart")[2].proto.spec)["data"]] == ["heatmap", "scatter"]


def test_a_run_saved_before_the_sparse_confusion_csv_still_opens(results):
    import pandas as pd

    from glr.evaluation import confusion

    run = results / RUNS_SUBDIR / RUN
    matrix = confusion.read(run / "confusion.csv").toarray()
    matrix[0, 1] += 3  # a confusion of this file's own, to see it is the one read
    dense = pd.DataFrame(matrix, index=pd.RangeIndex(len(matrix), name="true"))
    dense.reset_index().to_csv(run / "confusion.csv", index=False)  # as glr wrote it before: N x N
    assert (run / "confusion.csv").read_text().startswith("true,0,1")
    at = open_page(RESULTS)
    assert not at.error
    cells = json.loads(at.get("plotly_chart")[2].proto.spec)["data"][1]  # the click layer: a marker per cell
    assert str(matrix[0, 1]) == cells["text"][cells["customdata"].index([0, 1])]
    pairs = next(d.value for d in at.dataframe if "count" in d.value.columns)
    assert pairs["count"].iloc[0] == matrix[0, 1]


def test_the_confusion_matrix_is_read_once_per_version_of_its_file(results, monkeypatch):
    from glr.evaluation import confusion

    calls = []
    read = confusion.read
    monkeypatch.setattr(confusion, "read", lambda path: calls.append(path) or read(path))
    at = open_page(RESULTS)
    assert len(calls) == 1
    at.run()  # a click: an older run's dense table of 20,000 classes took a minute at each
    assert len(calls) == 1
    edit_confusion(results / RUNS_SUBDIR / RUN, lambda m: m.__setitem__((0, 1), m[0, 1] + 5))  # rewritten: read again
    before = len(calls)  # the edit read it too
    at.run()
    assert_no_exception(at)
    assert len(calls) == before + 1


def results_with_a_cell_chosen():
    """The Results page after a click on the confusion heatmap's first cell: that cell's validation photos shown."""
    at = open_page(RESULTS)
    spec = json.loads(at.get("plotly_chart")[2].proto.spec)
    at.session_state["results_confusion"] = {"selection": {"points": [{"customdata": spec["data"][1]["customdata"][0]}],
                                                           "point_indices": [0], "box": [], "lasso": []}}
    at.run()
    assert_no_exception(at)
    return at


def test_the_photo_grids_wrap_rather_than_stack_one_photo_to_a_phones_row(results):
    # In st.columns a phone (390 px) stacked the photos one to a row, each 150 px thumbnail blown up to the whole
    # width: 24 mistakes made the page 12,000 px tall. A row that wraps holds three there, six at 1280 px.
    at = results_with_a_cell_chosen()
    assert re.search(r"\d+% sure", texts(at.caption))  # the cell's photos are shown
    assert not any(c.get("image") for c in at.columns), "a photo grid is in columns"


def _blocks(node):
    for child in getattr(node, "children", {}).values():
        yield child
        yield from _blocks(child)


def test_the_score_rows_wrap_tightly_on_a_phone(results):
    # With a large gap, 390 px held two scores to a row with about 100 px between rows: read as separate sections.
    at = open_page(RESULTS)
    rows = [b for b in _blocks(at._tree) if getattr(b, "children", None)
            and any(getattr(c, "type", "") == "metric" for c in b.children.values())]
    gaps = [str(b.proto.flex_container.gap_config).strip() for b in rows if b.proto.HasField("flex_container")]
    assert gaps and not any("LARGE" in g for g in gaps), gaps


def test_the_class_table_is_as_tall_as_its_rows(results, monkeypatch):
    # A fixed 420 px drew 8 classes over 3 empty rows (Chromium, 390 px); the 3-class run's over 8.
    import streamlit

    heights = []
    original = streamlit.dataframe

    def dataframe(data=None, *args, **kwargs):
        if data is not None and "f1" in getattr(data, "columns", ()):
            heights.append((len(data), kwargs.get("height")))
        return original(data, *args, **kwargs)

    monkeypatch.setattr(streamlit, "dataframe", dataframe)
    at = open_page(RESULTS)
    assert_no_exception(at)
    rows, height = heights[0]
    assert height == 35 * (rows + 1) + 3 < 420, heights  # a header and the rows, 35 px each, and the borders


def test_every_photo_on_the_results_page_says_what_it_shows_to_a_screen_reader(results):
    # Streamlit gives an image no alt text unless asked (a caption is not one): a screen reader read the collage and
    # every validation photo as "image".
    at = results_with_a_cell_chosen()
    alts = alt_texts(at)
    assert len(alts) >= 2 and all(alts), alts  # the collage and the cell's photos
    assert any(a.startswith("A collage of validation photos") for a in alts)
    assert any(re.fullmatch(r"A validation photo of (Red Fort|Blue Mosque|Golden Gate)(, called .+)?", a) for a in alts)


def test_every_chart_on_the_results_page_trims_its_mode_bar_for_keyboard_users(results):
    # Each mode bar button is a Tab stop: the loss, accuracy and heatmap charts took 24 Tab presses between them.
    at = open_page(RESULTS)
    charts = at.get("plotly_chart")
    assert len(charts) >= 3
    for chart in charts:
        removed = json.loads(chart.proto.config or "{}").get("modeBarButtonsToRemove", [])
        assert "zoomIn2d" in removed and "toImage" not in removed
    selecting = [c for c in charts if json.loads(c.proto.spec)["layout"].get("clickmode")]  # the heatmap's click layer
    assert selecting and all("zoom2d" not in json.loads(c.proto.config)["modeBarButtonsToRemove"] for c in selecting)


def test_a_click_on_a_run_deleted_meanwhile_acts_on_no_other_run(results):
    # With runs a and b, b shown: b deleted (another tab, `runs --delete`), then "Rewrite the report" clicked on the
    # open page rewrote a's report, and the rerun after it was a TypeError in the run selector's format_func.
    newer = "20260102-000000-b"
    shutil.copytree(results / RUNS_SUBDIR / RUN, results / RUNS_SUBDIR / newer)
    at = open_page(RESULTS)
    assert at.multiselect(key="results_runs").value == [newer]
    report = results / RUNS_SUBDIR / RUN / "report"
    before = {p.name: p.stat().st_mtime_ns for p in report.iterdir()}
    shutil.rmtree(results / RUNS_SUBDIR / newer)
    at.button(key=f"results_write_report_{newer}").click().run()
    assert_no_exception(at)
    assert at.multiselect(key="results_runs").value == [RUN]  # what is left is shown
    assert {p.name: p.stat().st_mtime_ns for p in report.iterdir()} == before  # and not written by that click

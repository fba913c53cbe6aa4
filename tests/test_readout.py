"""A run's evaluation as a reader sees it: scores with no value say why, each file is read and checked on its own."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import warnings

import numpy as np
import pandas as pd
import pytest

from glr.evaluation import readout
from test_class_names import like_an_old_folder_run
from glr.training.run import Run


@pytest.fixture
def run(tmp_path, finished_run) -> Run:
    """A copy of the tiny finished run (3 classes), free to damage."""
    shutil.copytree(finished_run.path, tmp_path / "run", ignore=shutil.ignore_patterns("export", "index"))
    return Run(tmp_path / "run")


def shown(scores: dict) -> dict[str, tuple[str, str]]:
    return {h.key: (h.text, h.why) for h in readout.headline(scores)}


def test_a_score_with_no_value_shows_a_dash_and_says_why_never_nan():
    full = {"top1": 0.5, "top5": 0.9, "gap": 0.4, "macro_f1": 0.3, "n_images": 1200, "n_classes": 150}
    assert shown(full) == {"top1": ("50.0%", ""), "top5": ("90.0%", ""), "gap": ("0.400", ""),
                           "macro_f1": ("0.300", ""), "n_images": ("1,200", "")}
    # Top-5 with 5 classes or fewer is 100% by construction: it was shown as a real 100.0%.
    assert shown({**full, "n_classes": 3})["top5"] == (
        "—", "only 3 classes: every photo's class is among its 5 best guesses, so top-5 says nothing here")
    # GAP with no photo of a known landmark is undefined (NaN): it was shown as "nan".
    assert shown({**full, "gap": float("nan")})["gap"] == ("—", "no validation photo shows a known landmark")
    assert shown({**full, "top1": float("nan"), "n_images": 0})["top1"] == ("—", "no validation photo was scored")
    # A key missing was shown as 0.0%; a text value raised "Unknown format code '%' for object of type 'str'".
    assert shown({"top1": 0.5})["macro_f1"] == ("—", "metrics.json has no macro_f1")
    assert shown({**full, "top1": "high"})["top1"] == ("—", "metrics.json holds 'high' for top1, not a number")
    for scores in ({}, {"top1": None, "gap": float("inf")}, {k: float("nan") for k in full}):
        assert all("nan" not in text.lower() and "inf" not in text for text, _ in shown(scores).values())


def test_each_result_file_is_read_and_checked_on_its_own(run):
    text = run.per_class_path.read_text()
    run.per_class_path.write_text(text[: len(text) // 2])  # cut mid-row: it was read with NaN cells
    predictions = pd.read_csv(run.predictions_path)
    found, problems = readout.read_results(run)
    assert problems == [f"{run.per_class_path} is damaged: truncated: it does not end with a newline"]
    assert found["per_class"] is None and len(found["predictions"]) == len(predictions)  # the others still show
    assert found["confusion"] is not None and found["labels"] is not None

    predictions["confidence"] = predictions["confidence"].astype(object)
    predictions.loc[0, "confidence"] = "high"  # raised "Unknown format code '%'" out of the Mistakes tab
    predictions.to_csv(run.predictions_path, index=False)
    cut = run.confusion_path.read_text().rstrip("\n")
    run.confusion_path.write_text(cut.rsplit(",", 1)[0] + ",\n")  # the last cell empty
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # "invalid value encountered in cast" was printed by the report
        found, problems = readout.read_results(run)
    assert found["predictions"] is None and found["confusion"] is None
    assert f"{run.predictions_path} is damaged: its 'confidence' column holds 'high', not a number" in problems
    assert any(p.startswith(f"{run.confusion_path} is damaged: row ") and p.endswith(
        "in 'count', not a whole number of 0 or more") for p in problems)


def test_a_confusion_matrix_of_another_class_count_is_named_against_the_labels(run):
    labels = json.loads(run.labels_path.read_text())
    run.labels_path.write_text(json.dumps(labels[:2]))
    found, problems = readout.read_results(run)
    assert found["confusion"] is None
    assert problems == [f"{run.confusion_path} does not match labels.json: 3 classes against 2"]


def per_class_of(support, predicted_column_sums):
    n = len(support)
    per_class = pd.DataFrame({"index": range(n), "landmark_id": range(10, 10 + n), "name": [f"c{i}" for i in range(n)],
                              "precision": 0.0, "recall": 0.0, "f1": 0.0, "support": support})
    confusion = pd.DataFrame(np.diag(predicted_column_sums))
    return per_class, confusion


def test_undefined_per_class_cells_are_empty_with_a_note_not_zero():
    per_class, confusion = per_class_of([2, 0, 3], [2, 1, 0])
    table = readout.class_table(per_class, confusion)
    assert table.loc[1, ["recall", "f1"]].isna().all() and table.loc[1, "note"] == readout.NO_PHOTO
    assert np.isnan(table.loc[2, "precision"]) and table.loc[2, "note"] == readout.NEVER_PREDICTED
    assert table.loc[0, ["precision", "recall", "f1"]].tolist() == [0.0, 0.0, 0.0] and table.loc[0, "note"] == ""
    assert per_class.loc[1, "recall"] == 0.0  # the run's own table is left as it is
    assert readout.class_table(per_class).loc[2, "precision"] == 0.0  # without the matrix, nothing is guessed


def test_the_terminals_weakest_classes_leave_out_those_without_a_photo():
    per_class, confusion = per_class_of([2, 0, 3], [2, 1, 0])
    per_class.loc[0, "name"] = "A" * 200  # padded every row of the table to 200 columns
    per_class.loc[1, "name"] = "Empty\nclass"
    lines = readout.weakest_lines(per_class, 10, confusion)
    assert lines[0] == "weakest classes (recall):"
    table = lines[1]
    assert "A" * 39 + "…" in table and "A" * 41 not in table and "c2" in table and "Empty" not in table
    assert "nan" not in table.lower() and "—" in table  # c2's precision
    assert lines[2:] == ["(—: the precision of a class never predicted is undefined)",
                         "1 class with no validation photo, not ranked: Empty class"]
    assert readout.weakest_lines(per_class.iloc[:0], 10) == ["per_class.csv lists no class"]


def test_terminal_score_lines_never_print_nan():
    lines = readout.score_lines({"top1": float("nan"), "top5": 1.0, "gap": None, "n_images": 0, "n_classes": 3})
    assert lines[0] == "top1       —  (no validation photo was scored)"
    assert lines[1].startswith("top5       —  (only 3 classes")
    assert lines[-2:] == ["n_images   0", "n_classes  3"]
    assert not any("nan" in line.lower() for line in lines)


def test_top5_over_five_classes_is_blank_when_the_scores_lack_a_class_count_but_the_labels_have_it():
    # Scores recomputed from val_predictions.csv (the report's fallback) or an older metrics.json carry no
    # n_classes: top-5 over 3 classes showed as a real 100.0%.
    scores = {"top1": 0.5, "top5": 1.0, "gap": 0.4, "n_images": 9}
    assert [h.text for h in readout.headline(scores, 3)][1] == readout.NONE
    assert [h.text for h in readout.headline(scores, 6)][1] == "100.0%"  # 6 classes: top-5 says something
    assert [h.text for h in readout.headline({**scores, "n_classes": 12}, 3)][1] == "100.0%"  # the stored count wins
    assert any(line.startswith("top5       —  (only 3 classes") for line in readout.score_lines(scores, 3))


def test_the_reports_worst_classes_leave_undefined_scores_as_a_dash_and_name_the_classes_without_a_photo():
    per_class = pd.DataFrame({"index": [0, 1, 2, 3], "landmark_id": [7, 8, 9, 10],
                              "name": ["St_Mark *1*", "Never", "Unseen <b>", "Fine"],
                              "precision": [0.5, 0.0, 0.0, 1.0], "recall": [1.0, 0.0, 0.0, 1.0],
                              "f1": [0.667, 0.0, 0.0, 1.0], "support": [1, 1, 0, 1]})
    confusion = pd.DataFrame([[1, 0, 0, 0], [1, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 1]])  # class 1 never predicted
    text = "\n".join(readout.worst_markdown(readout.class_table(per_class, confusion), 10))
    assert "## The 3 worst classes (by F1)" in text
    assert "| 1 | 8 | Never | — | 0.000 | 0.000 | 1 |" in text  # its undefined precision read 0.000
    assert "—: the precision of a class never predicted is undefined." in text
    assert "| St\\_Mark \\*1\\* |" in text  # shown in italics before
    assert "| 2 | 9 |" not in text and "1 class with no validation photo, not ranked: Unseen \\<b\\>" in text


def test_the_end_line_gives_scores_to_three_places_and_a_dash_for_a_top5_that_says_nothing():
    scores = {"top1": 0.95312, "top5": 1.0, "gap": 0.9, "n_classes": 3}
    assert readout.end_line(scores) == "top-1 0.953, top-5 —, GAP 0.900"
    assert readout.end_line({**scores, "n_classes": 40, "top5": 0.99, "gap": float("nan")}, sep="  ") == \
        "top-1 0.953  top-5 0.990  GAP —"


def test_top1_on_very_unequal_classes_is_read_against_always_naming_the_largest():
    unequal = {"top1": 0.9, "majority_top1": 0.851, "n_classes_in_val": 3}
    assert "would score top-1 0.851 here" in readout.baseline_note(unequal)
    assert any(line.startswith("baseline   0.8510") for line in readout.score_lines(unequal))
    # An even split (or one only a little uneven), one class, or an older metrics.json without the key: no note.
    # The demo: its largest class is 3% of 400 validation photos, 3x an even share of 100 classes, and irrelevant.
    for scores in ({"majority_top1": 0.34, "n_classes_in_val": 3}, {"majority_top1": 1.0, "n_classes_in_val": 1},
                   {"top1": 0.9, "majority_top1": 0.03, "n_classes_in_val": 100},
                   {"top1": 0.9, "n_classes_in_val": 3}):
        assert readout.baseline_note(scores) == ""
        assert not any(line.startswith("baseline") for line in readout.score_lines(scores))


def test_a_share_too_small_to_round_to_one_percent_is_under_1_percent_not_0():
    # A confidence of 0.3% read "(0%)": as if the model gave the class no chance at all.
    assert [readout.percent(v) for v in (0.003, 0.0, 0.005, 0.87, 1.0)] == ["under 1%", "0%", "under 1%", "87%", "100%"]
    assert readout.percent(0.0004, 1) == "under 0.1%" and readout.percent(0.0012, 1) == "0.1%"
    assert readout.percent(float("nan")) == "—" and readout.percent(None, none="n/a") == "n/a"


def test_a_share_just_short_of_all_reads_over_99_percent_not_100():
    # A confidence of 99.6% read "100%": as if the model were certain. The mirror of "under 1%".
    assert [readout.percent(v) for v in (0.996, 0.9901, 0.99, 1.0)] == ["over 99%", "over 99%", "99%", "100%"]
    assert readout.percent(0.9996, 1) == "over 99.9%" and readout.percent(0.999, 1) == "99.9%"
    assert readout.percent(0.99996, 2) == "over 99.99%" and readout.percent(1.3) == "130%"  # damaged: shown as it is


def test_a_similarity_is_a_number_never_rounded_onto_0_or_1_it_is_not():
    # Cosine similarities are no shares: no "%", but 0.0004 printed as 0.000 and 0.9996 as 1.000 said untrue things.
    shown = [readout.similarity(v) for v in (0.873, 0.0004, 0.9996, -0.0004, 0.0, -0.0, 1.0, -1.0, 0.5)]
    assert shown == ["0.873", "0.0004", "0.9996", "-0.0004", "0.000", "0.000", "1.000", "-1.000", "0.500"]
    assert readout.similarity(1e-9) == "under 0.000001" and readout.similarity(1 - 1e-9) == "over 0.999999"
    assert readout.similarity(-1 + 1e-9) == "under -0.999999" and readout.similarity(0.994, 2) == "0.99"
    assert readout.similarity(float("nan")) == "—" and readout.similarity(0.9996, 2) == "0.9996"
    # float32 rounding put the same photo at 1.0002 (seen on the Predict page): a cosine never passes 1
    assert readout.similarity(1.0002, 2) == "1.00" and readout.similarity(-1.0003) == "-1.000"


def test_a_score_and_its_threshold_get_the_decimals_that_tell_them_apart():
    # "Its known score 0.50 is below the run's threshold 0.50": 0.498 and 0.502 at two decimals.
    assert readout.apart(0.498, 0.502, 2) == ("0.498", "0.502")
    assert readout.apart(0.31241, 0.31249) == ("0.3124", "0.3125") and readout.apart(0.2, 0.7) == ("0.200", "0.700")
    assert readout.apart(0.5, 0.5) == ("0.500", "0.500") and readout.apart(None, 0.5) == ("—", "0.500")
    assert readout.apart(0.1234567, 0.1234568) == ("0.123457", "0.123457")  # 6 at most: no run of digits


def test_an_old_run_that_named_two_look_alike_classes_once_shows_them_apart(run):
    # A run of folders `Big Ben` and `Big_Ben` made before they were told apart: the Results page showed "Big Ben"
    # twice in its per-class table, its confusion matrix and its predictions.
    expected = like_an_old_folder_run(run.path)
    found, problems = readout.read_results(run)
    assert problems == [] and found["labels"]["name"].tolist() == expected
    assert found["per_class"].set_index("index")["name"].sort_index().tolist() == expected
    predictions = found["predictions"]
    for side in ("true", "pred"):
        assert predictions[f"{side}_name"].tolist() == [expected[i] for i in predictions[f"{side}_index"]]
    assert readout.read_one(run, "per_class")["name"].is_unique


def test_importing_it_imports_no_confusion_matrix_nor_metrics():
    # The Home page and `inspect` read `percent` and the like; readout's import pulled in glr.evaluation.confusion
    # (scipy.sparse) and glr.evaluation.metrics for them: 0.16 s against 0.04 s now.
    heavy = ("glr.evaluation.confusion", "glr.evaluation.metrics", "scipy")
    code = f"import sys; from glr.evaluation import readout; print([m for m in {heavy!r} if m in sys.modules])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"

import gc
import json
import math
import weakref

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from glr.evaluation import confusion, metrics, ranked
from glr.training.run import Run
from glr.errors import GlrError

LABELS = [
    {"index": 0, "landmark_id": 7, "name": "Eiffel Tower", "images": 8},
    {"index": 1, "landmark_id": 12, "name": "Sacré-Cœur", "images": 6},
    {"index": 2, "landmark_id": 30, "name": "Big Ben", "images": 4},
    {"index": 3, "landmark_id": 41, "name": "Taj Mahal", "images": 3},
]


# --------------------------------------------------------------------------- GAP


def test_gap_worked_example():
    # Ranked by confidence: 0.9 right, 0.8 wrong, 0.7 right, 0.6 right, 0.5 a non-landmark.
    # P(1) = 1/1, P(3) = 2/3, P(4) = 3/4; M = 4 images with a landmark.
    # GAP = (1 + 2/3 + 3/4) / 4 = (12 + 8 + 9) / 48 = 29/48 = 0.6041666...
    pred = [1, 2, 3, 4, 5]
    conf = [0.9, 0.8, 0.7, 0.6, 0.5]
    true = [1, 9, 3, 4, None]
    assert metrics.gap(pred, conf, true) == pytest.approx(29 / 48)
    # The input order does not matter, only the confidences.
    order = [4, 2, 0, 3, 1]
    assert metrics.gap([pred[i] for i in order], [conf[i] for i in order], [true[i] for i in order]) == pytest.approx(29 / 48)


def test_gap_all_correct_is_one():
    assert metrics.gap([3, 1, 2], [0.2, 0.9, 0.5], [3, 1, 2]) == 1.0


def test_gap_non_landmark_ranked_high_lowers_it():
    # Last: it never comes before a correct answer, so GAP stays 1.
    assert metrics.gap([1, 2, 7], [0.9, 0.8, 0.1], [1, 2, None]) == 1.0
    # First: the correct answers drop to P = 1/2 and 2/3; GAP = (1/2 + 2/3) / 2 = 7/12.
    assert metrics.gap([7, 1, 2], [0.99, 0.9, 0.8], [None, 1, 2]) == pytest.approx(7 / 12)
    # NaN and -1 mean "no landmark" as well.
    assert metrics.gap([7, 1, 2], [0.99, 0.9, 0.8], [float("nan"), 1, 2]) == pytest.approx(7 / 12)
    assert metrics.gap([7, 1, 2], [0.99, 0.9, 0.8], [-1, 1, 2]) == pytest.approx(7 / 12)


def test_gap_missing_prediction_counts_in_m_only():
    # The image without a prediction is not ranked but still counts in M = 2: GAP = (1/1) / 2.
    assert metrics.gap([1, None], [0.9, float("nan")], [1, 2]) == pytest.approx(0.5)


def test_gap_ties_keep_input_order_or_sort_by_id():
    # Stable: the wrong answer (first in input) ranks first, so GAP = (1/2) / 2.
    assert metrics.gap([1, 2], [0.5, 0.5], [9, 2]) == pytest.approx(0.25)
    # Kaggle's tie-break by image id puts "a" (the right answer) first: GAP = 1 / 2.
    assert metrics.gap([1, 2], [0.5, 0.5], [9, 2], ids=["b", "a"]) == pytest.approx(0.5)


def test_gap_without_landmarks_is_nan():
    assert math.isnan(metrics.gap([1], [0.5], [None]))


def _reference_gap(predictions, solution):
    """The competition's loop over dicts: id -> {class, score} and id -> list of true labels."""
    positives = sum(1 for v in solution.values() if v)
    ranked = sorted(sorted(predictions.items()), key=lambda kv: kv[1]["score"], reverse=True)
    total, correct, gap = 0, 0, 0.0
    for key, p in ranked:
        total += 1
        if p["class"] in solution[key]:
            correct += 1
            gap += correct / total
    return gap / positives


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(-1, 3), st.integers(-1, 3), st.integers(0, 5)), min_size=1, max_size=30))
def test_gap_matches_reference_loop(rows):
    ids = [f"{i:04x}" for i in range(len(rows))]
    pred = [p if p >= 0 else None for p, _, _ in rows]
    true = [t for _, t, _ in rows]
    conf = [s / 5 for _, _, s in rows]
    predictions = {i: {"class": p, "score": c} for i, p, c in zip(ids, pred, conf) if p is not None}
    solution = {i: ([t] if t >= 0 else []) for i, t in zip(ids, true)}
    if not any(solution.values()):
        assert math.isnan(metrics.gap(pred, conf, true, ids=ids))
    else:
        assert metrics.gap(pred, conf, true, ids=ids) == pytest.approx(_reference_gap(predictions, solution))


# --------------------------------------------------------------------------- top-k, tables


def test_top_k_accuracy():
    probs = np.array([[0.1, 0.6, 0.3], [0.5, 0.2, 0.3], [0.2, 0.3, 0.5], [0.4, 0.4, 0.2]])
    y = [1, 2, 0, 1]
    assert metrics.top_k_accuracy(y, probs, 1) == 0.25  # row 0 only; row 3 ties go to class 0
    assert metrics.top_k_accuracy(y, probs, 2) == 0.75  # rows 0, 1, 3
    assert metrics.top_k_accuracy(y, probs, 5) == 1.0  # k beyond the class count
    assert math.isnan(metrics.top_k_accuracy([], np.zeros((0, 3)), 1))


def test_per_class_report_covers_classes_without_support():
    report = metrics.per_class_report([0, 0, 1, 1], [0, 1, 1, 1], LABELS)
    assert list(report.columns) == ["index", "landmark_id", "name", "precision", "recall", "f1", "support"]
    assert list(report["index"]) == [0, 1, 2, 3]
    assert list(report["support"]) == [2, 2, 0, 0]
    assert report.loc[0, "precision"] == 1.0 and report.loc[0, "recall"] == 0.5
    assert report.loc[1, "precision"] == pytest.approx(2 / 3) and report.loc[1, "recall"] == 1.0
    assert (report.loc[2:, ["precision", "recall", "f1"]] == 0).all().all()
    assert report.loc[1, "name"] == "Sacré-Cœur"


def test_confusion_and_most_confused():
    y_true = [0, 0, 0, 1, 1, 2, 3, 3]
    y_pred = [0, 1, 1, 1, 0, 3, 3, 3]
    cm = metrics.confusion_counts(y_true, y_pred, 4)
    assert cm.shape == (4, 4) and cm.sum() == 8 and cm.nnz == 6  # sparse: only the cells that hold photos
    assert cm[0, 1] == 2 and cm[3, 3] == 2
    pairs = metrics.most_confused_pairs(cm, LABELS, k=2)
    assert list(pairs.columns[:3]) == ["true", "predicted", "count"]
    assert pairs.iloc[0][["true", "predicted", "count"]].tolist() == ["Eiffel Tower", "Sacré-Cœur", 2]
    assert pairs.iloc[1][["true", "predicted", "count"]].tolist() == ["Sacré-Cœur", "Eiffel Tower", 1]  # tie: lower true index
    assert len(metrics.most_confused_pairs(np.eye(4, dtype=int), LABELS)) == 0


def test_labels_must_be_contiguous():
    with pytest.raises(GlrError, match="without gaps"):
        metrics.labels_frame([{"index": 0, "landmark_id": 1, "name": "a"}, {"index": 2, "landmark_id": 2, "name": "b"}])


# --------------------------------------------------------------------------- evaluation files


def _probs(rows):
    """Probabilities that put `best` first with `p`, the rest spread evenly."""
    out = []
    for best, p in rows:
        row = np.full(4, (1 - p) / 3)
        row[best] = p
        out.append(row)
    return np.array(out)


def test_write_evaluation_files_parse_and_agree(tmp_path):
    y_true = [0, 0, 1, 2, 3, 3]
    probs = _probs([(0, 0.9), (1, 0.6), (1, 0.8), (2, 0.7), (3, 0.95), (0, 0.4)])
    ids = ["0123456789abcdef", "00000000000000a1", "1", "2", "3", "4"]
    paths = [f"/data/{i}.jpg" for i in ids]
    result = metrics.write_evaluation(tmp_path, ids, paths, y_true, probs, LABELS)

    saved = json.loads((tmp_path / "metrics.json").read_text())
    assert saved == result
    assert saved["n_images"] == 6 and saved["n_classes"] == 4
    assert saved["top1"] == pytest.approx(4 / 6)
    # Ranked: 0.95 R, 0.9 R, 0.8 R, 0.7 R, 0.6 W, 0.4 W -> GAP = 4/6.
    assert saved["gap"] == pytest.approx(4 / 6)

    preds = Run(tmp_path).predictions()
    assert list(preds.columns) == metrics.PREDICTION_COLUMNS
    assert preds["id"].tolist() == ids  # hex and all-digit ids stay strings
    assert preds["correct"].sum() == 4 and preds["correct"].mean() == pytest.approx(saved["top1"])
    assert preds.loc[1, ["pred_name", "true_name", "pred_landmark_id"]].tolist() == ["Sacré-Cœur", "Eiffel Tower", 12]
    assert preds.loc[0, "top5"].split()[0] == "0" and len(preds.loc[0, "top5"].split()) == 4
    assert metrics.summary_from_predictions(preds)["gap"] == pytest.approx(saved["gap"])
    assert metrics.summary_from_predictions(preds)["top5"] == pytest.approx(saved["top5"])

    # One row per non-empty cell, the last class's own cell always there: the file says how many classes.
    assert (tmp_path / "confusion.csv").read_text().splitlines() == ["true,predicted,count", "0,0,1", "0,1,1", "1,1,1",
                                                                   "2,2,1", "3,0,1", "3,3,1"]
    cm = confusion.read(tmp_path / "confusion.csv").toarray()
    assert cm.shape == (4, 4) and cm.sum() == 6
    assert cm[0, 1] == 1 and cm[3, 0] == 1
    per_class = Run(tmp_path).per_class()
    assert per_class["support"].tolist() == cm.sum(axis=1).tolist()
    assert per_class["recall"].tolist() == pytest.approx((np.diag(cm) / cm.sum(axis=1)).tolist())
    assert saved["macro_recall"] == pytest.approx(per_class["recall"].mean())
    assert not list(tmp_path.glob(".*"))  # no temp files left behind


def test_evaluate_rejects_mismatched_shapes(tmp_path):
    with pytest.raises(GlrError, match="labels.json lists 4"):
        metrics.evaluate([0, 1], np.ones((2, 3)) / 3, LABELS)
    with pytest.raises(GlrError, match="no validation images"):
        metrics.evaluate([], np.zeros((0, 4)), LABELS)
    assert Run(tmp_path).metrics() is None and confusion.read(tmp_path / "confusion.csv") is None


def test_top_k_accuracy_over_blocks_of_rows(monkeypatch):
    rng = np.random.default_rng(0)
    probs = rng.integers(0, 4, (50, 12)).astype(np.float32)  # many ties, some across the 5th place
    monkeypatch.setattr(ranked, "CHUNK_CELLS", 40)  # several blocks of rows
    assert metrics.top_k_accuracy(np.zeros(50, int), probs, 5) == pytest.approx(np.mean(
        (np.argsort(-probs, axis=1, kind="stable")[:, :5] == 0).any(axis=1)))


# --------------------------------------------------------------------------- streamed: blocks of rows, not the matrix

LABELS5 = [{"index": i, "landmark_id": 100 + i, "name": f"Landmark {i}", "images": 3} for i in range(5)]


def _dense_reference(y_true, probs, labels):
    """The evaluation as glr computed it on the whole matrix: argmax, max, sklearn, a stable sort for the top 5."""
    from sklearn.metrics import precision_recall_fscore_support

    y_true = np.asarray(y_true)
    pred, confidence = probs.argmax(axis=1), probs.max(axis=1).astype(np.float64)
    top = np.argsort(-probs.astype(np.float64), axis=1, kind="stable")[:, :metrics.TOP_K]
    p, r, f, support = precision_recall_fscore_support(y_true, pred, labels=np.arange(len(labels)), zero_division=0)
    present = support > 0
    return {"top1": np.mean(pred == y_true), "top5": np.mean((top == y_true[:, None]).any(axis=1)),
            "gap": metrics.gap(list(pred), list(confidence), list(y_true)), "macro_f1": f[present].mean(),
            "macro_precision": p[present].mean(), "macro_recall": r[present].mean(),
            "mean_confidence": confidence.mean(), "n_classes_in_val": int(present.sum()),
            "classes_never_predicted": int(len(labels) - len(np.unique(pred)))}, pred, top, confidence


@pytest.mark.parametrize("photos, classes, rows", [(40, 5, 7), (1, 5, 1), (25, 3, 4), (30, 5, 30)])
def test_write_evaluation_of_blocks_equals_the_dense_matrix(tmp_path, photos, classes, rows):
    """Blocks of rows (the head's batches) write the same files, byte for byte, as the matrix, and the values
    of the evaluation computed on the whole matrix: ties, a class with no photo, one photo, k > classes."""
    rng = np.random.default_rng(photos + classes)
    labels = LABELS5[:classes]
    probs = rng.integers(1, 4, (photos, classes)).astype(np.float32)  # ties on the best and across the top 5
    probs /= probs.sum(axis=1, keepdims=True)
    y_true = rng.integers(0, classes - 1, photos)  # the last class has no photo
    ids = [f"{i:04d}" for i in range(photos)]
    paths = [f"/data/{i}.jpg" for i in ids]
    (tmp_path / "whole").mkdir(), (tmp_path / "streamed").mkdir()
    whole = metrics.write_evaluation(tmp_path / "whole", ids, paths, y_true, probs, labels)
    streamed = metrics.write_evaluation(tmp_path / "streamed", ids, paths, y_true,
                                        (probs[s:s + rows] for s in range(0, photos, rows)), labels)
    assert streamed == whole
    for name in ("metrics.json", "val_predictions.csv", "per_class.csv", "confusion.csv"):
        assert (tmp_path / "streamed" / name).read_bytes() == (tmp_path / "whole" / name).read_bytes(), name
    want, pred, top, confidence = _dense_reference(y_true, probs, labels)
    for key, value in want.items():
        assert streamed[key] == pytest.approx(value, nan_ok=True), key
    preds = Run(tmp_path / "streamed").predictions()
    assert preds["pred_index"].tolist() == pred.tolist()
    assert preds["top5"].tolist() == [" ".join(map(str, row)) for row in top]
    assert preds["confidence"].tolist() == pytest.approx(np.round(confidence, 6).tolist())
    assert Run(tmp_path / "streamed").per_class()["support"].iloc[-1] == 0


def test_write_evaluation_reads_one_block_at_a_time(tmp_path):
    """The head's probabilities as a generator of batches: each is let go before the next is made, so the
    whole matrix never exists. (glr once needed the matrix: a generator was not an evaluation's input.)"""
    made, alive_when_made = [], []

    def batches(rng=np.random.default_rng(3)):
        for _ in range(8):
            gc.collect()
            alive_when_made.append(sum(ref() is not None for ref in made))
            block = rng.random((16, 5), dtype=np.float32)
            made.append(weakref.ref(block))
            yield block
            del block

    y_true = np.arange(128) % 5
    ids = [str(i) for i in range(128)]
    scores = metrics.write_evaluation(tmp_path, ids, ids, y_true, batches(), LABELS5)
    assert scores["n_images"] == 128 and len(made) == 8
    assert max(alive_when_made) <= 1, alive_when_made


def test_evaluate_of_blocks_names_a_mismatch():
    block = np.ones((2, 4)) / 4
    with pytest.raises(GlrError, match=r"probabilities of shape \(4, 4\) do not match 3 labels"):
        metrics.evaluate([0, 1, 2], iter([block, block]), LABELS)
    with pytest.raises(GlrError, match="the model gives 3 classes but labels.json lists 4"):
        metrics.evaluate([0, 1], iter([np.ones((2, 3)) / 3]), LABELS)
    with pytest.raises(GlrError, match="no validation images"):
        metrics.evaluate([], iter([]), LABELS)
    with pytest.raises(GlrError, match="must lie in 0..3"):
        metrics.evaluate([0, 7], iter([block]), LABELS)


def test_evaluate_takes_the_matrix_as_an_array_a_frame_or_lists_of_rows():
    import pandas as pd

    probs = _probs([(0, 0.9), (1, 0.6), (1, 0.8), (2, 0.7)])
    want = metrics.evaluate([0, 0, 1, 2], probs, LABELS)
    assert metrics.evaluate([0, 0, 1, 2], pd.DataFrame(probs), LABELS) == want
    assert metrics.evaluate([0, 0, 1, 2], probs.tolist(), LABELS) == want
    assert metrics.evaluate([0, 0, 1, 2], [probs[:3], probs[3:]], LABELS) == want  # a list of blocks


def test_scores_carry_what_always_naming_the_most_common_class_would_score():
    y_true = np.array([0] * 6 + [1, 2, 3])  # 6 of 9 validation photos are of class 0
    probs = np.eye(4)[[0, 0, 0, 0, 0, 0, 1, 2, 0]]
    scores = metrics.evaluate(y_true, probs, LABELS)
    assert scores["majority_top1"] == pytest.approx(6 / 9)
    assert scores["top1"] == pytest.approx(8 / 9)

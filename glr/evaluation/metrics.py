"""Evaluation of a classifier on the validation split: top-k accuracy, GAP, per-class scores.

Everything here is plain numpy/pandas/scikit-learn, so the app and the report can read and
recompute metrics without importing TensorFlow. `write_evaluation` turns the model's
validation probabilities into a run's evaluation (headline metrics, per-class scores, the
sparse confusion matrix and one prediction per image), which the run folder stores
(glr.training.run.Run.metrics, .per_class and .predictions read it back; glr.evaluation.confusion.read
the confusions).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np
import pandas as pd

from glr.errors import GlrError
from glr.evaluation import confusion
from glr.evaluation.ranked import CHUNK_CELLS, TOP_K, Ranked, as_probabilities, blocks, rank, top_classes  # noqa: F401
from glr.training.run import LABELS_FILE, Run, as_run, labels_frame

if TYPE_CHECKING:
    from scipy import sparse

PREDICTION_COLUMNS = [
    "id", "path", "true_index", "true_landmark_id", "true_name",
    "pred_index", "pred_landmark_id", "pred_name", "confidence", "correct", "top5",
]


# --------------------------------------------------------------------------- scores


def top_k_accuracy(y_true: Sequence[int], probs: np.ndarray, k: int = TOP_K) -> float:
    """Fraction of rows whose true class index is among the `k` highest probabilities.

    `k` larger than the number of classes counts every row as a hit. Equal scores are
    ranked by class index (a stable sort), so the result never depends on chance.
    Returns NaN for zero rows.
    """
    y_true = np.asarray(y_true)
    if len(y_true) == 0:
        return float("nan")
    return float(np.mean(np.any(top_classes(probs, k) == y_true[:, None], axis=1)))


def _missing(value: Any) -> bool:
    """True for None, NaN and -1: "no landmark" as a label, "no answer" as a prediction."""
    if value is None or (np.ndim(value) == 0 and pd.isna(value)):  # also NaN, pd.NA, NaT
        return True
    return isinstance(value, (int, float, np.integer, np.floating)) and value == -1


def gap(pred: Sequence[Any], confidence: Sequence[float], true: Sequence[Any], ids: Sequence[Any] | None = None) -> float:
    """Global Average Precision (micro-AP), as scored in the Kaggle landmark competitions.

    Each image has one predicted label `pred[i]` with score `confidence[i]` and a true label
    `true[i]`. Following the reference implementation (DELF's `metrics.py`):

    * all predictions are ranked by confidence, highest first;
    * GAP = (1/M) * sum_i P(i) * rel(i), where P(i) is the precision of the first i ranked
      predictions, rel(i) is 1 when prediction i is correct, and M is the number of images
      that show a landmark;
    * an image without a landmark (true is None, NaN or -1) still takes its place in the
      ranking: it lowers P(i) for everything ranked below it, and is never relevant;
    * an image without a prediction (pred is None, NaN or -1) is left out of the ranking but
      still counts in M, exactly like an image missing from a Kaggle submission.

    Ties: equal confidences keep their input order (a stable sort). Kaggle breaks them by
    image id; pass `ids` to do the same. Returns NaN when no image has a landmark (M = 0).
    """
    if not (len(pred) == len(confidence) == len(true)) or (ids is not None and len(ids) != len(pred)):
        raise ValueError("gap: pred, confidence, true (and ids) must have the same length")
    positives = sum(not _missing(t) for t in true)
    if positives == 0:
        return float("nan")
    answered = [i for i in range(len(pred)) if not _missing(pred[i])]
    # sorted() is stable, so without ids the ties keep their input order.
    if ids is None:
        ranked = sorted(answered, key=lambda i: -float(confidence[i]))
    else:
        ranked = sorted(answered, key=lambda i: (-float(confidence[i]), ids[i]))
    correct = 0
    total = 0.0
    for rank, i in enumerate(ranked, start=1):
        if not _missing(true[i]) and pred[i] == true[i]:
            correct += 1
            total += correct / rank
    return total / positives


# --------------------------------------------------------------------------- tables


def per_class_report(y_true: Sequence[int], y_pred: Sequence[int], labels_df: pd.DataFrame | Sequence[dict]) -> pd.DataFrame:
    """Precision, recall, F1 and support for every class in `labels_df`, in class-index order.

    Classes with no validation image (support 0) or never predicted get 0, not an error:
    in a long-tailed dataset many classes are like that.
    """
    from sklearn.metrics import precision_recall_fscore_support  # ~1 s to import: only when used

    labels_df = labels_frame(labels_df)
    precision, recall, f1, support = precision_recall_fscore_support(
        np.asarray(y_true), np.asarray(y_pred), labels=labels_df["index"].to_numpy(), zero_division=0
    )
    return pd.DataFrame(
        {
            "index": labels_df["index"].to_numpy(),
            "landmark_id": labels_df["landmark_id"].to_numpy(),
            "name": labels_df["name"].to_numpy(),
            "precision": precision,
            "recall": recall,
            "f1": f1,
            "support": support.astype(int),
        }
    )


def confusion_counts(y_true: Sequence[int], y_pred: Sequence[int], n_classes: int) -> "sparse.csr_array":
    """The n_classes x n_classes count matrix (rows true, columns predicted class index), sparse:
    dense, it was 52 GB at GLDv2-clean's 81,000 classes (glr.evaluation.confusion)."""
    return confusion.counts(y_true, y_pred, n_classes)


def most_confused_pairs(cm: Any, labels_df: pd.DataFrame | Sequence[dict], k: int = 20) -> pd.DataFrame:
    """The `k` largest off-diagonal cells: columns true, predicted (names), count, and both indices.

    `cm` is sparse or dense. Sorted by count, largest first; equal counts by true then predicted
    index, so the table is the same on every run. Only the non-empty cells are sorted.
    """
    names = labels_frame(labels_df)["name"].to_numpy()
    rows, cols, data = confusion.cells(cm, off_diagonal=True)
    order = np.lexsort((cols, rows, -data))[:k]
    pairs = pd.DataFrame({"true_index": rows[order], "predicted_index": cols[order], "count": data[order]})
    pairs.insert(0, "true", names[pairs["true_index"].to_numpy()])
    pairs.insert(1, "predicted", names[pairs["predicted_index"].to_numpy()])
    return pairs[["true", "predicted", "count", "true_index", "predicted_index"]].reset_index(drop=True)


# --------------------------------------------------------------------------- evaluation


def _check_inputs(y_true: np.ndarray, shape: tuple[int, ...], n_classes: int) -> None:
    """Raise GlrError when the probabilities' `shape`, the labels and the class indices do not fit together."""
    if len(shape) != 2 or shape[0] != len(y_true):
        raise GlrError(f"evaluation: probabilities of shape {shape} do not match {len(y_true)} labels")
    if shape[1] != n_classes:
        raise GlrError(f"evaluation: the model gives {shape[1]} classes but {LABELS_FILE} lists {n_classes}")
    if len(y_true) == 0:
        raise GlrError("evaluation: there are no validation images to evaluate")
    if y_true.min() < 0 or y_true.max() >= n_classes:
        raise GlrError(f"evaluation: true class indices must lie in 0..{n_classes - 1}")


def rank_probabilities(y_true: np.ndarray, probs: Any, n_classes: int) -> Ranked:
    """Each photo's best guesses (glr.evaluation.ranked) from `probs`, checked against `y_true` and the class count.

    `probs` is the whole matrix (rows: photos, columns: class indices) or any other iterable of its
    blocks of rows in photo order, such as the head's predictions made batch by batch: those are read
    one block at a time and never joined, so memory stays one block's whatever the photo count.
    """
    if hasattr(probs, "__array__") or (isinstance(probs, (list, tuple)) and probs and np.ndim(probs[0]) < 2):
        probs = as_probabilities(probs)  # a matrix (or nested lists of numbers): checked before it is ranked
        _check_inputs(y_true, probs.shape, n_classes)
        return rank(blocks(probs), n_classes)
    if len(y_true) == 0:
        raise GlrError("evaluation: there are no validation images to evaluate")
    top = rank(probs, n_classes)
    _check_inputs(y_true, (len(top.pred), n_classes), n_classes)
    return top


def scores(y_true: np.ndarray, top: Ranked, labels_df: pd.DataFrame, report: pd.DataFrame | None = None) -> dict[str, Any]:
    """The headline metrics of photos ranked (`rank_probabilities`); `report` is their `per_class_report` when already made."""
    y_pred, confidence = top.pred, top.confidence
    report = per_class_report(y_true, y_pred, labels_df) if report is None else report
    present = report[report["support"] > 0]
    return {
        "n_images": int(len(y_true)),
        "n_classes": int(len(labels_df)),
        "n_classes_in_val": int(len(present)),
        "top1": float(np.mean(y_pred == y_true)),
        "top5": float(np.mean(np.any(top.top == y_true[:, None], axis=1))),
        "gap": gap(list(y_pred), list(confidence), list(y_true)),
        "macro_precision": float(present["precision"].mean()),
        "macro_recall": float(present["recall"].mean()),
        "macro_f1": float(present["f1"].mean()),
        "weighted_f1": float(np.average(present["f1"], weights=present["support"])),
        "mean_confidence": float(confidence.mean()),
        "classes_never_predicted": int((~np.isin(np.arange(len(labels_df)), y_pred)).sum()),
        # What always naming the most common validation class scores: top-1 is read against it on unequal classes.
        "majority_top1": float(np.bincount(np.asarray(y_true, dtype=np.int64)).max() / len(y_true)) if len(y_true) else None,
    }


def evaluate(y_true: Sequence[int], probs: Any, labels_df: pd.DataFrame | Sequence[dict]) -> dict[str, Any]:
    """Headline metrics of validation probabilities: the matrix (rows: images, columns: class indices) or its
    blocks of rows (as for `rank_probabilities`).

    GAP uses each image's best class and its probability as the confidence. Macro averages
    cover the classes that have validation images: a class without any has no recall to
    measure, and counting it as 0 would only reflect the split.
    """
    labels_df = labels_frame(labels_df)
    y_true = np.asarray(y_true, dtype=np.int64)
    return scores(y_true, rank_probabilities(y_true, probs, len(labels_df)), labels_df)


def predictions_frame(ids: Sequence[str], paths: Sequence[str], y_true: Sequence[int], top: Ranked,
                      labels_df: pd.DataFrame | Sequence[dict]) -> pd.DataFrame:
    """One row per validation image (PREDICTION_COLUMNS) of photos ranked (`rank_probabilities`): truth, prediction,
    confidence and the top 5."""
    labels_df = labels_frame(labels_df)
    y_true = np.asarray(y_true, dtype=np.int64)
    pred = top.top[:, 0]
    landmark_ids = labels_df["landmark_id"].to_numpy()
    names = labels_df["name"].to_numpy()
    return pd.DataFrame(
        {
            "id": list(ids),
            "path": [str(p) for p in paths],
            "true_index": y_true,
            "true_landmark_id": landmark_ids[y_true],
            "true_name": names[y_true],
            "pred_index": pred,
            "pred_landmark_id": landmark_ids[pred],
            "pred_name": names[pred],
            "confidence": np.round(top.top_score, 6),
            "correct": pred == y_true,
            "top5": [" ".join(str(c) for c in row) for row in top.top],
        },
        columns=PREDICTION_COLUMNS,
    )


def write_evaluation(
    run: Run | str | os.PathLike,
    ids: Sequence[str],
    paths: Sequence[str],
    y_true: Sequence[int],
    probs: Any,
    labels_df: pd.DataFrame | Sequence[dict],
) -> dict[str, Any]:
    """Evaluate and store the run's evaluation: predictions, per-class scores, confusions, metrics.

    `probs` is the probability matrix or an iterable of its blocks of rows, read one at a time
    (`rank_probabilities`): the head's predictions need never be held whole. The run writes each file
    atomically, the metrics last: once they exist the other three are complete. Returns the metrics dict.
    """
    labels_df = labels_frame(labels_df)
    y_true = np.asarray(y_true, dtype=np.int64)
    if not (len(ids) == len(paths) == len(y_true)):
        raise GlrError("evaluation: ids, paths and labels must have one entry per validation image")
    top = rank_probabilities(y_true, probs, len(labels_df))
    report = per_class_report(y_true, top.pred, labels_df)
    metrics = scores(y_true, top, labels_df, report)
    as_run(run).write_evaluation(
        predictions=predictions_frame(ids, paths, y_true, top, labels_df),
        per_class=report.round({"precision": 6, "recall": 6, "f1": 6}),
        confusion=confusion.to_frame(confusion_counts(y_true, top.pred, len(labels_df))),
        metrics=metrics,
    )
    return metrics


def summary_from_predictions(predictions: pd.DataFrame) -> dict[str, Any]:
    """Top-1, top-5 and GAP recomputed from the validation predictions (when the metrics are missing)."""
    if predictions.empty:
        return {"n_images": 0}
    top5 = [str(row).split() for row in predictions["top5"].fillna("")]
    true = predictions["true_index"].astype(int).tolist()
    return {
        "n_images": int(len(predictions)),
        "top1": float((predictions["pred_index"] == predictions["true_index"]).mean()),
        "top5": float(np.mean([str(t) in guesses for t, guesses in zip(true, top5)])),
        "gap": gap(predictions["pred_index"].tolist(), predictions["confidence"].tolist(), true),
    }

"""Several runs side by side, and the parts of one run's results the Results page lists.

Plain functions of runs and DataFrames, tested without a browser.
"""

from __future__ import annotations

import io
import os
import zipfile
from typing import Sequence

import numpy as np
import pandas as pd

from glr import spreadsheet
from glr.paths import one_line
from glr.training import run_table
from glr.training.run import Run, RunError, as_run


COMPARED = ["run_id", "state", "backbone", "input_size", "epochs_done", "classes", "val_photos", "top1", "top5", "gap",
            "note"]


def comparison(runs: Sequence[Run | str | os.PathLike]) -> tuple[pd.DataFrame, str | None]:
    """`metrics_table` and `comparison_note` of the same runs, each run's labels.json read once for both.

    The page shows both; read separately, a 5,000-class labels.json was parsed twice per run at every rerun.
    """
    runs = list(map(as_run, runs))
    known = {run.id: _class_ids(run) for run in runs}
    return _table(runs, known), _note({k: v for k, v in known.items() if v is not None})


def metrics_table(runs: Sequence[Run | str | os.PathLike]) -> pd.DataFrame:
    """One row per run: run_id, backbone, input size, epochs done, classes, validation photos, top-1, top-5, GAP.

    A score is blank when the run is not evaluated, its metrics.json is damaged, or it has no value
    (glr.evaluation.readout: top-5 with 5 classes or fewer is every photo, so it is left blank too);
    the `note` column says which of these it is.
    """
    return comparison(runs)[0]


def comparison_note(runs: Sequence[Run | str | os.PathLike]) -> str | None:
    """Why the runs' scores do not compare directly (they know different classes), or None when they do."""
    return comparison(runs)[1]


def _table(runs: list[Run], known: dict[str, frozenset | None]) -> pd.DataFrame:
    """The rows of `metrics_table`, with each run's class ids `known` already read."""
    from glr.evaluation import readout

    rows = []
    for run in runs:
        try:
            train = run.config().get("train", {})
        except RunError:
            train = {}
        train = train if isinstance(train, dict) else {}
        try:
            epochs = len(run.history())
        except RunError:
            epochs = None
        try:
            scores, unread = run.metrics() or {}, "not evaluated yet"
        except RunError:
            scores, unread = {}, f"{run.metrics_path.name} is damaged"
        classes = known[run.id]
        compared = ("top1", "top5", "gap")
        why = {h.key: h.why for h in readout.headline(scores, len(classes) if classes else None) if h.why}
        values = {k: None if k in why else readout.number(scores.get(k)) for k in compared}
        # A hand-edited count (-3, 2.5) is blank too, and said: shown as is, it read as a real one.
        counts = {k: reason for k, reason in (
            ("n_images", readout.not_a_count(scores.get("n_images"), "n_images")),
            ("input_size", readout.not_a_count(train.get("input_size"), "input_size", "config.json", "pixels", 1)))
            if reason}
        # A blank cell says nothing by itself: the note gives each blank score's reason ("top5: only 3 classes ...").
        note = "; ".join(([f"{k}: {why[k]}" for k in compared if k in why] if scores else [unread])
                         + [f"{k}: {reason}" for k, reason in counts.items()])
        rows.append({"run_id": run.id, "state": run.status()["state"], "backbone": train.get("backbone"),
                     "input_size": readout.count(_input_size(train), 1), "epochs_done": epochs,
                     "classes": len(classes) if classes is not None else readout.count(scores.get("n_classes"), 1),
                     "val_photos": readout.count(scores.get("n_images")), **values, "note": note})
    return pd.DataFrame(rows, columns=COMPARED)


def _input_size(train: dict):
    """The run's input size as config.json gives it, or, left to the backbone (None), that backbone's own."""
    if train.get("input_size") is not None:
        return train["input_size"]
    from glr.backbones.registry import BACKBONES

    spec = BACKBONES.get(train.get("backbone")) if isinstance(train.get("backbone"), str) else None
    return spec.input_size if spec else None


def _class_ids(run: Run) -> frozenset | None:
    """The landmark ids a run knows (labels.json), or None when it has none readable yet."""
    try:
        labels = run.labels()
    except RunError:
        return None
    return None if labels is None else frozenset(labels["landmark_id"].astype(str))


def _note(known: dict[str, frozenset]) -> str | None:
    """`comparison_note` of the runs' class ids `known` (run id -> ids)."""
    if len(set(known.values())) <= 1:
        return None
    sizes = ", ".join(f"{len(ids):,} in {run_id}" for run_id, ids in known.items())
    return (f"These runs know different classes ({sizes}): a score over fewer or easier classes is not a better "
            "model, so compare runs trained on the same classes.")


def histories(runs: Sequence[Run | str | os.PathLike]) -> tuple[dict[str, pd.DataFrame], list[str]]:
    """{run_id: history} for `glr.evaluation.plots.history_figure`, and a message for each damaged history."""
    found, problems = {}, []
    for run in map(as_run, runs):
        try:
            found[run.id] = run.history()
        except RunError as exc:
            problems.append(str(exc))
        else:
            if note := run_table.divergence(found[run.id]):  # its curves stop or are blank: say why
                problems.append(f"{run.label()}: {note}")
    return found, problems


def misclassified(predictions: pd.DataFrame | None, limit: int = 24, true_name: str | None = None) -> pd.DataFrame:
    """The wrong validation predictions, most confident first (at most `limit`), optionally of one true class.

    Wrong as its `correct` column says; a file without that column (older, or edited by hand) is read by its class
    indices, as the heatmap and the report count: its mistakes were passed over in silence.
    """
    indices = predictions is not None and {"true_index", "pred_index"} <= set(predictions)
    if predictions is None or predictions.empty or not ("correct" in predictions or indices):
        return pd.DataFrame(columns=list(predictions.columns) if predictions is not None else [])
    if "correct" not in predictions:
        correct = predictions["pred_index"] == predictions["true_index"]
    else:
        correct = predictions["correct"]
        if correct.dtype != bool:
            correct = correct.astype(str).str.strip().str.lower().isin(["true", "1", "yes"])
    wrong = predictions[~correct]
    if true_name:
        wrong = wrong[wrong["true_name"] == true_name]
    return wrong.sort_values(["confidence", "id"], ascending=[False, True]).head(limit).reset_index(drop=True)


def selected_cells(points: Sequence[dict] | None) -> list[tuple[int, int]]:
    """The (true, predicted) class indices of the confusion-heatmap cells a Streamlit selection holds.

    Each clickable cell carries customdata [true, predicted] (glr.evaluation.plots.confusion_figure);
    points without it (another trace, a damaged event) are skipped; order kept, duplicates dropped.
    """
    cells: list[tuple[int, int]] = []
    for point in points or []:
        data = point.get("customdata") if isinstance(point, dict) else None
        try:
            cell = (int(data[0]), int(data[1]))
        except (TypeError, ValueError, IndexError, KeyError):
            continue
        if cell not in cells:
            cells.append(cell)
    return cells


def cell_photos(predictions: pd.DataFrame | None, true_index: int, pred_index: int, limit: int = 24) -> pd.DataFrame:
    """The validation photos of one confusion cell: true class `true_index`, predicted `pred_index`, most confident first."""
    needed = {"true_index", "pred_index", "confidence"}
    if predictions is None or predictions.empty or not needed <= set(predictions.columns):
        return pd.DataFrame(columns=list(predictions.columns) if predictions is not None else [])
    hits = predictions[(predictions["true_index"] == int(true_index)) & (predictions["pred_index"] == int(pred_index))]
    sort = ["confidence", "id"] if "id" in hits else ["confidence"]
    return hits.sort_values(sort, ascending=[False] + [True] * (len(sort) - 1)).head(limit).reset_index(drop=True)


def heatmap_note(classes: int, shown: int, mistakes_shown: int, mistakes: int) -> str | None:
    """What a confusion heatmap cut to `shown` of `classes` classes shows, or None when it shows them all.

    `mistakes_shown` of the `mistakes` (off-diagonal counts) fall in its cells (glr.evaluation.plots.shown_mistakes).
    """
    from glr.evaluation import readout

    if shown >= classes:
        return None
    share = mistakes_shown / mistakes if mistakes else None
    share = "" if share is None else f" ({readout.percent(share)})"  # "(under 1%)", not "(0%)", for 17
    which = (f"those in the largest confusions: their cells hold {mistakes_shown:,} of the {mistakes:,} mistakes{share}"
             if mistakes else "those with the most validation photos, as no photo is misclassified")
    return (f"The heatmap shows {shown} of the {classes:,} classes, {which}. A {classes:,} x {classes:,} heatmap cannot "
            "be read; the whole matrix is in the CSV, the most confused pairs under the heatmap.")


def confusion_from(predictions: pd.DataFrame | None, classes: int):
    """The confusion matrix (sparse) recomputed from the validation predictions, for a run whose confusion.csv
    is gone; None when there are none or their class indices do not fit `classes`."""
    from glr.evaluation import confusion

    if predictions is None or predictions.empty or not {"true_index", "pred_index"} <= set(predictions.columns):
        return None
    true, pred = (pd.to_numeric(predictions[c], errors="coerce") for c in ("true_index", "pred_index"))
    if true.isna().any() or pred.isna().any() or min(true.min(), pred.min()) < 0 or max(true.max(), pred.max()) >= classes:
        return None
    return confusion.counts(true.astype(int), pred.astype(int), classes)


def confusion_csv(cm, labels: pd.DataFrame) -> bytes:
    """The whole confusion matrix as CSV, one row per non-empty cell: true and predicted class by name, the count,
    and both class indices (two classes may share a name). A dense N x N table was 52 GB at 81,000 classes."""
    from glr.evaluation import confusion

    names = np.array([one_line(n) for n in labels["name"]], dtype=object)
    rows, cols, data = confusion.cells(cm)
    return spreadsheet.to_csv_bytes(pd.DataFrame({"true": names[rows], "predicted": names[cols], "count": data,
                                                  "true_index": rows, "predicted_index": cols}))


def display_table(table: pd.DataFrame | None) -> pd.DataFrame | None:
    """A result table as the page shows it: without the raw class `index` column (the name says which class)."""
    if table is None:
        return None
    return table.drop(columns=[c for c in ("index", "true_index", "pred_index") if c in table.columns])


def report_files(run: Run | str | os.PathLike) -> list:
    """The files of the run's report folder (none when it has no report), without temp files."""
    report = as_run(run).report_dir
    return sorted(p for p in report.rglob("*") if p.is_file() and not p.name.startswith(".")) if report.is_dir() else []


def report_zip(run: Run | str | os.PathLike) -> bytes | None:
    """The run's report folder as zip bytes (paths inside start with `<run_id>/report/`); None if absent."""
    run = as_run(run)
    report = run.report_dir
    files = report_files(run)
    if not files:
        return None
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for path in files:
            zf.write(path, arcname=f"{run.id}/{report.name}/{path.relative_to(report).as_posix()}")
    return buffer.getvalue()

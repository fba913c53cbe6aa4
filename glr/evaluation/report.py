"""A static report of one run, written into its report folder.

* `curves.html`: the interactive loss and accuracy curves (plotly);
* `curves.png`: the same curves as a static image (matplotlib, no browser needed);
* `collage.png`: validation photos with their true and predicted names, green when right,
  red when wrong;
* `summary.md`: the headline metrics, the worst classes and the most confused pairs.

A run still training has no predictions yet, and an old run may lack its history: each
missing input skips its artefact with a note in `summary.md`, never an exception.
"""

from __future__ import annotations

import io
import math
import os
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd
from PIL import Image, ImageDraw, ImageFont, ImageOps

from glr.atomic import write_bytes, write_text, write_with
from glr.data.images import decode_image
from glr.errors import GlrError, ImageError
from glr.evaluation import metrics, plots, readout
from glr.evaluation.mode_bar import chart_config
from glr.paths import one_line
from glr.training import run_table
from glr.training.run import Run, RunError, as_run, setting

COLLAGE_IMAGES = 16  # a 4 x 4 grid: enough to see a pattern, small enough to read the captions
TILE = 224  # pixels per photo in the collage
CAPTION = 40  # pixels under each photo for the two caption lines
BORDER = 5
RIGHT = (22, 140, 50)
WRONG = (200, 30, 30)
GREY = (150, 150, 150)
WORST_CLASSES = 10
CONFUSED_PAIRS = 10

# The report is opened from disk, often on a machine without internet, so plotly.js must
# not come from a CDN. "directory" style would save space only with several HTML files per
# folder; the report has one, so we inline plotly.js (about 4.8 MB): curves.html is a single
# self-contained file that still works when copied, mailed or downloaded on its own.
PLOTLYJS = True


def _quietly(reader: Callable[[], Any]) -> Any:
    """What `reader` reads from the run, or None when it is missing or unreadable (the report notes it instead)."""
    try:
        return reader()
    except RunError:
        return None


def _damaged_note(path: Path, exc: RunError, lost: str) -> str:
    """"history.csv is damaged (truncated: ...), so no curves.": why the report lacks `lost`."""
    return f"{path.name} is damaged ({str(exc).removeprefix(f'{path} is damaged: ')}), so no {lost}."


def best_epoch(history: pd.DataFrame) -> dict[str, Any] | None:
    """The epoch whose model the trainer kept: the lowest val_loss of the last phase (earliest on ties).

    Falls back to the highest val_accuracy when there is no val_loss.
    """
    if "phase" in history and history["phase"].notna().any():
        history = history[history["phase"] == history["phase"].max()]
    for column, pick in [("val_loss", "idxmin"), ("val_accuracy", "idxmax")]:
        if column in history and history[column].notna().any():
            row = history.loc[getattr(history[column], pick)()]
            phase = row.get("phase")
            return {"epoch": int(row["epoch"]), "phase": 1 if pd.isna(phase) else int(phase), "by": column, "value": float(row[column])}
    return None


# --------------------------------------------------------------------------- curves


def write_curves_html(history: pd.DataFrame, path: Path, include_plotlyjs: bool | str = PLOTLYJS) -> Path:
    """Loss and accuracy figures in one HTML page; plotly.js is embedded once, in the first."""
    figures = [plots.history_figure(history, m).update_layout(template=plots.FILE_TEMPLATE) for m in ("loss", "accuracy")]
    parts = [
        fig.to_html(full_html=False, include_plotlyjs=include_plotlyjs if i == 0 else False, config=chart_config())
        for i, fig in enumerate(figures)
    ]
    html = (
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>training curves</title></head>\n"
        "<body>\n" + "\n".join(parts) + "\n</body></html>\n"
    )
    return write_text(path, html)


def curve_panels(classes: int | None = None) -> list[tuple[str, list[tuple[str, str]]]]:
    """The panels of curves.png: (title, [(history column, label), ...]).

    No top-5 curve with `classes` 5 or fewer: every photo's class is among its 5 best guesses, so
    the line sat at 100% and read as a perfect model.
    """
    accuracy = [("accuracy", "train"), ("val_accuracy", "val")]
    if classes is None or classes > metrics.TOP_K:
        accuracy.append(("val_top5", "val top-5"))
    return [("loss", [("loss", "train"), ("val_loss", "val")]), ("accuracy", accuracy)]


def write_curves_png(history: pd.DataFrame, path: Path, classes: int | None = None) -> Path:
    """Static loss and accuracy curves, side by side, with the fine-tune boundary marked (`classes`: see curve_panels).

    Uses matplotlib's object API (a bare `Figure`, no pyplot), which renders with Agg and
    touches no global backend state, so it is safe inside a Streamlit server.
    """
    from matplotlib.figure import Figure  # imported here: only the report needs it
    from matplotlib.ticker import MaxNLocator

    fig = Figure(figsize=(11, 4), dpi=100, layout="constrained")
    boundary = plots.phase_boundary(history)
    for ax, (title, series) in zip(fig.subplots(1, 2), curve_panels(classes)):
        for column, label in series:
            if column in history and history[column].notna().any():
                ax.plot(history["epoch"], history[column], marker="o", markersize=3, label=label,
                        linestyle="--" if column.startswith("val") else "-")
        if boundary is not None:
            ax.axvline(boundary, color="grey", linestyle=":", label="fine-tune starts")
        ax.set_title(title)
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # epochs are whole numbers
        ax.grid(alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return write_bytes(path, buffer.getvalue())


# --------------------------------------------------------------------------- collage


def pick_collage(predictions: pd.DataFrame, n: int = COLLAGE_IMAGES, seed: int = 0) -> pd.DataFrame:
    """A deterministic sample of up to `n` predictions, half wrong and half right where possible.

    Mistakes are the interesting part, but a collage of only mistakes misleads about a good
    model; when one kind runs short the other fills the grid. Rows come back sorted by id,
    which mixes right and wrong across the grid.
    """
    correct = predictions["pred_index"] == predictions["true_index"]
    right, wrong = predictions[correct], predictions[~correct]
    n_wrong = min(len(wrong), n // 2)
    n_right = min(len(right), n - n_wrong)
    n_wrong = min(len(wrong), n - n_right)
    chosen = pd.concat([wrong.sample(n_wrong, random_state=seed), right.sample(n_right, random_state=seed)])
    return chosen.sort_values("id", key=lambda s: s.astype(str), kind="stable")


def collage_caption(predictions: pd.DataFrame, n: int = COLLAGE_IMAGES) -> str:
    """How the collage's photos were picked, with the true share of mistakes, so the grid is not read as the accuracy."""
    correct = predictions["pred_index"] == predictions["true_index"]
    wrong, total = int((~correct).sum()), len(predictions)
    n_wrong = min(wrong, n // 2)
    n_right = min(total - wrong, n - n_wrong)
    n_wrong = min(wrong, n - n_right)
    return (f"Validation photos picked at random to show mistakes: {n_wrong} of the {n_wrong + n_right} are drawn from "
            f"the mistakes and {n_right} from the right answers, so this grid is not the accuracy: of all {total:,} "
            f"validation photos, {wrong:,} ({readout.percent(wrong / max(total, 1))}) are wrong. Green: right; red: wrong "
            "(true name above, prediction below).")


def _font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    """DejaVu Sans at `size`, else Pillow's built-in font, else its tiny bitmap font.

    Landmark names are often accented (Sacré-Cœur) and Pillow's own font has ASCII only;
    matplotlib, already a dependency for the curves, ships DejaVu Sans, which covers Latin,
    Greek and Cyrillic.
    """
    try:
        import matplotlib

        return ImageFont.truetype(str(Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf"), size)
    except (ImportError, OSError):
        pass
    try:
        return ImageFont.load_default(size=size)
    except (TypeError, ImportError, OSError):
        return ImageFont.load_default()


def _fit(draw: ImageDraw.ImageDraw, text: str, font, width: int) -> str:
    """`text` on one line, shortened with an ellipsis until it fits `width` pixels."""
    # A class name may hold a newline or a tab (a category CSV's quoted cell): Pillow cannot
    # measure multiline text, and the report failed as a whole.
    text = one_line(text)
    if draw.textlength(text, font=font) <= width:
        return text
    while text and draw.textlength(text + "…", font=font) > width:
        text = text[:-1]
    return text + "…"


def _resolve(path: str, run_dir: Path) -> Path:
    """An image path as stored (absolute, or relative to the working folder), else relative to the run."""
    candidate = Path(path)
    if candidate.is_absolute() or candidate.exists():
        return candidate
    return run_dir / candidate


def _tile(row: pd.Series, run_dir: Path, font) -> Image.Image:
    """One photo with a coloured border and two caption lines; a grey square if it will not decode."""
    right = row["pred_index"] == row["true_index"]
    color = RIGHT if right else WRONG
    tile = Image.new("RGB", (TILE, TILE + CAPTION), "white")
    side = TILE - 2 * BORDER
    draw = ImageDraw.Draw(tile)
    draw.rectangle([0, 0, TILE - 1, TILE - 1], fill=color)
    try:
        # A centre crop keeps the photo's proportions; the draft lets JPEG decode at reduced size; its colours are
        # converted to sRGB once cropped and shrunk (a Display P3 photo's tile pixels, not its 12 million).
        fit = lambda rgb: ImageOps.fit(rgb, (side, side))  # noqa: E731
        photo = Image.fromarray(decode_image(_resolve(str(row["path"]), run_dir), draft_size=side, shrink=fit))
        tile.paste(photo, (BORDER, BORDER))
    except (ImageError, OSError, ValueError):
        draw.rectangle([BORDER, BORDER, BORDER + side - 1, BORDER + side - 1], fill=GREY)
        draw.text((TILE // 2, TILE // 2), "image not readable", fill="white", font=font, anchor="mm")
    confidence = float(row.get("confidence", float("nan")))
    # A long name is shortened, never the confidence after it.
    suffix = "" if math.isnan(confidence) else f" ({readout.percent(confidence)})"
    pred = _fit(draw, f"pred: {row['pred_name']}", font, TILE - 8 - draw.textlength(suffix, font=font)) + suffix
    draw.text((4, TILE + 3), _fit(draw, f"true: {row['true_name']}", font, TILE - 8), fill="black", font=font)
    draw.text((4, TILE + 3 + CAPTION // 2), pred, fill=color, font=font)
    return tile


def write_collage(predictions: pd.DataFrame, run_dir: Path, path: Path, n: int = COLLAGE_IMAGES) -> Path:
    """A grid of validation photos with true and predicted names (see `pick_collage`)."""
    chosen = pick_collage(predictions, n)
    cols = math.ceil(math.sqrt(len(chosen)))
    rows = math.ceil(len(chosen) / cols)
    font = _font(12)
    sheet = Image.new("RGB", (cols * TILE, rows * (TILE + CAPTION)), "white")
    for i, (_, row) in enumerate(chosen.iterrows()):
        sheet.paste(_tile(row, run_dir, font), ((i % cols) * TILE, (i // cols) * (TILE + CAPTION)))
    return write_with(path, lambda tmp: sheet.save(tmp, format="PNG"))


# --------------------------------------------------------------------------- summary


def _why(scores: dict, key: str, classes: int | None = None) -> str:
    """Why a stored score has no value (top-5 with 5 classes or fewer; `classes`: readout.headline's), else ""."""
    return next((h.why for h in readout.headline(scores, classes) if h.key == key and key in scores), "")


def _class_tables(run: Run, predictions: pd.DataFrame | None, labels: pd.DataFrame | None) -> tuple[pd.DataFrame | None, pd.DataFrame | None]:
    """The per-class scores (readout.class_table's) and the most confused pairs, recomputed from the predictions if
    the run lacks them."""
    per_class = readout.read_one(run, "per_class")  # a cut file's empty cells: named, not cast to garbage
    per_class = None if per_class is None or per_class.empty else per_class
    confusion = readout.read_one(run, "confusion")
    if predictions is not None and labels is not None:
        true, pred = predictions["true_index"].astype(int), predictions["pred_index"].astype(int)
        if per_class is None:
            per_class = metrics.per_class_report(true, pred, labels)
        if confusion is None:
            confusion = metrics.confusion_counts(true, pred, len(labels))
    pairs = metrics.most_confused_pairs(confusion, labels, CONFUSED_PAIRS) if confusion is not None and labels is not None else None
    return (readout.class_table(per_class, confusion) if per_class is not None else None), pairs


def training_crops(config: dict | None, status: dict | None) -> str:
    """What phase 1 trained on per photo, in words: the map windows it held (and why fewer), or the image views."""
    status = status if isinstance(status, dict) else {}
    if setting(config, "augment") is False:
        return "the centre crop only (no augmentation)"
    if (setting(config, "augment_space") or "features") == "images":
        views = setting(config, "views")
        # glr.training.trainer.training_views: the mirror takes the place of one of the `views` random crops.
        said = f"the centre crop, its mirror and {int(views) - 1} random crops" if views is not None else "image views"
        if status.get("views_kept") is not None:
            return f"{status['views_kept']} of the {status['views_total']} image views ({said}), in float16 (the memory budget)"
        return said
    kept, total = status.get("windows_kept"), status.get("windows_total")
    if kept is not None and total is None:
        return "the whole maps of the centre crop and its mirror only (their windows were over the memory budget)"
    if kept is not None and kept < total:
        return f"{kept} of the {total} map windows of the centre crop and its mirror (the memory budget)"
    return f"{'all ' + str(total) if total else 'the'} map windows of the centre crop and its mirror"


def summary_markdown(run: Run, history: pd.DataFrame | None, predictions: pd.DataFrame | None,
                     written: list[str], notes: list[str]) -> str:
    """The text of summary.md."""
    labels = None
    try:  # read as the page reads them: an old run's "Big Ben" twice told apart, or its pairs read "Big Ben | Big Ben"
        labels = readout.read_one(run, "labels")
    except RunError as exc:
        notes.append(f"{run.labels_path.name} is unreadable ({exc}).")
    config = _quietly(run.config)
    try:
        scores = run.metrics()
    except RunError as exc:
        scores = None
        notes.append(f"{exc}.")
    if not isinstance(scores, dict):
        try:
            scores = metrics.summary_from_predictions(predictions) if predictions is not None else None
        except (ValueError, KeyError, TypeError):
            scores = None
        if scores is not None:
            notes.append(f"{run.metrics_path.name} is {'damaged' if run.metrics_path.exists() else 'missing'}; top-1, "
                         f"top-5 and GAP were recomputed from {run.predictions_path.name}.")
        else:
            scores = {}
            notes.append(f"No {run.metrics_path.name} or {run.predictions_path.name} yet: the run has not been evaluated.")
    n_classes = readout.count(scores.get("n_classes"), 1) or (len(labels) if labels is not None else None)
    best = best_epoch(history) if history is not None else None

    rows = [
        ("top-1 accuracy", readout.percent(scores.get("top1"), 1, "n/a")),
        ("top-5 accuracy", f"n/a ({why})" if (why := _why(scores, "top5", len(labels) if labels is not None else None)) else readout.percent(scores.get("top5"), 1, "n/a")),
        ("GAP", readout.decimal(scores.get("gap"), 4, "n/a")),
        ("macro F1", readout.decimal(scores.get("macro_f1"), 4, "n/a")),
        ("classes", n_classes if n_classes is not None else "n/a"),
        ("validation images", f"n/a ({why})" if (why := readout.not_a_count(scores.get("n_images"), "n_images")) else scores.get("n_images", "n/a")),
        ("best epoch", f"{best['epoch']} (phase {best['phase']}, {best['by']} {best['value']:.4f})" if best else "n/a"),
        ("epochs run", len(history) if history is not None else "n/a"),
        ("backbone", setting(config, "backbone") or "n/a"),
        ("training crops", training_crops(config, _quietly(run.status))),
    ]
    out = [f"# Run {run.id}", "", "| | |", "|---|---|"] + [f"| {k} | {v} |" for k, v in rows]
    out += ["", "GAP is the Global Average Precision of the Kaggle landmark challenges: each image's best guess,",
            "ranked by confidence over the whole validation set (see `glr.evaluation.metrics.gap`).", ""]
    if "curves.png" in written:
        out += ["## Training curves", "", "![training curves](curves.png)", "",
                "Interactive version: [curves.html](curves.html)", ""]
    if "collage.png" in written:
        caption = collage_caption(predictions) if predictions is not None else "Green: right; red: wrong."
        out += ["## Sample predictions", "", caption, "",
                "![sample predictions](collage.png)", ""]

    try:
        per_class, pairs = _class_tables(run, predictions, labels)
    except RunError as exc:  # one of them damaged: named as such
        per_class, pairs = None, None
        notes.append(f"Per-class tables skipped: {exc}.")
    except (GlrError, ValueError, IndexError, KeyError) as exc:
        per_class, pairs = None, None
        files = ", ".join(p.name for p in (run.per_class_path, run.confusion_path))
        notes.append(f"Per-class tables skipped: {files} and {run.labels_path.name} disagree ({exc}).")
    if per_class is not None:
        out += readout.worst_markdown(per_class, WORST_CLASSES)
    if pairs is not None:
        out += ["## Most confused pairs", ""]
        out += [readout.markdown_table(pairs[["true", "predicted", "count"]]), ""] if not pairs.empty else ["No confusions: every validation image was classified correctly.", ""]
        if run.confusion_path.is_file():  # no heatmap here: at thousands of classes one cannot be read
            out += [f"The whole {len(labels):,} x {len(labels):,} confusion matrix is {run.confusion_path.name} in the run folder: "
                    f"one row per non-empty cell (true, predicted, count), by class index as in {run.labels_path.name}.", ""]
    if problems := run.data_problems():
        out += ["## Problems with the data", ""] + [f"- {p}" for p in problems] + [""]
    if notes:
        out += ["## Notes", ""] + [f"- {n}" for n in notes] + [""]
    return "\n".join(out)


def write_report(run: Run | str | os.PathLike, include_plotlyjs: bool | str = PLOTLYJS) -> Path:
    """Write curves.html, curves.png, collage.png and summary.md into the run's report folder.

    Inputs that are missing (no history yet, no predictions) skip their artefact with a note in
    summary.md. Raises GlrError only when `run` is not a run folder at all. Returns the
    report folder.
    """
    run = as_run(run)
    if not run.path.is_dir():
        raise GlrError(f"run folder {run.path} does not exist (list runs with `python -m glr runs`)")
    out = run.report_dir
    written: list[str] = []
    notes: list[str] = []

    try:
        history = run.history()
    except RunError as exc:  # cut or hand-edited: no curves, and the summary says why rather than "yet"
        history = None
        notes.append(_damaged_note(run.history_path, exc, "curves"))
    else:
        history = None if history.empty else history
        if history is None:
            notes.append(f"No training history ({run.history_path.name}) yet, so no curves.")
    if history is not None:
        write_curves_html(history, out / "curves.html", include_plotlyjs)
        labels = _quietly(run.labels)  # unreadable: said in the summary
        write_curves_png(history, out / "curves.png", len(labels) if labels is not None else None)
        written += ["curves.html", "curves.png"]
        if diverged := run_table.divergence(history):  # the curves stop there: the summary says why
            notes.append(f"{diverged[0].upper()}{diverged[1:]}.")

    try:
        predictions = readout.read_one(run, "predictions")
    except RunError as exc:  # a hand-edited or cut file: no collage, and the summary says why
        predictions = None
        notes.append(_damaged_note(run.predictions_path, exc, "collage"))
    else:
        if predictions is None or predictions.empty:
            predictions = None
            notes.append(f"No validation predictions ({run.predictions_path.name}) yet, so no collage.")
    if predictions is not None:
        predictions["id"] = predictions.get("id", pd.Series(range(len(predictions)))).astype(str)
        write_collage(predictions, run.path, out / "collage.png")
        written.append("collage.png")

    write_text(out / "summary.md", summary_markdown(run, history, predictions, written, notes))
    return out

"""A run's evaluation as a reader sees it, on the Results page and in `python -m glr evaluate`.

* `read_results` reads the evaluation files one at a time and checks each, so a damaged one is
  named as damaged (not "missing") and the others still show;
* `headline` gives the headline scores in words: "—" with the reason where a score is undefined
  (top-5 with 5 classes or fewer, GAP with no landmark photo) or unreadable, never "nan";
* `class_table` marks the per-class cells that are undefined, a class with no validation photo
  (no recall) or one the model never predicted (no precision), instead of showing them as 0.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any, Callable, NamedTuple

import numpy as np
import pandas as pd

# confusion (scipy.sparse) and metrics are imported where a matrix is read or used: the Home page and `inspect` want
# `percent` and the like, and importing this module cost them 0.16 s (now 0.04 s, pandas loaded; load 3).
from glr.evaluation.ranked import TOP_K
from glr.paths import one_line
from glr.training.run import Run, RunError
NONE = "—"  # what a reader sees for a score that does not exist
NO_PHOTO = "no validation photo: recall and F1 are undefined"
NEVER_PREDICTED = "never predicted: precision is undefined"
NUMERIC = {"per_class": ("index", "precision", "recall", "f1", "support"),
           "predictions": ("true_index", "pred_index", "confidence")}
TEXT = {"per_class": ("name",), "predictions": ("path", "true_name", "pred_name")}
NAMED = {"per_class": {"name": "landmark_id"}, "predictions": {"true_name": "true_landmark_id", "pred_name": "pred_landmark_id"}}


class Headline(NamedTuple):
    """One headline score: its metrics.json key, label, the text shown, and why it shows "—" (else "")."""

    key: str
    label: str
    text: str
    why: str


def number(value: Any) -> float | None:
    """`value` as a finite float, or None (missing, NaN, infinite, text, a bool)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        return None
    return float(value) if math.isfinite(value) else None


def count(value: Any, least: int = 0) -> int | None:
    """`value` as a count (a whole number of at least `least`), or None: a hand-edited -3 or 2.5 is no count."""
    value = number(value)
    return int(value) if value is not None and value == int(value) and value >= least else None


def not_a_count(raw: Any, key: str, file: str = "metrics.json", what: str = "photos", least: int = 0) -> str:
    """Why a stored count is shown blank ("metrics.json holds -3 for n_images, not a count of photos: ..."), else ""."""
    if raw is None or count(raw, least) is not None:
        return ""
    shown = raw if _number_type(raw) else one_line(raw)[:40]
    return f"{file} holds {shown!r} for {key}, not a count of {what}: the file is damaged"


def percent(value: Any, digits: int = 0, none: str = NONE) -> str:
    """A share as "87%" (with `digits` decimals); "under 1%" ("under 0.1%") when it is above 0 but too small for
    them, never "0%" for a class the model still gives a chance, and "over 99%" ("over 99.9%") when it is short
    of 1 by too little for them, never "100%" for a guess the model is not sure of; `none` when it is missing or
    not a number."""
    value = number(value)
    if value is None:
        return none
    step = 10 ** -(digits + 2)  # the smallest share the decimals show
    if 0 < value < step:
        return f"under {step * 100:g}%"
    if 1 - step < value < 1:
        return f"over {round(100 - step * 100, digits):g}%"
    return f"{value:.{digits}%}"


def decimal(value: Any, digits: int = 3, none: str = NONE) -> str:
    """A score as "0.873", or `none` when it is missing or not a number."""
    value = number(value)
    return none if value is None else f"{value:.{digits}f}"


def similarity(value: Any, digits: int = 3, none: str = NONE) -> str:
    """A cosine similarity as a number ("0.873"), never rounded onto 0 or ±1 when it is not that: more decimals
    (up to 6) until it differs from them ("0.0004", "0.9996"), else "under 0.000001" ("over 0.999999"); never
    past ±1. It is no share of anything, so no "%"; `none` when it is missing or not a number."""
    value = number(value)
    if value is None:
        return none
    # -0.0 as 0.0 ("-0.000" says it is below 0); past ±1 by float32 rounding (1.0002 seen for a photo that is a
    # training photo) as ±1: no cosine exceeds it.
    value = min(1.0, max(-1.0, value + 0.0))
    for places in range(digits, 7):
        text = f"{value:.{places}f}"
        if value in (0.0, 1.0, -1.0) or abs(float(text)) not in (0.0, 1.0):
            return text
    tiny = f"{10.0 ** -6:.6f}"
    if abs(value) < 0.5:
        return f"under {tiny}" if value > 0 else f"over -{tiny}"
    return f"over {1 - 10.0 ** -6:.6f}" if value > 0 else f"under -{1 - 10.0 ** -6:.6f}"


def apart(first: Any, second: Any, digits: int = 3) -> tuple[str, str]:
    """Two scores said side by side ("0.498 < 0.502"), with as many decimals (up to 6) as tell them apart: at two,
    a known score of 0.498 read "0.50 is below the threshold 0.50"; `decimal`'s NONE for a missing one."""
    a, b = number(first), number(second)
    places = digits
    while a is not None and b is not None and a != b and places < 6 and f"{a:.{places}f}" == f"{b:.{places}f}":
        places += 1
    return decimal(a, places), decimal(b, places)


def headline(scores: dict, classes: int | None = None) -> list[Headline]:
    """Top-1, top-5, GAP, macro F1 and the photo count in words; "—" and the reason where one has no value.

    `classes` (the run's labels.json) stands in when `scores` has no n_classes: scores recomputed from
    the predictions, or an older metrics.json, still get their top-5 over 5 classes or fewer blanked.
    """
    n_classes = count(scores.get("n_classes"), 1)  # a damaged count stands aside for labels.json's
    n_classes = count(classes, 1) if n_classes is None else n_classes
    n_images = count(scores.get("n_images"))
    items = [("top1", "Top-1 accuracy", "{:.1%}"), ("top5", "Top-5 accuracy", "{:.1%}"), ("gap", "GAP", "{:.3f}"),
             ("macro_f1", "Macro F1", "{:.3f}"), ("n_images", "Validation images", "{:,.0f}")]
    out = []
    for key, label, form in items:
        raw = scores.get(key)
        value = number(raw)
        if key == "top5" and n_classes is not None and n_classes <= TOP_K:
            why = (f"only {n_classes:.0f} classes: every photo's class is among its {TOP_K} best guesses, "
                   "so top-5 says nothing here")
        elif raw is None:
            why = f"metrics.json has no {key}"
        elif key == "n_images" and _number_type(raw) and raw == raw and n_images is None:  # -3, 2.5: shown as they were
            why = not_a_count(raw, key)
        elif key != "n_images" and _number_type(raw) and raw == raw and not 0 <= raw <= 1:  # NaN has its own reason
            why = f"metrics.json holds {raw!r} for {key}, outside 0..1: the file is damaged"
        elif value is None and not isinstance(raw, (float, np.floating)):
            why = f"metrics.json holds {one_line(raw)[:40]!r} for {key}, not a number"
        elif value is None and n_images == 0:
            why = "no validation photo was scored"
        elif value is None:
            why = "no validation photo shows a known landmark" if key == "gap" else "undefined for these photos"
        else:
            why = ""
        out.append(Headline(key, label, NONE if why else form.format(value), why))
    return out


def very_unequal(share: float | None, classes: float | None) -> bool:
    """Whether always naming the most common class (`share` of the photos) scores enough to flatter an accuracy: well
    above an even share (1.5x), and a fifth of the photos or more (the demo's largest class holds 3% of its
    validation photos, 3x an even share of its 100 classes, and says nothing about its 0.9 top-1)."""
    return share is not None and classes is not None and classes >= 2 and share > max(1.5 / classes, 0.2)


def baseline_note(scores: dict) -> str:
    """A sentence when the validation classes are so unequal that always naming the most common one scores
    well (`very_unequal`): top-1 must then be read against that, not against 0; else ""."""
    share, classes = number(scores.get("majority_top1")), number(scores.get("n_classes_in_val"))
    if not very_unequal(share, classes):
        return ""
    return (f"Always naming the most common class would score top-1 {share:.3f} here: the classes are of very "
            "unequal size, so read top-1 against that, and see macro F1, which counts every class alike")


def _number_type(raw) -> bool:
    """Whether a metrics.json value is a number (a bool is not a score)."""
    return isinstance(raw, (int, float, np.integer, np.floating)) and not isinstance(raw, bool)


def end_line(scores: dict, sep: str = ", ") -> str:
    """"top-1 0.953, top-5 —, GAP 0.912": the scores a finished training ends on, "—" where one has no value
    or says nothing (top-5 over 5 classes or fewer)."""
    shown = {h.key: h for h in headline(scores)}
    return sep.join(f"{label} {NONE if shown[key].why else decimal(scores.get(key))}"
                    for key, label in (("top1", "top-1"), ("top5", "top-5"), ("gap", "GAP")))


# --------------------------------------------------------------------------- the files


def check_table(table: pd.DataFrame | None, kind: str) -> pd.DataFrame | None:
    """`table` with its NUMERIC[kind] columns as numbers; ValueError naming the first column missing or holding text."""
    if table is None:
        return None
    for column in TEXT[kind]:
        if column not in table.columns:
            raise ValueError(f"it has no {column!r} column")
    for column in NUMERIC[kind]:
        if column not in table.columns:
            raise ValueError(f"it has no {column!r} column")
        values = pd.to_numeric(table[column], errors="coerce")
        bad = values.isna() & table[column].notna()
        if bad.any():
            raise ValueError(f"its {column!r} column holds {one_line(table.loc[bad.idxmax(), column])[:40]!r}, "
                             "not a number")
        table[column] = values
    return table


def _cut_short(path) -> bool:
    """True when a CSV of the run does not end with a newline: every writer ends it with one (cut by a crash or a copy)."""
    try:
        with open(path, "rb") as f:
            if (size := f.seek(0, 2)) == 0:
                return False  # empty: pandas names it ("No columns to parse")
            f.seek(0)
            utf16_le = f.read(2) == b"\xff\xfe"  # saved again as Excel's "Unicode Text": its newline is b"\n\x00"
            f.seek(-min(size, 2), 2)
            tail = f.read()
            return not (tail.endswith(b"\n") or utf16_le and tail == b"\n\x00")
    except OSError:
        return False  # missing or unreadable: the reader says which


def read_one(run: Run, name: str, read_confusion: Callable[[Path], Any] | None = None) -> Any:
    """One of the run's evaluation files ("labels", "per_class", "confusion", "predictions"), read and checked.

    None when it is missing; RunError naming the file when it is damaged: cut short, unparsable,
    a column missing or holding text where numbers belong. `read_confusion` reads confusion.csv
    (default glr.evaluation.confusion.read, or a cached one).
    """
    if read_confusion is None:
        from glr.evaluation.confusion import read as read_confusion
    path, read, check = {
        "labels": (run.labels_path, run.labels, None),
        "per_class": (run.per_class_path, run.per_class, lambda t: check_table(t, "per_class")),
        "confusion": (run.confusion_path, lambda: read_confusion(run.confusion_path), None),  # sparse, or dense (older)
        "predictions": (run.predictions_path, run.predictions, lambda t: check_table(t, "predictions")),
    }[name]
    try:
        if path.suffix == ".csv" and _cut_short(path):
            raise ValueError("truncated: it does not end with a newline")
        table = read()
        return _told_apart(run, name, check(table) if check is not None else table)
    except RunError:
        raise
    except (ValueError, TypeError, KeyError, IndexError) as exc:
        raise RunError(f"{path} is damaged: {exc}") from None


def _told_apart(run: Run, name: str, table: Any) -> Any:
    """`table` with the class names a run made before look-alike classes were told apart recorded twice ("Big Ben"
    for `Big Ben` and `Big_Ben`) told apart (glr.data.class_names.recorded_names_told_apart)."""
    if table is None or name not in ("labels", *NAMED):
        return table
    from glr.data.class_names import names_told_apart, run_labels_told_apart

    labels = run_labels_told_apart(run, table if name == "labels" else None)
    return table if labels is None else labels if name == "labels" else names_told_apart(table, labels, NAMED[name])


def read_results(run: Run, read_confusion: Callable[[Path], Any] | None = None) -> tuple[dict[str, Any], list[str]]:
    """The run's labels, per-class table, confusion matrix and predictions, each read and checked on its own.

    Returns ({name: table or None}, problems): a file that is missing is None with no problem (the
    page says why by the run's state); one that is damaged is None with a message naming it.
    `read_confusion`: as for `read_one`.
    """
    from glr.evaluation import confusion as conf

    found: dict[str, Any] = {}
    problems: list[str] = []
    for name in ("labels", "per_class", "confusion", "predictions"):
        try:
            found[name] = read_one(run, name, read_confusion)
        except RunError as exc:
            found[name] = None
            problems.append(str(exc))
    labels, confusion = found["labels"], found["confusion"]
    if labels is not None and confusion is not None and conf.size(confusion) != len(labels):
        found["confusion"] = None
        problems.append(f"{run.confusion_path} does not match {run.labels_path.name}: {conf.size(confusion)} classes "
                        f"against {len(labels)}")
    return found, problems


# --------------------------------------------------------------------------- per class


def class_table(per_class: pd.DataFrame, confusion: Any = None) -> pd.DataFrame:
    """The per-class scores with their undefined cells empty and a `note` saying why.

    A class with no validation photo has no recall (nor F1); a class the model never predicted has
    no precision: scikit-learn stores both as 0 (zero_division), which reads as "always wrong".
    "Never predicted" needs the confusion matrix's column sums (sparse or dense); without it precision stays as stored.
    """
    from glr.evaluation import confusion as conf

    table = per_class.copy()
    notes = [[] for _ in range(len(table))]
    if "support" in table:
        none = (pd.to_numeric(table["support"], errors="coerce").fillna(0) == 0).to_numpy()
        table.loc[none, [c for c in ("recall", "f1") if c in table]] = np.nan
        for i in np.flatnonzero(none):
            notes[i].append(NO_PHOTO)
    if confusion is not None and "index" in table and conf.size(confusion) == len(table):
        predicted = conf.predicted_totals(confusion)
        index = pd.to_numeric(table["index"], errors="coerce").fillna(-1).astype(int).to_numpy()
        never = np.array([0 <= i < len(predicted) and predicted[i] == 0 for i in index], dtype=bool)
        if "precision" in table:
            table.loc[never, "precision"] = np.nan
        for i in np.flatnonzero(never):
            notes[i].append(NEVER_PREDICTED)
    table["note"] = pd.Series(["; ".join(n) for n in notes], index=table.index, dtype=object)
    return table


# --------------------------------------------------------------------------- the terminal

NAME_CHARS = 40  # a class name's width in the terminal's table: a 200-character name padded every row


def score_lines(scores: dict, classes: int | None = None) -> list[str]:
    """`python -m glr evaluate`'s headline: one "key value" line per score, "—" and the reason where it has none
    (`classes`: as for `headline`)."""
    lines = []
    shown = {h.key: h for h in headline(scores, classes)}
    for key in ("top1", "top5", "gap", "macro_f1", "n_images", "n_classes"):
        value = number(scores.get(key))
        if key in shown and shown[key].why:
            lines.append(f"{key:<10} {NONE}  ({shown[key].why})")
        elif value is None:
            lines.append(f"{key:<10} {NONE}  (metrics.json has no usable {key})")
        else:
            lines.append(f"{key:<10} {value:.0f}" if key.startswith("n_") else f"{key:<10} {value:.4f}")
    if note := baseline_note(scores):
        lines.append(f"{'baseline':<10} {scores['majority_top1']:.4f}  ({note})")
    return lines


def weakest_lines(per_class: pd.DataFrame, show: int, confusion: Any = None) -> list[str]:
    """The `show` weakest classes by recall as a terminal table; classes with no validation photo are left
    out of the ranking (their recall is undefined, not 0) and named under it."""
    table = class_table(per_class, confusion)
    scored = table[~table["note"].str.startswith(NO_PHOTO)]
    lines = []
    if scored.empty:
        lines.append("no class has a validation photo to rank" if len(table) else "per_class.csv lists no class")
    else:
        weakest = scored.sort_values(["recall", "support"], ascending=[True, False], kind="stable").head(show)
        never = weakest["note"].str.contains(NEVER_PREDICTED, regex=False).any()
        weakest = weakest.drop(columns=["note"]).assign(name=[_cut(n) for n in weakest["name"]])
        lines.append("weakest classes (recall):")
        lines.append(weakest.to_string(index=False, na_rep=NONE, float_format=lambda v: f"{v:.3f}"))
        if never:
            lines.append(f"({NONE}: the precision of a class never predicted is undefined)")
    unseen = table.loc[table["note"].str.startswith(NO_PHOTO), "name"]
    if len(unseen):
        names = ", ".join(_cut(n) for n in unseen.head(5)) + (", ..." if len(unseen) > 5 else "")
        lines.append(f"{len(unseen)} class{'es' if len(unseen) != 1 else ''} with no validation photo, "
                     f"not ranked: {names}")
    return lines


def _cut(name: Any) -> str:
    """A class name on one line, at most NAME_CHARS characters."""
    name = one_line(name)
    return name if len(name) <= NAME_CHARS else name[:NAME_CHARS - 1] + "…"


# --------------------------------------------------------------------------- the report (Markdown)

MARKDOWN_SPECIALS = re.compile(r"([\\`*_\[\]<>$~|])")  # as the pages' app_common.md escapes them


def markdown_text(value: Any) -> str:
    """A name as written in Markdown, on one line: "St_Mark *1*" showed in italics, "<b>" in bold, a pipe split a row."""
    return MARKDOWN_SPECIALS.sub(r"\\\1", one_line(value))


def markdown_table(df: pd.DataFrame) -> str:
    """A DataFrame as a Markdown table (no tabulate dependency): scores to 3 decimals, "—" where none, names as written."""
    def cell(value: Any) -> str:
        if isinstance(value, (float, np.floating)):
            return NONE if math.isnan(value) else f"{value:.3f}"
        return markdown_text(value)

    lines = ["| " + " | ".join(df.columns) + " |", "|" + "---|" * len(df.columns)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in df.itertuples(index=False)]
    return "\n".join(lines)


def worst_markdown(table: pd.DataFrame, show: int) -> list[str]:
    """The report's `show` worst classes by F1, from a `class_table`: a Markdown section whose "—" says why, and
    the classes with no validation photo named under it (their F1 is undefined, not 0: never ranked)."""
    unseen = table["note"].str.startswith(NO_PHOTO)
    worst = table[~unseen].sort_values(["f1", "support", "index"], ascending=[True, False, True], kind="stable").head(show)
    lines = [f"## The {len(worst)} worst classes (by F1)", "",
             markdown_table(worst[["index", "landmark_id", "name", "precision", "recall", "f1", "support"]]), ""]
    if worst["note"].str.contains(NEVER_PREDICTED, regex=False).any():
        lines += [f"{NONE}: the precision of a class never predicted is undefined.", ""]
    if unseen.any():
        names = ", ".join(markdown_text(_cut(n)) for n in table.loc[unseen, "name"].head(5))
        lines += [f"{int(unseen.sum())} class{'es' if unseen.sum() != 1 else ''} with no validation photo, not ranked: "
                  f"{names}{', ...' if unseen.sum() > 5 else ''}", ""]
    return lines

"""Why a train.csv landmark_id was refused, said apart for each cause: not a number, a fraction, a thousands
separator, too large, or a spreadsheet's E notation.

glr keeps landmark ids as 64-bit integers (the class index, labels.json, split.csv). An id past
int64's largest (9223372036854775807, 19 digits) cannot be kept as the number it is, and a float would
merge ids that differ past its 17 significant digits, so such rows are skipped and said as too large,
not as "not an integer".
"""

from __future__ import annotations

import numbers
import re

import pandas as pd

from glr.data.clean_csv import ATTR
from glr.data.csv_lines import ATTR as ROW_LINES, examples_on_lines
from glr.data.id_cells import hidden_note, take_out_hidden, unwrap_excel
from glr.data.train_csv import INVISIBLE, parse_labels
from glr.paths import printable
from glr.words import examples, have, plural

INT64_MAX = 2**63 - 1
# What files write for "no label" (GLDv1's train.csv has `None`; pandas writes `nan`): no landmark's name.
NO_LABEL = {"", "none", "nan", "null", "na", "n/a", "-", "?"}


def read_labels(texts: pd.Series) -> tuple[pd.Series, str | None]:
    """landmark_id cells -> Int64 labels, <NA> where refused, as `parse_labels` reads them and also Excel's `="7"`
    (read as what it holds) and a number with a soft hyphen or a zero-width space inside (pasted from a web page:
    read without it); and the note saying which were read so (None if none)."""
    labels = parse_labels(texts)
    if not (bad := labels.isna()).any():  # GLDv2's 4.1M: nothing more looked at
        return labels, None
    cells = unwrap_excel(texts[bad])[0]  # ="7": Excel's text cell (glr.data.id_cells)
    labels[bad] = parse_labels(cells)
    # Invisible inside (`1\u00ad2`), not only at the ends that parse_labels strips: no number is written so.
    cells, hidden = take_out_hidden(cells[labels[bad].isna()])
    if not hidden.any() or (read := parse_labels(cells[hidden]).dropna()).empty:
        return labels, None
    labels[read.index] = read
    return labels, hidden_note(texts[read.index], "a landmark_id")


def refused_label_problems(texts: pd.Series) -> list[str]:
    """The problems to list for `texts`, landmark_id values `parse_labels` refused (one per row skipped)."""
    stripped = texts.fillna("").str.strip().str.strip(INVISIBLE).str.strip()
    large = stripped.str.fullmatch(r"[+-]?0*[0-9]{19,}(?:[.,]0+)?").fillna(False).astype(bool)
    # Excel shows a long number as `1.23457E+16` and saves it so (pandas writes a float column's `1e+16`, Excel's
    # Scientific format `1.23E+05`): its last digits are gone for good, or may be.
    excel = stripped.str.fullmatch(r"[+-]?[0-9]+(?:[.,][0-9]+)?[eE][+-]?[0-9]+").fillna(False).astype(bool)
    # A decimal that is no whole number (`12,5`, `12.5`); `1,000` / `1.000`: a thousands group, or three decimals;
    # `1 000` with a (no-break) space or `1'000`: the thousands groups of French, Swiss and other locales' Excel.
    fraction = stripped.str.fullmatch(r"[+-]?[0-9]+[.,][0-9]+").fillna(False).astype(bool) & ~large
    grouped = stripped.str.fullmatch("[+-]?[0-9]{1,3}(?:[.,\u00a0\u202f '][0-9]{3})+").fillna(False).astype(bool) & ~large
    fraction &= ~grouped
    other = ~large & ~excel & ~fraction & ~grouped
    problems = []
    lines = texts.attrs.get(ATTR)  # train_clean.csv: a row is a photo, one of the many its file's line lists
    if other.any():
        n = int(other.sum())
        # Words in every one (`Eiffel Tower`), of two or more kinds: the landmarks' names, put where their numbers go.
        words = [t for t in stripped[other].unique() if t.lower() not in NO_LABEL]  # GLDv1's `None` is no name
        named = len(words) > 1 and all(any(c.isalpha() for c in t) for t in words)
        shown = (", ".join(f"{texts[i]!r} on {lines.where(i)}" for i in _one_a_line(texts.index[other], lines))
                 if lines is not None else examples_on_lines(empty := texts[other].fillna('').replace('', '<empty>'))
                 or examples(empty))
        problems.append(f"{_rows(n, texts.index[other], lines)} a landmark_id that is not an integer "
                        f"(e.g. {shown}); skipped" + (
                            ": they look like the landmarks' names, and landmark_id takes a number per landmark: "
                            "number them (1, 2, ...) and name them in train_label_to_category.csv (landmark_id,category), "
                            "or put each landmark's photos in a folder of its name" if named else ""))
    # Named with the file's line (or the row, counted from 1 below the header): a few such cells are a typo to fix.
    rows = texts.attrs.get(ROW_LINES)  # train.csv: the file's line of each data row, found when asked
    at = [f"{texts[i]!r} on {lines.where(i)}" if lines is not None else
          f"{texts[i]!r} on {rows.where(i)}" if rows is not None and isinstance(i, numbers.Integral) else
          f"{texts[i]!r} in data row {i + 1}" if isinstance(i, numbers.Integral) else repr(texts[i])
          for i in _one_a_line(texts.index[fraction], lines)]
    if fraction.any():
        n = int(fraction.sum())
        more = (lines.count(texts.index[fraction]) if lines is not None else n) > len(at)
        problems.append(f"{_rows(n, texts.index[fraction], lines)} a landmark_id with a fraction ({', '.join(at)}"
                        f"{', ...' if more else ''}); skipped: a landmark_id is a whole number (12,0 and 12.0 are "
                        "read as 12)")
    if grouped.any():
        n = int(grouped.sum())
        problems.append(f"{_rows(n, texts.index[grouped], lines)} a landmark_id written with a thousands separator "
                        f"or three decimals (e.g. {_shown(texts[grouped], lines)}), which glr does not guess at; skipped: "
                        "save the landmark_id column as plain whole numbers (Number format, 0 decimals, no separator)")
    if excel.any():
        n = int(excel.sum())
        problems.append(f"{_rows(n, texts.index[excel], lines)} a landmark_id in E notation, as a spreadsheet writes a "
                        f"long number (e.g. {_shown(texts[excel], lines)}), which keeps only its first digits; skipped: format the "
                        "landmark_id column as Text and save train.csv again from the original file")
    if large.any():
        n = int(large.sum())
        problems.append(f"{_rows(n, texts.index[large], lines)} a landmark_id too large for glr "
                        f"(e.g. {_shown(texts[large], lines)}): "
                        f"glr keeps landmark ids as 64-bit integers, at most {INT64_MAX} (19 digits); skipped: number "
                        "those landmarks below that in train.csv (and in train_label_to_category.csv)")
    return problems


def negative_label_problem(labels: pd.Series) -> str:
    """The problem to list for `labels`, the negative landmark ids of a train.csv's rows (skipped), with their lines.

    Landmark ids count from 0; -1 is what many tools write for "no landmark" (a distractor, an unlabelled photo).
    Kept, those photos would be taught as one landmark made of everything else."""
    n = len(labels)
    return (f"{plural(n, 'row')} {have(n)} a negative landmark_id (e.g. {examples_on_lines(labels) or examples(labels)}; "
            "-1 often marks a photo of no landmark); skipped")


def _shown(texts: pd.Series, lines) -> str:
    """A few of `texts` (landmark_id cells), each with the file's line it is on when that can be known."""
    if lines is not None:  # train_clean.csv: a line lists many photos
        return ", ".join(f"{texts[i]!r} on {lines.where(i)}" for i in _one_a_line(texts.index, lines))
    return examples_on_lines(texts) or examples(texts)


def _one_a_line(index, lines, most: int = 3) -> list:
    """The first `most` of `index` (rows of a frame), one for each line of the file they came from."""
    if lines is None:
        return list(index[:most])
    seen: dict = {}
    for i in index:  # stops early: `index` may be a million photos of one line
        seen.setdefault(lines.line(i), i)
        if len(seen) == most:
            break
    return list(seen.values())


def _rows(n: int, index, lines) -> str:
    """`3 rows have`; for train_clean.csv's photos `5 photos (2 lines of train_clean.csv) have`."""
    if lines is None:
        return f"{plural(n, 'row')} {have(n)}"
    count = lines.count(index)
    return f"{plural(n, 'photo')} ({plural(count, 'line')} of {lines.csv.name}) {have(n)}"


def labels_from_names(texts: pd.Series) -> tuple[pd.Series, dict[int, str]] | None:
    """When every landmark_id in `texts` is a name (letters in each; `Eiffel Tower`, of two or more kinds, some
    repeated), the
    landmark_id of each row, the names numbered from 0 in alphabetical order, and id -> name; None otherwise.

    A train.csv of one's own often holds the landmark's name where GLDv2 has its number; numbered so, nothing is
    lost, and the names are the classes' names as a category file would give them."""
    stripped = texts.fillna("").str.strip().str.strip(INVISIBLE).str.strip()
    given = stripped[stripped.str.lower().map(lambda t: t not in NO_LABEL).astype(bool)]
    names = sorted(given.unique())
    # Each row's own text (a caption, a file's description) names no class: it stays refused.
    if len(names) < 2 or len(names) == len(given) or not all(any(c.isalpha() for c in n) for n in names):
        return None
    number = {n: i for i, n in enumerate(names)}
    return stripped.map(number).astype("Int64"), {i: n for n, i in number.items()}


def category_ids(cats: pd.DataFrame, path, delimiter: str, lines_known: bool) -> tuple[pd.Series, list[str]]:
    """The landmark_id of each row of a category file's `cats` (columns landmark_id, category; Int64, <NA> where
    refused) read as train.csv's are (`read_labels`), and the problems naming the rows whose name is not used
    (by their line in `path` when `lines_known`: no row was skipped before Arrow counted them)."""
    from glr.data.csv_header import declared_separator
    from glr.data.csv_lines import RowLines

    ids, hidden = read_labels(cats["landmark_id"])
    lines = RowLines(path, delimiter, 1 + bool(declared_separator(path))) if lines_known else None
    problems = [f"{path.name}: {hidden}"] if hidden else []
    # `7,"Eiffel Tower` with its quote never closed: the rows below it read as that one name (`...\n12,Big Ben`).
    swallowed = pd.Series(False, index=cats.index)
    if cats["category"].str.contains("\n", regex=False).fillna(False).any():
        swallowed = cats["category"].str.contains(rf"\n\s*[0-9]+\s*{re.escape(delimiter)}", regex=True)
        swallowed = swallowed.fillna(False).astype(bool)
    if swallowed.any():
        row = swallowed.index[swallowed][0]
        name = cats.loc[row, "category"]
        problems.append(f"{path.name}: a name{f' on {lines.where(row)}' if lines is not None else ''} opens a quote "
                        f"(\") never closed, which took the {plural(name.rstrip(chr(13) + chr(10)).count(chr(10)), 'line')} after it into that name "
                        f"({printable(name[:50])!r}...); close it where the name ends, or delete it: those landmarks "
                        "are named by their id")
        ids[swallowed] = pd.NA
    if not ids.isna().any():  # GLDv2's 203k names: no text looked at
        return ids, problems
    # A row with a name but no usable landmark_id names nothing: said, where it was lost in silence.
    lost = ids.isna() & cats["category"].fillna("").str.strip().ne("") & ~swallowed
    if not lost.any():
        return ids, problems
    texts = cats.loc[lost, "landmark_id"].fillna("").replace("", "<empty>")
    if lines is not None:
        texts.attrs[ROW_LINES] = lines
    n = int(lost.sum())
    return ids, problems + [f"{path.name}: {plural(n, 'row')} {have(n)} a landmark_id that is not an integer (e.g. "
                            f"{examples_on_lines(texts) or examples(texts)}); {'its name is' if n == 1 else 'their names are'}"
                            " not used"]

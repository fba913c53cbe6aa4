"""CSV cells a spreadsheet would run: a text cell starting with `=`, `+`, `-`, `@`, a tab or a carriage return.

Excel, LibreOffice and Google Sheets read such a cell as a formula (OWASP's "CSV injection"), so a class
named `=HYPERLINK("http://x", "Big Ben")` or `-cmd|' /C calc'!A0`, or a photo named so, would run when a
user opens a CSV glr wrote. Such a cell is written with a leading `'`, which the spreadsheets show as text.
glr reads its own CSVs back through `read_csv` (`unescape_frame`), so what was written comes back exactly: the
`'` is added only before a cell whose text after its own leading apostrophes starts with one of those
characters, and removed only there (`'s-Hertogenbosch`, a real town, is written as it is).

The rule every CSV glr writes follows: a CSV is either for people or a machine file.
- For people (written by `write_csv` / `to_csv_bytes` here, formula-like cells escaped): what a user opens in
  a spreadsheet to look at: a run's `per_class.csv`, `val_predictions.csv`, `split.csv`, `distractors.csv`,
  `fetch_failures.csv` and the Results page's confusion-matrix download.
- Machine files (written by `glr.atomic.write_csv`, every cell exactly as it is): what a program reads by its
  values: the Kaggle submission (`predict FOLDER`, the Predict page's download: Kaggle scores its ids as
  written, so `-beach` must not become `'-beach`), the index's `items.csv` and the export's `index_items.csv`
  (read by the exported predict.py with Python's csv), and the numbers-only `history.csv`, `confusion.csv`,
  `val_retrieval.csv`.
A CSV for people starts with a UTF-8 byte-order mark: Excel on Windows reads a CSV without one in the ANSI code
page, so "Sagrada Família" showed as "Sagrada FamÃ­lia" (Excel takes the mark as "UTF-8"; LibreOffice and Google
Sheets read the file either way). pandas drops the mark, so glr's readers never see it in the first column's name;
a script reads such a file with `encoding="utf-8-sig"`. Machine files carry no mark: a reader that is not told
(Python's csv with "utf-8", the exported predict.py, a scorer) would make it part of the first column's name.
Excel asks to save a CSV it opened: one saved again with ';' separators and decimal commas (Excel in most of
Europe) or with tabs reads as glr wrote it (`read_csv`), and one saved in an ANSI code page its words show (as train.csv's).
Both kinds are written by `glr.atomic.csv_text` (a cell holding a carriage return or a newline is quoted, so
it never splits a row) and read back by `glr.atomic.read_csv` (a text cell "None" or "NA" stays that text).
A new CSV picks its kind here: tests/test_spreadsheet.py checks that nothing else in glr calls `to_csv`.
Names and ids are kept whatever they hold (a return, a newline, quotes, commas, a NUL, a BOM, 40,000
characters): CSV quoting holds every character, so no name is changed at the data layer, where it also
identifies the class in labels.json and on resume. LibreOffice 7.4 opens such a file one cell per name (it
hides a NUL). A machine file opened in a spreadsheet may run a photo named `=x.jpg`: its ids must stay exact.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from glr.atomic import csv_text, write_text
from glr.atomic import read_csv as _read_csv

TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
QUOTE = "'"
BOM = "\ufeff"  # the UTF-8 byte-order mark that makes Excel read a CSV for people as UTF-8


def escape_cell(value):
    """`value` as written in a CSV for people: a text a spreadsheet would read as a formula gets a leading `'`."""
    if isinstance(value, str) and value.lstrip(QUOTE).startswith(TRIGGERS):
        return QUOTE + value
    return value


def unescape_cell(value):
    """The text `escape_cell` was given: its added `'` removed; any other value as it is."""
    if isinstance(value, str) and value.startswith(QUOTE) and value.lstrip(QUOTE).startswith(TRIGGERS):
        return value[1:]
    return value


def _text_columns(df) -> list:
    """The columns that may hold text (object or string dtype): numbers are never escaped."""
    import pandas as pd

    return [c for c in df.columns if pd.api.types.is_object_dtype(df[c]) or pd.api.types.is_string_dtype(df[c])]


def _apply(df, cell, first):
    """`df` with `cell` applied to the text cells whose text starts with `first` (found vectorised: 100,000 rows of
    validation predictions are read at every rerun of the Results page), its column names too."""
    for column in _text_columns(df):
        values = df[column]
        try:
            candidates = values.str.startswith(first, na=False).to_numpy(dtype=bool)
        except AttributeError:  # an object column without a single text cell
            continue
        if candidates.any():
            values = values.astype(object)  # a "str" column cannot take back a cell of another kind
            values[candidates] = values[candidates].map(cell)
            df[column] = values
    return df.rename(columns=cell)


def escape_frame(df):
    """A copy of `df` whose text cells are escaped (`escape_cell`); its column names too."""
    return _apply(df.copy(), escape_cell, (QUOTE, *TRIGGERS))


def unescape_frame(df):
    """A table read from a CSV glr wrote with `write_csv`, with the cells and column names as they were given."""
    return None if df is None else _apply(df, unescape_cell, QUOTE)


def people_text(df) -> str:
    """`df` as the text of a CSV for people: a byte-order mark, then its CSV with formula-like cells escaped."""
    return BOM + csv_text(escape_frame(df))


def to_csv_bytes(df) -> bytes:
    """`df` as the UTF-8 bytes of a CSV for people (a download button's): `people_text`, a BOM first."""
    return people_text(df).encode("utf-8")


def write_csv(path: str | os.PathLike, df) -> Path:
    """Atomically write `df` as a CSV for people (`people_text`: a BOM first, its formula-like cells escaped)."""
    return write_text(path, people_text(df))


def saved_by_a_spreadsheet(path: str | os.PathLike) -> dict:
    """The pandas options that read `path` when a spreadsheet saved it again in its locale's own CSV: cells
    separated by ';' with ',' as the decimal mark (Excel in most of Europe), or by tabs (with decimal commas when
    its numbers have them), in UTF-16 too (Excel's "Unicode Text"); {} for glr's own commas.

    Excel asks to save a CSV it opened, so a run's per_class.csv or split.csv may come back that way. glr's CSVs
    for people always have more than one column, so a header line without a comma was not written by glr so.
    """
    from glr.data.csv_source import wide_encoding

    with open(path, "rb") as fh:
        head = fh.read(1 << 16)
    codec = wide_encoding(head)
    options = {"encoding": codec} if codec else {}
    text = head.decode(codec or "utf-8", "replace").removeprefix(BOM)
    header = text.split("\n", 1)[0]
    if "," not in header:
        if ";" in header:
            return {**options, "sep": ";", "decimal": ","}
        if "\t" in header:
            # A number's decimal mark is the locale's: "0,875" from Excel in Europe, never with a "0.5" beside it.
            cells = {c.strip() for line in text.splitlines()[1:-1] for c in line.split("\t")}
            comma = any(re.fullmatch(r"-?[0-9]+,[0-9]+", c) for c in cells)
            point = any(re.fullmatch(r"-?[0-9]+\.[0-9]+", c) for c in cells)
            return {**options, "sep": "\t", **({"decimal": ","} if comma and not point else {})}
    return options


def read_csv(path: str | os.PathLike, **options):
    """A CSV for people that glr wrote (`write_csv`, or before its BOM), its cells and column names as they were
    given: the BOM and the escape removed, its text columns (`dtype` str) exact (glr.atomic.read_csv). One a
    spreadsheet saved again with ';' or tab separators is read as well (`saved_by_a_spreadsheet`), and one saved in
    its ANSI code page (Excel's plain "CSV") in the code page its words show, as train.csv is
    (`glr.data.csv_source.legacy_code_page_of`). Raises what pandas.read_csv raises; ValueError saying so for a
    file in a code page its words do not show."""
    options = {**saved_by_a_spreadsheet(path), **options}
    try:
        return unescape_frame(_read_csv(path, **options))
    except UnicodeDecodeError:
        from glr.data.csv_source import legacy_code_page_of

        try:
            codec = legacy_code_page_of(Path(path))
        except OSError:
            codec = None
    if codec is None:  # no code page shown by the words: guessing one could change a name in silence
        raise ValueError("it is not UTF-8 text (saved again by a spreadsheet in another encoding?); save it as "
                         "\"CSV UTF-8 (comma delimited)\"")
    return unescape_frame(_read_csv(path, **{**options, "encoding": codec}))

"""CSV cells a spreadsheet would run: a text cell starting with `=`, `+`, `-`, `@`, a tab or a carriage return.

Excel, LibreOffice and Google Sheets read such a cell as a formula (OWASP's "CSV injection"), so a class
named `=HYPERLINK("http://x", "Big Ben")` or `-cmd|' /C calc'!A0`, or a photo named so, would run when a
user opens a CSV glr wrote. Every CSV glr writes for people goes through `write_csv` here: such a cell is
written with a leading `'`, which the spreadsheets show as text. glr reads its own CSVs back through
`unescape_frame`, so what was written comes back exactly: the `'` is added only before a cell whose text after
its own leading apostrophes starts with one of those characters, and removed only there (`'s-Hertogenbosch`,
a real town, is written as it is).
"""

from __future__ import annotations

import os
from pathlib import Path

from glr.atomic import write_csv as _write_csv

TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
QUOTE = "'"


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


def to_csv_bytes(df) -> bytes:
    """`df` as the UTF-8 bytes of a CSV for people (a download button's), its formula-like cells escaped."""
    return escape_frame(df).to_csv(index=False).encode("utf-8")


def write_csv(path: str | os.PathLike, df) -> Path:
    """Atomically write `df` as a CSV for people (glr.atomic.write_csv), its formula-like cells escaped."""
    return _write_csv(path, escape_frame(df))

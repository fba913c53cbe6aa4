"""A run's history.csv read back: glr's own file, or the same table after a spreadsheet saved it again.

The trainer writes history.csv (one row per epoch, glr.atomic.write_csv); a user opens it to look at the losses,
and Excel asks to save it: then it may come back in UTF-16 with tabs, or with ';' and decimal commas, a BOM first.
glr.spreadsheet.read_csv reads every such form, as it reads the run's other tables.
"""

from __future__ import annotations

import os
from pathlib import Path

from glr import spreadsheet


def read_history(path: str | os.PathLike) -> "pd.DataFrame":  # noqa: F821 - pandas is imported when called
    """The history table at `path`; ValueError (or pandas' ParserError) saying what is wrong with a damaged file.

    Every writer ends the file with a line end, so a file without one was cut short (a kill mid-write of an older
    glr, a disk that filled): its last row may be half a row, read as if whole.
    """
    from glr.data.csv_source import wide_encoding

    raw = Path(path).read_bytes()
    codec = wide_encoding(raw[:4096])
    if not raw.decode(codec or "utf-8", "replace").endswith("\n"):
        raise ValueError("truncated: it does not end with a newline")
    df = spreadsheet.read_csv(path)
    if "epoch" not in df.columns or df["epoch"].isna().any():
        raise ValueError("no 'epoch' value in some rows")
    import pandas as pd

    epochs = pd.to_numeric(df["epoch"], errors="coerce")
    if epochs.isna().any():  # text where a number belongs: it would fail every count of epochs
        raise ValueError(f"its 'epoch' column holds \"{df['epoch'][epochs.isna()].iloc[0]}\", not an epoch's number")
    df["epoch"] = epochs
    return df

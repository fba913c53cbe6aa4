"""Rows put in the order of their id text, as `df.sort_values("id")` puts them, without sorting GLDv2's text.

Curation sorts the kept rows by id so that the split is the same whatever the order of train.csv's rows (sklearn's
stratified split draws from each class's rows in their order). Finding the order of 4.1M Arrow strings took 7-10 s
here; GLDv2's ids (16 hex digits, one case) are read as the 64-bit numbers they spell, which give the same order in
about 2 s (`benchmarks/bench_catalog.py --compare`). Any other ids are sorted as text, as before.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from glr.data.id_text import as_numbers, holds_any


def id_order(ids: pd.Series) -> np.ndarray | None:
    """The positions that put `ids` in the order of a stable sort of their text, when the ids are hex digits of one
    length and one case (GLDv2's); None for any other ids (the caller sorts the text)."""
    # "B" sorts before "a" as text but after it as a number: only ids of one case order as their numbers do.
    if holds_any(ids, "ABCDEF") and holds_any(ids, "abcdef"):
        return None
    numbers = as_numbers(ids)  # None unless every id is hex of one length, up to 16 digits, none missing
    # Stable, as pandas' sort of Arrow text is: an id listed twice keeps its rows' order.
    return None if numbers is None else np.argsort(numbers, kind="stable")


def sort_by_id(df: pd.DataFrame) -> pd.DataFrame:
    """`df.sort_values("id")`: the same rows in the same order, GLDv2's ids sorted as the numbers they spell."""
    order = id_order(df["id"])
    return df.sort_values("id") if order is None else df.take(order)

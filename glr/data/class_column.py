"""A catalog's class-name column: one text per name and a small code per row, as a pandas categorical."""

from __future__ import annotations

import numpy as np
import pandas as pd

from glr.data.train_csv import TEXT


def class_column(landmark_ids: pd.Series, names: dict[int, str]) -> pd.Series:
    """Each row's class name, as a categorical: one text per name and a small code per row; "landmark <id>" if unnamed.

    Every row of a class holds the same name: at GLDv2's 4.1M rows, a text per row cost ~0.1 GB more than the codes.
    """
    ids = landmark_ids.to_numpy()
    # GLDv2's ids (0-203,093 over 4.1M rows) are looked up in a table as long as their range: factorize's hash
    # table, sized by the rows, and its 64-bit codes raised the load's peak by ~0.1 GB.
    table = len(ids) and ids.dtype.kind in "iu" and 0 <= ids.min() and ids.max() <= 4 * len(ids)
    if table:
        present = np.zeros(int(ids.max()) + 1, dtype=bool)
        present[ids] = True
        unique = np.flatnonzero(present)
    else:
        codes, unique = pd.factorize(ids)
    per_class = pd.array([names.get(int(i)) or f"landmark {int(i)}" for i in unique], dtype=TEXT)
    name_codes, categories = pd.factorize(per_class)  # two classes may share a name until class_names tells them apart
    if table:
        by_id = np.full(len(present), -1, dtype=np.int32)
        by_id[unique] = name_codes
        rows = by_id[ids]
    else:
        rows = np.asarray(name_codes, dtype=np.int32)[codes]
    column = pd.Categorical.from_codes(rows, dtype=pd.CategoricalDtype(pd.Index(categories)))
    return pd.Series(column, index=landmark_ids.index)

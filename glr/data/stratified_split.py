"""The seeded, stratified train/validation split of the curated rows: the only part of curation that imports sklearn.

sklearn's import costs 2-4 s cold (`sklearn.base` pulls `scipy.stats`), so it is imported when a split is made, never
when a catalog is read or its curated rows listed (`glr.data.datasets.curated_rows`, which `glr fetch` uses).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from glr.data.curation_defaults import MAX_SEED
from glr.errors import DatasetError


def check_split_settings(val_fraction: float, seed: int) -> None:
    """DatasetError naming a validation fraction or a seed `curate` cannot split with."""
    if not 0 < val_fraction < 1:
        raise DatasetError(f"val_fraction must be above 0 and below 1, got {val_fraction}")
    if not 0 <= seed <= MAX_SEED:
        raise DatasetError(f"seed must be between 0 and {MAX_SEED}, got {seed}")


def stratified_split(data: pd.DataFrame, val_fraction: float, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """sklearn's stratified split, sized so each class can have an image on both sides."""
    from sklearn.model_selection import train_test_split  # a second to import: not for reading a catalog, nor --help

    n, n_classes = len(data), data["landmark_id"].nunique()
    n_val = min(max(round(n * val_fraction), n_classes), n - n_classes)
    train, val = train_test_split(data, test_size=n_val, stratify=data["landmark_id"], random_state=seed)
    # Stratification rounds per class, so a small class can end up on one side only; move
    # one image across for each such class (seeded, like the split itself).
    rng = np.random.default_rng(seed)
    train, val = _fill_missing_classes(train, val, rng)
    val, train = _fill_missing_classes(val, train, rng)
    # `data` is sorted by id (unique) and numbered so: its numbers sort each side as its ids do, where sorting
    # GLDv2's ids as text again cost 7 s a side at 4.1M rows.
    return train.sort_index(), val.sort_index()


def _fill_missing_classes(src: pd.DataFrame, dst: pd.DataFrame, rng) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Move one image of each class that `dst` lacks from `src` into `dst`."""
    missing = sorted(set(src["landmark_id"]) - set(dst["landmark_id"]))
    if not missing:
        return src, dst
    # One draw per class, in the classes' order, from its rows in `src`'s order: the picks a move at a time made.
    # Moved together: a copy of both tables per class cost 6 s for 439 classes of 200,000 rows (top-N 0).
    rows = src.index[src["landmark_id"].isin(missing).to_numpy()].to_numpy()
    classes = src.loc[rows, "landmark_id"].to_numpy()
    order = np.argsort(classes, kind="stable")  # by class, each class's rows in `src`'s order
    rows, classes = rows[order], classes[order]
    bounds = np.r_[np.flatnonzero(np.r_[True, classes[1:] != classes[:-1]]), len(rows)]
    picks = [rng.choice(rows[a:b]) for a, b in zip(bounds[:-1], bounds[1:])]
    return src.drop(index=picks), pd.concat([dst, src.loc[picks]])

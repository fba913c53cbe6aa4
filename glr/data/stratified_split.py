"""The seeded, stratified train/validation split of the curated rows: the only part of curation that imports sklearn.

sklearn's import costs 2-4 s cold (`sklearn.base` pulls `scipy.stats`), so it is imported when a split is made, never
when a catalog is read or its curated rows listed (`glr.data.datasets.curated_rows`, which `glr fetch` uses).

sklearn splits the rows' numbers, not the table, and the classes a side lacks are filled on those numbers too: the
table is taken from once per side, at the end. Splitting the table itself took each side out of it four times
(sklearn's pick, the moves' drop and concat, the sort): a split of GLDv2's 4.1M rows (top-N 0) took 36 s where it
takes 16, 13 of them in sklearn's loop over the 200,000 classes (side by side on a loaded machine; session 32).
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


def validation_size(n: int, n_classes: int, val_fraction: float) -> int:
    """How many of `n` photos of `n_classes` classes the split puts in validation: `val_fraction` of them, but
    at least one a class and at most all but one a class, so each class can have a photo on both sides."""
    return min(max(round(n * val_fraction), n_classes), n - n_classes)


def stratified_split(data: pd.DataFrame, val_fraction: float, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """sklearn's stratified split, sized so each class can have an image on both sides; each side in `data`'s order
    (curation's `data` is sorted by id and numbered so, as `split_positions` needs for the same split as ever)."""
    train, val = split_positions(data["landmark_id"].to_numpy(), val_fraction, seed)
    return data.iloc[train], data.iloc[val]


def split_positions(labels: np.ndarray, val_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The positions in `labels` (one class per row) of the train and the validation rows, each side ascending.

    The rows are those `stratified_split` ever gave for `seed`: sklearn's split, then one photo moved across for each
    class left on one side, drawn as the moves on the table drew it."""
    from sklearn.model_selection import train_test_split  # a second to import: not for reading a catalog, nor --help

    # Codes in the classes' sorted order, the order the moves go in (a hash, where np.unique's sort took 1.5 s at 4.1M).
    codes, classes = pd.factorize(labels, sort=True)
    n, n_classes = len(labels), len(classes)
    n_val = validation_size(n, n_classes, val_fraction)
    train, val = train_test_split(np.arange(n), test_size=n_val, stratify=labels, random_state=seed)
    # Stratification rounds per class, so a small class can end up on one side only; move
    # one image across for each such class (seeded, like the split itself).
    rng = np.random.default_rng(seed)
    train, val = _fill_missing_classes(train, val, codes, rng)
    val, train = _fill_missing_classes(val, train, codes, rng)
    # Ascending positions: the rows' order in `data`, where each side was sorted by its index labels before.
    return np.sort(train), np.sort(val)


def _fill_missing_classes(src: np.ndarray, dst: np.ndarray, codes: np.ndarray, rng) -> tuple[np.ndarray, np.ndarray]:
    """Move one position of each class (`codes` of the positions) that `dst` lacks from `src` to the end of `dst`."""
    counts = np.bincount(codes[dst], minlength=codes.max(initial=-1) + 1)
    lacking = counts[codes[src]] == 0
    if not lacking.any():
        return src, dst
    # One draw per class, in the classes' order, from its rows in `src`'s order: the picks a move at a time made.
    rows = src[lacking]
    classes = codes[rows]
    order = np.argsort(classes, kind="stable")  # by class, each class's rows in `src`'s order
    rows, classes = rows[order], classes[order]
    bounds = np.r_[np.flatnonzero(np.r_[True, classes[1:] != classes[:-1]]), len(rows)]
    picks = np.array([rng.choice(rows[a:b]) for a, b in zip(bounds[:-1], bounds[1:])], dtype=src.dtype)
    return src[~np.isin(src, picks)], np.concatenate([dst, picks])

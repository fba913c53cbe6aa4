"""glr.data.stratified_split: sklearn's seeded, stratified split of the curated rows, every class on both sides."""

import numpy as np
import pandas as pd
import pytest

from glr.data.stratified_split import split_positions, stratified_split, validation_size

# 12 classes of 2-11 rows, shuffled: stratification leaves some on one side only, and a row of each is moved.
SIZES = [2, 3, 2, 5, 2, 4, 7, 2, 3, 11]
LABELS = np.array([100 + 7 * (c % 5) - c for c in range(12) for _ in range(SIZES[c % 10])])
LABELS = LABELS[np.random.default_rng(0).permutation(len(LABELS))]


@pytest.mark.parametrize("seed, val", [
    # Pinned from the split made on the table itself (session 31's code): the same rows on the same sides.
    (0, [1, 3, 11, 12, 13, 14, 15, 21, 23, 24, 26, 27, 30, 36, 44]),
    (42, [0, 7, 8, 14, 17, 18, 24, 27, 29, 30, 34, 35, 39, 42, 43]),
])
def test_the_positions_are_the_split_glr_always_made(seed, val):
    train_rows, val_rows = split_positions(LABELS, 0.2, seed)
    assert val_rows.tolist() == val
    assert train_rows.tolist() == sorted(set(range(len(LABELS))) - set(val))


def test_each_side_holds_every_class_in_ascending_positions():
    labels = np.repeat(np.arange(300), 2)[np.random.default_rng(1).permutation(600)]  # 300 classes of 2: one a side
    train, val = split_positions(labels, 0.2, 7)
    assert len(train) == len(val) == 300 and not set(train) & set(val)
    assert set(labels[train]) == set(labels[val]) == set(range(300))
    assert (np.diff(train) > 0).all() and (np.diff(val) > 0).all()


def test_sklearn_splits_the_row_numbers_and_the_table_keeps_its_rows_labels_and_order(monkeypatch):
    import sklearn.model_selection

    given = []
    real = sklearn.model_selection.train_test_split

    def spy(rows, **kwargs):
        given.append((type(rows), kwargs["stratify"].tolist()))
        return real(rows, **kwargs)

    monkeypatch.setattr(sklearn.model_selection, "train_test_split", spy)
    # Numbered in the rows' order from 1000 up, as a filtered table may be.
    data = pd.DataFrame({"id": [f"p{i:02d}" for i in range(len(LABELS))], "landmark_id": LABELS},
                        index=1000 + np.arange(len(LABELS)))
    train, val = stratified_split(data, 0.2, 0)
    assert given == [(np.ndarray, LABELS.tolist())]  # positions, not the table: sklearn's take of 4.1M rows is saved
    assert val.index.tolist() == [1000 + i for i in [1, 3, 11, 12, 13, 14, 15, 21, 23, 24, 26, 27, 30, 36, 44]]
    assert train["id"].is_monotonic_increasing and pd.concat([train, val]).sort_index().equals(data)


def test_the_validation_size_leaves_each_class_a_photo_on_both_sides():
    # The fraction, rounded; raised to one photo a class, capped at all but one a class. `inspect` counts with it.
    assert [validation_size(100, 3, 0.2), validation_size(30, 8, 0.1), validation_size(10, 4, 0.9)] == [20, 8, 6]
    assert len(split_positions(np.repeat(np.arange(4), [4, 2, 2, 2]), 0.9, 0)[1]) == validation_size(10, 4, 0.9)

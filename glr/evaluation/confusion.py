"""A run's confusion matrix, kept sparse: confusion.csv holds one row per non-empty cell.

A validation photo fills one cell, so at most as many cells as photos are non-empty, while a dense
N x N matrix is 52 GB at GLDv2-clean's 81,000 classes (3.2 GB at 20,000). The file is
`true,predicted,count` (class indices as in labels.json), and always ends with the cell of the
last class with itself, 0 included, so it says how many classes it covers. Runs written before
hold a dense table (a `true` column, then one column per predicted class index): `read` still
reads those. In memory the matrix is a scipy.sparse CSR array; `as_sparse` also takes a dense one.
"""

from __future__ import annotations

import os
from typing import Any, Sequence

import numpy as np
import pandas as pd
from scipy import sparse

COLUMNS = ["true", "predicted", "count"]


def counts(y_true: Sequence[int], y_pred: Sequence[int], n_classes: int) -> sparse.csr_array:
    """The n_classes x n_classes count matrix (rows true, columns predicted class index), sparse."""
    true, pred = np.asarray(y_true, dtype=np.int64), np.asarray(y_pred, dtype=np.int64)
    ones = np.ones(len(true), dtype=np.int64)
    return sparse.coo_array((ones, (true, pred)), shape=(n_classes, n_classes)).tocsr()  # sums repeated cells


def as_sparse(cm: Any) -> sparse.csr_array:
    """`cm` (sparse, a DataFrame or an array of counts) as a square int64 CSR array; ValueError when not square."""
    out = sparse.csr_array(cm if sparse.issparse(cm) else np.asarray(cm, dtype=np.int64), dtype=np.int64)
    if out.ndim != 2 or out.shape[0] != out.shape[1]:
        raise ValueError(f"a confusion matrix is square, not {out.shape[0]} x {out.shape[1]}")
    return out


def size(cm: Any) -> int:
    """The number of classes of a confusion matrix, dense or sparse."""
    return int(cm.shape[0])


def cells(cm: Any, off_diagonal: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(true, predicted, count) of the non-empty cells in row-major order; only the mistakes when `off_diagonal`."""
    coo = as_sparse(cm).tocoo()
    keep = coo.data > 0
    if off_diagonal:
        keep &= coo.row != coo.col
    rows, cols, data = coo.row[keep].astype(np.int64), coo.col[keep].astype(np.int64), coo.data[keep]
    order = np.lexsort((cols, rows))
    return rows[order], cols[order], data[order]


def predicted_totals(cm: Any) -> np.ndarray:
    """How many photos the model gave each class (the column sums)."""
    return np.asarray(as_sparse(cm).sum(axis=0)).ravel()


def true_totals(cm: Any) -> np.ndarray:
    """How many validation photos each class has (the row sums)."""
    return np.asarray(as_sparse(cm).sum(axis=1)).ravel()


def mistakes(cm: Any) -> int:
    """All the off-diagonal counts."""
    m = as_sparse(cm)
    return int(m.sum() - m.diagonal().sum())


def block(cm: Any, keep: Sequence[int]) -> np.ndarray:
    """The dense sub-matrix of the classes `keep` (rows and columns in that order): what a heatmap shows."""
    keep = np.asarray(list(keep), dtype=np.int64)
    return as_sparse(cm)[keep][:, keep].toarray()


def to_frame(cm: Any) -> pd.DataFrame:
    """The stored form: the non-empty cells, with the last class's own cell always there (the class count).

    Its index is `true`, its columns predicted and count, so that Run.write_evaluation, which writes
    the index as the first column, stores `true,predicted,count`.
    """
    rows, cols, data = cells(cm)
    n = size(cm)
    if n and not (len(rows) and rows[-1] == n - 1 and cols[-1] == n - 1):
        rows, cols, data = np.append(rows, n - 1), np.append(cols, n - 1), np.append(data, 0)
    return pd.DataFrame({"predicted": cols, "count": data}, index=pd.Index(rows, name="true"))


def read(path: str | os.PathLike) -> sparse.csr_array | None:
    """A confusion.csv, sparse or the dense table of an older run, as a CSR array; None when missing.

    ValueError saying what is wrong: unreadable, not the columns of either form, a count that is empty, negative
    or not a whole number, a dense table that is not square.
    """
    if not os.path.isfile(path):
        return None
    try:
        with open(path, encoding="utf-8") as f:
            first = f.readline().strip().lstrip("\ufeff")
        return _read_sparse(path) if first.split(",") == COLUMNS else _read_dense(path)
    except OSError as exc:  # unreadable: as damaged as a cut file, for the reader
        raise ValueError(str(exc)) from None


def _read_sparse(path) -> sparse.csr_array:
    """The `true,predicted,count` form."""
    table = pd.read_csv(path)
    if list(table.columns) != COLUMNS:
        raise ValueError(f"its columns are {', '.join(map(str, table.columns))}, not {', '.join(COLUMNS)}")
    whole = all(pd.api.types.is_integer_dtype(t) for t in table.dtypes)  # as written: no cell to check one by one
    values = table if whole else table.apply(pd.to_numeric, errors="coerce")
    bad = values < 0 if whole else values.isna() | (values < 0) | (values % 1 != 0)
    if bad.to_numpy().any():
        row, column = np.argwhere(bad.to_numpy())[0]
        raise ValueError(f"row {row + 2} holds {str(table.iat[row, column])[:40]!r} in {COLUMNS[column]!r}, "
                         "not a whole number of 0 or more")
    values = values.astype(np.int64)
    n = int(max(values["true"].max(), values["predicted"].max())) + 1 if len(values) else 0
    return counts_of(values["true"].to_numpy(), values["predicted"].to_numpy(), values["count"].to_numpy(), n)


def counts_of(true: np.ndarray, pred: np.ndarray, count: np.ndarray, n: int) -> sparse.csr_array:
    """An n x n CSR array of the cells (true, pred) holding `count` (repeated cells add up)."""
    return sparse.coo_array((count.astype(np.int64), (true, pred)), shape=(n, n)).tocsr()


def _read_dense(path) -> sparse.csr_array:
    """The N x N table runs stored before: a row per true class, a column per predicted class index.

    Read a block of rows at a time, each kept sparse: whole, a 20,000-class table took 14 GB to open.
    """
    blocks, rows, columns, damaged = [], 0, None, False
    for table in pd.read_csv(path, index_col=0, chunksize=max(1, DENSE_BLOCK_CELLS // _columns(path))):
        columns = table.shape[1]
        if not all(pd.api.types.is_integer_dtype(t) for t in table.dtypes):  # as written, every column is
            table = table.apply(pd.to_numeric, errors="coerce")
            damaged |= bool(table.isna().to_numpy().any())
        values = table.fillna(0).to_numpy(dtype=np.int64)
        damaged |= bool((values < 0).any())
        blocks.append(sparse.csr_array(values))
        rows += len(table)
    columns = 0 if columns is None else columns
    if rows != columns or damaged:
        raise ValueError(f"it is not a square table of counts ({rows} rows, {columns} columns"
                         f"{', some cells empty or not numbers' if damaged else ''})")
    return sparse.vstack(blocks, format="csr") if blocks else sparse.csr_array((0, 0), dtype=np.int64)


DENSE_BLOCK_CELLS = 1 << 23  # an older run's dense table is read this many cells at a time (64 MB of int64)


def _columns(path) -> int:
    """How many columns a CSV's header names (at least 1)."""
    with open(path, encoding="utf-8") as f:
        return max(1, f.readline().count(","))

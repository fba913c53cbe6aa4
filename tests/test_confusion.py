"""The sparse confusion matrix: stored as (true, predicted, count) rows, an older run's dense table still read."""

import tracemalloc

import numpy as np
import pandas as pd
import pytest

from glr.evaluation import confusion, metrics, plots


def test_the_stored_form_is_the_non_empty_cells_and_says_how_many_classes(tmp_path):
    cm = confusion.counts([0, 0, 1, 2], [0, 1, 1, 0], 5)  # classes 3 and 4 have no photo
    frame = confusion.to_frame(cm)
    path = tmp_path / "confusion.csv"
    frame.reset_index().to_csv(path, index=False)  # as Run.write_evaluation writes it
    assert path.read_text().splitlines() == ["true,predicted,count", "0,0,1", "0,1,1", "1,1,1", "2,0,1", "4,4,0"]
    back = confusion.read(path)
    assert back.shape == (5, 5) and (back.toarray() == cm.toarray()).all()


@pytest.mark.parametrize("block", [4, 1 << 23])  # a row at a time, or all at once
def test_an_older_runs_dense_confusion_csv_still_reads(tmp_path, monkeypatch, block):
    monkeypatch.setattr(confusion, "DENSE_BLOCK_CELLS", block)
    path = tmp_path / "confusion.csv"
    path.write_text("true,0,1,2\n0,3,1,0\n1,0,2,0\n2,0,0,0\n")  # as glr wrote it before: a column per predicted class
    cm = confusion.read(path)
    assert cm.shape == (3, 3) and cm.toarray().tolist() == [[3, 1, 0], [0, 2, 0], [0, 0, 0]]
    path.write_text("true,0,1,2\n0,3,1,0\n1,0,2,0\n")
    with pytest.raises(ValueError, match=r"not a square table of counts \(2 rows, 3 columns\)"):
        confusion.read(path)
    path.write_text("true,0,1\n0,3,x\n1,0,2\n")
    with pytest.raises(ValueError, match="not a square table of counts"):
        confusion.read(path)


@pytest.mark.parametrize("text, problem", [
    ("true,predicted,count\n0,0,-1\n", "row 2 holds '-1' in 'count'"),
    ("true,predicted,count\n0,0,1\n1,x,1\n", "row 3 holds 'x' in 'predicted'"),
    ("true,predicted,count\n0,0,1.5\n", "row 2 holds '1.5' in 'count'"),
])
def test_a_damaged_sparse_confusion_csv_is_named(tmp_path, text, problem):
    path = tmp_path / "confusion.csv"
    path.write_text(text)
    with pytest.raises(ValueError, match=problem):
        confusion.read(path)
    assert confusion.read(tmp_path / "gone.csv") is None


def test_gldv2_clean_size_never_builds_the_dense_matrix(tmp_path):
    n, photos = 50_000, 20_000  # dense: 50,000^2 int64 = 20 GB
    rng = np.random.default_rng(0)
    true = rng.integers(0, n, photos)
    pred = np.where(rng.random(photos) < 0.7, true, rng.integers(0, n, photos))
    names = [f"landmark {i}" for i in range(n)]
    labels = pd.DataFrame({"index": range(n), "landmark_id": range(n), "name": names})
    tracemalloc.start()
    try:
        cm = metrics.confusion_counts(true, pred, n)
        path = tmp_path / "confusion.csv"
        confusion.to_frame(cm).reset_index().to_csv(path, index=False)
        back = confusion.read(path)
        keep = plots.confused_classes(back, 30)
        figure = plots.confusion_figure(back, names, keep=keep)
        pairs = metrics.most_confused_pairs(back, labels, 20)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 200 * 2**20, f"{peak / 2**20:.0f} MB"  # the matrix alone would be 20,000 MB
    assert back.shape == (n, n) and back.sum() == photos
    assert len(path.read_text().splitlines()) <= photos + 2  # at most one row per photo, the header, the last cell
    assert np.asarray(figure.data[0].z).shape == (30, 30) and len(pairs) == 20

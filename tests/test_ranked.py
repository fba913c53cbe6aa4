import gc
import weakref

import numpy as np
import pytest

from glr.errors import GlrError
from glr.evaluation import ranked


def _dense(probs: np.ndarray, k: int = ranked.TOP_K) -> dict:
    """What the evaluation computed from the whole matrix: argmax, max, a stable sort of each row."""
    top = np.argsort(-probs.astype(np.float64), axis=1, kind="stable")[:, :k]
    return {"pred": probs.argmax(axis=1), "confidence": probs.max(axis=1).astype(np.float64), "top": top,
            "top_score": probs[np.arange(len(probs)), top[:, 0]].astype(np.float64)}


def _cut(probs: np.ndarray, rows: int) -> list[np.ndarray]:
    return [probs[start:start + rows] for start in range(0, len(probs), rows)]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_top_classes_ranks_as_a_stable_sort_of_each_row_without_sorting_it(monkeypatch, dtype):
    rng = np.random.default_rng(0)
    probs = rng.integers(0, 4, (50, 12)).astype(dtype)  # many ties, some across the 5th place
    probs[3] = 1  # a row of ties: the first 5 classes
    monkeypatch.setattr(ranked, "CHUNK_CELLS", 40)  # several blocks of rows
    for k in (1, 5, 12, 20):
        expected = np.argsort(-probs.astype(np.float64), axis=1, kind="stable")[:, :k]
        assert (ranked.top_classes(probs, k) == expected).all(), k
    assert ranked.top_classes(probs, 5)[3].tolist() == [0, 1, 2, 3, 4]


@pytest.mark.parametrize("classes", [1, 3, 5, 7, 40])  # k beyond, at and below the class count
@pytest.mark.parametrize("rows", [1, 4, 33, 1000])  # one photo per block, ragged last block, all in one
def test_rank_of_blocks_equals_the_dense_computation(classes, rows):
    rng = np.random.default_rng(classes * 1000 + rows)
    probs = rng.integers(0, 3, (33, classes)).astype(np.float32)  # ties everywhere, ties on the best
    probs[5] = 0  # a row of equal scores
    got = ranked.rank(_cut(probs, rows), classes)
    want = _dense(probs)
    for name, value in want.items():
        np.testing.assert_array_equal(getattr(got, name), value, err_msg=name)
        assert getattr(got, name).dtype == (np.float64 if name in ("confidence", "top_score") else np.int64)
    assert got.top.shape == (33, min(classes, ranked.TOP_K))


def test_rank_of_one_photo_and_of_none():
    one = ranked.rank([np.array([[0.2, 0.5, 0.3]])], 3)
    assert one.pred.tolist() == [1] and one.top.tolist() == [[1, 2, 0]] and one.top_score.tolist() == [0.5]
    none = ranked.rank(iter([]), 3)
    assert none.pred.shape == (0,) and none.top.shape == (0, 3)


def test_rank_names_a_block_of_the_wrong_width():
    with pytest.raises(GlrError, match="the model gives 4 classes but labels.json lists 3"):
        ranked.rank([np.ones((2, 3)), np.ones((2, 4))], 3)


def test_rank_lets_each_block_go_before_it_asks_for_the_next():
    """Memory is one block's, not the photo count's: when block i is made, blocks 0..i-2 are gone (block
    i-1 is the caller's loop variable until the next one arrives), and none is left once ranked."""
    made: list[weakref.ref] = []
    alive_when_made = []

    def head(n_blocks: int = 6, rows: int = 10, classes: int = 50):
        rng = np.random.default_rng(0)
        for _ in range(n_blocks):
            gc.collect()
            alive_when_made.append(sum(ref() is not None for ref in made))
            block = rng.random((rows, classes), dtype=np.float32)
            made.append(weakref.ref(block))
            yield block
            del block

    top = ranked.rank(head(), 50)
    gc.collect()
    assert len(top.pred) == 60
    assert max(alive_when_made) <= 1, alive_when_made
    assert not any(ref() is not None for ref in made)


def test_blocks_cut_a_matrix_into_rows_of_about_cells_values():
    probs = np.arange(60, dtype=np.float32).reshape(20, 3)
    parts = list(ranked.blocks(probs, cells=12))
    assert [len(p) for p in parts] == [4] * 5
    np.testing.assert_array_equal(np.concatenate(parts), probs)

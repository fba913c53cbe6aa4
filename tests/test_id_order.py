"""glr.data.id_order: rows in the order of their id text, GLDv2's ids sorted as the numbers they spell."""

import numpy as np
import pandas as pd
import pytest

from glr.data.id_order import id_order, sort_by_id


def _hex_ids(n: int, width: int = 16, seed: int = 0) -> list[str]:
    rng = np.random.default_rng(seed)
    return [f"{v:0{width}x}"[-width:] for v in rng.integers(0, 2**63, n, dtype=np.int64)]


def _frame(ids: list[str]) -> pd.DataFrame:
    # A shuffled index, as a filtered catalog has: the rows keep their labels through the sort.
    index = np.random.default_rng(1).permutation(len(ids)) * 3
    return pd.DataFrame({"id": pd.array(ids, dtype="string[pyarrow]"), "landmark_id": np.arange(len(ids)) % 7},
                        index=index)


ids_lower = _hex_ids(3000)
CASES = {
    "gldv2": ids_lower,
    "upper case": [i.upper() for i in ids_lower],
    "short hex": _hex_ids(3000, width=5),  # 16**5 values for 3,000 rows: some repeat
    "repeats": ids_lower[:1500] * 2,
    "mixed case": ids_lower[:1500] + [i.upper() for i in ids_lower[1500:]],  # "B" < "a" as text, not as numbers
    "two lengths": ids_lower[:1500] + [i[:8] for i in ids_lower[1500:]],
    "not hex": [f"class {i % 9}/photo {i}.jpg" for i in range(3000)],
}


@pytest.mark.parametrize("case", CASES)
def test_the_rows_come_in_the_order_sort_values_gives(case):
    df = _frame(CASES[case])
    expected = df.sort_values("id")
    got = sort_by_id(df)
    pd.testing.assert_frame_equal(got, expected)
    assert got.index.equals(expected.index)  # rows with the same id too: their order is kept, as pandas' stable sort keeps it


@pytest.mark.parametrize("case, as_numbers", [("gldv2", True), ("upper case", True), ("short hex", True),
                                              ("repeats", True), ("mixed case", False), ("two lengths", False),
                                              ("not hex", False)])
def test_only_ids_that_order_as_their_numbers_are_sorted_as_numbers(case, as_numbers):
    assert (id_order(_frame(CASES[case])["id"]) is not None) == as_numbers


def test_a_filtered_table_of_gldv2_ids_is_sorted_as_numbers_too():
    # Curation sorts the rows of the classes it keeps: a filtered slice of the catalog's Arrow text.
    df = _frame(ids_lower)
    kept = df[df["landmark_id"].isin([1, 4])]
    assert id_order(kept["id"]) is not None
    pd.testing.assert_frame_equal(sort_by_id(kept), kept.sort_values("id"))


def test_an_empty_table_and_text_not_in_arrow_are_sorted_as_before():
    empty = _frame([])
    pd.testing.assert_frame_equal(sort_by_id(empty), empty.sort_values("id"))
    objects = pd.DataFrame({"id": pd.Series(ids_lower[:50], dtype=object)})
    assert id_order(objects["id"]) is None
    pd.testing.assert_frame_equal(sort_by_id(objects), objects.sort_values("id"))

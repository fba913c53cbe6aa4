"""glr.data.class_column: each row's class name, kept once per name (a categorical), the same text as before."""

import pandas as pd
import pytest

from glr.data.class_column import class_column


@pytest.mark.parametrize("ids", [[5, 0, 5, 2, 0], [10**15, -1, 10**15, 7, -1]])  # a table by range; factorize
def test_each_row_gets_its_class_name_or_landmark_id(ids):
    column = class_column(pd.Series(ids, index=range(10, 15)), {ids[0]: "Tower", ids[1]: "Bridge"})
    assert isinstance(column.dtype, pd.CategoricalDtype)
    assert column.tolist() == ["Tower", "Bridge", "Tower", f"landmark {ids[3]}", "Bridge"]
    assert column.index.tolist() == list(range(10, 15))


def test_classes_sharing_a_name_share_one_text_and_an_empty_column_is_empty():
    column = class_column(pd.Series([1, 2, 3, 1]), {1: "Big Ben", 2: "Big Ben", 3: "Tower"})
    assert column.tolist() == ["Big Ben", "Big Ben", "Tower", "Big Ben"]
    assert sorted(column.cat.categories) == ["Big Ben", "Tower"]
    assert class_column(pd.Series([], dtype="int64"), {}).tolist() == []


def test_many_rows_keep_a_small_code_per_row():
    # GLDv2's 4.1M rows as texts cost ~97 MB; the codes are 4 bytes a row (here a tenth of its rows and classes).
    ids = pd.Series(range(410_000)) % 20_000
    column = class_column(ids, {})
    assert column.memory_usage(deep=True) < 410_000 * 4 + 2_000_000
    assert column.iloc[20_001] == "landmark 1"

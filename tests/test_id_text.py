"""glr.data.id_text: the fast reads of train.csv's id column answer as the per-row pandas operations they replace."""

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from glr.data.id_text import drop_repeated_ids, duplicated_ids, fixed_width_paths, holds_any, plain_text
from glr.data.layouts import image_paths
from glr.data.train_csv import TEXT


def text(values, chunks=1):
    """`values` as Arrow-backed text, in `chunks` Arrow chunks (as a CSV read in blocks gives them)."""
    parts = np.array_split(np.array(values, dtype=object), chunks)
    return pd.Series(pd.array(pa.chunked_array([pa.array(list(p), pa.large_string()) for p in parts]), dtype=TEXT))


HEX = [f"{i:016x}" for i in np.random.default_rng(0).integers(0, 2**63, 50)]
CASES = [
    HEX + [HEX[3].upper(), HEX[7]],  # GLDv2's: a repeat in upper case, one as written
    HEX,  # no repeat
    ["abc", "ABC", "0abc", "abc1", "abd"],  # hex of several lengths: "0abc" is no repeat of "abc"
    ["abc", "ABC", "abd", "xyz", "xyz"],  # not all hex
    ["IMG 0042", "img 0042", "café", "CAFÉ", "photo.v2"],  # not plain
    [f"{i:03x}" for i in range(20)] + ["00A", "00a"],  # short hex of one length
]


@pytest.mark.parametrize("chunks", [1, 3])
@pytest.mark.parametrize("values", CASES)
def test_repeats_are_pandas_duplicated_of_the_lower_case_text(values, chunks):
    ids = text(values, chunks)
    for part in (ids, ids.iloc[2:], ids.iloc[::-1]):  # slices: the Arrow arrays' offsets are not 0
        assert duplicated_ids(part).tolist() == part.str.lower().duplicated().tolist()
        assert (duplicated_ids(part).index == part.index).all()


def test_repeats_of_object_text_and_of_ids_with_a_gap():
    assert duplicated_ids(pd.Series(["abc", "ABC", "x"], dtype=object)).tolist() == [False, True, False]
    assert duplicated_ids(text(["abc", None, "abc"])).tolist() == [False, False, True]


def test_the_repeated_ids_dropped_and_said():
    df = pd.DataFrame({"id": text(HEX[:4] + [HEX[0].upper(), HEX[1]]), "landmark_id": [1, 2, 3, 4, 1, 9]})
    kept, problems = drop_repeated_ids(df)
    assert kept["id"].tolist() == [HEX[0]] + HEX[2:4]
    assert problems == [f"1 id listed under more than one landmark_id (e.g. {HEX[1]!r}: 2, 9); skipped, as which "
                        "landmark the photo shows is unknown",
                        f"1 duplicate id (e.g. {HEX[0].upper()!r}); kept the first row of each"]


@pytest.mark.parametrize("values, plain", [
    (HEX, True), (["abc_-Z9"], True), (["IMG 0042"], False), (["a.jpg"], False), (["a/b"], False), (["café"], False),
    (["abc", None], False),
])
def test_plain_text_is_safe_id_patterns_characters_only(values, plain):
    assert plain_text(text(values)) is plain
    assert plain_text(pd.Series(values, dtype=object)) is False  # not Arrow text: not looked at, so not sure


def test_plain_text_checks_the_lengths_asked():
    assert plain_text(text(["abc", "abcd"]), 3, 4) and not plain_text(text(["ab", "abcd"]), 3, 4)
    assert not plain_text(text(["abc", "abcde"]), 3, 4)


def test_holds_any_never_misses_a_character():
    ids = text(HEX + ["abc.jpg"], chunks=2)
    assert holds_any(ids, ".") and not holds_any(ids, "/\\") and holds_any(text(["a\\b"]), "/\\")
    assert holds_any(pd.Series(["x"], dtype=object), ".")  # not Arrow text: may hold it


@pytest.mark.parametrize("values", [HEX, ["abc", "ABC", "x_-"], HEX[:5] + ["0123"], ["IMG 0042", "IMG 0043"]])
@pytest.mark.parametrize("chunks", [1, 2])
def test_fixed_width_paths_are_gldv2s_paths_as_arrow_joins_them(tmp_path, values, chunks):
    ids = text(values, chunks)
    fast = fixed_width_paths(f"{tmp_path}/train", ids)
    joined = [f"{tmp_path}/train/{i[0]}/{i[1]}/{i[2]}/{i}.jpg" for i in values]
    if len({len(v) for v in values}) > 1 or not plain_text(ids):
        assert fast is None
    else:
        assert fast.to_pylist() == joined
    assert image_paths(tmp_path, ids.iloc[1:]).tolist() == joined[1:]  # either way, and of a slice


def test_ascii_text_is_one_scan_of_the_bytes_and_says_false_for_any_letter_past_ascii():
    from glr.data.id_text import ascii_text

    text = pd.StringDtype("pyarrow")
    assert ascii_text(pd.Series(["0123456789abcdef", "7"], dtype=text))
    assert ascii_text(pd.Series([], dtype=text)) and ascii_text(pd.Series([None, "a"], dtype=text))
    assert not ascii_text(pd.Series(["abc", "cafÃ©"], dtype=text))
    assert not ascii_text(pd.Series(["abc"], dtype=object))  # not Arrow's text: unknown, looked at closer

"""glr.data.double_encoding: text that is UTF-8 read as Windows-1252 and saved again is read as written, and said."""

from pathlib import Path

import pandas as pd
import pytest

from glr.data.double_encoding import undo_double_encoded, undo_double_encoding
from glr.data.train_csv import TEXT


def _read_as_windows_1252(name: str) -> str:
    """`name`'s UTF-8 bytes read as Windows-1252 (its five missing bytes as their control characters), as Excel does."""
    return "".join(chr(b) if b in (0x81, 0x8D, 0x8F, 0x90, 0x9D) else bytes([b]).decode("cp1252") for b in name.encode())


def test_names_saved_again_after_a_windows_1252_reading_are_read_as_written():
    written = ["Sagrada Família", "Храм Христа Спасителя", "Karlův most", "東京タワー", "Big Ben"]
    names = pd.Series([_read_as_windows_1252(n) for n in written], index=[3, 4, 5, 6, 7])
    assert names[3] == "Sagrada FamÃ\xadlia" and names[7] == "Big Ben"
    undone, note = undo_double_encoding(names)
    assert undone.tolist() == written and undone.index.tolist() == [3, 4, 5, 6, 7]
    assert note == "4 names were UTF-8 text read as Windows-1252 and saved again (opened so by a spreadsheet?), e.g. " \
                   "'Sagrada FamÃ\\xadlia': read as 'Sagrada Família'"


@pytest.mark.parametrize("name", ["Sagrada Família", "São Paulo", "Ãtre", "Musée «Â»", "Ã© of no UTF-8: Ã"])
def test_a_name_that_is_not_so_is_left_as_it_is(name):
    names = pd.Series([name])
    undone, note = undo_double_encoding(names)
    assert undone is names and note is None


def test_ids_and_landmark_names_so_saved_are_read_as_written_with_a_note_each_and_ascii_columns_untouched():
    df = pd.DataFrame({"id": pd.Series([_read_as_windows_1252("café 1"), "plain"], dtype=TEXT),
                       "landmark_id": pd.Series(["7", "8"], dtype=TEXT)})
    out, notes = undo_double_encoded(df, Path("x/train.csv"))
    assert out["id"].tolist() == ["café 1", "plain"] and out["landmark_id"].tolist() == ["7", "8"]
    assert notes == ["train.csv: 1 id was UTF-8 text read as Windows-1252 and saved again (opened so by a "
                     "spreadsheet?), e.g. 'cafÃ© 1': read as 'café 1'"]
    plain = pd.DataFrame({"id": pd.Series(["0123456789abcdef"], dtype=TEXT), "landmark_id": pd.Series(["7"], dtype=TEXT)})
    assert undo_double_encoded(plain, Path("train.csv"))[1] == []

"""glr.data.double_encoding: text that is UTF-8 read as Windows-1252 and saved again is read as written, and said."""

from pathlib import Path

import pandas as pd

from glr.data.double_encoding import undo_double_encoded
from glr.data.train_csv import TEXT


def _read_as_windows_1252(name: str) -> str:
    """`name`'s UTF-8 bytes read as Windows-1252 (its five missing bytes as their control characters), as Excel does."""
    return "".join(chr(b) if b in (0x81, 0x8D, 0x8F, 0x90, 0x9D) else bytes([b]).decode("cp1252") for b in name.encode())


def test_ids_and_landmark_names_so_saved_are_read_as_written_with_a_note_each_and_ascii_columns_untouched():
    df = pd.DataFrame({"id": pd.Series([_read_as_windows_1252("café 1"), "plain"], dtype=TEXT),
                       "landmark_id": pd.Series(["7", "8"], dtype=TEXT)})
    out, notes = undo_double_encoded(df, Path("x/train.csv"))
    assert out["id"].tolist() == ["café 1", "plain"] and out["landmark_id"].tolist() == ["7", "8"]
    assert notes == ["train.csv: 1 id was UTF-8 text read as Windows-1252 and saved again (opened so by a "
                     "spreadsheet?), e.g. 'cafÃ© 1': read as 'café 1'"]
    plain = pd.DataFrame({"id": pd.Series(["0123456789abcdef"], dtype=TEXT), "landmark_id": pd.Series(["7"], dtype=TEXT)})
    assert undo_double_encoded(plain, Path("train.csv"))[1] == []

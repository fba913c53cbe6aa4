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


def test_ids_are_read_back_without_photos_and_kept_as_written_when_more_photos_are_named_so(tmp_path):
    # A catalog without photos (as `glr fetch` reads it) is read back; photos named as written (`cafÃ© 1.jpg`: a zip
    # unpacked with the wrong encoding) keep the ids as written, where each photo was "not found" after the read-back.
    written = [_read_as_windows_1252(n) for n in ("café 1", "café 2", "Ørsted 1")]

    def read():
        df = pd.DataFrame({"id": pd.Series(written, dtype=TEXT), "landmark_id": pd.Series(["7"] * 3, dtype=TEXT)})
        return undo_double_encoded(df, tmp_path / "train.csv")

    assert read()[0]["id"].tolist() == ["café 1", "café 2", "Ørsted 1"]
    (tmp_path / "photos").mkdir()
    (tmp_path / "photos" / "café 1.JPG").write_bytes(b"x")  # one read back, in another case
    for name in written[:2]:
        (tmp_path / "photos" / f"{name}.jpg").write_bytes(b"x")
    out, notes = read()
    assert out["id"].tolist() == written
    assert notes == ["train.csv: 3 ids were UTF-8 text read as Windows-1252 and saved again (opened so by a "
                     "spreadsheet?), e.g. 'cafÃ© 1': kept as written, as 2 of the 3 photos looked up are on disk so "
                     "(their names went through it too: a zip unpacked with the wrong encoding?)"]
    (tmp_path / "photos" / "Ørsted 1.png").write_bytes(b"x")  # a tie: read back, as without photos
    out, notes = read()
    assert out["id"].tolist() == ["café 1", "café 2", "Ørsted 1"] and notes[0].endswith(
        "read as 'café 1', as 2 of the 3 photos looked up are on disk so")


def test_only_a_sample_of_the_ids_is_looked_up_in_a_walk_of_train(tmp_path, monkeypatch):
    # train/ is where the file check looks when there is one: a photo beside it names nothing.
    import glr.data.double_encoding as double_encoding

    monkeypatch.setattr(double_encoding, "SAMPLE", 2)
    written = [_read_as_windows_1252(f"café {n}") for n in range(5)]
    (tmp_path / "train" / "a").mkdir(parents=True)
    (tmp_path / "train" / "a" / f"{written[0]}.jpg").write_bytes(b"x")
    (tmp_path / f"{written[1]}.jpg").write_bytes(b"x")
    df = pd.DataFrame({"id": pd.Series(written, dtype=TEXT), "landmark_id": pd.Series(["7"] * 5, dtype=TEXT)})
    out, notes = undo_double_encoded(df, tmp_path / "train.csv")
    assert out["id"].tolist() == written and "as 1 of the 2 photos looked up is on disk so" in notes[0]

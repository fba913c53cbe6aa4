"""glr.atomic: a write either replaces the file whole or leaves the old one untouched."""

import json
import stat

import pandas as pd
import pytest

from glr.atomic import csv_text, read_csv, read_json, write_csv, write_json, write_text, write_with


def test_round_trips(tmp_path):
    write_json(tmp_path / "a" / "x.json", {"é": 1})
    assert read_json(tmp_path / "a" / "x.json") == {"é": 1}
    write_csv(tmp_path / "t.csv", pd.DataFrame({"a": [1, 2]}))
    assert pd.read_csv(tmp_path / "t.csv")["a"].tolist() == [1, 2]
    write_text(tmp_path / "t.txt", "hi")
    assert stat.S_IMODE((tmp_path / "t.txt").stat().st_mode) == 0o644


def test_failure_keeps_old_content_and_leaves_no_temp(tmp_path):
    path = write_json(tmp_path / "s.json", {"state": "finished"})

    def half_then_fail(tmp):
        open(tmp, "w").write('{"state": "runn')
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError):
        write_with(path, half_then_fail)
    assert json.loads(path.read_text()) == {"state": "finished"}
    assert [p.name for p in tmp_path.iterdir()] == ["s.json"]


def test_a_cell_holding_a_bare_return_is_quoted_so_no_reader_splits_its_row(tmp_path):
    import csv
    import io

    frame = pd.DataFrame({"name": ["a\rb", "plain"], "n": [1, 2]})
    text = csv_text(frame)
    assert '"a\rb"' in text  # was written bare: pandas and csv.reader read three rows
    assert len(list(csv.reader(io.StringIO(text, newline="")))) == 3
    assert csv_text(pd.DataFrame({"name": ["plain"]})) == "name\nplain\n"  # no return: "\n" line ends, as before
    write_csv(tmp_path / "t.csv", frame)
    assert read_csv(tmp_path / "t.csv", dtype={"name": str})["name"].tolist() == ["a\rb", "plain"]


def test_read_csv_keeps_text_columns_exactly_and_reads_the_others_as_pandas_does(tmp_path):
    (tmp_path / "t.csv").write_text("name,score\nNone,NaN\nNA,\n,0.5\nnull,inf\n", encoding="utf-8")
    table = read_csv(tmp_path / "t.csv", dtype={"name": str})
    assert table["name"].tolist()[:2] == ["None", "NA"] and pd.isna(table["name"][2]) and table["name"][3] == "null"
    assert table["score"].isna().tolist() == [True, True, False, False] and table["score"].dtype == float
    assert pd.isna(read_csv(tmp_path / "t.csv")["name"][0])  # no text column named: pandas' own reading


def test_read_csv_with_dtype_str_reads_every_column_as_text_and_keep_empty_keeps_an_empty_cell(tmp_path):
    # dtype=str (pandas' own spelling for "every column is text") raised AttributeError: 'type' object has no
    # attribute 'items', so fetch read its failures list with a bare pandas.read_csv instead.
    (tmp_path / "t.csv").write_bytes(b"\xef\xbb\xbfid,n,detail\nNone,NaN,\nnull,1,NA\n")  # with a BOM, as for people
    table = read_csv(tmp_path / "t.csv", dtype=str)
    assert list(table.columns) == ["id", "n", "detail"]
    assert table["id"].tolist() == ["None", "null"] and table["n"].tolist() == ["NaN", "1"]
    assert pd.isna(table["detail"][0]) and table["detail"][1] == "NA"  # an empty cell is missing ...
    kept = read_csv(tmp_path / "t.csv", dtype=str, keep_empty=True)
    assert kept["detail"].tolist() == ["", "NA"]  # ... unless it is kept as ""
    assert read_csv(tmp_path / "t.csv", dtype={"detail": str}, keep_empty=True)["n"].isna().tolist() == [True, False]


def test_read_json_passes_over_a_byte_order_mark(tmp_path):
    # A labels.json or config.json edited in Notepad starts with a BOM: glr called the run damaged, predict.py read it.
    (tmp_path / "labels.json").write_bytes(b"\xef\xbb\xbf" + '[{"landmark_id": 7, "name": "Tour é"}]'.encode())
    assert read_json(tmp_path / "labels.json") == [{"landmark_id": 7, "name": "Tour é"}]


def test_ctrl_c_half_way_through_a_write_keeps_the_old_file_and_removes_the_temp(tmp_path, monkeypatch):
    from pathlib import Path

    from glr.atomic import write_bytes

    path = write_bytes(tmp_path / "model.onnx", b"old and whole")

    def half_then_ctrl_c(self, data):
        with open(self, "wb") as fh:
            fh.write(data[:4])
        raise KeyboardInterrupt

    monkeypatch.setattr(Path, "write_bytes", half_then_ctrl_c)
    for target in (path, tmp_path / "new.tflite"):  # a file there already, and a new one
        with pytest.raises(KeyboardInterrupt):
            write_bytes(target, b"new bytes, never whole")
    monkeypatch.undo()
    assert path.read_bytes() == b"old and whole" and [p.name for p in tmp_path.iterdir()] == ["model.onnx"]


def _folder(path, text):
    path.mkdir()
    (path / "model.onnx").write_text(text)
    return path


def test_replace_folder_swaps_a_folder_in_whole(tmp_path):
    from glr.atomic import replace_folder

    folder = replace_folder(_folder(tmp_path / ".new1", "one"), tmp_path / "onnx")  # none there yet
    assert (folder / "model.onnx").read_text() == "one"
    replace_folder(_folder(tmp_path / ".new2", "two"), folder)
    assert (folder / "model.onnx").read_text() == "two" and [p.name for p in tmp_path.iterdir()] == ["onnx"]


def test_ctrl_c_between_the_two_renames_of_replace_folder_puts_the_old_folder_back(tmp_path, monkeypatch):
    # The old folder was moved aside as `.onnx.old`, then the Ctrl-C: no folder was left under its name.
    from pathlib import Path

    from glr.atomic import replace_folder

    folder, new = _folder(tmp_path / "onnx", "old"), _folder(tmp_path / ".new", "new")
    real = Path.rename

    def ctrl_c_moving_the_new_one_in(self, target):
        if self == new:
            raise KeyboardInterrupt
        return real(self, target)

    monkeypatch.setattr(Path, "rename", ctrl_c_moving_the_new_one_in)
    with pytest.raises(KeyboardInterrupt):
        replace_folder(new, folder)
    monkeypatch.undo()
    assert (folder / "model.onnx").read_text() == "old" and sorted(p.name for p in tmp_path.iterdir()) == [".new", "onnx"]


def test_write_unsynced_renames_into_a_new_folder_without_fsync_and_names_the_file_it_cannot_write(tmp_path,
                                                                                                   monkeypatch):
    import errno
    import os

    from glr.atomic import StorageError, write_unsynced

    def no_fsync(fd):
        raise AssertionError("fsynced")

    monkeypatch.setattr(os, "fsync", no_fsync)
    target = tmp_path / "a" / "b" / "thumb.jpg"
    write_unsynced(target, b"new")  # the folders are made on the way
    write_unsynced(target, b"newer")
    assert target.read_bytes() == b"newer" and os.listdir(target.parent) == ["thumb.jpg"]

    real_replace = os.replace

    def read_only(src, dst):
        raise OSError(errno.EROFS, "Read-only file system", str(dst))

    monkeypatch.setattr(os, "replace", read_only)
    with pytest.raises(StorageError, match="thumb.jpg: cannot be written, the file system is read-only"):
        write_unsynced(target, b"lost")
    monkeypatch.setattr(os, "replace", real_replace)
    assert target.read_bytes() == b"newer" and os.listdir(target.parent) == ["thumb.jpg"]  # no temp file left

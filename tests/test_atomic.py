"""glr.atomic: a write either replaces the file whole or leaves the old one untouched."""

import json
import stat

import pandas as pd
import pytest

from glr.atomic import read_json, write_csv, write_json, write_text, write_with


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

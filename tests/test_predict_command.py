"""glr.predict_command: what the terminal's `predict` does around the predictor (the photos it is given)."""

import re

import pytest

from glr.errors import GlrError
from glr.predict_command import _given_once


def test_a_pattern_the_shell_did_not_expand_is_expanded(tmp_path, monkeypatch, capsys):
    # Windows' cmd (or quotes in a shell) passes "photos\*.jpg" on as typed: was "photos/*.jpg: file not found".
    for name in ("b.jpg", "a.jpg", "notes.txt"):
        (tmp_path / name).write_bytes(b"x")
    monkeypatch.chdir(tmp_path)
    assert _given_once(["*.jpg", "a.jpg"]) == ["a.jpg", "b.jpg"]  # sorted, each once
    assert "a.jpg was given twice" in capsys.readouterr().err
    assert _given_once([str(tmp_path / "[ab].jpg")]) == [str(tmp_path / "a.jpg"), str(tmp_path / "b.jpg")]
    with pytest.raises(GlrError, match=re.escape("*.png: no file matches this pattern")):
        _given_once(["*.png"])


def test_a_file_whose_name_holds_pattern_characters_is_that_file(tmp_path, monkeypatch):
    (tmp_path / "what?.jpg").write_bytes(b"x")
    (tmp_path / "whatX.jpg").write_bytes(b"x")
    monkeypatch.chdir(tmp_path)
    assert _given_once(["what?.jpg", "missing.jpg"]) == ["what?.jpg", "missing.jpg"]  # a missing photo is said later


def test_a_web_address_is_passed_on_as_given_not_as_a_path_or_a_pattern():
    # Path("https://x/a.jpg") is "https:/x/a.jpg", and the "?" of a query read as a pattern matched nothing.
    assert _given_once(["https://x.org/a.jpg?w=800", "HTTP://x.org/b.jpg"]) == ["https://x.org/a.jpg?w=800",
                                                                               "HTTP://x.org/b.jpg"]

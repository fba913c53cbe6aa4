"""glr.paths: the results folder and the starting dataset follow the environment; file names that are not UTF-8."""

import os

from glr import paths
from glr.data import browse


def test_results_dir_and_dataset_from_environment(monkeypatch, tmp_path):
    monkeypatch.delenv("GLR_RESULTS", raising=False)
    monkeypatch.delenv("GLR_DATA", raising=False)
    assert paths.results_dir().name == "results"
    assert paths.default_dataset() is None
    assert browse.dataset_label(None) == "the demo dataset"
    monkeypatch.setenv("GLR_RESULTS", str(tmp_path / "r"))
    monkeypatch.setenv("GLR_DATA", "/some/data")
    assert paths.results_dir() == tmp_path / "r"
    assert paths.default_dataset() == "/some/data"


def test_a_name_the_os_gave_as_bytes_that_are_not_utf8_is_printable_with_replacement_characters():
    name = os.fsdecode(b"Caf\xe9/\xff.jpg")
    assert not paths.is_utf8(name) and paths.is_utf8("Café/ü.jpg")
    assert paths.printable(name) == "Caf\ufffd/\ufffd.jpg" and paths.printable("Café") == "Café"

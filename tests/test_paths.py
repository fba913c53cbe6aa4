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


def test_names_fit_a_terminals_columns():
    assert paths.text_columns("Big Ben") == 7 and paths.text_columns("東京タワー") == 10
    assert paths.fit_columns("Big Ben", 10) == "Big Ben   "
    assert paths.fit_columns("東京タワー", 12) == "東京タワー  "
    assert paths.fit_columns("Cathedral of Saint Vitus", 10) == "Cathedral…"
    assert paths.fit_columns("東京タワー", 6) == "東京…" + " "  # a wide character is never cut in half
    assert all(paths.text_columns(paths.fit_columns(t, 9)) == 9 for t in ("a" * 30, "東" * 30, "x"))


def test_a_name_with_a_newline_or_a_tab_is_printed_on_one_line():
    from glr.paths import one_line

    assert one_line("Blue\nMosque") == "Blue Mosque"
    assert one_line("  Fort,\t\"Red\"\r\n ") == 'Fort, "Red"'
    assert one_line("東京タワー 🗼") == "東京タワー 🗼"


def test_broken_link_names_where_a_link_pointed_and_nothing_else(tmp_path):
    from glr.paths import broken_link

    (tmp_path / "photo.jpg").write_bytes(b"x")
    (tmp_path / "good").symlink_to(tmp_path / "photo.jpg")
    (tmp_path / "gone").symlink_to(tmp_path / "usb" / "photo.jpg")
    assert broken_link(tmp_path / "photo.jpg") is None and broken_link(tmp_path / "good") is None
    assert broken_link(tmp_path / "missing.jpg") is None  # not a link: plain "not found" is the caller's to say
    assert broken_link(tmp_path / "gone") == (f"a link to {tmp_path / 'usb' / 'photo.jpg'}, which is not there "
                                              "(moved, deleted, or on a drive not mounted?)")

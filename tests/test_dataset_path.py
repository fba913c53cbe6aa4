"""glr.data.dataset_path: a typed dataset path found on disk (the catalog's own cases: test_datasets)."""

import unicodedata

import pytest

from glr.data.dataset_path import locate, on_disk
from glr.errors import DatasetError


def test_a_path_there_as_typed_has_no_note_and_one_in_another_unicode_form_has_one(tmp_path):
    assert locate(tmp_path) == (tmp_path, None)
    nfd = tmp_path / unicodedata.normalize("NFD", "Café")
    nfd.mkdir()
    root, note = locate(tmp_path / "Café")
    assert root == nfd and note.startswith(f"{tmp_path / 'Café'}: not there as typed; {nfd}")
    assert on_disk(tmp_path / "Café") == nfd


def test_on_disk_is_none_where_locate_refuses(tmp_path):
    for path in (tmp_path / "nothing", "https://example.com/data", "~nosuchuser_glr/x", "x" * 300):
        assert on_disk(path) is None
        with pytest.raises(DatasetError):
            locate(path)

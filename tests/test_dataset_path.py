"""glr.data.dataset_path: a typed dataset path found on disk (the catalog's own cases: test_datasets)."""

import re
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


def test_a_folder_named_with_a_space_at_its_end_is_read_from_the_name_the_app_leaves(tmp_path):
    # A folder named "photos " (a Windows or Mac copy keeps the space): the app trims what is typed, so the folder
    # could never be chosen ("photos: no such file or folder").
    from conftest import write_image
    from glr.data import browse
    from glr.data.datasets import load_catalog

    on_disk = tmp_path / "Trip 2024 " / "photos "
    for name in ("Tower", "Bridge"):
        for i in range(2):
            write_image(on_disk / name / f"{i}.jpg", seed=i)
    typed = browse.typed_path(f"{tmp_path}/Trip 2024/photos ")
    assert typed == f"{tmp_path}/Trip 2024/photos"
    catalog = load_catalog(typed)
    assert catalog.root == on_disk and len(catalog.df) == 4
    assert catalog.problems[0] == (f"{typed}: not there as typed; '{on_disk}', the same name with spaces at the start "
                                   "or end of a folder's name, is: read that")
    assert browse.dataset_stamp(typed) == browse.dataset_stamp(on_disk) > 0


@pytest.mark.parametrize("name, data, said", [
    ("photos.zip", None, "a zip archive: unpack it first, and point glr at the folder it gives; or make a dataset of it "
                         "on the app's Dataset page (Upload photos), which reads a zip of one folder of photos per class"),
    ("photos", None, "a zip archive: unpack it first"),  # a download saved without its extension
    ("photos.tar.zst", b"\x28\xb5\x2f\xfd" + b"\0" * 300, "a Zstandard archive: unpack it first"),
    ("photos.zipx", b"PK\x03\x04" + b"\0" * 300, "a zip archive: unpack it first"),
    ("photos.dat", b"\0" * 257 + b"ustar\x0000" + b"\0" * 300, "a tar archive: unpack it first"),
    ("backup.7z", b"7z\xbc\xaf\x27\x1c" + b"\0" * 300, "a 7-Zip archive: unpack it first"),
])
def test_an_archive_given_as_the_dataset_is_named_whatever_its_extension(tmp_path, name, data, said):
    # `.tar.zst`, `.zipx` or no extension were "is a file; point glr at a dataset folder or at its train.csv"; a zip
    # did not say the app's Dataset page makes a dataset of one.
    import zipfile

    from glr.data.datasets import load_catalog

    path = tmp_path / name
    if data is None:
        with zipfile.ZipFile(path, "w") as zf:
            zf.writestr("Tower/0.jpg", b"x")
    else:
        path.write_bytes(data)
    with pytest.raises(DatasetError, match=re.escape(f"{path}: is a file; point glr at a dataset folder or at its "
                                                     f"train.csv ({said}")):
        load_catalog(path)


def test_a_dataset_path_that_is_a_link_to_nowhere_or_in_a_circle_says_so(tmp_path):
    # A link to a photo drive not mounted, or one in a circle: "permission denied, the folder cannot be read".
    (tmp_path / "usb").symlink_to(tmp_path / "mnt" / "photos")
    with pytest.raises(DatasetError, match=re.escape(f"{tmp_path / 'usb'}: a link to {tmp_path / 'mnt' / 'photos'}, "
                                                     "which is not there (moved, deleted, or on a drive not mounted?)")):
        locate(tmp_path / "usb")
    (tmp_path / "a").symlink_to(tmp_path / "b")
    (tmp_path / "b").symlink_to(tmp_path / "a")
    with pytest.raises(DatasetError, match="which leads in a circle back to itself, so it cannot be read"):
        locate(tmp_path / "a")
    (tmp_path / "self").symlink_to(tmp_path / "self")
    with pytest.raises(DatasetError, match=re.escape(f"{tmp_path / 'self' / 'photos'}: cannot be read: a link on the "
                                                     "way to it leads in a circle back to itself")):
        locate(tmp_path / "self" / "photos")
    assert on_disk(tmp_path / "a") is None


def test_a_path_with_a_nul_character_is_a_dataset_error_not_a_value_error():
    import pytest

    from glr.data.dataset_path import locate
    from glr.errors import DatasetError

    with pytest.raises(DatasetError, match=r"holds a NUL character \(\\x00\), which no path can"):
        locate("/tmp/da\x00ta")

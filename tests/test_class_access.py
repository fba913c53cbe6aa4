"""glr.data.class_access: class folders that cannot be listed, or are links to a folder not there, are said."""

import os
from pathlib import Path

import pytest

from conftest import write_image
from glr.data import class_access
from glr.data.datasets import load_catalog
from glr.errors import DatasetError


def _dataset(root: Path, classes=("Tower", "Bridge", "Gate")) -> Path:
    for i, cls in enumerate(classes):
        for j in range(2):
            write_image(root / cls / f"{j}.jpg", seed=10 * i + j)
    return root


def _lock(monkeypatch, *locked: Path) -> None:
    """As `chmod 000` does for a user who is not root (the tests may run as root, whom no permission stops)."""
    real = os.scandir

    def scandir(path="."):
        if Path(path) in locked:
            raise PermissionError(13, "Permission denied", str(path))
        return real(path)
    monkeypatch.setattr(class_access.os, "scandir", scandir)


def test_a_class_folder_that_cannot_be_listed_is_said_not_called_empty(tmp_path, monkeypatch):
    root = _dataset(tmp_path / "data")
    _lock(monkeypatch, root / "Bridge")
    catalog = load_catalog(root)
    assert sorted(catalog.df["name"].unique()) == ["Gate", "Tower"]
    # Was "1 class folder has no images (e.g. 'Bridge')": its photos are there, the user cannot read them.
    assert any(p.startswith("1 class folder cannot be listed (Permission denied; e.g. 'Bridge'); skipped")
               for p in catalog.problems), catalog.problems
    assert not any("no images" in p for p in catalog.problems), catalog.problems


def test_a_dataset_whose_only_class_folder_cannot_be_listed_says_why(tmp_path, monkeypatch):
    root = _dataset(tmp_path / "data", classes=("Tower",))
    _lock(monkeypatch, root / "Tower")
    # Path.is_file() raises PermissionError for a file inside a folder that cannot be listed: was its traceback.
    real_stat = Path.stat

    def stat(self, *args, **kwargs):
        if self.parent == root / "Tower":
            raise PermissionError(13, "Permission denied", str(self))
        return real_stat(self, *args, **kwargs)
    monkeypatch.setattr(Path, "stat", stat)
    with pytest.raises(DatasetError, match=r"no dataset found\. .* But 1 class folder cannot be listed \(Permission denied"):
        load_catalog(root)


def test_a_class_folder_linked_to_a_drive_not_mounted_is_said(tmp_path):
    root = _dataset(tmp_path / "data")
    (root / "Castle").symlink_to(tmp_path / "usb" / "Castle")  # the drive's folder is not there
    (root / "moved.jpg").symlink_to(tmp_path / "nowhere.jpg")  # a photo's link is no class folder
    catalog = load_catalog(root)
    assert catalog.df["landmark_id"].nunique() == 3
    # Was dropped in silence: a whole landmark missing from the training without a word.
    assert any(p.startswith("1 class folder is a link to a folder that is not there (e.g. 'Castle': a link to ")
               and "on a drive not mounted?" in p for p in catalog.problems), catalog.problems
    assert not any("moved.jpg" in p for p in catalog.problems)


def test_class_folders_made_as_windows_shortcuts_or_macos_aliases_are_said(tmp_path):
    # A dataset assembled from shortcuts to folders elsewhere: Linux sees small files, and the classes were
    # dropped in silence. A note beside the class folders is no shortcut.
    root = _dataset(tmp_path / "data")
    (root / "Castle.lnk").write_bytes(b"L\x00\x00\x00\x01\x14\x02\x00\x00\x00\x00\x00\xc0\x00\x00\x00\x00\x00\x00F" + bytes(60))
    (root / "Harbour").write_bytes(b"book\x00\x00\x00\x00mark\x00\x00\x00\x00" + bytes(200))
    (root / "README").write_text("my photos")
    catalog = load_catalog(root)
    assert catalog.df["landmark_id"].nunique() == 3
    assert [p for p in catalog.problems if "shortcut" in p] == [
        "2 shortcuts beside the class folders (e.g. 'Castle.lnk', 'Harbour'), which only Windows or macOS can follow: "
        "skipped; copy the folder here, or make a symbolic link to it (ln -s), which glr follows"]


def test_a_class_folder_that_is_an_archive_named_like_a_folder_is_said(tmp_path):
    # A class downloaded as a zip that a browser saved as `Castle`, without `.zip`: the class was dropped in silence
    # (a `Castle.zip` is said). A README, a note without an extension, is no archive.
    import zipfile

    root = _dataset(tmp_path / "data")
    with zipfile.ZipFile(root / "Castle", "w") as zf:
        zf.writestr("Castle/1.jpg", b"not read")
    (root / "README").write_text("my photos")
    catalog = load_catalog(root)
    assert catalog.df["landmark_id"].nunique() == 3
    assert catalog.problems == [
        "1 file beside the class folders is an archive without an extension, named like a folder (e.g. 'Castle': a zip "
        "archive), which glr does not read inside: skipped; unpack it into a class folder to use the photos"]

"""glr.data.split_folders: class folders inside train/val/test folders, and classes that are only named so."""

from pathlib import Path

import pytest

from conftest import write_image
from glr.data.datasets import load_catalog


def _photos(folder: Path, n: int, seed: int) -> None:
    for i in range(n):
        write_image(folder / f"{i}.jpg", seed=seed + i)


def test_a_class_train_of_photos_beside_a_class_test_of_bursts_are_both_classes(tmp_path):
    # Read as a split, test/'s bursts became the classes and the 3 photos of the class "train" were skipped as
    # "an unlabelled test set": a class lost.
    _photos(tmp_path / "train", 3, seed=0)
    _photos(tmp_path / "test" / "burst_1", 2, seed=10)
    _photos(tmp_path / "test" / "burst_2", 2, seed=20)
    catalog = load_catalog(tmp_path)
    assert sorted(catalog.names().values()) == ["test", "train"] and catalog.class_counts.sum() == 7
    assert catalog.problems == [
        "the folders 'test', 'train' are read as classes, not as train/test split folders: 'train' holds its photos "
        "directly, where a training split holds class folders; if they are a split, point glr at the one holding the "
        f"class folders, {tmp_path / 'test'}"]


@pytest.mark.parametrize("layout, reason", [
    ({"train": 2, "train/burst": 2, "test/burst_a": 2}, "'train' holds both photos and sub-folders"),
    ({"train/burst_1": 2, "training/burst_2": 2, "test/Louvre": 2},
     "their sub-folders share no name, where the splits of a dataset share its classes"),
])
def test_classes_named_like_splits_that_do_not_look_like_a_split_are_classes(tmp_path, layout, reason):
    for k, (folder, n) in enumerate(layout.items()):
        _photos(tmp_path / folder, n, seed=10 * k)
    catalog = load_catalog(tmp_path)
    top = sorted({f.split("/")[0] for f in layout})
    assert sorted(catalog.names().values()) == top and catalog.class_counts.sum() == sum(layout.values())
    assert f"are read as classes, not as train/test split folders: {reason}; if they are a split" in catalog.problems[0]


def test_train_and_test_folders_sharing_classes_are_a_split_and_the_note_says_how_to_read_them_as_classes(tmp_path):
    for k, name in enumerate(("Tower", "Bridge")):
        _photos(tmp_path / "train" / name, 2, seed=10 * k)
        _photos(tmp_path / "test" / name, 1, seed=10 * k + 5)
    catalog = load_catalog(tmp_path)
    assert sorted(catalog.names().values()) == ["Bridge", "Tower"] and catalog.class_counts.sum() == 6
    assert catalog.problems == [
        "the class folders inside 'test', 'train' are read as one dataset: glr makes its own train/validation split; "
        "if 'test', 'train' are classes themselves, rename them (e.g. 'test photos') to read them so"]


def test_kaggles_train_of_class_folders_and_flat_test_set_is_a_split(tmp_path):
    _photos(tmp_path / "train" / "Tower", 2, seed=0)
    _photos(tmp_path / "train" / "Bridge", 2, seed=10)
    _photos(tmp_path / "test", 2, seed=20)  # unlabelled
    catalog = load_catalog(tmp_path)
    assert sorted(catalog.names().values()) == ["Bridge", "Tower"]
    assert catalog.problems == [
        "the class folders inside 'train' are read as one dataset: glr makes its own train/validation split; "
        "if 'train' is a class itself, rename it (e.g. 'train photos') to read it so",
        "2 images in split folders, in no class folder (e.g. 'test/0.jpg', 'test/1.jpg'; an unlabelled test set?); skipped"]

"""Robustness of dataset reading, second part: landmark ids past int64, photos out of place, trees of folders."""

import pandas as pd

from glr.data.datasets import load_catalog
from glr.data.train_csv import parse_labels
from test_inspect_command import gldv2_with_labels


def test_landmark_ids_past_int64_are_said_as_too_large_not_as_not_integers(tmp_path):
    labels = ["7", "9223372036854775808", "18446744073709551616", "9223372036854775807"]
    catalog = load_catalog(gldv2_with_labels(tmp_path, labels))
    assert sorted(catalog.df["landmark_id"].unique()) == [7, 2**63 - 1]  # int64's largest is kept
    assert catalog.problems == [
        "6 rows have a landmark_id too large for glr (e.g. '9223372036854775808' on line 5, '18446744073709551616' on line "
        "8): glr keeps "
        "landmark ids as 64-bit integers, at most 9223372036854775807 (19 digits); skipped: number those landmarks "
        "below that in train.csv (and in train_label_to_category.csv)"]


def test_a_nineteen_digit_landmark_id_is_kept_when_another_row_is_not_a_number(tmp_path):
    # One bad label sent every label through the slow path, which took 18 digits at most: the 19-digit
    # landmark was skipped as "not an integer" there, and read in a file without the bad row.
    catalog = load_catalog(gldv2_with_labels(tmp_path, ["1234567890123456789", "abc", "5"]))
    assert sorted(catalog.df["landmark_id"].unique()) == [5, 1234567890123456789]
    assert catalog.problems == ["3 rows have a landmark_id that is not an integer (e.g. 'abc' on line 5); skipped"]


def test_landmark_ids_that_differ_only_past_float_precision_are_never_merged(tmp_path):
    labels = ["12345678901234567", "12345678901234568", "abc", "-3"]  # "abc": the row-by-row path too
    catalog = load_catalog(gldv2_with_labels(tmp_path, labels))
    counts = catalog.df.groupby("landmark_id").size().to_dict()
    assert counts == {12345678901234567: 3, 12345678901234568: 3}
    assert any("negative landmark_id (e.g. -3" in p for p in catalog.problems)
    both = parse_labels(pd.Series(["12345678901234567", "12345678901234568", "+12345678901234569", "x"], dtype="string"))
    assert both.tolist()[:3] == [12345678901234567, 12345678901234568, 12345678901234569]


def test_gldv2_photos_in_the_wrong_abc_folder_are_found_and_said(tmp_path, monkeypatch):
    from conftest import make_gldv2
    from glr.data import photo_files

    root = make_gldv2(tmp_path / "gld", {1: 4, 2: 4})
    ids = pd.read_csv(root / "train.csv", dtype=str)["id"].tolist()
    moved = []
    for k, folder in ((0, "f/f/f"), (1, "0/0/0"), (2, ".thumbnails")):  # the last: hidden, so never used
        old = root / "train" / ids[k][0] / ids[k][1] / ids[k][2] / f"{ids[k]}.jpg"
        new = root / "train" / folder / old.name
        new.parent.mkdir(parents=True, exist_ok=True)
        old.rename(new)
        moved.append(new)
    catalog = load_catalog(root)
    assert len(catalog.df) == 7 and set(map(str, moved[:2])) <= set(catalog.paths())
    assert (f"2 photos not in GLDv2's folder for their id (train/a/b/c/ for an id starting 'abc') but elsewhere under "
            f"train/ (e.g. 'train/f/f/f/{ids[0]}.jpg', 'train/0/0/0/{ids[1]}.jpg'); used from there") in catalog.problems
    assert any(p.startswith("1 image file listed in train.csv not found") for p in catalog.problems)
    monkeypatch.setattr(photo_files, "WALK_FILES", 0)  # a tree past the walk's budget is not searched
    assert len(load_catalog(root).df) == 5


def test_a_country_landmark_photos_tree_is_said_as_read_one_class_per_country(tmp_path):
    from conftest import write_image

    for n, (country, landmark) in enumerate([("France", "Eiffel"), ("France", "Louvre"), ("Italy", "Colosseum"),
                                             ("Italy", "Pisa"), ("Italy", "Duomo"), ("Italy", "Trevi")]):
        for i in range(2):
            write_image(tmp_path / "trip" / country / landmark / f"{i}.jpg", seed=10 * n + i)
    catalog = load_catalog(tmp_path / "trip")
    assert sorted(catalog.df["name"].unique()) == ["France", "Italy"]  # read as before: each class folder one landmark
    assert catalog.problems == [
        "the class folders hold their photos only in sub-folders (e.g. 'France': 'Eiffel', 'Louvre'; 'Italy': "
        "'Colosseum', 'Duomo', 'Pisa', ...): each class folder is read as one landmark, its sub-folders' photos "
        "together. If the sub-folders are the landmarks (a tree like country/landmark/photos), move them side by side "
        "into one folder and choose that folder; sub-folders of one landmark (days, trips) are right as they are"]
    write_image(tmp_path / "trip" / "France" / "cover.jpg", seed=99)  # a class folder with photos of its own: no note
    assert load_catalog(tmp_path / "trip").problems == []


def test_one_id_under_two_landmarks_with_different_urls_is_skipped_and_named(tmp_path):
    from conftest import make_gldv2

    root = make_gldv2(tmp_path / "gld", {1: 3, 2: 3}, url_column=True)
    first = pd.read_csv(root / "train.csv", dtype=str).iloc[0]
    with open(root / "train.csv", "a") as fh:  # the same id again, another landmark and another photo's url
        fh.write(f"{first['id']},https://elsewhere.example/other.jpg,2\n")
    catalog = load_catalog(root)
    assert first["id"] not in set(catalog.df["id"]) and len(catalog.df) == 5
    assert catalog.problems == [f"1 id listed under more than one landmark_id (e.g. '{first['id']}' on lines 2 and 8: 1, 2); "
                                "skipped, "
                                "as which landmark the photo shows is unknown"]


def test_a_dataset_folder_that_is_a_link_and_a_read_only_dataset_are_read_and_left_unwritten(tmp_path, capsys):
    import os

    from conftest import make_gldv2
    from glr.cli import main

    root = make_gldv2(tmp_path / "real", {1: 3, 2: 3})
    (tmp_path / "link").symlink_to(root)

    def tree():
        return sorted((str(p.relative_to(root)), p.stat().st_mtime_ns, p.stat().st_size) for p in root.rglob("*"))

    before = tree()
    os.chmod(root, 0o555)  # as a read-only mount looks to a user (root may still write: the tree is compared after)
    try:
        assert main(["inspect", str(tmp_path / "link")]) == 0
    finally:
        os.chmod(root, 0o755)
    out = capsys.readouterr().out
    assert "classes    2" in out and "problems   none" in out
    assert tree() == before  # nothing written into the dataset: the caches live in the user cache folder


def test_a_landmark_id_a_spreadsheet_wrote_as_a_number_says_so(tmp_path):
    catalog = load_catalog(gldv2_with_labels(tmp_path, ["1.23457E+16", "5", "7"]))
    assert sorted(catalog.df["landmark_id"].unique()) == [5, 7]
    assert catalog.problems == ["3 rows have a landmark_id in E notation, as a spreadsheet writes a long number (e.g. "
                                "'1.23457E+16' on line 2), which keeps only its first digits; skipped: format the "
                                "landmark_id column as Text and save train.csv again from the original file"]


def test_camera_raws_in_class_folders_are_named_as_raws_to_export_as_jpeg(tmp_path):
    from conftest import write_image
    for name in ("Tower", "Gate"):
        write_image(tmp_path / name / "0.jpg", seed=0)
        for raw in ("DSC_1.NEF", "IMG_2.CR3", "_3.ARW"):
            (tmp_path / name / raw).write_bytes(b"II*\x00" + bytes(60))
    catalog = load_catalog(tmp_path)
    assert len(catalog.df) == 2
    assert catalog.problems == [
        "6 camera raw photos in class folders (e.g. 'Gate/DSC_1.NEF', 'Gate/IMG_2.CR3', 'Gate/_3.ARW'): a format glr "
        "cannot read; skipped: export them as JPEG first (glr reads JPEG, PNG, WebP, HEIC, AVIF, GIF, BMP, TIFF or ICO)"]


def test_a_photos_export_with_sidecars_beside_each_photo_says_them_once_as_sidecars(tmp_path):
    from conftest import write_image
    for name in ("Tower", "Gate"):
        for i in range(3):
            write_image(tmp_path / name / f"IMG_{i}.jpg", seed=i)
            (tmp_path / name / f"IMG_{i}.jpg.xmp").write_text("<x:xmpmeta/>")
            (tmp_path / name / f"IMG_{i}.AAE").write_text("<?xml?>")
    catalog = load_catalog(tmp_path)
    assert len(catalog.df) == 6 and catalog.problems == [
        "12 sidecar files in class folders (e.g. 'Gate/IMG_0.AAE', 'Gate/IMG_0.jpg.xmp', 'Gate/IMG_1.AAE'): a photo "
        "app's edits and metadata, written beside its photos (the photos are read); passed over"]


def _locked(monkeypatch, *folders):
    """os.scandir refusing `folders`, as `chmod 000` does for a user who is not root (the tests may run as root)."""
    import os
    from pathlib import Path
    real = os.scandir

    def scandir(path="."):
        if Path(path) in folders:
            raise PermissionError(13, "Permission denied", str(path))
        return real(path)
    monkeypatch.setattr(os, "scandir", scandir)


def test_half_the_class_folders_unreadable_are_said_in_one_line_and_the_rest_read(tmp_path, monkeypatch):
    from conftest import write_image
    names = [f"class_{i}" for i in range(10)]
    for i, name in enumerate(names):
        write_image(tmp_path / name / "0.jpg", seed=i)
    _locked(monkeypatch, *(tmp_path / n for n in names[::2]))
    catalog = load_catalog(tmp_path)
    assert sorted(catalog.df["name"].unique()) == ["class 1", "class 3", "class 5", "class 7", "class 9"]
    assert catalog.problems == [
        "5 class folders cannot be listed (Permission denied; e.g. 'class_0', 'class_2', 'class_4'); skipped: give your "
        "user permission to read them (chmod -R u+rX, or copy them as yourself)"]


def test_a_class_folder_unreadable_inside_a_split_folder_is_said_not_called_empty(tmp_path, monkeypatch):
    from conftest import write_image
    for i, rel in enumerate(("train/Tower/a.jpg", "train/Gate/b.jpg", "val/Tower/c.jpg", "val/Gate/d.jpg")):
        write_image(tmp_path / rel, seed=i)
    _locked(monkeypatch, tmp_path / "val" / "Gate")
    catalog = load_catalog(tmp_path)
    assert len(catalog.df) == 3 and not any("no images" in p for p in catalog.problems), catalog.problems
    assert catalog.problems[0].startswith("1 class folder cannot be listed (Permission denied; e.g. 'Gate'); skipped")


def test_a_photos_library_and_an_app_among_the_class_folders_are_skipped_as_macos_packages(tmp_path):
    from conftest import write_image
    for i, rel in enumerate(("Tower/a.jpg", "Gate/b.jpg", "Photos Library.photoslibrary/originals/0/X.jpeg",
                             "Photos Library.photoslibrary/resources/derivatives/0/X_1_105_c.jpeg",
                             "Preview.app/Contents/Resources/icon.png")):
        write_image(tmp_path / rel, seed=i)
    catalog = load_catalog(tmp_path)
    assert sorted(catalog.df["name"].unique()) == ["Gate", "Tower"]
    assert catalog.problems == [
        "2 class folders are macOS packages, not a folder of photos (e.g. 'Photos Library.photoslibrary', "
        "'Preview.app'; 'Photos Library.photoslibrary' is a Photos library); skipped: export the library's photos "
        "(Photos: File > Export) into one folder per class"]


def test_a_photos_library_given_as_the_dataset_says_to_export_its_photos(tmp_path):
    import pytest
    from conftest import write_image
    from glr.errors import DatasetError
    library = tmp_path / "Photos Library.photoslibrary"
    for i, rel in enumerate(("originals/0/X.jpeg", "originals/1/Y.jpeg", "resources/derivatives/0/X_1_105_c.jpeg")):
        write_image(library / rel, seed=i)
    with pytest.raises(DatasetError, match=r"a Photos library \(a macOS package\), not a dataset folder; glr does not "
                                           r"read inside a photo library: export its photos"):
        load_catalog(library)

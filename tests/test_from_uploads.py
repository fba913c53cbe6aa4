"""glr.data.from_uploads: the names a dataset made in the browser may take."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from glr.data.datasets import load_catalog
from conftest import zip_of
from glr.data.from_uploads import build_dataset, classes_from_zip, folder_name, name_problem, new_dataset_folder
from glr.errors import DatasetError


def _jpeg(seed: int) -> bytes:
    arr = np.random.default_rng(seed).integers(0, 256, (40, 40, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(arr).save(buffer, format="JPEG")
    return buffer.getvalue()


@pytest.mark.parametrize("name", [".trip", "__MACOSX", ".git"])
def test_a_name_glr_would_pass_over_when_reading_is_refused(name):
    with pytest.raises(DatasetError, match="a hidden or system folder's name, which glr does not read"):
        folder_name(name, "class name")


def test_a_class_named_like_a_hidden_folder_is_skipped_with_a_message_not_lost(tmp_path):
    # A class typed as ".tower" was written as the folder .tower/, which the class-folder reader
    # passes over: its photos were in the dataset on disk and never in a catalog.
    built = build_dataset("trip", {".tower": [("a.jpg", _jpeg(1)), ("b.jpg", _jpeg(2))],
                                   "bridge": [("c.jpg", _jpeg(3)), ("d.jpg", _jpeg(4))],
                                   "gate": [("e.jpg", _jpeg(5)), ("f.jpg", _jpeg(6))]}, root=tmp_path)
    assert built.counts == {"bridge": 2, "gate": 2}
    assert built.problems[0].startswith("class name '.tower': a hidden or system folder's name")
    assert not (built.path / ".tower").exists()
    assert sorted(set(load_catalog(built.path).df["name"])) == ["bridge", "gate"]


def test_classes_that_differ_only_in_case_are_one_class_with_a_message(tmp_path):
    # Two folders "Tower" and "tower" were two classes of one landmark (and one folder, or a crash, on
    # the case-blind disks of macOS and Windows); "Old Bridge" and "Old_Bridge" were merged in silence.
    built = build_dataset("trip", {"Tower": [("a.jpg", _jpeg(1)), ("b.jpg", _jpeg(2))], "tower": [("c.jpg", _jpeg(3))],
                                   "Old Bridge": [("d.jpg", _jpeg(4))], "Old_Bridge": [("e.jpg", _jpeg(5))]},
                          root=tmp_path)
    assert built.counts == {"Tower": 3, "Old_Bridge": 2}
    assert "classes 'Tower' and 'tower' name the same folder" in built.problems[0]
    assert "classes 'Old Bridge' and 'Old_Bridge' name the same folder" in built.problems[1]
    assert sorted(p.name for p in built.path.iterdir()) == ["Old_Bridge", "Tower"]


def test_same_folder_groups_are_the_classes_build_dataset_merges():
    from glr.data.from_uploads import same_folder_groups

    assert same_folder_groups(["Tower", "Gate", "tower", "Old Bridge", "CON", "Old_Bridge", "con"]) == [
        ["Tower", "tower"], ["Old Bridge", "Old_Bridge"]]  # CON cannot be a class: said on its own
    assert same_folder_groups(["Gate", "Tower"]) == []


def test_a_class_name_from_a_mac_in_decomposed_unicode_is_the_same_class_as_the_one_typed(tmp_path):
    import unicodedata

    typed, from_mac = "Café", unicodedata.normalize("NFD", "Café")  # a Mac writes the accent as its own character
    built = build_dataset("trip", {typed: [("a.jpg", _jpeg(1))], from_mac: [("b.jpg", _jpeg(2))],
                                   "Tower": [("c.jpg", _jpeg(3))]}, root=tmp_path)
    assert built.counts == {"Café": 2, "Tower": 1}  # the decomposed name was refused as "unsafe" before
    assert "name the same folder" in built.problems[0] and "Unicode form" in built.problems[0]


def test_photos_given_as_paths_are_copied_as_they_are(tmp_path):
    from glr.data.from_uploads import stored_jpeg

    kept = []
    for i in range(2):
        kept.append(tmp_path / f"{i}.jpg")
        kept[-1].write_bytes(stored_jpeg(_jpeg(i), f"{i}.jpg"))
    built = build_dataset("trip", {"gate": [("0.jpg", kept[0])], "bridge": [("1.jpg", kept[1])]}, root=tmp_path / "up")
    assert (built.path / "gate" / "0001.jpg").read_bytes() == kept[0].read_bytes()
    assert built.counts == {"gate": 1, "bridge": 1}


def test_a_kept_photo_removed_meanwhile_is_named_not_a_traceback(tmp_path):
    from glr.data.from_uploads import stored_jpeg

    kept = [tmp_path / f"{i}.jpg" for i in range(3)]
    for i, path in enumerate(kept):
        path.write_bytes(stored_jpeg(_jpeg(i), path.name))
    kept[1].unlink()  # another tab removed it, or it was pruned
    built = build_dataset("trip", {"gate": [("0.jpg", kept[0]), ("1.jpg", kept[1])], "bridge": [("2.jpg", kept[2])]},
                          root=tmp_path / "up")
    assert built.counts == {"gate": 1, "bridge": 1}
    assert built.problems == ["gate/1.jpg: no longer kept (removed meanwhile); drop it again"]  # was FileNotFoundError


def test_a_dataset_name_that_differs_only_in_case_from_one_made_is_taken(tmp_path):
    photos = {"gate": [("a.jpg", _jpeg(1))], "bridge": [("b.jpg", _jpeg(2))]}
    build_dataset("Trip", photos, root=tmp_path)
    # Was a second folder "trip" beside "Trip" here, and the first one's folder (or a crash) on macOS and Windows.
    with pytest.raises(DatasetError, match="a dataset named 'Trip' already exists"):
        build_dataset("trip", photos, root=tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["Trip"]


def test_an_uploads_folder_that_is_a_file_is_named_not_a_traceback(tmp_path):
    (tmp_path / "afile").write_text("not a folder")
    photos = {"gate": [("a.jpg", _jpeg(1))], "bridge": [("b.jpg", _jpeg(2))]}
    # Was NotADirectoryError from the writing, on the Dataset page's Make the dataset.
    with pytest.raises(DatasetError, match=r"afile is a file, not a folder: no dataset can be made"):
        build_dataset("trip", photos, root=tmp_path / "afile" / "uploads")


@pytest.mark.parametrize("name, problem", [("", "use 1 to 64"), ("   ", "use 1 to 64"), ("..", "not only dots"),
                                           ("a/b", "no '/'"), ("x" * 65, "use 1 to 64"), ("trip", "already exists"),
                                           ("TRIP", "a dataset named 'trip' already exists")])
def test_a_dataset_name_is_checked_before_any_photo_is_read(tmp_path, name, problem):
    (tmp_path / "trip").mkdir()
    with pytest.raises(DatasetError, match=problem.replace("(", r"\(")):
        new_dataset_folder(name, root=tmp_path)
    assert new_dataset_folder(" My Trip ", root=tmp_path) == tmp_path / "My_Trip"  # the folder build_dataset makes
    assert problem.split(" (")[0] in name_problem(name, dataset=True, root=tmp_path)  # the form's words
    assert name_problem("My Trip", dataset=True, root=tmp_path) is None


def test_a_name_pasted_by_mistake_is_echoed_in_part():
    with pytest.raises(DatasetError) as caught:
        folder_name("word " * 2000, "dataset name")
    assert "(9,999 characters)" in str(caught.value) and len(str(caught.value)) < 300  # was all 10,000 of them


def test_half_written_datasets_a_killed_server_left_are_cleaned_when_the_next_is_made(tmp_path):
    import os
    import time

    old = time.time() - 7200

    def half_written(name: str, recent_class: bool = False) -> Path:
        folder = tmp_path / name
        (folder / "cat").mkdir(parents=True)
        (folder / "cat" / "0001.jpg").write_bytes(_jpeg(1))
        os.utime(folder, (old, old))
        os.utime(folder / "cat", (time.time(),) * 2 if recent_class else (old, old))
        return folder

    stale, busy = half_written(".trip.k2j4h5g6.partial"), \
        half_written(".dogs.zz99yy88.partial", recent_class=True)  # another build writing its photos now
    # Hidden folders that are not glr's are left alone, even named as a build's were before ".partial" (".my.settings").
    mine = [half_written(name) for name in (".my notes", ".my.settings", ".photos.backup01")]
    build_dataset("fresh", {"a": [("1.jpg", _jpeg(2))], "b": [("2.jpg", _jpeg(3))]}, root=tmp_path)
    # Were left for ever: hidden, so no one saw them, each up to 500 MB.
    assert not stale.exists() and busy.exists() and all(folder.exists() for folder in mine)
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith(".")) == ["fresh"]


def _classes(zipped: bytes) -> dict[str, list[str]]:
    classes, _ = classes_from_zip(zipped)
    return {name: [member for member, _ in photos] for name, photos in classes.items()}


def test_class_folders_two_folders_down_are_found():
    # A folder unzipped into one of its name, then zipped again: "trip/trip/Tower/a.jpg" made one class, "trip".
    zipped = zip_of({f"trip/trip/{c}/{i}.jpg": _jpeg(i) for c in ("Tower", "Bridge") for i in range(2)})
    assert _classes(zipped) == {"Bridge": ["trip/trip/Bridge/0.jpg", "trip/trip/Bridge/1.jpg"],
                                "Tower": ["trip/trip/Tower/0.jpg", "trip/trip/Tower/1.jpg"]}


def test_a_photo_beside_the_class_folders_in_the_zips_folder_is_said_not_made_a_class_of_everything():
    # "trip/cover.jpg" beside trip/Tower and trip/Bridge made one class, "trip", of every photo.
    zipped = zip_of({"trip/cover.jpg": _jpeg(9), **{f"trip/{c}/{i}.jpg": _jpeg(i) for c in ("Tower", "Bridge") for i in range(2)}})
    classes, problems = classes_from_zip(zipped)
    assert sorted(classes) == ["Bridge", "Tower"]
    assert problems == ["the zip: 1 photo outside a class folder skipped (e.g. 'trip/cover.jpg'); "
                        "put each class's photos in a folder named after it"]


def test_one_class_folder_with_a_sub_folder_is_still_that_class():
    zipped = zip_of({"Tower/a.jpg": _jpeg(1), "Tower/b.jpg": _jpeg(2), "Tower/2019/c.jpg": _jpeg(3)})
    assert _classes(zipped) == {"Tower": ["Tower/2019/c.jpg", "Tower/a.jpg", "Tower/b.jpg"]}


def _finder_zip(members: dict[str, bytes]) -> bytes:
    """A zip as macOS' Finder writes it: UTF-8 names without the flag that says they are UTF-8."""
    placeholders = {name: "".join(c if c.isascii() else "Q" * len(c.encode()) for c in name) for name in members}
    zipped = zip_of({placeholders[n]: data for n, data in members.items()})
    for name, placeholder in placeholders.items():
        zipped = zipped.replace(placeholder.encode(), name.encode())
    return zipped


def test_a_class_named_in_utf8_by_a_zip_that_does_not_say_so_keeps_its_name(tmp_path):
    # Python reads such names as the DOS code page: "Café" became "Caf├⌐" (or "Cafe╠ü" from a Mac), refused
    # as a class name ("use letters, digits ...").
    zipped = _finder_zip({"Café/a.jpg": _jpeg(1), "Café/b.jpg": _jpeg(2), "Tower/c.jpg": _jpeg(3), "Tower/d.jpg": _jpeg(4)})
    assert not any(i.flag_bits & 0x800 for i in zipfile.ZipFile(io.BytesIO(zipped)).infolist())
    classes, problems = classes_from_zip(zipped)
    assert sorted(classes) == ["Café", "Tower"] and problems == []
    built = build_dataset("trip", classes, root=tmp_path)
    assert built.counts == {"Café": 2, "Tower": 2} and built.problems == []


def test_a_zip_of_classes_named_train_and_test_keeps_them_as_classes_and_says_why():
    # A class "train" of loose photos and a class "test" of bursts in sub-folders: the bursts became the classes,
    # and the class "train" was skipped as photos outside a class folder.
    zipped = zip_of({"trip/train/a.jpg": _jpeg(1), "trip/train/b.jpg": _jpeg(2),
                     "trip/test/burst1/c.jpg": _jpeg(3), "trip/test/burst2/d.jpg": _jpeg(4)})
    classes, problems = classes_from_zip(zipped)
    assert {c: len(p) for c, p in classes.items()} == {"train": 2, "test": 2}
    assert problems == ["the zip: the folders test, train are read as classes, not as train/test split folders: "
                        "'train' holds its photos directly, where a training split holds class folders; if they are "
                        "a split, zip the class folders of 'test' alone"]


def test_class_folders_inside_train_and_val_folders_of_a_zip_are_the_classes():
    # "train" and "val" were the two classes of the dataset, each holding every landmark.
    zipped = zip_of({**{f"flowers/{s}/{c}/{i}.jpg": _jpeg(i) for s in ("train", "val") for c in ("rose", "tulip")
                        for i in range(2)}, "flowers/test/unknown.jpg": _jpeg(7)})
    classes, problems = classes_from_zip(zipped)
    assert {c: len(p) for c, p in classes.items()} == {"rose": 4, "tulip": 4}
    assert problems == ["the zip: the class folders inside train, val are read as one dataset: glr makes its own "
                        "train/validation split",
                        "the zip: 1 photo outside a class folder skipped (e.g. 'flowers/test/unknown.jpg'); put each "
                        "class's photos in a folder named after it"]


def test_a_stored_photo_converts_the_colours_of_its_own_pixels_only(monkeypatch):
    # A dataset made in the browser stored a 12 MP Display P3 photo (an iPhone's profile, a phone's AVIF nclx) after
    # converting all 12 million pixels to sRGB, then shrank it to STORED_SIDE: now only the stored pixels are converted.
    from conftest import colour_conversions, display_p3_png
    from glr.data import from_uploads
    from glr.data.images import decode_image

    png = display_p3_png()
    converted = colour_conversions(monkeypatch)
    monkeypatch.setattr(from_uploads, "STORED_SIDE", 16)
    stored = Image.open(io.BytesIO(from_uploads.stored_jpeg(png, "p3.png")))
    assert stored.size == (16, 12)
    assert converted == [(16, 12)]
    shown = decode_image(png)[0, 0].astype(int)
    assert tuple(shown) != (200, 100, 50) and np.abs(np.asarray(stored).astype(int) - shown).max() <= 3  # a JPEG

"""Robustness of a dataset made in the browser (glr.data.from_uploads): zip slip, non-images, oversized
zips, a zip with no class folders, an empty class, a taken or unsafe name. Nothing unsafe is ever written."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from glr.data import datasets
from glr.data.from_uploads import build_dataset, classes_from_zip
from glr.errors import DatasetError
from conftest import zip_of


def _jpeg(seed: int = 0, size: int = 40, fmt: str = "JPEG") -> bytes:
    arr = np.random.default_rng(seed).integers(0, 256, (size, size, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(arr).save(buffer, format=fmt)
    return buffer.getvalue()


def files_under(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


def test_a_zip_slip_member_is_refused_and_nothing_leaves_the_folder(tmp_path):
    root = tmp_path / "deep" / "uploads"
    data = zip_of({"tower/1.jpg": _jpeg(1), "tower/2.jpg": _jpeg(2), "bridge/1.jpg": _jpeg(3),
                 "../../escape.jpg": _jpeg(4), "tower/../../../up.jpg": _jpeg(5), "/tmp/abs.jpg": _jpeg(6)})
    classes, problems = classes_from_zip(data, "album.zip")
    assert sorted(classes) == ["bridge", "tower"] and len(classes["tower"]) == 2
    assert any("3 files with unsafe paths skipped" in p for p in problems)
    built = build_dataset("album", classes, root=root)
    assert files_under(tmp_path) == ["deep/uploads/album/bridge/0001.jpg", "deep/uploads/album/tower/0001.jpg",
                                     "deep/uploads/album/tower/0002.jpg"]
    assert built.counts == {"tower": 2, "bridge": 1}
    catalog = datasets.load_catalog(built.path)  # the folder glr reads, as any dataset
    assert sorted(catalog.df["name"].unique()) == ["bridge", "tower"] and not catalog.problems


def test_a_non_image_member_is_skipped_with_its_name(tmp_path):
    data = zip_of({"rose/1.jpg": _jpeg(1), "rose/notes.txt": b"hello", "tulip/fake.jpg": b"not a photo at all",
                 "tulip/2.png": _jpeg(2, fmt="PNG")})
    classes, problems = classes_from_zip(data, "flowers.zip")
    assert any("1 file that is not an image skipped (e.g. 'rose/notes.txt')" in p for p in problems)
    built = build_dataset("flowers", classes, root=tmp_path)
    assert any("fake.jpg" in p and "not an image" in p for p in built.problems)
    assert files_under(built.path) == ["rose/0001.jpg", "tulip/0001.jpg"]  # the PNG is now a JPEG glr wrote


def test_an_oversized_zip_is_cut_at_the_limits_and_an_oversized_dataset_refused(tmp_path):
    data = zip_of({f"a/{i}.jpg": _jpeg(i, size=64) for i in range(6)})
    classes, problems = classes_from_zip(data, "big.zip", max_files=4)
    assert sum(map(len, classes.values())) == 4 and any("only the first 4 images" in p for p in problems)
    classes, problems = classes_from_zip(data, "big.zip", max_bytes=len(_jpeg(0, size=64)) * 2)
    assert any("skipped past" in p for p in problems)
    with pytest.raises(DatasetError, match="over the limit of 3 photos"):
        build_dataset("big", {"a": [("x.jpg", _jpeg(1))] * 2, "b": [("y.jpg", _jpeg(2))] * 2}, root=tmp_path,
                      max_files=3)
    assert not (tmp_path / "big").exists()


def test_a_zip_with_no_class_folders(tmp_path):
    classes, problems = classes_from_zip(zip_of({"1.jpg": _jpeg(1), "2.jpg": _jpeg(2)}), "flat.zip")
    assert classes == {} and any("no class folders found" in p for p in problems)
    assert any("2 photos outside a class folder skipped" in p for p in problems)
    with pytest.raises(DatasetError, match="no class has a usable photo"):
        build_dataset("flat", classes, root=tmp_path)
    assert list(tmp_path.iterdir()) == []  # not even a temporary folder is left
    # Zipping a folder puts one folder around the classes: it is looked through.
    wrapped, _ = classes_from_zip(zip_of({"trip/a/1.jpg": _jpeg(1), "trip/b/2.jpg": _jpeg(2)}), "trip.zip")
    assert sorted(wrapped) == ["a", "b"]


def test_an_empty_class_is_left_out_with_a_message(tmp_path):
    built = build_dataset("pets", {"cat": [("c.jpg", _jpeg(1))], "dog": [("d.jpg", _jpeg(2))], "fish": [],
                                   "bird": [("b.jpg", b"")]}, root=tmp_path)
    assert sorted(built.counts) == ["cat", "dog"]
    assert any("2 classes with no usable photo left out: bird, fish" in p for p in built.problems)
    assert any("empty file" in p for p in built.problems)
    one = build_dataset("solo", {"cat": [("c.jpg", _jpeg(1))]}, root=tmp_path)
    assert any("only one class" in p for p in one.problems)


def test_a_duplicate_or_unsafe_dataset_name_is_refused(tmp_path):
    first = build_dataset("Trip 2026", {"a": [("1.jpg", _jpeg(1))], "b": [("2.jpg", _jpeg(2))]}, root=tmp_path)
    assert first.path.name == "Trip_2026"
    before = files_under(tmp_path)
    with pytest.raises(DatasetError, match="a dataset named 'Trip_2026' already exists"):
        build_dataset("Trip 2026", {"c": [("3.jpg", _jpeg(3))]}, root=tmp_path)
    assert files_under(tmp_path) == before  # the first one is untouched
    for bad in ("../escape", "..", "a/b", "", "x" * 100):
        with pytest.raises(DatasetError, match="dataset name"):
            build_dataset(bad, {"a": [("1.jpg", _jpeg(1))]}, root=tmp_path)
    built = build_dataset("odd classes", {"../up": [("1.jpg", _jpeg(1))], "ok": [("2.jpg", _jpeg(2))]}, root=tmp_path)
    assert any("class name '../up'" in p for p in built.problems) and list(built.counts) == ["ok"]
    assert files_under(tmp_path / "odd_classes") == ["ok/0001.jpg"]


def test_an_iphone_album_of_heic_photos_becomes_a_dataset(tmp_path):
    fixtures = Path(__file__).parent / "fixtures"
    data = zip_of({"tower/IMG_0001.HEIC": (fixtures / "photo.heic").read_bytes(),
                   "tower/IMG_0002.heic": (fixtures / "photo-rotated.heic").read_bytes(), "bridge/1.jpg": _jpeg(1)})
    classes, problems = classes_from_zip(data, "iphone.zip")
    assert sorted(classes) == ["bridge", "tower"] and len(classes["tower"]) == 2 and not problems
    built = build_dataset("iphone", classes, root=tmp_path)
    assert files_under(built.path) == ["bridge/0001.jpg", "tower/0001.jpg", "tower/0002.jpg"] and not built.problems
    sizes = sorted(Image.open(built.path / "tower" / name).size for name in ("0001.jpg", "0002.jpg"))
    assert sizes == [(48, 64), (64, 48)]  # the portrait one written upright, as a JPEG glr can read anywhere


def test_a_108_megapixel_phone_photo_is_stored_at_2048_pixels_not_refused(tmp_path):
    # Phones save 108 and 200 MP photos. A dataset made in the browser keeps them, decoded at reduced size
    # (a full decode is over the 90 MP limit) and stored with the longer side at 2048 px: more than glr reads.
    from PIL import ImageDraw

    from glr.data.from_uploads import STORED_SIDE

    photo = Image.new("RGB", (12000, 9000), (90, 140, 200))
    ImageDraw.Draw(photo).rectangle([3000, 2000, 9000, 8000], fill=(200, 180, 120))
    buffer = io.BytesIO()
    photo.save(buffer, "JPEG", quality=80)
    built = build_dataset("phone", {"tower": [("IMG_0001.jpg", buffer.getvalue())], "bridge": [("1.jpg", _jpeg(1))]},
                          root=tmp_path)
    assert not built.problems and built.counts == {"tower": 1, "bridge": 1}
    stored = Image.open(built.path / "tower" / "0001.jpg")
    assert stored.size == (STORED_SIDE, STORED_SIDE * 3 // 4)
    assert stored.getpixel((STORED_SIDE // 2, STORED_SIDE * 3 // 8))[0] > 150  # the rectangle, where it was
    assert Image.open(built.path / "bridge" / "0001.jpg").size == (40, 40)  # a small photo is never enlarged


@pytest.mark.parametrize("top", ["", "gldv2/"])
def test_a_zip_of_a_gldv2_dataset_is_said_to_be_one_not_read_as_classes_named_by_hex_digits(top):
    # train.csv beside train/a/b/c/<id>.jpg: the folders are the ids' first hex digits, not landmarks.
    ids = ["0123456789abcdef", "0fedcba987654321", "f0112233445566ff", "fbeeddccbbaa9988"]
    members = {f"{top}train.csv": "id,landmark_id\n" + "".join(f"{i},{k % 2}\n" for k, i in enumerate(ids))}
    members.update({f"{top}train/{i[0]}/{i[1]}/{i[2]}/{i}.jpg": _jpeg(k) for k, i in enumerate(ids)})
    classes, problems = classes_from_zip(zip_of(members), "gldv2.zip")
    assert classes == {}  # was {'0': 2, 'f': 2}: two "landmarks" named 0 and f, in silence
    assert any(p.startswith("gldv2.zip: laid out as GLDv2 (photos in train/a/b/c/ named by their id") and
               'unzip it and choose it as "A folder on this computer"' in p for p in problems)
    # Class folders whose names happen to be hex digits are still classes.
    classes, _ = classes_from_zip(zip_of({"a/1.jpg": _jpeg(1), "b/2.jpg": _jpeg(2), "c/3.jpg": _jpeg(3)}), "abc.zip")
    assert sorted(classes) == ["a", "b", "c"]


def test_a_zip_holding_only_a_train_csv_says_it_holds_no_photos():
    classes, problems = classes_from_zip(zip_of({"train.csv": "id,landmark_id\n0123456789abcdef,1\n"}), "labels.zip")
    assert classes == {}
    assert problems == ["labels.zip: 1 file that is not an image skipped (e.g. 'train.csv')",
                        "labels.zip: holds no images (jpg, jpeg, jfif, jpe, png, webp, heic, heif, avif, bmp, gif, tif, tiff, ico)"]


@pytest.mark.parametrize("name", ["CON", "nul", "com1", "Con.txt", "Tower."])
def test_a_name_windows_cannot_give_a_folder_is_refused_by_the_form(tmp_path, name):
    # The class-folder reader says such folders cannot be copied to Windows; the form made them without a word.
    from glr.data.from_uploads import name_problem
    for dataset in (True, False):
        assert "a name Windows cannot give a folder" in name_problem(name, dataset=dataset, root=tmp_path)
    built = build_dataset("trip", {name: [("a.jpg", _jpeg(1))], "Gate": [("b.jpg", _jpeg(2))],
                                   "Con Dao": [("c.jpg", _jpeg(3))]}, root=tmp_path)
    assert built.counts == {"Gate": 1, "Con_Dao": 1} and not (built.path / name).exists()
    assert built.problems[0].startswith(f"class name {name!r}: a name Windows cannot give a folder")
    with pytest.raises(DatasetError, match="a name Windows cannot give a folder"):
        build_dataset(name, {"Gate": [("b.jpg", _jpeg(2))], "Tower": [("c.jpg", _jpeg(3))]}, root=tmp_path)


def test_a_class_named_as_a_macos_package_is_refused_as_reading_would_skip_it(tmp_path):
    built = build_dataset("trip", {"Tower.app": [("a.jpg", _jpeg(1))], "Gate": [("b.jpg", _jpeg(2))],
                                   "Bridge": [("c.jpg", _jpeg(3))]}, root=tmp_path)
    assert built.counts == {"Gate": 1, "Bridge": 1}
    assert built.problems[0].startswith("class name 'Tower.app': a name macOS takes for a package (an app)")
    assert sorted(datasets.load_catalog(built.path).df["name"].unique()) == ["Bridge", "Gate"]

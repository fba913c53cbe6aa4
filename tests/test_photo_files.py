"""glr.data.photo_files: a GLDv2 catalog's photos found on disk, ids a spreadsheet cut short among them."""

import os
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest

from conftest import write_image
from fetch_servers import FAST, jpeg, server  # noqa: F401 (server: a fixture)
from glr.data import fetch
from glr.data.datasets import load_catalog

IDS = ["0012345678901234", "0a1b2c3d4e5f6a7b", "1b2c3d4e5f6a7b8c", "2c3d4e5f6a7b8c9d"]


def _gldv2(root: Path, rows: str) -> Path:
    """GLDv2's layout with the photos of IDS, and a train.csv of `rows` (id,url,landmark_id)."""
    for i, iid in enumerate(IDS):
        write_image(root / "train" / iid[0] / iid[1] / iid[2] / f"{iid}.jpg", seed=i)
    (root / "train.csv").write_text("id,url,landmark_id\n" + rows)
    return root


def test_fetch_finds_the_photo_of_an_id_that_lost_its_leading_zeros_and_gets_nothing_again(tmp_path):
    # The catalog found the photo (its path padded), but kept the id "12345678901234": fetch looked for
    # train/1/2/3/12345678901234.jpg and would download again, under that name, a photo that was on disk.
    root = _gldv2(tmp_path, "12345678901234,http://x/a.jpg,1\n0a1b2c3d4e5f6a7b,http://x/b.jpg,1\n"
                            "1b2c3d4e5f6a7b8c,http://x/c.jpg,2\n2c3d4e5f6a7b8c9d,http://x/d.jpg,2\n")
    notes: list[str] = []
    root, ids = fetch.curated_ids(root, top_n=10, min_images=2, val_fraction=0.5, seed=0, notes=notes)
    assert sorted(ids) == sorted(IDS) and fetch.missing_ids(root, ids) == ([], 4)
    assert notes == ["1 id in train.csv lost its leading zeros (e.g. '12345678901234'; saved from a spreadsheet?): "
                     "read as GLDv2's 16-digit id (e.g. '0012345678901234'), as its photo is on disk"]


def test_an_id_listed_both_with_and_without_its_zeros_is_one_photo(tmp_path):
    # Two rows, one photo: it was trained (and validated) twice, as two photos.
    root = _gldv2(tmp_path, "0012345678901234,,1\n12345678901234,,1\n0a1b2c3d4e5f6a7b,,1\n"
                            "1b2c3d4e5f6a7b8c,,2\n2c3d4e5f6a7b8c9d,,2\n")
    catalog = load_catalog(root)
    assert sorted(catalog.df["id"]) == sorted(IDS) and catalog.paths().is_unique
    assert catalog.problems == [
        "1 id in train.csv lost its leading zeros (e.g. '12345678901234'; saved from a spreadsheet?): read as GLDv2's "
        "16-digit id (e.g. '0012345678901234'), as its photo is on disk; 1 of them listed with its zeros too, so the "
        "repeat is skipped"]


def test_ids_of_a_few_digits_in_a_dataset_numbered_so_are_left_as_they_are(tmp_path):
    for i, iid in enumerate(("101", "102", "201", "202")):
        write_image(tmp_path / "train" / iid[0] / iid[1] / iid[2] / f"{iid}.jpg", seed=i)
    (tmp_path / "train.csv").write_text("id,landmark_id\n101,1\n102,1\n201,2\n202,2\n999,2\n")
    catalog = load_catalog(tmp_path)
    assert sorted(catalog.df["id"]) == ["101", "102", "201", "202"]
    assert catalog.problems == ["1 image file listed in train.csv not found (e.g. 'train/9/9/9/999.jpg'); skipped"]


def _cut_release(root: Path, server, ids: list[str], on_disk: dict[str, bytes] | None = None) -> Path:
    """train.csv of `ids` (two landmarks), each url at `server` serving a photo, as the id is written; `on_disk`:
    files written where GLDv2's layout puts them (id -> bytes)."""
    rows = []
    for i, iid in enumerate(ids):
        server.routes[f"/{iid}.jpg"] = ("ok", jpeg(i))
        rows.append(f"{iid},{server.url}/{iid}.jpg,{1 + i % 2}")
    for iid, data in (on_disk or {}).items():
        fetch.image_path(root, iid).parent.mkdir(parents=True, exist_ok=True)
        fetch.image_path(root, iid).write_bytes(data)
    root.mkdir(parents=True, exist_ok=True)
    (root / "train.csv").write_text("id,url,landmark_id\n" + "\n".join(rows) + "\n")
    return root


def test_fetch_saves_the_photo_of_an_id_cut_short_under_its_16_digit_id(tmp_path, server):
    # An id a spreadsheet cut short, its photo not on disk yet: fetched and saved as train/1/2/3/12345678901234.jpg,
    # which no later look-up of GLDv2's id 0012345678901234 finds.
    root = _cut_release(tmp_path / "gld", server, ["12345678901234", *IDS[1:], "123"])
    report = fetch.fetch(root, top_n=2, min_images=1, **FAST)
    assert report.fetched == 5 and not report.failures
    assert fetch.is_valid_file(fetch.image_path(root, "0012345678901234"))
    assert fetch.is_valid_file(fetch.image_path(root, "0000000000000123"))
    assert not (root / "train" / "1" / "2").exists()  # nothing under the ids as cut
    assert server.hits["/12345678901234.jpg"] == 1  # asked by the url train.csv gives
    catalog = load_catalog(root)  # as training reads it: every photo found, under GLDv2's ids
    assert sorted(catalog.df["id"]) == sorted([*IDS, "0000000000000123"]) and catalog.paths().map(os.path.isfile).all()
    assert fetch.fetch(root, top_n=2, min_images=1, **FAST).already == 5  # and nothing is fetched again


def test_a_photo_of_an_id_cut_short_that_does_not_decode_is_fetched_again_under_its_16_digit_id(tmp_path, server):
    # The catalog padded the id (a file was there), so the look-up in train.csv found no row: "no usable url".
    root = _cut_release(tmp_path / "gld", server, ["12345678901234", *IDS[1:]], {"0012345678901234": b"broken"})
    report = fetch.fetch(root, top_n=2, min_images=1, **FAST)
    assert report.fetched == 4 and not report.failures
    assert fetch.is_valid_file(fetch.image_path(root, "0012345678901234"))


def test_a_photo_on_disk_under_the_id_as_cut_is_kept_so(tmp_path, server):
    root = _cut_release(tmp_path / "gld", server, ["12345678901234", *IDS[1:]], {"12345678901234": jpeg(7)})
    report = fetch.fetch(root, top_n=2, min_images=1, **FAST)
    assert (report.already, report.fetched) == (1, 3) and "/12345678901234.jpg" not in server.hits
    assert not fetch.image_path(root, "0012345678901234").exists()


@pytest.mark.parametrize("others", [[], ["0a1b2c3d4e5f6a7b"]])
def test_ids_of_digits_in_a_dataset_numbered_so_are_fetched_as_they_are(tmp_path, server, others):
    root = _cut_release(tmp_path / "gld", server, ["101", "102", "201", "202", *others])
    report = fetch.fetch(root, top_n=2, min_images=1, **FAST)
    assert report.fetched == 4 + len(others) and not report.failures
    assert all(fetch.is_valid_file(fetch.image_path(root, i)) for i in ("101", "102", "201", "202"))
    assert not fetch.image_path(root, "0000000000000101").exists()


@pytest.mark.parametrize("large", [False, True], ids=["checked-on-load", "checked-at-curation"])
def test_a_photo_saved_under_another_image_extension_is_found(tmp_path, monkeypatch, large):
    from PIL import Image

    from conftest import make_gldv2
    from glr.data.datasets import curate, load_catalog

    root = make_gldv2(tmp_path / "g", {1: 6, 2: 6, 3: 5})
    paths = load_catalog(root).paths().tolist()
    os.rename(paths[0], paths[0][:-4] + ".JPG")  # a camera's or a Windows tool's upper case
    os.rename(paths[1], paths[1][:-4] + ".jpeg")
    Image.open(paths[2]).save(paths[2][:-4] + ".png")  # converted
    os.remove(paths[2])
    os.remove(paths[3])  # and one photo missing in every form
    if large:
        monkeypatch.setattr("glr.data.datasets.MAX_ROWS_TO_CHECK", 5)
    catalog = load_catalog(root)
    split = curate(catalog, top_n=3)
    table = pd.concat([split.train, split.val])
    # Were reported "not found", and skipped.
    assert len(table) == 16 and table["path"].map(os.path.isfile).all()
    assert {os.path.splitext(p)[1] for p in table["path"]} == {".jpg", ".JPG", ".jpeg", ".png"}
    problems = catalog.problems + split.messages
    assert sum("1 image file listed in train.csv not found" in p for p in problems) == 1, problems


@pytest.mark.parametrize("where", ["images", "photos/2024", "."])
def test_a_train_csv_of_ones_own_beside_its_photos_in_another_folder_finds_them(tmp_path, where):
    # train.csv + images/ (Kaggle's and many tutorials' layout), or the photos beside train.csv: every photo was
    # "not found (e.g. 'train/I/M/G/IMG_1000.jpg')", and then "This folder also holds class folders of photos (e.g.
    # 'images'): ... move train.csv out of it", though 'images' holds the very photos train.csv lists.
    rows = []
    for c in (1, 2):
        for i in range(3):
            write_image(tmp_path / where / f"IMG_{c}{i:03d}.jpg", seed=10 * c + i)
            rows.append(f"IMG_{c}{i:03d}.jpg,{c}")
    (tmp_path / "train.csv").write_text("id,landmark_id\n" + "\n".join(rows) + "\n")
    catalog = load_catalog(tmp_path)
    assert len(catalog.df) == 6
    assert all(Path(p).parent == (tmp_path / where).resolve() or Path(p).parent == tmp_path / where
               for p in catalog.paths())
    # Then "6 photos not where GLDv2 keeps them (train/a/b/c/...)": noise, as this layout is not GLDv2's.
    assert catalog.problems == []


@pytest.mark.parametrize("train", [False, True])
def test_a_missing_photo_of_ones_own_is_shown_where_it_was_looked_for(tmp_path, train):
    # Was "not found (e.g. 'train/5/5.jpg')" with no train/ at all: a place never looked in.
    folder = tmp_path / ("train" if train else "images")
    for i in range(1, 5):
        write_image(folder / f"{i}.jpg", seed=i)
    (tmp_path / "train.csv").write_text("id,landmark_id\n1,1\n2,1\n3,2\n4,2\n5,2\n")
    catalog = load_catalog(tmp_path)
    assert len(catalog.df) == 4
    where = "under train/" if train else "in the dataset folder"
    assert catalog.problems == [f"1 image file listed in train.csv not found (e.g. '5.jpg', looked for anywhere {where}); "
                                "skipped"]


@pytest.mark.parametrize("train", ["train/", ""])
def test_a_photo_outside_its_folder_in_gldv2s_tree_is_still_said(tmp_path, train):
    # GLDv2's tree (train/a/b/c/, or a/b/c/ of its shards unpacked in the dataset folder) has a place to be "not in".
    ids = ["0a1b2c3d4e5f6a7b", "1b2c3d4e5f6a7b8c", "2c3d4e5f6a7b8c9d"]
    for k, i in enumerate(ids):
        write_image(tmp_path / train / i[0] / i[1] / i[2] / f"{i}.jpg", seed=k)
    write_image(tmp_path / train / "f" / "f" / "f" / "3d4e5f6a7b8c9d0e.jpg", seed=7)  # moved by hand
    (tmp_path / "train.csv").write_text("id,landmark_id\n" + "".join(f"{i},1\n" for i in ids) + "3d4e5f6a7b8c9d0e,2\n")
    catalog = load_catalog(tmp_path)
    assert len(catalog.df) == 4
    assert len(catalog.problems) == 1 and catalog.problems[0].startswith(
        "1 photo not in GLDv2's folder for its id" if train else "1 photo not where GLDv2 keeps it (a/b/c/ for an id")


@pytest.mark.parametrize("gldv2_tree, extensions, used", [(False, ["JPG", "jpeg", "jpg"], "IMG_1.jpg"),
                                                            (True, ["JPG", "jpeg"], "IMG_1.JPG")])
def test_an_id_with_photos_under_several_extensions_uses_the_jpg_and_says_so(tmp_path, gldv2_tree, extensions, used):
    # images/IMG_1.JPG, .jpeg and .jpg (a camera's, a converter's, an editor's): the first by name (.JPG) was used,
    # without a word, and the others never. In GLDv2's tree (train/I/M/G/) without the .jpg, the first by name.
    folder = tmp_path / ("train/I/M/G" if gldv2_tree else "images")
    for i, ext in enumerate(extensions):
        write_image(folder / f"IMG_1.{ext}", seed=i)
    write_image(folder / "IMG_2.JPG", seed=9)
    (tmp_path / "train.csv").write_text("id,landmark_id\nIMG_1,1\nIMG_2,1\n")
    catalog = load_catalog(tmp_path)
    assert sorted(os.path.basename(p) for p in catalog.paths()) == [used, "IMG_2.JPG"]
    shown = ", ".join(repr(f"IMG_1.{e}") for e in extensions)
    assert catalog.problems[-1] == (
        f"1 id has photos under several extensions (e.g. 'IMG_1': {shown}); {used!r} "
        "used (the .jpg first, else the first by name): rename the others if they are photos of their own")


def test_photos_under_several_extensions_beside_a_photo_not_found_say_both(tmp_path):
    # The message naming the twins took the name of the rows' paths, so the "not found" one below it crashed.
    for i, ext in enumerate(["JPG", "jpg"]):
        write_image(tmp_path / "images" / f"IMG_1.{ext}", seed=i)
    write_image(tmp_path / "images" / "IMG_2.jpg", seed=9)
    (tmp_path / "train.csv").write_text("id,landmark_id\nIMG_1,1\nIMG_2,1\nIMG_3,1\n")
    catalog = load_catalog(tmp_path, check_files=True)
    assert sorted(os.path.basename(p) for p in catalog.paths()) == ["IMG_1.jpg", "IMG_2.jpg"]
    assert any("several extensions" in p for p in catalog.problems)
    assert any(p.startswith("1 image file listed in train.csv not found") and "IMG_3" in p for p in catalog.problems)


@pytest.mark.parametrize("on_disk, in_csv", [("cafe\u0301", "caf\u00e9"), ("caf\u00e9", "cafe\u0301")])
@pytest.mark.parametrize("where", ["images/{}.jpg", "train/c/a/f/{}.jpg", "{}.JPG"])
def test_ids_find_their_photos_across_unicode_forms(tmp_path, on_disk, in_csv, where):
    """A photo a Mac saved decomposed (NFD) is found for an id typed composed (NFC) in train.csv, and the reverse."""
    root = tmp_path / "mine"
    write_image(root / where.format(on_disk), seed=1)
    write_image(root / where.format("tour"), seed=2)
    (root / "train.csv").write_text(f"id,landmark_id\n{in_csv},1\ntour,2\n")
    catalog = load_catalog(root)
    assert len(catalog.df) == 2, catalog.problems
    assert not any("not found" in p for p in catalog.problems)


def _bytes(fmt: str, **kw) -> bytes:
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (40, 30), (20, 120, 200)).save(buf, fmt, **kw)
    return buf.getvalue()


@pytest.mark.parametrize("listed, fmt", [("IMG_1", "PNG"), ("IMG_1.jpg", "BMP"), ("IMG_1", "WEBP"), ("IMG_1", "TIFF")])
def test_a_photo_file_without_an_extension_is_found_by_its_content(tmp_path, listed, fmt):
    # `IMG_1` on disk (a card read by a script, a download saved without its extension) was "not found".
    for i in range(2, 5):
        write_image(tmp_path / "images" / f"IMG_{i}.jpg", seed=i)
    (tmp_path / "images" / "IMG_1").write_bytes(_bytes("JPEG"))
    (tmp_path / "images" / "IMG_5").write_bytes(_bytes(fmt))
    (tmp_path / "train.csv").write_text(f"id,landmark_id\n{listed},1\nIMG_2,1\nIMG_3,2\nIMG_4,2\nIMG_5,2\n")
    catalog = load_catalog(tmp_path)
    assert catalog.problems == [] and len(catalog.df) == 5
    assert {os.path.basename(p) for p in catalog.paths()} >= {"IMG_1", "IMG_5"}


@pytest.mark.parametrize("content", [b"BMW service notes, 2024\n" * 4, b"<!doctype html><p>404</p>" * 3, b"",
                                     b"BM" + (9999).to_bytes(4, "little") + b"\x00" * 60])
def test_a_file_without_an_extension_that_is_no_photo_is_never_read_as_one(tmp_path, content):
    for i in range(2, 5):
        write_image(tmp_path / "images" / f"IMG_{i}.jpg", seed=i)
    (tmp_path / "images" / "IMG_1").write_bytes(content)  # `BM`: a BMP's magic, but its size is not the file's
    (tmp_path / "train.csv").write_text("id,landmark_id\nIMG_1,1\nIMG_2,1\nIMG_3,2\nIMG_4,2\n")
    catalog = load_catalog(tmp_path)
    assert len(catalog.df) == 3
    assert catalog.problems == ["1 image file listed in train.csv not found (e.g. 'IMG_1.jpg', looked for anywhere in "
                                "the dataset folder); skipped"]


def test_a_photo_without_an_extension_in_its_gldv2_folder_is_not_said_moved(tmp_path):
    root = _gldv2(tmp_path, "".join(f"{i},,{k % 2}\n" for k, i in enumerate(IDS)))
    i = IDS[1]
    bare = root / "train" / i[0] / i[1] / i[2] / i
    os.rename(str(bare) + ".jpg", bare)
    catalog = load_catalog(root)
    assert catalog.problems == [] and str(bare) in set(catalog.paths())


@pytest.mark.parametrize("on_disk, listed, found, note", [
    # A camera's or a scanner's 0001.jpg, its id saved by a spreadsheet as 1: every photo was "not found".
    (["0001.jpg", "0002.png", "0003.jpg"], ["1", "2", "3"], 3,
     "3 ids in train.csv lost their leading zeros (e.g. '1' for '0001.jpg'; saved from a spreadsheet?): their photos used"),
    (["0012345678901234.jpg", "0002.jpg", "0003.jpg"], ["12345678901234", "0002", "0003"], 3,
     "1 id in train.csv lost its leading zeros (e.g. '12345678901234' for '0012345678901234.jpg'; saved from a "
     "spreadsheet?): its photo used"),
    # 0001 listed itself: 1 is another photo, not found; 01.jpg beside 001.jpg: which one is unsure.
    (["0001.jpg", "0002.jpg", "0003.jpg"], ["0001", "1", "0002", "0003"], 3,
     "1 image file listed in train.csv not found (e.g. '1.jpg', looked for anywhere in the dataset folder); skipped"),
    (["01.jpg", "001.jpg", "0002.jpg", "0003.jpg"], ["1", "0002", "0003"], 2,
     "1 image file listed in train.csv not found (e.g. '1.jpg', looked for anywhere in the dataset folder); skipped"),
])
def test_ids_of_ones_own_that_lost_their_leading_zeros_find_their_photos(tmp_path, on_disk, listed, found, note):
    for k, name in enumerate(on_disk):
        write_image(tmp_path / "images" / name, seed=k)
    (tmp_path / "train.csv").write_text("id,landmark_id\n" + "".join(f"{i},{k % 2}\n" for k, i in enumerate(listed)))
    catalog = load_catalog(tmp_path)
    assert len(catalog.df) == found and catalog.paths().is_unique
    assert catalog.problems == [note]


def test_short_digit_ids_are_found_alike_in_arrow_and_object_text_across_pieces():
    from glr.data.photo_files import _shorter_than, _short_digits
    values = ["123", "0123456789abcdef", None, "12a", "é" * 8, "000000000000001", "1234567890123456", ""] * 3
    ids = pd.Series(values)
    want = [True, False, False, False, False, True, False, False] * 3
    assert _short_digits(ids).tolist() == want and _short_digits(ids.astype(object)).tolist() == want
    # a million rows at a time in the load: pieces of 5 rows here, over three Arrow chunks
    chunked = pd.Series(pd.arrays.ArrowStringArray(pa.chunked_array([values[:7], values[7:12], values[12:]])))
    assert _shorter_than(chunked, 16, rows=5).tolist() == _shorter_than(ids, 16).tolist()


def test_photo_start_says_whether_a_file_starts_as_a_photo_or_why_it_cannot_be_read(tmp_path):
    # is_photo's False hid why: a caller opened the file again to say "cannot be read (Permission denied)", and said
    # "not a photo's bytes" when that second open worked.
    from glr.data.photo_files import is_photo, photo_start

    write_image(tmp_path / "photo.jpg", seed=0)
    (tmp_path / "photo.jpg").rename(tmp_path / "IMG_1")
    (tmp_path / "notes").write_text("BM a note, not a bitmap")
    assert photo_start(str(tmp_path / "IMG_1")) is True and is_photo(str(tmp_path / "IMG_1"))
    assert photo_start(str(tmp_path / "notes")) is False and not is_photo(str(tmp_path / "notes"))
    gone = photo_start(str(tmp_path / "IMG_2"))
    assert isinstance(gone, FileNotFoundError) and not is_photo(str(tmp_path / "IMG_2"))
    if os.name == "posix" and os.geteuid() != 0:  # root reads any file
        (tmp_path / "IMG_1").chmod(0)
        assert isinstance(photo_start(str(tmp_path / "IMG_1")), PermissionError)

"""Robustness of dataset reading: a dataset that cannot be read raises DatasetError naming the
file and the problem; rows or files that are bad are skipped and listed in `problems`; nothing
outside the dataset root is ever read.

The matrix in docs/robustness.md lists each case with the test that holds it.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np
import pytest

from conftest import make_gldv2, write_image
from glr.data.datasets import curate, load_catalog
from glr.errors import DatasetError, ImageError
from glr.data.images import decode_image

HEADER = "id,landmark_id\n"


@pytest.fixture
def gld(tmp_path) -> Path:
    """Two classes of 3 images (landmark 1 and 2)."""
    return make_gldv2(tmp_path / "gld", {1: 3, 2: 3})


def rows(root: Path) -> list[str]:
    return (root / "train.csv").read_text().splitlines()[1:]


def write_csv(root: Path, text: str | bytes) -> Path:
    path = root / "train.csv"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return path


# --------------------------------------------------------------------------- the CSV


def test_missing_train_csv_beside_gldv2_images(gld):
    (gld / "train.csv").unlink()
    # Without the check, train/ would be read as one class named "train".
    with pytest.raises(DatasetError, match=re.escape(
            f"{gld}: has GLDv2's train/ folder of images but no train.csv; put train.csv (columns id,landmark_id) beside train/")):
        load_catalog(gld)


@pytest.mark.parametrize("content, message", [
    ("", "is empty; expected a header line `id,landmark_id` and one row per image"),
    ("\n\n", "is empty; expected a header line `id,landmark_id` and one row per image"),
    (HEADER, "has a header but no rows"),
    ("image,label\nabc,1\n", "missing column 'id' and 'landmark_id'; found 'image', 'label'"),
    ("image;label\nabc;1\n", "missing column 'id' and 'landmark_id'; found 'image', 'label'"),  # split at its semicolons
    ("id,url\nabc,x\n", "missing column 'landmark_id'; found 'id', 'url'"),
])
def test_unusable_csv(gld, content, message):
    csv = write_csv(gld, content)
    with pytest.raises(DatasetError, match="^" + re.escape(f"{csv}: {message}")):
        load_catalog(gld)


def test_non_utf8_csv(gld):
    # (Session 28: `caf\xe9` alone reads as Windows-1252; the sign \xa4 among letters is no evidence of it.)
    csv = write_csv(gld, ("id,landmark_id\n" + "\n".join(rows(gld)) + "\ncaf\xe9\xa4,1\n").encode("latin-1"))
    with pytest.raises(DatasetError, match="^" + re.escape(f"{csv}: is not UTF-8 text; save it as UTF-8 CSV")):
        load_catalog(gld)


def test_non_utf8_header(gld):
    # (Session 28: a byte Windows-1252 lacks; `\xefd` reads as it. Session 29: `\x81d` reads as Mac Roman's `Åd`, and
    # the message says so: `\xa4`, a symbol in every code page glr weighs, is evidence of none.)
    csv = write_csv(gld, b"\xa4d,landmark_id\n")
    with pytest.raises(DatasetError, match=re.escape(f"{csv}: is not UTF-8 text")):
        load_catalog(gld)


def test_a_row_with_too_many_fields_names_the_line(gld):
    csv = write_csv(gld, HEADER + "\n".join(rows(gld)) + "\nabc,1,extra\n")
    with pytest.raises(DatasetError, match=re.escape(f"{csv}: cannot be parsed as CSV (") + ".*abc,1,extra"):
        load_catalog(gld)


def test_labels_written_as_decimals_are_integers(gld):
    # pandas writes an integer column as "12.0" once it held a missing value; that is still landmark 12.
    lines = [line.split(",")[0] + "," + line.split(",")[1] + ".0" for line in rows(gld)]
    lines[1] = lines[1].split(",")[0] + ",1.5"  # not a whole number: still refused
    lines[2] = lines[2].split(",")[0] + ",abc"
    lines[3] = lines[3].split(",")[0] + ",abc"
    write_csv(gld, HEADER + "\n".join(lines) + "\n")
    catalog = load_catalog(gld)
    assert sorted(catalog.df["landmark_id"].unique()) == [1, 2] and len(catalog.df) == 3
    assert catalog.problems == ["2 rows have a landmark_id that is not an integer (e.g. 'abc' on line 4); skipped",
                                "1 row has a landmark_id with a fraction ('1.5' on line 3); skipped: a landmark_id "
                                "is a whole number (12,0 and 12.0 are read as 12)"]


@pytest.mark.parametrize("label", ["1.5", "abc", "", "99999999999999999999999", "1e3", "0x1f", "inf"])
def test_non_integer_landmark_id_rows_are_skipped_and_named(gld, label):
    # "1.5" used to become 1 and an overlong number used to wrap around to a negative id.
    lines = rows(gld)
    lines[0] = lines[0].split(",")[0] + "," + label
    write_csv(gld, HEADER + "\n".join(lines) + "\n")
    catalog = load_catalog(gld)
    shown = repr(label) if label else "'<empty>'"
    if label.isdigit():  # an integer past int64's largest: said as too large (it is an integer)
        assert catalog.problems[0].startswith(f"1 row has a landmark_id too large for glr (e.g. {shown} on line 2): ")
    elif label == "1e3":  # E notation (a float column, a spreadsheet): its digits may be lost
        assert catalog.problems[0].startswith(f"1 row has a landmark_id in E notation, as a spreadsheet writes a long "
                                              f"number (e.g. {shown} on line 2), which keeps only its first digits")
    elif label == "1.5":  # a fraction: said with its row, as a typo to find
        assert catalog.problems == [f"1 row has a landmark_id with a fraction ({shown} on line 2); skipped: a "
                                    "landmark_id is a whole number (12,0 and 12.0 are read as 12)"]
    else:
        assert catalog.problems == [f"1 row has a landmark_id that is not an integer (e.g. {shown} on line 2); skipped"]
    assert len(catalog.df) == 5 and sorted(catalog.df["landmark_id"].unique()) == [1, 2]


def test_header_in_other_case_with_spaces_bom_and_crlf(gld):
    body = "\r\n".join(rows(gld))
    write_csv(gld, b"\xef\xbb\xbf" + (' "ID" , Landmark_ID \r\n' + body + "\r\n").encode())
    catalog = load_catalog(gld)
    assert len(catalog.df) == 6 and catalog.problems == []


def test_rows_without_an_id_are_counted(gld):
    write_csv(gld, HEADER + "\n".join(rows(gld)) + "\n,1\n  ,2\n")
    catalog = load_catalog(gld)
    # The lines are named, as train.csv's other messages name theirs: an editor finds them so.
    assert catalog.problems == ["2 rows have no id (on lines 8 and 9); skipped"] and len(catalog.df) == 6


@pytest.mark.parametrize("kind", ["folder", "pipe"])
def test_train_csv_that_is_not_a_regular_file(gld, kind):
    csv = gld / "train.csv"
    csv.unlink()
    if kind == "folder":
        csv.mkdir()
    else:
        os.mkfifo(csv)  # opening it would block for ever
    with pytest.raises(DatasetError, match="^" + re.escape(f"{csv}: is not a regular file; expected a CSV file")):
        load_catalog(gld)


def test_train_csv_that_cannot_be_read(gld, monkeypatch):
    # Tests run as root here, so chmod cannot make the file unreadable: fail the open instead.
    def refuse(path, *args, **kwargs):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr("glr.data.train_csv.open", refuse, raising=False)  # where train.csv is opened
    monkeypatch.setattr("glr.data.csv_header.open", refuse, raising=False)  # and its header (session 29)
    with pytest.raises(DatasetError, match="^" + re.escape(f"{gld / 'train.csv'}: cannot be read (Permission denied)")):
        load_catalog(gld)


def test_damaged_category_names_fall_back_to_ids(gld):
    (gld / "train_label_to_category.csv").write_bytes(b"\xff\xfe\x00 not text")
    catalog = load_catalog(gld)
    assert catalog.problems == ["train_label_to_category.csv: starts with a UTF-16 byte-order mark, but what follows is "
                                "not such text (damaged, or another format?); save it as \"CSV UTF-8 (comma delimited)\"; "
                                "classes are named by their id"]
    assert set(catalog.names().values()) == {"landmark 1", "landmark 2"}


# --------------------------------------------------------------------------- ids and files


OUT = "a path out of the dataset"


@pytest.mark.parametrize("bad_id, why", [
    ("../../../../outside", OUT), ("/etc/passwd", OUT), ("a/b/c/d", "a path, not a file name"), ("..", "starts with '.'"),
    ("x\\..\\..\\y", OUT), ("C:..\\x", OUT), ("C:x", "holds ':' (a drive letter on Windows)"),
    ("...", "starts with '.'"), (".hidden", "starts with '.'"), ("abc\x07def", "holds a character that does not print (U+0007)"),
    ("abc\x1b[2Jx", "holds a character that does not print (U+001B)"), ("gpj.\u202eevil", "holds a character that does not print (U+202E)"),
    ("a\u2028bc", "holds a character that does not print (U+2028)"), ("%2e%2e%2fx", None), ("x" * 251, "longer than a file name can be (250 bytes)"),
])
def test_ids_that_leave_the_root_are_never_read(tmp_path, bad_id, why):
    root = make_gldv2(tmp_path / "gld", {1: 3})
    # Plant a real image exactly where the unsafe id would lead.
    target = Path(os.path.normpath(root / "train" / bad_id[0] / bad_id[1] / bad_id[2] / f"{bad_id}.jpg")) \
        if len(bad_id) >= 3 else None
    if target is not None and not str(target).startswith("/etc") and "\x00" not in bad_id and why and os.path.splitext(target.name)[1]:
        write_image(target, seed=1)
    write_csv(root, HEADER + "\n".join(rows(root)) + f"\n{bad_id},1\n")
    catalog = load_catalog(root)
    if why is None:  # a plain (odd) file name inside the dataset: read as one, and its photo is not there
        assert catalog.problems[0].startswith("1 image file listed in train.csv not found")
    else:
        assert catalog.problems == [f"1 row has an id that is not a plain file name (e.g. {bad_id!r} on line 5: {why}); "
                                    "skipped, so nothing outside the dataset is read"]
    assert len(catalog.df) == 3
    resolved_root = root.resolve()
    assert all(Path(p).resolve().is_relative_to(resolved_root / "train") for p in catalog.paths())


def test_missing_image_files_are_skipped_and_counted(gld):
    paths = sorted((gld / "train").rglob("*.jpg"))
    for p in paths[:2]:
        p.unlink()
    catalog = load_catalog(gld)
    assert len(catalog.df) == 4
    assert len(catalog.problems) == 1 and catalog.problems[0].startswith("2 image files listed in train.csv not found (e.g. 'train/")


def test_every_image_file_missing(gld):
    for p in (gld / "train").rglob("*.jpg"):
        p.unlink()
    with pytest.raises(DatasetError, match=re.escape(f"{gld}: no usable images; 6 image files listed in train.csv not found")):
        load_catalog(gld)


def test_non_image_files_in_class_folders(tmp_path):
    for name in ("Big_Ben", "Eiffel_Tower"):
        for i in range(3):
            write_image(tmp_path / name / f"{i}.jpg", seed=i)
    (tmp_path / "Big_Ben" / "notes.txt").write_text("not an image")
    (tmp_path / "Big_Ben" / "Thumbs.db").write_bytes(b"\x00" * 10)
    (tmp_path / "Big_Ben" / ".DS_Store").write_bytes(b"\x00")
    fake = tmp_path / "Eiffel_Tower" / "fake.jpg"
    fake.write_bytes(b"<!DOCTYPE html><html>403 Forbidden</html>")
    catalog = load_catalog(tmp_path)
    # Thumbs.db and .DS_Store are the OS's: passed over; notes.txt is the user's: named.
    assert catalog.problems == ["1 file in class folders is not an image (e.g. 'Big_Ben/notes.txt'); skipped"]
    # A file named like a photo is listed (reading a catalog opens no image); decoding it
    # then fails with its own message, which training and the gallery turn into a skip.
    assert str(fake) in set(catalog.paths())
    with pytest.raises(ImageError, match="it looks like an HTML page"):
        decode_image(fake)


def test_undecodable_listed_image_becomes_a_flagged_blank_in_the_pipeline(tmp_path):
    from glr.data.pipeline import _decode_or_blank

    fake = tmp_path / "fake.jpg"
    fake.write_bytes(b"%PDF-1.4")
    (image,), ok = _decode_or_blank(str(fake).encode(), 16, np.array([[0, 0, 0]]), 16)  # one view: the whole square
    assert not ok and image.shape == (16, 16, 3) and not image.any()


def test_numeric_and_named_class_folders_never_share_an_id(tmp_path):
    # Folder "2" is landmark 2; named folders used to be numbered by position, so the second
    # named folder also became landmark 2 and two classes were merged silently.
    for name in ("2", "apple", "banana"):
        for i in range(2):
            write_image(tmp_path / name / f"{i}.jpg", seed=i)
    catalog = load_catalog(tmp_path)
    pairs = catalog.df.drop_duplicates("landmark_id")[["landmark_id", "name"]].values.tolist()
    assert sorted(pairs) == [[2, "2"], [3, "apple"], [4, "banana"]]
    assert curate(catalog).num_classes == 3


def test_symlink_loop_in_a_class_folder_terminates(tmp_path):
    write_image(tmp_path / "A" / "1.jpg", seed=1)
    write_image(tmp_path / "A" / "2.jpg", seed=2)
    (tmp_path / "A" / "loop").symlink_to(tmp_path / "A")
    catalog = load_catalog(tmp_path)
    assert len(catalog.df) == 2


# --------------------------------------------------------------------------- class sizes


def test_a_class_with_one_image_is_dropped_and_named(tmp_path):
    root = make_gldv2(tmp_path, {1: 4, 2: 1}, names={2: "http://commons.wikimedia.org/wiki/Category:Lonely_Tower"})
    split = curate(load_catalog(root))
    assert split.num_classes == 1
    assert split.messages == ["Dropped 1 class with fewer than 2 images (too small to split into train and "
                              "validation): Lonely Tower (1)"]


def test_every_class_with_one_image(tmp_path):
    for name in ("A", "B", "C"):
        write_image(tmp_path / name / "only.jpg", seed=1)
    with pytest.raises(DatasetError, match=re.escape(
            "no class has at least 2 images, so nothing can be split into train and validation. "
            "Dropped 3 classes with fewer than 2 images")):
        curate(load_catalog(tmp_path))


def test_classes_of_two_images_split_one_each_side(tmp_path):
    root = make_gldv2(tmp_path, {i: 2 for i in range(1, 6)})
    split = curate(load_catalog(root), val_fraction=0.5)
    assert split.num_classes == 5
    assert sorted(split.train["landmark_id"]) == sorted(split.val["landmark_id"]) == [1, 2, 3, 4, 5]


# --------------------------------------------------------------------------- the path given


def test_path_that_does_not_exist(tmp_path):
    with pytest.raises(DatasetError, match="^" + re.escape(f"{tmp_path / 'nope'}: no such file or folder") + "$"):
        load_catalog(tmp_path / "nope")


def test_path_that_is_a_file(tmp_path):
    path = tmp_path / "photo.jpg"
    write_image(path, seed=0)
    with pytest.raises(DatasetError, match=re.escape(f"{path}: is a file; point glr at a dataset folder or at its train.csv")):
        load_catalog(path)


def test_path_that_cannot_be_read(tmp_path, monkeypatch):
    folder = tmp_path / "locked"
    folder.mkdir()
    real_access = os.access
    monkeypatch.setattr("glr.data.datasets.os.access", lambda p, mode: False if Path(p) == folder else real_access(p, mode))
    with pytest.raises(DatasetError, match=re.escape(f"{folder}: permission denied, the folder cannot be read")):
        load_catalog(folder)


def test_empty_folder(tmp_path):
    with pytest.raises(DatasetError, match=re.escape(f"{tmp_path}: no dataset found. Expected a GLDv2 folder")):
        load_catalog(tmp_path)


def test_photos_a_browser_saved_as_jfif_are_images_everywhere(tmp_path):
    # Browsers on Windows save downloaded JPEGs as .jfif (and some tools as .jpe): they are JPEGs.
    import io
    import zipfile

    from glr.data.uploads import read_zip_images
    from glr.submission import scan_folder

    for cls in ("Eiffel_Tower", "Big_Ben"):
        write_image(tmp_path / "data" / cls / "0.jpg", seed=len(cls))
        write_image(tmp_path / "data" / cls / "download.jfif", seed=len(cls) + 1)
        write_image(tmp_path / "data" / cls / "scan.JPE", seed=len(cls) + 2)
    catalog = load_catalog(tmp_path / "data")
    assert len(catalog.df) == 6 and catalog.problems == []
    images, skipped = scan_folder(tmp_path / "data")
    assert len(images) == 6 and skipped == []
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.write(tmp_path / "data" / "Big_Ben" / "download.jfif", "Big_Ben/download.jfif")
    photos, problems = read_zip_images(buffer.getvalue())
    assert [name for name, _ in photos] == ["Big_Ben/download.jfif"] and problems == []
    assert decode_image(photos[0][1]).shape == (48, 48, 3)


def test_probe_says_the_datasets_problems_as_train_does(tmp_path, capsys):
    # `glr probe` printed only its accuracy: a class folder it could not read (here a link to a drive not
    # mounted) changed the score without a word, where `inspect` and `train` say it.
    from glr.cli import main

    for i, cls in enumerate(("Tower", "Bridge")):
        for j in range(3):
            write_image(tmp_path / "data" / cls / f"{j}.jpg", seed=10 * i + j)
    (tmp_path / "data" / "Castle").symlink_to(tmp_path / "usb" / "Castle")
    assert main(["probe", str(tmp_path / "data"), "--raw-pixels", "4", "--folds", "2"]) == 0
    err = capsys.readouterr().err
    assert "dataset: 1 class folder is a link to a folder that is not there (e.g. 'Castle': a link to " in err


# --------------------------------------------------------------------------- awkward datasets (s25)


def test_two_landmark_ids_named_alike_in_the_category_file_are_pointed_out(tmp_path):
    # GLDv2's category file can give two landmark_ids one name (the same Wikimedia category written twice, or
    # differing only in case or '_'): every prediction then showed "Eiffel Tower" for two classes, without a word.
    root = make_gldv2(tmp_path / "gld", {1: 3, 2: 3, 3: 3, 4: 3}, names={
        1: "https://commons.wikimedia.org/wiki/Category:Eiffel_Tower",
        2: "http://commons.wikimedia.org/wiki/Category:eiffel_tower",
        3: "Category:Big Ben", 4: "Category:Big_Ben_(clock)"})
    catalog = load_catalog(root)
    assert catalog.problems == [
        "train_label_to_category.csv: 2 landmark_ids with names that differ only in case, spaces, '_' or Unicode form "
        "(e.g. 1 'Eiffel Tower', 2 'eiffel tower'): kept as different landmarks; merge them in train.csv if they are one"]


def test_landmarks_named_by_their_id_are_not_said_to_share_a_name(tmp_path):
    root = make_gldv2(tmp_path / "gld", {1: 2, 2: 2, 3: 2}, names={1: "", 2: "   ", 3: "Category:Big Ben"})
    assert load_catalog(root).problems == []


def test_probe_on_very_unequal_classes_says_the_score_of_always_naming_the_largest(tmp_path, capsys):
    # 40 photos beside 4 and 3: "accuracy 0.851" alone, where always naming 'landmark 1' scores 0.851 too.
    from glr.cli import main

    root = make_gldv2(tmp_path / "gld", {1: 40, 2: 4, 3: 3}, names={1: "Category:Big Tower"})
    assert main(["probe", str(root), "--raw-pixels", "4", "--folds", "2"]) == 0
    out = capsys.readouterr().out
    assert ("baseline   0.851: always naming the largest class ('Big Tower', 40 of 47 images) scores this; "
            "the classes are of very unequal size, so compare the accuracy with it, not with 0") in out
    assert out.splitlines()[-1].startswith("accuracy ")
    balanced = make_gldv2(tmp_path / "even", {1: 4, 2: 4})
    assert main(["probe", str(balanced), "--raw-pixels", "4", "--folds", "2"]) == 0
    assert "baseline" not in capsys.readouterr().out


def test_one_class_is_not_said_as_one_classes(tmp_path, capsys):
    from glr.cli import main

    root = make_gldv2(tmp_path / "gld", {1: 3, 2: 1})
    assert main(["inspect", str(root)]) == 0
    assert "curated    top 1 class: 2 train, 1 validation images" in capsys.readouterr().out
    assert main(["probe", str(root), "--raw-pixels", "4"]) != 0
    err = capsys.readouterr().err
    assert "1 classes" not in err and "probing 3 images of 1 class with raw 4px pixels" in err


def test_top_n_through_classes_of_equal_size_does_not_depend_on_the_rows_order(tmp_path):
    # Ten classes of 3 photos, --top-n 5: which five were kept followed train.csv's row order, so the same
    # dataset sorted another way (a spreadsheet's sort, a merge) trained on other landmarks, without a word.
    import pandas as pd

    root = make_gldv2(tmp_path / "gld", {i: 3 for i in range(1, 11)})
    table = pd.read_csv(root / "train.csv", dtype=str)
    splits = []
    for order in (1, 2):
        table.sample(frac=1, random_state=order).to_csv(root / "train.csv", index=False)
        splits.append(curate(load_catalog(root), top_n=5, seed=0))
    assert splits[0].labels["landmark_id"].tolist() == splits[1].labels["landmark_id"].tolist() == [1, 2, 3, 4, 5]
    assert splits[0].val["id"].tolist() == splits[1].val["id"].tolist()
    assert ("the top 5 cut through 10 classes of 3 images each: the 5 with the lowest landmark_id kept "
            "(a tie; a larger top-N keeps more)") in splits[0].messages


def test_a_class_folder_named_only_with_spaces_or_underscores_gets_a_name_to_show(tmp_path):
    # A folder "   " or "___" was the class name "   " / "___": a blank line in inspect, the predictions and the app.
    for i, cls in enumerate(("Tower", "   ", "___")):
        for j in range(2):
            write_image(tmp_path / "data" / cls / f"{j}.jpg", seed=10 * i + j)
    catalog = load_catalog(tmp_path / "data")
    names = catalog.names()
    assert sorted(names.values()) == ["Tower", "landmark 0", "landmark 2"]
    assert ("2 class folders named only with spaces or '_' (e.g. '   ', '___'): shown as 'landmark 0', 'landmark 2'; "
            "rename the folders to name their landmarks") in catalog.problems


def test_inspect_of_a_folder_of_mostly_broken_files_says_so(tmp_path, capsys):
    # 300 files, 6 of them photos, the rest an HTML login page saved as .jpg: "problems   none".
    from glr.cli import main

    for i, cls in enumerate(("Tower", "Bridge")):
        for j in range(150):
            path = tmp_path / "data" / cls / f"{j:03d}.jpg"
            if j < 3:
                write_image(path, seed=10 * i + j)
            else:
                path.write_text("<!DOCTYPE html><title>Sign in</title>")
    assert main(["inspect", str(tmp_path / "data")]) == 0
    out = capsys.readouterr().out
    assert "problems   1\n  - photos that do not decode: " in out and " sampled at random (e.g. '" in out
    assert "not an image, it looks like an HTML page" in out


def test_class_folders_named_by_landmark_id_take_their_names_from_a_category_file_beside_them(tmp_path):
    # GLDv2 sorted into one folder per landmark_id (Kaggle notebooks do so), with its category file kept beside:
    # the classes were shown as "138982" and "62798", the file passed over in silence.
    for i, cls in enumerate(("138982", "62798", "Tower")):
        for j in range(2):
            write_image(tmp_path / "data" / cls / f"{j}.jpg", seed=10 * i + j)
    (tmp_path / "data" / "train_label_to_category.csv").write_text(
        "landmark_id,category\n138982,http://commons.wikimedia.org/wiki/Category:Eiffel_Tower\n5,Category:Elsewhere\n")
    catalog = load_catalog(tmp_path / "data")
    assert catalog.names()[138982] == "Eiffel Tower" and catalog.names()[62798] == "62798"
    assert catalog.names()[catalog.df.loc[catalog.df["id"].str.startswith("Tower/"), "landmark_id"].iloc[0]] == "Tower"
    assert catalog.problems == []


def test_a_category_file_beside_class_folders_it_names_none_of_is_said(tmp_path):
    for i, cls in enumerate(("Tower", "Bridge")):
        for j in range(2):
            write_image(tmp_path / "data" / cls / f"{j}.jpg", seed=10 * i + j)
    (tmp_path / "data" / "train_label_to_category.csv").write_text("landmark_id,category\n5,Category:Elsewhere\n")
    assert load_catalog(tmp_path / "data").problems == [
        "train_label_to_category.csv: names no class folder here (it names landmark_ids, and only folders named by a "
        "landmark_id take its names); not used"]


def test_an_id_pasted_from_a_web_page_with_a_soft_hyphen_in_it_finds_its_photo(gld):
    # A soft hyphen (U+00AD, unseen: a web page's mark of where a long word may break) inside an id: the row was
    # skipped as "an id that is not a plain file name", its photo left out.
    lines = rows(gld)
    write_csv(gld, HEADER + "\n".join([lines[0][:8] + "\u00ad" + lines[0][8:]] + lines[1:]) + "\n")
    catalog = load_catalog(gld)
    assert len(catalog.df) == 6 and lines[0].split(",")[0] in catalog.df["id"].tolist()
    assert catalog.problems == [f"1 row has an id holding a character no one sees (a soft hyphen U+00AD; pasted from a "
                                f"web page?), e.g. '{lines[0][:8]}\\xad{lines[0][8:16]}' on line 2; read without it"]


def test_a_category_file_saved_by_excel_for_mac_with_swedish_and_spanish_names_reads_them(gld):
    # Excel for Mac's "CSV (Macintosh)" is Mac Roman: its `Göteborgs`, `León` read as plausible Windows-1252
    # (`Gšteborgs`, `Le—n`), which was taken, so every landmark showed so.
    (gld / "train_label_to_category.csv").write_bytes(
        "landmark_id,category\n1,Göteborgs domkyrka\n2,Catedral de León\n".encode("mac_roman"))
    catalog = load_catalog(gld)
    assert catalog.names() == {1: "Göteborgs domkyrka", 2: "Catedral de León"}
    assert catalog.problems == ["train_label_to_category.csv: read as Mac Roman (Excel for Mac's \"CSV (Macintosh)\") "
                                "text (not UTF-8)"]


def test_a_train_csv_saved_by_excel_for_mac_finds_photos_named_in_swedish_and_spanish(tmp_path):
    # Read as Windows-1252, the ids were `Jšnkšping 1`, `Pe–’scola 1`: "no usable images".
    ids = ["Jönköping 1", "Jönköping 2", "Peñíscola 1", "Peñíscola 2"]
    for name in ids:
        write_image(tmp_path / "mine" / "images" / f"{name}.jpg", seed=len(name))
    write_csv(tmp_path / "mine", ("id;landmark\n" + "".join(f"{i};{i[:-2]}\n" for i in ids)).encode("mac_roman"))
    catalog = load_catalog(tmp_path / "mine")
    assert catalog.df["id"].tolist() == ids and sorted(catalog.names().values()) == ["Jönköping", "Peñíscola"]


def test_a_landmark_id_pasted_from_a_web_page_with_a_soft_hyphen_in_it_keeps_its_photo(tmp_path):
    # A soft hyphen (U+00AD, unseen: a web page's mark of where a long word may break) inside a landmark_id: the row
    # was skipped as "a landmark_id that is not an integer", its photo left out.
    root = make_gldv2(tmp_path / "gld", {12: 3, 34: 3})
    lines = rows(root)
    write_csv(root, HEADER + "\n".join(lines[:1] + [lines[1].replace(",12", ",1\u00ad2")] + lines[2:]) + "\n")
    catalog = load_catalog(root)
    assert len(catalog.df) == 6 and (catalog.df["landmark_id"] == 12).sum() == 3
    assert catalog.problems == ["1 row has a landmark_id holding a character no one sees (a soft hyphen U+00AD; "
                                "pasted from a web page?), e.g. '1\\xad2' on line 3; read without it"]

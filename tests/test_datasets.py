"""glr.data.datasets: both layouts, readable names, every bad CSV with its message, curation and split."""

import os
import re
from pathlib import Path

import pandas as pd
import pytest

from conftest import make_gldv2, write_image
from glr.data.datasets import Catalog, category_to_name, curate, load_catalog, summarize
from glr.errors import DatasetError


@pytest.mark.parametrize(
    "category, name",
    [
        ("http://commons.wikimedia.org/wiki/Category:Eiffel_Tower", "Eiffel Tower"),
        ("https://commons.wikimedia.org/wiki/Category:Sacr%C3%A9-C%C5%93ur", "Sacré-Cœur"),
        ("Taj Mahal", "Taj Mahal"),
        ("Great_Wall_of_China", "Great Wall of China"),
    ],
)
def test_category_to_name(category, name):
    assert category_to_name(category) == name


def test_gldv2_catalog(gldv2):
    catalog = load_catalog(gldv2)
    assert catalog.layout == "gldv2"
    # No path column: GLDv2's paths are made of the ids (at 4.1M rows the column took half the table).
    assert list(catalog.df.columns) == ["id", "landmark_id", "name"]
    assert len(catalog.df) == 21 and catalog.problems == []
    row = catalog.df.iloc[0].to_dict() | {"path": catalog.paths().iloc[0]}
    assert row["path"].endswith(f"train/{row['id'][0]}/{row['id'][1]}/{row['id'][2]}/{row['id']}.jpg")
    assert os.path.isfile(row["path"])
    assert set(catalog.names().values()) == {"Eiffel Tower", "Sacré-Cœur", "Big Ben", "Taj Mahal"}
    assert summarize(catalog) | {"root": None} == {
        "root": None, "layout": "gldv2", "classes": 4, "images": 21,
        "per_class_min": 3, "per_class_median": 5.0, "per_class_max": 8, "problems": 0,
    }


def test_url_column_and_csv_path(tmp_path):
    root = make_gldv2(tmp_path, {1: 3, 2: 3}, url_column=True)
    catalog = load_catalog(root / "train.csv")
    assert len(catalog.df) == 6
    assert catalog.names() == {1: "landmark 1", 2: "landmark 2"}


@pytest.mark.parametrize("delimiter", [";", "\t"])
def test_a_train_csv_separated_by_semicolons_or_tabs_reads_as_the_comma_one(gldv2, delimiter):
    expected = load_catalog(gldv2).df
    csv = gldv2 / "train.csv"
    csv.write_text(csv.read_text().replace(",", delimiter).replace("\n", "\r\n"))  # as a spreadsheet saves it
    catalog = load_catalog(gldv2)
    pd.testing.assert_frame_equal(catalog.df, expected)
    assert catalog.problems == []


def test_missing_files_dropped_and_counted(gldv2):
    catalog = load_catalog(gldv2)
    for path in catalog.paths().iloc[:2]:
        os.remove(path)
    catalog = load_catalog(gldv2)
    assert len(catalog.df) == 19
    assert any(re.match(r"2 image files listed in train.csv not found \(e.g. 'train/", p) for p in catalog.problems)


def _read_and_curate(gldv2, monkeypatch, large: bool):
    """(catalog, its top-4 split, train and validation rows together), with the file check sampled when `large`."""
    if large:
        monkeypatch.setattr("glr.data.datasets.MAX_ROWS_TO_CHECK", 5)
    catalog = load_catalog(gldv2)
    split = curate(catalog, top_n=4)
    return catalog, split, pd.concat([split.train, split.val])


@pytest.mark.parametrize("large", [False, True], ids=["checked-on-load", "checked-at-curation"])
def test_photos_saved_flat_in_train_are_found(gldv2, monkeypatch, large):
    catalog = load_catalog(gldv2)
    for path in catalog.paths().iloc[:15]:  # most photos moved to train/<id>.jpg, the rest left nested
        os.rename(path, gldv2 / "train" / os.path.basename(path))
    os.remove(catalog.paths().iloc[20])  # and one photo is missing from both places
    again, split, table = _read_and_curate(gldv2, monkeypatch, large)
    assert len(table) == 20 and table["path"].map(os.path.isfile).all()
    assert (table["path"].str.count("/") - str(gldv2).count("/")).value_counts().to_dict() == {2: 15, 5: 5}
    problems = again.problems + split.messages
    assert sum("1 image file listed in train.csv not found" in p for p in problems) == 1, problems


def test_missing_files_checked_at_curation_for_large_catalogs(gldv2, monkeypatch):
    catalog = load_catalog(gldv2)
    os.remove(catalog.paths().iloc[0])
    monkeypatch.setattr("glr.data.datasets.MAX_ROWS_TO_CHECK", 5)
    deferred = load_catalog(gldv2)
    assert deferred.check_pending and len(deferred.df) == 21
    split = curate(deferred, top_n=4)
    assert len(split.train) + len(split.val) == 20
    shown = deferred.problems + split.messages  # what inspect, train and the Dataset page list
    assert sum("1 image file listed" in m for m in shown) == 1, shown


def edit_csv(root, text):
    (root / "train.csv").write_text(text)
    return root


def test_duplicates_non_integer_and_unsafe_ids(gldv2):
    df = pd.read_csv(gldv2 / "train.csv", dtype=str)
    extra = pd.DataFrame(
        {
            "id": [df["id"][0], df["id"][1], "../../etc/passwd", "a/b/c"],
            "landmark_id": ["7", "abc", "7", "7"],
        }
    )
    pd.concat([df, extra]).to_csv(gldv2 / "train.csv", index=False)
    catalog = load_catalog(gldv2)
    problems = " | ".join(catalog.problems)
    assert "1 row has a landmark_id that is not an integer (e.g. 'abc' on line 24); skipped" in problems
    assert ("2 rows have an id that is not a plain file name (e.g. '../../etc/passwd' on line 25: a path out of the "
            "dataset, 'a/b/c' on line 26: a path, not a file name)") in problems
    assert "1 duplicate id" in problems
    assert len(catalog.df) == 21
    assert all(str(gldv2) in p and ".." not in p for p in catalog.paths())


@pytest.mark.parametrize(
    "content, message",
    [
        ("", "is empty; expected a header line `id,landmark_id`"),
        ("id,landmark_id\n", "has a header but no rows"),
        ("image,label\nabc,1\n", "missing column 'id' and 'landmark_id'; found 'image', 'label'"),
        ("id,url\nabc,x\n", "missing column 'landmark_id'"),
    ],
    ids=["empty", "header-only", "wrong-columns", "no-label"],
)
def test_bad_csv_messages(gldv2, content, message):
    edit_csv(gldv2, content)
    with pytest.raises(DatasetError, match=re.escape(message)):
        load_catalog(gldv2)


def test_non_utf8_csv(gldv2):
    # (Session 28: `caf\xe9abc` alone reads as Windows-1252; the broken bar \xa6 is no evidence of it.)
    (gldv2 / "train.csv").write_bytes("id,landmark_id\ncaf\xe9\xa6abc,1\n".encode("latin-1"))
    with pytest.raises(DatasetError, match="is not UTF-8 text"):
        load_catalog(gldv2)


@pytest.mark.parametrize("first_line", [b"\x00\r\x00", b"id,\rlandmark_id\n"])
def test_a_carriage_return_inside_the_header_is_a_dataset_error(gldv2, first_line):
    # Found by tests/test_robustness_fuzz.py: csv.reader refused a lone "\r" inside a line. It now ends the
    # line, as it does for Arrow (Excel for Mac's CSV ends lines so), so what is before it is the header.
    (gldv2 / "train.csv").write_bytes(first_line)
    with pytest.raises(DatasetError, match="missing column"):
        load_catalog(gldv2)


def test_unparseable_csv(gldv2):
    (gldv2 / "train.csv").write_text('id,landmark_id\n"abc,1\n')
    with pytest.raises(DatasetError, match="cannot be parsed as CSV|has a header but no rows|no usable images"):
        load_catalog(gldv2)


def test_all_files_missing(tmp_path):
    (tmp_path / "train.csv").write_text("id,landmark_id\n0123456789abcdef,1\n")
    with pytest.raises(DatasetError, match="no usable images; 1 image file listed in train.csv not found"):
        load_catalog(tmp_path)


@pytest.mark.parametrize("kind", ["missing", "file", "empty-folder"])
def test_bad_paths(tmp_path, kind):
    target = tmp_path / "x"
    if kind == "file":
        target.write_text("hello")
    elif kind == "empty-folder":
        target.mkdir()
    message = {
        "missing": "no such file or folder",
        "file": "is a file; point glr at a dataset folder",
        "empty-folder": "no dataset found. Expected a GLDv2 folder",
    }[kind]
    with pytest.raises(DatasetError, match=message):
        load_catalog(target)


@pytest.mark.skipif(os.geteuid() == 0, reason="root can read any folder")
def test_unreadable_folder(tmp_path):
    target = tmp_path / "locked"
    target.mkdir()
    target.chmod(0)
    try:
        with pytest.raises(DatasetError, match="permission denied"):
            load_catalog(target)
    finally:
        target.chmod(0o755)


def test_class_folders(tmp_path):
    for name, n in {"Eiffel_Tower": 3, "Big_Ben": 2}.items():
        for i in range(n):
            write_image(tmp_path / name / f"{i}.jpg", seed=i)
    (tmp_path / "Big_Ben" / "notes.txt").write_text("not an image")
    for junk in ("Thumbs.db", "desktop.ini", ".DS_Store"):  # what Windows and macOS leave: passed over in silence
        (tmp_path / "Eiffel_Tower" / junk).write_bytes(b"\0" * 16)
    catalog = load_catalog(tmp_path)
    assert catalog.layout == "folders" and len(catalog.df) == 5
    assert set(catalog.names().values()) == {"Eiffel Tower", "Big Ben"}
    assert catalog.df["id"].is_unique
    assert catalog.problems == ["1 file in class folders is not an image (e.g. 'Big_Ben/notes.txt'); skipped"]


def test_iphone_photos_in_class_folders_are_images(tmp_path):
    heic = (Path(__file__).parent / "fixtures" / "photo.heic").read_bytes()
    for name in ("Eiffel_Tower", "Big_Ben"):
        for i in range(2):
            (tmp_path / name).mkdir(exist_ok=True)
            (tmp_path / name / f"IMG_000{i}.HEIC").write_bytes(heic)
    write_image(tmp_path / "Big_Ben" / "2.avif", seed=3)
    catalog = load_catalog(tmp_path)
    assert len(catalog.df) == 5 and catalog.problems == []


def test_file_and_folder_names_that_are_not_utf8_are_skipped_and_named(tmp_path):
    for i in range(2):
        write_image(tmp_path / "Big_Ben" / f"{i}.jpg", seed=i)
    write_image(tmp_path / os.fsdecode(b"Big_Ben/caf\xe9.jpg"), seed=2)  # Latin-1 bytes, as old cameras and zips write
    write_image(tmp_path / os.fsdecode(b"Caf\xe9") / "0.jpg", seed=3)
    catalog = load_catalog(tmp_path)
    assert catalog.paths().str.endswith(("Big_Ben/0.jpg", "Big_Ben/1.jpg")).all() and len(catalog.df) == 2
    assert catalog.problems == ["2 images with a name that is not valid UTF-8 (e.g. 'Big_Ben/caf\ufffd.jpg', "
                                "'Caf\ufffd/0.jpg'); skipped: rename to use"]
    assert summarize(catalog)["images"] == 2


def test_a_folder_whose_every_name_is_not_utf8_is_a_dataset_error(tmp_path):
    write_image(tmp_path / "Big_Ben" / os.fsdecode(b"\xe9.jpg"), seed=0)
    with pytest.raises(DatasetError, match="no usable images. 1 image with a name that is not valid UTF-8"):
        load_catalog(tmp_path)


def test_loose_images_hint(tmp_path):
    write_image(tmp_path / "a.jpg", 0)
    with pytest.raises(DatasetError, match="holds 1 image directly"):  # was "1 images"
        load_catalog(tmp_path)
    write_image(tmp_path / "b.jpg", 1)
    with pytest.raises(DatasetError, match="holds 2 images directly"):
        load_catalog(tmp_path)


def test_curate_top_n_and_stratified_split(gldv2):
    catalog = load_catalog(gldv2)
    split = curate(catalog, top_n=3, val_fraction=0.25, seed=1)
    assert split.labels["landmark_id"].tolist() == [7, 12, 30]
    assert split.labels["index"].tolist() == [0, 1, 2]
    assert set(split.train["landmark_id"]) == set(split.val["landmark_id"]) == {7, 12, 30}
    assert len(split.train) + len(split.val) == 18
    assert not set(split.train["id"]) & set(split.val["id"])
    assert split.table()["split"].value_counts().to_dict() == {"train": len(split.train), "val": len(split.val)}
    again = curate(load_catalog(gldv2), top_n=3, val_fraction=0.25, seed=1)
    assert again.val["id"].tolist() == split.val["id"].tolist()
    other = curate(load_catalog(gldv2), top_n=3, val_fraction=0.25, seed=2)
    assert other.val["id"].tolist() != split.val["id"].tolist()


@pytest.mark.parametrize("fraction", [0, 1, 1.5])
def test_a_val_fraction_at_or_beyond_its_ends_is_refused_saying_the_range_as_training_does(gldv2, fraction):
    # "must be between 0 and 1, got 1": 1 reads as between 0 and 1; the training settings say "above 0 and below 1".
    with pytest.raises(DatasetError, match=rf"^val_fraction must be above 0 and below 1, got {fraction}$"):
        curate(load_catalog(gldv2), val_fraction=fraction)


def test_top_n_zero_keeps_every_class(tmp_path):
    root = make_gldv2(tmp_path, {i: 2 + i for i in range(1, 12)})
    every = curate(load_catalog(root), top_n=0)
    assert every.num_classes == 11
    assert every.val["id"].tolist() == curate(load_catalog(root), top_n=11).val["id"].tolist()
    with pytest.raises(DatasetError, match="top_n must be at least 1"):
        curate(load_catalog(root), top_n=-1)


def test_training_asks_for_two_classes_and_names_the_only_one_left(tmp_path):
    root = make_gldv2(tmp_path, {1: 5, 2: 1}, {1: "Eiffel_Tower", 2: "Big_Ben"})
    assert curate(load_catalog(root)).num_classes == 1  # enough to look at, as the Dataset page and fetch do
    with pytest.raises(DatasetError, match=r"only 1 class \('Eiffel Tower'\) left to train on, and a classifier needs "
                                           r"at least 2 landmarks to tell apart\. Dropped 1 class with fewer than 2 images"):
        curate(load_catalog(root), min_classes=2)
    # A problem that starts with a file's name keeps the name as it is on disk ("Train_label_to_category.csv").
    (root / "train_label_to_category.csv").write_bytes(b"\xff\xfe\x00\x01")
    with pytest.raises(DatasetError, match=r"to tell apart\. train_label_to_category\.csv"):
        curate(load_catalog(root), min_classes=2)


def test_every_class_on_both_sides_even_when_tiny(tmp_path):
    root = make_gldv2(tmp_path, {i: 2 for i in range(1, 9)} | {99: 30})
    split = curate(load_catalog(root), top_n=100, val_fraction=0.05)
    assert split.num_classes == 9
    for part in (split.train, split.val):
        assert set(part["landmark_id"]) == set(split.labels["landmark_id"])


def test_too_small_classes_are_dropped_and_named(gldv2):
    split = curate(load_catalog(gldv2), top_n=4, min_images=4)
    assert split.num_classes == 3
    assert split.messages == [
        "Dropped 1 class with fewer than 4 images (too small to split into train and validation): Taj Mahal (3)"
    ]


def test_every_class_with_one_image(tmp_path):
    root = make_gldv2(tmp_path, {1: 1, 2: 1, 3: 1})
    with pytest.raises(DatasetError, match="no class has at least 2 images"):
        curate(load_catalog(root))


def test_wonders7(wonders7):
    catalog = load_catalog(wonders7)
    assert len(catalog.df) == 423 and catalog.class_counts.size == 7
    assert "Taj Mahal" in catalog.names().values()
    split = curate(catalog)
    assert split.num_classes == 7 and abs(len(split.val) - 85) <= 7


def test_train_clean_csv_reads_as_a_dataset(gldv2):
    """GLDv2's train_clean.csv (landmark_id, space-separated ids) is the same catalog, restricted to its ids."""
    full = load_catalog(gldv2)
    kept = full.df.groupby("landmark_id")["id"].apply(lambda s: " ".join(s.iloc[:3]))
    pd.DataFrame({"landmark_id": kept.index, "images": kept.to_numpy()}).to_csv(gldv2 / "train_clean.csv", index=False)
    clean = load_catalog(gldv2 / "train_clean.csv")
    assert clean.layout == "gldv2" and len(clean.df) == 3 * 4 and not clean.problems
    assert set(clean.df["id"]) <= set(full.df["id"]) and clean.class_counts.eq(3).all()
    assert clean.names() == full.names()  # train_label_to_category.csv still names the classes
    assert curate(clean, top_n=2).num_classes == 2
    os.remove(full.paths().loc[full.df["id"] == clean.df["id"].iloc[0]].iloc[0])
    # A photo it lists missing: the note named train.csv, a file the user never gave.
    assert any(p.startswith("1 image file listed in train_clean.csv not found")
               for p in load_catalog(gldv2 / "train_clean.csv").problems)


@pytest.mark.parametrize("seed", [-1, 2**32])
def test_a_seed_outside_what_the_generators_take_is_refused(gldv2, seed):
    # sklearn's split takes 0 .. 2**32 - 1: anything else was its InvalidParameterError, with a traceback.
    with pytest.raises(DatasetError, match=re.escape(f"seed must be between 0 and 4294967295, got {seed}")):
        curate(load_catalog(gldv2), seed=seed)
    curate(load_catalog(gldv2), seed=2**32 - 1)  # the largest is fine


def test_folders_an_os_archiver_or_nas_writes_are_never_classes_or_photos(tmp_path):
    # A Mac's zip adds __MACOSX/ (AppleDouble "._" files named like photos), a Synology NAS an
    # @eaDir/ of thumbnails in every folder: they were classes of their own, and the thumbnails
    # inside a class folder were taken as that landmark's photos.
    for name in ("Big_Ben", "Eiffel_Tower"):
        for i in range(3):
            write_image(tmp_path / name / f"{i}.jpg", seed=i)
    write_image(tmp_path / "__MACOSX" / "Big_Ben" / "._0.jpg", seed=7)
    write_image(tmp_path / "@eaDir" / "Big_Ben" / "SYNOPHOTO_THUMB_M.jpg", seed=7)
    write_image(tmp_path / "Big_Ben" / "@eaDir" / "0.jpg" / "SYNOPHOTO_THUMB_M.jpg", seed=7)
    write_image(tmp_path / "Big_Ben" / ".thumbnails" / "0.jpg", seed=7)
    write_image(tmp_path / "$RECYCLE.BIN" / "old.jpg", seed=7)
    (tmp_path / "lost+found").mkdir()
    # QNAP's recycle bin and snapshots, Windows XP's recycle bin, chkdsk's recovered files: were classes of their own.
    for folder in ("@Recycle", "@Recently-Snapshot", "RECYCLER", "FOUND.000"):
        write_image(tmp_path / folder / "Big_Ben" / "0.jpg", seed=8)
    write_image(tmp_path / "Big_Ben" / "close-ups" / "3.jpg", seed=3)  # the user's own sub-folder still counts
    catalog = load_catalog(tmp_path)
    assert sorted(set(catalog.df["name"])) == ["Big Ben", "Eiffel Tower"]
    assert len(catalog.df) == 7 and catalog.problems == []
    assert not catalog.paths().str.contains("eaDir|MACOSX|thumbnails").any()


def test_gldv2_images_with_a_nas_thumbnail_folder_still_ask_for_train_csv(tmp_path):
    root = make_gldv2(tmp_path / "gld", {1: 3, 2: 3})
    (root / "train.csv").unlink()
    write_image(root / "train" / "@eaDir" / "x.jpg", seed=1)  # a Synology NAS indexes train/ too
    with pytest.raises(DatasetError, match="has GLDv2's train/ folder of images but no train.csv"):
        load_catalog(root)


def test_class_folders_1_and_001_are_two_classes(tmp_path):
    # Both were read as landmark 1, so two folders were merged into one class in silence.
    for name in ("001", "1", "abc"):
        for i in range(2):
            write_image(tmp_path / name / f"{i}.jpg", seed=i)
    catalog = load_catalog(tmp_path)
    pairs = sorted(catalog.df.drop_duplicates("landmark_id")[["landmark_id", "name"]].values.tolist())
    assert pairs == [[1, "1"], [2, "001"], [3, "abc"]]
    assert curate(catalog).num_classes == 3


@pytest.mark.parametrize("large", [False, True], ids=["checked-at-loading", "checked-at-curation"])
def test_ids_in_upper_case_find_gldv2s_lower_case_files(gldv2, monkeypatch, large):
    # GLDv2's ids and file names are lower-case hex; a train.csv with them in upper case had
    # every photo "not found" (on a case-sensitive file system) and no usable image.
    csv = pd.read_csv(gldv2 / "train.csv", dtype=str)
    csv["id"] = csv["id"].str.upper()
    csv.to_csv(gldv2 / "train.csv", index=False)
    upper = load_catalog(gldv2)
    first = upper.paths().loc[upper.df["id"].sort_values().index[0]]
    os.rename(first, gldv2 / "train" / os.path.basename(first))  # and one of them saved flat
    catalog, split, table = _read_and_curate(gldv2, monkeypatch, large)
    assert len(table) == 21 and table["path"].map(os.path.isfile).all()
    assert catalog.problems == [] and table["id"].str.isupper().all()


def test_a_photo_listed_under_two_landmarks_is_skipped_and_named(gldv2):
    # It was kept under the first row's landmark in silence ("1 duplicate id ... kept the first
    # row"), so the model trained on, and was scored against, a label the CSV also contradicts.
    csv = pd.read_csv(gldv2 / "train.csv", dtype=str)
    torn, repeated = csv["id"][0], csv["id"][1]  # both of landmark 7
    extra = pd.DataFrame({"id": [torn, torn, repeated], "landmark_id": ["12", "30", "7"]})
    pd.concat([csv, extra]).to_csv(gldv2 / "train.csv", index=False)
    catalog = load_catalog(gldv2)
    assert catalog.problems == [
        f"1 id listed under more than one landmark_id (e.g. {torn!r} on lines 2, 23 and 24: 7, 12, 30); skipped, as which landmark "
        "the photo shows is unknown",
        f"1 duplicate id (e.g. {repeated!r} on lines 3 and 25); kept the first row of each",  # the same label twice: no doubt
    ]
    assert torn not in set(catalog.df["id"]) and len(catalog.df) == 20
    assert catalog.df.loc[catalog.df["id"] == repeated, "landmark_id"].tolist() == [7]


def test_category_names_read_as_train_csv_is_read(tmp_path):
    # A header in another case was "expected columns landmark_id,category" (every class named by
    # its id), "1.7" named landmark 1, and of two names for one id the last won in silence.
    root = make_gldv2(tmp_path / "gld", {1: 3, 2: 3, 3: 3})
    (root / "train_label_to_category.csv").write_text(
        " Landmark_ID , Category\n"
        "1,http://commons.wikimedia.org/wiki/Category:Big_Ben\n"
        "1.7,http://commons.wikimedia.org/wiki/Category:Not_Big_Ben\n"
        "2,http://commons.wikimedia.org/wiki/Category:Eiffel_Tower\n"
        "2,http://commons.wikimedia.org/wiki/Category:Tour_Eiffel\n"
        "3,http://commons.wikimedia.org/wiki/Category:Taj_Mahal\n"
        "3,http://commons.wikimedia.org/wiki/Category:Taj_Mahal\n")
    catalog = load_catalog(root)
    assert catalog.names() == {1: "Big Ben", 2: "Eiffel Tower", 3: "Taj Mahal"}
    assert catalog.problems == ["train_label_to_category.csv: 1 row has a landmark_id that is not an integer (e.g. "
                                "'1.7' on line 3); its name is not used",
                                "train_label_to_category.csv: 1 landmark_id given two names "
                                "(e.g. 2: 'Eiffel Tower' and 'Tour Eiffel'); the first name kept"]


def test_train_csv_named_in_another_case_is_found(tmp_path):
    # A copy from a Windows share or a FAT card may say TRAIN.CSV: glr said there was no train.csv.
    root = make_gldv2(tmp_path / "gld", {1: 3, 2: 3})
    (root / "train.csv").rename(root / "TRAIN.CSV")
    catalog = load_catalog(root)
    assert catalog.layout == "gldv2" and len(catalog.df) == 6 and catalog.problems == []


def test_photos_beside_the_class_folders_are_named_not_dropped_in_silence(tmp_path):
    for name in ("Big_Ben", "Eiffel_Tower"):
        for i in range(2):
            write_image(tmp_path / name / f"{i}.jpg", seed=i)
    for i in range(4):
        write_image(tmp_path / f"IMG_{i}.jpg", seed=10 + i)
    (tmp_path / "README.txt").write_text("my photos")
    catalog = load_catalog(tmp_path)
    assert len(catalog.df) == 4 and catalog.problems == [
        "4 images directly in the dataset folder, in no class folder (e.g. 'IMG_0.jpg', 'IMG_1.jpg', 'IMG_2.jpg'); "
        "skipped: move each into its class's folder"]


def test_a_line_of_spaces_in_train_csv_is_an_empty_line(tmp_path):
    # An editor's last line of spaces made the whole file "cannot be parsed as CSV (Expected 2 columns, got 1)".
    root = make_gldv2(tmp_path / "gld", {1: 3, 2: 3})
    with open(root / "train.csv", "a") as fh:
        fh.write("   \n\t\n")
    catalog = load_catalog(root)
    assert len(catalog.df) == 6 and catalog.problems == []
    with open(root / "train.csv", "a") as fh:
        fh.write("abc\n")  # a real row short of a field is still named
    with pytest.raises(DatasetError, match=re.escape("cannot be parsed as CSV (") + ".*abc"):
        load_catalog(root)


def test_train_clean_csv_with_spaces_around_its_ids_and_a_class_without_photos(tmp_path):
    # A trailing space or an empty images field was counted as "rows have no id".
    root = make_gldv2(tmp_path / "gld", {1: 3, 2: 3})
    ids = pd.read_csv(root / "train.csv", dtype=str).groupby("landmark_id")["id"].apply(list)
    (root / "train_clean.csv").write_text(
        f"landmark_id,images\n1, {' '.join(ids['1'])} \n2,{'  '.join(ids['2'])}\n3,\n")
    catalog = load_catalog(root / "train_clean.csv")
    assert len(catalog.df) == 6 and catalog.problems == []


def test_class_folders_whose_names_differ_only_in_case_or_underscores_are_pointed_out(tmp_path):
    # "Tower" and "tower", or "Big_Ben" and "Big Ben", were two landmarks in silence: most likely one twice.
    for name in ("Tower", "tower", "Big_Ben", "Big Ben", "Eiffel Tower"):
        for i in range(2):
            write_image(tmp_path / name / f"{i}.jpg", seed=i)
    catalog = load_catalog(tmp_path)
    assert catalog.class_counts.size == 5  # kept apart: only the user knows
    assert catalog.problems == ["4 class folders with names that differ only in case, spaces, '_' or Unicode form "
                                "(e.g. 'Big Ben', 'Big_Ben'): kept as different landmarks; merge them if they are one",
                                "'Tower' and 'tower' differ only in case: on macOS or Windows, whose disks ignore case, "
                                "they cannot both exist, so a copy of this dataset there mixes their photos in one "
                                "folder (or stops); rename one to keep them apart"]


def test_a_photo_given_as_the_dataset_names_the_folder_above_its_class_folder(tmp_path):
    from conftest import write_image

    photo = tmp_path / "trip" / "Big Ben" / "1.jpg"
    write_image(photo, seed=1)
    with pytest.raises(DatasetError, match=re.escape(
            f"{photo}: is a file; point glr at a dataset folder or at its train.csv (a photo: for one folder of photos "
            f"per class, that is the folder above the class folders, {tmp_path / 'trip'})")):
        load_catalog(photo)
    with pytest.raises(DatasetError, match=r"at its train\.csv$"):  # any other file: no guess
        (tmp_path / "notes.txt").write_text("x")
        load_catalog(tmp_path / "notes.txt")


def test_a_dataset_one_folder_down_is_pointed_to(tmp_path):
    # Unzipping photos.zip into photos/ leaves photos/photos/<class>/: read as one class, 'photos', and training
    # said only "only 1 class ('photos') left to train on"; a GLDv2 folder so wrapped was one class of every photo.
    for name in ("Tower", "Bridge"):
        for i in range(2):
            write_image(tmp_path / "wrap" / "photos" / name / f"{i}.jpg", seed=i)
    note = f"the only class folder, 'photos', keeps its photos in 2 sub-folders (e.g. 'Bridge', 'Tower'): if those are the classes, point glr at {tmp_path / 'wrap' / 'photos'}"
    assert load_catalog(tmp_path / "wrap").problems == [note]
    with pytest.raises(DatasetError, match=re.escape("left to train on, and a classifier needs at least 2 landmarks to tell apart. The only class folder, 'photos'")):
        curate(load_catalog(tmp_path / "wrap"), min_classes=2)
    make_gldv2(tmp_path / "outer" / "gld", {1: 2, 2: 2})
    with pytest.raises(DatasetError, match=re.escape(f"has no train.csv, but its only folder 'gld' does; point glr at {tmp_path / 'outer' / 'gld'}")):
        load_catalog(tmp_path / "outer")


@pytest.mark.parametrize("large", [False, True])
def test_gldv2_photos_unpacked_without_their_train_folder_are_found(gldv2, monkeypatch, large):
    # GLDv2's tar shards hold a/b/c/abc.jpg; unpacked straight into the dataset folder (beside train.csv) every
    # photo was "not found" and the dataset "has no usable images".
    for folder in list((gldv2 / "train").iterdir()):
        os.rename(folder, gldv2 / folder.name)
    os.rmdir(gldv2 / "train")
    monkeypatch.setattr("glr.data.datasets.MAX_ROWS_TO_CHECK", 5 if large else 200_000)
    catalog = load_catalog(gldv2)
    split = curate(catalog, top_n=4)
    assert len(split.train) + len(split.val) == 21 and catalog.problems == []
    assert all(os.path.isfile(p) for p in split.train["path"])


@pytest.mark.parametrize("train_folder", [True, False])
def test_ids_of_digits_a_spreadsheet_stripped_of_leading_zeros_are_found(tmp_path, train_folder):
    # Excel reads 0012345678901234 as a number and saves 12345678901234: "1 image file ... not found".
    ids = ["0012345678901234", "0a1b2c3d4e5f6a7b", "1b2c3d4e5f6a7b8c", "2c3d4e5f6a7b8c9d"]
    for i, iid in enumerate(ids):
        write_image(tmp_path / ("train" if train_folder else "") / iid[0] / iid[1] / iid[2] / f"{iid}.jpg", seed=i)
    (tmp_path / "train.csv").write_text("id,landmark_id\n12345678901234,1\n0a1b2c3d4e5f6a7b,1\n"
                                        "1b2c3d4e5f6a7b8c,2\n2c3d4e5f6a7b8c9d,2\n123,2\n")
    catalog = load_catalog(tmp_path)
    assert len(catalog.df) == 4 and os.path.isfile(catalog.paths().iloc[0])
    assert catalog.df["id"].iloc[0] == "0012345678901234"  # GLDv2's id, as the run's tables and `fetch` use it
    # "123" in a file of GLDv2 ids is one cut short too, but its photo is on disk under neither name: named.
    assert catalog.problems == ["1 id in train.csv lost its leading zeros (e.g. '12345678901234'; saved from a "
                                "spreadsheet?): read as GLDv2's 16-digit id (e.g. '0012345678901234'), as its photo is on disk",
                                "1 id in train.csv is digits only and shorter than GLDv2's 16 (e.g. '123'), and no photo is on "
                                "disk under it or with leading zeros: a spreadsheet dropped the zeros? Format the id column "
                                "as Text and save train.csv again from the original file (`glr fetch` saves its photo "
                                "under GLDv2's 16-digit id, e.g. '0000000000000123')",
                                "1 image file listed in train.csv not found (e.g. 'train/1/2/3/123.jpg'); skipped"]


@pytest.mark.parametrize("packed, how", [("train.csv.zip", " (`unzip train.csv.zip`)"), ("Train.csv.gz", " (`gunzip Train.csv.gz`)"),
                                         ("train.csv.7z", "")])
def test_a_train_csv_still_packed_as_kaggle_downloads_it_is_named(gldv2, packed, how):
    # Kaggle's download of one file is zipped: "has GLDv2's train/ folder of images but no train.csv" left the
    # user looking for a file they could see.
    os.rename(gldv2 / "train.csv", gldv2 / packed)
    with pytest.raises(DatasetError, match=re.escape(f"{gldv2}: has {packed} but no train.csv; unpack it here{how}, then try again")):
        load_catalog(gldv2)


def test_an_archive_given_as_the_dataset_says_to_unpack_it(tmp_path):
    (tmp_path / "landmarks.zip").write_bytes(b"PK\x05\x06" + b"\x00" * 18)
    with pytest.raises(DatasetError, match=re.escape("landmarks.zip: is a file; point glr at a dataset folder or at its "
                                                     "train.csv (a zip archive: unpack it first, and point glr at the folder it "
                                                     "gives; or make a dataset of it on the app's Dataset page")):
        load_catalog(tmp_path / "landmarks.zip")


def test_gldv2s_folder_of_images_given_as_the_dataset_names_the_folder_above(gldv2, tmp_path):
    # Read as class folders, train/'s sub-folders "0" to "f" became up to 16 classes of unrelated photos, in silence.
    with pytest.raises(DatasetError, match=re.escape(
            f"{gldv2 / 'train'}: is GLDv2's folder of images (a/b/c/abc.jpg), not one folder per class; point glr at "
            f"the folder above it, {gldv2}")):
        load_catalog(gldv2 / "train")
    (gldv2 / "train.csv").unlink()
    with pytest.raises(DatasetError, match=re.escape(f"the folder above it, {gldv2}, with train.csv put there")):
        load_catalog(gldv2 / "train")
    for digit in "012":  # classes named by digits are classes
        for i in range(2):
            write_image(tmp_path / "digits" / digit / f"{i}.jpg", seed=i)
    assert sorted(load_catalog(tmp_path / "digits").names()) == [0, 1, 2]


def test_a_gldv2_folder_with_train_clean_csv_only_says_to_point_at_it(gldv2):
    # "put train.csv beside train/" while the cleaned subset's list was right there.
    (gldv2 / "train.csv").rename(gldv2 / "train_clean.csv")
    with pytest.raises(DatasetError, match=re.escape(f"no train.csv; point glr at {gldv2 / 'train_clean.csv'} to read "
                                                     "the cleaned subset it lists")):
        load_catalog(gldv2)


def test_a_web_address_given_as_the_dataset_says_so(tmp_path):
    # A dataset's page pasted: was "https:/www.kaggle.com/...: no such file or folder", its "//" collapsed.
    url = "https://www.kaggle.com/c/landmark-recognition-2021/data"
    with pytest.raises(DatasetError, match=re.escape(f"{url}: is a web address, not a folder on this computer; "
                                                     "download the dataset first")):
        load_catalog(url)


def test_a_path_with_a_space_at_its_end_reads_the_folder_without_it_and_says_so(tmp_path):
    # A path copied with the space after it: "no such file or folder" for a folder the user sees is there.
    # (Session 27: read and said, as a folder named in another Unicode form is; it was refused, naming the folder.)
    for name in ("Tower", "Bridge"):
        for i in range(2):
            write_image(tmp_path / "photos" / name / f"{i}.jpg", seed=i)
    catalog = load_catalog(f"{tmp_path}/photos ")
    assert catalog.root == tmp_path / "photos" and len(catalog.df) == 4
    assert catalog.problems[0] == (f"{tmp_path}/photos : not there as typed; '{tmp_path}/photos', the same name with "
                                   "spaces at the start or end of a folder's name, is: read that")
    with pytest.raises(DatasetError, match=r"nothing : no such file or folder$"):
        load_catalog(tmp_path / "nothing ")


@pytest.mark.parametrize("csv_text, first", [
    # (Session 28: `filename` is read as the id column; the missing one is landmark_id, and 'label' is named.
    # Session 29: the header is shown as the file writes it.)
    ("filename,label\nTower/0.jpg,Tower\n", "train.csv: missing column 'landmark_id'; found 'filename', 'label'"),
    ("id,landmark_id\n0123456789abcdef,1\n", "no usable images; 1 image file listed in train.csv not found"),
])
def test_class_folders_beside_a_train_csv_of_another_kind_are_pointed_out(tmp_path, csv_text, first):
    # A CSV of the user's own beside good class folders: the refusal named only the CSV, and nothing said that
    # glr reads class folders by themselves.
    for i, cls in enumerate(("Tower", "Bridge")):
        for j in range(2):
            write_image(tmp_path / cls / f"{j}.jpg", seed=10 * i + j)
    (tmp_path / "train.csv").write_text(csv_text)
    with pytest.raises(DatasetError, match=re.escape(first) + r".*\. This folder also holds class folders of photos "
                       r"\(e\.g\. 'Bridge', 'Tower'\): to read those as the dataset, move train\.csv out of it$"):
        load_catalog(tmp_path)
    (tmp_path / "train.csv").unlink()
    assert load_catalog(tmp_path).df["landmark_id"].nunique() == 2


@pytest.mark.parametrize("path, reason", [("x" * 300, "File name too long"), ("~nosuchuser4242/photos", "home directory")])
def test_a_path_the_os_cannot_look_at_is_a_dataset_error_naming_it(path, reason):
    with pytest.raises(DatasetError, match=f"cannot be opened as a dataset folder .*{reason}"):
        load_catalog(path)


def test_a_path_typed_in_nfc_for_a_folder_named_in_nfd_on_disk_is_read_and_said(tmp_path):
    # A folder copied from a Mac keeps its name decomposed (NFD: "e" + U+0301); the path typed or pasted
    # on Linux is composed (NFC: "é"), another name to the file system: "no such file or folder".
    import unicodedata

    on_disk = tmp_path / unicodedata.normalize("NFD", "Café photos") / unicodedata.normalize("NFD", "été")
    for name in ("Tower", "Bridge"):
        for i in range(2):
            write_image(on_disk / name / f"{i}.jpg", seed=i)
    typed = tmp_path / "Café photos" / "été"
    catalog = load_catalog(typed)
    assert catalog.root == on_disk and len(catalog.df) == 4
    assert catalog.problems[0] == (f"{typed}: not there as typed; {on_disk}, the same name in another Unicode form "
                                   "(as a Mac writes names), is: read that")


def test_a_path_in_another_unicode_form_that_matches_two_folders_names_them(tmp_path):
    import unicodedata

    first, second = "e\u0301" + "\u00e9", "\u00e9" + "e\u0301"  # both "éé" in NFC, neither in NFC themselves
    for name in (first, second):
        (tmp_path / name).mkdir()
    typed = tmp_path / unicodedata.normalize("NFC", first)
    with pytest.raises(DatasetError, match=re.escape(
            f"{typed}: no such file or folder (folders of the same name in another Unicode form are there: "
            f"{sorted([tmp_path / first, tmp_path / second])[0]}, ")):
        load_catalog(typed)


def _catalog_of(counts: dict[str, int]) -> Catalog:
    """A class-folder catalog of `counts` photos per class (no files: curate reads only the table)."""
    rows = [(f"{name}/{i}.jpg", f"/x/{name}/{i}.jpg", n, name) for n, (name, k) in enumerate(counts.items()) for i in range(k)]
    return Catalog(root=Path("/x"), layout="folders", df=pd.DataFrame(rows, columns=["id", "path", "landmark_id", "name"]))


def test_ten_thousand_classes_of_one_photo_say_every_class_is_too_small(tmp_path):
    # Was "the top 100 cut through 10000 classes of 1 images each: the 100 first by folder name kept (a tie; a larger
    # top-N keeps more). Dropped 100 classes ... and 90 more": a larger top-N keeps nothing, and 9,900 went unsaid.
    catalog = _catalog_of({f"class_{i:05d}": 1 for i in range(10_000)})
    with pytest.raises(DatasetError) as caught:
        curate(catalog)
    assert str(caught.value) == (
        "no class has at least 2 images, so nothing can be split into train and validation. Dropped 10,000 classes "
        "with fewer than 2 images (too small to split into train and validation): class_00000 (1), class_00001 (1), "
        "class_00002 (1), class_00003 (1), class_00004 (1), class_00005 (1), class_00006 (1), class_00007 (1), "
        "class_00008 (1), class_00009 (1) and 9,990 more")


def test_a_tie_among_classes_too_small_to_keep_is_not_said_as_a_tie(tmp_path):
    # 3 classes of 4 and 200 of 1 at top-N 100: the "tie" was said ("cut through 200 classes of 1 images each ...
    # a larger top-N keeps more"), though no top-N keeps a class of 1.
    catalog = _catalog_of({"A": 4, "B": 4, "C": 4} | {f"solo{i:03d}": 1 for i in range(200)})
    split = curate(catalog)
    assert split.num_classes == 3
    assert not any("tie" in m for m in split.messages), split.messages
    assert split.messages == ["Dropped 97 classes with fewer than 2 images (too small to split into train and "
                              "validation): solo000 (1), solo001 (1), solo002 (1), solo003 (1), solo004 (1), solo005 (1), "
                              "solo006 (1), solo007 (1), solo008 (1), solo009 (1) and 87 more"]


def test_landmark_names_in_the_landmark_id_column_say_how_to_give_them_and_no_class_folder_is_offered(tmp_path):
    # `id,landmark_id` with `Eiffel Tower` as the label, the photos in images/: was "6 rows have a landmark_id that
    # is not an integer ...; skipped. This folder also holds class folders of photos (e.g. 'images'): to read those
    # as the dataset, move train.csv out of it": one folder is no dataset of classes, and the names went unexplained.
    rows = []
    for c in ("Eiffel Tower", "Big Ben"):
        for i in range(3):
            write_image(tmp_path / "images" / f"{c[:3]}{i}.jpg", seed=i)
            rows.append(f"{c[:3]}{i},{c}")
    # (Session 28: names in every row, some repeated, are numbered and name the classes; one name per row, a
    # caption, is not, and keeps the message.)
    (tmp_path / "train.csv").write_text("id,landmark_id\n" + "\n".join(rows) + "\n")
    catalog = load_catalog(tmp_path)
    assert len(catalog.df) == 6 and catalog.names() == {0: "Big Ben", 1: "Eiffel Tower"}
    assert catalog.problems[0] == ("landmark_id holds the landmarks' names, not numbers (e.g. 'Big Ben', 'Eiffel "
                                   "Tower'): numbered 0-1 in alphabetical order, and named so")
    (tmp_path / "train.csv").write_text("id,landmark_id\n" + "\n".join(f"{r} {i}" for i, r in enumerate(rows)) + "\n")
    with pytest.raises(DatasetError) as caught:
        load_catalog(tmp_path)
    assert str(caught.value) == (
        f"{tmp_path}: no usable images; 6 rows have a landmark_id that is not an integer (e.g. 'Eiffel Tower 0' "
        "on line 2, 'Eiffel Tower 1' on line 3, 'Eiffel Tower 2' on line 4); skipped: they look like the landmarks' names, and landmark_id takes a "
        "number per landmark: number them (1, 2, ...) and name them in train_label_to_category.csv "
        "(landmark_id,category), or put each landmark's photos in a folder of its name")
    (tmp_path / "train.csv").write_text("id,landmark_id\nEif0,None\nEif1,nan\nBig0,1\nBig1,1\nBig2,None\n")
    problems = load_catalog(tmp_path, check_files=False).problems  # GLDv1's "no landmark": no names
    assert problems == ["3 rows have a landmark_id that is not an integer (e.g. 'None' on line 2, 'nan' on line 3); skipped"]


def test_the_split_of_many_small_classes_is_the_one_glr_always_made():
    # Hundreds of classes of 2-11 photos: stratification leaves many on one side, and one photo of each is moved.
    # The fingerprints are those of the code before the moves were made together (session 30): same seed, same split.
    sizes = [2, 3, 2, 5, 2, 4, 7, 2, 3, 11]
    rows = [(f"{c:04d}-{i}", f"/x/{c}/{i}.jpg", c, f"class {c}") for c in range(300) for i in range(sizes[c % 10])]
    df = pd.DataFrame(rows, columns=["id", "path", "landmark_id", "name"]).sample(frac=1, random_state=3)
    catalog = Catalog(root=Path("/x"), layout="folders", df=df)
    for seed, fingerprint in ((0, "3a3e383d267fbe74"), (42, "9d43be1431253a85")):
        split = curate(catalog, top_n=0, seed=seed)
        assert (split.fingerprint(), len(split.train), len(split.val)) == (fingerprint, 840, 390)
        assert split.train["label"].nunique() == split.val["label"].nunique() == 300


def test_the_curated_rows_are_the_splits_and_fetch_takes_them_without_sklearn(gldv2):
    import subprocess
    import sys

    from glr.data.datasets import curated_rows

    catalog = load_catalog(gldv2)
    rows, labels, messages = curated_rows(catalog, top_n=3)
    split = curate(catalog, top_n=3)
    assert sorted(rows["id"]) == sorted([*split.train["id"], *split.val["id"]]) and rows["path"].map(os.path.isfile).all()
    assert labels.equals(split.labels) and messages == split.messages
    # `glr fetch` needs which photos, not their split: sklearn (2-4 s to import, cold) is not imported for it.
    code = ("import sys; from glr.data.fetch import curated_ids; "
            f"root, ids = curated_ids({str(gldv2)!r}, top_n=3, min_images=2, val_fraction=0.2, seed=0); "
            "print(len(ids), 'sklearn' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parents[1]).stdout.split()
    assert out == [str(len(rows)), "False"]


def test_gldv2_ids_are_sorted_as_numbers_and_the_split_is_the_same_as_when_sorted_as_text(tmp_path, monkeypatch):
    import numpy as np
    from pandas.core.arrays.arrow.array import ArrowExtensionArray

    rng = np.random.default_rng(5)
    ids = [f"{v:016x}" for v in rng.integers(0, 2**63, 3000, dtype=np.int64)]
    pd.DataFrame({"id": ids, "landmark_id": 1000 + rng.zipf(1.5, 3000) % 80}).to_csv(tmp_path / "train.csv", index=False)
    catalog = load_catalog(tmp_path, check_files=False)
    # Curation sorted the kept rows' id text (4-7 s at GLDv2's 4.1M rows), and the fingerprint sorted it again.
    text_sorts, argsort = [], ArrowExtensionArray.argsort

    def spy(self, *args, **kwargs):
        text_sorts.append(len(self))
        return argsort(self, *args, **kwargs)

    monkeypatch.setattr(ArrowExtensionArray, "argsort", spy)
    # Pinned from the split made by sorting the text: the same rows on the same sides, bit for bit.
    for (top_n, seed, val_fraction), pinned in (((0, 0, 0.2), ("f7368a70290f8fda", 2397, 602)),
                                               ((10, 7, 0.3), ("b30ef8360855a43d", 1649, 707))):
        split = curate(catalog, top_n=top_n, seed=seed, val_fraction=val_fraction)
        assert (split.fingerprint(), len(split.train), len(split.val)) == pinned
        assert split.train["id"].is_monotonic_increasing and split.val["id"].is_monotonic_increasing
    assert text_sorts == []


AWKWARD_IDS = ["a,b", 'say "hi"', "two\nlines", "cr\ronly", "crlf\r\n", "", " spaced ", "tab\tx", "line\u2028sep",
               "Tōkyō 東京", "007", "nan", "NULL", '"', ",", "0123456789abcdef", "class/photo 1.jpg"]


@pytest.mark.parametrize("dtype", ["string[pyarrow]", "string[python]", "str", object])
def test_the_fingerprint_is_the_hash_of_the_split_tables_csv_without_writing_it(monkeypatch, dtype):
    import hashlib

    from glr.data.datasets import Split
    from glr.data.id_order import sort_by_id

    # Runs recorded the hash of the sorted table's to_csv (4-12 s at GLDv2's 4.1M rows): the same hash, made by Arrow.
    rows = pd.DataFrame({"id": pd.array(AWKWARD_IDS, dtype=dtype), "landmark_id": [-3, 0, 7, 2**40] * 4 + [12]})
    split = Split(train=rows.iloc[::2].reset_index(drop=True), val=rows.iloc[1::2].reset_index(drop=True),
                  labels=pd.DataFrame())
    expected = hashlib.sha1(sort_by_id(split.table()).to_csv(index=False).encode()).hexdigest()[:16]
    monkeypatch.setattr(pd.DataFrame, "to_csv", lambda *a, **k: pytest.fail("to_csv was called"))
    assert split.fingerprint() == expected


def test_a_split_arrow_cannot_write_as_to_csv_does_is_fingerprinted_by_to_csv():
    import hashlib

    from glr.data.datasets import Split

    # Classes that are no integers (2.0 is written "2.0") and a missing id (written as nothing): to_csv writes them.
    for ids, classes in ((["a", "b", "c"], [1.0, 2.0, 2.0]), (["a", None, "c"], pd.array([1, None, 2], "Int64"))):
        rows = pd.DataFrame({"id": ids, "landmark_id": classes})
        split = Split(train=rows.iloc[:2], val=rows.iloc[2:], labels=pd.DataFrame())
        text = split.table().sort_values("id").to_csv(index=False)
        assert split.fingerprint() == hashlib.sha1(text.encode()).hexdigest()[:16]

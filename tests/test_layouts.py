"""glr.data.layouts: GLDv2's rows and names, and class folders, as real datasets write them."""

import re
import unicodedata
from pathlib import Path

import pytest

from conftest import make_gldv2, write_image
from glr.data.datasets import load_catalog
from glr.data.layouts import category_to_name
from glr.errors import DatasetError


@pytest.mark.parametrize("category, name", [
    ("https://commons.wikimedia.org/wiki/Category:Eiffel_Tower?uselang=fr", "Eiffel Tower"),
    ("https://commons.wikimedia.org/wiki/Category:Big_Ben#History", "Big Ben"),
    ("https://commons.wikimedia.org/w/index.php?title=Category:Eiffel_Tower&oldid=1", "Eiffel Tower"),
    ("https://commons.wikimedia.org/wiki/Category:Eiffel_Tower/", "Eiffel Tower"),
    ("HTTPS://commons.wikimedia.org/wiki/Category:AT%26T_Building", "AT&T Building"),
    ("https://commons.wikimedia.org/wiki/Category:%E6%9D%B1%E4%BA%AC%E3%82%BF%E3%83%AF%E3%83%BC", "東京タワー"),
    ("https://commons.wikimedia.org/wiki/Category:%E6%9D", "%E6%9D"),  # cut short: as written, not "\ufffd"
])
def test_a_category_urls_query_fragment_and_slash_are_no_part_of_the_name(category, name):
    # Were "Eiffel Tower?uselang=fr", "Big Ben#History", "Eiffel Tower&oldid=1", "Eiffel Tower/", "\ufffd".
    assert category_to_name(category) == name


@pytest.fixture
def gld(tmp_path):
    return make_gldv2(tmp_path / "gld", {7: 3, 12: 3})


@pytest.mark.parametrize("content", [
    "landmark_id;category\n7;Eiffel_Tower\n12;Big Ben\n",
    "Landmark_ID\tCategory\n7\tEiffel_Tower\n12\tBig Ben\n",
    "landmark_id,name\r7,Eiffel Tower\r12,Big Ben\r",
])
def test_the_category_file_is_read_as_train_csv_is(gld, content):
    # A semicolon or tab (read in train.csv), a `name` column, Excel for Mac's line ends: every class was
    # named by its id ("expected columns landmark_id,category").
    (gld / "train_label_to_category.csv").write_bytes(content.encode())
    catalog = load_catalog(gld)
    assert catalog.names() == {7: "Eiffel Tower", 12: "Big Ben"} and catalog.problems == []


def test_a_category_row_that_does_not_parse_costs_its_own_name_only(gld):
    # An unquoted comma in a hand-written name: pandas shifted the columns and every name was lost in silence.
    # (Unquoted, `7,Paris, Eiffel Tower` is one name now: test_robustness_csv_read.py. With a quote it is unsure.)
    (gld / "train_label_to_category.csv").write_text('landmark_id,category\n7,"Paris", Eiffel Tower\n12,Big Ben\n')
    catalog = load_catalog(gld)
    assert catalog.names() == {7: "landmark 7", 12: "Big Ben"}
    assert catalog.problems == ["train_label_to_category.csv: 1 row without the header's columns (e.g. '7,\"Paris\", "
                                "Eiffel Tower'; a name holding the separator must be in quotes); those landmarks "
                                "are named by their id"]


def test_a_category_file_with_a_trailing_separator_on_its_first_row_only_names_every_landmark(gld):
    # The first row's `7,Eiffel_Tower,` set the width: every other row was "without the header's columns" and its
    # landmark named by its id.
    (gld / "train_label_to_category.csv").write_text("landmark_id,category\n7,Eiffel_Tower,\n12,Big Ben\n9,a,b\n")
    catalog = load_catalog(gld)
    assert catalog.names() == {7: "Eiffel Tower", 12: "Big Ben"}
    assert catalog.problems == ["train_label_to_category.csv: 1 row without the header's columns (e.g. '9,a,b'; a name "
                                "holding the separator must be in quotes); those landmarks are named by their id"]


def test_a_negative_landmark_id_is_skipped_and_named(gld):
    # -1 is many tools' "no landmark": those photos were trained as one landmark, "landmark -1".
    with open(gld / "train.csv", "a") as fh:
        fh.write("".join(f"{i:016x},-1\n" for i in range(4)))
    catalog = load_catalog(gld, check_files=False)
    assert sorted(catalog.class_counts.index) == [7, 12]
    assert "4 rows have a negative landmark_id (e.g. -1 on line 8; -1 often marks a photo of no landmark); skipped" in catalog.problems


def test_ids_written_as_file_names_are_their_ids(gld):
    # `abc.jpg` (a listing of the folder) was "an id that is not a plain file name", every row skipped.
    csv = gld / "train.csv"
    lines = csv.read_text().splitlines()
    csv.write_text("\n".join([lines[0]] + [line.replace(",", ".JPG,", 1) for line in lines[1:]]) + "\n")
    catalog = load_catalog(gld)
    assert len(catalog.df) == 6 and catalog.problems == []


@pytest.mark.parametrize("ext", [".png", ".webp", ".HEIC", ".jpeg"])
def test_ids_written_as_file_names_of_any_image_format_find_their_photos(gld, ext):
    # Photos converted to PNG or WebP and listed by their file names: "6 rows have an id that is not a plain file
    # name (e.g. '10abc....png'); skipped, so nothing outside the dataset is read", every row.
    import os

    csv = gld / "train.csv"
    lines = csv.read_text().splitlines()
    csv.write_text("\n".join([lines[0]] + [line.replace(",", f"{ext},", 1) for line in lines[1:]]) + "\n")
    for path in (gld / "train").rglob("*.jpg"):
        os.rename(path, path.with_suffix(ext))  # the bytes stay JPEG: only the names matter here
    catalog = load_catalog(gld)
    assert len(catalog.df) == 6 and catalog.problems == []
    assert all(p.endswith(ext) for p in catalog.paths())


def test_a_class_folder_without_images_is_named(tmp_path):
    for name in ("Tower", "Bridge"):
        for i in range(2):
            write_image(tmp_path / name / f"{i}.jpg", seed=i)
    (tmp_path / "Castle" / "2019").mkdir(parents=True)  # only a sub-folder, empty
    catalog = load_catalog(tmp_path)
    assert catalog.problems == ["1 class folder has no images (e.g. 'Castle'); no class made of it"]


def test_class_folders_named_alike_in_two_unicode_forms_are_pointed_out(tmp_path):
    # "Café" typed on Linux (NFC) and copied from a Mac (NFD): two classes that print the same, in silence.
    for i, form in enumerate(("NFC", "NFD")):
        for j in range(2):
            write_image(tmp_path / unicodedata.normalize(form, "Café") / f"{j}.jpg", seed=i * 10 + j)
    catalog = load_catalog(tmp_path)
    assert catalog.class_counts.size == 2
    assert len(catalog.problems) == 1 and "the same letters, one with its accents as separate characters" in catalog.problems[0]


@pytest.mark.parametrize("category, name", [
    ("https://example.com/places/Old_Bridge", "Old Bridge"),
    ("https://example.com/places/Caf%C3%A9_de_Flore/", "Café de Flore"),
    ("https://www.wikidata.org/wiki/Q243", "Q243"),
    ("http://example.com/", ""),  # nothing names it: the reader falls back to "landmark <id>"
])
def test_a_category_url_outside_wikimedia_is_named_by_its_last_part(category, name):
    # Was "/places/Old Bridge": the whole path, its slashes and all.
    assert category_to_name(category) == name


def test_ids_a_spreadsheet_turned_into_numbers_are_named_as_such(gld):
    # Excel shows an all-digit id as 1.23457E+15 and saves it so: "not a plain file name ... so nothing outside the
    # dataset is read" did not say what happened or what to do.
    with open(gld / "train.csv", "a") as fh:
        fh.write("1.23457E+15,7\n1.23457E+14,12\n")
    catalog = load_catalog(gld)
    assert len(catalog.df) == 6
    assert catalog.problems == ["2 rows have an id a spreadsheet turned into a number (e.g. '1.23457E+15', "
                                "'1.23457E+14'), losing its digits; skipped: format the id column as Text and "
                                "save train.csv again from the original file"]


def _two_classes(root, n=2):
    for name in ("Tower", "Bridge"):
        for i in range(n):
            write_image(root / name / f"{i}.jpg", seed=i + (10 if name == "Tower" else 0))


def test_a_link_whose_photo_is_gone_is_named(tmp_path):
    # A dataset assembled from links, whose photo was then moved: dropped in silence.
    _two_classes(tmp_path)
    (tmp_path / "Tower" / "moved.jpg").symlink_to(tmp_path / "elsewhere" / "moved.jpg")
    catalog = load_catalog(tmp_path)
    assert len(catalog.df) == 4
    assert catalog.problems == ["1 link in class folders points to a photo that is not there (e.g. 'Tower/moved.jpg'); "
                                "skipped: was the photo moved or deleted?"]


@pytest.mark.parametrize("target", ["Tower", "Tower/old"])
def test_a_class_folder_that_links_to_another_class_is_not_a_second_class(tmp_path, target):
    # `Tower_link -> Tower` (a shortcut) read the same photos as a second landmark, taught apart from itself.
    _two_classes(tmp_path)
    write_image(tmp_path / "Tower" / "old" / "9.jpg", seed=9)
    (tmp_path / "A_link").symlink_to(tmp_path / target)  # sorts first: the real folder is still the one kept
    catalog = load_catalog(tmp_path)
    assert sorted(catalog.names().values()) == ["Bridge", "Tower"] and len(catalog.df) == 5
    assert catalog.problems == ["1 class folder is a link to another class's photos (e.g. 'A_link' -> 'Tower'); "
                                "skipped, so the same photos are not taught as two landmarks"]


@pytest.mark.parametrize("target, shown", [(".", "."), ("..", "PARENT")])
def test_a_class_folder_that_links_to_the_dataset_folder_is_not_one_more_class(tmp_path, target, shown):
    # `All -> .` (a shortcut to "every photo") read every class's photos again as a third landmark, said nowhere.
    data = tmp_path / "data"
    _two_classes(data)
    (data / "All").symlink_to(target)
    catalog = load_catalog(data)
    assert sorted(catalog.names().values()) == ["Bridge", "Tower"] and len(catalog.df) == 4
    shown = str(tmp_path.resolve()) if shown == "PARENT" else shown
    assert catalog.problems == [f"1 class folder is a link to a folder holding the other class folders (e.g. 'All' -> "
                                f"{shown!r}); skipped, so their photos are not taught as one more landmark"]


def test_a_class_folder_linked_from_outside_the_dataset_is_a_class(tmp_path):
    _two_classes(tmp_path / "data")
    write_image(tmp_path / "elsewhere" / "Castle" / "0.jpg", seed=5)
    write_image(tmp_path / "elsewhere" / "Castle" / "1.jpg", seed=6)
    (tmp_path / "data" / "Castle").symlink_to(tmp_path / "elsewhere" / "Castle")
    catalog = load_catalog(tmp_path / "data")
    assert sorted(catalog.names().values()) == ["Bridge", "Castle", "Tower"] and catalog.problems == []


def test_office_lock_files_in_a_class_folder_are_passed_over(tmp_path):
    # `~$notes.docx`, left by Word while a document is open (hidden on Windows): listed as "not an image".
    _two_classes(tmp_path)
    (tmp_path / "Tower" / "~$notes.docx").write_bytes(b"\x00" * 162)
    catalog = load_catalog(tmp_path)
    assert len(catalog.df) == 4 and catalog.problems == []


def test_ids_written_as_their_photos_paths_are_their_ids(gld):
    # Kaggle notebooks save the path (`/kaggle/input/.../train/a/b/c/abc.jpg`): "not a plain file name", every
    # row skipped. A path whose folders do not match its id, or that climbs out, is still refused.
    csv = gld / "train.csv"
    lines = csv.read_text().splitlines()
    ids = [line.split(",")[0] for line in lines[1:]]
    forms = ["/kaggle/input/landmark-recognition-2021/train/{0}/{1}/{2}/{3}.jpg", "./train/{0}/{1}/{2}/{3}",
             "{0}/{1}/{2}/{3}.JPG", "train/{3}", "TRAIN\\{3}", "train/{2}/{1}/{0}/{3}"]
    csv.write_text("\n".join([lines[0]] + [form.format(*i[:3], i) + "," + line.split(",")[1]
                                           for form, i, line in zip(forms, ids, lines[1:])]) + "\n")
    catalog = load_catalog(gld, check_files=False)
    assert catalog.df["id"].tolist() == ids[:4]
    assert len(catalog.problems) == 1 and catalog.problems[0].startswith("2 rows have an id that is not a plain file name")
    assert load_catalog(gld).problems == catalog.problems  # the four are found on disk


def test_ids_written_as_windows_paths_with_backslashes_are_their_ids(gld):
    # A table saved on Windows writes the path with backslashes (`train\\a\\b\\c\\abc.jpg`, `D:\\gldv2\\train\\...`):
    # was "not a plain file name", every row skipped. A path that climbs out is still refused.
    csv = gld / "train.csv"
    lines = csv.read_text().splitlines()
    ids = [line.split(",")[0] for line in lines[1:]]
    forms = ["train\\{0}\\{1}\\{2}\\{3}.jpg", "D:\\gldv2\\train\\{0}\\{1}\\{2}\\{3}.jpg", "{0}\\{1}\\{2}\\{3}",
             "train\\{3}", "..\\..\\{3}", "train\\{2}\\{1}\\{0}\\{3}"]
    csv.write_text("\n".join([lines[0]] + [form.format(*i[:3], i) + "," + line.split(",")[1]
                                           for form, i, line in zip(forms, ids, lines[1:])]) + "\n")
    catalog = load_catalog(gld)
    assert catalog.df["id"].tolist() == ids[:4]
    assert len(catalog.problems) == 1 and catalog.problems[0].startswith("2 rows have an id that is not a plain file name")
    assert "..\\\\..\\\\" in catalog.problems[0]  # named as written


def test_class_folders_inside_train_and_val_folders_are_the_classes(tmp_path):
    # Keras' and many Kaggle datasets ship train/<class>/ and val/<class>/: read as folders, "train" and "val"
    # became the two classes, and the model was taught to tell the splits apart, in silence.
    for split, seed in (("train", 0), ("val", 10), ("validation", 20)):
        for j, name in enumerate(("Tower", "Big_Ben")):
            write_image(tmp_path / split / name / f"{split}{j}.jpg", seed=seed + j)
    (tmp_path / "val" / "Castle").mkdir()  # empty here, and nowhere else: still said
    (tmp_path / "validation" / "Tower" / "old").mkdir()
    write_image(tmp_path / "test" / "unlabelled.jpg", seed=99)  # Kaggle's test set: photos in no class
    catalog = load_catalog(tmp_path)
    assert catalog.names() == {0: "Big Ben", 2: "Tower"} and catalog.class_counts.to_dict() == {0: 3, 2: 3}
    assert sorted(catalog.df["id"])[:2] == ["Big_Ben/train/train1", "Big_Ben/val/val1"]
    assert catalog.problems == [
        "the class folders inside 'train', 'val', 'validation' are read as one dataset: glr makes its own "
        "train/validation split",
        "1 image in split folders, in no class folder (e.g. 'test/unlabelled.jpg'; an unlabelled test set?); skipped",
        "1 class folder has no images (e.g. 'Castle'); no class made of it"]


def test_a_split_folder_that_cannot_be_listed_is_named(tmp_path, monkeypatch):
    # test/ owned by another user: a PermissionError traceback out of the CLI and the Dataset page.
    write_image(tmp_path / "train" / "Tower" / "0.jpg", seed=1)
    write_image(tmp_path / "train" / "Bridge" / "0.jpg", seed=2)
    (tmp_path / "test").mkdir()
    listing = Path.iterdir

    def iterdir(self):
        if self.name == "test":
            raise PermissionError(13, "Permission denied", str(self))
        return listing(self)

    monkeypatch.setattr(Path, "iterdir", iterdir)
    with pytest.raises(DatasetError, match=r"test: cannot be listed \(Permission denied\)"):
        load_catalog(tmp_path)


def test_a_class_empty_in_one_split_only_is_not_called_empty(tmp_path):
    for j, name in enumerate(("Tower", "Bridge")):
        write_image(tmp_path / "train" / name / "0.jpg", seed=j)
        write_image(tmp_path / "train" / name / "1.jpg", seed=j + 5)
    (tmp_path / "val" / "Tower").mkdir(parents=True)
    catalog = load_catalog(tmp_path)
    assert len(catalog.df) == 4 and not any("no images" in p for p in catalog.problems)


def test_folders_named_train_and_test_holding_photos_are_classes(tmp_path):
    for j, name in enumerate(("train", "test")):  # no class folders inside: they are the classes
        for i in range(2):
            write_image(tmp_path / name / f"{i}.jpg", seed=j * 10 + i)
    assert sorted(load_catalog(tmp_path).names().values()) == ["test", "train"]


def test_photos_that_differ_only_in_their_extension_get_ids_of_their_own(tmp_path):
    # IMG_1.JPG beside IMG_1.png (or .HEIC): both had the id 'Tower/IMG_1', so the split, the run's split.csv and
    # a resume mixed the two up.
    _two_classes(tmp_path)
    write_image(tmp_path / "Tower" / "IMG_1.JPG", seed=30)
    write_image(tmp_path / "Tower" / "IMG_1.jpg", seed=31)
    (tmp_path / "Tower" / "IMG_1.png").write_bytes((tmp_path / "Tower" / "0.jpg").read_bytes())
    catalog = load_catalog(tmp_path)
    assert catalog.df["id"].is_unique and len(catalog.df) == 7
    assert sorted(catalog.df["id"])[-3:] == ["Tower/IMG_1.JPG", "Tower/IMG_1.jpg", "Tower/IMG_1.png"]
    assert "Tower/0" in set(catalog.df["id"])  # the others keep their ids, so earlier runs still resume


def test_a_class_left_as_a_zip_beside_the_class_folders_is_said(tmp_path):
    # A class downloaded as Castle.zip and never unpacked: passed over in silence (or "no dataset found" alone).
    (tmp_path / "Castle.zip").write_bytes(b"PK\x05\x06" + b"\x00" * 18)
    with pytest.raises(DatasetError, match=re.escape("It holds 1 archive (e.g. 'Castle.zip'), which glr does not read "
                                                     "inside: unpack it first.")):
        load_catalog(tmp_path)
    _two_classes(tmp_path)
    assert load_catalog(tmp_path).problems == ["1 archive (e.g. 'Castle.zip'), which glr does not read inside: unpack "
                                               "it into a class folder to use its photos"]


def test_ids_with_invisible_characters_or_quotes_around_them_are_their_ids(gld):
    # A zero-width space pasted from a web page, or `"abc" , 7`: "an id that is not a plain file name", skipped.
    csv = gld / "train.csv"
    lines = csv.read_text().splitlines()
    wrapped = ["\u200b{}", '"{}" ', "{}\u2060", "\ufeff{}"]
    csv.write_text("\n".join([lines[0]] + [wrapped[k % 4].format(line.split(",")[0]) + "," + line.split(",")[1]
                                           for k, line in enumerate(lines[1:])]) + "\n")
    catalog = load_catalog(gld)
    assert len(catalog.df) == 6 and catalog.problems == []


def test_photos_kept_in_icloud_only_are_said(tmp_path):
    # macOS' "Optimize Mac Storage" leaves `.IMG_7.HEIC.icloud` in place of a photo: a hidden file, passed over in
    # silence, so a class of 50 photos trained on the 5 that were downloaded.
    _two_classes(tmp_path)
    (tmp_path / "Tower" / ".IMG_7.HEIC.icloud").write_bytes(b"bplist00")
    (tmp_path / "Tower" / ".notes.txt.icloud").write_bytes(b"bplist00")  # no photo: passed over as before
    catalog = load_catalog(tmp_path)
    assert len(catalog.df) == 4
    assert catalog.problems == ["1 photo in iCloud only, not on this disk (e.g. 'Tower/IMG_7.HEIC'); skipped: download "
                                "it first (Finder: Download Now)"]


def test_an_id_listed_in_upper_and_lower_case_is_one_photo(gld):
    # The photo of `ABC...` is found as `abc....jpg`: listed in both cases it was two photos, so a photo under two
    # landmarks was trained as both, and a repeat could sit in training and validation at once.
    csv = gld / "train.csv"
    lines = csv.read_text().splitlines()
    first, second = lines[1].split(","), lines[5].split(",")  # landmark 7's first photo, landmark 12's second
    csv.write_text("\n".join(lines + [f"{first[0].upper()},12", f"{second[0].upper()},{second[1]}"]) + "\n")
    catalog = load_catalog(gld)
    assert len(catalog.df) == 5 and catalog.df["id"].str.lower().is_unique
    assert first[0] not in set(catalog.df["id"]) and first[0].upper() not in set(catalog.df["id"])
    assert catalog.problems == [f"1 id listed under more than one landmark_id (e.g. '{first[0]}' on lines 2 and 8: 7, 12); skipped, "
                                "as which "
                                "landmark the photo shows is unknown",
                                f"1 duplicate id (e.g. '{second[0].upper()}' on lines 6 and 9); kept the first row of each"]


@pytest.mark.parametrize("url, name", [
    ("https://commons.wikimedia.org/wiki/Category%3ABig_Ben", "Big Ben"),  # its colon percent-encoded
    ("https://de.wikipedia.org/wiki/Kategorie:K%C3%B6lner_Dom", "Kölner Dom"),  # a Wikipedia in its own language
    ("https://fr.wikipedia.org/wiki/Cat%C3%A9gorie:Tour_Eiffel", "Tour Eiffel"),
    ("https://es.wikipedia.org/wiki/Categor%C3%ADa:Sagrada_Familia", "Sagrada Familia"),
    ("https://ru.wikipedia.org/wiki/Категория:Кремль", "Кремль"),
])
def test_a_category_url_with_an_escaped_colon_or_another_languages_namespace_is_named_by_its_landmark(url, name):
    # Were "Category:Big Ben", "Kategorie:Kölner Dom", ...: the namespace shown as part of every class name.
    assert category_to_name(url) == name


def test_ids_in_excels_formula_wrapper_are_their_ids_and_said_once(gld):
    # ="0123" is the way to keep an id's leading zeros in Excel, and a CSV made for Excel holds it so (quoted or not):
    # "an id that is not a plain file name", skipped. A landmark_id so written was "not an integer".
    csv = gld / "train.csv"
    lines = csv.read_text().splitlines()
    rows = [line.split(",") for line in lines[1:]]
    wrapped = ['="{}"', '"=""{}"""']
    labels = ['="{}"'.format(rows[0][1])] + [label for _, label in rows[1:]]  # the first landmark_id wrapped too
    csv.write_text("\n".join([lines[0]] + [f"{wrapped[k % 2].format(i)},{label}"
                                           for k, ((i, _), label) in enumerate(zip(rows, labels))]) + "\n")
    catalog = load_catalog(gld)
    assert len(catalog.df) == 6 and sorted(catalog.df["id"]) == sorted(i for i, _ in rows)
    shown = ", ".join(f"'=\"{i}\"'" for i, _ in rows[:3])
    assert catalog.problems == ['6 rows have an id in Excel\'s ="..." wrapper (the way it keeps leading zeros), e.g. '
                                f"{shown}; read as what it holds"]


def test_ids_written_as_paths_inside_the_dataset_are_their_photos_names(tmp_path):
    # A tutorial's table (`images/IMG_1000.jpg`, or `photos\\2024\\IMG_1000.jpg` from Windows): every row "an id that
    # is not a plain file name; skipped, so nothing outside the dataset is read", though the path stays inside.
    rows = []
    for c, folder in ((1, "images"), (2, "images/more")):
        for i in range(3):
            write_image(tmp_path / folder / f"IMG_{c}{i:03d}.jpg", seed=10 * c + i)
            rows.append(f"{folder.replace('/', chr(92)) if c == 2 else folder}/IMG_{c}{i:03d}.jpg,{c}")
    (tmp_path / "train.csv").write_text("id,landmark_id\n" + "\n".join(rows + ["../outside/IMG_9999.jpg,1"]) + "\n")
    catalog = load_catalog(tmp_path)
    assert sorted(catalog.df["id"]) == [f"IMG_{c}{i:03d}" for c in (1, 2) for i in range(3)]
    assert catalog.problems[0] == ("1 row has an id that is not a plain file name (e.g. '../outside/IMG_9999' on line 8: a path out of "
                                   "the dataset); "
                                   "skipped, so nothing outside the dataset is read")


def test_ids_that_are_a_photos_own_name_are_read_and_their_photos_found(tmp_path):
    # "IMG 0042", "photo.v2", "café": "an id that is not a plain file name", skipped, though each names a photo in
    # the dataset. As a name, a path inside it, or in GLDv2's nested place (I/M/G/IMG 0099.jpg).
    names = ["IMG 0042", "photo.v2", "café", "東京タワー", "Tour (2)"]
    for i, name in enumerate(names):
        write_image(tmp_path / "images" / f"{name}.jpg", seed=i)
    write_image(tmp_path / "I" / "M" / "G" / "IMG 0099.jpg", seed=9)  # a shard unpacked without train/
    rows = [f"{n},{1 + i % 2}" for i, n in enumerate(names[:4])] + ["images/Tour (2).jpg,2", "IMG 0099,1",
                                                                    "../x y,1", "C:x y,1", ".x y,2"]
    (tmp_path / "train.csv").write_text("id,landmark_id\n" + "\n".join(rows) + "\n", encoding="utf-8")
    catalog = load_catalog(tmp_path)
    assert sorted(catalog.df["id"]) == sorted(names + ["IMG 0099"])
    assert catalog.problems[0] == (
        "3 rows have an id that is not a plain file name (e.g. '../x y' on line 8: a path out of the dataset, 'C:x y' on "
        "line 9: holds ':' (a drive letter on Windows), '.x y' on line 10: starts with '.'); skipped, so nothing outside the dataset is read")
    assert not any("not found" in p for p in catalog.problems)
    assert all(Path(p).resolve().is_relative_to(tmp_path.resolve()) for p in catalog.paths())


@pytest.mark.parametrize("where", ["images/{}.jpg", "{}.jpg", "train/{}.jpg", "photos/set 1/{}.JPG"])
def test_a_train_csv_of_ones_own_numbered_1_to_n_finds_its_photos(tmp_path, where):
    # Ids of 1-2 characters were refused ("shorter than 3 characters") wherever the photos were.
    root = tmp_path / "mine"
    for i in range(1, 13):
        write_image(root / where.format(i), seed=i)
    (root / "train.csv").write_text("id,landmark_id\n" + "".join(f"{i},{i % 2}\n" for i in range(1, 13)))
    catalog = load_catalog(root)
    assert sorted(catalog.df["id"], key=int) == [str(i) for i in range(1, 13)]
    assert all(Path(p).is_file() and Path(p).stem == i for p, i in zip(catalog.paths(), catalog.df["id"]))
    assert not any("shorter" in p or "not found" in p for p in catalog.problems)


def test_short_ids_in_gldv2s_train_folders_are_skipped_saying_why(gld):
    with open(gld / "train.csv", "a") as fh:
        fh.write("a,7\nx1,12\n42,7\n")
    write_image(gld / "train" / "0" / "0" / "0" / "0000000000000042.jpg", seed=42)
    catalog = load_catalog(gld)
    assert len(catalog.df) == 7 and catalog.problems[0] == (
        "2 rows have an id shorter than 3 characters (e.g. 'a' on line 8, 'x1' on line 9), and this dataset's train/ "
        "is GLDv2's (ids of 16 hex digits, such as '0123456789abcdef'), where a photo's folders are its id's first 3 "
        "characters (train/a/b/c/abc....jpg); skipped: no photo there can be named so (a dataset of one's own keeps "
        "its photos in images/ beside train.csv)")
    # Digits only: a GLDv2 id a spreadsheet took the zeros from, given back as its photo is on disk so.
    assert "0000000000000042" in set(catalog.df["id"]) and "lost its leading zeros" in catalog.problems[1]


def test_landmark_ids_with_a_spreadsheets_text_prefix_are_read_without_a_word(gld):
    text = (gld / "train.csv").read_text()
    (gld / "train.csv").write_text(text.replace(",7\n", ",'7\n"))
    assert (gld / "train.csv").read_text().count(",'7\n") == 3
    (gld / "train_label_to_category.csv").write_text("landmark_id,category\n'7,Eiffel_Tower\n'12,Big_Ben\n")
    catalog = load_catalog(gld)
    assert catalog.problems == [] and len(catalog.df) == 6
    assert catalog.names() == {7: "Eiffel Tower", 12: "Big Ben"}


def test_a_category_file_in_windows_1252_is_read_and_said_once(gld):
    # Excel's "CSV (comma delimited)" on a Western Windows: every name was lost as "not UTF-8 text".
    text = "landmark_id,category\n7,Sagrada_Fam\u00edlia\n12,\u201cK\u00f6lner\u201d Dom \u2013 S\u00fcd\n"
    (gld / "train_label_to_category.csv").write_bytes(text.encode("cp1252"))
    catalog = load_catalog(gld)
    assert catalog.names() == {7: "Sagrada Fam\u00edlia", 12: "\u201cK\u00f6lner\u201d Dom \u2013 S\u00fcd"}
    assert catalog.problems == ["train_label_to_category.csv: read as Windows-1252 text (not UTF-8)"]
    (gld / "train_label_to_category.csv").write_bytes(text.encode())  # saved again as UTF-8: read so, nothing said
    catalog = load_catalog(gld)
    assert catalog.names()[7] == "Sagrada Fam\u00edlia" and catalog.problems == []


@pytest.mark.parametrize("raw", [b"7,Caf\xe9 \xa4\n", b"7,Caf\xe9\x81\n", "7,\u6771\u4eac\n".encode("shift_jis")])
def test_a_category_file_not_utf8_and_not_clearly_windows_1252_is_named(gld, raw):
    # A symbol (the currency sign), a byte Windows-1252 lacks, Japanese (Shift JIS, which reads as “Œ‹ž there):
    # no evidence of Windows-1252, so said, never guessed.
    (gld / "train_label_to_category.csv").write_bytes(b"landmark_id,category\n" + raw)
    catalog = load_catalog(gld)
    shown = raw.decode("utf-8", "backslashreplace").strip()  # the line, its first byte that is not UTF-8 on it
    assert catalog.problems == ["train_label_to_category.csv: is not UTF-8 text; save it as UTF-8 CSV (its first byte "
                                f"that is not UTF-8 is on line 2: {shown}); classes are named by their id"]


def test_ids_written_as_paths_to_photos_named_in_hex_digits_are_their_names(tmp_path):
    # `images/1.jpg`, `images\\cafe.jpg` (names of hex digits only, as 1..N are): "a path, not a file name", skipped.
    root = tmp_path / "mine"
    for name in ("1", "cafe", "42", "0123"):
        write_image(root / "images" / f"{name}.jpg", seed=len(name))
    (root / "train.csv").write_text("id,landmark_id\nimages/1.jpg,1\nimages\\cafe.jpg,2\n./images/42.jpg,1\n"
                                    "images\\0123,2\n")
    catalog = load_catalog(root)
    assert catalog.df["id"].tolist() == ["1", "cafe", "42", "0123"]
    assert all(Path(p).is_file() for p in catalog.paths())


def test_ids_with_a_spreadsheets_text_mark_are_their_digits(tmp_path):
    # `'0123`: looked for as "train/'/0/1/'0123.jpg" and not found. A name of one's own may start with "'".
    root = tmp_path / "mine"
    for name in ("0123", "0042", "'t Hoff"):
        write_image(root / "images" / f"{name}.jpg", seed=len(name))
    (root / "train.csv").write_text("id,landmark_id\n'0123,1\n'0042,2\n't Hoff,1\n")
    catalog = load_catalog(root)
    assert catalog.df["id"].tolist() == ["0123", "0042", "'t Hoff"]
    assert all(Path(p).is_file() for p in catalog.paths())
    assert [p for p in catalog.problems if "text mark" in p] == [
        "2 rows have an id with a spreadsheet's text mark, the way it keeps leading zeros (e.g. \"'0123\", \"'0042\"); "
        "read as the digits after it"]


@pytest.mark.parametrize("header", ["id,landmark_id", "id,landmark", "image_id,Landmark"])
def test_landmark_names_where_their_numbers_go_are_numbered_and_name_the_classes(tmp_path, header):
    # `id,landmark` / `Eiffel Tower` (a train.csv of one's own): every row was skipped as "not an integer".
    root = tmp_path / "mine"
    rows = []
    for c in ("Eiffel Tower", "Big Ben", "Colosseum"):
        for i in range(2):
            write_image(root / "images" / f"{c[:3]}{i}.jpg", seed=i)
            rows.append(f"{c[:3]}{i},{c}")
    (root / "train.csv").write_text(header + "\n" + "\n".join(rows) + "\nnone0,None\n")
    (root / "train_label_to_category.csv").write_text("landmark_id,category\n0,Not this\n")
    catalog = load_catalog(root)
    assert catalog.names() == {0: "Big Ben", 1: "Colosseum", 2: "Eiffel Tower"}
    assert dict(zip(catalog.df["id"], catalog.df["landmark_id"]))["Eif1"] == 2 and len(catalog.df) == 6
    assert catalog.problems[:2] == [
        "landmark_id holds the landmarks' names, not numbers (e.g. 'Big Ben', 'Colosseum', 'Eiffel Tower'): numbered "
        "0-2 in alphabetical order, and named so (train_label_to_category.csv not read)",
        "1 row has a landmark_id that is not an integer (e.g. 'None' on line 8); skipped"]


def test_ids_written_as_whole_paths_on_another_computer_are_read_inside_the_dataset(tmp_path):
    # A table made on Windows (or before the folder moved) writes `C:\\Users\\me\\Mine\\images\\1.jpg`: "a path out of
    # the dataset", every row skipped. Only a path through a folder named as the dataset's is read so.
    root = tmp_path / "mine"
    for name in ("1", "2", "3"):
        write_image(root / "images" / f"{name}.jpg", seed=int(name))
    (root / "train.csv").write_text("id,landmark_id\nC:\\Users\\me\\Mine\\images\\1.jpg,1\n/home/me/mine/images/2.jpg,2\n"
                                    "D:\\other\\images\\3.jpg,1\n/home/me/mine/../secret/3.jpg,1\n")
    catalog = load_catalog(root)
    assert catalog.df["id"].tolist() == ["1", "2"]
    assert catalog.problems[0] == (
        "2 ids have the whole path of their photo on another computer or before the dataset moved (e.g. "
        "'C:\\\\Users\\\\me\\\\Mine\\\\images\\\\1', '/home/me/mine/images/2'): read as the path inside the dataset "
        "folder 'mine'")
    assert catalog.problems[1].startswith("2 rows have an id that is not a plain file name (e.g. 'D:\\\\other\\\\images\\\\3' "
                                          "on line 4: a path out of the dataset, '/home/me/mine/../secret/3' on line 5: a "
                                          "path out of")


def test_a_train_csv_in_windows_1252_is_read_and_said_once(tmp_path):
    # Excel's "CSV (comma delimited)" on a Western Windows, ids and names with accents: the whole file was refused
    # ("is not UTF-8 text").
    root = tmp_path / "mine"
    for name in ("caf\u00e9", "K\u00f6ln 1", "K\u00f6ln 2"):
        write_image(root / "images" / f"{name}.jpg", seed=len(name))
    text = "id;landmark\ncaf\u00e9;Caf\u00e9 de Flore\nK\u00f6ln 1;K\u00f6lner Dom\nK\u00f6ln 2;K\u00f6lner Dom\n"
    (root / "train.csv").write_bytes(text.encode("cp1252"))
    catalog = load_catalog(root)
    assert catalog.df["id"].tolist() == ["caf\u00e9", "K\u00f6ln 1", "K\u00f6ln 2"]
    assert catalog.names() == {0: "Caf\u00e9 de Flore", 1: "K\u00f6lner Dom"}
    assert catalog.problems[0] == "train.csv: read as Windows-1252 text (not UTF-8)"
    (root / "train.csv").write_bytes(b"id,landmark_id\ncaf\xe9,1\nx\xa4,2\n")  # a symbol: no evidence, refused as before
    with pytest.raises(DatasetError, match=re.escape("train.csv: is not UTF-8 text; save it as UTF-8 CSV (its first byte "
                                                     "that is not UTF-8 is on line 2: caf\\xe9,1)") + "$"):
        load_catalog(root)


def test_every_format_glr_decodes_is_an_image_type_and_no_other():
    # .ico was decoded (ALLOWED_FORMATS) but not an image type: class folders, predict folders and upload boxes
    # passed it over as "not an image type".
    from PIL import Image

    from glr.data.images import ALLOWED_FORMATS
    from glr.data.layouts import IMAGE_EXTENSIONS

    known = Image.registered_extensions()
    here = {f for f in ALLOWED_FORMATS if f in known.values()}  # HEIF and AVIF: their plugin may be missing
    assert {known[e] for e in IMAGE_EXTENSIONS if e in known} == here
    assert {".heic", ".heif", ".avif"} <= set(IMAGE_EXTENSIONS)


def test_a_photo_saved_as_an_icon_in_a_class_folder_is_a_photo(tmp_path):
    from PIL import Image

    for name in ("Tower", "Bridge"):
        for i in range(2):
            write_image(tmp_path / name / f"{i}.jpg", seed=i)
    Image.new("RGB", (64, 48), (200, 30, 30)).save(tmp_path / "Tower" / "from_the_web.ico", sizes=[(64, 48)])
    catalog = load_catalog(tmp_path)
    assert sorted(Path(p).name for p in catalog.paths()) == ["0.jpg", "0.jpg", "1.jpg", "1.jpg", "from_the_web.ico"]
    assert catalog.problems == []


def test_class_folders_named_by_digits_in_train_and_val_are_classes_not_gldv2s_tree(tmp_path):
    # Keras' layout of a digits dataset (train/0/, train/1/, val/0/...): was "has GLDv2's train/ folder of images
    # but no train.csv", as GLDv2's train/ is folders named by one hex digit too (but folders again inside).
    for split in ("train", "val"):
        for c in "01":
            for i in range(2):
                write_image(tmp_path / split / c / f"{split}{i}.jpg", seed=i)
    catalog = load_catalog(tmp_path)
    assert catalog.layout == "folders" and sorted(catalog.df["name"].unique()) == ["0", "1"] and len(catalog.df) == 8


def test_gldv2s_tree_with_a_hidden_file_in_train_is_still_gldv2s(tmp_path):
    root = make_gldv2(tmp_path / "gld", {1: 2, 2: 2})
    (root / "train" / ".DS_Store").write_bytes(b"\x00")
    (root / "train.csv").unlink()
    with pytest.raises(DatasetError, match="has GLDv2's train/ folder of images but no train.csv"):
        load_catalog(root)


def test_a_train_csv_of_ones_own_over_class_folders_named_by_one_letter_reads_its_short_ids(tmp_path):
    # train/a/x.jpg, train/b/y.jpg: was "no usable images; ... this dataset's train/ is GLDv2's ... skipped".
    for k, (folder, name) in enumerate([("a", "x"), ("a", "w"), ("b", "y"), ("b", "v")]):
        write_image(tmp_path / "train" / folder / f"{name}.jpg", seed=k)
    (tmp_path / "train.csv").write_text("id,landmark_id\nx,0\nw,0\ny,1\nv,1\n")
    catalog = load_catalog(tmp_path)
    assert sorted(catalog.df["id"]) == ["v", "w", "x", "y"] and catalog.problems == []


def test_a_photo_without_an_extension_in_a_class_folder_is_read_and_a_text_file_is_not(tmp_path):
    # Was skipped as "not an image" though glr reads it; a file of no extension holding text stays skipped.
    import io

    from PIL import Image

    for name in ("Tower", "Bridge"):
        for i in range(2):
            write_image(tmp_path / name / f"{i}.jpg", seed=i)
    buf = io.BytesIO()
    Image.new("RGB", (40, 30), (20, 120, 200)).save(buf, "PNG")
    (tmp_path / "Tower" / "IMG_7").write_bytes(buf.getvalue())
    (tmp_path / "Tower" / "README").write_text("BM photos of the tower\n")
    catalog = load_catalog(tmp_path)
    assert sorted(Path(p).name for p in catalog.paths() if "Tower" in p) == ["0.jpg", "1.jpg", "IMG_7"]
    assert any("README" in p for p in catalog.problems), catalog.problems


def test_a_landmark_id_given_two_names_shows_both(tmp_path):
    # Said only "(e.g. 7)": which two names, and which was kept, had to be looked up in the file.
    from glr.data.layouts import read_names

    (tmp_path / "train_label_to_category.csv").write_text(
        "landmark_id,category\n7,Eiffel Tower\n8,Big Ben\n7,Tour Eiffel\n8,Big Ben\n9,Louvre\n9,Musée du Louvre\n")
    names, problems = read_names(tmp_path)
    assert names == {7: "Eiffel Tower", 8: "Big Ben", 9: "Louvre"}
    assert problems == ["train_label_to_category.csv: 2 landmark_ids given two names (e.g. 7: 'Eiffel Tower' and "
                        "'Tour Eiffel'; 9: 'Louvre' and 'Musée du Louvre'); the first name kept"]


@pytest.mark.parametrize("header, named", [("landmark_id,category,Category", False), ("landmark_id,name,category", True),
                                           ("landmark_id,category,landmark_id", False)])
def test_a_category_file_with_a_column_written_twice_is_read_only_when_the_two_agree(tmp_path, header, named):
    # Was read from the first `category` in silence, where train.csv refuses two columns that differ.
    from glr.data.layouts import read_names

    csv = tmp_path / "train_label_to_category.csv"
    third = ("9", "8") if header.endswith("landmark_id") else ("Tour Eiffel", "Big Ben")
    csv.write_text(f"{header}\n7,Eiffel Tower,{third[0]}\n8,Big Ben,{third[1]}\n")
    names, problems = read_names(tmp_path)
    if named:  # `name` is read as category only when there is no `category`: one of each is no repeat
        assert names == {7: "Tour Eiffel", 8: "Big Ben"}
        return
    assert names == {} and len(problems) == 1
    assert problems[0].startswith("train_label_to_category.csv: has 2 columns named ")
    assert "that differ on 1 of 2 rows" in problems[0] and problems[0].endswith("; classes are named by their id")
    csv.write_text(f"{header}\n7,Eiffel Tower,{'7' if header.endswith('landmark_id') else 'Eiffel Tower'}\n")
    assert read_names(tmp_path) == ({7: "Eiffel Tower"}, [])


def test_a_bad_category_row_is_shown_with_its_quotes_when_other_rows_end_in_empty_fields(gld):
    # `7,Eiffel_Tower,` makes Python's csv even the file first: the bad row came back as `9,Big Ben,London`, its
    # quotes gone, in a note saying a name holding the separator "must be in quotes".
    (gld / "train_label_to_category.csv").write_text(
        'landmark_id,category\n7,Eiffel_Tower,\n9,"Big Ben",London\n12,Tower\n')
    catalog = load_catalog(gld)
    assert catalog.names()[7] == "Eiffel Tower"
    assert catalog.problems == ["train_label_to_category.csv: 1 row without the header's columns (e.g. "
                                "'9,\"Big Ben\",London'; a name holding the separator must be in quotes); those "
                                "landmarks are named by their id"]


def _run_folder(folder: Path) -> Path:
    """A glr run folder as `glr train --results` leaves it: its marks (glr.submission.RUN_MARKS), its charts, files."""
    import json

    from glr.submission import RUN_MARKS

    for mark in RUN_MARKS:
        (folder / mark).parent.mkdir(parents=True, exist_ok=True)
        (folder / mark).write_text(json.dumps({"state": "finished"}))
    write_image(folder / "report" / "curves.png", seed=90, size=8)
    write_image(folder / "report" / "collage.png", seed=91, size=8)
    (folder / "split.csv").write_text("id,landmark_id\n")
    (folder / ".status.lock").write_text("")
    return folder


def _export_folder(folder: Path) -> Path:
    """A glr export folder: its marks (glr.submission.EXPORT_MARKS), a model and a photo put beside it to try it."""
    from glr.submission import EXPORT_MARKS

    folder.mkdir(parents=True)
    for mark in EXPORT_MARKS:
        (folder / mark).write_text("{}")
    (folder / "model.tflite").write_bytes(b"\0")
    write_image(folder / "tried.jpg", seed=92, size=8)
    return folder


def test_a_results_folder_and_an_export_inside_a_dataset_are_no_classes(tmp_path):
    # `glr train gin --results gin/results`: the next run trained a landmark "results" on the run's own charts
    # (split.csv held results/runs/<id>/report/curves.png), and `glr inspect` of a results folder found a class "runs".
    _two_classes(tmp_path)
    run = _run_folder(tmp_path / "results" / "runs" / "20261207-222700-efficientnet_lite0")
    _run_folder(tmp_path / "results" / "runs" / "20261208-101500-efficientnet_lite0")
    _export_folder(run / "export")  # an export inside a run is the run's
    _export_folder(tmp_path / "Tower" / "export")  # unzipped into a class folder: Tower's own photos still read
    catalog = load_catalog(tmp_path)
    assert catalog.names() == {0: "Bridge", 1: "Tower"} and catalog.class_counts.to_dict() == {0: 2, 1: 2}
    assert sorted(catalog.df["id"]) == ["Bridge/0", "Bridge/1", "Tower/0", "Tower/1"]  # not Tower/export/tried
    assert catalog.problems == [
        "2 glr run folders inside the dataset folder (e.g. 'results/runs/20261207-222700-efficientnet_lite0', "
        "'results/runs/20261208-101500-efficientnet_lite0'): a run's charts and files are not landmark photos; "
        "skipped, with everything in them",
        "1 glr export folder inside the dataset folder (e.g. 'Tower/export'): an export's model, labels and "
        "predict.py are not landmark photos; skipped, with everything in it",
        "1 class folder has no images (e.g. 'results'); no class made of it"]
    with pytest.raises(DatasetError, match=re.escape(  # the results folder itself: no class "runs", and why said
            "no dataset found. Expected a GLDv2 folder with train.csv and train/, or one sub-folder of images per "
            "class. But 2 glr run folders inside the dataset folder (e.g. 'runs/20261207-222700-efficientnet_lite0'")):
        load_catalog(tmp_path / "results")


def test_a_class_named_results_or_runs_without_glrs_marks_is_a_class(tmp_path):
    # Named like glr's folders, holding photos and one mark only (a config.json of one's own): the user's classes.
    from glr.submission import EXPORT_MARKS, RUN_MARKS

    for j, name in enumerate(("results", "runs")):
        for i in range(2):
            write_image(tmp_path / name / "2024" / f"{i}.jpg", seed=j * 10 + i, size=8)
    (tmp_path / "results" / "2024" / RUN_MARKS[0]).write_text("{}")
    (tmp_path / "runs" / "2024" / EXPORT_MARKS[0]).write_text("")
    catalog = load_catalog(tmp_path)
    assert sorted(catalog.names().values()) == ["results", "runs"] and len(catalog.df) == 4
    assert not any("glr" in p for p in catalog.problems)


def test_a_results_folder_beside_train_and_val_folders_leaves_the_split_read_as_one(tmp_path):
    # train/, val/ and results/: read as three classes "train", "val" and "results" (the run's charts its photos).
    for split, seed in (("train", 0), ("val", 10)):
        for j, name in enumerate(("Tower", "Bridge")):
            write_image(tmp_path / split / name / f"{split}{j}.jpg", seed=seed + j, size=8)
    _run_folder(tmp_path / "results" / "runs" / "20261207-222700-efficientnet_lite0")
    catalog = load_catalog(tmp_path)
    assert sorted(catalog.names().values()) == ["Bridge", "Tower"] and len(catalog.df) == 4
    assert catalog.problems[0].startswith("the class folders inside 'train', 'val' are read as one dataset")
    assert catalog.problems[1].startswith("1 glr run folder inside the dataset folder (e.g. "
                                          "'results/runs/20261207-222700-efficientnet_lite0'): ")
    assert len(catalog.problems) == 2
    write_image(tmp_path / "results" / "mine.jpg", seed=50, size=8)  # a photo beside the runs: a class of its own
    assert sorted(load_catalog(tmp_path).names().values()) == ["results", "train", "val"]


def test_a_category_file_that_is_a_pipe_or_a_link_to_a_file_gone_is_said_and_never_waited_on(gld):
    # A named pipe: reading it for its code page waited for ever, so `inspect` and the app hung. A link to a file
    # gone: the names were lost without a word.
    import os
    import threading

    path = gld / "train_label_to_category.csv"
    os.mkfifo(path)
    read = []
    reader = threading.Thread(target=lambda: read.append(load_catalog(gld)), daemon=True)  # a hang fails, not blocks
    reader.start()
    reader.join(60)
    assert read, "load_catalog waited on the pipe"
    catalog = read[0]
    assert catalog.names() == {7: "landmark 7", 12: "landmark 12"}
    assert catalog.problems == ["train_label_to_category.csv: is not a regular file; expected a CSV file "
                                "`landmark_id,category`; classes are named by their id"]
    path.unlink()
    path.symlink_to(gld / "gone.csv")
    assert load_catalog(gld).problems == [f"train_label_to_category.csv: is a link to {gld / 'gone.csv'}, which is not "
                                          "there (moved, deleted, or on a drive not mounted?); classes are named by their id"]

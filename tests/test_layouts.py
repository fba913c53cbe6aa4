"""glr.data.layouts: GLDv2's rows and names, and class folders, as real datasets write them."""

import unicodedata

import pytest

from conftest import make_gldv2, write_image
from glr.data.datasets import load_catalog
from glr.data.layouts import category_to_name


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
    (gld / "train_label_to_category.csv").write_text("landmark_id,category\n7,Paris, Eiffel Tower\n12,Big Ben\n")
    catalog = load_catalog(gld)
    assert catalog.names() == {7: "landmark 7", 12: "Big Ben"}
    assert catalog.problems == ["train_label_to_category.csv: 1 row without the header's columns (e.g. '7,Paris, "
                                "Eiffel Tower'; a name holding the separator must be in quotes); those landmarks "
                                "are named by their id"]


def test_a_negative_landmark_id_is_skipped_and_named(gld):
    # -1 is many tools' "no landmark": those photos were trained as one landmark, "landmark -1".
    with open(gld / "train.csv", "a") as fh:
        fh.write("".join(f"{i:016x},-1\n" for i in range(4)))
    catalog = load_catalog(gld, check_files=False)
    assert sorted(catalog.class_counts.index) == [7, 12]
    assert "4 rows have a negative landmark_id (e.g. -1; -1 often marks a photo of no landmark); skipped" in catalog.problems


def test_ids_written_as_file_names_are_their_ids(gld):
    # `abc.jpg` (a listing of the folder) was "an id that is not a plain file name", every row skipped.
    csv = gld / "train.csv"
    lines = csv.read_text().splitlines()
    csv.write_text("\n".join([lines[0]] + [line.replace(",", ".JPG,", 1) for line in lines[1:]]) + "\n")
    catalog = load_catalog(gld)
    assert len(catalog.df) == 6 and catalog.problems == []


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

"""glr.data.landmark_ids: landmark names where their numbers go are numbered, only when each row names a class."""

import pandas as pd
import pytest

from conftest import make_gldv2
from glr.data.datasets import load_catalog
from glr.data.landmark_ids import labels_from_names, read_labels


def test_names_are_numbered_in_alphabetical_order_and_no_label_stays_missing():
    labels, names = labels_from_names(pd.Series(["Big Ben", " Colosseum", "Big Ben", "None", "", "Colosseum"]))
    assert labels.tolist() == [0, 1, 0, pd.NA, pd.NA, 1] and names == {0: "Big Ben", 1: "Colosseum"}


@pytest.mark.parametrize("texts", [["Big Ben", "Big Ben"], ["A 1", "A 2", "A 3"], ["Big Ben", "12", "Big Ben"],
                                   ["None", "nan"]])
def test_one_name_a_caption_per_row_or_numbers_among_them_are_no_names(texts):
    assert labels_from_names(pd.Series(texts)) is None


@pytest.mark.parametrize("label, said", [
    ("1.23E+05", "in E notation, as a spreadsheet writes a long number (e.g. '1.23E+05' on line 3)"),
    ("1e+16", "in E notation, as a spreadsheet writes a long number (e.g. '1e+16' on line 3)"),
    ("1E5", "in E notation, as a spreadsheet writes a long number (e.g. '1E5' on line 3)"),
    ("9223372036854775808", "too large for glr (e.g. '9223372036854775808' on line 3)"),
    ("-5", "a negative landmark_id (e.g. -5 on line 3;"),
])
def test_a_number_that_is_no_landmark_id_is_named_with_its_line(tmp_path, label, said):
    # Were said without their line (`1e+16`, pandas' float, even as "not an integer"): one typo in 4.1M rows unfound.
    root = make_gldv2(tmp_path / "gld", {7: 3, 12: 3})
    lines = (root / "train.csv").read_text().splitlines()
    lines[2] = lines[2].rsplit(",", 1)[0] + "," + label
    (root / "train.csv").write_text("\n".join(lines) + "\n")
    catalog = load_catalog(root)
    assert len(catalog.df) == 5 and said in catalog.problems[0], catalog.problems


def test_a_landmark_id_with_a_soft_hyphen_or_zero_width_space_inside_is_read_without_it_and_said():
    # Pasted from a web page, which marks where a long word may break so: "not an integer", its row skipped.
    texts = pd.Series(["12", "1\u00ad2", '="7"', "3\u200b4\u2060", "Eif\u00adfel", "x"], dtype="string")
    labels, note = read_labels(texts)
    assert labels.tolist() == [12, 12, 7, 34, pd.NA, pd.NA]  # a name stays refused, said as written elsewhere
    assert note == ("2 rows have a landmark_id holding characters no one sees (a soft hyphen U+00AD, a zero-width "
                    "space U+200B, a word joiner U+2060; pasted from a web page?), e.g. '1\\xad2', '3\\u200b4\\u2060'; "
                    "read without them")
    assert read_labels(pd.Series(["1", "2"], dtype="string"))[1] is None
    assert read_labels(pd.Series(["1\u200d2"], dtype="string"))[1] is None  # U+200D spells emoji: not taken out


def test_a_category_files_landmark_id_with_a_soft_hyphen_names_its_landmark(tmp_path):
    root = make_gldv2(tmp_path / "gld", {7: 3, 12: 3})
    (root / "train_label_to_category.csv").write_text("landmark_id,category\n7,Eiffel Tower\n1\u00ad2,Big Ben\n")
    catalog = load_catalog(root)
    assert catalog.names() == {7: "Eiffel Tower", 12: "Big Ben"}
    assert catalog.problems == ["train_label_to_category.csv: 1 row has a landmark_id holding a character no one sees "
                                "(a soft hyphen U+00AD; pasted from a web page?), e.g. '1\\xad2'; read without it"]

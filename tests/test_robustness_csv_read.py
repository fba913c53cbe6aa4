"""Robustness of reading the CSVs a person or a spreadsheet saves (train.csv, train_clean.csv, the category file):
each is read as meant, or refused naming the file, the line and the fix."""

from __future__ import annotations

import pytest

from conftest import make_gldv2, write_image
from glr.data.datasets import load_catalog
from glr.errors import DatasetError


def test_a_train_csv_in_windows_1251_is_read_as_cyrillic_and_said(tmp_path):
    # Excel's "CSV (comma delimited)" on a Cyrillic Windows: Windows-1252 read its every byte as a letter, so the
    # names came out as "Ñîáîð" in silence (said as "read as Windows-1252").
    root = tmp_path / "mine"
    for name in ("собор 1", "собор 2", "мост"):
        write_image(root / "images" / f"{name}.jpg", seed=len(name))
    text = "id;landmark\nсобор 1;Исаакиевский собор\nсобор 2;Исаакиевский собор\nмост;Дворцовый мост\n"
    (root / "train.csv").write_bytes(text.encode("cp1251"))
    catalog = load_catalog(root)
    assert catalog.df["id"].tolist() == ["собор 1", "собор 2", "мост"]
    assert sorted(catalog.names().values()) == ["Дворцовый мост", "Исаакиевский собор"]
    assert catalog.problems[0] == "train.csv: read as Windows-1251 (Cyrillic) text (not UTF-8)"


@pytest.mark.parametrize("text, codec, said", [
    ("München Süd,7\n", "mac_roman", r"is not UTF-8 text, and which code page it was saved in is unclear "
                                     r"\(Windows-1250 \(Central European\) or Mac Roman .*\?\); save it as UTF-8 CSV"),
    ("Храм Христа Спасителя,7\n", "koi8_r", r"is not UTF-8 text; save it as UTF-8 CSV \(its first byte that is not UTF-8 is on line 2: \\xe8"),
])
def test_a_train_csv_whose_code_page_is_unclear_is_refused_naming_the_candidates(tmp_path, text, codec, said):
    root = make_gldv2(tmp_path / "gld", {7: 3})
    (root / "train.csv").write_bytes(("id,landmark_id\n" + text).encode(codec))
    with pytest.raises(DatasetError, match="train.csv: " + said):
        load_catalog(root)


def test_a_category_file_in_windows_1251_is_never_read_as_windows_1252(tmp_path):
    # Its names were "Õðàì Õðèñòà Ñïàñèòåëÿ" with the note "read as Windows-1252". Read as Cyrillic once
    # glr.data.layouts takes `legacy_note`; until then refused with the evidence.
    root = make_gldv2(tmp_path / "gld", {7: 3, 12: 3})
    (root / "train_label_to_category.csv").write_bytes(
        "landmark_id,category\n7,Храм Христа Спасителя\n12,Собор Василия Блаженного\n".encode("cp1251"))
    catalog = load_catalog(root)
    names = catalog.names()
    assert not any("Õ" in n or "Ñ" in n for n in names.values()), names
    if names[7] != "Храм Христа Спасителя":
        assert catalog.problems == ["train_label_to_category.csv: is not UTF-8 text (its words read as Windows-1251 "
                                    "(Cyrillic)); save it as UTF-8 CSV; classes are named by their id"]


def test_a_refusal_of_a_file_read_in_a_legacy_code_page_says_which_it_was_read_in(tmp_path):
    # `\x81d` is Mac Roman's `Åd`: the missing column was said with no word of the code page the header was read in.
    root = make_gldv2(tmp_path / "gld", {7: 3})
    (root / "train.csv").write_bytes(b"\x81d,landmark_id\nabc,7\n")
    with pytest.raises(DatasetError, match=r"missing column 'id'; found '\u00c5d', 'landmark_id'.* \(train.csv: read as "
                                           r"Mac Roman .* text \(not UTF-8\)\)$"):
        load_catalog(root)


def test_a_category_file_whose_header_ends_in_an_empty_column_names_every_landmark(tmp_path):
    # `Landmark_ID,Category,` over rows `7,Eiffel Tower` (a sheet's column formatted, never named): every row was
    # "without the header's columns", so every landmark was shown by its id.
    root = make_gldv2(tmp_path / "gld", {7: 3, 12: 3})
    (root / "train_label_to_category.csv").write_text("Landmark_ID,Category,\n7,Eiffel Tower\n12,Big Ben\n")
    catalog = load_catalog(root)
    assert catalog.names() == {7: "Eiffel Tower", 12: "Big Ben"} and catalog.problems == []


def test_a_category_file_in_windows_1250_is_read_as_central_european(tmp_path):
    # Excel's "CSV (comma delimited)" on a Czech or Hungarian Windows: every byte is a Western letter too, so the
    # names were read as Windows-1252 in silence ("Karlùv most", "Hõsök tere").
    root = make_gldv2(tmp_path / "gld", {7: 3, 12: 3})
    (root / "train_label_to_category.csv").write_bytes(
        "landmark_id,category\n7,Karlův most\n12,Hősök tere\n".encode("cp1250"))
    catalog = load_catalog(root)
    assert catalog.names() == {7: "Karlův most", 12: "Hősök tere"}
    assert catalog.problems == ["train_label_to_category.csv: read as Windows-1250 (Central European) text (not UTF-8)"]


def test_a_category_file_whose_words_fit_windows_1250_as_well_says_which_was_assumed(tmp_path):
    # One word either reads: `Hõsök` (Estonian-looking) or `Hősök`. Windows-1252 is assumed, as before, and said.
    root = make_gldv2(tmp_path / "gld", {7: 3})
    (root / "train_label_to_category.csv").write_bytes("landmark_id,category\n7,Hősök tere\n".encode("cp1250"))
    catalog = load_catalog(root)
    assert catalog.names() == {7: "H\u00f5s\u00f6k tere"}
    assert catalog.problems == ["train_label_to_category.csv: read as Windows-1252 text (not UTF-8), but its words may "
                                "be Windows-1250 (Central European) text ('Hõsök' would be 'Hősök'): if so, save it "
                                "as UTF-8 CSV"]


@pytest.mark.parametrize("cell, said", [
    ("41acc356b8c5cec", "1 of them is not GLDv2's form of id, 16 hex digits such as '0123456789abcdef' (e.g. "
                        "'41acc356b8c5cec' on line 3)"),
    ("ab", "1 row has an id shorter than 3 characters (e.g. 'ab' on line 3), and this dataset's train/ is GLDv2's "
           "(ids of 16 hex digits, such as '0123456789abcdef')"),
])
def test_an_id_not_in_gldv2s_form_in_its_tree_is_named_with_its_line_and_the_form(tmp_path, cell, said):
    # Was "1 image file listed in train.csv not found (e.g. 'train/4/1/a/41acc356b8c5cec.jpg')": no line of 4.1M,
    # and no word that an id of GLDv2 has 16 hex digits (one cut short by an edit).
    root = make_gldv2(tmp_path / "gld", {7: 3, 12: 3})
    lines = (root / "train.csv").read_text().splitlines()
    lines[2] = cell + "," + lines[2].split(",")[1]
    (root / "train.csv").write_text("\n".join(lines) + "\n")
    catalog = load_catalog(root)
    assert len(catalog.df) == 5 and any(said in p for p in catalog.problems), catalog.problems


@pytest.mark.parametrize("cell, name, said", [
    ('"=""7"""', "Eiffel Tower", None),  # Excel's text cell, as train.csv's is read
    ("1.2E+01", "Big Ben", "1 row has a landmark_id that is not an integer (e.g. '1.2E+01' on line 2)"),
    ("", "Big Ben", "1 row has a landmark_id that is not an integer (e.g. '<empty>' on line 2)"),
])
def test_a_category_row_whose_landmark_id_is_unreadable_is_said_not_lost_in_silence(tmp_path, cell, name, said):
    # Its name was dropped with nothing said: the landmark shown as "landmark 12", the file looking fine.
    root = make_gldv2(tmp_path / "gld", {7: 3, 12: 3})
    (root / "train_label_to_category.csv").write_text(f"landmark_id,category\n{cell},{name}\n")
    catalog = load_catalog(root)
    assert catalog.names()[7 if said is None else 12] == (name if said is None else "landmark 12")
    assert catalog.problems == ([] if said is None else [f"train_label_to_category.csv: {said}; its name is not used"])


def test_a_category_file_saved_again_after_excel_read_it_as_windows_1252_is_read_as_written(tmp_path):
    # GLDv2's UTF-8 file opened in Excel on Windows (read as Windows-1252), then saved as "CSV UTF-8": its names
    # came out as "Sagrada FamÃ­lia" and "KarlÅ¯v most", with nothing said.
    root = make_gldv2(tmp_path / "gld", {7: 3, 12: 3})
    text = "landmark_id,category\n7,Sagrada Família\n12,Karlův most\n".encode().decode("cp1252")
    (root / "train_label_to_category.csv").write_text("\ufeff" + text, encoding="utf-8")
    catalog = load_catalog(root)
    assert catalog.names() == {7: "Sagrada Família", 12: "Karlův most"}
    assert catalog.problems == ["train_label_to_category.csv: 2 names were UTF-8 text read as Windows-1252 and saved "
                                "again (opened so by a spreadsheet?), e.g. 'Sagrada FamÃ\\xadlia': read as "
                                "'Sagrada Família'"]


def test_a_train_csv_in_windows_1250_finds_its_photos_by_their_czech_names(tmp_path):
    # Read as Windows-1252, its ids were "Karlùv most 1" (no such photo) and its classes "Hradèany".
    root = tmp_path / "mine"
    for name in ("Karlův most 1", "Karlův most 2", "Hradčany 1", "Hradčany 2"):
        write_image(root / "images" / f"{name}.jpg", seed=len(name))
    text = "id;landmark\nKarlův most 1;Karlův most\nKarlův most 2;Karlův most\nHradčany 1;Hradčany\nHradčany 2;Hradčany\n"
    (root / "train.csv").write_bytes(text.encode("cp1250"))
    catalog = load_catalog(root)
    assert catalog.df["id"].tolist() == ["Karlův most 1", "Karlův most 2", "Hradčany 1", "Hradčany 2"]
    assert catalog.names() == {0: "Hradčany", 1: "Karlův most"}
    assert catalog.problems[0] == "train.csv: read as Windows-1250 (Central European) text (not UTF-8)"


def test_a_category_name_whose_quote_is_never_closed_is_said_not_read_as_the_rows_below(tmp_path):
    # `7,"Eiffel Tower` named landmark 7 "Eiffel Tower\n12,Big Ben\n30,Taj Mahal" and lost the names below, in silence.
    root = make_gldv2(tmp_path / "gld", {7: 3, 12: 3, 30: 3})
    (root / "train_label_to_category.csv").write_text('landmark_id,category\n7,"Eiffel Tower\n12,Big Ben\n30,Taj Mahal\n')
    catalog = load_catalog(root)
    assert catalog.names() == {7: "landmark 7", 12: "landmark 12", 30: "landmark 30"}
    assert catalog.problems == ["train_label_to_category.csv: a name on line 2 opens a quote (\") never closed, which took "
                                "the 2 lines after it into that name ('Eiffel Tower\\n12,Big Ben\\n30,Taj Mahal\\n'...); "
                                "close it where the name ends, or delete it: those landmarks are named by their id"]


def test_a_train_csv_whose_ids_were_read_as_windows_1252_and_saved_again_finds_its_photos(tmp_path):
    # A UTF-8 train.csv opened in Excel as Windows-1252, then saved as "CSV UTF-8": its ids came out as `cafÃ© 1`, and
    # each photo (on disk as `café 1.jpg`) was "not found"; its names as `Sagrada FamÃ­lia`.
    root = tmp_path / "mine"
    ids = ["café 1", "café 2", "Sagrada Família 1", "Karlův most 1", "plain 1"]
    for name in ids:
        write_image(root / "images" / f"{name}.jpg", seed=len(name))
    text = "id,landmark\n" + "".join(f"{i},{i[:-2]}\n" for i in ids)
    (root / "train.csv").write_text(text.encode().decode("cp1252"), encoding="utf-8")
    catalog = load_catalog(root)
    assert catalog.df["id"].tolist() == ids
    assert sorted(catalog.names().values()) == ["Karlův most", "Sagrada Família", "café", "plain"]
    assert catalog.problems[:2] == [
        "train.csv: 4 ids were UTF-8 text read as Windows-1252 and saved again (opened so by a spreadsheet?), e.g. "
        "'cafÃ© 1': read as 'café 1', as 4 of the 4 photos looked up are on disk so",
        "train.csv: 4 landmark names were UTF-8 text read as Windows-1252 and saved again (opened so by a "
        "spreadsheet?), e.g. 'cafÃ©': read as 'café'"]


def test_a_category_holding_the_separator_unquoted_is_one_name_and_a_quoted_one_with_more_is_named(tmp_path):
    # Wikimedia's `Category:Paris,_France` written unquoted: the row was refused ("without the header's columns") and
    # the landmark named by its id. A row with a quote and a field more (`"Big Ben",London`) is unsure: still named.
    root = make_gldv2(tmp_path / "gld", {7: 3, 219: 3, 12: 3, 30: 3})
    (root / "train_label_to_category.csv").write_text(
        "landmark_id,category\n7,http://commons.wikimedia.org/wiki/Category:Eiffel_Tower\n"
        "219,http://commons.wikimedia.org/wiki/Category:Paris,_France\n12,Tower Bridge, London,\n30,\"Big Ben\",London\n")
    catalog = load_catalog(root)
    assert catalog.names() == {7: "Eiffel Tower", 219: "Paris, France", 12: "Tower Bridge, London", 30: "landmark 30"}
    assert catalog.problems == ["train_label_to_category.csv: 1 row without the header's columns (e.g. "
                                "'30,\"Big Ben\",London'; a name holding the separator must be in quotes); those "
                                "landmarks are named by their id"]


def _photos_and_csv_in(root, ids: list[str], encoding: str):
    """`root` holding a photo per id and a train.csv of `id;landmark` (the id less its last 2 characters) saved in
    `encoding`, as Excel saves one in a legacy code page."""
    for name in ids:
        write_image(root / "images" / f"{name}.jpg", seed=len(name))
    (root / "train.csv").write_bytes(("id;landmark\n" + "".join(f"{i};{i[:-2]}\n" for i in ids)).encode(encoding))
    return root


def test_a_train_csv_saved_by_excel_for_mac_in_central_europe_finds_its_photos(tmp_path):
    # Mac Central European ("CSV (Macintosh)" on a Czech or Polish Mac) was refused as "not UTF-8 text" while
    # Windows-1250 was read.
    ids = ["Hradčany 1", "Hradčany 2", "Pałac Kultury 1", "Pałac Kultury 2"]
    catalog = load_catalog(_photos_and_csv_in(tmp_path / "mine", ids, "mac_latin2"))
    assert catalog.df["id"].tolist() == ids
    assert catalog.names() == {0: "Hradčany", 1: "Pałac Kultury"}
    assert catalog.problems[0] == ("train.csv: read as Mac Central European (Excel for Mac's \"CSV (Macintosh)\" in "
                                   "Central Europe) text (not UTF-8)")


def test_a_train_csv_whose_words_fit_windows_1250_as_well_is_read_as_its_photos_are_named(tmp_path):
    # `Hősök tere` in Windows-1250 reads as Estonian-looking `Hõsök tere` in 1252: as likely, so 1252 was assumed
    # (with the doubt said) and every photo, on disk as `Hősök tere 1.jpg`, was "not found".
    ids = ["Hősök tere 1", "Hősök tere 2", "Parlament 1", "Parlament 2"]
    catalog = load_catalog(_photos_and_csv_in(tmp_path / "mine", ids, "cp1250"))
    assert catalog.df["id"].tolist() == ids
    assert catalog.problems[0] == "train.csv: read as Windows-1250 (Central European) text (not UTF-8)"


def test_a_train_csv_whose_ids_were_read_as_windows_1252_finds_photos_whose_names_went_through_it_too(tmp_path):
    # The photos themselves on disk as `cafÃ© 1.jpg` (a zip unpacked with the wrong encoding): the ids were read back
    # as `café 1` all the same, and every photo was "not found".
    root = tmp_path / "mine"
    ids = [name.encode().decode("cp1252") for name in ("café 1", "café 2", "Karlův most 1", "plain 1")]
    for name in ids:
        write_image(root / "images" / f"{name}.jpg", seed=len(name))
    (root / "train.csv").write_text("id,landmark\n" + "".join(f"{i},{i[:-2]}\n" for i in ids), encoding="utf-8")
    catalog = load_catalog(root)
    assert catalog.df["id"].tolist() == ids
    assert sorted(catalog.names().values()) == ["Karlův most", "café", "plain"]  # names are no files: read back
    assert catalog.problems[0] == (
        "train.csv: 3 ids were UTF-8 text read as Windows-1252 and saved again (opened so by a spreadsheet?), e.g. "
        "'cafÃ© 1': kept as written, as 3 of the 3 photos looked up are on disk so (their names went through it too: "
        "a zip unpacked with the wrong encoding?)")

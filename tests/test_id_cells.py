"""glr.data.id_cells: Excel's ="..." wrapper is taken off an id cell, and which ids can name a photo file."""

import pandas as pd
import pytest

from glr.data.id_cells import hidden_note, is_safe_id, not_gldv2_ids, safe_ids, take_out_hidden, unsafe_reason, unwrap_excel


def test_only_a_whole_cell_in_excels_wrapper_is_unwrapped():
    cells = pd.Series(['="0123"', ' ="00ab" ', '="a"b"', '0123', '"0123"', '=0123', '="'], dtype="string")
    values, wrapped = unwrap_excel(cells)
    assert values.tolist() == ["0123", "00ab", 'a"b', "0123", '"0123"', "=0123", '="']
    assert wrapped.tolist() == [True, True, True, False, False, False, False]


@pytest.mark.parametrize("name", ["1", "42", "IMG 0042", "photo.v2", "café", "東京タワー", "Eiffel (2)", "a..b", "x~1", "abc" * 80])
def test_a_photos_own_name_is_a_safe_id(name):
    assert unsafe_reason(name) is None and is_safe_id(name)


@pytest.mark.parametrize("name, why", [
    ("../x", "a path out of the dataset"), ("/etc/passwd", "a path out of the dataset"),
    ("C:\\Windows\\x", "a path out of the dataset"), ("\\\\server\\share\\x", "a path out of the dataset"),
    ("a/b", "a path, not a file name"), ("C:x", "holds ':' (a drive letter on Windows)"), ("..", "starts with '.'"),
    (".DS_Store", "starts with '.'"), ("ab\x00c", "holds a character that does not print (U+0000)"),
    ("ab\nc", "holds a character that does not print (U+000A)"), ("ab\u202ec", "holds a character that does not print (U+202E)"),
    ("é" * 126, "longer than a file name can be (250 bytes)"),
])
def test_what_could_lead_elsewhere_is_refused_with_the_reason(name, why):
    assert unsafe_reason(name) == why and not is_safe_id(name)


def test_an_id_that_is_not_text_is_not_safe():
    assert not is_safe_id(pd.NA) and not is_safe_id(None) and not is_safe_id(123)


def test_ids_not_in_gldv2s_form_are_named_with_their_lines(tmp_path):
    csv = tmp_path / "train.csv"
    csv.write_text("id,landmark_id\n0123456789abcdef,7\n\nabc,7\n0123456789ABCDEF,7\nIMG_0042,7\n42,7\n")
    ids = pd.Series(["0123456789abcdef", "abc", "0123456789ABCDEF", "IMG_0042", "42"], dtype="string")
    assert not_gldv2_ids(ids, csv) == (
        "2 of them are not GLDv2's form of id, 16 hex digits such as '0123456789abcdef' (e.g. 'abc' on line 4, "
        "'IMG_0042' on line 6): a train.csv listing other photos, or ids cut short?")
    assert not_gldv2_ids(ids[[0, 2, 4]], csv) is None  # GLDv2's (either case), or digits only: said elsewhere
    assert not_gldv2_ids(ids, tmp_path / "gone.csv").endswith("(e.g. 'abc', 'IMG_0042'): a gone.csv listing other "
                                                               "photos, or ids cut short?")


def test_a_soft_hyphen_or_zero_width_space_inside_an_id_is_taken_out_and_said():
    # Pasted from a web page, which marks where a long word may break so: "not a plain file name", skipped.
    ids = ["0123\u00ad4567", "ab\u200bc\u2060d", "plain123", "ab\u00adc", "a\u200dbc"]  # U+200D spells emoji, Indic
    df = pd.DataFrame({"id": pd.Series(ids, dtype="string"), "landmark_id": [1] * 5})
    kept, notes = safe_ids(df, "train.csv")
    assert kept["id"].tolist() == ["01234567", "abcd", "plain123", "abc"]
    assert notes[0] == ("3 rows have an id holding characters no one sees (a soft hyphen U+00AD, a zero-width space "
                        "U+200B, a word joiner U+2060; pasted from a web page?), e.g. '0123\\xad4567', "
                        "'ab\\u200bc\\u2060d', 'ab\\xadc'; read without them")
    assert "U+200D" in notes[1] and len(notes) == 2


def test_hidden_characters_are_taken_out_of_any_cell_and_said_with_its_name():
    # glr.data.landmark_ids reads a landmark_id so too: the same characters, the same words.
    cells = pd.Series(["1\u00ad2", "34", "5\u200c6"], dtype="string")
    stripped, hidden = take_out_hidden(cells)
    assert stripped.tolist() == ["12", "34", "5\u200c6"] and hidden.tolist() == [True, False, False]
    assert take_out_hidden(cells[1:])[0].tolist() == ["34", "5\u200c6"] and not take_out_hidden(cells[1:])[1].any()
    assert hidden_note(cells[hidden], "a landmark_id") == (
        "1 row has a landmark_id holding a character no one sees (a soft hyphen U+00AD; pasted from a web page?), "
        "e.g. '1\\xad2'; read without it")

"""glr.data.category_names: a column of GLDv2 categories named as `category_to_name` names each one."""

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from glr.data.category_names import category_names, category_to_name, undo_double_encoding

W = "http://commons.wikimedia.org/wiki/Category:"
TRICKY = [
    W + "Eiffel_Tower", "https://commons.wikimedia.org/wiki/Category:Old_Bridge", W + "Haleakal%C4%81_National_Park",
    W + "Caf%C3%A9_de_Flore", W + "Café_de_Flore", W + "東京タワー", W + "Санкт-Петербург", W + "_Tower_",
    W + "Tower%", W + "Tower%E2%82", W + "Category:Nested", W + "Kategorie:Dom", W + "A:B", W + "A/B", W + "A/",
    W + "X?uselang=fr", W + "X#History", W + "", W + " ", W + "Tower ", " " + W + "Tower", W + "Tow\ter", W + "Tow\ner",
    W + "A\u00a0", W + "\u3000A", W + "A__B", "http://commons.wikimedia.org/wiki/File:Tower.jpg",
    "https://commons.wikimedia.org/w/index.php?title=Category:Old_Town", "HTTP://COMMONS.WIKIMEDIA.ORG/wiki/Category:Up",
    "http://de.wikipedia.org/wiki/Kategorie:K%C3%B6ln", "https://example.com/my/Old_Bridge/", "Category%3AMill",
    "Eiffel_Tower", "plain name", "", "   ", "Category:Y", "kategorie:Z", "Kategori:W", "12", "x" * 300,
]


def test_a_column_is_named_as_each_row_is():
    # read_names called category_to_name once a row: 3.5-5 s for GLDv2's 200k categories.
    column = pd.Series(TRICKY, index=range(10, 10 + len(TRICKY)))
    names = category_names(column)
    assert list(names.index) == list(column.index)
    assert names.tolist() == [category_to_name(c) for c in TRICKY]


_PIECES = st.sampled_from(["_", "%", "%C3%A9", "%E2", "é", "東", " ", "\t", "\n", "\u00a0", ":", "/", "?", "#", "Category:",
                           "Kategorie:", "a", "Z", "0", ".", "\x1c", "\x85", "\u2028", "\u3000", "%3A", "%2F",
                           "title=", "&"])


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(_PIECES, max_size=8).map("".join), min_size=1, max_size=20),
       st.sampled_from([W, "https://commons.wikimedia.org/wiki/Category:", "http://x.org/wiki/", "", " " + W,
                                 "https://commons.wikimedia.org/w/index.php?title=Category:"]))
def test_any_text_after_a_category_url_is_named_as_the_rule_names_it(tails, head):
    column = pd.Series([head + t for t in tails])
    assert category_names(column).tolist() == [category_to_name(c) for c in column]


def _read_as_windows_1252(name: str) -> str:
    """`name`'s UTF-8 bytes read as Windows-1252 (its five missing bytes as their control characters), as Excel does."""
    return "".join(chr(b) if b in (0x81, 0x8D, 0x8F, 0x90, 0x9D) else bytes([b]).decode("cp1252") for b in name.encode())


def test_names_saved_again_after_a_windows_1252_reading_are_read_as_written():
    written = ["Sagrada Família", "Храм Христа Спасителя", "Karlův most", "東京タワー", "Big Ben"]
    names = pd.Series([_read_as_windows_1252(n) for n in written], index=[3, 4, 5, 6, 7])
    assert names[3] == "Sagrada FamÃ\xadlia" and names[7] == "Big Ben"
    undone, note = undo_double_encoding(names)
    assert undone.tolist() == written and undone.index.tolist() == [3, 4, 5, 6, 7]
    assert note == "4 names were UTF-8 text read as Windows-1252 and saved again (opened so by a spreadsheet?), e.g. " \
                   "'Sagrada FamÃ\\xadlia': read as 'Sagrada Família'"


@pytest.mark.parametrize("name", ["Sagrada Família", "São Paulo", "Ãtre", "Musée «Â»", "Ã© of no UTF-8: Ã"])
def test_a_name_that_is_not_so_is_left_as_it_is(name):
    names = pd.Series([name])
    undone, note = undo_double_encoding(names)
    assert undone is names and note is None

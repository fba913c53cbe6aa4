"""glr.data.category_names: a column of GLDv2 categories named as `category_to_name` names each one."""

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from glr.data.category_names import category_names, category_to_name

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

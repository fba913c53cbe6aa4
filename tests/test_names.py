"""The demo landmarks' made-up names."""

import numpy as np

from glr.demo.names import NAME_TEMPLATES, make_name
from glr.demo.sketch import FAMILIES


def test_every_family_has_names():
    assert set(FAMILIES) <= set(NAME_TEMPLATES)


def test_the_same_draws_give_the_same_name():
    assert make_name("tower", np.random.default_rng(3)) == make_name("tower", np.random.default_rng(3))


def test_some_names_need_percent_escaping_as_real_categories_do():
    rng = np.random.default_rng(0)
    names = {make_name(family, rng) for family in FAMILIES for _ in range(20)}
    assert any(not name.isascii() for name in names)
    assert all(name.isprintable() and "{" not in name for name in names)

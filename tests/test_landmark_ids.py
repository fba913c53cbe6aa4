"""glr.data.landmark_ids: landmark names where their numbers go are numbered, only when each row names a class."""

import pandas as pd
import pytest

from glr.data.landmark_ids import labels_from_names


def test_names_are_numbered_in_alphabetical_order_and_no_label_stays_missing():
    labels, names = labels_from_names(pd.Series(["Big Ben", " Colosseum", "Big Ben", "None", "", "Colosseum"]))
    assert labels.tolist() == [0, 1, 0, pd.NA, pd.NA, 1] and names == {0: "Big Ben", 1: "Colosseum"}


@pytest.mark.parametrize("texts", [["Big Ben", "Big Ben"], ["A 1", "A 2", "A 3"], ["Big Ben", "12", "Big Ben"],
                                   ["None", "nan"]])
def test_one_name_a_caption_per_row_or_numbers_among_them_are_no_names(texts):
    assert labels_from_names(pd.Series(texts)) is None

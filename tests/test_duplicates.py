"""glr.data.duplicates: validation photos that are byte-identical copies of training photos."""

import numpy as np
import pandas as pd

from glr.data.duplicates import copies_of_training, copies_message, drop_training_copies


def test_only_exact_copies_of_training_photos_are_marked():
    mask = copies_of_training(["aa", "bb", ""], ["bb", "cc", "", "aa"])
    assert mask.tolist() == [True, False, False, True]  # an unreadable file ("" digest) matches nothing


def test_copies_are_dropped_from_validation_with_a_message(tmp_path):
    train = pd.DataFrame({"path": [str(tmp_path / "a" / "1.jpg")]})
    val = pd.DataFrame({"path": [str(tmp_path / "a" / "2.jpg"), str(tmp_path / "b" / "3.jpg")], "landmark_id": [1, 2]})
    kept, digests, message = drop_training_copies(train, val, {"train": ["d1"], "val": ["d1", "d3"]}, tmp_path)
    assert kept["path"].tolist() == [str(tmp_path / "b" / "3.jpg")] and kept.index.tolist() == [0]
    assert digests == {"train": ["d1"], "val": ["d3"]}
    assert message == ("left out of validation 1 photo identical to a training photo (the same file twice), "
                       "so they do not inflate its score (e.g. 'a/2.jpg')")


def test_no_copies_leave_everything_as_it_was():
    val = pd.DataFrame({"path": ["x.jpg"]})
    digests = {"train": ["d1"], "val": ["d2"]}
    kept, same, message = drop_training_copies(pd.DataFrame({"path": ["y.jpg"]}), val, digests, None)
    assert kept is val and same is digests and message == ""
    assert copies_message(val, np.zeros(1, bool), None) == ""

"""glr.data.gldv2_files: GLDv2's files beside train.csv told apart, and a column written twice."""

import re

import pandas as pd
import pytest

from conftest import make_gldv2
from glr.data.datasets import load_catalog
from glr.data.train_csv import read_train_csv
from glr.errors import DatasetError


def test_a_folder_with_train_clean_csv_beside_train_csv_says_which_it_read(tmp_path):
    # GLDv2's download holds both: train.csv was read in silence, and the user could not tell which.
    root = make_gldv2(tmp_path / "gld", {1: 4, 2: 3, 3: 5})
    ids = pd.read_csv(root / "train.csv", dtype=str)
    clean = ids[ids["landmark_id"] != "2"].groupby("landmark_id")["id"].agg(" ".join).rename("images")
    clean.reset_index().to_csv(root / "train_clean.csv", index=False)
    catalog = load_catalog(root)
    assert len(catalog.df) == 12
    assert catalog.problems == [f"read train.csv, every photo GLDv2 lists; train_clean.csv beside it lists the cleaned "
                                f"subset (fewer, surer labels): to train on that, point glr at {root / 'train_clean.csv'}"]
    assert len(load_catalog(root / "train_clean.csv").df) == 9  # the note's advice works, and is not said there
    assert load_catalog(root / "train_clean.csv").problems == []
    assert load_catalog(root / "train.csv").problems == []  # the file named: nothing to choose


@pytest.mark.parametrize("name, text, said", [
    ("recognition_solution_v2.1.csv", "id,landmarks,Usage\nabcdef0123456789,12 13,Private\n",
     "it is GLDv2's answers for test.csv (recognition_solution), for scoring a submission, not photos to train on"),
    ("sample_submission.csv", "id,landmarks\nabcdef0123456789,12 0.5\n",
     "it is a submission (Kaggle's sample_submission.csv, or one glr's predict wrote): predictions for test photos"),
    ("train_attribution.csv", "id,url,author,license,title\nabcdef0123456789,http://x,A,CC,T\n",
     "it is GLDv2's photo credits (train_attribution.csv), read beside train.csv: use train.csv"),
    ("train_label_to_category.csv", "landmark_id,category\n1,http://commons.wikimedia.org/wiki/Category:X\n",
     "it is GLDv2's landmark names (train_label_to_category.csv), read beside train.csv"),
])
def test_gldv2s_other_files_given_as_the_dataset_say_what_they_are(tmp_path, name, text, said):
    # The answers file was told "if 'landmarks' holds the landmark ids, rename it landmark_id": a list of test
    # photos, mostly of no landmark, whose files are not in train/. The others named only a missing column.
    (tmp_path / name).write_text(text)
    with pytest.raises(DatasetError, match=re.escape(said)) as caught:
        load_catalog(tmp_path / name)
    assert "rename it" not in str(caught.value)


def test_a_label_column_written_twice_is_refused_when_the_two_differ_and_read_when_alike(tmp_path):
    # `id,landmark_id,landmark_id` (a join or a spreadsheet's copy): the first was read in silence, even where the
    # second said another landmark on every row.
    csv = tmp_path / "train.csv"
    csv.write_text("landmark_id,id,url,Landmark_ID\n1,abc1,http://x,1\n2,abc2,http://y,7\n3,abc3,http://z,3\n")
    with pytest.raises(DatasetError, match=re.escape(
            f"{csv}: has 2 columns named 'landmark_id' (columns 1 and 4) that differ on 1 of 3 rows (e.g. '2' and '7' on line 3); "
            "which one is meant is unknown: delete or rename the other")):
        read_train_csv(csv)
    csv.write_text("id,id,landmark_id,landmark_id\nabc1,abc1,1, 1\nabc2,abc2,2,2\n")
    df, problems = read_train_csv(csv)
    assert list(df.columns) == ["id", "landmark_id"] and df["landmark_id"].tolist() == ["1", "2"] and problems == []


def test_a_column_written_twice_names_the_files_line_where_the_two_differ(tmp_path):
    # Was "(e.g. '2' and '7')": which of 4.1M rows, unsaid. Blank lines count, as in an editor.
    csv = tmp_path / "train.csv"
    csv.write_text("id,landmark_id,landmark_id\n\nabc1,1,1\n\n\nabc2,2,7\n")
    with pytest.raises(DatasetError, match=re.escape("(e.g. '2' and '7' on line 6); which one is meant")):
        read_train_csv(csv)


def test_a_folder_inside_gldv2s_images_tree_is_not_read_as_class_folders(tmp_path):
    # train/0 read as class folders gave classes named by hex digits (16 of them on GLDv2), without an error.
    root = make_gldv2(tmp_path / "gld", {1: 12, 2: 12, 3: 12})
    first = min(p for p in (root / "train").iterdir())
    second = min(p for p in first.iterdir())
    third = min(p for p in second.iterdir())
    for inside in (first, second, third):
        with pytest.raises(DatasetError) as err:
            load_catalog(inside)
        assert str(err.value) == (f"{inside}: is inside GLDv2's folder of images ({root / 'train'}, a/b/c/abc.jpg), "
                                  f"not one folder per class; point glr at {root}")
    (root / "train.csv").unlink()
    with pytest.raises(DatasetError, match=re.escape(f"point glr at {root}, with train.csv put there")):
        load_catalog(first)


def test_class_folders_named_by_digits_are_still_classes(tmp_path):
    # Keras' layout (train/0/, train/1/ of photos): a class folder named by a digit is no GLDv2 tree.
    from conftest import write_image

    for c in "0123":
        for i in range(2):
            write_image(tmp_path / "data" / "train" / c / f"{i}.jpg", seed=10 * int(c) + i)
    assert len(load_catalog(tmp_path / "data" / "train").class_counts) == 4
    for i in range(2):  # a class's bursts in sub-folders named by a digit
        write_image(tmp_path / "data" / "train" / "0" / "1" / f"x{i}.jpg", seed=99 + i)
    assert list(load_catalog(tmp_path / "data" / "train" / "0").names().values()) == ["1"]

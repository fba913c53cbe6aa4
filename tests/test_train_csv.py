"""Parsing GLDv2's train.csv and train_clean.csv."""

import pandas as pd
import pytest

from glr.data.train_csv import parse_labels, read_train_csv
from glr.errors import DatasetError


def _rows(df: pd.DataFrame) -> list[tuple[str, str]]:
    return list(zip(df["id"].tolist(), df["landmark_id"].tolist()))


def test_any_header_case_and_a_semicolon_separator(tmp_path):
    csv = tmp_path / "train.csv"
    csv.write_text('"ID"; Landmark_ID ;url\nabc1;7;http://x\nabc2;8;http://y\n')
    df, problems = read_train_csv(csv)
    assert _rows(df) == [("abc1", "7"), ("abc2", "8")] and problems == []


def test_train_clean_gives_one_row_per_id(tmp_path):
    csv = tmp_path / "train_clean.csv"
    csv.write_text("landmark_id,images\n1,aaa bbb \n2,\n3,ccc\n")
    df, _ = read_train_csv(csv)
    assert _rows(df) == [("aaa", "1"), ("bbb", "1"), ("ccc", "3")]


def test_a_file_without_the_columns_names_what_it_found(tmp_path):
    csv = tmp_path / "train.csv"
    csv.write_text("photo,label\na,1\n")
    with pytest.raises(DatasetError, match="missing column 'id' and 'landmark_id'; found 'photo', 'label'"):
        read_train_csv(csv)


def test_labels_are_plain_integers_only():
    labels = parse_labels(pd.Series(["12", "12.0", "1.5", "0x1f", "", "abc", "+3"], dtype="string"))
    assert labels.tolist() == [12, 12, pd.NA, pd.NA, pd.NA, pd.NA, 3]

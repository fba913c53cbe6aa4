"""GLDv2's train_clean.csv as one row per photo: messages name the file's line and its ids, not the exploded row."""

import pickle

import pytest

from conftest import make_gldv2
from glr.data.clean_csv import ATTR
from glr.data.datasets import load_catalog
from glr.data.train_csv import read_train_csv

FRACTION = ("a landmark_id with a fraction ('2.5' on line 3 (ids 'bbb1', 'bbb2')); skipped: a landmark_id is a "
            "whole number (12,0 and 12.0 are read as 12)")


def _clean(tmp_path, text: str):
    csv = tmp_path / "train_clean.csv"
    csv.write_text(text)
    return csv


def test_a_refused_landmark_id_names_the_files_line_and_its_ids(tmp_path):
    # It said "('2.5' in data row 4, '2.5' in data row 5)": the photos' places once exploded, the line twice.
    csv = _clean(tmp_path, "landmark_id,images\n1,aaa1 aaa2 aaa3\n2.5,bbb1 bbb2\n3,ccc1\nx,ddd1 ddd2\n")
    from glr.data.landmark_ids import refused_label_problems

    df, _ = read_train_csv(csv)
    labels = df["landmark_id"]
    problems = refused_label_problems(labels[labels.isin(["2.5", "x"])])
    assert problems == ["2 photos (1 line of train_clean.csv) have a landmark_id that is not an integer (e.g. 'x' on "
                        "line 5 (ids 'ddd1', 'ddd2')); skipped",
                        "2 photos (1 line of train_clean.csv) have " + FRACTION]


def test_lines_are_the_files_own_past_blank_lines_a_sep_line_quoted_ids_and_a_repeated_header(tmp_path):
    # A blank line, Excel's `sep=,`, a cell of ids over two lines, two files joined with `cat`: the line is the file's.
    csv = _clean(tmp_path, 'sep=,\nlandmark_id,images\n\n1,"aaa1\naaa2"\nlandmark_id,images\n7.5,' +
                 " ".join(f"b{i:03d}" for i in range(5)) + "\n")
    df, _ = read_train_csv(csv)
    assert df["id"].tolist() == ["aaa1", "aaa2", "b000", "b001", "b002", "b003", "b004"]  # the header is no class
    lines = df.attrs[ATTR]
    assert [lines.line(i) for i in range(len(df))] == [4, 4, 7, 7, 7, 7, 7]
    assert lines.where(6) == "line 7 (ids 'b000', 'b001', 'b002', ... (5 ids))"
    assert df["landmark_id"].attrs[ATTR] is lines  # a column taken from the frame keeps it, uncopied


def test_a_pickled_frame_keeps_no_copy_of_the_rows_places(tmp_path):
    csv = _clean(tmp_path, "landmark_id,images\n1,aaa1 aaa2\n")
    df, _ = read_train_csv(csv)
    back = pickle.loads(pickle.dumps(df))
    assert back["id"].tolist() == ["aaa1", "aaa2"] and back.attrs[ATTR].where(0) == "exploded row 1"


@pytest.mark.parametrize("label", ["2.5", "2,5"])
def test_the_catalog_says_the_line_of_a_train_clean_csv(tmp_path, label):
    root = make_gldv2(tmp_path / "gld", {1: 3})
    ids = " ".join(df_id for df_id in (p.stem for p in sorted((root / "train").rglob("*.jpg"))))
    (root / "train.csv").unlink()
    (root / "train_clean.csv").write_text(f"landmark_id,images\n1,{ids}\n\"{label}\",bbb1 bbb2\n")
    catalog = load_catalog(root / "train_clean.csv")
    assert FRACTION.replace("'2.5'", repr(label)) in "\n".join(catalog.problems)

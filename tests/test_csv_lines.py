"""glr.data.csv_lines: a parsed data row's line in the file, as an editor shows it."""

import re

import pytest

from glr.data.csv_lines import RowLines, data_rows
from glr.data.layouts import read_gldv2
from glr.data.train_csv import read_train_csv
from glr.errors import DatasetError


def test_blank_lines_a_sep_line_and_a_quoted_line_end_count_as_the_file_counts_them(tmp_path):
    csv = tmp_path / "train.csv"
    csv.write_text('sep=,\nid,landmark_id\n\nabc1,7\n"abc\n2",8\n   \nabc3,9\n')
    assert [start for start, _ in data_rows(csv, ",", 2)] == [4, 5, 8]
    lines = RowLines(csv, ",", 2)
    assert lines.lines([2, 0, 1]) == [8, 4, 5] and lines.line(9) is None
    assert lines.where(2) == "line 8" and lines.where(9) == "data row 10"


def test_a_fraction_in_train_csv_is_named_by_the_files_line(tmp_path):
    # Was "('12.5' in data row 3)": Arrow's count, three lines off from the line an editor shows.
    (tmp_path / "train.csv").write_text('sep=,\nid,landmark_id\n\nabc1,7\n\nabc2,8\n\nabc3,12.5\n')
    _, problems = read_gldv2(tmp_path, tmp_path / "train.csv")
    assert "('12.5' on line 8)" in problems[0]


def test_zero_bytes_are_named_by_the_files_line(tmp_path):
    csv = tmp_path / "train.csv"
    csv.write_bytes(b"id,landmark_id\n\n\nabc1,7\nabc2,8\x00\n")
    with pytest.raises(DatasetError, match=re.escape("(in 1 row, e.g. line 5)")):
        read_train_csv(csv)


def test_a_legacy_code_page_file_counts_its_own_lines(tmp_path):
    # Read through its UTF-8 copy: the copy keeps the file's line ends, so its lines are the file's.
    (tmp_path / "train.csv").write_bytes("id;landmark_id\r\n\r\ncaf\xe9;7\r\nabc2;1,5\r\n".encode("cp1252"))
    _, problems = read_gldv2(tmp_path, tmp_path / "train.csv")
    assert any("('1,5' on line 4)" in p for p in problems), problems


@pytest.mark.parametrize("end", ["\n", "\r\n", "\r"])
def test_a_file_without_quotes_finds_its_lines_as_the_csv_reader_does(tmp_path, end):
    from glr.data.csv_lines import plain_row_lines

    csv = tmp_path / "train.csv"
    csv.write_bytes(end.join(["sep=,", "id,landmark_id", "", "abc1,7", " \t", ",", "abc3,9", ""]).encode())
    expected = [start for start, _ in data_rows(csv, ",", 2)]
    assert expected == [4, 6, 7] and plain_row_lines(csv, 2, chunk=5).tolist() == expected
    assert RowLines(csv, ",", 2).lines([0, 1, 2, 3]) == [4, 6, 7, None]


@pytest.mark.parametrize("end", ["\n", "\r\n"])
def test_a_file_quoting_every_cell_on_its_line_finds_its_lines_without_the_csv_reader(tmp_path, end):
    # R's write.csv, pandas' QUOTE_ALL: every line held a quote, so every line was found by Python's csv reader,
    # 4 s to reach the last of a 4.1M-row file (0.9 s now, the same conditions).
    from glr.data.csv_lines import plain_row_lines

    csv = tmp_path / "train.csv"
    csv.write_bytes(end.join(['"id","landmark_id"', '"abc1",7', '', '"a ""b"" c",8', '"x,y","9"', '"z"', '']).encode())
    expected = [start for start, _ in data_rows(csv, ",", 1)]
    assert expected == [2, 4, 5, 6] and plain_row_lines(csv, 1, chunk=7).tolist() == expected


def test_a_file_with_quotes_or_stray_returns_is_read_as_csv(tmp_path):
    from glr.data.csv_lines import plain_row_lines

    csv = tmp_path / "train.csv"
    csv.write_text('id,landmark_id\n"abc\n1",7\nabc2,8\n')
    assert plain_row_lines(csv, 1) is None and RowLines(csv, ",", 1).lines([1]) == [4]
    csv.write_text('id,landmark_id\n"abc",7\n"abc\n1",7\nabc2,8\n')  # a pair on the line before
    assert plain_row_lines(csv, 1, chunk=4) is None and RowLines(csv, ",", 1).lines([2]) == [5]
    csv.write_bytes(b"id,landmark_id\nabc1,7\rabc2,8\n")  # a bare CR among LFs ends a line for Arrow too
    assert plain_row_lines(csv, 1) is None and RowLines(csv, ",", 1).lines([1]) == [3]


def test_every_refused_row_of_train_csv_is_named_by_the_files_line(tmp_path):
    # Were "(e.g. 'x')", "(e.g. '../evil': ...)", "(e.g. 'abc5': 1, 2)", "(e.g. 'abc1')", "no id; skipped": no line at
    # all, so a typo among 4.1M rows could only be searched for. The `sep=` line and blank lines count, as in an editor.
    (tmp_path / "train.csv").write_text('sep=,\nid,landmark_id\n\nabc1,7\n\nabc2,x\n\nabc3,"1,000"\nabc4,\n'
                                        "../evil,3\nabc1,7\nABC5,1\nabc5,2\n,4\n")
    _, problems = read_gldv2(tmp_path, tmp_path / "train.csv")
    assert problems == [
        "1 row has no id (on line 14); skipped",
        "2 rows have a landmark_id that is not an integer (e.g. 'x' on line 6, '<empty>' on line 9); skipped",
        "1 row has a landmark_id written with a thousands separator or three decimals (e.g. '1,000' on line 8), which "
        "glr does not guess at; skipped: save the landmark_id column as plain whole numbers (Number format, 0 decimals, "
        "no separator)",
        "1 row has an id that is not a plain file name (e.g. '../evil' on line 10: a path out of the dataset); skipped, "
        "so nothing outside the dataset is read",
        "1 id listed under more than one landmark_id (e.g. 'abc5' on lines 12 and 13: 1, 2); skipped, as which "
        "landmark the photo shows is unknown",
        "1 duplicate id (e.g. 'abc1' on lines 4 and 11); kept the first row of each"]


def test_many_rows_without_an_id_name_the_first_lines_only():
    import pandas as pd

    from glr.data.csv_lines import ATTR, said_lines
    from glr.data.id_cells import no_id_problem

    class Lines:  # RowLines' answer without a file: row i is on line 2i + 3
        def lines(self, rows):
            return [2 * int(r) + 3 for r in rows]

    rows = pd.Series(["", "", "", ""], index=[0, 4, 5, 9])
    rows.attrs[ATTR] = Lines()
    assert no_id_problem(rows) == "4 rows have no id (e.g. on lines 3, 11 and 13); skipped"
    assert no_id_problem(pd.Series([""], index=[3])) == "1 row has no id; skipped"  # not from train.csv: no line
    assert said_lines([7]) == "line 7" and said_lines([None, 4, 9]) == "lines 4 and 9"


def test_a_clean_train_csv_looks_for_no_line(tmp_path, monkeypatch):
    # Lines are found only for the rows a message shows: a file that reads cleanly never reads itself again.
    def no(*_):
        raise AssertionError("a line looked for")

    monkeypatch.setattr(RowLines, "lines", no)
    (tmp_path / "train.csv").write_text("id,landmark_id\nabc1,7\nabc2,8\n")
    df, problems = read_gldv2(tmp_path, tmp_path / "train.csv")
    assert problems == [] and len(df) == 2


def test_the_lines_read_once_answer_every_later_message(tmp_path, monkeypatch):
    # Each message read the file again (six reads of a 4.1M-row train.csv with a quote: 20 s more than one).
    import glr.data.csv_lines as csv_lines

    reads = []
    real = csv_lines.data_rows
    monkeypatch.setattr(csv_lines, "data_rows", lambda *a: reads.append(a) or real(*a))
    csv = tmp_path / "train.csv"
    csv.write_text('id,landmark_id\n"abc\n1",7\n\nabc2,8\nabc3,9\n')  # a quote: read as CSV, not by numpy
    lines = RowLines(csv, ",", 1)
    assert lines.lines([2]) == [6] and lines.lines([0, 1]) == [2, 5] and lines.line(5) is None and len(reads) == 2
    assert lines.line(7) is None and lines.where(1) == "line 5" and len(reads) == 2  # the file's end was reached

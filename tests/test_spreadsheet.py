"""glr.spreadsheet: cells a spreadsheet would run as formulas are escaped, and read back exactly."""

from __future__ import annotations

import codecs
import csv
import io
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from glr import atomic
from glr.spreadsheet import escape_cell, escape_frame, read_csv, to_csv_bytes, unescape_cell, unescape_frame, write_csv


@pytest.mark.parametrize("text, written", [
    ("=1+1", "'=1+1"), ("+x", "'+x"), ("-x", "'-x"), ("@x", "'@x"), ("\tx", "'\tx"), ("\rx", "'\rx"),
    ("'=x", "''=x"), ("''-x", "'''-x"),  # a name that itself starts with a quote keeps it
    ("'s-Hertogenbosch", "'s-Hertogenbosch"), ("a=b", "a=b"), ("", ""), ("'", "'"),  # no formula: as it is
])
def test_a_cell_is_escaped_only_when_a_spreadsheet_would_run_it_and_comes_back_exactly(text, written):
    assert escape_cell(text) == written
    assert unescape_cell(written) == text


def test_numbers_and_missing_values_are_left_alone():
    for value in (-1, -0.5, np.nan, None, True):
        assert escape_cell(value) is value and unescape_cell(value) is value
    frame = pd.DataFrame({"n": [-1, 2], "x": [-0.5, 1.0], "name": ["-a", None]})
    escaped = escape_frame(frame)
    assert escaped["n"].tolist() == [-1, 2] and escaped["x"].tolist() == [-0.5, 1.0]
    assert escaped["name"].tolist()[0] == "'-a" and frame["name"].tolist()[0] == "-a"  # a copy


def test_a_frame_round_trips_through_csv_bytes_column_names_included():
    frame = pd.DataFrame({"=col": ["=a", "b", "-1"], "n": [1, 2, 3]})
    read = unescape_frame(pd.read_csv(io.BytesIO(to_csv_bytes(frame)), dtype={"=col": str}))
    assert list(read.columns) == ["=col", "n"] and read["=col"].tolist() == ["=a", "b", "-1"]
    assert unescape_frame(None) is None


def test_a_csv_for_people_reads_back_exactly_with_returns_and_words_pandas_calls_missing(tmp_path):
    names = ["\rx", "a\rb", "=1+1", "None", "NA", "c\nd", "'s-Hertogenbosch"]
    write_csv(tmp_path / "p.csv", pd.DataFrame({"name": names, "n": range(len(names))}))
    assert read_csv(tmp_path / "p.csv", dtype={"name": str})["name"].tolist() == names


def test_every_csv_glr_writes_goes_through_the_one_rule():
    """glr/spreadsheet.py's rule: a CSV is written by glr.atomic (machine) or glr.spreadsheet (for people), never
    by a bare `to_csv` that would skip the quoting of a return or the escape."""
    allowed = {"glr/atomic.py", "glr/data/datasets.py"}  # datasets: the fingerprint hashes a table, writes no file
    root = Path(__file__).resolve().parent.parent
    found = sorted(p.relative_to(root).as_posix() for p in (root / "glr").rglob("*.py")
                   if re.search(r"\.to_csv\(", p.read_text(encoding="utf-8")))
    assert [p for p in found if p not in allowed] == []


def test_a_csv_for_people_starts_with_a_bom_so_excel_reads_utf8_and_glr_reads_it_back_without_one(tmp_path):
    """Excel on Windows reads a CSV without a BOM in the ANSI code page ("Sagrada FamÃ­lia"); the BOM is never part
    of the first column's name when glr, pandas or Python's csv (utf-8-sig) read the file back."""
    names = ["Sagrada Família", "東京タワー", "=1+1", "\ufeffbom first"]
    frame = pd.DataFrame({"name": names, "n": range(len(names))})
    path = write_csv(tmp_path / "p.csv", frame)
    for data in (path.read_bytes(), to_csv_bytes(frame)):
        assert data.startswith(codecs.BOM_UTF8) and data[3:].decode("utf-8") == atomic.csv_text(escape_frame(frame))
        assert list(pd.read_csv(io.BytesIO(data)).columns) == ["name", "n"]
        rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
        assert rows[0] == ["name", "n"] and [r[0] for r in rows[1:]] == [escape_cell(n) for n in names]
    back = read_csv(path, dtype={"name": str})
    assert list(back.columns) == ["name", "n"] and back["name"].tolist() == names
    machine = atomic.write_csv(tmp_path / "m.csv", frame).read_bytes()  # e.g. the Kaggle submission: no BOM
    assert not machine.startswith(codecs.BOM_UTF8) and machine.decode("utf-8") == atomic.csv_text(frame)


def test_a_csv_for_people_saved_again_with_semicolons_or_tabs_reads_as_glr_wrote_it(tmp_path):
    frame = pd.DataFrame({"name": ["a;b", "c\\td", "=x"], "score": [0.5, 1.25, 2.0]})
    write_csv(tmp_path / "glr.csv", frame)  # glr's own: commas, a ';' or a tab inside a name stays there
    back = read_csv(tmp_path / "glr.csv", dtype={"name": str})
    assert back["name"].tolist() == ["a;b", "c\\td", "=x"] and back["score"].tolist() == [0.5, 1.25, 2.0]
    (tmp_path / "eu.csv").write_bytes("\ufeffname;score\r\nSagrada Família;0,5\r\n=x;1,25\r\n".encode())
    eu = read_csv(tmp_path / "eu.csv", dtype={"name": str})  # Excel in Europe: ';' and decimal commas
    assert eu["name"].tolist() == ["Sagrada Família", "=x"] and eu["score"].tolist() == [0.5, 1.25]
    (tmp_path / "tab.csv").write_bytes(b"name\tscore\r\nBig Ben\t0.5\r\n")  # Excel's "Text (Tab delimited)"
    assert read_csv(tmp_path / "tab.csv", dtype={"name": str}).to_dict("list") == {"name": ["Big Ben"], "score": [0.5]}


@pytest.mark.parametrize("decimal", [".", ","])
def test_a_csv_for_people_saved_again_as_excels_unicode_text_reads_as_glr_wrote_it(tmp_path, decimal):
    # Excel's "Unicode Text": UTF-16 LE with a BOM, tabs, CRLF, the locale's decimal mark. Was read as one column
    # of garbled names ("is damaged: it has no 'name' column" on the Results page).
    text = f"name\tscore\r\nSagrada Família\t0{decimal}5\r\n東京タワー\t1{decimal}25\r\n=x\t2\r\n"
    (tmp_path / "per_class.csv").write_bytes(text.encode("utf-16"))
    back = read_csv(tmp_path / "per_class.csv", dtype={"name": str})
    assert back.to_dict("list") == {"name": ["Sagrada Família", "東京タワー", "=x"], "score": [0.5, 1.25, 2.0]}
    (tmp_path / "split.csv").write_bytes("id\tsplit\r\nNone\tval\r\n".encode("utf-16-le"))  # no BOM
    assert read_csv(tmp_path / "split.csv", dtype=str).to_dict("list") == {"id": ["None"], "split": ["val"]}


def test_a_csv_saved_in_a_cyrillic_code_page_reads_in_it(tmp_path):
    # Excel's plain "CSV" on a Cyrillic Windows: was "it is not UTF-8 text", where train.csv in it reads.
    from glr import spreadsheet

    path = tmp_path / "per_class.csv"
    path.write_bytes("name;recall\r\nХрам Христа Спасителя;0,5\r\n".encode("cp1251"))
    df = spreadsheet.read_csv(path, dtype={"name": str})
    assert df["name"].tolist() == ["Храм Христа Спасителя"] and df["recall"].tolist() == [0.5]

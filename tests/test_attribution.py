"""Photo credits from GLDv2's train_attribution.csv."""

from __future__ import annotations

import subprocess
import sys

import pandas as pd

from conftest import image_id
from glr.data import attribution


def write_attributions(root, rows, header="id,url,author,license,title"):
    lines = [header] + [",".join(r) for r in rows]
    (root / attribution.ATTRIBUTION_CSV).write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_credits_name_author_licence_and_title_of_the_photos_shown(gldv2):
    a, b, c = image_id(7, 0), image_id(7, 1), image_id(12, 0)
    write_attributions(gldv2, [
        (a, "https://commons.wikimedia.org/x.jpg", "Jane Doe", "CC BY-SA 3.0", '"File:Eiffel, at night.jpg"'),
        (b, "u", "", "CC0", ""),
        (c, "u", "", "", ""),  # nothing known: no credit
    ])
    paths = [gldv2 / "train" / i[0] / i[1] / i[2] / f"{i}.jpg" for i in (a, b, c, image_id(30, 0))]
    assert attribution.credits(paths + ["/elsewhere/photo.jpg"]) == [
        '"Eiffel, at night.jpg" by Jane Doe, CC BY-SA 3.0', "Photo, CC0", None, None, None]


def test_a_dataset_without_the_file_or_with_a_bad_one_has_no_credits(gldv2, tmp_path):
    path = next((gldv2 / "train").rglob("*.jpg"))
    assert attribution.credits([path]) == [None]
    (gldv2 / attribution.ATTRIBUTION_CSV).write_bytes(b"\xff\xfe garbage")
    assert attribution.credits([path]) == [None]
    write_attributions(gldv2, [("x", "y")], header="photo,who")
    assert attribution.for_dataset(gldv2) is not None and len(attribution.for_dataset(gldv2)) == 0


def test_other_spellings_and_missing_columns_are_accepted(tmp_path):
    write_attributions(tmp_path, [("abc", "Ann", "CC BY 2.0")], header="ID,Artist,Licence")
    table = attribution.Attributions.read(tmp_path / attribution.ATTRIBUTION_CSV)
    assert table.lookup(["abc", "zzz"]) == {"abc": {"author": "Ann", "license": "CC BY 2.0"}}


def test_lookups_scale_to_many_rows(tmp_path):
    ids = [f"{i:016x}" for i in range(200_000)]
    pd.DataFrame({"id": ids, "author": "A", "license": "CC BY", "title": "t"}).to_csv(
        tmp_path / attribution.ATTRIBUTION_CSV, index=False)
    table = attribution.Attributions.read(tmp_path / attribution.ATTRIBUTION_CSV)
    assert len(table) == 200_000 and set(table.lookup(ids[-3:])) == set(ids[-3:])


def test_a_file_saved_by_a_spreadsheet_or_with_one_bad_row_keeps_its_other_credits(tmp_path):
    # Semicolons and a bare CR (Excel for Mac) read nothing, and one unquoted comma in a title lost every credit.
    csv = tmp_path / attribution.ATTRIBUTION_CSV
    csv.write_bytes(b"id;author;license;title\rabc;Ann;CC BY 2.0;Tower\rdef;Bob;CC0;a; b\r")
    table = attribution.Attributions.read(csv)
    assert table.lookup(["abc", "def"]) == {"abc": {"author": "Ann", "license": "CC BY 2.0", "title": "Tower"}}
    csv.write_text("id,author,license,title\nabc,Ann,CC BY 2.0,Tower, at night\ndef,Bob,CC0,Bridge\n")
    assert attribution.Attributions.read(csv).lookup(["abc", "def"]) == {"def": {"author": "Bob", "license": "CC0", "title": "Bridge"}}


def test_a_named_pipe_as_the_file_gives_no_credits_and_does_not_block(tmp_path):
    import os

    os.mkfifo(tmp_path / attribution.ATTRIBUTION_CSV)
    assert len(attribution.Attributions.read(tmp_path / attribution.ATTRIBUTION_CSV)) == 0


def test_a_file_in_a_legacy_code_page_gives_its_credits_and_says_so(tmp_path):
    # Excel's "CSV (comma delimited)" on a Western Windows: every credit was lost, and nothing said why.
    csv = tmp_path / attribution.ATTRIBUTION_CSV
    csv.write_bytes("id,author,license,title\r\nabc,Fran\xe7ois M\xfcller,CC BY 2.0,Caf\xe9 de Flore\r\n".encode("cp1252"))
    table = attribution.Attributions.read(csv)
    assert table.lookup(["abc"]) == {"abc": {"author": "François Müller", "license": "CC BY 2.0",
                                             "title": "Café de Flore"}}
    assert table.problems == ["train_attribution.csv: read as Windows-1252 text (not UTF-8)"]
    csv.write_bytes("id,author\nabc,\u0418\u0432\u0430\u043d \u041f\u0435\u0442\u0440\u043e\u0432\n".encode("cp1251"))
    assert attribution.Attributions.read(csv).lookup(["abc"]) == {"abc": {"author": "Иван Петров"}}


def test_a_file_that_cannot_be_read_says_so_where_credits_are_read(gldv2):
    assert attribution.problems(gldv2) == []  # no file: nothing to say
    (gldv2 / attribution.ATTRIBUTION_CSV).write_bytes(b"id,author\nabc,\x81\x8d\x8f\x90\x9d\n")  # no code page's words
    said = attribution.problems(gldv2)
    assert len(said) == 1 and said[0].startswith("train_attribution.csv: is not UTF-8 text")
    assert said[0].endswith("; photos are shown without their credits")
    write_attributions(gldv2, [("x", "y")], header="photo,who")
    assert attribution.problems(gldv2) == ["train_attribution.csv: has no id column (found 'photo', 'who'); expected "
                                           "id,author,license,title: photos are shown without their credits"]
    write_attributions(gldv2, [("abc", "u", "Ann", "CC0", "Tower, at night"), ("def", "u", "Bob", "CC0", "Bridge")])
    assert attribution.problems(gldv2) == ["train_attribution.csv: 1 row without the header's columns (a title holding "
                                           "the separator must be in quotes): those photos are shown without their credits"]


def test_importing_it_imports_no_pandas():
    # It took train.csv's name from glr.data.layouts, which imports pandas: about 0.5 s for a constant.
    code = "import sys; from glr.data import attribution; print([m for m in ('pandas', 'pyarrow') if m in sys.modules])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"

"""Photo credits from GLDv2's train_attribution.csv."""

from __future__ import annotations

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

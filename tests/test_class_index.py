"""ClassIndex: a catalog's classes indexed once, and the long tail as aggregates."""

from __future__ import annotations

import numpy as np
import pandas as pd

from glr.data import datasets, long_tail
from glr.data.class_index import ClassIndex


def catalog_df(sizes: dict[int, int]) -> pd.DataFrame:
    rows = [(f"{lm:04d}{i:012x}", f"/d/{lm}/{i}.jpg", lm, f"class {lm}") for lm, n in sizes.items() for i in range(n)]
    df = pd.DataFrame(rows, columns=["id", "path", "landmark_id", "name"])
    return df.sample(frac=1, random_state=0).reset_index(drop=True)  # rows in no particular order


def test_summary_and_counts_match_the_catalog(gldv2):
    catalog = datasets.load_catalog(gldv2)
    index = ClassIndex(catalog.df)
    expected = datasets.summarize(catalog)
    assert index.summary() == {k: expected[k] for k in index.summary()}
    assert index.counts().tolist() == catalog.class_counts.tolist()
    assert index.counts().index[0] == "Eiffel Tower"


def test_pages_read_only_their_classes_and_give_the_first_photos_in_the_catalogs_order():
    df = catalog_df({1: 5, 2: 9, 3: 2, 4: 9})
    index = ClassIndex(df)
    first = index.page(page=1, per_page=2, per_class=3)
    assert first.classes["landmark_id"].tolist() == [2, 4] and (first.pages, first.matches) == (2, 4)
    expected = df[df["landmark_id"] == 2]["path"].iloc[:3].tolist()
    assert first.classes["examples"][0] == expected
    assert index.page("CLASS 3").classes["landmark_id"].tolist() == [3]
    assert index.page("4").classes["landmark_id"].tolist() == [4]  # by id
    assert index.page(page=99, per_page=3).page == 2 and index.page("nothing").matches == 0


def test_the_long_tail_aggregates_stay_small_at_any_size():
    rng = np.random.default_rng(0)
    sizes = dict(enumerate((rng.pareto(1.2, 8_000) + 1).astype(int).clip(1, 5000)))
    labels = np.repeat(list(sizes), list(sizes.values()))
    df = pd.DataFrame({"id": [f"{i:016x}" for i in range(len(labels))], "path": "", "landmark_id": labels,
                       "name": pd.Series(labels).map("landmark {}".format)})
    index = ClassIndex(df)
    curve = index.rank_size()
    assert len(curve) <= 400 and curve["rank"].iloc[0] == 1 and curve["rank"].iloc[-1] == 8_000
    assert curve["images"].is_monotonic_decreasing and curve["images"].iloc[0] == max(sizes.values())
    hist = index.size_histogram()
    assert hist["classes"].sum() == 8_000 and hist["images"].sum() == len(df) and len(hist) <= 16
    assert hist["size"].iloc[:4].tolist() == ["1", "2", "3-5", "6-10"]
    assert hist["classes"].iloc[0] == sum(1 for v in sizes.values() if v == 1)
    assert index.tail_share(10) == np.mean([v <= 10 for v in sizes.values()])
    assert len(long_tail.rank_size_figure(index).data[0].x) == len(curve)
    assert len(long_tail.size_histogram_figure(index).data[0].x) == len(hist)


def test_an_empty_catalog_has_an_empty_index():
    index = ClassIndex(catalog_df({}).reindex(columns=["id", "path", "landmark_id", "name"]))
    assert index.summary()["classes"] == 0 and index.rank_size().empty and index.page().matches == 0


def test_a_search_finds_a_name_written_in_another_unicode_form():
    # A class folder copied from a Mac is named with decomposed accents (NFD); "Café" typed in a browser is
    # composed (NFC). The search found nothing; "STRASSE" did not find "Straße" either.
    import unicodedata

    df = catalog_df({1: 2, 2: 2, 3: 2})
    df["name"] = df["landmark_id"].map({1: unicodedata.normalize("NFD", "Café de Flore"), 2: "Straße", 3: "Tower"})
    index = ClassIndex(df)
    assert index.search(unicodedata.normalize("NFC", "café"))["landmark_id"].tolist() == [1]
    assert index.search(unicodedata.normalize("NFD", "CAFÉ"))["landmark_id"].tolist() == [1]
    assert index.search("STRASSE")["landmark_id"].tolist() == [2]

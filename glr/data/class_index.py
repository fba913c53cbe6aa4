"""The classes of a catalog, built once, so a page can browse GLDv2's 203k classes and 4.1M rows at once.

`ClassIndex` counts the catalog's rows per class a single time (a hash factorisation of the
integer labels and a bincount: about 0.1 s at 4.1M rows, where a stable sort took over a
second) and keeps one row per class: its name and size. After that, everything the Dataset page asks is cheap: the summary counts, the long
tail as an aggregate (`rank_size`: a rank-size curve of a few hundred points, and
`size_histogram`: classes per size range) instead of 203k bars, a class found by name or
id, and a gallery page that reads the rows of the classes it shows only.
"""

from __future__ import annotations

import copy
import unicodedata
from dataclasses import dataclass

import numpy as np
import pandas as pd

CURVE_POINTS = 400  # points of the rank-size curve: enough for a smooth line at any size
# Class-size ranges of the histogram: 1, 2, 3-5, 6-10, 11-20, 21-50 ... (a 1-2-5 ladder).
SIZE_EDGES = [1, 2, 3, 6, 11, 21, 51, 101, 201, 501, 1001, 2001, 5001, 10_001, 20_001, 50_001, 100_001]


@dataclass
class GalleryPage:
    """One page of the class gallery: `classes` has landmark_id, name, images and examples (a list of paths)."""

    classes: pd.DataFrame
    page: int  # 1-based, clamped to the pages there are
    pages: int
    matches: int  # classes matching the search


class ClassIndex:
    """One row per class of a catalog (`classes`: landmark_id, name, images; largest first) and where its rows are."""

    def __init__(self, catalog):
        """Index `catalog`: a `glr.data.datasets.Catalog`, or a table of its columns with each row's path."""
        # A Catalog makes its GLDv2 paths from the ids (it keeps none): only the few a gallery page shows are made.
        # Of a copy: curation's file check may drop rows from the catalog later, and the index keeps its rows.
        catalog_df = getattr(catalog, "df", catalog)
        self._paths = copy.copy(catalog).paths if hasattr(catalog, "paths") else (lambda rows: catalog_df["path"].loc[rows])
        self.df = catalog_df
        self.labels = catalog_df["landmark_id"].to_numpy()
        # Codes in order of first appearance: a code is new exactly where it exceeds every code before it.
        codes, ids = pd.factorize(self.labels, sort=False)
        sizes = np.bincount(codes, minlength=len(ids))
        first = np.flatnonzero(np.r_[True, codes[1:] > np.maximum.accumulate(codes)[:-1]]) if len(codes) else codes
        names = catalog_df["name"].iloc[first].to_numpy() if len(ids) else np.array([], dtype=object)
        classes = pd.DataFrame({"landmark_id": np.asarray(ids, dtype="int64"), "name": pd.array(names, dtype="string"),
                                "images": sizes.astype("int64")})
        self.classes = classes.sort_values(["images", "landmark_id"], ascending=[False, True], kind="stable") \
            .reset_index(drop=True)
        self._search_text: pd.Series | None = None
        self._memo: dict = {}  # the aggregates, computed on first use: the index never changes

    def summary(self) -> dict:
        """classes, images, and the min / median / max images per class (as `glr.data.datasets.summarize`)."""
        sizes = self.classes["images"]
        return {"classes": int(len(sizes)), "images": int(len(self.df)),
                "per_class_min": int(sizes.min()) if len(sizes) else 0,
                "per_class_median": float(sizes.median()) if len(sizes) else 0.0,
                "per_class_max": int(sizes.max()) if len(sizes) else 0}

    def counts(self) -> pd.Series:
        """Images per class, name -> images, largest first."""
        return pd.Series(self.classes["images"].to_numpy(), index=self.classes["name"].astype(str).to_numpy())

    def tail_share(self, at_most: int = 10) -> float:
        """The share of classes with `at_most` images or fewer."""
        return float((self.classes["images"] <= at_most).mean()) if len(self.classes) else 0.0

    def search(self, query: str) -> pd.DataFrame:
        """The classes whose name or landmark_id contains `query` (case-insensitive, in any Unicode form), largest first."""
        # NFKC: a class folder copied from a Mac is named "Café" with a separate accent (NFD), which the
        # "Café" typed in a browser (NFC) would not match, nor "ﬁ" the "fi" typed.
        query = unicodedata.normalize("NFKC", (query or "").strip()).casefold()
        if not query:
            return self.classes
        if self._search_text is None:
            # Built on the first search and kept: the normalised, case-folded "name id" of every class.
            self._search_text = self.classes["name"].astype(str).str.normalize("NFKC").str.casefold() + " " + \
                self.classes["landmark_id"].astype(str)
        hit = self._search_text.str.contains(query, regex=False).to_numpy()
        return self.classes[hit]

    def pages(self, query: str = "", per_page: int = 6) -> int:
        """How many gallery pages the classes matching `query` fill (at least 1)."""
        return max(1, -(-len(self.search(query)) // max(1, int(per_page))))

    def examples(self, row: pd.Series, per_class: int) -> list[str]:
        """The first `per_class` image paths of a class (a row of `classes`), in the catalog's order.

        The catalog's order, not the ids': GLDv2's largest class has tens of thousands of
        rows, and sorting them on every rerun of a page would cost what the index saves.
        """
        # One comparison over the labels per class shown (milliseconds at 4.1M rows) instead of
        # keeping a sorted copy of every row for the few classes a page shows.
        rows = np.flatnonzero(self.labels == int(row["landmark_id"]))[:per_class]
        return [str(p) for p in self._paths(self.df.index[rows])]

    def page(self, query: str = "", page: int = 1, per_page: int = 6, per_class: int = 4) -> GalleryPage:
        """Classes matching `query`, largest first, `per_page` at a time, each with its first `per_class` paths.

        A page number out of range is clamped; no match gives an empty page. Only the rows of
        the classes shown are read.
        """
        per_page, per_class = max(1, int(per_page)), max(1, int(per_class))
        found = self.search(query)
        pages = self.pages(query, per_page)
        page = min(max(1, int(page)), pages)
        shown = found.iloc[(page - 1) * per_page: page * per_page].reset_index(drop=True)
        shown = shown.assign(examples=[self.examples(row, per_class) for _, row in shown.iterrows()])
        return GalleryPage(classes=shown, page=page, pages=pages, matches=len(found))

    def rank_size(self, points: int = CURVE_POINTS) -> pd.DataFrame:
        """The rank-size curve (rank 1 = largest class) at about `points` log-spaced ranks, the first and last kept.

        Kept once computed (the index never changes), like `size_histogram`: a page asks on every rerun.
        """
        if ("rank_size", points) in self._memo:
            return self._memo[("rank_size", points)]
        sizes = self.classes["images"].to_numpy()
        if not len(sizes):
            return pd.DataFrame({"rank": [], "images": [], "name": []})
        ranks = np.unique(np.geomspace(1, len(sizes), num=min(points, len(sizes))).round().astype(int))
        names = self.classes["name"].iloc[ranks - 1].astype(str).to_numpy()
        curve = self._memo[("rank_size", points)] = pd.DataFrame({"rank": ranks, "images": sizes[ranks - 1], "name": names})
        return curve

    def size_histogram(self) -> pd.DataFrame:
        """How many classes have 1, 2, 3-5, 6-10 ... images: columns size (a label), classes, images."""
        if "histogram" in self._memo:
            return self._memo["histogram"]
        sizes = self.classes["images"].to_numpy()
        top = int(sizes.max()) if len(sizes) else 1
        edges = [e for e in SIZE_EDGES if e <= top] + [top + 1]
        which = np.searchsorted(edges, sizes, side="right") - 1
        labels = [f"{lo:,}" if hi - lo == 1 else f"{lo:,}-{hi - 1:,}" for lo, hi in zip(edges[:-1], edges[1:])]
        classes = np.bincount(which, minlength=len(labels))[: len(labels)]
        images = np.bincount(which, weights=sizes, minlength=len(labels))[: len(labels)].astype(int)
        hist = self._memo["histogram"] = pd.DataFrame({"size": labels, "classes": classes, "images": images})
        return hist

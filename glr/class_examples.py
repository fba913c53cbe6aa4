"""A run's classes for the Predict page: example photos of each, sample photos to try, what the model knows.

Light on purpose (pandas only): the Predict page reads it on every rerun.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from glr.paths import demo_dir
from glr.training.run import Run, RunError, as_run

EXAMPLES_PER_CLASS = 4
SAMPLES = 6  # sample photos offered to try
NAMES_QUOTED = 3  # landmark names quoted in the sentence saying what a model knows


def run_dataset_root(run: Run | str | os.PathLike) -> str | None:
    """The dataset folder a run was trained on, or None if unknown."""
    return as_run(run).dataset_root()


def example_paths(run: Run | str | os.PathLike, catalog=None,
                  per_class: int = EXAMPLES_PER_CLASS) -> dict[int, list[str]]:
    """landmark_id -> up to `per_class` paths of images of that class, to show next to a prediction.

    Training images from the run's split, located through `catalog` (the `Catalog` of the
    run's dataset, or its table with a path column); without a catalog, or for classes it misses, the run's validation
    images (from its validation predictions). Only files that exist are returned.
    """
    run = as_run(run)
    found: dict[int, list[str]] = {}
    split = _quietly(run.split) if catalog is not None else None
    if split is not None:
        try:
            train = split[split["split"] == "train"].sort_values("id")
            paths = _paths_by_id(catalog)
            train = train.assign(path=train["id"].map(paths)).dropna(subset=["path"])
            for landmark_id, group in train.groupby("landmark_id"):
                found[int(landmark_id)] = [p for p in group["path"] if os.path.isfile(p)][:per_class]
        except (KeyError, ValueError):
            found = {}
    val = _quietly(run.predictions)
    if val is not None:
        try:
            for landmark_id, group in val.sort_values("id").groupby("true_landmark_id"):
                have = found.setdefault(int(landmark_id), [])
                for p in group["path"]:
                    if len(have) >= per_class:
                        break
                    if p not in have and os.path.isfile(p):
                        have.append(p)
        except (KeyError, ValueError):
            pass
    return {k: v for k, v in found.items() if v}


def _paths_by_id(catalog) -> pd.Series:
    """id -> path of a `Catalog` (which makes GLDv2's paths of the ids) or of a table with a path column."""
    if hasattr(catalog, "paths_by_id"):
        return catalog.paths_by_id()
    return catalog.drop_duplicates("id").set_index("id")["path"]


def _quietly(reader):
    """A table of the run, or None when it is missing or unreadable: examples are a nicety."""
    try:
        return reader()
    except RunError:
        return None


@dataclass(frozen=True)
class SamplePhoto:
    """A validation photo of a run, offered to try on the Predict page; its true landmark is known."""

    path: str
    landmark_id: int
    name: str  # the true landmark's name

    @property
    def file_name(self) -> str:
        """The name the photo goes by among the uploads: its file name."""
        return Path(self.path).name


def sample_photos(run: Run | str | os.PathLike, n: int = SAMPLES, catalog=None) -> list[SamplePhoto]:
    """Up to `n` photos of the run's validation split, each of another class, spread evenly over the classes.

    The model never trained on them, so they show what it does on a photo it has not seen.
    Read from the run's validation predictions; without them, from its split and
    `catalog` (the catalog of its dataset, as for `example_paths`). Only files that exist; always the same
    photos for the same run.
    """
    run = as_run(run)
    rows = _validation_photos(run, catalog)
    if rows is None or rows.empty or n <= 0:
        return []
    rows = rows[[os.path.isfile(p) for p in rows["path"]]].sort_values(["landmark_id", "id"])
    first = rows.drop_duplicates("landmark_id")
    if len(first) > n:  # spread over the classes rather than the first n of them
        first = first.iloc[np.unique(np.linspace(0, len(first) - 1, n).round().astype(int))]
    first = _told_apart(run, first, {"name": "landmark_id"})  # captions of an old run's look-alike classes
    return [SamplePhoto(str(r.path), int(r.landmark_id), str(r.name)) for r in first.itertuples(index=False)]


def _told_apart(run: Run, table: pd.DataFrame, columns: dict[str, str]) -> pd.DataFrame:
    """`table`'s names (`columns`: name -> landmark_id column) as the run's classes read: one made before look-alike
    classes were told apart recorded "Big Ben" twice (glr.data.class_names.recorded_names_told_apart)."""
    from glr.data.class_names import names_told_apart, run_labels_told_apart

    labels = run_labels_told_apart(run)
    return table if labels is None else names_told_apart(table, labels, columns)


def _validation_photos(run: Run, catalog) -> pd.DataFrame | None:
    """id, path, landmark_id, name of the run's validation photos, or None when the run cannot say."""
    val = _quietly(run.predictions)
    if val is not None and {"id", "path", "true_landmark_id", "true_name"} <= set(val.columns):
        return val.rename(columns={"true_landmark_id": "landmark_id", "true_name": "name"})[
            ["id", "path", "landmark_id", "name"]].dropna()
    split, labels = _quietly(run.split), _quietly(run.labels)
    if split is None or labels is None or catalog is None:
        return None
    try:
        val = split[split["split"] == "val"]
        paths = _paths_by_id(catalog)
        names = labels.set_index("landmark_id")["name"]
        val = val.assign(path=val["id"].map(paths), name=val["landmark_id"].map(names))
        return val[["id", "path", "landmark_id", "name"]].dropna()
    except (KeyError, ValueError):
        return None


def is_demo_run(run: Run | str | os.PathLike) -> bool:
    """Whether the run was trained on the embedded demo dataset (its generated, invented landmarks)."""
    root = as_run(run).dataset_root()
    try:
        return bool(root) and Path(root).resolve() == demo_dir().resolve()
    except OSError:
        return False


def what_it_knows(run: Run | str | os.PathLike, unknown_verdict: bool = True) -> str:
    """A sentence for the Predict page: which dataset and how many landmarks the model knows, and what it says of others.

    `unknown_verdict`: whether the run can call a photo "not a known landmark" (it has an
    embedding index); without it, every photo gets the closest known name.
    """
    run = as_run(run)
    labels = _quietly(run.labels)
    count = len(labels) if labels is not None else 0
    labels = _told_apart(run, labels, {"name": "landmark_id"}) if count else labels
    names = labels["name"].head(NAMES_QUOTED).tolist() if count else []  # Run.labels: "landmark <id>" if unnamed
    quoted = f" ({', '.join(names)}{', ...' if count > len(names) else ''})" if names else ""
    noun = "landmark" if count == 1 else "landmarks"
    demo = is_demo_run(run)
    if demo:
        what = (f"This model knows the {count} invented {noun} of the demo dataset{quoted}, drawn on this computer: "
                "it has never seen a real landmark.")
    else:
        root = run.dataset_root()
        where = f"the dataset at {root}" if root else "its training dataset"
        what = f"This model knows the {count} {noun} of {where}{quoted}."
    others = "anything else, a real landmark included," if demo else "anything else"
    if unknown_verdict:
        return what + f" A photo of {others} will be called \"not a known landmark\"."
    return what + f" A photo of {others} still gets the closest of these names: this run has no unknown verdict."

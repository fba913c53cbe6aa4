"""Example photos of each class of a run, to show beside a prediction.

Light on purpose (pandas only): the Predict page reads it on every rerun.
"""

from __future__ import annotations

import os

import pandas as pd

from glr.training.run import Run, RunError, as_run

EXAMPLES_PER_CLASS = 4


def run_dataset_root(run: Run | str | os.PathLike) -> str | None:
    """The dataset folder a run was trained on, or None if unknown."""
    return as_run(run).dataset_root()


def example_paths(run: Run | str | os.PathLike, catalog_df: pd.DataFrame | None = None,
                  per_class: int = EXAMPLES_PER_CLASS) -> dict[int, list[str]]:
    """landmark_id -> up to `per_class` paths of images of that class, to show next to a prediction.

    Training images from the run's split, located through `catalog_df` (the catalog of the
    run's dataset); without a catalog, or for classes it misses, the run's validation
    images (from its validation predictions). Only files that exist are returned.
    """
    run = as_run(run)
    found: dict[int, list[str]] = {}
    split = _quietly(run.split) if catalog_df is not None else None
    if split is not None:
        try:
            train = split[split["split"] == "train"].sort_values("id")
            paths = catalog_df.drop_duplicates("id").set_index("id")["path"]
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


def _quietly(reader):
    """A table of the run, or None when it is missing or unreadable: examples are a nicety."""
    try:
        return reader()
    except RunError:
        return None

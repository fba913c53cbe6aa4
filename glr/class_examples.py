"""Example photos of each class of a run, to show beside a prediction.

Light on purpose (pandas only): the Predict page reads it on every rerun.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from glr.training import runs

EXAMPLES_PER_CLASS = 4


def run_dataset_root(run_dir: str | os.PathLike) -> str | None:
    """The dataset folder a run was trained on (config.json's dataset.root), or None if unknown."""
    try:
        config = runs.Run(run_dir).config()
    except runs.RunError:
        return None
    root = (config.get("dataset") or {}).get("root") or (config.get("train") or {}).get("data")
    return str(root) if root else None


def example_paths(run_dir: str | os.PathLike, catalog_df: pd.DataFrame | None = None,
                  per_class: int = EXAMPLES_PER_CLASS) -> dict[int, list[str]]:
    """landmark_id -> up to `per_class` paths of images of that class, to show next to a prediction.

    Training images from the run's split.csv, located through `catalog_df` (the catalog of
    the run's dataset); without a catalog, or for classes it misses, the run's validation
    images (val_predictions.csv). Only files that exist are returned.
    """
    run_dir = Path(run_dir)
    found: dict[int, list[str]] = {}
    split_path = run_dir / "split.csv"
    if catalog_df is not None and split_path.is_file():
        try:
            split = pd.read_csv(split_path, dtype={"id": str})
            train = split[split["split"] == "train"].sort_values("id")
            paths = catalog_df.drop_duplicates("id").set_index("id")["path"]
            train = train.assign(path=train["id"].map(paths)).dropna(subset=["path"])
            for landmark_id, group in train.groupby("landmark_id"):
                found[int(landmark_id)] = [p for p in group["path"] if os.path.isfile(p)][:per_class]
        except (OSError, ValueError, KeyError, pd.errors.ParserError):
            found = {}
    predictions = run_dir / "val_predictions.csv"
    if predictions.is_file():
        try:
            val = pd.read_csv(predictions, dtype={"id": str, "path": str}).sort_values("id")
            for landmark_id, group in val.groupby("true_landmark_id"):
                have = found.setdefault(int(landmark_id), [])
                for p in group["path"]:
                    if len(have) >= per_class:
                        break
                    if p not in have and os.path.isfile(p):
                        have.append(p)
        except (OSError, ValueError, KeyError, pd.errors.ParserError):
            pass
    return {k: v for k, v in found.items() if v}

"""glr.class_examples: example photos of each class of a run, from its dataset or its validation photos."""

import json

import pandas as pd

from glr import class_examples
from glr.data import datasets


def test_example_paths_from_catalog_and_fallback(finished_run):
    catalog = datasets.load_catalog(class_examples.run_dataset_root(finished_run.path))
    with_catalog = class_examples.example_paths(finished_run.path, catalog.df, per_class=2)
    labels = json.loads((finished_run.path / "labels.json").read_text())
    assert set(with_catalog) == {row["landmark_id"] for row in labels}
    split = pd.read_csv(finished_run.path / "split.csv", dtype={"id": str})
    train_ids = set(split.loc[split["split"] == "train", "id"])
    for found in with_catalog.values():
        assert len(found) == 2
        assert all(p.rsplit("/", 1)[1][:-4] in train_ids for p in found)  # training images, not validation
    fallback = class_examples.example_paths(finished_run.path, None)
    assert set(fallback) == set(with_catalog) and all(len(v) >= 1 for v in fallback.values())

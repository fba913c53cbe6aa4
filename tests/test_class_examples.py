"""glr.class_examples: example photos of each class of a run, from its dataset or its validation photos."""

import json

import pandas as pd

from glr import class_examples
from glr.data import datasets


def test_example_paths_from_catalog_and_fallback(finished_run):
    catalog = datasets.load_catalog(class_examples.run_dataset_root(finished_run.path))
    with_catalog = class_examples.example_paths(finished_run.path, catalog, per_class=2)
    labels = json.loads((finished_run.path / "labels.json").read_text())
    assert set(with_catalog) == {row["landmark_id"] for row in labels}
    split = pd.read_csv(finished_run.path / "split.csv", dtype={"id": str})
    train_ids = set(split.loc[split["split"] == "train", "id"])
    for found in with_catalog.values():
        assert len(found) == 2
        assert all(p.rsplit("/", 1)[1][:-4] in train_ids for p in found)  # training images, not validation
    fallback = class_examples.example_paths(finished_run.path, None)
    assert set(fallback) == set(with_catalog) and all(len(v) >= 1 for v in fallback.values())


def test_sample_photos_are_validation_photos_of_different_classes(finished_run, tmp_path):
    samples = class_examples.sample_photos(finished_run)
    val = finished_run.predictions()
    assert samples and len({s.landmark_id for s in samples}) == len(samples)  # one per class
    for s in samples:
        row = val[val["path"] == s.path].iloc[0]  # a validation photo: the model never trained on it
        assert (row["true_landmark_id"], row["true_name"]) == (s.landmark_id, s.name)
        assert s.file_name == row["path"].rsplit("/", 1)[1]
    assert class_examples.sample_photos(finished_run) == samples  # the same ones every time
    assert len(class_examples.sample_photos(finished_run, n=1)) == 1
    assert class_examples.sample_photos(tmp_path) == []  # not a run: nothing to offer


def test_sample_photos_spread_over_classes_and_fall_back_to_the_split(finished_run, tmp_path):
    import shutil

    from glr.training.run import Run

    copy = Run(shutil.copytree(finished_run.path, tmp_path / "copy"))
    val = copy.predictions()
    classes = sorted(set(val["true_landmark_id"]))
    picked = class_examples.sample_photos(copy, n=2)
    assert [s.landmark_id for s in picked] == [classes[0], classes[-1]]  # the ends, not the first two
    copy.predictions_path.unlink()  # an unevaluated run: its split and the catalog say the same
    assert class_examples.sample_photos(copy) == []
    catalog = datasets.load_catalog(class_examples.run_dataset_root(copy.path))
    from_split = class_examples.sample_photos(copy, catalog=catalog)
    assert {s.landmark_id for s in from_split} == set(classes)
    assert all(s.path in set(val["path"]) for s in from_split)


def test_what_it_knows(finished_run, tmp_path, monkeypatch):
    import shutil

    from glr.training.run import Run

    text = class_examples.what_it_knows(finished_run)
    assert text.startswith("This model knows the 3 landmarks of the dataset at ")
    assert "(Red Fort, Blue Mosque, Golden Gate)" in text and 'will be called "not a known landmark"' in text
    assert "closest of these names" in class_examples.what_it_knows(finished_run, unknown_verdict=False)
    assert not class_examples.is_demo_run(finished_run)
    copy = Run(shutil.copytree(finished_run.path, tmp_path / "copy"))
    monkeypatch.setenv("GLR_DEMO_DIR", class_examples.run_dataset_root(copy))  # as if it had trained on the demo
    assert class_examples.is_demo_run(copy)
    assert class_examples.what_it_knows(copy).startswith("This model knows the 3 invented landmarks of the demo dataset")
    assert "a real landmark included" in class_examples.what_it_knows(copy)


def test_an_old_run_that_named_two_look_alike_classes_once_offers_them_apart(finished_run, tmp_path):
    # The Predict page's sample photos and its sentence of what the model knows said "Big Ben" twice for a run of
    # folders `Big Ben` and `Big_Ben` made before they were told apart.
    import shutil

    from test_class_names import like_an_old_folder_run

    copy = shutil.copytree(finished_run.path, tmp_path / "run", ignore=shutil.ignore_patterns("export", "index"))
    expected = like_an_old_folder_run(copy)
    samples = class_examples.sample_photos(copy)
    assert sorted(s.name for s in samples) == sorted(expected)
    assert "(Big Ben (folder Big Ben), Big Ben (folder Big_Ben), Tower 2)" in class_examples.what_it_knows(copy)

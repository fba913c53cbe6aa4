"""glr.evaluation.probe: cross-validated logistic regression separates what is separable, and only that."""

import os
from pathlib import Path

import numpy as np

from glr.data.datasets import curate, load_catalog
from glr.evaluation.probe import cross_validate, run_probe


def test_separable_vs_random_features():
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(4), 10)
    separable = np.eye(4)[y] * 5 + rng.normal(size=(40, 4))
    noise = rng.normal(size=(40, 4))
    assert np.mean(cross_validate(separable, y)) > 0.95
    assert np.mean(cross_validate(noise, y)) < 0.6


def test_fold_count_follows_smallest_class():
    y = np.array([0] * 10 + [1] * 3)
    x = np.c_[y, y].astype(float)
    assert len(cross_validate(x, y, folds=5)) == 3


def test_raw_pixel_probe_on_colour_classes(gldv2):
    # The fixture's classes differ by colour, which raw pixels see directly.
    split = curate(load_catalog(gldv2))
    data = split.table(paths=True)
    result = run_probe(data, raw_pixels=8, folds=3)
    assert result.features == "raw pixels 8x8" and result.images == 21 and result.classes == 4
    assert result.skipped == 0 and len(result.scores) == 3
    assert result.accuracy > 0.9


def test_holdout_scores_the_validation_split(gldv2):
    catalog = load_catalog(gldv2)
    split = curate(catalog)
    data = split.table(paths=True)
    result = run_probe(data, raw_pixels=8, holdout=True)
    assert result.folds == 0 and len(result.scores) == 1
    assert result.accuracy > 0.9


def test_fold_count_is_what_cross_validation_uses():
    from glr.evaluation.probe import fold_count

    y = np.array([0] * 10 + [1] * 3)
    assert fold_count(y, 5) == 3 and fold_count(y, 2) == 2 and fold_count(np.array([0, 0, 1]), 5) == 2
    assert fold_count(np.array(["a"] * 6 + ["b"] * 6), 5) == 5  # any label type


def test_holdout_leaves_out_the_validation_copies_a_training_run_leaves_out(tmp_path):
    # The probe is the baseline a run must beat: both must be scored on the same validation photos.
    import pandas as pd
    from PIL import Image
    from skimage import data as samples

    rows = []
    for cls, photos in {1: ("astronaut", "coffee", "chelsea"), 2: ("rocket", "retina", "hubble_deep_field")}.items():
        for i, name in enumerate(photos):
            path = tmp_path / f"{cls}-{i}.jpg"
            Image.fromarray(getattr(samples, name)()).convert("RGB").save(path)
            rows.append({"path": str(path), "landmark_id": cls, "split": "train"})
    copy = tmp_path / "copy.jpg"
    Image.open(tmp_path / "1-0.jpg").resize((128, 128)).save(copy, quality=60)  # a resized copy of a training photo
    Image.fromarray(samples.coins()).convert("RGB").save(tmp_path / "new.jpg")
    rows += [{"path": str(copy), "landmark_id": 1, "split": "val"},
             {"path": str(tmp_path / "new.jpg"), "landmark_id": 2, "split": "val"}]
    result = run_probe(pd.DataFrame(rows), raw_pixels=8, holdout=True)
    assert result.copies == 1 and result.scored == 1 and result.images == 7


def _with_undecodable(root, counts, bad):
    """make_gldv2, then `bad[landmark_id]` of that class's photos overwritten with bytes that do not decode."""
    from conftest import image_id, make_gldv2

    make_gldv2(root, counts)
    for landmark_id, n in bad.items():
        for i in range(n):
            iid = image_id(landmark_id, i)
            (root / "train" / iid[0] / iid[1] / iid[2] / f"{iid}.jpg").write_bytes(b"not a jpeg")
    catalog = load_catalog(root)
    return curate(catalog).table(paths=True)


def test_a_class_left_with_one_decodable_photo_is_left_out_not_scored_nan(tmp_path):
    # It put one fold's training photos in a single class: a NaN fold, and "accuracy nan".
    data = _with_undecodable(tmp_path / "d", {1: 6, 2: 6, 3: 3}, {3: 2})
    result = run_probe(data, raw_pixels=8, folds=3)
    assert result.thin == 1 and result.classes == 2 and result.skipped == 2 and result.images == 12
    assert not np.isnan(result.accuracy) and not any(np.isnan(result.scores))
    # Was "left out 2 images that could not be decoded or are blank": no file named, as training names them.
    bad = sorted(p for p in data["path"] if Path(p).read_bytes() == b"not a jpeg")
    examples = ", ".join(f"'{os.path.relpath(p, tmp_path / 'd')}'" for p in bad)
    assert result.notes(tmp_path / "d") == [f"left out 2 images that could not be decoded (e.g. {examples})",
                                            "left out 1 class with fewer than 2 usable images "
                                            "(cross-validation needs one to fit on and one to score)"]


def test_too_few_decodable_photos_to_probe_is_a_clear_error(tmp_path):
    import pytest

    from glr.errors import DatasetError

    # k-fold with every photo undecodable, and k-fold / holdout with one class left: sklearn's ValueError before.
    data = _with_undecodable(tmp_path / "all", {1: 3, 2: 3}, {1: 3, 2: 3})
    with pytest.raises(DatasetError, match="needs 2 classes with usable images to tell apart; 0 usable images in 0 classes"):
        run_probe(data, raw_pixels=8)
    data = _with_undecodable(tmp_path / "one", {1: 6, 2: 3}, {2: 2})
    with pytest.raises(DatasetError, match="1 class "):
        run_probe(data, raw_pixels=8)
    with pytest.raises(DatasetError, match="in the training split"):
        run_probe(data, raw_pixels=8, holdout=True)


def test_the_largest_class_share_is_the_baseline_to_beat(tmp_path):
    # 40 photos of one class and 4 of another: "accuracy 0.909" reads as a good probe, yet always naming the
    # large class scores it too. The result carries that baseline so the score can be read.
    from conftest import make_gldv2

    catalog = load_catalog(make_gldv2(tmp_path / "gld", {1: 40, 2: 4}))
    data = curate(catalog).table(paths=True)
    result = run_probe(data, raw_pixels=4, folds=2)
    assert result.majority == (1, 40 / 44)
    holdout = run_probe(data, raw_pixels=4, holdout=True)
    val = data[data["split"] == "val"]
    assert holdout.majority == (1, (val["landmark_id"] == 1).mean())


def test_a_backbone_giving_nan_features_is_refused_naming_a_photo_as_training_refuses_it(gldv2, monkeypatch):
    # A weights file holding NaN: every feature NaN, and the probe died in sklearn ("Input X contains NaN"), a
    # traceback that did not say the backbone was at fault.
    import keras
    import pytest

    from glr.backbones import registry
    from glr.backbones.finite import NonFiniteFeatures

    def damaged(name, weights=None, input_size=None):
        inputs = keras.Input((None, None, 3))
        conv = keras.layers.Conv2D(4, 3)
        model = keras.Model(inputs, keras.layers.GlobalAveragePooling2D()(conv(inputs)))
        conv.kernel.assign(np.full(conv.kernel.shape, np.nan, np.float32))
        return model

    monkeypatch.setattr(registry, "build_backbone", damaged)
    catalog = load_catalog(gldv2)
    data = curate(catalog).table(paths=True)
    with pytest.raises(NonFiniteFeatures, match=r"features that are not numbers \(NaN or inf\) for 21 of 21 photos "
                                                r"\(e\.g\. '.*'\).*weights file holding NaN"):
        run_probe(data, backbone="mobilenet_v3_small", folds=3)

"""glr.retrieval.flip: flip-averaged embeddings in the index, the evaluation and the predictor; old runs keep one view."""

import json
import shutil

import numpy as np
import pandas as pd
import pytest

from glr.errors import GlrError
from glr.evaluation import finish
from glr.predict import Predictor, eval_view
from glr.retrieval import flip, run_index
from glr.retrieval.index import EmbeddingIndex
from glr.retrieval.regional import embed_for_index
from glr.training.model import split_classifier


@pytest.fixture(scope="module")
def predictor(finished_run):
    return Predictor(finished_run.path)


def _tiny_backbone():
    """A conv layer and average pooling: its features change when the image is mirrored."""
    import keras

    inp = keras.Input((56, 56, 3))
    x = keras.layers.Conv2D(8, 3, kernel_initializer=keras.initializers.RandomNormal(seed=1))(inp)
    return keras.Model(inp, keras.layers.GlobalAveragePooling2D()(x), name="tiny")


def test_run_embedding_reads_the_record_and_old_indexes_have_one_view():
    assert flip.run_embedding({"embedding": "flip"}) == "flip"
    assert flip.run_embedding({"known_score": "head+top"}) == "single"  # built before the record
    assert flip.run_embedding(None) == "single"
    with pytest.raises(GlrError, match="--rebuild"):
        flip.run_embedding({"embedding": "rot90"})


def test_mirror_views_are_the_mirrored_photos_and_are_cached(tmp_path):
    from PIL import Image

    from glr.backbones.feature_cache import FeatureCache

    from glr.backbones.features import extract_features

    rng, paths, mirrors = np.random.default_rng(0), [], []
    for i in range(4):  # photos brighter on the left than on the right, and their mirror images
        pixels = np.clip(rng.normal(size=(64, 64, 3)) * 30 + np.linspace(250, 0, 64)[None, :, None], 0, 255).astype(np.uint8)
        paths.append(str(tmp_path / f"p{i}.png"))
        mirrors.append(str(tmp_path / f"m{i}.png"))
        Image.fromarray(pixels).save(paths[-1])
        Image.fromarray(pixels[:, ::-1]).save(mirrors[-1])
    backbone, cache, calls = _tiny_backbone(), FeatureCache(tmp_path / "cache", "tiny"), []

    def get():
        calls.append(1)
        return backbone

    # 56 px out of 64: the centre crop has equal margins, so it commutes with the mirror.
    common = dict(input_size=56, preprocess=None, batch_size=4)
    centre, mirror, ok = flip.embed_views(get, paths, cache, flip=True, **common)
    assert ok.all() and centre.shape == mirror.shape == (4, 8)
    # The mirror view is the backbone's features of the mirrored photo (decoded and cropped alike).
    expected = extract_features(backbone, mirrors, **common)[0]
    np.testing.assert_allclose(mirror, expected, rtol=1e-4, atol=1e-3)
    assert np.linalg.norm(mirror - expected) < 0.2 * np.linalg.norm(centre - expected)  # not the centre view again
    embedded = embed_for_index("flip", lambda: pytest.fail("recomputed"), paths, cache, **common)
    np.testing.assert_allclose(embedded.search, (centre + mirror) / 2, atol=1e-6)  # both views came from the cache
    np.testing.assert_allclose(embedded.head, embedded.search)
    assert list((tmp_path / "cache" / "tiny").glob(f"{flip.MIRROR_VIEW}*/*/*.npy")) and calls


def test_a_new_run_is_flip_averaged(finished_run, predictor):
    retrieval = run_index.load_retrieval(finished_run.path)
    # Indexed by regions (glr.retrieval.regional): at 32 px Lite0's map is one cell, its only region the whole map.
    assert retrieval["embedding"] == "rmac" and predictor.embedding == "rmac"
    assert 0 <= retrieval["head_top1_single_view"] <= 1
    # The index holds the mean of each training photo's view and mirror view: what the predictor computes.
    index = EmbeddingIndex.load(finished_run.index_dir)
    view = eval_view(index.items["path"].iloc[0], predictor.input_size)[None].astype(np.float32)
    _, feats = predictor.forward(view)
    _, centre = Predictor(finished_run.path, backend="tf", embedding="single").forward(view)
    unit = lambda v: v / np.linalg.norm(v)  # noqa: E731
    assert unit(feats[0]) @ index.vectors[0] == pytest.approx(1.0, abs=2e-3)
    assert unit(centre[0]) @ index.vectors[0] < unit(feats[0]) @ index.vectors[0]


@pytest.mark.parametrize("backend", ["tf", "auto"])
def test_a_photo_and_its_mirror_get_the_same_embedding_and_verdict(finished_run, backend):
    predictor = Predictor(finished_run.path, backend=backend)
    index = EmbeddingIndex.load(finished_run.index_dir)
    views = np.stack([eval_view(p, predictor.input_size) for p in index.items["path"].iloc[:3]]).astype(np.float32)
    mirrored = views[:, :, ::-1]
    probs, feats = predictor.forward(views)
    probs_m, feats_m = predictor.forward(mirrored)
    np.testing.assert_allclose(feats_m, feats, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(probs_m, probs, atol=1e-5)
    # The unknown verdict sees the same score for both (the recogniser takes the flip-averaged embedding).
    a = predictor.recognizer.recognize(feats, probs)
    b = predictor.recognizer.recognize(feats_m, probs_m)
    np.testing.assert_allclose(a["known"], b["known"], atol=1e-5)
    assert (a["unknown"] == b["unknown"]).all()
    # One view alone is not mirror-blind: the test above could fail.
    one_view = Predictor(finished_run.path, backend="tf", embedding="single")
    _, single = one_view.forward(views)
    _, single_m = one_view.forward(mirrored)
    assert np.abs(single - single_m).max() > 1e-3


def test_an_old_single_view_run_predicts_as_before_and_rebuild_upgrades_it(finished_run, predictor, tmp_path):
    copy = tmp_path / "run"
    shutil.copytree(finished_run.path, copy)
    # An old run: its index and calibration of one view, and no record of the embedding.
    finish.rebuild_index(copy, embedding="single")
    path = copy / finished_run.retrieval_path.name
    stored = json.loads(path.read_text())
    assert stored.pop("embedding") == "single" and "head_top1_single_view" not in stored
    path.write_text(json.dumps(stored))
    old = Predictor(copy, backend="tf")
    assert old.embedding == "single"
    # Its queries are embedded as its index was: validation photos score as the index's evaluation did.
    val = pd.read_csv(copy / "split.csv", dtype={"id": str}).query("split == 'val'")
    paths = [p for p in pd.read_csv(copy / "val_predictions.csv", dtype={"id": str})["path"]]
    assert len(paths) == len(val)
    before = [p.known_score for p in old.predict(paths, k=1)]
    np.testing.assert_allclose(before, pd.read_csv(copy / "val_retrieval.csv")["known_score"], atol=2e-3)
    # ... and with the head on one view, as before flips.
    backbone, head = split_classifier(old.model)
    view = eval_view(paths[0], old.input_size)[None].astype(np.float32)
    probs, feats = old.forward(view)
    np.testing.assert_allclose(probs, head(feats).numpy(), atol=1e-5)
    np.testing.assert_allclose(feats, backbone(old.spec.preprocess(view)).numpy(), rtol=1e-4, atol=1e-5)
    # `python -m glr retrieval RUN --rebuild` upgrades it to regions of flips; a new predictor follows the index.
    after = finish.rebuild_index(copy)
    upgraded = Predictor(copy)  # the module's predictor's ONNX file serves the same model file: nothing loaded
    assert after["embedding"] == "rmac" and upgraded.embedding == "rmac"
    scores = [p.known_score for p in upgraded.predict(paths, k=1)]
    np.testing.assert_allclose(scores, pd.read_csv(copy / "val_retrieval.csv")["known_score"], atol=2e-3)

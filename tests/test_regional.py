"""glr.retrieval.regional: R-MAC vectors of flip-averaged map windows, in the index, the evaluation and the predictor."""

import numpy as np
import pytest

from glr.backbones.features import windows
from glr.retrieval import regional
from glr.retrieval.index import EmbeddingIndex, normalize

from conftest import tiny_config


def pooled_windows(fmap: np.ndarray) -> np.ndarray:
    """(N, W, D) means of `windows(n)` over a (N, n, n, D) map, in their order: what window_features returns for one image."""
    return np.stack([fmap[:, r:r + s, c:c + s].mean(axis=(1, 2)) for s, r, c in windows(fmap.shape[1])], axis=1)


def test_mirror_windows_line_up_with_the_centre_windows_as_the_map_flipped_back():
    rng = np.random.default_rng(0)
    # Sparse, as a ReLU network's last map is: few strong cells, so where a region lies matters.
    centre, mirror = rng.random((2, 7, 7, 16), np.float32) ** 8, rng.random((2, 7, 7, 16), np.float32) ** 8
    # The index's vectors come from the cached windows of both images' maps; the predictor's from
    # the mean of the centre's map and the mirror's flipped back. They must be the same vectors.
    from_windows = regional.rmac_from_windows(np.concatenate([pooled_windows(centre), pooled_windows(mirror)], 1))
    from_map = regional.rmac_from_map((centre + mirror[:, :, ::-1]) / 2).numpy()
    np.testing.assert_allclose(from_windows, from_map, atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(from_windows, axis=1), 1, atol=1e-5)
    # Without the mirror's windows put in order the vectors differ: the check above can fail.
    unaligned = np.concatenate([pooled_windows(centre), pooled_windows(mirror[:, :, ::-1])], 1)
    assert np.abs(regional.rmac_from_windows(unaligned) - from_map).max() > 1e-3
    # A mirrored photo (its maps swapped and flipped) gets the same vector.
    swapped = np.concatenate([pooled_windows(mirror), pooled_windows(centre)], 1)
    np.testing.assert_allclose(regional.rmac_from_windows(swapped), from_windows, atol=1e-5)


def test_regions_are_not_the_whole_map_but_a_one_cell_map_has_only_that():
    rng = np.random.default_rng(1)
    fmap = rng.random((3, 7, 7, 8), np.float32)
    fmap[:, :3, :3] *= 5  # a strong corner: it counts more in the regions than in the whole map
    whole = normalize(fmap.mean(axis=(1, 2)))
    rmac = regional.rmac_from_map(fmap).numpy()
    assert (np.sum(rmac * whole, axis=1) < 0.9999).all()
    one_cell = fmap[:, :1, :1]
    np.testing.assert_allclose(regional.rmac_from_map(one_cell).numpy(), normalize(one_cell[:, 0, 0]), atol=1e-6)
    assert regional.mirror_order(1).tolist() == [0] and len(regional.mirror_order(14)) == 14
    with pytest.raises(ValueError):
        regional.mirror_order(6)


def test_the_kind_is_regional_unless_the_regions_would_cost_a_pass_of_their_own(monkeypatch):
    import keras

    from glr.training import head_data

    inp = keras.Input((32, 32, 3))
    conv = keras.layers.Conv2D(4, 3)(inp)
    pooled = keras.Model(inp, keras.layers.GlobalAveragePooling2D()(conv))
    flat = keras.Model(inp, keras.layers.Flatten()(conv))  # no map to take regions of
    assert regional.index_kind(pooled, 1000, fine_tuned=False) == "rmac"
    assert regional.index_kind(flat, 1000, fine_tuned=False) == "flip"
    # Over phase 1's budget the cache holds the whole maps alone: regions would need a second extraction.
    monkeypatch.setattr(head_data, "table_budget", lambda: 4 * 1000 * 2 * 2)
    assert regional.index_kind(pooled, 1000, fine_tuned=False) == "flip"
    assert regional.index_kind(pooled, 1000, fine_tuned=True) == "rmac"  # its photos are embedded again anyway
    monkeypatch.undo()
    # Trained on image views (`--augment-space images`): the cache has no windows either.
    assert regional.index_kind(pooled, 1000, fine_tuned=False, cached_windows=False) == "flip"


@pytest.fixture(scope="module")
def onnx_predictor(regional_run):
    """The regional run's Predictor on ONNX Runtime, converted once for the module (a conversion takes seconds)."""
    from glr.predict import Predictor

    return Predictor(regional_run.path, backend="onnx")


def test_a_regional_run_is_indexed_by_regions_its_head_sees_flips_and_its_photos_find_themselves(regional_run,
                                                                                                  onnx_predictor):
    from glr.predict import Predictor, eval_view
    from glr.retrieval.run_index import load_retrieval

    assert load_retrieval(regional_run)["embedding"] == "rmac"
    index = EmbeddingIndex.load(regional_run.index_dir)
    views = np.stack([eval_view(p, 96) for p in index.items["path"].iloc[:4]]).astype(np.float32)
    tf_pred, flip = Predictor(regional_run.path, backend="tf"), Predictor(regional_run.path, backend="tf", embedding="flip")
    probs, rmac = tf_pred.forward(views)
    flip_probs, whole = flip.forward(views)
    assert tf_pred.embedding == "rmac"
    np.testing.assert_allclose(probs, flip_probs, atol=1e-5)  # the head classifies the flip-averaged whole map
    np.testing.assert_allclose(np.linalg.norm(rmac, axis=1), 1, atol=1e-5)
    assert (np.sum(rmac * normalize(whole), axis=1) < 0.9999).all()  # regions, not the whole map again
    # Each training photo finds itself: the predictor computes what the index holds (from cached windows).
    np.testing.assert_allclose(np.sum(rmac * index.vectors[:4], axis=1), 1, atol=2e-3)
    # ONNX Runtime (a file of its own) agrees, and a mirrored photo gets the same vector.
    assert onnx_predictor.backend == "onnx" and onnx_predictor._onnx_file().name.endswith("-rmac.onnx")
    onnx_probs, onnx_rmac = onnx_predictor.forward(views[:, :, ::-1])
    np.testing.assert_allclose(onnx_rmac, rmac, atol=1e-4)
    np.testing.assert_allclose(onnx_probs, probs, atol=1e-4)


def test_a_regional_run_scores_its_validation_photos_as_its_evaluation_did(regional_run, onnx_predictor):
    import pandas as pd

    paths = val_paths(regional_run)
    scores = [p.known_score for p in onnx_predictor.predict(paths, k=1)]  # the default backend's
    np.testing.assert_allclose(scores, pd.read_csv(regional_run.path / "val_retrieval.csv")["known_score"], atol=2e-3)


def test_the_training_cached_every_window_the_index_needs(regional_run):
    from glr.retrieval.regional import embed_for_index

    settings, split = regional_run.settings(), regional_run.split()
    index = EmbeddingIndex.load(regional_run.index_dir)
    paths = dict(zip(index.items["id"], index.items["path"]))
    val = val_paths(regional_run)
    embedded = embed_for_index("rmac", lambda: pytest.fail("a backbone pass"), [*paths.values(), *val],
                               settings.feature_cache(), input_size=96, preprocess=settings.spec.preprocess,
                               batch_size=8)
    assert embedded.ok.all() and len(split) == len(paths) + len(val)
    np.testing.assert_allclose(np.sum(embedded.search[:len(paths)] * index.vectors, axis=1), 1, atol=2e-3)


def val_paths(run) -> list[str]:
    """The run's validation photos' paths, in its evaluation's order."""
    import pandas as pd

    return pd.read_csv(run.path / "val_predictions.csv", dtype={"id": str})["path"].tolist()


def test_a_run_indexed_before_regions_keeps_its_flips_until_rebuilt(regional_run, onnx_predictor, tmp_path):
    import shutil

    import pandas as pd

    from glr.evaluation import finish
    from glr.predict import Predictor

    copy = tmp_path / "run"
    shutil.copytree(regional_run.path, copy)
    assert finish.rebuild_index(copy, embedding="flip")["embedding"] == "flip"  # as runs were indexed before
    paths = val_paths(regional_run)
    old = Predictor(copy, backend="tf")
    assert old.embedding == "flip"
    # Its queries are embedded as its index was: the validation photos score as its evaluation did.
    scores = [p.known_score for p in old.predict(paths, k=1)]
    np.testing.assert_allclose(scores, pd.read_csv(copy / "val_retrieval.csv")["known_score"], atol=2e-3)
    regional_scores = pd.read_csv(regional_run.path / "val_retrieval.csv")["known_score"].to_numpy()
    assert np.abs(np.asarray(scores) - regional_scores).max() > 2e-3  # the two kinds do score apart
    # The module's ONNX file serves the copy's model file (the same bytes): nothing converted or loaded.
    assert finish.rebuild_index(copy)["embedding"] == "rmac" and Predictor(copy).embedding == "rmac"

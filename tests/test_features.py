"""glr.backbones.features: compiled forward pass over files, order kept, bad files masked; raw-pixel baseline."""

import numpy as np
import pytest

from conftest import write_image
from glr.backbones.features import extract_features, raw_pixel_features


def photos(folder, n: int, size: int = 48, bad_at: int | None = None) -> list[str]:
    """Paths of n small JPEGs in `folder` (seeds 0..n-1), with a file that is not an image inserted at `bad_at`."""
    paths = []
    for i in range(n):
        write_image(folder / f"{i}.jpg", seed=i, size=size)
        paths.append(str(folder / f"{i}.jpg"))
    if bad_at is not None:
        (folder / "bad.jpg").write_text("nope")
        paths.insert(bad_at, str(folder / "bad.jpg"))
    return paths


def tiny_model():
    import keras

    inputs = keras.Input((16, 16, 3))
    outputs = keras.layers.GlobalAveragePooling2D()(inputs)
    return keras.Model(inputs, outputs)


def test_features_in_order_with_mask(tmp_path):
    paths = photos(tmp_path, 5, bad_at=2)
    done = []
    feats, ok = extract_features(tiny_model(), paths, input_size=16, preprocess=None, batch_size=4, progress=done.append)
    assert feats.shape == (6, 3) and ok.tolist() == [True, True, False, True, True, True]
    assert sum(done) == 6
    # Mean colour per image: matches a direct decode of the same centre crop (within JPEG/resize error).
    from glr.data.images import load_resized

    direct = load_resized(paths[0], 18)[1:17, 1:17].reshape(-1, 3).mean(0)
    np.testing.assert_allclose(feats[0], direct, atol=2.0)


def test_raw_pixels(tmp_path):
    paths = photos(tmp_path, 3)
    feats, ok = raw_pixel_features(paths, size=8)
    assert feats.shape == (3, 8 * 8 * 3) and ok.all()
    assert 0.0 <= feats.min() and feats.max() <= 1.0


def test_feature_cache_reuses_by_content(tmp_path):
    from glr.backbones.feature_cache import FeatureCache, cached_features
    from glr.backbones.features import content_digest

    paths = photos(tmp_path, 3)
    copy = tmp_path / "copy.jpg"
    copy.write_bytes((tmp_path / "0.jpg").read_bytes())  # same content, other path
    cache = FeatureCache(tmp_path / "cache", "tiny-16-test")
    built = []

    def get_model():
        built.append(1)
        return tiny_model()

    digests = [content_digest(p) for p in paths]
    first, ok, computed = cached_features(get_model, paths, digests, 1, cache, input_size=16, preprocess=None)
    assert computed == 3 and ok.all() and built == [1]
    again, ok, computed = cached_features(get_model, paths, digests, 1, cache, input_size=16, preprocess=None)
    assert computed == 0 and built == [1]  # nothing computed, the model never built again
    np.testing.assert_array_equal(first, again)
    moved, _, computed = cached_features(get_model, [str(copy)], [content_digest(str(copy))], 1, cache,
                                         input_size=16, preprocess=None)
    assert computed == 0
    np.testing.assert_array_equal(moved[0], first[0])
    _, _, computed = cached_features(get_model, paths, digests, 2, cache, input_size=16, preprocess=None)
    assert computed == 3  # another view is another cache entry


def map_then_pool():
    """A 16 px 'backbone' with a 4x4 spatial map (4x4 average pools), ending in global average pooling."""
    import keras

    inputs = keras.Input((16, 16, 3))
    fmap = keras.layers.AveragePooling2D(4)(inputs)
    return keras.Model(inputs, keras.layers.GlobalAveragePooling2D()(fmap))


def test_windows_put_the_whole_map_first():
    from glr.backbones.features import WINDOW_SHRINK, windows

    boxes = windows(7)
    assert boxes[0] == (7, 0, 0)
    assert {(6, 0, 0), (6, 0, 1), (6, 1, 0), (6, 1, 1), (5, 2, 2)} <= set(boxes)
    assert len(boxes) == len(set(boxes)) == 1 + sum((7 - s + 1) ** 2 for s in range(6, 6 - WINDOW_SHRINK, -1))
    assert windows(1) == [(1, 0, 0)]  # a 1x1 map (a tiny input) has no smaller window


def test_window_features_are_pooled_map_windows_of_the_centre_crop_and_its_mirror(tmp_path):
    from glr.backbones.features import spatial_model, window_features, windows
    from glr.data.images import load_resized

    paths = photos(tmp_path, 3, size=30, bad_at=3)
    map_model = spatial_model(map_then_pool())
    feats, ok = window_features(map_model, paths, input_size=16, preprocess=None, batch_size=4)
    boxes = windows(4)
    w = len(boxes)
    assert w == 1 + 4 + 9  # the whole 4x4 map, its 3x3 and its 2x2 windows
    assert feats.shape == (4, 2 * w, 3) and ok.tolist() == [True, True, True, False]
    crop = load_resized(paths[0], 18)[1:17, 1:17]  # the centre crop of the 18 px load size
    # Window 0 pools the whole map: the centre crop's mean colour, as the pooled backbone gives it.
    np.testing.assert_allclose(feats[0, 0], crop.reshape(-1, 3).mean(0), atol=1e-3)
    np.testing.assert_allclose(feats[:3, 0], extract_features(map_then_pool(), paths[:3], input_size=16,
                                                              preprocess=None)[0], atol=1e-3)
    # A 3x3 window of the 4x4 map is the mean of a 12 px crop of the centre crop.
    top_left, top_right = boxes.index((3, 0, 0)), boxes.index((3, 0, 1))
    np.testing.assert_allclose(feats[0, top_left], crop[:12, :12].reshape(-1, 3).mean(0), atol=1e-3)
    # Windows w.. are the mirror image's: its whole map pools as the photo's, its top left is the photo's top right.
    np.testing.assert_allclose(feats[:3, w], feats[:3, 0], atol=1e-3)
    np.testing.assert_allclose(feats[:3, w + top_left], feats[:3, top_right], atol=1e-3)
    assert not np.allclose(feats[:3, top_left], feats[:3, top_right], atol=1e-2)


def test_cached_window_features_store_the_centre_and_mirror_views(tmp_path):
    from glr.backbones.feature_cache import MIRROR_VIEW, FeatureCache, cached_views, cached_window_features
    from glr.backbones.features import content_digest, spatial_model

    paths = photos(tmp_path, 3, size=30)
    digests = [content_digest(p) for p in paths]
    cache = FeatureCache(tmp_path / "cache", "map-16-test")
    feats, ok, computed = cached_window_features(lambda: spatial_model(map_then_pool()), paths, digests, cache,
                                                 input_size=16, preprocess=None)
    assert computed == 6 and ok.all()  # two backbone inputs per photo: the centre crop and its mirror
    again, _, computed = cached_window_features(lambda: 1 / 0, paths, digests, cache, input_size=16, preprocess=None)
    assert computed == 0
    np.testing.assert_array_equal(again, feats)
    # The evaluation and the index ask for views 0 and MIRROR_VIEW: the whole maps, already there.
    (centre, mirror), _, computed = cached_views(lambda: 1 / 0, paths, digests, [0, MIRROR_VIEW], cache,
                                                 input_size=16, preprocess=None)
    assert computed == 0
    # The windows are kept in float16 (phase 1 holds 28 per photo), the two views in float32.
    assert feats.dtype == np.float16 and centre.dtype == np.float32
    np.testing.assert_allclose(centre, feats[:, 0], rtol=1e-3)
    np.testing.assert_allclose(mirror, feats[:, feats.shape[1] // 2], rtol=1e-3)


def test_spatial_model_needs_global_pooling():
    import keras

    from glr.backbones.features import spatial_model

    inputs = keras.Input((8, 8, 3))
    flat = keras.Model(inputs, keras.layers.Flatten()(inputs))
    assert spatial_model(flat) is None
    assert spatial_model(map_then_pool()).output.shape[1:] == (4, 4, 3)


def conv_model():
    """A small conv net with real weights (depthwise, BatchNorm, ReLU6, pooling), like the backbones."""
    import keras

    keras.utils.set_random_seed(3)
    inputs = keras.Input((16, 16, 3))
    x = keras.layers.Conv2D(8, 3, strides=2, padding="same")(inputs)
    x = keras.layers.BatchNormalization()(x)
    x = keras.layers.ReLU(6.0)(x)
    x = keras.layers.DepthwiseConv2D(3, padding="same")(x)
    return keras.Model(inputs, keras.layers.GlobalAveragePooling2D()(x), name="conv_model")


@pytest.fixture
def extractors(tmp_path, monkeypatch):
    """The extractor folder of an empty private cache, with no ONNX Runtime session left open by another test."""
    pytest.importorskip("onnxruntime")
    from glr.backbones import onnx_features

    monkeypatch.setenv("GLR_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(onnx_features, "_SESSIONS", {})
    return tmp_path / "cache" / onnx_features.EXTRACTORS_SUBDIR


def test_onnx_engine_matches_tensorflow_and_is_exported_once(tmp_path, monkeypatch, extractors):
    pytest.importorskip("tf2onnx")
    from glr.backbones import onnx_backend, onnx_features

    paths = photos(tmp_path, 5, size=24)
    model = conv_model()
    tf_feats, tf_ok = extract_features(model, paths, input_size=16, preprocess=None, batch_size=2, engine="tf")
    onnx_feats, onnx_ok = extract_features(model, paths, input_size=16, preprocess=None, batch_size=2, engine="onnx")
    assert list(extractors.glob("*.onnx"))  # it really ran on ONNX
    np.testing.assert_allclose(onnx_feats, tf_feats, atol=1e-4)
    assert onnx_ok.tolist() == tf_ok.tolist() == [True] * 5
    # Exported once: another session (a new process, or a model with the same weights) reuses the file.
    onnx_features._SESSIONS.clear()  # as in a new process
    monkeypatch.setattr(onnx_backend, "export", lambda *a, **k: pytest.fail("exported twice"))
    again, _ = extract_features(model, paths, input_size=16, preprocess=None, engine="onnx")
    np.testing.assert_array_equal(again, onnx_feats)
    # Other weights are another extractor (here: not exported, so TensorFlow runs it).
    other = conv_model()
    other.set_weights([w + 0.5 for w in other.get_weights()])
    assert onnx_features.model_key(other, 16) != onnx_features.model_key(model, 16)


def test_onnx_window_extractor_matches_tensorflow_and_the_sliced_windows(tmp_path, extractors):
    pytest.importorskip("tf2onnx")
    from glr.backbones.features import spatial_model, window_features, windows

    paths = photos(tmp_path, 3, size=24)
    model = conv_model()
    map_model = spatial_model(model)
    tf_feats, _ = window_features(map_model, paths, input_size=16, preprocess=None, engine="tf")
    onnx_feats, ok = window_features(map_model, paths, input_size=16, preprocess=None, engine="onnx")
    assert list(extractors.glob("*.onnx")) and ok.all()
    np.testing.assert_allclose(onnx_feats, tf_feats, atol=1e-4)
    # The extractor's stride-1 pools are the windows `windows` names, in its order, sliced out of the map.
    from glr.data.pipeline import make_dataset

    images = next(iter(make_dataset(paths, input_size=16, batch_size=8)))
    fmap = map_model(images, training=False).numpy()
    boxes = windows(fmap.shape[1])
    sliced = np.stack([fmap[:, i:i + k, j:j + k].mean(axis=(1, 2)) for k, i, j in boxes], axis=1)
    np.testing.assert_allclose(onnx_feats[:, :len(boxes)], sliced, atol=1e-4)
    # Window 0 is the pooled backbone's feature of the centre crop.
    np.testing.assert_allclose(onnx_feats[:, 0], extract_features(model, paths, input_size=16, preprocess=None,
                                                                  engine="tf")[0], atol=1e-4)


def test_failed_export_falls_back_to_tensorflow(tmp_path, monkeypatch, extractors):
    from glr.backbones import onnx_backend

    write_image(tmp_path / "a.jpg", seed=1)

    def broken(*args, **kwargs):
        raise RuntimeError("unsupported op")

    monkeypatch.setattr(onnx_backend, "export", broken)
    model = conv_model()
    feats, ok = extract_features(model, [str(tmp_path / "a.jpg")], input_size=16, preprocess=None, engine="onnx")
    expected, _ = extract_features(model, [str(tmp_path / "a.jpg")], input_size=16, preprocess=None, engine="tf")
    np.testing.assert_array_equal(feats, expected)
    assert ok.all()
    with pytest.raises(ValueError, match="unknown feature engine"):
        extract_features(model, [str(tmp_path / "a.jpg")], input_size=16, preprocess=None, engine="gpu")


def test_damaged_cache_entry_is_computed_again(tmp_path):
    from glr.backbones.feature_cache import FeatureCache, cached_features
    from glr.backbones.features import content_digest

    write_image(tmp_path / "a.jpg", seed=4)
    paths = [str(tmp_path / "a.jpg")]
    digests = [content_digest(paths[0])]
    cache = FeatureCache(tmp_path / "cache", "tiny-16-test")
    first, _, computed = cached_features(tiny_model, paths, digests, 0, cache, input_size=16, preprocess=None)
    entry = cache._path(digests[0], 0)
    assert computed == 1 and entry.is_file() and not list(entry.parent.glob(".*.tmp"))  # no temp file left
    entry.write_bytes(entry.read_bytes()[:40])  # cut short, as a crash could leave it
    again, ok, computed = cached_features(tiny_model, paths, digests, 0, cache, input_size=16, preprocess=None)
    assert computed == 1 and ok.all()
    np.testing.assert_allclose(again, first)


def test_gem_pool_matches_the_reference_and_averages_at_p1():
    import tensorflow as tf

    from glr.backbones.features import gem_pool
    from glr.retrieval.embeddings import gem_numpy

    fmap = np.random.default_rng(0).uniform(0, 6, (2, 3, 3, 4)).astype(np.float32)
    assert np.allclose(gem_pool(tf.constant(fmap), 3.0).numpy(), gem_numpy(fmap, 3.0), rtol=1e-4)
    assert np.allclose(gem_pool(tf.constant(fmap), 1.0).numpy(), fmap.mean(axis=(1, 2)), rtol=1e-4)
    assert (gem_pool(tf.constant(fmap), 3.0).numpy() > fmap.mean(axis=(1, 2))).all()  # weighs strong cells more


def test_pooled_features_of_a_photo_and_its_mirror_swap(tmp_path):
    """Flip TTA is symmetric: the mirror photo's views are the photo's views swapped."""
    import keras
    from PIL import Image

    from glr.backbones.features import pooled_features
    from glr.retrieval.embeddings import view_embeddings

    inputs = keras.Input((16, 16, 3))
    conv = keras.layers.Conv2D(2, (1, 3), use_bias=False, activation="relu")
    model = keras.Model(inputs, conv(inputs))  # horizontal gradients: not mirror-invariant
    conv.set_weights([np.array([[[[1, -1], [0, 0], [0, 0]], [[0, 0]] * 3, [[-1, 1], [0, 0], [0, 0]]]], np.float32)])
    ramp = np.linspace(0, 200, 18)[None, :, None] * np.r_[1, 0, 0]  # red grows to the right
    pixels = (ramp + np.random.default_rng(1).integers(0, 40, (18, 18, 3))).astype(np.uint8)
    Image.fromarray(pixels).save(tmp_path / "a.png")
    Image.fromarray(pixels[:, ::-1]).save(tmp_path / "b.png")
    views, ok = pooled_features(model, [str(tmp_path / "a.png"), str(tmp_path / "b.png")], input_size=16,
                                preprocess=None, engine="tf")
    assert views.shape == (2, 4, 2) and ok.all()
    assert np.allclose(views[1], views[0][[2, 3, 0, 1]], rtol=1e-4, atol=1e-3)
    assert not np.allclose(views[0][0], views[0][2], rtol=1e-2)  # the mirror really differs
    assert np.allclose(view_embeddings(views[:1], "gem", True), view_embeddings(views[1:], "gem", True), rtol=1e-4, atol=1e-3)


def quadrant_model():
    """Mean colour of each 8x8 quadrant: it tells crops and flips apart."""
    import keras

    inputs = keras.Input((16, 16, 3))
    return keras.Model(inputs, keras.layers.Flatten()(keras.layers.AveragePooling2D(8)(inputs)))


def test_all_views_from_one_decode_equal_the_views_made_one_by_one(tmp_path):
    from glr.backbones.feature_cache import MIRROR_VIEW, FeatureCache, cached_features, cached_views
    from glr.backbones.features import content_digest

    paths = photos(tmp_path, 5, size=40, bad_at=1)
    digests = [content_digest(p) for p in paths]
    model = quadrant_model()
    views = [0, MIRROR_VIEW, 1, 2]
    together = FeatureCache(tmp_path / "together", "tiny-16-test")
    done = []
    feats, ok, computed = cached_views(lambda: model, paths, digests, views, together, input_size=16,
                                       preprocess=None, batch_size=4, progress=done.append)
    assert ok.tolist() == [True, False, True, True, True, True] and computed == 6 * 4 and sum(done) == 6 * 4
    for view, got in zip(views, feats):
        alone, alone_ok, _ = cached_features(lambda: model, paths, digests, view, None, input_size=16, preprocess=None)
        np.testing.assert_allclose(got[alone_ok], alone[alone_ok], atol=1e-5)
        # Stored under each view's own name: the one-by-one path reads them and computes nothing.
        cached, _, n = cached_features(lambda: model, paths, digests, view, together, input_size=16, preprocess=None)
        assert n == 1  # only the bad file, which is never cached
        np.testing.assert_array_equal(cached[ok], got[ok])
    assert not np.allclose(feats[1][ok], feats[2][ok])  # the views really differ
    # The quadrant model sees the mirror image's quadrants swapped left to right.
    np.testing.assert_allclose(feats[1][ok].reshape(-1, 2, 2, 3)[:, :, ::-1], feats[0][ok].reshape(-1, 2, 2, 3), atol=1e-5)
    _, _, computed = cached_views(lambda: (_ for _ in ()).throw(AssertionError("built")), paths[2:], digests[2:],
                                  views, together, input_size=16, preprocess=None)
    assert computed == 0  # all cached: the model is never built


def test_a_models_forward_passes_are_traced_once_across_calls_and_freed_with_it(tmp_path):
    import gc
    import weakref

    import keras

    from glr.backbones import features

    inputs = keras.Input((16, 16, 3))
    backbone = keras.Model(inputs, keras.layers.GlobalAveragePooling2D()(keras.layers.Conv2D(4, 3)(inputs)))
    map_model = features.spatial_model(backbone)
    assert features.spatial_model(backbone) is map_model  # one map model per backbone
    paths = photos(tmp_path, 5, size=24)
    for n in (5, 3, 2, 4):  # the sets of a run: validation, training, distractors, the index
        features.window_features(map_model, paths[:n], input_size=16, preprocess=None, batch_size=2, engine="tf")
        features.extract_features(backbone, paths[:n], input_size=16, preprocess=None, batch_size=2, engine="tf")
    kept = vars(map_model)[features.KEPT]["windows"], vars(backbone)[features.KEPT]["forward"]
    # A new tf.function per call traced the backbone again each time (and TensorFlow warned of retracing).
    assert all(1 <= f.experimental_get_tracing_count() <= 2 for f in kept)  # a full batch, then any batch size
    backbone_ref, map_ref = weakref.ref(backbone), weakref.ref(map_model)
    del backbone, map_model, kept
    gc.collect()
    assert backbone_ref() is None and map_ref() is None  # what is kept on a model does not keep it alive


def test_photos_that_do_not_decode_never_go_through_the_backbone(tmp_path, monkeypatch):
    # A photo that does not decode is left out by every caller, yet its black stand-in went through the
    # backbone: a dataset of 30% broken files paid 30% more backbone passes for nothing.
    from glr.backbones import features

    seen = []
    engine = features._engine

    def counting(*args, **kwargs):
        run = engine(*args, **kwargs)
        return lambda images: (seen.append(len(images)), run(images))[1]

    monkeypatch.setattr(features, "_engine", counting)
    good = photos(tmp_path / "good", 6)
    paths = good[:3] + [str(tmp_path / f"bad{i}.jpg") for i in range(5)] + good[3:]  # one batch of 4 all broken
    for p in paths[3:8]:
        (tmp_path / p).write_text("<html>not a photo</html>")
    model = tiny_model()
    feats, ok = extract_features(model, paths, input_size=16, preprocess=None, batch_size=4, engine="tf")
    assert ok.tolist() == [True] * 3 + [False] * 5 + [True] * 3 and sum(seen) == 6  # was 11
    assert feats.shape == (11, 3) and not feats[~ok].any()
    alone, _ = extract_features(model, good, input_size=16, preprocess=None, batch_size=4, engine="tf")
    np.testing.assert_allclose(feats[ok], alone, rtol=1e-6)  # the photos that decode: the same features
    seen.clear()
    feats, ok = extract_features(model, paths[3:8], input_size=16, preprocess=None, batch_size=4, engine="tf")
    assert feats.shape == (5, 3) and not ok.any() and seen == [1]  # one stand-in image gives the shape


def test_batches_run_side_by_side_in_order_and_no_more_than_the_forward_allows(tmp_path):
    # An extractor of several sessions (glr.backbones.onnx_features.ExtractorSessions) runs that many batches at
    # once: the features still come out in the photos' order, the failed photos still skipped, and no more
    # batches are held than the sessions can take.
    import threading
    import time

    from glr.backbones import features
    from glr.data.pipeline import make_dataset

    good = photos(tmp_path / "good", 7)
    bad = str(tmp_path / "bad.jpg")
    (tmp_path / "bad.jpg").write_text("not a photo")
    paths = good[:2] + [bad] + good[2:]
    lock, now, most = threading.Lock(), [0], [0]

    def forward(images):
        with lock:
            now[0] += 1
            most[0] = max(most[0], now[0])
        time.sleep(0.15 if len(images) == 2 else 0.02)  # the first batch (2 photos that decode) ends last
        with lock:
            now[0] -= 1
        return images.reshape(len(images), -1)[:, :3].astype(np.float32)

    forward.concurrency = 2
    ds = make_dataset(paths, input_size=16, batch_size=3, with_ok=True)
    feats, ok = features._run_batches(forward, ds, (3,), None)
    serial, serial_ok = features._run_batches(lambda images: forward(images), ds, (3,), None)
    assert most == [2] and ok.tolist() == serial_ok.tolist() == [True, True, False] + [True] * 5
    np.testing.assert_array_equal(feats, serial)
    assert feats[ok].any() and not feats[~ok].any()


def test_two_extractor_sessions_give_the_numbers_one_gives(tmp_path, monkeypatch, extractors):
    pytest.importorskip("tf2onnx")
    from glr.backbones import onnx_features

    paths = photos(tmp_path, 9, size=24)
    model = conv_model()
    monkeypatch.setattr(onnx_features, "SESSIONS", 1)
    one, ok = extract_features(model, paths, input_size=16, preprocess=None, batch_size=2, engine="onnx")
    onnx_features._SESSIONS.clear()
    monkeypatch.setattr(onnx_features, "SESSIONS", 2)
    monkeypatch.setattr(onnx_features.os, "cpu_count", lambda: 2)
    two, ok2 = extract_features(model, paths, input_size=16, preprocess=None, batch_size=2, engine="onnx")
    run = next(iter(onnx_features._SESSIONS.values()))
    assert run.concurrency == 2 and ok.all() and ok2.all()
    np.testing.assert_array_equal(two, one)

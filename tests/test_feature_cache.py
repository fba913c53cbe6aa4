"""glr.backbones.feature_cache: photos go through the cache in rounds, so memory follows the returned table alone."""

import tracemalloc

import numpy as np

from glr.backbones import feature_cache
from glr.backbones.feature_cache import FeatureCache, cached_views, cached_window_features
from glr.training.head_data import WindowChoice
from test_features import map_then_pool, photos


def test_rounds_of_photos_give_what_one_round_gives(tmp_path, monkeypatch):
    from glr.backbones.features import content_digest, spatial_model

    paths = photos(tmp_path, 5, size=30, bad_at=2)
    digests = [content_digest(p) for p in paths]
    common = dict(input_size=16, preprocess=None)
    model = spatial_model(map_then_pool())
    whole, whole_ok, whole_n = cached_window_features(lambda: model, paths, digests, None, **common)
    views, views_ok, _ = cached_views(lambda: map_then_pool(), paths, digests, [0, feature_cache.MIRROR_VIEW], None,
                                      **common)
    monkeypatch.setattr(feature_cache, "CHUNK_PHOTOS", 2)
    cache = FeatureCache(tmp_path / "cache", "map-16-test")
    for _ in range(2):  # computed in rounds, then read back from the cache in rounds
        feats, ok, n = cached_window_features(lambda: model, paths, digests, cache, **common)
        np.testing.assert_array_equal(feats, whole)
        assert ok.tolist() == whole_ok.tolist() == [True, True, False, True, True, True]
        got, got_ok, _ = cached_views(lambda: map_then_pool(), paths, digests, [0, feature_cache.MIRROR_VIEW], cache,
                                      **common)
        assert got_ok.tolist() == views_ok.tolist()
        for a, b in zip(got, views):
            np.testing.assert_allclose(a[got_ok], b[views_ok], atol=1e-5)
    assert whole_n == 12 and n == 2  # the second time only the bad file, which is never cached, is tried again


def test_memory_follows_the_kept_windows_not_the_dataset(tmp_path, monkeypatch):
    n, windows, dim = 512, 28, 64
    cache = FeatureCache(tmp_path / "cache", "synthetic")
    view = "windows-s2-mirror-f16"
    digests = [f"{i:040x}" for i in range(n)]
    rows = np.arange(n, dtype=np.float16)[:, None, None] + np.zeros((windows, dim), np.float16)
    for digest, row in zip(digests, rows):
        cache.save(digest, view, row, np.float16)
    monkeypatch.setattr(feature_cache, "CHUNK_PHOTOS", 16)
    full = n * windows * dim * 2  # all windows of every photo, in float16
    choice = WindowChoice(n, budget=full // 7)  # room for 4 of the 28 windows: 2 of each half

    def never():
        raise AssertionError("everything is cached: no backbone")

    tracemalloc.start()
    try:
        feats, ok, computed = cached_window_features(never, [f"p{i}" for i in range(n)], digests, cache,
                                                     input_size=16, preprocess=None, keep=choice)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert computed == 0 and ok.all() and feats.shape == (n, 4, dim) and (choice.kept, choice.total) == (4, 28)
    # The whole maps and the first window of each half are kept, photo by photo in order.
    np.testing.assert_array_equal(feats[:, :, 0], np.repeat(np.arange(n, dtype=np.float16)[:, None], 4, axis=1))
    # The kept table (full / 7) and one round of 16 photos; the whole table read at once took over 2x full.
    assert peak < full / 2, (peak, full)


def test_the_view_table_is_the_views_side_by_side_in_the_asked_dtype(tmp_path, monkeypatch):
    from glr.backbones.feature_cache import cached_view_table
    from glr.backbones.features import content_digest

    paths = photos(tmp_path, 5, size=30)
    digests = [content_digest(p) for p in paths]
    views = [0, feature_cache.MIRROR_VIEW]
    apart, ok, _ = cached_views(lambda: map_then_pool(), paths, digests, views, None, input_size=16, preprocess=None)
    monkeypatch.setattr(feature_cache, "CHUNK_PHOTOS", 2)
    table, table_ok, computed = cached_view_table(lambda: map_then_pool(), paths, digests, views, None,
                                                  dtype=np.float16, input_size=16, preprocess=None)
    assert table.dtype == np.float16 and table.shape == (5, 2, apart[0].shape[1]) and computed == 10
    assert table_ok.tolist() == ok.tolist()
    for v in range(2):
        np.testing.assert_allclose(table[:, v], apart[v], rtol=1e-3, atol=1e-2)


def test_the_decode_rules_are_part_of_the_key(tmp_path, monkeypatch):
    # Features cached under other decode rules are never reused: other pixels, or a photo the
    # blank check would now refuse, must be decoded again.
    from glr.backbones.feature_cache import FeatureCache
    from glr.data import images

    cache, digest = FeatureCache(tmp_path, "key"), "ab" * 20
    before = cache._path(digest, 0)
    monkeypatch.setattr(images, "BLANK_RANGE", images.BLANK_RANGE + 1)
    after_blank = cache._path(digest, 0)
    monkeypatch.setattr(images, "DRAFT_SLACK", 0.5)
    assert len({before, after_blank, cache._path(digest, 0)}) == 3


def test_a_cache_folder_that_is_a_file_is_named_not_a_not_a_directory_error(tmp_path):
    # GLR_CACHE_DIR naming a file: the fallback's clean-up raised NotADirectoryError itself, so a
    # rebuild of the index (or a training) ended in that traceback instead of glr's storage message.
    import pytest

    from glr.atomic import StorageError

    (tmp_path / "cache").write_text("not a folder")
    cache = FeatureCache(tmp_path / "cache" / "sub", "key")
    with pytest.raises(StorageError, match=r"cannot be written, .*/cache is a file where a folder must be \(Not a directory\)"):
        cache.save("ab" * 20, 0, np.ones(4, np.float32))


def _read_only_cache_trains_on(tmp_path, cache, caplog):
    """Two passes of cached_views through `cache`, whose folder cannot be written: features come back, said once."""
    import logging

    from glr.backbones.features import content_digest

    paths = photos(tmp_path / "photos", 3, size=30)
    digests = [content_digest(p) for p in paths]
    common = dict(input_size=16, preprocess=None)
    with caplog.at_level(logging.WARNING, logger="glr.backbones.feature_cache"):
        for _ in range(2):  # nothing is kept, so the second pass computes them all again, and says nothing more
            (feats, mirror), ok, computed = cached_views(lambda: map_then_pool(), paths, digests,
                                                         [0, feature_cache.MIRROR_VIEW], cache, **common)
            assert ok.all() and computed == 6 and feats.shape[0] == 3
    notes = [r.getMessage() for r in caplog.records if "not kept" in r.getMessage()]
    assert len(notes) == 1, caplog.text
    return notes[0]


def test_a_read_only_cache_folder_computes_the_features_and_says_once_they_are_not_kept(tmp_path, monkeypatch, caplog):
    # GLR_CACHE_DIR on a read-only mount: a training failed at its first feature write
    # ("...npy: cannot be written, the file system is read-only"). The file system's answer is made here
    # by os.replace (this runs as root, which a chmod'ed folder does not stop); the test below uses chmod.
    import errno
    import os

    real_replace = os.replace
    cache_root = tmp_path / "cache"

    def read_only(src, dst, *a, **k):
        if str(dst).startswith(str(cache_root)):
            raise OSError(errno.EROFS, "Read-only file system", str(dst))
        return real_replace(src, dst, *a, **k)

    monkeypatch.setattr(os, "replace", read_only)
    note = _read_only_cache_trains_on(tmp_path, FeatureCache(cache_root, "map-16-test"), caplog)
    assert note == (f"features are computed and not kept: the feature cache {cache_root} cannot be written (the file "
                    "system is read-only); set GLR_CACHE_DIR to a writable folder to keep them")


def test_a_cache_folder_without_write_permission_is_passed_over_the_same_way(tmp_path, caplog):
    import os

    import pytest

    if os.geteuid() == 0:
        pytest.skip("root writes into any folder")
    (tmp_path / "cache").mkdir()
    (tmp_path / "cache").chmod(0o555)
    try:
        note = _read_only_cache_trains_on(tmp_path, FeatureCache(tmp_path / "cache", "map-16-test"), caplog)
    finally:
        (tmp_path / "cache").chmod(0o755)
    assert "permission denied" in note


def nan_backbone():
    """map_then_pool whose weights hold a NaN: every feature it gives is NaN, as from a damaged weights file."""
    import keras

    inputs = keras.Input((16, 16, 3))
    fmap = keras.layers.AveragePooling2D(4)(keras.layers.Rescaling(float("nan"))(inputs))
    return keras.Model(inputs, keras.layers.GlobalAveragePooling2D()(fmap))


def test_a_backbone_giving_nan_features_is_refused_naming_a_photo_and_nothing_is_kept(tmp_path):
    # The head's ReLU and L2 norm passed NaN features on: the loss was NaN from the first batch and the run was
    # said to have diverged ("start a new run with a lower learning rate"); the NaN vectors were cached too.
    import pytest

    from glr.backbones.features import content_digest, spatial_model
    from glr.backbones.finite import NonFiniteFeatures

    paths = photos(tmp_path / "photos", 3, size=30, bad_at=1)
    digests = [content_digest(p) for p in paths]
    cache, common = FeatureCache(tmp_path / "cache", "map-16-nan"), dict(input_size=16, preprocess=None)
    said = r"features that are not numbers \(NaN or inf\) for 3 of 4 photos \(e\.g\. '.*0\.jpg'\).*weights"
    with pytest.raises(NonFiniteFeatures, match=said):
        cached_views(nan_backbone, paths, digests, [0, feature_cache.MIRROR_VIEW], cache, **common)
    with pytest.raises(NonFiniteFeatures, match=said):
        cached_window_features(lambda: spatial_model(nan_backbone()), paths, digests, cache, **common)
    with pytest.raises(NonFiniteFeatures, match=said):
        cached_views(nan_backbone, paths, digests, [0], None, **common)  # no cache: still never trained on
    assert not list((tmp_path / "cache").rglob("*.npy"))


def test_a_cached_feature_file_holding_nan_is_computed_again_and_said(tmp_path, caplog):
    # A cached vector damaged on disk into NaN was read and trained on as it was.
    import logging

    from glr.backbones import cache_notes
    from glr.backbones.features import content_digest

    paths = photos(tmp_path / "photos", 3, size=30)
    digests = [content_digest(p) for p in paths]
    cache, common = FeatureCache(tmp_path / "cache", "map-16-test"), dict(input_size=16, preprocess=None)
    views = [0, feature_cache.MIRROR_VIEW]
    first, _, computed = cached_views(map_then_pool, paths, digests, views, cache, **common)
    assert computed == 6 and cache_notes.notes(cache.root) == []
    damaged = cache._path(digests[1], feature_cache.MIRROR_VIEW)
    np.save(damaged, np.full(first[1].shape[1], np.nan, np.float32))
    with caplog.at_level(logging.WARNING, logger="glr.backbones.feature_cache"):
        again, ok, computed = cached_views(map_then_pool, paths, digests, views, cache, **common)
    assert computed == 2 and ok.all()  # that photo's two views, decoded once; the others read
    for a, b in zip(again, first):
        np.testing.assert_allclose(a, b, atol=1e-6)
    assert np.isfinite(np.load(damaged)).all()  # replaced by its new vector
    note = f"a cached feature file held NaN or inf (damaged; e.g. {damaged}): computed again"
    assert cache_notes.notes(cache.root) == [note] and note in caplog.text


def test_all_finite_finds_nan_and_inf_in_float16_and_float32():
    from glr.backbones.finite import all_finite

    for dtype in (np.float16, np.float32):
        table = np.linspace(-60000, 60000, 28 * 64).astype(dtype).reshape(28, 64)
        assert all_finite(table)
        for bad in (np.nan, np.inf, -np.inf):
            damaged = table.copy()
            damaged[27, 63] = bad
            assert not all_finite(damaged)


def big_backbone():
    """map_then_pool scaled by 1000: features up to 255,000, as unnormalised ones (ResNet's) can exceed float16's 65504."""
    import keras

    inputs = keras.Input((16, 16, 3))
    fmap = keras.layers.AveragePooling2D(4)(keras.layers.Rescaling(1000.0)(inputs))
    return keras.Model(inputs, keras.layers.GlobalAveragePooling2D()(fmap))


def test_features_above_float16s_range_are_cached_in_float32_and_a_float16_table_is_refused(tmp_path):
    # Before: the float16 window cache stored them as inf, read them back as "damaged" and computed them again at
    # every start; phase 1's float16 table held inf, which the head's L2 norm made NaN: a run "diverged" at once,
    # with advice to lower the learning rate.
    import pytest

    from glr.backbones.feature_cache import cached_view_table
    from glr.backbones.features import content_digest, spatial_model
    from glr.backbones.finite import HALF_MAX, HalfOverflow

    paths = photos(tmp_path / "photos", 3, size=30)
    digests = [content_digest(p) for p in paths]
    cache, common = FeatureCache(tmp_path / "cache", "map-16-big"), dict(input_size=16, preprocess=None)
    model = spatial_model(big_backbone())
    said = r"the backbone's features reach 2\.\d+e\+05, more than float16 holds \(65504\).*would become inf"
    with pytest.raises(HalfOverflow, match=said):
        cached_window_features(lambda: model, paths, digests, cache, **common)  # a float16 table, as phase 1's
    stored = [np.load(f) for f in (tmp_path / "cache").rglob("*.npy")]
    assert stored and all(np.isfinite(v).all() for v in stored)
    assert max(float(np.abs(v).max()) for v in stored) > HALF_MAX and {v.dtype for v in stored} == {np.dtype(np.float32)}
    feats, ok, computed = cached_window_features(lambda: model, paths, digests, cache, out_dtype=np.float32, **common)
    assert ok.all() and computed == 0 and np.isfinite(feats).all()  # read back whole, not "damaged" for ever
    with pytest.raises(HalfOverflow, match=said):
        cached_view_table(big_backbone, paths, digests, [0, feature_cache.MIRROR_VIEW], None, dtype=np.float16,
                          **common)
    table, _, _ = cached_view_table(big_backbone, paths, digests, [0], None, dtype=np.float32, **common)
    assert np.isfinite(table).all() and table.max() > HALF_MAX


def test_one_round_of_photos_is_the_table_itself_and_several_rounds_fill_one(monkeypatch):
    # The demo's 2,000 photos are one round: its rows were copied into a second table of the same size before.
    made = []

    def one_round(part, dtype=np.float16):
        photos = np.arange(5)[part]
        rows = (photos[:, None] * np.ones((1, 3))).astype(dtype)
        made.append(rows)
        return rows, photos != 3, len(photos)

    table, ok, computed = feature_cache._in_rounds(5, one_round, np.float16)
    assert table is made[0] and computed == 5 and ok.tolist() == [True, True, True, False, True]
    table, _, _ = feature_cache._in_rounds(5, lambda part: one_round(part, np.float32), np.float16)
    assert table.dtype == np.float16 and table is not made[-1]  # another dtype: cast into the table asked for
    monkeypatch.setattr(feature_cache, "CHUNK_PHOTOS", 2)
    made.clear()
    table, ok, computed = feature_cache._in_rounds(5, one_round, np.float16)
    assert len(made) == 3 and computed == 5 and ok.tolist() == [True, True, True, False, True]
    np.testing.assert_array_equal(table, np.arange(5)[:, None] * np.ones((1, 3)))


def test_a_rounds_files_are_written_in_threads_and_all_done_on_return(tmp_path):
    import functools
    import threading

    names = set()

    def save(i):
        names.add(threading.current_thread().name)
        (tmp_path / f"{i}.npy").write_bytes(b"x")

    feature_cache._save_all([functools.partial(save, i) for i in range(40)])
    assert len(list(tmp_path.iterdir())) == 40
    assert names and all(name.startswith("glr-cache-write") for name in names)


def test_a_failed_write_is_raised_and_the_writes_not_started_are_dropped():
    import functools
    import time

    import pytest

    started = []

    def save(i):
        started.append(i)
        if i == 2:
            raise OSError(28, "No space left on device")
        time.sleep(0.01)

    with pytest.raises(OSError, match="No space left"):
        feature_cache._save_all([functools.partial(save, i) for i in range(200)])
    assert 2 in started and len(started) < 200

"""glr.backbones.feature_store: the feature cache's files; a photo's map windows carry its whole maps."""

import numpy as np

from glr.backbones import feature_cache
from glr.backbones.feature_cache import FeatureCache, cached_views, cached_window_features
from test_features import map_then_pool, photos


def test_a_photos_windows_and_its_whole_maps_are_one_file_read_for_both_views(tmp_path):
    # A cold demo train wrote three files per photo (windows, view 0, mirror): now one, its whole maps in float32.
    from glr.backbones.features import content_digest, spatial_model

    paths = photos(tmp_path / "photos", 3, size=30)
    digests = [content_digest(p) for p in paths]
    cache, common = FeatureCache(tmp_path / "cache", "map-16-test"), dict(input_size=16, preprocess=None)
    model = spatial_model(map_then_pool())
    feats, ok, computed = cached_window_features(lambda: model, paths, digests, cache, out_dtype=np.float32, **common)
    assert computed == 6 and ok.all()
    files = sorted(p.relative_to(cache.dir).parts[0] for p in cache.dir.rglob("*.npy"))
    assert files == [feature_cache.WINDOWS_VIEW + feature_cache.decode_tag()] * 3
    w = feats.shape[1] // 2
    (centre, mirror), ok, computed = cached_views(lambda: 1 / 0, paths, digests, [0, feature_cache.MIRROR_VIEW], cache,
                                                  **common)
    assert computed == 0 and ok.all() and centre.dtype == np.float32
    np.testing.assert_array_equal(centre, feats[:, 0])  # exactly the float32 maps computed, not the float16 windows
    np.testing.assert_array_equal(mirror, feats[:, w])
    # The windows alone are read as they always were: the file starts with them.
    windows = np.load(cache._path(digests[0], feature_cache.WINDOWS_VIEW))
    assert windows.dtype == np.float16 and windows.shape == feats.shape[1:]
    np.testing.assert_array_equal(windows, feats[0].astype(np.float16))


def test_windows_files_of_the_layout_before_keep_their_own_whole_map_files(tmp_path):
    from glr.backbones.features import content_digest

    paths = photos(tmp_path / "photos", 2, size=30)
    digests = [content_digest(p) for p in paths]
    cache, common = FeatureCache(tmp_path / "cache", "map-16-test"), dict(input_size=16, preprocess=None)
    views = [0, feature_cache.MIRROR_VIEW]
    for digest in digests:  # the layout before: windows alone in their file, the whole maps in files of their own
        cache.save(digest, feature_cache.WINDOWS_VIEW, np.ones((4, 3)), np.float16)
    cache.save(digests[0], 0, np.full(3, 2.0))
    cache.save(digests[0], feature_cache.MIRROR_VIEW, np.full(3, 3.0))
    (centre, mirror), ok, computed = cached_views(map_then_pool, paths, digests, views, cache, **common)
    assert ok.all() and computed == 2  # the second photo's two views, which it has no file of
    assert centre[0].tolist() == [2.0] * 3 and mirror[0].tolist() == [3.0] * 3


def test_whole_maps_damaged_in_a_windows_file_are_computed_again_and_said(tmp_path):
    from glr.backbones import cache_notes
    from glr.backbones.features import content_digest, spatial_model

    paths = photos(tmp_path / "photos", 2, size=30)
    digests = [content_digest(p) for p in paths]
    cache, common = FeatureCache(tmp_path / "cache", "map-16-test"), dict(input_size=16, preprocess=None)
    views = [0, feature_cache.MIRROR_VIEW]
    cached_window_features(lambda: spatial_model(map_then_pool()), paths, digests, cache, **common)
    first, _, _ = cached_views(lambda: 1 / 0, paths, digests, views, cache, **common)
    damaged = cache._path(digests[1], feature_cache.WINDOWS_VIEW)
    windows = np.load(damaged)
    cache.save(digests[1], feature_cache.WINDOWS_VIEW, windows, np.float16, maps=np.full((2, 3), np.nan))
    again, ok, computed = cached_views(map_then_pool, paths, digests, views, cache, **common)
    assert ok.all() and computed == 2  # that photo's two views; never read as NaN
    for a, b in zip(again, first):
        np.testing.assert_allclose(a, b, atol=1e-6)
    assert cache_notes.notes(cache.root) == [
        f"a cached feature file held NaN or inf (damaged; e.g. {damaged}): computed again"]


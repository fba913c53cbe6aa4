"""The feature cache: the cached ways to compute features, through its files (glr.backbones.feature_store).

A training run's views (glr.training.trainer), the mirror views of flip averaging
(glr.retrieval.flip) and the embedding benchmarks ask for features through here: what the
cache holds is read, the rest is computed by glr.backbones.features and stored. The cache
keys each vector by the image's content (its SHA-1), so a file moved or renamed is found
again, and by how it was made (backbone, input size, weights, precision, decode).
"""

from __future__ import annotations

import functools
import os
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Sequence

import numpy as np

from glr.backbones.feature_store import (MIRROR_VIEW, WHOLE_MAP_VIEWS, WINDOWS_VIEW,  # noqa: F401 (re-exported)
                                         FeatureCache, decode_tag)
from glr.backbones.features import (DEFAULT_BATCH_SIZE, GEM_P, extract_features, pooled_features, view_seeds,
                                    window_features)
from glr.backbones.finite import check_computed, check_half

# Photos per round of load, compute and store. A round's vectors (2,048 photos x 28 windows x 1,280: 0.3 GB
# in float32) are all that is held besides the returned table, so memory follows the table, not twice it
# (every cached vector, then their stack), at any dataset size; the demo's 1,600 training photos are one round.
CHUNK_PHOTOS = 2048
# Threads that write a round's files (`_save_all`).
SAVE_THREADS = 2


def _seeds(digests: Sequence[str], view: int | str) -> np.ndarray:
    """The pipeline's view seed pairs of `view` for these photos: centre, mirrored centre, or seeded view v > 0."""
    from glr.data.pipeline import CENTRE_MIRROR_VIEW, CENTRE_VIEW

    if view in (0, MIRROR_VIEW):
        return np.tile(np.asarray(CENTRE_VIEW if view == 0 else CENTRE_MIRROR_VIEW, np.int64), (len(digests), 1))
    return view_seeds(digests, view)


def cached_features(
    get_model: Callable[[], object],
    paths: Sequence[str],
    digests: Sequence[str],
    view: int | str,
    cache: FeatureCache | None,
    *,
    input_size: int,
    preprocess: Callable | None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    progress: Callable[[int], None] | None = None,
) -> tuple[np.ndarray, np.ndarray, int]:
    """Features of one view for every path, from the cache where possible.

    `view` is 0 (the centre crop), MIRROR_VIEW (its mirror image) or v > 0 (seeded augmented view v).

    `get_model` is called only if something is missing, so a fully cached run never builds
    the backbone. Returns (features, ok-mask, number computed). Failed decodes are not cached.
    """
    def compute(todo_paths, todo_digests, engine, on_engine):
        return extract_features(
            get_model(), todo_paths, input_size=input_size, preprocess=preprocess,
            batch_size=batch_size, progress=progress, engine=engine, on_engine=on_engine,
            view_seeds=None if view == 0 else _seeds(todo_digests, view),
        )

    return _through_cache(compute, paths, digests, view, cache, progress)


def cached_views(
    get_model: Callable[[], object],
    paths: Sequence[str],
    digests: Sequence[str],
    views: Sequence[int | str],
    cache: FeatureCache | None,
    **options,
) -> tuple[list[np.ndarray], np.ndarray, int]:
    """Features of several views of every path ([one (N, D) array per view], ok-mask, number computed).

    A photo missing any of its views is decoded once for all of them (the pipeline's
    several-views mode: view 0 is the centre crop, MIRROR_VIEW its mirror image, view v > 0
    the seeded augmented view v, exactly as `cached_features` makes them), which saves the
    decode and resize of every view but the first: most of the pipeline's cost on real
    photos (benchmarks/README.md). Only the missing vectors are stored.
    `options`: input_size, preprocess, batch_size and progress, as for `cached_features`.
    """
    table, ok, computed = cached_view_table(get_model, paths, digests, views, cache, **options)
    return [np.ascontiguousarray(table[:, v]) for v in range(len(views))], ok, computed


def cached_view_table(
    get_model: Callable[[], object],
    paths: Sequence[str],
    digests: Sequence[str],
    views: Sequence[int | str],
    cache: FeatureCache | None,
    dtype=np.float32,
    **options,
) -> tuple[np.ndarray, np.ndarray, int]:
    """`cached_views` as one (N, V, D) table of `dtype`: what phase 1 trains on, with no stacking copy.

    The photos go CHUNK_PHOTOS at a time, each round written into the table, so what is held
    besides it stays bounded at any dataset size.
    """
    paths, digests = list(paths), list(digests)

    def one_round(part):
        feats, ok, n = _cached_views_chunk(get_model, paths[part], digests[part], views, cache, **options)
        return np.stack(feats, axis=1), ok, n

    return _in_rounds(len(paths), one_round, dtype, empty=(len(views), 0))


def _in_rounds(count: int, one_round: Callable, dtype, empty: tuple = (0,)) -> tuple[np.ndarray, np.ndarray, int]:
    """Photos 0..count-1 in rounds of CHUNK_PHOTOS, written into one table of `dtype`: (table, ok-mask, number computed).

    `one_round(part)` gives (rows, ok-mask, number computed) for the photos of the slice `part`.
    The table is made at the first round: only its rows and one round are ever held. `empty`
    is a row's shape when there is no photo.
    """
    table, ok, computed = None, np.zeros(count, bool), 0
    for start in range(0, count, CHUNK_PHOTOS):
        part = slice(start, start + CHUNK_PHOTOS)
        rows, ok[part], n = one_round(part)
        computed += n
        if table is None and len(rows) == count and rows.dtype == np.dtype(dtype):
            table = rows  # one round (the demo's 2,000 photos): its rows are the table, not copied into a second one
            continue
        if table is None:
            table = np.zeros((count, *rows.shape[1:]), dtype)
        if table.dtype == np.float16:
            check_half(rows)
        table[part] = rows
    return (table if table is not None else np.zeros((count, *empty), dtype)), ok, computed


def _cached_views_chunk(
    get_model: Callable[[], object],
    paths: Sequence[str],
    digests: Sequence[str],
    views: Sequence[int | str],
    cache: FeatureCache | None,
    *,
    input_size: int,
    preprocess: Callable | None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    progress: Callable[[int], None] | None = None,
) -> tuple[list[np.ndarray], np.ndarray, int]:
    """`cached_views` for one round of photos. When the views are not all made on one engine (the
    int8 option keeps view 0 in fp32), each view goes through `cached_features` instead."""
    views, paths, digests = list(views), list(paths), list(digests)
    common = dict(input_size=input_size, preprocess=preprocess, batch_size=batch_size, progress=progress)
    caches = [cache.for_view(v) if cache else None for v in views]
    if len(views) < 2 or (cache and len({c.precision for c in caches}) > 1):
        out, ok, computed = [], np.ones(len(paths), bool), 0
        for view in views:
            feats, view_ok, n = cached_features(get_model, paths, digests, view, cache, **common)
            out.append(feats)
            ok &= view_ok
            computed += n
        return out, ok, computed
    # One precision here, so one folder: a photo's whole maps are read once for both (FeatureCache.load_views).
    loaded = caches[0].load_views(digests, views) if cache else [([None] * len(paths), np.zeros(len(paths), bool))
                                                                 for _ in views]
    vectors = [list(vecs) for vecs, _ in loaded]
    found = np.stack([mask for _, mask in loaded], axis=1) if paths else np.zeros((0, len(views)), bool)
    ok = found.all(axis=1)
    if progress and ok.any():
        progress(int(ok.sum()) * len(views))
    todo = np.flatnonzero(~ok)
    if len(todo):
        # A photo with some views cached (rare: an older layout of the cache) gets all of them again.
        seeds = np.stack([_seeds([digests[i] for i in todo], v) for v in views], axis=1)
        used: list[str] = []
        feats, decoded = extract_features(get_model(), [paths[i] for i in todo], view_seeds=seeds,
                                          engine=caches[0].engine if caches[0] else None, on_engine=used.append,
                                          **common)
        feats = feats.reshape(len(todo), len(views), -1)
        decoded = decoded.reshape(len(todo), len(views)).all(axis=1)
        check_computed(feats, decoded, [paths[i] for i in todo])  # before any is kept
        saves = []
        for j, i in enumerate(todo):
            ok[i] = bool(decoded[j])
            for k, (view, c) in enumerate(zip(views, caches)):
                if vectors[k][i] is None:
                    vectors[k][i] = feats[j, k]
                    store = c.with_engine(used[0]) if c and used else c
                    if store and decoded[j] and digests[i]:
                        saves.append(functools.partial(store.save, digests[i], view, feats[j, k]))
        _save_all(saves)
    shape = next((v.shape for vecs in vectors for v in vecs if v is not None), (0,))
    out = [np.stack([v if v is not None else np.zeros(shape, np.float32) for v in vecs]).astype(np.float32)
           if vecs else np.zeros((0, *shape), np.float32) for vecs in vectors]
    return out, ok, int(len(todo) * len(views))


def cached_window_features(
    get_map_model: Callable[[], object],
    paths: Sequence[str],
    digests: Sequence[str],
    cache: FeatureCache | None,
    *,
    input_size: int,
    preprocess: Callable | None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    progress: Callable[[int], None] | None = None,
    keep: Callable[[np.ndarray], np.ndarray] | None = None,
    out_dtype=np.float16,
) -> tuple[np.ndarray, np.ndarray, int]:
    """`window_features` for every path, from the cache where possible: ((N, 2W, D), ok-mask, number computed).

    A photo whose windows are computed also gets its view 0 and MIRROR_VIEW stored (its
    windows 0 and W: the whole maps, in float32 in the windows' file), so the evaluation and
    the index find them without a backbone pass. The number computed counts backbone inputs: two per photo. `keep` maps a
    photo's (2W, D) windows to the ones returned (glr.training.head_data.WindowChoice); the cache gets all 2W.
    The cache stores float16; `out_dtype` is the returned table's (float32 keeps what `keep` derives from
    newly computed windows exact).
    """
    def compute(todo_paths, _digests, engine, on_engine):
        return window_features(get_map_model(), todo_paths, input_size=input_size, preprocess=preprocess,
                               batch_size=batch_size, progress=progress, engine=engine, on_engine=on_engine)

    def whole_maps(feats: np.ndarray) -> np.ndarray:
        return np.stack([feats[0], feats[len(feats) // 2]])

    # float16 halves what phase 1 holds (N x 28 x D; head_data casts each batch to float32) and what the cache writes.
    feats, ok, computed = _through_cache(compute, paths, digests, WINDOWS_VIEW, cache, progress, inputs=2,
                                         maps=whole_maps, dtype=np.float16, keep=keep, out_dtype=out_dtype)
    return feats, ok, 2 * computed


def cached_pooled_features(
    get_map_model: Callable[[], object],
    paths: Sequence[str],
    digests: Sequence[str],
    cache: FeatureCache | None,
    *,
    input_size: int,
    preprocess: Callable | None,
    p: float = GEM_P,
    batch_size: int = DEFAULT_BATCH_SIZE,
    engine: str | None = None,
) -> tuple[np.ndarray, np.ndarray, int]:
    """`pooled_features` for every path, from the cache where possible: ((N, 4, D), ok-mask, number computed)."""
    def compute(todo_paths, _digests, engine, on_engine):
        return pooled_features(get_map_model(), todo_paths, input_size=input_size, preprocess=preprocess, p=p,
                               batch_size=batch_size, engine=engine, on_engine=on_engine)

    if cache and engine:
        cache = cache.with_engine(engine)
    return _through_cache(compute, paths, digests, f"pooled-gem{p:g}-flip", cache, None)


def _through_cache(compute, paths, digests, view, cache, progress, inputs: int = 1,
                   maps: Callable[[np.ndarray], np.ndarray] | None = None, dtype=np.float32,
                   keep: Callable[[np.ndarray], np.ndarray] | None = None,
                   out_dtype=None) -> tuple[np.ndarray, np.ndarray, int]:
    """Load what the cache has, `compute(paths, digests, engine, on_engine)` the rest and store it.

    `inputs`: the backbone inputs per photo that `progress` counts. `maps(vector)` is what
    else of a newly computed vector its file keeps (FeatureCache.save's `maps`). The vectors are
    stored as `dtype` and returned as `out_dtype` (by default `dtype`); `keep(vector)` is the part of
    each one returned (all of it by default), while the cache always gets the whole vector. The photos go
    CHUNK_PHOTOS at a time, each round written into the returned table.

    The rest is computed on the cache's engine for that view (FeatureCache.for_view); if
    that fell back to another precision (int8 asked, fp32 made), the vectors are stored
    where fp32 ones belong.
    """
    cache = cache.for_view(view) if cache else None
    paths, digests = list(paths), list(digests)
    out_dtype = out_dtype or dtype

    def one_round(part):
        vectors, ok, n = _round_through_cache(compute, paths[part], digests[part], view, cache, progress, inputs,
                                              maps, dtype)
        rows = None  # written photo by photo: a float32 stack of the round, then its cast, cost 0.9 s on the demo
        for i, vector in enumerate(vectors):
            kept = keep(vector) if keep else vector
            if rows is None:
                rows = np.empty((len(vectors), *np.shape(kept)), out_dtype)
            if out_dtype == np.float16 and kept.dtype != np.float16:
                check_half(kept)  # before the cast, which would make them inf
            rows[i] = kept
        return rows, ok, n

    return _in_rounds(len(paths), one_round, out_dtype)


def _round_through_cache(compute, paths, digests, view, cache, progress, inputs, maps, dtype):
    """`_through_cache` for one round of photos: (their vectors, ok-mask, number computed)."""
    vectors, found = cache.load(digests, view) if cache else ([None] * len(paths), np.zeros(len(paths), bool))
    ok = found.copy()
    if progress and found.any():
        progress(inputs * int(found.sum()))
    todo = np.flatnonzero(~found)
    if len(todo):
        used: list[str] = []
        feats, decoded = compute([paths[i] for i in todo], [digests[i] for i in todo],
                                 cache.engine if cache else None, used.append)
        check_computed(feats, decoded, [paths[i] for i in todo])  # before any is kept
        store = cache.with_engine(used[0]) if cache and used else cache
        saves = []
        for j, i in enumerate(todo):
            ok[i] = bool(decoded[j])
            vectors[i] = feats[j]
            if store and decoded[j] and digests[i]:
                saves.append(functools.partial(store.save, digests[i], view, feats[j], dtype,
                                               maps=maps(feats[j]) if maps else None))
        _save_all(saves)
    return vectors, ok, int(len(todo))


def _save_all(saves: list[Callable[[], None]]) -> None:
    """Run these cache writes, SAVE_THREADS at a time; all are done, or the first error raised, on return.

    Creating a file is kernel time that a second thread overlaps: 2,000 of a photo's files took
    0.6-0.75 s in 2 threads against 0.9-1.5 s in one here (benchmarks/README.md), the last
    stretch of a cold train's extraction, in which one core sat idle.
    """
    threads = min(SAVE_THREADS, os.cpu_count() or 1)
    if threads < 2 or len(saves) < 2 * threads:
        for save in saves:
            save()
        return
    pool = ThreadPoolExecutor(threads, thread_name_prefix="glr-cache-write")
    try:
        for future in [pool.submit(save) for save in saves]:
            future.result()
    finally:  # on an error or Ctrl-C the writes not started are dropped: their vectors are computed again next time
        pool.shutdown(wait=True, cancel_futures=True)

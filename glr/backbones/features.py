"""Frozen-backbone features: one compiled forward pass over a tf.data pipeline, and a disk cache.

While the backbone is frozen its output for a given image and augmented view never
changes, so features are computed once and everything downstream (the linear probe, the
head) trains on them. The cache keys each vector by the image's content (not its path),
the backbone, its weights, the input size and the view, so a later run, or the same photos
in another folder, computes nothing again.

View 0 is the clean centre crop (validation, prediction). Views 1..K are augmented crops
and flips whose randomness is seeded by the image content and the view number, so "view 3
of this photo" always means the same pixels.

Augmenting in feature space (`augment_space="features"`) is cheaper still: the
backbone runs once per photo on the whole photo at the load size (256 px for 224), which
gives a spatial feature map (8x8 for a stride-32 network), and the views are the average
pools of windows of that map. A 7x7 window of the 8x8 map stands for a 224 px crop of the
256 px photo, the crop the study draws at random, and a 6x6 window for a smaller crop. One
pass at 256 px costs 1.3 passes at 224 px, instead of the K + 1 passes of image views.
"""

from __future__ import annotations

import hashlib
import io
import os
import threading
import weakref
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from glr.atomic import write_with
from glr.data.pipeline import DEFAULT_BATCH_SIZE, make_dataset

CHUNK = 1 << 20
# Windows down to this many cells smaller than the crop: for a stride-32 backbone at 224 px,
# windows of 7, 6 and 5 cells of the 8x8 map, 30 views with view 0. Measured on the demo
# data (head trained with 3 seeds), 7-and-6 windows scored 0.920, adding 5 scored 0.923,
# four image views 0.924.
WINDOW_SHRINK = 2
# A second pass on the mirrored photo (flips, which average pooling cannot make): measured,
# it did not pay for doubling the cost (demo 0.925 vs 0.922, wonders7 0.941 vs 0.953).
WINDOW_FLIP = False
# The engine extraction runs on:
# - "int8": ONNX Runtime on the statically quantized extractor (glr.backbones.quantize),
#   made once per machine; 2.3-2.4x the images per CPU-second of fp32 here, features within
#   a cosine of about 0.99 (in a run's cache only the augmented views: FeatureCache.for_view).
#   Falls back to fp32 ONNX Runtime, then TensorFlow, with a warning.
# - "onnx": ONNX Runtime in fp32, always exported; within 1e-4 of TensorFlow, and 1.06-1.29x
#   less CPU per image at batches of 16-64 (bench_extract.py).
# - "fp32": ONNX Runtime in fp32 when it is exported or worth exporting (MIN_IMAGES_TO_EXPORT), else TensorFlow.
# - "tf": TensorFlow.
# - "auto": "int8" when AUTO_INT8, else "fp32".
ENGINE = "auto"
ENGINES = ("auto", "int8", "onnx", "fp32", "tf")
# Measured (benchmarks/README.md, "int8 feature extraction", 3 split seeds each): heads
# trained on int8 features lost 0.3-0.6 points of top-1 on the demo and 0.4-0.8 on
# wonders7 against fp32's, more than the half point issue #15 allows on one dataset or
# the other, so "auto" stays fp32 and int8 is an option.
AUTO_INT8 = False
_FORWARDS: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def compiled_forward(model) -> Callable:
    """`model` as a traced tf.function with BatchNorm in inference mode.

    Measured here, this is about 2x faster than `model.predict` per batch and 6x faster
    than eager calls, because the graph is traced once and reused.
    """
    import tensorflow as tf

    # One traced function per model: tracing a backbone costs a second or two, and a run
    # extracts several sets (validation, training, distractors) with the same model.
    try:
        return _FORWARDS[model]
    except (KeyError, TypeError):
        pass
    forward = tf.function(lambda x: model(x, training=False), reduce_retracing=True)
    try:
        _FORWARDS[model] = forward
    except TypeError:  # not weak-referenceable: just do not keep it
        pass
    return forward


def resolve_engine(engine: str | None) -> str:
    """The engine a name stands for: "auto" (or None: the module's ENGINE) becomes "int8" or "fp32"."""
    engine = engine or ENGINE
    if engine not in ENGINES:
        raise ValueError(f"unknown feature engine {engine!r}; choose one of {', '.join(ENGINES)}")
    if engine == "auto":
        return "int8" if AUTO_INT8 else "fp32"
    return engine


def precision(engine: str | None) -> str:
    """"int8" or "fp32": the kind of features an engine makes (the feature cache keeps them apart)."""
    return "int8" if resolve_engine(engine) == "int8" else "fp32"


def extract_features(
    model,
    paths: Sequence[str],
    *,
    input_size: int,
    preprocess: Callable | None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    view_seeds: np.ndarray | None = None,
    progress: Callable[[int], None] | None = None,
    engine: str | None = None,
    on_engine: Callable[[str], None] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Features for each file, in order, and a mask that is False where a file failed to decode.

    `view_seeds` (one int pair per file) takes that reproducible augmented view instead of
    the centre crop. `progress(n)` is called after each batch with the images done in it.
    `engine` overrides the module's ENGINE (one of ENGINES); `on_engine(name)` is told
    the one that ran ("int8", "onnx" or "tf"), which may be a fallback.
    """
    forward = _engine(model, compiled_forward(model), input_size, len(paths), "pooled", engine, preprocess, on_engine)
    ds = make_dataset(
        paths, input_size=input_size, preprocess=preprocess, shuffle=False,
        batch_size=batch_size, view_seeds=view_seeds, with_ok=True,
    )
    return _run_batches(forward, ds, (0,), progress)


def _engine(model, forward: Callable, input_size: int, n_images: int, tag: str, engine: str | None,
            preprocess: Callable | None = None, on_engine: Callable[[str], None] | None = None) -> Callable:
    """`forward` on the chosen engine: a numpy batch in, a numpy array out.

    int8 ONNX Runtime when asked and it can be made, else fp32 ONNX Runtime when the engine
    allows it and the export works, TensorFlow otherwise. `preprocess` makes the int8
    extractor's calibration images.
    """
    import logging

    asked = resolve_engine(engine)
    run = None
    if asked != "tf":
        from glr.backbones.onnx_features import onnx_extractor

        # "auto" and "fp32" make an extractor only when it pays (enough images; a run's
        # settings name its engine explicitly, so all its features are made alike); the others always do.
        n = n_images if (engine or ENGINE) in ("auto", "fp32") else 1 << 62
        if asked == "int8":
            run = onnx_extractor(model, forward, input_size, n, tag, int8=True, preprocess=preprocess)
        if run is None:
            run = onnx_extractor(model, forward, input_size, n, tag)
    if run is None:
        def run(images):
            return forward(images).numpy()
        run.engine = "tf"
    if asked in ("int8", "onnx") and run.engine != asked:
        logging.getLogger(__name__).warning(
            "feature extraction: engine %s was asked for, %s (fp32) runs instead; the warning above "
            "says why, and these features are cached as fp32", asked, run.engine)
    if on_engine:
        on_engine(run.engine)
    return run


def _run_batches(forward: Callable, ds, empty_shape: tuple, progress: Callable[[int], None] | None):
    """`forward` over every (images, ok) batch of `ds`: (features, ok-mask), concatenated.

    tf.data decodes and resizes the next batches in its own threads while `forward` runs.
    """
    feats, oks = [], []
    for images, ok in ds.as_numpy_iterator():
        feats.append(np.asarray(forward(images)))
        oks.append(ok)
        if progress:
            progress(len(ok))
    if not feats:
        return np.zeros((0, *empty_shape), np.float32), np.zeros((0,), bool)
    return np.concatenate(feats).astype(np.float32), np.concatenate(oks)


def spatial_model(backbone):
    """The backbone without its final global average pooling (the feature map), or None.

    None when the backbone does not end in a GlobalAveragePooling2D layer, whose windows
    could not stand for crops.
    """
    import keras

    last = backbone.layers[-1]
    if not isinstance(last, keras.layers.GlobalAveragePooling2D):
        return None
    return keras.Model(backbone.input, last.input, name=f"{backbone.name}_map")


def windows(map_side: int, crop_side: int) -> list[tuple[int, int, int]]:
    """(side, row, col) of the feature-map windows that stand for crops, view 0 first.

    View 0 is the whole map (the whole photo: the closest to the centre crop, and what the
    similarity index embeds); then every window of `crop_side` cells (the study's random
    crop) and of up to WINDOW_SHRINK cells fewer (smaller crops, for scale).
    """
    out = [(map_side, 0, 0)]
    for side in range(crop_side, crop_side - WINDOW_SHRINK - 1, -1):
        if 1 <= side < map_side:
            out += [(side, i, j) for i in range(map_side - side + 1) for j in range(map_side - side + 1)]
    return out


def window_features(
    map_model,
    paths: Sequence[str],
    *,
    load_size: int,
    input_size: int,
    preprocess: Callable | None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    progress: Callable[[int], None] | None = None,
    engine: str | None = None,
    on_engine: Callable[[str], None] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """(N, W, D) pooled features of the map windows of each whole photo resized to `load_size`, and an ok-mask.

    `map_model` must take `load_size` inputs. The windows are `windows(map side, crop
    side)`, where the crop side is the map side scaled by input_size / load_size.
    """
    import tensorflow as tf

    map_side = int(map_model.output.shape[1])
    crop_side = max(1, int(round(map_side * input_size / load_size)))
    boxes = windows(map_side, crop_side)

    def pooled(x):
        fmap = map_model(x, training=False)
        return [tf.reduce_mean(fmap[:, i:i + k, j:j + k, :], axis=(1, 2)) for k, i, j in boxes]

    @tf.function(reduce_retracing=True)
    def forward(x):
        # The mirror image is a second pass: average pooling is blind to a flipped map.
        mirrored = pooled(tf.reverse(x, axis=[2])) if WINDOW_FLIP else []
        return tf.stack(pooled(x) + mirrored, axis=1)

    tag = f"windows{boxes}{'-flip' if WINDOW_FLIP else ''}"
    run = _engine(map_model, forward, load_size, len(paths), tag, engine, preprocess, on_engine)
    ds = make_dataset(paths, input_size=load_size, preprocess=preprocess, shuffle=False,
                      batch_size=batch_size, with_ok=True, crop=False)
    return _run_batches(run, ds, (len(boxes), 0), progress)


GEM_P = 3.0  # the generalised-mean exponent: 1 is average pooling, large p tends to max pooling
POOLINGS = ("avg", "gem")


def gem_pool(fmap, p: float = GEM_P, eps: float = 1e-6):
    """Generalised-mean pooling (Radenovic et al.) of a (N, H, W, D) TF map: (mean of x^p over H, W)^(1/p).

    Values are clipped at `eps` first, so the root is defined (Lite0's map is ReLU6 output).
    """
    import tensorflow as tf

    return tf.pow(tf.reduce_mean(tf.pow(tf.maximum(fmap, eps), p), axis=(1, 2)), 1.0 / p)


def pooled_features(
    map_model,
    paths: Sequence[str],
    *,
    input_size: int,
    preprocess: Callable | None,
    p: float = GEM_P,
    batch_size: int = DEFAULT_BATCH_SIZE,
    progress: Callable[[int], None] | None = None,
    engine: str | None = None,
    on_engine: Callable[[str], None] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """(N, 4, D) pooled features of each clean centre crop, and an ok-mask.

    The 4 views are: average and GeM pooling of the photo's map, then the same of its mirror
    image (flip test-time augmentation is the mean of a view and its mirror view).
    """
    import tensorflow as tf

    @tf.function(reduce_retracing=True)
    def forward(x):
        out = []
        for image in (x, tf.reverse(x, axis=[2])):
            fmap = map_model(image, training=False)
            out += [tf.reduce_mean(fmap, axis=(1, 2)), gem_pool(fmap, p)]
        return tf.stack(out, axis=1)

    run = _engine(map_model, forward, input_size, len(paths), f"pooled-gem{p:g}-flip", engine, preprocess, on_engine)
    ds = make_dataset(paths, input_size=input_size, preprocess=preprocess, shuffle=False,
                      batch_size=batch_size, with_ok=True)
    return _run_batches(run, ds, (4, 0), progress)


def raw_pixel_features(
    paths: Sequence[str], size: int = 32, progress: Callable[[int], None] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Flattened RGB pixels of each image resized to size x size: the no-learning baseline."""
    return extract_features(
        _Flatten(), paths, input_size=size, preprocess=None, progress=progress,
        batch_size=256,
    )


class _Flatten:
    """A stand-in model that returns its input flattened and scaled to 0..1."""

    def __call__(self, x, training=False):
        import tensorflow as tf

        return tf.reshape(x, (tf.shape(x)[0], -1)) / 255.0


def content_digest(path: str) -> str:
    """SHA-1 of a file's bytes: the cache key of an image ("" if it cannot be read)."""
    sha = hashlib.sha1()
    try:
        with open(path, "rb") as fh:
            for block in iter(lambda: fh.read(CHUNK), b""):
                sha.update(block)
    except OSError:
        return ""
    return sha.hexdigest()


def view_seeds(digests: Sequence[str], view: int) -> np.ndarray:
    """Seed pairs for stateless augmentation: (from the content digest, the view number)."""
    return np.array([(int(d[:12] or "0", 16), view) for d in digests], dtype=np.int64)


class FeatureCache:
    """Feature vectors on disk, one .npy per (image content, view), under one backbone key.

    `engine` (one of ENGINES) is the one its missing vectors are computed with; "auto" is
    resolved here, so that all of them are made alike. The default, "fp32", is what every
    cache held before int8 existed. int8 features live in their own folder (`<key>-int8`),
    so they are never read as fp32 ones or the other way round; fp32 ones (ONNX Runtime or
    TensorFlow, within 1e-4) share `<key>`.

    An int8 cache computes only the augmented training views (1..K) in int8 (`for_view`):
    the clean view 0, which validation, the evaluation, the index and the predictor's fp32
    model all see, stays fp32, so a run's reported metrics are what its predictor does.
    """

    def __init__(self, root: str | Path, key: str, engine: str = "fp32"):
        self.root, self.key, self.engine = Path(root), key, resolve_engine(engine)
        self.precision = precision(self.engine)
        self.dir = self.root / (f"{key}-int8" if self.precision == "int8" else key)
        self._made: set[Path] = set()  # folders known to exist

    def for_view(self, view: int | str) -> "FeatureCache":
        """The cache that computes and keeps `view`: fp32 for everything but the augmented views 1..K."""
        if self.precision == "int8" and not (isinstance(view, int) and view > 0):
            return self.with_engine("onnx")  # always exported: the int8 extractor is made from it anyway
        return self

    def with_engine(self, engine: str) -> "FeatureCache":
        """The same cache for features made by `engine` (itself when they are of the same precision)."""
        if precision(engine) == self.precision:
            return self
        return FeatureCache(self.root, self.key, engine)

    def _path(self, digest: str, view: int | str) -> Path:
        from glr.data import images

        # How photos are decoded is part of the key: other pixels, other features.
        pixels = f"-draft{images.DRAFT_SLACK:g}" if images.DRAFT_SLACK != 1 else ""
        return self.dir / f"{f'view{view}' if isinstance(view, int) else view}{pixels}" / digest[:2] / f"{digest}.npy"

    def load(self, digests: Sequence[str], view: int | str) -> tuple[list[np.ndarray | None], np.ndarray]:
        """Cached vectors (None where absent or unreadable) and a found-mask."""
        vectors = []
        for digest in digests:
            vector = None
            if digest:
                try:
                    vector = np.load(self._path(digest, view), allow_pickle=False)
                except (OSError, ValueError):
                    vector = None  # absent, or damaged by a crash: recompute
            vectors.append(vector)
        return vectors, np.array([v is not None for v in vectors], dtype=bool)

    def save(self, digest: str, view: int | str, vector: np.ndarray) -> None:
        """Store one vector atomically (a temp file renamed into place).

        Unlike a run's files these are not fsynced: a vector a crash damaged fails to load
        and is computed again, and the demo's 8,400 fsyncs took 117 s of a cold train's wall
        time on a busy machine (bench_cold_train.py). A write that fails goes through
        `glr.atomic.write_with`, whose error names the file and the problem.
        """
        buf = io.BytesIO()
        np.save(buf, np.asarray(vector, np.float32), allow_pickle=False)
        path = self._path(digest, view)
        tmp = path.with_name(f".{path.name}.{os.getpid()}-{threading.get_ident()}.tmp")
        try:
            if path.parent not in self._made:
                path.parent.mkdir(parents=True, exist_ok=True)
                self._made.add(path.parent)
            tmp.write_bytes(buf.getvalue())
            os.replace(tmp, path)
        except OSError:
            tmp.unlink(missing_ok=True)
            write_with(path, lambda t: Path(t).write_bytes(buf.getvalue()), suffix=".npy")


def cached_features(
    get_model: Callable[[], object],
    paths: Sequence[str],
    digests: Sequence[str],
    view: int,
    cache: FeatureCache | None,
    *,
    input_size: int,
    preprocess: Callable | None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    progress: Callable[[int], None] | None = None,
) -> tuple[np.ndarray, np.ndarray, int]:
    """Features of one view for every path, from the cache where possible.

    `get_model` is called only if something is missing, so a fully cached run never builds
    the backbone. Returns (features, ok-mask, number computed). Failed decodes are not cached.
    """
    def compute(todo_paths, todo_digests, engine, on_engine):
        return extract_features(
            get_model(), todo_paths, input_size=input_size, preprocess=preprocess,
            batch_size=batch_size, progress=progress, engine=engine, on_engine=on_engine,
            view_seeds=view_seeds(todo_digests, view) if view > 0 else None,
        )

    return _through_cache(compute, paths, digests, view, cache, progress)


def cached_views(
    get_model: Callable[[], object],
    paths: Sequence[str],
    digests: Sequence[str],
    views: Sequence[int],
    cache: FeatureCache | None,
    *,
    input_size: int,
    preprocess: Callable | None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    progress: Callable[[int], None] | None = None,
) -> tuple[list[np.ndarray], np.ndarray, int]:
    """Features of several views of every path ([one (N, D) array per view], ok-mask, number computed).

    A photo missing any of its views is decoded once for all of them (the pipeline's
    several-views mode: view 0 is the centre crop, view v > 0 the seeded augmented view v,
    exactly as `cached_features` makes them), which saves the decode and resize of every
    view but the first: most of the pipeline's cost on real photos (benchmarks/README.md).
    Only the missing vectors are stored. When the views are not all made on one engine (the
    int8 option keeps view 0 in fp32), each view goes through `cached_features` instead.
    """
    from glr.data.pipeline import CENTRE_VIEW

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
    loaded = [c.load(digests, v) if c else ([None] * len(paths), np.zeros(len(paths), bool))
              for c, v in zip(caches, views)]
    vectors = [list(vecs) for vecs, _ in loaded]
    found = np.stack([mask for _, mask in loaded], axis=1) if paths else np.zeros((0, len(views)), bool)
    ok = found.all(axis=1)
    if progress and ok.any():
        progress(int(ok.sum()) * len(views))
    todo = np.flatnonzero(~ok)
    if len(todo):
        # A photo with some views cached (rare: an older layout of the cache) gets all of them again.
        seeds = np.stack([np.broadcast_to(np.asarray(CENTRE_VIEW, np.int64), (len(todo), 2)) if v == 0
                          else view_seeds([digests[i] for i in todo], v) for v in views], axis=1)
        used: list[str] = []
        feats, decoded = extract_features(get_model(), [paths[i] for i in todo], view_seeds=seeds,
                                          engine=caches[0].engine if caches[0] else None, on_engine=used.append,
                                          **common)
        feats = feats.reshape(len(todo), len(views), -1)
        decoded = decoded.reshape(len(todo), len(views)).all(axis=1)
        for j, i in enumerate(todo):
            ok[i] = bool(decoded[j])
            for k, (view, c) in enumerate(zip(views, caches)):
                if vectors[k][i] is None:
                    vectors[k][i] = feats[j, k]
                    store = c.with_engine(used[0]) if c and used else c
                    if store and decoded[j] and digests[i]:
                        store.save(digests[i], view, feats[j, k])
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
    load_size: int,
    input_size: int,
    preprocess: Callable | None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    progress: Callable[[int], None] | None = None,
) -> tuple[np.ndarray, np.ndarray, int]:
    """`window_features` for every path, from the cache where possible: ((N, W, D), ok-mask, number computed)."""
    def compute(todo_paths, _digests, engine, on_engine):
        return window_features(get_map_model(), todo_paths, load_size=load_size, input_size=input_size,
                               preprocess=preprocess, batch_size=batch_size, progress=progress,
                               engine=engine, on_engine=on_engine)

    # The window set is part of the key: another set must not read these vectors.
    return _through_cache(compute, paths, digests, f"windows{load_size}-s{WINDOW_SHRINK}{'-flip' if WINDOW_FLIP else ''}", cache, progress)


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


def cached_view(compute: Callable, paths: Sequence[str], digests: Sequence[str], view: int | str,
                cache: FeatureCache | None, progress: Callable[[int], None] | None = None):
    """(features, ok-mask, number computed) of any view through the cache: `compute(paths, digests, engine, on_engine)`
    makes the missing ones, as `extract_features` would with those two arguments.

    For views made by other callers (the mirrored centre view of glr.retrieval.flip).
    """
    return _through_cache(compute, list(paths), list(digests), view, cache, progress)


def _through_cache(compute, paths, digests, view, cache, progress) -> tuple[np.ndarray, np.ndarray, int]:
    """Load what the cache has, `compute(paths, digests, engine, on_engine)` the rest and store it.

    The rest is computed on the cache's engine for that view (FeatureCache.for_view); if
    that fell back to another precision (int8 asked, fp32 made), the vectors are stored
    where fp32 ones belong.
    """
    cache = cache.for_view(view) if cache else None
    vectors, found = cache.load(digests, view) if cache else ([None] * len(paths), np.zeros(len(paths), bool))
    ok = found.copy()
    if progress and found.any():
        progress(int(found.sum()))
    todo = np.flatnonzero(~found)
    if len(todo):
        used: list[str] = []
        feats, decoded = compute([paths[i] for i in todo], [digests[i] for i in todo],
                                 cache.engine if cache else None, used.append)
        store = cache.with_engine(used[0]) if cache and used else cache
        for j, i in enumerate(todo):
            ok[i] = bool(decoded[j])
            vectors[i] = feats[j]
            if store and decoded[j] and digests[i]:
                store.save(digests[i], view, feats[j])
    shape = next((v.shape for v in vectors if v is not None), (0,))
    out = np.stack([v if v is not None else np.zeros(shape, np.float32) for v in vectors]) if vectors \
        else np.zeros((0, *shape), np.float32)
    return out.astype(np.float32), ok, int(len(todo))

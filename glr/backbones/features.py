"""Frozen-backbone features: one compiled forward pass over a tf.data pipeline (its disk cache: feature_cache).

While the backbone is frozen its output for a given image and augmented view never
changes, so features are computed once and everything downstream (the linear probe, the
head) trains on them. glr.backbones.feature_cache keeps them on disk by the image's content
(not its path), the backbone, its weights, the input size and the view, so a later run, or
the same photos in another folder, computes nothing again.

View 0 is the clean centre crop (validation, prediction). Views 1..K are augmented crops
and flips whose randomness is seeded by the image content and the view number, so "view 3
of this photo" always means the same pixels.

Augmenting in feature space (`augment_space="features"`) is cheaper still: the
backbone runs on the centre crop and on its mirror image, which flip averaging needs for
the index anyway, and the views are the average pools of windows of their spatial feature
maps (7x7 for a stride-32 network at 224 px): a 6x6 window stands for a 192 px crop of the
centre crop, a 5x5 one for a 160 px crop, and the mirror's windows are the flips. Two
passes per training photo give all its views, instead of the K + 1 passes of image views.
"""

from __future__ import annotations

import hashlib
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Iterator, Sequence

import numpy as np

from glr.data.pipeline import DEFAULT_BATCH_SIZE, make_dataset

CHUNK = 1 << 20
# Windows down to this many cells smaller than the map: for a stride-32 backbone at 224 px,
# the whole 7x7 map and its windows of 6 and 5 cells, 14 views per image (28 with the mirror).
# Measured on the demo's 8x8 maps of the whole photo before (head trained with 3 seeds),
# windows down to 6 cells scored 0.920, down to 5 cells 0.923.
WINDOW_SHRINK = 2
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
KEPT = "_glr_kept"  # the attribute of a model that holds what glr made from it once (`kept`)


def kept(model, key, make: Callable[[], Any]) -> Any:
    """What `make()` gives, made once per `model` and `key`, then kept on the model itself.

    One traced function per model: tracing a backbone costs a second or two, a run extracts several
    sets (validation, training, distractors, the index) with the same model, and a new tf.function
    each time made TensorFlow warn of "triggered tf.function retracing". Kept on the model (a plain
    attribute, past Keras' tracking), not in a table keyed by it: what is made holds the model, so a
    table would keep every model ever used alive, where a model and its functions are freed together.
    """
    made = vars(model).get(KEPT) if hasattr(model, "__dict__") else None
    if made is None:
        made = {}
        try:
            object.__setattr__(model, KEPT, made)
        except (AttributeError, TypeError):  # a stand-in that takes no attributes: made each time
            return make()
    if key not in made:
        made[key] = make()
    return made[key]


def compiled_forward(model) -> Callable:
    """`model` as a traced tf.function with BatchNorm in inference mode.

    Measured here, this is about 2x faster than `model.predict` per batch and 6x faster
    than eager calls, because the graph is traced once and reused.
    """
    import tensorflow as tf

    return kept(model, "forward", lambda: tf.function(lambda x: model(x, training=False), reduce_retracing=True,
                                                        autograph=False))


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


def _forwarded(forward: Callable, ds) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray | None]]:
    """(images, ok, `forward` of the images that decoded or None) for each batch of `ds`, in order.

    A `forward` with a `concurrency` of n (glr.backbones.onnx_features.ExtractorSessions) runs n batches
    side by side in as many threads, and holds no more than n batches beyond the one being read.
    """
    def one(images, ok):
        return images, ok, np.asarray(forward(images if ok.all() else images[ok])) if ok.any() else None

    batches = ((images, np.asarray(ok, bool)) for images, ok in ds.as_numpy_iterator())
    width = getattr(forward, "concurrency", 1)
    if width <= 1:
        yield from (one(images, ok) for images, ok in batches)
        return
    with ThreadPoolExecutor(width, thread_name_prefix="glr-extract") as pool:
        running: deque = deque()
        for images, ok in batches:
            running.append(pool.submit(one, images, ok))
            if len(running) >= width:
                yield running.popleft().result()
        while running:
            yield running.popleft().result()


def _run_batches(forward: Callable, ds, empty_shape: tuple, progress: Callable[[int], None] | None):
    """`forward` over every (images, ok) batch of `ds`: (features, ok-mask), concatenated.

    tf.data decodes and resizes the next batches in its own threads while `forward` runs.
    Only the images that decoded go through `forward`: a photo that does not decode (or is
    blank) is left out by every caller, and its black stand-in cost a whole backbone pass.
    Its features are zeros. A batch of such photos alone costs nothing, unless no photo has
    given the features' shape yet (then one image goes through, at the end).
    """
    pieces, shape, stand_in = [], None, None
    for images, ok, out in _forwarded(forward, ds):
        if out is not None:
            shape = out.shape[1:]
        else:
            stand_in = images[:1]
        pieces.append((out, ok))
        if progress:
            progress(len(ok))
    if not pieces:
        return np.zeros((0, *empty_shape), np.float32), np.zeros((0,), bool)
    if shape is None:  # no photo decoded: one stand-in pass gives the features' shape
        shape = np.asarray(forward(stand_in)).shape[1:]
    parts = []
    for out, ok in pieces:
        part = out if ok.all() else np.zeros((len(ok), *shape), np.float32)
        if out is not None and not ok.all():
            part[ok] = out
        parts.append(part)
    # No second copy of the table when it is float32 already (4,000 x 14 x 1,280 floats on the demo: 0.29 GB whose
    # pages each cost a fault).
    return np.concatenate(parts).astype(np.float32, copy=False), np.concatenate([ok for _, ok in pieces])


def spatial_model(backbone):
    """The backbone without its final global average pooling (the feature map), or None.

    None when the backbone does not end in a GlobalAveragePooling2D layer, whose windows
    could not stand for crops.
    """
    import keras

    last = backbone.layers[-1]
    if not isinstance(last, keras.layers.GlobalAveragePooling2D):
        return None
    # One map model per backbone: a new one would trace its forward passes again (`kept`).
    return kept(backbone, "map", lambda: keras.Model(backbone.input, last.input, name=f"{backbone.name}_map"))


def windows(map_side: int) -> list[tuple[int, int, int]]:
    """(side, row, col) of the feature-map windows that stand for crops: the whole map first.

    Then, row by row, every window of 1 to WINDOW_SHRINK cells fewer than the map (smaller
    crops), larger windows first: the order of `window_features`' stride-1 pools.
    """
    out = [(map_side, 0, 0)]
    for side in range(map_side - 1, map_side - WINDOW_SHRINK - 1, -1):
        if side >= 1:
            out += [(side, i, j) for i in range(map_side - side + 1) for j in range(map_side - side + 1)]
    return out


def window_features(
    map_model,
    paths: Sequence[str],
    *,
    input_size: int,
    preprocess: Callable | None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    progress: Callable[[int], None] | None = None,
    engine: str | None = None,
    on_engine: Callable[[str], None] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """(N, 2W, D) pooled map windows of each photo's centre crop, then of its mirror image's; and an ok-mask.

    `map_model` is the backbone without its global pooling (`spatial_model`), at `input_size`.
    The W windows are `windows(map side)`: the whole map first, so windows 0 and W
    are exactly the centre crop's and the mirror image's pooled features (the feature cache's
    view 0 and MIRROR_VIEW). Both images come from one decode.
    """
    import tensorflow as tf

    from glr.data.pipeline import CENTRE_MIRROR_VIEW, CENTRE_VIEW

    map_side = int(map_model.output.shape[1])
    boxes = windows(map_side)

    sides = sorted({k for k, _, _ in boxes}, reverse=True)

    def windows_forward(x):
        fmap = map_model(x, training=False)
        # One average pool per window side, stride 1: its outputs, row by row, are `boxes`' windows of that side
        # (14 slices and means made the ONNX extractor 17% slower than the pooled one; three pools cost nothing).
        pools = [tf.nn.avg_pool2d(fmap, k, 1, "VALID") for k in sides]
        return tf.concat([tf.reshape(p, (-1, p.shape[1] * p.shape[2], p.shape[3])) for p in pools], axis=1)

    forward = kept(map_model, "windows", lambda: tf.function(windows_forward, reduce_retracing=True, autograph=False))

    run = _engine(map_model, forward, input_size, 2 * len(paths), f"windows-pools{boxes}", engine, preprocess, on_engine)
    seeds = np.tile(np.asarray([CENTRE_VIEW, CENTRE_MIRROR_VIEW], np.int64), (len(paths), 1, 1))
    ds = make_dataset(paths, input_size=input_size, preprocess=preprocess, shuffle=False,
                      batch_size=batch_size, view_seeds=seeds, with_ok=True)
    feats, ok = _run_batches(run, ds, (len(boxes), 0), progress)
    # The pipeline gives each photo's two images one after the other: put their windows side by side.
    return feats.reshape(len(paths), 2 * len(boxes), -1), ok.reshape(len(paths), 2).all(axis=1)


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

    def pooled_forward(x):
        out = []
        for image in (x, tf.reverse(x, axis=[2])):
            fmap = map_model(image, training=False)
            out += [tf.reduce_mean(fmap, axis=(1, 2)), gem_pool(fmap, p)]
        return tf.stack(out, axis=1)

    forward = kept(map_model, ("pooled", p), lambda: tf.function(pooled_forward, reduce_retracing=True, autograph=False))

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

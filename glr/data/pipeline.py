"""tf.data input pipelines: decode -> resize -> (augment | centre crop) -> preprocess -> batch.

Decoding goes through `glr.data.images` (Pillow) rather than `tf.io.decode_image`, so EXIF
rotation, CMYK, 16-bit and palette images come out right, and the JPEG decoder can
downscale while decoding. Pillow releases the GIL while it decodes and resizes, so the
parallel map still uses every core. The work is done per batch (one Python call decodes,
crops and flips a whole batch; one TF op casts and preprocesses it), because per-image TF
ops cost more than the crop itself (benchmarks/README.md, "Input pipeline").

The study resized to 224x224 and augmented with random crop and flip. Here each image is
first resized to a slightly larger square (224 -> 256, the usual ImageNet ratio), then
training takes a random crop of the input size and a random horizontal flip, while
evaluation takes the centre crop. Both therefore see objects at the same scale.
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from glr.errors import ImageError
from glr.data.images import decode_views

# 256/224: the resize-then-crop ratio of the ImageNet recipes the backbones were trained with.
CROP_RATIO = 224 / 256
DEFAULT_BATCH_SIZE = 32
# View seed pairs that ask for the centre crop, and for its mirror image (glr's own pairs are never negative).
CENTRE_VIEW = (-1, -1)
CENTRE_MIRROR_VIEW = (-2, -2)


def load_size(input_size: int) -> int:
    """The square side an image is resized to before cropping `input_size` out of it."""
    return int(round(input_size / CROP_RATIO))


def _decode_or_blank(path: bytes, size: int, boxes: np.ndarray, side: int) -> tuple[list[np.ndarray], bool]:
    """The (row, col, flip) `boxes` of `side` px cut from one file resized to `size` (decode_views); a file that
    fails, or is one flat colour, gives black views and ok=False.

    Inside tf.data an exception would end the whole epoch, so the failure travels as a
    flag, and callers decide (drop the example, report it).
    """
    try:
        return decode_views(path.decode("utf-8"), int(size), boxes, side, refuse_blank=True), True
    except ImageError:
        return [np.zeros((side, side, 3), np.uint8)] * len(boxes), False


def _load_batch(paths: np.ndarray, boxes: np.ndarray, big: int, side: int) -> tuple[np.ndarray, np.ndarray]:
    """Decode a batch of files to `big` squares and cut each file's (row, col, flip) boxes of `side` px.

    One Python call per batch instead of several TF ops per image, and tf.data runs a few
    batches in parallel. Each file is decoded once however many views are cut from it; the
    views come out file by file.
    """
    views = boxes.shape[1]
    out = np.empty((len(paths) * views, side, side, 3), np.uint8)
    ok = np.empty((len(paths),), bool)
    for i, (path, file_boxes) in enumerate(zip(paths, boxes)):
        file_views, ok[i] = _decode_or_blank(path, big, file_boxes, side)
        for j, view in enumerate(file_views):
            out[i * views + j] = view
    return out, np.repeat(ok, views)


def _view_box(pair, big: int, side: int):
    """(row, col, flip) of the random view seed `pair` gives: the draws of TF's stateless crop and flip.

    These are the draws `tf.image.stateless_random_crop` and `stateless_random_flip_left_right`
    make on a (big, big, 3) image (TF's own code, reproduced), so a view seed gives the same
    view as it always has and the feature cache's views stay valid.
    """
    import tensorflow as tf

    limit = tf.constant([big - side + 1, big - side + 1, 1], tf.int32)
    offset = tf.random.stateless_uniform([3], seed=pair, maxval=tf.int32.max, dtype=tf.int32) % limit
    flip = tf.random.stateless_uniform([], seed=pair + 1) < 0.5
    return tf.stack([offset[0], offset[1], tf.cast(flip, tf.int32)])


def _fixed_boxes(views: int | np.ndarray, big: int, side: int) -> np.ndarray:
    """(N, V, 3) boxes (row, col, flip) of views that need no draw: the centre crop for each of `views` files
    (a count), or per seed pair of `views` (N, V, 2), all CENTRE_VIEW or CENTRE_MIRROR_VIEW."""
    centre = (big - side) // 2
    mirror = np.zeros((views, 1), np.int32) if np.ndim(views) == 0 else \
        (views[..., 0] == CENTRE_MIRROR_VIEW[0]).astype(np.int32)
    return np.stack([np.full_like(mirror, centre), np.full_like(mirror, centre), mirror], axis=-1)


def _seeded_box(pair, big: int, side: int):
    """`_view_box` of a view seed pair, or the centre crop (mirrored) for CENTRE_VIEW (CENTRE_MIRROR_VIEW)."""
    import tensorflow as tf

    centre = (big - side) // 2
    fixed = tf.stack([centre, centre, tf.cast(pair[0] == CENTRE_MIRROR_VIEW[0], tf.int32)])
    return tf.where(pair[0] < 0, fixed, _view_box(pair, big, side))


def _live_boxes(draws, n, big: int, side: int):
    """(n, 1, 3) random boxes (row, col, flip) for a batch of n files, from 3n or more of tf.data's random int64s."""
    import tensorflow as tf

    r = tf.reshape(draws[:3 * n], (n, 3))
    limits = tf.constant([big - side + 1, big - side + 1, 2], tf.int64)
    return tf.cast(tf.math.floormod(r, limits), tf.int32)[:, None, :]


def make_dataset(
    paths: Sequence[str],
    labels: Sequence[int] | None = None,
    *,
    input_size: int = 224,
    preprocess: Callable | None = None,
    training: bool = False,
    batch_size: int = DEFAULT_BATCH_SIZE,
    shuffle: bool | None = None,
    seed: int = 0,
    view_seeds: np.ndarray | None = None,
    with_ok: bool = False,
    parts: Callable | None = None,
):
    """Build a batched, prefetched `tf.data.Dataset` of (image[, label][, ok]) from files.

    `training=True` applies the study's augmentation (random crop, horizontal flip) and, by
    default, shuffles; otherwise the centre crop is taken and the order kept. `view_seeds`
    (one pair of ints per image) makes that augmentation reproducible instead: the same
    pair always gives the same crop and flip, which is what lets the feature cache store a
    view. `view_seeds` of shape (N, V, 2) gives V views of each file, decoded once: N * V
    images, file by file (labels and ok-flags repeated). A view seed pair whose first value
    is negative gives the centre crop (CENTRE_VIEW) or its mirror image (CENTRE_MIRROR_VIEW).
    `preprocess` is the backbone's own input transform, applied to float32 RGB in 0..255 (to
    whole batches: it must be element-wise).
    `with_ok` adds a boolean per image that is False where the file could not be decoded.
    `parts` (one view per file) maps the dataset of batches of (path, crop box[, label]) before they are
    decoded: a cluster worker's part of each batch (glr.training.loop.worker_part) decodes only its rows.
    """
    import tensorflow as tf

    big = load_size(input_size)
    paths = [str(p) for p in paths]
    n = len(paths)
    seeds = None if view_seeds is None else np.asarray(view_seeds, np.int64)
    seeds = seeds if seeds is None or seeds.ndim == 3 else seeds.reshape(n, 1, 2)  # (files, views per file, 2)
    per_file = 1 if seeds is None else seeds.shape[1]
    live_random = training and view_seeds is None
    extra = () if labels is None else (np.asarray(labels, dtype=np.int32),)
    if live_random or (seeds is not None and (seeds[..., 0] >= 0).any()):
        boxes = None  # drawn by TensorFlow: per batch (live), or per photo from its seed pairs (drawn views)
    else:
        boxes = _fixed_boxes(n if seeds is None else seeds, big, input_size)  # no draw: known before the pipeline
    # Live boxes are drawn once batched, so a live dataset has no box column yet.
    columns = (paths, *extra) if live_random else (paths, seeds if boxes is None else boxes, *extra)
    ds = tf.data.Dataset.from_tensor_slices(columns)
    if shuffle if shuffle is not None else training:
        ds = ds.shuffle(n, seed=seed, reshuffle_each_iteration=True)
    # Several views per file: batches of files that give about batch_size images, cut to size after.
    files = max(1, batch_size // per_file)
    if live_random:
        # Live augmentation: fresh crops and flips on every pass over the data (each epoch gets new ones) that
        # repeat run after run, drawn for a whole batch at once (per-photo TF ops cost more than the crop).
        draws = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).batch(3 * files)
        ds = tf.data.Dataset.zip(ds.batch(files), draws).map(plain(lambda cols, r: (cols[0], _live_boxes(
            r, tf.shape(cols[0])[0], big, input_size), *cols[1:])))
    elif boxes is None:
        def box(path, pair, *rest):
            # Stateless draws: the view depends only on the pair, so a parallel map stays repeatable.
            return (path, tf.stack([_seeded_box(pair[v], big, input_size) for v in range(per_file)]), *rest)

        ds = ds.map(plain(box), num_parallel_calls=tf.data.AUTOTUNE, deterministic=True).batch(files)
    else:
        ds = ds.batch(files)

    def load(path, where, *rest):
        images, ok = tf.numpy_function(_load_batch, [path, where, big, input_size], [tf.uint8, tf.bool], stateful=False)
        images.set_shape((None, input_size, input_size, 3))
        ok.set_shape((None,))
        images = tf.cast(images, tf.float32)
        if preprocess is not None:
            images = preprocess(images)  # once per batch: the backbones' transforms are element-wise
        rest = tuple(tf.repeat(r, per_file, axis=0) for r in rest) if per_file > 1 else rest
        parts = (images, *rest) + ((ok,) if with_ok else ())
        return parts if len(parts) > 1 else images

    if parts is not None:
        ds = parts(ds)
    ds = ds.map(plain(load), num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    if files * per_file != batch_size:
        ds = ds.rebatch(batch_size)
    return without_autotuning(ds.prefetch(tf.data.AUTOTUNE))


def plain(fn):
    """`fn` as tf.data and tf.function trace it as written, without AutoGraph's rewrite.

    glr's traced functions branch on Python values only, never on tensors, so the rewrite changed
    nothing in them, and each one cost AutoGraph a conversion in every process (0.3 s of CPU for the
    pipeline's and phase 1's: benchmarks/bench_trace.py).
    """
    import tensorflow as tf

    return tf.autograph.experimental.do_not_convert(fn)


def without_autotuning(ds):
    """`ds` without tf.data's autotuning thread, whose AUTOTUNE values then mean the machine's cores (at most 16).

    With that thread, deleting a finished iterator sat idle until the thread's timed wait ran out (TensorFlow
    2.21's destructor waits for it): 8-9 s after an extraction of 1,600 photos (benchmarks/bench_iterator_end.py),
    and some of phase 1's epochs took twice their time (benchmarks/README.md). The decode keeps up as well
    without it (bench_pipeline.py).
    """
    import tensorflow as tf

    options = tf.data.Options()
    options.autotune.enabled = False
    return ds.with_options(options)

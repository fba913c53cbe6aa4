"""Phase 1's datasets: batches of cached features and class indices, read from the NumPy table in place.

At GLDv2-clean size the training features are 1.26M photos x K views x 1280 numbers
(6.4 GB per view in float32, half that in float16). `tf.constant(table)` or
`from_tensor_slices(table)` would copy all of it into TensorFlow, so here the datasets
hold only indices: each batch's rows are gathered from the NumPy array by
`tf.numpy_function` (a 32-row gather costs microseconds) and cast to float32 there, so the
table may be stored in float16. Labels stay class indices (int32); the training step makes
the one-hot targets per batch (glr.training.loop).
"""

from __future__ import annotations

import numpy as np


def _gather(table: np.ndarray, index, view=None):
    """float32 rows of `table` (and of view `view` of each row when the table has views), gathered in NumPy."""
    import tensorflow as tf

    def rows(i, v=None):
        return np.asarray(table[i] if v is None else table[i, v], dtype=np.float32)

    args = [index] if view is None else [index, view]
    x = tf.numpy_function(rows, args, tf.float32, stateful=False)
    x.set_shape((None, table.shape[-1]))
    return x


def train_dataset(feats: np.ndarray, labels: np.ndarray, batch_size: int, seed: int):
    """Each epoch: every training photo once, in a new order, as one of its K cached views at random.

    `feats` is (N, K, D), any float dtype; batches are (float32 (B, D), int32 (B,)).
    """
    import tensorflow as tf

    n, k = feats.shape[:2]
    ds = tf.data.Dataset.from_tensor_slices((np.arange(n, dtype=np.int32), np.asarray(labels, np.int32)))
    ds = ds.shuffle(n, seed=seed, reshuffle_each_iteration=True).batch(batch_size)
    # The views are drawn per batch, one vector of draws: a map per photo cost more than the
    # head's training steps on the demo (measured: benchmarks/README.md, "Phase 1, faster").
    # The draws still come in the same order every run, so training stays repeatable for a seed.
    def rows(i, y):
        views = tf.random.uniform(tf.shape(i), 0, k, dtype=tf.int32, seed=seed)
        return _gather(feats, i, views), y

    return ds.map(rows).prefetch(tf.data.AUTOTUNE)


def eval_dataset(feats: np.ndarray, labels: np.ndarray, batch_size: int):
    """Every validation photo once, in order: (float32 (B, D), int32 (B,)) from `feats` (M, D)."""
    import tensorflow as tf

    ds = tf.data.Dataset.from_tensor_slices((np.arange(len(feats), dtype=np.int32), np.asarray(labels, np.int32)))
    return ds.batch(batch_size).map(lambda i, y: (_gather(feats, i), y)).prefetch(tf.data.AUTOTUNE)

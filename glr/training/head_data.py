"""Phase 1's datasets: batches of cached features and class indices, read from the NumPy table in place.

At GLDv2-clean size the training features are 1.26M photos x K views x 1280 numbers
(6.4 GB per view in float32, half that in float16). `tf.constant(table)` or
`from_tensor_slices(table)` would copy all of it into TensorFlow, so here the datasets
hold only indices: each batch's rows are gathered from the NumPy array by
`tf.numpy_function` (a 32-row gather costs microseconds) and cast to float32 there, so the
table may be stored in float16. Labels stay class indices (int32); the training step makes
the one-hot targets per batch (glr.training.loop). `WindowChoice` decides how many of the default's
map windows per photo the table holds, within a share of the machine's memory.
"""

from __future__ import annotations

import os

import numpy as np

from glr.data.pipeline import plain, without_autotuning

# The share of the machine's memory phase 1's training table may take. The default's 28 windows per photo
# are 72 KB in float16: 115 MB for the demo, but 91 GB for GLDv2-clean's 1.26M training photos.
TABLE_MEMORY_SHARE = 0.25


def machine_memory() -> int:
    """This machine's physical memory in bytes."""
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def table_budget() -> int:
    """The bytes phase 1's training table may take on this machine."""
    return int(TABLE_MEMORY_SHARE * machine_memory())


def views_within_budget(photos: int, views: int, dim: int, budget: int | None = None) -> tuple[int, type]:
    """(views per photo, dtype) of the image views' table (`--augment-space images`) within the memory budget.

    All views in float32 when they fit; else in float16 (as the map windows always are); else
    as many as fit in float16, at least the first two (the centre crop and its mirror).
    """
    budget = table_budget() if budget is None else budget
    if photos * views * dim * 4 <= budget:
        return views, np.float32
    return int(min(views, max(min(views, 2), budget // max(1, photos * dim * 2)))), np.float16


class WindowChoice:
    """Which of each photo's map windows phase 1 holds: all of them when the table fits its memory budget.

    Called with one photo's (2W, D) windows (its centre crop's W, then its mirror's), it returns
    the kept ones; the choice is made at the first call, from the window count and width. Over
    budget it keeps the first k of each half, k as large as fits and at least 1: the whole
    map first, then the larger windows, so the smallest crops go first. `kept` and `total`
    say what was chosen.
    """

    def __init__(self, photos: int, itemsize: int = 2, budget: int | None = None):
        self.photos, self.itemsize = photos, itemsize
        self.budget = table_budget() if budget is None else budget
        self.index: list[int] | None = None
        self.kept = self.total = self.dim = 0

    def table_bytes(self, windows: int, dim: int | None = None) -> int:
        """The training table's size with `windows` per photo of `dim` numbers (by default the width seen)."""
        return self.photos * windows * (dim or self.dim) * self.itemsize

    def message(self) -> str | None:
        """What was kept and why, for the run's status and the CLI; None when every window fits."""
        if self.kept == self.total:
            return None
        return (f"phase 1 holds {self.kept} of the {self.total} map windows of each training photo "
                f"({self.table_bytes(self.kept) / 1e9:.1f} GB): all of them would take "
                f"{self.table_bytes(self.total) / 1e9:.1f} GB, over {self._budget_text()}")

    def whole_maps_message(self, dim: int) -> str:
        """`message` for a choice `whole_maps_only(dim)` made before any window was seen."""
        return (f"phase 1 holds the two whole maps of each training photo (its centre crop's and its mirror's, "
                f"{self.table_bytes(2, dim) / 1e9:.1f} GB), not its smaller windows: they would exceed "
                f"{self._budget_text()}")

    def _budget_text(self) -> str:
        return f"its budget of {self.budget / 1e9:.1f} GB ({TABLE_MEMORY_SHARE:.0%} of this machine's memory)"

    def whole_maps_only(self, dim: int) -> bool:
        """Whether the budget leaves room for no more than the two whole maps per photo, whatever the window count.

        Known before any feature is made, so the caller can ask for just those two views (the
        cache's view 0 and mirror) instead of making and storing every window.
        """
        return self.budget // max(1, self.table_bytes(2, dim)) <= 1

    def __call__(self, vector: np.ndarray) -> np.ndarray:
        if self.index is None:
            self.total, self.dim = vector.shape
            half = self.total // 2
            fits = self.budget // max(1, self.table_bytes(2))
            k = int(min(half, max(1, fits)))
            self.index = list(range(k)) + list(range(half, half + k))
            self.kept = len(self.index)
        return vector if self.kept == self.total else vector[self.index]


def keep_rows(table: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The rows of `table` where `mask` is True, moved to its front in place: `table[:k]`, never a copy of the table.

    Boolean indexing would copy the whole table, which at GLDv2 size is gigabytes more at the peak.
    """
    rows = np.flatnonzero(mask)
    if len(rows) == len(table):
        return table
    step = 4096
    for start in range(0, len(rows), step):
        # Each kept row moves to a lower or equal index, so no row is overwritten before it has moved.
        table[start:start + len(rows[start:start + step])] = table[rows[start:start + step]]
    return table[:len(rows)]


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

    return without_autotuning(ds.map(plain(rows)).prefetch(tf.data.AUTOTUNE))


def eval_dataset(feats: np.ndarray, labels: np.ndarray, batch_size: int):
    """Every validation photo once, in order: (float32 (B, D), int32 (B,)) from `feats` (M, D)."""
    import tensorflow as tf

    ds = tf.data.Dataset.from_tensor_slices((np.arange(len(feats), dtype=np.int32), np.asarray(labels, np.int32)))
    rows = plain(lambda i, y: (_gather(feats, i), y))
    return without_autotuning(ds.batch(batch_size).map(rows).prefetch(tf.data.AUTOTUNE))


def table_plan(photos: int, dim: int, views: list, windows: bool) -> tuple[list, type, dict, str | None]:
    """What phase 1's training table will hold within the memory budget, decided before any feature is made.

    Returns (views to ask the cache for, dtype, status fields, message or None). With the map
    windows (`windows`; `views` are then the two whole maps' views) the views are empty,
    WindowChoice picking windows as they come, unless not even two per photo fit: then the
    two whole maps alone. With image views, `views_within_budget` of them.
    """
    if windows:
        choice = WindowChoice(photos)
        if not choice.whole_maps_only(dim):
            return [], np.float16, {}, None
        return views, np.float16, {"windows_kept": 2, "windows_total": None}, choice.whole_maps_message(dim)
    kept, dtype = views_within_budget(photos, len(views), dim)
    if dtype == np.float32:
        return views, dtype, {}, None
    return views[:kept], dtype, {"views_kept": kept, "views_total": len(views)}, (
        f"phase 1 holds {kept} of the {len(views)} image views of each training photo, in float16: all of them "
        f"in float32 would take {photos * len(views) * dim * 4 / 1e9:.1f} GB, over its budget of "
        f"{table_budget() / 1e9:.1f} GB ({TABLE_MEMORY_SHARE:.0%} of this machine's memory)")

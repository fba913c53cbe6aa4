"""The feature cache's files: one .npy per (photo content, view), under a key naming the backbone and how it ran.

`FeatureCache` reads and writes them; glr.backbones.feature_cache computes what is missing
through it. A vector is keyed by the photo's content (its SHA-1: a file moved or renamed is
found again), by its view (the centre crop, its mirror image, a seeded augmented view, the map
windows) and by how it was made: the backbone, input size and weights (the key), the precision,
and the decode rules (each view folder's name ends in `decode_tag()`).
"""

from __future__ import annotations

import contextlib
import functools
import io
import os
import threading
from pathlib import Path
from typing import Sequence

import numpy as np

from glr import unwritable
from glr.atomic import StorageError, write_with
from glr.backbones import cache_notes
from glr.backbones.features import WINDOW_SHRINK, precision, resolve_engine
from glr.backbones.finite import all_finite, half_or_float32
from glr.backbones.quantize import int8_suffix

# The feature cache's name for the mirror image of the centre crop (flip averaging, glr.retrieval.flip).
MIRROR_VIEW = "view0-mirror"
# The views that are a photo's whole feature maps, pooled: its centre crop's and its mirror image's.
WHOLE_MAP_VIEWS = (0, MIRROR_VIEW)
# The map windows' name (cached_window_features). Each photo's file holds its windows in float16 and, after them,
# a second .npy array: its two whole maps in float32, which views 0 and MIRROR_VIEW are read from when they have
# no file of their own. One file per photo rather than three: a cold demo train wrote 6,000 files, at about
# 0.4 ms of kernel time each on this machine (benchmarks/README.md). The window set and the precision are in
# the name: another set must never read these vectors.
WINDOWS_VIEW = f"windows-s{WINDOW_SHRINK}-mirror-f16"


def decode_tag() -> str:
    """The end of every view folder's name (glr.data.decode_rules.decode_tag) for the rules the decoder reads:
    glr.data.images' draft slack and blank range, which tests and benchmarks set to decode otherwise."""
    from glr.data import images

    return _decode_tag(images.DRAFT_SLACK, images.BLANK_RANGE)


@functools.lru_cache(maxsize=16)
def _decode_tag(draft_slack: float, blank_range: int) -> str:
    # Asked for every file the cache reads or writes (about 10,000 in a cold demo train): made once per rule set.
    from glr.data import decode_rules

    return decode_rules.decode_tag(draft_slack, blank_range)


class FeatureCache:
    """Feature vectors on disk, one .npy per (image content, view), under one backbone key (a photo's map windows
    carry its whole maps, views 0 and MIRROR_VIEW, in their file: WINDOWS_VIEW).

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
        self.dir = self.root / (f"{key}-int8{int8_suffix()}" if self.precision == "int8" else key)
        self._made: set[Path] = set()  # folders known to exist

    def for_view(self, view: int | str) -> "FeatureCache":
        """The cache that computes and keeps `view`: fp32 for everything but the random views 1..K (not the mirror)."""
        if self.precision == "int8" and not (isinstance(view, int) and view > 0):
            return self.with_engine("onnx")  # always exported: the int8 extractor is made from it anyway
        return self

    def with_engine(self, engine: str) -> "FeatureCache":
        """The same cache for features made by `engine` (itself when they are of the same precision)."""
        if precision(engine) == self.precision:
            return self
        return FeatureCache(self.root, self.key, engine)

    def _path(self, digest: str, view: int | str) -> Path:
        return self.dir / f"{f'view{view}' if isinstance(view, int) else view}{decode_tag()}" / digest[:2] / f"{digest}.npy"

    def load(self, digests: Sequence[str], view: int | str) -> tuple[list[np.ndarray | None], np.ndarray]:
        """Cached vectors (None where absent, unreadable or holding NaN or inf: computed again, said) and a found-mask."""
        return self.load_views(digests, [view])[0]

    def load_views(self, digests: Sequence[str], views: Sequence[int | str]) -> list[tuple[list[np.ndarray | None], np.ndarray]]:
        """`load` of each of `views`; a photo's whole maps (WHOLE_MAP_VIEWS) without files of their own are read
        from its map windows' file (WINDOWS_VIEW), once for both."""
        vectors: list[list[np.ndarray | None]] = [[] for _ in views]
        for digest in digests:
            maps: np.ndarray | None | bool = False  # the windows file's whole maps: not read yet
            for k, view in enumerate(views):
                vector = self._read(self._path(digest, view)) if digest else None
                if vector is None and digest and view in WHOLE_MAP_VIEWS:
                    if maps is False:
                        maps = self._whole_maps(digest)
                    if maps is not None:
                        vector = maps[WHOLE_MAP_VIEWS.index(view)]
                vectors[k].append(vector)
        return [(vecs, np.array([v is not None for v in vecs], dtype=bool)) for vecs in vectors]

    def _read(self, path: Path) -> np.ndarray | None:
        try:
            vector = np.load(path, allow_pickle=False)
        except (OSError, ValueError):
            return None  # absent, or damaged by a crash: recompute
        if not all_finite(vector):
            cache_notes.damaged(self.root, path)  # never trained on; its new vector replaces it
            return None
        return vector

    def _whole_maps(self, digest: str) -> np.ndarray | None:
        """The (2, D) float32 whole maps stored after a photo's map windows, or None (no such file, or one of
        the layout before, which held the windows alone)."""
        path = self._path(digest, WINDOWS_VIEW)
        fmt = np.lib.format
        try:
            with open(path, "rb") as f:
                # The windows' header alone: their numbers are skipped, not read (the maps are 1/14 of the file).
                header = fmt.read_array_header_1_0 if fmt.read_magic(f) == (1, 0) else fmt.read_array_header_2_0
                shape, _, dtype = header(f)
                f.seek(int(np.prod(shape)) * dtype.itemsize, os.SEEK_CUR)
                maps = fmt.read_array(f, allow_pickle=False)
        except (OSError, ValueError):
            return None
        if not shape or maps.shape != (2, shape[-1]) or maps.dtype != np.float32:
            return None
        if not all_finite(maps):
            cache_notes.damaged(self.root, path)
            return None
        return maps

    def save(self, digest: str, view: int | str, vector: np.ndarray, dtype=np.float32,
             maps: np.ndarray | None = None) -> None:
        """Store one vector (or table) as `dtype`, atomically (a temp file renamed into place); `maps`, a photo's
        (2, D) whole maps, follow its map windows in the same file, in float32 (WINDOWS_VIEW).

        Unlike a run's files these are not fsynced: a vector a crash damaged fails to load
        and is computed again, and the demo's 8,400 fsyncs took 117 s of a cold train's wall
        time on a busy machine (bench_cold_train.py). A write that fails goes through
        `glr.atomic.write_with`, whose error names the file and the problem.

        A folder that cannot be written (glr.unwritable: a read-only mount, no permission) is no
        reason to fail a training: this cache root stops storing in this process, says once
        why, and its vectors are computed again next time. A full disk or a file in the way
        still raises.
        """
        if cache_notes.not_kept(self.root):
            return
        if dtype == np.float16:
            dtype = half_or_float32(vector)  # the cache reads either; inf would be read as damaged for ever
        buf = io.BytesIO()
        np.save(buf, np.asarray(vector, dtype), allow_pickle=False)
        if maps is not None:
            np.save(buf, np.asarray(maps, np.float32), allow_pickle=False)
        path = self._path(digest, view)
        tmp = path.with_name(f".{path.name}.{os.getpid()}-{threading.get_ident()}.tmp")
        try:
            if path.parent not in self._made:
                path.parent.mkdir(parents=True, exist_ok=True)
                self._made.add(path.parent)
            tmp.write_bytes(buf.getvalue())
            os.replace(tmp, path)
        except OSError:
            with contextlib.suppress(OSError):  # a file where the folder should be: unlink fails too (ENOTDIR)
                tmp.unlink(missing_ok=True)
            try:
                write_with(path, lambda t: Path(t).write_bytes(buf.getvalue()), suffix=".npy")
            except StorageError as exc:
                if not unwritable.unwritable(exc):
                    raise
                cache_notes.stop_storing(self.root, exc)
        except BaseException:  # Ctrl-C mid-write: the old vector (or none) stays, and no temp file is left beside it
            with contextlib.suppress(OSError):
                tmp.unlink(missing_ok=True)
            raise

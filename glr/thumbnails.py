"""Square thumbnails of image files as small JPEG bytes, kept in a disk cache shared by every process.

The Predict page shows training photos (the most similar ones, examples of the best guess,
photos to try) at 120 px. Decoding a full-size photo and encoding it again on a page request
cost the app's server about 15% of its time with 8 users (benchmarks/README.md); reading a
file of a few kB costs almost nothing. The end of training (glr.evaluation.finish) makes the
thumbnails of the index's photos once; any other photo gets its thumbnail the first time one
is asked for, and every later request, in any process, reads it back.

The cache is keyed by the file's absolute path, size in bytes, modification time and the
thumbnail's size: a photo replaced on disk gets a new thumbnail, never a stale one.
"""

from __future__ import annotations

import hashlib
import io
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Iterable

import numpy as np

from glr.paths import cache_dir

SIZE = 120  # px: what the Predict page shows a training photo at
QUALITY = 85
# Made at the end of training for an index up to this size (about 3 ms a photo here, in 2 threads);
# a bigger index gets its thumbnails as they are first shown.
MAX_AT_INDEX = 20_000


def jpeg_bytes(image: np.ndarray | None) -> bytes | None:
    """An RGB uint8 array as JPEG bytes (None stays None)."""
    if image is None:
        return None
    from PIL import Image

    out = io.BytesIO()
    Image.fromarray(image).save(out, format="JPEG", quality=QUALITY)
    return out.getvalue()


def cache_file(path: str | os.PathLike, size: int = SIZE) -> Path | None:
    """Where the thumbnail of the file at `path` is kept, or None if the file cannot be read (missing)."""
    path = os.path.abspath(path)
    try:
        st = os.stat(path)
    except OSError:
        return None
    # The path's own bytes: a name that is not UTF-8 (Latin-1 from an old camera or zip) has no str encoding.
    key = hashlib.sha1(os.fsencode(path) + f"\0{st.st_size}\0{st.st_mtime_ns}\0{size}".encode()).hexdigest()
    return cache_dir() / "thumbnails" / key[:2] / f"{key}.jpg"


def _make(path: str, size: int) -> bytes | None:
    from glr.data.browse import thumbnail as decode_thumbnail

    return jpeg_bytes(decode_thumbnail(path, size))


def thumbnail(path: str | os.PathLike, size: int = SIZE) -> bytes | None:
    """The `size` px square thumbnail of an image file as JPEG bytes, or None if it cannot be decoded.

    Read from the disk cache when it is there; made (and kept, when the cache folder is
    writable) otherwise.
    """
    where = cache_file(path, size)
    if where is not None:
        try:
            data = where.read_bytes()
        except OSError:
            data = b""
        if whole_jpeg(data):
            return data  # else none yet, or cut short by a crash (the cache's writes are not fsynced): made again
    data = _make(str(path), size)
    if data is not None and where is not None:
        _keep(where, data)
    return data


def whole_jpeg(data: bytes) -> bool:
    """Whether `data` runs from a JPEG's start marker to its end marker (a file cut short does not)."""
    return data[:2] == b"\xff\xd8" and data[-2:] == b"\xff\xd9"


def _keep(where: Path, data: bytes) -> bool:
    """Write a thumbnail into the cache; False only when the cache folder cannot be written (read-only, no permission)."""
    from glr import unwritable
    from glr.atomic import write_unsynced
    from glr.errors import GlrError

    try:
        write_unsynced(where, data)
    except (OSError, GlrError) as exc:  # a read-only or full cache: the thumbnail is still shown, made again next time
        return not unwritable.unwritable(exc)
    return True


def make_thumbnails(paths: Iterable[str | os.PathLike], size: int = SIZE, limit: int = MAX_AT_INDEX,
                    workers: int = 2) -> int:
    """Make the missing thumbnails of up to `limit` image files (in `workers` threads); returns how many were made.

    Pillow decodes and encodes without holding the GIL, so two threads use both cores. A cache
    folder that cannot be written ends it at the first refused write: the rest would be decoded for nothing.
    """
    todo = []
    for path in list(paths)[:limit]:
        where = cache_file(path, size)
        if where is not None and not where.is_file():
            todo.append((str(path), where))
    unwritable = threading.Event()

    def one(item) -> bool:
        if unwritable.is_set():
            return False
        data = _make(item[0], size)
        if data is None:
            return False
        if not _keep(item[1], data):
            unwritable.set()
            return False
        return True

    if not todo:
        return 0
    with ThreadPoolExecutor(max(1, workers)) as pool:
        return sum(pool.map(one, todo))

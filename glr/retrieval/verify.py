"""Spatial verification: do a photo and a training photo share geometrically consistent local features?

The winners of the Google landmark competitions re-ranked their nearest neighbours by
geometric verification of local features (DELF and RANSAC in 2019 and 2020): a landmark seen
before shares many matches that one homography explains, a look-alike shares few. Here:
- local features are OpenCV's SIFT on the greyscale photo, its longer side at most
  `MAX_SIDE` pixels, at most `MAX_FEATURES` per photo;
- matches pass Lowe's ratio test, then OpenCV's USAC (MAGSAC++) fits a homography and the
  inliers are counted;
- the training photos' features are computed once and kept beside the run's embedding index
  (`LocalFeatureStore`, one `local_features.npz` in the index folder), so a query costs one
  extraction and `VERIFY_K` matchings (timed in benchmarks/bench_predict.py).

A training photo replaced since indexing is never matched by the features of the picture it
replaced (`LocalFeatureStore.current`). Each row keeps its photo's fingerprint (`Stamp`: size,
mtime and ctime in ns, and the SHA-256 of the very bytes its features were found in). Only the
photos a query is verified against are checked: a stat each (about 2 us here); when the stat
differs the file is hashed (about 50 us for a 100 kB photo, against 40-70 ms to extract its
features), and only different content is extracted again. The fresh features replace the row in
memory for the life of the process; the file is not rewritten at query time, since that costs
the whole store per changed photo and could overwrite a store that a rebuild has just written.
The store says how its features were found (`STORE_VERSION`): one of another version (or of none, from before
it) is refused as out of date, as a missing one is, so features found otherwise are never mixed with those
`current` finds now. A photo gone (or unreadable) keeps its stored features, as its
embedding keeps its vote: they still describe the photo as indexed, and the verdict was
calibrated with them; `draw_training_match` says it is gone.

`verification_score` maps an inlier count to [0, 1): n / (n + INLIER_HALF). INLIER_HALF is
fixed from the usual reading of RANSAC counts (a dozen or so inliers can happen by chance,
a few dozen rarely), not tuned on any dataset.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import stat
import threading
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from glr.atomic import write_with
from glr.errors import GlrError, ImageError

log = logging.getLogger(__name__)

MAX_SIDE = 480
MAX_FEATURES = 500
RATIO = 0.8  # Lowe's ratio test
RANSAC_PIXELS = 6.0  # reprojection error of an inlier, at MAX_SIDE
MIN_MATCHES = 6  # fewer ratio-test matches than this: no homography is tried, 0 inliers
VERIFY_K = 5  # nearest training photos verified per query
INLIER_HALF = 20  # inliers at which the verification score is 0.5
STORE_FILE = "local_features.npz"
# How the stored features were found; raised whenever `extract` finds other features in the same photo. 2: in the photo
# shrunk by Pillow's bilinear before its colours go to sRGB (1, a store without the marker: OpenCV's area resize).
STORE_VERSION = 2


@dataclass
class LocalFeatures:
    """One photo's SIFT keypoints (x, y in the photo's own pixels, as `_decoded` gives them) and descriptors (uint8, 128 each)."""

    points: np.ndarray
    descriptors: np.ndarray
    scale: float = 1.0  # photo pixels per analysed pixel

    def __len__(self) -> int:
        return len(self.points)


def _decoded(source, max_side: int) -> tuple[np.ndarray, float]:
    """The RGB pixels local features are found in, and how many of "the photo's own pixels" each is.

    The photo's own pixels: as decoded (a JPEG at reduced size near `max_side`, an array as given). Its longer side is
    then shrunk to `max_side` before its colours go to sRGB (`decode_image`'s shrink): a 12 MP Display P3 HEIC converts
    480 px, not 12 million. Pillow's bilinear (antialiased), as it keeps the inliers OpenCV's area resize of the grey
    gave (35 pairs of wonders7 photos: 565 inliers against 554; Pillow's box filter lost a third of a 128).
    """
    from PIL import Image

    from glr.data.images import decode_image

    decoded = []

    def within(photo):
        decoded.append(photo.size)
        scale = max(photo.size) / max_side
        if scale <= 1:
            return photo
        # At least one pixel: a 10000x10 panorama strip's short side would round to 0.
        return photo.resize((max(1, round(photo.width / scale)), max(1, round(photo.height / scale))),
                            Image.Resampling.BILINEAR)

    if isinstance(source, np.ndarray):
        rgb = np.asarray(within(Image.fromarray(np.ascontiguousarray(source, np.uint8))))
    else:
        if hasattr(source, "seek"):
            source.seek(0)  # an upload read once already by the predictor
        rgb = decode_image(source, draft_size=max_side, shrink=within)
    return rgb, max(1.0, max(decoded[-1]) / max_side)


def extract(source, max_side: int = MAX_SIDE, max_features: int = MAX_FEATURES) -> LocalFeatures:
    """SIFT features of a photo (path, bytes, file-like or RGB array); ImageError if it cannot be read."""
    return _sift(*_decoded(source, max_side), max_features)


def _sift(rgb: np.ndarray, scale: float, max_features: int = MAX_FEATURES) -> LocalFeatures:
    """SIFT features of `_decoded`'s pixels `rgb`, each `scale` of the photo's own pixels."""
    import cv2

    grey = cv2.cvtColor(np.ascontiguousarray(rgb, np.uint8), cv2.COLOR_RGB2GRAY)
    keypoints, descriptors = cv2.SIFT_create(nfeatures=max_features).detectAndCompute(grey, None)
    if descriptors is None or not keypoints:
        return LocalFeatures(np.zeros((0, 2), np.float32), np.zeros((0, 128), np.uint8), scale)
    points = np.array([k.pt for k in keypoints], np.float32)[:max_features]
    # SIFT's descriptor values are whole numbers in 0..255, so uint8 keeps them exactly.
    return LocalFeatures(points, np.clip(descriptors[:max_features], 0, 255).astype(np.uint8), scale)


def match(a: LocalFeatures, b: LocalFeatures) -> tuple[int, np.ndarray]:
    """(RANSAC inliers, the inlier pairs as rows x_a, y_a, x_b, y_b in each photo's pixels) between two photos."""
    import cv2

    none = (0, np.zeros((0, 4), np.float32))
    if len(a) < 2 or len(b) < 2:
        return none
    pairs = cv2.BFMatcher(cv2.NORM_L2).knnMatch(a.descriptors.astype(np.float32), b.descriptors.astype(np.float32), k=2)
    good = [p[0] for p in pairs if len(p) == 2 and p[0].distance < RATIO * p[1].distance]
    if len(good) < MIN_MATCHES:
        return none
    src = a.points[[m.queryIdx for m in good]]
    dst = b.points[[m.trainIdx for m in good]]
    _, mask = cv2.findHomography(src, dst, cv2.USAC_MAGSAC, RANSAC_PIXELS, maxIters=2000, confidence=0.995)
    if mask is None:
        return none
    keep = mask.ravel().astype(bool)
    return int(keep.sum()), np.c_[src[keep] * a.scale, dst[keep] * b.scale].astype(np.float32)


def verification_score(inliers) -> np.ndarray:
    """Inlier counts mapped to [0, 1): n / (n + INLIER_HALF)."""
    n = np.asarray(inliers, np.float32)
    return n / (n + INLIER_HALF)


NO_FEATURES = LocalFeatures(np.zeros((0, 2), np.float32), np.zeros((0, 128), np.uint8))


@dataclass(frozen=True)
class Stamp:
    """A photo file as its features were found in it: its stat (size, mtime, ctime, in ns) and its content's SHA-256."""

    size: int
    mtime_ns: int
    ctime_ns: int
    digest: bytes

    def same_stat(self, st: os.stat_result) -> bool:
        """True when `st` is the stat this stamp was taken with (then the content is taken as unchanged)."""
        return (self.size, self.mtime_ns, self.ctime_ns) == (st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def read_stamped(path: str | os.PathLike) -> tuple[bytes, Stamp]:
    """A photo file's bytes and its `Stamp`, both of one read; OSError if it cannot be read or is not a regular file."""
    if not stat.S_ISREG(os.stat(path).st_mode):  # checked before opening: a pipe would block
        raise OSError(f"{path}: not a regular file")
    with open(path, "rb") as fh:
        st = os.fstat(fh.fileno())  # before the read: a change during it makes the next stat differ
        data = fh.read()
    return data, Stamp(st.st_size, st.st_mtime_ns, st.st_ctime_ns, hashlib.sha256(data).digest())


def _features_of(source) -> LocalFeatures:
    """`extract` of a photo (its bytes, or an array); none when it is not an image (it then never verifies)."""
    try:
        return extract(source)
    except ImageError:
        return NO_FEATURES


class LocalFeatureStore:
    """The local features of an index's photos, in the index's row order, saved as one npz file.

    With `paths` (each row's photo as indexed), `current(row)` checks the photo before its
    features are used (see the module docstring). `stamps[i]` is row i's `Stamp`, None where
    unknown (a photo given as pixels, or unreadable when indexed: extracted again when used).
    """

    def __init__(self, features: Sequence[LocalFeatures], stamps: Sequence[Stamp | None] | None = None,
                 paths: Sequence[str | None] | None = None):
        self.features = list(features)
        self.stamps = list(stamps) if stamps is not None else [None] * len(self.features)
        self.paths = list(paths) if paths is not None else None
        self.refreshed = 0  # rows whose photo changed since indexing, extracted again in this process
        self._lock = threading.Lock()  # the app's sessions verify in threads: a row's features and stamp go together

    def __len__(self) -> int:
        return len(self.features)

    def __getitem__(self, i: int) -> LocalFeatures:
        return self.features[i]

    @classmethod
    def build(cls, paths: Sequence, progress: Callable[[int], None] | None = None) -> "LocalFeatureStore":
        """Extract every photo's features; a photo that cannot be read gets none (it then never verifies).

        A photo given by its path gets the `Stamp` of the bytes its features were found in.
        """
        features, stamps, names = [], [], []
        for source in paths:
            stamp, name = None, None
            if isinstance(source, (str, os.PathLike)):
                name = str(source)
                try:
                    source, stamp = read_stamped(source)  # the features are found in these bytes: the stamp is theirs
                except OSError:
                    source = None  # gone or unreadable: no features, no stamp (looked at again when used)
            features.append(NO_FEATURES if source is None else _features_of(source))
            stamps.append(stamp)
            names.append(name)
            if progress:
                progress(1)
        return cls(features, stamps, names)

    def current(self, i: int) -> LocalFeatures:
        """Row i's features, of its photo as it is on disk now: only this row's photo is looked at.

        Same stat as stamped: the stored features. Otherwise the file is hashed: the same
        content (a photo touched or copied back) keeps its features and gets the new stat; other
        content is extracted again (none if it is not an image). A photo gone or unreadable keeps
        the stored features.
        """
        path = self.paths[i] if self.paths is not None else None
        with self._lock:
            features, stamp = self.features[i], self.stamps[i]
        if path is None:
            return features
        try:
            if stamp is not None and stamp.same_stat(os.stat(path)):
                return features
            data, now = read_stamped(path)
        except OSError:
            return features
        if not (stamp is not None and stamp.digest == now.digest):
            features = _features_of(data)
            with self._lock:
                self.refreshed += 1
            log.warning("%s: changed since the index was built; its local features were extracted again for spatial "
                        "verification (rebuild the index to bring its embedding up to date too)", path)
        with self._lock:
            self.features[i], self.stamps[i] = features, now
        return features

    def save(self, folder: str | os.PathLike) -> Path:
        """Write `local_features.npz` into the index folder, atomically, with each row's stamp (-1 where none) and
        STORE_VERSION."""
        counts = np.array([len(f) for f in self.features], np.int64)
        stamped = [s or Stamp(-1, -1, -1, bytes(32)) for s in self.stamps]
        buf = io.BytesIO()
        np.savez(buf, version=np.array(STORE_VERSION, np.int64), offsets=np.r_[0, np.cumsum(counts)].astype(np.int64),
                 points=np.concatenate([f.points for f in self.features] or [np.zeros((0, 2), np.float32)]),
                 descriptors=np.concatenate([f.descriptors for f in self.features] or [np.zeros((0, 128), np.uint8)]),
                 scales=np.array([f.scale for f in self.features], np.float32),
                 stamp_stats=np.array([(s.size, s.mtime_ns, s.ctime_ns) for s in stamped], np.int64).reshape(-1, 3),
                 stamp_digests=np.frombuffer(b"".join(s.digest for s in stamped), np.uint8).reshape(-1, 32))
        path = Path(folder) / STORE_FILE
        write_with(path, lambda tmp: Path(tmp).write_bytes(buf.getvalue()), suffix=".npz")
        return path

    @classmethod
    def load(cls, folder: str | os.PathLike, paths: Sequence[str] | None = None) -> "LocalFeatureStore":
        """Read the store of an index folder; GlrError if it is missing or damaged.

        `paths`: the index's photo paths, row for row, to check each photo when its features are
        used (`current`); GlrError when the store has another number of rows, or another STORE_VERSION
        (none: from before it), as its features were found otherwise than `extract` finds them now.
        """
        path = Path(folder) / STORE_FILE
        try:
            with np.load(path, allow_pickle=False) as data:
                version = int(data["version"]) if "version" in data.files else 1
                if version == STORE_VERSION:
                    offsets, points, descriptors, scales, stats, digests = (data[k] for k in (
                        "offsets", "points", "descriptors", "scales", "stamp_stats", "stamp_digests"))
            if version != STORE_VERSION:
                marked = f"format {version}" if "version" in data.files else "unmarked, format 1"
                raise GlrError(f"{path}: out of date (local features of {marked}; this glr finds them otherwise, as "
                               f"format {STORE_VERSION}); rebuild the index")
            n = len(scales)
            if len(offsets) != n + 1 or stats.shape != (n, 3) or digests.shape != (n, 32):
                raise ValueError("its arrays disagree on the number of photos")
        except FileNotFoundError:
            raise GlrError(f"{folder}: no local features for spatial verification ({STORE_FILE} is missing)") from None
        except EOFError:  # numpy's word for an empty file
            raise GlrError(f"{path}: damaged (an empty file); rebuild the index") from None
        # BadZipFile: a cut file; TypeError: a version of several numbers.
        except (OSError, ValueError, TypeError, KeyError, AttributeError, zipfile.BadZipFile) as exc:
            raise GlrError(f"{path}: damaged ({exc.__class__.__name__}); rebuild the index") from None
        if paths is not None and len(paths) != n:
            raise GlrError(f"{path}: holds the local features of {n} photos, the index {len(paths)}; rebuild the index")
        stamps = [Stamp(a, b, c, bytes(d)) if a >= 0 else None for (a, b, c), d in zip(stats.tolist(), digests)]
        features = [LocalFeatures(points[s:e], descriptors[s:e], float(c))
                    for s, e, c in zip(offsets[:-1], offsets[1:], scales)]
        return cls(features, stamps, paths)


class Verifier:
    """Counts the inliers between query photos and their nearest training photos."""

    def __init__(self, store: LocalFeatureStore, k: int = VERIFY_K):
        self.store, self.k = store, k

    def inliers(self, images: Sequence, neighbours: np.ndarray) -> np.ndarray:
        """(N, k) inlier counts of each query photo against its first k neighbours (index rows).

        Each neighbour's features are of its photo as it is now (`LocalFeatureStore.current`):
        only these k photos per query are looked at.
        """
        neighbours = np.asarray(neighbours)[:, :self.k]
        counts = np.zeros(neighbours.shape, np.int64)
        for i, (image, rows) in enumerate(zip(images, neighbours)):
            try:
                query = extract(image)
            except ImageError:
                continue
            counts[i] = [match(query, self.store.current(int(r)))[0] for r in rows]
        return counts


def match_lines(photo, match_photo, height: int = 640) -> tuple[list, list[tuple[float, float, float, float]], int]:
    """(the two photos as PIL images `height` pixels tall, each inlier match as a line x0, y0, x1, y1 on them side by side,
    the inlier count).

    The photos are shown as their features were found (`_decoded`: at most MAX_SIDE px, so at most that tall), so each
    match's points land where they were found, on a 12 MP JPEG (decoded at a quarter size) as on a small one.
    """
    from PIL import Image

    # Each photo decoded once: its features are found in the very pixels shown (it was decoded again to draw them).
    analysed = [_decoded(source, MAX_SIDE) for source in (photo, match_photo)]
    count, pairs = match(*(_sift(rgb, scale) for rgb, scale in analysed))
    images = [Image.fromarray(np.ascontiguousarray(rgb, np.uint8)) for rgb, _ in analysed]
    height = min(height, max(im.height for im in images))
    # The pairs are in the photos' own pixels: `scale` of them to each pixel shown.
    scales = [height / im.height / scale for im, (_, scale) in zip(images, analysed)]
    images = [im.resize((max(1, round(im.width * height / im.height)), height)) for im in images]
    lines = [(xa * scales[0], ya * scales[0], images[0].width + xb * scales[1], yb * scales[1]) for xa, ya, xb, yb in pairs]
    return images, lines, count


def draw_matches(photo, match_photo, max_side: int = 640):
    """A PIL image: the photo and its match side by side, each inlier match a line between them.

    Returns (image, inlier count). `photo` and `match_photo` are paths, bytes, file-likes or RGB arrays.
    """
    from PIL import Image, ImageDraw

    images, lines, count = match_lines(photo, match_photo, max_side)
    canvas = Image.new("RGB", (images[0].width + images[1].width, images[0].height), "white")
    canvas.paste(images[0], (0, 0))
    canvas.paste(images[1], (images[0].width, 0))
    draw = ImageDraw.Draw(canvas)
    for x0, y0, x1, y1 in lines:
        draw.line([(x0, y0), (x1, y1)], fill=(0, 220, 90), width=1)
        for x, y in ((x0, y0), (x1, y1)):
            draw.ellipse([x - 2, y - 2, x + 2, y + 2], outline=(255, 200, 0))
    return canvas, count


def draw_training_match(photo, training_photo: str):
    """`draw_matches` of a photo and one of the index's training photos (its path as indexed): (image, inlier count).

    Both photos are read now, so the count and the points drawn are of the training photo on disk,
    as the verifier's are (`LocalFeatureStore.current`), and the count is the one to show with them.
    GlrError when that photo is gone: the index keeps the paths of the dataset it was built from,
    and a dataset moved, renamed or deleted since then leaves nothing to draw the matches on.
    A photo replaced by a file that is not an image raises its ImageError (a GlrError too).
    """
    try:
        return draw_matches(photo, training_photo)
    except ImageError as exc:
        if os.path.isfile(training_photo):
            raise
        raise GlrError(f"{training_photo}: the matched training photo is no longer there ({exc}); was the run's "
                       "dataset moved or deleted since its index was built? Put it back where it was") from None

"""Near-copies: validation photos that are a training photo resized, re-encoded or recoloured.

Scraped landmark datasets hold the same picture many times over, not only as the same file:
wonders7 has six such pairs (a 640x360 photo and its 320x180 copy, one clip-art drawing in
blue and in brown). A copy in validation of a photo the model trained on is not a test of
recognition and lifts the score, so training leaves it out and says so (glr.data.usable).

Each photo gets a 256-bit perceptual hash (imagehash's pHash: the signs of the low
frequencies of its grey 64x64 image), and a validation photo is a near-copy when its hash
is within MAX_DISTANCE bits of a training photo's of the same class. A copy under another
class is a labelling problem, not a leak, and comparing within a class keeps the work small
at any dataset size. Hashes are cached by content digest beside the feature cache.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Sequence

import numpy as np

from glr.errors import GlrError, ImageError

HASH_SIZE = 16  # 16 x 16 = 256 bits: 64-bit hashes put distinct synthetic photos 6 bits apart, too near copies' 4
HASH_BYTES = HASH_SIZE * HASH_SIZE // 8
# Measured by benchmarks/bench_near_copies.py on the demo and wonders7 (benchmarks/README.md, "Near-copies"):
# half-size, JPEG q50, PNG and greyscale copies of 40 photos each are at most 28 bits from their original,
# 20% brighter ones 30; distinct photos are at least 66 bits apart on the demo, 56 on wonders7 (two edits of
# one photo: doves added, a watercolour filter); 5th percentile 86 on both. 40 leaves a margin on each side.
# Crops of 5% or more are mostly not caught.
MAX_DISTANCE = 40
# The side the hash is computed from: JPEG decodes at an eighth of 640 px, which is what makes it cheap.
HASH_SIDE = HASH_SIZE * 4
STORE_NAME = f"phash{HASH_SIZE}-v1.npz"
HASHES_SUBDIR = "photo-hashes"  # under glr.paths.cache_dir()
NO_HASH = np.zeros(HASH_BYTES, np.uint8)


def perceptual_hash(path: str | os.PathLike) -> np.ndarray | None:
    """The photo's 256-bit pHash as 32 bytes; None when it does not decode."""
    import imagehash
    from PIL import Image

    from glr.data.images import load_resized

    try:
        pixels = load_resized(path, HASH_SIDE)
    except ImageError:
        return None
    bits = imagehash.phash(Image.fromarray(pixels), hash_size=HASH_SIZE).hash
    return np.packbits(bits.flatten())


class HashStore:
    """Perceptual hashes on disk, one file keyed by content digest; losing it only costs a recomputation."""

    def __init__(self, folder: str | os.PathLike):
        self.path = Path(folder) / STORE_NAME

    def load(self) -> dict[str, np.ndarray]:
        """Every hash stored so far (empty when the file is missing or unreadable)."""
        try:
            with np.load(self.path, allow_pickle=False) as stored:
                return dict(zip(stored["digests"].astype(str).tolist(), stored["hashes"]))
        except (OSError, ValueError, KeyError):
            return {}

    def save(self, hashes: dict[str, np.ndarray]) -> None:
        """Write the hashes atomically; a folder that cannot be written is passed over."""
        from glr.atomic import write_with

        digests = list(hashes)
        table = np.stack([hashes[d] for d in digests]) if digests else np.zeros((0, HASH_BYTES), np.uint8)
        try:
            write_with(self.path, lambda tmp: np.savez(tmp, digests=np.array(digests, dtype="S"), hashes=table),
                       suffix=".npz")
        except (GlrError, OSError):
            pass  # a cache: the next run computes them again


def default_store() -> HashStore:
    """The hash store under the user cache folder (glr.paths.cache_dir), beside the feature cache."""
    from glr.paths import cache_dir

    return HashStore(cache_dir() / HASHES_SUBDIR)


def photo_hashes(paths: Sequence[str], digests: Sequence[str], store: HashStore | None = None,
                 workers: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """((N, HASH_BYTES) hashes, a mask of those made) for `paths`: read from `store` by digest, or computed.

    Computed in threads (the decode frees the GIL). A photo that does not decode has no hash.
    """
    known = store.load() if store else {}
    missing = [i for i, digest in enumerate(digests) if not digest or digest not in known]
    if missing:
        with ThreadPoolExecutor(max_workers=workers or os.cpu_count() or 1) as pool:
            made = dict(zip(missing, pool.map(perceptual_hash, [paths[i] for i in missing])))
        fresh = {digests[i]: h for i, h in made.items() if h is not None and digests[i]}
        if store and fresh:
            store.save(known | fresh)
    else:
        made = {}
    rows = [made[i] if i in made else known[digest] for i, digest in enumerate(digests)]
    hashed = np.array([h is not None for h in rows], dtype=bool)
    table = np.stack([h if h is not None else NO_HASH for h in rows]) if rows else np.zeros((0, HASH_BYTES), np.uint8)
    return table, hashed


def near_copies(train_hashes: np.ndarray, train_labels: Sequence[int], val_hashes: np.ndarray,
                val_labels: Sequence[int], max_distance: int = MAX_DISTANCE) -> np.ndarray:
    """A mask over the validation hashes: True where a training photo of the same class is within `max_distance` bits."""
    train_labels, val_labels = np.asarray(train_labels), np.asarray(val_labels)
    found = np.zeros(len(val_labels), dtype=bool)
    for label in np.intersect1d(train_labels, val_labels):
        rows, train = np.flatnonzero(val_labels == label), train_hashes[train_labels == label]
        for start in range(0, len(rows), 256):  # bounds the (rows x photos x bytes) array on huge classes
            part = rows[start:start + 256]
            distance = np.bitwise_count(val_hashes[part, None, :] ^ train[None, :, :]).sum(-1, dtype=np.int32)
            found[part] = distance.min(1) <= max_distance
    return found


def near_copies_of_training(train_paths: Sequence[str], train_labels: Sequence[int], train_digests: Sequence[str],
                            val_paths: Sequence[str], val_labels: Sequence[int], val_digests: Sequence[str],
                            store: HashStore | None = None) -> np.ndarray:
    """A mask over the validation photos: near-copies of a training photo of their class.

    Only the photos of classes on both sides are hashed; pass only photos that decoded.
    """
    train_labels, val_labels = np.asarray(train_labels), np.asarray(val_labels)
    shared = np.intersect1d(train_labels, val_labels)
    t, v = np.flatnonzero(np.isin(train_labels, shared)), np.flatnonzero(np.isin(val_labels, shared))
    paths = [train_paths[i] for i in t] + [val_paths[i] for i in v]
    digests = [train_digests[i] for i in t] + [val_digests[i] for i in v]
    hashes, hashed = photo_hashes(paths, digests, store)
    train_side, val_side = slice(0, len(t)), slice(len(t), None)
    keep_t, keep_v = hashed[train_side], hashed[val_side]
    found = np.zeros(len(val_labels), dtype=bool)
    found[v[keep_v]] = near_copies(hashes[train_side][keep_t], train_labels[t][keep_t],
                                   hashes[val_side][keep_v], val_labels[v][keep_v])
    return found

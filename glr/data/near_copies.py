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

from glr.cache_subdirs import HASHES_SUBDIR  # under glr.paths.cache_dir(); named where `glr cache` reads it
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


def _keys(digests: np.ndarray) -> np.ndarray:
    """A 64-bit number mixed from each digest's first 40 bytes (a SHA-1 in hex): the store sorts and searches by it.

    Numbers compare 10x faster than NumPy's byte strings. A digest found by its key is then
    checked whole, so two digests sharing a key can only cost a recomputation.
    """
    words = np.ascontiguousarray(np.asarray(digests).astype("S40")).view("<u8").reshape(-1, 5)
    with np.errstate(over="ignore"):
        return (words * _MIX).sum(axis=1, dtype=np.uint64)


def _unsorted(keys: np.ndarray) -> bool:
    return bool(np.any(keys[1:] < keys[:-1]))  # not np.diff: unsigned differences wrap round


# Odd 64-bit multipliers (from splitmix64): each word of the digest lands on every bit of the key.
_MIX = np.array([0x9E3779B97F4A7C15, 0xBF58476D1CE4E5B9, 0x94D049BB133111EB, 0xD6E8FEB86659FD93,
                 0xC2B2AE3D27D4EB4F], np.uint64)


_EMPTY = (np.zeros(0, "S1"), np.zeros((0, HASH_BYTES), np.uint8), np.zeros(0, np.uint64))  # an empty store, as `load` gives it


class HashStore:
    """Perceptual hashes on disk, one file keyed by content digest; losing it only costs a recomputation.

    Kept as two arrays sorted by `_keys` and looked up by binary search: at GLDv2-clean's 1.58M
    photos a dict took 3x the time and twice the memory (benchmarks/bench_hash_store.py).
    """

    def __init__(self, folder: str | os.PathLike):
        self.path = Path(folder) / STORE_NAME

    def load(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(digests as bytes, (N, HASH_BYTES) hashes, their sorted `_keys`); empty when missing or unreadable."""
        try:
            with np.load(self.path, allow_pickle=False) as stored:
                digests, hashes = stored["digests"], stored["hashes"]
            keys = _keys(digests) if digests.ndim == 1 else None
            if keys is None or hashes.shape != (len(digests), HASH_BYTES) or _unsorted(keys):
                raise ValueError("not a hash store")
            return digests, hashes.astype(np.uint8, copy=False), keys
        except (OSError, ValueError, KeyError, TypeError):
            return _EMPTY

    def add(self, digests: np.ndarray, hashes: np.ndarray, stored: tuple | None = None) -> None:
        """Write `stored` (default: what the file holds, as `load` gives it) with these hashes added, atomically;
        an unwritable folder is passed over."""
        from glr.atomic import write_with

        old_digests, old_hashes, old_keys = self.load() if stored is None else stored
        every, table = np.concatenate([old_digests, digests]), np.concatenate([old_hashes, hashes])
        order = np.argsort(np.concatenate([old_keys, _keys(digests)]), kind="stable")
        every, table = every[order], table[order]
        repeated = np.r_[False, every[1:] == every[:-1]]  # the same photo twice: its first hash stays
        try:
            write_with(self.path, lambda tmp: np.savez(tmp, digests=every[~repeated], hashes=table[~repeated]),
                       suffix=".npz")
        except (GlrError, OSError):
            pass  # a cache: the next run computes them again


def default_store() -> HashStore:
    """The hash store under the user cache folder (glr.paths.cache_dir), beside the feature cache."""
    from glr.paths import cache_dir

    return HashStore(cache_dir() / HASHES_SUBDIR)


def _rows_in(stored: np.ndarray, stored_keys: np.ndarray, query: np.ndarray) -> np.ndarray:
    """Each query digest's row among the `stored` digests (sorted by `stored_keys`), -1 when absent (and for an empty digest)."""
    if not len(stored) or not len(query):
        return np.full(len(query), -1)
    keys = _keys(query)
    order = np.argsort(keys)  # sorted needles: each search starts where the last ended (2-4x faster)
    rows = np.empty(len(query), np.int64)
    rows[order] = np.searchsorted(stored_keys, keys[order])
    rows = rows.clip(max=len(stored) - 1)
    return np.where((stored[rows] == query) & (query != b""), rows, -1)


def photo_hashes(paths: Sequence[str], digests: Sequence[str], store: HashStore | None = None,
                 workers: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """((N, HASH_BYTES) hashes, a mask of those made) for `paths`: read from `store` by digest, or computed.

    Computed in threads (the decode frees the GIL). A photo that does not decode has no hash.
    """
    stored = store.load() if store else _EMPTY
    query = np.asarray(list(digests), dtype="S") if len(digests) else np.zeros(0, "S1")
    rows = _rows_in(stored[0], stored[2], query)
    table, hashed = np.zeros((len(query), HASH_BYTES), np.uint8), rows >= 0
    table[hashed] = stored[1][rows[hashed]]
    missing = np.flatnonzero(~hashed)
    if len(missing):
        with ThreadPoolExecutor(max_workers=workers or os.cpu_count() or 1) as pool:
            made = list(pool.map(perceptual_hash, [paths[i] for i in missing]))
        for i, h in zip(missing, made):
            if h is not None:
                table[i], hashed[i] = h, True
        fresh = missing[[h is not None for h in made]]
        fresh = fresh[query[fresh] != b""]  # a file that could not be read has no digest to keep it by
        if store and len(fresh):
            store.add(query[fresh], table[fresh], stored)
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

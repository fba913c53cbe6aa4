"""Each validation photo's best guesses, kept from the head's probabilities one block of photos at a time.

An evaluation needs of each photo only its TOP_K best classes in order, its best class and that class's
probability. The whole probability matrix of a GLDv2-clean run (81,313 classes) is 32 GB of float32 at
100,000 validation photos; what `rank` keeps of it is 6 MB. `rank` reads the probabilities as blocks of
rows (an iterable: the head's predictions made batch by batch, or `blocks` of a matrix already made),
one block at a time, and keeps no block.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Iterator

import numpy as np

from glr.errors import GlrError
from glr.training.run import LABELS_FILE

TOP_K = 5  # how many guesses each validation prediction keeps, and the "top-5" metric
CHUNK_CELLS = 1 << 22  # rows of probabilities ranked at a time: 32 MB of float64 whatever the class count


def as_probabilities(probs: Any) -> np.ndarray:
    """`probs` as a float array, float32 kept as it is: a float64 copy doubled a 20,000-photo x 81,000-class matrix."""
    probs = np.asarray(probs)
    return probs if probs.dtype in (np.float32, np.float64) else probs.astype(np.float64)


def top_classes(probs: np.ndarray, k: int = TOP_K) -> np.ndarray:
    """Each row's `k` best class indices, best first; equal scores by class index, as a stable sort of the row.

    A stable sort of every row cost rows x classes x log(classes) time and rows x classes int64s (5 GB at
    81,000 classes and 8,000 photos): this partitions each block of rows and sorts only the scores that tie
    with or beat the k-th best.
    """
    probs = as_probabilities(probs)
    n, classes = probs.shape
    k = min(k, classes)
    out = np.empty((n, k), dtype=np.int64)
    step = max(1, CHUNK_CELLS // max(1, classes))
    for start in range(0, n, step):
        block = probs[start:start + step]
        if k == 0 or k == classes or np.isnan(block).any():
            out[start:start + step] = np.argsort(-block, axis=1, kind="stable")[:, :k]
            continue
        kth = -np.partition(-block, k - 1, axis=1)[:, k - 1]  # the k-th best score of each row
        rows, cols = np.nonzero(block >= kth[:, None])  # at least k per row: ties with the k-th included
        order = np.lexsort((cols, -block[rows, cols], rows))
        rows, cols = rows[order], cols[order]
        rank = np.arange(len(rows)) - np.searchsorted(rows, rows)  # place within its row
        out[start:start + step] = cols[rank < k].reshape(len(block), k)
    return out


@dataclass(frozen=True)
class Ranked:
    """What an evaluation keeps of each photo's probabilities (one row per photo)."""

    pred: np.ndarray  # the best class (argmax: the first of equal bests), int64
    confidence: np.ndarray  # the best probability, float64
    top: np.ndarray  # the min(TOP_K, classes) best classes, best first, ties by class index (top_classes), int64
    top_score: np.ndarray  # the probability of top[:, 0], float64


def blocks(probs: Any, cells: int | None = None) -> Iterator[np.ndarray]:
    """A probability matrix already made, as blocks of rows of about `cells` (CHUNK_CELLS) values each."""
    probs = as_probabilities(probs)
    step = max(1, (cells or CHUNK_CELLS) // max(1, probs.shape[1] if probs.ndim == 2 else 1))
    for start in range(0, len(probs), step):
        yield probs[start:start + step]


def rank(probs: Iterable[Any], classes: int, k: int = TOP_K) -> Ranked:
    """Each photo's best guesses from `probs`, an iterable of (rows, `classes`) blocks of probabilities in photo order.

    Each block is ranked, then let go before the next is asked for, so the memory held is one block plus
    a few numbers per photo. GlrError when a block is not `classes` wide.
    """
    if classes < 1:
        raise GlrError("evaluation: the run lists no class to rank")
    kept: dict[str, list[np.ndarray]] = {"pred": [], "confidence": [], "top": [], "top_score": []}
    for block in probs:
        block = as_probabilities(block)
        if block.ndim != 2 or block.shape[1] != classes:
            raise GlrError(f"evaluation: the model gives {block.shape[-1] if block.ndim else 0} classes "
                           f"but {LABELS_FILE} lists {classes}")
        top = top_classes(block, k)
        kept["pred"].append(block.argmax(axis=1))
        kept["confidence"].append(block.max(axis=1).astype(np.float64))
        kept["top"].append(top)
        kept["top_score"].append(block[np.arange(len(block)), top[:, 0]].astype(np.float64))
        del block, top  # the loop's names would otherwise hold this block while the next one is made
    empty = {"top": np.zeros((0, min(k, classes)), np.int64)}
    joined = {name: np.concatenate(parts) if parts else empty.get(name, np.zeros(0)) for name, parts in kept.items()}
    return Ranked(pred=joined["pred"].astype(np.int64), confidence=joined["confidence"].astype(np.float64),
                  top=joined["top"].astype(np.int64), top_score=joined["top_score"].astype(np.float64))

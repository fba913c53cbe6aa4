"""Recognition by retrieval: kNN votes, the head+kNN blend, and the "not a known landmark" verdict.

Three ways to name the landmark in a photo, all from one forward pass:
- **head**: the trained classifier's softmax;
- **knn**: the k most similar training photos (cosine over L2-normalised backbone
  embeddings) vote for their class with their similarity;
- **blend**: a weighted mean of the two.

Each gives one class and a confidence per photo, which is what GAP ranks. The unknown
verdict comes from a *known score*: a weighted mean of the head's confidence and the similarity
of the nearest training photo, the weight learned per run (glr.retrieval.known_weight). A photo
of a known landmark is usually both confidently classified and close to some training photo;
a photo of anything else rarely is both. The
threshold is calibrated on the validation images alone (they are never in the index): it
keeps `KEEP_KNOWN` of them, so no distractor is needed to set it and the distractor
figures stay out-of-sample.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from glr.errors import GlrError
from glr.evaluation.metrics import gap
from glr.retrieval.known_weight import EVEN

KNN_K = 10
BLEND_WEIGHT = 0.5  # fixed, not tuned on validation data, so the figures below stay honest
KEEP_KNOWN = 0.95
NOISE = 2e-3  # how much a known score moves between evaluation and prediction (measured: under 1e-3)
METHODS = ("head", "knn", "blend")
DEFAULT_METHOD = "head"  # the blend or kNN becomes the default only where measured to win: see README
# The known score's formula: "head+top" (head confidence and nearest similarity) or "head+top+margin"
# (and the margin between the two best classes' similarities). A run records the one it was calibrated
# with; an index built before the record scores "head+top". Chosen by benchmarks/bench_embeddings.py.
KNOWN_FORMULAS = ("head+top", "head+top+margin")
KNOWN_SCORE = "head+top"


def knn_scores(sims: np.ndarray, neighbour_classes: np.ndarray, num_classes: int) -> np.ndarray:
    """Per-class votes (N, C): each of the k neighbours adds its similarity (clipped at 0) to its class, / k.

    The scores lie in [0, 1], and they keep how close the neighbours were, so a photo far
    from every training photo gets a low confidence, which is what GAP with distractors wants.
    """
    sims = np.clip(np.asarray(sims, np.float32), 0.0, None)
    neighbour_classes = np.asarray(neighbour_classes, np.int64)
    n, k = sims.shape
    scores = np.zeros((n, num_classes), np.float32)
    if k:
        np.add.at(scores, (np.repeat(np.arange(n), k), neighbour_classes.ravel()), sims.ravel())
        scores /= k
    return scores


def blend_scores(head_probs: np.ndarray, knn: np.ndarray, weight: float = BLEND_WEIGHT) -> np.ndarray:
    """weight * head probabilities + (1 - weight) * kNN votes."""
    return weight * np.asarray(head_probs, np.float32) + (1.0 - weight) * np.asarray(knn, np.float32)


def known_score(head_probs: np.ndarray, top_similarity: np.ndarray, verification: np.ndarray | None = None,
                margin: np.ndarray | None = None, head_weight: float = EVEN) -> np.ndarray:
    """How much a photo looks like a known landmark: a weighted mean of the head's top probability and the nearest similarity.

    `head_probs` is the head's probabilities (N, C) or only each photo's top one (N,), all the score reads of them.

    `head_weight` is the head's share of that pair (the run's learned one: glr.retrieval.known_weight;
    0.5, the plain mean, in runs made before). With spatial verification (`verification`: each
    photo's best verification score, in [0, 1)) and/or the class margin (`class_margin`), those
    parts join the mean, each counting as much as one half of the pair.
    """
    head = np.asarray(head_probs, np.float32)
    pair = (head_weight * (head.max(axis=1) if head.ndim == 2 else head)
            + (1.0 - head_weight) * np.asarray(top_similarity, np.float32))
    others = [np.asarray(part, np.float32) for part in (verification, margin) if part is not None]
    return ((2.0 * pair + np.sum(others, axis=0)) / (2 + len(others))).astype(np.float32)


def class_margin(sims: np.ndarray, neighbour_classes: np.ndarray) -> np.ndarray:
    """Nearest similarity minus the nearest similarity of any other class, per photo (k neighbours, best first).

    A known landmark's photo is usually much closer to its own class than to the next; a photo
    of an unseen one often sits between several. When all k neighbours share the nearest one's
    class, the k-th similarity stands for the other classes' best (which can only be lower).
    """
    sims, neighbour_classes = np.asarray(sims, np.float32), np.asarray(neighbour_classes)
    if sims.ndim != 2 or sims.shape[1] == 0:
        return np.zeros(len(sims), np.float32)
    other = neighbour_classes != neighbour_classes[:, :1]
    first = np.argmax(other, axis=1)  # sims are sorted: the first other-class neighbour is its class's best
    second = np.where(other.any(1), sims[np.arange(len(sims)), first], sims[:, -1])
    return np.clip(sims[:, 0] - second, 0.0, None)


def run_known_score(formula: str, head_probs: np.ndarray, sims: np.ndarray, neighbour_classes: np.ndarray,
                    verification: np.ndarray | None = None, head_weight: float = EVEN) -> np.ndarray:
    """The known score by one of `KNOWN_FORMULAS`, from the k nearest similarities (best first) and their classes."""
    if formula not in KNOWN_FORMULAS:
        raise GlrError(f"unknown known-score formula {formula!r}: use one of {', '.join(KNOWN_FORMULAS)}")
    margin = class_margin(sims, neighbour_classes) if formula == "head+top+margin" else None
    return known_score(head_probs, np.asarray(sims)[:, 0], verification, margin, head_weight)


def verified_scores(scores: np.ndarray, verification: np.ndarray, neighbour_classes: np.ndarray) -> np.ndarray:
    """Class scores re-ranked by spatial verification: the mean of `scores` and each class's best verification score.

    `verification` (N, k) scores the verified neighbours, `neighbour_classes` (N, k) their classes:
    a class whose training photo shares many inliers with the query moves up.
    """
    scores = np.asarray(scores, np.float32)
    best = np.zeros_like(scores)
    n, k = np.shape(verification)
    if k:
        np.maximum.at(best, (np.repeat(np.arange(n), k), np.asarray(neighbour_classes)[:, :k].ravel()),
                      np.asarray(verification, np.float32).ravel())
    return 0.5 * (scores + best)


@dataclass
class Calibration:
    """The unknown threshold on the known score, and how it was set."""

    threshold: float
    keep_known: float = KEEP_KNOWN
    calibrated_on: int = 0  # validation images

    def is_unknown(self, score) -> np.ndarray:
        """True where the known score falls below the threshold."""
        return np.asarray(score) < self.threshold

    def to_dict(self) -> dict:
        """For the run's retrieval evaluation."""
        return asdict(self)


def calibrate(val_known_scores: np.ndarray, keep_known: float = KEEP_KNOWN) -> Calibration:
    """The threshold that keeps `keep_known` of the validation photos (all of which show a known landmark)."""
    scores = np.asarray(val_known_scores, np.float64)
    if not len(scores):
        raise GlrError("cannot calibrate the unknown verdict: no validation images")
    if not 0.0 < keep_known <= 1.0:
        raise GlrError(f"keep_known must be in (0, 1], got {keep_known}")
    # The threshold is an observed score: the m lowest fall below it, m = floor(n * (1 - keep)),
    # so (without ties) exactly n - m validation photos stay known.
    # NOISE is taken off so that the photo that sets the threshold stays known when it is
    # predicted again through another decoder and the float16 index.
    flagged = int(np.floor(len(scores) * (1.0 - keep_known) + 1e-9))
    threshold = float(np.sort(scores)[flagged]) - NOISE if flagged < len(scores) else float("inf")
    return Calibration(threshold=threshold, keep_known=keep_known, calibrated_on=len(scores))


def method_scores(head_probs: np.ndarray, sims: np.ndarray, neighbour_classes: np.ndarray,
                  weight: float = BLEND_WEIGHT) -> dict[str, np.ndarray]:
    """{method: (N, C) scores} for head, knn and blend."""
    knn = knn_scores(sims, neighbour_classes, head_probs.shape[1])
    return {"head": np.asarray(head_probs, np.float32), "knn": knn, "blend": blend_scores(head_probs, knn, weight)}


def roc_auc(known: np.ndarray, unknown: np.ndarray) -> float:
    """How well a score separates known photos (high) from distractors (low): ROC AUC."""
    from sklearn.metrics import roc_auc_score

    if not len(known) or not len(unknown):
        return float("nan")
    y = np.r_[np.ones(len(known)), np.zeros(len(unknown))]
    return float(roc_auc_score(y, np.r_[known, unknown]))


def evaluate_methods(val_scores: dict[str, Any], val_true: np.ndarray, distractor_scores: dict[str, Any],
                     val_known: np.ndarray, distractor_known: np.ndarray, calibration: Calibration) -> dict[str, dict]:
    """Top-1 and GAP for each method, without and with the distractors ranked in.

    Each method's scores are its (N, C) matrix or only each photo's (best class, its score), as `method_tops` gives.

    `gap_distractors` ranks every distractor's best guess among the validation photos, as
    the competition did. `gap_distractors_unknown` first moves every photo the calibrated
    verdict calls unknown below all the others (their confidence minus 1), which is what
    the app does when it answers "not a known landmark".
    """
    val_true = np.asarray(val_true)
    unknown = np.r_[calibration.is_unknown(val_known), calibration.is_unknown(distractor_known)]
    out = {}
    for method, scores in val_scores.items():
        (v_pred, v_conf), (d_pred, d_conf) = _top(scores), _top(distractor_scores[method])
        pred = np.r_[v_pred, d_pred]
        conf = np.r_[v_conf, d_conf].astype(np.float64)
        true = list(val_true) + [-1] * len(d_pred)
        n = len(val_true)
        out[method] = {
            "top1": float(np.mean(pred[:n] == val_true)),
            "gap": gap(list(pred[:n]), list(conf[:n]), list(val_true)),
            "gap_distractors": gap(list(pred), list(conf), true),
            "gap_distractors_unknown": gap(list(pred), list(conf - unknown), true),
        }
    return out


def _top(scores: Any) -> tuple[np.ndarray, np.ndarray]:
    """(best class, its score) per photo of an (N, C) matrix, or the pair itself."""
    return scores if isinstance(scores, tuple) else (scores.argmax(1), scores.max(1))


def knn_top(sims: np.ndarray, neighbour_classes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each photo's best kNN class and its vote, equal to `knn_scores(...)`'s argmax(1) and max(1), from the k
    neighbours alone: (N, k) numbers where the votes of all classes were N x C (33 GB at 100,000 x 81,313).

    Every class no neighbour has votes 0, so a photo whose neighbours all vote 0 (or that has none) gets class 0.
    """
    votes, slot_classes, _ = _neighbour_votes(sims, neighbour_classes)
    n, k = votes.shape
    conf = votes.max(axis=1) if k else np.zeros(n, np.float32)
    # The first of equal bests, as argmax over all classes: the lowest class index among them.
    tied = np.where((votes == conf[:, None]) & (conf[:, None] > 0), slot_classes, np.iinfo(np.int64).max)
    pred = np.where(conf > 0, tied.min(axis=1) if k else 0, 0).astype(np.int64)
    return pred, conf


def _neighbour_votes(sims: np.ndarray, neighbour_classes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(votes, classes, first), each (N, k): the kNN vote of each neighbour's class, held at the first neighbour of
    that class (`first` True; 0 at the others), summed in neighbour order as knn_scores sums them: the same floats."""
    sims = np.clip(np.asarray(sims, np.float32), 0.0, None)
    classes = np.asarray(neighbour_classes, np.int64)
    n, k = sims.shape
    votes = np.zeros((n, k), np.float32)
    slot = np.argmax(classes[:, :, None] == classes[:, None, :], axis=2) if k else np.zeros((n, 0), np.int64)
    if k:
        np.add.at(votes, (np.repeat(np.arange(n), k), slot.ravel()), sims.ravel())
        votes /= k
    return votes, classes, slot == np.arange(k)


def method_tops(head_probs: Any, sims: np.ndarray, neighbour_classes: np.ndarray, num_classes: int,
                weight: float = BLEND_WEIGHT) -> tuple[dict[str, tuple[np.ndarray, np.ndarray]], np.ndarray]:
    """({method: (best class, its score)} for head, knn and blend, each photo's top head probability), equal to
    `method_scores`' argmax(1) and max(1), without any (N, C) matrix.

    `head_probs` is the (N, C) matrix or an iterable of its blocks of rows in photo order (the head's predictions
    made block by block: glr.evaluation.finish.head_blocks), read one block at a time; kNN needs only the k
    neighbours (`knn_top`), the blend one block of rows. The top head probability keeps the head's dtype, the
    methods' scores are float32, as method_scores gives them. GlrError when a block is not `num_classes` wide or
    the blocks hold another count of photos than `sims`.
    """
    from glr.evaluation.ranked import as_probabilities, blocks

    if hasattr(head_probs, "__array__") or (isinstance(head_probs, (list, tuple)) and head_probs
                                             and np.ndim(head_probs[0]) < 2):  # a matrix, as rank_probabilities reads it
        head_probs = blocks(head_probs)
    votes, slot_classes, first = _neighbour_votes(sims, neighbour_classes)
    kept: dict[str, list] = {"head": [], "blend": [], "max": []}
    start = 0
    for block in head_probs:
        block = as_probabilities(block)
        if block.ndim != 2 or block.shape[1] != num_classes:
            raise GlrError(f"retrieval evaluation: the head gives {block.shape[-1] if block.ndim else 0} classes "
                           f"but the run lists {num_classes}")
        rows = slice(start, start + len(block))
        head = block.astype(np.float32, copy=False)
        kept["max"].append(block.max(axis=1))
        kept["head"].append((head.argmax(axis=1), head.max(axis=1)))
        # The blend is weight x head where no neighbour votes (1 - weight times a vote of 0 adds nothing), and
        # the blend_scores sum, term for term, at each neighbour's class.
        blend = weight * head
        r, j = np.nonzero(first[rows])  # one slot per (photo, class): a repeated index would be written twice
        c = slot_classes[rows][r, j]
        blend[r, c] = weight * head[r, c] + (1.0 - weight) * votes[rows][r, j]
        kept["blend"].append((blend.argmax(axis=1), blend.max(axis=1)))
        start += len(block)
        del block, head, blend  # held otherwise while the next block is made
    if start != len(votes):
        raise GlrError(f"retrieval evaluation: the head classified {start} photos but {len(votes)} were searched")
    tops = {m: (np.concatenate([p for p, _ in kept[m]]) if kept[m] else np.zeros(0, np.int64),
                np.concatenate([v for _, v in kept[m]]) if kept[m] else np.zeros(0, np.float32)) for m in ("head", "blend")}
    tops["knn"] = knn_top(sims, neighbour_classes)
    head_max = np.concatenate(kept["max"]) if kept["max"] else np.zeros(0, np.float32)
    return {m: tops[m] for m in METHODS}, head_max

"""The known score's weight between the head and the nearest photo, learned from the training photos alone.

The known score mixes two signs that a photo shows a known landmark: the head's top
probability and the similarity of the nearest training photo. Which of the two tells a
landmark the run never saw from a known one depends on the data: on real photos of a few
landmarks an unseen one is often far from every training photo but still confidently
classified; on look-alike landmarks built from shared parts it is the other way round. So
each run learns the mix on its own training photos, the way the open-set benchmark tests it:
a few times, leave a quarter of the training classes out, fit a stand-in head (a logistic
regression) and an index on part of the rest, and score the held-back photos of the known
classes (known) and the left-out classes' photos (unseen). A logistic regression on the two
parts, standardised, then says how much each separates them. No validation photo, left-out
photo or distractor is used, and the threshold is still calibrated on the validation photos.

The simulation has unseen landmarks only, not the other kind of unknown photo, the one with no
landmark at all (the distractors), for which the even mix was set. So the weight used is halfway
between the learned one and the even mix: learned alone, the demo's head weight fell to about
0.18, which caught more unseen landmarks but 13 points fewer distractors.
Measured in benchmarks/README.md ("A known score learned by leaving training classes out").
"""

from __future__ import annotations

import warnings

import numpy as np

from glr.retrieval.index import normalize

# The fixed mix before, the fallback when a run has too few classes to leave some out, and the
# prior the learned weight is averaged with (PRIOR_SHARE of it), as the simulation lacks no-landmark photos.
EVEN = 0.5
PRIOR_SHARE = 0.5
ROUNDS = 10
LEFT_OUT_SHARE = 0.25
QUERY_SHARE = 0.25
# A sample about as large as the demo's training split bounds the cost (seconds here) at any dataset size.
MAX_CLASSES = 100
MAX_PHOTOS = 2000


def _parts(fit_x: np.ndarray, fit_y: np.ndarray, *queries: np.ndarray, sims: tuple | None = None) -> list[np.ndarray]:
    """Per query set, (N, 2): the stand-in head's top probability and the nearest fit photo's cosine similarity.

    `sims` (the fit photos' vectors, then each query set's) are searched instead of the head's own when given.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    # A looser tolerance than the probe's: a stand-in only needs its confidences roughly right (3x faster).
    head = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000, tol=1e-3)).fit(fit_x, fit_y)
    fit_s, *query_s = sims or (fit_x, *queries)
    return [np.c_[head.predict_proba(q).max(1), (s @ fit_s.T).max(1)] for q, s in zip(queries, query_s)]


def _sample(labels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Rows of at most MAX_PHOTOS photos, shared evenly by at most MAX_CLASSES classes that have 2 or more."""
    classes, counts = np.unique(labels, return_counts=True)
    classes = classes[counts >= 2]
    if len(classes) > MAX_CLASSES:
        classes = rng.choice(classes, MAX_CLASSES, replace=False)
    per_class = max(2, MAX_PHOTOS // max(1, len(classes)))
    rows = [rng.permutation(np.flatnonzero(labels == c))[:per_class] for c in classes]
    return np.sort(np.concatenate(rows)) if rows else np.zeros(0, np.int64)


def head_weight(train_feats: np.ndarray, train_labels: np.ndarray, val_head: np.ndarray, val_top: np.ndarray,
                seed: int = 0, head_feats: np.ndarray | None = None) -> float:
    """The head's weight in the known score (the nearest similarity gets 1 minus it), in [0.25, 0.75]: halfway
    (PRIOR_SHARE) between `learned_weight` and EVEN."""
    learned = learned_weight(train_feats, train_labels, val_head, val_top, seed, head_feats)
    return PRIOR_SHARE * EVEN + (1 - PRIOR_SHARE) * learned


def learned_weight(train_feats: np.ndarray, train_labels: np.ndarray, val_head: np.ndarray, val_top: np.ndarray,
                   seed: int = 0, head_feats: np.ndarray | None = None) -> float:
    """The head's weight that best tells unseen classes from known ones in the simulation, in [0, 1].

    Learned by leaving training classes out (see the module's docstring) on `train_feats`
    (embeddings, one row per training photo) and `train_labels`; the standardised weights are
    turned into weights on the raw parts with the spread of the validation photos' own parts
    (`val_head`: the head's top probabilities, `val_top`: the nearest similarities), so the
    mix ranks photos as the standardised one does. `head_feats` (one row per training photo) are
    what the run's head classifies when the index searches with other vectors (R-MAC,
    glr.retrieval.regional): the stand-in head is fitted on them. EVEN when there are fewer than
    3 classes with 2 photos or more.
    """
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(seed)
    labels = np.asarray(train_labels)
    rows = _sample(labels, rng)
    x, labels = normalize(np.asarray(train_feats)[rows]), labels[rows]
    hx = x if head_feats is None else normalize(np.asarray(head_feats)[rows])
    classes = np.unique(labels)
    if len(classes) < 3:
        return EVEN
    left_out = max(1, int(len(classes) * LEFT_OUT_SHARE))
    known_parts, unseen_parts = [], []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for _ in range(ROUNDS):
            unseen = np.isin(labels, rng.choice(classes, left_out, replace=False))
            query = np.zeros(len(labels), bool)
            for c in np.unique(labels[~unseen]):  # a quarter of each known class, at least one, never all
                members = rng.permutation(np.flatnonzero(labels == c))
                query[members[:max(1, min(len(members) - 1, round(len(members) * QUERY_SHARE)))]] = True
            fit = ~unseen & ~query
            known, other = _parts(hx[fit], labels[fit], hx[query], hx[unseen], sims=(x[fit], x[query], x[unseen]))
            # Standardised on the known photos, as the validation photos stand for them in the run.
            mean, spread = known.mean(0), np.maximum(known.std(0), 1e-6)
            known_parts.append((known - mean) / spread)
            unseen_parts.append((other - mean) / spread)
        parts = np.concatenate(known_parts + unseen_parts)
        is_known = np.r_[np.ones(sum(map(len, known_parts))), np.zeros(sum(map(len, unseen_parts)))]
        w_head, w_top = LogisticRegression(max_iter=1000).fit(parts, is_known).coef_[0]
    # A weight learned as negative means that part only misleads here: the other decides alone.
    w_head = max(float(w_head), 0.0) / max(float(np.std(val_head)), 1e-6)
    w_top = max(float(w_top), 0.0) / max(float(np.std(val_top)), 1e-6)
    return EVEN if w_head + w_top == 0 else w_head / (w_head + w_top)

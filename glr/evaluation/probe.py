"""A linear probe: how separable are the classes under a frozen backbone?

Extract features once, then fit a logistic regression under stratified k-fold cross-validation.
It takes a minute, needs no training run, and tells a user before training whether a
backbone suits their data. It is also how the demo dataset's difficulty is measured: raw
pixels must score low and pretrained features high.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from glr.errors import DatasetError

DEFAULT_FOLDS = 5
MAX_ITER = 1000


@dataclass
class ProbeResult:
    """Cross-validated accuracy of a logistic regression on frozen features."""

    features: str
    folds: int
    scores: list[float]
    images: int
    classes: int
    skipped: int
    copies: int = 0  # holdout: validation photos left out as copies of training photos, as training leaves them out
    scored: int = 0  # holdout: the validation photos scored
    thin: int = 0  # classes left out because fewer than 2 of their photos decode (k-fold cannot score them)
    left_out: tuple[str, ...] = ()  # the paths of the `skipped` images, to name them as training does
    # (landmark_id, share): the score of always naming the largest training class, on the images scored. With
    # classes of unequal size (500 photos beside 3) accuracy alone misleads: that guess alone scores 0.99.
    majority: tuple[int, float] = (0, 0.0)

    def notes(self, root=None) -> list[str]:
        """What was left out and why, for the terminal; images named relative to the dataset's `root`."""
        from glr.data.datasets import plural
        from glr.data.usable import undecodable_message

        out = [undecodable_message(self.left_out, root) if self.left_out else
               f"left out {plural(self.skipped, 'image')} that could not be decoded or were blank (one flat colour)"] \
            if self.skipped else []
        if self.thin:
            out.append(f"left out {plural(self.thin, 'class')} with fewer than 2 usable images "
                       "(cross-validation needs one to fit on and one to score)")
        return out

    @property
    def accuracy(self) -> float:
        """Mean accuracy over the folds."""
        return float(np.mean(self.scores))


def fold_count(y, folds: int = DEFAULT_FOLDS) -> int:
    """The folds cross-validation really uses for labels y: `folds`, lowered to the smallest class's size (at least 2).

    Stratified folds need every class in every fold, so a class with 3 photos allows 3 folds.
    """
    y = np.asarray(y)
    smallest = int(np.bincount(pd.factorize(y)[0]).min()) if len(y) else 0
    return max(2, min(folds, smallest))


def cross_validate(x: np.ndarray, y: np.ndarray, folds: int = DEFAULT_FOLDS, seed: int = 0) -> list[float]:
    """Per-fold accuracy of a standardised logistic regression on features x and labels y.

    The fold count is lowered to the smallest class size (fold_count) so every fold sees every class.
    """
    folds = fold_count(y, folds)
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=MAX_ITER))
    cv = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    return [float(s) for s in cross_val_score(model, x, y, cv=cv, n_jobs=1)]


def holdout_score(x: np.ndarray, y: np.ndarray, is_val: np.ndarray) -> float:
    """Accuracy on the rows where `is_val`, of the same logistic regression fitted on the others."""
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=MAX_ITER))
    model.fit(x[~is_val], y[~is_val])
    return float(model.score(x[is_val], y[is_val]))


def run_probe(
    data: pd.DataFrame,
    *,
    backbone: str | None = None,
    raw_pixels: int | None = None,
    weights: str | None = "imagenet",
    folds: int = DEFAULT_FOLDS,
    seed: int = 0,
    progress: Callable[[int], None] | None = None,
    holdout: bool = False,
) -> ProbeResult:
    """Probe the images in `data` (columns path, landmark_id, split) with a backbone or raw pixels.

    Pass `raw_pixels=N` for the no-learning baseline on N x N pixels, else `backbone`.
    k-fold cross-validation by default; `holdout=True` instead fits on the "train" rows and
    scores the "val" rows, to compare with a training run on the same split. Images that
    fail to decode are left out and counted in `skipped`. NonFiniteFeatures (glr.backbones.finite)
    when the backbone gives NaN or inf features, as training says it.
    """
    paths = data["path"].tolist()
    if raw_pixels:
        from glr.backbones.features import raw_pixel_features

        x, ok = raw_pixel_features(paths, size=raw_pixels, progress=progress)
        name = f"raw pixels {raw_pixels}x{raw_pixels}"
    else:
        from glr.backbones import registry as backbones
        from glr.backbones.features import extract_features
        from glr.backbones.finite import check_computed

        spec = backbones.get_backbone(backbone or backbones.DEFAULT_BACKBONE)
        model = backbones.build_backbone(spec.name, weights=weights)
        x, ok = extract_features(
            model, paths, input_size=spec.input_size, preprocess=spec.preprocess, progress=progress
        )
        check_computed(x, ok, paths)  # NaN features (damaged weights) failed in sklearn, not naming the backbone
        name = spec.name
    decoded, copies, is_val = ok.copy(), np.zeros(len(data), dtype=bool), (data["split"] == "val").to_numpy()
    if holdout:
        copies = _validation_copies(data, is_val, decoded)
        ok = decoded & ~copies
    ok, thin = _usable(data["landmark_id"].to_numpy(), ok, is_val, holdout)
    y = data["landmark_id"].to_numpy()[ok]
    if holdout:
        scores = [holdout_score(x[ok], y, is_val[ok])]
    else:
        scores = cross_validate(x[ok], y, folds=folds, seed=seed)
    return ProbeResult(
        majority=_majority(y, is_val[ok] if holdout else None),
        features=name, folds=0 if holdout else len(scores), scores=scores, images=int(ok.sum()),
        classes=int(len(np.unique(y))), skipped=int((~decoded).sum()), copies=int(copies.sum()),
        scored=int((is_val & ok).sum()) if holdout else 0, thin=thin, left_out=tuple(map(str, data["path"][~decoded])),
    )


def _majority(y: np.ndarray, is_val: np.ndarray | None) -> tuple[int, float]:
    """The largest class among the fitted labels and its share of the scored ones (all of `y` without `is_val`)."""
    fitted, scored = (y, y) if is_val is None else (y[~is_val], y[is_val])
    labels, counts = np.unique(fitted, return_counts=True)
    largest = labels[int(np.argmax(counts))]
    return int(largest), float(np.mean(scored == largest)) if len(scored) else 0.0


def _usable(labels: np.ndarray, ok: np.ndarray, is_val: np.ndarray, holdout: bool) -> tuple[np.ndarray, int]:
    """The rows a probe can use, and how many classes were left out; DatasetError when nothing can be scored.

    Photos that do not decode can leave a class with one photo (k-fold then fits folds on
    a single class: a NaN fold and a NaN accuracy) or a split with one class (sklearn's ValueError).
    """
    thin = 0
    if not holdout:
        kept, counts = np.unique(labels[ok], return_counts=True)
        small = kept[counts < 2]
        ok, thin = ok & ~np.isin(labels, small), len(small)
    train_classes = len(np.unique(labels[ok & ~is_val] if holdout else labels[ok]))
    if train_classes < 2 or (holdout and not (ok & is_val).any()):
        where = "in the training split " if holdout else ""
        from glr.data.datasets import plural

        raise DatasetError(f"the probe needs 2 classes with usable images {where}to tell apart"
                           + ("" if train_classes < 2 else " and validation images to score")
                           + f"; {plural(int(ok.sum()), 'usable image')} in {plural(train_classes, 'class')} "
                           f"({int((~ok).sum())} left out: they do not decode, are blank, or their class has too few)")
    return ok, thin


def _validation_copies(data: pd.DataFrame, is_val: np.ndarray, decoded: np.ndarray) -> np.ndarray:
    """Over all rows: validation photos identical to, or near-copies of, a training photo (glr.data.usable), as a run leaves out."""
    from glr.backbones.features import content_digest
    from glr.data.near_copies import default_store
    from glr.data.usable import copies_in_validation

    table = data.assign(label=pd.factorize(data["landmark_id"])[0])
    digests = [content_digest(p) for p in table["path"]]
    train, val = table[~is_val].reset_index(drop=True), table[is_val].reset_index(drop=True)
    copies, near = copies_in_validation(train, val, {"train": [d for d, v in zip(digests, is_val) if not v],
                                                     "val": [d for d, v in zip(digests, is_val) if v]},
                                        decoded[~is_val], decoded[is_val], default_store())
    found = np.zeros(len(data), dtype=bool)
    found[np.flatnonzero(is_val)] = copies | near
    return found

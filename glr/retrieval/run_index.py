"""A run's embedding index, its retrieval evaluation, and the recogniser the predictor uses.

At the end of training (glr.evaluation.finish, or later with `python -m glr retrieval RUN`)
the run gains:
- its index: the L2-normalised backbone embeddings of the training photos, with their ids,
  labels and paths (see `glr.retrieval.index`), flip-averaged in a new run (the evaluation
  records how: see `glr.retrieval.flip`);
- its retrieval evaluation: top-1 and GAP for the head, kNN and blend, without and with the
  distractors ranked in, the calibrated unknown threshold, and how well it separates;
- each distractor photo's best guess, known score and verdict;
- each validation photo's known score and each method's guess (in the order of the run's
  validation predictions).
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import pandas as pd

from glr.errors import GlrError
from glr.retrieval.flip import run_embedding
from glr.retrieval.index import EmbeddingIndex
from glr.retrieval.known_weight import EVEN, head_weight
from glr.retrieval.recognition import (
    BLEND_WEIGHT, DEFAULT_METHOD, KNN_K, KNOWN_SCORE, METHODS, Calibration, calibrate, evaluate_methods,
    method_scores, method_tops, roc_auc, run_known_score, verified_scores,
)
from glr.retrieval.verify import INLIER_HALF, MAX_FEATURES, VERIFY_K, LocalFeatureStore, Verifier, verification_score
from glr.training.run import Run, RunError, as_run, class_names


def class_of_items(items: pd.DataFrame, labels: pd.DataFrame) -> np.ndarray:
    """The class index of each index item, through labels (index, landmark_id)."""
    lookup = dict(zip(labels["landmark_id"].astype(int), labels["index"].astype(int)))
    classes = items["landmark_id"].astype(int).map(lookup)
    if classes.isna().any():
        raise GlrError("the embedding index holds landmarks that are not among the run's classes; rebuild it")
    return classes.to_numpy(np.int64)


def write_run_retrieval(run: Run | str | os.PathLike, labels: pd.DataFrame, train: pd.DataFrame, train_feats: np.ndarray,
                        val_true: np.ndarray, val_feats: np.ndarray, val_probs: Any,
                        distractors: pd.DataFrame, distractor_feats: np.ndarray,
                        distractor_probs: Any, val_paths: list | None = None, embedding: str = "single",
                        extra: dict | None = None, train_head_feats: np.ndarray | None = None) -> dict:
    """Save the index of the training photos and evaluate head, kNN and blend; returns the evaluation.

    `train` has id, landmark_id, path (one row per row of `train_feats`); `labels` has
    index, landmark_id, name; `val_true` holds class indices. `val_probs` and `distractor_probs`, the head's
    probabilities, are each a (photos, classes) matrix or an iterable of its blocks of rows in photo order
    (glr.evaluation.finish.head_blocks), read once, a block at a time: the evaluation keeps only each photo's
    best class and score per method (glr.retrieval.recognition.method_tops), never a photo x class matrix.
    With `val_paths` (the validation
    photos, in the order of `val_feats`) the index also gets the training photos' local
    features, and the unknown verdict is calibrated on spatially verified known scores.
    `embedding` records how every feature given was embedded (one of glr.retrieval.flip.EMBEDDINGS),
    so the predictor embeds its queries the same way; `train_head_feats`, what the head classifies
    when that differs from the index's vectors ("rmac"), fit the known score's stand-in head.
    `extra` adds its entries to the evaluation.
    """
    names = dict(zip(labels["landmark_id"].astype(int), class_names(labels)))
    # Absolute: a dataset given as a relative path must name the same photos from any folder the predictor runs in.
    items = pd.DataFrame({"id": train["id"].astype(str).to_numpy(), "landmark_id": train["landmark_id"].astype(int).to_numpy(),
                          "path": [os.path.abspath(p) for p in train["path"].astype(str)]})
    items["name"] = items["landmark_id"].map(names)
    index = EmbeddingIndex(train_feats, items)
    classes = class_of_items(index.items, labels)
    verifier = Verifier(LocalFeatureStore.build(index.items["path"].tolist())) if val_paths is not None else None
    plain = {}

    def scored(feats, probs, paths):  # ({method: (best class, score)}, top head probabilities, neighbours, paths)
        sims, idx = index.search(feats, KNN_K)
        tops, head_max = method_tops(probs, sims, classes[idx], len(labels))
        return tops, head_max, sims, idx, paths

    def known(weight, tops, head_max, sims, idx, paths):
        # The known score reads the head's top probability alone, as float32 like the rest of the head's scores.
        head = tops["head"][1]
        score = run_known_score(KNOWN_SCORE, head, sims, classes[idx], head_weight=weight)
        plain.setdefault("known", []).append(score)
        if verifier is not None:
            verification = verification_score(verifier.inliers(paths, idx)).max(1)
            score = run_known_score(KNOWN_SCORE, head, sims, classes[idx], verification, weight)
        return score

    val = scored(val_feats, val_probs, val_paths)
    dis = scored(distractor_feats, distractor_probs, distractors["path"].tolist())
    (val_scores, val_head, val_sims, _, _), (d_scores, d_head, d_sims, _, _) = val, dis
    weight = head_weight(index.vectors, index.items["landmark_id"].to_numpy(), val_head, val_sims[:, 0],
                         head_feats=train_head_feats)
    val_known, d_known = known(weight, *val), known(weight, *dis)
    val_top, d_top = val_sims[:, 0], d_sims[:, 0]
    calibration = calibrate(val_known)
    results = evaluate_methods(val_scores, val_true, d_scores, val_known, d_known, calibration)
    d_unknown = calibration.is_unknown(d_known)
    retrieval = {
        "knn_k": KNN_K, "blend_weight": BLEND_WEIGHT, "default_method": DEFAULT_METHOD, "known_score": KNOWN_SCORE,
        "known_head_weight": weight, "embedding": embedding, **(extra or {}),
        "index": {"items": len(index), "dim": int(index.vectors.shape[1]), "backend": index.backend},
        "val_images": int(len(val_true)), "distractors": int(len(distractors)),
        "distractor_sources": {str(k): int(v) for k, v in distractors["source"].value_counts().items()},
        "methods": results,
        "unknown": {
            **calibration.to_dict(),
            "val_kept": float(np.mean(~calibration.is_unknown(val_known))),
            "distractors_flagged": float(np.mean(d_unknown)) if len(d_unknown) else float("nan"),
            "flagged_by_source": {str(k): float(v) for k, v in
                                  pd.Series(d_unknown, dtype=float).groupby(distractors["source"].to_numpy()).mean().items()},
            "auroc": {"known_score": roc_auc(val_known, d_known), "top_similarity": roc_auc(val_top, d_top),
                      "head_confidence": roc_auc(val_head, d_head)},
        },
    }
    if verifier is not None:
        verifier.store.save(as_run(run).index_dir)  # before retrieval.json, which marks the index complete
        retrieval["verification"] = {"k": VERIFY_K, "inlier_half": INLIER_HALF, "features": f"SIFT, up to {MAX_FEATURES}",
                                     "plain_threshold": calibrate(plain["known"][0]).threshold,
                                     "plain_auroc": roc_auc(plain["known"][0], plain["known"][1])}
    best, confidence = d_scores[DEFAULT_METHOD]
    as_run(run).write_retrieval(index, distractors=pd.DataFrame({
        "name": distractors["name"].to_numpy(), "source": distractors["source"].to_numpy(),
        "pred_landmark_id": labels["landmark_id"].to_numpy()[best] if len(best) else [],
        "confidence": confidence if len(best) else [], "known_score": d_known, "unknown": d_unknown,
    }), val=pd.DataFrame({
        "known_score": val_known, "top_similarity": val_top,
        **{f"{m}_pred_index": val_scores[m][0] for m in METHODS},
        **{f"{m}_confidence": val_scores[m][1] for m in METHODS},
    }), retrieval=retrieval)
    return retrieval


def load_retrieval(run: Run | str | os.PathLike) -> dict | None:
    """The run's retrieval evaluation, or None if it has no index yet (or it is damaged: build it again)."""
    try:
        return as_run(run).retrieval()
    except RunError:
        return None


def retrieval_table(retrieval: dict) -> pd.DataFrame:
    """One row per method: top-1, GAP, GAP with distractors, and with the unknown verdict applied."""
    rows = [{"method": m, **retrieval["methods"][m]} for m in METHODS if m in retrieval.get("methods", {})]
    return pd.DataFrame(rows, columns=["method", "top1", "gap", "gap_distractors", "gap_distractors_unknown"])


def read_calibration(run: Run | str | os.PathLike, retrieval: dict) -> tuple[Calibration, Calibration, int]:
    """(the unknown verdict's calibration, the one without verification, verified neighbours k or 0) of `retrieval`.

    GlrError naming retrieval.json when they cannot be read: a file cut or edited by hand still parses as JSON.
    """
    run = as_run(run)
    try:
        unknown, verification = retrieval["unknown"], retrieval.get("verification")
        calibration = Calibration(float(unknown["threshold"]), float(unknown["keep_known"]), int(unknown["calibrated_on"]))
        plain = calibration if not verification else Calibration(
            float(verification["plain_threshold"]), calibration.keep_known, calibration.calibrated_on)
        return calibration, plain, int(verification["k"]) if verification else 0
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise GlrError(f"{run.retrieval_path}: damaged (its unknown threshold cannot be read: {exc.__class__.__name__} "
                       f"{exc}); rebuild the index with `python -m glr retrieval {run.path}`") from None


def retrieval_problem(run: Run | str | os.PathLike, retrieval: dict) -> str | None:
    """Why the run's retrieval evaluation cannot be shown (a damaged retrieval.json), or None when it can."""
    try:
        read_calibration(run, retrieval)
        unknown = retrieval["unknown"]
        for value in (unknown["distractors_flagged"], unknown["auroc"]["known_score"], retrieval["knn_k"],
                      retrieval["distractors"]):  # what the Results page shows
            float(value)
    except GlrError as exc:
        return str(exc)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        return (f"{as_run(run).retrieval_path}: damaged ({exc.__class__.__name__} {exc}); rebuild the index with "
                f"`python -m glr retrieval {as_run(run).path}`")
    return None


class Recognizer:
    """A run's index and calibration, applied to a batch of embeddings and head probabilities."""

    def __init__(self, run: Run | str | os.PathLike, labels: pd.DataFrame):
        run = as_run(run)
        self.retrieval = load_retrieval(run)
        if self.retrieval is None:
            damaged = run.retrieval_path.exists()  # there, but not readable as JSON: not "no index yet"
            raise GlrError(f"{run.retrieval_path}: damaged; rebuild the index with `python -m glr retrieval {run.path}`"
                           if damaged else f"run {run.id} has no embedding index yet: run `python -m glr retrieval {run.path}`")
        self.index = load_index(run)
        self.classes = class_of_items(self.index.items, labels)
        # The similar photos are named as the predictor names their classes: by labels.json as it is now, and never
        # "nan" for a class without a name (items.csv keeps the name at indexing time, as text).
        self.index.items["name"] = np.asarray(class_names(labels), dtype=object)[self.classes]
        self.calibration, self.plain, verify_k = read_calibration(run, self.retrieval)
        self.method = self.retrieval.get("default_method", DEFAULT_METHOD)
        # How the index embedded its photos: queries must be embedded the same way (the predictor reads it).
        self.embedding = run_embedding(self.retrieval)
        # An index built before the formula was recorded was calibrated on "head+top".
        self.known_formula = self.retrieval.get("known_score", "head+top")
        try:  # read now, not at the first photo: a value edited by hand is said here, not as a traceback then
            if self.method not in METHODS:
                raise ValueError(f"its default_method is {self.method!r}, not one of {', '.join(METHODS)}")
            # The head's share of the known score, learned per run (glr.retrieval.known_weight); older runs: an even mix.
            self.head_weight = float(self.retrieval.get("known_head_weight", EVEN))
            self.blend_weight = float(self.retrieval.get("blend_weight", BLEND_WEIGHT))
        except (TypeError, ValueError) as exc:
            raise GlrError(f"{run.retrieval_path}: damaged ({exc}); rebuild the index with "
                           f"`python -m glr retrieval {run.path}`") from None
        self.verifier, self.verify_problem = None, None  # verify_problem: why the index's local features are not used
        if verify_k:
            try:
                # With the index's paths, each matched photo is checked when verified: a photo replaced since
                # indexing is matched as it is now, never by the features of the one it replaced.
                store = LocalFeatureStore.load(run.index_dir, self.index.items["path"].astype(str).tolist())
                self.verifier = Verifier(store, verify_k)
            except GlrError as exc:  # missing or damaged: the verdict then falls back to the threshold without verification
                self.calibration = self.plain
                # --verify: with an index there, `glr retrieval RUN` alone only shows it, and builds no local features
                self.verify_problem = (f"{str(exc).removesuffix('; rebuild the index')}; rebuild the index with "
                                       f"`python -m glr retrieval {run.path} --verify`")

    def recognize(self, feats: np.ndarray, probs: np.ndarray, similar: int = 0, images=None) -> dict:
        """Scores of the default method (N, C), known scores, unknown flags and the `similar` nearest items.

        With the query photos (`images`) and a run indexed with local features, the nearest
        training photos are spatially verified: `inliers` (N, k) then feed the ranking and the known score.
        """
        sims, idx = self.index.search(feats, max(KNN_K, similar))
        scores = method_scores(probs, sims[:, :KNN_K], self.classes[idx[:, :KNN_K]], self.blend_weight)[self.method]
        near, near_classes = sims[:, :KNN_K], self.classes[idx[:, :KNN_K]]
        known = run_known_score(self.known_formula, probs, near, near_classes, head_weight=self.head_weight)
        calibration, inliers = self.plain, None
        if self.verifier is not None and images is not None:
            inliers = self.verifier.inliers(images, idx)
            verification = verification_score(inliers)
            scores = verified_scores(scores, verification, self.classes[idx[:, :inliers.shape[1]]])
            known = run_known_score(self.known_formula, probs, near, near_classes, verification.max(1), self.head_weight)
            calibration = self.calibration
        neighbours = [self.index.rows(i, s) for i, s in zip(idx[:, :similar], sims[:, :similar])]
        return {"scores": scores, "known": known, "unknown": calibration.is_unknown(known),
                "similar": neighbours, "inliers": inliers, "neighbours": idx, "nearest": sims[:, 0]}


# How each kind of index embeds photos, in words (glr.retrieval.flip.EMBEDDINGS).
EMBEDDING_WORDS = {"single": "one view of each photo", "flip": "each photo averaged with its mirror image",
                   "rmac": "regions (R-MAC) of each photo and its mirror image"}


def index_summary(retrieval: dict) -> str:
    """The index in words, for the command line and the Results page: its size, its search and how it embeds photos."""
    index = retrieval["index"]
    return (f"{index['items']} training photos, {index['backend']} search, by "
            f"{EMBEDDING_WORDS[run_embedding(retrieval)]}")


def index_stamp(run: Run | str | os.PathLike) -> float:
    """When the run's index was last completed (0 if absent): part of the app's predictor cache key."""
    return as_run(run).index_stamp()


def load_index(run: Run | str | os.PathLike) -> EmbeddingIndex:
    """The run's embedding index; GlrError naming its folder and how to rebuild it when it is missing or damaged."""
    run = as_run(run)
    rebuild = f"rebuild it with `python -m glr retrieval {run.path}`"
    try:
        return EmbeddingIndex.load(run.index_dir)
    except GlrError as exc:  # e.g. "the index has 14 vectors but 7 items": which index, and what to do
        message = str(exc).replace("python -m glr retrieval RUN", f"python -m glr retrieval {run.path}")
        message = message if str(run.index_dir) in message else f"{run.index_dir}: {message}"
        raise GlrError(message if "rebuild" in message else f"{message}; {rebuild}") from None


def embedding_map(run: Run | str | os.PathLike, method: str = "pca", max_points: int = 3000, seed: int = 0) -> pd.DataFrame:
    """A 2-D projection of the run's training embeddings: columns x, y, id, landmark_id, name, path.

    PCA is instant and keeps global distances; t-SNE (slower: seconds per thousand photos
    here) keeps neighbourhoods, so clusters of one landmark stand out. Above `max_points`
    an even sample per class is drawn, so small classes stay visible.
    """
    from sklearn.decomposition import PCA
    from sklearn.manifold import TSNE

    from glr.data.class_names import names_told_apart, run_labels_told_apart

    index = load_index(run)
    items = index.items.copy()
    if (labels := run_labels_told_apart(as_run(run))) is not None:  # an old run's look-alike classes: "Big Ben" twice
        items = names_told_apart(items, labels, {"name": "landmark_id"})
    rows = np.arange(len(items))
    if len(rows) > max_points:
        per_class = max(1, max_points // max(1, items["landmark_id"].nunique()))
        rows = np.sort(items.groupby("landmark_id").head(per_class).index.to_numpy())
    vectors, items = index.vectors[rows], items.iloc[rows].reset_index(drop=True)
    if len(vectors) < 3:
        raise GlrError("the index has fewer than 3 photos: nothing to map")
    if method == "tsne":
        perplexity = float(min(30, max(2, (len(vectors) - 1) // 3)))
        xy = TSNE(2, perplexity=perplexity, init="pca", random_state=seed).fit_transform(vectors)
    elif method == "pca":
        xy = PCA(2, random_state=seed).fit_transform(vectors)
    else:
        raise GlrError(f"unknown projection {method!r}: use pca or tsne")
    return items.assign(x=xy[:, 0], y=xy[:, 1])[["x", "y", "id", "landmark_id", "name", "path"]]

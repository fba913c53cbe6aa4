"""A run's embedding index, its retrieval evaluation, and the recogniser the predictor uses.

At the end of training (or later, with `python -m glr retrieval RUN`) the run folder gains:
- `index/`: the L2-normalised backbone embeddings of the training photos, with their ids,
  labels and paths (see `glr.retrieval.index`);
- `retrieval.json`: top-1 and GAP for the head, kNN and blend, without and with the
  distractors ranked in, the calibrated unknown threshold, and how well it separates;
- `distractors.csv`: each distractor photo's best guess, known score and verdict;
- `val_retrieval.csv`: each validation photo's known score and each method's guess.

For a run trained on a frozen backbone the embeddings are the cached features it trained
on, so this costs one backbone pass over the distractors (cached too) and nothing else. A
fine-tuned backbone has new features, so they are computed again with it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from glr.atomic import read_json, write_csv, write_json
from glr.errors import GlrError
from glr.retrieval.recognition import (
    BLEND_WEIGHT, DEFAULT_METHOD, KNN_K, METHODS, Calibration, calibrate, evaluate_methods, known_score,
    method_scores, roc_auc,
)
from glr.retrieval.index import EmbeddingIndex

INDEX_DIR = "index"
RETRIEVAL_FILE = "retrieval.json"
DISTRACTORS_FILE = "distractors.csv"
VAL_FILE = "val_retrieval.csv"  # per validation photo, in val_predictions.csv's order


def class_of_items(items: pd.DataFrame, labels: pd.DataFrame) -> np.ndarray:
    """The class index of each index item, through labels (index, landmark_id)."""
    lookup = dict(zip(labels["landmark_id"].astype(int), labels["index"].astype(int)))
    classes = items["landmark_id"].astype(int).map(lookup)
    if classes.isna().any():
        raise GlrError("the embedding index holds landmarks that are not among the run's classes; rebuild it")
    return classes.to_numpy(np.int64)


def write_run_retrieval(run_dir: str | os.PathLike, labels: pd.DataFrame, train: pd.DataFrame, train_feats: np.ndarray,
                        val_true: np.ndarray, val_feats: np.ndarray, val_probs: np.ndarray,
                        distractors: pd.DataFrame, distractor_feats: np.ndarray,
                        distractor_probs: np.ndarray) -> dict:
    """Save the index of the training photos and evaluate head, kNN and blend; returns retrieval.json's content.

    `train` has id, landmark_id, path (one row per row of `train_feats`); `labels` has
    index, landmark_id, name; `val_true` holds class indices.
    """
    run_dir = Path(run_dir)
    names = dict(zip(labels["landmark_id"].astype(int), labels["name"].astype(str)))
    items = pd.DataFrame({"id": train["id"].astype(str).to_numpy(), "landmark_id": train["landmark_id"].astype(int).to_numpy(),
                          "path": train["path"].astype(str).to_numpy()})
    items["name"] = items["landmark_id"].map(names)
    index = EmbeddingIndex(train_feats, items)
    classes = class_of_items(index.items, labels)

    def scored(feats, probs):
        sims, idx = index.search(feats, KNN_K)
        return method_scores(probs, sims, classes[idx]), known_score(probs, sims[:, 0]), sims[:, 0]

    val_scores, val_known, val_top = scored(val_feats, val_probs)
    d_scores, d_known, d_top = scored(distractor_feats, distractor_probs)
    calibration = calibrate(val_known)
    results = evaluate_methods(val_scores, val_true, d_scores, val_known, d_known, calibration)
    d_unknown = calibration.is_unknown(d_known)
    retrieval = {
        "knn_k": KNN_K, "blend_weight": BLEND_WEIGHT, "default_method": DEFAULT_METHOD,
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
                      "head_confidence": roc_auc(val_probs.max(1), distractor_probs.max(1))},
        },
    }
    index.save(run_dir / INDEX_DIR)
    best = d_scores[DEFAULT_METHOD]
    write_csv(run_dir / DISTRACTORS_FILE, pd.DataFrame({
        "name": distractors["name"].to_numpy(), "source": distractors["source"].to_numpy(),
        "pred_landmark_id": labels["landmark_id"].to_numpy()[best.argmax(1)] if len(best) else [],
        "confidence": best.max(1) if len(best) else [], "known_score": d_known, "unknown": d_unknown,
    }))
    write_csv(run_dir / VAL_FILE, pd.DataFrame({
        "known_score": val_known, "top_similarity": val_top,
        **{f"{m}_pred_index": val_scores[m].argmax(1) for m in METHODS},
        **{f"{m}_confidence": val_scores[m].max(1) for m in METHODS},
    }))
    write_json(run_dir / RETRIEVAL_FILE, retrieval)  # last: once it exists, the index is complete
    return retrieval


def load_retrieval(run_dir: str | os.PathLike) -> dict | None:
    """retrieval.json of a run, or None if it has none (or it is damaged)."""
    try:
        return read_json(Path(run_dir) / RETRIEVAL_FILE)
    except (OSError, ValueError):
        return None


def retrieval_table(retrieval: dict) -> pd.DataFrame:
    """One row per method: top-1, GAP, GAP with distractors, and with the unknown verdict applied."""
    rows = [{"method": m, **retrieval["methods"][m]} for m in METHODS if m in retrieval.get("methods", {})]
    return pd.DataFrame(rows, columns=["method", "top1", "gap", "gap_distractors", "gap_distractors_unknown"])


class Recognizer:
    """A run's index and calibration, applied to a batch of embeddings and head probabilities."""

    def __init__(self, run_dir: str | os.PathLike, labels: pd.DataFrame):
        run_dir = Path(run_dir)
        self.retrieval = load_retrieval(run_dir)
        if self.retrieval is None:
            raise GlrError(f"run {run_dir.name} has no embedding index yet: run `python -m glr retrieval {run_dir}`")
        self.index = EmbeddingIndex.load(run_dir / INDEX_DIR)
        self.classes = class_of_items(self.index.items, labels)
        unknown = self.retrieval["unknown"]
        self.calibration = Calibration(float(unknown["threshold"]), float(unknown["keep_known"]), int(unknown["calibrated_on"]))
        self.method = self.retrieval.get("default_method", DEFAULT_METHOD)

    def recognize(self, feats: np.ndarray, probs: np.ndarray, similar: int = 0) -> dict:
        """Scores of the default method (N, C), known scores, unknown flags and the `similar` nearest items."""
        sims, idx = self.index.search(feats, max(KNN_K, similar))
        scores = method_scores(probs, sims[:, :KNN_K], self.classes[idx[:, :KNN_K]], self.retrieval.get("blend_weight", BLEND_WEIGHT))
        known = known_score(probs, sims[:, 0])
        neighbours = [self.index.rows(i, s) for i, s in zip(idx[:, :similar], sims[:, :similar])]
        return {"scores": scores[self.method], "known": known, "unknown": self.calibration.is_unknown(known),
                "similar": neighbours}


# --------------------------------------------------------------------------- building for a run
def distractor_features(get_backbone: Callable, cache, *, input_size: int, preprocess: Callable,
                        batch_size: int) -> tuple[pd.DataFrame, np.ndarray]:
    """The distractor photos and their backbone features (from the feature cache where possible)."""
    from glr.demo.distractors import distractor_set
    from glr.backbones.features import cached_features, content_digest

    table = distractor_set()
    paths = table["path"].tolist()
    feats, ok, _ = cached_features(get_backbone, paths, [content_digest(p) for p in paths], 0, cache,
                                   input_size=input_size, preprocess=preprocess, batch_size=batch_size)
    return table[ok].reset_index(drop=True), feats[ok]


def rebuild(run_dir: str | os.PathLike, progress: Callable[[str], None] | None = None) -> dict:
    """Build (or rebuild) the index and retrieval.json of a finished run from its model and dataset."""
    from glr.data import datasets
    from glr.backbones.registry import get_backbone
    from glr.backbones.features import FeatureCache, cached_features, content_digest
    from glr.evaluation.metrics import load_labels
    from glr.training.model import load_model, split_classifier
    from glr.paths import cache_dir
    from glr.data.pipeline import DEFAULT_BATCH_SIZE

    say = progress or (lambda message: None)
    run_dir = Path(run_dir)
    try:
        config = read_json(run_dir / "config.json")
        train_cfg = config["train"]
        root = (config.get("dataset") or {}).get("root") or train_cfg.get("data")
    except (OSError, ValueError, KeyError):
        raise GlrError(f"{run_dir}: config.json is missing or damaged") from None
    labels = load_labels(run_dir)
    if labels is None or not (run_dir / "split.csv").is_file():
        raise GlrError(f"{run_dir}: labels.json or split.csv is missing (has the run finished?)")
    spec = get_backbone(train_cfg["backbone"])
    input_size = int(train_cfg.get("input_size") or spec.input_size)
    say("loading the model")
    backbone, head = split_classifier(load_model(run_dir / "model.keras"))
    # Features from the phase-1 cache are valid only while the backbone is the pretrained one.
    weights = train_cfg.get("weights")
    frozen = not (train_cfg.get("fine_tune") and train_cfg.get("fine_tune_epochs")) and weights
    cache = None
    if frozen:
        tag = "imagenet" if weights == "imagenet" else content_digest(weights)[:12]
        cache = FeatureCache(cache_dir() / "features", f"{spec.name}-{input_size}-{tag}")

    say("reading the dataset")
    catalog = datasets.load_catalog(root)
    split = pd.read_csv(run_dir / "split.csv", dtype={"id": str})
    paths = catalog.df.drop_duplicates("id").set_index("id")["path"]
    split = split.assign(path=split["id"].map(paths)).dropna(subset=["path"])
    common = dict(input_size=input_size, preprocess=spec.preprocess, batch_size=DEFAULT_BATCH_SIZE)

    def feats_of(table):
        p = table["path"].tolist()
        f, ok, _ = cached_features(lambda: backbone, p, [content_digest(x) for x in p], 0, cache, **common)
        return table[ok].reset_index(drop=True), f[ok]

    say("embedding the training and validation photos")
    train, train_feats = feats_of(split[split["split"] == "train"])
    val, val_feats = feats_of(split[split["split"] == "val"])
    lookup = dict(zip(labels["landmark_id"].astype(int), labels["index"].astype(int)))
    val_true = val["landmark_id"].astype(int).map(lookup).to_numpy(np.int64)
    say("embedding the distractors")
    distractors, d_feats = distractor_features(lambda: backbone, cache, **common)
    predict = lambda f: head.predict(f, verbose=0, batch_size=256) if len(f) else np.zeros((0, len(labels)), np.float32)  # noqa: E731
    say("evaluating head, kNN and blend")
    return write_run_retrieval(run_dir, labels, train, train_feats, val_true, val_feats, predict(val_feats),
                               distractors, d_feats, predict(d_feats))


def index_stamp(run_dir: str | os.PathLike) -> float:
    """The modification time of retrieval.json (0 if absent): part of the app's predictor cache key."""
    try:
        return (Path(run_dir) / RETRIEVAL_FILE).stat().st_mtime
    except OSError:
        return 0.0


def embedding_map(run_dir: str | os.PathLike, method: str = "pca", max_points: int = 3000, seed: int = 0) -> pd.DataFrame:
    """A 2-D projection of the run's training embeddings: columns x, y, id, landmark_id, name, path.

    PCA is instant and keeps global distances; t-SNE (slower: seconds per thousand photos
    here) keeps neighbourhoods, so clusters of one landmark stand out. Above `max_points`
    an even sample per class is drawn, so small classes stay visible.
    """
    from sklearn.decomposition import PCA
    from sklearn.manifold import TSNE

    index = EmbeddingIndex.load(Path(run_dir) / INDEX_DIR)
    items = index.items.copy()
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

"""Post-hoc known scores from the out-of-distribution literature (ReAct, ASH, ViM, PCA residuals) against glr's.

Each one re-scores a trained head without training it again. For each seed this trains the open-set
benchmark's split as `python -m glr openset` does (phase 1 only), embeds every photo as the default index
does (average pooling, flip averaged; no regions), and scores the same run with:
- ReAct (Sun et al., 2021): the head's hidden layer clipped at its 90th percentile over the training photos,
  then the energy, or the top probability in glr's weighted mean with the nearest similarity;
- ASH-S (Djurisic et al., 2023): the hidden layer's top 10% kept and rescaled, then the energy;
- ViM (Wang et al., 2022): the energy less the hidden layer's norm outside its principal subspace (D
  dimensions, around the origin the last layer implies), scaled on the training photos;
- the unit embedding's distance outside the training photos' top D principal components (a PCA
  reconstruction error, which needs no head), added to glr's score as a z-score;
- the head, the nearest similarity and that PCA residual (D=16) mixed with weights learned per run by leaving
  training classes out, as glr.retrieval.known_weight learns its two (raw, and halfway to glr's even mix).
The unknown threshold keeps 95% of the known validation photos, and the z-scores use those photos'
statistics only: no candidate sees a left-out photo or a distractor before it is scored.

    .venv/bin/python benchmarks/bench_posthoc_scores.py [DATA] [--seeds 0 1 2] [--tiny]
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_embeddings  # noqa: E402
from bench_known_scores import hidden_layer  # noqa: E402

BASELINE = "glr's (head+top, the run's weight)"
CLIP_PERCENTILE = 90  # ReAct's
ASH_KEEP = 0.1  # ASH-S keeps the top 10% of activations
VIM_DIMS = (8, 32, 128, 256, "4C", "90%", "99%")  # "4C": four per known class; "90%": those holding 90% of the variance
PCA_DIMS = (16, 64)
LEARNED_PCA_DIMS = 16
GROUPS = ("val", "held", "distractors")


def energy_and_prob(logits: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(log-sum-exp, top softmax probability) per row."""
    top = logits.max(1, keepdims=True)
    total = np.exp(logits - top).sum(1)
    return np.log(total) + top[:, 0], 1 / total


def ash_s(hidden: np.ndarray) -> np.ndarray:
    """ASH-S: keep each row's top `ASH_KEEP` activations, scaled by exp(sum of all / sum of kept)."""
    k = max(1, int(ASH_KEEP * hidden.shape[1]))
    threshold = -np.sort(-hidden, 1)[:, k - 1:k]
    kept = np.where(hidden >= threshold, hidden, 0)
    return kept * np.exp(hidden.sum(1, keepdims=True) / np.maximum(kept.sum(1, keepdims=True), 1e-9))


def pca_residual(fit_unit: np.ndarray, query_unit: np.ndarray, dims: int) -> np.ndarray:
    """Minus each query row's distance outside the fit rows' top `dims` principal components (higher: more known)."""
    centre = fit_unit.mean(0)
    _, _, axes = np.linalg.svd(fit_unit - centre, full_matrices=False)
    return -np.linalg.norm((query_unit - centre) @ axes[min(dims, len(axes) - 1):].T, axis=1)


def learned_three(train_feats: np.ndarray, train_labels: np.ndarray, seed: int = 0) -> np.ndarray:
    """Weights of (head, nearest similarity, PCA residual) on standardised parts, summing to 1: the simulation of
    glr.retrieval.known_weight (leave a quarter of the classes out, ten rounds) with the residual as a third part."""
    from sklearn.linear_model import LogisticRegression

    from glr.retrieval import known_weight as kw
    from glr.retrieval.index import normalize

    rng = np.random.default_rng(seed)
    labels = np.asarray(train_labels)
    rows = kw._sample(labels, rng)
    x, labels = normalize(np.asarray(train_feats)[rows]), labels[rows]
    classes = np.unique(labels)
    if len(classes) < 3:  # nothing to leave out (as known_weight, which keeps its even mix then)
        return np.array([0.5, 0.5, 0.0])
    known_parts, unseen_parts = [], []
    for _ in range(kw.ROUNDS):
        unseen = np.isin(labels, rng.choice(classes, max(1, int(len(classes) * kw.LEFT_OUT_SHARE)), replace=False))
        query = np.zeros(len(labels), bool)
        for c in np.unique(labels[~unseen]):
            members = rng.permutation(np.flatnonzero(labels == c))
            query[members[:max(1, min(len(members) - 1, round(len(members) * kw.QUERY_SHARE)))]] = True
        fit = ~unseen & ~query
        known, other = kw._parts(x[fit], labels[fit], x[query], x[unseen])
        known = np.c_[known, pca_residual(x[fit], x[query], LEARNED_PCA_DIMS)]
        other = np.c_[other, pca_residual(x[fit], x[unseen], LEARNED_PCA_DIMS)]
        mean, spread = known.mean(0), np.maximum(known.std(0), 1e-6)
        known_parts.append((known - mean) / spread)
        unseen_parts.append((other - mean) / spread)
    is_known = np.r_[np.ones(sum(map(len, known_parts))), np.zeros(sum(map(len, unseen_parts)))]
    weights = np.maximum(LogisticRegression(max_iter=1000).fit(np.concatenate(known_parts + unseen_parts),
                                                                is_known).coef_[0], 0)
    return weights / weights.sum() if weights.sum() else np.array([0.5, 0.5, 0.0])


def part_scores(head, emb: dict, index) -> dict:
    """Per group, the parts each candidate is built from (see the module's docstring)."""
    from glr.retrieval.index import normalize
    from glr.retrieval.recognition import KNN_K

    weights, bias = head.get_layer("classes").get_weights()
    hidden = {g: hidden_layer(head, emb[g]) for g in emb}
    clip = np.percentile(hidden["train"], CLIP_PERCENTILE)
    origin = -np.linalg.pinv(weights.T) @ bias  # where the logits are all zero: ViM's centre
    _, hidden_sv, hidden_axes = np.linalg.svd(hidden["train"] - origin, full_matrices=False)
    explained = np.cumsum(hidden_sv ** 2) / np.sum(hidden_sv ** 2)
    unit_train = normalize(emb["train"])
    parts = {}
    for g, h in hidden.items():
        p = {}
        p["energy"], p["maxprob"] = energy_and_prob(h @ weights + bias)
        p["react"], p["react_prob"] = energy_and_prob(np.minimum(h, clip) @ weights + bias)
        p["ash"], _ = energy_and_prob(ash_s(h) @ weights + bias)
        for d in VIM_DIMS:
            dims = (4 * weights.shape[1] if d == "4C" else int(np.searchsorted(explained, float(d[:-1]) / 100)) + 1
                    if isinstance(d, str) else d)
            p[f"resid{d}"] = np.linalg.norm((h - origin) @ hidden_axes[min(dims, len(hidden_axes) - 1):].T, axis=1)
        for d in PCA_DIMS:
            p[f"pca{d}"] = pca_residual(unit_train, normalize(emb[g]), d)
        p["top"] = index.search(emb[g], KNN_K)[0][:, 0]
        parts[g] = p
    train_max_logit = (hidden["train"] @ weights + bias).max(1).sum()
    for d in VIM_DIMS:
        alpha = train_max_logit / parts["train"][f"resid{d}"].sum()
        for p in parts.values():
            p[f"vim{d}"] = p["energy"] - alpha * p[f"resid{d}"]
    return parts


def candidates(parts: dict, weight: float, three: np.ndarray) -> dict:
    """Candidate known scores per group ("val", "held", "distractors"); `weight` is the run's head weight, `three`
    the learned weights of (head, top, PCA residual)."""
    def z(name, g):
        val = parts["val"][name]
        return (parts[g][name] - val.mean()) / (val.std() or 1.0)

    def glr(g, prob="maxprob"):
        return weight * parts[g][prob] + (1 - weight) * parts[g]["top"]

    for g in parts:
        parts[g]["glr"] = glr(g)
    formulas = {
        BASELINE: lambda g: parts[g]["glr"],
        "energy": lambda g: parts[g]["energy"],
        "ReAct energy": lambda g: parts[g]["react"],
        "z(ReAct energy)+z(top)": lambda g: z("react", g) + z("top", g),
        "glr's with ReAct's top probability": lambda g: glr(g, "react_prob"),
        "ASH-S energy": lambda g: parts[g]["ash"],
        "z(ASH-S energy)+z(top)": lambda g: z("ash", g) + z("top", g),
        **{f"ViM, D={d}": (lambda g, d=d: parts[g][f"vim{d}"]) for d in VIM_DIMS},
        **{f"z(ViM, D={d})+z(top)": (lambda g, d=d: z(f"vim{d}", g) + z("top", g)) for d in VIM_DIMS},
        **{f"z(glr's)+z(PCA residual, D={d})/2": (lambda g, d=d: z("glr", g) + z(f"pca{d}", g) / 2) for d in PCA_DIMS},
        **{f"learned: head, top, PCA residual D={LEARNED_PCA_DIMS} ({how})": (lambda g, w=w: w[0] * z("maxprob", g) +
           w[1] * z("top", g) + w[2] * z(f"pca{LEARNED_PCA_DIMS}", g))
           for how, w in (("raw", three), ("halfway to even", (three + np.array([0.5, 0.5, 0.0])) / 2))},
    }
    return {name: {g: f(g) for g in GROUPS} for name, f in formulas.items()}


def run_dataset(data: Path, seeds, config, say=print) -> pd.DataFrame:
    """Every candidate's open-set figures per seed on `data`."""
    from glr.retrieval import known_weight

    rows = []
    for seed, trainer, head, pooled, distractors in bench_embeddings.trained_splits(data, seeds, config, say):
        tables, emb, index = bench_embeddings.split_embeddings(trainer, pooled, distractors)
        parts = part_scores(head, emb, index)
        # The head's weight as a run learns it from its training photos (glr.retrieval.run_index does the same).
        weight = known_weight.head_weight(index.vectors, tables["train"]["landmark_id"].to_numpy(),
                                          parts["val"]["maxprob"], parts["val"]["top"])
        three = learned_three(index.vectors, tables["train"]["landmark_id"].to_numpy())
        say(f"seed {seed}: learned weights of head, top, PCA residual {np.round(three, 3).tolist()}")
        for name, scores in candidates(parts, weight, three).items():
            rows.append({"seed": seed, "score": name, **bench_embeddings.open_set_figures(scores)})
    return pd.DataFrame(rows)


def main(argv=None) -> dict:
    """Run the benchmark; returns the means over seeds per candidate."""
    return bench_embeddings.candidates_main(argv, __doc__, "post-hoc known scores (ReAct, ASH, ViM, PCA)", run_dataset,
                                            "score", ["known_kept", "held_out_unknown", "distractors_unknown", "auroc"],
                                            BASELINE, "glr's")


if __name__ == "__main__":
    main()

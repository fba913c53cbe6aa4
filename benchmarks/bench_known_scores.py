"""Known scores from the head's logits (energy, max logit), the neighbours, Mahalanobis and a learned mix, against an even head+top.

The out-of-distribution literature scores a photo by its classifier's logits rather than its
softmax: the max logit, or the energy (log-sum-exp of the logits), and by its k-th nearest
neighbour's similarity. For each seed this trains the open-set benchmark's split as
`python -m glr openset` does (a seeded quarter of the classes left out; the default training with
phase 1 only), embeds every photo as the default index does (average pooling, flip averaged), and
re-scores the same run with each candidate, including the nearest training photo's similarity in the
head's hidden layer (the "deep nearest neighbours" of Sun et al., 2022: normalised penultimate
features), and the Mahalanobis distance to the nearest class mean under a shared covariance (Lee et al.,
2018), alone and relative to the distance from all training photos' mean (Ren et al., 2021), both on
unit embeddings with Ledoit-Wolf shrinkage, and two hubness reductions of the nearest similarity (a
training photo close to many others is near to every query too): CSLS (Conneau et al., 2018), 2 cos(q, y)
- r(y) - r(q) with r the mean similarity to the 10 nearest training photos, and cos(q, y) - r(y) / 2. The
unknown threshold is calibrated on the known
validation photos alone (95% kept), and the z-scored sums standardise each part on those photos
too: no candidate sees a left-out photo or a distractor before it is scored. The learned mixes
weigh the head against the nearest similarity as glr.retrieval.known_weight learns it from the
training photos alone: as learned, and halfway to the even mix (what runs use).

    .venv/bin/python benchmarks/bench_known_scores.py [DATA] [--seeds 0 1 2] [--tiny]
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_embeddings  # noqa: E402

BASELINE = "head+top"  # the even mix, which runs used before the learned weight
LEARNED, DEFAULT = "head+top, learned weight", "head+top, halfway to even (the default)"


def hidden_layer(head, emb: np.ndarray) -> np.ndarray:
    """The head's hidden layer for `emb`: what its last layer classifies (the dropout is off in inference)."""
    import keras

    return keras.Model(head.input, head.get_layer("classes").input).predict(emb, verbose=0)


class Mahalanobis:
    """Class-conditional Gaussians with one shared covariance on unit embeddings, and one for all photos.

    Fitted with scikit-learn's Ledoit-Wolf shrinkage: a few hundred photos cannot estimate a
    1280-dimensional covariance unaided.
    """

    def __init__(self, train_unit: np.ndarray, labels: np.ndarray):
        from sklearn.covariance import LedoitWolf

        classes, idx = np.unique(labels, return_inverse=True)
        self.means = np.stack([train_unit[idx == i].mean(0) for i in range(len(classes))])
        self.prec = LedoitWolf(assume_centered=True).fit(train_unit - self.means[idx]).precision_
        self.all = LedoitWolf().fit(train_unit)

    def scores(self, x_unit: np.ndarray) -> dict:
        """{"maha": -(the nearest class mean's squared distance), "relmaha": the same minus the all-photo one's}."""
        xp = x_unit @ self.prec
        d = (xp * x_unit).sum(1)[:, None] - 2 * xp @ self.means.T + ((self.means @ self.prec) * self.means).sum(1)
        d0 = self.all.mahalanobis(x_unit)
        return {"maha": -d.min(1), "relmaha": -(d - d0[:, None]).min(1)}


HUB_K = 10  # the neighbours whose mean similarity says how much of a hub a photo is


def hubness(train_unit: np.ndarray, k: int = HUB_K) -> np.ndarray:
    """Each training photo's mean cosine to its k nearest other training photos (CSLS's r)."""
    sims = train_unit @ train_unit.T
    np.fill_diagonal(sims, -np.inf)
    k = max(1, min(k, len(sims) - 1))
    return np.sort(sims, axis=1)[:, -k:].mean(1)


def part_scores(head, emb: np.ndarray, index, train_hidden: np.ndarray, gauss: Mahalanobis,
                hubs: np.ndarray) -> dict:
    """Per photo: the head's top probability, max logit and energy, the similarities of its neighbours, and
    the nearest training photo's cosine in the head's hidden layer (`train_hidden`: theirs, unit rows), and the
    Mahalanobis scores under `gauss`, and the hub-discounted similarities (`hubs`: the training photos' `hubness`)."""
    from glr.retrieval.index import normalize
    from glr.retrieval.recognition import KNN_K

    hidden = hidden_layer(head, emb)
    weights, bias = head.get_layer("classes").get_weights()
    logits = hidden @ weights + bias
    top = logits.max(1, keepdims=True)
    exp = np.exp(logits - top)
    sims, _ = index.search(emb, KNN_K)
    return {"maxprob": 1 / exp.sum(1), "maxlogit": top[:, 0], "energy": np.log(exp.sum(1)) + top[:, 0],
            "top": sims[:, 0], "kth5": sims[:, min(4, sims.shape[1] - 1)], "mean10": sims.mean(1),
            "hidden": (normalize(hidden) @ train_hidden.T).max(1), **gauss.scores(normalize(emb)), **hub_scores(emb, index, hubs)}


def hub_scores(emb: np.ndarray, index, hubs: np.ndarray) -> dict:
    """{"csls": max over training photos of 2 cos - r(y), less the query's own r; "hub_half": max of cos - r(y) / 2}."""
    from glr.retrieval.index import normalize

    cos = normalize(emb) @ np.asarray(index.vectors, np.float32).T
    r_query = np.sort(cos, axis=1)[:, -min(HUB_K, cos.shape[1]):].mean(1)
    return {"csls": (2 * cos - hubs[None]).max(1) - r_query, "hub_half": (cos - hubs[None] / 2).max(1)}


def candidates(parts: dict, weights: dict | None = None) -> dict:
    """Candidate known scores per group, from the parts; z-scores use the known validation photos' statistics.

    `weights` (name -> the head's weight in head+top) adds a weighted head+top per entry.
    """
    def z(name, group):
        val = parts["val"][name]
        return (parts[group][name] - val.mean()) / (val.std() or 1.0)

    formulas = {
        BASELINE: lambda g: (parts[g]["maxprob"] + parts[g]["top"]) / 2,
        **{name: (lambda g, name=name: parts[g][name])
           for name in ("maxprob", "maxlogit", "energy", "top", "kth5", "mean10", "hidden", "maha", "relmaha",
                                  "csls", "hub_half")},
        "z(maxprob)+z(top)": lambda g: z("maxprob", g) + z("top", g),
        "z(maxlogit)+z(top)": lambda g: z("maxlogit", g) + z("top", g),
        "z(energy)+z(top)": lambda g: z("energy", g) + z("top", g),
        "z(maxprob)+z(hidden)": lambda g: z("maxprob", g) + z("hidden", g),
        "z(top)+z(hidden)": lambda g: z("top", g) + z("hidden", g),
        "z(maxprob)+z(maha)": lambda g: z("maxprob", g) + z("maha", g),
        "z(maxprob)+z(relmaha)": lambda g: z("maxprob", g) + z("relmaha", g),
        "z(maxprob)+z(csls)": lambda g: z("maxprob", g) + z("csls", g),
        "z(maxprob)+z(hub_half)": lambda g: z("maxprob", g) + z("hub_half", g),
        **{name: (lambda g, w=w: w * parts[g]["maxprob"] + (1 - w) * parts[g]["top"]) for name, w in (weights or {}).items()},
    }
    return {name: {g: f(g) for g in parts} for name, f in formulas.items()}


def run_dataset(data: Path, seeds, config, say=print) -> pd.DataFrame:
    """Every candidate's open-set figures per seed on `data`."""
    from glr.retrieval import known_weight
    from glr.retrieval.index import normalize

    rows = []
    for seed, trainer, head, pooled, distractors in bench_embeddings.trained_splits(data, seeds, config, say):
        tables, emb, index = bench_embeddings.split_embeddings(trainer, pooled, distractors)
        train_hidden = normalize(hidden_layer(head, emb["train"]))
        gauss = Mahalanobis(normalize(emb["train"]), tables["train"]["landmark_id"].to_numpy())
        hubs = hubness(np.asarray(index.vectors, np.float32))
        parts = {g: part_scores(head, emb[g], index, train_hidden, gauss, hubs) for g in ("val", "held", "distractors")}
        # The head's weight as glr.retrieval.known_weight learns it from the training photos (run_index does the same).
        args = (index.vectors, tables["train"]["landmark_id"].to_numpy(), parts["val"]["maxprob"], parts["val"]["top"])
        weights = {LEARNED: known_weight.learned_weight(*args), DEFAULT: known_weight.head_weight(*args)}
        say(f"seed {seed}: head weight learned {weights[LEARNED]:.3f}, used {weights[DEFAULT]:.3f}")
        for name, scores in candidates(parts, weights).items():
            rows.append({"seed": seed, "score": name, **bench_embeddings.open_set_figures(scores)})
    return pd.DataFrame(rows)


def main(argv=None) -> dict:
    """Run the benchmark; returns the means over seeds per candidate."""
    return bench_embeddings.candidates_main(argv, __doc__, "known scores from logits and neighbours", run_dataset, "score",
                                            ["known_kept", "held_out_unknown", "distractors_unknown", "auroc"],
                                            BASELINE, BASELINE)


if __name__ == "__main__":
    main()

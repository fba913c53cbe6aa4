"""Regional (R-MAC) similarities in the open-set known score, against the default's global one.

The default known score mixes the head's top probability with the cosine similarity of the
nearest training photo, both from the flip-averaged average pooling of the backbone's 224 px
map, the head's weight learned from the training photos (glr.retrieval.known_weight.head_weight).
Here the similarity part is replaced by R-MAC descriptors (Tolias et al.): average-pooled
regions of the same flip-averaged map, each L2-normalised, summed and normalised again:

  rmac224           the whole map + 2x2 + 3x3 overlapping windows (sides ~2n/3, ~n/2): no
                    extra backbone pass over the 224 px map a run computes anyway.
  rmacW224          the same from the windows glr pools to train its head (glr.backbones.features.windows):
                    what a new run's index holds now (glr.retrieval.regional).
  rmac_ms2_224_320  R-MAC at 224 and at 320 px (a second backbone pass), averaged.

For each seed the open-set benchmark's split is trained in-process as bench_embeddings does
(frozen Lite0, head on cached features), and every candidate re-scores that same run. The head
part is unchanged; its weight is re-learned for each similarity by known_weight's own
leave-training-classes-out simulation (training photos only), with that similarity in place of
the global one. Thresholds come only from glr.retrieval.recognition.calibrate on the known
validation photos: 95% kept (the default), and 90% and 97.5% for the left-out figure at other
keep rates. No candidate sees a left-out photo or a distractor before it is scored.
kNN top-1 is the known validation photos' class by their 10 nearest training photos' vote, as a
run's knn method ranks. (--tiny fits a logistic regression instead of training, at 32 and 64 px.)

    nice -n 10 .venv/bin/python benchmarks/bench_regional.py [DATA] [--seeds 0 1 2] [--tiny]
"""

from __future__ import annotations

import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_embeddings  # noqa: E402
import common  # noqa: E402

LARGE_SIZE = 320  # ~224 * sqrt(2): Lite0's stride 32 makes a 10x10 map of it, against 7x7 at 224
TINY_LARGE_SIZE = 64
BASELINE = "baseline (default)"
OTHER_KEEPS = (0.90, 0.975)  # the left-out figure at these shares of known validation photos kept too
FIGURES = ["known_kept", "held_out_unknown", "distractors_unknown", "auroc", "knn_top1",
           *[f"held_unknown_keep{100 * k:g}" for k in OTHER_KEEPS]]


def unit(x: np.ndarray) -> np.ndarray:
    """Rows (the last axis) scaled to unit length, as float32."""
    x = np.asarray(x, np.float32)
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)


def rmac_boxes(n: int) -> list[tuple[int, int, int]]:
    """(row, col, side) of R-MAC's regions of an n x n map: the whole map, then 2x2 and 3x3 overlapping windows."""
    boxes = [(0, 0, n)]
    for level in (2, 3):
        side = max(1, int(round(2 * n / (level + 1))))
        pos = sorted({int(round(p)) for p in np.linspace(0, n - side, level)})
        boxes += [(r, c, side) for r in pos for c in pos]
    return boxes


def glr_window_boxes(n: int) -> list[tuple[int, int, int]]:
    """(row, col, side) of the windows glr pools to train its head, the whole map first."""
    from glr.backbones.features import windows

    return [(r, c, side) for side, r, c in windows(n)]


def rmac_features(paths, size: int, box_sets: dict, settings, config, say=print) -> tuple[dict, np.ndarray]:
    """({name: (N, D) R-MAC vector per photo from box_sets[name](map side)}, (N, D) flip-averaged global pool).

    One backbone pass at `size` px over each photo's centre crop and its mirror image; the
    mirror's map is flipped back so that its regions line up with the centre's, and each region
    is the mean of the two (as the index's flip-averaged embeddings are).
    """
    import tensorflow as tf

    from glr.backbones.features import spatial_model
    from glr.backbones.registry import build_backbone
    from glr.data.pipeline import CENTRE_MIRROR_VIEW, CENTRE_VIEW, make_dataset

    map_model = spatial_model(build_backbone(settings.spec.name, weights=config.weights, input_size=size))
    n = int(map_model.output.shape[1])
    boxes = {name: fn(n) for name, fn in box_sets.items()}
    flat = [b for bs in boxes.values() for b in bs]

    def pools(fmap):
        return tf.stack([tf.reduce_mean(fmap[:, r:r + s, c:c + s, :], axis=[1, 2]) for r, c, s in flat], 1)

    @tf.function(reduce_retracing=True)
    def forward(images):
        fmap = map_model(images, training=False)
        return tf.concat([pools(fmap), pools(tf.reverse(fmap, axis=[2]))], 1)  # as is, and mirrored back

    # Views come file by file (centre, mirror) and batches are even, so no photo straddles two batches.
    seeds = np.tile(np.asarray([CENTRE_VIEW, CENTRE_MIRROR_VIEW], np.int64), (len(paths), 1, 1))
    ds = make_dataset(list(paths), input_size=size, preprocess=settings.spec.preprocess, shuffle=False,
                      batch_size=32, view_seeds=seeds, with_ok=True)
    R = len(flat)
    out = {name: [] for name in boxes}
    glob, oks = [], []
    with common.Timer() as t:
        for images, ok in ds.as_numpy_iterator():
            f = forward(images).numpy().reshape(-1, 2, 2 * R, map_model.output.shape[-1])
            regions = (f[:, 0, :R] + f[:, 1, R:]) / 2  # the centre's regions + the mirror's, flipped back
            start = 0
            for name, bs in boxes.items():
                out[name].append(unit(unit(regions[:, start:start + len(bs)]).sum(1)))
                start += len(bs)
            glob.append(regions[:, 0])
            oks.append(np.asarray(ok).reshape(-1, 2).all(1))
    ok = np.concatenate(oks)
    if not ok.all():
        say(f"warning: {int((~ok).sum())} photos failed to decode at {size} px")
    say(f"R-MAC of {len(paths)} photos at {size} px (map {n}x{n}; "
        f"{', '.join(f'{k}: {len(v)} regions' for k, v in boxes.items())}) in {t.seconds:.0f} s")
    return {name: np.concatenate(v) for name, v in out.items()}, np.concatenate(glob)


def simulated_parts(head_x: np.ndarray, labels: np.ndarray, reps: dict, seed: int = 0) -> dict:
    """{name: (known parts, unseen parts) per round}: known_weight's simulation, once for every similarity.

    Each part array is (N, 2): the stand-in head's top probability and the nearest fit photo's
    similarity in reps[name] (rows = training photos, unit length). The RNG and the stand-in
    head are known_weight.learned_weight's own, so the rounds and the head part are shared by
    every similarity and a rep equal to normalize(head_x) gives back its weight exactly.
    """
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from glr.retrieval import known_weight as kw
    from glr.retrieval.index import normalize

    rng = np.random.default_rng(seed)
    labels = np.asarray(labels)
    rows = kw._sample(labels, rng)
    x, lab = normalize(np.asarray(head_x)[rows]), labels[rows]
    reps = {name: r[rows] for name, r in reps.items()}
    classes = np.unique(lab)
    if len(classes) < 3:  # known_weight falls back on the even mix: no simulation
        return {}
    left_out = max(1, int(len(classes) * kw.LEFT_OUT_SHARE))
    out = {name: ([], []) for name in reps}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for _ in range(kw.ROUNDS):
            unseen = np.isin(lab, rng.choice(classes, left_out, replace=False))
            query = np.zeros(len(lab), bool)
            for c in np.unique(lab[~unseen]):
                members = rng.permutation(np.flatnonzero(lab == c))
                query[members[:max(1, min(len(members) - 1, round(len(members) * kw.QUERY_SHARE)))]] = True
            fit = ~unseen & ~query
            # The same stand-in head as known_weight._parts (its looser tolerance too).
            head = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000, tol=1e-3)).fit(x[fit], lab[fit])
            p_known, p_unseen = head.predict_proba(x[query]).max(1), head.predict_proba(x[unseen]).max(1)
            for name, r in reps.items():
                out[name][0].append(np.c_[p_known, (r[query] @ r[fit].T).max(1)])
                out[name][1].append(np.c_[p_unseen, (r[unseen] @ r[fit].T).max(1)])
    return out


def head_weight_from(parts, val_head: np.ndarray, val_top: np.ndarray) -> float:
    """The head's weight from simulated parts, by known_weight.head_weight's rule (halfway to the even mix)."""
    from sklearn.linear_model import LogisticRegression

    from glr.retrieval import known_weight as kw

    if not parts:
        return kw.EVEN
    known, unseen = parts
    # Each round standardised on its known photos, as the validation photos stand for them in a run.
    scaled = [((k - k.mean(0)) / np.maximum(k.std(0), 1e-6), (u - k.mean(0)) / np.maximum(k.std(0), 1e-6))
              for k, u in zip(known, unseen)]
    X = np.concatenate([k for k, _ in scaled] + [u for _, u in scaled])
    y = np.r_[np.ones(sum(len(k) for k in known)), np.zeros(sum(len(u) for u in unseen))]
    w_head, w_top = LogisticRegression(max_iter=1000).fit(X, y).coef_[0]
    w_head = max(float(w_head), 0.0) / max(float(np.std(val_head)), 1e-6)
    w_top = max(float(w_top), 0.0) / max(float(np.std(val_top)), 1e-6)
    learned = kw.EVEN if w_head + w_top == 0 else w_head / (w_head + w_top)
    return kw.PRIOR_SHARE * kw.EVEN + (1 - kw.PRIOR_SHARE) * learned


def candidate_reps(pooled: dict, size: int, large: int, settings, config, say=print) -> tuple[dict, dict]:
    """({candidate: {path: unit vector}}, the sanity check's figure) for every photo in `pooled`.

    The check: the cosine of the whole-map region at `size` px to the feature cache's
    flip-averaged average pooling, the baseline's embedding (1 when the maps are the same).
    """
    from glr.retrieval.embeddings import view_embeddings

    paths = sorted(pooled)
    base, glob = rmac_features(paths, size, {"rmac": rmac_boxes, "rmacW": glr_window_boxes}, settings, config, say)
    big, _ = rmac_features(paths, large, {"rmac": rmac_boxes}, settings, config, say)
    cache = view_embeddings(np.stack([pooled[p] for p in paths]), "avg", True)
    check = float((unit(cache) * unit(glob)).sum(1).min())
    reps = {f"rmac{size}": base["rmac"], f"rmacW{size}": base["rmacW"],
            f"rmac_ms2_{size}_{large}": unit(base["rmac"] + big["rmac"])}
    return {name: dict(zip(paths, r)) for name, r in reps.items()}, check


def knn_top1_of(val: np.ndarray, train: np.ndarray, train_labels: np.ndarray, val_true: np.ndarray) -> float:
    """kNN top-1 of the known validation photos among the training photos (unit rows), as a run's knn method votes."""
    from glr.retrieval.recognition import KNN_K, knn_scores

    classes, coded = np.unique(train_labels, return_inverse=True)
    sims = val @ train.T
    idx = np.argsort(-sims, axis=1)[:, :KNN_K]
    votes = knn_scores(np.take_along_axis(sims, idx, 1), coded[idx], len(classes))
    return float(np.mean(classes[votes.argmax(1)] == val_true))


def run_dataset(data: Path, seeds, config, large: int, say=print, train: bool = True) -> pd.DataFrame:
    """Every candidate's open-set figures per seed on `data`; `train=False` fits a stand-in head instead."""
    from glr.retrieval import known_weight
    from glr.retrieval.embeddings import view_embeddings
    from glr.retrieval.index import EmbeddingIndex, normalize
    from glr.retrieval.recognition import calibrate, roc_auc
    from glr.training.settings import resolve

    settings = resolve(config)
    reps = None
    rows = []
    for seed, trainer, head, pooled, distractors in bench_embeddings.trained_splits(data, seeds, config, say, train):
        if reps is None:  # the backbone is frozen: every seed's photos get the same descriptors, computed once
            reps, check = candidate_reps(pooled, settings.input_size, large, settings, config, say)
            say(f"check: whole-map region vs the cache's embedding, min cosine {check:.5f}")
        groups = {"train": trainer.train, "val": trainer.val, "held": trainer.held, "distractors": distractors}
        tables = {g: t[t["path"].isin(pooled)].reset_index(drop=True) for g, t in groups.items()}
        # The baseline, exactly as bench_known_scores' default.
        emb = {g: view_embeddings(np.stack([pooled[p] for p in t["path"]]), "avg", True) for g, t in tables.items()}
        index = EmbeddingIndex(emb["train"], tables["train"].assign(name="")[["id", "landmark_id", "name", "path"]])
        scored = ("val", "held", "distractors")
        head_top = {g: head.predict(emb[g], verbose=0, batch_size=256).max(1) for g in scored}
        top = {BASELINE: {g: index.search(emb[g], 1)[0][:, 0] for g in scored}}
        train_labels = tables["train"]["landmark_id"].to_numpy()
        weights = {BASELINE: known_weight.head_weight(index.vectors, train_labels, head_top["val"],
                                                      top[BASELINE]["val"])}
        # Each candidate: its nearest training photo's similarity, and the head's weight re-learned with it.
        cand = {name: {g: np.stack([r[p] for p in t["path"]]) for g, t in tables.items()} for name, r in reps.items()}
        for name, e in cand.items():
            top[name] = {g: (e[g] @ e["train"].T).max(1) for g in scored}
        sim_reps = {name: e["train"] for name, e in cand.items()}
        sim_reps[BASELINE] = normalize(emb["train"])
        parts = simulated_parts(emb["train"], train_labels, sim_reps)
        for name in cand:
            weights[name] = head_weight_from(parts.get(name), head_top["val"], top[name]["val"])
        # The simulation on the baseline's own similarity must give known_weight's weight back.
        drift = abs(head_weight_from(parts.get(BASELINE), head_top["val"], top[BASELINE]["val"]) - weights[BASELINE])
        say(f"seed {seed}: head weights {', '.join(f'{k} {w:.3f}' for k, w in weights.items())}; "
            f"check: simulation vs known_weight on the baseline {drift:.1e}")
        val_true = tables["val"]["landmark_id"].to_numpy()
        knn_top1 = {BASELINE: knn_top1_of(normalize(emb["val"]), normalize(emb["train"]), train_labels, val_true)}
        knn_top1.update({name: knn_top1_of(e["val"], e["train"], train_labels, val_true) for name, e in cand.items()})
        for name, w in weights.items():
            s = {g: w * head_top[g] + (1 - w) * top[name][g] for g in scored}
            cal = calibrate(s["val"])
            row = {"seed": seed, "candidate": name, "weight": w, "known_kept": 1 - cal.is_unknown(s["val"]).mean(),
                   "held_out_unknown": cal.is_unknown(s["held"]).mean(),
                   "distractors_unknown": cal.is_unknown(s["distractors"]).mean(),
                   "auroc": roc_auc(s["val"], s["held"]), "knn_top1": knn_top1[name]}
            for keep in OTHER_KEEPS:
                row[f"held_unknown_keep{100 * keep:g}"] = calibrate(s["val"], keep).is_unknown(s["held"]).mean()
            rows.append(row)
    return pd.DataFrame(rows)


def summarise(table: pd.DataFrame) -> pd.DataFrame:
    """Means over seeds per candidate, with the left-out figure of each seed."""
    means = table.groupby("candidate", sort=False)[["weight", *FIGURES]].mean()
    per_seed = table.pivot(index="candidate", columns="seed", values="held_out_unknown").loc[means.index]
    return means.join(per_seed.add_prefix("held, seed "))


def main(argv=None) -> dict:
    """Run the benchmark; returns the means over seeds per candidate."""
    args = bench_embeddings.open_set_parser(__doc__.splitlines()[0]).parse_args(argv)
    common.header("regional (R-MAC) similarities in the known score")
    start = time.perf_counter()
    with bench_embeddings.open_set_setup(args) as (data, seeds, config):
        table = run_dataset(data, seeds, config, TINY_LARGE_SIZE if args.tiny else LARGE_SIZE, train=not args.tiny)
    means = summarise(table)
    print(f"data: {'tiny' if args.tiny else data}; seeds {' '.join(map(str, seeds))}; means over seeds; "
          f"{time.perf_counter() - start:.0f} s in all")
    print(means.to_string(float_format=lambda v: f"{v:.3f}"))
    held = means["held_out_unknown"]
    common.summary(f"left-out called unknown (95% known kept): {', '.join(f'{k} {v:.3f}' for k, v in held.items())}; "
                   f"distractors {BASELINE} {means.loc[BASELINE, 'distractors_unknown']:.3f}, "
                   f"best {held.idxmax()} {means.loc[held.idxmax(), 'distractors_unknown']:.3f}")
    return means.to_dict("index")


if __name__ == "__main__":
    main()

"""Embeddings for retrieval and the open set: pooling, flip averaging, whitening and the known score, side by side.

For each seed, the open-set benchmark's split (glr.evaluation.openset: a seeded choice of K
classes left out, a quarter by default) is trained in-process with the default settings
(frozen Lite0, its head trained on the cached features). Then every candidate embeds the same
photos from ONE set of pooled features (average and GeM pooling of the backbone's last map,
of each photo and of its mirror; computed once per photo and kept in the feature cache), and
re-scores the same run: its index of the known training photos, kNN top-1 on the known
validation photos, the unknown threshold calibrated on those alone (95% kept), then the
left-out classes' photos and the distractors called unknown, and the ROC AUC known vs left-out.

Candidates: pooling avg | gem (p = 3); flip: the mean of a photo and its mirror (for the head
too); whiten: PCA whitening fitted on the index's training embeddings; the known score's
formula (glr.retrieval.embeddings.KNOWN_SCORES). The baseline is avg, no flip, no whitening,
head+top: what runs did before flip averaging won here and became their default (glr.retrieval.flip). (--tiny fits a logistic regression instead of training.) With --fine-tune each run is fine-tuned and embeds with its
own backbone (no cache: slow).

    nice -n 10 .venv/bin/python benchmarks/bench_embeddings.py [DATA] [--seeds 0 1 2] [--fine-tune] [--tiny]
"""

from __future__ import annotations

import atexit
import json
import shutil
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402

TINY_TRAIN = dict(input_size=32, views=2, epochs=2, batch_size=4, hidden=32, learning_rate=1e-2, patience=100)
TINY_DISTRACTORS = 6  # per source (scikit-image's photos, generated scenes)
FIGURES = ["knn_top1", "known_kept", "held_out_unknown", "distractors_unknown", "auroc", "top1_kept"]
# --tiny's dataset and its trained splits, kept for the process: the open-set benchmarks run one after another in
# one process (tests/test_benchmarks.py) train the very same split, so it is trained once (a tiny mode only).
_TINY_DATA: list[Path] = []
_TINY_SPLITS: dict = {}


def pooled_table(get_map_model, paths, cache, settings, batch_size: int = 64) -> dict:
    """path -> (4, D) pooled views (avg, gem, mirror avg, mirror gem); photos that fail to decode are left out."""
    from glr.backbones.feature_cache import cached_pooled_features
    from glr.backbones.features import content_digest

    paths = sorted(set(paths))
    feats, ok, _ = cached_pooled_features(get_map_model, paths, [content_digest(p) for p in paths], cache,
                                          input_size=settings.input_size, preprocess=settings.spec.preprocess,
                                          batch_size=batch_size, engine="tf")
    return {p: f for p, f, good in zip(paths, feats, ok) if good}


def score_candidates(head, pooled: dict, labels: pd.DataFrame, groups: dict) -> list[dict]:
    """One row of open-set figures per (pooling, flip, whiten, known formula) for one trained run."""
    from glr.evaluation.openset import open_set_scores
    from glr.retrieval.embeddings import KNOWN_SCORES, POOLINGS, Whitening, known_scores, view_embeddings
    from glr.retrieval.index import EmbeddingIndex
    from glr.retrieval.recognition import KNN_K, calibrate, knn_scores

    lookup = dict(zip(labels["landmark_id"].astype(int), labels["index"].astype(int)))
    tables = {g: t[t["path"].isin(pooled)].reset_index(drop=True) for g, t in groups.items()}
    views = {g: np.stack([pooled[p] for p in t["path"]]) if len(t) else np.zeros((0, 4, 1), np.float32)
             for g, t in tables.items()}
    train_classes = tables["train"]["landmark_id"].astype(int).map(lookup).to_numpy()
    val_true = tables["val"]["landmark_id"].astype(int).map(lookup).to_numpy()
    items = tables["train"].assign(name="")[["id", "landmark_id", "name", "path"]]
    rows = []
    for flip in (False, True):
        probs = {g: head.predict(view_embeddings(v, "avg", flip), verbose=0, batch_size=256) for g, v in views.items()}
        for pooling in POOLINGS:
            for whiten in (False, True):
                emb = {g: view_embeddings(v, pooling, flip) for g, v in views.items()}
                if whiten:
                    w = Whitening.fit(emb["train"])
                    emb = {g: w.apply(e) for g, e in emb.items()}
                index = EmbeddingIndex(emb["train"], items)
                found = {g: index.search(e, KNN_K) for g, e in emb.items() if g != "train"}
                ncls = {g: train_classes[idx] for g, (_, idx) in found.items()}
                knn_pred = knn_scores(found["val"][0], ncls["val"], len(labels)).argmax(1)
                for formula in KNOWN_SCORES:
                    known = {g: known_scores(formula, probs[g], found[g][0], ncls[g]) for g in found}
                    cal = calibrate(known["val"])
                    pv, ph = probs["val"], probs["held"]
                    figures = open_set_scores(val_true, pv.argmax(1), pv.max(1), known["val"], cal.is_unknown(known["val"]),
                                              ph.argmax(1), ph.max(1), known["held"], cal.is_unknown(known["held"]),
                                              cal.is_unknown(known["distractors"]), knn_pred=knn_pred)
                    rows.append({"pooling": pooling, "flip": flip, "whiten": whiten, "known": formula,
                                 **{f: figures[f] for f in FIGURES}})
    return rows


class _ProbeHead:
    """--tiny's stand-in for the trained head (training costs the smoke test too much): a logistic regression."""

    def __init__(self, feats: np.ndarray, classes: np.ndarray):
        from sklearn.linear_model import LogisticRegression

        self.model = LogisticRegression(max_iter=200).fit(feats, classes)

    def predict(self, feats, verbose=0, batch_size=None):
        return self.model.predict_proba(feats).astype(np.float32)


def trained_splits(data: Path, seeds, config, say=print, train: bool = True):
    """Per seed, the open-set benchmark's split of `data` trained in-process: (seed, trainer, head, pooled, distractors).

    See `_trained_splits`. On --tiny's dataset (`tiny_data`) each seed's split is trained once per process and
    kept, so the next benchmark of the same process scores the same split without training it again.
    """
    if not _TINY_DATA or Path(data) != _TINY_DATA[0]:
        yield from _trained_splits(data, seeds, config, say, train)
        return
    for seed in seeds:
        key = (seed, train, json.dumps(config.to_dict(), sort_keys=True, default=str))
        if key in _TINY_SPLITS:
            say(f"seed {seed}: the split an earlier benchmark of this process trained")
        else:
            (_TINY_SPLITS[key],) = _trained_splits(data, [seed], config, say, train)
        yield _TINY_SPLITS[key]


def _trained_splits(data: Path, seeds, config, say=print, train: bool = True):
    """Per seed, the open-set benchmark's split of `data` trained in-process: (seed, trainer, head, pooled, distractors).

    `pooled` maps each photo's path to its pooled views (`pooled_table`), from the frozen backbone
    shared by every seed, or from the seed's own fine-tuned one. `train=False` fits a stand-in
    head instead (a logistic regression; --tiny).
    """
    from glr.backbones.features import spatial_model
    from glr.backbones.registry import build_backbone
    from glr.data import datasets
    from glr.demo.distractors import distractor_set
    from glr.evaluation.openset import _hold_out_trainer, choose_held_out, default_hold_out
    from glr.training.launch import new_run
    from glr.training.model import load_model, split_classifier
    from glr.training.settings import resolve

    catalog = datasets.load_catalog(data)
    split = datasets.curate(catalog, top_n=config.top_n, min_images=config.min_images,
                            val_fraction=config.val_fraction, seed=config.seed)
    k = default_hold_out(split.num_classes)
    settings = resolve(config)
    distractors = distractor_set().assign(id="", landmark_id=-1)
    if is_tiny(data):  # a few of each source, not 83 photos of up to 1411 px: bench_regional decodes them twice more
        distractors = distractors.groupby("source", sort=False).head(TINY_DISTRACTORS).reset_index(drop=True)
    all_paths = pd.concat([split.train, split.val])["path"].tolist() + distractors["path"].tolist()
    pooled = None
    if not settings.fine_tuned:  # one frozen backbone for every seed: pool every photo once
        with common.Timer() as t:
            pooled = pooled_table(lambda: spatial_model(build_backbone(settings.spec.name, weights=config.weights,
                                                                       input_size=settings.input_size)),
                                  all_paths, settings.feature_cache(), settings)
        say(f"pooled features of {len(pooled)} photos in {t.seconds:.0f} s")
    with tempfile.TemporaryDirectory(prefix="glr-bench-embed-") as tmp:
        for seed in seeds:
            held_out = choose_held_out(split.labels["landmark_id"], k, seed)
            run = new_run(Path(tmp), config)
            trainer = _hold_out_trainer(held_out)(run, config)
            with common.Timer() as t:
                trainer.train() if train else trainer.prepare_data(False)
            say(f"seed {seed}: left out {held_out}, trained in {t.seconds:.0f} s")
            if train:
                backbone, head = split_classifier(load_model(run.model_path))
            else:
                lookup = dict(zip(trainer.labels["landmark_id"].astype(int), trainer.labels["index"].astype(int)))
                known = trainer.train[trainer.train["path"].isin(pooled)]
                head = _ProbeHead(np.stack([pooled[p][0] for p in known["path"]]),
                                  known["landmark_id"].astype(int).map(lookup).to_numpy())
            seed_pooled = pooled
            if seed_pooled is None:  # fine-tuned: this run's own backbone
                seed_pooled = pooled_table(lambda: spatial_model(backbone), all_paths, None, settings)
            yield seed, trainer, head, seed_pooled, distractors


def split_embeddings(trainer, pooled: dict, distractors: pd.DataFrame):
    """(tables, embeddings, index) of one trained split: its photos with pooled features, flip-averaged, and
    the index of its known training photos. Groups: train, val, held (left out) and distractors."""
    from glr.retrieval.embeddings import view_embeddings
    from glr.retrieval.index import EmbeddingIndex

    groups = {"train": trainer.train, "val": trainer.val, "held": trainer.held, "distractors": distractors}
    tables = {g: t[t["path"].isin(pooled)].reset_index(drop=True) for g, t in groups.items()}
    emb = {g: view_embeddings(np.stack([pooled[p] for p in t["path"]]), "avg", True) for g, t in tables.items()}
    index = EmbeddingIndex(emb["train"], tables["train"].assign(name="")[["id", "landmark_id", "name", "path"]])
    return tables, emb, index


def print_candidates(table: pd.DataFrame, key: str, figures: list[str], tiny: bool, data, seeds, start: float) -> pd.DataFrame:
    """Print the means over seeds per candidate (`key`), with the left-out figure per seed; returns the means."""
    means = table.groupby(key, sort=False)[figures].mean()
    per_seed = table.pivot(index=key, columns="seed", values="held_out_unknown").loc[means.index]
    print(f"data: {'tiny' if tiny else data}; seeds {' '.join(map(str, seeds))}; means over seeds; "
          f"{time.perf_counter() - start:.0f} s in all")
    print(means.join(per_seed.add_prefix("held, seed ")).to_string(float_format=lambda v: f"{v:.3f}"))
    return means

def open_set_figures(known: dict) -> dict:
    """One candidate's figures from its known scores per group ("val", "held", "distractors"): the threshold
    calibrated on the known validation photos alone (95% kept), as runs set it."""
    from glr.retrieval.recognition import calibrate, roc_auc

    cal = calibrate(known["val"])
    return {"known_kept": 1 - cal.is_unknown(known["val"]).mean(), "held_out_unknown": cal.is_unknown(known["held"]).mean(),
            "distractors_unknown": cal.is_unknown(known["distractors"]).mean(), "auroc": roc_auc(known["val"], known["held"])}


def candidates_main(argv, doc: str, title: str, run: Callable, key: str, figures: list[str], baseline: str,
                    label: str) -> dict:
    """A candidates benchmark's main: run it over the seeds, print the table, end with the summary line
    comparing `baseline` (called `label` there) with the candidate that catches most left-out photos."""
    args = open_set_parser(doc.splitlines()[0]).parse_args(argv)
    common.header(title)
    start = time.perf_counter()
    with open_set_setup(args) as (data, seeds, config):
        table = run(data, seeds, config)
    means = print_candidates(table, key, figures, args.tiny, data, seeds, start)
    base, best = means.loc[baseline], means["held_out_unknown"].idxmax()
    common.summary(f"left-out called unknown: {label} {base['held_out_unknown']:.3f} (distractors "
                   f"{base['distractors_unknown']:.3f}), best {best} {means.loc[best, 'held_out_unknown']:.3f} "
                   f"(distractors {means.loc[best, 'distractors_unknown']:.3f})")
    return means.to_dict("index")

def run_dataset(data: Path, seeds, config, say=print, train: bool = True) -> pd.DataFrame:
    """Every candidate's figures per seed on `data` (a GLDv2 folder); `train=False` fits a stand-in head instead."""
    rows = []
    for seed, trainer, head, pooled, distractors in trained_splits(data, seeds, config, say, train):
        groups = {"train": trainer.train, "val": trainer.val, "held": trainer.held, "distractors": distractors}
        rows += [{"seed": seed, **row} for row in score_candidates(head, pooled, trainer.labels, groups)]
    return pd.DataFrame(rows)


def open_set_parser(description: str):
    """The arguments every open-set benchmark takes: DATA (default: the embedded demo), --seeds and --tiny."""
    p = common.parser(description)
    p.add_argument("data", nargs="?", help="a GLDv2 folder (default: the embedded demo)")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    return p


@contextmanager
def open_set_setup(args, fine_tune: bool = False):
    """(data folder, seeds, TrainConfig) for these arguments; --tiny's dataset lives while the block runs."""
    from glr.training.config import TrainConfig

    with tempfile.TemporaryDirectory(prefix="glr-bench-open-set-data-") as tmp:
        data, seeds, values = open_set_data(args, Path(tmp))
        yield data, seeds, TrainConfig.from_dict({"data": str(data), "fine_tune": fine_tune, **values})


def tiny_data() -> Path:
    """--tiny's dataset (4 classes of 6 tiny photos), made once per process and deleted at its exit."""
    if not _TINY_DATA:
        folder = Path(tempfile.mkdtemp(prefix="glr-bench-open-set-tiny-"))
        atexit.register(shutil.rmtree, folder, True)
        _TINY_DATA.append(common.tiny_dataset(folder / "tiny", classes=4, per_class=6))
    return _TINY_DATA[0]


def is_tiny(data) -> bool:
    """Whether `data` is --tiny's dataset (`tiny_data`): for a benchmark's run_dataset, which is given no arguments."""
    return bool(_TINY_DATA) and Path(data) == _TINY_DATA[0]


def open_set_data(args, tmp: Path) -> tuple[Path, list[int], dict]:
    """(data folder, seeds, training settings) for these arguments: a tiny dataset and one seed with --tiny."""
    if args.tiny:
        return tiny_data(), [0], TINY_TRAIN
    return (Path(args.data) if args.data else common.demo_root()), args.seeds, {}


def summarise(table: pd.DataFrame) -> pd.DataFrame:
    """Means over seeds per candidate, with the per-seed left-out figure, best left-out rate first."""
    keys = ["pooling", "flip", "whiten", "known"]
    means = table.groupby(keys, sort=False)[FIGURES].mean()
    per_seed = table.groupby(keys, sort=False)["held_out_unknown"].apply(lambda s: " ".join(f"{v:.3f}" for v in s))
    return means.assign(held_out_per_seed=per_seed).reset_index()


def main(argv=None) -> dict:
    """Run the benchmark; returns the summary table as records."""
    p = open_set_parser(__doc__.splitlines()[0])
    p.add_argument("--fine-tune", action="store_true", help="fine-tune each run and embed with its backbone")
    args = p.parse_args(argv)
    common.header("embeddings for retrieval and the open set")
    start = time.perf_counter()
    with open_set_setup(args, fine_tune=bool(args.fine_tune)) as (data, seeds, config):
        table = run_dataset(data, seeds, config, train=not args.tiny)
    summary = summarise(table)
    print(f"data: {'tiny' if args.tiny else data}; seeds {' '.join(map(str, seeds))}; means over seeds; "
          f"{time.perf_counter() - start:.0f} s in all")
    print(summary.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    base = summary[(summary["pooling"] == "avg") & ~summary["flip"] & ~summary["whiten"] & (summary["known"] == "head+top")]
    best = summary.sort_values("held_out_unknown", ascending=False).iloc[0]
    common.summary(f"left-out called unknown: baseline {base['held_out_unknown'].iloc[0]:.3f}, best {best['held_out_unknown']:.3f} "
                   f"({best['pooling']}, flip={best['flip']}, whiten={best['whiten']}, {best['known']}); "
                   f"kNN top-1 baseline {base['knn_top1'].iloc[0]:.3f}, best {summary['knn_top1'].max():.3f}")
    return summary.to_dict("records")


if __name__ == "__main__":
    main()

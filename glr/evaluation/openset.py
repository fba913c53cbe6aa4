"""The open-set benchmark: how well a run says "not a known landmark" about landmarks it never saw.

The Google landmark competitions were open-set: most test photos show no landmark, or one
not in the training set. For each seed, `run_openset` leaves K classes (a seeded choice) out
of training, trains as usual in-process (the trainer, its feature cache, its index and its
calibration on the validation photos), then scores what a user would meet:
- `known_kept`: the share of the known classes' validation photos kept (not called unknown);
- `held_out_unknown`: the share of the left-out classes' photos (all of them) called unknown;
- `distractors_unknown`: the share of the built-in distractors called unknown;
- `top1_kept`: top-1 among the kept validation photos; `knn_top1`: the kNN's top-1 on all of them;
- `gap`: GAP with the left-out photos ranked among the known ones, each with its submission
  confidence (photos called unknown after every known one); `gap_raw` ranks raw confidences;
- `auroc`: how well the known score separates the known validation photos from the left-out ones,
  which does not depend on where the threshold is.
The threshold is the run's own (calibrated to keep 95% of the known validation photos), never
set on left-out photos or distractors. Fine-tuning follows `train`'s default: "auto" decides per
seed from the known classes' training photos, as `train` would on a dataset of those classes.
"""

from __future__ import annotations

import math
import os
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from glr.errors import GlrError

DEFAULT_SEEDS = (0, 1, 2)
HOLD_OUT_SHARE = 0.25  # the default K: a quarter of the classes, at least 1
METRICS = ("known_kept", "held_out_unknown", "distractors_unknown", "top1_kept", "knn_top1", "gap", "gap_raw", "auroc")


@dataclass
class OpenSetResult:
    """The figures of one seed: which classes were left out, and how the run treated them."""

    seed: int
    held_out: list[str]
    known_classes: int
    known_val: int
    held_out_photos: int
    distractors: int
    threshold: float
    known_kept: float
    held_out_unknown: float
    distractors_unknown: float
    top1_kept: float
    knn_top1: float
    gap: float
    gap_raw: float
    auroc: float
    verified: bool = False
    fine_tune_epochs: int = 0  # phase 2's epochs in this seed's run (0: the linear probe alone)

    def to_dict(self) -> dict:
        """Plain JSON-ready dict."""
        return asdict(self)


def _check_enough_classes(classes: int) -> None:
    """GlrError unless there are 3 classes or more: 2 known, 1 left out."""
    if classes < 3:
        raise GlrError(f"the open-set benchmark needs at least 3 classes (2 known, 1 left out); the dataset has {classes}")


def default_hold_out(classes: int) -> int:
    """K when not given: a quarter of the classes, at least 1, leaving at least 2 known."""
    _check_enough_classes(classes)
    return int(min(classes - 2, max(1, round(classes * HOLD_OUT_SHARE))))


def choose_held_out(landmark_ids, k: int, seed: int) -> list[int]:
    """K landmark ids to leave out, a seeded choice (the same for the same classes and seed)."""
    ids = sorted(int(i) for i in landmark_ids)
    _check_enough_classes(len(ids))  # else "--hold-out-classes must be between 1 and 0"
    if not 1 <= k <= len(ids) - 2:
        raise GlrError(f"--hold-out-classes must be between 1 and {len(ids) - 2} for {len(ids)} classes, got {k}")
    return sorted(int(i) for i in np.random.default_rng(seed).choice(ids, size=k, replace=False))


def open_set_scores(val_true, val_pred, val_conf, val_known, val_unknown, held_pred, held_conf, held_known,
                    held_unknown, distractor_unknown, knn_pred=None) -> dict:
    """The benchmark's figures from each group's predictions, confidences, known scores and verdicts."""
    from glr.evaluation.metrics import gap
    from glr.submission import submission_confidence
    from glr.retrieval.recognition import roc_auc

    val_true, val_pred, val_unknown = np.asarray(val_true), np.asarray(val_pred), np.asarray(val_unknown, bool)
    held_unknown = np.asarray(held_unknown, bool)
    kept = ~val_unknown
    pred = list(np.r_[val_pred, held_pred].astype(int))
    raw = np.r_[val_conf, held_conf].astype(float)
    flags = np.r_[val_unknown, held_unknown]
    true = list(val_true.astype(int)) + [-1] * len(held_pred)
    ranked = [submission_confidence(c, u) for c, u in zip(raw, flags)]
    distractor_unknown = np.asarray(distractor_unknown, bool)
    return {
        "known_kept": float(kept.mean()) if len(kept) else float("nan"),
        "held_out_unknown": float(held_unknown.mean()) if len(held_unknown) else float("nan"),
        "distractors_unknown": float(distractor_unknown.mean()) if len(distractor_unknown) else float("nan"),
        "top1_kept": float(np.mean(val_pred[kept] == val_true[kept])) if kept.any() else float("nan"),
        "knn_top1": float(np.mean(np.asarray(knn_pred) == val_true)) if knn_pred is not None and len(val_true) else float("nan"),
        "gap": gap(pred, ranked, true),
        "gap_raw": gap(pred, list(raw), true),
        "auroc": roc_auc(np.asarray(val_known, float), np.asarray(held_known, float)),
    }


def _hold_out_trainer(held_out: list[int]):
    """A Trainer whose split leaves the `held_out` classes out (kept in `held` for scoring)."""
    from glr.training.trainer import Trainer

    class HoldOutTrainer(Trainer):
        trained = None  # the instance train_run made: its split is what the run is scored on

        def prepare_data(self, resume: bool) -> None:
            super().prepare_data(resume)
            HoldOutTrainer.trained = self
            out = set(held_out)
            both = pd.concat([self.train, self.val], ignore_index=True)
            self.held = both[both["landmark_id"].isin(out)].reset_index(drop=True)
            labels = self.labels[~self.labels["landmark_id"].isin(out)].reset_index(drop=True)
            labels["index"] = range(len(labels))
            index_of = dict(zip(labels["landmark_id"].astype(int), labels["index"]))
            keep = lambda df: df[~df["landmark_id"].isin(out)].assign(  # noqa: E731
                label=lambda d: d["landmark_id"].astype(int).map(index_of)).reset_index(drop=True)
            self.train, self.val, self.labels = keep(self.train), keep(self.val), labels
            self.run.write_labels(labels)
            self.run.write_split(pd.concat([self.train.assign(split="train"), self.val.assign(split="val")])[
                ["id", "landmark_id", "split"]])

    return HoldOutTrainer


def score_run(run, val: pd.DataFrame, held: pd.DataFrame, batch_size: int = 32, verify: bool = True,
              local: dict | None = None) -> dict[str, dict]:
    """Score a trained run on its validation photos, the left-out photos and the distractors.

    Returns {"plain": figures, "verified": figures} (the second with `verify`): each mode's
    unknown threshold is calibrated, as the run does, on the known validation photos alone.
    `local` memoises each photo's local features across seeds (path -> LocalFeatures).
    """
    from glr.demo.distractors import distractor_set
    from glr.retrieval.regional import embed_for_index
    from glr.retrieval import verify as spatial
    from glr.evaluation.finish import head_blocks
    from glr.retrieval.recognition import KNN_K, calibrate, knn_top, run_known_score
    from glr.retrieval.run_index import Recognizer
    from glr.training.model import load_run_model, split_classifier

    settings, labels = run.settings(), run.labels()
    backbone, head = split_classifier(load_run_model(run))
    recognizer = Recognizer(run, labels)
    index, classes = recognizer.index, recognizer.classes
    common = dict(input_size=settings.input_size, preprocess=settings.spec.preprocess, batch_size=batch_size)
    local = {} if local is None else local

    def features_of(path):
        if path not in local:
            try:
                local[path] = spatial.extract(path)
            except GlrError:
                local[path] = spatial.LocalFeatures(np.zeros((0, 2), np.float32), np.zeros((0, 128), np.uint8))
        return local[path]

    def group(table):
        paths = table["path"].tolist()
        # Embedded as the run's index embedded its own photos (by regions in a new run), as the predictor does.
        embedded = embed_for_index(recognizer.embedding, lambda: backbone, paths, settings.final_feature_cache(), **common)
        ok, paths, kept = embedded.ok, [p for p, good in zip(paths, embedded.ok) if good], embedded.decoded()
        sims, idx = index.search(kept.search, KNN_K)
        g = {"ok": ok, "sims": sims, "idx": idx, "knn_pred": knn_top(sims, classes[idx])[0]}
        if verify:
            items = index.items["path"].tolist()
            g["inliers"] = np.array([[spatial.match(features_of(p), features_of(items[r]))[0] for r in row[:spatial.VERIFY_K]]
                                     for p, row in zip(paths, idx)], np.int64).reshape(len(paths), -1)
            g["verification"] = spatial.verification_score(g["inliers"])
        g.update(_tops(head_blocks(head, kept.head, len(labels)), sims, classes[idx], recognizer.method,
                       g.get("verification")))
        return g

    groups = {"val": group(val), "held": group(held), "distractors": group(distractor_set())}
    lookup = dict(zip(labels["landmark_id"].astype(int), labels["index"].astype(int)))
    val_true = val["landmark_id"].astype(int).map(lookup).to_numpy()[groups["val"]["ok"]]
    out = {}
    for mode in ("plain", "verified") if verify else ("plain",):
        for g in groups.values():
            g["s"] = g[mode]  # (best class, its score) of the run's method, plain or re-ranked by verification
            v = g.get("verification") if mode == "verified" else None
            g["known"] = run_known_score(recognizer.known_formula, g["head"], g["sims"], classes[g["idx"]],
                                         None if v is None else v.max(1) if v.shape[1] else np.zeros(len(v)),
                                         recognizer.head_weight)
        calibration = calibrate(groups["val"]["known"])
        v, h, d = (groups[k] for k in ("val", "held", "distractors"))
        figures = open_set_scores(val_true, *v["s"], v["known"], calibration.is_unknown(v["known"]),
                                  *h["s"], h["known"], calibration.is_unknown(h["known"]),
                                  calibration.is_unknown(d["known"]), knn_pred=v["knn_pred"])
        figures.update(known_val=int(v["ok"].sum()), held_out_photos=int(h["ok"].sum()),
                       distractors=int(d["ok"].sum()), threshold=float(calibration.threshold), verified=mode == "verified")
        out[mode] = figures
    return out


def _tops(head_probs, sims: np.ndarray, neighbour_classes: np.ndarray, method: str,
          verification: np.ndarray | None = None) -> dict:
    """{"plain": (best class, score) of `method`, "verified": the same re-ranked by `verification` (with it),
    "head": the head's top probability (float32)} per photo, from `head_probs` (blocks of rows in photo order).

    Each block's scores are made, reduced and let go before the next block is read: one block of photos x
    classes at a time, never a whole group's (glr.retrieval.recognition.method_tops does the same for the run).
    """
    from glr.retrieval.recognition import method_scores, verified_scores

    kept: dict[str, list] = {"plain": [], "verified": [], "head": []}
    start = 0
    for block in head_probs:
        rows = slice(start, start + len(block))
        scores = method_scores(block, sims[rows], neighbour_classes[rows])[method]
        kept["head"].append(np.asarray(block, np.float32).max(axis=1))
        kept["plain"].append((scores.argmax(1), scores.max(1)))
        if verification is not None:
            k = verification.shape[1]
            scores = verified_scores(scores, verification[rows], neighbour_classes[rows, :k])
            kept["verified"].append((scores.argmax(1), scores.max(1)))
        start += len(block)
        del block, scores  # held otherwise while the next block is made
    out = {"head": np.concatenate(kept["head"]) if kept["head"] else np.zeros(0, np.float32)}
    for mode in ("plain", "verified"):
        out[mode] = (np.concatenate([p for p, _ in kept[mode]]) if kept[mode] else np.zeros(0, np.int64),
                     np.concatenate([c for _, c in kept[mode]]) if kept[mode] else np.zeros(0, np.float32))
    return out


def run_openset(data: str | os.PathLike, hold_out: int | None = None, seeds=DEFAULT_SEEDS, config=None,
                results: str | os.PathLike | None = None, say: Callable[[str], None] | None = None,
                verify: bool = True, collected: list | None = None) -> list[OpenSetResult]:
    """The benchmark over `seeds`: for each, leave K classes out, train as `config` says, score. One result per seed.

    `config` is a TrainConfig (its `data` is replaced by `data`); runs go to a temporary
    results folder unless `results` names one to keep them. `collected`: a list each seed's results are added to as
    it ends, so a caller still has the finished seeds' when a later one fails or is stopped.
    """
    from glr.data import datasets
    from glr.training.config import TrainConfig
    from glr.training.launch import new_run

    say = say or (lambda message: None)
    config = config or TrainConfig()
    if results and Path(results).exists() and not Path(results).is_dir():
        raise GlrError(f"{results}: is a file; --keep needs a folder to keep the runs in (a new or an existing one)")
    # A seed given twice would train the same run twice and count it twice in the mean.
    unique = list(dict.fromkeys(int(s) for s in seeds))
    if len(unique) < len(list(seeds)):
        say(f"seeds given more than once are run once: {' '.join(map(str, unique))}")
    seeds = unique
    catalog = datasets.load_catalog(data)
    split = datasets.curate(catalog, top_n=config.top_n, min_images=config.min_images,
                            val_fraction=config.val_fraction, seed=config.seed)
    for message in catalog.problems + split.messages:  # classes and photos left out of the benchmark, as train says
        say(message)
    k = hold_out if hold_out is not None else default_hold_out(split.num_classes)
    names = dict(zip(split.labels["landmark_id"].astype(int), split.labels["name"].astype(str)))
    config = TrainConfig.from_dict({**config.to_dict(), "data": str(data)})
    out, local = collected if collected is not None else [], {}
    with tempfile.TemporaryDirectory(prefix="glr-openset-") as tmp:
        folder = Path(results) if results else Path(tmp)
        done: dict[tuple[int, ...], int] = {}  # the classes left out -> the seed that ran them
        for seed in seeds:
            held_out = choose_held_out(split.labels["landmark_id"], k, seed)
            if tuple(held_out) in done:  # few classes allow few choices: the same run again would count twice in the mean
                say(f"seed {seed}: leaves out the same classes as seed {done[tuple(held_out)]} "
                    f"({', '.join(names[i] for i in held_out)}), so it would train the same run again: skipped "
                    f"({split.num_classes} classes allow {math.comb(split.num_classes, k):,} choices of {k} left out)")
                continue
            done[tuple(held_out)] = seed
            say(f"seed {seed}: leaving out {', '.join(names[i] for i in held_out)}; training on "
                f"{split.num_classes - k} classes")
            seeded = settle_for_known(config, int((~split.train["landmark_id"].isin(held_out)).sum()), say)
            run = new_run(folder, seeded)
            trainer = _train_recorded(run, _hold_out_trainer(held_out))
            say(f"seed {seed}: scoring")
            scored = score_run(run, trainer.val, trainer.held, config.batch_size, verify, local)
            if not scored["plain"]["held_out_photos"]:
                say(f"seed {seed}: none of the left-out classes' photos could be decoded, so held_out_unknown "
                    "and auroc are NaN for this seed")
            for figures in scored.values():
                out.append(OpenSetResult(seed=int(seed), held_out=[names[i] for i in held_out],
                                         known_classes=split.num_classes - k, **figures,
                                         fine_tune_epochs=seeded.fine_tune_epochs if seeded.fine_tune else 0))
    return out


def _train_recorded(run, trainer_class):
    """Train `run` as `train` does (glr.training.trainer.train_run: under the results folder's lock, its status moved
    on to finished, stopped or failed); the trainer that trained it. Left "queued", a run kept with --keep was listed
    as failed ("never started")."""
    from glr.training.trainer import train_run

    train_run(run, trainer_class=trainer_class)
    if run.status()["state"] == "stopped":  # `glr stop` of this run: the benchmark ends there, said in one line
        raise GlrError(f"the open-set benchmark stopped: its run {run.id} was asked to stop")
    return trainer_class.trained


def settle_for_known(config, train_images: int, say: Callable[[str], None] | None = None):
    """`config` with `fine_tune="auto"` decided for `train_images` known training photos (as given otherwise)."""
    from glr.training.settings import settle_fine_tune

    config, choice = settle_fine_tune(config, train_images=train_images)
    if choice and say:
        say(f"fine-tuning (auto) {choice.reason}")
    return config


def _names(held_out: list[str], shown: int = 3) -> str:
    """The left-out classes for a table cell: a few names, then how many more (a quarter of 100 classes is 25)."""
    more = f" and {len(held_out) - shown} more" if len(held_out) > shown else ""
    return ", ".join(held_out[:shown]) + more


def summary_table(results: list[OpenSetResult]) -> pd.DataFrame:
    """One row per seed and mode (plain, or with spatial verification), then a `mean` row per mode."""
    rows = [{"mode": "verified" if r.verified else "plain", "seed": str(r.seed), "held_out": _names(r.held_out),
             **{m: getattr(r, m) for m in METRICS}} for r in results]
    table = pd.DataFrame(rows, columns=["mode", "seed", "held_out", *METRICS])
    means = [{"mode": mode, "seed": "mean", "held_out": f"{len(results[0].held_out)} of "
              f"{results[0].known_classes + len(results[0].held_out)}", **part[list(METRICS)].mean().to_dict()}
             for mode, part in table.groupby("mode", sort=False)]
    return pd.concat([table, pd.DataFrame(means)], ignore_index=True).sort_values("mode", kind="stable") if means else table


def fine_tuning_line(results: list[OpenSetResult]) -> str:
    """What each seed's run trained: phase 2's epochs, or the linear probe alone (printed under the table)."""
    seen = dict.fromkeys((r.seed, r.fine_tune_epochs) for r in results)  # each seed once, in order
    return "training per seed: " + ", ".join(f"{seed}: {f'fine-tuned {epochs} epochs' if epochs else 'linear probe only'}"
                                           for seed, epochs in seen)


def main(args, data: str) -> int:
    """`python -m glr openset`: run the benchmark with the command line's settings and print its table."""
    import sys

    from glr.training.config import TrainConfig

    values = {"top_n": args.top_n, "min_images": args.min_images, "val_fraction": args.val_fraction, "seed": args.seed,
              "backbone": args.backbone, "fine_tune": args.fine_tune}  # True, False or "auto" (the default)
    if args.epochs:
        values["epochs"] = args.epochs
    results: list[OpenSetResult] = []
    try:
        run_openset(data, args.hold_out_classes, args.seeds, TrainConfig.from_dict(values), results=args.keep,
                    verify=not args.no_verify, say=lambda message: print(f"... {message}", file=sys.stderr),
                    collected=results)
    except (GlrError, KeyboardInterrupt):  # a later seed failed or was stopped: the finished seeds' minutes are kept
        if results:
            _print_results(data, results, f" (only the seeds that finished: {', '.join(sorted({str(r.seed) for r in results}))})")
        raise
    _print_results(data, results)
    return 0


def _print_results(data: str, results: list[OpenSetResult], which: str = "") -> None:
    """The benchmark's table on stdout, with its header and the fine-tuning line."""
    print(f"open-set benchmark on {data}{which}: each mode's threshold keeps 95% of the known validation photos "
          "(set on them alone); verified = with spatial verification of the nearest training photos")
    print(summary_table(results).to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    print(fine_tuning_line(results))

"""The terminal interface: `python -m glr <command> ...`.

Heavy libraries (TensorFlow) are imported inside the commands that need them, so `--help`
and `inspect` answer at once. Every `GlrError` is printed as a one-line message with exit
code 2; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import argparse
import sys
from contextlib import contextmanager
from pathlib import Path

from glr.data import datasets
from glr.errors import GlrError


@contextmanager
def progress_bar(total: int, desc: str, unit: str = "img"):
    """A tqdm bar on stderr; yields a callable that advances it by n."""
    from tqdm import tqdm

    with tqdm(total=total, desc=desc, unit=unit, file=sys.stderr, dynamic_ncols=True, leave=False) as bar:
        yield bar.update


class _ClassProgress:
    """Adapts the demo generator's progress(done, total) calls to a tqdm bar."""

    def __init__(self, desc: str):
        self.desc, self.bar = desc, None

    def __call__(self, done: int, total: int) -> None:
        if self.bar is None:
            from tqdm import tqdm

            self.bar = tqdm(total=total, desc=self.desc, unit="photo", file=sys.stderr, leave=False)
        self.bar.update(done - self.bar.n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _ensure_demo(out: Path | None = None) -> Path:
    """The demo dataset's folder, generated (with a progress bar) on first use."""
    from glr.demo import dataset as demo

    progress = _ClassProgress("generating the demo dataset")
    try:
        return demo.ensure_demo(out, progress=progress)
    finally:
        progress.close()


def _open_catalog(data: str | None) -> datasets.Catalog:
    """The dataset at `data`, or the embedded demo dataset (generated on first use)."""
    if data:
        return datasets.load_catalog(data)
    print("No dataset given: using the embedded demo dataset.", file=sys.stderr)
    return datasets.load_catalog(_ensure_demo())


def _add_curation_args(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("curation")
    group.add_argument("--top-n", type=int, default=datasets.DEFAULT_TOP_N, help="keep the N largest classes (default %(default)s)")
    group.add_argument("--min-images", type=int, default=datasets.DEFAULT_MIN_IMAGES, help="drop classes with fewer images (default %(default)s)")
    group.add_argument("--val-fraction", type=float, default=datasets.DEFAULT_VAL_FRACTION, help="share of each class held out (default %(default)s)")
    group.add_argument("--seed", type=int, default=datasets.DEFAULT_SEED, help="seed of the split (default %(default)s)")


def _curate(catalog: datasets.Catalog, args) -> datasets.Split:
    return datasets.curate(catalog, top_n=args.top_n, min_images=args.min_images, val_fraction=args.val_fraction, seed=args.seed)


def cmd_demo_data(args) -> int:
    """Generate the embedded demo dataset."""
    from glr.demo import dataset as demo

    out = Path(args.out) if args.out else None
    if args.force:
        progress = _ClassProgress("generating the demo dataset")
        path = demo.generate_demo(out, n_classes=args.classes, seed=args.seed, progress=progress)
        progress.close()
    else:
        path = _ensure_demo(out)
    catalog = datasets.load_catalog(path)
    info = datasets.summarize(catalog)
    print(f"demo dataset: {path}")
    print(f"{info['classes']} classes, {info['images']} images")
    return 0


def cmd_inspect(args) -> int:
    """Describe a dataset: counts, the curated subset, problems."""
    catalog = _open_catalog(args.data)
    split = _curate(catalog, args)
    info = datasets.summarize(catalog)
    print(f"dataset    {info['root']} ({info['layout']} layout)")
    print(f"classes    {info['classes']:,}")
    print(f"images     {info['images']:,}")
    print(f"per class  min {info['per_class_min']}, median {info['per_class_median']:g}, max {info['per_class_max']}")
    print(f"curated    top {split.num_classes} classes: {len(split.train):,} train, {len(split.val):,} validation images")
    shown = split.labels.head(args.show)
    width = max(len(str(n)) for n in shown["name"])
    for row in shown.itertuples():
        print(f"  {row.landmark_id:>8}  {row.name:<{width}}  {row.images:>5}")
    if len(split.labels) > args.show:
        print(f"  ... and {len(split.labels) - args.show} more (--show N lists more)")
    problems = catalog.problems + split.messages
    print(f"problems   {len(problems) or 'none'}")
    for problem in problems:
        print(f"  - {problem}")
    return 0


def cmd_probe(args) -> int:
    """Linear probe on frozen features (or raw pixels), k-fold accuracy."""
    from glr.evaluation.probe import run_probe

    catalog = _open_catalog(args.data)
    split = _curate(catalog, args)
    data = split.table(paths=True)
    what = f"raw {args.raw_pixels}px pixels" if args.raw_pixels else args.backbone
    how = "the curated train/validation split" if args.holdout else f"{args.folds}-fold cross-validation"
    print(f"probing {len(data):,} images of {split.num_classes} classes with {what}, {how}", file=sys.stderr)
    with progress_bar(len(data), "features") as advance:
        result = run_probe(
            data, backbone=args.backbone, raw_pixels=args.raw_pixels, weights=args.weights,
            folds=args.folds, seed=args.seed, progress=advance, holdout=args.holdout,
        )
    if result.skipped:
        print(f"{result.skipped} images could not be decoded and were left out", file=sys.stderr)
    print(f"features   {result.features}")
    if args.holdout:
        print(f"images     {result.images} in {result.classes} classes; scored on the {(data['split'] == 'val').sum()} validation images")
    else:
        print(f"images     {result.images} in {result.classes} classes, {result.folds} folds")
        print("folds      " + " ".join(f"{s:.3f}" for s in result.scores))
    print(f"accuracy {result.accuracy:.3f}")
    return 0


def _train_config(args):
    """A TrainConfig from the command-line options (defaults from the dataclass)."""
    from glr.training.config import TrainConfig

    values = {name: getattr(args, name) for name in TrainConfig.__dataclass_fields__ if getattr(args, name, None) is not None}
    values["data"] = args.data
    if args.random_weights:
        values["weights"] = None
    if args.no_augment:
        values["augment"] = False
    if args.fine_tune:
        values["fine_tune"] = True
    return TrainConfig.from_dict(values)


def _find_run(ref: str, results: str):
    """A run by folder path or by id under `results`."""
    from glr.training.runs import Run, RunError

    path = Path(ref)
    if not path.is_dir():
        path = Path(results) / "runs" / ref
    if not path.is_dir():
        raise RunError(f"no run {ref!r} (neither a folder nor a run id under {results}/runs)")
    return Run.open(path)


def cmd_train(args) -> int:
    """Train in the foreground (or the run folder given by --run-dir, as the app launches it)."""
    from glr.training.trainer import new_run, train_run

    if args.run_dir:
        run = _find_run(args.run_dir, args.results)
    elif args.resume:
        run = _find_run(args.resume, args.results)
    else:
        run = new_run(args.results, _train_config(args))
        print(f"run folder: {run.path}", file=sys.stderr)
    result = train_run(run, resume=bool(args.resume), console=True)
    status = run.status()
    print(f"{status['state']}: {status.get('message', '')}")
    if result:
        print(f"top-1 {result['top1']:.3f}  top-5 {result['top5']:.3f}  GAP {result['gap']:.3f}")
    return 0 if status["state"] in ("finished", "stopped") else 1


def cmd_runs(args) -> int:
    """List the runs under the results folder."""
    from glr.training.runs import list_runs

    table = list_runs(args.results)
    if table.empty:
        print(f"no runs under {args.results}; start one with: python -m glr train")
        return 0
    print(table.to_string(index=False))
    return 0


def cmd_stop(args) -> int:
    """Ask a running training to stop after its current batch."""
    from glr.training.runs import stop

    status = stop(_find_run(args.run, args.results), wait=args.wait)
    print(f"{status['state']}: {status.get('message', '')}")
    return 0


def cmd_report(args) -> int:
    """Write the run's report/ folder."""
    from glr.evaluation.report import write_report

    print(write_report(_find_run(args.run, args.results).path))
    return 0


def cmd_evaluate(args) -> int:
    """Print a finished run's validation metrics and its weakest classes."""
    from glr.evaluation import metrics

    run = _find_run(args.run, args.results)
    values = metrics.load_metrics(run.path)
    if values is None:
        raise GlrError(f"{run.path}: no metrics.json yet (the run is {run.status()['state']})")
    for key in ("top1", "top5", "gap", "macro_f1", "n_images", "n_classes"):
        print(f"{key:<10} {values[key]:.4f}" if isinstance(values[key], float) else f"{key:<10} {values[key]}")
    per_class = metrics.load_per_class(run.path)
    if per_class is not None:
        print("weakest classes (recall):")
        print(per_class.sort_values(["recall", "support"], ascending=[True, False]).head(args.show).to_string(index=False))
    return 0


def cmd_predict(args) -> int:
    """Top-k predictions for images, or a Kaggle submission CSV for a folder."""
    from glr.predict import Predictor

    run = _find_run(args.run, args.results)
    predictor = Predictor(run.path, backend=args.backend)
    if predictor.backend_note:
        print(f"note: {predictor.backend_note}", file=sys.stderr)
    if len(args.images) == 1 and Path(args.images[0]).is_dir():
        from glr.predict import list_images

        total = len(list_images(args.images[0]))
        out = args.out or str(Path(args.images[0]).name or "predictions") + "-submission.csv"
        with progress_bar(total, "predict") as advance:
            table, predictions = predictor.predict_folder(args.images[0], out, progress=advance)
        failed = [p for p in predictions if not p.ok]
        for p in failed:
            print(f"  skipped {p.error}", file=sys.stderr)
        print(f"wrote {out}: {len(table) - len(failed)} predicted, {len(failed)} unreadable")
        return 0
    if args.similar and predictor.recognizer is None:
        print(f"note: no similar images: {predictor.retrieval_problem}", file=sys.stderr)
    predictions = predictor.predict(args.images, k=args.top_k, similar=args.similar)
    for p in predictions:
        if not p.ok:
            print(f"{p.source}: error: {p.error}")
            continue
        verdict = ""
        if p.known_score is not None:
            verdict = (f"  NOT A KNOWN LANDMARK (known score {p.known_score:.3f} < {predictor.recognizer.calibration.threshold:.3f})"
                       if p.unknown else f"  (known score {p.known_score:.3f})")
        print(f"{p.source}{verdict}")
        print(f"  {predictor.method} confidence, landmark_id, name:")
        for landmark_id, name, prob in p.top:
            print(f"  {prob:6.3f}  {landmark_id:>8}  {name}")
        if p.similar:
            print("  most similar training photos (cosine similarity, landmark_id, name, path):")
            for item in p.similar:
                print(f"  {item['similarity']:6.3f}  {item['landmark_id']:>8}  {item['name']}  {item['path']}")
    return 0 if all(p.ok for p in predictions) else 1


def cmd_retrieval(args) -> int:
    """Build a run's embedding index and print head vs kNN vs blend, with and without distractors."""
    from glr.retrieval import run_index

    run = _find_run(args.run, args.results)
    result = run_index.load_retrieval(run.path)
    if result is None or args.rebuild:
        result = run_index.rebuild(run.path, progress=lambda message: print(f"... {message}", file=sys.stderr))
    print(f"run {run.id}: {result['val_images']} validation photos, {result['distractors']} distractors "
          f"({', '.join(f'{k} {v}' for k, v in result['distractor_sources'].items())}), "
          f"index of {result['index']['items']} photos ({result['index']['backend']} search), kNN k={result['knn_k']}")
    print(run_index.retrieval_table(result).to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    unknown = result["unknown"]
    print(f"unknown verdict: threshold {unknown['threshold']:.3f} keeps {unknown['val_kept']:.1%} of validation photos "
          f"and flags {unknown['distractors_flagged']:.1%} of distractors; ROC AUC known score "
          f"{unknown['auroc']['known_score']:.3f} (top similarity {unknown['auroc']['top_similarity']:.3f}, "
          f"head confidence {unknown['auroc']['head_confidence']:.3f})")
    by_source = unknown.get("flagged_by_source") or {}
    if by_source:
        print("distractors called unknown, by source: " + ", ".join(f"{k} {v:.0%}" for k, v in by_source.items()))
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argparse tree of every command."""
    from glr.backbones.registry import DEFAULT_BACKBONE, list_backbones

    parser = argparse.ArgumentParser(prog="python -m glr", description="Landmark recognition on GLDv2: data, training, evaluation.")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("demo-data", help="generate the embedded demo dataset")
    p.add_argument("--out", help="folder to write (default: the git-ignored data/demo)")
    p.add_argument("--force", action="store_true", help="regenerate even if it exists")
    p.add_argument("--classes", type=int, default=100, help="number of classes with --force (default %(default)s)")
    p.add_argument("--seed", type=int, default=0, help="generator seed with --force (default %(default)s)")
    p.set_defaults(func=cmd_demo_data)

    p = sub.add_parser("inspect", help="classes, images, the curated subset and problems of a dataset")
    p.add_argument("data", nargs="?", help="dataset folder or train.csv (default: the demo dataset)")
    p.add_argument("--show", type=int, default=10, help="classes to list (default %(default)s)")
    _add_curation_args(p)
    p.set_defaults(func=cmd_inspect)

    p = sub.add_parser("probe", help="linear-probe accuracy of frozen features: how separable is the data?")
    p.add_argument("data", nargs="?", help="dataset folder or train.csv (default: the demo dataset)")
    p.add_argument("--backbone", default=DEFAULT_BACKBONE, choices=list_backbones(), help="default %(default)s")
    p.add_argument("--weights", default="imagenet", help="'imagenet', a local weights file, or 'none' (default %(default)s)")
    p.add_argument("--raw-pixels", type=int, metavar="N", help="probe raw NxN pixels instead of a backbone (the no-learning baseline)")
    p.add_argument("--folds", type=int, default=5, help="cross-validation folds (default %(default)s)")
    p.add_argument("--holdout", action="store_true",
                   help="fit on the curated train split and score its validation split (as `train` does) instead of k-fold")
    _add_curation_args(p)
    p.set_defaults(func=cmd_probe)

    from glr.training.config import TrainConfig

    d = TrainConfig()
    p = sub.add_parser("train", help="train a classifier into a new run folder")
    p.add_argument("data", nargs="?", help="dataset folder or train.csv (default: the demo dataset)")
    p.add_argument("--results", default="results", help="results folder (default %(default)s)")
    p.add_argument("--resume", metavar="RUN", nargs="?", const=True, help="continue a stopped or failed run from its last checkpoint")
    p.add_argument("--run-dir", help=argparse.SUPPRESS)  # used by the app's launcher
    _add_curation_args(p)
    model = p.add_argument_group("model")
    model.add_argument("--backbone", choices=list_backbones(), help=f"default {d.backbone}")
    model.add_argument("--weights", help="'imagenet' (default), a local weights file, or 'none'")
    model.add_argument("--input-size", type=int, help="input side in pixels (default: the backbone's)")
    model.add_argument("--hidden", type=int, help=f"dense layer size of the head (default {d.hidden})")
    model.add_argument("--dropout", type=float, help=f"dropout of the head (default {d.dropout})")
    fit = p.add_argument_group("training")
    fit.add_argument("--epochs", type=int, help=f"phase 1 epochs (default {d.epochs})")
    fit.add_argument("--batch-size", type=int, help=f"default {d.batch_size}")
    fit.add_argument("--learning-rate", type=float, help=f"Adam learning rate (default {d.learning_rate})")
    fit.add_argument("--label-smoothing", type=float, help=f"cross-entropy label smoothing (default {d.label_smoothing})")
    fit.add_argument("--patience", type=int, help=f"early-stopping patience in epochs (default {d.patience})")
    fit.add_argument("--augment-space", choices=("features", "images"),
                     help="crops as --views augmented images, one backbone pass each (images, the default), or as "
                          "windows of the backbone's feature map, one pass per photo: faster, slightly less accurate (features)")
    fit.add_argument("--views", type=int, help=f"augmented views per training image with --augment-space images (default {d.views})")
    fit.add_argument("--no-augment", action="store_true", help="no random crop and flip")
    fit.add_argument("--fine-tune", action="store_true", help="phase 2: fine-tune the backbone's last layers (slow on a CPU)")
    fit.add_argument("--fine-tune-epochs", type=int, help=f"default {d.fine_tune_epochs}")
    fit.add_argument("--fine-tune-layers", type=int, help=f"layers to unfreeze (default {d.fine_tune_layers})")
    fit.add_argument("--fine-tune-learning-rate", type=float, help=f"default {d.fine_tune_learning_rate}")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("runs", help="list runs and their states")
    p.add_argument("--results", default="results", help="results folder (default %(default)s)")
    p.set_defaults(func=cmd_runs)

    for name, func, text in (("stop", cmd_stop, "ask a running training to stop"),
                             ("report", cmd_report, "write a run's report/ folder"),
                             ("evaluate", cmd_evaluate, "print a run's validation metrics")):
        p = sub.add_parser(name, help=text)
        p.add_argument("run", help="run id or run folder")
        p.add_argument("--results", default="results", help="results folder (default %(default)s)")
        p.set_defaults(func=func)
        if name == "stop":
            p.add_argument("--wait", action="store_true", help="wait for it to end (SIGTERM after a timeout)")
        if name == "evaluate":
            p.add_argument("--show", type=int, default=10, help="weakest classes to list")

    p = sub.add_parser("predict", help="top-k landmarks for photos, or a submission CSV for a folder")
    p.add_argument("run", help="run id or run folder")
    p.add_argument("images", nargs="+", help="image files, or one folder")
    p.add_argument("--results", default="results", help="results folder (default %(default)s)")
    p.add_argument("--top-k", type=int, default=5, help="default %(default)s")
    p.add_argument("--out", help="submission CSV for a folder (default <folder>-submission.csv)")
    p.add_argument("--similar", type=int, default=0, metavar="K", help="also list the K most similar training photos")
    p.add_argument("--backend", choices=("auto", "tf", "onnx"), default="auto",
                   help="auto (the default): ONNX Runtime, 2.7x faster here, or TensorFlow if the model does not convert")
    p.set_defaults(func=cmd_predict)

    p = sub.add_parser("retrieval", help="kNN and blend vs the head, GAP with distractors, the unknown verdict")
    p.add_argument("run", help="run id or run folder")
    p.add_argument("--results", default="results", help="results folder (default %(default)s)")
    p.add_argument("--rebuild", action="store_true", help="build the index again even if the run has one")
    p.set_defaults(func=cmd_retrieval)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of `python -m glr`; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    args.random_weights = getattr(args, "weights", None) == "none"
    if args.random_weights:
        args.weights = None
    if getattr(args, "resume", None) is True and not args.run_dir:
        parser.error("--resume needs a run id or folder")
    try:
        return args.func(args)
    except GlrError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130

"""What each `python -m glr` command does; glr.cli parses the command line and calls these.

Each `cmd_*` takes the parsed arguments and returns the exit code. Heavy libraries
(TensorFlow) are imported inside the commands that need them.
"""

from __future__ import annotations

import os
import shlex
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from glr import paths
from glr.errors import GlrError
from glr.inspect_command import cmd_inspect  # noqa: F401 - the CLI takes every command from here
from glr.run_ref import find_run
from glr.runs_command import cmd_runs  # noqa: F401

if TYPE_CHECKING:  # datasets imports pandas and sklearn (a second or two): each command imports it when it runs
    from glr.data import datasets


@contextmanager
def progress_bar(total: int, desc: str, unit: str = "img"):
    """A tqdm bar on stderr; yields a callable that advances it by n.

    Off a terminal (a log file, a pipe) there is no bar: its redraws were hundreds of "\r..." updates in the log.
    """
    from tqdm import tqdm

    with tqdm(total=total, desc=desc, unit=unit, file=sys.stderr, dynamic_ncols=True, leave=False,
              disable=not sys.stderr.isatty()) as bar:
        yield bar.update


class PhotoProgress:
    """A progress(done, total) callback in photos (drawn by the demo generator, or fetched) shown as a tqdm bar.

    Off a terminal (a log file, nohup) a bar's redraws would fill the log with "\r" updates for hours: it says what
    it does in one line ("fetching photos: 8,000 photos"), then, unless `terminal_only`, a line of progress at most
    every LOG_SECONDS and one at the end.
    """

    LOG_SECONDS = 30.0

    def __init__(self, desc: str, terminal_only: bool = False):
        self.desc, self.bar, self.terminal_only = desc, None, terminal_only
        self.logged, self.said = None, 0  # off a terminal: when progress was last said, and how far

    def __call__(self, done: int, total: int) -> None:
        if self.bar is None:
            from tqdm import tqdm

            quiet = not sys.stderr.isatty()
            if quiet:
                print(f"{self.desc}: {total:,} photos", file=sys.stderr, flush=True)
                self.logged = time.monotonic()
            self.bar = tqdm(total=total, desc=self.desc, unit="photo", file=sys.stderr, leave=False, disable=quiet)
        self.bar.update(done - self.bar.n)
        if self.logged is not None and not self.terminal_only and done > self.said and (
                done >= total or time.monotonic() - self.logged >= self.LOG_SECONDS):
            from glr.evaluation.readout import percent  # "under 1%" for 3 of 1,000, not "0%"

            print(f"{self.desc}: {done:,} of {total:,} ({percent(done / max(total, 1))})", file=sys.stderr, flush=True)
            self.logged, self.said = time.monotonic(), done

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _ensure_demo(out: Path | None = None) -> Path:
    """The demo dataset's folder, generated (with a progress bar) on first use."""
    from glr.demo import dataset as demo

    progress = PhotoProgress("generating the demo dataset", terminal_only=True)
    try:
        return demo.ensure_demo(out, progress=progress)
    finally:
        progress.close()


def _open_catalog(data: str | None) -> datasets.Catalog:
    """The dataset at `data`, or the embedded demo dataset (generated on first use)."""
    from glr.data import datasets

    if data:
        return datasets.load_catalog(data)
    print("No dataset given: using the embedded demo dataset.", file=sys.stderr)
    return datasets.load_catalog(_ensure_demo())


def _curate(catalog: datasets.Catalog, args) -> datasets.Split:
    from glr.data import datasets

    return datasets.curate(catalog, top_n=args.top_n, min_images=args.min_images, val_fraction=args.val_fraction, seed=args.seed)


def cmd_demo_data(args) -> int:
    """Generate the embedded demo dataset."""
    from glr.data import datasets
    from glr.demo import dataset as demo

    from glr.cli_conflicts import demo_settings_given

    out = Path(args.out) if args.out else None
    if args.force or demo_settings_given(args):  # settings without --force: glr.cli_conflicts let them past for a new folder
        progress = PhotoProgress("generating the demo dataset", terminal_only=True)
        path = demo.generate_demo(out, n_classes=args.classes, seed=args.seed, progress=progress)
        progress.close()
    else:
        path = _ensure_demo(out)
    catalog = datasets.load_catalog(path)
    info = datasets.summarize(catalog)
    print(f"demo dataset: {path}")
    print(f"{info['classes']} classes, {info['images']} images")
    return 0


def cmd_probe(args) -> int:
    """Linear probe on frozen features (or raw pixels), k-fold accuracy."""
    from glr.data import datasets
    from glr.evaluation.probe import fold_count, run_probe

    catalog = _open_catalog(args.data)
    split = _curate(catalog, args)
    for problem in catalog.problems + split.messages:  # as train says them: a class left out changes the score
        print(f"dataset: {problem}", file=sys.stderr)
    data = split.table(paths=True)
    what = f"raw {args.raw_pixels}px pixels" if args.raw_pixels else args.backbone
    folds = fold_count(data["landmark_id"].to_numpy(), args.folds)
    how = "the curated train/validation split" if args.holdout else f"{folds}-fold cross-validation" + (
        f" ({args.folds} asked: lowered so that every fold holds every class)" if folds != args.folds else "")
    print(f"probing {len(data):,} images of {datasets.plural(split.num_classes, 'class')} with {what}, {how}", file=sys.stderr)
    with progress_bar(len(data), "features") as advance:
        result = run_probe(
            data, backbone=args.backbone, raw_pixels=args.raw_pixels, weights=args.weights,
            folds=args.folds, seed=args.seed, progress=advance, holdout=args.holdout,
        )
    for note in result.notes(catalog.root):
        print(note, file=sys.stderr)
    print(f"features   {result.features}")
    if args.holdout:
        copies = f" ({result.copies} left out as copies of training photos, as training does)" if result.copies else ""
        print(f"images     {result.images} in {result.classes} classes; scored on {result.scored} validation images{copies}")
    else:
        lowered = f" ({args.folds} asked: lowered so that every fold holds every class)" if result.folds != args.folds else ""
        # Photos that did not decode change the smallest class after the line above announced the folds.
        moved = f"; not the {folds} said above: photos that could not be read changed its classes" if result.folds != folds else ""
        print(f"images     {result.images} in {result.classes} classes, {result.folds} folds{lowered}{moved}")
        print("folds      " + " ".join(f"{s:.3f}" for s in result.scores))
    from glr.evaluation.readout import very_unequal

    largest, share = result.majority
    if very_unequal(share, result.classes):  # accuracy alone would flatter the probe
        scored = result.scored if args.holdout else result.images
        print(f"baseline   {share:.3f}: always naming the largest class ({catalog.names().get(largest, largest)!r}, "
              f"{round(share * scored):,} of {scored:,} {'validation ' if args.holdout else ''}images) scores this; "
              "the classes are of very unequal size, so compare the accuracy with it, not with 0")
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
    values["fine_tune"] = args.fine_tune  # True, False or "auto" (the default)
    return TrainConfig.from_dict(values)


def _ensure_dataset(run, resume: bool = False) -> None:
    """The edge where a run's dataset is made ready: the demo is generated here, never by the trainer.

    A run from before runs recorded their dataset (none named) trains on the demo, and says so.
    A resumed run the demo could not be made for stays as it was (stopped or failed), resumable.
    """
    config = run.config()
    train = config.setdefault("train", {})
    if not train.get("data"):
        train["data"] = str(paths.demo_dir())
        run.write_config(config)
    if Path(train["data"]) == paths.demo_dir():
        from glr.demo import dataset as demo

        if not demo.is_ready():
            run.update_status(message="generating the demo dataset")
            try:
                _ensure_demo()
            except Exception as exc:
                reason = f"the demo dataset could not be generated: {exc}"
                if resume:  # refused before it began: the run stays as it was (the app's queued one too)
                    from glr.training.resuming import restore, snapshot

                    restore(run, snapshot(run), reason)
                else:
                    run.update_status(state="failed", message=reason)
                raise


def cmd_train(args) -> int:
    """Train in the foreground (or the run folder given by --run-dir, as the app launches it)."""
    from glr.training.processes import LAUNCHER_ENV, exit_with_parent

    if os.environ.get(LAUNCHER_ENV, "").isdigit():  # a local worker: it ends when its launcher does, killed or not
        exit_with_parent(int(os.environ[LAUNCHER_ENV]))  # before TensorFlow's import, which takes seconds
    from glr.training.launch import continued, new_run
    from glr.training.resuming import resumable, set_epochs
    from glr.training.trainer import train_run
    from glr.training.workers import LOCAL_WORKER_ENV, train_local
    if args.run_dir and not (Path(args.run_dir) / "config.json").is_file() and os.environ.get("TF_CONFIG"):
        # Not made yet, or made but its config not written yet: cluster_run waits for the chief's.
        from glr.training.cluster import cluster_from_env, cluster_run

        run = cluster_run(args.run_dir, _train_config(args), cluster_from_env())
    elif args.run_dir:
        run = find_run(args.run_dir, args.results)
    elif args.resume:
        if said := continued(run := find_run(args.resume, args.results), args.epochs):  # paused (Ctrl-Z) elsewhere
            print(said)
            return 0
        run = resumable(run, args.epochs)
        set_epochs(run, args.epochs)  # --epochs N: the run's new total
    else:
        from glr.training.trainer_signals import say  # a stderr that cannot be written must not strand a run queued

        from glr.cli_conflicts import unused

        for note in unused(args):
            say(note)
        if not args.data:
            say("No dataset given: using the embedded demo dataset.")
            _ensure_demo()  # generated before the dataset is read to settle fine-tuning, on a fresh checkout too
        from glr.training.settings import settle_fine_tune

        config, choice = settle_fine_tune(_train_config(args), lengthen=args.fine_tune_epochs is None)
        if choice:
            say(f"fine-tuning (auto) {choice.reason}")
        run = new_run(args.results, config)
        say(f"run folder: {run.path}")
    _ensure_dataset(run, resume=bool(args.resume))
    if getattr(args, "workers", None) not in (None, 1):
        result = train_local(run, args.workers, resume=bool(args.resume))
    else:
        result = train_run(run, resume=bool(args.resume), console=True)
    if result is None or (args.run_dir and os.environ.get(LOCAL_WORKER_ENV)):  # the chief, or --workers N's launcher, reports
        return 0 if result is None or run.status()["state"] in ("finished", "stopped") else 1
    status = run.status()
    print(f"{status['state']}: {status.get('message', '')}")
    if result:
        from glr.evaluation import readout

        print(readout.end_line(result, sep="  "))
        if note := readout.baseline_note(result):
            print(note)
    return 0 if status["state"] in ("finished", "stopped") else 1


def cmd_cache(args) -> int:
    """List the user cache folder's parts and sizes; --prune removes what older versions left, --clear all but the weights."""
    from glr import cache_folder
    from glr.words import plural  # not glr.data.datasets' re-export: pandas there cost the listing 1.2 s

    if args.prune or args.clear:
        removed = cache_folder.clear_cache(results=args.results) if args.clear else cache_folder.prune_stale()
        print(f"removed {plural(len(removed), 'folder')}, {cache_folder.size_text(sum(p.bytes for p in removed))}")
    print(cache_folder.describe(cache_folder.cache_parts()))
    return 0


def cmd_stop(args) -> int:
    """Ask a running training to stop after its current batch."""
    from glr.training.launch import stop

    status = stop(find_run(args.run, args.results), wait=args.wait)
    print(f"{status['state']}: {status.get('message', '')}")
    return 0


def cmd_report(args) -> int:
    """Write the run's report folder (as the end of a training does)."""
    from glr.evaluation.finish import report_run

    print(report_run(find_run(args.run, args.results)))
    return 0


def cmd_export(args) -> int:
    """Export a run's classifier in one format, with its labels, preprocessing note and a predict.py example."""
    from glr.export import export_note, export_run

    folder = export_run(find_run(args.run, args.results), args.format, out=args.out)
    print(folder)
    print(export_note(folder)["verdict"])
    print(f"try it: python {shlex.quote(str(folder / 'predict.py'))} PHOTO")  # pasted into a shell: a space split it
    return 0


def cmd_evaluate(args) -> int:
    """Print a finished run's validation metrics and its weakest classes."""
    from glr.evaluation import readout

    run = find_run(args.run, args.results)
    values = run.metrics()  # a damaged file: GlrError naming it, one line
    if values is None:  # a finished run's was deleted: "no metrics.json yet (the run is finished)" said it would come
        from glr.training.run_table import not_finished

        state = run.status()["state"]
        raise GlrError(not_finished(run, [run.metrics_path.name]) if state == "finished"
                       else f"{run.path}: no {run.metrics_path.name} yet (the run is {state})")
    print("\n".join(readout.score_lines(values)))
    per_class = readout.read_one(run, "per_class")
    if per_class is None and args.show:  # deleted: recomputed from the predictions, as the report does (else unsaid)
        per_class = _per_class_again(run)
    if per_class is not None and args.show:  # --show 0: the metrics alone
        try:
            confusion = readout.read_one(run, "confusion")  # tells "never predicted" apart; optional
        except GlrError:
            confusion = None
        print("\n".join(readout.weakest_lines(per_class, args.show, confusion)))
    return 0


def _per_class_again(run):
    """The run's per-class scores recomputed from its validation predictions, said in a note; None (said) without them."""
    from glr.evaluation import metrics, readout

    predictions, labels = readout.read_one(run, "predictions"), run.labels()
    if predictions is None or predictions.empty or labels is None:
        print(f"note: {run.per_class_path.name} and {run.predictions_path.name} are missing: no weakest classes",
              file=sys.stderr)
        return None
    print(f"note: {run.per_class_path.name} is missing: the classes' scores recomputed from "
          f"{run.predictions_path.name}", file=sys.stderr)
    return metrics.per_class_report(predictions["true_index"].astype(int), predictions["pred_index"].astype(int), labels)


def cmd_retrieval(args) -> int:
    """Build a run's embedding index and print head vs kNN vs blend, with and without distractors."""
    from glr.evaluation.finish import rebuild_index
    from glr.retrieval import run_index

    result = run_index.load_retrieval(run := find_run(args.run, args.results))
    # An index there but not usable (damaged, or its local features missing or of an older format) is built again:
    # the notes that say so name this command, which only showed it, so they never went.
    problem = None if result is None or args.rebuild or args.verify else _index_problem(run, result)
    # A retrieval.json there but unreadable (cut, edited) is damaged, not absent: said, and its verification kept when
    # the index has local features (built again without them, its spatial verification went unsaid).
    damaged = result is None and run.retrieval_path.exists() and not (args.rebuild or args.verify)
    if damaged:
        problem = f"{run.retrieval_path} is damaged"
    if problem:
        print(f"note: {problem.split('; rebuild')[0]}: building the index again", file=sys.stderr)
    if result is None or args.rebuild or args.verify or problem:
        from glr.retrieval.verify import STORE_FILE

        verify = args.verify or bool(problem and isinstance(result, dict) and result.get("verification")) or (
            damaged and (run.index_dir / STORE_FILE).is_file())
        result = rebuild_index(run, progress=lambda message: print(f"... {message}", file=sys.stderr), verify=verify)
    print(f"run {run.id}: {result['val_images']} validation photos, {result['distractors']} distractors "
          f"({', '.join(f'{k} {v}' for k, v in result['distractor_sources'].items())}), "
          f"index of {run_index.index_summary(result)}; kNN k={result['knn_k']}")
    print(run_index.retrieval_table(result).to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    print("\n".join(unknown_lines(result["unknown"])))
    return 0


def _index_problem(run, result: dict) -> str | None:
    """Why a run's index cannot be used as it is (its retrieval.json, its vectors, or the local features its spatial
    verification needs), or None when it can."""
    from glr.retrieval import run_index
    from glr.retrieval.verify import LocalFeatureStore

    if problem := run_index.retrieval_problem(run, result):
        return problem
    try:
        index = run_index.load_index(run)
        if result.get("verification"):
            LocalFeatureStore.load(run.index_dir, index.items["path"].astype(str).tolist())
    except GlrError as exc:
        return str(exc)
    return None


def unknown_lines(unknown: dict) -> list[str]:
    """`python -m glr retrieval`'s lines on the unknown verdict (its threshold, shares kept and flagged, ROC AUC)."""
    from glr.evaluation.readout import percent

    auroc = unknown["auroc"]
    lines = [f"unknown verdict: threshold {unknown['threshold']:.3f} keeps {percent(unknown['val_kept'], 1)} of "
             f"validation photos and flags {percent(unknown['distractors_flagged'], 1)} of distractors; ROC AUC known score "
             f"{auroc['known_score']:.3f} (top similarity {auroc['top_similarity']:.3f}, "
             f"head confidence {auroc['head_confidence']:.3f})"]
    if by_source := unknown.get("flagged_by_source") or {}:
        lines.append("distractors called unknown, by source: " + ", ".join(f"{k} {percent(v)}" for k, v in by_source.items()))
    return lines


def cmd_openset(args) -> int:
    """Leave classes out of training, train, and score the unknown verdict on them (glr.evaluation.openset)."""
    from glr.evaluation.openset import main

    return main(args, data=args.data or str(_ensure_demo()))

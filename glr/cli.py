"""The terminal interface: `python -m glr <command> ...`.

Heavy libraries (TensorFlow) are imported inside the commands that need them, so `--help`
and `inspect` answer at once. Every `GlrError` is printed as a one-line message with exit
code 2; anything else is a bug and keeps its traceback. The results folder is the app's
(glr.paths.results_dir: `$GLR_RESULTS`, else results/ in the checkout) unless `--results`
names another. The commands themselves are in glr.commands (fetch's in glr.fetch_command, predict's
in glr.predict_command).
"""

from __future__ import annotations

import argparse
import difflib
import errno
import io
import os
import sys
from pathlib import Path

from glr import paths
# int_at_least and the rest are imported from here too (tests, older code).
from glr.cli_conflicts import conflict
from glr.cli_types import SEED, CommandsFormatter, float_above, int_at_least, one_of, setting, submission_file  # noqa: F401
from glr.commands import (
    cmd_cache, cmd_demo_data, cmd_evaluate, cmd_export, cmd_inspect, cmd_openset, cmd_probe, cmd_report,
    cmd_retrieval, cmd_stop, cmd_train,
)
from glr.data import curation_defaults as defaults
from glr.errors import GlrError
from glr.fetch_command import cmd_fetch
from glr.predict_command import cmd_predict, dash_named_photo
from glr.runs_command import cmd_runs

RESULTS_HELP = "results folder (default: $GLR_RESULTS, else results/ in the checkout)"
FORMATS = ("keras", "savedmodel", "tflite", "onnx")
RUN_HELP = "run id (or its start), run folder, the name given to a run, or 'latest' (the newest run)"


def _add_curation_args(parser: argparse.ArgumentParser, classifier: bool = False) -> None:
    """--top-n and the rest; `classifier`: a command that trains one, so --top-n 1 (one class) is refused too."""
    group = parser.add_argument_group("curation")
    group.add_argument("--top-n", type=setting("top_n") if classifier else int_at_least(0), default=defaults.DEFAULT_TOP_N,
                       help="keep the N largest classes, 0 for all (default %(default)s)")
    # --min-images 0 or -5 was taken as 2 in silence: a class needs one training and one validation photo.
    group.add_argument("--min-images", type=setting("min_images"), default=defaults.DEFAULT_MIN_IMAGES,
                       help="drop classes with fewer images, at least 2 (default %(default)s)")
    group.add_argument("--val-fraction", type=setting("val_fraction", float), default=defaults.DEFAULT_VAL_FRACTION,
                       help="share of each class held out, above 0 and below 1 (default %(default)s)")
    group.add_argument("--seed", type=SEED, default=defaults.DEFAULT_SEED, help="seed of the split (default %(default)s)")


def build_parser() -> argparse.ArgumentParser:
    """The argparse tree of every command."""
    # Its choices and defaults come from modules that import no numpy (glr.cli_choices): the registry and the rest
    # cost --help and every command 0.4-0.5 s before the first line.
    from glr.cli_choices import AUTO_MAX_FINE_TUNE_EPOCHS, BACKBONES, DEFAULT_BACKBONE, ENGINES, MAX_LANDMARK_ID, MAX_WORKERS
    from glr.training.config import TrainConfig

    # The backbones' names in braces made --help 146 columns wide; as a sentence, argparse wraps them.
    BACKBONE_HELP = f"one of {', '.join(BACKBONES)} (default %(default)s)"
    parser = argparse.ArgumentParser(prog="python -m glr", description="Landmark recognition on GLDv2: data, training, "
                                     "evaluation.", formatter_class=CommandsFormatter)
    from glr import __version__

    parser.add_argument("--version", action="version", version=f"glr {__version__}")  # was "arguments are required"
    # COMMAND: the usage line listed all 14 names in braces, 123 columns wide; the help lists them one a line.
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", title="commands")

    p = sub.add_parser("demo-data", help="generate the embedded demo dataset")
    p.add_argument("--out", help="folder to write (default: $GLR_DEMO_DIR, else the git-ignored data/demo)")
    p.add_argument("--force", action="store_true", help="regenerate even if it exists")
    # MAX_LANDMARK_ID: more classes than landmark ids was numpy's ValueError traceback.
    p.add_argument("--classes", type=int_at_least(2, MAX_LANDMARK_ID), default=100,
                   help="number of classes with --force, at least 2: a model tells classes apart (default %(default)s)")
    p.add_argument("--seed", type=SEED, default=0, help="generator seed with --force (default %(default)s)")
    p.set_defaults(func=cmd_demo_data)

    p = sub.add_parser("inspect", help="classes, images, the curated subset and problems of a dataset")
    p.add_argument("data", nargs="?", help="dataset folder or train.csv (default: the demo dataset)")
    p.add_argument("--show", type=int_at_least(0), default=10, help="classes to list (default %(default)s)")
    _add_curation_args(p)
    p.set_defaults(func=cmd_inspect)

    p = sub.add_parser("fetch", help="download the curated photos of a GLDv2 release (from its URLs or its tar shards)")
    p.add_argument("data", help="GLDv2 folder (train.csv with urls) or its train.csv / train_clean.csv")
    _add_curation_args(p)
    source = p.add_mutually_exclusive_group()
    source.add_argument("--from-urls", action="store_true", help="download from train.csv's url column (the default)")
    source.add_argument("--from-shards", metavar="FOLDER", help="take them from the release's images_NNN.tar shards in FOLDER")
    # No defaults here: a flag not given is left to glr.data.downloads, their one owner (the help reads them there).
    from glr.data import download_settings as downloads  # its numbers alone: glr.data.downloads imports sklearn
    p.add_argument("--workers", type=int_at_least(1), help=f"parallel downloads (default {downloads.WORKERS})")
    p.add_argument("--rate", type=float_above(0, inclusive=True), help=f"requests per second at most, 0 for no limit (default {downloads.RATE:g})")
    p.add_argument("--timeout", type=float_above(0),
                   help=f"seconds to wait for the server: to connect, and between two bytes (default {downloads.TIMEOUT:g})")
    p.add_argument("--deadline", type=float_above(0), metavar="SECONDS",
                   help=f"seconds one photo's answer may take in all, however slowly it comes; at least --timeout "
                        f"(default {downloads.DEADLINE:g}, or --timeout if longer)")
    p.add_argument("--retries", type=int_at_least(0), help=f"on 5xx, time-outs, cut bodies (default {downloads.RETRIES})")
    p.add_argument("--user-agent", help=f"add your contact, as Wikimedia asks (default {downloads.USER_AGENT!r})")
    p.set_defaults(func=cmd_fetch)

    p = sub.add_parser("probe", help="linear-probe accuracy of frozen features: how separable is the data?")
    p.add_argument("data", nargs="?", help="dataset folder or train.csv (default: the demo dataset)")
    p.add_argument("--backbone", default=DEFAULT_BACKBONE, type=one_of(BACKBONES), choices=BACKBONES, metavar="NAME", help=BACKBONE_HELP)
    p.add_argument("--weights", default="imagenet", help="'imagenet', a local weights file, or 'none' (default %(default)s)")
    p.add_argument("--raw-pixels", type=int_at_least(1, 256), metavar="N", help="probe raw NxN pixels instead of a backbone (the no-learning baseline)")
    p.add_argument("--folds", type=int_at_least(2), default=5, help="cross-validation folds (default %(default)s)")
    p.add_argument("--holdout", action="store_true",
                   help="fit on the curated train split and score its validation split (as `train` does) instead of k-fold")
    _add_curation_args(p)
    p.set_defaults(func=cmd_probe)

    d = TrainConfig()
    p = sub.add_parser("train", help="train a classifier into a new run folder")
    p.add_argument("data", nargs="?", help="dataset folder or train.csv (default: the demo dataset)")
    p.add_argument("--results", help=RESULTS_HELP)
    p.add_argument("--resume", metavar="RUN", nargs="?", const=True,
                   help="continue a stopped or failed run from its last checkpoint (--epochs N: its new total)")
    p.add_argument("--run-dir", help=argparse.SUPPRESS)  # used by the app's launcher
    # MAX_WORKERS: beyond it train_local refused, after the run folder was made.
    p.add_argument("--workers", type=int_at_least(1, MAX_WORKERS), default=1, metavar="N",
                   help="train with N local worker processes under tf.distribute (default 1); on a cluster, "
                        "set TF_CONFIG on each node instead (docs/scale-out.md)")
    _add_curation_args(p, classifier=True)
    model = p.add_argument_group("model")
    model.add_argument("--backbone", type=one_of(BACKBONES), choices=BACKBONES, metavar="NAME",
                       help=f"one of {', '.join(BACKBONES)} (default {d.backbone})")
    model.add_argument("--weights", help="'imagenet' (default), a local weights file, or 'none'")
    model.add_argument("--input-size", type=setting("input_size"), help="input side in pixels (default: the backbone's)")
    model.add_argument("--hidden", type=setting("hidden"), help=f"dense layer size of the head (default {d.hidden})")
    model.add_argument("--dropout", type=setting("dropout", float), help=f"dropout of the head (default {d.dropout})")
    fit = p.add_argument_group("training")
    fit.add_argument("--epochs", type=setting("epochs"), help=f"phase 1 epochs (default {d.epochs})")
    fit.add_argument("--batch-size", type=setting("batch_size"), help=f"default {d.batch_size}")
    fit.add_argument("--learning-rate", type=setting("learning_rate", float), help=f"Adam learning rate (default {d.learning_rate})")
    fit.add_argument("--label-smoothing", type=setting("label_smoothing", float), help=f"cross-entropy label smoothing (default {d.label_smoothing})")
    fit.add_argument("--patience", type=setting("patience"), help=f"early-stopping patience in epochs (default {d.patience})")
    fit.add_argument("--augment-space", type=one_of(("features", "images")), choices=("features", "images"),
                     help="crops as windows of the backbone's feature maps of the centre crop and its mirror image, two "
                          "passes per photo (features, the default), or as --views augmented images, one pass each (images)")
    fit.add_argument("--views", type=setting("views"), help="augmented views per training image with --augment-space images: the "
                     f"centre crop's mirror image, then random crops and flips (default {d.views})")
    fit.add_argument("--feature-engine", type=one_of(ENGINES), choices=ENGINES,
                     help="what computes the frozen backbone's features: int8 (with --augment-space images, the augmented "
                          "views on a quantized ONNX Runtime extractor: about 2.3x faster, 0.3-0.8 points less top-1 "
                          "measured), onnx (fp32), "
                          "fp32 (ONNX Runtime when worth it, else TensorFlow), tf; default auto: fp32")
    fit.add_argument("--no-augment", action="store_true", help="no random crop and flip")
    phase_2 = fit.add_mutually_exclusive_group()  # both given: the last won, in silence
    phase_2.add_argument("--fine-tune", action="store_const", const=True, default="auto",
                         help="force phase 2, fine-tuning the backbone's last layers (default: auto, on when its estimated "
                              "cost here is a few minutes; the command says what it chose and why)")
    phase_2.add_argument("--no-fine-tune", dest="fine_tune", action="store_const", const=False, help="force the linear probe only")
    fit.add_argument("--fine-tune-epochs", type=setting("fine_tune_epochs"),
                     help=f"phase 2's length (default {d.fine_tune_epochs}; when not given, auto runs up to "
                          f"{AUTO_MAX_FINE_TUNE_EPOCHS} while its estimate stays a few minutes)")
    fit.add_argument("--fine-tune-layers", type=setting("fine_tune_layers"), help=f"layers to unfreeze (default {d.fine_tune_layers})")
    fit.add_argument("--fine-tune-learning-rate", type=setting("fine_tune_learning_rate", float), help=f"default {d.fine_tune_learning_rate}")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("runs", help="list runs and their states; rename or delete one")
    p.add_argument("--results", help=RESULTS_HELP)
    manage = p.add_mutually_exclusive_group()
    manage.add_argument("--rename", nargs=2, metavar=("RUN", "NAME"),
                        help='give a run a display name ("" removes it); its id stays the same')
    manage.add_argument("--delete", metavar="RUN", help="delete a run folder (refused while it trains)")
    p.add_argument("--yes", action="store_true", help="delete without asking (asked only in a terminal)")
    p.add_argument("--wide", action="store_true", help="every column, full times, names and messages whole (on a terminal they are shortened to fit its width)")
    p.set_defaults(func=cmd_runs)

    p = sub.add_parser("cache", help="what glr keeps in the user cache folder, its size, and what is stale")
    tidy = p.add_mutually_exclusive_group()
    tidy.add_argument("--prune", action="store_true", help="remove what older versions of glr left (never read again)")
    tidy.add_argument("--clear", action="store_true",
                      help="remove everything but the converted weights (refused while a run trains)")
    p.add_argument("--results", help=RESULTS_HELP + "; --clear checks it for a training")
    p.set_defaults(func=cmd_cache)

    for name, func, text in (("stop", cmd_stop, "ask a running training to stop"),
                             ("report", cmd_report, "write a run's report (curves, collage, summary)"),
                             ("evaluate", cmd_evaluate, "print a run's validation metrics")):
        p = sub.add_parser(name, help=text)
        p.add_argument("run", help=RUN_HELP)
        p.add_argument("--results", help=RESULTS_HELP)
        p.set_defaults(func=func)
        if name == "stop":
            p.add_argument("--wait", action="store_true", help="wait for it to end (SIGTERM after a timeout)")
        if name == "evaluate":
            p.add_argument("--show", type=int_at_least(0), default=10, help="weakest classes to list (default %(default)s)")

    p = sub.add_parser("predict", help="top-k landmarks for photos, or a submission CSV for a folder")
    p.add_argument("run", help=RUN_HELP)
    p.add_argument("images", nargs="+", help="photos, folders of photos or zips of photos (one folder alone: its submission CSV)")
    p.add_argument("--results", help=RESULTS_HELP)
    p.add_argument("--top-k", type=int_at_least(1), default=5, help="default %(default)s")
    p.add_argument("--out", type=submission_file,
                   help="submission CSV for a folder (or for the images), or a folder to write submission.csv into "
                        "(default: <folder>-submission.csv beside the folder; - for standard output, "
                        "with no partial file to continue from)")
    p.add_argument("--unknown", type=one_of(("last", "empty", "keep")), choices=("last", "empty", "keep"), default="last",
                   help="in the submission, photos called not a known landmark: ranked after every known photo "
                        "(last, the default), without a prediction (empty), or with their raw confidence (keep)")
    p.add_argument("--similar", type=int_at_least(0), default=0, metavar="K", help="also list the K most similar training photos")
    p.add_argument("--backend", type=one_of(("auto", "tf", "onnx")), choices=("auto", "tf", "onnx"), default="auto",
                   help="auto (the default): ONNX Runtime, 2.7x faster here, or TensorFlow if the model does not convert")
    p.set_defaults(func=cmd_predict)

    p = sub.add_parser("export", help="write a run's classifier as keras, savedmodel, tflite or onnx, with labels and predict.py")
    p.add_argument("run", help=RUN_HELP)
    p.add_argument("--format", required=True, type=one_of(FORMATS), choices=FORMATS, help="the model format")
    p.add_argument("--out", help="the export folder (default <run>/export/<format>/)")
    p.add_argument("--results", help=RESULTS_HELP)
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("retrieval", help="kNN and blend vs the head, GAP with distractors, the unknown verdict")
    p.add_argument("run", help=RUN_HELP)
    p.add_argument("--results", help=RESULTS_HELP)
    p.add_argument("--rebuild", action="store_true", help="build the index again even if the run has one")
    p.add_argument("--verify", action="store_true", help="rebuild it with spatial verification: the training photos' "
                                                          "local features, and the unknown verdict calibrated with inliers")
    p.set_defaults(func=cmd_retrieval)

    p = sub.add_parser("openset", help="open-set benchmark: leave classes out, train, score the unknown verdict on them")
    p.add_argument("data", nargs="?", help="dataset folder or train.csv (default: the demo dataset)")
    p.add_argument("--hold-out-classes", type=int_at_least(1), metavar="K", help="classes left out (default: a quarter of them)")
    p.add_argument("--seeds", type=SEED, nargs="+", default=[0, 1, 2], help="one choice of left-out classes per seed (default 0 1 2)")
    p.add_argument("--backbone", default=DEFAULT_BACKBONE, type=one_of(BACKBONES), choices=BACKBONES, metavar="NAME", help=BACKBONE_HELP)
    phase_2 = p.add_mutually_exclusive_group()
    phase_2.add_argument("--fine-tune", action="store_const", const=True, default="auto",
                         help="force phase 2 in every run (default: auto, decided per seed as train decides)")
    phase_2.add_argument("--no-fine-tune", dest="fine_tune", action="store_const", const=False,
                         help="force the linear probe only (faster)")
    p.add_argument("--epochs", type=setting("epochs"), help=f"phase 1 epochs (default {d.epochs})")
    p.add_argument("--no-verify", action="store_true", help="skip the scores with spatial verification (faster)")
    p.add_argument("--keep", metavar="DIR", help="keep the runs in this results folder (default: a temporary one)")
    _add_curation_args(p, classifier=True)
    p.set_defaults(func=cmd_openset)
    parser.commands = dict(sub.choices)  # name -> its parser: for _suggest
    return parser


# What `train` makes a run from; a resumed run keeps its own (RUN/config.json), so giving one with --resume is an
# error; but --epochs, which sets a stopped run's new total (glr.training.resuming).
RUN_SETTINGS = ("data", "top_n", "min_images", "val_fraction", "seed", "backbone", "weights", "input_size", "hidden",
                "dropout", "batch_size", "learning_rate", "label_smoothing", "patience", "augment_space", "views",
                "feature_engine", "no_augment", "fine_tune", "fine_tune_epochs", "fine_tune_layers", "fine_tune_learning_rate")


def _ignored_by_resume(parser: argparse.ArgumentParser, args) -> list[str]:
    """The run settings given beside --resume, as typed: they were ignored in silence (--epochs 5 ran to the run's 40)."""
    defaults = vars(parser.parse_args([args.command]))
    given = [k for k in RUN_SETTINGS if getattr(args, k) != defaults[k]]
    return ["DATA" if k == "data" else "--fine-tune/--no-fine-tune" if k == "fine_tune" else f"--{k.replace('_', '-')}"
            for k in given]


def main(argv: list[str] | None = None) -> int:
    """Entry point of `python -m glr`; returns the exit code: 0 done, 1 failed, 2 refused (usage or a glr error),
    130 Ctrl-C, 141 the reader of the output went away (`glr runs | head -1`), as for a tool SIGPIPE ends."""
    from glr import tf_quiet

    tf_quiet.install()  # TensorFlow's start-up notices, seven lines above the command's own output
    try:
        code = _run(argv)
        sys.stdout.flush()  # here, not at exit, where a failed write is an "Exception ignored" traceback
        return code
    except GlrError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # in a command, or in the seconds of imports before it
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        _drop_stdout()
        return 141
    except OSError as exc:
        if exc.filename is not None or exc.errno not in (errno.ENOSPC, errno.EDQUOT, errno.EIO):
            raise  # a file's error is the command's to name; anything else is a bug and keeps its traceback
        _drop_stdout()  # `> /dev/full`: print the reason once, not again at exit
        print(f"error: the output cannot be written: {exc.strerror}", file=sys.stderr)
        return 1


def _drop_stdout() -> None:
    """Send what is left of stdout to the null device, so the flush at exit cannot fail again (Python's advice for
    a closed pipe); a stdout with no file (a test's capture) is left."""
    try:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except (OSError, ValueError, AttributeError, io.UnsupportedOperation):
        pass


def _suggest(parser: argparse.ArgumentParser, argv: list[str]) -> None:
    """A usage error naming the closest command for a mistyped one (`glr rnus`: did you mean 'runs'?)."""
    option = argv[0].split("=")[0] if argv and argv[0].startswith("-") else None
    if option and option not in parser._option_string_actions:
        # `glr --results R runs`: argparse took R for the command, "invalid choice: 'R' (choose from ...)".
        takers = [name for name, command in parser.commands.items() if option in command._option_string_actions]
        command = next((a for a in argv if a in parser.commands), "COMMAND")
        parser.error(f"{option} goes after the command: python -m glr {command} {option} ..." if takers else
                     f"unknown option {option} (python -m glr --help lists the commands)")
    first = next((a for a in argv if not a.startswith("-")), None)
    if first is not None and first not in parser.commands:
        close = difflib.get_close_matches(first.lower(), parser.commands, n=1)  # "PREDICT" too
        if close:
            parser.error(f"unknown command {first!r}; did you mean {close[0]!r}? (python -m glr --help lists them)")
        if argv[0] == first:  # argparse's "invalid choice: ... (choose from 'demo-data', ...)": 220 characters
            parser.error(f"unknown command {first!r} (python -m glr --help lists them)")


def _run(argv: list[str] | None) -> int:
    for stream in (sys.stdout, sys.stderr):  # an ASCII terminal (PYTHONIOENCODING=ascii, a C locale without UTF-8)
        if hasattr(stream, "reconfigure"):   # raised UnicodeEncodeError at the first "Sacré-Cœur": "?" instead
            stream.reconfigure(errors="replace")
    parser = build_parser()
    if not (sys.argv[1:] if argv is None else argv):  # "the following arguments are required: command" named none
        parser.print_help(sys.stderr)
        return 2
    _suggest(parser, sys.argv[1:] if argv is None else argv)
    if problem := dash_named_photo(parser.commands["predict"], sys.argv[1:] if argv is None else argv):
        parser.commands["predict"].error(problem)
    args = parser.parse_args(argv)
    if getattr(args, "resume", None) in (True, "") and not args.run_dir:  # "": `--resume "$RUN"` with RUN unset
        parser.error("--resume needs a run id or folder")
    if getattr(args, "resume", None) and not args.run_dir and (ignored := _ignored_by_resume(parser, args)):
        parser.error(f"--resume continues a run with its own dataset and settings; leave out {', '.join(ignored)}")
    for option in ("results", "out", "keep"):  # `--out "$DIR"` with DIR unset: not a request for the default
        if getattr(args, option, None) == "":
            parser.error(f"the --{option} path is empty; give one, or omit --{option} for the default")
    results_option = "--results" if getattr(args, "results", None) else f"${paths.RESULTS_ENV}"  # for the message below
    for option in ("out", "keep"):  # `--out=~/x`: the shell leaves a ~ after "=" as it is, glr made a folder named ~
        if getattr(args, option, None):
            setattr(args, option, str(Path(getattr(args, option)).expanduser()))
    if hasattr(args, "results"):
        args.results = Path(args.results).expanduser() if args.results else paths.results_dir()
    args.random_weights = getattr(args, "weights", None) == "none"
    if args.random_weights:
        args.weights = None
    if problem := conflict(args):
        parser.commands[args.command].error(problem)
    if getattr(args, "data", None) == "":  # `glr train "$DATA"` with DATA unset: not a request for the demo
        parser.error("the dataset path is empty; leave it out to use the embedded demo dataset")
    # Folders glr makes: a file where one of them (or a parent) must go is a usage error, not a
    # FileExistsError from the mkdir deep inside the command. --out is a file or a folder: its parent.
    # $GLR_CACHE_DIR naming a file: `cache` said "empty (nothing cached yet)", and a training failed at its features.
    cache_option = "$GLR_CACHE_DIR" if os.environ.get("GLR_CACHE_DIR") else "the cache folder"
    for option, folder in ((results_option, getattr(args, "results", None)), ("--keep", getattr(args, "keep", None)),
                           (cache_option, paths.cache_dir()),
                           ("--out", Path(args.out).expanduser().absolute().parent if getattr(args, "out", None) else None)):
        if folder and (blocker := paths.file_in_the_way(folder)):
            parser.error(f"{option}: {blocker} is a file, not a folder")
    return args.func(args)

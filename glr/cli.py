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

from glr import datasets
from glr.errors import GlrError


@contextmanager
def progress_bar(total: int, desc: str, unit: str = "img"):
    """A tqdm bar on stderr; yields a callable that advances it by n."""
    from tqdm import tqdm

    with tqdm(total=total, desc=desc, unit=unit, file=sys.stderr, dynamic_ncols=True, leave=False) as bar:
        yield bar.update


def _open_catalog(data: str | None) -> datasets.Catalog:
    """The dataset at `data`, or the embedded demo dataset (generated on first use)."""
    if data:
        return datasets.load_catalog(data)
    from glr import demo

    print("No dataset given: using the embedded demo dataset.", file=sys.stderr)
    return datasets.load_catalog(demo.ensure_demo())


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
    from glr import demo

    out = Path(args.out) if args.out else None
    path = demo.generate_demo(out, n_classes=args.classes, seed=args.seed) if args.force else demo.ensure_demo(out)
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
    from glr.probe import run_probe

    catalog = _open_catalog(args.data)
    split = _curate(catalog, args)
    data = split.table().merge(catalog.df[["id", "path"]], on="id")
    what = f"raw {args.raw_pixels}px pixels" if args.raw_pixels else args.backbone
    print(f"probing {len(data):,} images of {split.num_classes} classes with {what}, {args.folds}-fold", file=sys.stderr)
    with progress_bar(len(data), "features") as advance:
        result = run_probe(
            data, backbone=args.backbone, raw_pixels=args.raw_pixels, weights=args.weights,
            folds=args.folds, seed=args.seed, progress=advance,
        )
    if result.skipped:
        print(f"{result.skipped} images could not be decoded and were left out", file=sys.stderr)
    print(f"features   {result.features}")
    print(f"images     {result.images} in {result.classes} classes, {result.folds} folds")
    print("folds      " + " ".join(f"{s:.3f}" for s in result.scores))
    print(f"accuracy {result.accuracy:.3f}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argparse tree of every command."""
    from glr.backbones import DEFAULT_BACKBONE, list_backbones

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
    _add_curation_args(p)
    p.set_defaults(func=cmd_probe)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of `python -m glr`; returns the exit code."""
    args = build_parser().parse_args(argv)
    if getattr(args, "weights", None) == "none":
        args.weights = None
    try:
        return args.func(args)
    except GlrError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130

"""Options of `python -m glr` that have no effect beside another one: refused as a usage error naming both, before
any import of TensorFlow or any run folder.

`train --no-fine-tune --fine-tune-epochs 5` trained without phase 2 and recorded fine_tune_epochs 5 in the run's
config; `probe --raw-pixels 32 --backbone resnet50` printed "raw 32px pixels" and `probe --holdout --folds 3` the split.
Each was silent; so was `train --views 8` without `--augment-space images` (the
feature-map windows never use it), now said as the run starts (`unused`). (--fine-tune beside --no-fine-tune is argparse's own "not allowed with", glr.cli.)
"""

from __future__ import annotations

PHASE_2 = (("--fine-tune-epochs", "fine_tune_epochs"), ("--fine-tune-layers", "fine_tune_layers"),
           ("--fine-tune-learning-rate", "fine_tune_learning_rate"))
DEFAULT_FOLDS = 5  # probe's --folds default (glr.cli)


def conflict(args) -> str | None:
    """The usage error's text for options given together where one voids the other, or None."""
    if args.command == "train" and not args.run_dir and not args.resume:  # a resumed run: glr.cli refuses any setting
        given = [flag for flag, key in PHASE_2 if getattr(args, key) is not None]
        if args.fine_tune is False and given:
            return (f"{' and '.join(given)} set{'s' if len(given) == 1 else ''} phase 2, the fine-tuning that "
                    "--no-fine-tune skips; leave out one or the other")
    if args.command == "demo-data" and not args.force and demo_settings_given(args):
        # A demo already there was kept, or made with 100 classes, in silence; a new or empty folder is drawn so.
        out = _demo_folder(args)
        if _holds_files(out):
            given = demo_settings_given(args)
            return (f"{' and '.join(given)} set{'s' if len(given) == 1 else ''} how the demo is generated, and {out} "
                    "holds one already: add --force to draw it again")
    if args.command == "probe":
        from glr.cli_choices import DEFAULT_BACKBONE

        backbone = [flag for flag, given in (("--backbone", args.backbone != DEFAULT_BACKBONE),
                                             ("--weights", args.random_weights or args.weights != "imagenet")) if given]
        if args.raw_pixels and backbone:
            return f"--raw-pixels probes the pixels themselves, with no backbone; leave out {' and '.join(backbone)}"
        if args.holdout and args.folds != DEFAULT_FOLDS:
            return "--holdout scores the curated validation split, with no folds; leave out --folds or --holdout"
    return None


def demo_settings_given(args) -> list[str]:
    """demo-data's generation options given other than their defaults (`--classes`, `--seed`)."""
    return [flag for flag, value, default in (("--classes", args.classes, 100), ("--seed", args.seed, 0))
            if value != default]


def _demo_folder(args):
    from pathlib import Path

    from glr.paths import demo_dir

    return Path(args.out).expanduser() if args.out else demo_dir()


def _holds_files(folder) -> bool:
    try:
        return any(folder.iterdir())
    except FileNotFoundError:
        return False
    except OSError:  # not a folder, or unreadable: generate_demo says which
        return True


def unused(args) -> list[str]:
    """Notes on train's options that the run will not use, said as it starts (not refused: scripts and the tests'
    tiny settings pass --views with the default --augment-space)."""
    if args.command != "train" or args.run_dir or args.resume or args.views is None:
        return []
    if args.no_augment:
        return ["note: --views is not used: it sets how many augmented images are made of each photo, and "
                "--no-augment makes none"]
    if args.augment_space != "images":
        return ["note: --views is not used: it sets how many augmented images --augment-space images makes of each "
                "photo; the default, --augment-space features, crops windows of the feature maps instead"]
    return []

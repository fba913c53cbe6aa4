"""What `python -m glr` takes as a value (argparse `type`s that name the allowed range), and how its help is laid out.

Each value is refused by argparse with the flag, the value and what is allowed, before any import or run folder.
"""

from __future__ import annotations

import argparse
import difflib
import math
import os
from pathlib import Path

from glr.data.curation_defaults import MAX_SEED


def int_at_least(low: int, high: int | None = None):
    """An argparse `type` for an integer in [low, high]: anything else is a usage error naming the range.

    Without it, a negative --show or --top-k was taken as Python's "all but the last",
    --raw-pixels 0 fell back to the backbone in silence, and a negative seed crashed sklearn.
    """
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"invalid int value: {text!r}") from None
        if value < low or (high is not None and value > high):
            bound = f"between {low} and {high}" if high is not None else f"at least {low}"
            raise argparse.ArgumentTypeError(f"must be {bound}, got {value}")
        return value

    return parse


def float_above(low: float, inclusive: bool = False):
    """An argparse `type` for a finite number over `low` (or at least it): --timeout 0 or nan failed every download
    as "connection failed"."""
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"invalid number: {text!r}") from None
        if not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"must be a finite number, got {text}")
        if value < low or (value == low and not inclusive):
            raise argparse.ArgumentTypeError(f"must be {'at least' if inclusive else 'over'} {low:g}, got {text}")
        return value

    return parse


def setting(name: str, kind: type = int):
    """An argparse `type` for the training setting `name`: refused, naming the value and what is allowed, by the
    rule TrainConfig itself checks (glr.training.config.RULES), so nothing is imported or made before it.

    `train --epochs 0` said "invalid configuration: epochs must be at least 1" after the start-up imports, naming
    neither the flag nor the value; `--learning-rate nan` likewise.
    """
    def parse(text: str):
        from glr.training.config import RULES

        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"invalid {kind.__name__} value: {text!r}") from None
        allowed, words = RULES[name]
        if not allowed(value):
            raise argparse.ArgumentTypeError(f"must be {words}, got {text}")
        return value

    return parse


def one_of(names):
    """An argparse `type` for one of `names`, in any case; anything else is refused naming the nearest name.

    argparse's own "invalid choice: 'resnet5' (choose from ...)" left the user to find resnet50 among seven
    backbones; "mobilenetv3small" or "efficientnet-lite0" differ from the name by a separator alone.
    """
    names = tuple(names)

    def parse(text: str) -> str:
        value = text.lower()
        if value in names:
            return value
        raise argparse.ArgumentTypeError(f"unknown value {text!r}{nearest(value, names)} (one of {', '.join(names)})")

    return parse


def nearest(typed: str, names) -> str:
    """"; did you mean 'x'?" for the name closest to `typed` (separators aside first), or "" when none is close."""
    bare = {n.replace("_", "").replace("-", ""): n for n in names}
    key = typed.lower().replace("_", "").replace("-", "")
    if key in bare:
        return f"; did you mean {bare[key]!r}?"
    close = difflib.get_close_matches(key, bare, n=1, cutoff=0.6)
    return f"; did you mean {bare[close[0]]!r}?" if close else ""


SEED = int_at_least(0, MAX_SEED)  # numpy's and sklearn's generators take 0 .. 2**32 - 1


def submission_file(value: str) -> str:
    """predict's --out: a path ending in a slash names a folder, made if missing, to hold submission.csv."""
    from glr.data.layouts import IMAGE_EXTENSIONS  # pandas: imported when --out is given, not for --help

    if Path(value).suffix.lower() in IMAGE_EXTENSIONS:  # `--out photos/a.jpg` wrote the CSV over the photo
        raise argparse.ArgumentTypeError(f"{value} names a photo; the submission is a CSV file (or give a folder)")
    # main() normalises --out as a Path, which drops the trailing slash: a missing "new/" became a file named "new".
    return os.path.join(value, "submission.csv") if value.endswith(("/", os.sep)) else value


class CommandsFormatter(argparse.HelpFormatter):
    """The top-level help's commands one a line under "commands:", each help beside its name. argparse put a line
    "COMMAND" above them, and indented them further than it measured, so "demo-data" and "retrieval" had their help
    on the next line."""

    def _format_action(self, action):
        text = super()._format_action(action)
        return text.split("\n", 1)[1] if isinstance(action, argparse._SubParsersAction) else text

    def _iter_indented_subactions(self, action):
        yield from getattr(action, "_get_subactions", list)()

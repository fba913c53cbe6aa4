"""How a command finds the run the user typed: as glr.training.run_table.find_run does (a folder, an id, a name,
'latest'), and by the start of an id, as git takes the start of a commit's hash.

Run ids are long (20261206-203453-efficientnet_lite0); `evaluate 20261206-203453` said "no run", and a mistyped
id said so without naming the id it was close to.
"""

from __future__ import annotations

import difflib
import os
from pathlib import Path

from glr.errors import GlrError

SHOWN = 5  # ids listed for a start that several share


def find_run(ref: str, results, whole: bool = False):
    """A run by folder path, id, name, "latest", or the start of one id (not when `whole`: deleting takes the whole id).

    A start shared by several ids names them; a run not found names the closest id or name, if one is close.
    """
    from glr.training.run_table import find_run as find, list_runs, runs_dir

    try:
        return find(results, ref)
    except GlrError as exc:
        missing = exc
    typed = str(ref).strip()
    if not typed or os.sep in typed or Path(typed).is_dir():  # a path is no start of an id
        raise missing
    table = list_runs(results)
    ids = [str(i) for i in table["run_id"]] if not table.empty else []
    starting = [i for i in ids if i.startswith(typed)]
    if len(starting) == 1 and not whole:
        from glr.training.run import Run

        return Run.of(results, starting[0])
    if len(starting) > 1:
        shown = ", ".join(starting[:SHOWN]) + (f" and {len(starting) - SHOWN} more" if len(starting) > SHOWN else "")
        raise GlrError(f"{typed!r} is the start of {len(starting)} run ids ({shown}): give more of the id")
    if starting:  # whole: a start alone never deletes
        raise GlrError(f"no run {typed!r}; did you mean {starting[0]!r}? (give the whole id)")
    names = ids + [str(n) for n in table["name"] if n] if ids else []
    close = difflib.get_close_matches(typed, names, n=1, cutoff=0.8)
    if close:
        raise GlrError(f"no run {typed!r} under {runs_dir(results)}; did you mean {close[0]!r}?")
    raise missing

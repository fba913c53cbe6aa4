"""`glr predict FOLDER`'s predicting (and PHOTOS --out's): a batch at a time, each kept in a partial file as it comes.

A test set's 118k photos take hours. Each batch's outcomes go to the partial file beside the submission
(glr.partial), so Ctrl-C or a crash loses at most a batch, and the same command continues from it; the
submission itself is written (atomically) only once every photo is predicted, never half of one.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from glr.paths import shown


def run_stamp(run) -> str:
    """The size and time of each file of `run` a prediction reads (its model, labels, settings and index): another
    stamp says its predictions may differ (the run trained again, its index rebuilt)."""
    folder = Path(getattr(run, "path", run))
    files = [folder / name for name in ("model.keras", "labels.json", "config.json", "retrieval.json")]
    files += sorted((folder / "index").glob("*")) if (folder / "index").is_dir() else []
    stamps = []
    for path in files:
        try:
            info = os.stat(path)
        except OSError:
            continue
        stamps.append(f"{path.name}:{info.st_size}:{info.st_mtime_ns}")
    return " ".join(stamps)


def photo_stamp(path):
    """[size, modification time] of the photo at `path` ([size, CRC] of a zip's, uploads.ZipPhoto; None when it cannot
    be looked at): a photo replaced since it was predicted has another, and is predicted again."""
    if hasattr(path, "_info"):
        return [path._info.file_size, path._info.CRC]
    try:
        info = os.stat(path)
    except OSError:
        return None
    return [info.st_size, info.st_mtime_ns]


def partial_for(target: Path | None, run, folder: str, unknown: str, backend):
    """The PartialFile beside the submission `target` for these predictions, or a Held for a stream (`--out -`)."""
    from glr.partial import PartialFile

    if target is None:
        return Held()
    target = target / "submission.csv" if target.is_dir() else target
    key = {"run": str(Path(getattr(run, "path", run)).resolve()), "model, labels or index of the run": run_stamp(run),
           "folder": str(Path(folder).resolve()) if folder else "", "--unknown": unknown, "backend": str(backend)}
    return PartialFile(target, key)


class Held:
    """A PartialFile's outcomes held in memory, for a submission written to a stream (`--out -`): none to keep."""

    path = None

    def __init__(self):
        self.offsets = {}  # photo: its outcome

    def add(self, photo, stamp, outcome):
        """Hold `photo`'s outcome."""
        self.offsets[photo] = outcome

    def outcomes(self, photos):
        """Each of `photos`' outcomes, in that order."""
        return (self.offsets[photo] for photo in photos)

    def done(self):
        """How many photos' outcomes it holds."""
        return len(self.offsets)

    def close(self):
        """Nothing to close or remove."""

    remove = close


def predict_folder(predictor, run, folder: str | None, found: list, unknown: str, target: Path | None, progress,
                   names: list[str] | None = None, k: int = 1, similar: int = 0, listing=None):
    """(the submission table, each photo's outcome, the partial file to remove once the table is written) for `found`,
    the images of `folder` (None: photos given one by one, named `names`, e.g. a zip's). An outcome is {"cell": its
    submission cell, "unknown": called not a known landmark, "error": why it was not predicted, or None}. The outcomes
    the partial file beside `target` (None: a stream) holds already are reused, the others predicted (top `k`, `similar`
    photos) a batch at a time and kept in it as they come, then given to `listing` (glr predict PHOTOS lists them);
    `progress(done, total)` is told how far it is. On Ctrl-C or a crash the partial file is kept, and where it is said."""
    import pandas as pd

    from glr import submission
    from glr.predict import BATCH_SIZE

    partial = partial_for(target, run, folder, unknown, getattr(predictor, "backend", None))
    keys = names or [Path(path).relative_to(folder).as_posix() if Path(path).is_relative_to(folder) else path
                     for path in found]
    stamps = dict(zip(keys, map(photo_stamp, found)))
    if partial.path is not None:
        note = partial.resume(stamps)  # said once it is open: not "continuing from" a file another command holds
        try:
            partial.open()
        except OSError as exc:
            from glr.errors import GlrError

            raise GlrError(f"{partial.path}: cannot write the partial file that keeps the predictions as they come "
                           f"({exc.strerror or exc})" + ("" if isinstance(exc, BlockingIOError) else
                                                         "; choose another file with --out")) from None
        if note:
            print(f"note: {note}", file=sys.stderr)
    todo = [(key, path) for key, path in zip(keys, found) if key not in partial.offsets]
    seen = [partial.done()]

    def advance(n: int) -> None:
        seen[0] += n
        progress(seen[0], len(found))

    try:
        for start in range(0, len(todo), BATCH_SIZE):
            batch = todo[start:start + BATCH_SIZE]
            predictions = predictor.predict([path for _, path in batch], k=k, similar=similar, progress=advance)
            # The table's ids are not kept, only its cells: a name of undecodable bytes (b"bad\xffname.jpg") is no
            # text a table takes ("surrogates not allowed"), so the batch is numbered.
            cells = submission.submission_table(range(len(batch)), predictions, unknown=unknown)["landmarks"]
            for (key, _), p, cell in zip(batch, predictions, cells):
                partial.add(key, stamps[key], {"cell": cell, "unknown": bool(p.ok and p.unknown), "error": p.error})
            seen[0] = partial.done()
            if listing is not None:
                listing(predictions)
    except BaseException as exc:
        (partial.close if partial.done() else partial.remove)()  # an empty one is no help to the next run
        getattr(progress, "close", lambda: None)()  # the bar gone before the line, not drawn over it
        kept = (f"the {partial.done():,} predicted so far are kept in {shown(partial.path)}: the same command continues "
                "from them (the submission is written once every photo is predicted)") if partial.path and partial.done() \
            else "no submission written (it is written once every photo is predicted)"
        said = f"stopped after {partial.done():,} of {len(found):,} photos: " if isinstance(exc, KeyboardInterrupt) else "note: "
        print(said + kept, file=sys.stderr)
        raise
    outcomes = list(partial.outcomes(keys))
    table = pd.DataFrame({"id": submission.unique_ids(names or found, folder), "landmarks": [o["cell"] for o in outcomes]})
    return table, outcomes, partial

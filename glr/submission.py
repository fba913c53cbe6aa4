"""A folder of photos in, a Kaggle submission out: which files are photos, their ids, and the CSV.

The predictor (glr.predict) names the landmarks; this module decides what is listed and how.
Every file under the folder is either a photo or listed as skipped with the reason; each photo
gets a unique id (its stem, as Kaggle names test photos, written exactly: the CSV is a machine file whose
ids are never escaped for spreadsheets); and the photos the run calls "not a known landmark" are ranked
after every known one, so in GAP they no longer push real landmarks down.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import TYPE_CHECKING, Iterable, Sequence

import pandas as pd

from glr.atomic import csv_text, write_csv  # a machine file (glr.spreadsheet): Kaggle scores the ids as written
from glr.data.datasets import IMAGE_EXTENSIONS
from glr.data.layouts import is_system_file, is_system_folder, plural
from glr.data.photo_files import photo_start
from glr.data.skipped_files import one_reason
from glr.errors import GlrError
from glr.paths import broken_link, printable

if TYPE_CHECKING:
    from glr.predict import Prediction

# What a submission does with a photo the unknown verdict calls "not a known landmark": rank it
# after every known photo (its confidence in [0, 0.5), the known ones' in (0.5, 1]), give it an
# empty prediction, or keep the raw confidence as if there were no verdict.
UNKNOWN_POLICIES = ("last", "empty", "keep")
LOWEST_KNOWN, HIGHEST_UNKNOWN = 0.500001, 0.499999  # stay apart at the CSV's 6 decimals
SUBMISSION_NOTE = ("Photos called not a known landmark are ranked after every known one: their confidence is "
                   "below 0.5, the known photos' above (0.5 + confidence / 2), so in GAP they no longer push real "
                   "landmarks down.")

# Why a folder's photos are not predicted when it cannot be listed (glr predict and the exported predict.py).
UNLISTABLE = "a folder that cannot be listed ({}): its photos are not predicted"
# A file without an extension whose first bytes are no photo's (a photo's are read, as training reads them).
NO_EXTENSION = "no file extension, and its first bytes are not a photo's (jpg, png, ...)"
# One whose first bytes could not be read to tell (no right to read it, moved or deleted while the folder was listed).
NO_EXTENSION_UNREAD = "no file extension, and its first bytes cannot be read to tell whether it is a photo ({})"
# A zip among a folder's photos is not opened: a folder is a set of photos named by their files (a Kaggle test
# folder's ids), and a folder of backups could hold many zips of 500 MB each. Given on its own, glr predict opens one.
ZIP_IN_FOLDER = "a zip: its photos are not read from inside a folder; give the zip on its own to predict them"
SUBMISSION_HEADER = b"id,landmarks"  # a submission's first line, as Kaggle's sample submission has it
# The files that mark a folder glr made, whose files are no photos to predict (glr predict and the exported predict.py,
# which copies glr_folder): a run's (Run.status_path, Run.config_path) and an export's (glr.export's names).
RUN_MARKS, EXPORT_MARKS = ("status.json", "config.json"), ("predict.py", "preprocessing.json", "labels.json")
GLR_FOLDERS = {RUN_MARKS: "a glr run folder: its charts and files are not photos to predict",
               EXPORT_MARKS: "a glr export folder (a model, its labels and predict.py): its files are not photos to predict"}


def scan_folder(folder: str | os.PathLike) -> tuple[list[str], list[tuple[str, str]]]:
    """(image paths, [(path, why it is skipped)]) of the files under `folder`, recursively, sorted.

    A file counts as an image by its extension, or with none (`IMG_1`) by its first bytes, as training counts it
    (glr.data.photo_files.is_photo); every other file is listed with the reason,
    never dropped in silence. Hidden files (".DS_Store", "._photo.jpg") and the files an OS writes
    into folders ("Thumbs.db", "desktop.ini") are the system's and are passed over. A glr run folder
    inside (a folder holding the results) is listed once, and nothing in it is read as a photo. A named pipe,
    socket or device is listed as "not a regular file", as it is when given alone, and never opened.
    """
    root = Path(folder)
    if not root.is_dir():
        raise GlrError(f"{root}: not a folder")
    images, skipped = [], []
    files, links, unlistable, special = _walk(root)
    hidden = lambda path: any(map(is_system_folder, path.relative_to(root).parts))  # noqa: E731
    skipped += [(str(p), UNLISTABLE.format(why)) for p, why in unlistable if not hidden(p)]
    skipped += [(str(p), broken_link(p)) for p in links if not hidden(p.parent)]
    # A results folder inside (a run's report charts, its exports), an export unzipped among the photos: not photos
    # to predict, listed once each.
    made = {folder: why for folder in {p.parent for p in files} if (why := glr_folder(folder))}
    runs = {folder for folder in made if not any(parent in made for parent in folder.parents)}
    skipped += [(str(run), made[run]) for run in sorted(runs)]
    for path in files:
        if any(map(is_system_folder, path.relative_to(root).parts[:-1])) or is_system_file(path) or \
                not runs.isdisjoint(path.parents):
            continue
        if path in special:
            skipped.append((str(path), special[path]))
        elif path.suffix.lower() in IMAGE_EXTENSIONS:
            images.append(str(path))
        elif not path.suffix and (start := photo_start(str(path))) is True:  # `IMG_1` from a card: read by its bytes
            images.append(str(path))
        elif not path.suffix:
            skipped.append((str(path), no_extension(path, start)))
        elif path.suffix.lower() == ".zip":  # was ".zip is not an image type", where a zip given alone is opened
            skipped.append((str(path), ZIP_IN_FOLDER))
        else:
            # A raw, a sidecar, a Live Photo's video said by kind (glr.data.skipped_files), as training says them.
            skipped.append((str(path), one_reason(path) or f"{path.suffix} is not an image type ({', '.join(IMAGE_EXTENSIONS)})"))
    return images, skipped


def _walk(root: Path) -> tuple[list[Path], list[Path], list[tuple[Path, str]], dict[Path, str]]:
    """(files, links whose target is gone, [(folder, why it cannot be listed)], {file that is no regular file: why})
    under `root`, each sorted, the files holding the special ones: one walk, as a Kaggle test folder holds 118k photos.
    Unlike Path.rglob, it says which folders it could not look in."""
    files, links, unlistable, special = [], [], [], {}
    failed = lambda exc: unlistable.append((Path(exc.filename), exc.strerror or str(exc)))  # noqa: E731
    for folder, _, names in os.walk(root, onerror=failed):  # links to folders are not followed, as rglob does not
        for name in names:
            path = Path(folder, name)
            if path.is_file():
                files.append(path)
            elif broken_link(path):
                links.append(path)
            elif why := special_file(path):  # a pipe the user made, a socket an app left: passed over in silence before
                files.append(path)
                special[path] = why
    return sorted(files), sorted(links), sorted(unlistable), special


def special_file(path: str | os.PathLike) -> str | None:
    """Why `path` is no photo when it is there but is neither a regular file nor a folder (a named pipe, a socket, a
    device), else None. Never opened: reading a pipe waits for a writer for ever. (The exported predict.py copies it.)"""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return None
    kinds = {stat.S_ISFIFO: "a named pipe", stat.S_ISSOCK: "a socket", stat.S_ISCHR: "a device", stat.S_ISBLK: "a device"}
    kind = next((name for is_kind, name in kinds.items() if is_kind(mode)), None)
    return f"not a regular file ({kind})" if kind else None


def no_extension(path, start=None) -> str:
    """Why a file without an extension that photo_start did not take is skipped (`start`: its answer, else asked here):
    its first bytes are no photo's, or they cannot be read to tell (said as the system says it: "not a photo's bytes"
    hid a file without the right to read it, or one gone since the folder was listed). (The exported predict.py copies it.)"""
    exc = photo_start(str(path)) if start is None else start
    if isinstance(exc, OSError):
        return NO_EXTENSION_UNREAD.format("it was moved or deleted after the folder was listed"
                                          if isinstance(exc, FileNotFoundError) else exc.strerror or exc)
    return NO_EXTENSION


def glr_folder(folder):
    """Why `folder`'s files are no photos when glr made it ("a glr run folder: ..."), else None. (The exported
    predict.py copies it.)"""
    for marks, what in GLR_FOLDERS.items():
        if all(os.path.isfile(os.path.join(folder, mark)) for mark in marks):
            return what
    return None


def list_images(folder: str | os.PathLike) -> list[str]:
    """Image files under `folder` (recursively), sorted; GlrError if there are none."""
    paths, skipped = scan_folder(folder)
    if not paths:
        extra = f"; {plural(len(skipped), 'other file')} skipped, e.g. {skipped[0][0]}: {skipped[0][1]}" if skipped else ""
        raise GlrError(f"{folder}: no images found (looked for {', '.join(IMAGE_EXTENSIONS)}){extra}")
    return paths


def unique_ids(paths: Sequence[str], folder: str | os.PathLike | None = None) -> list[str]:
    """A submission id per path, all different: the file's stem, as Kaggle names its test photos.

    When a stem is taken already (image.bmp, then image.webp), the later file, in the order
    given (list_images sorts them), gets its file name with the extension ("image.webp"), then
    its path under `folder` ("b/image.webp"), then that path with "~2", "~3"... So the first
    file keeps the bare stem and the ids do not depend on chance.
    """
    taken, ids = set(), []
    for path in paths:
        p = Path(path)
        relative = p.relative_to(folder).as_posix() if folder is not None and p.is_relative_to(folder) else p.as_posix()
        candidates = [printable(c) for c in (p.stem, p.name, relative)]  # ids go into a UTF-8 CSV
        chosen = next((c for c in candidates if c not in taken), None)
        n = 2
        while chosen is None:
            chosen = f"{candidates[2]}~{n}" if f"{candidates[2]}~{n}" not in taken else None
            n += 1
        taken.add(chosen)
        ids.append(chosen)
    return ids


def not_a_submission(path: str | os.PathLike) -> str | None:
    """Why the existing file `path` is no submission glr would write over (its first line is not SUBMISSION_HEADER),
    else None (a submission, an empty file, or no file)."""
    try:
        with open(path, "rb") as file:
            start = file.read(64).removeprefix(b"\xef\xbb\xbf")
    except FileNotFoundError:
        return None
    except OSError as exc:
        return f"it cannot be read: {exc.strerror or exc}"
    if not start or start.split(b"\n", 1)[0].rstrip(b"\r") == SUBMISSION_HEADER:
        return None
    return f"its first line is not {SUBMISSION_HEADER.decode()!r}"


def default_submission_path(folder: str | os.PathLike) -> Path:
    """Where a folder's submission goes unless told: beside the folder, `<folder>-submission.csv`."""
    root = Path(folder).resolve()
    return root.parent / f"{root.name or 'predictions'}-submission.csv"


def csv_bytes(table: pd.DataFrame) -> bytes:
    """The submission as the UTF-8 bytes of its CSV (the Predict page's download), ids exactly as `write_submission`
    writes them: a machine file, never escaped for spreadsheets (glr.spreadsheet), as Kaggle scores the ids as written."""
    return csv_text(table).encode("utf-8")


def write_submission(out: str | os.PathLike, table: pd.DataFrame) -> Path:
    """Write the submission CSV (into `out`/submission.csv if `out` is a folder); returns the file written.

    A machine file (glr.spreadsheet): a photo named `-beach.jpg` is listed as `-beach`, the id Kaggle expects."""
    out = Path(out)
    if out.is_dir():
        out = out / "submission.csv"
    try:
        return write_csv(out, table)
    except GlrError:  # a full disk or a read-only folder: glr.atomic says so already
        raise
    except OSError as exc:
        raise GlrError(f"{out}: cannot write the submission ({exc.strerror or exc}); choose another file with --out") from None


def submission_confidence(confidence: float, unknown: bool) -> float:
    """A confidence that ranks every photo called unknown below every known one, and keeps each group's order.

    Known photos map c in [0, 1] to 0.5 + c/2, in (0.5, 1]; unknown ones to c/2, in [0, 0.5).
    """
    c = min(max(float(confidence), 0.0), 1.0)
    return min(0.5 * c, HIGHEST_UNKNOWN) if unknown else max(0.5 + 0.5 * c, LOWEST_KNOWN)


def submission_table(ids: Iterable[str], predictions: Sequence[Prediction], unknown: str = "last") -> pd.DataFrame:
    """Kaggle's submission format: id, landmarks ("landmark_id confidence", empty if none).

    When the run gives the unknown verdict, `unknown` says what its "not a known landmark"
    photos get (UNKNOWN_POLICIES): "last" ranks them after every known photo, so in GAP they
    no longer push real landmarks down; "empty" leaves them without a prediction; "keep" writes
    the raw confidence. Without a verdict (an older run), the raw confidence is written.
    """
    if unknown not in UNKNOWN_POLICIES:
        raise GlrError(f"unknown photos: {unknown!r} is not a choice; choose one of: {', '.join(UNKNOWN_POLICIES)}")
    verdict = unknown != "keep" and any(p.known_score is not None for p in predictions)

    def cell(p: Prediction) -> str:
        if not (p.ok and p.top) or (verdict and p.unknown and unknown == "empty"):
            return ""
        confidence = submission_confidence(p.top[0][2], p.unknown) if verdict and unknown == "last" else p.top[0][2]
        return f"{p.top[0][0]} {confidence:.6f}"

    return pd.DataFrame({"id": list(ids), "landmarks": [cell(p) for p in predictions]})


def with_repeats(photo_ids: Sequence[str], predictions: Sequence[Prediction],
                 repeats: Iterable[tuple[str, str]] = ()) -> tuple[list[str], list[Prediction]]:
    """The submission's rows for uploaded photos: (ids, predictions), one row per photo id.

    `repeats`: (id, id of the first copy) of photos left out as copies of an earlier one
    (glr.data.uploads.unique_photos). A copy under a new id gets its first copy's prediction,
    as a test set can hold the same image twice; the same id twice is one row.
    """
    ids, chosen = list(photo_ids), list(predictions)
    by_id = dict(zip(ids, chosen))
    for repeat, first in repeats:
        if repeat not in by_id and first in by_id:
            by_id[repeat] = by_id[first]
            ids.append(repeat)
            chosen.append(by_id[first])
    return ids, chosen

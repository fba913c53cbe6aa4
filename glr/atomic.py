"""Atomic file writes: write a temp file in the same folder, then `os.replace` it into place.

A crash, a SIGKILL or a full disk therefore leaves either the old file or the new one,
never half of one. Every file in a run folder is written through here, so a full disk
while saving a checkpoint keeps the previous checkpoint and says which file failed.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
import tempfile
import threading
from pathlib import Path
from typing import Any, Callable

from glr.errors import GlrError

# Write failures the user can fix, and what to tell them. Any other OSError is left as it is.
_STORAGE_PROBLEMS = {
    errno.ENOSPC: "the disk is full",
    errno.EDQUOT: "the disk quota is used up",
    errno.EROFS: "the file system is read-only",
    errno.EACCES: "permission denied",
    errno.EPERM: "permission denied",
}


class StorageError(GlrError, OSError):
    """A file could not be written (disk full, read-only, no permission); the old file is intact.

    Also an OSError, so code that already handles OSError keeps working.
    """


def _storage_error(path: Path, exc: OSError) -> OSError:
    """`exc` as a StorageError naming `path` and what to do, when it is a problem the user can fix."""
    problem = _STORAGE_PROBLEMS.get(exc.errno)
    advice = "the previous version of the file is kept. Free some space or fix the folder, then try again"
    if exc.errno in (errno.ENOTDIR, errno.EEXIST):  # e.g. GLR_CACHE_DIR naming a file: say which file is in the way
        from glr.paths import file_in_the_way

        blocker = file_in_the_way(path.parent)
        problem = f"{blocker} is a file where a folder must be" if blocker else None
        advice = "move that file away, or choose another place"
    if problem is None or isinstance(exc, StorageError):
        return exc
    error = StorageError(f"{path}: cannot be written, {problem} ({exc.strerror or exc}); {advice}")
    error.errno = exc.errno
    return error


def write_with(path: str | os.PathLike, writer: Callable[[str], None], suffix: str = "") -> Path:
    """Call `writer(tmp_path)` to produce the file, then move it onto `path` atomically.

    On any failure the temp file is removed and `path` keeps its old content. A full disk,
    a read-only folder or a permission problem raises `StorageError` (a GlrError and an
    OSError) naming the file.
    """
    path = Path(path)
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix or ".tmp", dir=path.parent)
        os.close(fd)
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; run files are meant to be read by the app and others
        writer(tmp)
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())  # the data must be on disk before the rename publishes it
        os.replace(tmp, path)
    except OSError as exc:
        if tmp:
            Path(tmp).unlink(missing_ok=True)
        error = _storage_error(path, exc)
        if error is exc:
            raise
        raise error from exc
    except BaseException:
        if tmp:
            Path(tmp).unlink(missing_ok=True)
        raise
    return path


def replace_folder(new: str | os.PathLike, folder: str | os.PathLike) -> Path:
    """Put the finished folder `new` in the place of `folder` (there or not), on the same file system.

    A folder cannot be swapped in one rename, so the old one is moved aside first. A Ctrl-C (or any error) between
    the two renames put the old one back: it left no folder under its name, the old one hidden as `.NAME.old`.
    """
    new, folder = Path(new), Path(folder)
    old = folder.with_name(f".{folder.name}.old") if folder.exists() else None
    try:
        if old:
            shutil.rmtree(old, ignore_errors=True)  # one an earlier swap could not remove
            folder.rename(old)
        new.rename(folder)
    except BaseException:
        if old and old.exists() and not folder.exists():
            old.rename(folder)
        raise
    if old:
        shutil.rmtree(old, ignore_errors=True)
    return folder


def write_unsynced(path: str | os.PathLike, data: bytes) -> Path:
    """Write bytes a cache can make again: renamed into place like `write_with`, but not fsynced.

    A crash may leave such a file empty or cut short (never a mix of old and new), so its reader
    checks what it reads. Written through `write_with`, with its fsync, 1,000 demo thumbnails took
    3.0 s; this way 1.0 s (benchmarks/README.md). Errors are `write_with`'s (a StorageError naming the file).
    """
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}-{threading.get_ident()}.tmp")
    try:
        try:
            tmp.write_bytes(data)
        except FileNotFoundError:  # the folder is made on the first write into it, not stat-ed before each
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp.write_bytes(data)
        os.replace(tmp, path)
    except BaseException as exc:
        with contextlib.suppress(OSError):  # a file where the folder should be: unlink fails too (ENOTDIR)
            tmp.unlink(missing_ok=True)
        error = _storage_error(path, exc) if isinstance(exc, OSError) else exc
        if error is exc:
            raise
        raise error from exc
    return path


def write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Atomically write bytes."""
    return write_with(path, lambda tmp: Path(tmp).write_bytes(data))


def write_text(path: str | os.PathLike, text: str) -> Path:
    """Atomically write UTF-8 text."""
    return write_bytes(path, text.encode("utf-8"))


def write_json(path: str | os.PathLike, obj: Any) -> Path:
    """Atomically write `obj` as indented JSON."""
    return write_text(path, json.dumps(obj, indent=2, ensure_ascii=False, default=str) + "\n")


def csv_text(df) -> str:
    """`df` as CSV text without its index, each cell read back whole by pandas, Python's csv and the spreadsheets.

    Python's csv writer quotes a cell holding a character of its line ending only: with "\n" line ends, a cell
    holding a bare carriage return (a class folder so named on Linux, `%0D` in a category URL) went unquoted,
    and every reader split its row there. Such a table is written with "\r\n" line ends, which quotes it.
    """
    text = df.to_csv(index=False, lineterminator="\n")
    return df.to_csv(index=False, lineterminator="\r\n") if "\r" in text else text


def write_csv(path: str | os.PathLike, df) -> Path:
    """Atomically write a pandas DataFrame as CSV, without its index (`csv_text`): a machine file, cells as they are."""
    return write_text(path, csv_text(df))


def _first_line(path, encoding: str | None = None) -> str:
    """The first line of a file (in `encoding`, UTF-8 by default), its line end "\n" included ("" for an empty file)."""
    with open(path, encoding=encoding or "utf-8", errors="replace", newline="\n") as fh:
        return fh.readline(1 << 16)


# pandas' default missing-value words (its read_csv documentation): kept for the columns that are not text.
_MISSING_WORDS = ["", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN", "<NA>",
                  "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null"]


def read_csv(path: str | os.PathLike, dtype: dict | type | None = None, keep_empty: bool = False, **options):
    """A CSV glr wrote (`write_csv`), its text columns (those `dtype` gives as `str`; `dtype=str`: every column)
    exactly as they were written.

    pandas reads a cell "None", "NA", "null" or "nan" as missing, so a class folder named "None" (the photos of
    no landmark) or a photo named `null.jpg` came back as NaN; in a text column only an empty cell is missing
    here, and with `keep_empty` not even that: it is "" (a list whose empty cell means "nothing to say"). The other
    columns are read as pandas reads them. A file whose lines end in "\n" alone is read with that line end only:
    one written before `csv_text` quoted a cell holding a bare "\r" still reads row for row. A byte-order mark (a
    CSV for people, glr.spreadsheet) is dropped by pandas, never part of the first column's name. Raises what
    pandas.read_csv raises.
    """
    import pandas as pd

    first = _first_line(path, options.get("encoding"))  # UTF-16 too (a spreadsheet's "Unicode Text")
    if first.endswith("\n") and not first.endswith("\r\n"):
        options.setdefault("lineterminator", "\n")
    if dtype is not None:
        header = pd.read_csv(path, nrows=0, **{k: v for k, v in options.items() if k in ("sep", "encoding", "lineterminator")})
        kinds = dict.fromkeys(header.columns, str) if dtype is str else dtype
        text = {column for column, kind in kinds.items() if kind is str}
        if text:
            empty = [] if keep_empty else [""]
            options = {"keep_default_na": False,
                       "na_values": {c: empty if c in text else _MISSING_WORDS for c in header.columns}, **options}
    return pd.read_csv(path, dtype=dtype, **options)


def read_json(path: str | os.PathLike) -> Any:
    """Read a JSON file (raises OSError / ValueError as json does). A byte-order mark first (Notepad saves one) is
    passed over: json called such a run's labels.json damaged, where the exported predict.py reads it."""
    return json.loads(Path(path).read_text(encoding="utf-8-sig"))

"""Photos dropped in the Dataset page's upload form, kept on disk until the dataset is made or they are discarded.

An upload box forgets its files as soon as it is not drawn (another source chosen, the other
way of uploading, another page), so the page saves each photo the moment it is dropped: decoded
by glr and stored as the JPEG the dataset will hold (`from_uploads.stored_jpeg`), in
`<uploads>/.staging/<key>/<slot>/<sha1 of the upload>.jpg`. The key is one browser session's
(a random hex string no other session can guess; the page keeps it in its address, so a refresh
finds the photos again, and whoever is given that address shares them); a slot is one box of the form
(`class-0`, `class-1`, ... or `zip-0`, ... for the classes of a zip, whose names are kept
beside their photos). A photo that is not one is refused then, with its message, and the same
file dropped twice is kept once. The leading dot keeps `.staging` out of any dataset read there.

Disk use is bounded: one staging holds at most ZIP_MAX_FILES photos and ZIP_MAX_BYTES (the
limits of a dataset made in the browser); stagings untouched for MAX_AGE_SECONDS (a day), and
all but the MAX_STAGINGS most recently used, are deleted whenever a staging is opened. So at
most MAX_STAGINGS x ZIP_MAX_BYTES (4 GB) wait on disk, and usually far less.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import time
import uuid
from pathlib import Path
from typing import Iterable

from glr.atomic import read_json, write_bytes, write_json
from glr.data.from_uploads import stored_jpeg
from glr.data.layouts import plural
from glr.data.uploads import MB, ZIP_MAX_BYTES, ZIP_MAX_FILES
from glr.errors import DatasetError, ImageError
from glr.paths import uploads_dir

STAGING_SUBDIR = ".staging"
MAX_STAGINGS = 8
MAX_AGE_SECONDS = 24 * 3600
LABELS_FILE = "labels.json"  # slot -> class name (a zip's folder, or the name typed for a box)
_KEY = re.compile(r"[0-9a-f]{32}")
_SLOT = re.compile(r"[a-z]+-\d+")


def new_key() -> str:
    """A new staging key: random, so one session's photos cannot be guessed from another."""
    return uuid.uuid4().hex


def is_key(text) -> bool:
    """Whether `text` is a staging key (anything else, e.g. from a URL, could name another folder)."""
    return isinstance(text, str) and bool(_KEY.fullmatch(text))


class Staging:
    """The photos one session dropped, by slot, in `<root>/.staging/<key>` (root: the uploads folder)."""

    def __init__(self, key: str, root: str | Path | None = None, max_files: int = ZIP_MAX_FILES,
                 max_bytes: int = ZIP_MAX_BYTES):
        if not is_key(key):
            raise DatasetError(f"{key!r} is not a staging key")
        self.path = Path(root if root is not None else uploads_dir()) / STAGING_SUBDIR / key
        self.max_files, self.max_bytes = max_files, max_bytes

    def _slot(self, slot: str) -> Path:
        if not _SLOT.fullmatch(slot):
            raise DatasetError(f"{slot!r} is not a staging slot")
        return self.path / slot

    def photos(self, slot: str) -> list[Path]:
        """The photos kept in `slot`, in the order they were dropped."""
        try:
            found = [p for p in self._slot(slot).iterdir() if p.suffix == ".jpg"]
        except OSError:  # never staged, or cleared (discarded, or pruned after a day)
            return []
        return sorted(found, key=lambda p: (_mtime(p), p.name))

    def slots(self, prefix: str = "") -> list[str]:
        """The slots holding photos whose name starts with `prefix` (e.g. "zip-"), in their number's order."""
        try:
            names = [p.name for p in self.path.iterdir() if p.is_dir() and _SLOT.fullmatch(p.name)]
        except OSError:
            return []
        return sorted((n for n in names if n.startswith(prefix) and self.photos(n)), key=lambda n: int(n.split("-")[1]))

    def labels(self) -> dict[str, str]:
        """The class names recorded with their slots (a zip's folders)."""
        try:
            labels = read_json(self.path / LABELS_FILE)
        except (OSError, ValueError):
            return {}
        return labels if isinstance(labels, dict) else {}

    def set_label(self, slot: str, label: str) -> None:
        """Record the class name of `slot`'s photos, so a new session (a refresh) shows it again."""
        self._slot(slot)
        if self.path.is_dir():
            write_json(self.path / LABELS_FILE, {**self.labels(), slot: label})

    def totals(self) -> tuple[int, int]:
        """(photos, bytes) kept in all slots."""
        files = [p for p in self.path.glob("*/*.jpg")]
        return len(files), sum(_size(p) for p in files)

    def add(self, slot: str, photos: Iterable[tuple[str, bytes]], label: str | None = None) -> tuple[int, list[str]]:
        """Check and keep `photos` (name, bytes) in `slot`; (how many were added, the problems met).

        A file that is not a photo glr reads is refused with its message; one already kept there is
        not kept twice; past the limits, the rest are refused with one message.
        """
        folder = self._slot(slot)
        count, size = self.totals()
        added, again, over, problems = 0, 0, 0, []
        for name, data in photos:
            target = folder / f"{hashlib.sha1(data).hexdigest()}.jpg"
            if target.exists():
                again += 1
                continue
            try:
                jpeg = stored_jpeg(data, str(name))
            except ImageError as exc:
                problems.append(str(exc))
                continue
            if count + 1 > self.max_files or size + len(jpeg) > self.max_bytes:
                over += 1
                continue
            folder.mkdir(parents=True, exist_ok=True)
            write_bytes(target, jpeg)
            added, count, size = added + 1, count + 1, size + len(jpeg)
        if label is not None and added:
            self.set_label(slot, label)
        if again:
            problems.append(f"{plural(again, 'photo')} dropped again, kept once")
        if over:
            problems.append(f"{plural(over, 'photo')} not kept: a dataset made in the browser holds at most "
                            f"{self.max_files:,} photos and {self.max_bytes // MB} MB; for more, put the class folders "
                            "on this computer and type their folder instead")
        if self.path.is_dir():
            os.utime(self.path)  # in use: the last to be pruned
        return added, problems

    def clear(self, slot: str | None = None) -> None:
        """Forget the photos of `slot`, or of every slot (the whole staging folder goes)."""
        if slot is None:
            shutil.rmtree(self.path, ignore_errors=True)
            return
        shutil.rmtree(self._slot(slot), ignore_errors=True)
        labels = self.labels()
        if labels.pop(slot, None) is not None:
            write_json(self.path / LABELS_FILE, labels)


def prune(root: str | Path | None = None, keep: int = MAX_STAGINGS, max_age: float = MAX_AGE_SECONDS,
          spare: str | None = None) -> list[Path]:
    """Delete the stagings untouched for `max_age` seconds and all but the `keep` most recently used; those deleted.

    `spare` (the caller's own key) is never deleted.
    """
    folder = Path(root if root is not None else uploads_dir()) / STAGING_SUBDIR
    try:
        stagings = sorted((p for p in folder.iterdir() if p.is_dir() and is_key(p.name)), key=_mtime, reverse=True)
    except OSError:
        return []
    cutoff = time.time() - max_age
    gone = [p for i, p in enumerate(stagings) if p.name != spare and (i >= keep or _mtime(p) < cutoff)]
    for path in gone:
        shutil.rmtree(path, ignore_errors=True)
    return gone


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0

"""Photos dropped in the Dataset page's upload form, kept on disk until the dataset is made or they are discarded.

An upload box forgets its files as soon as it is not drawn (another source chosen, the other
way of uploading, another page), so the page saves each photo the moment it is dropped: decoded
by glr and stored as the JPEG the dataset will hold (`from_uploads.stored_jpeg`), in
`<uploads>/.staging/<key>/<slot>/<sha1 of the upload>.jpg`. The key is one browser session's
(a random hex string no other session can guess; the page keeps it in its address, so a refresh
finds the photos again, and whoever is given that address shares them); a slot is one box of the form
(`class-0`, `class-1`, ... or `zip-0`, ... for the classes of a zip, whose names are kept
beside their photos). A photo that is not one is refused then, with its message; the same
file dropped twice is kept once, and one kept for another class is refused, naming it. The leading dot keeps `.staging` out of any dataset read there.
The dataset name typed in the form is kept there too (`form.json`), and the class names typed (`labels.json`, also
for a box with no photo yet), so a refresh shows them again; and each photo's name as dropped (`names.json`), so a
refreshed page can list them to remove one. None of these makes a staging folder: a session with no photo kept
takes none of the MAX_STAGINGS places.

The page asks for the photos of every slot on each rerun (any click), so what is kept is read from
disk once per change (`Staging.snapshot`): a change made here bumps the staging's generation, and one
made elsewhere (another process) changes the modification time of the folder or a slot's folder.
Listing hundreds of photos and stat-ing each, twice a slot on every click, is thus done only when they change.

Disk use is bounded: one staging holds at most ZIP_MAX_FILES photos and ZIP_MAX_BYTES (the
limits of a dataset made in the browser); stagings untouched for MAX_AGE_SECONDS (a day), and
all but the MAX_STAGINGS most recently used, are deleted whenever a staging is opened. So at
most MAX_STAGINGS x ZIP_MAX_BYTES (4 GB) wait on disk, and usually far less.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import os
import re
import shutil
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

from glr.atomic import read_json, write_bytes, write_json
from glr.data.from_uploads import clean_partial, stored_jpeg
from glr.data.layouts import plural
from glr.data.uploads import MB, ZIP_MAX_BYTES, ZIP_MAX_FILES
from glr.errors import DatasetError, ImageError
from glr.paths import uploads_dir

STAGING_SUBDIR = ".staging"
MAX_STAGINGS = 8
MAX_AGE_SECONDS = 24 * 3600
LABELS_FILE = "labels.json"  # slot -> class name (a zip's folder, or the name typed for a box)
FORM_FILE = "form.json"  # the rest of the form: {"name": the dataset name, "built": the last dataset made}
NAMES_FILE = "names.json"  # slot -> {photo_name: the file's name as dropped}
MAX_NAME_CHARS = 256  # a name kept for the form; a longer one is refused when the dataset is made anyway
_KEY = re.compile(r"[0-9a-f]{32}")
_SLOT = re.compile(r"[a-z]+-\d+")


@dataclass(frozen=True)
class Snapshot:
    """What one staging holds, read from disk at once: photos by slot (in the order dropped), class names, form."""

    slots: dict[str, tuple[Path, ...]] = field(default_factory=dict)  # only slots holding photos
    labels: dict[str, str] = field(default_factory=dict)
    form: dict = field(default_factory=dict)
    names: dict[str, dict[str, str]] = field(default_factory=dict)
    files: int = 0
    bytes: int = 0


# A change made through this module: the staging's generation goes up, so the next snapshot is read again.
# (Sessions are threads of one server process: another tab sharing the key sees the change too.)
_GENERATIONS: dict[Path, int] = {}
_TICKS = itertools.count(1)


def photo_name(data: bytes) -> str:
    """The file name a dropped photo is kept under in its slot (the same file dropped twice has the same name)."""
    return f"{hashlib.sha1(data).hexdigest()}.jpg"


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

    def snapshot(self) -> Snapshot:
        """What this staging holds; read from disk only when it changed since the last read."""
        return _snapshot(self.path, _stamp(self.path))

    def photos(self, slot: str) -> list[Path]:
        """The photos kept in `slot`, in the order they were dropped."""
        self._slot(slot)
        return list(self.snapshot().slots.get(slot, ()))

    def slots(self, prefix: str = "") -> list[str]:
        """The slots holding photos whose name starts with `prefix` (e.g. "zip-"), in their number's order."""
        return sorted((n for n in self.snapshot().slots if n.startswith(prefix)), key=lambda n: int(n.split("-")[1]))

    def labels(self) -> dict[str, str]:
        """The class names recorded with their slots (a zip's folders, the names typed for the boxes)."""
        return dict(self.snapshot().labels)

    def set_label(self, slot: str, label: str) -> bool:
        """Record the class name of `slot` ("" forgets it), so a new session (a refresh) shows it again; False if not.

        Also for a slot with no photo yet, once the staging holds photos: a name alone makes no staging folder.
        """
        self._slot(slot)
        labels, label = self.labels(), str(label)[:MAX_NAME_CHARS]
        if labels.get(slot, "") == label or not self.path.is_dir():
            return labels.get(slot, "") == label
        labels.update({slot: label}) if label else labels.pop(slot, None)
        try:
            write_json(self.path / LABELS_FILE, labels)
        except OSError:  # the uploads folder is read-only or full: said when photos are dropped
            return False
        finally:
            _changed(self.path)
        return True

    def names(self, slot: str) -> dict[str, str]:
        """The names the photos of `slot` were dropped under (photo_name -> name; a photo kept before names were: none)."""
        self._slot(slot)
        return dict(self.snapshot().names.get(slot, {}))

    def name(self) -> str:
        """The dataset name last typed in the form ("" if none)."""
        name = self.snapshot().form.get("name", "")
        return name if isinstance(name, str) else ""

    def set_name(self, name: str) -> bool:
        """Keep the dataset name typed in the form, so a refresh shows it again; False if not kept.

        Kept once photos are: a name alone makes no staging folder, which would count among the
        MAX_STAGINGS most recently used and push out another session's photos.
        """
        name = str(name)[:MAX_NAME_CHARS]
        return name == self.name() or self.set_form(name=name)

    def built(self) -> tuple[str, dict[str, int], list[str]] | None:
        """The last dataset made from this staging (its folder, photos per class, problems), until set_built(None)."""
        made = self.snapshot().form.get("built")
        if (isinstance(made, list) and len(made) == 3 and isinstance(made[0], str) and isinstance(made[1], dict)
                and isinstance(made[2], list)):
            return made[0], dict(made[1]), [str(problem) for problem in made[2]]
        return None

    def set_built(self, path: str | Path | None, counts: dict[str, int] | None = None,
                  problems: list[str] | None = None) -> bool:
        """Keep what was made (None: forget it), so a refresh during the making still says so; False if not kept.

        Makes the staging folder: the photos, and their folder, went once the dataset held them.
        """
        if path is None:
            return self.set_form(built=None)
        return self.set_form(make=True, built=[str(path), counts or {}, problems or []])

    def set_form(self, make: bool = False, **values) -> bool:
        """Keep `values` in the form's file beside the photos; `make`: make the staging folder if there is none."""
        if not (make or self.path.is_dir()):
            return False
        try:
            write_json(self.path / FORM_FILE, {**self.snapshot().form, **values})
        except OSError:  # the uploads folder is read-only, full or a file: said when photos are dropped
            return False
        finally:
            _changed(self.path)
        return True

    def totals(self) -> tuple[int, int]:
        """(photos, bytes) kept in all slots."""
        snap = self.snapshot()
        return snap.files, snap.bytes

    def add(self, slot: str, photos: Iterable[tuple[str, bytes]], label: str | None = None) -> tuple[int, list[str]]:
        """Check and keep `photos` (name, bytes) in `slot`; (how many were added, the problems met).

        A file that is not a photo glr reads is refused with its message; one already kept there is
        not kept twice; one kept in another class (a slot of the same kind) is refused, naming that
        class: a photo of two classes teaches a model nothing but noise. Past the limits, the rest are
        refused with one message.
        """
        added, problems = self._add(slot, photos, label)
        return added, [problem for _, problem in problems]

    def _add(self, slot: str, photos: Iterable[tuple[str, bytes]],
             label: str | None = None) -> tuple[int, list[tuple[tuple[int, ...], str]]]:
        """add(), each problem with the positions in `photos` of the files it is about."""
        folder = self._slot(slot)
        snap = self.snapshot()
        count, size = snap.files, snap.bytes
        kind = slot.split("-")[0]
        elsewhere = {p.name: other for other, kept in snap.slots.items()
                     if other != slot and other.split("-")[0] == kind for p in kept}
        added, again, over, problems, named = 0, [], [], [], {}
        try:
            for i, (name, data) in enumerate(photos):
                target = folder / photo_name(data)
                if target.exists():
                    again.append(i)
                    continue
                if (other := elsewhere.get(target.name)) is not None:
                    title = snap.labels.get(other) or f"class {int(other.split('-')[1]) + 1}"
                    problems.append(((i,), f"{name}: the same photo is kept for {title!r} already; a photo belongs to "
                                           "one class, so it is not kept twice (remove it there first to move it)"))
                    continue
                try:
                    jpeg = stored_jpeg(data, str(name))
                except ImageError as exc:
                    problems.append(((i,), str(exc)))
                    continue
                if count + 1 > self.max_files or size + len(jpeg) > self.max_bytes:
                    over.append(i)
                    continue
                folder.mkdir(parents=True, exist_ok=True)
                write_bytes(target, jpeg)
                added, count, size = added + 1, count + 1, size + len(jpeg)
                named[target.name] = str(name).replace("\\", "/").rsplit("/", 1)[-1][:MAX_NAME_CHARS]
        finally:  # also when a write fails half way: the photos written are counted (and named)
            if named:
                self._write_names(slot, named)
            _changed(self.path)
        if label is not None and added:
            self.set_label(slot, label)
        if again:
            problems.append((tuple(again), f"{plural(len(again), 'photo')} dropped again, kept once"))
        if over:
            problems.append((tuple(over), f"{plural(len(over), 'photo')} not kept: a dataset made in the browser holds "
                                          f"at most {self.max_files:,} photos and {self.max_bytes // MB} MB; for more, "
                                          "put the class folders on this computer and type their folder instead"))
        if self.path.is_dir():
            os.utime(self.path)  # in use: the last to be pruned
        return added, problems

    def sync(self, slot: str, handled: dict[str, str], files: Iterable[tuple[str, str, Callable[[], bytes] | None]],
             label: str | None = None) -> list[tuple[tuple[str, ...], str]]:
        """Keep the photos newly in `slot`'s upload box and forget those taken out of it; the problems met, each with
        the upload ids of the files it is about (so the page can take it away with them).

        `files`: what the box holds, as (upload id, name, a function returning the bytes: read only for a
        new file; None when the bytes are no longer held, so the file cannot be kept). `handled` (upload
        id -> the photo_name kept, "" if refused) is updated in place, so a file is checked once however
        often the page runs; a photo taken out is forgotten unless another file in the box is the same photo.
        """
        files = list(files)
        present = {file_id for file_id, _, _ in files}
        taken_out = {name for file_id, name in handled.items() if file_id not in present and name}
        for file_id in [i for i in handled if i not in present]:
            del handled[file_id]
        if gone := taken_out - set(handled.values()):
            self.remove(slot, gone)
        handled.update({file_id: "" for file_id, _, read in files if read is None and file_id not in handled})
        new = [(file_id, name, read()) for file_id, name, read in files if file_id not in handled]
        if not new:
            return []
        checked = False
        try:
            added, problems = self._add(slot, [(name, data) for _, name, data in new], label)
            checked = True
        finally:
            kept = {p.name for p in self.photos(slot)}
            for file_id, _, data in new:
                if (name := photo_name(data)) in kept or checked:
                    handled[file_id] = name if name in kept else ""
                # else a write failed (a full disk): left unhandled, so its bytes stay held and the page's next
                # run tries it again, once there is room
        return [(tuple(new[i][0] for i in where), problem) for where, problem in problems]

    def remove(self, slot: str, names: Iterable[str]) -> int:
        """Forget the photos `names` (their `photo_name`) of `slot`; how many were kept."""
        folder, gone = self._slot(slot), set()
        for name in set(names):
            if re.fullmatch(r"[0-9a-f]{40}\.jpg", name) and (folder / name).is_file():
                (folder / name).unlink(missing_ok=True)
                gone.add(name)
        if gone and any(name in gone for name in self.names(slot)):
            self._write_names(slot, {name: None for name in gone})
        _changed(self.path)
        return len(gone)

    def _write_names(self, slot: str, names: dict[str, str | None]) -> None:
        """Update `slot`'s names as dropped (None: forget that photo's)."""
        every = {s: dict(n) for s, n in self.snapshot().names.items()}
        mine = every.setdefault(slot, {})
        mine.update(names)
        every[slot] = {k: v for k, v in mine.items() if v is not None}
        try:
            write_json(self.path / NAMES_FILE, {s: n for s, n in every.items() if n})
        except OSError:  # only the names shown to remove one photo are lost; said when photos are dropped
            pass

    def clear(self, slot: str | None = None) -> None:
        """Forget the photos of `slot`, or of every slot (the whole staging folder goes, the name typed too)."""
        try:
            if slot is None:
                shutil.rmtree(self.path, ignore_errors=True)
                return
            shutil.rmtree(self._slot(slot), ignore_errors=True)
            labels = self.labels()
            if labels.pop(slot, None) is not None:
                write_json(self.path / LABELS_FILE, labels)
            if self.snapshot().names.get(slot):
                self._write_names(slot, {name: None for name in self.snapshot().names[slot]})
        finally:
            _changed(self.path)


def prune(root: str | Path | None = None, keep: int = MAX_STAGINGS, max_age: float = MAX_AGE_SECONDS,
          spare: str | None = None) -> list[Path]:
    """Delete the stagings untouched for `max_age` seconds and all but the `keep` most recently used; those deleted.

    `spare` (the caller's own key) is never deleted. The datasets a killed server left half written go too.
    """
    clean_partial(root)
    folder = Path(root if root is not None else uploads_dir()) / STAGING_SUBDIR
    try:
        stagings = sorted((p for p in folder.iterdir() if p.is_dir() and is_key(p.name)), key=_mtime, reverse=True)
    except OSError:
        return []
    cutoff = time.time() - max_age
    gone = [p for i, p in enumerate(stagings) if p.name != spare and (i >= keep or _mtime(p) < cutoff)]
    for path in gone:
        shutil.rmtree(path, ignore_errors=True)
        _GENERATIONS.pop(path, None)  # a server that runs for months sees many stagings come and go
    return gone


def _changed(path: Path) -> None:
    _GENERATIONS[path] = next(_TICKS)  # unique: two sessions' changes at once never share one (a += 1 could)


def _stamp(path: Path) -> tuple:
    """What changes whenever the staging's content does: its generation here, the folders' times (changes elsewhere)."""
    try:
        with os.scandir(path) as entries:
            times = tuple(sorted((e.name, e.stat().st_mtime_ns) for e in entries)) + (path.stat().st_mtime_ns,)
    except OSError:
        times = None
    return _GENERATIONS.get(path, 0), times


@functools.lru_cache(maxsize=4 * MAX_STAGINGS)
def _snapshot(path: Path, stamp: tuple) -> Snapshot:
    """The staging at `path` as read now (`stamp` only keys the cache)."""
    if stamp[1] is None:  # no staging folder: nothing kept
        return Snapshot()
    slots, files, size = {}, 0, 0
    for slot in (entry[0] for entry in stamp[1][:-1] if _SLOT.fullmatch(entry[0])):
        try:
            with os.scandir(path / slot) as entries:
                found = [(e.stat().st_mtime, e.name, e.stat().st_size) for e in entries if e.name.endswith(".jpg")
                         and not e.name.startswith(".")]
        except OSError:  # a file, or removed meanwhile
            continue
        if found:
            found.sort()
            slots[slot] = tuple(path / slot / name for _, name, _ in found)
            files, size = files + len(found), size + sum(s for *_, s in found)
    labels = {slot: label for slot, label in _read_dict(path / LABELS_FILE).items() if isinstance(label, str)}
    names = {slot: {k: v for k, v in named.items() if isinstance(v, str)}
             for slot, named in _read_dict(path / NAMES_FILE).items() if isinstance(named, dict)}
    return Snapshot(slots, labels, _read_dict(path / FORM_FILE), names, files, size)


def _read_dict(path: Path) -> dict:
    try:
        found = read_json(path)
    except (OSError, ValueError):
        return {}
    return found if isinstance(found, dict) else {}


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0

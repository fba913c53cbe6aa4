"""A long prediction's partial file: each photo's outcome kept as it comes, so a stopped run continues from it.

`glr predict FOLDER` and the exported predict.py's `--out` predict for hours, and wrote their CSV only at the end:
Ctrl-C or a crash lost every prediction. Now each photo's outcome is appended to `<target>.partial` (JSON lines: the
first says what was predicted with what, each next one a photo) as it is predicted; the target is written (atomically)
only once every photo is done, and the partial file is then removed. Ctrl-C or a crash keeps it, and the same command
continues from it: only the photos not in it are predicted. One made by another run or with other options is not
reused, and the note says why. Standard library only: predict.py copies PartialFile (inspect.getsource).
"""

import errno
import json
import os

PARTIAL_SUFFIX = ".partial"
BUSY = "another prediction is writing it now (the same command running twice?): wait for it to end, or give another --out"


class PartialFile:
    """The partial file beside `target`, for predictions made as `key` says ({what: value}, e.g. {"run": path,
    "--unknown": "last"}): the photos' outcomes kept as they come (`add`), read back in any order (`outcomes`)."""

    KIND = "glr partial predictions, v1"

    def __init__(self, target, key):
        self.path, self.key = os.fspath(target) + PARTIAL_SUFFIX, key
        self.offsets, self.reused, self.file, self.end = {}, 0, None, None  # end: where the file's whole lines end

    def resume(self, stamps):
        """Take the outcomes the partial file holds for the photos of `stamps` ({photo: its stamp, e.g. size and time})
        whose stamp is the same (a photo changed since is predicted again); a note saying how many, or why none are
        reused, or None when there is no partial file. A last line cut short by a crash is left out."""
        try:
            file = open(self.path, "rb")
        except FileNotFoundError:
            return None
        except OSError as exc:
            return f"{self.path} cannot be read ({exc.strerror or exc}): it is not reused; every photo is predicted"
        with file:
            first = file.readline()
            try:
                head = json.loads(first)
                old = head["key"] if head.get("kind") == self.KIND else None
            except (ValueError, TypeError, KeyError, AttributeError):
                old = None
            if not isinstance(old, dict) or not first.endswith(b"\n"):
                return f"{self.path} is not a partial file of these predictions: it is not reused; every photo is predicted"
            if old != self.key:
                changed = [what for what in self.key if old.get(what) != self.key[what]] or ["options"]
                said = ", ".join(what + (f" ({old.get(what)}, now {self.key[what]})" if _short(old.get(what), self.key[what])
                                         else "") for what in changed)
                return (f"{self.path} holds predictions made with another {said}: it is not reused; every photo is "
                        "predicted, and it is replaced")
            offset, changed = len(first), set()
            for line in file:  # read a line at a time: a test set's 118k photos are not held
                try:
                    entry = json.loads(line)
                    photo, stamp = entry["photo"], entry["stamp"]
                    entry["outcome"]
                    hash(photo)
                except (ValueError, TypeError, KeyError):
                    break  # damaged from here on (a crash mid-line): the photos after it are predicted again
                if not line.endswith(b"\n"):
                    break  # cut short, though it reads whole: written again
                if photo in stamps and stamps[photo] == stamp:
                    self.offsets[photo] = offset
                    changed.discard(photo)
                elif photo in stamps:
                    changed.add(photo)
                offset += len(line)
        self.end, self.reused = offset, len(self.offsets)
        again = f"; {len(changed):,} photos changed since are predicted again" if changed else ""
        return (f"continuing from {self.path}: {self.reused:,} of {len(stamps):,} photos' predictions reused, "
                f"{len(stamps) - self.reused:,} left to predict{again}")

    def open(self):
        """Open the partial file to add to: the one `resume` took, without a last line cut short; else a new one.
        BlockingIOError (saying BUSY) when another prediction is adding to it now (the same command run twice at
        once), which would have cut the other's lines and replaced each other's CSV."""
        os.makedirs(os.path.dirname(os.path.abspath(self.path)), exist_ok=True)
        self.file = os.fdopen(os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644), "r+b")  # not emptied before locked
        try:
            _lock(self.file)
        except OSError:
            self.file.close()
            raise BlockingIOError(errno.EAGAIN, BUSY) from None
        if self.end is not None and os.fstat(self.file.fileno()).st_size < self.end:  # gone since it was read
            self.end, self.offsets, self.reused = None, {}, 0
        self.file.truncate(self.end or 0)
        self.file.seek(self.end or 0)
        if self.end is None:
            self._line({"kind": self.KIND, "key": self.key})

    def add(self, photo, stamp, outcome):
        """Keep `photo`'s outcome (any JSON value), on disk at once: a crash after it does not lose it."""
        self.file.seek(0, os.SEEK_END)
        self.offsets[photo] = self.file.tell()
        self._line({"photo": photo, "stamp": stamp, "outcome": outcome})

    def _line(self, value):
        # ensure_ascii: a name's undecodable bytes (lone surrogates) are kept as \\udcxx and read back the same.
        self.file.write(json.dumps(value).encode("ascii") + b"\n")
        self.file.flush()

    def outcomes(self, photos):
        """Each of `photos`' outcomes, in that order (each must be kept: reused or added), read back from the file."""
        self.file.flush()
        for photo in photos:
            self.file.seek(self.offsets[photo])
            yield json.loads(self.file.readline())["outcome"]

    def done(self):
        """How many photos' outcomes it holds (reused and added)."""
        return len(self.offsets)

    def close(self):
        """Close it, kept on disk for the next run to continue from (Ctrl-C, a crash)."""
        if self.file is not None and not self.file.closed:
            self.file.close()

    def remove(self):
        """Close and remove it: the target is written."""
        self.close()
        try:
            os.remove(self.path)
        except FileNotFoundError:
            pass


def _lock(file):
    """Hold `file` for this process alone (OSError if another holds it) until it is closed. Windows has no such lock
    in the standard library that leaves the file readable: there it is not locked."""
    try:
        import fcntl
    except ImportError:
        # Windows: msvcrt's lock also bars reading what it covers, and an O_EXCL lock file left by a crash would
        # refuse every later run until removed by hand; unlocked, two runs at once are the user's to avoid.
        return
    fcntl.flock(file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)


def _short(*values):
    """Whether values are short enough to say in a note (an option's value, not a digest or a long path)."""
    return all(isinstance(v, str) and len(v) <= 40 for v in values)

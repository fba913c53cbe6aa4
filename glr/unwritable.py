"""Cache folders this process cannot write (a read-only mount, no permission), and the folders standing in for them.

glr keeps under the user's cache folder only what it can make again: features, exported extractors, generated
distractor photos, thumbnails. A folder there that cannot be written is no reason to fail a training: what would
be kept is made again next time, or kept for this process in a temporary folder, removed when it exits. A full
disk or a file in the way is another matter: those still raise, with their own advice.
"""

from __future__ import annotations

import errno
import logging
from pathlib import Path

UNWRITABLE = frozenset({errno.EROFS, errno.EACCES, errno.EPERM})
# Folders found unwritable in this process, and the temporary folder standing in for each.
_STAND_INS: dict[Path, Path] = {}
log = logging.getLogger(__name__)


def unwritable(exc: BaseException) -> bool:
    """Whether `exc` says a folder cannot be written at all (read-only, no permission), not that it is full."""
    return getattr(exc, "errno", None) in UNWRITABLE


def why(exc: BaseException) -> str:
    """Why a folder cannot be written, in a user's words (the storage error's own advice is for a run's files)."""
    return "the file system is read-only" if getattr(exc, "errno", None) == errno.EROFS else "permission denied"


def stand_in(folder: str | Path) -> Path | None:
    """The temporary folder standing in for `folder` in this process, if it was found unwritable."""
    return _STAND_INS.get(Path(folder))


def is_stand_in(folder: str | Path) -> bool:
    """Whether `folder` is one of this process's stand-ins (one that fails too is not stood in for again)."""
    return Path(folder) in _STAND_INS.values()


def make_stand_in(folder: str | Path, exc: BaseException, what: str) -> Path:
    """A temporary folder standing in for `folder` for the rest of this process, said once; removed at exit."""
    import atexit
    import shutil
    import tempfile

    folder = Path(folder)
    if folder not in _STAND_INS:
        made = Path(tempfile.mkdtemp(prefix="glr-stand-in-"))
        atexit.register(shutil.rmtree, made, True)
        _STAND_INS[folder] = made
        log.warning("%s are kept in a temporary folder for this process, %s: %s cannot be written (%s)",
                    what, made, folder, why(exc))
    return _STAND_INS[folder]

"""Which folder a training writes into, so that a copy of its run folder is never taken for the live run.

A trainer writes only into the folder it started in. A copy of that folder made while it trained
(`cp -r`, `rsync`, a backup, a file manager's copy) holds the same status: the same pid, start time and
"running", so it showed "running" for as long as the original trained, with its progress frozen at the
copy, and a stop of the copy signalled the original's trainer. The folder's inode tells them apart: a
copy is a new folder (a new inode), while a rename on the same disk (`mv`) keeps it. Only the inode is
compared: on a network share seen from several machines the device number differs from one machine to
the next, the inode does not. A status written without it (an older glr) is read as before.
"""

from __future__ import annotations

import os

FIELD = "folder"  # the status field: {"path": where the trainer writes, "inode": that folder's inode}
COPIED_MESSAGE = ("this run folder is a copy of {original} (or was moved here from it, to another disk) made while "
                  "it trained: its training writes only into the folder it started in, not this one, so this one "
                  "stays as it was then; resume it to continue here from its last checkpoint")


def folder_identity(path: str | os.PathLike) -> dict | None:
    """The FIELD value naming `path` as the folder a training writes into (None if it cannot be looked at)."""
    try:
        return {"path": os.path.abspath(path), "inode": os.stat(path).st_ino}
    except OSError:
        return None


def copied_from(path: str | os.PathLike, recorded) -> str | None:
    """The folder `recorded` (a FIELD value) names when `path` is another folder (a copy of it), else None.

    None as well when `recorded` is missing or malformed, or when `path` cannot be looked at:
    then the pid alone decides, as it did. The run folder's status and the results folder's
    train.lock (glr.training.train_lock) both go by this one rule.
    """
    inode = recorded.get("inode") if isinstance(recorded, dict) else None
    if not isinstance(inode, int) or isinstance(inode, bool):
        return None
    try:
        if os.stat(path).st_ino == inode:
            return None
    except OSError:
        return None
    return str(recorded.get("path") or "another folder")


def copy_message(path: str | os.PathLike, recorded) -> str | None:
    """Why the run folder at `path` is not the one its recorded training writes into, or None when it is.

    `recorded` is the status's FIELD; see `copied_from`.
    """
    original = copied_from(path, recorded)
    return COPIED_MESSAGE.format(original=original) if original else None

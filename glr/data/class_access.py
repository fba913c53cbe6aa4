"""Class folders glr cannot get into: one that cannot be listed (another user's, a permission lost in a copy),
and a class folder that is a link to a place not there (a drive not mounted, a folder moved).

Both would otherwise vanish from the dataset, or be called a class folder with "no images", while the
photos are there: the user needs to hear which folder and why.
"""

from __future__ import annotations

import os
from pathlib import Path

from glr.paths import broken_link, printable


def _why_unlistable(folder: Path) -> str | None:
    """The OS's reason `folder` cannot be listed (e.g. "Permission denied"), or None if it can."""
    try:
        with os.scandir(folder):
            return None
    except OSError as exc:
        return exc.strerror or exc.__class__.__name__


def listable(root: Path, folders: list[Path], examples, files: tuple[str, ...]) -> tuple[list[Path], list[str]]:
    """`folders` (a dataset's class folders) without those that cannot be listed, and a problem line for each kind of
    class folder that cannot be got into: unlistable, or a link to a folder not there (found beside `folders` in `root`).

    `examples` formats a few names for a message (`glr.data.layouts.examples`); a link ending in one of `files`
    (photos, archives) is a file's link, not a class folder's.
    """
    locked = [(f, why) for f in folders if (why := _why_unlistable(f))]
    problems = []
    if locked:
        why = locked[0][1]
        problems.append(f"{len(locked)} class folder{'s' if len(locked) > 1 else ''} cannot be listed "
                        f"({why}; e.g. {examples(printable(f.name) for f, _ in locked)}); skipped: "
                        "give your user permission to read them (chmod -R u+rX, or copy them as yourself)")
    gone = sorted(p for p in root.iterdir() if p.is_symlink() and not p.exists()
                  and not p.name.startswith(".") and p.suffix.lower() not in files)
    if gone:
        # A folder linked from elsewhere (a photo library on an external drive) is a class while the drive is there.
        problems.append(f"{len(gone)} class folder{'s are links' if len(gone) > 1 else ' is a link'} to a folder "
                        f"that is not there (e.g. {printable(gone[0].name)!r}: {broken_link(gone[0])}); skipped")
    return [f for f in folders if f not in dict(locked)], problems

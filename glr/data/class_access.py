"""Class folders glr cannot get into: one that cannot be listed (another user's, a permission lost in a copy),
a class folder that is a link to a place not there (a drive not mounted, a folder moved), one made as a
Windows shortcut or a macOS alias (a small file that only those systems follow), and one that is a file named like a
folder: an archive without its extension (a download saved as `Castle`, a zip a browser named after the folder).

Both would otherwise vanish from the dataset, or be called a class folder with "no images", while the
photos are there: the user needs to hear which folder and why.
"""

from __future__ import annotations

import os
from pathlib import Path

from glr.data.dataset_path import archive_kind
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
    if shortcuts := _shortcuts(root):
        problems.append(f"{len(shortcuts)} shortcut{'s' if len(shortcuts) > 1 else ''} beside the class folders (e.g. "
                        f"{examples(printable(p.name) for p in shortcuts)}), which only Windows or macOS can follow: "
                        "skipped; copy the folder here, or make a symbolic link to it (ln -s), which glr follows")
    if packed := _archives_named_like_folders(root):
        problems.append(f"{len(packed)} file{'s' if len(packed) > 1 else ''} beside the class folders "
                        f"{'are archives' if len(packed) > 1 else 'is an archive'} without an extension, named like a "
                        f"folder (e.g. {printable(packed[0].name)!r}: {archive_kind(packed[0])}), which glr does not "
                        f"read inside: skipped; unpack {'them' if len(packed) > 1 else 'it'} into a class folder to use "
                        "the photos")
    return [f for f in folders if f not in dict(locked)], problems


def _archives_named_like_folders(root: Path) -> list[Path]:
    """The files in `root` without an extension that are archives by their first bytes."""
    return sorted(p for p in root.iterdir() if not p.suffix and not p.name.startswith(".") and p.is_file()
                  and archive_kind(p))


# A Windows shortcut (`Tower.lnk`) starts with its header size and class id; a macOS Finder alias is a bookmark.
_SHORTCUT_MAGIC = (b"L\x00\x00\x00\x01\x14\x02\x00", b"book\x00\x00\x00\x00mark\x00\x00\x00\x00")


def _shortcuts(root: Path) -> list[Path]:
    """The files in `root` that are Windows shortcuts or macOS aliases (a folder linked the OS's way, not the file
    system's): a class folder made so would vanish from the dataset without a word."""
    found = []
    for path in sorted(p for p in root.iterdir() if p.is_file() and not p.name.startswith(".")):
        if path.suffix.lower() == ".lnk" or _starts_with(path, _SHORTCUT_MAGIC):
            found.append(path)
    return found


def _starts_with(path: Path, magics: tuple[bytes, ...]) -> bool:
    """Whether the file starts with one of `magics` (False if it cannot be read)."""
    try:
        with open(path, "rb") as fh:
            return fh.read(16).startswith(magics)
    except OSError:
        return False

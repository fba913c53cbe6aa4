"""Class folders glr cannot get into: one that cannot be listed (another user's, a permission lost in a copy),
a class folder that is a link to a place not there (a drive not mounted, a folder moved), one made as a
Windows shortcut or a macOS alias (a small file that only those systems follow), and one that is a file named like a
folder: an archive without its extension (a download saved as `Castle`, a zip a browser named after the folder).

Both would otherwise vanish from the dataset, or be called a class folder with "no images", while the
photos are there: the user needs to hear which folder and why.
"""

from __future__ import annotations

import os
from pathlib import Path, PurePath

from glr.data.dataset_path import archive_kind
from glr.paths import broken_link, printable


def sub_folders(root: Path) -> list[Path]:
    """`root`'s folders (links to folders too), in name order, without those an OS or a NAS writes there.

    The file type comes with the listing (no stat per entry but for links), and the sort is by name: at 50,000
    class folders, Path.is_dir and sorting Paths cost a second each."""
    from glr.data.layouts import is_system_folder  # layouts reads this module: its helper at call time

    with os.scandir(root) as entries:
        found = [e.name for e in entries if _is_dir(e) and not is_system_folder(e.name)]
    return [root / name for name in sorted(found)]


# macOS packages: folders Finder shows as one file. A photo library keeps each photo with its thumbnails and edits
# (read as a class, one landmark of every photo in it, each up to three times); an app holds its icons.
PACKAGES = {".photoslibrary": "a Photos library", ".photolibrary": "an iPhoto library",
            ".aplibrary": "an Aperture library", ".app": "an app", ".bundle": "a macOS bundle",
            ".framework": "a macOS framework"}


def package_kind(folder: PurePath) -> str | None:
    """What macOS package `folder` is by its name (PACKAGES), None for a plain folder."""
    return PACKAGES.get(folder.suffix.lower())


def without_packages(folders: list[Path], examples) -> tuple[list[Path], list[str]]:
    """`folders` without macOS packages (PACKAGES), and the note naming them; no note for none."""
    packages = [f for f in folders if package_kind(f)]
    if not packages:
        return folders, []
    n, first = len(packages), packages[0]
    library = any("library" in package_kind(f) for f in packages)
    return [f for f in folders if not package_kind(f)], [
        f"{n} class folder{'s are macOS packages' if n > 1 else ' is a macOS package'}, not a folder of photos "
        f"(e.g. {examples(printable(f.name) for f in packages)}; {printable(first.name)!r} is {package_kind(first)}); "
        "skipped" + (": export the library's photos (Photos: File > Export) into one folder per class" if library else "")]


def _is_dir(entry: os.DirEntry) -> bool:
    """DirEntry.is_dir, False where the entry cannot be looked at (a link into a folder not readable)."""
    try:
        return entry.is_dir()
    except OSError:
        return False


def _why_unlistable(folder: Path) -> str | None:
    """The OS's reason `folder` cannot be listed (e.g. "Permission denied"), or None if it can."""
    try:
        with os.scandir(folder):
            return None
    except OSError as exc:
        return exc.strerror or exc.__class__.__name__


def listable(root: Path, folders: list[Path], examples, files: tuple[str, ...]) -> tuple[list[Path], list[str]]:
    """`folders` (a dataset's class folders) without those that cannot be listed, and a problem line for each kind of
    class folder that cannot be got into: unlistable (locked_note), and those beside_folders finds in `root`.

    Each folder is opened: for a few (split folders); the class-folder reader finds the rest as it walks them.
    """
    locked = [(f, why) for f in folders if (why := _why_unlistable(f))]
    return [f for f in folders if f not in dict(locked)], locked_note(locked, examples) + beside_folders(root, examples, files)


def locked_note(locked: list[tuple[Path, str]], examples) -> list[str]:
    """The problem line for class folders that cannot be listed, given as (folder, the OS's reason); [] for none.

    `examples` formats a few names for a message (`glr.data.layouts.examples`)."""
    if not locked:
        return []
    why = locked[0][1]
    return [f"{len(locked)} class folder{'s' if len(locked) > 1 else ''} cannot be listed "
            f"({why}; e.g. {examples(printable(f.name) for f, _ in locked)}); skipped: "
            "give your user permission to read them (chmod -R u+rX, or copy them as yourself)"]


def beside_folders(root: Path, examples, files: tuple[str, ...]) -> list[str]:
    """A problem line for each kind of class folder in `root` that is not one: a link to a folder not there, a
    Windows shortcut or macOS alias, an archive without its extension. A link ending in one of `files` (photos,
    archives) is a file's link, not a class folder's."""
    problems = []
    with os.scandir(root) as entries:  # the file types come with the listing: no stat per class folder
        seen = sorted((e for e in entries if not e.name.startswith(".")), key=lambda e: e.name)
    gone = [root / e.name for e in seen if e.is_symlink() and not os.path.exists(e.path)
            and PurePath(e.name).suffix.lower() not in files]
    if gone:
        # A folder linked from elsewhere (a photo library on an external drive) is a class while the drive is there.
        problems.append(f"{len(gone)} class folder{'s are links' if len(gone) > 1 else ' is a link'} to a folder "
                        f"that is not there (e.g. {printable(gone[0].name)!r}: {broken_link(gone[0])}); skipped")
    files_here = [root / e.name for e in seen if _is_file(e)]
    if shortcuts := _shortcuts(files_here):
        problems.append(f"{len(shortcuts)} shortcut{'s' if len(shortcuts) > 1 else ''} beside the class folders (e.g. "
                        f"{examples(printable(p.name) for p in shortcuts)}), which only Windows or macOS can follow: "
                        "skipped; copy the folder here, or make a symbolic link to it (ln -s), which glr follows")
    if packed := _archives_named_like_folders(files_here):
        problems.append(f"{len(packed)} file{'s' if len(packed) > 1 else ''} beside the class folders "
                        f"{'are archives' if len(packed) > 1 else 'is an archive'} without an extension, named like a "
                        f"folder (e.g. {printable(packed[0].name)!r}: {archive_kind(packed[0])}), which glr does not "
                        f"read inside: skipped; unpack {'them' if len(packed) > 1 else 'it'} into a class folder to use "
                        "the photos")
    return problems


def files_in(root: Path) -> list[Path]:
    """The files directly in `root` (links to files too), as `[p for p in root.iterdir() if p.is_file()]` gives them,
    from one listing: no stat per entry but for links."""
    with os.scandir(root) as entries:
        return [root / e.name for e in entries if _is_file(e)]


def _is_file(entry: os.DirEntry) -> bool:
    """DirEntry.is_file, False where the entry cannot be looked at."""
    try:
        return entry.is_file()
    except OSError:
        return False


def _archives_named_like_folders(files: list[Path]) -> list[Path]:
    """Those of `files` (the files beside the class folders, not hidden) without an extension that are archives by
    their first bytes."""
    return [p for p in files if not p.suffix and archive_kind(p)]


# A Windows shortcut (`Tower.lnk`) starts with its header size and class id; a macOS Finder alias is a bookmark.
_SHORTCUT_MAGIC = (b"L\x00\x00\x00\x01\x14\x02\x00", b"book\x00\x00\x00\x00mark\x00\x00\x00\x00")


def _shortcuts(files: list[Path]) -> list[Path]:
    """Those of `files` (the files beside the class folders, not hidden) that are Windows shortcuts or macOS aliases
    (a folder linked the OS's way, not the file system's): a class folder made so would vanish without a word."""
    found = []
    for path in files:
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

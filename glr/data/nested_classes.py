"""Class folders that hold their photos only in sub-folders: one landmark in parts, or a tree of landmarks?

A class folder's photos are read from it and from all its sub-folders, so `Eiffel/day1/`, `Eiffel/day2/` are one
landmark. A tree like `France/Eiffel/`, `France/Louvre/`, `Italy/Colosseum/` (photos sorted by country first) is
read the same way: two classes, France and Italy, each of several landmarks, with nothing said. Which one a tree
is cannot be told from its names, so it is read as before and said, with what to do for the other reading.
"""

from __future__ import annotations

from pathlib import Path

NOTE = ("the class folders hold their photos only in sub-folders (e.g. {shown}): each class folder is read as one "
        "landmark, its sub-folders' photos together. If the sub-folders are the landmarks (a tree like "
        "country/landmark/photos), move them side by side into one folder and choose that folder; sub-folders of "
        "one landmark (days, trips) are right as they are")


def nested_note(folders: list[Path], contents) -> str | None:
    """The note for class `folders` none of which holds a photo directly, one of them holding 2+ folders of photos.

    `contents(folder)` gives (its sub-folders, the photos directly in it), as the layout reader lists them.
    Stops at the first class folder with a photo of its own, so a usual dataset costs one listing. A single
    class folder is left to `glr.data.datasets`, which points at it (`photos/photos/<class>/`, a zip unpacked).
    """
    if len(folders) < 2:
        return None
    split: dict[Path, list[Path]] = {}
    for folder in folders:
        try:
            subfolders, photos = contents(folder)
        except OSError:
            continue
        if photos:
            return None
        with_photos = [s for s in subfolders if _holds_photos(s, contents)]
        if len(with_photos) >= 2:
            split[folder] = with_photos
    if not split:
        return None
    from glr.data.layouts import EXAMPLES_IN_MESSAGE
    from glr.paths import printable

    shown = "; ".join(f"{printable(f.name)!r}: {', '.join(repr(printable(s.name)) for s in subs[:3])}"
                      + (", ..." if len(subs) > 3 else "") for f, subs in list(split.items())[:EXAMPLES_IN_MESSAGE])
    return NOTE.format(shown=shown)


def _holds_photos(folder: Path, contents, depth: int = 4) -> bool:
    """Whether `folder` or a folder under it (`depth` levels down at most, links not followed) holds a photo."""
    try:
        subfolders, photos = contents(folder)
    except OSError:
        return False
    return bool(photos) or (depth > 0 and any(_holds_photos(s, contents, depth - 1)
                                              for s in subfolders if not s.is_symlink()))

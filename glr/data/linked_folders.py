"""Class folders that are links to photos the dataset already reads: a shortcut to another class folder (or into
one), or to a folder holding class folders (the dataset folder itself, `All -> .`). Read, they would teach the same
photos as one more landmark, taught apart from itself.
"""

from __future__ import annotations

import os
from pathlib import Path

from glr.paths import printable


def without_linked_copies(root: Path, folders: list[Path]) -> tuple[list[Path], list[str]]:
    """`folders` without those that are links to photos another class folder holds, and the notes saying so.

    A link made as a shortcut (`Tower_link -> Tower`) would read the same photos as a second class. Of two
    names for one folder the real one is kept (of two links, the first). A link to a folder that holds class
    folders (`All -> .`, `Everything -> ..`) would read all of their photos as one more class."""
    from glr.data.layouts import EXAMPLES_IN_MESSAGE, plural  # layouts reads this module: its helpers at call time

    listed = {parent: _links_in(parent) for parent in {f.parent for f in folders}}  # the dataset's, or its splits'
    links = [f for f in folders if f.name in listed[f.parent]]
    if not links:  # resolving each of 50,000 class folders cost 2 s, for none
        return folders, []
    real = {f: f.resolve() for f in folders}
    linked, holders = [], []
    for i, f in enumerate(folders):
        if not f.is_symlink():
            continue
        if any(real[f] in real[g].parents for j, g in enumerate(folders) if j != i):
            holders.append(f)
            continue
        other = next((g for j, g in enumerate(folders) if j != i and (real[g] in real[f].parents or (
            real[g] == real[f] and (not g.is_symlink() or j < i)))), None)
        if other is not None:
            linked.append((f, other))
    notes = []
    if linked:
        pairs = ", ".join(f"{printable(a.name)!r} -> {printable(b.name)!r}" for a, b in linked[:EXAMPLES_IN_MESSAGE])
        notes.append(f"{plural(len(linked), 'class folder')} {'is a link' if len(linked) == 1 else 'are links'} to "
                     f"another class's photos (e.g. {pairs}); skipped, so the same photos are not taught as two landmarks")
    if holders:
        pairs = ", ".join(f"{printable(f.name)!r} -> {_shown(root, real[f])!r}" for f in holders[:EXAMPLES_IN_MESSAGE])
        notes.append(f"{plural(len(holders), 'class folder')} {'is a link' if len(holders) == 1 else 'are links'} to a "
                     f"folder holding the other class folders (e.g. {pairs}); skipped, so their photos are not taught "
                     "as one more landmark")
    skipped = {f for f, _ in linked} | set(holders)
    return [f for f in folders if f not in skipped], notes


def _links_in(folder: Path) -> frozenset[str]:
    """The names of the links in `folder`, from one listing (an lstat per class folder cost 0.7 s at 50,000)."""
    try:
        with os.scandir(folder) as entries:
            return frozenset(e.name for e in entries if e.is_symlink())
    except OSError:
        return frozenset()


def _shown(root: Path, target: Path) -> str:
    """Where a link leads, as a person reads it: '.' for the dataset folder, a path inside it, else the full path."""
    try:
        return printable(target.relative_to(root.resolve()).as_posix())
    except ValueError:
        return printable(str(target))

"""Folders glr made inside a dataset folder (a run's, an export), whose files are not photos of a landmark.

A results folder kept in the dataset folder (`glr train gin --results gin/results`) holds each run's report charts
(`results/runs/<id>/report/curves.png`): read as photos, the next run trained a landmark "results" on them. A run
folder and an export folder are told by the files glr writes in them, as glr predict tells them
(glr.submission.RUN_MARKS and EXPORT_MARKS). The marks are looked for among the files the class-folder reader has
listed already and found not to be images: no stat, and no look at any photo's name. The folders found are skipped
with everything in them, and said once per kind.
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

from glr.words import plural

# Why each kind of folder holds no photo of a landmark, in training's words (glr.submission says it for predicting).
WHY = {"run": "a run's charts and files are not landmark photos",
       "export": "an export's model, labels and predict.py are not landmark photos"}
# Beside train/ and val/, at most this many other folders are looked into for being only glr's (`results/`).
MOST_BESIDE_SPLITS = 3


@cache
def _marks() -> tuple[dict[tuple[str, ...], str], frozenset[str]]:
    """(each kind's marks -> the kind, run first as glr.submission.glr_folder checks them; every mark's name)."""
    from glr.submission import EXPORT_MARKS, RUN_MARKS  # (it reads glr.data.layouts, which reads this module)

    kinds = {tuple(RUN_MARKS): "run", tuple(EXPORT_MARKS): "export"}
    return kinds, frozenset(name for marks in kinds for name in marks)


def made_folders(files: list[Path]) -> dict[Path, str]:
    """The folders glr made among the folders of `files` (files found not to be images), each with its kind ("run",
    "export"): those holding all of a kind's marks, the outermost only (an export inside a run folder is the run's)."""
    kinds, names = _marks()
    held: dict[Path, set[str]] = {}
    for file in files:
        if file.name in names:
            held.setdefault(file.parent, set()).add(file.name)
    made = {folder: next(kind for marks, kind in kinds.items() if has.issuperset(marks))
            for folder, has in held.items() if any(has.issuperset(marks) for marks in kinds)}
    return {folder: kind for folder, kind in made.items() if not any(p in made for p in folder.parents)}


def outside(items: list, made: dict[Path, str], path=str) -> list:
    """`items` but those under a folder of `made` (`path(item)`: the item's path, as text; `/` or the OS's separator)."""
    under = tuple(str(folder).replace(os.sep, "/") + "/" for folder in made)
    return [item for item in items if not path(item).replace(os.sep, "/").startswith(under)]


def beside_splits(folders: list[Path], split_names) -> tuple[list[Path], dict[Path, str]]:
    """`folders` without those that hold nothing but glr's folders when the others are split folders (train/, val/
    and a results folder: the split is still read as one), and glr's folders found in them; `folders` and {} else."""
    others = [f for f in folders if f.name.lower() not in split_names]
    if not others or len(others) == len(folders) or len(others) > MOST_BESIDE_SPLITS:
        return folders, {}
    from glr.data.folder_tree import folder_entries
    from glr.data.layouts import is_system_name, is_system_folder  # (it reads this module)

    made: dict[Path, str] = {}
    for folder in others:
        entries, why = folder_entries(folder)
        files = [folder.joinpath(*parts) for parts, is_file in entries if is_file and not is_system_name(parts[-1])
                 and not any(map(is_system_folder, parts[:-1]))]
        found = made_folders(files) if why is None else {}
        if not found or outside(files, found):  # a class of its own, or one that holds photos too
            return folders, {}
        made.update(found)
    return [f for f in folders if f not in others], made


def made_notes(made: dict[Path, str], root: Path, examples, printable) -> list[str]:
    """One note per kind of the glr folders `made` (under `root`), with a few of them as `examples` says them."""
    notes = []
    for kind, why in WHY.items():
        if these := sorted(folder for folder, k in made.items() if k == kind):
            notes.append(f"{plural(len(these), f'glr {kind} folder')} inside the dataset folder (e.g. "
                         f"{examples(printable(f.relative_to(root)) for f in these)}): {why}; skipped, with "
                         f"everything in {'it' if len(these) == 1 else 'them'}")
    return notes

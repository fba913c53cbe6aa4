"""Whether a folder of class folders is a train/val/test split (`train/<class>/`, `val/<class>/`), or classes
that happen to be named like splits (a landmark "Test", a class "train" of railway photos).

Keras and Kaggle ship class folders inside split folders; read as classes, "train" and "val" would be two
classes. But `train` and `test` are also plausible class names, and a class folder may hold sub-folders of its
own (photo bursts): read as a split, such classes would vanish into their sub-folders. So the folders are read
as a split only when they clearly are one, and the decision is said either way (`split_note`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

# Folders that hold a train/validation/test split of class folders, not a class.
SPLIT_FOLDERS = {"train", "training", "val", "valid", "validation", "test", "testing"}
# Of those, the names no one gives a class: a folder so named makes the split clear.
VALIDATION_FOLDERS = {"val", "valid", "validation"}
TRAIN_FOLDERS = {"train", "training"}


@dataclass
class SplitDecision:
    """What `decide` found: the class folders to read, the photos loose in split folders, and why."""

    folders: list[Path]
    loose: list[Path] = field(default_factory=list)
    splits: list[str] = field(default_factory=list)  # the split folders read as a split, or [] if none
    as_classes: list[str] = field(default_factory=list)  # split-like names read as classes, with `reason`
    reason: str = ""
    inner: Path | None = None  # with `as_classes`: the folder to point at if they are a split after all


def decide(folders: list[Path], contents) -> SplitDecision:
    """The class folders of `folders` (a dataset's top folders): inside them when they are clearly split folders.

    `contents(folder)` gives (its sub-folders, the photos directly in it). Split folders are clear when every top
    folder is named as one (SPLIT_FOLDERS) and holds class folders, and either one is a validation folder (no
    landmark is called "val"), or they look like a split: no folder mixes photos and sub-folders, no train folder
    holds its photos directly (a test folder may: an unlabelled test set), and the split folders with sub-folders
    share a class. Raises OSError if a split folder cannot be listed.
    """
    if not folders or any(f.name.lower() not in SPLIT_FOLDERS for f in folders):
        return SplitDecision(folders)
    listed = {f: contents(f) for f in folders}
    inner = {f: sorted(subs) for f, (subs, _) in listed.items()}
    if not any(inner.values()):
        return SplitDecision(folders)  # photos only: the folders are the classes, and nothing else could be
    names = sorted(f.name for f in folders)
    reason = "" if any(f.name.lower() in VALIDATION_FOLDERS for f in folders) else _why_not_a_split(listed)
    if reason:
        inside = min((f for f in folders if inner[f]), key=lambda f: (f.name.lower() not in TRAIN_FOLDERS, f.name))
        return SplitDecision(folders, as_classes=names, reason=reason, inner=inside)
    classes = sorted((c for group in inner.values() for c in group), key=lambda c: (c.name, c.parent.name))
    loose = [p for f in folders for p in sorted(listed[f][1])]
    return SplitDecision(classes, loose, splits=sorted(f.name for f in folders if inner[f]))


def _why_not_a_split(listed: dict) -> str:
    """Why folders named train/test (each with its sub-folders and photos) are not clearly a split; "" if they are."""
    for folder, (subs, photos) in listed.items():
        if subs and photos:
            return f"{folder.name!r} holds both photos and sub-folders"
        if photos and folder.name.lower() in TRAIN_FOLDERS:
            return f"{folder.name!r} holds its photos directly, where a training split holds class folders"
    with_classes = [{s.name for s in subs} for subs, _ in listed.values() if subs]
    if len(with_classes) > 1 and not set.intersection(*with_classes):
        return "their sub-folders share no name, where the splits of a dataset share its classes"
    return ""


def split_note(decision: SplitDecision, shown) -> str:
    """The note that says how split-like folder names were read (`shown`: a name as printed); "" if there were none."""
    names = decision.splits or decision.as_classes
    quoted = ", ".join(repr(shown(s)) for s in names)
    if decision.as_classes:
        return (f"the folders {quoted} are read as classes, not as train/test split folders: {decision.reason}; if "
                f"they are a split, point glr at the one holding the class folders, {shown(str(decision.inner))}")
    if not names:
        return ""
    note = f"the class folders inside {quoted} are read as one dataset: glr makes its own train/validation split"
    if not any(s.lower() in VALIDATION_FOLDERS for s in names):  # "train" or "test" may be a class's name too
        one = len(names) == 1
        note += (f"; if {quoted} {'is a class' if one else 'are classes'} {'itself' if one else 'themselves'}, rename "
                 f"{'it' if one else 'them'} (e.g. {shown(names[0]) + ' photos'!r}) to read {'it' if one else 'them'} so")
    return note

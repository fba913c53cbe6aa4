"""Which photos of a split training can use, and what to say about the others.

After the features are made, a photo is left out when it would not decode or is blank
(glr.data.images), and a validation photo also when its file is identical to a training
photo's. Scraped landmark datasets hold the same file many times (GLDv2 lists some photos
under several ids); a copy in validation is not a test of recognition, since the model has
seen it, and would lift the score. The trainer digests every photo for the feature cache
anyway, so the copies are found for free. Photos that only look alike (resized,
re-encoded) are not caught here: their embeddings overlap those of distinct photos of one
landmark. A class left with no training photo is named too: the model cannot learn it.
"""

from __future__ import annotations

import contextlib
import os
from typing import Sequence

import numpy as np
import pandas as pd

from glr.data.datasets import relative_examples
from glr.data.images import load_resized
from glr.data.layouts import TRAIN_CSV, examples, plural
from glr.data.near_copies import HashStore, near_copies_of_training
from glr.data.train_csv import CLEAN_CSV
from glr.errors import BlankImageError, DatasetError, ImageError


def copies_of_training(train_digests: Sequence[str], val_digests: Sequence[str]) -> np.ndarray:
    """A mask over the validation photos: True where the file's bytes equal a training photo's.

    An empty digest (a file that could not be read) matches nothing.
    """
    seen = {d for d in train_digests if d}
    return np.array([bool(d) and d in seen for d in val_digests], dtype=bool)


def copies_message(val: pd.DataFrame, copies: np.ndarray, root: str | os.PathLike | None, near: bool = False) -> str:
    """The problem to report for validation photos left out as copies (`near`: near-copies) of training photos; "" if none."""
    if not copies.any():
        return ""
    count = int(copies.sum())
    what = (f"that {'is' if count == 1 else 'are'} a near-copy of a training photo of the same landmark "
            "(resized, re-encoded or recoloured)" if near else "identical to a training photo (the same file twice)")
    return (f"left out of validation {plural(count, 'photo')} {what}, so {'it does' if count == 1 else 'they do'} "
            f"not inflate its score (e.g. {relative_examples(val.loc[copies, 'path'], root)})")


# Telling a blank photo from a broken one takes a decode each: past this many left out, the message does not split them.
RECHECK_LIMIT = 500
# The side the pipeline resizes to for the default 224 px input (glr.data.pipeline.load_size).
BLANK_CHECK_SIDE = 256
SAMPLE_SIZE = 12  # photos `inspect` decodes to catch a dataset of broken files: 0.1 s of phone JPEGs, seconds of big PNGs


def undecodable_message(paths, root: str | os.PathLike) -> str:
    """The problem to report for images left out (undecodable, or blank): how many of each, and a few, relative to `root`."""
    paths = list(paths)
    if len(paths) > RECHECK_LIMIT:
        return (f"left out {plural(len(paths), 'image')} that could not be decoded or are blank "
                f"(one flat colour) (e.g. {relative_examples(paths, root)})")
    blank = [p for p in paths if _is_blank_file(p)]
    broken = [p for p in paths if p not in blank]
    parts = []
    if broken:
        parts.append(f"left out {plural(len(broken), 'image')} that could not be decoded "
                     f"(e.g. {relative_examples(broken, root)})")
    if blank:
        parts.append(f"left out {plural(len(blank), 'blank image')}, one flat colour with nothing to learn from "
                     f"(e.g. {relative_examples(blank, root)})")
    return "; ".join(parts)


def undecodable_sample(paths: Sequence[str], root, size: int = SAMPLE_SIZE, seed: int = 0) -> str | None:
    """A note when photos drawn at random (seeded) from `paths` do not decode, else None.

    `inspect` lists files without decoding them; a folder of mostly broken files (a failed download, Git LFS
    pointers) would read as fine until training decodes every photo.
    """
    picks = sorted(np.random.default_rng(seed).choice(len(paths), size=min(size, len(paths)), replace=False))
    bad = []
    for i in picks:
        try:
            load_resized(paths[i], BLANK_CHECK_SIDE)
        except ImageError:
            bad.append(paths[i])
    if not bad:
        return None
    return (f"photos that do not decode: {len(bad)} of {len(picks)} sampled at random (e.g. {relative_examples(bad, root)}; "
            f"{relative_examples(bad[:1], root)}: {_why(bad[0])}); training leaves such photos out; the counts above include them")


def _keep_one_hint(root) -> str:
    """What to do about one photo in two classes: in class folders, move a file; in a GLDv2 folder, edit train.csv."""
    with contextlib.suppress(OSError, TypeError):
        listing = next((e.name for e in os.scandir(root) if e.name.lower() in (TRAIN_CSV, CLEAN_CSV)), None)
        if listing:
            return f"keep one of its rows in {listing}, under the landmark it shows"
    return "keep each photo in its own class's folder only"


def _why(path) -> str:
    """Why the image at `path` does not decode, as glr.data.images says it, without its path."""
    try:
        load_resized(path, BLANK_CHECK_SIDE)
    except ImageError as exc:
        text = str(exc)
        return text[len(str(path)) + 2:] if text.startswith(f"{path}: ") else text
    return "decodes now (changed since?)"


def _is_blank_file(path) -> bool:
    """Whether the image at `path` decodes to one flat colour, as the pipeline sees it (BLANK_CHECK_SIDE px)."""
    try:
        load_resized(path, BLANK_CHECK_SIDE, refuse_blank=True)
    except BlankImageError:
        return True
    except ImageError:
        return False
    return False


def usable_photos(train: pd.DataFrame, val: pd.DataFrame, digests: dict, train_ok: np.ndarray, val_ok: np.ndarray,
                  labels: pd.DataFrame, root, hash_store: HashStore | None = None) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """(training mask, validation mask, the problems to report) once the photos were decoded.

    `train_ok` / `val_ok` say which photos decoded (and are not blank); `digests` holds each
    side's content digests, in the same order. `labels` maps class `index` to `name`.
    `hash_store` keeps the near-copy check's hashes between runs.
    """
    problems = []
    if not (train_ok.all() and val_ok.all()):
        left_out = pd.concat([train.loc[~train_ok, "path"], val.loc[~val_ok, "path"]])
        problems.append(undecodable_message(left_out, root))
        # The first one's reason: "could not be decoded" alone hides a cause shared by all (Git LFS pointers).
        first = next((p for p in left_out[:RECHECK_LIMIT] if not _is_blank_file(p)), None)
        if first is not None:
            problems.append(f"why {relative_examples([first], root)} did not decode: {_why(first)}")
    torn_train, torn_val = in_two_classes(train, val, digests, train_ok, val_ok)
    if torn_train.any() or torn_val.any():
        # One file copied into two class folders: the model would be taught it as both landmarks, and scored on it.
        paths = pd.concat([train.loc[torn_train, "path"], val.loc[torn_val, "path"]])
        problems.append(f"left out {plural(len(paths), 'photo')} whose file is in more than one class (e.g. "
                        f"{relative_examples(sorted(paths, key=os.path.basename), root)}): which landmark it shows is "
                        f"unknown; {_keep_one_hint(root)}")
        train_ok, val_ok = train_ok & ~torn_train, val_ok & ~torn_val
    copies, near = copies_in_validation(train, val, digests, train_ok, val_ok, hash_store)
    if copies.any():
        problems.append(copies_message(val, copies, root))
    if near.any():
        problems.append(copies_message(val, near, root, near=True))
    untrained = labels.loc[~labels["index"].isin(train.loc[train_ok, "label"]), "name"].tolist()
    if untrained:
        problems.append(f"no training photo left for {plural(len(untrained), 'class')} (e.g. {examples(untrained)}): "
                        f"the model cannot learn to recognise {'it' if len(untrained) == 1 else 'them'}")
    val_usable = val_ok & ~copies & ~near
    if not (train_ok.any() and val_usable.any()):
        # Epochs on nothing, then a crash when scoring: stop here, saying what went.
        side = "validation photo left to score the model on" if train_ok.any() else "training photo left"
        raise DatasetError(f"no {side}: {'; '.join(problems)}. Each class needs at least two different "
                           "photos that decode")
    return train_ok, val_usable, problems


def in_two_classes(train: pd.DataFrame, val: pd.DataFrame, digests: dict, train_ok: np.ndarray,
                   val_ok: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Masks over the training and validation photos that decoded and whose file (by digest) is in two classes or more."""
    found = pd.DataFrame({"digest": list(digests["train"]) + list(digests["val"]),
                          "label": np.concatenate([train["label"].to_numpy(), val["label"].to_numpy()]),
                          "ok": np.concatenate([train_ok, val_ok])})
    found = found[found["ok"] & (found["digest"] != "")]
    found = found[found["digest"].duplicated(keep=False)]  # a file met once is in one class: no grouping for it
    per_digest = found.groupby("digest")["label"].nunique()
    torn = set(per_digest.index[per_digest > 1])
    if not torn:
        return np.zeros(len(train), dtype=bool), np.zeros(len(val), dtype=bool)
    return (np.isin(np.asarray(digests["train"], dtype=object), list(torn)) & train_ok,
            np.isin(np.asarray(digests["val"], dtype=object), list(torn)) & val_ok)


def copies_in_validation(train: pd.DataFrame, val: pd.DataFrame, digests: dict, train_ok: np.ndarray,
                         val_ok: np.ndarray, store: HashStore | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(identical, near-copy) masks over the validation photos, against the training photos that decoded.

    Each side has columns path and label; `digests` and the decoded masks are as for usable_photos.
    Only photos that decoded count: identical broken files are broken, not copies.
    """
    train_digests = np.asarray(digests["train"], dtype=object)[train_ok]
    copies = copies_of_training(train_digests, digests["val"]) & val_ok
    near = np.zeros(len(val), dtype=bool)
    rows = np.flatnonzero(val_ok & ~copies)
    near[rows] = near_copies_of_training(train.loc[train_ok, "path"].tolist(), train.loc[train_ok, "label"].to_numpy(),
                                         list(train_digests), val["path"].iloc[rows].tolist(),
                                         val["label"].to_numpy()[rows], [digests["val"][i] for i in rows], store)
    return copies, near

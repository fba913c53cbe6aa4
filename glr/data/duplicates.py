"""Identical files on both sides of a split: validation photos that are copies of training photos.

Scraped landmark datasets hold the same file many times (GLDv2 lists some photos under
several ids). A validation photo whose bytes equal a training photo's is not a test of
recognition: the model has seen it, so it would lift the validation score. The trainer
digests every photo for the feature cache anyway; those digests find the copies for free.
Photos that only look alike (resized, re-encoded) are not caught here.
"""

from __future__ import annotations

import os
from typing import Sequence

import numpy as np
import pandas as pd

from glr.data.layouts import examples, plural


def copies_of_training(train_digests: Sequence[str], val_digests: Sequence[str]) -> np.ndarray:
    """A mask over the validation photos: True where the file's bytes equal a training photo's.

    An empty digest (a file that could not be read) matches nothing.
    """
    seen = {d for d in train_digests if d}
    return np.array([bool(d) and d in seen for d in val_digests], dtype=bool)


def copies_message(val: pd.DataFrame, copies: np.ndarray, root: str | os.PathLike | None) -> str:
    """The problem to report for validation photos left out as copies of training photos; "" when there are none."""
    if not copies.any():
        return ""
    paths = val.loc[copies, "path"]
    shown = (os.path.relpath(p, root) if root else str(p) for p in paths)
    return (f"left out of validation {plural(int(copies.sum()), 'photo')} identical to a training photo "
            f"(the same file twice), so they do not inflate its score (e.g. {examples(shown)})")


def drop_training_copies(train: pd.DataFrame, val: pd.DataFrame, digests: dict, root) -> tuple[pd.DataFrame, dict, str]:
    """(val without copies of training photos, `digests` with "val" filtered alike, the problem to report or "")."""
    copies = copies_of_training(digests["train"], digests["val"])
    if not copies.any():
        return val, digests, ""
    kept = val[~copies].reset_index(drop=True)
    return kept, {**digests, "val": [d for d, c in zip(digests["val"], copies) if not c]}, copies_message(val, copies, root)

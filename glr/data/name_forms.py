"""Photo files named in another Unicode form than train.csv writes their ids.

A Mac writes file names decomposed (NFD: "e" + U+0301), while a spreadsheet, a typed id and most tools write
them composed (NFC: "é"): to Linux `café.jpg` and `café.jpg` are two names, to the user one. `twin_paths` finds,
for paths not on disk, the file that is the same name in another form, as `glr.data.dataset_path` does for the
dataset folder itself. Paths of ASCII only have no other form, so GLDv2's ids cost one Arrow scan and no listing.
"""

from __future__ import annotations

import os
import unicodedata

import pandas as pd


def _key(name: str) -> str:
    """A file name as the user reads it: its NFC form."""
    return unicodedata.normalize("NFC", name)


def twin_paths(paths: pd.Series, extensions: tuple[str, ...] = ()) -> pd.Series:
    """For each of `paths` (files not found as written), the file on disk whose name is the same in another Unicode
    form (`café.jpg` for `café.jpg`), else the same stem in another Unicode form with one of `extensions` (any case;
    `.jpg` first, then the first by name); the path as it is when there is none. Each folder is listed once; a folder
    whose name is in another form is found too."""
    import pyarrow as pa
    import pyarrow.compute as pc

    # Arrow-backed text converts without a copy; anything else (object dtype) is converted once.
    arr = pa.array(paths.array) if hasattr(paths.array, "__arrow_array__") else pa.array(paths.astype(str), pa.string())
    if paths.empty or pc.all(pc.string_is_ascii(arr)).as_py():
        return paths  # no other form: no listing at all
    folders: dict[str, dict[str, list[str]]] = {}
    out = []
    for path in paths.astype(str):
        folder, name = os.path.split(path)
        if folder not in folders:
            folders[folder] = _listing(folder)
        named = folders[folder]
        stem, ext = os.path.splitext(name)
        same = named.get(_key(name), [])
        others = sorted((n for e in extensions for n in named.get(_key(stem) + "\0" + e.lower(), [])),
                        key=lambda n: (not n.lower().endswith(".jpg"), n))
        found = (same or others or [None])[0]
        out.append(path if found is None else found)
    return pd.Series(out, index=paths.index, dtype=object)


def _listing(folder: str) -> dict[str, list[str]]:
    """The files in `folder` (or in its twin in another Unicode form) by their NFC name and by NFC stem + "\\0" + the
    lower-case extension; empty when there is no such folder."""
    where = folder if os.path.isdir(folder or os.sep) else _twin_folder(folder)
    named: dict[str, list[str]] = {}
    try:
        names = sorted(os.listdir(where or os.sep)) if where is not None else []
    except OSError:
        names = []
    for n in names:
        stem, ext = os.path.splitext(n)
        full = os.path.join(where, n)
        named.setdefault(_key(n), []).append(full)
        named.setdefault(_key(stem) + "\0" + ext.lower(), []).append(full)
    return named


def _twin_folder(folder: str) -> str | None:
    """`folder` as it is on disk with its missing names in another Unicode form (the first such), or None."""
    from pathlib import Path

    from glr.data.dataset_path import name_twins

    twins = [t for t in name_twins(Path(folder), most=1) if t.is_dir()]
    return str(twins[0]) if twins else None

"""Where a GLDv2 catalog's photos are on disk, as people and tools really leave them.

`drop_missing_files` checks that each row's photo exists, looking where GLDv2's layout puts it
(train/a/b/c/abc.jpg) and where downloads and unpacked shards leave it (train/abc.jpg, a/b/c/abc.jpg, upper-case
ids, abc.JPG or abc.png, and last anywhere else under train/, or in the dataset folder without one: `images/`; a
file named as the id with no extension, if it starts as a photo; `0001.jpg` for an id of 1 a spreadsheet wrote);
`restore_leading_zeros` gives back the leading zeros a spreadsheet takes from an id of digits only when the photo
is on disk so, and `glr fetch` then does not download it again under a name of its own; `pad_for_fetch` gives them back
to the ids whose photo is not on disk yet, so that `glr fetch` saves it under GLDv2's id.
"""

from __future__ import annotations

import os
import re
import unicodedata
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.compute as pc

from glr.data.layouts import (IMAGE_EXTENSIONS, TEXT, examples, have, image_paths, is_system_folder,
                               looks_like_gldv2_images, plural)
from glr.data.id_cells import not_gldv2_ids
from glr.data.name_forms import twin_paths

GLDV2_ID = r"[0-9a-fA-F]{16}"
WALK_FILES = 200_000  # names looked at, at most, in a search of train/ for photos outside their a/b/c folder
SHORT_DIGITS = r"[0-9]{1,15}"  # a GLDv2 id of digits only, its leading zeros lost (GLDv2's ids have 16 hex digits)


def restore_leading_zeros(catalog) -> None:
    """Ids of digits only shorter than GLDv2's 16 (`12345678901234`: 0012345678901234 read as a number by a
    spreadsheet or a script) written back with their zeros when the photo is on disk so and not as written; said in
    a note. In a file of GLDv2 ids, those whose photo is on disk under neither name are named in a note too."""
    df = catalog.df
    short = _short_digits(df["id"])
    if not short.any():
        return
    ids, others = df["id"][short], df["id"][~short]
    padded = ids.str.zfill(16)
    as_written, with_zeros = _found(catalog.root, ids), _found(catalog.root, padded)
    pad = ~as_written & with_zeros
    if pad.any():
        listed = _pad(catalog, ids, padded, others, pad)
        n = int(pad.sum())
        catalog.problems.append(
            f"{plural(n, 'id')} in {catalog.csv_name} lost {'its' if n == 1 else 'their'} leading zeros (e.g. {examples(ids[pad])}; "
            f"saved from a spreadsheet?): read as GLDv2's 16-digit {'id' if n == 1 else 'ids'} (e.g. {examples(padded[pad])}), "
            f"as {'its photo is' if n == 1 else 'their photos are'} on disk"
            + (f"; {int(listed.sum()):,} of them listed with {'its' if n == 1 else 'their'} zeros too, so the repeat "
               "is skipped" if listed.any() else ""))
    lost = ~as_written & ~with_zeros
    if lost.any() and _gldv2_ids(others):
        n = int(lost.sum())
        catalog.problems.append(
            f"{plural(n, 'id')} in {catalog.csv_name} {'is' if n == 1 else 'are'} digits only and shorter than GLDv2's 16 "
            f"(e.g. {examples(ids[lost])}), and no photo is on disk under {'it' if n == 1 else 'them'} or with leading "
            f"zeros: a spreadsheet dropped the zeros? Format the id column as Text and save {catalog.csv_name} again from the "
            f"original file (`glr fetch` saves {'its photo' if n == 1 else 'their photos'} under GLDv2's 16-digit "
            f"{'id' if n == 1 else 'ids'}, e.g. {examples(ids[lost].str.zfill(16))})")


def pad_for_fetch(catalog) -> None:
    """In a file of GLDv2 ids, ids of digits only shorter than 16 whose photo is on disk under neither name (see
    `restore_leading_zeros`, which says so in a note) get their zeros back: `glr fetch` then saves the photo under
    GLDv2's id, where training finds it. An id whose photo is on disk as written stays so, and a file of ids of
    its own kind (numbered 1, 2, 3...) is left as it is: GLDv2's ids are digits only one time in 2,000, so its ids cut
    short are a few among many."""
    short = _short_digits(catalog.df["id"])
    if not short.any() or 2 * short.sum() >= len(short):  # ids of digits, a hex one or two among them: not GLDv2's
        return
    ids, others = catalog.df["id"][short], catalog.df["id"][~short]
    lost = ~_found(catalog.root, ids)
    if lost.any() and _gldv2_ids(others):
        _pad(catalog, ids, ids.str.zfill(16), others, lost)


def _short_digits(ids: pd.Series) -> np.ndarray:
    """Which ids are digits only and shorter than GLDv2's 16."""
    short = _shorter_than(ids, 16)  # a length first: a regex over 4.1M ids costs 0.5 s
    if short.any():
        at = np.flatnonzero(short)
        short[at] = ids.iloc[at].str.fullmatch(SHORT_DIGITS).fillna(False).astype(bool).to_numpy()
    return short


def _shorter_than(ids: pd.Series, n: int, rows: int = 1 << 20) -> np.ndarray:
    """Which ids may be shorter than `n` characters: those under `n` bytes (a string of digits has a byte for each),
    missing ones too. Arrow-backed text is measured a million rows at a time: `str.len()` of GLDv2's 4.1M ids made
    4.1M-row int64 and object temporaries, +70 MB on the load's peak."""
    data = getattr(ids.array, "_pa_array", None)
    if data is None:  # text held as Python objects
        return (ids.str.len() < n).fillna(True).to_numpy(dtype=bool, copy=True)
    out = np.empty(len(ids), dtype=bool)
    for start in range(0, len(ids), rows):
        piece = pc.less(pc.binary_length(data.slice(start, rows)), n)
        out[start:start + rows] = pc.fill_null(piece, True).to_numpy(zero_copy_only=False)
    return out


def _gldv2_ids(ids: pd.Series) -> bool:
    """Whether `ids` (the file's other ids) are GLDv2's: only among them is an id of 3 digits sure to be one cut
    short; a dataset of its own may be numbered so."""
    sample = ids.iloc[:10_000]  # what kind of ids the file holds: its first ones say it
    return bool(len(sample)) and sample.str.fullmatch(GLDV2_ID).fillna(False).astype(bool).mean() >= 0.5


def _pad(catalog, ids: pd.Series, padded: pd.Series, others: pd.Series, pad: np.ndarray) -> np.ndarray:
    """Write `padded` for the `pad` ones of `ids` (the short ids of catalog.df) into the catalog, id and path; a row
    whose padded id is listed too is dropped (one photo, one row). Which of them were dropped."""
    # (`isin` the few: over 4.1M values, 25 s.)
    listed = padded.isin(set(others[others.isin(padded[pad])])).to_numpy() & pad
    rows = ids.index[pad & ~listed]
    df = catalog.df.drop(index=ids.index[listed])
    df.loc[rows, "id"] = padded[pad & ~listed]
    if "path" in df.columns:  # GLDv2's path is made of the id: none to write
        df.loc[rows, "path"] = image_paths(catalog.root, df.loc[rows, "id"])
    catalog.df = df
    catalog.moved = catalog.moved.drop(index=rows, errors="ignore")
    return listed


def _found(root: Path, ids: pd.Series) -> np.ndarray:
    """Which ids have their photo on disk: in GLDv2's train/a/b/c/ or flat in train/, or in a/b/c/ without train/."""
    if not os.path.isdir(os.path.join(root, "train")):
        return _existing(_paths_without_train(root, ids))
    return _existing(image_paths(root, ids)) | _existing(_flat_paths(root, ids))


def drop_missing_files(catalog, rows: pd.Index | None = None) -> None:
    """Drop catalog rows (all, or just `rows`) whose image file does not exist; add a problem."""
    df = catalog.df
    paths = catalog.paths(rows)  # one column: taking all four costs seconds at 4.1M
    missing = paths.index[~_existing(paths)]
    if len(missing):
        fixed, several = [], {}
        # Photos saved flat, as train/<id>.jpg (a download script's choice, not Kaggle's), are found there;
        # ids written in upper case are found under GLDv2's lower-case file names, nested or flat. Without a
        # train/ folder, GLDv2's tar shards were unpacked straight into the dataset folder (a/b/c/abc.jpg).
        upper = bool(df.loc[missing, "id"].str.contains("[A-Z]", regex=True).any())  # else no second look
        tries = ([_flat_paths, _lower_case_paths, lambda root, ids: _flat_paths(root, ids.str.lower())][:3 if upper else 1]
                 if os.path.isdir(os.path.join(catalog.root, "train")) else [_paths_without_train])
        # Then the photo saved under another image extension (.JPG, .jpeg, converted to .png) where it was looked for;
        # last, anywhere else under train/ (a/b/c/ not its id's first characters: moved by hand, a merge of two copies).
        tries.append(lambda root, ids: _other_extensions(paths.loc[ids.index]))
        tries.append(lambda root, ids: twin_paths(paths.loc[ids.index], IMAGE_EXTENSIONS))  # a Mac's NFD name
        # Without train/, anywhere in the dataset folder: a train.csv of one's own beside `images/`, or its photos.
        tries.append(_misplaced_paths)
        for where in tries:
            candidates = where(catalog.root, df.loc[missing, "id"])
            if zeros := candidates.attrs.get("zeros"):  # `0001.jpg` is id 1's only when no row lists 0001 itself
                listed = set(df["id"][df["id"].isin({os.path.splitext(os.path.basename(f))[0] for f in zeros.values()})])
                zeros = {i: f for i, f in zeros.items() if os.path.splitext(os.path.basename(f))[0] not in listed}
                candidates[[i not in zeros and f in set(candidates.attrs["zeros"].values())
                            for i, f in zip(df.loc[missing, "id"], candidates)]] = ""
            there = _existing(candidates)
            # Only GLDv2's tree has a place a photo can be "not in": a dataset of one's own (images/, photos beside
            # train.csv, train/ of its own folders) keeps its photos where it likes, so a note would be noise.
            if there.any() and where is _misplaced_paths and gldv2_tree(catalog.root) and (moved := _moved(
                    catalog.root, df.loc[missing, "id"], candidates, there)).any():
                shown, n = relative_examples(candidates[moved][:3], catalog.root), int(moved.sum())
                catalog.problems.append(
                    f"{plural(n, 'photo')} not in GLDv2's folder for {'its' if n == 1 else 'their'} id (train/a/b/c/ for "
                    f"an id starting 'abc') but elsewhere under train/ (e.g. {shown}); used from there"
                    if os.path.isdir(os.path.join(catalog.root, "train")) else
                    f"{plural(n, 'photo')} not where GLDv2 keeps {'it' if n == 1 else 'them'} (a/b/c/ for an id "
                    f"starting 'abc') but elsewhere in the dataset folder (e.g. {shown}); used from there")
            several.update(candidates.attrs.get("several", {}))
            if zeros:  # a spreadsheet read `0001` as the number 1
                i, n = next(iter(zeros)), len(zeros)
                catalog.problems.append(
                    f"{plural(n, 'id')} in {catalog.csv_name} lost {'its' if n == 1 else 'their'} leading zeros (e.g. {i!r} "
                    f"for {os.path.basename(zeros[i])!r}; saved from a spreadsheet?): {'its photo' if n == 1 else 'their photos'} used")
            if there.any():
                fixed.append(pd.Series(candidates[there].to_numpy(dtype=object), index=missing[there]))
                missing = missing[~there]
            if not len(missing):
                break
        if fixed and "path" in df.columns:
            column = df["path"].to_numpy(dtype=object).copy()
            for found in fixed:
                column[df.index.get_indexer(found.index)] = found.to_numpy()
            df = catalog.df = df.assign(path=pd.array(column, dtype=TEXT))
        elif fixed:  # GLDv2's layout keeps only the paths that are not made of the id
            moved = pd.concat([catalog.moved.astype(object), *fixed])
            catalog.moved = moved[~moved.index.duplicated(keep="last")]
        if several:  # a camera's IMG_1.JPG beside an editor's IMG_1.jpg: maybe two photos, and one is used
            i, twins = next(iter(several.items()))  # not `paths`: the rows' paths are named below
            shown = ", ".join(repr(os.path.basename(p)) for p in twins)
            catalog.problems.append(
                f"{plural(len(several), 'id')} {have(len(several))} photos under several extensions (e.g. {i!r}: {shown}); "
                f"{os.path.basename(_pick(twins))!r} used (the .jpg first, else the first by name): rename the "
                "others if they are photos of their own")
    if len(missing):
        # `abc` in GLDv2's tree: its form named, with its line (glr.data.id_cells), not only the path looked at.
        odd = not_gldv2_ids(df.loc[missing, "id"], Path(catalog.root) / catalog.csv_name) if gldv2_tree(catalog.root) else None
        catalog.problems.append(f"{plural(len(missing), 'image file')} listed in {catalog.csv_name} not found "
                                f"({_looked_for(catalog.root, paths.loc[missing[:3]])}); skipped{'; ' + odd if odd else ''}")
        keep = np.ones(len(df), dtype=bool)
        keep[df.index.get_indexer(missing)] = False
        catalog.df = df[keep]  # a boolean filter: half the time of drop(index=...) at GLDv2's size


def gldv2_tree(root: Path) -> bool:
    """Whether the dataset keeps its photos in GLDv2's tree: train/a/b/c/, or a/b/c/ in the dataset folder itself
    (GLDv2's tar shards unpacked there)."""
    train = Path(root) / "train"
    if train.is_dir():
        return looks_like_gldv2_images(train)
    try:
        folders = [p.name for p in Path(root).iterdir()
                   if p.is_dir() and not p.name.startswith(".") and not is_system_folder(p.name)]
    except OSError:
        return False
    return bool(folders) and all(len(f) == 1 and f in "0123456789abcdef" for f in folders)


def _moved(root: Path, ids: pd.Series, found: pd.Series, there: np.ndarray) -> np.ndarray:
    """Which of the photos `found` (those `there`) sit outside their id's GLDv2 folder: one found in it under no
    extension (`train/a/b/c/abc`) was not moved."""
    home = (image_paths(root, ids) if os.path.isdir(os.path.join(root, "train")) else _paths_without_train(root, ids))
    return there & np.array([os.path.dirname(str(f)) != os.path.dirname(h) for f, h in zip(found, home)], dtype=bool)


def _looked_for(root: Path, paths: pd.Series) -> str:
    """Where the photos of `paths` (GLDv2's path of each missing id) were looked for, as a note shows it: GLDv2's
    path in its tree; else the file's name and the folder searched (`train/5/5.jpg` means nothing without train/)."""
    if gldv2_tree(root):
        return f"e.g. {relative_examples(paths, root)}"
    where = "under train/" if os.path.isdir(os.path.join(root, "train")) else "in the dataset folder"
    return f"e.g. {examples(os.path.basename(p) for p in paths)}, looked for anywhere {where}"


def _flat_paths(root: Path, ids: pd.Series) -> pd.Series:
    """root/train/<id>.jpg for each id."""
    return pd.Series([os.path.join(root, "train", f"{i}.jpg") for i in ids], index=ids.index, dtype=object)


def _paths_without_train(root: Path, ids: pd.Series) -> pd.Series:
    """root/a/b/c/abc....jpg for each id: GLDv2's nesting, in the dataset folder itself."""
    return image_paths(root, ids).str.replace(f"{root}/train/", f"{root}/", n=1, regex=False).astype(object)


def _misplaced_paths(root: Path, ids: pd.Series) -> pd.Series:
    """Where under root/train (root without one) each id's photo is (an image file named `<id>.<ext>`, in any
    case, else a file named `<id>` alone that starts as a photo), wherever it sits.

    One walk of train/ in sorted order, made only when photos are missing from their places, and at most
    WALK_FILES names long: 100,000 names took 0.47 s here, so all of GLDv2's 4.1M would cost 5-20 s on
    every load of a copy that lacks a few photos. Hidden and system folders are passed over, as everywhere.
    """
    from glr.data.layouts import IMAGE_EXTENSIONS, is_system_file, is_system_folder

    # In NFC: a Mac writes names decomposed (NFD), train.csv most often not.
    wanted, where, bare, zeros, budget = set(ids.str.normalize("NFC").str.lower()), {}, {}, {}, WALK_FILES
    top = os.path.join(root, "train") if os.path.isdir(os.path.join(root, "train")) else root
    for folder, subfolders, files in os.walk(top):
        budget -= len(files)
        if budget < 0:
            break
        subfolders[:] = sorted(d for d in subfolders if not is_system_folder(d))
        for name in sorted(files):
            stem, ext = os.path.splitext(name)
            stem = unicodedata.normalize("NFC", stem)
            # (is_system_file last: a Path per name costs a second over GLDv2's files.)
            if stem.lower() in wanted and ext.lower() in IMAGE_EXTENSIONS:
                kind, key = where, stem.lower()
            elif stem[:1] == "0" and stem.lstrip("0") in wanted and re.fullmatch("[0-9]+", stem) and ext.lower() in IMAGE_EXTENSIONS:
                kind, key = zeros, stem.lstrip("0")  # `0001.jpg` for id 1
            elif ext.lower() not in IMAGE_EXTENSIONS and (key := unicodedata.normalize("NFC", name).lower()) in wanted:
                # `IMG_1`: no extension at all
                kind = bare
            else:
                continue
            if not is_system_file(Path(name)):
                kind.setdefault(key, []).append(os.path.join(folder, name))
    keys = ids.str.normalize("NFC").str.lower()
    found = pd.Series([_pick(where.get(k, [])) or next(filter(is_photo, bare.get(k, [])), "") or
                       (zeros[k][0] if len(zeros.get(k, [])) == 1 else "") for k in keys], index=ids.index, dtype=object)
    found.attrs["several"] = {i: where[k] for i, k in zip(ids, keys) if len(where.get(k, [])) > 1}
    # Only a photo of one width is a sure match: `01.jpg` beside `001.jpg` leaves id 1 not found.
    found.attrs["zeros"] = {i: f for i, k, f in zip(ids, keys, found) if f and k in zeros and f in zeros[k]}
    return found


def is_photo(path: str) -> bool:
    """Whether a file of no image extension (`IMG_1`, as some cameras' cards and scripts leave them) starts as a photo
    glr decodes (photo_start; False too when it cannot be read). (The exported predict.py copies it.)"""
    return photo_start(path) is True


def photo_start(path: str) -> bool | OSError:
    """Whether a file of no image extension (`IMG_1`, as some cameras' cards and scripts leave them) starts as a photo
    glr decodes, or the OSError that kept its first bytes from being read (no right to read it, gone since its folder
    was listed): a caller says why it is skipped without opening it again, when it may be readable or back by then.
    Only a few are asked (ids still missing), and a weak magic is not enough: a text file may start `BM`, so a BMP's
    header must give the file's own size, that of the file opened. (The exported predict.py copies it.)"""
    try:
        with open(path, "rb") as f:
            head, size = f.read(64), os.fstat(f.fileno()).st_size
    except OSError as exc:
        return exc
    return starts_as_photo(head, size)


def starts_as_photo(head: bytes, size: int) -> bool:
    """Whether a file of `size` bytes whose first bytes are `head` (64 are enough) starts as a photo glr decodes: its
    magic bytes, and a BMP's header giving the file's own size. One rule for a file (is_photo) and a zip's member."""
    from glr.data.sniff import looks_like

    kind = looks_like(head)
    return kind is not None and (kind != "BMP" or int.from_bytes(head[2:6], "little") == size)


def _pick(paths: list[str]) -> str:
    """Of the files found for one id (`IMG_1.JPG`, `IMG_1.jpeg`, `IMG_1.jpg`), GLDv2's `.jpg` if there, else the first
    by name; "" for none."""
    return next((p for p in paths if p.endswith(".jpg")), paths[0] if paths else "")


def _lower_case_paths(root: Path, ids: pd.Series) -> pd.Series:
    """GLDv2's nested path of each id in lower case (its file names are lower-case hex)."""
    return image_paths(root, ids.str.lower()).astype(object)


def _other_extensions(paths: pd.Series) -> pd.Series:
    """Each path with the extension of an image file of the same name in its folder (`abc.JPG`, `abc.png` for
    `abc.jpg`), the path as it is when there is none; each folder is listed once."""
    from glr.data.layouts import IMAGE_EXTENSIONS

    named: dict[str, dict[str, list[str]]] = {}
    out, several = [], {}
    for path in paths.astype(str):
        folder, name = os.path.split(path)
        if folder not in named:
            try:
                names = os.listdir(folder or os.sep)
            except OSError:
                names = []
            named[folder] = {}
            for n in sorted(names):
                stem, ext = os.path.splitext(n)
                if ext.lower() in IMAGE_EXTENSIONS:
                    named[folder].setdefault(stem, []).append(os.path.join(folder, n))
        found = named[folder].get(os.path.splitext(name)[0], [])
        out.append(_pick(found) or path)
        if len(found) > 1:
            several[os.path.splitext(name)[0]] = found
    result = pd.Series(out, index=paths.index, dtype=object)
    result.attrs["several"] = several
    return result


def _existing(paths: pd.Series) -> np.ndarray:
    """Which of `paths` exist, listing each folder once instead of a stat call per path.

    GLDv2 spreads its photos over 4,096 folders (train/a/b/c), so a million paths cost a few
    thousand listings: seconds less than a million stats, and nothing when train/ is absent.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    if paths.empty:
        return np.zeros(0, dtype=bool)
    # Arrow-backed text converts without a copy; anything else (object dtype) is converted once.
    arr = pa.array(paths.array) if hasattr(paths.array, "__arrow_array__") else pa.array(paths.astype(str), pa.string())
    folders = pc.unique(pc.replace_substring_regex(arr, pattern=r"[\\/][^\\/]*$", replacement=""))
    found = []
    for folder in folders.to_pylist():
        try:
            found += [os.path.join(folder, name) for name in os.listdir(folder or os.sep)]
        except OSError:  # absent, or not a folder: nothing in it exists
            pass
    return pc.is_in(arr, value_set=pa.array(found, arr.type)).to_numpy(zero_copy_only=False)



def relative_examples(paths, root: str | os.PathLike | None) -> str:
    """`examples` of `paths`, each shown relative to the dataset's `root` (as given when there is none)."""
    return examples(os.path.relpath(p, root) if root else str(p) for p in paths)

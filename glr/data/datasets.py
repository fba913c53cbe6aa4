"""Read a landmark dataset into a catalog, curate the top-N classes and split them.

`load_catalog` reads either layout `glr.data.layouts` understands (GLDv2's `train.csv`, or
one folder per class) into a `Catalog`, checking that the listed image files exist (`glr.data.photo_files`);
`curate` keeps the top-N classes and makes a seeded, stratified train/validation split.

Reading never opens an image, so GLDv2's full 4.1M-row `train.csv` takes seconds. Problems
that only affect some rows (a missing file, a duplicate id, a label that is not an integer)
drop those rows and become messages in `Catalog.problems`; problems that make the dataset
unreadable raise `DatasetError`.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from glr.data import class_names, gldv2_files
from glr.data.class_access import package_kind, sub_folders
# The curation defaults sit in a module that imports nothing, so the command line reads them without sklearn.
from glr.data.curation_defaults import (  # noqa: F401 - read from here too
    DEFAULT_MIN_IMAGES, DEFAULT_SEED, DEFAULT_TOP_N, DEFAULT_VAL_FRACTION, MAX_SEED, TRAIN_MIN_CLASSES,
)
from glr.data.id_order import sort_by_id
from glr.data.stratified_split import check_split_settings, stratified_split  # noqa: F401 - read from here too
from glr.data.dataset_path import archive_kind, dataset_root, locate, name_twins  # noqa: F401 - read from here too
from glr.data.layouts import (
    ARCHIVES, IMAGE_EXTENSIONS, SAFE_ID_PATTERN, TRAIN_CSV, category_to_name, examples, is_system_folder,
    image_paths, looks_like_gldv2_images, plural, read_class_folders, read_gldv2,
)
from glr.data.photo_files import drop_missing_files, relative_examples, restore_leading_zeros  # noqa: F401 - relative_examples: read from here too
from glr.errors import DatasetError

# The reading API callers use. The layout constants and `category_to_name` are
# `glr.data.layouts`'; they are part of it so callers need one module only.
__all__ = [
    "Catalog", "Split", "load_catalog", "curate", "curated_rows", "summarize", "category_to_name",
    "IMAGE_EXTENSIONS", "SAFE_ID_PATTERN", "TRAIN_CSV", "MAX_ROWS_TO_CHECK",
    "DEFAULT_TOP_N", "DEFAULT_MIN_IMAGES", "DEFAULT_VAL_FRACTION", "DEFAULT_SEED", "MAX_SEED", "TRAIN_MIN_CLASSES",
]

# Above this many rows, checking every file on disk costs more than it tells; curation
# checks the files of the classes it keeps instead.
MAX_ROWS_TO_CHECK = 200_000



@dataclass
class Catalog:
    """The images of a dataset: `df` has columns id, landmark_id, name (and path, for class folders); `paths()` gives
    each row's image file, in either layout."""

    root: Path
    layout: str
    df: pd.DataFrame
    problems: list[str] = field(default_factory=list)
    # True while the image files have not been checked yet; curation then checks the
    # files of the classes it keeps (see MAX_ROWS_TO_CHECK).
    check_pending: bool = False
    # GLDv2's paths are not kept: each is made of the root and the id (train/a/b/c/abc....jpg), and as a column they
    # took 234 MB of the 0.48 GB table at 4.1M rows. Only a photo found elsewhere (train/abc.jpg, abc.png) is kept
    # here: df's index label -> its path.
    moved: pd.Series = field(default_factory=lambda: pd.Series(dtype=object))
    csv_name: str = TRAIN_CSV  # the CSV read, as the notes on its rows name it (GLDv2's train_clean.csv, given as such)

    def paths(self, rows: pd.Index | None = None) -> pd.Series:
        """The image path of each row of `df` (all, or those of the index labels `rows`), on `df`'s index."""
        if "path" in self.df.columns:  # class folders: names of their own, kept as read
            return self.df["path"] if rows is None else self.df.loc[rows, "path"]
        paths = image_paths(self.root, self.df["id"] if rows is None else self.df.loc[rows, "id"])
        if len(self.moved) and (hit := paths.index.isin(self.moved.index)).any():
            paths = paths.copy()
            paths[hit] = self.moved.reindex(paths.index[hit]).to_numpy()
        return paths

    def paths_by_id(self) -> pd.Series:
        """id -> image path (an id listed twice: its first row's)."""
        first = ~self.df["id"].duplicated().to_numpy()
        return pd.Series(self.paths(self.df.index[first]).to_numpy(), index=self.df["id"].to_numpy()[first])

    @property
    def class_counts(self) -> pd.Series:
        """Images per landmark_id, largest first; classes of equal size by landmark_id, whatever the rows' order."""
        counts = self.df["landmark_id"].value_counts()
        order = np.lexsort((counts.index.to_numpy(), -counts.to_numpy()))
        return counts.iloc[order]

    def names(self) -> dict[int, str]:
        """landmark_id -> readable name."""
        # Each class's first row found on the ints, then its name taken: drop_duplicates of the table costs seconds at 4.1M.
        first = np.flatnonzero(~self.df["landmark_id"].duplicated().to_numpy())
        return dict(zip(self.df["landmark_id"].to_numpy()[first].astype(int).tolist(), self.df["name"].iloc[first]))


@dataclass
class Split:
    """A curated, stratified train/validation split of a catalog."""

    train: pd.DataFrame
    val: pd.DataFrame
    labels: pd.DataFrame  # class index -> landmark_id, name, images
    messages: list[str] = field(default_factory=list)

    @property
    def num_classes(self) -> int:
        """Number of kept classes."""
        return len(self.labels)

    def table(self, paths: bool = False) -> pd.DataFrame:
        """One row per image: id, landmark_id, split ("train" or "val"), and the path if asked."""
        parts = [self.train.assign(split="train"), self.val.assign(split="val")]
        columns = ["id", "landmark_id", "split"] + (["path"] if paths else [])
        return pd.concat(parts, ignore_index=True)[columns]

    def fingerprint(self) -> str:
        """A short hash of the split (ids, classes, sides): it changes if the data changes."""
        # Runs recorded the hash of `sort_by_id(self.table()).to_csv(index=False)`: the same text is hashed, made by
        # Arrow (to_csv took 4-12 s at GLDv2's 4.1M rows); ids or classes of another kind are written by to_csv still.
        ids, classes = (pd.concat([self.train[c], self.val[c]], ignore_index=True) for c in ("id", "landmark_id"))
        val = np.arange(len(ids)) >= len(self.train)
        table = sort_by_id(pd.DataFrame({"id": ids, "landmark_id": classes, "val": val}))
        if (lines := _csv_lines(table)) is None:
            return hashlib.sha1(sort_by_id(self.table()).to_csv(index=False).encode()).hexdigest()[:16]
        digest = hashlib.sha1(f"id,landmark_id,split{os.linesep}".encode())
        for chunk in (c for c in lines.chunks if len(c)):  # each chunk's text: its lines one after another
            ends = np.frombuffer(chunk.buffers()[1], np.int64)[chunk.offset:chunk.offset + len(chunk) + 1]
            digest.update(memoryview(chunk.buffers()[2])[ends[0]:ends[-1]])
        return digest.hexdigest()[:16]


def _csv_lines(table: pd.DataFrame) -> pa.ChunkedArray | None:
    """The lines `table.to_csv` writes for its rows (id, landmark_id, and "val" as the side: val or train), or None
    when it writes them otherwise than as the text and numbers they are (an id missing, a class no integer)."""
    try:
        ids, classes = (pa.chunked_array(pa.array(table[c])) for c in ("id", "landmark_id"))
        ids = ids.cast(pa.large_string()) if pa.types.is_string(ids.type) or pa.types.is_large_string(ids.type) else None
    except (pa.ArrowException, TypeError, ValueError):
        return None
    if ids is None or ids.null_count or classes.null_count or not pa.types.is_integer(classes.type):
        return None
    text = pa.large_string()
    sides = pc.if_else(table["val"].to_numpy(), *(pa.scalar(s + os.linesep, text) for s in ("val", "train")))
    lines = pc.binary_join_element_wise(ids, pc.cast(classes, text), sides, pa.scalar(",", text))
    # An id with a comma, a quote or a line break is quoted: its rows are written by the csv module, as to_csv does.
    odd = pc.match_substring_regex(ids, '[,"\r\n]').to_numpy(zero_copy_only=False)
    if odd.any():
        out = io.StringIO()
        writer, rows = csv.writer(out, lineterminator=os.linesep), zip(
            table["id"][odd], table["landmark_id"][odd], np.where(table["val"][odd], "val", "train"))
        ends = np.cumsum([writer.writerow((i, str(c), s)) for i, c, s in rows])
        written = [out.getvalue()[a:b] for a, b in zip(np.r_[0, ends[:-1]], ends)]  # writerow: the characters written
        lines = pc.replace_with_mask(lines.combine_chunks(), odd, pa.array(written, text))
    return pa.chunked_array([lines]) if isinstance(lines, pa.Array) else lines


def load_catalog(path: str | os.PathLike, check_files: bool | None = None) -> Catalog:
    """Read a dataset folder (GLDv2 layout or one folder per class) into a Catalog.

    `path` may also be a GLDv2 `train.csv` itself. `check_files=True` drops rows whose
    image is missing; None (the default) does so for up to MAX_ROWS_TO_CHECK rows and
    leaves larger catalogs to `curate`, which checks only the classes it keeps; False never
    checks (for a CSV without its images). Raises `DatasetError` when nothing usable can
    be read.
    """
    root, note = locate(path)
    catalog = _load_catalog(root, check_files)
    if note:
        catalog.problems.insert(0, note)
    return catalog


def _load_catalog(root: Path, check_files: bool | None) -> Catalog:
    """`load_catalog` of a path that is there."""
    if root.is_file():
        if root.name.lower().endswith(".csv"):
            return _load_gldv2(root.parent, root, check_files)
        # A photo pasted from a class folder: name the folder above the class folders, most likely the dataset.
        photo = (f" (a photo: for one folder of photos per class, that is the folder above the class folders, "
                 f"{root.parent.parent})") if root.suffix.lower() in IMAGE_EXTENSIONS else ""
        if (kind := archive_kind(root) or ("an archive" if root.name.lower().endswith(ARCHIVES) else None)):
            photo = f" ({kind}: unpack it first, and point glr at the folder it gives" + (
                "; or make a dataset of it on the app's Dataset page (Upload photos), which reads a zip of one folder "
                "of photos per class)" if kind == "a zip archive" else ")")
        raise DatasetError(f"{root}: is a file; point glr at a dataset folder or at its train.csv{photo}")
    if not os.access(root, os.R_OK | os.X_OK):
        raise DatasetError(f"{root}: permission denied, the folder cannot be read")
    if kind := package_kind(root):  # a folder Finder shows as one file; a photo library keeps thumbnails beside photos
        raise DatasetError(f"{root}: {kind} (a macOS package), not a dataset folder" + (
            "; glr does not read inside a photo library: export its photos (Photos: File > Export) into one folder "
            "per class, and point glr at the folder holding those" if "library" in kind else ""))
    csv = root / TRAIN_CSV
    if not (csv.exists() or csv.is_symlink()):
        # `TRAIN.CSV` or `Train.csv`, as a copy from Windows or a camera card may name it: the same file.
        csv = next((p for p in sorted(p for p in root.iterdir() if p.name.lower() == TRAIN_CSV) if p.is_file()), csv)
    if csv.exists() or csv.is_symlink():
        try:
            catalog = _load_gldv2(root, csv, check_files)
            # GLDv2's download has train_clean.csv beside train.csv: which of the two was read is said.
            catalog.problems += [note] if (note := gldv2_files.clean_beside(root, csv)) else []
            return catalog
        except DatasetError as exc:
            # One folder of photos (`images/`, beside a CSV of one's own) is no dataset of classes: not offered.
            if (root / "train").is_dir() or len(classes := _class_folders_with_photos(root)) < 2:
                raise
            # A CSV of the user's own (photo notes, a label list) beside class folders: the folders were never read.
            raise DatasetError(f"{str(exc).rstrip('.')}. This folder also holds class folders of photos (e.g. "
                               f"{examples(classes)}): to read those as the dataset, move {csv.name} out of it") from None
    # Each listing here filters the names before it sorts: sorting 50,000 class folders' Paths cost a second.
    packed = min((p.name for p in root.iterdir() if p.name.lower().startswith(TRAIN_CSV + ".")
                  and p.name.lower().endswith(ARCHIVES)), default=None)
    if packed:  # Kaggle's download of one file is zipped: train.csv.zip
        tool = {"zip": "unzip", "gz": "gunzip"}.get(packed.rsplit(".", 1)[-1].lower())
        raise DatasetError(f"{root}: has {packed} but no {TRAIN_CSV}; unpack it here"
                           + (f" (`{tool} {packed}`)" if tool else "") + ", then try again")
    inner = _inner_gldv2(root)
    if inner:  # a GLDv2 folder unzipped into a folder of its own: its train/ tree would be read as one class
        raise DatasetError(f"{root}: has no {TRAIN_CSV}, but its only folder '{inner.name}' does; point glr at {inner}")
    if looks_like_gldv2_images(root) and looks_like_gldv2_images(next(p for p in sorted(root.iterdir()) if p.is_dir())):
        # GLDv2's images folder itself (train/a/b/c/): read as class folders, "0" to "f" would be 16 classes.
        above = f"point glr at the folder above it, {root.parent}" + ("" if (root.parent / TRAIN_CSV).is_file() else
                                                                       f", with {TRAIN_CSV} put there")
        raise DatasetError(f"{root}: is GLDv2's folder of images (a/b/c/abc.jpg), not one folder per class; {above}")
    if inside := gldv2_files.inside_images_tree(root):
        raise DatasetError(inside)
    if looks_like_gldv2_images(root / "train"):
        # Without this, the whole train/ tree would be read as one class named "train".
        clean = min((p for p in root.iterdir() if p.name.lower() == "train_clean.csv"), default=None)
        raise DatasetError(f"{root}: has GLDv2's train/ folder of images but no {TRAIN_CSV}; " + (
            f"point glr at {clean} to read the cleaned subset it lists" if clean else
            f"put {TRAIN_CSV} (columns id,landmark_id) beside train/"))
    df, problems = read_class_folders(root)
    df, named = class_names.names_from_category_file(root, df)
    problems += named + class_names.look_alike_classes(df) + _one_level_up(root, df) + class_names.unnamed_classes(df)
    problems += class_names.windows_unsafe_folders(df)
    return Catalog(root=root, layout="folders", df=class_names.distinct_names(df, folders=True), problems=problems)


def _class_folders_with_photos(root: Path) -> list[str]:
    """The names of `root`'s folders that hold a photo directly (the first 3 such, in order), [] if none."""
    found = []
    with contextlib.suppress(OSError):
        for folder in sub_folders(root):
            with contextlib.suppress(OSError):
                if any(f.suffix.lower() in IMAGE_EXTENSIONS for f in folder.iterdir()):
                    found.append(folder.name)
            if len(found) == 3:
                break
    return found


def _inner_gldv2(root: Path) -> Path | None:
    """The folder inside `root` that holds a train.csv, when it is `root`'s only folder (an unzipped GLDv2)."""
    try:
        folders = sub_folders(root)
    except OSError:
        return None
    # os.path: a folder that cannot be listed (another user's) is no GLDv2 folder, where Path.is_file() would raise.
    if len(folders) != 1 or not os.path.isfile(folders[0] / TRAIN_CSV):
        return None
    return folders[0]


def _one_level_up(root: Path, df: pd.DataFrame) -> list[str]:
    """A note when the only class folder keeps its photos in sub-folders (`photos/Tower`, `photos/Bridge`): most
    likely the dataset one level down, as unzipping into a folder of the same name leaves it."""
    parts = df["id"].str.split("/")
    if df["landmark_id"].nunique() != 1 or not (parts.str.len() > 2).all():
        return []
    inner = sorted(set(parts.str[1]))
    if len(inner) < 2:
        return []
    top = parts.iloc[0][0]
    return [f"the only class folder, {top!r}, keeps its photos in {len(inner)} sub-folders (e.g. "
            f"{examples(inner)}): if those are the classes, point glr at {root / top}"]


def _load_gldv2(root: Path, csv: Path, check_files: bool | None) -> Catalog:
    """A GLDv2 folder's catalog, its image files checked as `load_catalog` documents."""
    df, problems = read_gldv2(root, csv)
    problems += class_names.landmarks_named_alike(df)
    catalog = Catalog(root=root, layout="gldv2", df=class_names.distinct_names(df, folders=False), problems=problems,
                      csv_name=csv.name)
    restore_leading_zeros(catalog)  # before the file check, and without it: `fetch` looks for the photos by id
    if check_files or (check_files is None and len(df) <= MAX_ROWS_TO_CHECK):
        drop_missing_files(catalog)
    else:
        catalog.check_pending = check_files is None
    if catalog.df.empty:
        raise DatasetError(f"{root}: no usable images; " + "; ".join(catalog.problems or ["train.csv lists none"]))
    return catalog


def _sentence(message: str) -> str:
    """`message` starting as a sentence; one that starts with a file or folder name keeps its case, as on disk."""
    first = message.split(" ", 1)[0]
    return message if any(c in first for c in "./\\'\"") else message[:1].upper() + message[1:]


def curate(
    catalog: Catalog,
    top_n: int = DEFAULT_TOP_N,
    min_images: int = DEFAULT_MIN_IMAGES,
    val_fraction: float = DEFAULT_VAL_FRACTION,
    seed: int = DEFAULT_SEED,
    min_classes: int = 1,
) -> Split:
    """Keep the top-N classes by image count (`top_n=0`: every class) and make a seeded, stratified train/val split.

    Every kept class has at least one image in train and one in validation. Classes with
    fewer than `min_images` (at least 2, the least that can be split) are dropped and named.
    DatasetError when fewer than `min_classes` are kept (training asks for 2: one class is nothing to tell apart).
    """
    check_split_settings(val_fraction, seed)
    data, labels, messages = curated_rows(catalog, top_n, min_images, min_classes)
    train, val = stratified_split(data, val_fraction, seed)
    index_of = dict(zip(labels["landmark_id"], labels["index"]))
    train = train.assign(label=train["landmark_id"].map(index_of).astype(int))
    val = val.assign(label=val["landmark_id"].map(index_of).astype(int))
    return Split(train=train.reset_index(drop=True), val=val.reset_index(drop=True), labels=labels, messages=messages)


def curated_rows(catalog: Catalog, top_n: int = DEFAULT_TOP_N, min_images: int = DEFAULT_MIN_IMAGES,
                 min_classes: int = 1) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    """(the rows of the classes `curate` keeps, sorted by id and with their paths; its labels; its messages), without
    the split: `glr fetch` needs only which photos, and the split's sklearn costs 2-4 s to import."""
    if top_n < 0:
        raise DatasetError(f"top_n must be at least 1 (or 0 for every class), got {top_n}")
    top_n = top_n or len(catalog.class_counts)
    min_images = max(2, int(min_images))
    messages: list[str] = []
    found = []  # what the file check finds goes to catalog.problems, which every caller shows beside `messages`

    if catalog.check_pending:
        # Check files only for classes that could make the cut: a few times top_n.
        ranked = catalog.class_counts
        candidates = ranked.index[: max(top_n * 3, top_n + 50)]
        before = len(catalog.problems)
        drop_missing_files(catalog, catalog.df.index[catalog.df["landmark_id"].isin(candidates)])
        found = catalog.problems[before:]
        df = catalog.df[catalog.df["landmark_id"].isin(candidates)]
    else:
        df = catalog.df

    counts = df["landmark_id"].value_counts()
    counts = counts.iloc[np.lexsort((counts.index.to_numpy(), -counts.to_numpy()))]  # as class_counts: ties by id
    # With no class big enough, every class is named as too small: a top-N cut of them would hide most of them.
    top = counts.iloc[:top_n] if len(counts) and counts.iloc[0] >= min_images else counts
    # A tie among classes too small to keep is no tie: they go whatever the top-N.
    if top_n < len(counts) and counts.iloc[top_n] == top.iloc[-1] and top.iloc[-1] >= min_images:
        tied = int((counts == top.iloc[-1]).sum())
        first = "with the lowest landmark_id" if catalog.layout == "gldv2" else "first by folder name"
        messages.append(f"the top {top_n} cut through {tied:,} classes of {top.iloc[-1]:,} images each: the "
                        f"{int((top == top.iloc[-1]).sum()):,} {first} kept (a tie; a larger top-N keeps more)")
    small = top[top < min_images]
    if len(small):
        names = catalog.names()
        listed = ", ".join(f"{names.get(int(i), i)} ({n})" for i, n in small.iloc[:10].items())
        more = f" and {len(small) - 10:,} more" if len(small) > 10 else ""
        messages.append(
            f"Dropped {plural(len(small), 'class')} with fewer than {min_images} images "
            f"(too small to split into train and validation): {listed}{more}"
        )
    kept = top[top >= min_images]
    if kept.empty:
        raise DatasetError(
            f"no class has at least {min_images} images, so nothing can be split into train and validation"
            + "".join(f". {m}" for m in found + messages)
        )
    if len(kept) < min_classes:
        left = examples(catalog.names().get(int(i), f"landmark {i}") for i in kept.index)
        raise DatasetError(
            f"only {plural(len(kept), 'class')} ({left}) left to train on, and a classifier needs at least "
            f"{min_classes} landmarks to tell apart" + (f" (top-N is {top_n})" if top_n < min_classes else "")
            # The catalog's problems too: one may say why (a dataset one folder down, read as a single class).
            + "".join(f". {_sentence(m)}" for m in [p for p in catalog.problems if p not in found] + found + messages)
        )
    # Sort by count then id so the class order, and thus class indices, are reproducible.
    kept = kept.rename("images").reset_index().sort_values(["images", "landmark_id"], ascending=[False, True])
    # GLDv2's ids sorted as numbers: ordering the text took 7-10 s at 4.1M rows.
    data = sort_by_id(df[df["landmark_id"].isin(kept["landmark_id"])])
    # The kept rows' paths, made in order (GLDv2's are made here, the catalog keeps none): training reads the split's.
    if "path" not in data.columns:
        data.insert(1, "path", catalog.paths(data.index))
    data = data.reset_index(drop=True)
    names = catalog.names()
    labels = pd.DataFrame({
        "index": range(len(kept)),
        "landmark_id": kept["landmark_id"].astype(int).to_numpy(),
        "name": [names.get(int(i), f"landmark {i}") for i in kept["landmark_id"]],
        "images": kept["images"].astype(int).to_numpy(),
    })
    return data, labels, messages


def summarize(catalog: Catalog) -> dict:
    """Counts for display: classes, images, and per-class min/median/max."""
    counts = catalog.class_counts
    return {
        "root": str(catalog.root),
        "layout": catalog.layout,
        "classes": int(len(counts)),
        "images": int(len(catalog.df)),
        "per_class_min": int(counts.min()),
        "per_class_median": float(counts.median()),
        "per_class_max": int(counts.max()),
        "problems": len(catalog.problems),
    }

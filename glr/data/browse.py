"""What the Dataset page shows of a catalog: galleries, thumbnails, image sizes, recent datasets.

Plain functions of paths and DataFrames, tested without a browser; nothing here imports
streamlit or TensorFlow.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np
import pandas as pd

from glr.atomic import read_json, write_json
from glr.data.class_index import ClassIndex, GalleryPage  # noqa: F401 - GalleryPage is part of this API
from glr.data.dataset_path import on_disk
from glr.errors import ImageError
from glr.paths import cache_dir, demo_dir

RECENT_FILE = "recent_datasets.json"  # under glr.paths.cache_dir()
RECENT_LIMIT = 8
THUMBNAIL_PX = 160
SIZE_SAMPLE = 200  # image headers read for the size statistics
EXAMPLES_PER_CLASS = 4


def dataset_label(path: str | None) -> str:
    """How the app names a dataset choice: "the demo dataset" for None, else the path."""
    return "the demo dataset" if not path else str(path)


def typed_path(text: str) -> str:
    """A dataset path as typed or pasted, cleaned: trimmed, one pair of surrounding quotes and a
    `file://` prefix removed (a file manager's "copy path" and a dragged folder add them), a terminal's
    backslash escapes undone when only the unescaped folder exists, environment variables expanded, a
    trailing slash dropped, so one folder is one entry in the recent list, and `~` expanded."""
    from urllib.parse import unquote, urlsplit

    text = text.strip()
    quoted = len(text) >= 2 and text[0] == text[-1] and text[0] in "'\""
    if quoted and not Path(text).expanduser().exists():  # a folder really named 'x' is left alone
        text = text[1:-1].strip()
    if text.lower().startswith("file://"):
        text = unquote(urlsplit(text).path)
    # A folder dragged into a terminal (macOS, Linux) comes out escaped for the shell: `My\ Photos\ \(2024\)`.
    unescaped = re.sub(r"\\([^A-Za-z0-9])", r"\1", text)
    if unescaped != text and not Path(text).expanduser().exists() and Path(unescaped).expanduser().exists():
        text = unescaped
    # `$HOME/photos` or `${DATA}` copied from a shell script or a README: expanded as the shell would for the CLI
    # (an unset variable stays as typed), unless a folder really is named so.
    if "$" in text and not Path(text).expanduser().exists():
        text = os.path.expandvars(text)
    # "~" made absolute here: the run records the path, and the Results and Predict pages read it back.
    return os.path.expanduser(text.rstrip("/\\") or text[:1])


def dataset_stamp(path: str | os.PathLike | None, memo: dict | None = None) -> float:
    """A number that changes when the dataset at `path` (None: the demo) is rewritten.

    The latest modification time of the folder, its `train.csv` and its class folders (0 if absent):
    a cache keyed on it reloads a dataset that was regenerated or edited, or had photos added.
    `memo`: a dict the caller keeps for one rerun of a page; a folder's stamp found once is read from it
    again. Every class folder is looked at (30-50 ms at 10,000 of them), and the Dataset page asked 5 times
    per rerun; a new dict for the next rerun sees what changed since.
    """
    try:
        root = Path(path).expanduser() if path else demo_dir()
    except RuntimeError:  # "~nouser/x": no folder to stamp; load_catalog names the problem
        return 0.0
    if memo is None:
        return _stamp(root)
    key = str(root)  # the demo as None or as its path, "~/x" or its home: one folder, one entry
    if key not in memo:
        memo[key] = _stamp(root)
    return memo[key]


def _stamp(root: Path) -> float:
    """dataset_stamp of the folder `root`, looked at now."""
    if "\x00" in str(root):  # no such path (os.stat raises ValueError): load_catalog says why
        return 0.0
    # The folder load_catalog reads: a path typed in NFC for a folder named in NFD stamps that folder, not 0 for ever.
    root = on_disk(root) or root
    stamps = []
    for candidate in (root, root / "train.csv", root / ".complete"):
        try:
            stamps.append(candidate.stat().st_mtime)
        except OSError:
            pass
    # A photo added to or deleted from a class folder changes that folder's time, not the dataset's: each class
    # folder is looked at too (inside train/, val/ ... as well), or the page would show the old counts.
    stamps += _folder_stamps(root, depth=2)
    # GLDv2 keeps its photos three folders down (train/a/b/c/): a photo `glr fetch` added changes only c's time.
    stamps += _tree_stamps(root / "train", depth=3)
    return max(stamps, default=0.0)


def _tree_stamps(folder: Path, depth: int) -> list[float]:
    """The modification times of the folders of GLDv2's images tree under `folder` (named by one hex digit), `depth`
    levels down: 4,368 folders at GLDv2's size, none when `folder` is no such tree."""
    stamps = []
    try:
        with os.scandir(folder) as entries:
            for entry in entries:
                if len(entry.name) == 1 and entry.name in "0123456789abcdef" and entry.is_dir():
                    stamps.append(entry.stat().st_mtime)
                    if depth > 1:
                        stamps += _tree_stamps(Path(entry.path), depth - 1)
    except OSError:
        pass
    return stamps


def _folder_stamps(folder: Path, depth: int) -> list[float]:
    """The modification times of the folders in `folder`, and `depth` - 1 levels down inside split folders."""
    from glr.data.layouts import SPLIT_FOLDERS

    stamps = []
    try:
        with os.scandir(folder) as entries:
            for entry in entries:
                if entry.is_dir() and not entry.name.startswith("."):
                    stamps.append(entry.stat().st_mtime)
                    if depth > 1 and entry.name.lower() in SPLIT_FOLDERS:
                        stamps += _folder_stamps(Path(entry.path), depth - 1)
    except OSError:
        pass
    return stamps


def _recent_path() -> Path:
    return cache_dir() / RECENT_FILE


def recent_datasets(limit: int = RECENT_LIMIT) -> list[str]:
    """Dataset paths used before, most recent first; a missing or damaged file gives []."""
    try:
        data = read_json(_recent_path())
    except (OSError, ValueError):
        return []
    if not isinstance(data, list):
        return []
    return [p for p in data if isinstance(p, str) and p][:limit]


def remember_dataset(path: str | os.PathLike, limit: int = RECENT_LIMIT) -> list[str]:
    """Put `path` first in the recent datasets (without duplicates, at most `limit`); return the list.

    The list is a convenience: a folder that cannot be written to leaves it unchanged.
    """
    text = str(path).strip()
    items = [text] + [p for p in recent_datasets(limit) if p != text]
    items = items[:limit]
    try:
        write_json(_recent_path(), items)
    except OSError:
        pass
    return items


def split_table(split) -> pd.DataFrame:
    """The curated classes with their train and validation counts: index, landmark_id, name, images, train, val."""
    table = split.labels[["index", "landmark_id", "name", "images"]].copy()
    for side, df in (("train", split.train), ("val", split.val)):
        counts = df["landmark_id"].value_counts()
        table[side] = table["landmark_id"].map(counts).fillna(0).astype(int)
    return table


def gallery_page(catalog, query: str = "", page: int = 1, per_page: int = 6,
                 per_class: int = EXAMPLES_PER_CLASS) -> GalleryPage:
    """Classes of `catalog` (a Catalog, or its table with paths) whose name (or landmark_id) contains `query`,
    largest first, `per_page` at a time.

    Each class comes with its first `per_class` image paths (in the catalog's order, so the
    same every time). A page number out of range is clamped; no match gives an empty page. A page that
    browses many pages builds a `ClassIndex` once and calls its `page` instead.
    """
    return ClassIndex(catalog).page(query, page, per_page, per_class)


def thumbnail(path, size: int = THUMBNAIL_PX) -> np.ndarray | None:
    """A `size` x `size` centre crop of an image (a path, bytes or file-like; RGB uint8), or None if it cannot be decoded."""
    from PIL import ImageOps

    from glr.data.images import decode_image

    try:
        # Cropped and shrunk before its colours are converted: a Display P3 photo's 25,600 pixels, not its 12 million.
        return decode_image(path, draft_size=size, shrink=lambda rgb: ImageOps.fit(rgb, (size, size)))
    except ImageError:
        return None


def image_size_stats(paths, sample: int = SIZE_SAMPLE, seed: int = 0) -> dict:
    """Width and height of a random sample of images (`paths`, or a Catalog's), read from their headers only.

    Returns {"sampled", "unreadable", "sizes": DataFrame(width, height), "summary":
    DataFrame(min, median, max per dimension), "common": DataFrame(size, images) of the most
    frequent sizes, "unread": up to 3 of the paths that could not be read}.
    """
    from glr.data.images import image_size

    # A Catalog makes the paths of its sample only: all of GLDv2's 4.1M as Python text took seconds and 0.4 GB.
    catalog = paths if hasattr(paths, "paths") else None
    n = len(catalog.df) if catalog is not None else len(paths := list(paths))
    picked = sorted(np.random.default_rng(seed).choice(n, size=sample, replace=False)) if n > sample else range(n)
    paths = (catalog.paths(catalog.df.index[list(picked)]).tolist() if catalog is not None
             else [paths[i] for i in picked])
    sizes = [image_size(p) for p in paths]
    ok = [s for s in sizes if s]
    df = pd.DataFrame(ok, columns=["width", "height"])
    summary = pd.DataFrame(
        {"min": df.min(), "median": df.median(), "max": df.max()} if len(df) else
        {"min": [], "median": [], "max": []}
    )
    common = (df.assign(size=df["width"].astype(str) + " x " + df["height"].astype(str))["size"]
              .value_counts().head(10).rename_axis("size").reset_index(name="images")) if len(df) else \
        pd.DataFrame(columns=["size", "images"])
    return {"sampled": len(paths), "unreadable": len(sizes) - len(ok), "sizes": df, "summary": summary,
            "common": common, "unread": [str(p) for p, size in zip(paths, sizes) if not size][:3]}


def unread_problem(sizes: dict, root) -> str | None:
    """The problem to list when some of image_size_stats' sample (`sizes`) could not be read, else None."""
    if not sizes["unreadable"]:
        return None
    examples = ", ".join(os.path.relpath(p, root) for p in sizes["unread"])
    return (f"{sizes['unreadable']:,} of the {sizes['sampled']:,} images sampled could not be read (e.g. {examples}): "
            "empty, damaged or not images; training leaves such photos out")

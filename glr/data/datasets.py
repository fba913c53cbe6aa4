"""Read a landmark dataset into a catalog, name its classes, curate the top-N and split it.

Two layouts are understood:
- GLDv2 as Kaggle ships it: `train.csv` (`id,landmark_id` or `id,url,landmark_id`), images
  at `train/<id[0]>/<id[1]>/<id[2]>/<id>.jpg`, and optionally `train_label_to_category.csv`
  whose Wikimedia category URLs become readable names.
- One folder per class, holding that class's images.

Reading never opens an image, so GLDv2's full 4.1M-row `train.csv` takes seconds. Problems
that only affect some rows (a missing file, a duplicate id, a label that is not an integer)
drop those rows and become messages in `Catalog.problems`; problems that make the dataset
unreadable raise `DatasetError`.
"""

from __future__ import annotations

import csv as _csv
import os
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

from glr.errors import DatasetError

TRAIN_CSV = "train.csv"
CATEGORY_CSV = "train_label_to_category.csv"
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif", ".tif", ".tiff")
COLUMNS = ["id", "path", "landmark_id", "name"]
# GLDv2 ids are 16 hex digits. Anything outside this alphabet (a "/" or "..") could make
# the derived path point outside the dataset, so such rows are refused.
SAFE_ID_PATTERN = r"[0-9A-Za-z_-]{3,64}"
# Above this many rows, checking every file on disk costs more than it tells; curation
# checks the files of the classes it keeps instead.
MAX_ROWS_TO_CHECK = 200_000
EXAMPLES_IN_MESSAGE = 3

DEFAULT_TOP_N = 100
DEFAULT_MIN_IMAGES = 2
DEFAULT_VAL_FRACTION = 0.2
DEFAULT_SEED = 42


@dataclass
class Catalog:
    """The images of a dataset: `df` has columns id, path, landmark_id, name."""

    root: Path
    layout: str
    df: pd.DataFrame
    problems: list[str] = field(default_factory=list)
    # True while the image files have not been checked yet; curation then checks the
    # files of the classes it keeps (see MAX_ROWS_TO_CHECK).
    check_pending: bool = False

    @property
    def class_counts(self) -> pd.Series:
        """Images per landmark_id, largest first."""
        return self.df["landmark_id"].value_counts()

    def names(self) -> dict[int, str]:
        """landmark_id -> readable name."""
        pairs = self.df.drop_duplicates("landmark_id")
        return dict(zip(pairs["landmark_id"].astype(int), pairs["name"]))


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


def _examples(values) -> str:
    """A short 'e.g.' list for messages."""
    shown = [repr(v) if isinstance(v, str) else str(v) for v in list(values)[:EXAMPLES_IN_MESSAGE]]
    return ", ".join(shown)


def _plural(n: int, word: str) -> str:
    """`1 row`, `2 rows`, `2 classes`."""
    return f"{n:,} {word}" + ("" if n == 1 else "es" if word.endswith("s") else "s")


def category_to_name(category: str) -> str:
    """A readable name from a Wikimedia category URL (`.../wiki/Category:Eiffel_Tower` -> "Eiffel Tower").

    Plain names pass through with underscores turned into spaces.
    """
    text = str(category).strip()
    if "Category:" in text:
        text = text.split("Category:", 1)[1]
    elif "/wiki/" in text:
        text = text.rsplit("/wiki/", 1)[1]
    return unquote(text).replace("_", " ").strip()


def load_catalog(path: str | os.PathLike, check_files: bool | None = None) -> Catalog:
    """Read a dataset folder (GLDv2 layout or one folder per class) into a Catalog.

    `path` may also be a GLDv2 `train.csv` itself. `check_files=True` drops rows whose
    image is missing; None (the default) does so for up to MAX_ROWS_TO_CHECK rows and
    leaves larger catalogs to `curate`, which checks only the classes it keeps; False never
    checks (for a CSV without its images). Raises `DatasetError` when nothing usable can
    be read.
    """
    root = Path(path).expanduser()
    if not root.exists():
        raise DatasetError(f"{root}: no such file or folder")
    if root.is_file():
        if root.name.lower().endswith(".csv"):
            return _load_gldv2(root.parent, root, check_files)
        raise DatasetError(f"{root}: is a file; point glr at a dataset folder or at its train.csv")
    if not os.access(root, os.R_OK | os.X_OK):
        raise DatasetError(f"{root}: permission denied, the folder cannot be read")
    csv = root / TRAIN_CSV
    if csv.exists() or csv.is_symlink():
        return _load_gldv2(root, csv, check_files)
    if _looks_like_gldv2_images(root / "train"):
        # Without this, the whole train/ tree would be read as one class named "train".
        raise DatasetError(f"{root}: has GLDv2's train/ folder of images but no {TRAIN_CSV}; "
                           f"put {TRAIN_CSV} (columns id,landmark_id) beside train/")
    return _load_class_folders(root)


def _looks_like_gldv2_images(folder: Path) -> bool:
    """Whether `folder` is laid out as GLDv2's train/: sub-folders named by one hex digit."""
    try:
        children = [p for p in folder.iterdir() if not p.name.startswith(".")] if folder.is_dir() else []
    except OSError:
        return False
    return bool(children) and all(
        p.is_dir() and len(p.name) == 1 and p.name in "0123456789abcdef" for p in children)


def _read_header(csv: Path) -> list[str]:
    """The header fields of a CSV file as written (quotes removed), from its first line."""
    if not csv.is_file():
        # A folder, or a pipe that would block the read forever.
        raise DatasetError(f"{csv}: is not a regular file; expected a CSV file `id,landmark_id`")
    try:
        with open(csv, "rb") as fh:
            header_bytes = fh.readline(10_000)
    except OSError as exc:
        raise DatasetError(f"{csv}: cannot be read ({exc.strerror or exc})") from None
    try:
        line = header_bytes.decode("utf-8-sig").strip()
    except UnicodeDecodeError:
        raise DatasetError(f"{csv}: is not UTF-8 text; save it as UTF-8 CSV") from None
    if not line:
        raise DatasetError(f"{csv}: is empty; expected a header line `id,landmark_id` and one row per image")
    return next(_csv.reader([line]))


def _read_train_csv(csv: Path) -> tuple[pd.DataFrame, list[str]]:
    """Read id and landmark_id (both as text) from a GLDv2 train.csv, whatever its other columns.

    Column names match without regard to case or surrounding spaces (`ID, Landmark_ID`).
    """
    fields = _read_header(csv)
    header = [f.strip().strip('"').lower() for f in fields]
    missing = [c for c in ("id", "landmark_id") if c not in header]
    if missing:
        raise DatasetError(
            f"{csv}: missing column {' and '.join(repr(m) for m in missing)}; "
            f"found {', '.join(repr(h) for h in header)}. Expected `id,landmark_id` or `id,url,landmark_id`"
        )
    # Our own names for the columns (the header line is skipped), so a header in another case,
    # with spaces or quotes, or with a repeated name, still finds its two columns.
    names = [h if h not in header[:i] else f"{h}.{i}" for i, h in enumerate(header)]
    try:
        import pyarrow as pa
        import pyarrow.csv as pacsv

        # Arrow parses the 4.1M-row file in under a second. Only two columns are kept, as
        # text: parsing labels as int64 directly would silently turn "1.5" into 1 and wrap an
        # overlong number around. `_parse_labels` checks them strictly instead.
        table = pacsv.read_csv(
            csv, read_options=pacsv.ReadOptions(column_names=names, skip_rows=1),
            convert_options=pacsv.ConvertOptions(include_columns=["id", "landmark_id"],
                                                 column_types={"id": pa.string(), "landmark_id": pa.string()}))
    except Exception as exc:  # noqa: BLE001 - any parser failure is the file's problem
        text = str(exc).splitlines()[0] if str(exc) else exc.__class__.__name__
        if any(word in text.lower() for word in ("utf-8", "utf8", "unicode")):
            raise DatasetError(f"{csv}: is not UTF-8 text; save it as UTF-8 CSV") from None
        raise DatasetError(f"{csv}: cannot be parsed as CSV ({text})") from None
    return table.to_pandas().astype("string"), []


def _parse_labels(text: pd.Series) -> pd.Series:
    """landmark_id text -> integers, with <NA> wherever the text is not a plain integer.

    The fast path is Arrow's strict cast (all of GLDv2 in about 0.1 s); only when some value
    fails it does a slower row-by-row pass find which ones.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    arr = pa.array(text.array, type=pa.string()) if len(text) else pa.array([], pa.string())
    # Arrow's cast also accepts "0x1f" as hex; a label like that is as suspect as "abc".
    if not pc.any(pc.match_substring(arr, "x", ignore_case=True)).as_py():
        try:
            return pd.Series(pc.cast(arr, pa.int64()).to_numpy(zero_copy_only=False), index=text.index)
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            pass  # some label is not an integer (or is empty): find which below
    stripped = text.str.strip()
    plain = stripped.str.fullmatch(r"[+-]?[0-9]{1,18}").fillna(False).astype(bool)  # 18 digits fit in int64
    return pd.to_numeric(stripped.where(plain), errors="coerce").astype("Int64")


def _read_names(root: Path) -> tuple[dict[int, str], list[str]]:
    """landmark_id -> name from train_label_to_category.csv, if present and readable."""
    path = root / CATEGORY_CSV
    if not path.exists():
        return {}, []
    try:
        cats = pd.read_csv(path, dtype=str, encoding="utf-8")
    except Exception as exc:  # noqa: BLE001
        return {}, [f"{path.name}: could not be read ({exc.__class__.__name__}); classes are named by their id"]
    if not {"landmark_id", "category"} <= set(cats.columns):
        return {}, [f"{path.name}: expected columns landmark_id,category; classes are named by their id"]
    ids = pd.to_numeric(cats["landmark_id"], errors="coerce")
    ok = ids.notna() & cats["category"].notna()
    return {int(i): category_to_name(c) for i, c in zip(ids[ok], cats["category"][ok])}, []


def _load_gldv2(root: Path, csv: Path, check_files: bool | None) -> Catalog:
    df, problems = _read_train_csv(csv)
    if df.empty:
        raise DatasetError(f"{csv}: has a header but no rows")
    df["id"] = df["id"].str.strip()
    no_id = df["id"].isna() | (df["id"] == "")
    if no_id.any():
        problems.append(f"{_plural(int(no_id.sum()), 'row')} have no id; skipped")
        df = df.loc[~no_id]

    labels = _parse_labels(df["landmark_id"])
    bad = labels.isna()
    if bad.any():
        problems.append(
            f"{_plural(int(bad.sum()), 'row')} have a landmark_id that is not an integer "
            f"(e.g. {_examples(df.loc[bad, 'landmark_id'].fillna('').replace('', '<empty>'))}); skipped"
        )
    df = df.loc[~bad].assign(landmark_id=labels[~bad].astype("int64"))

    unsafe = ~df["id"].str.fullmatch(SAFE_ID_PATTERN).fillna(False).astype(bool)
    if unsafe.any():
        problems.append(
            f"{_plural(int(unsafe.sum()), 'row')} have an id that is not a plain file name "
            f"(e.g. {_examples(df.loc[unsafe, 'id'])}); skipped, so nothing outside the dataset is read"
        )
        df = df.loc[~unsafe]

    dup = df["id"].duplicated()
    if dup.any():
        problems.append(
            f"{_plural(int(dup.sum()), 'duplicate id')} (e.g. {_examples(df.loc[dup, 'id'].unique())}); "
            "kept the first row of each"
        )
        df = df.loc[~dup]

    ids = df["id"]
    rel = "train/" + ids.str[0] + "/" + ids.str[1] + "/" + ids.str[2] + "/" + ids + ".jpg"
    df = pd.DataFrame({"id": ids, "path": str(root) + "/" + rel, "landmark_id": df["landmark_id"]})

    names, name_problems = _read_names(root)
    problems += name_problems
    df["name"] = _name_column(df["landmark_id"], names)

    catalog = Catalog(root=root, layout="gldv2", df=df.reset_index(drop=True), problems=problems)
    if check_files or (check_files is None and len(df) <= MAX_ROWS_TO_CHECK):
        _drop_missing_files(catalog)
    else:
        catalog.check_pending = check_files is None
    if catalog.df.empty:
        raise DatasetError(f"{root}: no usable images; " + "; ".join(catalog.problems or ["train.csv lists none"]))
    return catalog


def _name_column(landmark_ids: pd.Series, names: dict[int, str]) -> pd.Series:
    """Readable names for each row, falling back to "landmark <id>"; built once per class."""
    unique = landmark_ids.unique()
    lookup = {int(i): names.get(int(i)) or f"landmark {int(i)}" for i in unique}
    return landmark_ids.map(lookup).astype("string")


def _drop_missing_files(catalog: Catalog, rows: pd.Index | None = None) -> None:
    """Drop catalog rows (all, or just `rows`) whose image file does not exist; add a problem."""
    df = catalog.df
    subset = df if rows is None else df.loc[rows]
    exists = np.fromiter((os.path.isfile(p) for p in subset["path"]), dtype=bool, count=len(subset))
    missing = subset.index[~exists]
    if len(missing):
        catalog.problems.append(
            f"{_plural(len(missing), 'image file')} listed in {TRAIN_CSV} not found "
            f"(e.g. {_examples(df.loc[missing, 'path'].map(lambda p: os.path.relpath(p, catalog.root)))}); skipped"
        )
        catalog.df = df.drop(index=missing)


def _is_plain_int(text: str) -> bool:
    """Digits only (ASCII), short enough for int64: "0042" yes, "²" or "1e3" no."""
    return text.isascii() and text.isdigit() and len(text) <= 18


def _load_class_folders(root: Path) -> Catalog:
    """One sub-folder per class; its name is the class name."""
    try:
        folders = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    except OSError as exc:
        raise DatasetError(f"{root}: cannot be listed ({exc.strerror or exc})") from None
    rows, skipped, loose = [], [], []
    # An integer folder name is taken as the landmark_id, as in GLDv2 exports; the other
    # folders are numbered after the largest of those, so two folders never share a class.
    numeric = [int(f.name) for f in folders if _is_plain_int(f.name)]
    next_id = max(numeric, default=-1) + 1
    for folder in folders:
        name = folder.name.replace("_", " ")
        if _is_plain_int(folder.name):
            landmark_id = int(folder.name)
        else:
            landmark_id, next_id = next_id, next_id + 1
        for file in sorted(folder.rglob("*")):
            if not file.is_file() or file.name.startswith("."):
                continue
            if file.suffix.lower() not in IMAGE_EXTENSIONS:
                skipped.append(file)
                continue
            rel = file.relative_to(root).with_suffix("").as_posix()
            rows.append((rel, str(file), landmark_id, name))
    if not rows:
        loose = [p for p in root.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS]
        hint = (
            f" It holds {len(loose)} images directly; put each class's images in a folder of its own."
            if loose else ""
        )
        raise DatasetError(
            f"{root}: no dataset found. Expected a GLDv2 folder with {TRAIN_CSV} and train/, "
            f"or one sub-folder of images per class.{hint}"
        )
    problems = []
    if skipped:
        problems.append(
            f"{_plural(len(skipped), 'file')} in class folders are not images "
            f"(e.g. {_examples(p.relative_to(root).as_posix() for p in skipped)}); skipped"
        )
    df = pd.DataFrame(rows, columns=COLUMNS)
    df["name"] = df["name"].astype("string")
    return Catalog(root=root, layout="folders", df=df, problems=problems)


def curate(
    catalog: Catalog,
    top_n: int = DEFAULT_TOP_N,
    min_images: int = DEFAULT_MIN_IMAGES,
    val_fraction: float = DEFAULT_VAL_FRACTION,
    seed: int = DEFAULT_SEED,
) -> Split:
    """Keep the top-N classes by image count and make a seeded, stratified train/val split.

    Every kept class has at least one image in train and one in validation. Classes with
    fewer than `min_images` (at least 2, the least that can be split) are dropped and named.
    """
    if top_n < 1:
        raise DatasetError(f"top_n must be at least 1, got {top_n}")
    if not 0 < val_fraction < 1:
        raise DatasetError(f"val_fraction must be between 0 and 1, got {val_fraction}")
    min_images = max(2, int(min_images))
    messages: list[str] = []

    if catalog.check_pending:
        # Check files only for classes that could make the cut: a few times top_n.
        ranked = catalog.class_counts
        candidates = ranked.index[: max(top_n * 3, top_n + 50)]
        before = len(catalog.problems)
        _drop_missing_files(catalog, catalog.df.index[catalog.df["landmark_id"].isin(candidates)])
        messages += catalog.problems[before:]
        df = catalog.df[catalog.df["landmark_id"].isin(candidates)]
    else:
        df = catalog.df

    counts = df["landmark_id"].value_counts()
    top = counts.iloc[:top_n]
    small = top[top < min_images]
    if len(small):
        names = catalog.names()
        listed = ", ".join(f"{names.get(int(i), i)} ({n})" for i, n in small.iloc[:10].items())
        more = f" and {len(small) - 10} more" if len(small) > 10 else ""
        messages.append(
            f"Dropped {_plural(len(small), 'class')} with fewer than {min_images} images "
            f"(too small to split into train and validation): {listed}{more}"
        )
    kept = top[top >= min_images]
    if kept.empty:
        raise DatasetError(
            f"no class has at least {min_images} images, so nothing can be split into train and validation"
            + "".join(f". {m}" for m in messages)
        )
    # Sort by count then id so the class order, and thus class indices, are reproducible.
    kept = kept.rename("images").reset_index().sort_values(["images", "landmark_id"], ascending=[False, True])
    data = df[df["landmark_id"].isin(kept["landmark_id"])].sort_values("id").reset_index(drop=True)
    train, val = _stratified_split(data, val_fraction, seed)

    names = catalog.names()
    labels = pd.DataFrame({
        "index": range(len(kept)),
        "landmark_id": kept["landmark_id"].astype(int).to_numpy(),
        "name": [names.get(int(i), f"landmark {i}") for i in kept["landmark_id"]],
        "images": kept["images"].astype(int).to_numpy(),
    })
    index_of = dict(zip(labels["landmark_id"], labels["index"]))
    train = train.assign(label=train["landmark_id"].map(index_of).astype(int))
    val = val.assign(label=val["landmark_id"].map(index_of).astype(int))
    return Split(train=train.reset_index(drop=True), val=val.reset_index(drop=True), labels=labels, messages=messages)


def _stratified_split(data: pd.DataFrame, val_fraction: float, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """sklearn's stratified split, sized so each class can have an image on both sides."""
    n, n_classes = len(data), data["landmark_id"].nunique()
    n_val = min(max(round(n * val_fraction), n_classes), n - n_classes)
    train, val = train_test_split(data, test_size=n_val, stratify=data["landmark_id"], random_state=seed)
    # Stratification rounds per class, so a small class can end up on one side only; move
    # one image across for each such class (seeded, like the split itself).
    rng = np.random.default_rng(seed)
    train, val = _fill_missing_classes(train, val, rng)
    val, train = _fill_missing_classes(val, train, rng)
    return train.sort_values("id"), val.sort_values("id")


def _fill_missing_classes(src: pd.DataFrame, dst: pd.DataFrame, rng) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Move one image of each class that `dst` lacks from `src` into `dst`."""
    for landmark in sorted(set(src["landmark_id"]) - set(dst["landmark_id"])):
        pick = rng.choice(src.index[src["landmark_id"] == landmark])
        dst = pd.concat([dst, src.loc[[pick]]])
        src = src.drop(index=pick)
    return src, dst


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

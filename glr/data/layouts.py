"""The two dataset layouts glr reads, as rows: GLDv2's train.csv, and one folder per class.

- GLDv2 as Kaggle ships it: `train.csv` (`id,landmark_id` or `id,url,landmark_id`), images
  at `train/<id[0]>/<id[1]>/<id[2]>/<id>.jpg`, and optionally `train_label_to_category.csv`
  whose Wikimedia category URLs become readable names (`read_gldv2`).
- GLDv2's `train_clean.csv` (`landmark_id,images`, ids separated by spaces), read as the
  same rows: point glr at the file itself.
- One folder per class, holding that class's images (`read_class_folders`), or such folders inside
  train/val/test split folders, when they clearly are splits (`glr.data.split_folders` decides).

Both return a table with columns id, landmark_id, name (and path, the folders'; GLDv2's is made of the id), and
the problems met as messages; `glr.data.datasets.load_catalog` chooses the layout, checks the image files
and wraps the rows in a `Catalog`. Reading never opens an image; parsing the CSV files is
`glr.data.train_csv`'s job.
"""

from __future__ import annotations

import re
from pathlib import Path, PurePath
from urllib.parse import parse_qs, unquote, urlsplit

import numpy as np
import pandas as pd

from glr.data import gldv2_files
from glr.data.category_names import category_names, category_to_name, undo_double_encoding  # noqa: F401 - category_to_name: read from here too
from glr.data import class_access
from glr.data.class_access import beside_folders, listable, sub_folders
from glr.data.class_column import class_column
from glr.data.folder_tree import folder_entries
from glr.data.csv_source import legacy_note, retry_as_windows_1252
from glr.data.id_cells import SAFE_ID_PATTERN, is_safe_id, no_id_problem, paths_from_elsewhere, safe_ids  # noqa: F401 - SAFE_ID_PATTERN: read from here too
from glr.data.linked_folders import without_linked_copies
from glr.data.made_by_glr import beside_splits, made_folders, made_notes, outside
from glr.data.landmark_ids import category_ids, labels_from_names, negative_label_problem, read_labels, refused_label_problems
from glr.data.nested_classes import nested_note
from glr.data.rows_as_written import as_written
from glr.data.id_text import drop_repeated_ids, fixed_width_paths, holds_any, plain_text
from glr.data.skipped_files import skipped_notes
from glr.data.split_folders import SPLIT_FOLDERS, decide, split_note  # noqa: F401 - SPLIT_FOLDERS: read from here too
from glr.data.train_csv import TEXT, arrow_columns, arrow_frame, read_layout, read_train_csv
from glr.errors import DatasetError
from glr.paths import is_utf8, printable
from glr.words import EXAMPLES_IN_MESSAGE, examples, have, plural  # noqa: F401 - read from here too

TRAIN_CSV = "train.csv"
CATEGORY_CSV = "train_label_to_category.csv"
# .jfif and .jpe are JPEGs too: browsers on Windows save downloaded photos as .jfif. Every format glr decodes
# (glr.data.images.ALLOWED_FORMATS) is here, .ico too (a picture saved from a web page as its icon): else class
# folders, predict folders and upload boxes passed over as "not an image type" a file glr reads.
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".jfif", ".jpe", ".png", ".webp", ".heic", ".heif", ".avif", ".bmp", ".gif",
                    ".tif", ".tiff", ".ico")
# Files an OS writes into photo folders by itself (Windows' thumbnail cache and folder settings,
# macOS' folder icon): passed over like hidden files, not listed as "not images".
SYSTEM_FILES = {"thumbs.db", "ehthumbs.db", "desktop.ini", "icon\r"}
# Folders an OS, an archiver or a NAS writes beside the user's (macOS zips' resource forks, a
# Synology NAS's thumbnails in every folder, recycle bins, ext4's lost+found): never a class or
# a class's photos, so passed over like hidden folders.
# QNAP's recycle bin and snapshots (@Recycle, @Recently-Snapshot), Windows XP's recycle bin (RECYCLER) and what
# chkdsk recovers on a memory card (FOUND.000, FOUND.001, ...) too.
SYSTEM_FOLDERS = {"__macosx", "@eadir", "#recycle", "#snapshot", "$recycle.bin", "system volume information",
                  "lost+found", "@recycle", "@recently-snapshot", "recycler"}

ARCHIVES = (".zip", ".gz", ".tgz", ".tar", ".bz2", ".xz", ".7z", ".rar")  # files glr does not read inside of

COLUMNS = ["id", "path", "landmark_id", "name"]


def is_system_file(path: PurePath) -> bool:
    """A hidden file, one an OS writes into every folder (SYSTEM_FILES), or an open Office document's lock
    file (`~$notes.docx`, hidden on Windows and left behind in zips and copies): never the user's photo."""
    return is_system_name(path.name)


def is_system_folder(name: str) -> bool:
    """A hidden folder, or one an OS, archiver or NAS writes (SYSTEM_FOLDERS): never the user's photos."""
    return name.startswith(".") or name.lower() in SYSTEM_FOLDERS or bool(re.fullmatch(r"found\.\d{3}", name, re.I))


def looks_like_gldv2_images(folder: Path, depth: int = 2) -> bool:
    """Whether `folder` is laid out as GLDv2's train/: sub-folders named by one hex digit, the first of them so too.

    One level is not enough: Keras' layout of classes named by digits (train/0/, train/1/, photos inside) is so."""
    try:
        children = [p for p in folder.iterdir() if not is_system_folder(p.name)] if folder.is_dir() else []
    except OSError:
        return False
    # The names first: 50,000 class folders are told from GLDv2's tree by the first, without a sort or a stat each.
    if not children or not all(len(p.name) == 1 and p.name in "0123456789abcdef" for p in children):
        return False
    return all(p.is_dir() for p in children) and (depth <= 1 or looks_like_gldv2_images(min(children), depth - 1))


def read_names(root: Path) -> tuple[dict[int, str], list[str]]:
    """landmark_id -> name from train_label_to_category.csv, if present and readable.

    Read as train.csv is (`glr.data.train_csv`: header in any case, `;` or tab separators, a bare
    carriage return for line ends, a `name` column for `category`); a row that does not parse costs
    its own name only, and is listed.
    """
    path = root / CATEGORY_CSV
    if not (path.exists() or path.is_symlink()):  # a link to a file gone is said below, as train.csv's is
        return {}, []
    bad_rows: list[str] = []
    # Excel saves "CSV (comma delimited)" in the machine's code page (Windows-1252 in the West, 1251 in Cyrillic):
    # every name was lost as "not UTF-8 text". A regular file only: a named pipe's read waited for ever (read_layout
    # names what it is instead).
    legacy = [note] if path.is_file() and (note := legacy_note(path)) else []
    try:
        header, columns, delimiter = read_layout(path, "landmark_id,category")
        if not {"landmark_id", "category"} <= set(header):
            return {}, [f"{path.name}: expected columns landmark_id,category (found "
                        f"{', '.join(repr(h) for h in header)}); classes are named by their id"]
        # `landmark_id,category,Category` (two exports joined): the second read too, and compared, as train.csv's are.
        twice = gldv2_files.repeated_columns(header, columns, ["landmark_id", "category"])
        cats = arrow_frame(arrow_columns(path, columns, ["landmark_id", "category", *twice], delimiter, bad_rows,
                                         rest_in_last=True))  # `219,...Category:Paris,_France` unquoted: one name
        if twice and (problem := gldv2_files.repeated_column_problem(path, header, columns, cats)):
            raise DatasetError(problem)
    except DatasetError as exc:
        return {}, legacy + [f"{exc}; classes are named by their id".replace(str(path), path.name, 1)]
    problems = legacy
    if bad_rows:  # shown as the file writes them, quotes too (an evened file's rows come back without)
        shown = as_written(path, list(dict.fromkeys(bad_rows))[:EXAMPLES_IN_MESSAGE], delimiter)
        problems.append(f"{path.name}: {plural(len(bad_rows), 'row')} without the header's columns (e.g. "
                        f"{examples(printable(r[:80]) for r in shown)}; a name holding the separator must be "
                        "in quotes); those landmarks are named by their id")
    # Strictly, as train.csv's labels: "1.7" would otherwise name landmark 1.
    ids, refused = category_ids(cats, path, delimiter, not bad_rows)
    problems += refused
    ok = ids.notna() & cats["category"].notna()
    ids, categories = ids[ok].astype("int64"), cats["category"][ok]
    twice = ids.duplicated()
    if twice.any() and (twice := twice & ~pd.DataFrame({"i": ids, "c": categories}).duplicated()).any():
        # Each with its names, the kept one first: which is right is for the user to see.
        shown = "; ".join(f"{i}: " + " and ".join(repr(printable(str(n))[:60]) for n in category_names(
                              pd.Series(categories[ids == i].unique()[:2], dtype="string")))
                          for i in ids[twice].unique()[:EXAMPLES_IN_MESSAGE])
        problems.append(f"{path.name}: {plural(int(ids[twice].nunique()), 'landmark_id')} given two names "
                        f"(e.g. {shown}); the first name kept")
    first = ~ids.duplicated()  # the first name kept, as said above
    names, undone = undo_double_encoding(category_names(categories[first]))  # `FamÃ­lia`: said, and read right
    return dict(zip(ids[first].tolist(), names.tolist())), problems + ([f"{path.name}: {undone}"] if undone else [])


def read_gldv2(root: Path, csv: Path) -> tuple[pd.DataFrame, list[str]]:
    """The rows of a GLDv2 folder (columns id, landmark_id, name: `image_paths` makes the paths) and the problems met.

    Rows without an id, with a landmark_id that is not an integer, with an id that is not a
    plain file name, or repeating an id are dropped and counted in the problems. The image
    files are not looked at (see `glr.data.datasets.load_catalog`).
    """
    (df, problems), legacy = retry_as_windows_1252(read_train_csv, csv)  # Excel's "CSV" on a Western Windows
    problems = [legacy, *problems] if legacy else problems
    if df.empty:
        raise DatasetError(f"{csv}: has a header but no rows")
    plain = plain_text(df["id"])  # GLDv2's own ids: nothing below applies, and each step costs 0.3-0.8 s at 4.1M rows
    if not plain:
        df["id"] = df["id"].str.strip()
    # An id written as its file's name (`abc.jpg`, from a listing of the folder) is that id. Only ids with a
    # dot are rewritten: the regex over all of GLDv2's 4.1M ids would cost 0.6 s for a rare case.
    # (A scan of the text first: GLDv2's ids hold no "." and no "/", and each search over 4.1M ids costs 0.3 s.)
    if not plain and holds_any(df["id"], ".") and (dotted := df["id"].str.contains(".", regex=False).fillna(False).astype(bool)).any():
        # Any image format's (a photo converted to PNG or WebP): the file check finds it under that extension.
        named = "|".join(e.lstrip(".") for e in IMAGE_EXTENSIONS)
        df.loc[dotted, "id"] = df.loc[dotted, "id"].str.replace(rf"\.(?i:{named})$", "", regex=True)
    # An id written as its photo's path (`train/0/1/2/012...`, `/kaggle/input/.../train/0/1/2/012...`, as Kaggle
    # notebooks save their tables) is the id at its end, when GLDv2's folders match it. Only that id is kept,
    # so the path never leads anywhere. Windows writes it with backslashes (`train\0\1\2\012...`).
    # Plain searches, not one regex: over GLDv2's 4.1M ids a regex costs about 0.6 s.
    if not plain and holds_any(df["id"], "/\\") and (slashed := (df["id"].str.contains("/", regex=False) | df["id"].str.contains(
            "\\", regex=False)).fillna(False).astype(bool)).any():
        parts = df.loc[slashed, "id"].str.replace("\\", "/", regex=False).str.extract(
            r"(?:^|/)(?:([0-9a-fA-F])/([0-9a-fA-F])/([0-9a-fA-F])/|train/)([0-9a-fA-F]{3,64})$")
        nested = parts[3].notna() & (parts[0].isna() |  # train/<id>: saved flat
                                     (parts[3].str[:3].str.lower() == (parts[0] + parts[1] + parts[2]).str.lower()))
        nested = nested.fillna(False).astype(bool)
        df.loc[nested.index[nested], "id"] = parts.loc[nested, 3]
        # Any other path inside the dataset (`images/IMG_1.jpg`, a tutorial's table; `images\\1.jpg`, `images/cafe.jpg`
        # of one's own, whose names are hex too): its name, which the file check finds in the dataset folder
        # (glr.data.photo_files). Absolute and climbing paths, and GLDv2's ids (16 hex digits) or folders (one hex
        # digit) where they do not match, stay refused.
        others, moved = paths_from_elsewhere(df.loc[nested.index[~nested], "id"], root.resolve().name)
        problems += [moved] if moved else []
        inner = others.str.replace("\\", "/", regex=False).str.extract(
            r"^(?![A-Za-z]:)(?!.*(?:^|/)\.\.(?:/|$))(?!(?:.*/)?[0-9a-fA-F]/[0-9a-fA-F]+$)[^/][^:]*/"
            r"((?![0-9a-fA-F]{16}$)[^/]+)$")[0].dropna()
        inner = inner[inner.map(is_safe_id).astype(bool)]  # else the id stays as written, refused and named so
        df.loc[inner.index, "id"] = inner
    no_id = df["id"].isna() | (df["id"] == "")
    if no_id.any():
        problems.append(no_id_problem(df.loc[no_id, "id"]))
        df = df.loc[~no_id]

    labels, hidden = read_labels(df["landmark_id"])  # `="7"` and `1\u00ad2` (a soft hyphen inside) too
    problems += [hidden] if hidden else []
    bad = labels.isna()
    if (given := labels_from_names(df["landmark_id"]) if bad.all() else None) is not None:  # `Eiffel Tower`: numbered
        labels, bad = given[0], given[0].isna()
        problems.append(f"landmark_id holds the landmarks' names, not numbers (e.g. {examples(given[1].values())}): "
                        f"numbered 0-{len(given[1]) - 1} in alphabetical order, and named so"
                        + (f" ({CATEGORY_CSV} not read)" if (root / CATEGORY_CSV).exists() else ""))
    if bad.any():  # not a number, or one too large to keep (said apart)
        problems += refused_label_problems(df.loc[bad, "landmark_id"])
    df = df.loc[~bad].assign(landmark_id=labels[~bad].astype("int64"))
    if (negative := df["landmark_id"] < 0).any():  # -1: "no landmark" in many tools (said so)
        problems.append(negative_label_problem(df.loc[negative, "landmark_id"]))
        df = df.loc[~negative]

    df, id_problems = safe_ids(df, csv.name, looks_like_gldv2_images(root / "train"))
    problems += id_problems

    df, repeat_problems = drop_repeated_ids(df)
    problems += repeat_problems

    df = pd.DataFrame({"id": df["id"], "landmark_id": df["landmark_id"]})

    names, name_problems = (given[1], []) if given is not None else read_names(root)
    problems += name_problems
    df["name"] = class_column(df["landmark_id"], names)

    return df.reset_index(drop=True), problems


def image_paths(root: Path, ids: pd.Series) -> pd.Series:
    """GLDv2's path of each id: root/train/a/b/c/abc....jpg, built by Arrow in one pass per part."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if (fast := fixed_width_paths(f"{root}/train", ids)) is not None:  # GLDv2's ids: 0.1 s where the joins take 2 s
        return pd.Series(pd.array(fast, dtype=TEXT), index=ids.index)
    arr = pa.array(ids.array, type=pa.string())
    parts = [pc.utf8_slice_codeunits(arr, i, i + 1) for i in range(3)]
    paths = pc.binary_join_element_wise(str(root) + "/train", *parts, pc.binary_join_element_wise(arr, ".jpg", ""), "/")
    return pd.Series(pd.array(paths, dtype=TEXT), index=ids.index)


def _is_plain_int(text: str) -> bool:
    """Digits only (ASCII), short enough for int64: "0042" yes, "²" or "1e3" no."""
    return text.isascii() and text.isdigit() and len(text) <= 18


def _contents(folder: Path) -> tuple[list[Path], list[Path]]:
    """A folder's sub-folders and the photos directly in it, without what an OS writes there."""
    entries = sorted(folder.iterdir())
    return ([p for p in entries if p.is_dir() and not is_system_folder(p.name)],
            [p for p in entries if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS and not is_system_file(p)])


def read_class_folders(root: Path) -> tuple[pd.DataFrame, list[str]]:
    """The rows of a folder with one sub-folder per class (its name is the class name), and the problems met."""
    try:
        folders = sub_folders(root)
    except OSError as exc:
        raise DatasetError(f"{root}: cannot be listed ({exc.strerror or exc})") from None
    folders, packages = class_access.without_packages(folders, examples)  # Photos Library.photoslibrary, X.app
    folders, made = beside_splits(folders, SPLIT_FOLDERS)  # train/, val/ and a results folder kept beside them
    if all(f.name.lower() in SPLIT_FOLDERS for f in folders):  # decide lists each of them: one it cannot is said
        folders, locked = listable(root, folders, examples, IMAGE_EXTENSIONS + ARCHIVES)
    else:  # a class folder that cannot be listed is found as its tree is walked (at 50,000 folders, 0.5-1.3 s less)
        folders, locked = folders, beside_folders(root, examples, IMAGE_EXTENSIONS + ARCHIVES)
    rows, skipped, unnamed, loose, empty, dangling, cloud = [], [], [], [], [], [], []
    try:
        split = decide(folders, _contents)  # train/<class>/, val/<class>/, or classes named "train" and "test"
    except OSError as exc:  # a split folder (test/, another user's) that cannot be listed
        raise DatasetError(f"{exc.filename or root}: cannot be listed ({exc.strerror or exc})") from None
    folders, linked = without_linked_copies(root, split.folders)
    from glr.data.photo_files import is_photo  # (it reads this module)

    counts: list[tuple[str, int]] = []  # (class folder's name, its rows): landmark ids are given once all are walked
    unlisted: list[tuple[Path, str]] = []
    last = None  # the class of the last row
    for folder in folders:
        entries, why = folder_entries(folder)
        if why is not None:
            unlisted.append((folder, why))
            continue
        before, first_row, first_skipped = len(rows) + len(unnamed), len(rows), len(skipped)
        # The id starts with the class folder's name (`Tower/val/1` in a split), as the look-alike check reads it.
        prefix = folder.name if folder.parent == root else f"{folder.name}/{folder.parent.name}"
        base = str(folder)
        for parts, is_file in entries:
            name = parts[-1]
            if is_system_name(name) or any(map(is_system_folder, parts[:-1])):
                if re.fullmatch(r"\..+\.icloud", name) and _suffix(name[:-7]).lower() in IMAGE_EXTENSIONS:
                    cloud.append(folder.joinpath(*parts))  # `.IMG_1.HEIC.icloud`: in iCloud only ("Optimize Mac Storage")
                continue
            suffix = _suffix(name)
            if not is_file:
                file = folder.joinpath(*parts)
                if file.is_symlink() and not file.exists() and suffix.lower() in IMAGE_EXTENSIONS:
                    dangling.append(file)  # a link whose photo was moved or deleted: said, not lost in silence
                continue
            path = f"{base}/{'/'.join(parts)}"  # os.path.join, at 0.4 s less per 100,000 photos
            # A photo saved with no extension (`IMG_1`: a card read by a script) is read when it starts as one.
            if suffix.lower() not in IMAGE_EXTENSIONS and (suffix or not is_photo(path)):
                skipped.append(Path(path))
                continue
            if not is_utf8(path):
                # Arrow's strings, TensorFlow's paths and the run's JSON all need UTF-8 names.
                unnamed.append(Path(path))
                continue
            rows.append(("/".join((prefix, *parts[:-1], name[:len(name) - len(suffix)])), path))
        # A glr run or export folder (a results folder kept in the dataset): told by its files, which are no images.
        if len(skipped) > first_skipped and (found := made_folders(skipped[first_skipped:])):
            made.update(found)
            rows[first_row:] = outside(rows[first_row:], found, lambda row: row[1])
            skipped[first_skipped:] = outside(skipped[first_skipped:], found)
            unnamed[:], dangling[:], cloud[:] = (outside(listed, found) for listed in (unnamed, dangling, cloud))
        if len(rows) + len(unnamed) == before and last != folder.name:
            empty.append(folder)
        counts.append((folder.name, len(rows) - first_row))
        last = folder.name if len(rows) > first_row else last
    if unlisted:
        locked = [*class_access.locked_note(unlisted, examples), *locked]
        gone = {f for f, _ in unlisted}
        folders = [f for f in folders if f not in gone]
    locked += packages  # said with the folders glr cannot get into, and in "no dataset found" too
    # A class empty in one split (val/Tower) and not in another is no empty class.
    empty = [f for f in empty if f.name not in {name for name, n in counts if n}] if empty else empty
    beside = class_access.files_in(root)  # one listing, the file types with it: at 50,000 folders, 1.3 s less
    loose = sorted(p for p in beside if p.suffix.lower() in IMAGE_EXTENSIONS and not is_system_file(p))
    # A class downloaded or sent as a zip and not unpacked: glr never reads inside archives.
    packed = sorted(p.name for p in beside if p.name.lower().endswith(ARCHIVES))
    unpack = f"{plural(len(packed), 'archive')} (e.g. {examples(printable(n) for n in packed)}), which glr does not read inside: unpack"
    notes = made_notes(made, root, examples, printable)  # glr's run and export folders, said before the files skipped
    if not rows and not unnamed:
        hint = (f" It holds {plural(len(loose), 'image')} directly; put each class's images in a folder of its own." if loose
                else f" It holds {unpack} {'it' if len(packed) == 1 else 'them'} first." if packed else "")
        raise DatasetError(f"{root}: no dataset found. Expected a GLDv2 folder with {TRAIN_CSV} and train/, "
                           f"or one sub-folder of images per class.{hint}" + "".join(f" But {p}." for p in locked + notes))
    problems = list(locked)
    if rows and (note := split_note(split, printable)):
        problems.append(note)
    if rows and (note := nested_note(folders, _contents)):  # country/landmark/photos reads as one class per country
        problems.append(note)
    if packed:
        problems.append(f"{unpack} {'it' if len(packed) == 1 else 'each'} into a class folder to use its photos")
    if split.loose:
        problems.append(f"{plural(len(split.loose), 'image')} in split folders, in no class folder (e.g. "
                        f"{examples(printable(p.relative_to(root)) for p in split.loose)}; an unlabelled test set?); skipped")
    if loose:  # a photo beside the class folders belongs to no class: said, not dropped in silence
        problems.append(f"{plural(len(loose), 'image')} directly in the dataset folder, in no class folder "
                        f"(e.g. {examples(printable(p.name) for p in loose)}); skipped: move each into its class's folder")
    problems += notes + skipped_notes(skipped, root, examples, printable)  # camera raws, sidecars, ... by name
    if empty and rows:  # a class folder left empty (or holding only sub-folders) is no class: said, not dropped in silence
        problems.append(f"{plural(len(empty), 'class folder')} {have(len(empty))} no images "
                        f"(e.g. {examples(printable(p.name) for p in empty)}); no class made of {'it' if len(empty) == 1 else 'them'}")
    if dangling:
        problems.append(f"{plural(len(dangling), 'link')} in class folders {'points' if len(dangling) == 1 else 'point'} "
                        f"to a photo that is not there (e.g. {examples(printable(p.relative_to(root)) for p in dangling)}); "
                        "skipped: was the photo moved or deleted?")
    problems += linked
    if unnamed:
        problems.append(f"{plural(len(unnamed), 'image')} with a name that is not valid UTF-8 "
                        f"(e.g. {examples(printable(p.relative_to(root)) for p in unnamed)}); skipped: rename to use")
    if cloud:
        shown = examples(printable(p.parent.relative_to(root) / p.name[1:-7]) for p in cloud)
        problems.append(f"{plural(len(cloud), 'photo')} in iCloud only, not on this disk (e.g. {shown}); "
                        f"skipped: download {'it' if len(cloud) == 1 else 'them'} first (Finder: Download Now)")
    if not rows:
        raise DatasetError(f"{root}: no usable images. " + "; ".join(problems))
    df = pd.DataFrame(rows, columns=COLUMNS[:2])
    ids = _class_ids(folders)
    df["landmark_id"] = np.repeat(np.array([ids[name] for name, _ in counts], dtype=np.int64), [n for _, n in counts])
    twice = df["id"].duplicated(keep=False)
    if twice.any():  # IMG_1.JPG beside IMG_1.png (a camera's photo and an editor's): two photos, one id without this
        df.loc[twice, "id"] = df.loc[twice, "id"] + df.loc[twice, "path"].map(lambda p: PurePath(p).suffix)
    # "   " or "___": named by its id, as GLDv2 names them
    names = {ids[name]: name.replace("_", " ").strip() or f"landmark {ids[name]}" for name, n in counts if n}
    df["name"] = class_column(df["landmark_id"], names)
    return df, problems


def _class_ids(folders: list[Path]) -> dict[str, int]:
    """Each class folder's landmark id, by its name (a class's folders in several splits, train/Tower and val/Tower,
    are one class). An integer folder name is taken as the landmark_id, as in GLDv2 exports; the other folders are
    numbered after the largest of those, so two folders never share a class."""
    numeric = [int(f.name) for f in folders if _is_plain_int(f.name)]
    next_id = max(numeric, default=-1) + 1
    # "1" and "001" are one number but two folders: the plain spelling keeps it, the other is numbered on.
    taken = {int(f.name) for f in folders if _is_plain_int(f.name) and f.name == str(int(f.name))}
    ids: dict[str, int] = {}
    for folder in folders:
        if folder.name in ids:
            continue
        if _is_plain_int(folder.name) and (folder.name == str(int(folder.name)) or int(folder.name) not in taken):
            ids[folder.name] = int(folder.name)
            taken.add(ids[folder.name])
        else:
            ids[folder.name], next_id = next_id, next_id + 1
    return ids


def _suffix(name: str) -> str:
    """A file name's extension, as PurePath(name).suffix gives it (`a.jpg` .jpg; `a.`, `.jpg` and `a` none)."""
    dot = name.rfind(".")
    return name[dot:] if 0 < dot < len(name) - 1 else ""


def is_system_name(name: str) -> bool:
    """is_system_file of a file named `name`."""
    return name.startswith((".", "~$")) or name.lower() in SYSTEM_FILES

"""What a catalog's class names say: folders or categories named alike, folders named only with spaces, and
GLDv2's category file beside class folders named by landmark_id.

Each function returns notes for the catalog's problems; names themselves come from `glr.data.layouts`.
"""

from __future__ import annotations

import unicodedata
from pathlib import Path

import numpy as np
import pandas as pd

from glr.data.layouts import CATEGORY_CSV, class_column, examples, plural, read_names


def names_from_category_file(root: Path, df: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """Class folders named by a landmark_id (`train/138982/`, GLDv2 sorted into folders) named from a
    train_label_to_category.csv beside them, and the notes; `df` as it was when there is no such file."""
    if not (root / CATEGORY_CSV).is_file():
        return df, []
    names, problems = read_names(root)
    by_id = df["id"].str.split("/").str[0] == df["landmark_id"].astype(str)
    named = by_id & df["landmark_id"].map(lambda i: bool(names.get(int(i))))
    if not named.any():
        return df, problems + [f"{CATEGORY_CSV}: names no class folder here (it names landmark_ids, and only folders "
                               "named by a landmark_id take its names); not used"]
    ours = _class_names(df)
    ours.update({int(i): names[int(i)] for i in df.loc[named, "landmark_id"].unique()})
    return df.assign(name=class_column(df["landmark_id"], ours)), problems


def _alike_key(names: pd.Series) -> pd.Series:
    """Names as a reader sees them: NFKC, '_' as a space, runs of spaces as one, case folded."""
    # NFKC: "Café" typed on Linux (NFC) and copied from a Mac (NFD, é as e + accent) look the same and are two names.
    return names.map(lambda f: unicodedata.normalize("NFKC", f)).str.replace("_", " ").str.split().str.join(" ").str.casefold()


def look_alike_classes(df: pd.DataFrame) -> list[str]:
    """A note on class folders whose names differ only in case, spaces or '_' ("Tower", "tower", "Big_Ben",
    "Big Ben"): most likely one landmark twice, which the model would be taught to tell apart from itself."""
    folders = df.drop_duplicates("landmark_id")["id"].str.split("/").str[0]
    key = _alike_key(folders)
    alike = folders[key.duplicated(keep=False)]
    if alike.empty:
        return []
    first = alike[key[alike.index] == key[alike.index[0]]]
    # Names that print the same need saying how they differ, or the note would read "'Café', 'Café'".
    forms = (": the same letters, one with its accents as separate characters, as macOS writes names"
             if first.map(lambda f: unicodedata.normalize("NFC", f)).duplicated().any() else "")
    notes = [f"{plural(len(alike), 'class folder')} with names that differ only in case, spaces, '_' or Unicode form "
             f"(e.g. {', '.join(repr(f) for f in first)}{forms}): kept as different landmarks; merge them if they are one"]
    # On a case-sensitive disk `Eiffel` and `eiffel` are two folders; macOS's and Windows' disks hold one of them.
    folded = alike.str.casefold()
    cased = alike[folded.duplicated(keep=False)]
    if not cased.empty:
        pair = cased[folded[cased.index] == folded[cased.index[0]]]
        notes.append(f"{' and '.join(repr(f) for f in pair)} differ only in case: on macOS or Windows, whose disks "
                     "ignore case, they cannot both exist, so a copy of this dataset there mixes their photos in one "
                     "folder (or stops); rename one to keep them apart")
    return notes


def landmarks_named_alike(df: pd.DataFrame) -> list[str]:
    """A note on landmark_ids that train_label_to_category.csv names alike (the same category twice, or in
    another case): the model is taught to tell them apart, and every prediction shows them under one name."""
    # Each class's first row found on the ints, then its name taken: the whole table's drop_duplicates cost 2.4 s at 4.1M rows.
    first = np.flatnonzero(~df["landmark_id"].duplicated().to_numpy())
    classes = pd.Series(df["name"].iloc[first].astype(str).to_numpy(), index=df["landmark_id"].to_numpy()[first])
    classes = classes[classes != "landmark " + classes.index.astype(str)]  # no name in the file: named by its id
    key = _alike_key(classes)
    alike = classes[key.duplicated(keep=False).to_numpy()]
    if alike.empty:
        return []
    first = alike[(key[alike.index] == key[alike.index[0]]).to_numpy()]
    return [f"{CATEGORY_CSV}: {plural(len(alike), 'landmark_id')} with names that differ only in case, spaces, '_' or "
            f"Unicode form (e.g. {', '.join(f'{i} {n!r}' for i, n in first.items())}): kept as different landmarks; "
            f"merge them in train.csv if they are one"]


WINDOWS_RESERVED = {"con", "prn", "aux", "nul", *(f"{p}{d}" for p in ("com", "lpt") for d in "123456789¹²³")}


def _not_on_windows(name: str) -> bool:
    """A name Windows cannot give a folder: a device's (CON, NUL.txt), one ending in a dot or space, or one holding
    a character it reserves."""
    return (name.split(".")[0].rstrip(" ").lower() in WINDOWS_RESERVED or name.endswith((".", " "))
            or any(c in '<>:"|?*\\' for c in name))


def windows_unsafe_folders(df: pd.DataFrame) -> list[str]:
    """A note on class folders Windows cannot hold (`CON`, `NUL.`, `aux `, `Tower: old`): read here, and the run and
    its exports keep names only inside their files, but a copy of the dataset on Windows fails or renames them."""
    first = np.flatnonzero(~df["landmark_id"].duplicated().to_numpy())
    folders = pd.Series(df["id"].iloc[first].str.split("/").str[0].to_numpy()).drop_duplicates()
    bad = folders[folders.map(_not_on_windows).astype(bool)]
    if bad.empty:
        return []
    return [f"{plural(len(bad), 'class folder')} named so Windows cannot hold {'it' if len(bad) == 1 else 'them'} (e.g. "
            f"{', '.join(repr(f) for f in bad.head(3))}: a device's name there, a name ending in a dot or space, or one "
            "of < > : \" | ? * \\): read here, and runs and exports keep class names inside their files only; a copy "
            "of this dataset on Windows fails or renames such folders, so rename them to move it there"]


def unnamed_classes(df: pd.DataFrame) -> list[str]:
    """A note on class folders named only with spaces or '_', which read_class_folders names by their id."""
    classes = df.drop_duplicates("landmark_id")
    folders = classes["id"].str.split("/").str[0]
    blank = classes[folders.str.replace("_", " ").str.strip() == ""]
    if blank.empty:
        return []
    return [f"{plural(len(blank), 'class folder')} named only with spaces or '_' (e.g. "
            f"{examples(folders[blank.index])}): shown as {examples(blank['name'])}; rename "
            + ("the folder to name its landmark" if len(blank) == 1 else "the folders to name their landmarks")]


def _seen_as(name: str) -> str:
    """A name as a person reads it: one Unicode form (NFC), runs of spaces as one."""
    return " ".join(unicodedata.normalize("NFC", name).split())


def distinct_names(df: pd.DataFrame, folders: bool) -> pd.DataFrame:
    """`df` with the classes that would show under one name told apart, in a form stable across runs.

    Names that read the same (the same Wikimedia category for two landmark_ids; folders `Big Ben` and `Big_Ben`, or
    `Café` typed on Linux and on a Mac) made the class browser, per-class metrics, the confusion matrix and
    predictions show two classes as one. Each such class gets what tells it apart: GLDv2's landmark_id
    ("Eiffel Tower (landmark 12)"), or for class folders the folder's name as written, since a folder's number
    shifts when a folder is added ("Big Ben (folder Big_Ben)"; a name macOS wrote shows its accents as escapes,
    "Café (folder Cafe\\u0301)"). Names that differ in case stay as they are: they can be told apart (and
    `look_alike_classes` says they look alike).
    """
    first = np.flatnonzero(~df["landmark_id"].duplicated().to_numpy())
    names = df["name"].iloc[first].astype(str)
    same = names.map(_seen_as).duplicated(keep=False).to_numpy()
    if not same.any():
        return df
    ids, shown = df["landmark_id"].to_numpy()[first][same], names.to_numpy()[same]
    if folders:
        written = df["id"].iloc[first[same]].str.split("/").str[0]
        label = [f"folder {_folder_shown(f)}" for f in written]
    else:
        label = [f"landmark {int(i)}" for i in ids]
    renamed = dict(zip(ids.tolist(), (f"{n} ({lab})" for n, lab in zip(shown, label))))
    return df.assign(name=class_column(df["landmark_id"], {**_class_names(df), **renamed}))


def _folder_shown(folder: str) -> str:
    """A class folder's name as `distinct_names` shows it: accents macOS wrote apart as escapes, and quoted when
    its spaces would not show (at an end, or two in a row)."""
    shown = folder if unicodedata.is_normalized("NFC", folder) else ascii(folder)[1:-1]
    # Read as _seen_as reads, ` Tower` and `Tower` both showed "Tower (folder Tower)": one name for two classes.
    return shown if " ".join(folder.split()) == folder else f"'{shown}'"


def _class_names(df: pd.DataFrame) -> dict[int, str]:
    """landmark_id -> the name its first row holds."""
    first = np.flatnonzero(~df["landmark_id"].duplicated().to_numpy())
    return dict(zip(df["landmark_id"].to_numpy()[first].tolist(), df["name"].iloc[first].astype(str).tolist()))


FOLDER_LABEL = " (folder "


def _untold(name: str) -> str:
    """A class folder's name without what `distinct_names` adds to tell it apart ("Big Ben (folder Big_Ben)" -> "Big Ben")."""
    cut = name.rfind(FOLDER_LABEL)
    return name[:cut] if cut > 0 and name.endswith(")") else name


def recorded_names_now(df: pd.DataFrame, table: pd.DataFrame,
                       labels: pd.DataFrame) -> tuple[pd.DataFrame, list[tuple[str, str]]]:
    """A run's labels with each class folder named as the catalog `df` names its photos now; and the (old, new) names.

    A run keeps the names of its day: one made before look-alike folders were told apart recorded "Big Ben" for
    both `Big Ben` and `Big_Ben`, and one made before `Big_Ben` was added recorded "Big Ben" where the catalog now
    says "Big Ben (folder Big Ben)" (or the other way round once it is deleted). Matched by name, those classes read
    as unknown to the run. Each recorded class (its photos in `table`, the run's split.csv) takes the one name its
    photos have now when the two differ only by that "(folder ...)"; any other name stays the run's.
    """
    now = df.drop_duplicates("id").set_index("id")["name"].astype(str)
    seen = table.assign(now=table["id"].astype(str).map(now)).dropna(subset=["now"])
    one = seen.groupby("landmark_id")["now"].agg(lambda names: names.iloc[0] if names.nunique() == 1 else None).dropna()
    renamed = []
    names = []
    for landmark_id, name in zip(labels["landmark_id"], labels["name"]):
        new = one.get(landmark_id)
        if new is not None and new != name and _untold(new) == _untold(str(name)):
            renamed.append((name, new))
            name = new
        names.append(name)
    return (labels.assign(name=names) if renamed else labels), renamed


def names_read_alike(names: pd.Series) -> bool:
    """Whether two of `names` read the same (one Unicode form, runs of spaces as one): `distinct_names` tells such apart."""
    return bool(names.astype(str).map(_seen_as).duplicated().any())


def recorded_names_told_apart(labels: pd.DataFrame, split: pd.DataFrame | None) -> pd.DataFrame:
    """A run's labels with recorded names that read the same told apart, as `distinct_names` tells a catalog's.

    A run made before look-alike classes were told apart recorded "Big Ben" for both `Big Ben` and `Big_Ben` (and
    GLDv2's one category for two landmark_ids), so its results and predictions showed one name for two classes.
    A class folder's run (its split's ids are `folder/photo`) gets "Big Ben (folder Big_Ben)", the name its dataset
    gives now, so a resume still matches it; GLDv2's, or a run whose split.csv is gone, "Big Ben (landmark 12)".
    `labels` as they are when no two names read the same.
    """
    names = labels["name"].astype(str)
    if not names_read_alike(names):
        return labels
    rows = pd.DataFrame({"id": "", "landmark_id": labels["landmark_id"].to_numpy(), "name": names.to_numpy()})
    if split is not None and {"id", "landmark_id"} <= set(split.columns):
        first = split.drop_duplicates("landmark_id")
        ids = rows["landmark_id"].map(dict(zip(first["landmark_id"].tolist(), first["id"].astype(str))))
        if ids.notna().all() and ids.str.contains("/", regex=False).all():
            told = distinct_names(rows.assign(id=ids), folders=True)
            return labels.assign(name=told["name"].astype(str).to_numpy())
    return labels.assign(name=distinct_names(rows, folders=False)["name"].astype(str).to_numpy())


def names_told_apart(table: pd.DataFrame, labels: pd.DataFrame, columns: dict[str, str]) -> pd.DataFrame:
    """`table` (a run's per-class scores or predictions) with each name column named by `labels`, through the
    landmark_id column beside it (`columns`: name column -> its landmark_id column); other names kept."""
    by_id = dict(zip(labels["landmark_id"].astype("int64").tolist(), labels["name"].astype(str)))
    out = {}
    for name, key in columns.items():
        if name in table.columns and key in table.columns:
            ids = pd.to_numeric(table[key], errors="coerce")
            out[name] = [by_id.get(int(i), n) if pd.notna(i) else n for i, n in zip(ids, table[name])]
    return table.assign(**out) if out else table


def run_labels_told_apart(run, labels: pd.DataFrame | None = None) -> pd.DataFrame | None:
    """`run`'s labels (read from it unless given) as `recorded_names_told_apart` names them, its split.csv read only
    then; None when no two names read alike (most runs), or the run has no readable labels (its reader says why)."""
    from glr.errors import GlrError

    def quietly(reader):
        try:
            return reader()
        except (GlrError, ValueError, KeyError):
            return None

    labels = quietly(run.labels) if labels is None else labels
    if labels is None or not names_read_alike(labels["name"]):
        return None
    return recorded_names_told_apart(labels, quietly(run.split))

"""GLDv2's files beside train.csv, told apart: which one a dataset folder is read from, and what the others are.

A GLDv2 download holds, beside `train.csv`, `train_clean.csv` (the cleaned subset GLDv2's papers train
on), `train_label_to_category.csv` (the landmarks' names), `train_attribution.csv` (photo credits),
`index.csv` and `test.csv` (photos without landmarks) and `recognition_solution_v2.1.csv` (the answers
for test.csv); Kaggle adds `sample_submission.csv`. A folder is read from its `train.csv`; these say so,
and name the file given when it is one of the others, by its columns (as a download may rename it).
A train.csv with its `id` or `landmark_id` column twice (a join, a spreadsheet's copy) is refused when
the two differ: which one is meant is unknown.
"""

from __future__ import annotations

from pathlib import Path

CLEAN = "train_clean.csv"


def clean_beside(root: Path, csv: Path) -> str | None:
    """A note when a folder was read from `csv` (its train.csv) and GLDv2's train_clean.csv lies beside it, else None."""
    clean = next((p for p in sorted(root.iterdir()) if p.name.lower() == CLEAN and p.is_file()), None)
    if clean is None or csv.name.lower() == CLEAN:
        return None
    return (f"read {csv.name}, every photo GLDv2 lists; {clean.name} beside it lists the cleaned subset "
            f"(fewer, surer labels): to train on that, point glr at {clean}")


def inside_images_tree(root: Path) -> str | None:
    """The message for `root` being a folder inside GLDv2's images tree (`train/0`, `train/0/1`), else None.

    Read as class folders, `train/0` of GLDv2 gave 16 classes named "0" to "f", a model taught hex digits.
    """
    from glr.data.layouts import TRAIN_CSV, looks_like_gldv2_images

    # The tree's last folders hold photos, not folders: looks_like_gldv2_images sees them from two levels up.
    if not (len(root.name) == 1 and root.name in "0123456789abcdef"
            and (looks_like_gldv2_images(root.parent) or looks_like_gldv2_images(root.parent.parent))):
        return None
    images = root.parent
    while len(images.name) == 1 and images.name in "0123456789abcdef" and images.parent != images:
        images = images.parent
    dataset = images.parent
    return (f"{root}: is inside GLDv2's folder of images ({images}, a/b/c/abc.jpg), not one folder per class; point "
            f"glr at {dataset}" + ("" if (dataset / TRAIN_CSV).is_file() else f", with {TRAIN_CSV} put there"))


def what_file_is(header: list[str]) -> str | None:
    """What a CSV that is no training list is, by its lower-cased header (GLDv2's other files), or None."""
    columns = set(header)
    if {"id", "landmarks", "usage"} <= columns:
        return ("it is GLDv2's answers for test.csv (recognition_solution), for scoring a submission, "
                "not photos to train on: use train.csv (or train_clean.csv)")
    if columns == {"id", "landmarks"}:
        return ("it is a submission (Kaggle's sample_submission.csv, or one glr's predict wrote): predictions for test "
                "photos, not photos to train on: use train.csv (or train_clean.csv)")
    if "id" in columns and columns & {"author", "license", "title"}:
        return "it is GLDv2's photo credits (train_attribution.csv), read beside train.csv: use train.csv"
    if columns == {"landmark_id", "category"}:
        return ("it is GLDv2's landmark names (train_label_to_category.csv), read beside train.csv: "
                "point glr at the folder that holds both, or at train.csv")
    return None


def repeated_columns(header: list[str], names: list[str], columns: list[str]) -> list[str]:
    """The names (as `names` gives them) of the second and later columns of `header` called one of `columns`."""
    return [n for n, h in zip(names, header) if h in columns and n not in columns]


def repeated_column_problem(csv: Path, header: list[str], names: list[str], df) -> str | None:
    """Why `csv` cannot be read when a column of `df` is in the file twice with different values, else None:
    which of the two is meant is unknown. `df` holds every column of `header`'s it names, read by `names`."""
    from glr.data.csv_lines import row_lines_of

    for column in [c for c in df.columns if c in header]:
        at = [i for i, h in enumerate(header) if h == column]
        first = df[column].fillna("").str.strip()
        for i in at[1:]:
            other = df[names[i]].fillna("").str.strip()
            differ = (first != other).to_numpy()
            if differ.any():
                row, numbers = int(differ.argmax()), ", ".join(str(j + 1) for j in at[:-1]) + f" and {at[-1] + 1}"
                # train.csv: the file's line of that row (blank lines, `sep=`, quoted line ends shift Arrow's count).
                rows = row_lines_of(df)
                line = rows.line(df.index[row]) if rows is not None else None
                return (f"{csv}: has {len(at)} columns named {column!r} (columns {numbers}) that differ on "
                        f"{int(differ.sum()):,} of {len(df):,} rows (e.g. {first.iloc[row]!r} and {other.iloc[row]!r}"
                        f"{f' on line {line}' if line is not None else ''}); "
                        "which one is meant is unknown: delete or rename the other")
    return None

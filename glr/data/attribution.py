"""Who took each GLDv2 photo and under which licence, from the release's `train_attribution.csv`.

The photos come from Wikimedia Commons under licences (CC BY, CC BY-SA...) that require
crediting the author, so wherever glr shows a photo it can show its credit. The file has
one row per photo (`id`, and `author`, `license` and `title`; an `url` column is ignored);
its 4.1M rows are read once into an Arrow table (text columns stay compact, no Python
object per row) and looked up by id in a single vectorised pass per page of photos.
`credits` is what a page calls with the paths it shows; photos of other datasets, or of a
dataset without the file, simply have no credit.
"""

from __future__ import annotations

import os
import threading
from functools import lru_cache
from pathlib import Path
from typing import Iterable


ATTRIBUTION_CSV = "train_attribution.csv"
FIELDS = ("author", "license", "title")
# The same column under other spellings seen in exports.
ALIASES = {"licence": "license", "licensing": "license", "artist": "author"}
_lock = threading.Lock()


class Attributions:
    """The credits of one dataset: an Arrow table with id, author, license, title (missing columns empty), and the
    problems met reading them (`problems`: a legacy code page read, a file or rows that could not be read)."""

    def __init__(self, table, problems: list[str] | None = None):
        self.table = table
        self.problems = list(problems or [])

    def __len__(self) -> int:
        return self.table.num_rows

    @classmethod
    def read(cls, csv: str | os.PathLike) -> "Attributions":
        """Read a train_attribution.csv; an unreadable or unusable file gives an empty set (credits are a courtesy),
        and says why in `problems`.

        Read as train.csv is (`glr.data.train_csv`: `;` or tab separators, a bare CR for line ends, never a
        pipe's endless read, a legacy code page its words show: `glr.data.csv_source.retry_as_windows_1252`); a
        row that does not parse (an unquoted comma in a title) costs its own credit only.
        """
        import pyarrow as pa

        from glr.data.csv_source import retry_as_windows_1252
        from glr.data.layouts import plural
        from glr.data.train_csv import arrow_columns, read_layout
        from glr.errors import DatasetError

        csv = Path(csv)
        empty = pa.table({name: pa.array([], pa.string()) for name in ("id",) + FIELDS})
        unshown = "photos are shown without their credits"
        bad_rows: list[str] = []

        def columns(path: Path):
            bad_rows.clear()  # a second reading (in a legacy code page) finds them again
            return arrow_columns(path, names, keep, delimiter, bad_rows=bad_rows)

        try:
            header, _, delimiter = read_layout(csv, "id,author,license,title")
            names = [ALIASES.get(h, h) for h in header]
            if "id" not in names:
                return cls(empty, [f"{csv.name}: has no id column (found {', '.join(repr(h) for h in header)}); "
                                   f"expected id,author,license,title: {unshown}"])
            names = [n if n not in names[:i] else f"{n}.{i}" for i, n in enumerate(names)]
            keep = ["id"] + [f for f in FIELDS if f in names]
            table, note = retry_as_windows_1252(columns, csv)
        except DatasetError as exc:
            return cls(empty, [f"{str(exc).replace(str(csv), csv.name, 1)}; {unshown}"])
        problems = [note] if note else []
        if bad_rows:
            problems.append(f"{csv.name}: {plural(len(bad_rows), 'row')} without the header's columns (a title holding "
                            f"the separator must be in quotes): those photos are shown without their credits")
        for name in FIELDS:
            if name not in table.column_names:
                table = table.append_column(name, pa.nulls(table.num_rows, pa.string()))
        return cls(table.select(["id", *FIELDS]), problems)

    def lookup(self, ids: Iterable[str]) -> dict[str, dict[str, str]]:
        """id -> {author, license, title} (only the fields that are known) for the ids that have a row."""
        import pyarrow as pa
        import pyarrow.compute as pc

        wanted = pa.array(sorted({str(i) for i in ids}), pa.string())
        if not len(wanted) or not self.table.num_rows:
            return {}
        rows = self.table.filter(pc.is_in(self.table["id"], value_set=wanted)).to_pylist()
        return {row["id"]: {k: str(row[k]).strip() for k in FIELDS if row[k] and str(row[k]).strip()} for row in rows}


def credit_line(fields: dict[str, str] | None) -> str | None:
    """'"Title" by Author, CC BY-SA 3.0' from whatever is known, or None if nothing is."""
    if not fields:
        return None
    title = fields.get("title", "")
    title = title.split(":", 1)[1] if title.lower().startswith("file:") else title
    parts = [f'"{title}"' if title else "Photo", f"by {fields['author']}" if fields.get("author") else ""]
    text = " ".join(p for p in parts if p)
    if fields.get("license"):
        text += f", {fields['license']}"
    return text if (fields.get("author") or fields.get("license")) else None


def dataset_root_of(path: str | os.PathLike) -> Path | None:
    """The GLDv2 folder a photo at root/train/a/b/c/<id>.jpg belongs to, if it is laid out so."""
    p = Path(path)
    if len(p.parents) >= 5 and p.parents[3].name == "train" and p.parents[2].name == p.stem[:1]:
        return p.parents[4]
    return None


@lru_cache(maxsize=4)
def _load(csv: str, stamp: tuple) -> Attributions:
    return Attributions.read(csv)


def for_dataset(root: str | os.PathLike) -> Attributions | None:
    """The dataset's attributions (read once, then kept until the file changes), or None if it has no file."""
    csv = Path(root) / ATTRIBUTION_CSV
    try:
        st = csv.stat()
        stamp = (st.st_mtime_ns, st.st_size)  # a file saved again within the same second too
    except OSError:
        return None
    with _lock:  # two threads of the app asking at once read the file once
        return _load(str(csv), stamp)


def problems(root: str | os.PathLike) -> list[str]:
    """What reading the dataset's train_attribution.csv met (read in a legacy code page, unreadable, rows skipped),
    for the Dataset page's problems; [] when it has no such file or read cleanly."""
    table = for_dataset(root)
    return list(table.problems) if table is not None else []


def credits(paths: Iterable[str | os.PathLike]) -> list[str | None]:
    """The credit line of each photo path (see `credit_line`), None where it is unknown.

    Photos in a GLDv2 folder with a train_attribution.csv beside its train.csv get their
    author and licence; any other photo gets None. For the gallery and the Predict page's
    similar photos.
    """
    from glr.data.layouts import TRAIN_CSV  # layouts imports pandas: paid when credits are looked up, not on import

    paths = [Path(p) for p in paths]
    by_root: dict[Path, list[int]] = {}
    for i, p in enumerate(paths):
        root = dataset_root_of(p)
        if root is not None and ((root / TRAIN_CSV).exists() or (root / ATTRIBUTION_CSV).exists()):
            by_root.setdefault(root, []).append(i)
    out: list[str | None] = [None] * len(paths)
    for root, positions in by_root.items():
        table = for_dataset(root)
        if table is None:
            continue
        found = table.lookup(paths[i].stem for i in positions)
        for i in positions:
            out[i] = credit_line(found.get(paths[i].stem))
    return out

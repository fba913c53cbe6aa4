"""A CSV's header as glr's readers of train.csv, train_clean.csv and the category and attribution files take it.

Its first line (after Excel's `sep=;` line, which declares the separator) in any case or quoting, under a common
other name (`image_id`), separated by a comma, semicolon, tab or pipe; rows ending in empty fields the header lacks
(`abc,1,`) read with those columns unnamed; and the header as the file writes it, for messages.
"""

from __future__ import annotations

import contextlib
import csv as _csv
import itertools
import re
from pathlib import Path

from glr.data.csv_source import not_utf8, refuse_other_kinds, utf8_source
from glr.errors import DatasetError
from glr.paths import broken_link

# Characters around a value that no one sees or means (zero-width spaces and joiners, a BOM) and stray quotes.
INVISIBLE = '\u200b\u200c\u200d\u2060\ufeff" \t'
# The name given to a column past the header that the first row leaves empty (`abc,1,`).
EMPTY_COLUMN = "<empty> "
# Column separators a train.csv may use besides the comma Kaggle's files have.
OTHER_DELIMITERS = (";", "\t", "|")
# Other names people and tools give GLDv2's columns (`image_id` in Kaggle kernels' CSVs, `filename` or `path` in one's
# own): read as the column they stand for when that one is absent. Names as open as `label` or `class` are not taken.
ALIASES = {"id": ("image_id", "imageid", "image id", "img_id", "filename", "file_name", "file name", "image_name", "path"),
           "landmark_id": ("landmark", "landmarkid", "landmark id"),
           "category": ("name", "landmark_name", "category_name")}


def read_header(csv: Path, expected: str = "id,landmark_id", delimiter: str = ",") -> list[str]:
    """The header fields of a CSV file as written (quotes removed), from its first line; `expected`: the
    columns the file should have, for the messages."""
    if broken := broken_link(csv):
        raise DatasetError(f"{csv}: is {broken}")
    if not csv.is_file():
        # A folder, or a pipe that would block the read forever.
        raise DatasetError(f"{csv}: is not a regular file; expected a CSV file `{expected}`")
    try:
        with open(csv, "rb") as fh:
            header_bytes = fh.read(10_000)
    except OSError as exc:
        raise DatasetError(f"{csv}: cannot be read ({exc.strerror or exc})") from None
    refuse_other_kinds(csv, header_bytes, expected)
    if (source := utf8_source(csv)) != csv:  # UTF-16 (Excel's "Unicode Text"): its text, read as UTF-8
        with open(source, "rb") as fh:
            header_bytes = fh.read(10_000)
        refuse_other_kinds(csv, header_bytes, expected)
    # Excel for Mac's "CSV (Macintosh)" ends lines with a bare carriage return, which Arrow reads as
    # a line end too: the first line stops there. After Excel's `sep=;` line, the header is the second.
    lines = re.split(rb"\r\n|\r|\n", header_bytes, maxsplit=2)
    header_bytes = lines[1 if declared_separator(csv) else 0]
    try:
        line = header_bytes.decode("utf-8-sig").strip()
    except UnicodeDecodeError:
        raise DatasetError(not_utf8(csv)) from None
    if not line and any(part.strip() for part in lines[1:]):
        raise DatasetError(f"{csv}: its first line is blank; delete the blank lines above its header `{expected}`")
    if not line:
        raise DatasetError(f"{csv}: is empty; expected a header line `{expected}` and one row per "
                           f"{'image' if expected.startswith('id') else 'landmark'}")
    try:
        return next(_csv.reader([line], delimiter=delimiter))
    except _csv.Error as exc:  # a malformed first line
        raise DatasetError(f"{csv}: its first line is not a CSV header ({exc}); expected `{expected}`") from None


def read_layout(csv: Path, expected: str = "id,landmark_id") -> tuple[list[str], list[str], str]:
    """(header, column names, delimiter) of a CSV file: the header's fields lower-cased and trimmed, and the
    unique names `arrow_columns` reads the columns by."""
    delimiter = declared_separator(csv) or ","
    fields = read_header(csv, expected, delimiter)
    # Spreadsheets in many locales save "CSV" with semicolons, and some exports use tabs.
    if delimiter == "," and len(fields) == 1 and (delimiter := next((d for d in OTHER_DELIMITERS if d in fields[0]), ",")) != ",":
        fields = fields[0].split(delimiter)
    row = _first_row(csv, delimiter)
    # A header ending in separators (`id,landmark_id,`: a sheet's column formatted but never named or filled) over
    # rows without them: those columns are not there, rather than every row short of fields.
    while len(fields) > 1 and not fields[-1].strip().strip(INVISIBLE) and row is not None and len(row) < len(fields):
        fields = fields[:-1]
    header = with_aliases([f.strip().strip(INVISIBLE).strip().lower() for f in fields])
    # Our own names for the columns (the header line is skipped), so a header in another case,
    # with spaces or quotes, or with a repeated name, still finds its columns.
    names = [h if h not in header[:i] else f"{h}.{i}" for i, h in enumerate(header)]
    # Rows ending in a separator the header lacks (`abc,1,`: a script's or a spreadsheet's empty last column):
    # read with that column unnamed, instead of refusing every row as one field too many.
    width = len(fields)
    extra = len(row) - width if row and len(row) > width and not any(f.strip() for f in row[width:]) else 0
    return header, names + [f"{EMPTY_COLUMN}{i}" for i in range(extra)], delimiter


def _first_row(csv: Path, delimiter: str) -> list[str] | None:
    """The fields of the first row below the header (from the file's first 10 KB), or None."""
    try:
        with open(utf8_source(csv), "rb") as fh:
            data = fh.read(10_000)
        lines = re.split(rb"\r\n|\r|\n", data)[1 + bool(declared_separator(csv)):]
        lines = [line for line in (lines[:-1] if len(data) == 10_000 else lines) if line.strip()]  # whole lines only
        return next(_csv.reader([lines[0].decode("utf-8")], delimiter=delimiter)) if lines else None
    except (OSError, UnicodeDecodeError, _csv.Error):
        return None  # the parse names what is wrong with the file


def declared_separator(csv: Path) -> str | None:
    """The separator a first line `sep=;` declares (Excel writes and reads it), or None if the file has none.

    Also when a tool wrote that line as a CSV cell: quoted (`"sep=;"`), or followed by the row's empty cells (`sep=;;;`).
    """
    if not csv.is_file():  # a pipe would block the read: `read_header` names it
        return None
    try:
        with open(utf8_source(csv), "rb") as fh:
            match = re.match(rb'(?:\xef\xbb\xbf)?("?)sep=([^\r\n])\1\2*[ \t]*(?:\r\n|\r|\n)', fh.read(64))
    except OSError:
        return None
    return match.group(2).decode("latin-1") if match else None


def with_aliases(header: list[str]) -> list[str]:
    """`header` with each column of ALIASES read as the one it stands for, when that one is absent and the
    alias is the only one of its kind (two candidates could be either)."""
    header = list(header)
    for column, aliases in ALIASES.items():
        # `landmark.id` (R's read.csv and write.csv name `landmark id` so) and `landmark-id`: the same words.
        spelled = {_words_of(a) for a in (column, *aliases)}
        found = [i for i, h in enumerate(header) if h in aliases or (h != column and _words_of(h) in spelled)]
        if column not in header and len(found) == 1:
            header[found[0]] = column
    return header


def _words_of(name: str) -> str:
    """A column name's words joined by `_`, whatever joined them (spaces, dots, dashes, underscores)."""
    return "_".join(re.split(r"[\s._-]+", name.strip(" ._-")))


def looks_like_a_row(fields: list[str]) -> bool:
    """Whether a first line's fields are a row of data rather than column names: an id of hex digits, a
    number or a URL among them (a header line holds none)."""
    return any(re.fullmatch(r"[0-9a-fA-F]{8,64}|[+-]?[0-9]+(\.0*)?|https?://\S*", f.strip().strip('"')) for f in fields)


def written_header(csv: Path, delimiter: str, width: int) -> list[str] | None:
    """The header's fields as the file writes them (case and all, spaces and quotes trimmed), or None if they are
    not `width` fields (the reading's own split differs)."""
    fields = read_header(csv, delimiter=declared_separator(csv) or ",")
    fields = fields[0].split(delimiter) if len(fields) == 1 and width > 1 else fields
    fields = [f.strip().strip(INVISIBLE).strip() for f in fields]
    return fields if len(fields) == width else None


def header_line_below(csv: Path, delimiter: str, lines: int = 10) -> int | None:
    """The number (from 1) of a line after the first, among the first `lines`, that names the id and landmark_id
    columns (or train_clean.csv's), or None."""
    with contextlib.suppress(OSError, UnicodeDecodeError), open(utf8_source(csv), encoding="utf-8-sig", newline="") as fh:
        for n, line in enumerate(itertools.islice(fh, lines), start=1):
            fields = set(with_aliases([f.strip().strip(INVISIBLE).strip().lower() for f in line.split(delimiter)]))
            if n > 1 and ({"id", "landmark_id"} <= fields or {"landmark_id", "images"} <= fields):
                return n
    return None

"""GLDv2's train.csv and train_clean.csv, parsed with Arrow into text columns, strictly.

`glr.data.layouts` turns these columns into dataset rows; this module only reads the file: its
header in any case or quoting or under a common other name (`image_id`), a comma, semicolon, tab or
pipe separator (or the one Excel's `sep=;` line declares), any line ends (a bare CR too), rows ending in
empty fields the header lacks (`abc,1,`, on every row or on some; any other row of the wrong width is named by
its line), `train_clean.csv`'s one row per class exploded into one row per id, and landmark ids checked as
plain integers (`12,0` too). The category and attribution files are read through it as well. Every open of the
file goes through `glr.data.csv_source.utf8_source`, so UTF-16 text (Excel's "Unicode Text") and a file ending in
Ctrl-Z read as the same UTF-8 text everywhere.
"""

from __future__ import annotations

import contextlib
import csv as _csv
import itertools
import re
from pathlib import Path

import pandas as pd

from glr.data import gldv2_files
from glr.data.csv_source import drop_separator_only_rows, refuse_other_kinds, refuse_zero_bytes, utf8_source
from glr.errors import DatasetError
from glr.paths import broken_link, one_line

TRAIN_NAME = "train.csv"
CLEAN_CSV = "train_clean.csv"  # the cleaned subset (1.58M photos, 81k classes): `landmark_id,images`
# Text columns are Arrow-backed strings: Python objects would cost seconds per step at GLDv2's 4.1M rows.
TEXT = pd.StringDtype("pyarrow")


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
        raise DatasetError(f"{csv}: is not UTF-8 text; save it as UTF-8 CSV") from None
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
    header = with_aliases([f.strip().strip(INVISIBLE).strip().lower() for f in fields])
    # Our own names for the columns (the header line is skipped), so a header in another case,
    # with spaces or quotes, or with a repeated name, still finds its columns.
    names = [h if h not in header[:i] else f"{h}.{i}" for i, h in enumerate(header)]
    # Rows ending in a separator the header lacks (`abc,1,`: a script's or a spreadsheet's empty last column):
    # read with that column unnamed, instead of refusing every row as one field too many.
    extra = _empty_fields_past_the_header(csv, delimiter, len(fields))
    return header, names + [f"{EMPTY_COLUMN}{i}" for i in range(extra)], delimiter


def _empty_fields_past_the_header(csv: Path, delimiter: str, width: int) -> int:
    """How many fields the first row has beyond the header's `width`, when all of them are empty (else 0)."""
    try:
        with open(utf8_source(csv), "rb") as fh:
            data = fh.read(10_000)
        lines = re.split(rb"\r\n|\r|\n", data)[1 + bool(declared_separator(csv)):]
        lines = [line for line in (lines[:-1] if len(data) == 10_000 else lines) if line.strip()]  # whole lines only
        row = next(_csv.reader([lines[0].decode("utf-8")], delimiter=delimiter)) if lines else []
    except (OSError, UnicodeDecodeError, _csv.Error):
        return 0  # the parse names what is wrong with the file
    return len(row) - width if len(row) > width and not any(f.strip() for f in row[width:]) else 0


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
        found = [i for i, h in enumerate(header) if h in aliases]
        if column not in header and len(found) == 1:
            header[found[0]] = column
    return header


def looks_like_a_row(fields: list[str]) -> bool:
    """Whether a first line's fields are a row of data rather than column names: an id of hex digits, a
    number or a URL among them (a header line holds none)."""
    return any(re.fullmatch(r"[0-9a-fA-F]{8,64}|[+-]?[0-9]+(\.0*)?|https?://\S*", f.strip().strip('"')) for f in fields)


def read_train_csv(csv: Path) -> tuple[pd.DataFrame, list[str]]:
    """Read id and landmark_id (both as text) from a GLDv2 train.csv, whatever its other columns.

    Column names match without regard to case or surrounding spaces (`ID, Landmark_ID`).
    A `train_clean.csv` (`landmark_id,images`, the ids of a class separated by spaces) gives
    one row per id, as train.csv would.
    """
    header, names, delimiter = read_layout(csv)
    if "id" not in header and {"landmark_id", "images"} <= set(header):
        return explode_clean(arrow_columns(csv, names, ["landmark_id", "images"], delimiter)), []
    missing = [c for c in ("id", "landmark_id") if c not in header]
    if missing and looks_like_a_row(header):
        raise DatasetError(
            f"{csv}: has no header line: its first line ({', '.join(repr(h) for h in header)}) is a row of data; "
            "add a first line naming the columns, `id,landmark_id` (or `id,url,landmark_id`, in the file's order)")
    if missing:
        # A column whose name may mean either the landmark or its name: only the user knows, so it is named.
        maybe = [h for h in header if h in ("label", "class", "class_id", "target", "landmarks")] if "landmark_id" in missing else []
        maybe = [] if gldv2_files.what_file_is(header) else maybe  # GLDv2's answers' `landmarks`: no training list
        raise DatasetError(
            f"{csv}: missing column {' and '.join(repr(m) for m in missing)}; "
            f"found {', '.join(repr(h) for h in header)}. Expected `id,landmark_id` or `id,url,landmark_id` "
            f"(or {CLEAN_CSV}'s `landmark_id,images`)"
            + (f"; if {maybe[0]!r} holds the landmark ids, rename it landmark_id" if maybe else "")
            # A title line above the header, as a spreadsheet's report or an export tool writes one.
            + (f"; its header is line {n}: delete the {n - 1} line{'s' if n > 2 else ''} above it"
               if (n := _header_line_below(csv, delimiter)) else "")
            # GLDv2's test.csv and index.csv (`id,url`, or `id` alone) are photos without their landmarks.
            + (f"; GLDv2's test.csv and index.csv list photos without their landmarks: use {TRAIN_NAME} (or {CLEAN_CSV})"
               if missing == ["landmark_id"] and set(header) <= {"id", "url", "images"} else
               f"; {other}" if (other := gldv2_files.what_file_is(header)) else "")
        )
    twice = gldv2_files.repeated_columns(header, names, ["id", "landmark_id"])  # `id,landmark_id,landmark_id`
    df = drop_repeated_headers(arrow_frame(arrow_columns(csv, names, ["id", "landmark_id", *twice], delimiter)))
    df = drop_separator_only_rows(df, csv, delimiter)
    if twice and (problem := gldv2_files.repeated_column_problem(csv, header, names, df)):
        raise DatasetError(problem)
    return df[["id", "landmark_id"]], []


def _header_line_below(csv: Path, delimiter: str, lines: int = 10) -> int | None:
    """The number (from 1) of a line after the first, among the first `lines`, that names the id and landmark_id
    columns (or train_clean.csv's), or None."""
    with contextlib.suppress(OSError, UnicodeDecodeError), open(utf8_source(csv), encoding="utf-8-sig", newline="") as fh:
        for n, line in enumerate(itertools.islice(fh, lines), start=1):
            fields = set(with_aliases([f.strip().strip(INVISIBLE).strip().lower() for f in line.split(delimiter)]))
            if n > 1 and ({"id", "landmark_id"} <= fields or {"landmark_id", "images"} <= fields):
                return n
    return None


def drop_repeated_headers(df: pd.DataFrame) -> pd.DataFrame:
    """`df` without rows that repeat the header (`id,landmark_id` again): what `cat part1.csv part2.csv`
    leaves in the middle of a file put together from parts."""
    import pyarrow as pa
    import pyarrow.compute as pc

    # Only a label that is not all digits can be a header's: Arrow's check costs 0.02 s at GLDv2's 4.1M rows.
    digits = pc.ascii_is_decimal(pa.array(df["landmark_id"].array, type=pa.string())).to_numpy(zero_copy_only=False)
    worded = pd.Series(digits != True, index=df.index)  # noqa: E712 - a null (no label) is a candidate too
    if not worded.any():
        return df
    # A BOM too: each part of `cat part1.csv part2.csv` saved by Excel starts with one.
    ids, labels = (df.loc[worded, c].str.strip().str.strip('"\ufeff').str.lower() for c in ("id", "landmark_id"))
    repeated = ids.isin(["id", *ALIASES["id"]]) & labels.isin(["landmark_id", *ALIASES["landmark_id"]])
    return df.drop(index=repeated.index[repeated.fillna(False).astype(bool)])


def arrow_columns(csv: Path, names: list[str], columns: list[str], delimiter: str = ",", bad_rows: list | None = None):
    """The named columns of a CSV, as text, in an Arrow table; DatasetError if it cannot be parsed.

    `bad_rows`: rows without the header's number of fields are skipped and their text added to this list,
    instead of refusing the file (for a file whose rows are each worth keeping on their own). Columns past the
    header that `read_layout` named EMPTY_COLUMN must be empty: a row with a value there is such a bad row.
    """
    import pyarrow.compute as pc

    padding = [n for n in names if n.startswith(EMPTY_COLUMN)]
    table = _arrow_columns(csv, names, columns + padding, delimiter, bad_rows)
    refuse_zero_bytes(csv, table)
    padding = [n for n in padding if n in table.column_names]  # none once rows of uneven widths were evened
    if not padding:
        return table.select(columns)
    filled = pc.and_kleene(pc.is_valid(table[padding[0]]), pc.not_equal(pc.utf8_trim_whitespace(table[padding[0]]), ""))
    for name in padding[1:]:
        filled = pc.or_kleene(filled, pc.and_kleene(pc.is_valid(table[name]), pc.not_equal(pc.utf8_trim_whitespace(table[name]), "")))
    filled = pc.fill_null(filled, False)
    if pc.any(filled).as_py():
        if bad_rows is None:
            _evened(csv, delimiter, len(names) - len(padding), strict=True).close()  # raises, naming the line
        bad_rows.extend(delimiter.join(str(r[c] or "") for c in columns + padding) for r in table.filter(filled).to_pylist())
        table = table.filter(pc.invert(filled))
    return table.select(columns)


def _arrow_columns(csv: Path, names: list[str], columns: list[str], delimiter: str = ",", bad_rows: list | None = None):
    """`arrow_columns` without the check of the columns past the header."""
    try:
        import pyarrow as pa
        import pyarrow.csv as pacsv

        # Arrow parses the 4.1M-row file in under a second. Only the needed columns are kept, as
        # text: parsing labels as int64 directly would silently turn "1.5" into 1 and wrap an
        # overlong number around. `parse_labels` checks them strictly instead.
        width = len([n for n in names if not n.startswith(EMPTY_COLUMN)])

        def read(handler=None, source=None):
            """The file (or `source`: its rows evened to the header's width, without the header) read by Arrow."""
            return pacsv.read_csv(
                source or utf8_source(csv), read_options=pacsv.ReadOptions(column_names=names[:width] if source else names,
                                                              skip_rows=0 if source else 2 if declared_separator(csv) else 1),
                parse_options=pacsv.ParseOptions(delimiter=delimiter, invalid_row_handler=handler),
                convert_options=pacsv.ConvertOptions(include_columns=[c for c in columns if c in names[:width]] if source
                                                     else columns, column_types={c: pa.string() for c in columns}))

        if bad_rows is not None:
            found: list[str] = []
            table = read(lambda row: skip_blank_row(row) if not (row.text or "").strip() else found.append(row.text) or "skip")
            if not any(_fields_past(text, delimiter, width) == "" for text in found):
                bad_rows.extend(found)
                return table
            with _evened(csv, delimiter, width, strict=False) as source:  # rows that only end in empty fields are kept
                return read(lambda row: skip_blank_row(row) if not (row.text or "").strip() else bad_rows.append(row.text) or "skip",
                            source)
        try:
            try:
                return read()
            except pa.ArrowInvalid as exc:
                if str(exc).startswith("Could not skip initial"):  # a header without a line end: no rows
                    return pa.table({c: pa.array([], pa.string()) for c in columns})
                # A line of only spaces (an editor's last line) is an empty line, not a row short of its fields. Only
                # then is the file read again with a row handler: Arrow decodes each bad row for it, noisily if not UTF-8.
                if not re.search(r"Expected \d+ columns, got 1:\s*$", str(exc).splitlines()[0] if str(exc) else ""):
                    raise
                return read(skip_blank_row)
        except pa.ArrowInvalid as exc:
            # Rows of another width than the first (`abc,1,` on some rows only: a hand edit, files put together):
            # evened in a slower pass that keeps rows ending in empty fields and names the line of any other.
            if "\x00" in str(exc) or not re.search(r"Expected \d+ columns, got \d+", str(exc)):
                raise
            with _evened(csv, delimiter, width, strict=True) as source:
                return read(skip_blank_row, source)
    except DatasetError:
        raise
    except Exception as exc:  # noqa: BLE001 - any parser failure is the file's problem
        text = str(exc).splitlines()[0] if str(exc) else exc.__class__.__name__
        if any(word in text.lower() for word in ("utf-8", "utf8", "unicode")):
            raise DatasetError(f"{csv}: is not UTF-8 text; save it as UTF-8 CSV") from None
        if "\x00" in text:
            # A file whose end was never written (a crash, a sync or copy cut short) is padded with zero bytes.
            raise DatasetError(f"{csv}: holds zero bytes where text should be, so part of it was never written (a "
                               "crash, or a copy cut short?); copy or save it again") from None
        raise DatasetError(f"{csv}: cannot be parsed as CSV ({text})") from None


def _fields_past(text: str, delimiter: str, width: int) -> str | None:
    """What a row's fields past the header's `width` hold, joined ("" when they are all empty or spaces, or there
    are none); None when the row has fewer than `width` fields or does not parse."""
    try:
        fields = next(_csv.reader([text], delimiter=delimiter), [])
    except _csv.Error:
        return None
    return "".join(fields[width:]).strip() if len(fields) >= width else None


def _evened(csv: Path, delimiter: str, width: int, strict: bool):
    """The rows of `csv` (without its header) in a temporary file, each cut to the header's `width` fields when
    those past it are empty (`abc,1,` is `abc,1`); blank lines dropped. A row short of the header's fields or with
    a value past them is a DatasetError naming its line when `strict`, else written as it is (a bad row)."""
    import io
    import tempfile

    out = tempfile.TemporaryFile()
    text = io.TextIOWrapper(out, encoding="utf-8", newline="", write_through=True)
    writer = _csv.writer(text, delimiter=delimiter, lineterminator="\n")
    header_lines = 1 + bool(declared_separator(csv))
    try:
        with open(utf8_source(csv), encoding="utf-8-sig", newline="") as fh:
            reader = _csv.reader(fh, delimiter=delimiter)
            for row in reader:
                if reader.line_num <= header_lines or not "".join(row).strip() and len(row) < 2:
                    continue  # the header (and Excel's `sep=` line), and blank lines
                if "\x00" in "".join(row):
                    raise DatasetError(f"{csv}: holds zero bytes where text should be, so part of it was never written "
                                       "(a crash, or a copy cut short?); copy or save it again")
                if len(row) > width and not "".join(row[width:]).strip():
                    row = row[:width]
                elif len(row) != width and strict:
                    what = "a value past the header's columns" if len(row) > width else "fewer fields than the header"
                    raise DatasetError(f"{csv}: cannot be parsed as CSV (line {reader.line_num} has {what}: "
                                       f"{one_line(delimiter.join(row)[:200])}); fix or delete that line")
                writer.writerow(row)
    except UnicodeDecodeError:
        out.close()
        raise DatasetError(f"{csv}: is not UTF-8 text; save it as UTF-8 CSV") from None
    except (_csv.Error, OSError) as exc:
        out.close()
        raise DatasetError(f"{csv}: cannot be parsed as CSV ({exc})") from None
    except DatasetError:
        out.close()
        raise
    text.detach()
    out.seek(0)
    return out


def skip_blank_row(row) -> str:
    """Arrow's verdict on a row without the header's columns: a line of only spaces (an editor's last line) is
    skipped as an empty one is; any other is an error naming the line."""
    return "skip" if not (row.text or "").strip() else "error"


def explode_clean(table) -> pd.DataFrame:
    """train_clean.csv's rows (landmark_id, "id id id ...") as one row per id: id, landmark_id (text)."""
    import pyarrow.compute as pc

    import pyarrow as pa

    # Trimmed first: a trailing space or an empty images field is no photo, not a row without an id.
    ids = pc.utf8_split_whitespace(pc.utf8_trim_whitespace(pc.fill_null(table["images"], "")))
    flat, labels = pc.list_flatten(ids), pc.take(table["landmark_id"], pc.list_parent_indices(ids))
    keep = pc.not_equal(flat, "")
    return arrow_frame(pa.table({"id": flat.filter(keep), "landmark_id": labels.filter(keep)}))


def arrow_frame(table) -> pd.DataFrame:
    """An Arrow table of text columns as a DataFrame of Arrow-backed `string` columns, without a copy.

    Python-object strings would cost a conversion here and several seconds more in each
    later step at GLDv2's 4.1M rows (strip, the id check, paths, duplicates).
    """
    return table.to_pandas(types_mapper=lambda t: TEXT if str(t) in ("string", "large_string") else None)


def parse_labels(text: pd.Series) -> pd.Series:
    """landmark_id text -> integers, with <NA> wherever the text is not a plain integer ("12.0", "12,0", "'12": 12).

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
    # "12.0" is 12 too: pandas writes integer labels so when the column had a missing value, and "12,0" is how
    # Excel in most of Europe saves it (a `;` file). Not ".000" or ",000": that is also a thousands group, 1000.
    # Quotes after a space (`abc , "12"`) are no CSV quotes: they stay in the text. `'12` (a spreadsheet's text prefix): 12.
    stripped = (text.str.strip().str.strip(INVISIBLE).str.strip()
                .str.replace(r"^'?\+?|[.,](?:0{1,2}|0{4,})$", "", regex=True))
    # Up to int64's largest, as the fast path takes them; never through float64, which would merge
    # 12345678901234567 and ...68. A 19-digit string compares as its number.
    digits = stripped.str.lstrip("-").str.lstrip("0")
    size, small = digits.str.len().fillna(99), (digits <= str(2**63 - 1)).fillna(False).astype(bool)
    plain = stripped.str.fullmatch(r"-?[0-9]{1,64}").fillna(False).astype(bool) & ((size < 19) | ((size == 19) & small))
    values = pc.cast(pa.array(stripped.where(plain).array, type=pa.string()), pa.int64())
    return pd.Series(pd.array(values, dtype=pd.ArrowDtype(pa.int64())), index=text.index).astype("Int64")

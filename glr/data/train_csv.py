"""GLDv2's train.csv and train_clean.csv, parsed with Arrow into text columns, strictly.

`glr.data.layouts` turns these columns into dataset rows; this module only reads the file: its
header as `glr.data.csv_header` takes it (any case, `image_id`, `;`, tab or `|`, Excel's `sep=;`), any line ends (a bare CR too), rows ending in
empty fields the header lacks (`abc,1,`, on every row or on some; any other row of the wrong width is named by
its line), `train_clean.csv`'s one row per class exploded into one row per id, and landmark ids checked as
plain integers (`12,0` too), and ids and names that are UTF-8 read as Windows-1252 and saved again (`cafÃ©`) read as
written. The category and attribution files are read through it as well. Every open of the
file goes through `glr.data.csv_source.utf8_source`, so UTF-16 text (Excel's "Unicode Text") and a file ending in
Ctrl-Z read as the same UTF-8 text everywhere.
"""

from __future__ import annotations

import csv as _csv
import re
import sys
from pathlib import Path

import pandas as pd

from glr.data import gldv2_files
from glr.data.csv_lines import ATTR as ROW_LINES, RowLines
from glr.data.csv_header import (ALIASES, EMPTY_COLUMN, INVISIBLE, declared_separator, header_line_below,  # noqa: F401
                                 looks_like_a_row, read_layout, written_header)  # ALIASES, INVISIBLE: read from here too
from glr.data.csv_source import drop_separator_only_rows, is_utf8, not_utf8, refuse_zero_bytes, utf8_source
from glr.data.double_encoding import undo_double_encoded
from glr.errors import DatasetError
from glr.paths import one_line

TRAIN_NAME = "train.csv"
CLEAN_CSV = "train_clean.csv"  # the cleaned subset (1.58M photos, 81k classes): `landmark_id,images`
# Text columns are Arrow-backed strings: Python objects would cost seconds per step at GLDv2's 4.1M rows.
TEXT = pd.StringDtype("pyarrow")


def read_train_csv(csv: Path) -> tuple[pd.DataFrame, list[str]]:
    """Read id and landmark_id (both as text) from a GLDv2 train.csv, whatever its other columns.

    Column names match without regard to case or surrounding spaces (`ID, Landmark_ID`).
    A `train_clean.csv` (`landmark_id,images`, the ids of a class separated by spaces) gives
    one row per id, as train.csv would.
    """
    header, names, delimiter = read_layout(csv)
    if "id" not in header and {"landmark_id", "images"} <= set(header):
        from glr.data.clean_csv import explode_clean

        return explode_clean(arrow_columns(csv, names, ["landmark_id", "images"], delimiter), csv, delimiter, names,
                             1 + bool(declared_separator(csv))), []
    missing = [c for c in ("id", "landmark_id") if c not in header]
    # The header as the file has it (`Image_ID`, not the `id` glr reads it as), for the messages.
    written = written_header(csv, delimiter, len(header)) or header
    found = ", ".join(repr(w) for w in written)
    if missing and looks_like_a_row(header):
        raise DatasetError(
            f"{csv}: has no header line: its first line ({found}) is a row of data; "
            "add a first line naming the columns, `id,landmark_id` (or `id,url,landmark_id`, in the file's order)")
    if missing:
        # A column whose name may mean either the landmark or its name: only the user knows, so it is named.
        maybe = [h for h in header if h in ("label", "class", "class_id", "target", "landmarks")] if "landmark_id" in missing else []
        maybe = [] if gldv2_files.what_file_is(header) else maybe  # GLDv2's answers' `landmarks`: no training list
        raise DatasetError(
            f"{csv}: missing column {' and '.join(repr(m) for m in missing)}; "
            f"found {found}. Expected `id,landmark_id` or `id,url,landmark_id` "
            f"(or {CLEAN_CSV}'s `landmark_id,images`)"
            + (f"; if {written[header.index(maybe[0])]!r} holds the landmark ids, rename it landmark_id" if maybe else "")
            # A title line above the header, as a spreadsheet's report or an export tool writes one.
            + (f"; its header is line {n}: delete the {n - 1} line{'s' if n > 2 else ''} above it"
               if (n := header_line_below(csv, delimiter)) else "")
            # GLDv2's test.csv and index.csv (`id,url`, or `id` alone) are photos without their landmarks.
            + (f"; GLDv2's test.csv and index.csv list photos without their landmarks: use {TRAIN_NAME} (or {CLEAN_CSV})"
               if missing == ["landmark_id"] and set(header) <= {"id", "url", "images"} else
               f"; {other}" if (other := gldv2_files.what_file_is(header)) else "")
        )
    twice = gldv2_files.repeated_columns(header, names, ["id", "landmark_id"])  # `id,landmark_id,landmark_id`
    df = drop_repeated_headers(arrow_frame(arrow_columns(csv, names, ["id", "landmark_id", *twice], delimiter)))
    df = drop_separator_only_rows(df, csv, delimiter)
    # Messages name a row by the file's line (blank lines, `sep=`, quoted line ends shift Arrow's count): found when asked.
    df.attrs[ROW_LINES] = RowLines(csv, delimiter, 1 + bool(declared_separator(csv)))
    if twice and (problem := gldv2_files.repeated_column_problem(csv, header, names, df)):
        raise DatasetError(problem)
    df = df[["id", "landmark_id"]]  # (pandas keeps `attrs`)
    return undo_double_encoded(df, csv)


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
    repeated = (ids.isin(["id", *ALIASES["id"]]) & labels.isin(["landmark_id", *ALIASES["landmark_id"]])).fillna(False)
    # Dropping no rows still copied every column: 1.2-2.4 s at 4.1M rows for one label `abc`.
    return df.drop(index=repeated.index[repeated.astype(bool)]) if repeated.any() else df


def arrow_columns(csv: Path, names: list[str], columns: list[str], delimiter: str = ",", bad_rows: list | None = None,
                  rest_in_last: bool = False):
    """The named columns of a CSV, as text, in an Arrow table; DatasetError if it cannot be parsed.

    `bad_rows`: rows without the header's number of fields are skipped and their text added to this list,
    instead of refusing the file (for a file whose rows are each worth keeping on their own). Columns past the
    header that `read_layout` named EMPTY_COLUMN must be empty: a row with a value there is such a bad row.
    `rest_in_last` (with `bad_rows`, for a header of two columns): a row of more fields and no quote is its first
    field and all the rest as the second (`219,http://.../Category:Paris,_France`: the category file's name).
    """
    import pyarrow.compute as pc

    padding = [n for n in names if n.startswith(EMPTY_COLUMN)]
    table = _arrow_columns(csv, names, columns + padding, delimiter, bad_rows, rest_in_last)
    refuse_zero_bytes(csv, table, delimiter)
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


def _arrow_columns(csv: Path, names: list[str], columns: list[str], delimiter: str = ",", bad_rows: list | None = None,
                   rest_in_last: bool = False):
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
            if not is_utf8(utf8_source(csv)):  # Arrow decodes a bad row for the handler: else a traceback, then refused
                raise DatasetError(not_utf8(csv))
            found: list[str] = []
            table = read(lambda row: skip_blank_row(row) if not (row.text or "").strip() else found.append(row.text) or "skip")
            # The separator unquoted in the last of two columns: joined back. A quote makes it unsure where the name
            # ends (`7,"Big Ben",London`): such a row stays a bad one, named.
            joined = ({t for t in found if '"' not in t and _fields_past(t, delimiter, width)}
                      if rest_in_last and width == 2 else set())
            # More such rows than rows of two fields (beyond a few): a column the header lacks, not names holding it.
            evened = sum(_fields_past(text, delimiter, width) == "" for text in found)
            joined = joined if len(joined) <= max(3, table.num_rows + evened) else set()
            if not joined and not any(_fields_past(text, delimiter, width) == "" for text in found):
                bad_rows.extend(found)
                return table
            # Rows that only end in empty fields are kept, and those `joined`.
            with _evened(csv, delimiter, width, strict=False, joined=joined) as source:
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
            url_at = names.index("url") if "url" in names[:width] else None
            if refusal := _first_bad_row(csv, delimiter, width, url_at, read):
                raise DatasetError(refusal) from None
            with _evened(csv, delimiter, width, strict=True, url_at=url_at) as source:
                return read(skip_blank_row, source)
    except DatasetError:
        raise
    except Exception as exc:  # noqa: BLE001 - any parser failure is the file's problem
        text = str(exc).splitlines()[0] if str(exc) else exc.__class__.__name__
        if any(word in text.lower() for word in ("utf-8", "utf8", "unicode")):
            raise DatasetError(not_utf8(csv)) from None
        if "\x00" in text:
            # A file whose end was never written (a crash, a sync or copy cut short) is padded with zero bytes.
            raise DatasetError(f"{csv}: holds zero bytes where text should be, so part of it was never written (a "
                               "crash, or a copy cut short?); copy or save it again") from None
        if "straddles two block boundaries" in text:  # pyarrow's words for a line longer than its 1 MB block
            text = (f"line {_long_line(csv)} is over 1 MB long, which no catalog's row is: a quote (\") left open, or "
                    "a file that is no train.csv?")
        raise DatasetError(f"{csv}: cannot be parsed as CSV ({text})") from None


def _long_line(csv: Path, limit: int = 2 ** 20) -> int | None:
    """The number of the first line of `csv` longer than `limit` bytes, or None."""
    with open(csv, "rb") as file:
        return next((n for n, line in enumerate(file, 1) if len(line) > limit), None)


def _fields_past(text: str, delimiter: str, width: int) -> str | None:
    """What a row's fields past the header's `width` hold, joined ("" when they are all empty or spaces, or there
    are none); None when the row has fewer than `width` fields or does not parse."""
    try:
        fields = next(_csv.reader([text], delimiter=delimiter), [])
    except _csv.Error:
        return None
    return "".join(fields[width:]).strip() if len(fields) >= width else None


def _evened(csv: Path, delimiter: str, width: int, strict: bool, url_at: int | None = None, joined: set = frozenset()):
    """The rows of `csv` (without its header) in a temporary file, each cut to the header's `width` fields when
    those past it are empty (`abc,1,` is `abc,1`); blank lines dropped. A row short of the header's fields or with
    a value past them is a DatasetError naming its line when `strict`, else written as it is (a bad row). A URL at
    field `url_at` holding the separator unquoted (Wikimedia's `Paris,_France.jpg`) is that one field again, and a row
    whose text is in `joined` is its first field and the rest, without trailing empty fields, as the second."""
    import io
    import tempfile

    out = tempfile.TemporaryFile()
    text = io.TextIOWrapper(out, encoding="utf-8", newline="", write_through=True)
    writer = _csv.writer(text, delimiter=delimiter, lineterminator="\n")
    header_lines, end = 1 + bool(declared_separator(csv)), 0
    try:
        with open(utf8_source(csv), encoding="utf-8-sig", newline="") as fh:
            reader = _csv.reader(fh, delimiter=delimiter)
            for row in reader:
                start, end = end + 1, reader.line_num  # a row's lines: a quoted cell may hold line ends
                if reader.line_num <= header_lines or not "".join(row).strip() and len(row) < 2:
                    continue  # the header (and Excel's `sep=` line), and blank lines
                if "\x00" in "".join(row):
                    raise DatasetError(f"{csv}: holds zero bytes where text should be, so part of it was never written "
                                       "(a crash, or a copy cut short?); copy or save it again")
                if len(row) > width and not "".join(row[width:]).strip():
                    row = row[:width]
                elif len(row) > width and url_at is not None and (whole := _whole_url(row, width, url_at, delimiter)):
                    row = whole
                elif len(row) > width and delimiter.join(row) in joined:
                    row = [row[0], delimiter.join(row[1:]).rstrip(delimiter + " ")]
                elif len(row) != width and strict:
                    what = "a value past the header's columns" if len(row) > width else "fewer fields than the header"
                    # A quote never closed (`"http://x,1`) takes every line after it into one cell: said so.
                    quote = (f"; a quote (\") opened on it runs on to {f'line {end}' if end > start else 'the end of the file'}"
                             ": close it where its cell ends, or delete it" if any("\n" in f or "\r" in f for f in row) else "")
                    raise DatasetError(f"{csv}: cannot be parsed as CSV (line {start} has {what}: "
                                       f"{one_line(delimiter.join(row)[:200])}{quote}); fix or delete that line")
                writer.writerow(row)
    except UnicodeDecodeError:
        out.close()
        raise DatasetError(not_utf8(csv)) from None
    except (_csv.Error, OSError) as exc:
        out.close()
        if "field larger than field limit" in str(exc):  # a quote never closed, a few thousand lines above the end
            raise DatasetError(f"{csv}: cannot be parsed as CSV (a quote (\") opened on line {end + 1} runs on over "
                               f"{_csv.field_size_limit():,} characters, the lines after it taken into one cell): close it "
                               "where its cell ends, or delete it") from None
        raise DatasetError(f"{csv}: cannot be parsed as CSV ({exc})") from None
    except DatasetError:
        out.close()
        raise
    text.detach()
    out.seek(0)
    return out


def _first_bad_row(csv: Path, delimiter: str, width: int, url_at: int | None, read) -> str | None:
    """The refusal `_evened` would give for the first row of `csv` that cannot be evened to the header's `width`,
    found from Arrow's own pass over the file (`read`, given a row handler) and the row's place in its bytes: at 4.1M
    rows `_evened`'s Python csv took 30 s to name a line near the end. None when every row of another width can be
    evened, or when this cannot tell (a row spanning lines, many rows, a row not found): `_evened` then decides."""
    import mmap

    texts: list[str] = []
    # Arrow decodes each bad row's bytes for the handler as UTF-8 and, when they are not, reports it as an exception
    # "ignored" on stderr and skips the handler: such a row cannot be found here, so `_evened` decides (and says so).
    undecoded, hook = [], sys.unraisablehook
    sys.unraisablehook = lambda unraisable: undecoded.append(unraisable.exc_value)
    try:
        read(lambda row: "skip" if not (row.text or "").strip() else texts.append(row.text) or "skip")
    finally:
        sys.unraisablehook = hook
    # A quote left open may take the lines after it into a cell: `_evened` reads such rows as CSV, and says so.
    if undecoded or not texts or len(texts) > 1000 or any("\n" in t or "\r" in t or t.count('"') % 2 for t in texts):
        return None
    bad = []
    for text in texts:
        fields = next(_csv.reader([text], delimiter=delimiter), [])
        if len(fields) == width or len(fields) > width and (
                not "".join(fields[width:]).strip() or url_at is not None and _whole_url(fields, width, url_at, delimiter)):
            continue  # the header's width (Arrow's is that of rows ending in an empty field), or evened as the rest
        bad.append((text, fields))
    if not bad:
        return None
    with open(utf8_source(csv), "rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as data:
        first, quoted = None, data.find(b'"') >= 0
        for text, fields in bad:
            at, raw = -1, text.encode()
            while (at := data.find(raw, at + 1)) >= 0:  # the row's text as a whole line: `abc,u` is no `abc,u,7`
                # ...and no line inside a quoted cell above (an odd number of quotes before it): that named a line
                # above the row's own. GLDv2's file holds no quote, so nothing is counted for it.
                if (at == 0 or data[at - 1] in b"\r\n") and data[at + len(raw):at + len(raw) + 1] in (
                        b"", b"\r", b"\n") and not (quoted and _count(data, at, b'"') % 2):
                    break
            if at < 0:
                return None
            first = (at, fields) if first is None or at < first[0] else first
        at, fields = first
        # A line ends at LF, CR or CRLF, as Python's csv (and `_evened`) counts them: Excel for Mac ends its rows with CR
        # and a line break inside a cell with LF, so counting one of them named a line far above the row.
        line = 1 + (_count(data, at, b"\n") if data.find(b"\r") < 0 else _count(data, at, b"\r") if data.find(b"\n") < 0
                    else _count(data, at, b"\n") + _count(data, at, b"\r") - _count(data, at, b"\r\n"))
    what = "a value past the header's columns" if len(fields) > width else "fewer fields than the header"
    return (f"{csv}: cannot be parsed as CSV (line {line} has {what}: {one_line(delimiter.join(fields)[:200])}); "
            "fix or delete that line")


def _count(data, at: int, text: bytes) -> int:
    """How many times `text` (one byte, or CRLF) occurs in `data` (a map of the file) before offset `at`, by numpy."""
    import numpy as np

    before = np.frombuffer(data, np.uint8, count=at)
    found = before == text[0] if len(text) == 1 else (before[:-1] == text[0]) & (before[1:] == text[1])
    del before  # the map closes only once no array looks into it
    return int(np.count_nonzero(found))


def _whole_url(row: list[str], width: int, url_at: int, delimiter: str) -> list[str] | None:
    """`row` with its URL at `url_at` put together again, when the separator inside it split it (`https://.../Paris`,
    `_France.jpg`): the piece there is a URL that does not end as a photo's does, and with the extra fields it
    does. None otherwise (`abc,https://x/a.jpg,7,8` holds a value too many, said as such)."""
    end = url_at + len(row) - width + 1
    url = delimiter.join(row[url_at:end])
    photo = re.compile(r"\.(?:jpe?g|png|gif|webp|tiff?|bmp|heic)$", re.IGNORECASE)
    if not re.match(r"https?://", row[url_at]) or photo.search(row[url_at]) or not photo.search(url):
        return None
    return row[:url_at] + [url] + row[end:]


def skip_blank_row(row) -> str:
    """Arrow's verdict on a row without the header's columns: a line of only spaces (an editor's last line) is
    skipped as an empty one is; any other is an error naming the line."""
    return "skip" if not (row.text or "").strip() else "error"


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
    import numpy as np

    # The row-by-row pass only for the labels that are not plain numbers: over all of GLDv2's 4.1M rows, for one
    # `12.5`, it took 3-10 s.
    simple = pc.fill_null(pc.match_substring_regex(arr, r"^-?[0-9]{1,18}$"), False).to_numpy(zero_copy_only=False)
    if not simple.any():
        return _parse_labels_slowly(text)
    values, missing = np.zeros(len(text), np.int64), np.zeros(len(text), bool)
    values[simple] = pc.cast(arr.filter(pa.array(simple)), pa.int64()).to_numpy(zero_copy_only=False)
    others = _parse_labels_slowly(text[~simple])
    values[~simple], missing[~simple] = others.fillna(0).to_numpy("int64"), others.isna().to_numpy()
    return pd.Series(pd.arrays.IntegerArray(values, missing), index=text.index)


def _parse_labels_slowly(text: pd.Series) -> pd.Series:
    """`parse_labels` row by row, for labels that are not all plain integers: Int64, <NA> where refused."""
    import pyarrow as pa
    import pyarrow.compute as pc

    # "12.0" is 12 too: pandas writes integer labels so when the column had a missing value, and "12,0" is how
    # Excel in most of Europe saves it (a `;` file). Not ".000" or ",000": that is also a thousands group, 1000.
    # Quotes after a space (`abc , "12"`) are no CSV quotes: they stay in the text. `'12` (a spreadsheet's text prefix): 12.
    stripped = (text.str.strip().str.strip(INVISIBLE).str.strip()
                .str.replace(r"^'?\+?|[.,](?:0{1,2}|0{4,})$", "", regex=True))
    # Digits typed in another script (a Japanese input method's full-width `１２`, Arabic-Indic `١٢`): the number.
    if (wide := stripped.str.fullmatch(r"-?\d+").fillna(False).astype(bool) & ~stripped.str.isascii().fillna(True).astype(bool)).any():
        stripped = stripped.where(~wide, stripped[wide].map(lambda t: str(int(t))))
    # Up to int64's largest, as the fast path takes them; never through float64, which would merge
    # 12345678901234567 and ...68. A 19-digit string compares as its number.
    digits = stripped.str.lstrip("-").str.lstrip("0")
    size, small = digits.str.len().fillna(99), (digits <= str(2**63 - 1)).fillna(False).astype(bool)
    plain = stripped.str.fullmatch(r"-?[0-9]{1,64}").fillna(False).astype(bool) & ((size < 19) | ((size == 19) & small))
    values = pc.cast(pa.array(stripped.where(plain).array, type=pa.string()), pa.int64())
    return pd.Series(pd.array(values, dtype=pd.ArrowDtype(pa.int64())), index=text.index).astype("Int64")

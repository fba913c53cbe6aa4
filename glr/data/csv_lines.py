"""Which line of a CSV file each of its parsed data rows starts on, for messages that name a row.

Arrow counts rows, not lines: blank lines, Excel's `sep=;` line and a quoted cell holding line ends all shift a row's
place from the line an editor shows. `RowLines` (kept in a train.csv frame's `attrs`) finds the lines of the rows a
message names by reading the file again, as far as the last of them, only when a message needs them: a file that
reads cleanly costs nothing.
"""

from __future__ import annotations

import contextlib
import csv as _csv
import mmap
from pathlib import Path

ATTR = "row_lines"  # the key of `RowLines` in a train.csv frame's (and its columns') `attrs`


def data_rows(csv: Path, delimiter: str, header_lines: int):
    """(first line, fields) of each data row of `csv` (lines counted from 1), as Arrow counts its rows: the header
    lines and blank lines (only spaces too) are no rows. Stops at a file that cannot be read (OSError, csv.Error)."""
    from glr.data.csv_source import utf8_source

    try:
        with open(utf8_source(csv), encoding="utf-8-sig", errors="replace", newline="") as fh:
            reader, end = _csv.reader(fh, delimiter=delimiter), 0
            for row in reader:
                start, end = end + 1, reader.line_num  # a quoted cell may hold line ends: the row's first line
                if end <= header_lines or not "".join(row).strip() and len(row) < 2:
                    continue
                yield start, row
    except (OSError, _csv.Error):
        return  # the rows read so far: the message then says less


def plain_row_lines(csv: Path, header_lines: int, chunk: int = 1 << 26):
    """The line (from 1) of each data row of `csv` as a numpy array, found from its line ends by numpy, when no cell
    of the file spans lines (no line holds an odd number of quotes) and it has one kind of line end; else None
    (`data_rows` then reads it as CSV).

    GLDv2's train.csv holds no quotes: its 4.1M rows take about a second here, where Python's csv reader took 5-8 s
    to reach the last. A file whose every line holds its quotes in pairs (R's `write.csv` quotes every text cell) is
    read so too: no cell of it spans lines."""
    from glr.data.csv_source import utf8_source

    try:
        with open(utf8_source(csv), "rb") as fh:  # mapped, not read: GLDv2's 300 MB stay out of the process's memory
            data = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
    except (OSError, ValueError):  # ValueError: an empty file cannot be mapped
        return None
    try:
        return _line_ends_rows(data, header_lines, chunk)
    finally:
        with contextlib.suppress(BufferError):  # an array still looking into it (an error midway): closed when freed
            data.close()


def _quotes_pair_on_each_line(raw, ends, chunk: int) -> bool:
    """Whether every line of the bytes `raw` (its line ends at `ends`) holds an even number of quotes: then no quoted
    cell holds a line end (R's `write.csv`, pandas' QUOTE_ALL: every cell quoted on its line), and each line starts
    a row. Said from the count of quotes before each line end, a chunk of the file at a time."""
    import numpy as np

    before = 0  # quotes before the chunk
    for at in range(0, len(raw), chunk):
        quotes = np.flatnonzero(raw[at:at + chunk] == 34)
        first, last = np.searchsorted(ends, [at, at + chunk])
        if ((np.searchsorted(quotes, ends[first:last] - at) + before) & 1).any():
            return False
        before += len(quotes)
    return before % 2 == 0


def _line_ends_rows(data, header_lines: int, chunk: int):
    """`plain_row_lines` of the bytes `data` (a mapped file)."""
    import numpy as np

    raw = np.frombuffer(data, np.uint8)
    crs = sum(int(np.count_nonzero(raw[at:at + chunk] == 13)) for at in range(0, len(raw), chunk))
    lfs = data.find(b"\n") >= 0
    before, after = raw[:-1], raw[1:]  # each byte and the next: a CR followed by an LF
    crlfs = sum(int(np.count_nonzero((before[at:at + chunk] == 13) & (after[at:at + chunk] == 10)))
                for at in range(0, len(before), chunk)) if crs and lfs else 0
    del before, after
    if crs and lfs and crs != crlfs:
        del raw
        return None  # a stray CR ends a line for Arrow and csv both
    end = ord("\n") if lfs or not crs else ord("\r")
    ends = np.concatenate([np.flatnonzero(raw[at:at + chunk] == end) + at for at in range(0, len(raw), chunk)]
                          or [np.zeros(0, np.int64)])
    if data.find(b'"') >= 0 and not _quotes_pair_on_each_line(raw, ends, chunk):
        del raw
        return None  # a quoted cell may hold a line end: read as CSV
    starts = np.concatenate([[0], ends + 1])
    stops = np.concatenate([ends, [len(raw)]])
    if starts[-1] >= len(raw):  # the file ends with a line end: no line after it
        starts, stops = starts[:-1], stops[:-1]
    # A blank line (empty, or only spaces, tabs and a CR) is no row: those starting with such a byte are looked at.
    first = raw[np.minimum(starts, max(len(raw) - 1, 0))] if len(raw) else np.zeros(0, np.uint8)
    maybe = np.flatnonzero((stops == starts) | np.isin(first, np.frombuffer(b" \t\r", np.uint8)))
    blank = np.zeros(len(starts), bool)
    blank[[k for k in maybe.tolist() if not data[starts[k]:stops[k]].strip()]] = True
    blank[:header_lines] = True  # the header (and Excel's `sep=` line)
    del raw, first  # the map closes only once no array looks into it
    return np.flatnonzero(~blank) + 1


class RowLines:
    """The file's line of each data row of a train.csv read by Arrow (row i: the i-th, from 0, below the header)."""

    def __init__(self, csv: Path, delimiter: str, header_lines: int):
        self.csv, self.delimiter, self.header_lines = csv, delimiter, header_lines
        # The line of each data row read so far (from row 0), kept once read: a load's several messages (ids, labels,
        # repeats) read the file once, not once each (six reads of 4.1M rows took 20 s more than one).
        self._starts = None
        self._whole = False  # `_starts` holds every row of the file

    def __deepcopy__(self, memo):
        return self  # pandas copies `attrs` at every step; this holds no rows of its own

    def lines(self, rows) -> list[int | None]:
        """The line (from 1) of each data row in `rows`; None for one past the file's rows."""
        rows = [int(r) for r in rows]
        wanted = [r for r in rows if r >= 0]
        if wanted and not self._whole and (self._starts is None or max(wanted) >= len(self._starts)):
            self._read(max(wanted))
        starts = self._starts if self._starts is not None else ()
        return [int(starts[r]) if 0 <= r < len(starts) else None for r in rows]

    def _read(self, last: int) -> None:
        """Find the lines of rows 0 to `last` at least: the whole file when it holds no quote (numpy), else as CSV."""
        import numpy as np

        if self._starts is None and (found := plain_row_lines(self.csv, self.header_lines)) is not None:
            self._starts, self._whole = found.astype(np.uint32 if found.size and found[-1] < 2**32 else np.int64), True
            return
        starts = []
        for i, (start, _) in enumerate(data_rows(self.csv, self.delimiter, self.header_lines)):
            starts.append(start)
            if i >= last:
                break
        else:
            self._whole = True  # the file ended first: rows past it have no line
        self._starts = np.array(starts, np.int64)

    def line(self, row: int) -> int | None:
        """The line (from 1) of data row `row`, or None."""
        return self.lines([row])[0]

    def where(self, row: int) -> str:
        """`line 7` for data row `row`, or `data row N` (from 1) when its line cannot be found."""
        line = self.line(row)
        return f"line {line}" if line is not None else f"data row {int(row) + 1}"


def row_lines_of(values) -> RowLines | None:
    """The `RowLines` of a train.csv frame (or a piece of one: pandas keeps `attrs` through `.loc` and copies), or
    None when `values` did not come from a train.csv read by `read_train_csv` or its index is no longer Arrow's rows."""
    import numbers

    rows = getattr(values, "attrs", {}).get(ATTR)
    if rows is None or not len(values.index) or not isinstance(values.index[0], numbers.Integral):
        return None
    return rows


def said_lines(lines) -> str:
    """`line 4`, `lines 2 and 5`, `lines 2, 5 and 9` (None, a row past the file, left out)."""
    found = [str(n) for n in lines if n is not None]
    if len(found) < 2:
        return f"line {found[0]}" if found else "an unknown line"
    return f"lines {', '.join(found[:-1])} and {found[-1]}"


def examples_on_lines(values, most: int = 3) -> str | None:
    """`'abc' on line 4, 'x y' on line 9` for the first `most` different values of `values` (a piece of a train.csv
    frame), each named by the file's line of its first row; None when their lines cannot be known (the caller then
    shows the values alone). Only these few rows' lines are looked for: a file that reads cleanly costs nothing."""
    import pandas as pd

    rows = row_lines_of(values)
    if rows is None:
        return None
    first: dict = {}
    for row, value in values.items():  # stops early: `values` may be millions of rows
        key = "" if pd.isna(value) else value  # a missing cell (None, NaN, <NA>) shows as ''
        if key not in first:
            first[key] = row
            if len(first) == most:
                break
    found = rows.lines(first.values())
    return ", ".join(f"{value!r} on {f'line {line}' if line is not None else f'data row {int(row) + 1}'}"
                     for (value, row), line in zip(first.items(), found))

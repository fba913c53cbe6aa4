"""GLDv2's train_clean.csv (`landmark_id,images`, the ids of a class separated by spaces) as one row per photo.

A message about a photo's row must name the file's line, not the photo's place among the exploded rows (line 3 holds
the 2nd class's 500 photos): `FileLines`, kept in the frame's `attrs`, tells for each exploded row the line of the
file it came from and the ids that line lists, read again from the file only when a message needs them.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

ATTR = "file_lines"  # the key of `FileLines` in an exploded frame's (and its columns') `attrs`


class FileLines:
    """Where the exploded rows of a train_clean.csv came from: row i is the photo of data row `parents[i]` (counted
    from 0 below the header), whose ids are in field `column` of that line."""

    def __init__(self, csv: Path, delimiter: str, column: int, parents, header_lines: int):
        self.csv, self.delimiter, self.column, self.parents, self.header_lines = (
            csv, delimiter, column, parents, header_lines)
        self._lines: list[tuple[int, list[str]]] | None = None

    def __deepcopy__(self, memo):
        return self  # pandas copies `attrs` at every step; this never changes, and may be 1.58M rows long

    def __reduce__(self):
        # A frame pickled (a cache) keeps no copy of the rows' parents: messages are made when the file is read.
        return FileLines, (self.csv, self.delimiter, self.column, None, self.header_lines)

    def line(self, i: int) -> int | None:
        """The line of the file (from 1) that exploded row `i` came from; None when unknown."""
        found = self._record(i)
        return found[0] if found else None

    def count(self, rows) -> int:
        """How many lines of the file exploded rows `rows` came from."""
        import numpy as np

        return 0 if self.parents is None else len(np.unique(self.parents[np.asarray(rows, dtype=np.int64)]))

    def where(self, i: int) -> str:
        """`line 3 (ids 'a', 'b', ...)`: the file's line of exploded row `i` and the photos it lists."""
        found = self._record(i)
        if not found:
            return f"exploded row {i + 1}"
        line, ids = found
        shown = ", ".join(repr(x) for x in ids[:3]) + (f", ... ({len(ids)} ids)" if len(ids) > 3 else "")
        return f"line {line} ({'id' if len(ids) == 1 else 'ids'} {shown})"

    def _record(self, i: int) -> tuple[int, list[str]] | None:
        """(line, ids) of the data row exploded row `i` came from."""
        if self.parents is None or not 0 <= i < len(self.parents):
            return None
        if self._lines is None:
            self._lines = self._read()
        row = int(self.parents[i])
        return self._lines[row] if row < len(self._lines) else None

    def _read(self) -> list[tuple[int, list[str]]]:
        """(first line, ids) of each data row, as Arrow counted them: blank lines are no rows."""
        from glr.data.csv_lines import data_rows

        return [(start, row[self.column].split() if self.column < len(row) else [])
                for start, row in data_rows(self.csv, self.delimiter, self.header_lines)]


def explode_clean(table, csv: Path | None = None, delimiter: str = ",", names: list[str] | None = None,
                  header_lines: int = 1) -> pd.DataFrame:
    """train_clean.csv's rows (landmark_id, "id id id ...") as one row per id: id, landmark_id (text), without rows
    that repeat the header (two files joined with `cat`). Given the file (`csv`, its `delimiter`, the column `names`
    it was read by), the frame's `attrs` hold its `FileLines`."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from glr.data.train_csv import arrow_frame

    rows = pc.indices_nonzero(pc.invert(_repeated_header(table)))
    table = table.take(rows)
    # Trimmed first: a trailing space or an empty images field is no photo, not a row without an id.
    ids = pc.utf8_split_whitespace(pc.utf8_trim_whitespace(pc.fill_null(table["images"], "")))
    parents = pc.list_parent_indices(ids)
    flat, labels = pc.list_flatten(ids), pc.take(table["landmark_id"], parents)
    keep = pc.not_equal(flat, "")
    df = arrow_frame(pa.table({"id": flat.filter(keep), "landmark_id": labels.filter(keep)}))
    if csv is not None and names is not None:
        file_rows = pc.take(rows, parents.filter(keep))  # the file's data row of each photo, repeated headers counted
        df.attrs[ATTR] = FileLines(csv, delimiter, names.index("images"), file_rows.to_numpy(zero_copy_only=False),
                                   header_lines)
    return df


def _repeated_header(table):
    """Which rows of a train_clean.csv table repeat its header (`landmark_id,images`)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from glr.data.train_csv import ALIASES

    def worded(column, words):
        text = pc.utf8_lower(pc.utf8_trim(pc.fill_null(table[column], ""), " \t\"\ufeff"))
        return pc.is_in(text, value_set=pa.array(words))

    return pc.and_(worded("landmark_id", ["landmark_id", *ALIASES["landmark_id"]]), worded("images", ["images"]))

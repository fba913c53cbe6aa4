"""A CSV's rows as the file writes them, for messages that show a row the parser could not take.

The rows a parse skips reach a message as Arrow hands them over, or, when the file was first evened by Python's csv
(`glr.data.train_csv`), written again by it: `7,"Big Ben",London` comes back as `7,Big Ben,London`, its quotes gone,
in a message that tells the user a name "must be in quotes". `as_written` finds the file's own text of such rows.
"""

from __future__ import annotations

import csv as _csv
from pathlib import Path


def as_written(path: Path, rows: list[str], delimiter: str) -> list[str]:
    """Each of `rows` (a row's text, maybe written again by Python's csv) as `path` holds it: the text of the first
    row of the file with the same fields, its line ends too when a quoted cell holds some; the row as given when
    none is found. The file is read only as far as the last of them."""
    from glr.data.csv_source import utf8_source

    fields = [tuple(next(_csv.reader([row], delimiter=delimiter), [])) for row in rows]
    wanted, found = set(fields), {}
    lines: list[str] = []

    def read(fh):
        """The file's lines, each kept until the row it ends is parsed."""
        for line in fh:
            lines.append(line)
            yield line

    try:
        with open(utf8_source(path), encoding="utf-8-sig", errors="replace", newline="") as fh:
            for row in _csv.reader(read(fh), delimiter=delimiter):
                if (key := tuple(row)) in wanted and key not in found:
                    found[key] = "".join(lines).rstrip("\r\n")
                    if len(found) == len(wanted):
                        break
                lines.clear()
    except (OSError, _csv.Error):
        pass  # the rows found so far: the others are shown as given
    return [found.get(key, row) for key, row in zip(fields, rows)]

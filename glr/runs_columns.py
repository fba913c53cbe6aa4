"""`python -m glr runs` on a terminal: the table fitted to its width, one line a run.

The whole table (every column, ISO times, names whole) is about 120 columns wide: on an 80-column terminal each
row wrapped onto two lines. On a terminal the times are short ("12-07 01:56"), a long name is cut with the
message's cut mark, and when that is not enough the least useful columns are left out, first the ones a glr run
id already says (it is `<created>-<backbone>`), and a footer names them. A pipe, a file and `--wide` get the
whole table, as scripts read it (glr.runs_command).
"""

from __future__ import annotations

import math
import textwrap
from datetime import datetime

from glr.paths import text_columns

CUT = "…"
ASCII_CUT = "..."  # for a terminal whose encoding has no "…" (it showed "?", or failed to print)
SEP = "  "  # one space (pandas') ran a 34-character id into the name beside it
# Left out in this order, least useful first: a run id made by glr ends in its backbone and starts with its
# creation time; the id and the state are always shown (the id is what every command takes).
LEAVE_OUT = ("backbone", "created", "epochs", "name", "val_top1")
NAME_LEAST = 12  # a name cut shorter than this says little: a column is left out before
RIGHT = ("epochs", "val_top1")  # numbers: right-aligned, as they compare by their last digits
ODD_TIME = 16  # a created time that is no ISO time (a hand-edited status) is cut to this


def cut_mark(encoding: str | None) -> str:
    """The mark ending a cut text: "…", or "..." where the terminal's encoding cannot show it."""
    try:
        CUT.encode(encoding or "ascii")
    except (UnicodeEncodeError, LookupError):
        return ASCII_CUT
    return CUT


def cut_to(text: str, columns: int, mark: str = CUT) -> tuple[str, bool]:
    """`text` cut to at most `columns` terminal columns (wide characters take two), ending in `mark` when cut."""
    if text_columns(text) <= columns:
        return text, False
    room = max(columns - len(mark), 0)
    text = text[:room]  # a character takes a column or more: no need to measure a 100 kB traceback's tail
    while text and text_columns(text) > room:
        text = text[:-1]
    return text.rstrip() + mark, True


def cell(value) -> str:
    """A table cell's text: "" for a value not known (None, NaN), not pandas' "None"."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return str(value)


def short_time(text: str, year: int | None = None, mark: str = CUT) -> str:
    """An ISO time as "12-07 01:56" (the clock time it was written with, as the run id has it); "2025-12-07"
    when not of `year` (default: this one). Text that is no ISO time is kept, cut to ODD_TIME columns."""
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        return cut_to(text, ODD_TIME, mark)[0]
    if when.year != (year or datetime.now().year):
        return when.strftime("%Y-%m-%d")
    return when.strftime("%m-%d %H:%M")


def fit_table(columns: list[str], rows: list[list], width: int, mark: str = CUT,
              year: int | None = None) -> tuple[list[str], list[str], bool]:
    """The table's lines (header first, each padded to one width) fitting `width` terminal columns, the columns
    left out (LEAVE_OUT's order), and whether a name was cut.

    Names are cut down to NAME_LEAST columns before a column is left out; the run id and the state never are,
    so on a terminal too narrow for those two alone the rows are wider than it.
    """
    texts = {c: [cell(row[i]) for row in rows] for i, c in enumerate(columns)}
    if "created" in texts:
        texts["created"] = [short_time(t, year, mark) if t else "" for t in texts["created"]]
    widths = {c: max(map(text_columns, [c, *texts[c]])) for c in columns}
    kept, left_out = list(columns), []
    while True:
        others = sum(widths[c] for c in kept if c != "name") + len(SEP) * (len(kept) - 1)
        room = width - others
        if "name" not in kept and others <= width:
            break
        if "name" in kept and room >= min(widths["name"], max(NAME_LEAST, len("name"))):
            widths["name"] = min(widths["name"], room)
            break
        leave = next((c for c in LEAVE_OUT if c in kept), None)
        if leave is None:  # a terminal narrower than the id and the state: they are shown, wrapped
            break
        kept.remove(leave)
        left_out.append(leave)
    name_cut = False
    if "name" in kept:
        cut = [cut_to(t, widths["name"], mark) for t in texts["name"]]
        texts["name"], name_cut = [t for t, _ in cut], any(was for _, was in cut)
        widths["name"] = max(map(text_columns, ["name", *texts["name"]]))  # a wide character cut may leave one spare
    lines = [SEP.join(pad(c, widths[c], c in RIGHT) for c in kept)]
    lines += [SEP.join(pad(texts[c][i], widths[c], c in RIGHT) for c in kept) for i in range(len(rows))]
    return lines, left_out, name_cut


def pad(text: str, width: int, right: bool = False) -> str:
    """`text` padded with spaces to `width` terminal columns (a wide character takes two), right-aligned or left."""
    fill = " " * max(width - text_columns(text), 0)
    return fill + text if right else text + fill


def footer(messages_cut: bool, names_cut: bool, left_out: list[str], mark: str = CUT,
           width: int | None = None) -> list[str]:
    """The lines under a fitted table saying what was cut or left out to fit, and that `--wide` shows it all."""
    lines = []
    if names_cut and messages_cut:  # "to fit the terminal" made this line 90 columns long
        lines.append(f"{mark} names and messages cut to fit: `python -m glr runs --wide` shows them whole")
    elif names_cut or messages_cut:
        what = "names" if names_cut else "messages"
        lines.append(f"{mark} {what} cut to fit the terminal: `python -m glr runs --wide` shows them whole")
    if left_out:
        lines.append(f"left out to fit the terminal: {', '.join(left_out)} (`--wide` shows them)")
    # A footer is no table row: on a narrower terminal it is wrapped at spaces rather than by the terminal.
    if not width or width < 20:
        return lines
    return [part for line in lines
            for part in textwrap.wrap(line, width, break_on_hyphens=False, break_long_words=False)]

"""What a spreadsheet or a paste does to train.csv's id cells, undone where it can be and said where it cannot.

- Characters no one sees (a zero-width space from a web page, a BOM) and quotes after a space: stripped. Inside an
  id, a soft hyphen, a zero-width space or a word joiner (a web page's marks of where a long word may break) or a
  BOM is taken out, said once: no photo's name holds one. The joiners some scripts spell with (U+200C, U+200D) are
  not: an id holding one is refused, as are other characters that do not print.
- Excel's `="0123"`, the way to keep an id's leading zeros (a CSV made for Excel holds it so): read as
  what it holds, said once.
- `'0123`, a spreadsheet's other mark for a number kept as text: read as its digits, said once.
- An all-digit id a spreadsheet showed and saved as a number (`1.23457E+15`): its digits are lost, so
  it is skipped, with what to do.
- A photo's own name (`IMG 0042`, `photo.v2`, `café`): read as it is, as long as the path made of it stays in the
  dataset (`unsafe_reason`). A path, a name starting with ".", a drive letter, control or unprintable characters
  could point elsewhere or hide what they are: skipped, with the reason.
- An id of 1-2 characters (`1`, `42`: a dataset of one's own numbered so) is read; only where train/ is GLDv2's
  (train/a/b/c/, folders named by an id's first three characters) is it skipped, as no photo there can be named so.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import pandas as pd

from glr.data.train_csv import INVISIBLE

SAFE_ID_PATTERN = r"[0-9A-Za-z_-]{3,64}"  # GLDv2's (16 hex digits) and most: the fast check; others are looked at
MIN_ID_CHARS = 3  # GLDv2's path takes the id's first three characters as folders (train/a/b/c/)
MAX_ID_BYTES = 250  # a file name is at most 255 bytes, and ".jpeg" follows the id
NOT_PRINTED = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}  # Unicode categories of characters no one sees as written
EXCEL_TEXT = r'\s*="(.*)"\s*'  # Excel's formula for a text cell: ="0123"
HIDDEN = {"\u00ad": "a soft hyphen", "\u200b": "a zero-width space", "\u2060": "a word joiner", "\ufeff": "a BOM"}
_ANY_HIDDEN = f"[{''.join(HIDDEN)}]"


def unwrap_excel(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """`values` with Excel's ="..." wrapper taken off, and the mask of those that had it."""
    inner = values.str.extract(f"^{EXCEL_TEXT}$", expand=False)
    wrapped = inner.notna()
    return values.where(~wrapped, inner), wrapped


def unsafe_reason(value: str) -> str | None:
    """Why `value` cannot name a photo file inside the dataset ("a path", "starts with '.'", ...), None if it can."""
    text = str(value)
    if "/" in text or "\\" in text:
        parts = text.replace("\\", "/").split("/")
        climbs = ".." in parts or text.startswith(("/", "\\")) or re.match(r"[A-Za-z]:", text)
        return "a path out of the dataset" if climbs else "a path, not a file name"
    if ":" in text:  # C:x is relative to drive C's current folder on Windows; x:y an NTFS stream
        return "holds ':' (a drive letter on Windows)"
    if text.startswith("."):  # "..", or a hidden file's name
        return "starts with '.'"
    if odd := next((c for c in text if unicodedata.category(c) in NOT_PRINTED), None):
        # Control characters (NUL ends a path), marks that show a name reversed, unassigned code points, line breaks.
        return f"holds a character that does not print (U+{ord(odd):04X})"
    if len(text.encode("utf-8", "surrogatepass")) > MAX_ID_BYTES:
        return f"longer than a file name can be ({MAX_ID_BYTES} bytes)"
    return None


def is_safe_id(value) -> bool:
    """Whether `value` names a photo file inside the dataset (see `unsafe_reason`)."""
    return isinstance(value, str) and unsafe_reason(value) is None


def _not_plain(ids: pd.Series) -> pd.Series:
    """Which ids are not plain (SAFE_ID_PATTERN): one regex pass over 4.1M ids; only these are looked at further."""
    from glr.data.id_text import plain_text  # layouts imports both

    if plain_text(ids, MIN_ID_CHARS, 64):  # GLDv2's: one scan of the text, not 0.9 s of regex
        return pd.Series(False, index=ids.index)
    return ~ids.str.fullmatch(SAFE_ID_PATTERN).fillna(False).astype(bool)


def _with_reasons(ids: pd.Series) -> str:
    """`examples` of `ids`, each with the file's line of its first row (train.csv) and why it is refused."""
    from glr.data.csv_lines import row_lines_of
    from glr.data.layouts import EXAMPLES_IN_MESSAGE

    first: dict = {}
    for row, value in ids.iloc[:1000].items():  # the first few different ones, and the row of each
        first.setdefault(value, row)
        if len(first) == EXAMPLES_IN_MESSAGE:
            break
    rows = row_lines_of(ids)
    at = rows.lines(first.values()) if rows is not None else [None] * len(first)
    return ", ".join(f"{i!r}{f' on line {line}' if line is not None else ''}: {unsafe_reason(i)}"
                     for i, line in zip(first, at))


def take_out_hidden(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """`values` (text cells: ids, landmark ids) with the characters of HIDDEN inside taken out, and the mask of
    those that held one (for `hidden_note`)."""
    hidden = values.str.contains(_ANY_HIDDEN, regex=True).fillna(False).astype(bool)
    if not hidden.any():
        return values, hidden
    return values.where(~hidden, values.str.replace(_ANY_HIDDEN, "", regex=True)), hidden


def hidden_note(ids: pd.Series, what: str = "an id") -> str:
    """The note for `ids` (train.csv's cells, as written) holding a character of HIDDEN inside, read without it: how
    many, which, and where. `what`: the cell's name in it ("an id", "a landmark_id")."""
    from glr.data.csv_lines import examples_on_lines
    from glr.words import examples, have, plural

    n, found = len(ids), sorted({c for i in ids.iloc[:1000] for c in i if c in HIDDEN})
    which, many = ", ".join(f"{HIDDEN[c]} U+{ord(c):04X}" for c in found), len(found) > 1
    return (f"{plural(n, 'row')} {have(n)} {what} holding {'characters' if many else 'a character'} no one sees ({which}; "
            f"pasted from a web page?), e.g. {examples_on_lines(ids) or examples(ids)}; read without "
            f"{'them' if many else 'it'}")


def no_id_problem(rows: pd.Series) -> str:
    """The problem for `rows` (the id cells of a frame's rows without an id): how many, and on which lines of
    train.csv (the first few), found only now."""
    from glr.data.csv_lines import row_lines_of, said_lines
    from glr.data.layouts import EXAMPLES_IN_MESSAGE, have, plural

    n, lines = len(rows), row_lines_of(rows)
    where = (f" ({'e.g. ' if n > EXAMPLES_IN_MESSAGE else ''}on {said_lines(lines.lines(rows.index[:EXAMPLES_IN_MESSAGE]))})"
             if lines is not None else "")
    return f"{plural(n, 'row')} {have(n)} no id{where}; skipped"


def safe_ids(df: pd.DataFrame, csv_name: str, abc_folders: bool = False) -> tuple[pd.DataFrame, list[str]]:
    """`df` (its "id" column text) with the ids cleaned as the module says, the rows it cannot use dropped; and notes.

    `abc_folders`: the dataset's train/ is GLDv2's (train/a/b/c/), so ids shorter than MIN_ID_CHARS are skipped."""
    from glr.data.csv_lines import examples_on_lines
    from glr.data.layouts import examples, have, plural  # the message helpers; layouts imports this module

    problems = []
    odd = _not_plain(df["id"])
    if odd.any():  # all of this only for the few ids that are not plain: GLDv2 has 4 million
        ids, excel = unwrap_excel(df.loc[odd, "id"])
        if excel.any():
            problems.append(f"{plural(int(excel.sum()), 'row')} {have(int(excel.sum()))} an id in Excel's =\"...\" "
                            f"wrapper (the way it keeps leading zeros), e.g. {examples(df.loc[odd, 'id'][excel])}; "
                            "read as what it holds")
        ids = ids.str.strip(INVISIBLE).str.strip()
        stripped, hidden = take_out_hidden(ids)
        if hidden.any():
            problems.append(hidden_note(ids[hidden]))
            ids = stripped
        # `'0123`: the other mark a spreadsheet keeps a number as text by (LibreOffice's and Google Sheets' exports
        # can keep it). Digits only: a photo's own name may start with an apostrophe ('t Hoff).
        if (marked := ids.str.fullmatch(r"'[0-9]+").fillna(False).astype(bool)).any():
            n = int(marked.sum())
            problems.append(f"{plural(n, 'row')} {have(n)} an id with a spreadsheet's text mark, the way it keeps "
                            f"leading zeros (e.g. {examples(ids[marked])}); read as the digits after it")
            ids = ids.where(~marked, ids.str[1:])
        df.loc[odd, "id"] = ids
        odd = _not_plain(df["id"])
    # A spreadsheet shows an id of digits only (`1234567890123456`, valid hex) as `1.23457E+15` and saves it so:
    # its digits are lost, and no photo is named so.
    numbers = odd.copy()
    if odd.any():  # (the regex over the few only: over GLDv2's 4.1M ids it costs 0.6 s)
        numbers[odd] = df.loc[odd, "id"].str.fullmatch(r"[0-9]+(?:[.,][0-9]*)?[eE]\+?[0-9]+").fillna(False).astype(bool)
    if numbers.any():
        problems.append(
            f"{plural(int(numbers.sum()), 'row')} {have(int(numbers.sum()))} an id a spreadsheet turned into a number "
            f"(e.g. {examples(df.loc[numbers, 'id'])}), losing its digits; skipped: format the id column as Text "
            f"and save {csv_name} again from the original file")
        df, odd = df.loc[~numbers], odd[~numbers]
    unsafe = odd.copy()
    if odd.any():  # a photo's own name ("IMG 0042", "café") is kept; what could lead elsewhere is not
        unsafe[odd] = ~df.loc[odd, "id"].map(is_safe_id).astype(bool)
    if unsafe.any():
        problems.append(
            f"{plural(int(unsafe.sum()), 'row')} {have(int(unsafe.sum()))} an id that is not a plain file name "
            f"(e.g. {_with_reasons(df.loc[unsafe, 'id'])}); skipped, so nothing outside the dataset is read"
        )
        df, odd = df.loc[~unsafe], odd[~unsafe]
    # Digits only (`42`): a GLDv2 id a spreadsheet took the zeros from, which glr.data.photo_files gives back when
    # its photo is on disk so, and names when it is not.
    if abc_folders and odd.any() and (short := (df.loc[odd, "id"].str.len() < MIN_ID_CHARS)
                                      & ~df.loc[odd, "id"].str.isdigit().fillna(False).astype(bool)).any():
        n = int(short.sum())
        problems.append(
            f"{plural(n, 'row')} {have(n)} an id shorter than {MIN_ID_CHARS} characters (e.g. "
            f"{examples_on_lines(ids := df.loc[short.index[short], 'id']) or examples(ids)}), and this dataset's train/ "
            "is GLDv2's (ids of 16 hex digits, such as '0123456789abcdef'), where a photo's "
            f"folders are its id's first {MIN_ID_CHARS} characters (train/a/b/c/abc....jpg); skipped: no photo "
            f"there can be named so (a dataset of one's own keeps its photos in images/ beside {csv_name})")
        df = df.drop(index=short.index[short])
    return df, problems


def paths_from_elsewhere(ids: pd.Series, folder: str) -> tuple[pd.Series, str | None]:
    """`ids` (text with "/" or "\\") with each absolute path through a folder named as the dataset's (`folder`, in any
    case) written as the path inside it: `C:\\Users\\me\\mine\\images\\1.jpg` -> `images/1.jpg` for a dataset `mine`
    (its table made on another computer, or before the folder moved); and a note saying so, None if none was."""
    from glr.data.layouts import examples, have, plural

    posix = ids.str.replace("\\", "/", regex=False)
    absolute = posix.str.match(r"(?:[A-Za-z]:)?/").fillna(False).astype(bool)
    if not folder or not absolute.any():
        return ids, None
    # The last folder of that name: the photo's path inside the dataset follows it.
    inside = posix[absolute].str.extract(rf"(?i:^.*/{re.escape(folder)}/)(.+)$")[0].dropna()
    inside = inside[~inside.str.contains(r"(?:^|/)\.\.(?:/|$)", regex=True)]  # climbs out: left as written, refused
    if inside.empty:
        return ids, None
    n = len(inside)
    note = (f"{plural(n, 'id')} {have(n)} the whole path of {'its' if n == 1 else 'their'} photo on another computer "
            f"or before the dataset moved (e.g. {examples(ids[inside.index])}): read as the path inside "
            f"the dataset folder {folder!r}")
    return ids.where(~ids.index.isin(inside.index), inside), note


def not_gldv2_ids(ids: pd.Series, csv: Path) -> str | None:
    """For `ids` (a GLDv2-tree catalog's rows whose photos were not found, indexed by train.csv's data rows), what to
    add to that note when some are not GLDv2's form of id (16 hex digits): how many, the first few with their lines
    in `csv`, and the form expected; None when all are in it (or are digits only: said as lost zeros elsewhere)."""
    from glr.data.csv_header import declared_separator, read_layout
    from glr.data.csv_lines import RowLines
    from glr.data.id_text import gldv2_text
    from glr.data.layouts import EXAMPLES_IN_MESSAGE

    if gldv2_text(ids):  # a partial download of GLDv2: millions of its ids missing, each in form
        return None
    odd = ids[~ids.str.fullmatch(r"[0-9a-fA-F]{16}|[0-9]+").fillna(True).astype(bool)]
    if odd.empty:
        return None
    first = odd[~odd.duplicated()][:EXAMPLES_IN_MESSAGE]
    try:
        header, _, delimiter = read_layout(csv)
        # train_clean.csv lists a class's photos on one line: its rows are no photos, so no lines are said for it.
        lines = RowLines(csv, delimiter, 1 + bool(declared_separator(csv))).lines(first.index) if "id" in header else []
    except Exception:  # noqa: BLE001 - the note without its lines beats no note
        lines = []
    shown = ", ".join(f"{i!r}" + (f" on line {line}" if line else "") for i, line in
                      zip(first, lines + [None] * len(first)))
    n = len(odd)
    return (f"{n} of them {'is' if n == 1 else 'are'} not GLDv2's form of id, 16 hex digits such as "
            f"'0123456789abcdef' (e.g. {shown}): a {csv.name} listing other photos, or ids cut short?")

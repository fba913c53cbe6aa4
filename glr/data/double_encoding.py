"""Text that is UTF-8 read as Windows-1252 and saved again (`cafÃ©`, `Sagrada FamÃ­lia`), read as it was written.

A UTF-8 file opened by Excel on a Western Windows is read as Windows-1252; saved then as "CSV UTF-8", each letter
past ASCII became two or three (`é` -> `Ã©`). The bytes are valid UTF-8, so nothing fails: ids name no photo on disk
(`cafÃ© 1.jpg`) and names read wrong. A value is read back only when it holds such a pair and its Windows-1252 bytes
are wholly UTF-8, which ordinary text almost never is.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

# A UTF-8 lead byte read as Windows-1252 (`Ã` for 0xC3), then a continuation byte so read (0x80-0xBF: `©`, `­`, `€`,
# ...; the five bytes Windows-1252 lacks come through as the control characters of their number).
_DOUBLE_ENCODED = ("[\u00c2-\u00f4][\u0080-\u00bf\u20ac\u201a\u0192\u201e\u2026\u2020\u2021\u02c6\u2030\u0160\u2039"
                   "\u0152\u017d\u2018\u2019\u201c\u201d\u2022\u2013\u2014\u02dc\u2122\u0161\u203a\u0153\u017e\u0178]")


def undo_double_encoding(names: pd.Series, what: str = "name") -> tuple[pd.Series, str | None]:
    """`names` with each name that is UTF-8 text read as Windows-1252 and saved again (`Sagrada FamÃ­lia`: a file
    opened so by Excel, then saved as "CSV UTF-8") read as it was written (`Sagrada Família`), and a note saying
    so (calling each a `what`: train.csv's ids too); `names` and None when there is none. Only a name whose bytes
    so read are wholly UTF-8 is changed."""
    text = names.astype("string[python]")
    maybe = text.str.contains(_DOUBLE_ENCODED, regex=True).fillna(False).astype(bool)
    if not maybe.any():  # GLDv2's 203k names: one vectorised search
        return names, None
    fixed = {i: undone for i, name in text[maybe].items() if (undone := _undone(name)) is not None}
    if not fixed:
        return names, None
    first = next(iter(fixed))
    out = names.copy()
    out[list(fixed)] = list(fixed.values())
    n = len(fixed)
    return out, (f"{n} {what}{'s' if n > 1 else ''} {'were' if n > 1 else 'was'} UTF-8 text read as Windows-1252 and "
                 f"saved again (opened so by a spreadsheet?), e.g. {names[first]!r}: read as {fixed[first]!r}")


def _undone(name: str) -> str | None:
    """`name` read back from Windows-1252 into its bytes and as UTF-8, or None when those bytes are not UTF-8."""
    try:
        data = b"".join(bytes([ord(c)]) if c in "\x81\x8d\x8f\x90\x9d" else c.encode("cp1252") for c in name)
        return data.decode("utf-8")
    except UnicodeError:
        return None


def undo_double_encoded(df: pd.DataFrame, csv: Path) -> tuple[pd.DataFrame, list[str]]:
    """`df` (id, landmark_id) with the ids and landmark names that are UTF-8 read as Windows-1252 and saved again
    (`cafÃ© 1`, the file opened so by Excel) read as written, their photos being on disk under the right names; and
    the notes saying so. GLDv2's ids and numbers are ASCII: one scan of their bytes each, no text looked at."""
    from glr.data.id_text import ascii_text

    notes = []
    for column, what in (("id", "id"), ("landmark_id", "landmark name")):
        if ascii_text(df[column]):
            continue
        df[column], note = undo_double_encoding(df[column], what)
        notes += [f"{csv.name}: {note}"] if note else []
    return df, notes

"""Text that is UTF-8 read as Windows-1252 and saved again (`cafÃ©`, `Sagrada FamÃ­lia`), read as it was written.

A UTF-8 file opened by Excel on a Western Windows is read as Windows-1252; saved then as "CSV UTF-8", each letter
past ASCII became two or three (`é` -> `Ã©`). The bytes are valid UTF-8, so nothing fails: ids name no photo on disk
(`cafÃ© 1.jpg`) and names read wrong. A value is read back only when it holds such a pair and its Windows-1252 bytes
are wholly UTF-8, which ordinary text almost never is. train.csv's ids are read back unless its photos on disk carry
the names as written (a zip unpacked with the wrong encoding): a sample of them is looked up to tell.
"""

from __future__ import annotations

import os
import unicodedata
from pathlib import Path

import pandas as pd

# A UTF-8 lead byte read as Windows-1252 (`Ã` for 0xC3), then a continuation byte so read (0x80-0xBF: `©`, `­`, `€`,
# ...; the five bytes Windows-1252 lacks come through as the control characters of their number).
_DOUBLE_ENCODED = ("[\u00c2-\u00f4][\u0080-\u00bf\u20ac\u201a\u0192\u201e\u2026\u2020\u2021\u02c6\u2030\u0160\u2039"
                   "\u0152\u017d\u2018\u2019\u201c\u201d\u2022\u2013\u2014\u02dc\u2122\u0161\u203a\u0153\u017e\u0178]")
SAMPLE = 200  # train.csv's ids so written looked up on disk, at most, to tell which reading names the photos


def undo_double_encoding(names: pd.Series, what: str = "name") -> tuple[pd.Series, str | None]:
    """`names` with each name that is UTF-8 text read as Windows-1252 and saved again (`Sagrada FamÃ­lia`: a file
    opened so by Excel, then saved as "CSV UTF-8") read as it was written (`Sagrada Família`), and a note saying
    so (calling each a `what`: train.csv's ids too); `names` and None when there is none. Only a name whose bytes
    so read are wholly UTF-8 is changed."""
    fixed = _readings(names)
    if not fixed:
        return names, None
    out = names.copy()
    out[list(fixed)] = list(fixed.values())
    first = next(iter(fixed))
    return out, _note(len(fixed), what, names[first], f"read as {fixed[first]!r}")


def _readings(names: pd.Series) -> dict:
    """index -> the name read as written, for each of `names` that is UTF-8 text read as Windows-1252."""
    text = names.astype("string[python]")
    maybe = text.str.contains(_DOUBLE_ENCODED, regex=True).fillna(False).astype(bool)
    if not maybe.any():  # GLDv2's 203k names: one vectorised search
        return {}
    return {i: undone for i, name in text[maybe].items() if (undone := _undone(name)) is not None}


def _note(n: int, what: str, example: str, taken: str) -> str:
    """The note on `n` such values (each a `what`), `example` one of them as written and `taken` the reading taken."""
    return (f"{n} {what}{'s' if n > 1 else ''} {'were' if n > 1 else 'was'} UTF-8 text read as Windows-1252 and saved "
            f"again (opened so by a spreadsheet?), e.g. {example!r}: {taken}")


def _undone(name: str) -> str | None:
    """`name` read back from Windows-1252 into its bytes and as UTF-8, or None when those bytes are not UTF-8."""
    try:
        data = b"".join(bytes([ord(c)]) if c in "\x81\x8d\x8f\x90\x9d" else c.encode("cp1252") for c in name)
        return data.decode("utf-8")
    except UnicodeError:
        return None


def undo_double_encoded(df: pd.DataFrame, csv: Path) -> tuple[pd.DataFrame, list[str]]:
    """`df` (id, landmark_id) with the ids and landmark names that are UTF-8 read as Windows-1252 and saved again
    (`cafÃ© 1`, the file opened so by Excel) read as written, and the notes saying so. The ids stay as in the file
    when more of a sample of them name photos on disk so than read back (`cafÃ© 1.jpg`: the photos' names went
    through the same mistake); with no photo under either (a catalog before `glr fetch`) they are read back.
    GLDv2's ids and numbers are ASCII: one scan of their bytes each, no text looked at."""
    from glr.data.id_text import ascii_text

    notes = []
    if not ascii_text(df["id"]) and (fixed := _readings(df["id"])):
        first, sample = next(iter(fixed)), list(fixed)[:SAMPLE]
        written = df["id"][first]
        as_written, read_back = _on_disk([df["id"][i] for i in sample], [fixed[i] for i in sample], csv.parent)
        looked_up = f"{len(sample)} photo{'s' if len(sample) > 1 else ''} looked up"
        if as_written > read_back:  # the photos' names went through the same mistake: the ids name them as they are
            taken = (f"kept as written, as {as_written} of the {looked_up} {'is' if as_written == 1 else 'are'} on disk "
                     "so (their names went through it too: a zip unpacked with the wrong encoding?)")
        else:
            ids = df["id"].copy()
            ids[list(fixed)] = list(fixed.values())
            df["id"] = ids
            taken = f"read as {fixed[first]!r}" + (
                f", as {read_back} of the {looked_up} {'is' if read_back == 1 else 'are'} on disk so" if read_back else "")
        notes.append(f"{csv.name}: {_note(len(fixed), 'id', written, taken)}")
    if not ascii_text(df["landmark_id"]):
        df["landmark_id"], note = undo_double_encoding(df["landmark_id"], "landmark name")
        notes += [f"{csv.name}: {note}"] if note else []
    return df, notes


def _on_disk(written: list[str], read_back: list[str], folder: Path) -> tuple[int, int]:
    """How many of the ids `written` and of the same ids `read_back` name a photo under `folder` (its train/ when it
    has one), looked for where glr's file check would find them (glr.data.photo_files): by name in any folder, in any
    case, with or without an image extension. One walk, of at most as many names as that check walks."""
    from glr.data.layouts import IMAGE_EXTENSIONS, is_system_folder
    from glr.data.photo_files import WALK_FILES

    def key(name: str) -> str:
        stem, ext = os.path.splitext(name)
        # In NFC and lower case: a Mac writes names decomposed, and the file check ignores case.
        return unicodedata.normalize("NFC", stem if ext.lower() in IMAGE_EXTENSIONS else name).lower()

    # An id may still be written as a path (`images/cafÃ© 1.jpg`): its file's name is what is on disk.
    keys = [[key(i.replace("\\", "/").rsplit("/", 1)[-1]) for i in ids] for ids in (written, read_back)]
    wanted, found, budget = set(keys[0]) | set(keys[1]), set(), WALK_FILES
    top = folder / "train" if (folder / "train").is_dir() else folder
    for _, subfolders, files in os.walk(top):
        subfolders[:] = [d for d in subfolders if not is_system_folder(d)]
        budget -= len(files)
        found.update(k for name in files if (k := key(name)) in wanted)
        if budget < 0 or found == wanted:
            break
    return sum(k in found for k in keys[0]), sum(k in found for k in keys[1])

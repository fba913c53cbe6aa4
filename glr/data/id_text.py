"""train.csv's id column read fast at GLDv2's 4.1M rows: its characters, its repeats, its photos' paths.

Each function looks at the Arrow text behind the column at once (one scan of its bytes), so that the plain ids
GLDv2 is made of cost no per-row work, and answers as the per-row pandas operation it stands for would.

- `plain_text`, `holds_any`, `ascii_text`: whether any id needs a closer look (a space, a dot, a slash, a letter
  past ASCII).
- `drop_repeated_ids`: one photo listed twice. Hex ids name one photo in either case (`ABC` and `abc`: the photo is
  found as either), so ids repeat in either case. pandas' `duplicated` over 4.1M Arrow strings costs about 3 s;
  GLDv2's ids (16 hex digits) are read as the 64-bit numbers they spell instead, which compare exactly as the
  case-folded text does.
- `fixed_width_paths`: GLDv2's path of each id (train/a/b/c/abc...jpg) written straight into one buffer.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

HEX_DIGITS = 16  # GLDv2's ids; more would not fit in 64 bits
_NIBBLE = np.full(256, 255, dtype=np.uint8)  # a byte's hex value, 255 for a byte that is no hex digit
for _digits, _first in ((b"0123456789", 0), (b"abcdef", 10), (b"ABCDEF", 10)):
    _NIBBLE[np.frombuffer(_digits, np.uint8)] = np.arange(_first, _first + len(_digits), dtype=np.uint8)


def _arrow_chunks(ids: pd.Series) -> list | None:
    """The Arrow arrays behind `ids` (Arrow-backed text), None for any other storage."""
    data = getattr(ids.array, "_pa_array", None)
    if data is None:
        return None
    return list(data.chunks) if hasattr(data, "chunks") else [data]


def as_numbers(ids: pd.Series) -> np.ndarray | None:
    """Each id as the number its hex digits spell, when every id is hex of one length up to HEX_DIGITS; else None."""
    chunks = _arrow_chunks(ids)
    if chunks is None or not len(ids) or any(c.null_count for c in chunks):
        return None
    parts, widths = [], set()
    for chunk in chunks:
        if not len(chunk):
            continue
        offsets = _offsets(chunk)
        width = int(offsets[1] - offsets[0])
        widths.add(width)
        # One length for all (numbers of two widths would read `0abc` as `abc`), and no more than 64 bits' worth.
        if len(widths) > 1 or not 0 < width <= HEX_DIGITS or (np.diff(offsets) != width).any():
            return None
        nibbles = _NIBBLE[np.frombuffer(chunk.buffers()[2], np.uint8)[offsets[0]:offsets[-1]].reshape(-1, width)]
        if (nibbles == 255).any():
            return None
        if width < HEX_DIGITS:  # zeros in front: "abc" as 0000000000000abc
            nibbles = np.concatenate([np.zeros((len(chunk), HEX_DIGITS - width), np.uint8), nibbles], axis=1)
        # Two hex digits to a byte, eight bytes to a big-endian number: three passes over the text, no loop.
        packed = np.ascontiguousarray((nibbles[:, 0::2] << 4) | nibbles[:, 1::2])
        parts.append(packed.view(">u8").ravel())
    return np.concatenate(parts) if parts else None


def duplicated_ids(ids: pd.Series) -> pd.Series:
    """Which ids repeat an earlier one, case aside (`ABC` after `abc`): pandas' `duplicated` of the lower-case text."""
    numbers = as_numbers(ids)
    if numbers is None:
        return ids.str.lower().duplicated()
    ordered = np.sort(numbers)
    if not (ordered[1:] == ordered[:-1]).any():  # GLDv2's own file: no repeat, and a sort says so fastest
        return pd.Series(np.zeros(len(ids), dtype=bool), index=ids.index)
    return pd.Series(pd.Series(numbers).duplicated().to_numpy(), index=ids.index)


_HEX = b"0123456789abcdefABCDEF"
_PLAIN = bytes(range(48, 58)) + bytes(range(65, 91)) + bytes(range(97, 123)) + b"_-"  # SAFE_ID_PATTERN's characters


def plain_text(ids: pd.Series, least: int = 0, most: int | None = None) -> bool:
    """Whether every id is there, made only of SAFE_ID_PATTERN's characters (ASCII letters, digits, '_', '-'), and
    `least` to `most` characters long: no space to strip, no dot or slash to read, nothing to look at closer.
    False may be a false alarm (see holds_any)."""
    chunks = _arrow_chunks(ids)
    if chunks is None or any(c.null_count for c in chunks):
        return False
    for chunk in chunks:  # ASCII only, so a length in bytes is one in characters
        lengths = np.diff(_offsets(chunk))
        if len(lengths) and (lengths.min() < least or (most is not None and lengths.max() > most)):
            return False
    return not any(piece.translate(None, _PLAIN) for piece in _text_pieces(chunks))


def ascii_text(values: pd.Series) -> bool:
    """Whether every value of `values` (Arrow text) is ASCII, in one scan of the bytes (0.01 s at GLDv2's 4.1M ids,
    where Arrow's per-value check took 0.08 s). False may be a false alarm, as for `plain_text`; not Arrow: False."""
    chunks = _arrow_chunks(values)
    return chunks is not None and all(
        buffer is None or not buffer.size or np.frombuffer(buffer, np.uint8).max() < 0x80
        for buffer in (chunk.buffers()[2] for chunk in chunks))


def gldv2_text(ids: pd.Series) -> bool:
    """Whether every id is GLDv2's form, 16 hex digits (either case), in one scan of the text (0.08 s at 2M ids,
    where a regex took 0.3-0.4 s). False may be a false alarm, as for `plain_text`."""
    return plain_text(ids, 16, 16) and not any(piece.translate(None, _HEX) for piece in _text_pieces(_arrow_chunks(ids)))


def _offsets(chunk) -> np.ndarray:
    """Where each of an Arrow text array's values starts in its bytes, and where the last ends."""
    offsets = np.frombuffer(chunk.buffers()[1], np.int64 if str(chunk.type) == "large_string" else np.int32)
    return offsets[chunk.offset:chunk.offset + len(chunk) + 1]


def fixed_width_paths(folder: str, ids: pd.Series):
    """`folder`/a/b/c/abc....jpg for each id as Arrow text, when the ids are plain_text of one length (GLDv2's); else
    None. The bytes of all paths are laid out in one array: Arrow's joins of the parts cost 2 s at 4.1M rows."""
    chunks = _arrow_chunks(ids)
    if chunks is None or not len(ids) or not plain_text(ids):
        return None
    arrays, head = [], np.frombuffer(folder.encode("utf-8") + b"/", np.uint8)
    for chunk in chunks:
        offsets = _offsets(chunk)
        width = int(offsets[1] - offsets[0]) if len(chunk) else 3
        if width < 3 or (np.diff(offsets) != width).any():
            return None
        text = np.frombuffer(chunk.buffers()[2], np.uint8)[offsets[0]:offsets[-1]].reshape(-1, width)
        size = len(head) + 6 + width + 4
        out = np.empty((len(chunk), size), np.uint8)
        out[:, :len(head)] = head
        at = len(head)
        for i in range(3):  # a/b/c/: the id's first three characters, each a folder
            out[:, at + 2 * i], out[:, at + 2 * i + 1] = text[:, i], ord("/")
        out[:, at + 6:at + 6 + width] = text
        out[:, at + 6 + width:] = np.frombuffer(b".jpg", np.uint8)
        ends = np.arange(len(chunk) + 1, dtype=np.int64) * size
        arrays.append(pa.Array.from_buffers(pa.large_string(), len(chunk), [None, pa.py_buffer(ends), pa.py_buffer(out)]))
    return pa.chunked_array(arrays, pa.large_string())


def holds_any(ids: pd.Series, characters: str) -> bool:
    """Whether any id may hold one of the ASCII `characters`: one scan of the Arrow text, no per-row work.

    True may be a false alarm (the scan sees all of the buffer, a slice's unseen rows too); False is sure."""
    chunks = _arrow_chunks(ids)
    if chunks is None:
        return True
    wanted = [character.encode("ascii") for character in characters]
    return any(character in piece for piece in _text_pieces(chunks) for character in wanted)  # a memchr each


def _text_pieces(chunks, size: int = 1 << 23):
    """The bytes of the chunks' text, 8 MB at a time (a copy of each piece, so never of all 67 MB of GLDv2's ids)."""
    for chunk in chunks:
        if chunk.buffers()[2] is not None:
            data = memoryview(chunk.buffers()[2])
            for start in range(0, len(data), size):
                yield data[start:start + size].tobytes()


def drop_repeated_ids(df: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """`df` (columns id, landmark_id) without its repeated ids, and the notes: an id under two landmark_ids is
    skipped (which one the photo shows is unknown); an id listed twice under one keeps its first row."""
    from glr.data.csv_lines import row_lines_of, said_lines
    from glr.data.layouts import EXAMPLES_IN_MESSAGE, examples, plural  # the message helpers; layouts imports this

    problems: list[str] = []
    dup = duplicated_ids(df["id"])
    if not dup.any():
        return df, problems
    # The same photo under two landmarks: keeping the first row would train (and score) it as a landmark the CSV
    # also says it is not. Only now, for the few, the lower-case text.
    key = df["id"].str.lower()
    repeated = pd.DataFrame({"id": key, "landmark_id": df["landmark_id"]})[key.duplicated(keep=False)]
    labels_per_id = repeated.groupby("id", sort=False)["landmark_id"].nunique()
    torn = labels_per_id.index[labels_per_id > 1]
    rows = row_lines_of(df)  # train.csv: each example named by the file's lines of its rows, found only for these

    def on_lines(i: str) -> str:
        """` on lines 4 and 11`: where the repeats of id `i` (lower-cased) are, or "" when unknown."""
        return f" on {said_lines(rows.lines(repeated.index[repeated['id'] == i][:3]))}" if rows is not None else ""

    if len(torn):
        shown = "; ".join(f"{i!r}{on_lines(i)}: "
                          f"{', '.join(map(str, sorted(set(repeated.loc[repeated['id'] == i, 'landmark_id']))))}"
                          for i in torn[:EXAMPLES_IN_MESSAGE])
        problems.append(f"{plural(len(torn), 'id')} listed under more than one landmark_id (e.g. {shown}); "
                        "skipped, as which landmark the photo shows is unknown")
        df, key = df.loc[~key.isin(torn)], key[~key.isin(torn)]
        dup = key.duplicated()
    if dup.any():
        shown = (", ".join(f"{i!r}{on_lines(i.lower())}" for i in df.loc[dup, "id"].unique()[:EXAMPLES_IN_MESSAGE])
                 if rows is not None else examples(df.loc[dup, "id"].unique()))
        problems.append(f"{plural(int(dup.sum()), 'duplicate id')} (e.g. {shown}); "
                        "kept the first row of each")
        df = df.loc[~dup]
    return df, problems

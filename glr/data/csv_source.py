"""A CSV file's bytes as `glr.data.train_csv` reads them: UTF-8 text, or a file said to be something else.

Excel's "Unicode Text" saves UTF-16 LE with a byte-order mark (tab-separated), and PowerShell's `Out-File` and
some exports write UTF-16 without one; old DOS tools end a file with Ctrl-Z (0x1A), which Arrow would read as part
of the last row's last cell. `utf8_source` gives the path every reader of the file opens: the file itself when it
is plain UTF-8, else a UTF-8 copy without the Ctrl-Z, made once per version of the file (its size, time and inode),
so the header, the `sep=` line, the row checks and Arrow all read the same text, and line numbers stay the file's own.
`refuse_other_kinds` names a file that is no CSV at all (a workbook, an archive, an HTML page, JSON) by its bytes,
and `refuse_zero_bytes` one whose parsed cells hold zero bytes (a block never written); `drop_separator_only_rows`
drops a spreadsheet's rows of separators only (`;;`), which are no rows to report.
"""

from __future__ import annotations

import atexit
import codecs
import contextlib
import re
import shutil
import tempfile
import threading
from pathlib import Path

from glr.data.code_pages import NAMES, candidates, legacy_reading
from glr.data.dataset_path import archive_kind
from glr.errors import DatasetError
from glr.paths import one_line

# Byte-order marks, the longer ones first: UTF-32 LE's mark starts as UTF-16 LE's does.
_BOMS = ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
         (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))
_COPIES = 4  # UTF-8 copies kept (train.csv, the category and attribution files): each may be as large as GLDv2's
_copies: dict[tuple, Path] = {}
_folder: Path | None = None
_lock = threading.RLock()  # re-entered: a copy that fails names the file, and that looks at its code page
_legacy: dict[tuple, str] = {}  # file version -> the code page `read_as_legacy` took it for: utf8_source reads so
_verdicts: dict[tuple, str | None] = {}  # file version -> `legacy_code_page_of`'s decision
_bad_at: dict[tuple, int] = {}  # file version -> where its first byte that is not UTF-8 is (see `legacy_code_page_of`)
_doubts: dict[tuple, str] = {}  # file version -> the other code page its words may be in (`code_pages.legacy_reading`)


def wide_encoding(head: bytes) -> str | None:
    """The codec of text in UTF-16 or UTF-32 that starts with `head` (its first few KB), or None for any other.

    With a byte-order mark it says so; without one the evidence is ASCII's: in UTF-16 LE every odd byte of
    `id,landmark_id` is 0 and almost no even one is (BE the other way round), which UTF-8 text never has.
    """
    for bom, codec in _BOMS:
        if head.startswith(bom):
            return codec
    zeros = head[0::2].count(0), head[1::2].count(0)
    if len(head) >= 4 and max(zeros) > len(head) // 4 and min(zeros) < len(head) // 20:
        return "utf-16-le" if zeros[1] > zeros[0] else "utf-16-be"
    return None


def refuse_other_kinds(csv: Path, head: bytes, expected: str) -> None:
    """Raise DatasetError naming what `csv` is when its first bytes `head` show it is no CSV text: an Excel
    workbook, an archive, an HTML page (a failed download), JSON, or only zero bytes."""
    # Files saved from Excel under a .csv name: say what they are, where "not UTF-8" would leave the user guessing.
    if head.startswith(b"PK\x03\x04"):  # a zip: an .xlsx most often, but Numbers, LibreOffice and Sheets zip theirs too
        what, do = zip_kind(csv)
        raise DatasetError(f"{csv}: is {what}, not a CSV file; {do}")
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise DatasetError(f"{csv}: is an old Excel workbook (.xls), not a CSV file; save it as \"CSV UTF-8 (comma delimited)\"")
    if (packed := archive_kind(csv)) and packed != "a zip archive":  # a zip is most often an .xlsx: said above
        raise DatasetError(f"{csv}: is {packed}, not a CSV file: unpack it, and name what it gives {csv.name}")
    if head.startswith(b"version https://git-lfs.github.com/spec/"):  # a clone without `git lfs pull`
        size = re.search(rb"\nsize (\d+)", head)
        raise DatasetError(f"{csv}: is a Git LFS pointer to the CSV file" + (f" ({int(size[1]):,} bytes)" if size else "")
                           + ", not the file: the repository was cloned without its LFS files; run `git lfs pull` in it")
    if head and not head.strip(b"\x00"):
        raise DatasetError(f"{csv}: holds only zero bytes, so it was never written (a crash, or a copy cut short?); "
                           "copy or save it again")
    # A failed download (a login or error page saved under the file's name) or a JSON export: said as what it is.
    start = head.lstrip(b"\xef\xbb\xbf \t\r\n")[:15].lower()
    # A spreadsheet saved or downloaded as a web page (Google Sheets' and Excel's, from `<meta` or `<html` on): its table.
    if start.startswith((b"<!doctype html", b"<html", b"<meta", b"<style", b"<table", b"<head", b"<body", b"<div")) and (
            b"<table" in head.lower() or b"schemas-microsoft-com:office:excel" in head):
        raise DatasetError(f"{csv}: is a web page holding a table (a spreadsheet saved or downloaded as a web page), not "
                           "a CSV file; download or save it as \"Comma-separated values (.csv)\" (Google Sheets: File > "
                           "Download > Comma-separated values; Excel: Save As > CSV UTF-8)")
    for magic, what in ((b"<!doctype html", "an HTML page"), (b"<html", "an HTML page"), (b"<?xml", "an XML file"),
                        (b"[{", "JSON"), (b"{", "JSON")):
        if start.startswith(magic):
            raise DatasetError(f"{csv}: is {what}, not a CSV file" + (" (a download that failed, or asked for a login?); "
                               "download it again" if "HTML" in what else f"; save it as CSV with a header `{expected}`"))


def zip_kind(csv: Path) -> tuple[str, str]:
    """(what it is, what to do) for a zip file under a CSV's name, by the names it holds: an Excel workbook (also when
    they cannot be listed), an Apple Numbers or OpenDocument spreadsheet, Google Sheets' "Web page" download, or an
    archive to unpack."""
    import zipfile

    try:
        with zipfile.ZipFile(csv) as archive:
            names = archive.namelist()
            kind = archive.open("mimetype").read(80) if "mimetype" in names else b""  # never all of a bomb
    except (zipfile.BadZipFile, OSError, KeyError, RuntimeError, ValueError, NotImplementedError, EOFError):
        names, kind = [], b""
    excel = ("an Excel workbook (.xlsx)", "save it as \"CSV UTF-8 (comma delimited)\"")
    if not names or any(n.startswith("xl/") for n in names):
        return excel
    if any(n.startswith("Index/") and n.endswith(".iwa") for n in names) or "Index.zip" in names:
        return ("an Apple Numbers spreadsheet (.numbers)",
                "export it as CSV (Numbers: File > Export To > CSV, text encoding Unicode (UTF-8))")
    if b"opendocument.spreadsheet" in kind:
        return ("an OpenDocument spreadsheet (.ods, LibreOffice or OpenOffice Calc)",
                "save it as \"Text CSV (.csv)\" with the character set Unicode (UTF-8)")
    if any(n.lower().endswith((".html", ".htm")) for n in names):
        return ("a zip of web pages (a spreadsheet downloaded as \"Web page\", as Google Sheets zips it)",
                "download it as \"Comma-separated values (.csv)\" (Google Sheets: File > Download)")
    inside = [n for n in names if n.lower().endswith((".csv", ".tsv", ".txt")) and not n.endswith("/")]
    held = f" holding {', '.join(repr(n) for n in inside[:3])}" if inside else ""
    return f"a zip archive{held}", f"unpack it, and name what it gives {csv.name}"


def refuse_zero_bytes(csv: Path, table, delimiter: str = ",") -> None:
    """DatasetError when a cell of `table` (the data rows of `csv`) holds a zero byte: a block of the file that was
    never written (a crash, a sync or copy cut short), as a file padded with zeros is refused, rather than rows
    skipped as odd ids. The first such row is named by its line in the file."""
    import pyarrow.compute as pc

    for column in table.column_names:
        if not any(_has_zero(chunk) for chunk in table[column].chunks):
            continue  # the text bytes scanned at once: per cell, Arrow's search took 0.07 s a column at 4.1M rows
        if pc.any(zero := pc.fill_null(pc.match_substring(table[column], "\x00"), False)).as_py():
            from glr.data.csv_header import declared_separator
            from glr.data.csv_lines import RowLines

            rows = pc.indices_nonzero(zero)
            at = RowLines(csv, delimiter, 1 + bool(declared_separator(csv))).where(rows[0].as_py())
            raise DatasetError(f"{csv}: holds zero bytes where text should be (in {len(rows)} row"
                               f"{'s' if len(rows) > 1 else ''}, e.g. {at}), so part of it was "
                               "never written (a crash, or a copy cut short?); copy or save it again")


def drop_separator_only_rows(df, csv: Path, delimiter: str):
    """`df` (columns id and landmark_id, as read from `csv`) without the rows that are lines of separators only
    (`;;`: Excel writes one for each row whose cells were formatted, then emptied), when every row without an id
    and a landmark_id is such a line; else `df` as it is, for its rows to be named."""
    import pyarrow as pa
    import pyarrow.compute as pc

    def blank(column):
        return pc.fill_null(pc.equal(pc.binary_length(pa.array(df[column].array, type=pa.string())), 0), True)

    if not pc.any(no_id := blank("id")).as_py():  # the usual file: one column looked at, 0.02 s at 4.1M rows
        return df
    empty = pc.and_(no_id, blank("landmark_id")).to_numpy(zero_copy_only=False)
    if not empty.any():
        return df
    only = re.compile(f"(?:{re.escape(delimiter)})+")  # as Arrow's rows: a space is a value, "" quoted too
    # newline=None: a bare CR (Excel for Mac) ends a line too, as it does for Arrow.
    with open(utf8_source(csv), encoding="utf-8", errors="replace", newline=None) as fh:
        lines = sum(1 for line in fh if only.fullmatch(line.rstrip("\n")))
    return df[~empty] if lines == empty.sum() else df


def _has_zero(chunk) -> bool:
    """Whether the text bytes behind an Arrow string array hold a zero byte (bytes past its slice too: a hint)."""
    import numpy as np

    data = chunk.buffers()[2] if len(chunk.buffers()) > 2 else None
    return data is not None and data.size > 0 and not np.frombuffer(data, np.uint8).all()


def read_as_legacy(csv: Path) -> str | None:
    """The legacy code page `csv` is read as from now on (`cp1252` for Excel's "CSV (comma delimited)" on a Western
    Windows, `cp1251` on a Cyrillic one, ...: `glr.data.code_pages`), or None: its bytes are UTF-8 (or UTF-16/32),
    or their words show no one code page, and it stays "not UTF-8"."""
    try:
        key, codec = _version(csv), legacy_code_page_of(csv)
    except OSError:
        return None
    with _lock:
        if codec:
            _legacy[key] = codec
        else:
            _legacy.pop(key, None)
    return codec


def read_as_windows_1252(csv: Path) -> bool:
    """Whether `csv` is read as Windows-1252 text (`read_as_legacy`, for a reader whose note names that code page):
    a file of another code page is not read so, and stays "not UTF-8" for it."""
    if (codec := legacy_code_page_of(csv)) != "cp1252":
        return False
    return read_as_legacy(csv) == codec


def legacy_note(csv: Path) -> str | None:
    """The note for a reader of `csv` that reads it in its legacy code page (`read_as_legacy`), or None for UTF-8."""
    return _read_as(csv, codec) if (codec := read_as_legacy(csv)) else None


def _read_as(csv: Path, codec: str) -> str:
    """The note for `csv` read as `codec`, with the other code page its words may be in (the names would then read
    otherwise: said, never assumed in silence)."""
    with contextlib.suppress(OSError):
        if doubt := _doubts.get(_version(csv)):
            return f"{csv.name}: read as {NAMES[codec]} text (not UTF-8), but {doubt}: if so, save it as UTF-8 CSV"
    return f"{csv.name}: read as {NAMES[codec]} text (not UTF-8)"


def legacy_code_page_of(csv: Path) -> str | None:
    """`glr.data.code_pages.legacy_code_page` of the file `csv` when it is not UTF-8 (or UTF-16/32) text; None when
    it is. Decided once per version of the file: GLDv2's train.csv is 300 MB. OSError when it cannot be read."""
    key = _version(csv)
    if key in _verdicts:
        return _verdicts[key]
    data, codec, doubt = csv.read_bytes().rstrip(b"\x1a"), None, None
    if wide_encoding(data[:4096]) is None:
        try:
            data.decode("utf-8")
        except UnicodeDecodeError as exc:
            _bad_at[key] = exc.start  # for `not_utf8`'s line: found again, it took a second pass over 300 MB
            # UTF-8's byte-order mark says the file was written as UTF-8: a byte that is not is damage or a pasted
            # row (said with its line by `not_utf8`), not a code page; read as one, the mark was read as a word (`ď»żid`).
            codec, doubt = (None, None) if data.startswith(codecs.BOM_UTF8) else legacy_reading(data, csv.parent)
    with _lock:
        _verdicts[key] = codec
        if doubt:
            _doubts[key] = doubt
        while len(_verdicts) > 16:
            _bad_at.pop(old := next(iter(_verdicts)), None)
            _doubts.pop(old, None)
            _verdicts.pop(old)
    return codec


def not_utf8(csv: Path) -> str:
    """The message for `csv` that is not UTF-8 text, with the code page its words read as, or the few they could,
    and the line of its first byte that is not UTF-8."""
    try:
        data = csv.read_bytes().rstrip(b"\x1a")
        codec = legacy_code_page_of(csv)
    except OSError:
        return f"{csv}: is not UTF-8 text; save it as UTF-8 CSV"
    bad = None
    with contextlib.suppress(OSError):
        bad = first_bad_byte(data, _bad_at.get(_version(csv))) if wide_encoding(data[:4096]) is None else None
    where = f" (its first byte that is not UTF-8 is on line {bad[0]}: {bad[1]})" if bad else ""
    if data.startswith(codecs.BOM_UTF8) and bad:
        # Excel's "CSV UTF-8" with a row pasted or appended from a file in another code page, or damage.
        return (f"{csv}: starts as UTF-8 text (its byte-order mark) but line {bad[0]} holds a byte that is not UTF-8 "
                f"({bad[1]}: a row pasted from a file in another code page, or damage?); fix that line, or save "
                "the file as UTF-8 CSV again")
    found = [codec] if codec else candidates(data)
    if len(found) == 1:  # e.g. Windows-1251 for a reader that only takes Windows-1252
        return f"{csv}: is not UTF-8 text (its words read as {NAMES[found[0]]}); save it as UTF-8 CSV{where}"
    if found:
        return (f"{csv}: is not UTF-8 text, and which code page it was saved in is unclear ("
                f"{' or '.join(NAMES[c] for c in found)}?); save it as UTF-8 CSV{where}")
    return f"{csv}: is not UTF-8 text; save it as UTF-8 CSV{where}"


def first_bad_byte(data: bytes, at: int | None = None, chunk: int = 1 << 24) -> tuple[int, str] | None:
    """(line from 1, that line shown with its bytes that are not UTF-8 as `\\xe9`) of the first byte of `data` that
    is not UTF-8 (at offset `at` when known), or None. Decoded a chunk at a time: GLDv2's train.csv is 300 MB, and one
    string of it 300 MB more."""
    start = len(data) if at is not None else 0
    while start < len(data):
        end = min(len(data), start + chunk)
        while end < len(data) and end > start + 4 and 0x80 <= data[end] < 0xC0:
            end -= 1  # a chunk ends before a character, never inside one
        try:
            data[start:end].decode("utf-8")
        except UnicodeDecodeError as exc:
            at = start + exc.start
            break
        start = end
    if at is None:
        return None
    # A bare CR ends lines in Excel for Mac's files: counted when the file holds no LF at all.
    end_byte = b"\n" if b"\n" in data or b"\r" not in data else b"\r"
    line = data.count(end_byte, 0, at) + 1
    first = max(data.rfind(b"\n", 0, at), data.rfind(b"\r", 0, at)) + 1
    last = min((i for i in (data.find(b"\n", at, at + 60), data.find(b"\r", at, at + 60)) if i >= 0), default=at + 60)
    text = data[max(first, at - 80):last].decode("utf-8", "backslashreplace")
    return line, one_line(text)


def _version(csv: Path) -> tuple:
    """One version of the file at `csv`: its path, size, time and inode (a file saved again is another)."""
    stat = csv.stat()
    return str(csv.resolve()), stat.st_size, stat.st_mtime_ns, stat.st_ino


def is_utf8(path: Path, block: int = 1 << 24) -> bool:
    """Whether the file at `path` is UTF-8 text throughout, read a block at a time (True when it cannot be read:
    the caller names that)."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        with open(path, "rb") as fh:
            for chunk in iter(lambda: fh.read(block), b""):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    except OSError:
        return True
    return True


def retry_as_windows_1252(read, csv: Path):
    """`read(csv)` and None; when that fails as "not UTF-8 text" and `csv` is text of a legacy code page whose
    words show which (`read_as_legacy`: Windows-1252, 1251, ...), `read(csv)` again reading it so, and a note saying
    so. A file that reads costs nothing more (GLDv2's train.csv is 300 MB: it is not decoded twice)."""
    try:
        return read(csv), None
    except DatasetError as exc:
        if "is not UTF-8 text" not in str(exc) or not (codec := read_as_legacy(csv)):
            raise
    note = _read_as(csv, codec)
    try:
        return read(csv), note
    except DatasetError as exc:  # what was found is said with the code page it was read in: no guess in silence
        raise DatasetError(f"{exc} ({note})") from None


def utf8_source(csv: Path) -> Path:
    """The path to read `csv`'s text from as UTF-8: `csv` itself, or for UTF-16/32 text or a file ending in
    Ctrl-Z its UTF-8 copy without the Ctrl-Z.

    Never raises for a file that cannot be opened (the caller names that); DatasetError for wide text that does
    not decode (cut short mid-character).
    """
    try:
        with open(csv, "rb") as fh:
            codec = wide_encoding(head := fh.read(4096)) or _legacy.get(_version(csv))
            fh.seek(max(0, csv.stat().st_size - 8))
            dos_end = fh.read().rstrip(b"\x00" if codec else b"").endswith(b"\x1a")
        stat = csv.stat()
    except OSError:
        return csv
    if codec is None and not dos_end:
        return csv
    # A CSV's header names its columns in ASCII: a byte-order mark followed by no ASCII at all is no such text.
    if codec and codec.startswith("utf") and not any(c.isascii() and c.isalpha() for c in head.decode(codec, "replace")[:200]):
        raise DatasetError(f"{csv}: starts with a {codec.upper()[:6]} byte-order mark, but what follows is not such "
                           "text (damaged, or another format?); save it as \"CSV UTF-8 (comma delimited)\"")
    key = (str(csv.resolve()), stat.st_size, stat.st_mtime_ns, stat.st_ino, codec)
    with _lock:  # the app's sessions are threads of one process: one copy of a file, made once
        if (copy := _copies.get(key)) is not None and copy.is_file():
            return copy
        copy = _transcode(csv, codec or "utf-8")
        _copies[key] = copy
        while len(_copies) > _COPIES:  # the oldest copy goes: a dict keeps the order they were made in
            _copies.pop(next(iter(_copies))).unlink(missing_ok=True)
    return copy


def _transcode(csv: Path, codec: str) -> Path:
    """A UTF-8 copy of `csv`, read as `codec`, without Ctrl-Z at its end, in glr's temporary folder for this process
    (removed at exit)."""
    global _folder
    if _folder is None or not _folder.is_dir():
        _folder = Path(tempfile.mkdtemp(prefix="glr-csv-"))
        atexit.register(shutil.rmtree, _folder, True)
    fd, name = tempfile.mkstemp(suffix=".csv", dir=_folder)
    try:
        # newline="": the file's own line ends are kept, so a bare CR or CRLF reads as it did.
        with open(csv, encoding=codec, newline="") as src, open(fd, "w", encoding="utf-8", newline="") as out:
            held = ""  # the last chunk is written once known to be the last, without its Ctrl-Z
            while chunk := src.read(1 << 20):
                out.write(held)
                held = chunk
            out.write(held.rstrip("\x1a"))
    except (UnicodeError, OSError) as exc:
        Path(name).unlink(missing_ok=True)
        what = codec.upper().replace("-LE", "").replace("-BE", "")
        if isinstance(exc, OSError):  # most likely the temporary folder is full
            raise DatasetError(f"{csv}: its UTF-8 copy (to read it as {what} text) cannot be written in {_folder} "
                               f"({exc.strerror or exc}); free some space there, or save it as \"CSV UTF-8\"") from None
        if codec == "utf-8":  # a file ending in Ctrl-Z in another encoding: said as any other is
            raise DatasetError(not_utf8(csv)) from None
        raise DatasetError(f"{csv}: is {what} text that does not decode ({exc.reason}: cut short, or damaged?); "
                           "save it again, as \"CSV UTF-8 (comma delimited)\" or as Unicode Text") from None
    return Path(name)

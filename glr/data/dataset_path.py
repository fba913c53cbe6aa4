"""Where a dataset path as typed is on disk: `~` expanded, what the OS refuses named, and a folder named as
typed but in another Unicode form (a Mac's NFD names) or with spaces at the ends of a name found and said;
and what archive a file given as the dataset is.

Every reader of a typed dataset path goes through here (the catalog, a run's resume, the app's cache
stamp), so a path that reads as a dataset also resumes, and reloads when its folder changes.
"""

from __future__ import annotations

import contextlib
import os
import re
import unicodedata
from pathlib import Path

from glr.data.sniff import WEB_ADDRESS
from glr.errors import DatasetError
from glr.paths import broken_link, leads_in_a_circle


def dataset_root(path: str | os.PathLike) -> Path:
    """`path` with `~` expanded; a DatasetError naming it when the OS cannot even look there (a name over 255
    bytes, a paragraph pasted; `~nouser/x`), which Path reports as an OSError or a RuntimeError."""
    if "\x00" in os.fspath(path):  # no path holds one: os.stat raised ValueError out of every page
        raise DatasetError(f"{os.fspath(path)!r}: holds a NUL character (\\x00), which no path can; type it again")
    try:
        root = Path(path).expanduser()
        root.exists()
    except (OSError, RuntimeError) as exc:
        raise DatasetError(f"{os.fspath(path)}: cannot be opened as a dataset folder "
                           f"({getattr(exc, 'strerror', None) or exc})") from None
    return root


def locate(path: str | os.PathLike) -> tuple[Path, str | None]:
    """(the folder or file `path` names on disk, a note when it is not there as typed but under the same name in
    another Unicode form or with spaces at the ends of a name: see `name_twins`).

    DatasetError, naming the likely cause, when it is not there: a web address, a Windows path, or several
    folders of its name in those other forms.
    """
    root = dataset_root(path)
    if root.exists():
        return root, None
    # A link to a drive not mounted, or one in a circle: said so, where "permission denied" was said.
    if why := broken_link(root):
        raise DatasetError(f"{root}: {why}")
    if leads_in_a_circle(root):  # a link on the way to it (a folder linked to itself)
        raise DatasetError(f"{root}: cannot be read: a link on the way to it leads in a circle back to itself")
    text = os.fspath(path)
    if re.match(WEB_ADDRESS, text):  # a dataset's page pasted: Path would make "https:/..." of it
        raise DatasetError(f"{text}: is a web address, not a folder on this computer; download the "
                           "dataset first and point glr at its folder (GLDv2's photos: python -m glr fetch)")
    if os.name != "nt" and re.match(r"[A-Za-z]:[\\/]|\\\\", text):  # C:\data, D:/x, \\nas\share
        raise DatasetError(f"{text}: no such folder here: it is a Windows path, and glr runs on a computer "
                           "that is not Windows; give the folder as this computer, where glr runs, names it (under "
                           "WSL, C:\\data is /mnt/c/data), or copy the photos there")
    twins = name_twins(root)
    if len(twins) != 1:
        raise DatasetError(f"{root}: no such file or folder" + (
            f" (folders of the same name {_how(root, twins, why=False)} are there: {', '.join(map(str, twins))})"
            if twins else ""))
    how = _how(root, twins)
    shown = f"'{twins[0]}'" if "spaces" in how else twins[0]  # quoted, or a space at its end is unseen
    return twins[0], f"{root}: not there as typed; {shown}, the same name {how}, is: read that"


def _key(name: str) -> str:
    """What a file name is to the user: its NFC form, without spaces at its ends."""
    return unicodedata.normalize("NFC", name).strip()


def _spaces(name: str) -> tuple[int, int]:
    """How many spaces `name` has at its start and at its end."""
    return len(name) - len(name.lstrip()), len(name) - len(name.rstrip())


def _how(typed: Path, found: list[Path], why: bool = True) -> str:
    """How the names `found` on disk differ from `typed`'s: their Unicode form, spaces at their ends, or both;
    `why`: with the likely cause of another Unicode form."""
    pairs = [(a, b) for twin in found for a, b in zip(typed.parts, twin.parts) if a != b]
    ways = []
    if any(a.strip() != b.strip() for a, b in pairs):
        ways.append("in another Unicode form" + (" (as a Mac writes names)" if why else ""))
    if any(_spaces(a) != _spaces(b) for a, b in pairs):
        ways.append("with spaces at the start or end of a folder's name")
    return " and ".join(ways)


# Archives by their first bytes (a download saved without its extension, `.tar.zst`, `.zipx`), and tar's mark at 257.
ARCHIVE_MAGIC = [(b"PK\x03\x04", "a zip archive"), (b"PK\x05\x06", "a zip archive"), (b"\x1f\x8b", "a gzip archive"),
                 (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"), (b"Rar!\x1a\x07", "a RAR archive"),
                 (b"\xfd7zXZ\x00", "an xz archive"), (b"BZh", "a bzip2 archive"), (b"\x28\xb5\x2f\xfd", "a Zstandard archive")]


def archive_kind(path: Path) -> str | None:
    """What archive the file at `path` is ("a zip archive"), by its first bytes; None if none or unreadable."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(265)
    except OSError:
        return None
    if head[257:262] == b"ustar":
        return "a tar archive"
    return next((kind for magic, kind in ARCHIVE_MAGIC if head.startswith(magic)), None)


def on_disk(path: str | os.PathLike) -> Path | None:
    """The folder or file `path` names on disk (as `locate` finds it), or None; never raises."""
    try:
        return locate(path)[0]
    except DatasetError:
        return None


def name_twins(path: Path, most: int = 8) -> list[Path]:
    """The paths on disk that are `path` with its missing names in another Unicode form, sorted (up to `most`).

    A folder copied from a Mac keeps its names decomposed (NFD: "e" + U+0301), while a path typed
    or pasted elsewhere is composed (NFC: "é"): to Linux two names, to the user one. Spaces at the
    ends of a name count for nothing too: the app trims what is typed, and a folder named "photos "
    (Windows and macOS keep the space) could not be chosen, while a space copied after a path is unseen.
    """
    found = [Path(path.anchor)] if path.is_absolute() else [Path()]
    for name in path.parts[1:] if path.is_absolute() else path.parts:
        key, step = _key(name), []
        for base in found:
            if (base / name).exists():
                step.append(base / name)
                continue
            with contextlib.suppress(OSError):
                step += [base / e for e in sorted(os.listdir(base)) if _key(e) == key]
        found = step[:most]
        if not found:
            break
    return sorted(found)

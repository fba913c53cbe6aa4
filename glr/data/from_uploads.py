"""A dataset made in the browser: a zip of class folders, or photos dropped per class, as a folder per class.

The result is the layout glr already reads (`<uploads>/<dataset>/<class>/<nnnn>.jpg`), under
`glr.paths.uploads_dir()`. The upload rules are the Predict page's (glr.data.uploads): a zip is
read in memory within the same limits, and a member whose name could leave a folder (zip slip)
is refused. Every photo is decoded by glr.data.images before anything is written, and written
again as a JPEG (orientation applied, transparency flattened, the longer side at most
STORED_SIDE), so the folder holds only photos glr can read under names glr chose. The folder
is built beside its place (a hidden `.<name>.<random>.partial` folder) and renamed into it whole: a
failure leaves nothing behind, and an existing dataset is never overwritten. A server killed while
writing leaves its hidden folder: `clean_partial` deletes those untouched for PARTIAL_MAX_AGE, whenever
the uploads folder is next used (a dataset made, an upload form opened).
"""

from __future__ import annotations

import io
import posixpath
import re
import shutil
import tempfile
import time
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Iterable, Mapping, Sequence

from PIL import Image

from glr.data.class_access import package_kind
from glr.data.class_names import WINDOWS_RESERVED
from glr.data.images import decode_image
from glr.data.layouts import is_system_folder, plural
from glr.data.split_folders import SplitDecision, decide
from glr.data.uploads import MB, ZIP_MAX_BYTES, ZIP_MAX_FILES, read_zip_images
from glr.errors import DatasetError, ImageError
from glr.paths import file_in_the_way, uploads_dir

MAX_NAME = 64
JPEG_QUALITY = 95
# The longer side a photo is stored at. glr reads photos at 224-260 px for the model and 480 for spatial
# verification, so nothing it uses is lost; a 108 MP phone photo (decoded at reduced size, so it is not
# refused as too large) is stored at 2048x1536, about 1 MB instead of 20-30.
STORED_SIDE = 2048
# A dataset or class name becomes a folder name: letters (any script), digits, spaces, - _ . only.
_NAME_OK = re.compile(r"[\w\- .]+")
_HEX = frozenset("0123456789abcdefABCDEF")
PARTIAL_SUFFIX = ".partial"
# A dataset is written in seconds (at most ZIP_MAX_BYTES, copied on one disk); a folder being written is touched
# with every photo. One untouched for an hour is a killed server's, never one still in use.
PARTIAL_MAX_AGE = 3600
# tempfile.mkdtemp's names: ".<dataset>.<8 random characters>.partial". Without the suffix (as before it was
# added) a name could be any hidden folder of the user's in GLR_UPLOADS: never deleted.
_PARTIAL = re.compile(r"\..+\.[a-z0-9_]{8}\.partial")

# (the uploaded file's name, its bytes), or (name, path) of a photo glr.data.staging checked and stored already
Photos = Sequence[tuple[str, "bytes | Path"]]


@dataclass
class BuiltDataset:
    """A dataset folder made from uploads: where it is, photos per class, and the problems met."""

    path: Path
    counts: dict[str, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


def folder_name(text: str, what: str = "name") -> str:
    """`text` as a folder name (spaces become `_`, as the class-folder reader turns them back); DatasetError if unsafe.

    Refused: empty, `.` or `..`, a path separator, or any character but letters, digits, space, `-`, `_` and `.`;
    a name glr passes over when reading (`.hidden`, `__MACOSX`); and one Windows cannot hold (`CON`, `nul.txt`,
    `Tower.`), which the class-folder reader reads with a note.
    """
    # NFC: "Café" typed here and "Café" from a Mac (its accent a separate character, which the check below
    # refuses) are one name, and one folder.
    text = unicodedata.normalize("NFC", str(text)).strip()
    # A name pasted by mistake (a paragraph, a path) is echoed in part: the message must stay readable.
    shown = repr(text) if len(text) <= 2 * MAX_NAME else f"{text[:MAX_NAME]!r}... ({len(text):,} characters)"
    if not text or text.strip(".") == "" or not _NAME_OK.fullmatch(text) or len(text) > MAX_NAME:
        raise DatasetError(f"{what} {shown}: use 1 to {MAX_NAME} letters, digits, spaces, '-', '_' or '.' "
                           "(no '/', and not only dots)")
    if is_system_folder(text):  # ".trip", "__MACOSX", "@eaDir": glr passes such folders over, so it would never be read
        raise DatasetError(f"{what} {shown}: a hidden or system folder's name, which glr does not read; "
                           "do not start it with '.', and choose another")
    folder = re.sub(r"\s+", "_", text)
    if folder.split(".")[0].lower() in WINDOWS_RESERVED or folder.endswith("."):
        # Class folders so named are read, with class_names' note that a copy on Windows fails: not made here.
        raise DatasetError(f"{what} {shown}: a name Windows cannot give a folder (a device's name there, such as CON, "
                           "NUL, AUX or COM1, or a name ending in a dot); a copy of the dataset on Windows would fail, "
                           "so choose another")
    if kind := package_kind(PurePosixPath(folder)):  # "Tower.app": Finder shows one file; glr skips it when reading
        raise DatasetError(f"{what} {shown}: a name macOS takes for a package ({kind}), which glr does not read as "
                           "a folder of photos; choose another")
    return folder


def name_problem(name: str, dataset: bool = False, root: str | Path | None = None) -> str | None:
    """Why `name` cannot be a class's folder (`dataset`: a new dataset's, in `root`, and not taken), or None; for a form."""
    try:
        new_dataset_folder(name, root) if dataset else folder_name(name, "class name")
    except DatasetError as exc:
        return str(exc)
    return None


def same_folder_groups(labels: Iterable[str]) -> list[list[str]]:
    """The class names that would make one folder, two or more to a group, in the order given ("Tower" and "tower",
    "Old Bridge" and "Old_Bridge": build_dataset merges them): said before Make, as the per-class form says them."""
    groups: dict[str, list[str]] = {}
    for label in labels:
        try:
            groups.setdefault(folder_name(label, "class name").casefold(), []).append(label)
        except DatasetError:  # said on its own, and left out
            continue
    return [group for group in groups.values() if len(group) > 1]


def new_dataset_folder(name: str, root: str | Path | None = None) -> Path:
    """Where a dataset named `name` would be made; DatasetError if the name is unsafe or taken (in any case).

    The form checks it as the name is typed, and build_dataset again before writing.
    """
    root = Path(root) if root is not None else uploads_dir()
    folder = root / folder_name(name, "dataset name")
    # "Trip" beside "trip" is one folder on macOS and Windows (their disks ignore case), and two look-alikes here.
    taken = [p.name for p in _listed(root) if p.name.casefold() == folder.name.casefold()]
    if folder.exists() or taken:
        raise DatasetError(f"a dataset named {(taken or [folder.name])[0]!r} already exists in {root}; "
                           "choose another name")
    return folder


def classes_from_zip(data: bytes, name: str = "the zip", max_files: int = ZIP_MAX_FILES,
                     max_bytes: int = ZIP_MAX_BYTES) -> tuple[dict[str, list[tuple[str, bytes]]], list[str]]:
    """The photos of a zip of class folders, by class, and the problems found.

    The zip holds `<class>/<photo>` (or `<top folder>/<class>/<photo>`, as zipping a folder
    makes); the class is the first folder under that. Photos outside a class folder are
    skipped with a message. The zip rules (limits, unsafe names, non-images) are
    `glr.data.uploads.read_zip_images`'s.
    """
    images, problems = read_zip_images(data, name, max_files=max_files, max_bytes=max_bytes)
    images = [(_unmangled(member), content) for member, content in images]
    parts = [member.split("/") for member, _ in images]
    strip = _folders_around(parts)
    # train/<class>/, val/<class>/ (Keras' and Kaggle's layout): the classes are inside the splits, and glr
    # makes its own split. Read as they come, "train" and "val" would be the two classes. But "train" and "test"
    # may be classes too (a class of bursts in sub-folders): a split only when clearly one, as for a folder.
    decision = _split_decision(parts, strip)
    splits = bool(decision.splits)
    classes: dict[str, list[tuple[str, bytes]]] = {}
    loose = []
    for (member, content), path in zip(images, parts):
        path = path[strip + splits:]
        if len(path) < 2:
            loose.append(member)
            continue
        classes.setdefault(path[0], []).append((member, content))
    if classes and _gldv2_nesting(parts):
        # train/a/b/c/abc....jpg: the folders are an id's first hex digits, its landmark is in train.csv
        problems.append(f"{name}: laid out as GLDv2 (photos in train/a/b/c/ named by their id, their landmarks in "
                        "train.csv), so its folders are no classes; unzip it and choose it as \"A folder on this "
                        "computer\", or zip one folder of photos per class")
        return {}, problems
    if splits and classes:
        problems.append(f"{name}: the class folders inside {', '.join(decision.splits)} are "
                        "read as one dataset: glr makes its own train/validation split")
    elif decision.as_classes:
        problems.append(f"{name}: the folders {', '.join(decision.as_classes)} are read as classes, not as train/test "
                        f"split folders: {decision.reason}; if they are a split, zip the class folders of "
                        f"{decision.inner.name!r} alone")
    if loose:
        problems.append(f"{name}: {plural(len(loose), 'photo')} outside a class folder skipped (e.g. {loose[0]!r}); "
                        "put each class's photos in a folder named after it")
    if images and not classes:
        problems.append(f"{name}: no class folders found; the zip must hold one folder of photos per class "
                        "(<class name>/<photo>.jpg)")
    return classes, problems


def _gldv2_nesting(parts: list[list[str]]) -> bool:
    """Whether every photo sits as GLDv2 puts it: .../a/b/c/abc<...>.<ext>, each folder one hex digit of its name."""
    return bool(parts) and all(
        len(p) >= 4 and all(len(d) == 1 and d in _HEX for d in p[-4:-1])
        and p[-1].lower().startswith("".join(p[-4:-1]).lower()) for p in parts)


def _split_decision(parts: list[list[str]], strip: int) -> SplitDecision:
    """glr.data.split_folders' decision for the zip's folders at the class level (`strip` folders around them)."""
    def contents(folder: PurePosixPath) -> tuple[list[PurePosixPath], list[PurePosixPath]]:
        inside = [p[strip + 1:] for p in parts if p[strip] == folder.name]
        return (sorted({folder / rest[0] for rest in inside if len(rest) >= 2}),
                [folder / rest[0] for rest in inside if len(rest) == 1])

    tops = sorted({p[strip] for p in parts if len(p) >= strip + 2})
    return decide([PurePosixPath(t) for t in tops], contents)


def _folders_around(parts: list[list[str]]) -> int:
    """How many folders wrap every member's class folder: one when zipping "flowers/" gave "flowers/rose/1.jpg",
    two for "flowers/flowers/rose/1.jpg" (a folder unzipped into one of its name, then zipped again).

    A folder is looked inside while every member is in it and more of them sit in its sub-folders than
    directly in it (a cover photo beside the class folders is then said to be outside a class)."""
    strip = 0
    while (parts and all(len(p) >= strip + 2 for p in parts) and len({p[strip] for p in parts}) == 1
           and sum(len(p) >= strip + 3 for p in parts) > sum(len(p) == strip + 2 for p in parts)):
        strip += 1
    return strip


def _unmangled(member: str) -> str:
    """A member name as its zip meant it: macOS' Finder (and other tools) write UTF-8 names without the zip flag
    that says so, which Python then reads as the old DOS code page ("Café/1.jpg" as "Cafe╠ü/1.jpg")."""
    try:
        return member.encode("cp437").decode("utf-8") if not member.isascii() else member
    except (UnicodeEncodeError, UnicodeDecodeError):  # a name read right already, or a real DOS-code-page name
        return member


def build_dataset(name: str, classes: Mapping[str, Photos], root: str | Path | None = None,
                  max_files: int = ZIP_MAX_FILES, max_bytes: int = ZIP_MAX_BYTES) -> BuiltDataset:
    """Write `classes` (class name -> photos) as the dataset folder `<root>/<name>/<class>/<nnnn>.jpg`.

    `root` defaults to `glr.paths.uploads_dir()`. Each photo is decoded first; one that is
    not a readable image is skipped with its message, and a class left with no photo is left
    out (a photo given as a Path, which glr.data.staging checked and stored, is copied as it is).
    Classes whose folders would differ only in case are one class, with a message. DatasetError, with nothing written, for a bad or taken dataset name, for no usable
    class, or past `max_files` photos or `max_bytes` in all.
    """
    root = Path(root) if root is not None else uploads_dir()
    folder_name(name, "dataset name")  # a bad name is said before a folder in the way
    if blocker := file_in_the_way(root):  # else NotADirectoryError deep in the writing, after every photo was read
        raise DatasetError(f"{blocker} is a file, not a folder: no dataset can be made in {root}; "
                           "set GLR_UPLOADS to a folder")
    folder = new_dataset_folder(name, root)
    total_files = sum(len(photos) for photos in classes.values())
    total_bytes = sum(_size(data) for photos in classes.values() for _, data in photos)
    if total_files > max_files or total_bytes > max_bytes:
        raise DatasetError(f"{total_files:,} photos, {total_bytes / MB:.0f} MB: over the limit of {max_files:,} photos "
                           f"and {max_bytes // MB} MB for a dataset made in the browser; for more, put the class "
                           "folders on this computer and type their folder instead")
    problems: list[str] = []
    prepared: dict[str, list[bytes | Path]] = {}
    first: dict[str, tuple[str, str]] = {}  # a folder's name, casefolded -> (that folder, the class name that made it)
    for label, photos in classes.items():
        try:
            class_folder = folder_name(label, "class name")
        except DatasetError as exc:
            problems.append(f"{exc}; its {plural(len(photos), 'photo')} skipped")
            continue
        # "Tower" and "tower" would be two classes of one landmark here, and one folder (or a crash) on
        # macOS and Windows, whose disks ignore case; "Old Bridge" and "Old_Bridge" are one folder anywhere.
        class_folder, earlier = first.setdefault(class_folder.casefold(), (class_folder, label))
        if earlier != label:
            problems.append(f"classes {earlier!r} and {label!r} name the same folder (letters differ only in case "
                            f"or Unicode form, or '_' for a space): their photos are one class, {class_folder}")
        encoded = prepared.setdefault(class_folder, [])
        for photo_name, data in photos:
            if isinstance(data, Path):  # checked and stored by glr.data.staging already
                if data.is_file():
                    encoded.append(data)
                else:  # removed meanwhile (another tab, or pruned after a day)
                    problems.append(f"{label}/{photo_name}: no longer kept (removed meanwhile); drop it again")
                continue
            try:
                encoded.append(stored_jpeg(data, f"{label}/{posixpath.basename(str(photo_name))}"))
            except ImageError as exc:
                problems.append(str(exc))
    empty = [label for label, photos in prepared.items() if not photos]
    if empty:
        problems.append(f"{plural(len(empty), 'class')} with no usable photo left out: {', '.join(sorted(empty))}")
    prepared = {label: photos for label, photos in prepared.items() if photos}
    if not prepared:
        raise DatasetError("no class has a usable photo, so there is no dataset to make"
                           + (f" ({problems[0]})" if problems else ""))
    if len(prepared) < 2:
        problems.append("only one class: a model needs at least two to tell apart; add another class")
    _write_folder(folder, prepared)
    return BuiltDataset(folder, {label: len(photos) for label, photos in prepared.items()}, problems)


def clean_partial(root: str | Path | None = None, max_age: float = PARTIAL_MAX_AGE) -> list[Path]:
    """Delete the hidden folders datasets were being written into in `root` (the uploads folder) and untouched for
    `max_age` seconds: left by a server killed while writing. Those deleted."""
    cutoff, gone = time.time() - max_age, []
    for path in _listed(Path(root) if root is not None else uploads_dir()):
        if not _PARTIAL.fullmatch(path.name) or path.is_symlink() or not path.is_dir():
            continue
        try:  # its class folders are touched by every photo written; the folder itself only by a new class
            touched = max([path.stat().st_mtime] + [p.stat().st_mtime for p in path.iterdir() if p.is_dir()])
        except OSError:  # renamed into place or removed meanwhile
            continue
        if touched < cutoff:
            shutil.rmtree(path, ignore_errors=True)
            gone.append(path)
    return gone


def stored_jpeg(data: bytes, name: str) -> bytes:
    """The photo as a dataset made here stores it: decoded by glr (ImageError naming it if it is not one), at most
    STORED_SIDE px, encoded again as a JPEG."""
    # Shrunk before its colours are converted to sRGB: a 12 MP Display P3 photo's 3 million stored pixels, not all 12.
    photo = Image.fromarray(decode_image(_named(data, name), draft_size=STORED_SIDE, shrink=_within_stored_side))
    buffer = io.BytesIO()
    photo.save(buffer, format="JPEG", quality=JPEG_QUALITY)
    return buffer.getvalue()


def _within_stored_side(photo: Image.Image) -> Image.Image:
    """The photo with its longer side at most STORED_SIDE px, its aspect kept (never enlarged): shrunk in place, as it
    is the decoder's own image, not yet converted to sRGB."""
    photo.thumbnail((STORED_SIDE, STORED_SIDE), Image.Resampling.LANCZOS)
    return photo


def _listed(root: Path) -> list[Path]:
    try:
        return list(root.iterdir())
    except OSError:  # not made yet
        return []


def _size(data: bytes | Path) -> int:
    if not isinstance(data, Path):
        return len(data)
    try:
        return data.stat().st_size
    except OSError:  # gone: said when the photo is reached
        return 0


def _named(data: bytes, name: str) -> io.BytesIO:
    buffer = io.BytesIO(data)
    buffer.name = name
    return buffer


def _write_folder(folder: Path, classes: Mapping[str, list[bytes | Path]]) -> None:
    """Write the class folders into a temporary folder beside `folder`, then rename it into place."""
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        clean_partial(folder.parent)
        tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", suffix=PARTIAL_SUFFIX, dir=folder.parent))
    except OSError as exc:  # read-only, permission denied
        raise DatasetError(f"no dataset can be made in {folder.parent}: {exc.strerror or exc}") from None
    tmp.chmod(0o755)  # mkdtemp makes 0700; a dataset is meant to be read by the app and others
    try:
        for label, photos in classes.items():
            (tmp / label).mkdir()
            for i, data in enumerate(photos, 1):
                if isinstance(data, Path):
                    try:
                        shutil.copyfile(data, tmp / label / f"{i:04d}.jpg")
                    except FileNotFoundError:  # removed between the check and now: nothing is left half made
                        raise DatasetError(f"{label}/{data.name}: no longer kept (removed meanwhile); "
                                           "drop it again") from None
                else:
                    (tmp / label / f"{i:04d}.jpg").write_bytes(data)
        try:
            tmp.rename(folder)  # fails if another upload filled that name meanwhile: never merged into it
        except OSError:
            raise DatasetError(f"a dataset named {folder.name!r} already exists in {folder.parent}; "
                               "choose another name") from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

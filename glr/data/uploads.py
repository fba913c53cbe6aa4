"""Uploaded photos and zips of photos, for the Predict page: read in memory, never extracted.

People drop anything on an upload box: photos, a zip of an album, a zip made by a tool that
stores `../` or absolute paths (zip slip), a zip bomb, a file far over the size limit. Every
function here returns what is usable plus one message per problem, so a bad file never
stops the good ones. Nothing is written to disk: a zip's members are read into memory, so no
member name, however crafted, can place a file anywhere. `glr predict` takes a zip on disk by the
same rules (`zip_photos`), each photo inflated only when it is predicted. Nothing here imports streamlit.
"""

from __future__ import annotations

import hashlib
import io
import posixpath
import zipfile
from pathlib import PurePosixPath
from typing import Iterable

from glr.data.images import MAX_FILE_BYTES
from glr.data.layouts import IMAGE_EXTENSIONS, examples, is_system_file, is_system_folder, plural
from glr.data.skipped_files import kind_notes

# What the Predict page accepts. Zips are read in memory, never extracted to disk, and only
# up to these limits: a zip of a few hundred photos is normal, a zip bomb is not.
IMAGE_TYPES = tuple(extension.lstrip(".") for extension in IMAGE_EXTENSIONS)  # as st.file_uploader names them
UPLOAD_TYPES = IMAGE_TYPES + ("zip",)
ZIP_MAX_FILES = 2000
ZIP_MAX_BYTES = 500 * 1024 * 1024  # the Predict page's: the images taken from one zip, uncompressed, all together
# glr predict's (and predict.py's): one photo inside a zip, uncompressed. They hold a photo at a time, so a zip's photos
# are not bounded together; but no photo is this big, and a zip bomb named a.jpg is refused before it is inflated.
ZIP_PHOTO_MAX_BYTES = MAX_FILE_BYTES
ZIP_SKIPPED_PREFIXES = ("__MACOSX/",)  # macOS resource forks, not photos
MB = 1024 * 1024


def safe_member_name(name: str) -> str | None:
    """A zip member's name if it is a plain relative path inside the archive, else None (zip slip).

    Absolute paths, drive letters, backslashes turned separators and `..` components are all
    refused, so a name can never point outside wherever it might be written.
    """
    text = name.replace("\\", "/")
    if not text or "\x00" in text or text.startswith("/"):
        return None
    parts = [p for p in text.split("/") if p not in ("", ".")]
    # The drive letter is looked for once "." parts are gone: "./C:x" would become "C:x".
    if not parts or any(p == ".." for p in parts) or (len(parts[0]) > 1 and parts[0][1] == ":"):
        return None
    return posixpath.join(*parts)


def read_zip_images(data, name: str = "the zip", max_files: int = ZIP_MAX_FILES,
                    max_bytes: int = ZIP_MAX_BYTES) -> tuple[list[tuple[str, bytes]], list[str]]:
    """The images inside a zip as (member name, bytes), in name order, and the problems found.

    `data`: the zip's bytes (an upload), or its path or a binary file object, from which only the directory and
    the photos taken are read (a 3 GB zip of videos and a few photos is not read whole). Nothing is written to
    disk. Unsafe names (zip slip), non-images, encrypted members and files past `max_files` or `max_bytes`
    (uncompressed) are skipped with a message. A file that is not a zip at all gives no images and one message.
    A member without an extension is an image when its first bytes are one's, as training reads such a file.
    """
    archive, problems = _opened(data, name)
    if archive is None:
        return [], problems
    images, damaged = [], []
    with archive:
        taken, problems = _taken(archive, name, max_files, max_bytes, total=True)
        for member, info in taken:
            try:
                content = archive.read(info)
            except Exception as exc:  # noqa: BLE001 - each decompressor (zlib, bz2, lzma) has its own error type
                damaged.append(f"{name}: {member} cannot be read, the zip is damaged ({exc.__class__.__name__}: {exc})")
                continue
            images.append((member, content))
    return images, damaged + problems


class ZipPhoto:
    """A photo inside a zip file on disk, named "album.zip/trip/a.jpg", whose bytes are inflated only when it is read
    and then let go: a 500 MB zip of phone photos is predicted a photo at a time, never held in memory at once."""

    __slots__ = ("_archive", "_info", "name")  # no dict per photo: a zip of 200,000 held 20 MB less
    def __init__(self, archive: zipfile.ZipFile, info: zipfile.ZipInfo, name: str):
        self._archive, self._info, self.name = archive, info, name

    def read(self, size: int = -1) -> bytes:
        """The photo's bytes, inflated now; OSError naming a damaged zip (the decoder says "cannot be read (...)")."""
        try:
            return self._archive.read(self._info)
        except Exception as exc:  # noqa: BLE001 - each decompressor (zlib, bz2, lzma) has its own error type
            raise OSError(f"the zip is damaged: {exc.__class__.__name__}: {exc}") from None

    def seek(self, offset: int, whence: int = 0) -> int:
        """Nothing to rewind: every read inflates the photo afresh (spatial verification reads it twice)."""
        return 0


def zip_photos(path, name: str, max_photo_bytes: int = ZIP_PHOTO_MAX_BYTES) -> tuple[list[ZipPhoto], list[str]]:
    """The photos inside the zip at `path`, each a ZipPhoto read only when predicted, in name order, and the problems.

    For `glr predict`, which holds one photo at a time: no limit on how many photos or their total size (the Predict
    page's, read_zip_images's, keep its memory bounded), but a photo over `max_photo_bytes` uncompressed (a zip bomb
    named a.jpg) is skipped before a byte of it is inflated. OSError when the file itself cannot be opened.
    """
    archive, problems = _opened(path, name)
    if archive is None:
        return [], problems
    taken, problems = _taken(archive, name, None, max_photo_bytes, total=False)
    if not taken:
        archive.close()
    return [ZipPhoto(archive, info, f"{name}/{member}") for member, info in taken], problems


def _opened(data, name: str) -> tuple[zipfile.ZipFile | None, list[str]]:
    """(the zip of `data`: bytes, a path or a binary file, or None, [why not]); OSError when a path cannot be opened."""
    try:
        return zipfile.ZipFile(io.BytesIO(data) if isinstance(data, (bytes, bytearray, memoryview)) else data), []
    except OSError as exc:
        if exc.filename is not None:
            raise  # a path that cannot be opened: the caller's to name (its strerror), not "not a valid zip"
        return None, [f"{name}: not a valid zip archive"]  # a seek before the start of a file, its directory lying
    except Exception:  # noqa: BLE001 - a damaged directory fails in many ways (BadZipFile, struct, EOF...)
        return None, [f"{name}: not a valid zip archive"]


def _taken(archive: zipfile.ZipFile, name: str, max_files: int | None, max_bytes: int,
           total: bool) -> tuple[list[tuple[str, zipfile.ZipInfo]], list[str]]:
    """The images of `archive` to read, as (safe member name, info) in name order, and the problems of the others.

    `max_bytes` bounds the images' sizes taken together (`total`) or each one's; `max_files` (None: none) their number.
    The sizes are the directory's: zipfile never inflates a member past its declared size, so a bomb is refused
    before a byte of it is decompressed."""
    taken, problems = [], []
    unsafe, others, zips, encrypted, too_many, too_big, elsewhere = [], [], [], [], 0, 0, []
    size, last_disk = 0, _last_disk(archive)
    for info in sorted(archive.infolist(), key=member_text):
        if info.is_dir() or info.filename.startswith(ZIP_SKIPPED_PREFIXES):
            continue
        member = safe_member_name(member_text(info))
        if member is None:
            unsafe.append(member_text(info))
            continue
        # .DS_Store, Thumbs.db, a Synology NAS's @eaDir/ thumbnails: the system's, not the user's.
        if is_system_file(path := PurePosixPath(member)) or any(map(is_system_folder, path.parts[:-1])):
            continue
        extension = posixpath.splitext(member)[1].lower().lstrip(".")
        if extension not in IMAGE_TYPES and (extension or not _starts_as_photo(archive, info)):
            (zips if member.lower().endswith(".zip") else others).append(member)
            continue
        if info.flag_bits & 0x1:
            encrypted.append(member)
            continue
        if info.volume != last_disk:  # in another part of a split zip: read here, it was "the zip is damaged"
            elsewhere.append(member)
            continue
        if max_files is not None and len(taken) >= max_files:
            too_many += 1
            continue
        if (size if total else 0) + info.file_size > max_bytes:
            too_big += 1
            continue
        size += info.file_size
        taken.append((member, info))
    if unsafe:
        problems.append(f"{name}: {plural(len(unsafe), 'file')} with unsafe paths skipped (e.g. {unsafe[0]!r}); "
                        "nothing is extracted, so they could not escape")
    # A raw, a sidecar, a Live Photo's video said by kind (glr.data.skipped_files), the rest as not images.
    kinds, others = kind_notes(others, examples)
    problems += [f"{name}: {note}" for note in kinds]
    if others:
        problems.append(f"{name}: {plural(len(others), 'file')} that {'is not an image' if len(others) == 1 else 'are not images'} "
                        f"skipped (e.g. {others[0]!r})")
    if zips:  # not opened: a zip in a zip in a zip... would be a bomb the limits never see
        problems.append(f"{name}: {plural(len(zips), 'zip')} inside it not opened (e.g. {zips[0]!r}); "
                        "drop the photos in it, or that zip itself")
    if encrypted:
        problems.append(f"{name}: {plural(len(encrypted), 'encrypted file')} skipped (e.g. {encrypted[0]!r}): "
                        "the zip has a password; unzip it with its password, then give its photos")
    if elsewhere:
        problems.append(f"{name}: the last part of a split zip: {plural(len(elsewhere), 'file')} in its other parts not "
                        f"read (e.g. {elsewhere[0]!r}); join the parts into one zip first (zip -s 0 {posixpath.basename(name)} "
                        "--out whole.zip, or 7-Zip), then give that")
    if too_many:
        problems.append(f"{name}: only the first {max_files} images are used; {too_many} more skipped")
    if too_big:
        problems.append(f"{name}: {plural(too_big, 'image')} skipped past {max_bytes // MB} MB uncompressed"
                        + ("" if total else " each (no photo is that big: a zip bomb?)"))
    if not taken and len(problems) == len(kinds) + bool(others):  # the files skipped as no images say nothing of photos
        problems.append(f"{name}: holds no images ({', '.join(IMAGE_TYPES)})")
    return taken, problems


def _last_disk(archive: zipfile.ZipFile) -> int:
    """The number of the part (disk) a zip's directory ends on: 0 for a zip in one piece; more for the last part
    (album.zip) of a split zip (album.z01, album.z02, ...), whose members starting in the other parts it cannot read.
    zipfile reads the end record but keeps no part number (only its private _EndRecData returns it), so it is read
    here as the zip format lays it out (PKWARE's APPNOTE 4.3.16: the end of central directory record, after which only
    a comment of up to 65,535 bytes comes; 4.3.15: a zip64 zip's locator before it holds the count of parts)."""
    end, locator = b"PK\x05\x06", b"PK\x06\x07"
    try:
        archive.fp.seek(0, 2)
        size = archive.fp.tell()
        archive.fp.seek(max(0, size - 22 - 65535 - 20))
        tail = archive.fp.read()
        at = len(tail) - 22 if tail[-22:-18] == end else tail.rfind(end)  # without a comment, then with one
        disk = int.from_bytes(tail[at + 4:at + 6], "little") if at >= 0 else 0
        if disk == 0xFFFF and at >= 20 and tail[at - 20:at - 16] == locator:  # zip64: the parts are counted there
            disk = int.from_bytes(tail[at - 4:at], "little") - 1
        return disk
    except Exception:  # noqa: BLE001 - zipfile read it once already; if it cannot now, take the zip as one piece
        return 0


def member_text(info: zipfile.ZipInfo) -> str:
    """A zip member's name as its maker wrote it. A name without the UTF-8 flag is read by zipfile as DOS's code page
    437, but Linux's `zip`, macOS's and 7-Zip's write UTF-8 without that flag: "café.jpg" came out "caf├⌐.jpg" (in
    the listing, the submission's ids, a dataset's class names). Such a name whose bytes are UTF-8 is read as UTF-8;
    an old Windows zip's code page 437 ("\x82" for é) is not UTF-8, and stays as zipfile read it."""
    if info.flag_bits & 0x800 or info.filename.isascii():
        return info.filename
    try:
        return info.filename.encode("cp437").decode("utf-8")
    except UnicodeError:
        return info.filename


def _starts_as_photo(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> bool:
    """Whether a member without an extension (`IMG_1`) starts as a photo glr decodes, by the rule training reads such a
    file by (glr.data.photo_files.is_photo): its magic bytes, and a BMP's header giving the file's own size. Only its
    first bytes are inflated; an encrypted or damaged member is no photo here. (The exported predict.py copies it.)"""
    from glr.data.photo_files import starts_as_photo

    if info.flag_bits & 0x1:
        return False
    try:
        with archive.open(info) as member:
            head = member.read(64)
    except Exception:  # noqa: BLE001 - a damaged member: left out as the other files are
        return False
    return starts_as_photo(head, info.file_size)


def expand_uploads(files: Iterable[tuple[str, bytes]],
                   max_file_bytes: int | None = None) -> tuple[list[tuple[str, bytes]], list[str], bool]:
    """Uploaded (name, bytes): photos pass through, zips are replaced by the images inside.

    Returns (photos, problems, from_zip) where from_zip says whether any zip was opened. A
    file over `max_file_bytes` is skipped with a message: Streamlit's server already refuses
    such uploads, and this second check holds where it is bypassed (the camera, tests, a
    changed server option). A photo's bytes are not checked here: the predictor reports a
    bad one on its own.
    """
    photos, problems, from_zip = [], [], False
    for name, data in files:
        name = str(name)
        if max_file_bytes is not None and len(data) > max_file_bytes:
            problems.append(f"{name}: {len(data) / MB:.1f} MB is over the {max_file_bytes / MB:g} MB upload limit; "
                            "for big batches use the command line: python -m glr predict RUN FOLDER")
            continue
        if name.lower().endswith(".zip"):
            from_zip = True
            inside, found = read_zip_images(data, name)
            photos += [(f"{name}/{member}", content) for member, content in inside]
            problems += found
        else:
            photos.append((name, data))
    return photos, problems, from_zip


def named_upload(name: str, data: bytes) -> io.BytesIO:
    """Bytes as a file-like object with a `.name`, so the predictor's messages name the file."""
    buffer = io.BytesIO(data)
    buffer.name = name
    return buffer


def photo_id(name: str) -> str:
    """The submission id of an uploaded photo: its file name without folders and extension."""
    return posixpath.splitext(posixpath.basename(str(name).replace("\\", "/")))[0]


def submission_ids(names: list[str], repeats: list[tuple[str, str]] = ()) -> tuple[list[str], list[tuple[str, str]]]:
    """The submission ids of uploaded photos (`names`, each a different photo), and (id, id of its first) of each repeat
    ((repeat, first name), as unique_photos gives them): a file's stem as Kaggle names its test photos, made unique as
    `predict_folder` makes them (submission.unique_ids). Two different photos both called a.jpg (two folders of a zip,
    two uploads) are "a" and "a.jpg", not one id twice; a repeat under its first's name is that id (one row)."""
    from glr.submission import unique_ids

    paths = [str(name).replace("\\", "/") for name in names]
    others = [str(r).replace("\\", "/") for r, first in repeats if r != first]
    ids = unique_ids(paths + others)  # in order: the photos' ids do not depend on the repeats
    first_id = {}
    for path, photo in zip(paths, ids):
        first_id.setdefault(path, photo)
    extra = iter(ids[len(paths):])
    pairs = [(first_id.get(str(f).replace("\\", "/"), "") if r == f else next(extra),
              first_id.get(str(f).replace("\\", "/"), "")) for r, f in repeats]
    return ids[:len(paths)], pairs


def content_digest(data: bytes) -> str:
    """The SHA-1 of a photo's bytes: the same photo under any name has the same digest."""
    return hashlib.sha1(data).hexdigest()


def unique_photos(photos: Iterable[tuple[str, bytes]]) -> tuple[list[tuple[str, bytes]], list[tuple[str, str]]]:
    """The photos without repeats of the same content, each under its first name; and (repeat, first name) pairs.

    The same file uploaded twice, or a sample photo tried twice, is predicted and listed once. Empty
    files are no photo: each keeps its own "empty file" message, not "the same photo as" another.
    """
    seen: dict[str, str] = {}
    unique, repeats = [], []
    for name, data in photos:
        digest = content_digest(data)
        if data and digest in seen:
            repeats.append((name, seen[digest]))
            continue
        seen[digest] = name
        unique.append((name, data))
    return unique, repeats

"""The photo half of the exported predict.py (glr.export_script): which photos a path stands for and how each is read.

Python source, pasted into predict.py as it is (not a format template). It repeats glr's rules for a photo file
(glr.data.images, glr.submission) with only Pillow and numpy, and uses what predict.py defines before it: the
constants, the functions copied from glr with inspect.getsource (glr's decoding from a mode to sRGB, its EXIF turn,
its formats, its listing of skipped files), NOTE and ImageError.
"""

import re


def source() -> str:
    """SOURCE with glr's own rules for a zip's members, a file without an extension and the files it skips copied in
    before it (glr.data.uploads.zip_photos and what it calls, glr.data.photo_files.is_photo, glr.data.skipped_files),
    so predict.py takes a zip and a folder as glr predict does. Their imports of glr's modules are left out: what
    they import is in predict.py."""
    import inspect
    import textwrap

    from glr.data import layouts, photo_files, skipped_files, uploads
    from glr.submission import NO_EXTENSION, NO_EXTENSION_UNREAD, ZIP_IN_FOLDER, no_extension

    constants = (f"ZIP_PHOTO_MAX_BYTES, MB = {uploads.ZIP_PHOTO_MAX_BYTES!r}, {uploads.MB!r}\n"
                 f"ZIP_SKIPPED_PREFIXES, IMAGE_TYPES = {uploads.ZIP_SKIPPED_PREFIXES!r}, {uploads.IMAGE_TYPES!r}\n"
                 f"ZIP_IN_FOLDER, NO_EXTENSION, NO_EXTENSION_UNREAD = {ZIP_IN_FOLDER!r}, {NO_EXTENSION!r}, "
                 f"{NO_EXTENSION_UNREAD!r}\n"
                 # As glr: the files it skips said by kind (glr.data.skipped_files' kinds, their functions copied)
                 f"_KINDS, EXAMPLES_IN_MESSAGE = {skipped_files._KINDS!r}, {layouts.EXAMPLES_IN_MESSAGE!r}\n"
                 # As glr predict: its words for a run without a verdict (without_unknown); --unknown's choices
                 # (UNKNOWN_POLICIES) are set once, in glr.export_cli's HEAD, at the top of predict.py
                 f"UNKNOWN_NO_VERDICT = {UNKNOWN_NO_VERDICT!r}\n\n\n")
    # predict.py's photos are their names (str), so its ZipPhoto is a str that reads as glr's does (its read, copied).
    zip_photo = (ZIP_PHOTO + textwrap.indent(textwrap.dedent(inspect.getsource(uploads.ZipPhoto.read)), "    ")
                 + "\n\n")
    functions = (skipped_files.one_reason, skipped_files.kind_notes, layouts.examples,
                 uploads.safe_member_name, layouts.plural, uploads.zip_photos, uploads._opened, uploads._taken,
                 uploads._last_disk, uploads.member_text, uploads._starts_as_photo, photo_files.starts_as_photo,
                 photo_files.is_photo, photo_files.photo_start, no_extension)
    return constants + zip_photo + "\n\n".join(without_glr_imports(inspect.getsource(f)) for f in functions) \
        + "\n\n" + SOURCE


def without_glr_imports(code: str) -> str:
    """A function's source without its imports of glr's modules (inside it, kept there to keep glr's imports light):
    pasted into predict.py, which defines what they import, and needs no glr."""
    return re.sub(r"(?<=\n)[ \t]+from glr\.[\w.]+ import [\w, ]+(?:  #[^\n]*)?\n(?:[ \t]*\n)?", "", code)


# glr predict's words for --unknown on a run without a verdict (glr.predict_command._unknown_policy), "run" said "export".
UNKNOWN_NO_VERDICT = "this export gives no unknown verdict, so no photo is called not a known landmark"

ZIP_PHOTO = '''class ZipPhoto(str):
    """A photo inside a zip, named as glr predict names it ("album.zip/trip/a.jpg"); its bytes inflated only when it
    is predicted (glr.data.uploads.ZipPhoto: its read, copied below)."""

    def __new__(cls, archive, info, name):
        photo = super().__new__(cls, name)
        photo._archive, photo._info, photo.name = archive, info, name
        photo.zip_name = archive.filename  # the file given, which --out must not name
        return photo

'''


SOURCE = r'''def photo_bytes(path):
    """The bytes of the photo at `path`, after glr's checks before Pillow opens a file: ImageError for one that is no
    regular file (a pipe would block for ever), that cannot be read, is empty, is known to be something else (all its
    bytes looked at, as glr does: a DNG's first directory may lie past its first kilobyte), or a PNG of too many chunks."""
    try:
        if isinstance(path, ZipPhoto):  # a photo inside a zip, read from it now: one photo in memory at a time
            data = path.read()
        elif not stat.S_ISREG((found := os.stat(path)).st_mode):
            raise ImageError(f"{path}: not a regular file")
        elif found.st_size > ZIP_PHOTO_MAX_BYTES:  # as glr: read whole, a 3 GB file named huge.jpg took 3 GB of memory
            raise ImageError(f"{path}: {found.st_size / MB:,.0f} MB, larger than any photo (files of up to "
                             f"{ZIP_PHOTO_MAX_BYTES // MB} MB are read): not read")
        else:
            data = Path(path).read_bytes()
    except (FileNotFoundError, ImageError):
        raise
    except OSError as exc:  # a link that leads in a circle, a file without the right to read it
        raise ImageError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    if not data:  # as glr: a failed download or copy, which Pillow calls "cannot identify"
        raise ImageError(f"{path}: empty file (0 bytes)")
    refuse_known_non_images(data, path)
    if data.startswith(b"\x89PNG") and len(_png_chunks(data, MAX_PNG_CHUNKS + 1)) > MAX_PNG_CHUNKS:
        raise ImageError(f"{path}: {PNG_CHUNKS_MESSAGE}")
    return mended_png(data)  # as glr (copied): the chunks Chromium passes over taken out


def missing_decoder(path, data=None):
    """What to install to read `path` (its bytes `data`), a HEIC or AVIF photo this Python has no decoder for (glr's rule,
    decoder_missing, copied: a damaged one, its decoder here, is said to be damaged); None for any other file."""
    fmt = decoder_missing(Path(path).read_bytes() if data is None else data)
    if fmt == "AVIF":
        return "an AVIF photo, and this Pillow cannot read AVIF: pip install --upgrade pillow (11.3 or later), or export it as JPEG"
    if fmt == "HEIC":
        return "a HEIC photo (an iPhone's), and no HEIC decoder is installed: pip install pi-heif, or export it as JPEG"
    return None


class MissingDecoder(ValueError):
    """A photo in a format this Python has no decoder for (HEIC without pi-heif): said with what to install."""


def opened(path, data):
    """The photo at `path`, its bytes `data` (as mended), opened by Pillow in a format glr decodes; a HEIC or AVIF it has
    no decoder for is a MissingDecoder naming what to install, any other refusal glr's ImageError (refused, copied)."""
    try:
        return Image.open(io.BytesIO(data), formats=_open_formats())  # as glr: Pillow's other formats are refused
    except UnidentifiedImageError as exc:  # an OSError, so caught before DECODE_ERRORS below
        if need := missing_decoder(path, data):
            raise MissingDecoder(need) from None
        raise refused(path, data, exc) from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning, *DECODE_ERRORS) as exc:
        raise refused(path, data, exc) or exc from None  # None: a tRNS chunk too short, which eval_view mends


def eval_view(path):
    """The photo as the model expects it: RGB, resized to resize_to (bilinear), the centre input_size crop."""
    data = photo_bytes(path)
    try:
        return decoded_view(path, data)
    except ValueError as exc:
        if str(exc) != SHORT_TRNS:
            raise
    # As glr: a tRNS too short for its colour type is ignored by libpng, and browsers show the photo.
    return decoded_view(path, _png_without(data, b"tRNS"))


def decoded_view(path, data):
    """eval_view's decode of `path`, its bytes `data` (as mended), after glr's checks on the file."""
    big, size = NOTE["resize_to"], NOTE["input_size"]
    with opened(path, data) as img:
        try:
            seek_photo(img)
        except DECODE_ERRORS as exc:
            raise refused(path, data, exc) or exc from None
        width, height = img.size
        refuse_large_icon(img, data, path, MAX_PIXELS)  # as glr (copied): a bomb inside an icon
        if width < 1 or height < 1:
            raise ImageError(f"{path}: image has no pixels ({width}x{height})")
        if img.format in ("JPEG", "MPO"):  # MPO: a JPEG holding more pictures (Ultra HDR, 3D cameras)
            draft = NOTE.get("jpeg_draft_to", big)
            img.draft("RGB", (draft, draft))  # as glr decodes: a faster JPEG decode near the final size
        # As glr (glr.data.decode_words' refuse_costly, copied): too many pixels or a JPEG's scans, a likely bomb.
        refuse_costly(img, (width, height), path, data, MAX_PIXELS, MAX_JPEG_PIXELS, MAX_JPEG_SCANS)
        # As glr (glr.data.orientation, glr.data.pixel_modes, glr.data.images, copied above): turned where Chromium turns
        # it, without rewriting its EXIF (a damaged block failed exif_transpose), then any mode to sRGB RGB by its
        # profile, gAMA/cHRM or cICP/nclx colours, resized before they apply.
        try:
            img.load()
            img = to_rgb(with_colour_code(upright(img), img, data), lambda rgb: rgb.resize((big, big), Image.Resampling.BILINEAR, reducing_gap=2.0))
        except (Image.DecompressionBombError, Image.DecompressionBombWarning, *DECODE_ERRORS) as exc:
            raise refused(path, data, exc) or exc from None  # glr's words, not Pillow's exception (copied)
        if big >= BLANK_MIN_SIDE and max(high - low for low, high in img.getextrema()) <= BLANK_RANGE:
            raise Blank(BLANK_MESSAGE)
    offset = (big - size) // 2
    array = np.asarray(img, dtype=np.float32)[offset:offset + size, offset:offset + size]
    return array[None]


def gone_link(link):
    """Why a link whose target is gone is skipped, in glr.paths.broken_link's words."""
    return f"a link to {os.readlink(link)}, " + (
        "which leads in a circle back to itself, so it cannot be read" if leads_in_a_circle(link) else
        "which is not there (moved, deleted, or on a drive not mounted?)")


def zip_listing(path):
    """(the photos inside the zip at `path`, as ZipPhoto, none of them read yet; the line that counts as not predicted
    when it gives none), as glr predict takes a zip: glr.data.uploads.zip_photos (copied above), its problems on stderr
    and the last, when no photo is inside, saying why. Nothing is extracted, so no name can place a file anywhere."""
    try:
        photos, problems = zip_photos(path, path)
    except OSError as exc:  # as glr predict: a zip that cannot be opened, in its system's words
        return [], [f"{path}: cannot be read ({exc.strerror or exc})"]
    last = [] if photos else problems[-1:]
    for problem in problems[:len(problems) - len(last)]:
        print(f"  {problem}", file=sys.stderr)
    return photos, last


class Blank(ValueError):
    """A photo of one flat colour: glr's Predictor gives no landmark for it, nor does this script."""


def without_unknown(paths):
    """`paths` without glr predict's `--unknown last|empty|keep` (and `--unknown=...`), said once to be ignored as glr
    predict says it where it means nothing: predict.py writes no submission, and an export without a verdict calls no
    photo unknown. Its value was "empty: file not found", the option "no such photo", and predict.py exited 1."""
    kept, said, rest = [], False, list(paths)
    while rest:
        given = rest.pop(0)
        value = given[10:] if given.startswith("--unknown=") else rest[0] if given == "--unknown" and rest else None
        if value is None or value.lower() not in UNKNOWN_POLICIES or os.path.lexists(given) or (
                given == "--unknown" and os.path.lexists(value)):  # a photo named so is a photo, as before
            kept.append(given)
            continue
        if given == "--unknown":
            rest.pop(0)
        if value.lower() != "last" and not said:  # as glr: the default, asked for or not, is nothing to say
            said = True
            print(f"note: --unknown {value.lower()} is ignored: " + (
                UNKNOWN_NO_VERDICT if VERDICT is None else
                "predict.py writes no submission; its --out CSV says of each photo whether it is called not a known "
                "landmark (not_a_known_landmark)"), file=sys.stderr)
    return kept


def photos_of(paths, own=frozenset()):
    """(the photos to predict, each once, as glr's predict takes them: each file as given, a pattern the shell left as
    typed (Windows' cmd) expanded and sorted, each folder's image files (one without an extension by its first bytes),
    recursively, sorted, and each zip's photos; the lines saying what was given but is no photo to predict). The files
    in `own` (own_outputs: this run's CSV and partial file, resolved) are not said to be skipped, as glr predict's."""
    photos, problems, folders, given_all = {}, [], set(), paths
    if given_all and not (paths := without_unknown(paths)):  # `predict.py --unknown empty`: as predict.py alone says
        return [], ["predict.py: no photos or folders given: python predict.py [--out FILE.csv] [--top-k N] "
                    "PHOTO_OR_FOLDER [...]"]
    for given in paths:
        if re.match(WEB_ADDRESS, given):  # as glr: a photo's address pasted, which Path would make "https:/..." of
            problems.append(f"{given}: is a web address, not a file on this computer; download the photo first")
            continue
        if given == "-" and not os.path.lexists(given):  # as glr: a photo piped in is not read
            problems.append(f"-: {STDIN_NOT_READ}")
            continue
        # Options are read before (options_of): a name like one is here only after "--", as --unknown's missing value,
        # or from main called directly. It said "predict.py takes no options but --out", untrue since --top-k.
        if given.startswith("-") and not os.path.lexists(given):
            problems.append(f"{given}: no such photo or folder; " + (
                f"glr predict's --unknown takes {', '.join(UNKNOWN_POLICIES[:-1])} or {UNKNOWN_POLICIES[-1]}, and "
                "predict.py ignores it" if given.partition("=")[0] == "--unknown" else
                "predict.py's options (--out FILE.csv, --top-k N) go before --, photos and folders after it"))
            continue
        given = os.path.expanduser(given)  # a quoted "~/trip"
        matched = [given]
        if not os.path.lexists(given) and re.search(r"[*?[]", given):
            matched = sorted(glob.glob(given))
            problems += [] if matched else [f"{given}: no file matches this pattern"]
        for path in map(Path, matched):
            if path.name.lower().endswith(".zip") and path.is_file():  # as glr predict: the photos inside, by its rules
                if os.path.abspath(path) in folders:
                    print(f"note: {path} was given twice: predicted once", file=sys.stderr)
                    continue
                folders.add(os.path.abspath(path))
                inside, said = zip_listing(str(path))
                problems += said
                photos.update((os.path.abspath(photo), photo) for photo in inside)
                continue
            if path.is_dir() and os.path.abspath(path) in folders:  # as glr: once, not a note for each of its photos
                print(f"note: {path} was given twice: predicted once", file=sys.stderr)
                continue
            folders.add(os.path.abspath(path))
            # A run's folder or an export's given: said once, where each of its files was listed as no photo. Photos put
            # beside predict.py in its export folder are still predicted, its own files passed over.
            mine = glr_folder(path) if path.is_dir() else None
            export = mine and all(os.path.isfile(os.path.join(path, mark)) for mark in EXPORT_MARKS)
            if mine and not export:
                problems.append(f"{path}: {mine}; give predict.py the photos, or a folder of them")
                continue
            listed, unlistable, made = [], [], []
            # As glr: one walk (links to folders not followed), and a folder it cannot look in said, where rglob was silent.
            for folder, subfolders, names in os.walk(path, onerror=unlistable.append) if path.is_dir() else ():
                if folder == os.fspath(path) and export:
                    names = [name for name in names if name not in EXPORT_FILES]
                    subfolders[:] = [name for name in subfolders if name not in EXPORT_FILES]  # a SavedModel's folder
                elif why := glr_folder(folder):  # as glr.submission.scan_folder: listed once, nothing in it read
                    made.append((Path(folder), why))
                    subfolders.clear()
                    continue
                listed += [Path(folder, name) for name in names]
            # As glr.submission.scan_folder: every other file and each broken link listed as skipped, saying why.
            in_system_folder = lambda f: any(map(is_system_folder, f.relative_to(path).parts))  # noqa: E731
            skipped = [(exc.filename, UNLISTABLE.format(exc.strerror or exc))
                       for exc in sorted(unlistable, key=lambda exc: Path(exc.filename)) if not in_system_folder(Path(exc.filename))]
            listed.sort()
            links = {f for f in listed if f.is_symlink() and not f.exists()}
            skipped += [(f, gone_link(f)) for f in sorted(links) if not in_system_folder(f.parent)]
            skipped += sorted(made)
            files = []
            for f in listed:
                if f in links or in_system_folder(f.parent) or is_system_file(f) or f.is_dir():
                    continue
                if not f.is_file():  # a pipe, socket or device, whatever its name: said, and never opened
                    if why := special_file(f):
                        skipped.append((f, why))
                elif f.suffix.lower() in IMAGE_EXTENSIONS:
                    files.append(f)
                elif not f.suffix and (start := photo_start(str(f))) is True:  # as glr.submission.scan_folder: `IMG_1`
                    files.append(f)
                elif not f.suffix:  # as glr.submission.scan_folder: one that cannot be read said so (no_extension, copied)
                    skipped.append((f, no_extension(f, start)))
                elif f.suffix.lower() == ".zip":  # as glr.submission.scan_folder: opened only when given on its own
                    skipped.append((f, ZIP_IN_FOLDER))
                else:
                    # As glr.submission.scan_folder: a raw, a sidecar, a video said by kind (one_reason, copied)
                    skipped.append((f, one_reason(f) or f"{f.suffix} is not an image type ({', '.join(IMAGE_EXTENSIONS)})"))
            _say_skipped([(str(f), why) for f, why in skipped if os.path.realpath(f) not in own])
            found = [str(path)] if not path.is_dir() else [str(f) for f in files]
            if not found:  # as glr: said, not an empty listing
                problems.append(f"{path}: {mine}; give predict.py the photos, or a folder of them" if mine else
                                f"{path}: no photos in this folder ({', '.join(IMAGE_EXTENSIONS)})")
            for photo in found:
                if os.path.abspath(photo) in photos:  # "a.jpg ./a.jpg", or a photo and its folder
                    print(f"note: {photo} was given twice: predicted once", file=sys.stderr)
                photos.setdefault(os.path.abspath(photo), photo)
    return list(photos.values()), problems
'''

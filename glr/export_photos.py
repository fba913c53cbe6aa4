"""The photo half of the exported predict.py (glr.export_script): which photos a path stands for and how each is read.

Python source, pasted into predict.py as it is (not a format template). It repeats glr's rules for a photo file
(glr.data.images, glr.submission) with only Pillow and numpy, and uses what predict.py defines before it: the
constants, the functions copied from glr with inspect.getsource, NOTE and ImageError.
"""

SOURCE = r'''def refuse_unless_photo(path):
    """As glr does before Pillow opens a file: ImageError for one that is no regular file (a pipe would block for
    ever), that cannot be read, that is known to be something else, or a PNG of too many chunks."""
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            raise ImageError(f"{path}: not a regular file")
        with open(path, "rb") as f:
            refuse_known_non_images(f.read(1024), path)  # it looks at no more than this
            f.seek(0)
            if f.read(4) == b"\x89PNG" and len(_png_chunks(f, MAX_PNG_CHUNKS + 1)) > MAX_PNG_CHUNKS:
                raise ImageError(f"{path}: {PNG_CHUNKS_MESSAGE}")
    except (FileNotFoundError, ImageError):
        raise
    except OSError as exc:  # a link that leads in a circle, a file without the right to read it
        raise ImageError(f"{path}: cannot be read ({exc.strerror or exc})") from None


def missing_decoder(path):
    """What to install to read `path`, a HEIC or AVIF photo Pillow could not open; None for any other file."""
    with open(path, "rb") as f:
        brands = _ftyp_brands(f.read(256))
    if not brands & HEIF_BRANDS:
        return None
    if brands & AVIF_BRANDS:
        return "an AVIF photo, and this Pillow cannot read AVIF: pip install --upgrade pillow (11.3 or later), or export it as JPEG"
    return "a HEIC photo (an iPhone's), and no HEIC decoder is installed: pip install pi-heif, or export it as JPEG"


class MissingDecoder(ValueError):
    """A photo in a format this Python has no decoder for (HEIC without pi-heif): said with what to install."""


def opened(path):
    """The photo opened by Pillow; a HEIC or AVIF it has no decoder for is a MissingDecoder naming what to install."""
    try:
        return Image.open(path)
    except UnidentifiedImageError:
        if os.path.getsize(path) == 0:  # as glr: a failed download or copy, which Pillow calls "cannot identify"
            raise ValueError("empty file (0 bytes)") from None
        if need := missing_decoder(path):
            raise MissingDecoder(need) from None
        raise


def jpeg_scans(data):
    """The scans of a JPEG's first picture, as glr counts them: its markers walked to its end, so a motion photo's
    video or an EXIF thumbnail after or inside it is not counted."""
    i, n, scans = 2, len(data), 0
    while (i := data.find(b"\xff", i)) != -1 and i + 1 < n:
        marker = data[i + 1]
        if marker in (0x00, 0x01, 0xFF) or 0xD0 <= marker <= 0xD8:
            i += 1 if marker == 0xFF else 2
            continue
        if marker == 0xD9:
            break
        scans += marker == 0xDA
        i += 2 + int.from_bytes(data[i + 2:i + 4], "big")
    return scans


def to_srgb(img, icc):
    """The photo in sRGB, as glr decodes it: its embedded colour profile (Display P3, Adobe RGB...) applied."""
    if not icc:
        return img
    try:
        from PIL import ImageCms

        profile = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        if "srgb" in ImageCms.getProfileDescription(profile).lower():
            return img
        return ImageCms.profileToProfile(img, profile, ImageCms.createProfile("sRGB"), outputMode="RGB")
    except Exception:  # an unreadable profile, or one that does not fit the photo: its pixels as they are
        return img


def eval_view(path):
    """The photo as the model expects it: RGB, resized to resize_to (bilinear), the centre input_size crop."""
    big, size = NOTE["resize_to"], NOTE["input_size"]
    refuse_unless_photo(path)
    with opened(path) as img:
        seek_photo(img)
        if img.format in ("JPEG", "MPO"):  # MPO: a JPEG holding more pictures (Ultra HDR, 3D cameras)
            draft = NOTE.get("jpeg_draft_to", big)
            img.draft("RGB", (draft, draft))  # as glr decodes: a faster JPEG decode near the final size
        if img.size[0] * img.size[1] > 90_000_000:  # as glr: a full decode this big is more likely a bomb than a photo
            raise ValueError(f"{img.size[0]}x{img.size[1]} pixels is too large to decode safely")
        # as glr: each scan of a progressive JPEG is decoded over the whole picture, and photos have a few dozen
        if img.format in ("JPEG", "MPO") and (scans := jpeg_scans(Path(path).read_bytes())) > 100:
            raise ValueError(f"a JPEG of {scans:,} scans is too slow to decode safely")
        img.load()
        img = ImageOps.exif_transpose(img)
        icc = img.info.get("icc_profile")
        if img.mode in ("RGBA", "LA", "PA", "P"):
            img = Image.alpha_composite(Image.new("RGBA", img.size, (255, 255, 255, 255)), img.convert("RGBA"))
        if img.mode in ("CMYK", "L"):  # converted from their own values, before resizing; RGB after, as glr does
            img, icc = to_srgb(img, icc), None
        if img.mode in ("I;16", "I;16B", "I;16L", "I", "F"):  # 16/32-bit grey: scaled to 0..255 as glr does, not clipped
            arr = np.nan_to_num(np.asarray(img, dtype=np.float64))
            top = 65535.0 if img.mode.startswith("I;16") or arr.max() > 255 else 255.0
            top = 1.0 if img.mode == "F" and arr.max() <= 1 else top  # floating-point images usually hold 0..1
            img = Image.fromarray(np.clip(arr / top * 255.0, 0, 255).astype(np.uint8))
        img = img.convert("RGB").resize((big, big), Image.Resampling.BILINEAR, reducing_gap=2.0)
        img = to_srgb(img, icc).convert("RGB")
        if big >= BLANK_MIN_SIDE and max(high - low for low, high in img.getextrema()) <= BLANK_RANGE:
            raise Blank(BLANK_MESSAGE)
    offset = (big - size) // 2
    array = np.asarray(img, dtype=np.float32)[offset:offset + size, offset:offset + size]
    return array[None]


class Blank(ValueError):
    """A photo of one flat colour: glr's Predictor gives no landmark for it, nor does this script."""


def photos_of(paths):
    """(the photos to predict, each once, as glr's predict takes them: each file as given, a pattern the shell left as
    typed (Windows' cmd) expanded and sorted, each folder's image files, recursively, sorted; the
    lines saying what was given but is no photo to predict)."""
    photos, problems, folders = {}, [], set()
    for given in paths:
        if re.match(WEB_ADDRESS, given):  # as glr: a photo's address pasted, which Path would make "https:/..." of
            problems.append(f"{given}: is a web address, not a file on this computer; download the photo first")
            continue
        if given == "-" and not os.path.lexists(given):  # as glr: a photo piped in is not read
            problems.append(f"-: {STDIN_NOT_READ}")
            continue
        if given.startswith("-") and not os.path.lexists(given):  # "--top-k": read as a photo, it was "file not found"
            problems.append(f"{given}: no such photo or folder; predict.py takes no options, only photos and folders")
            continue
        given = os.path.expanduser(given)  # a quoted "~/trip"
        matched = [given]
        if not os.path.lexists(given) and re.search(r"[*?[]", given):
            matched = sorted(glob.glob(given))
            problems += [] if matched else [f"{given}: no file matches this pattern"]
        for path in map(Path, matched):
            if path.is_dir() and os.path.abspath(path) in folders:  # as glr: once, not a note for each of its photos
                print(f"note: {path} was given twice: predicted once", file=sys.stderr)
                continue
            folders.add(os.path.abspath(path))
            listed, unlistable = [], []
            # As glr: one walk (links to folders not followed), and a folder it cannot look in said, where rglob was silent.
            for folder, _, names in os.walk(path, onerror=unlistable.append) if path.is_dir() else ():
                listed += [Path(folder, name) for name in names]
            hidden = lambda f: any(part.startswith(".") or part.lower() in SYSTEM_FOLDERS  # noqa: E731
                                   for part in f.relative_to(path).parts)
            listed = sorted(f for f in listed if not hidden(f))
            for exc in sorted(unlistable, key=lambda exc: exc.filename):
                if not hidden(Path(exc.filename)):
                    print(f"  skipped {exc.filename}: {UNLISTABLE.format(exc.strerror or exc)}", file=sys.stderr)
            files = [f for f in listed if f.suffix.lower() in IMAGE_EXTENSIONS]
            for link in (f for f in files if f.is_symlink() and not f.exists()):  # as glr: skipped, and said
                print(f"  skipped {link}: a link to {os.readlink(link)}, " + (
                      "which leads in a circle back to itself, so it cannot be read" if leads_in_a_circle(link) else
                      "which is not there (moved, deleted, or on a drive not mounted?)"), file=sys.stderr)
            for f in listed:  # as glr: a pipe, socket or device is said whatever its name, and never opened
                if not f.is_file() and not f.is_dir() and (why := special_file(f)):
                    print(f"  skipped {f}: {why}", file=sys.stderr)
            found = [str(path)] if not path.is_dir() else [str(f) for f in files if f.is_file()]
            if not found:  # as glr: said, not an empty listing
                problems.append(f"{path}: no photos in this folder ({', '.join(IMAGE_EXTENSIONS)})")
            for photo in found:
                if os.path.abspath(photo) in photos:  # "a.jpg ./a.jpg", or a photo and its folder
                    print(f"note: {photo} was given twice: predicted once", file=sys.stderr)
                photos.setdefault(os.path.abspath(photo), photo)
    return list(photos.values()), problems
'''

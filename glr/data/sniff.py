"""What a file is, from its first bytes: the image formats glr decodes, and what else people name `.jpg`.

`glr.data.images` asks before decoding: `refuse_known_non_images` raises `ImageError` naming a
PDF, an HTML page, an archive, a video, a JPEG XL, a PSD, a raw photo or plain text (a failed download's error message), where Pillow would only say "cannot identify
image file"; `looks_like` names the allowed format a file starts as, so one that then fails to
open is called a damaged copy of it rather than "not an image".
"""

from __future__ import annotations

from glr.errors import ImageError

SUPPORTED_TEXT = "JPEG, PNG, WebP, HEIC, AVIF, GIF, BMP, TIFF or ICO"
# A web address given where a file or folder goes (a photo's or a dataset's page pasted): glr reads only what is on
# this computer, and Path would turn "https://x" into "https:/x", a file not found.
WEB_ADDRESS = r"(?i)(?:https?|ftp)://"

# Files we recognise but do not decode, keyed by their magic bytes (compared without case),
# so the message can say what the file is instead of "cannot identify image file".
_KNOWN_NON_IMAGES = [
    (b"%pdf", "a PDF document"),
    (b"pk\x03\x04", "a zip archive"),
    (b"pk\x05\x06", "a zip archive"),  # an empty one
    (b"7z\xbc\xaf'\x1c", "a 7z archive"),
    (b"rar!\x1a\x07", "a RAR archive"),
    (b"<!doctype svg", "an SVG drawing"),  # before HTML's doctype: an SVG may open with its own
    (b"<!doctype", "an HTML page"),
    (b"<!--", "an HTML, SVG or XML document"),  # a leading comment (Inkscape's, an editor's): markup, not a message
    (b"<html", "an HTML page"),
    (b"<?xml", "an XML/SVG document"),
    (b"<svg", "an SVG drawing"),
    (b"%!ps", "a PostScript/EPS file"),
    (b"{", "a JSON or text file"),
]
# Magic bytes of the allowed formats: a file that starts like one but cannot be opened is a
# damaged or cut-short copy, which deserves a better message than "not an image".
_IMAGE_MAGIC = [
    (b"\xff\xd8\xff", "JPEG"),
    (b"\x89PNG\r\n\x1a\n", "PNG"),
    (b"GIF87a", "GIF"),
    (b"GIF89a", "GIF"),
    (b"BM", "BMP"),
    (b"II*\x00", "TIFF"),
    (b"MM\x00*", "TIFF"),
    (b"II+\x00", "TIFF"),  # BigTIFF, for files over 4 GB (microscopes, scanners, stitched panoramas)
    (b"MM\x00+", "TIFF"),
]
# Images in formats glr does not decode, by their exact magic bytes: saying which format it is
# tells the user what to convert, where "not an image" would leave them puzzled.
_OTHER_IMAGE_FORMATS = [
    (b"\x00\x00\x00\x0cjP  \r\n\x87\n", "JPEG 2000"),
    (b"\xffO\xffQ", "JPEG 2000"),  # a bare codestream (.j2k)
    (b"\x00\x00\x00\x0cJXL \r\n\x87\n", "JPEG XL"),
    (b"\xff\x0a", "JPEG XL"),  # a bare codestream
    (b"II\xbc", "JPEG XR"),
    (b"qoif", "QOI"),
    (b"8BPS", "Photoshop (PSD)"),
    # Raw photos (a camera's sensor data, undeveloped): what a person sees of one is what a raw developer makes of it.
    (b"II*\x00\x10\x00\x00\x00CR", "Canon RAW (CR2)"),
    (b"IIRO", "Olympus RAW (ORF)"),
    (b"IIRS", "Olympus RAW (ORF)"),
    (b"IIU\x00", "Panasonic RAW (RW2)"),
    (b"FUJIFILMCCD-RAW", "Fujifilm RAW (RAF)"),
]
# ISO base media files (ftyp box): HEIF/HEIC/AVIF photos, and MP4/MOV videos.
_HEIF_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1", b"avif", b"avis"}
_RAW_BRANDS = {b"crx ": "a Canon RAW (CR3) photo"}  # ISO base media too, with the video brand isom
_VIDEO_BRANDS = {b"isom", b"iso2", b"mp41", b"mp42", b"qt  ", b"M4V ", b"M4A ", b"3gp4", b"3gp5", b"avc1", b"dash"}


def _ftyp_brands(data: bytes) -> set[bytes]:
    """The major and compatible brands of an ISO base media file's leading `ftyp` box (empty if none)."""
    if data[4:8] != b"ftyp":
        return set()
    size = int.from_bytes(data[:4], "big")
    box = data[8:min(max(size, 16), 256, len(data))]  # major brand, minor version, compatible brands
    return {box[0:4]} | {box[i:i + 4] for i in range(8, len(box) - 3, 4)}


# Stand-ins that version control and file sync leave where a photo should be, with what to do to get it.
_PLACEHOLDERS = [
    (b"version https://git-lfs", "a Git LFS pointer, not the photo (the repository was cloned without its LFS "
                                 "files); run `git lfs pull` in it"),
    (b"/annex/objects/", "a git-annex link whose photo is not here; run `git annex get` on it"),
]


def refuse_known_non_images(data: bytes, name: str) -> None:
    """Raise a specific message for files we recognise but cannot decode."""
    head = data[:64].removeprefix(b"\xef\xbb\xbf").lstrip(b" \t\r\n\x00").lower()  # also after a UTF-8 BOM
    for magic, what in _PLACEHOLDERS:
        if magic in data[:200] and len(data) < 1024:
            raise ImageError(f"{name}: {what}")
    for magic, what in _KNOWN_NON_IMAGES:
        if head.startswith(magic) and what.endswith(" archive"):  # given where a photo goes: its photos are inside
            raise ImageError(f"{name}: not an image but {what}: {'unzip' if 'zip' in what else 'unpack'} it first, "
                             f"and give the photos inside (glr reads {SUPPORTED_TEXT})")
        if head.startswith(magic):
            raise ImageError(f"{name}: not an image, it looks like {what}; use {SUPPORTED_TEXT}")
    # A DNG is a TIFF whose first directory holds the tag DNGVersion (50706); Pillow would read its small preview or fail.
    # A Nikon NEF, Sony ARW or Pentax PEF has no magic of its own either: a TIFF whose first directory names the
    # camera's maker (Make, 271) and holds the sensor's data (photometric CFA, 32803; the maker's own compression,
    # 34713 Nikon, 32767 Sony, 65535 Pentax) or points to it (SubIFDs, 330) behind a small preview. A camera's own
    # TIFF (Nikons can save one) has neither, and decodes.
    order = {b"II*\x00": "little", b"MM\x00*": "big"}.get(data[:4])
    if order and (at := int.from_bytes(data[4:8], order)) + 2 <= len(data):
        entries = data[at + 2:at + 2 + 12 * int.from_bytes(data[at:at + 2], order)]
        tags = {int.from_bytes(entries[i:i + 2], order): entries[i + 2:i + 12] for i in range(0, len(entries) - 1, 12)}
        if 50706 in tags:
            raise ImageError(f"{name}: an Adobe DNG raw photo, a format glr cannot read; export it as JPEG first "
                             f"(glr reads {SUPPORTED_TEXT})")
        values = {tag: int.from_bytes(entry[6:8] if entry[:2] == (3).to_bytes(2, order) else entry[6:10], order)
                  for tag, entry in tags.items() if len(entry) == 10}  # SHORT or LONG values (an offset for the rest)
        count = int.from_bytes(tags.get(271, b"")[2:6], order)
        make = (tags[271][6:6 + count] if count <= 4 else data[values[271]:values[271] + min(count, 64)]) \
            if 271 in values else b""
        makers = {b"NIKON": "Nikon RAW (NEF)", b"SONY": "Sony RAW (ARW)", b"PENTAX": "Pentax RAW (PEF)",
                  b"RICOH": "Pentax RAW (PEF)"}  # Ricoh makes Pentax's cameras, and writes its name in their PEFs
        maker = next((raw for key, raw in makers.items() if make.upper().startswith(key)), None)
        if maker and (330 in values or values.get(262) == 32803 or values.get(259) in (34713, 32767, 65535)):
            raise ImageError(f"{name}: a {maker} photo, a format glr cannot read; export it as JPEG first "
                             f"(glr reads {SUPPORTED_TEXT})")
    for magic, what in _OTHER_IMAGE_FORMATS:
        if data.startswith(magic) and "RAW" in what:
            article = "an" if what[0] in "AEIOU" else "a"
            raise ImageError(f"{name}: {article} {what} photo, a format glr cannot read; export it as JPEG first "
                             f"(glr reads {SUPPORTED_TEXT})")
        if data.startswith(magic):
            raise ImageError(f"{name}: a {what} image, a format glr cannot read; save it again as JPEG or PNG "
                             f"(glr reads {SUPPORTED_TEXT})")
    brands = _ftyp_brands(data)
    raw = next((_RAW_BRANDS[b] for b in brands if b in _RAW_BRANDS), None)
    if raw:
        raise ImageError(f"{name}: {raw}, a format glr cannot read; export it as JPEG first (glr reads {SUPPORTED_TEXT})")
    if brands & _VIDEO_BRANDS and not brands & _HEIF_BRANDS:
        raise ImageError(f"{name}: not an image, it looks like a video (MP4/MOV); use a photo ({SUPPORTED_TEXT})")
    if (line := _text_start(data)) is not None and looks_like(data) is None:
        # A server's "403 Forbidden" or "Access Denied" saved under the photo's name by a download script.
        raise ImageError(f"{name}: not an image but text, beginning {line!r} (an error message saved by a download "
                         f"that failed?); download the photo again (glr reads {SUPPORTED_TEXT})")


def _text_start(data: bytes, sample: int = 512) -> str | None:
    """The first non-blank line (cut to 60 characters) when `data` starts as plain UTF-8 text, else None.

    Every image format starts with binary bytes (a NUL, a byte over 0x7F, a control character) within its
    first few dozen bytes, so a sample that is all printable text is no image.
    """
    head = data[:sample].removeprefix(b"\xef\xbb\xbf")
    for cut in range(4):  # a character split at the sample's end is no sign of binary data
        try:
            text = head[:len(head) - cut].decode("utf-8")
            break
        except UnicodeDecodeError:
            continue
    else:
        return None
    if not text.strip() or not all(c.isprintable() or c in "\t\r\n\f" for c in text):
        return None
    return next(line.strip() for line in text.splitlines() if line.strip())[:60]


def looks_like(data: bytes) -> str | None:
    """The allowed format whose magic bytes start `data` (WebP: RIFF....WEBP; HEIC/AVIF: their ftyp brands), or None."""
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WebP"
    brands = _ftyp_brands(data)
    if brands & _HEIF_BRANDS:
        return "AVIF" if brands & {b"avif", b"avis"} else "HEIC"
    return next((fmt for magic, fmt in _IMAGE_MAGIC if data.startswith(magic)), None)


def jpeg_scans(data: bytes) -> int:
    """The scans (SOS segments) of a JPEG's first picture, its markers walked from its start to its end (EOI).

    Counting every FF DA in the file would also count bytes that are no scan: a phone's motion photo
    carries a video after the picture, an EXIF block a thumbnail, and a few MB of either hold a hundred.
    """
    import re  # here, so that predict.py's copy of this function needs nothing beside it

    # The next marker: FF then a byte that is not a stuffed 00, a fill FF, TEM (01) or RSTn/SOI (D0-D8), none of which
    # has a length. Found by the regex engine: walked in Python over the few hundred stuffed FF 00 in a 640x480 photo's
    # 0.1 MB, the count took 0.15 ms a photo (0.08 ms now), holding the GIL that the decoding threads share.
    next_marker = re.compile(rb"\xff[^\x00\x01\xff\xd0-\xd8]").search
    i, scans = 2, 0
    while (found := next_marker(data, i)) is not None:
        i = found.start()
        if data[i + 1] == 0xD9:  # the picture's end: what follows is not its own
            break
        scans += data[i + 1] == 0xDA
        # A segment's length covers its header; a scan's coded bytes come after it, searched to the next marker.
        i += 2 + int.from_bytes(data[i + 2:i + 4], "big")
    return scans

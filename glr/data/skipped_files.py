"""The files in class folders that are not photos glr reads, said by what they are.

A camera's raw photos and Photoshop documents are photos glr cannot read (export them as JPEG, in sniff.py's
words), an SVG is a drawing, a Live Photo's video is no photo, and the .xmp and .aae files a photo app writes beside
each photo it exports are its edits and metadata: each kind named once with a count and a few examples, the rest
lumped as "not images".
"""

from __future__ import annotations

from pathlib import Path

from glr.data.sniff import SUPPORTED_TEXT

# Nikon, Sony, Pentax, Canon (two), Adobe, Olympus, Panasonic, Fujifilm: the raws sniff.py names by their bytes.
CAMERA_RAWS = (".nef", ".arw", ".pef", ".cr2", ".cr3", ".dng", ".orf", ".rw2", ".raf")
# Lightroom's and darktable's .xmp, Apple Photos' .aae: a photo's edits and metadata, written beside it.
SIDECARS = (".xmp", ".aae")
_KINDS = [  # (suffixes, one of them, many of them, what to do)
    (CAMERA_RAWS, "camera raw photo", "camera raw photos",
     f"a format glr cannot read; skipped: export {{them}} as JPEG first (glr reads {SUPPORTED_TEXT})"),
    ((".psd", ".psb"), "Photoshop document", "Photoshop documents",
     f"a format glr cannot read; skipped: export {{them}} as JPEG first (glr reads {SUPPORTED_TEXT})"),
    ((".svg", ".svgz"), "SVG drawing", "SVG drawings", "a drawing, not a photo; skipped"),
    ((".mov", ".mp4", ".m4v"), "video", "videos",
     "{not_photos} (a Live Photo is exported as a photo and its video: the photo is read); skipped"),
    (SIDECARS, "sidecar file", "sidecar files",
     "a photo app's edits and metadata, written beside its photos (the photos are read); passed over"),
]


def skipped_notes(skipped: list[Path], root: Path, examples, printable) -> list[str]:
    """One note per kind of the `skipped` files (under `root`), in _KINDS' order, then one for all the others."""
    notes, rest = [], list(skipped)
    for suffixes, one, many, then in _KINDS:
        these = [p for p in rest if p.suffix.lower() in suffixes]
        if not these:
            continue
        rest = [p for p in rest if p.suffix.lower() not in suffixes]
        n = len(these)
        notes.append(f"{n:,} {one if n == 1 else many} in class folders "
                     f"(e.g. {examples(printable(p.relative_to(root)) for p in these)}): "
                     + then.format(them="it" if n == 1 else "them", not_photos="not a photo" if n == 1 else "not photos"))
    if rest:
        notes.append(f"{len(rest):,} {'file' if len(rest) == 1 else 'files'} in class folders "
                     f"{'is not an image' if len(rest) == 1 else 'are not images'} "
                     f"(e.g. {examples(printable(p.relative_to(root)) for p in rest)}); skipped")
    return notes

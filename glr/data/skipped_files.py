"""The files that are not photos glr reads, said by what they are: in class folders, a zip, a folder to predict.

A camera's raw photos and Photoshop documents are photos glr cannot read (export them as JPEG, in sniff.py's
words), an SVG is a drawing, a Live Photo's video is no photo, and the .xmp and .aae files a photo app writes beside
each photo it exports are its edits and metadata: each kind named once with a count and a few examples, the rest
lumped as "not images". One rule for training, glr predict, the Predict page and the exported predict.py (which
copies kind_notes and one_reason with _KINDS).
"""

from __future__ import annotations

import os
from pathlib import Path

from glr.data.sniff import SUPPORTED_TEXT

# Nikon, Sony, Pentax, Canon (two), Adobe, Olympus, Panasonic, Fujifilm: the raws sniff.py names by their bytes.
CAMERA_RAWS = (".nef", ".arw", ".pef", ".cr2", ".cr3", ".dng", ".orf", ".rw2", ".raf")
# Lightroom's and darktable's .xmp, Apple Photos' .aae: a photo's edits and metadata, written beside it.
SIDECARS = (".xmp", ".aae")
_KINDS = [  # (suffixes, its article, one of them, many of them, what to do)
    (CAMERA_RAWS, "a", "camera raw photo", "camera raw photos",
     f"a format glr cannot read; skipped: export {{them}} as JPEG first (glr reads {SUPPORTED_TEXT})"),
    ((".psd", ".psb"), "a", "Photoshop document", "Photoshop documents",
     f"a format glr cannot read; skipped: export {{them}} as JPEG first (glr reads {SUPPORTED_TEXT})"),
    ((".svg", ".svgz"), "an", "SVG drawing", "SVG drawings", "a drawing, not a photo; skipped"),
    ((".mov", ".mp4", ".m4v"), "a", "video", "videos",
     "{not_photos} (a Live Photo is exported as a photo and its video: the photo is read); skipped"),
    (SIDECARS, "a", "sidecar file", "sidecar files",
     "a photo app's edits and metadata, written beside its photos (the photos are read); passed over"),
]


def one_reason(name) -> str | None:
    """Why the one file `name` is skipped, said by its kind ("a camera raw photo: ..."); None for a file of no kind."""
    suffix = os.path.splitext(name)[1].lower()
    for suffixes, article, one, _, then in _KINDS:
        if suffix in suffixes:
            return f"{article} {one}: " + then.format(them="it", not_photos="not a photo")
    return None


def kind_notes(names: list, examples, shown=str, where: str = "") -> tuple[list[str], list]:
    """(one note per kind of the skipped files `names`, in _KINDS' order: a count, `where` (" in class folders"),
    a few of them as `examples` says `shown` names; the names of no kind, in their order). 500 photos' .xmp and
    .aae sidecars are two notes, not 1,000 lines."""
    notes, rest = [], list(names)
    for suffixes, _, one, many, then in _KINDS:
        these = [n for n in rest if os.path.splitext(n)[1].lower() in suffixes]
        if not these:
            continue
        rest = [n for n in rest if os.path.splitext(n)[1].lower() not in suffixes]
        n = len(these)
        notes.append(f"{n:,} {one if n == 1 else many}{where} (e.g. {examples(shown(name) for name in these)}): "
                     + then.format(them="it" if n == 1 else "them", not_photos="not a photo" if n == 1 else "not photos"))
    return notes, rest


def skipped_notes(skipped: list[Path], root: Path, examples, printable) -> list[str]:
    """One note per kind of the `skipped` files (under `root`), in _KINDS' order, then one for all the others."""
    notes, rest = kind_notes([p.relative_to(root) for p in skipped], examples, printable, " in class folders")
    if rest:
        notes.append(f"{len(rest):,} {'file' if len(rest) == 1 else 'files'} in class folders "
                     f"{'is not an image' if len(rest) == 1 else 'are not images'} "
                     f"(e.g. {examples(printable(p) for p in rest)}); skipped")
    return notes

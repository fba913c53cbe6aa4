"""The user cache folder (glr.paths.cache_dir): what each part holds, its size, what is stale, and clearing it.

Everything glr caches can be made again, at a cost: features take minutes, the converted
weights seconds. Features made by an older version (other decode rules: their folder names
end otherwise, glr.data.decode_rules.decode_tag) are never read again, so they are
"stale" and `python -m glr cache --prune` removes them; `--clear` removes every part but
the converted weights and the list of recent datasets.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

# The folders' names and the words from modules that import nothing: listing the cache needs no numpy, pandas or PIL.
from glr.cache_subdirs import DISTRACTORS_SUBDIR, DISTRACTORS_VERSION, EXTRACTORS_SUBDIR, FEATURES_SUBDIR, HASHES_SUBDIR
from glr.errors import GlrError
from glr.paths import cache_dir
from glr.words import plural

# The parts glr writes, by sub-folder. `clear` leaves the weights: converting them again is the slow first run.
PARTS = {
    "weights": "ImageNet weights converted from their PyTorch checkpoints",
    EXTRACTORS_SUBDIR: "feature extractors exported to ONNX Runtime",
    "onnx": "runs' models exported to ONNX Runtime for prediction",
    FEATURES_SUBDIR: "features of photos, by backbone",
    HASHES_SUBDIR: "perceptual hashes of photos (the near-copy check)",
    "thumbnails": "the app's thumbnails of photos",
    DISTRACTORS_SUBDIR: "photos with no landmark (the unknown verdict's calibration)",
}
KEPT_BY_CLEAR = ("weights",)


@dataclass
class CachePart:
    """One folder of the cache: its size on disk and whether this version still reads it."""

    path: Path
    what: str
    bytes: int
    files: int
    stale: bool = False


def _size(path: Path) -> tuple[int, int]:
    """(bytes, files) under `path`; files that vanish while it is walked are passed over."""
    total = count = 0
    for folder, _dirs, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(folder, name)).st_size
                count += 1
            except OSError:
                pass
    return total, count


def _stale_folders(root: Path) -> list[tuple[Path, str]]:
    """(folder, why) for what older versions left: feature views under other decode rules, old distractor sets."""
    stale = []
    views = [view for key in sorted(p for p in (root / FEATURES_SUBDIR).glob("*") if p.is_dir())
             for view in sorted(p for p in key.iterdir() if p.is_dir())]
    if views:
        from glr.data.decode_rules import decode_tag  # the rules' values without glr.data.images' PIL and numpy

        tag = decode_tag()
        stale += [(view, "features made under older decode rules") for view in views if not view.name.endswith(tag)]
    sets = (root / DISTRACTORS_SUBDIR).glob("v*")
    stale += [(old, "an older set of distractor photos") for old in sorted(sets)
              if old.is_dir() and old.name != f"v{DISTRACTORS_VERSION}"]
    return stale


def cache_parts(root: str | os.PathLike | None = None) -> list[CachePart]:
    """Every part of the cache folder that exists: the stale folders apart, then each part's current content."""
    root = Path(root) if root else cache_dir()
    stale = _stale_folders(root)
    stale_bytes: dict[str, tuple[int, int]] = {}
    parts = []
    for folder, why in stale:
        size, files = _size(folder)
        parts.append(CachePart(folder, why, size, files, stale=True))
        top = folder.relative_to(root).parts[0]
        held = stale_bytes.get(top, (0, 0))
        stale_bytes[top] = (held[0] + size, held[1] + files)
    for name, what in PARTS.items():
        if (root / name).is_dir():
            size, files = _size(root / name)
            minus = stale_bytes.get(name, (0, 0))
            parts.append(CachePart(root / name, what, size - minus[0], files - minus[1]))
    return parts


def prune_stale(root: str | os.PathLike | None = None) -> list[CachePart]:
    """Remove the stale folders; returns what was removed (GlrError when a folder cannot be removed)."""
    return _remove([part for part in cache_parts(root) if part.stale])


def _remove(parts: list[CachePart]) -> list[CachePart]:
    """Remove the parts' folders; returns those removed. GlrError naming the first that stays (a read-only mount,
    no permission): "removed" was printed for folders that were all still there."""
    left = []
    for part in parts:
        errors: list[BaseException] = []
        shutil.rmtree(part.path, onerror=lambda _func, _path, info: errors.append(info[1]))
        if part.path.exists():
            left.append((part, errors[0] if errors else None))
    if left:
        part, exc = left[0]
        why = getattr(exc, "strerror", None) or exc or "it is still there"
        done, kept = len(parts) - len(left), "left as it was" if len(left) == 1 else "left as they were"
        raise GlrError(f"{part.path}: cannot be removed ({why}); " + (
            f"{plural(done, 'folder')} removed, {len(left)} {kept}" if done else
            f"nothing was removed ({plural(len(left), 'folder')} {kept})"))
    return parts


def clear_cache(root: str | os.PathLike | None = None, results: str | os.PathLike | None = None) -> list[CachePart]:
    """Remove every part but KEPT_BY_CLEAR; returns what was removed.

    Refused (GlrError) while a run of the `results` folder (default glr.paths.results_dir) trains:
    it reads and writes features as it goes.
    """
    from glr.paths import results_dir
    from glr.training.launch import read_lock

    lock = read_lock(results or results_dir())
    if lock:
        raise GlrError(f"run {lock.get('run_id')} is training and uses the cache; clear it once the run ends "
                       "(--prune is safe now)")
    return _remove([part for part in cache_parts(root) if part.stale or part.path.name not in KEPT_BY_CLEAR])


def size_text(size: int) -> str:
    """Bytes as a short human size: 0 B, 912 KB, 1.1 GB."""
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("KB", 1e3)):
        if size >= scale:
            return f"{size / scale:.1f} {unit}" if size < 10 * scale else f"{size / scale:.0f} {unit}"
    return f"{size} B"


def describe(parts: list[CachePart], root: str | os.PathLike | None = None) -> str:
    """The cache as a table for the terminal: one line per part, stale folders marked, and the totals."""
    root = Path(root) if root else cache_dir()
    if not parts:
        return f"{root}: empty (nothing cached yet)"
    lines = [f"{root}:"]
    for part in parts:
        mark = "stale  " if part.stale else ""
        lines.append(f"  {size_text(part.bytes):>8}  {plural(part.files, 'file'):>13}  "
                     f"{mark}{part.path.relative_to(root)}: {part.what}")
    stale = sum(p.bytes for p in parts if p.stale)
    lines.append(f"  {size_text(sum(p.bytes for p in parts)):>8}  in all; {size_text(stale)} stale "
                 "(`python -m glr cache --prune` removes it)" if stale else
                 f"  {size_text(sum(p.bytes for p in parts)):>8}  in all; nothing stale")
    return "\n".join(lines)

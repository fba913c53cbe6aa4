"""What the feature cache has to say in this process: vectors it could not keep, damaged ones it made again.

Said once per cache root in the log (glr.backbones.feature_cache), and given by `notes` to the trainer, which
puts them in the run's status: the app and `glr runs` show that, not the log.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from glr import unwritable

_not_kept: dict[Path, str] = {}  # cache roots found unwritable in this process, and the note said
_damaged: dict[Path, list[Path]] = {}  # cached files that held NaN or inf, computed again, per cache root
log = logging.getLogger("glr.backbones.feature_cache")
_said = threading.Lock()  # the cache's files are written in threads (feature_cache._save_all): said once all the same


def not_kept(root: Path) -> bool:
    """Whether the cache under `root` stopped storing in this process."""
    return Path(root) in _not_kept


def stop_storing(root: Path, exc: BaseException) -> None:
    """Keep nothing more under `root` in this process, and say so once (the log; the trainer's status via `notes`)."""
    root = Path(root)
    with _said:
        if root in _not_kept:
            return
        # The storage error's advice (free space, the old file is kept) is for a run's files; here it misleads.
        _not_kept[root] = note = (f"features are computed and not kept: the feature cache {root} cannot be written "
                                  f"({unwritable.why(exc)}); set GLR_CACHE_DIR to a writable folder to keep them")
    log.warning("%s", note)


def damaged(root: Path, path: Path) -> None:
    """Remember a cached file that held NaN or inf (it is computed again); the first is said in the log."""
    found = _damaged.setdefault(Path(root), [])
    if not found:
        log.warning("%s", _damaged_note(found + [path]))
    found.append(path)


def _damaged_note(found: list[Path]) -> str:
    many = f"{len(found)} cached feature files" if len(found) > 1 else "a cached feature file"
    return f"{many} held NaN or inf (damaged; e.g. {found[0]}): computed again"


def notes(root: Path | None) -> list[str]:
    """What the cache under `root` had to say in this process, for the run's status."""
    if root is None:
        return []
    root = Path(root)
    return [note for note in (_not_kept.get(root), _damaged.get(root) and _damaged_note(_damaged[root])) if note]

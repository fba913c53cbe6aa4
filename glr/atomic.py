"""Atomic file writes: write a temp file in the same folder, then `os.replace` it into place.

A crash, a SIGKILL or a full disk therefore leaves either the old file or the new one,
never half of one. Every file in a run folder is written through here.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any, Callable


def write_with(path: str | os.PathLike, writer: Callable[[str], None], suffix: str = "") -> Path:
    """Call `writer(tmp_path)` to produce the file, then move it onto `path` atomically.

    On any failure the temp file is removed and `path` keeps its old content.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix or ".tmp", dir=path.parent)
    os.close(fd)
    os.chmod(tmp, 0o644)  # mkstemp makes 0600; run files are meant to be read by the app and others
    try:
        writer(tmp)
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())  # the data must be on disk before the rename publishes it
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Atomically write bytes."""
    return write_with(path, lambda tmp: Path(tmp).write_bytes(data))


def write_text(path: str | os.PathLike, text: str) -> Path:
    """Atomically write UTF-8 text."""
    return write_bytes(path, text.encode("utf-8"))


def write_json(path: str | os.PathLike, obj: Any) -> Path:
    """Atomically write `obj` as indented JSON."""
    return write_text(path, json.dumps(obj, indent=2, ensure_ascii=False, default=str) + "\n")


def write_csv(path: str | os.PathLike, df) -> Path:
    """Atomically write a pandas DataFrame as CSV, without its index."""
    return write_text(path, df.to_csv(index=False))


def read_json(path: str | os.PathLike) -> Any:
    """Read a JSON file (raises OSError / ValueError as json does)."""
    return json.loads(Path(path).read_text(encoding="utf-8"))

"""The test session's temp folders (converted weights, demo data): made with their owner, swept once it is gone.

pytest_unconfigure deletes a session's folders, but a session killed (SIGKILL, a CI timeout, a closed
terminal) never gets there, and each leaves about 300 MB in the temp folder. Every folder carries
the pid and start time of the pytest that made it, so the next session removes the ones whose
owner is no longer running: never a live session's, which may be a second checkout's suite.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import psutil

OWNER_FILE = ".glr-test-owner.json"


def make(prefix: str) -> str:
    """A new temp folder named `prefix`..., recording this process as its owner."""
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    (folder / OWNER_FILE).write_text(json.dumps({"pid": os.getpid(), "start": _started(os.getpid())}))
    return str(folder)


def _started(pid: int) -> float | None:
    """When process `pid` started (epoch seconds), None if it is gone."""
    try:
        return psutil.Process(pid).create_time()
    except psutil.Error:
        return None


def _owner_gone(folder: Path) -> bool:
    try:
        owner = json.loads((folder / OWNER_FILE).read_text())
        started = _started(int(owner["pid"]))
        # A start more than 2 s off is another process given the same pid (glr.training.processes' rule, kept
        # here without glr: the probe sessions of tests/test_conftest.py run this conftest on its own).
        return started is None or abs(started - float(owner["start"])) > 2.0
    except (OSError, ValueError, KeyError, TypeError):
        return False  # no owner recorded (a folder made before owners were, or not glr's): left alone


def sweep_stale(prefixes: tuple[str, ...], root: str | None = None) -> list[str]:
    """Remove the folders under `root` (the temp folder) named with one of `prefixes` whose owner is gone."""
    removed = []
    for folder in Path(root or tempfile.gettempdir()).glob("glr-test-*"):
        if folder.is_dir() and not folder.is_symlink() and folder.name.startswith(prefixes) and _owner_gone(folder):
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(str(folder))
    return removed

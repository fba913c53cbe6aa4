"""The test session's temp folders (converted weights, demo data): named for their owner, swept once it is gone.

pytest_unconfigure deletes a session's folders, but a session killed (SIGKILL, a CI timeout, a closed
terminal) never gets there, and each leaves about 300 MB in the temp folder. Every folder's name holds
the pid and start time of the pytest that made it, so the next session removes the ones whose owner is
no longer running: never a live session's, which may be a second checkout's suite. The owner is in the
name, not in a file inside: glr writes the demo dataset into its folder, and refuses one holding other files.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from pathlib import Path

import psutil

_OWNER = re.compile(r"(\d+)-(\d+)-")  # after the prefix: the owner's pid and start (whole seconds), then mkdtemp's


def _started(pid: int) -> float | None:
    """When process `pid` started (epoch seconds), None if it is gone."""
    try:
        return psutil.Process(pid).create_time()
    except psutil.Error:
        return None


def make(prefix: str) -> str:
    """A new temp folder named `prefix`<pid>-<start>-..., naming this process as its owner."""
    pid = os.getpid()
    return tempfile.mkdtemp(prefix=f"{prefix}{pid}-{int(_started(pid) or 0)}-")


def _owner_gone(name: str, prefix: str) -> bool:
    owner = _OWNER.match(name[len(prefix):])
    if owner is None:
        return False  # not named for an owner (made before owners were, or not glr's): left alone
    started = _started(int(owner[1]))
    # A start more than 2 s off is another process given the same pid (glr.training.processes' rule, kept here
    # without glr: the probe sessions of tests/test_conftest.py run this conftest on its own).
    return started is None or abs(int(started) - int(owner[2])) > 2


def sweep_stale(prefixes: tuple[str, ...], root: str | None = None) -> list[str]:
    """Remove the folders under `root` (the temp folder) named with one of `prefixes` whose owner is gone."""
    removed = []
    for folder in sorted(Path(root or tempfile.gettempdir()).glob("glr-test-*")):
        prefix = next((p for p in prefixes if folder.name.startswith(p)), None)
        if prefix and folder.is_dir() and not folder.is_symlink() and _owner_gone(folder.name, prefix):
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(str(folder))
    return removed

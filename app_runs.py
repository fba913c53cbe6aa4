"""The runs of the results folder as the pages list them, read from disk once per change, not on every rerun.

glr.training.run_table.list_runs reads every run's status, configuration, history and scores: about
2.5 ms a run, so half a second or more per page draw with 200 runs, on every click of every session.
Here its table is cached under a stamp of the files it reads, which costs a few stats a run
(runs_stamp); a run that trains, or claims to, is read again at least every POLL_SECONDS, because
its trainer dying changes its state without changing a file.

Not a page: it lives beside app.py, not in pages/ (Streamlit makes a page of every .py there).
"""

from __future__ import annotations

import hashlib
import os
import time

import streamlit as st

from glr.training import run_table
from glr.training.run import runs_dir
from glr.training.status import ACTIVE_STATES

POLL_SECONDS = 2.0  # as app_common.POLL_SECONDS: how stale an active run's state may be
# What list_runs (and a page's choice of runs) reads in a run folder, beside the folder itself.
READ_FILES = ("status.json", "config.json", "history.csv", "metrics.json", "name.txt", "model.keras",
              "checkpoints/state.json", "checkpoints/last.keras")


def _stat(path: str) -> tuple | None:
    try:
        info = os.stat(path)
    except OSError:  # absent, a broken link, or gone meanwhile: part of the stamp as such
        return None
    # The inode too: a file replaced atomically within one clock tick keeps its time and may keep its size.
    return info.st_mtime_ns, info.st_size, info.st_ino


def runs_stamp(results: str | os.PathLike) -> str:
    """A digest that changes whenever a run appears, goes, or has a file the run list reads rewritten.

    One short string: Streamlit hashing the tuple of 1,800 stats behind it took longer than the stats.
    """
    root = runs_dir(results)
    try:
        with os.scandir(root) as entries:
            names = sorted(e.name for e in entries if not e.name.startswith("."))
    except OSError as exc:  # no runs folder yet, or one that cannot be listed (list_runs says why)
        return f"{root} {type(exc).__name__}"
    stats = [(str(root), _stat(str(root)))]
    for name in names:
        folder = os.path.join(root, name)
        stats.append((name, os.path.islink(folder), _stat(folder), *(_stat(os.path.join(folder, f)) for f in READ_FILES)))
    return hashlib.sha1(repr(stats).encode("utf-8", "surrogateescape")).hexdigest()


@st.cache_data(max_entries=8, show_spinner=False)
def _run_list(results: str, stamp: str, tick: int):
    return run_table.list_runs(results)


def run_list(results: str | os.PathLike):
    """run_table.list_runs(results) (a DataFrame, newest first), read again only when a run's files change.

    The rows of runs that train (queued, running, stopping) are read again every POLL_SECONDS as well:
    their state also depends on whether their trainer still lives.
    """
    stamp = runs_stamp(results)
    table = _run_list(str(results), stamp, 0)
    if table["state"].isin(ACTIVE_STATES).any():
        table = _run_list(str(results), stamp, int(time.monotonic() // POLL_SECONDS))
    return table

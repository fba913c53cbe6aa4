"""Training processes as seen from outside: is one alive, is it still the same process, signal it.

A pid alone cannot tell a live trainer from a later process that was given its number, so
every pid glr records goes with the process's start time (`process_start`). psutil reads
both the same way on Linux, macOS and Windows.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from typing import Any

import psutil

# Trainers this process started. Polling them reaps finished children; without that a dead
# child stays a zombie, which still has a pid.
_children: dict[int, subprocess.Popen] = {}
_children_lock = threading.Lock()
_IMPORTED_AT = time.time()


def track(proc: subprocess.Popen) -> None:
    """Remember a trainer this process started, so that `pid_alive` reaps it once it ends."""
    with _children_lock:
        _children[proc.pid] = proc


def _reap() -> None:
    with _children_lock:
        for pid, proc in list(_children.items()):
            if proc.poll() is not None:
                del _children[pid]


def process_start(pid: int) -> float | None:
    """When process `pid` started (epoch seconds), to tell it from a later process reusing its pid; None if gone."""
    try:
        return psutil.Process(int(pid)).create_time()
    except (psutil.Error, ValueError):
        return None


def process_started_at() -> float:
    """When this process started (epoch seconds); where unknown, when this module was imported."""
    return process_start(os.getpid()) or _IMPORTED_AT


def pid_alive(pid: Any, start: Any = None) -> bool:
    """Whether process `pid` runs; if `start` is given, also that it is the same process, not a reuse of its pid."""
    try:
        pid = int(pid)
    except (TypeError, ValueError):
        return False
    if pid <= 0:
        return False
    _reap()
    try:
        proc = psutil.Process(pid)
        try:
            if proc.status() in (psutil.STATUS_ZOMBIE, psutil.STATUS_DEAD):
                return False  # finished; only waiting for a parent (not us) to reap it
        except psutil.AccessDenied:
            pass  # another user's process: its start time may still be readable
        return start is None or proc.create_time() == start
    except psutil.NoSuchProcess:  # also a zombie on macOS
        return False
    except psutil.AccessDenied:
        return True  # it exists, and nothing more can be known


def signal_process(pid: int, sig: int) -> None:
    """Send `sig` to the trainer's whole process group when it leads one (launch makes it so), else to it alone."""
    try:
        if hasattr(os, "killpg") and pid != os.getpid() and os.getpgid(pid) == pid:
            os.killpg(pid, sig)
        else:
            os.kill(pid, sig)
    except ProcessLookupError:
        pass


KILL = getattr(signal, "SIGKILL", signal.SIGTERM)  # Windows has no SIGKILL; its SIGTERM already ends a process


# A launched training yields the CPU to the app that started it: on a shared laptop, pages
# stay responsive while it trains (the training itself slows a little only when both compete).
TRAINER_NICENESS = 10


def lower_priority(pid: int) -> bool:
    """Run process `pid` (and the workers it starts, which inherit it) at a lower CPU priority; False if it can't."""
    try:
        proc = psutil.Process(pid)
        proc.nice(psutil.BELOW_NORMAL_PRIORITY_CLASS if os.name == "nt" else TRAINER_NICENESS)
        return True
    except (psutil.Error, OSError):
        return False

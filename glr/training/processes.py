"""Training processes as seen from outside: is one alive, is it still the same process, signal it.

A pid alone cannot tell a live trainer from a later process that was given its number, so
every pid glr records goes with the process's start time (`process_start`). psutil reads
both the same way on Linux, macOS and Windows.
"""

from __future__ import annotations

import atexit
import gc
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import datetime
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


def _reap(ending: int | None = None) -> None:
    """Forget (and wait for) the trainers this process started that have ended; `ending`: one seen ending, whose
    exit is waited for a moment, as a killed process's other threads end after it shows as a zombie."""
    with _children_lock:
        for pid, proc in list(_children.items()):
            try:
                ended = proc.wait(timeout=1) if pid == ending else proc.poll()
            except subprocess.TimeoutExpired:
                ended = None
            if ended is not None:
                del _children[pid]


def process_start(pid: int) -> float | None:
    """When process `pid` started (epoch seconds), to tell it from a later process reusing its pid; None if gone."""
    try:
        return psutil.Process(int(pid)).create_time()
    except (psutil.Error, ValueError):
        return None


def boot_time() -> float | None:
    """The boot time as psutil reads it now (epoch seconds): it moves with the wall clock, as start times do."""
    try:
        return psutil.boot_time()
    except (psutil.Error, OSError, RuntimeError):
        return None


def process_started_at() -> float:
    """When this process started (epoch seconds); where unknown, when this module was imported."""
    return process_start(os.getpid()) or _IMPORTED_AT


# How far a process's start time may read from the one recorded and still be that process. psutil gives it as the
# boot time (whole seconds in Linux's /proc/stat) plus the start's ticks since boot: the boot time moves by a second
# when the wall clock is set again (a laptop waking from sleep, NTP), so an exact match took a live training for
# dead. A pid reused by another process within 2 s of the first one's start needs millions of processes in between.
START_SLACK = 2.0


def same_start(read: float, recorded: Any) -> bool:
    """Whether a process's start time `read` now is the `recorded` one, within START_SLACK."""
    try:
        return abs(read - float(recorded)) <= START_SLACK
    except (TypeError, ValueError):
        return False


def pid_alive(pid: Any, start: Any = None, written: Any = None, booted: Any = None) -> bool:
    """Whether process `pid` runs; if `start` is given, also that it is the same process, not a reuse of its pid.

    `written`: when the record naming `pid` was written (ISO time). A record without `start`
    (made by glr before it kept start times) then counts only a process started before it.
    `booted`: `boot_time()` when `start` was read. Given, the two are compared as time since boot, which no
    setting of the wall clock moves (psutil's start times move with it: NTP stepping the clock by a minute
    took a live training for dead, its lock free to a second one).
    """
    try:
        pid = int(pid)
    except (TypeError, ValueError):
        return False
    if start is None and written is not None:
        start = _started_before(pid, written)
    if pid <= 0:
        return False
    _reap()
    try:
        proc = psutil.Process(pid)
        try:
            if proc.status() in (psutil.STATUS_ZOMBIE, psutil.STATUS_DEAD):
                _reap(pid)  # ours and killed: its threads may still be ending (Linux shows the leader a zombie first)
                return False  # finished; only waiting for a parent (not us) to reap it
        except psutil.AccessDenied:
            pass  # another user's process: its start time may still be readable
        if start is None:
            return True
        now_booted = boot_time() if booted is not None else None
        if now_booted is not None:
            try:
                return same_start(proc.create_time() - now_booted, float(start) - float(booted))
            except (TypeError, ValueError):
                pass  # a `booted` edited by hand: the start alone, as before
        return same_start(proc.create_time(), start)
    except psutil.NoSuchProcess:  # also a zombie on macOS
        return False
    except psutil.AccessDenied:
        return True  # it exists, and nothing more can be known


def process_paused(pid: Any) -> bool:
    """Whether process `pid` is stopped (SIGSTOP, Ctrl-Z): alive, but doing nothing until continued."""
    try:
        return psutil.Process(int(pid)).status() == psutil.STATUS_STOPPED
    except (psutil.Error, TypeError, ValueError):
        return False


def descends_from(pid: Any, ancestor: int) -> bool:
    """Whether process `pid` is a child (or a child's child...) of process `ancestor`."""
    try:
        return any(parent.pid == ancestor for parent in psutil.Process(int(pid)).parents())
    except (psutil.Error, TypeError, ValueError):
        return False


def _started_before(pid: int, written: Any) -> float | None:
    """The start time of process `pid` if it started before `written` (to the second); else one no process has."""
    try:
        moment = datetime.fromisoformat(str(written)).timestamp()
    except ValueError:
        return None  # nothing to compare with: the pid alone, as before
    start = process_start(pid)
    return start if start is not None and start < moment + 1 else -1.0  # +1: `written` is cut to the second


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


def _no_last_collection() -> None:
    gc.disable()
    gc.freeze()  # the interpreter's last collection leaves the permanent generation alone


_exit_quickly = False


def exit_quickly() -> None:
    """Have this process skip the interpreter's last garbage collection when it exits (once set, for good).

    After TensorFlow's import that collection walks every object TensorFlow and Keras made, for
    2-10 s after the process's last line ran (measured: 2.3 s for the import alone, 6-9.5 s for a
    `--workers 2` chief), while its run is "stopped" or "finished" and its launcher still waits
    for it. Skipping it changes nothing that lasts: exit handlers, the flushing of output and
    every object freed by its reference count still run, and the system frees the rest.
    """
    global _exit_quickly
    if not _exit_quickly:
        _exit_quickly = True
        atexit.register(_no_last_collection)


# A launched training yields the CPU to the app that started it: on a shared laptop, pages
# stay responsive while it trains (the training itself slows a little only when both compete).
TRAINER_NICENESS = 10


def lower_priority(pid: int) -> bool:
    """Run process `pid` (and the workers it starts, which inherit it) at a lower CPU priority; False if it can't."""
    try:
        proc = psutil.Process(pid)
        # Below the launcher's own priority, not at a fixed level: an app already started under `nice` (or as root,
        # which may raise priority) would otherwise get a trainer as urgent as itself, or more.
        proc.nice(psutil.BELOW_NORMAL_PRIORITY_CLASS if os.name == "nt"
                  else min(19, os.getpriority(os.PRIO_PROCESS, 0) + TRAINER_NICENESS))
        return True
    except (psutil.Error, OSError):
        return False


# --- a run's processes, and local workers that end with their launcher -----------------------


def run_processes(status: dict) -> list[tuple[int, float]]:
    """(pid, start) of every live process of a run: its trainer (the chief), the `--workers N` launcher,
    its local workers, and their children. Each recorded pid counts only with its start time (and the boot time read
    beside it, so a clock set since does not hide it)."""
    pairs = [(status.get("pid"), status.get("pid_start"), status.get("booted")),
             (status.get("launcher_pid"), status.get("launcher_start"), status.get("launcher_booted"))]
    pairs += [(pid, start, status.get("worker_booted"))
              for pid, start in zip(status.get("worker_pids") or [], status.get("worker_starts") or [])]
    found: dict[int, float] = {}
    for pid, start, booted in pairs:
        if start is None or not pid_alive(pid, start, booted=booted):
            continue
        try:
            proc = psutil.Process(int(pid))
            found[proc.pid] = proc.create_time()  # read now, as pid_alive reads it when these are killed (moments on)
            for child in proc.children(recursive=True):
                found[child.pid] = child.create_time()
        except psutil.Error:
            pass
    return list(found.items())


def kill_processes(pairs: list[tuple[int, float]]) -> None:
    """SIGKILL each (pid, start) that is still that process."""
    for pid, start in pairs:
        if pid_alive(pid, start) and pid != os.getpid():
            try:
                psutil.Process(pid).kill()
            except psutil.Error:
                pass


def any_alive(pairs: list[tuple[int, float]]) -> bool:
    """Whether any (pid, start) still runs (a zombie does not)."""
    return any(pid_alive(pid, start) for pid, start in pairs)


PR_SET_PDEATHSIG = 1  # linux/prctl.h
LAUNCHER_ENV = "GLR_LAUNCHER_PID"  # a local worker's launcher: the worker ends itself when it is no longer its parent
LAUNCHER_START_ENV = "GLR_LAUNCHER_START"  # and its start time, to tell it from a later process given its pid


def launcher_env() -> dict[str, str]:
    """The environment that names this process as a local worker's launcher (its pid and start time)."""
    return {LAUNCHER_ENV: str(os.getpid()), LAUNCHER_START_ENV: repr(process_started_at())}


def die_with_parent(parent: int, start: float | None = None) -> bool:
    """Have the kernel SIGKILL this process when its parent `parent` dies (Linux); False where it cannot.

    Called by the child itself, first thing (before TensorFlow's import), never as Popen's
    `preexec_fn`: code run between fork and exec may deadlock in a process with threads (the
    app's server, TensorFlow). A launcher killed with SIGKILL runs no cleanup: its local workers,
    waiting in a collective, would run on for ever. If `parent` (of start time `start`) is no
    longer our parent, it died before the kernel was asked, no signal will come: exit at once.
    The kernel signals when the parent's thread that started us ends, so a launcher starts
    its workers from the thread that outlives them.
    """
    if not sys.platform.startswith("linux"):
        return False
    import ctypes

    try:
        asked = ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, int(KILL)) == 0
    except (OSError, AttributeError):
        asked = False
    if not _still_parent(parent, start):
        os._exit(1)
    return asked


# Windows never re-parents an orphan: getppid keeps a dead launcher's pid, which a later process may be given, so
# there its start time tells. Elsewhere getppid alone is exact, and a start time read again later can move with the
# wall clock (psutil adds the boot time, which a clock step shifts): a live launcher would look gone, ending its workers.
ORPHANS_KEEP_PARENT_PID = os.name == "nt"


def _still_parent(parent: int, start: float | None) -> bool:
    return os.getppid() == parent and (start is None or not ORPHANS_KEEP_PARENT_PID or pid_alive(parent, start))


def _recorded_start(parent: int) -> float | None:
    """`parent`'s start time as the launcher recorded it in our environment, else as read now (None if unreadable)."""
    if os.environ.get(LAUNCHER_ENV) == str(parent):
        try:
            return float(os.environ[LAUNCHER_START_ENV])
        except (KeyError, ValueError):
            pass
    return process_start(parent)


def exit_with_parent(parent: int, start: float | None = None, interval: float = 0.5,
                     kernel: bool = True) -> threading.Thread:
    """End this process at once when `parent` is no longer our parent, killed or not; call it first thing.

    With `kernel`, the kernel kills us when it dies (`die_with_parent`, Linux); a daemon thread
    also watches, every `interval` seconds, the portable fallback. `start` is the parent's start
    time: by default the one the launcher recorded (LAUNCHER_START_ENV), read in the parent itself
    before we existed, so a pid reused since it died is never taken for it.
    """
    start = _recorded_start(parent) if start is None else start  # None (access denied): getppid alone then
    if kernel:
        die_with_parent(parent, start)

    def watch() -> None:
        while _still_parent(parent, start):
            time.sleep(interval)
        os._exit(1)

    thread = threading.Thread(target=watch, daemon=True, name="exit-with-parent")
    thread.start()
    return thread

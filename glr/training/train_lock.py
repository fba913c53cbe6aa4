"""The one-training lock of a results folder: `<results>/train.lock` names the training that runs there.

A lock whose process is dead (or whose pid now belongs to another process) is stale and taken
over. So is a lock copied from another results folder (`rsync results/ backup/` while a training
ran): it names the original's live trainer, which writes only into the original, so the copy is
free to train. The lock records its folder's inode, and glr.training.folder_identity (the one
owner of that rule, as for a copied run folder) tells the copy from the original.

A results folder on a shared drive may be trained into from two machines. A lock written in another
pid space (another machine, or another container: glr.training.machine) names a process this machine
cannot look at (its pid here is some other process, or none). Its trainer touches it every BEAT_SECONDS
(a thread, so a slow batch or a long save does not silence it): it is held while touched in the last
BEAT_STALE seconds, so a training that died there (or in a container since restarted) frees the folder
in two minutes, and one still running there is never taken over. A lock of an older glr, which does not
beat, is held while its run's status or the lock was written in the last `OTHER_HOST_QUIET` seconds.
"""

from __future__ import annotations

import json
import os
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from filelock import FileLock, Timeout

from glr.atomic import read_json, write_json
from glr.paths import file_in_the_way
from glr.training.folder_identity import FIELD, copied_from, folder_identity
from glr.training.machine import (BEAT_FIELD, BEAT_SECONDS, BEAT_STALE, died_with_a_boot, here, same_pid_space,
                                  silent_for)
from glr.training.processes import descends_from, pid_alive, process_start
from glr.training.run import Run, RunError, runs_dir
from glr.training.status import now

LOCK_NAME = "train.lock"
LOCK_GUARD = ".train.lock.guard"  # held while anyone reads or changes train.lock
GUARD_READ_SECONDS = 2.0  # how long a reader waits for the guard before reading without it
GUARD_WRITE_SECONDS = 30.0  # how long a change of train.lock waits for it before it is refused
OTHER_HOST_QUIET = 30 * 60.0  # seconds without a word from an older glr's training elsewhere before its lock is stale


def _busy(lock: dict) -> RunError:
    """The error of a start refused because the training holding `lock` is running."""
    if host := _other_host(lock):
        after = (f"{BEAT_STALE / 60:.0f} minutes after its trainer last touched it" if lock.get(BEAT_FIELD) else
                 f"{OTHER_HOST_QUIET / 60:.0f} minutes after the run last said anything")
        return RunError(f"another training is running: {lock.get('run_id')} (pid {lock.get('pid')} on {host}, "
                        f"another computer or container); stop it there first. If it no longer runs, its lock is free "
                        f"{after} (or delete {LOCK_NAME} in the results folder)")
    return RunError(f"another training is running: {lock.get('run_id')} (pid {lock.get('pid')}); stop it first")


def _other_host(lock: dict) -> str | None:
    """The host name of the pid space that wrote `lock`, when that is not this one (None for this one)."""
    if same_pid_space(lock):
        return None
    host = lock.get("host")
    return host if isinstance(host, str) and host else "another host"


def _heard_from_lately(lock: dict, results_dir) -> bool:
    """Whether another pid space's training still speaks: its lock beat in the last BEAT_STALE s, or (an older glr's
    lock, which does not beat) its run's status or the lock was written in the last OTHER_HOST_QUIET s."""
    paths = [_lock_path(results_dir)]
    if died_with_a_boot(lock, paths, Path(results_dir) / LOCK_GUARD):
        return False  # this machine's own lock from before its last boot: its trainer died with that boot
    if lock.get(BEAT_FIELD):
        return silent_for(paths, Path(results_dir) / LOCK_GUARD) < BEAT_STALE
    run_id = lock.get("run_id")
    if isinstance(run_id, str) and run_id and "/" not in run_id:
        paths.append(runs_dir(results_dir) / run_id / "status.json")
    return silent_for(paths, Path(results_dir) / LOCK_GUARD) < OTHER_HOST_QUIET


def _lock_path(results_dir: str | os.PathLike) -> Path:
    return Path(results_dir) / LOCK_NAME


def _guard(results_dir: str | os.PathLike) -> FileLock:
    # Every look at or change of train.lock happens under this lock, so "is it stale?
    # remove it, take it" is one step: two callers can never both clean up and both win.
    # The operating system drops it if its holder dies.
    if blocker := file_in_the_way(results_dir):  # else FileExistsError or NotADirectoryError from mkdir
        raise RunError(f"the results folder {results_dir} cannot be made: {blocker} is a file, not a folder")
    try:
        Path(results_dir).mkdir(parents=True, exist_ok=True)
    except OSError as exc:  # read-only, permission denied
        raise RunError(f"the results folder {results_dir} cannot be made: {exc.strerror}") from None
    return FileLock(Path(results_dir) / LOCK_GUARD, poll_interval=0.002, preserve_lock_file=True)


@contextmanager
def _guarded(results_dir, reading: bool = False) -> Iterator[None]:
    """Hold the guard while looking at (`reading`) or changing train.lock.

    A results folder that cannot be written (a read-only file system, no permission) takes no
    guard. Reading goes on without it: no training can change train.lock there either, and the
    pages that show a shared read-only results folder must not fail. Changing it is a RunError.
    """
    guard = _guard(results_dir)
    try:
        guard.acquire(timeout=GUARD_READ_SECONDS if reading else GUARD_WRITE_SECONDS)
    except Timeout:  # its holder does not let go: a process paused (Ctrl-Z, SIGSTOP) in the milliseconds it holds it
        if not reading:
            raise RunError(f"the training lock of the results folder {results_dir} is held by another process that has "
                           f"not let go for {GUARD_WRITE_SECONDS:.0f} s: a training paused (Ctrl-Z, SIGSTOP) as it "
                           "wrote it? Continue it (`fg`, `kill -CONT PID`) and try again") from None
        yield  # reading needs no guard: train.lock is replaced whole
        return
    except OSError as exc:
        if not reading:
            raise RunError(f"the results folder {results_dir} cannot be written ({exc.strerror or exc}): a training "
                           "writes its run there; choose a writable results folder (GLR_RESULTS, or --results)") from None
        yield
        return
    try:
        yield
    finally:
        guard.release()


def _read_lock_unguarded(results_dir) -> dict | None:
    try:
        lock = read_json(_lock_path(results_dir))
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        return {}  # unreadable: nobody can be shown to hold it, so it counts as stale
    return lock if isinstance(lock, dict) else {}


def _held(lock: dict, results_dir: str | os.PathLike) -> bool:
    """Whether the process a lock names still holds it (not a later process given its pid), in this folder.

    A lock copied here from another results folder names that folder's trainer: it holds the original, not this.
    """
    if copied_from(results_dir, lock.get(FIELD)):
        return False
    if _other_host(lock):  # its pid is another machine's: what it wrote lately is all there is to go by
        return _heard_from_lately(lock, results_dir)
    return pid_alive(lock.get("pid"), lock.get("pid_start"), lock.get("created"), lock.get("booted"))


def read_lock(results_dir: str | os.PathLike) -> dict | None:
    """The training lock ({pid, pid_start, run_id, created, folder}), or None if no training holds one here."""
    with _guarded(results_dir, reading=True):
        lock = _read_lock_unguarded(results_dir)
    return lock if lock and _held(lock, results_dir) else None


def _write_lock(results_dir, run_id: str, pid: int, exclusive: bool, pid_start: float | None = None) -> None:
    data = {"pid": pid, "pid_start": pid_start or process_start(pid), "run_id": run_id, "created": now(),
            **here(), BEAT_FIELD: BEAT_SECONDS, FIELD: folder_identity(results_dir)}
    if not exclusive:
        write_json(_lock_path(results_dir), data)
        return
    fd = os.open(_lock_path(results_dir), os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)  # FileExistsError if held
    with os.fdopen(fd, "w") as fh:
        fh.write(json.dumps(data, indent=2) + "\n")


def acquire_lock(results_dir: str | os.PathLike, run_id: str, pid: int | None = None) -> None:
    """Take `<results>/train.lock` for `run_id` (held by `pid`, default this process).

    A stale lock (its process dead, or copied from another folder) is removed first. If a live training holds it:
    RunError.
    """
    with _guarded(results_dir):
        # A file named runs: Start said "could not start the trainer (python): [Errno 17] File exists: '.../runs'".
        if blocker := file_in_the_way(runs_dir(results_dir)):
            raise RunError(f"no run can be saved in {results_dir}: {blocker} is a file, not the folder glr keeps "
                           "its runs in; move it away")
        lock = _read_lock_unguarded(results_dir)
        if lock is not None:
            if lock and _held(lock, results_dir):
                raise _busy(lock)
            try:
                _lock_path(results_dir).unlink(missing_ok=True)  # stale: its training died without cleaning up
            except OSError as exc:  # a folder made under its name: was an IsADirectoryError traceback on Start
                what = "is a folder, not glr's lock file" if _lock_path(results_dir).is_dir() else "cannot be removed"
                raise RunError(f"{_lock_path(results_dir)} {what} ({exc.strerror or exc}); remove it, then start "
                               "again") from None
        try:
            _write_lock(results_dir, run_id, pid or os.getpid(), exclusive=True)
        except FileExistsError:  # only a process ignoring the guard gets here
            raise RunError(f"another training is starting in {results_dir}; try again") from None


def release_lock(results_dir: str | os.PathLike, run_id: str, pids=None) -> bool:
    """Remove the training lock if it names `run_id` (and, given `pids`, is held by one of them, a child of theirs or
    a process now dead: not the run resumed by another process since); True if it did.

    A results folder gone (renamed while it trained: `mv results old`) is not made again, empty, to look in.
    """
    if not Path(results_dir).is_dir():
        return False
    with _guarded(results_dir):
        lock = _read_lock_unguarded(results_dir)
        if lock and lock.get("run_id") == run_id and (pids is None or _ours(lock, frozenset(pids))):
            _lock_path(results_dir).unlink(missing_ok=True)
            return True
    return False


def _set_lock_pid(results_dir, run_id: str, pid: int, pid_start: float | None) -> None:
    """Point the lock at the trainer's pid, if the lock is still this run's."""
    with _guarded(results_dir):
        lock = _read_lock_unguarded(results_dir)
        if lock and lock.get("run_id") == run_id:
            _write_lock(results_dir, run_id, pid, exclusive=False, pid_start=pid_start)


@contextmanager
def training_lock(results_dir: str | os.PathLike, run_id: str) -> Iterator[None]:
    """For the trainer: hold the lock for `run_id` while training, release it on exit.

    If the launcher already took the lock for this run (it names `run_id` and our parent,
    ourselves, or a dead pid), adopt it; otherwise acquire it (RunError if another holds it).
    """
    me = os.getpid()
    with _guarded(results_dir):
        lock = _read_lock_unguarded(results_dir)
        adopt = bool(lock) and lock.get("run_id") == run_id and (
            lock.get("pid") in (me, os.getppid()) or not _held(lock, results_dir)
        )
        if adopt:
            _write_lock(results_dir, run_id, me, exclusive=False)
    if not adopt:
        acquire_lock(results_dir, run_id, me)
    stop = threading.Event()
    beat = keep_beating(results_dir, run_id, (me,), stop, on_lost=lambda lock: _yield_to(results_dir, run_id, lock))
    try:
        yield
    finally:
        stop.set()
        beat.join()
        release_lock(results_dir, run_id, (me,))


def keep_beating(results_dir, run_id: str, pids, stop: threading.Event, alive=lambda: True,
                 on_lost=None, paused=lambda: False) -> threading.Thread:
    """Start a thread touching the lock every BEAT_SECONDS while it names `run_id` held by one of `pids`, until
    `stop` is set or `alive()` is false: how another pid space sees the training live.

    The trainer beats from its training_lock on; its launcher (glr.training.launch) beats from the moment it takes
    the lock until its trainer ends, so the seconds to a minute a trainer takes to start (Python's start, the
    dataset checked, the demo generated) on a loaded machine are never silent.
    With `on_lost` (the trainer's beat), a lock found deleted is taken again, and one found naming another run, or
    this run held by a process not ours (resumed elsewhere while we were paused), is given to `on_lost`, and beats
    end. No beat while `paused()` (the launcher's trainer stopped with SIGSTOP or Ctrl-Z): the trainer is silent then,
    so another pid space may resume its run after BEAT_STALE, as it may a trainer paused with no launcher alive.
    """
    beat = threading.Thread(target=_beat, args=(results_dir, run_id, frozenset(pids), stop, alive, on_lost, paused),
                            name="glr-lock-beat", daemon=True)
    beat.start()
    return beat


def _beat(results_dir, run_id: str, pids: frozenset, stop: threading.Event, alive, on_lost, paused) -> None:
    """keep_beating's thread."""
    while not stop.wait(BEAT_SECONDS) and alive():
        if not Path(results_dir).is_dir() or paused():
            continue  # renamed or deleted: the guard would make it again, empty, under its old name
        taken = None
        try:
            with _guarded(results_dir):
                lock = _read_lock_unguarded(results_dir)
                if lock and lock.get("run_id") == run_id and lock.get("pid") in pids:
                    os.utime(_lock_path(results_dir))
                elif on_lost and lock is None:  # deleted by hand while we train: a second training must not start
                    _write_lock(results_dir, run_id, min(pids), exclusive=False)
                elif on_lost and lock and (lock.get("run_id") != run_id or not _ours(lock, pids)):
                    taken = lock
                # else: ours but adopted by our own chief (--workers N), or unreadable for a moment
        except (OSError, RunError):
            pass  # a share gone for a moment: the next beat tries again, and the training goes on
        if taken is not None:
            on_lost(taken)
            return


def _ours(lock: dict, pids: frozenset) -> bool:
    """Whether a lock naming our run is held by us, by our own chief (a child of ours that adopted it: --workers N) or
    by a process now dead (our chief killed: the launcher says how the run ended), not by a live process that resumed
    the run elsewhere (another pid space) or here while we were paused."""
    if not lock:
        return True
    if not same_pid_space(lock):
        return False
    pid = lock.get("pid")
    return pid in pids or any(descends_from(pid, mine) for mine in pids) or not pid_alive(pid, lock.get("pid_start"),
                                                                            booted=lock.get("booted"))


LOST_MESSAGE = ("stopped: training {other} ({host}) has taken the results folder from this one (silent for over "
                "{minutes:.0f} minutes while paused or its computer asleep, or its train.lock deleted); it stopped so "
                "that the two do not train there at once. Resume it once that one has ended")


def _yield_to(results_dir, run_id: str, lock: dict) -> None:
    """The trainer found its lock taken by another training (while it was paused, another pid space judged it
    stale): stop at its next batch, resumable, rather than train beside that one. Taken by its own run, resumed
    there: end at once, writing nothing more into the run, which is that trainer's now (`_leave_run`)."""
    host = lock.get("host") if isinstance(lock.get("host"), str) else "another computer"
    if lock.get("run_id") == run_id:
        _leave_run(results_dir, run_id, lock, host)
    reason = LOST_MESSAGE.format(minutes=BEAT_STALE / 60, other=lock.get("run_id"), host=host)
    try:
        Run(runs_dir(results_dir) / run_id).request_stop(reason)
    except OSError:
        pass  # cannot be written: the run goes on, as it did before it could tell


RESUMED_ELSEWHERE_EXIT = 75  # EX_TEMPFAIL: this trainer ended because its run trains in another process
RESUMED_ELSEWHERE_MESSAGE = ("this trainer (pid {me}) was silent for over {minutes:.0f} minutes (paused, or its computer "
                             "asleep) and its run was resumed meanwhile by pid {pid} on {host}: it ends now, writing "
                             "nothing more, so that one run is not trained by two processes")


def _leave_run(results_dir, run_id: str, lock: dict, host: str) -> None:
    """End this process at once: its run trains in another process now (resumed while this one was paused). A stop
    request would stop that one too (the flag is the run's), and a checkpoint saved here would undo its progress."""
    text = RESUMED_ELSEWHERE_MESSAGE.format(me=os.getpid(), pid=lock.get("pid"), host=host, minutes=BEAT_STALE / 60)
    try:
        with open(Run(runs_dir(results_dir) / run_id).log_path, "a", encoding="utf-8") as log:  # appended to only
            log.write(f"[{now()}] {text}\n")
    except OSError:
        pass
    from glr.training.trainer_signals import say

    say(text)
    os._exit(RESUMED_ELSEWHERE_EXIT)

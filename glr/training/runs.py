"""Run folders and training processes: create, read, list, launch, stop, resume, delete.

A run lives in `<results>/runs/<run_id>/` and the folder is the whole truth about it (see
docs: "The run folder is the contract"). The app and the CLI never talk to a trainer; they
read `status.json` and `history.csv`, and ask it to stop with a `STOP` flag file.

Training runs as its own process, in its own session, so closing the browser or restarting
the app leaves it alone. One training per results folder: `<results>/train.lock` names it.

This module is read on every app rerun, so it imports nothing heavy: pandas is imported
inside the two functions that build tables, and TensorFlow never.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any, Iterator

from glr.atomic import read_json, write_json, write_text
from glr.errors import GlrError
from glr.paths import PROJECT_ROOT

RUNS_SUBDIR = "runs"
LOCK_NAME = "train.lock"
LOCK_GUARD = ".train.lock.guard"  # flock'ed while anyone reads or changes train.lock
STATUS_GUARD = ".status.lock"  # flock'ed around each read-merge-write of status.json

STATES = ("queued", "running", "stopping", "stopped", "failed", "finished", "damaged")
ACTIVE_STATES = frozenset({"queued", "running", "stopping"})  # a process is (or may soon be) at work
FINAL_STATES = frozenset({"stopped", "failed", "finished"})
STATUS_FIELDS = (
    "state", "run_id", "pid", "pid_start", "phase", "epoch", "epochs", "step", "steps",
    "created", "started", "updated", "finished", "message", "traceback",
)
HISTORY_COLUMNS = ["phase", "epoch", "loss", "accuracy", "val_loss", "val_accuracy", "val_top5", "lr", "seconds"]
LIST_COLUMNS = ["run_id", "state", "created", "backbone", "epochs_done", "best_val_accuracy", "message"]

DIED_MESSAGE = "the training process ended without saying so (killed?)"
POLL_SECONDS = 0.05
PROGRESS_SECONDS = 0.5  # report_progress writes status.json at most this often
KILL_WAIT_SECONDS = 5.0  # after SIGKILL, how long to wait for the process to vanish

TRAINER_ARGV = [sys.executable, "-m", "glr", "train"]


class RunError(GlrError):
    """A run folder cannot be read, or a run cannot be started, stopped or deleted."""


def _now() -> str:
    """Local time with its UTC offset, to the second: readable and sortable within one machine."""
    return datetime.now().astimezone().isoformat(timespec="seconds")


# --- processes ------------------------------------------------------------------------------

# Trainers this process started. Polling them reaps finished children; without that a dead
# child stays a zombie, and a zombie's pid still answers os.kill(pid, 0) as if alive.
_children: dict[int, subprocess.Popen] = {}
_children_lock = threading.Lock()


def _reap() -> None:
    with _children_lock:
        for pid, proc in list(_children.items()):
            if proc.poll() is not None:
                del _children[pid]


def _proc_stat(pid: int) -> tuple[str, int] | None:
    """(state letter, start time in clock ticks since boot) from /proc, or None where unavailable."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may hold spaces and parentheses: split after the last ')'.
    fields = text[text.rfind(")") + 2 :].split()
    try:
        return fields[0], int(fields[19])  # fields 3 and 22 of proc(5)
    except (IndexError, ValueError):
        return None


def process_start(pid: int) -> int | None:
    """The start time of process `pid` (clock ticks since boot), to tell it from a later process reusing its pid."""
    stat = _proc_stat(pid)
    return stat[1] if stat else None


_IMPORTED_AT = time.time()


def _process_started_at() -> float:
    """When this process started (epoch seconds), from /proc; where unavailable, when this module was imported."""
    try:
        ticks = process_start(os.getpid())
        boot = next(int(line.split()[1]) for line in Path("/proc/stat").read_text().splitlines() if line.startswith("btime "))
        return boot + ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, StopIteration, TypeError, ValueError):
        return _IMPORTED_AT


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
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # it exists, it just belongs to another user
    stat = _proc_stat(pid)
    if stat is None:
        return True  # no /proc (macOS): os.kill is all we can know
    state, started = stat
    if state in ("Z", "X"):
        return False  # finished; only waiting for a parent (not us) to reap it
    return start is None or started == start


def _signal(pid: int, sig: int) -> None:
    """Send `sig` to the trainer's whole process group when it leads one (launch makes it so), else to it alone."""
    try:
        if pid != os.getpid() and os.getpgid(pid) == pid:
            os.killpg(pid, sig)
        else:
            os.kill(pid, sig)
    except ProcessLookupError:
        pass


@contextmanager
def _flock(path: Path) -> Iterator[None]:
    """Hold an exclusive flock on `path` (created if needed). The kernel drops it if we die."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


# --- run folders ----------------------------------------------------------------------------


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_.") or "run"


def _setting(config: dict | None, key: str) -> Any:
    """A training setting from a config dict, flat or nested under "train" (as glr.training.trainer writes it)."""
    config = config if isinstance(config, dict) else {}
    nested = config.get("train") if isinstance(config.get("train"), dict) else {}
    return config.get(key, nested.get(key))


def new_run_id(results_dir: str | os.PathLike, config: dict | None = None) -> str:
    """A free run id such as `20261127-143501-efficientnet_lite0` (`-2`, `-3`... appended if taken)."""
    runs = Path(results_dir) / RUNS_SUBDIR
    base = f"{time.strftime('%Y%m%d-%H%M%S')}-{_slug(str(_setting(config, 'backbone') or 'run'))}"
    run_id, n = base, 1
    while (runs / run_id).exists():
        n += 1
        run_id = f"{base}-{n}"
    return run_id


class Run:
    """One run folder `<results>/runs/<run_id>/`: paths, config, status, history and the STOP flag."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path).absolute()
        self._last_progress = 0.0

    def __repr__(self) -> str:
        return f"Run({str(self.path)!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Run) and other.path == self.path

    def __hash__(self) -> int:
        return hash(self.path)

    @property
    def id(self) -> str:
        """The run id: the folder's name."""
        return self.path.name

    # Standard paths, so no caller spells a file name twice.
    results_dir = property(lambda self: self.path.parent.parent, doc="The results folder holding runs/.")
    config_path = property(lambda self: self.path / "config.json")
    status_path = property(lambda self: self.path / "status.json")
    history_path = property(lambda self: self.path / "history.csv")
    labels_path = property(lambda self: self.path / "labels.json")
    split_path = property(lambda self: self.path / "split.csv")
    checkpoint_dir = property(lambda self: self.path / "checkpoints")
    model_path = property(lambda self: self.path / "model.keras")
    metrics_path = property(lambda self: self.path / "metrics.json")
    confusion_path = property(lambda self: self.path / "confusion.csv")
    predictions_path = property(lambda self: self.path / "val_predictions.csv")
    report_dir = property(lambda self: self.path / "report")
    log_path = property(lambda self: self.path / "train.log")
    stop_path = property(lambda self: self.path / "STOP")

    def file(self, name: str) -> Path:
        """The path of `name` inside the run folder."""
        return self.path / name

    @classmethod
    def create(cls, results_dir: str | os.PathLike, config: dict, run_id: str | None = None) -> "Run":
        """Make a new run folder with config.json and status.json (state "queued").

        Without `run_id` a fresh one is chosen; an explicit `run_id` that exists is an error.
        """
        runs = Path(results_dir) / RUNS_SUBDIR
        runs.mkdir(parents=True, exist_ok=True)
        while True:
            chosen = run_id or new_run_id(results_dir, config)
            try:
                (runs / chosen).mkdir()  # exclusive: two creators never share a folder
                break
            except FileExistsError:
                if run_id:
                    raise RunError(f"a run named {run_id} already exists in {runs}") from None
        run = cls(runs / chosen)
        write_json(run.config_path, config)
        now = _now()
        status = dict.fromkeys(STATUS_FIELDS)
        status.update(state="queued", run_id=run.id, epoch=0, epochs=_setting(config, "epochs"), step=0,
                      created=now, updated=now, message="")
        write_json(run.status_path, status)
        return run

    @classmethod
    def open(cls, path: str | os.PathLike) -> "Run":
        """The run folder at `path`; RunError if there is no such folder."""
        run = cls(path)
        if not run.path.is_dir():
            raise RunError(f"no run folder at {run.path}")
        return run

    def config(self) -> dict:
        """The run's config.json; RunError naming the file if it is missing or unreadable."""
        try:
            config = read_json(self.config_path)
        except FileNotFoundError:
            raise RunError(f"run {self.id} has no config.json ({self.config_path})") from None
        except (OSError, ValueError) as exc:
            raise RunError(f"{self.config_path} is damaged: {exc}") from None
        if not isinstance(config, dict):
            raise RunError(f"{self.config_path} is damaged: not a JSON object")
        return config

    def _read_status(self) -> dict | None:
        """status.json as written, or None if it is missing or unreadable."""
        try:
            status = read_json(self.status_path)
        except (OSError, ValueError):
            return None
        return status if isinstance(status, dict) else None

    def status(self) -> dict:
        """The run's status with its effective state; never raises.

        A queued/running/stopping run whose process is gone is reported "failed"; an
        unreadable status.json gives state "damaged" with a message naming the file.
        """
        status = self._read_status()
        if status is None:
            what = "is missing" if not self.status_path.exists() else "is damaged (unreadable JSON)"
            status = dict.fromkeys(STATUS_FIELDS)
            status.update(state="damaged", run_id=self.id, message=f"{self.status_path} {what}")
            return status
        for key in STATUS_FIELDS:
            status.setdefault(key, None)
        status["run_id"] = self.id
        if status["state"] not in STATES:
            status.update(state="damaged", message=f"{self.status_path} has an unknown state {status['state']!r}")
        elif _needs_process(status) and not pid_alive(status["pid"], status["pid_start"]):
            # The trainer may have written its final state and exited just after we read it.
            again = self._read_status() or {}
            if again.get("state") in FINAL_STATES:
                status.update(again)
            else:
                status.update(state="failed", message=DIED_MESSAGE)
        return status

    def _merge(self, fields: dict, only_if: frozenset | None = None) -> bool:
        """Merge `fields` into status.json under a lock; skip (False) unless the written state is in `only_if`."""
        with _flock(self.path / STATUS_GUARD):
            current = self._read_status() or {"run_id": self.id}  # a damaged file is replaced
            if only_if is not None and current.get("state") not in only_if:
                return False
            fields = dict(fields)
            new_state, old_state = fields.get("state"), current.get("state")
            if new_state == "running" and old_state == "stopping":
                fields["state"] = "stopping"  # a stop asked while the trainer started still stands
            if fields.get("pid") and "pid_start" not in fields:
                fields["pid_start"] = process_start(int(fields["pid"]))
            elif "pid" in fields and not fields["pid"]:
                fields.setdefault("pid_start", None)
            now = _now()
            if new_state == "running" and old_state not in ("running", "stopping"):
                fields.setdefault("started", now)
            if new_state in FINAL_STATES:
                fields.setdefault("finished", now)
            current.update(fields, updated=now)
            write_json(self.status_path, current)
            return True

    def update_status(self, **fields: Any) -> None:
        """Merge `fields` into status.json atomically and stamp `updated`.

        Also fills in `pid_start` when `pid` is given, `started` when the state becomes
        running, and `finished` when it becomes stopped/failed/finished.
        """
        self._merge(fields)

    def report_progress(self, force: bool = False, **fields: Any) -> bool:
        """update_status for per-batch progress, written at most every PROGRESS_SECONDS unless `force`."""
        now = time.monotonic()
        if not force and now - self._last_progress < PROGRESS_SECONDS:
            return False
        self._last_progress = now
        self._merge(fields)
        return True

    def history(self):
        """history.csv as a DataFrame (HISTORY_COLUMNS first); empty if absent; RunError if damaged."""
        import pandas as pd

        if not self.history_path.exists():
            return pd.DataFrame(columns=HISTORY_COLUMNS)
        try:
            raw = self.history_path.read_bytes()
            # Every writer ends the file with a newline, so a file without one was cut short.
            if not raw.endswith(b"\n"):
                raise ValueError("truncated: it does not end with a newline")
            df = pd.read_csv(self.history_path)
            if "epoch" not in df.columns or df["epoch"].isna().any():
                raise ValueError("no 'epoch' value in some rows")
        except (OSError, ValueError, pd.errors.ParserError) as exc:  # EmptyDataError is a ValueError
            raise RunError(f"{self.history_path} is damaged: {exc}") from None
        extra = [c for c in df.columns if c not in HISTORY_COLUMNS]
        return df.reindex(columns=HISTORY_COLUMNS + extra)

    def stop_requested(self) -> bool:
        """Whether a stop was asked for (the STOP flag exists). The trainer checks this after each batch."""
        return self.stop_path.exists()

    def request_stop(self) -> None:
        """Create the STOP flag. Safe to call from a signal handler and more than once."""
        write_text(self.stop_path, _now() + "\n")

    def clear_stop_request(self) -> None:
        """For the trainer at start: remove a STOP flag left by an earlier stop of this run.

        Only a flag older than this process goes: a stop asked for while the trainer was
        still starting (importing TensorFlow takes seconds) must still stop it.
        """
        try:
            if self.stop_path.stat().st_mtime < _process_started_at():
                self.stop_path.unlink(missing_ok=True)
        except FileNotFoundError:
            pass


def _needs_process(status: dict) -> bool:
    """Whether this recorded status claims a live process: running/stopping, or queued with a pid."""
    return status["state"] in ("running", "stopping") or (status["state"] == "queued" and bool(status["pid"]))


def list_runs(results_dir: str | os.PathLike):
    """All runs under `<results>/runs/` as a DataFrame (LIST_COLUMNS), newest first.

    A damaged run (status.json, config.json or history.csv unreadable) shows up with state
    "damaged" and its problem in `message`; it never hides the others.
    """
    import pandas as pd

    runs_dir = Path(results_dir) / RUNS_SUBDIR
    rows = []
    folders = [p for p in runs_dir.iterdir() if p.is_dir() and not p.name.startswith(".")] if runs_dir.is_dir() else []
    for folder in folders:
        run = Run(folder)
        status = run.status()
        row = {"run_id": run.id, "state": status["state"], "created": status.get("created"), "backbone": None,
               "epochs_done": None, "best_val_accuracy": None, "message": status.get("message") or ""}
        if not row["created"]:
            try:
                row["created"] = datetime.fromtimestamp(folder.stat().st_mtime).astimezone().isoformat(timespec="seconds")
            except FileNotFoundError:
                continue  # deleted while we listed it (by another page or a shell): it is simply gone
        problems = []
        try:
            row["backbone"] = _setting(run.config(), "backbone")
        except RunError as exc:
            problems.append(str(exc))
        try:
            history = run.history()
            row["epochs_done"] = len(history)
            acc = pd.to_numeric(history["val_accuracy"], errors="coerce").dropna()
            row["best_val_accuracy"] = float(acc.max()) if len(acc) else None
        except RunError as exc:
            problems.append(str(exc))
        if problems:
            row["message"] = "; ".join([row["message"], *problems] if row["message"] else problems)
            if row["state"] not in ACTIVE_STATES:
                # A live trainer rewrites its files; a finished or dead run's damage stays.
                row["state"] = "damaged"
        rows.append(row)
    df = pd.DataFrame(rows, columns=LIST_COLUMNS)
    return df.sort_values(["created", "run_id"], ascending=False, ignore_index=True)


# --- the training lock ----------------------------------------------------------------------


def _lock_path(results_dir: str | os.PathLike) -> Path:
    return Path(results_dir) / LOCK_NAME


def _guard(results_dir: str | os.PathLike):
    # Every look at or change of train.lock happens under this flock, so "is it stale?
    # remove it, take it" is one step: two callers can never both clean up and both win.
    return _flock(Path(results_dir) / LOCK_GUARD)


def _read_lock_unguarded(results_dir) -> dict | None:
    try:
        lock = read_json(_lock_path(results_dir))
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        return {}  # unreadable: nobody can be shown to hold it, so it counts as stale
    return lock if isinstance(lock, dict) else {}


def read_lock(results_dir: str | os.PathLike) -> dict | None:
    """The training lock ({pid, pid_start, run_id, created}), or None if no training holds one."""
    with _guard(results_dir):
        lock = _read_lock_unguarded(results_dir)
    return lock if lock and pid_alive(lock.get("pid"), lock.get("pid_start")) else None


def _write_lock(results_dir, run_id: str, pid: int, exclusive: bool, pid_start: int | None = None) -> None:
    data = {"pid": pid, "pid_start": pid_start or process_start(pid), "run_id": run_id, "created": _now()}
    if not exclusive:
        write_json(_lock_path(results_dir), data)
        return
    fd = os.open(_lock_path(results_dir), os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)  # FileExistsError if held
    with os.fdopen(fd, "w") as fh:
        fh.write(json.dumps(data, indent=2) + "\n")


def acquire_lock(results_dir: str | os.PathLike, run_id: str, pid: int | None = None) -> None:
    """Take `<results>/train.lock` for `run_id` (held by `pid`, default this process).

    A lock whose process is dead is removed first. If a live training holds it: RunError.
    """
    Path(results_dir).mkdir(parents=True, exist_ok=True)
    with _guard(results_dir):
        lock = _read_lock_unguarded(results_dir)
        if lock is not None:
            if lock and pid_alive(lock.get("pid"), lock.get("pid_start")):
                raise RunError(f"another training is running: {lock.get('run_id')} (pid {lock.get('pid')}); stop it first")
            _lock_path(results_dir).unlink(missing_ok=True)  # stale: its training died without cleaning up
        try:
            _write_lock(results_dir, run_id, pid or os.getpid(), exclusive=True)
        except FileExistsError:  # only a process ignoring the guard gets here
            raise RunError(f"another training is starting in {results_dir}; try again") from None


def release_lock(results_dir: str | os.PathLike, run_id: str) -> bool:
    """Remove the training lock if it names `run_id`; True if it did."""
    with _guard(results_dir):
        lock = _read_lock_unguarded(results_dir)
        if lock and lock.get("run_id") == run_id:
            _lock_path(results_dir).unlink(missing_ok=True)
            return True
    return False


def _set_lock_pid(results_dir, run_id: str, pid: int, pid_start: int | None) -> None:
    """Point the lock at the trainer's pid, if the lock is still this run's."""
    with _guard(results_dir):
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
    with _guard(results_dir):
        lock = _read_lock_unguarded(results_dir)
        adopt = bool(lock) and lock.get("run_id") == run_id and (
            lock.get("pid") in (me, os.getppid()) or not pid_alive(lock.get("pid"), lock.get("pid_start"))
        )
        if adopt:
            _write_lock(results_dir, run_id, me, exclusive=False)
    if not adopt:
        acquire_lock(results_dir, run_id, me)
    try:
        yield
    finally:
        release_lock(results_dir, run_id)


# --- launching and stopping -----------------------------------------------------------------


def launch(
    results_dir: str | os.PathLike,
    config: dict | None = None,
    *,
    resume_run: Run | None = None,
    argv_prefix: list[str] | None = None,
) -> Run:
    """Start a training process for a new run (or `resume_run`) and return at once.

    The lock is taken first, so of two simultaneous launches exactly one starts and the
    other gets RunError. The trainer runs `[*argv_prefix, "--run-dir", DIR, ("--resume")]`,
    by default `python -m glr train ...`, in its own session, appending output to train.log.
    """
    results_dir = Path(results_dir).absolute()
    if resume_run is None and config is None:
        raise RunError("launch needs a config for a new run, or a run to resume")
    run_id = resume_run.id if resume_run else new_run_id(results_dir, config)
    run_path = resume_run.path if resume_run else results_dir / RUNS_SUBDIR / run_id
    argv = [*(argv_prefix or TRAINER_ARGV), "--run-dir", str(run_path)] + (["--resume"] if resume_run else [])
    env = dict(os.environ, PYTHONUNBUFFERED="1")  # train.log fills as it happens
    # `-m glr` must work wherever the app was started, installed or not.
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PROJECT_ROOT), env.get("PYTHONPATH")]))

    acquire_lock(results_dir, run_id)
    run = None
    try:
        if resume_run:
            run = resume_run
            run.stop_path.unlink(missing_ok=True)  # the flag that stopped it last time must not stop it again
            run.update_status(state="queued", pid=None, message="resuming", traceback=None, finished=None)
        else:
            run = Run.create(results_dir, config, run_id=run_id)
        with open(run.log_path, "ab") as log:
            log.write(f"[{_now()}] launching: {' '.join(argv)}\n".encode())
            log.flush()
            proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                    start_new_session=True, close_fds=True, env=env)
    except BaseException as exc:
        release_lock(results_dir, run_id)
        if run is not None:
            run.update_status(state="failed", message=f"could not start the trainer: {exc}")
        if isinstance(exc, OSError):
            raise RunError(f"could not start the trainer ({argv[0]}): {exc}") from exc
        raise
    with _children_lock:
        _children[proc.pid] = proc
    # Read the start time now, while the child is surely still there (alive or unreaped).
    start = process_start(proc.pid)
    _set_lock_pid(results_dir, run_id, proc.pid, start)
    run.update_status(pid=proc.pid, pid_start=start)
    return run


def _wait_for(predicate, seconds: float) -> bool:
    """Poll `predicate` until it is true or `seconds` pass."""
    deadline = time.monotonic() + seconds
    while True:
        if predicate():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(POLL_SECONDS)


def stop(run: Run, timeout: float = 30.0, wait: bool = False, *, grace: float = 10.0) -> dict:
    """Ask the run's trainer to stop (STOP flag, state "stopping"); return the status.

    With `wait`, give it `timeout` seconds to end by itself, then SIGTERM its process
    group, then SIGKILL after `grace` more seconds; a process that died without saying
    so is recorded as "stopped".
    """
    status = run.status()
    if status["state"] not in ACTIVE_STATES:
        return status
    run.request_stop()
    if status["state"] == "queued" and not status["pid"]:
        # No process yet: nothing to wait for. A trainer starting later still sees the flag.
        run._merge({"state": "stopped", "message": "stopped before it started"}, only_if=frozenset({"queued"}))
        return run.status()
    run._merge({"state": "stopping", "message": "stop requested"}, only_if=ACTIVE_STATES)
    if not wait:
        return run.status()
    if _wait_for(lambda: run.status()["state"] not in ACTIVE_STATES, timeout):
        return _settle_stopped(run, None)
    recorded = run._read_status() or {}
    pid, start = recorded.get("pid"), recorded.get("pid_start")
    gone = lambda: not pid_alive(pid, start)  # noqa: E731
    how = None
    if not gone():
        how = "SIGTERM"
        _signal(int(pid), signal.SIGTERM)
        if not _wait_for(lambda: gone() or run.status()["state"] in FINAL_STATES, grace):
            how = "SIGKILL"
            _signal(int(pid), signal.SIGKILL)
            _wait_for(gone, KILL_WAIT_SECONDS)
    return _settle_stopped(run, how)


def _settle_stopped(run: Run, how: str | None) -> dict:
    """Record "stopped" for a run whose process ended while stopping without writing a final state."""
    recorded = run._read_status() or {}
    if recorded.get("state") in ACTIVE_STATES and not pid_alive(recorded.get("pid"), recorded.get("pid_start")):
        message = f"stopped with {how}: the trainer did not stop in time" if how else "stopped"
        run._merge({"state": "stopped", "message": message}, only_if=ACTIVE_STATES)
    return run.status()


def resume(run: Run, results_dir: str | os.PathLike | None = None, *, argv_prefix: list[str] | None = None) -> Run:
    """Continue a stopped or failed run from its last checkpoint, in a new training process."""
    state = run.status()["state"]
    if state in ACTIVE_STATES:
        raise RunError(f"run {run.id} is still {state}; stop it first")
    if state == "finished":
        raise RunError(f"run {run.id} has finished; start a new run to train more")
    if state == "damaged":
        raise RunError(f"run {run.id} cannot be resumed: {run.status()['message']}")
    run.config()  # RunError naming config.json if it is damaged
    try:
        run.history()
    except RunError as exc:
        raise RunError(f"run {run.id} cannot be resumed: {exc}; start a new run") from None
    return launch(results_dir or run.results_dir, resume_run=run, argv_prefix=argv_prefix)


def delete_run(run: Run) -> None:
    """Delete the run folder; RunError if its training is still going."""
    state = run.status()["state"]
    if state in ACTIVE_STATES:
        raise RunError(f"run {run.id} is still {state}; stop it before deleting it")
    shutil.rmtree(run.path)


def install_sigterm_handler(run: Run) -> None:
    """For the trainer (main thread): turn SIGTERM into a stop request, so it ends after the batch with a checkpoint."""
    signal.signal(signal.SIGTERM, lambda signum, frame: run.request_stop())

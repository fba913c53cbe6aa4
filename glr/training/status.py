"""A run's status and its stop flag: how a trainer and everyone watching it talk through the run folder.

The status records a state (`queued`, `running`, `stopping`, `stopped`, `failed`,
`finished`), the trainer's pid and progress, timestamps, the last message and the traceback
of a failure. Every change is a read-merge-write under a file lock, written atomically, so
the trainer's progress and a page's stop request never undo each other; a reader takes no
lock, so a writer paused while it holds it (Ctrl-Z) freezes no page. A reader gets the
*effective* state: a run that claims a process whose pid is gone (or now belongs to another
process) has failed, whatever it last wrote. `Run` (glr.training.run) carries these methods.
"""

from __future__ import annotations

import os
import threading
import time
from datetime import datetime
from typing import Any

from filelock import FileLock, Timeout

from glr.atomic import read_json, write_json, write_text
from glr.training.folder_identity import FIELD as FOLDER_FIELD, copy_message, folder_identity
from glr.training.machine import BEAT_SECONDS, BEAT_STALE, died_with_a_boot, here, machine_id, same_pid_space, silent_for
from glr.training.processes import pid_alive, process_paused, process_start, process_started_at

STATES = ("queued", "running", "stopping", "stopped", "failed", "finished", "damaged")
ACTIVE_STATES = frozenset({"queued", "running", "stopping"})  # a process is (or may soon be) at work
FINAL_STATES = frozenset({"stopped", "failed", "finished"})
STATUS_FIELDS = (
    "state", "run_id", "pid", "pid_start", "phase", "unit", "stage_started", "epoch", "epochs", "step", "steps",
    "created", "started", "updated", "finished", "message", "traceback",
)  # phase: the current stage; unit: what its steps count ("batch" while epochs train); epoch: epochs done
DIED_MESSAGE = "the training process ended without saying so (killed?)"
# A trainer writes only into the folder it started in: renamed under it, the run stops at its next write.
RENAMED_MESSAGE = ("the training process ended without saying so, and this run folder was renamed (it was {old}): "
                   "a training stops when its folder is renamed, as it writes only into the folder it started in; "
                   "resume it to continue")
ELSEWHERE_DIED_MESSAGE = ("the training process on {host} (another computer or container) ended without saying so: "
                          "its lock of the results folder is gone or no longer beats (if it is only paused there, a "
                          "resume here is safe: continued, it ends at once, leaving the run to this one)")
PAUSED_MESSAGE = ("paused: its training process (pid {pid}) is stopped (Ctrl-Z in its terminal, or SIGSTOP); it goes "
                  "on where it was when continued (`fg` there, or `kill -CONT {pid}`)")
REBOOTED_MESSAGE = "the training process ended when this computer restarted; resume it to continue"
NEVER_STARTED_MESSAGE = ("never started: the process that queued it (pid {pid}) ended before its training began; "
                         "start it again, or delete it")
NEVER_STARTED_ELSEWHERE_MESSAGE = ("never started: the process on {host} (another computer or container) that queued it "
                                   "(pid {pid}) has not touched it for over {minutes:.0f} minutes, and no training "
                                   "holds the results folder for it; resume it to train it here, or delete it")
PROGRESS_SECONDS = 0.5  # report_progress writes the status at most this often
STATUS_GUARD = ".status.lock"  # locked around each read-merge-write of the status (readers never take it)
# How long a process that is not the run's own waits for STATUS_GUARD before it gives up with BUSY_MESSAGE: the
# guard is held for milliseconds, so a longer wait means its holder is paused (Ctrl-Z, SIGSTOP) or stuck.
STATUS_WRITE_SECONDS = 30.0
BUSY_MESSAGE = ("the status of run {run} cannot be written: {guard} is held by another process{holder} that has not "
                "let go for {seconds:.0f} s, a glr process paused (Ctrl-Z, SIGSTOP) as it wrote it? Continue it ({how}) "
                "and try again")


def now() -> str:
    """Local time with its UTC offset, to the second: readable and sortable within one machine."""
    return datetime.now().astimezone().isoformat(timespec="seconds")


class RunStatus:
    """The status and stop-flag methods of `Run`, which provides `path`, `id`, `status_path` and `stop_path`."""

    _last_progress = 0.0

    def recorded_status(self) -> dict | None:
        """The status as written (no liveness check), or None if it is missing or unreadable."""
        try:
            status = read_json(self.status_path)
        except (OSError, ValueError):
            return None
        return status if isinstance(status, dict) else None

    def status(self) -> dict:
        """The run's status with its effective state; never raises.

        A queued/running/stopping run whose process is gone is reported "failed"; an
        unreadable status file gives state "damaged" with a message naming it.
        """
        status = self.recorded_status()
        if status is None:
            what = "is missing" if not self.status_path.exists() else f"is damaged ({_damage(self.status_path)})"
            status = dict.fromkeys(STATUS_FIELDS)
            status.update(state="damaged", run_id=self.id, message=f"{self.status_path} {what}")
            return status
        for key in STATUS_FIELDS:
            status.setdefault(key, None)
        recorded_id, status["run_id"] = status["run_id"], self.id
        if status["state"] not in STATES:
            status.update(state="damaged", message=f"{self.status_path} has an unknown state {status['state']!r}")
        elif _needs_process(status) and (copied := copy_message(self.path, status.get(FOLDER_FIELD))):
            status.update(state="failed", message=copied)  # its trainer, alive or not, writes into another folder
        elif _needs_process(status) and not same_pid_space(status):
            if not self._locked_elsewhere():  # its pid means nothing here: the lock's heartbeat says if it lives
                again = self.recorded_status() or {}
                died = REBOOTED_MESSAGE if self._died_with_a_boot(status) else \
                    ELSEWHERE_DIED_MESSAGE.format(host=status.get("host"))
                status.update(again if again.get("state") in FINAL_STATES else {"state": "failed", "message": died})
            else:  # how long since its trainer last wrote, on the file system's clock: no machine's clock skews it
                status["silent_seconds"] = silent_for([self.status_path], self.path / STATUS_GUARD)
        elif _needs_process(status) and not pid_alive(status["pid"], status["pid_start"], status["updated"],
                                                      status.get("booted")):
            # The trainer may have written its final state and exited just after we read it.
            again = self.recorded_status() or {}
            if again.get("state") in FINAL_STATES:
                status.update(again)
            else:
                renamed = isinstance(recorded_id, str) and recorded_id and recorded_id != self.id
                status.update(state="failed", message=RENAMED_MESSAGE.format(old=recorded_id) if renamed else DIED_MESSAGE)
        elif orphaned := self._orphaned_in_queue(status):
            again = self.recorded_status() or {}
            if again.get("state") == "queued" and not again.get("pid"):  # its trainer may have just started
                status.update(state="failed", message=orphaned)
            else:
                return self.status()
        elif status["state"] == "running" and same_pid_space(status) and process_paused(status["pid"]):
            status["message"] = PAUSED_MESSAGE.format(pid=status["pid"])  # else "running" with no progress, no word why
        return status

    def _locked_elsewhere(self) -> bool:
        """Whether the results folder's lock names this run and its trainer (in another pid space) still beats."""
        from glr.training.train_lock import read_lock  # it imports glr.training.run, which imports this module

        try:
            lock = read_lock(self.path.parent.parent)
        except Exception:  # noqa: BLE001 (a results folder that cannot be looked at: nothing holds this run)
            return False
        return bool(lock) and lock.get("run_id") == self.id

    def _died_with_a_boot(self, record: dict, prefix: str = "") -> bool:
        """Whether `record` (its fields under `prefix`) is this machine's from before its last boot, the status
        silent since (machine.died_with_a_boot)."""
        named = {key: record.get(prefix + key) for key in here()}
        return died_with_a_boot(named, [self.status_path], self.path / STATUS_GUARD)

    def _orphaned_in_queue(self, status: dict) -> str | None:
        """Why a run queued without a trainer yet was left so for ever (None while it may still start): the process
        that queued it ended (the app killed between making the run and starting its trainer, the CLI killed while
        TensorFlow loaded). Another pid space's queuer cannot be looked at: its run beats (`keep_queued`), so a
        status silent for BEAT_STALE, with no lock of the results folder naming it, was left there."""
        if status["state"] != "queued" or status["pid"] or not status.get("queued_by"):
            return None
        pid = status["queued_by"]
        if status.get("queued_by_machine") in (None, machine_id()):
            alive = pid_alive(pid, status.get("queued_by_start"), booted=status.get("queued_by_booted"))
            return None if alive else NEVER_STARTED_MESSAGE.format(pid=pid)
        if self._died_with_a_boot(status, "queued_by_"):
            return NEVER_STARTED_MESSAGE.format(pid=pid)
        if silent_for([self.status_path], self.path / STATUS_GUARD) < BEAT_STALE or self._locked_elsewhere():
            return None
        return NEVER_STARTED_ELSEWHERE_MESSAGE.format(pid=pid, host=status.get("queued_by_host") or "another computer",
                                                      minutes=BEAT_STALE / 60)

    def update_status(self, only_if: frozenset | None = None, **fields: Any) -> bool:
        """Merge `fields` into the status atomically and stamp `updated`; with `only_if`, only from those states.

        Also fills in `pid_start` when `pid` is given, `started` when the state becomes
        running, and `finished` when it becomes stopped/failed/finished. A stop asked for
        while the trainer started still stands. Returns whether it wrote (never into a deleted run folder).
        RunError when another process holds the status lock for STATUS_WRITE_SECONDS (`_take_guard`).
        """
        if not self.path.is_dir():
            return False  # the folder was deleted: writing would make it again, holding a status alone
        with self._take_guard(fields):
            current = self.recorded_status() or {"run_id": self.id}  # a damaged file is replaced
            if only_if is not None and current.get("state") not in only_if:
                return False
            new_state, old_state = fields.get("state"), current.get("state")
            if new_state == "running" and old_state == "stopping":
                fields["state"] = "stopping"
            if new_state == "queued" and not fields.get("pid"):  # who waits to start it: see _orphaned_in_queue
                fields.update(queued_by(), **fields)
                keep_queued(self.status_path)
            if fields.get("pid") and "pid_start" not in fields:
                fields["pid_start"] = process_start(int(fields["pid"]))
            elif "pid" in fields and not fields["pid"]:
                fields.setdefault("pid_start", None)
            if fields.get("pid"):  # the folder this process writes into: a copy of it is told apart (folder_identity)
                fields.setdefault(FOLDER_FIELD, folder_identity(self.path))
                fields.update({**here(), **fields})  # the pid's pid space: elsewhere, the pid means nothing
            stamp = now()
            if new_state == "running" and old_state not in ("running", "stopping"):
                fields.setdefault("started", stamp)
            if new_state in FINAL_STATES:
                fields.setdefault("finished", stamp)
            # Each timestamp also on the monotonic clock, with the pid space it is read in (glr.training.run_timing
            # measures a run by these: a wall clock set since moves none of them).
            fields.update({f"{key}_clock": clock() if fields[key] else None for key in ("started", "finished")
                           if key in fields and f"{key}_clock" not in fields})  # given: put back (resuming.restore)
            current.update(fields, updated=stamp, updated_clock=clock(), run_id=self.id)  # renamed since: this run's now
            write_json(self.status_path, current)
            return True

    def _take_guard(self, fields: dict):
        """STATUS_GUARD, taken for a write of `fields`: the run's own processes wait as long as it takes (their writes
        are its record, and a training must not fail for a paused onlooker); any other process waits
        STATUS_WRITE_SECONDS, then gets a RunError naming the holder, instead of freezing (a page's Stop, `glr stop`)."""
        guard = FileLock(self.path / STATUS_GUARD, poll_interval=0.002, preserve_lock_file=True)
        try:
            return guard.acquire(timeout=-1 if _own_run(self.recorded_status() or {}, fields) else STATUS_WRITE_SECONDS)
        except Timeout:
            from glr.training.run import RunError  # it imports this module

            pid = lock_holder(guard.lock_file)
            holder = f" (pid {pid}{', paused' if process_paused(pid) else ''})" if pid else ""
            how = f"`kill -CONT {pid}`, or `fg` in its terminal" if pid else "`fg` in its terminal, or `kill -CONT PID`"
            raise RunError(BUSY_MESSAGE.format(run=self.id, guard=guard.lock_file, holder=holder,
                                               seconds=STATUS_WRITE_SECONDS, how=how)) from None

    def report_progress(self, force: bool = False, **fields: Any) -> bool:
        """update_status for per-batch progress, written at most every PROGRESS_SECONDS unless `force`."""
        moment = time.monotonic()
        if not force and moment - self._last_progress < PROGRESS_SECONDS:
            return False
        self._last_progress = moment
        return self.update_status(**fields)

    def stop_requested(self) -> bool:
        """Whether a stop was asked for (the flag exists).

        The trainer checks this between batches: about every 0.25 s, or after every batch when they are slower.
        """
        return self.stop_path.exists()

    def request_stop(self, reason: str | None = None) -> None:
        """Raise the stop flag (with the `reason` the stopped run then says, if not the user's request). Safe to call
        from a signal handler and more than once."""
        write_text(self.stop_path, now() + "\n" + (f"{reason}\n" if reason else ""))

    def stop_reason(self) -> str | None:
        """The reason the stop flag gives, or None (a stop the user asked for, or no flag)."""
        try:
            lines = self.stop_path.read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            return None
        return lines[1].strip() or None if len(lines) > 1 else None

    def clear_stop_request(self) -> None:
        """For the trainer at start: lower a stop flag left by an earlier stop of this run.

        Only a flag older than this process goes: a stop asked for while the trainer was
        still starting (importing TensorFlow takes seconds) must still stop it.
        """
        try:
            if self.stop_path.stat().st_mtime < process_started_at():
                self.stop_path.unlink(missing_ok=True)
        except FileNotFoundError:
            pass


def clock() -> list:
    """Now on the monotonic clock, beside the pid space it was read in ([machine_id(), seconds]): two such readings
    of one pid space (one boot) differ by the time between them, however the wall clock was set meanwhile."""
    return [machine_id(), round(time.monotonic(), 3)]


def queued_by() -> dict:
    """The fields naming this process as the one that queued a run and will start its trainer."""
    return {"queued_by": os.getpid(), "queued_by_start": process_started_at(),
            **{f"queued_by_{key}": value for key, value in here().items()}}  # _booted, _machine, _host, _host_id


_queued_beats: set[str] = set()  # status files this process beats while it waits to start their trainers
_queued_beats_lock = threading.Lock()


def keep_queued(status_path) -> None:
    """Touch a run's status every BEAT_SECONDS while it stays queued by this process with no trainer yet, so that
    another pid space (a computer sharing the results folder) sees its queuer live (`_orphaned_in_queue`): the CLI
    loads TensorFlow and checks the dataset between queuing a run and training it."""
    key = str(status_path)
    with _queued_beats_lock:
        if key in _queued_beats:
            return
        _queued_beats.add(key)
    threading.Thread(target=_queued_beat, args=(key,), name="glr-queued-beat", daemon=True).start()


def _queued_beat(key: str) -> None:
    """keep_queued's thread: it ends once the run is started, stopped, deleted or queued by another process."""
    try:
        while True:
            time.sleep(BEAT_SECONDS)
            try:
                status = read_json(key)
                if status.get("state") != "queued" or status.get("pid") or status.get("queued_by") != os.getpid():
                    return
                os.utime(key)
            except (OSError, ValueError, AttributeError):
                return
    finally:
        with _queued_beats_lock:
            _queued_beats.discard(key)


def _own_run(status: dict, fields: dict) -> bool:
    """Whether this process is one of the run's (its trainer, `--workers N` launcher or workers), as recorded or as
    it is about to record itself."""
    me = os.getpid()
    pids = [status.get("pid"), status.get("launcher_pid"), fields.get("pid"), fields.get("launcher_pid"),
            *(status.get("worker_pids") or []), *(fields.get("worker_pids") or [])]
    return me in pids


def lock_holder(path) -> int | None:
    """The pid of another process holding a file lock (flock) on `path`, from /proc/locks; None where it cannot be
    told (not Linux, another pid namespace, not held)."""
    try:
        info = os.stat(path)
        with open("/proc/locks", encoding="ascii", errors="replace") as locks:
            lines = locks.read().splitlines()
    except OSError:
        return None
    ident = f"{os.major(info.st_dev):02x}:{os.minor(info.st_dev):02x}:{info.st_ino}"
    for line in lines:  # "1: FLOCK  ADVISORY  WRITE 4242 fe:00:1234 0 EOF"; a waiter's line has "->" after the "1:"
        parts = line.split()
        if len(parts) > 5 and parts[1] == "FLOCK" and parts[5] == ident and parts[4].isdigit():
            if int(parts[4]) not in (0, os.getpid()):
                return int(parts[4])
    return None


def _needs_process(status: dict) -> bool:
    """Whether a recorded status claims a live process: running/stopping, or queued with a pid."""
    return status["state"] in ("running", "stopping") or (status["state"] == "queued" and bool(status["pid"]))


def _damage(path) -> str:
    """What is wrong with a status file that gave no status: JSON that does not parse, or JSON that is no object."""
    try:
        read_json(path)
    except (OSError, ValueError):
        return "unreadable JSON"
    return "not a JSON object"

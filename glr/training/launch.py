"""Starting, stopping, resuming and deleting trainings, one at a time per results folder.

Training runs as its own process (`python -m glr train --run-dir DIR`), in its own
session, its output appended to the run's log, so closing the browser or restarting the
app leaves it alone. `<results>/train.lock` (glr.training.train_lock) names the one training
that runs in a results folder. A stop is a flag file the trainer checks about every quarter second
(between groups of batches, glr.training.loop), with SIGTERM, then SIGKILL, as the fallbacks.

This is also the edge where a new run's configuration is made (`run_config`): the
validated settings, the real dataset path and the library versions.
"""

from __future__ import annotations

import os
import platform
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

from glr.paths import PROJECT_ROOT, demo_dir
from glr.training.processes import (KILL, any_alive, kill_processes, lower_priority, pid_alive, process_paused,
                                    process_start, run_processes, signal_process, track)
from glr.training.run import Run, RunError, new_run_id, runs_dir
from glr.training.resuming import restore, resumable, set_epochs, snapshot
from glr.training.machine import same_pid_space
from glr.training.status import ACTIVE_STATES, FINAL_STATES, now
from glr.training.train_lock import (LOCK_GUARD, LOCK_NAME, _busy, _guarded, _held,  # noqa: F401 (re-exported)
                                     _read_lock_unguarded, _set_lock_pid, acquire_lock, keep_beating, read_lock,
                                     release_lock, training_lock)

if TYPE_CHECKING:
    from glr.training.config import TrainConfig

POLL_SECONDS = 0.05
KILL_WAIT_SECONDS = 5.0  # after SIGKILL, how long to wait for the process to vanish
TRAINER_ARGV = [sys.executable, "-m", "glr", "train"]
FINISHING = frozenset({"evaluating", "indexing"})  # glr.evaluation.finish's stages: the model is saved, the end is near
FINISHING_MESSAGE = ("stop requested while it finishes: its model is saved and being evaluated, so it ends finished "
                     "by itself; stopping it now would only lose the evaluation")


# --- a new run's configuration --------------------------------------------------------------


def library_versions() -> dict[str, str]:
    """Versions that decide whether a run can be reproduced (read from package metadata, so
    the app's Start button does not have to import TensorFlow)."""
    from importlib.metadata import PackageNotFoundError, version

    import glr

    versions = {"glr": glr.__version__, "python": platform.python_version()}
    for package in ("tensorflow", "keras", "numpy", "pandas", "scikit-learn"):
        try:
            versions[package] = version(package)
        except PackageNotFoundError:
            versions[package] = "not installed"
    return versions


def run_config(config: "TrainConfig") -> dict:
    """A new run's configuration: the validated settings with the real dataset path, the versions, the time.

    No dataset means the embedded demo: its folder is recorded (the command that trains
    generates it there if it is not yet).
    """
    config = _settled(config.validate())
    train = config.to_dict()
    train["data"] = train["data"] or str(demo_dir())
    train["weights"] = _weights_file(train["weights"])
    return {"train": train, "versions": library_versions(), "created": now()}


def _weights_file(weights: str | None) -> str | None:
    """`weights` as a new run records it: "imagenet", None, or a weights file's absolute path.

    Checked here, not in TrainConfig.validate: a run made with a file that was moved since must
    still load. A file that is not there is refused before any run folder exists, and a relative
    path is made absolute, since the app's training process does not share the caller's folder.
    """
    if weights in (None, "imagenet"):
        return weights
    from glr.training.config import ConfigError

    path = Path(weights).expanduser()
    if not path.is_file():
        raise ConfigError(f"invalid configuration: weights {weights!r} is not a file; give 'imagenet', 'none' "
                          "or a local weights file")
    return str(path.resolve())


def _settled(config: "TrainConfig") -> "TrainConfig":
    """`fine_tune="auto"` decided, so the run records (and resumes with) what it does.

    The command line and the Train page decide it before; this covers configurations made in
    Python, which then lengthen phase 2 on small datasets as they do. A dataset that cannot be
    read yet (the demo before its first generation) keeps "auto", decided when training starts.
    """
    from glr.errors import GlrError
    from glr.training.settings import AUTO, settle_fine_tune

    if config.fine_tune != AUTO:
        return config
    try:
        return settle_fine_tune(config)[0]
    except GlrError:
        return config


def new_run(results_dir: str | os.PathLike, config: "TrainConfig") -> Run:
    """Create a run folder (not started) whose configuration is `run_config(config)`.

    RunError while another training holds the results folder: the new run could not start, and
    a run left "queued" for ever would become `latest`, so `glr stop latest` would stop it
    instead of the training that runs. RunError too if the results folder cannot be written.
    """
    with _guarded(results_dir):  # a read-only folder: said here, not an OSError from the run folder's mkdir
        lock = _read_lock_unguarded(results_dir)
    if lock and _held(lock, results_dir):
        raise _busy(lock)
    return Run.create(results_dir, run_config(config))


# --- launching and stopping -----------------------------------------------------------------


def launch(
    results_dir: str | os.PathLike,
    config: dict | None = None,
    *,
    resume_run: Run | None = None,
    argv_prefix: list[str] | None = None,
    workers: int = 1,
    epochs: int | None = None,
) -> Run:
    """Start a training process for a new run (or `resume_run`, with `epochs` its new total if given) and return at once.

    The lock is taken first, so of two simultaneous launches exactly one starts and the
    other gets RunError. The trainer runs `[*argv_prefix, "--run-dir", DIR, ("--resume")]`,
    by default `python -m glr train ...`, in its own session, appending output to the run's log.
    With `workers` > 1 it trains with that many local worker processes (glr.training.workers).
    """
    results_dir = Path(results_dir).absolute()
    if resume_run is None and config is None:
        raise RunError("launch needs a config for a new run, or a run to resume")
    run_id = resume_run.id if resume_run else new_run_id(results_dir, config)
    run_path = resume_run.path if resume_run else runs_dir(results_dir) / run_id
    argv = [*(argv_prefix or TRAINER_ARGV), "--run-dir", str(run_path)] + (["--resume"] if resume_run else []) \
        + (["--workers", str(workers)] if workers > 1 else [])
    env = dict(os.environ, PYTHONUNBUFFERED="1")  # the log fills as it happens
    # `-m glr` must work wherever the app was started, installed or not.
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PROJECT_ROOT), env.get("PYTHONPATH")]))

    try:
        acquire_lock(results_dir, run_id)
    except RunError:
        lock = read_lock(results_dir) if resume_run else None
        if lock and lock.get("run_id") == run_id:  # two apps (or an app and the CLI) resuming it at one moment
            raise RunError(f"run {run_id} is being resumed already (pid {lock.get('pid')}): its training is "
                           "starting; watch it there") from None
        raise
    run = None
    try:
        if resume_run:
            # Judged again under the lock: checked before it, the run may have been resumed and finished since.
            resumable(resume_run, epochs, locked=True)
            run, before = resume_run, snapshot(resume_run)
            run.stop_path.unlink(missing_ok=True)  # the flag that stopped it last time must not stop it again
            set_epochs(run, epochs)
            run.update_status(state="queued", pid=None, message="resuming", traceback=None, finished=None,
                              refused=None, resumed_from=before)  # the trainer puts it back if it refuses
        else:
            run = Run.create(results_dir, config, run_id=run_id)
        with open(run.log_path, "ab") as log:
            log.write(f"[{now()}] launching: {' '.join(argv)}\n".encode())
            log.flush()
            proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                    start_new_session=True, close_fds=True, env=env)
    except BaseException as exc:
        release_lock(results_dir, run_id)
        if run is not None and resume_run:
            restore(run, before, f"could not start the trainer: {exc}")
        elif run is not None:
            run.update_status(state="failed", message=f"could not start the trainer: {exc}")
        if isinstance(exc, OSError):
            raise RunError(f"could not start the trainer ({argv[0]}): {exc}") from exc
        raise
    track(proc)
    lower_priority(proc.pid)
    # Read the start time now, while the child is surely still there (alive or unreaped).
    start = process_start(proc.pid)
    _set_lock_pid(results_dir, run_id, proc.pid, start)
    # Until its trainer's own beat starts (training_lock), the lock would be silent: beat it from here while it runs.
    keep_beating(results_dir, run_id, (os.getpid(), proc.pid), threading.Event(), alive=lambda: proc.poll() is None,
                 paused=lambda: process_paused(proc.pid))  # a paused trainer is silent: resumable elsewhere in time
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
    """Ask the run's trainer to stop (the stop flag, state "stopping"); return the status.

    A run finishing (its model saved, being evaluated) ends `finished` by itself and is sent no signal.
    With `wait`, give it `timeout` seconds to end by itself, then SIGTERM its process
    group (and a `--workers N` launcher), then SIGKILL after `grace` more seconds to every
    process of the run: the chief's group, the launcher, its local workers and their children.
    A process that died without saying so is recorded as "stopped".
    """
    status = run.status()
    if status["state"] not in ACTIVE_STATES:
        return status
    paused = paused_pids(run)  # looked at before the flag: a trainer that is not paused may stop at once once it is up
    run.request_stop()
    continue_paused(run, paused)  # paused (Ctrl-Z, SIGSTOP), it would never see the flag: continued, it stops cleanly
    if status["state"] == "queued" and not status["pid"]:
        # No process yet: nothing to wait for. A trainer starting later still sees the flag.
        run.update_status(state="stopped", message="stopped before it started", only_if=frozenset({"queued"}))
        return run.status()
    finishing = status.get("phase") in FINISHING
    try:
        run.update_status(state="stopping", message=FINISHING_MESSAGE if finishing else "stop requested",
                          only_if=ACTIVE_STATES)
    except RunError as exc:  # its status is held by a paused process, but the flag is up: "try again" alone misled
        raise RunError(f"{exc}; the stop flag is raised all the same, so the training stops at its next batch "
                       "once it runs") from exc
    if not wait:
        return run.status()
    if _wait_for(lambda: run.status()["state"] not in ACTIVE_STATES, timeout):
        return _settle_stopped(run, None)
    recorded = run.recorded_status() or {}
    if not same_pid_space(recorded):  # its pid is another machine's: a signal would hit whatever has it here
        return run.status()  # the flag stands; its trainer stops at its next batch there
    if recorded.get("phase") in FINISHING:  # no signal: SIGKILL would cost the evaluation of a model already saved
        run.update_status(message=FINISHING_MESSAGE, only_if=ACTIVE_STATES)
        return run.status()
    pid, start = recorded.get("pid"), recorded.get("pid_start")
    gone = lambda: not pid_alive(pid, start, recorded.get("updated"), recorded.get("booted"))  # noqa: E731
    how = None
    if not gone():
        how = "SIGTERM"
        signal_process(int(pid), signal.SIGTERM)
        continue_paused(run)  # paused since: SIGTERM waits for it to be continued
        launcher = recorded.get("launcher_pid")
        if launcher != pid and pid_alive(launcher, recorded.get("launcher_start"), recorded.get("updated"),
                                               recorded.get("launcher_booted")):
            signal_process(int(launcher), signal.SIGTERM)  # it stops its workers together
        if not _wait_for(lambda: gone() or run.status()["state"] in FINAL_STATES, grace):
            how = "SIGKILL"
            every = run_processes(run.recorded_status() or recorded)  # listed first: a dead parent hides its children
            signal_process(int(pid), KILL)
            kill_processes(every)
            _wait_for(lambda: gone() and not any_alive(every), KILL_WAIT_SECONDS)
    return _settle_stopped(run, how)


def _settle_stopped(run: Run, how: str | None) -> dict:
    """Record "stopped" for a run whose process ended while stopping without writing a final state."""
    recorded = run.recorded_status() or {}
    if recorded.get("state") in ACTIVE_STATES and not pid_alive(recorded.get("pid"), recorded.get("pid_start"),
                                                                      recorded.get("updated"), recorded.get("booted")):
        message = f"stopped with {how}: the trainer did not stop in time" if how else "stopped"
        run.update_status(state="stopped", message=message, only_if=ACTIVE_STATES)
    return run.status()


def paused_pids(run: Run) -> list[int]:
    """The run's processes here that are paused (Ctrl-Z in its terminal, SIGSTOP): its trainer, its `--workers N`
    launcher and workers. Empty for a run not active, or another pid space's (whose pids mean nothing here)."""
    status = run.status()
    if status["state"] not in ACTIVE_STATES or not same_pid_space(status):
        return []
    return [pid for pid, _ in run_processes(status) if process_paused(pid)]


def continue_paused(run: Run, pids: list[int] | None = None) -> list[int]:
    """Continue a paused training (SIGCONT to each of its paused processes, or to `pids` found so), from any app or
    terminal; the pids."""
    pids = paused_pids(run) if pids is None else pids
    for pid in pids:
        try:
            os.kill(pid, signal.SIGCONT)
        except OSError:
            pass
    return pids


CONTINUED_MESSAGE = ("run {run} was paused (pid {pids}): continued, it goes on where it was in its own process (its "
                     "terminal, or train.log); follow it with `glr runs`, stop it with `glr stop {run}`")


def continued(run: Run, epochs: int | None = None) -> str | None:
    """For a resume asked (the app's Resume, `glr train --resume`) of a run whose training is paused here: continue
    it and say so (None if it is not paused). RunError with `epochs`, which only a new training process takes."""
    if not paused_pids(run):
        return None
    if epochs is not None:
        raise RunError(f"run {run.id} is paused, not stopped: it can only be continued as it is; to change its "
                       "epochs, stop it (`glr stop`), then resume it with --epochs")
    pids = continue_paused(run)
    return CONTINUED_MESSAGE.format(run=run.id, pids=", ".join(map(str, pids)))


def resume(run: Run, results_dir: str | os.PathLike | None = None, *, argv_prefix: list[str] | None = None,
           workers: int = 1, epochs: int | None = None) -> Run:
    """Continue a stopped or failed run from its last checkpoint, in a new training process; `epochs`: its new total.

    A run whose training is paused here (Ctrl-Z, SIGSTOP) is continued where it was, in its own process: nothing is
    lost, and no second training starts (`epochs` is then refused: it is set only by a new training process).
    """
    if continued(run, epochs):
        return run
    return launch(results_dir or run.results_dir, resume_run=resumable(run, epochs), argv_prefix=argv_prefix,
                  workers=workers, epochs=epochs)


def delete_run(run: Run) -> None:
    """Delete the run folder, or only the link when runs/ holds a link to one; RunError if its training is still going."""
    link = run.path.is_symlink()  # rmtree refuses a link, and the run it points to (perhaps elsewhere) is not ours
    state = None if link else run.status()["state"]
    if state in ACTIVE_STATES:
        raise RunError(f"run {run.id} is still {state}; stop it before deleting it")
    try:
        run.path.unlink() if link else shutil.rmtree(run.path)
    except OSError as exc:  # a read-only results folder (shared, on a mounted disk), no permission
        raise RunError(f"run {run.id} could not be deleted: {exc.filename}: {exc.strerror or exc}") from None

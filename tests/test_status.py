"""glr.training.status: a run's status as read by everyone watching it."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from glr.training.run import Run
from glr.training.status import DIED_MESSAGE


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_a_dead_training_in_a_renamed_folder_names_the_rename_and_a_write_adopts_the_new_name(tmp_path):
    run = Run.create(tmp_path, {"train": {"epochs": 2}}, run_id="first")
    run.update_status(state="running", pid=_dead_pid())
    assert run.status()["message"] == DIED_MESSAGE  # not renamed: the usual words
    os.rename(run.path, run.path.with_name("second"))
    moved = Run(run.path.with_name("second"))
    status = moved.status()
    assert status["run_id"] == "second" and status["state"] == "failed"
    assert "this run folder was renamed (it was first)" in status["message"]
    moved.update_status(state="stopped")
    assert json.loads(moved.status_path.read_text())["run_id"] == "second"


def test_a_run_folder_copied_while_it_trains_is_not_running_in_the_copy(tmp_path):
    # cp -r / rsync of a live run: the copy held the same pid and "running", so it showed running for as long as
    # the original trained (its progress frozen), and a stop of the copy signalled the original's trainer.
    import shutil

    from glr.training.folder_identity import COPIED_MESSAGE

    run = Run.create(tmp_path / "results", {"train": {"epochs": 2}}, run_id="live")
    run.update_status(state="running", pid=os.getpid())  # this process stands for the live trainer
    copy = Run(shutil.copytree(run.path, tmp_path / "backup" / "runs" / "live"))  # the same name elsewhere too
    status = copy.status()
    assert status["state"] == "failed" and status["message"] == COPIED_MESSAGE.format(original=run.path)
    assert run.status()["state"] == "running"  # the original trains on
    renamed = Run(run.path.with_name("kept"))
    os.rename(run.path, renamed.path)
    assert renamed.status()["state"] == "running"  # `mv` on the same disk: the same folder, as before
    copy.update_status(state="running", pid=os.getpid())  # resumed in the copy: now its own live run
    assert copy.status()["state"] == "running"


def _running_elsewhere(results, pid: int) -> Run:
    """A run another container (or machine) trains into this shared results folder: its status and lock name its pid space."""
    from glr.training import launch

    run = Run.create(results, {"train": {"epochs": 2}}, run_id="theirs")
    run.update_status(state="running", pid=pid, host="gpu-box-2", machine="0000-boot/4026532999")
    launch.acquire_lock(results, "theirs")
    lock_file = results / launch.LOCK_NAME
    lock = json.loads(lock_file.read_text())
    lock_file.write_text(json.dumps({**lock, "host": "gpu-box-2", "machine": "0000-boot/4026532999", "pid": pid}))
    return run


def test_another_machines_live_training_is_running_whatever_its_pid_is_here(tmp_path):
    # Its pid was looked up on this machine: dead here, so a live training there was listed "failed".
    run = _running_elsewhere(tmp_path / "results", _dead_pid())
    assert run.status()["state"] == "running"
    from glr.training.run_table import list_runs

    assert list_runs(tmp_path / "results").set_index("run_id").loc["theirs", "state"] == "running"


def test_another_machines_dead_training_is_failed_though_its_pid_lives_here(tmp_path):
    # The reverse: its pid happened to be a live process here (this one), so a training dead there stayed "running".
    from glr.training import launch
    from glr.training.machine import BEAT_STALE
    from glr.training.status import ELSEWHERE_DIED_MESSAGE

    results = tmp_path / "results"
    run = _running_elsewhere(results, os.getpid())
    old = __import__("time").time() - BEAT_STALE - 5
    os.utime(results / launch.LOCK_NAME, (old, old))  # its lock no longer beats: the trainer died there
    status = run.status()
    assert status["state"] == "failed"
    assert status["message"] == ELSEWHERE_DIED_MESSAGE.format(host="gpu-box-2")
    (results / launch.LOCK_NAME).unlink()
    assert run.status()["state"] == "failed"  # no lock at all: nothing runs it


def test_a_status_written_here_names_this_pid_space(tmp_path):
    from glr.training.machine import machine_id

    run = Run.create(tmp_path, {"train": {"epochs": 2}}, run_id="mine")
    run.update_status(state="running", pid=os.getpid())
    recorded = json.loads(run.status_path.read_text())
    assert recorded["machine"] == machine_id() and recorded["host"]
    assert run.status()["state"] == "running"


def test_a_training_whose_process_is_paused_says_so_and_goes_on_when_continued(tmp_path):
    # Ctrl-Z in the terminal of `glr train` (or SIGSTOP): the app showed it "running", its bar still, with no word why.
    import signal
    import subprocess
    import sys
    import time

    from glr.training.run import Run

    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        run = Run.create(tmp_path / "results", {"train": {}}, run_id="paused")
        run.update_status(state="running", pid=proc.pid, message="phase 1: training the head")
        os.kill(proc.pid, signal.SIGSTOP)
        deadline = time.monotonic() + 10
        while "paused" not in run.status()["message"] and time.monotonic() < deadline:
            time.sleep(0.02)
        status = run.status()
        assert status["state"] == "running"  # alive: its lock is held and nothing is taken from it
        assert status["message"] == (f"paused: its training process (pid {proc.pid}) is stopped (Ctrl-Z in its "
                                     f"terminal, or SIGSTOP); it goes on where it was when continued (`fg` there, or "
                                     f"`kill -CONT {proc.pid}`)")
        os.kill(proc.pid, signal.SIGCONT)
        while "paused" in run.status()["message"] and time.monotonic() < deadline:
            time.sleep(0.02)
        assert run.status()["message"] == "phase 1: training the head"
    finally:
        proc.kill()
        proc.wait()

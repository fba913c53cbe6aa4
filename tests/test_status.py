"""glr.training.status: a run's status as read by everyone watching it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

from glr.training.run import Run, RunError
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


def _age(path, seconds):
    import time

    os.utime(path, (time.time() - seconds,) * 2)


def _queued_elsewhere(results, run_id="theirs", **queuer):
    """A run queued (no trainer yet) by a process of another pid space on a shared results folder."""
    run = Run.create(results, {"train": {}}, run_id=run_id)
    status = json.loads(run.status_path.read_text())
    status.update({"queued_by": 999_999_999, "queued_by_machine": "0ther-b00t/4026532999",
                   "queued_by_host": "gpu-box-2"}, **queuer)
    run.status_path.write_text(json.dumps(status))
    return run


def test_a_run_queued_by_another_computer_whose_app_died_is_never_started_after_the_staleness_rule(tmp_path):
    # The app (or `glr train`) on another computer queued it, then died before its trainer began: the run stayed
    # "queued" for ever here, the newest active run, and could be neither resumed nor deleted.
    from glr.training import launch
    from glr.training.machine import BEAT_STALE
    from glr.training.resuming import resumable

    run = _queued_elsewhere(tmp_path / "results")
    assert run.status()["state"] == "queued"  # just queued there: its trainer may be starting
    _age(run.status_path, BEAT_STALE - 20)
    assert run.status()["state"] == "queued"
    _age(run.status_path, BEAT_STALE + 5)
    status = run.status()
    assert status["state"] == "failed"
    assert status["message"] == ("never started: the process on gpu-box-2 (another computer or container) that queued "
                                 "it (pid 999999999) has not touched it for over 2 minutes, and no training holds the "
                                 "results folder for it; resume it to train it here, or delete it")
    assert resumable(run) is run
    # A lock of the results folder naming it, still beating there: its trainer is starting, so it is still queued.
    launch.acquire_lock(tmp_path / "results", "theirs")
    lock_file = tmp_path / "results" / launch.LOCK_NAME
    lock_file.write_text(json.dumps({**json.loads(lock_file.read_text()), "machine": "0ther-b00t/4026532999",
                                     "host": "gpu-box-2", "pid": 999_999_999}))
    assert run.status()["state"] == "queued"


def test_a_queuer_beats_its_run_while_it_waits_to_start_the_trainer_and_stops_when_it_dies(tmp_path):
    # `glr train` queues the run, then loads TensorFlow and checks the dataset before its trainer takes the lock:
    # another computer must see it queued while that process lives, however long that takes.
    import time

    script = ("import sys, time\nfrom glr.training import status\nfrom glr.training.run import Run\n"
              "status.BEAT_SECONDS = 0.05\nrun = Run.create(sys.argv[1], {'train': {}}, run_id='q')\n"
              "print('queued', flush=True)\ntime.sleep(60)\n")
    proc = subprocess.Popen([sys.executable, "-c", script, str(tmp_path / "results")], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "queued"
        path = tmp_path / "results" / "runs" / "q" / "status.json"
        _age(path, 3600)
        deadline = time.monotonic() + 10
        while time.time() - path.stat().st_mtime > 60 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert time.time() - path.stat().st_mtime < 60  # touched again while it waits
    finally:
        proc.kill()
        proc.wait()
    _age(path, 3600)
    time.sleep(0.3)
    assert time.time() - path.stat().st_mtime > 3000  # dead: it beats no more


def test_a_run_queued_a_moment_ago_by_a_cloned_machine_is_not_taken_for_one_of_ours_from_before_a_reboot(
        tmp_path, monkeypatch):
    # A VM cloned from ours shares its host name, machine-id and pid namespace under another boot id: its run,
    # queued a moment ago, read "never started" here at once, as if queued by this machine before it restarted.
    import socket

    from glr.training import machine

    namespace = machine.machine_id().split("/")[1]
    run = _queued_elsewhere(tmp_path / "results", queued_by_machine=f"c10ne-b00t/{namespace}",
                            queued_by_host=socket.gethostname(), queued_by_host_id=machine.host_id())
    monkeypatch.setattr(machine, "uptime", lambda: 30.0)
    assert run.status()["state"] == "queued"  # its clone is starting its trainer
    _age(run.status_path, 50)  # silent since before this machine booted (30 s ago): queued here before a reboot
    assert run.status()["state"] == "failed" and run.status()["message"].startswith("never started: the process that")


HOLD_PAUSED = """
import os, signal, sys
from filelock import FileLock
lock = FileLock(sys.argv[1])
lock.acquire()
print("held", flush=True)
os.kill(os.getpid(), signal.SIGSTOP)  # paused while it holds the lock, as Ctrl-Z in a write would leave it
"""


def _paused_holder(run):
    """A process that holds the run's status lock, paused (SIGSTOP) in the middle of its write."""
    from glr.training.processes import process_paused
    from glr.training.status import STATUS_GUARD

    holder = subprocess.Popen([sys.executable, "-c", HOLD_PAUSED, str(run.path / STATUS_GUARD)], stdout=subprocess.PIPE,
                              text=True)
    assert holder.stdout.readline().strip() == "held"
    for _ in range(500):
        if process_paused(holder.pid):
            break
        time.sleep(0.01)
    return holder


def _in_thread(call):
    """Run `call` in a daemon thread; the thread, and a dict that gets its result or error."""
    import threading

    outcome = {}

    def target():
        try:
            outcome["result"] = call()
        except Exception as exc:  # noqa: BLE001 (handed to the test)
            outcome["error"] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    return thread, outcome


def test_a_process_paused_holding_the_status_lock_freezes_no_reader_and_a_stop_says_who_holds_it(tmp_path, monkeypatch):
    # A process paused (Ctrl-Z) while it wrote a run's status held its lock for good: the page's Stop and `glr stop`
    # waited for it for ever, freezing the page. Readers (the Train page, `glr runs`) take no lock: they read on.
    from glr.training import launch, status as status_module
    from glr.training.run_table import list_runs

    monkeypatch.setattr(status_module, "STATUS_WRITE_SECONDS", 0.5, raising=False)
    trainer = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    run = Run.create(tmp_path / "results", {"train": {"epochs": 2}}, run_id="held")
    run.update_status(state="running", pid=trainer.pid)
    holder = _paused_holder(run)
    try:
        reading, read = _in_thread(lambda: (run.status()["state"], list(list_runs(tmp_path / "results")["state"])))
        reading.join(20)
        assert not reading.is_alive() and read["result"] == ("running", ["running"])
        stopping, stopped = _in_thread(lambda: launch.stop(run))
        stopping.join(20)
        assert not stopping.is_alive(), "the stop waited for the paused holder of the status lock"
        message = str(stopped["error"])
        assert isinstance(stopped["error"], RunError) and f"(pid {holder.pid}, paused)" in message
        assert f"kill -CONT {holder.pid}" in message and ".status.lock" in message
        assert run.stop_requested() and "the stop flag is raised all the same" in message  # the trainer stops at its next batch
    finally:
        for proc in (holder, trainer):
            proc.kill()
            proc.wait()


def test_the_runs_own_trainer_waits_out_a_paused_holder_of_the_status_lock_and_writes(tmp_path, monkeypatch):
    # Its writes are the run's record: a training must not fail because an onlooker was paused mid-write.
    import signal

    from glr.training import status as status_module

    monkeypatch.setattr(status_module, "STATUS_WRITE_SECONDS", 0.2, raising=False)
    run = Run.create(tmp_path / "results", {"train": {"epochs": 2}}, run_id="mine")
    run.update_status(state="running", pid=os.getpid())  # this process stands for the trainer
    holder = _paused_holder(run)
    try:
        writing, wrote = _in_thread(lambda: run.update_status(epoch=1))
        writing.join(1.0)
        assert writing.is_alive()  # still waiting, past STATUS_WRITE_SECONDS
        os.kill(holder.pid, signal.SIGKILL)  # the holder goes: the lock with it
        writing.join(20)
        assert wrote == {"result": True} and run.recorded_status()["epoch"] == 1
    finally:
        holder.kill()
        holder.wait()

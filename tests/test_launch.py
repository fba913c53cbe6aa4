"""glr.training.launch: the training lock and `stop` never take a later process, given a dead trainer's pid, for it."""

import errno
import json
import os
import subprocess
import sys
import time
from datetime import datetime, timedelta

import pytest

from glr.paths import PROJECT_ROOT
from glr.training import launch, train_lock
from glr.training.run import Run, RunError
from glr.training.status import DIED_MESSAGE


@pytest.fixture
def stranger():
    """An unrelated process, started now: the system gave it the pid a dead trainer had."""
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    yield proc
    proc.kill()
    proc.wait()


def long_ago() -> str:
    return (datetime.now().astimezone() - timedelta(minutes=5)).isoformat(timespec="seconds")


@pytest.mark.parametrize("recorded", ["no start time", "another start time"])
def test_a_run_whose_pid_was_reused_is_not_running_and_stop_spares_the_process(tmp_path, stranger, recorded):
    """A status written before glr kept start times showed "running" for ever, and `stop --wait` killed the stranger."""
    from glr.training.processes import process_start

    run = Run.create(tmp_path, {"train": {}})
    status = json.loads(run.status_path.read_text())
    start = None if recorded == "no start time" else process_start(stranger.pid) - 60
    status.update(state="running", pid=stranger.pid, pid_start=start, started=long_ago(), updated=long_ago())
    run.status_path.write_text(json.dumps(status))
    assert run.status()["state"] == "failed" and run.status()["message"] == DIED_MESSAGE
    launch.stop(run, timeout=0.2, wait=True, grace=0.2)
    assert stranger.poll() is None  # never signalled


def test_a_live_trainer_recorded_without_a_start_time_is_still_running(tmp_path, stranger):
    run = Run.create(tmp_path, {"train": {}})
    status = json.loads(run.status_path.read_text())
    status.update(state="running", pid=stranger.pid, pid_start=None)  # written now, after it started
    run.status_path.write_text(json.dumps(status))
    assert run.status()["state"] == "running"


def test_a_lock_recorded_without_a_start_time_whose_pid_was_reused_is_stale(tmp_path, stranger):
    """"another training is running" for ever: the lock's pid now belonged to an unrelated process."""
    (tmp_path / launch.LOCK_NAME).write_text(json.dumps({"pid": stranger.pid, "run_id": "old", "created": long_ago()}))
    assert launch.read_lock(tmp_path) is None
    launch.acquire_lock(tmp_path, "fresh")
    assert launch.read_lock(tmp_path)["run_id"] == "fresh"


# --- a results folder that cannot be written (a read-only file system, a shared folder) -----------------------------


class ReadOnlyGuard:
    """The guard lock of a results folder on a read-only file system: it cannot even be opened."""

    def __init__(self, path, **kwargs):
        self.path = str(path)

    def acquire(self, timeout=None):  # as FileLock.acquire
        raise OSError(errno.EROFS, "Read-only file system", self.path)

    def release(self):
        pass

    __enter__ = acquire

    def __exit__(self, *exc):
        self.release()


def test_a_read_only_results_folder_still_shows_its_lock_and_refuses_a_start_clearly(tmp_path, monkeypatch):
    """OSError from the guard: every page's sidebar (which reads the lock) failed with a traceback."""
    launch.acquire_lock(tmp_path, "running-elsewhere")  # held by this process: a live training
    monkeypatch.setattr(train_lock, "FileLock", ReadOnlyGuard)
    assert launch.read_lock(tmp_path)["run_id"] == "running-elsewhere"
    (tmp_path / launch.LOCK_NAME).unlink()
    assert launch.read_lock(tmp_path) is None
    with pytest.raises(RunError, match=r"cannot be written \(Read-only file system\): a training writes its run "
                                       r"there; choose a writable results folder"):
        launch.launch(tmp_path, {"train": {}}, argv_prefix=[sys.executable, "-c", "pass"])
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


def test_deleting_a_run_in_a_read_only_results_folder_says_so(tmp_path, monkeypatch):
    run = Run.create(tmp_path, {"train": {}})
    run.update_status(state="stopped")

    def read_only(path, *args, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system", str(path / "status.json"))

    monkeypatch.setattr(launch.shutil, "rmtree", read_only)
    with pytest.raises(RunError, match=f"run {run.id} could not be deleted: .*status.json: Read-only file system"):
        launch.delete_run(run)


# --- stop while the run finishes --------------------------------------------------------------------------------------

# A trainer at its end: the model saved, evaluating until the test says "go"; SIGTERM asks a stop, as the trainer's does.
FINISHER = """
import os, signal, sys, time
from pathlib import Path
from glr.training.run import Run
run = Run(sys.argv[1])
signal.signal(signal.SIGTERM, lambda *_: run.request_stop())
run.update_status(state="running", pid=os.getpid(), phase="evaluating")
go = Path(sys.argv[2])
while not go.exists():
    time.sleep(0.02)
run.update_status(state="finished", phase="done", message="top-1 0.9")
"""


def test_stop_wait_of_a_run_finishing_its_evaluation_lets_it_finish(tmp_path):
    """SIGTERM, then SIGKILL 10 s later: a trained, saved model lost its evaluation and the run ended "stopped"."""
    run = Run.create(tmp_path, {"train": {}})
    go = tmp_path / "go"
    proc = subprocess.Popen([sys.executable, "-c", FINISHER, str(run.path), str(go)],
                            env=dict(os.environ, PYTHONPATH=str(PROJECT_ROOT)))
    try:
        deadline = time.monotonic() + 60
        while (run.recorded_status() or {}).get("phase") != "evaluating":
            assert proc.poll() is None and time.monotonic() < deadline
            time.sleep(0.02)
        status = launch.stop(run, timeout=0.2, wait=True, grace=0.2)
        assert status["state"] == "stopping" and status["message"] == launch.FINISHING_MESSAGE
        assert proc.poll() is None  # no signal that ends it
        go.touch()
        assert proc.wait(timeout=60) == 0
        assert run.status()["state"] == "finished"
    finally:
        proc.kill()
        proc.wait()


def test_glr_train_into_a_read_only_results_folder_says_so_before_making_a_run(tmp_path, monkeypatch, tiny_data):
    """`python -m glr train --results <read-only>`: a traceback, OSError from the run folder's mkdir."""
    from conftest import tiny_config

    monkeypatch.setattr(train_lock, "FileLock", ReadOnlyGuard)
    with pytest.raises(RunError, match="cannot be written \\(Read-only file system\\)"):
        launch.new_run(tmp_path, tiny_config(tiny_data))
    assert not (tmp_path / "runs").exists()


# `--workers 2` before its epochs, in stand-ins (no TensorFlow): the chief extracts features, hears its stop flag, says
# "stopped" and then takes TensorFlow's seconds to exit; worker 1 waits in a collective for the chief's features, and
# fails once the chief is gone (its heartbeat, "UnavailableError: Socket closed").
WORKERS_BEFORE_EPOCHS = """
import json, os, sys, time
from glr.training.processes import pid_alive
from glr.training.run import Run
run = Run(sys.argv[sys.argv.index("--run-dir") + 1])
if json.loads(os.environ["TF_CONFIG"])["task"]["index"] == 0:
    run.update_status(state="running", pid=os.getpid(), phase="extracting features")
    while not run.stop_requested():
        time.sleep(0.02)
    run.update_status(state="stopped", message="stopped on request; --resume continues")
    time.sleep(6)
    sys.exit(0)
import tempfile  # as TensorFlow's AutoGraph writes its generated code, deleted at exit (not when killed)
with tempfile.NamedTemporaryFile("w", prefix="__autograph_generated_file", suffix=".py", delete=False) as code:
    (run.path / "worker1-temp.txt").write_text(code.name)
while not (run.recorded_status() or {}).get("worker_starts"):
    time.sleep(0.02)
status = run.recorded_status()
while pid_alive(status["worker_pids"][0], status["worker_starts"][0]):
    time.sleep(0.02)
print("tensorflow.python.framework.errors_impl.UnavailableError: Socket closed", file=sys.stderr, flush=True)
sys.exit(1)
"""


def test_the_stop_button_stops_a_workers_run_before_its_epochs_at_once_and_stopped(tmp_path, tiny_data, monkeypatch):
    """The flag reached the chief alone: the launcher waited out its exit, then worker 1's failed collective ended
    the run "failed" 8.5 s after the Stop (a real `--workers 2` run, stopped while extracting features)."""
    import threading
    from pathlib import Path

    from conftest import tiny_config
    from glr.training import workers
    from glr.training.processes import pid_alive

    monkeypatch.setattr(workers, "WORKER_ARGV", [sys.executable, "-c", WORKERS_BEFORE_EPOCHS])
    run = launch.new_run(tmp_path, tiny_config(tiny_data))
    trainer = threading.Thread(target=workers.train_local, args=(run, 2), daemon=True)
    trainer.start()
    deadline = time.monotonic() + 60
    while (run.recorded_status() or {}).get("phase") != "extracting features" or not run.status().get("worker_starts") \
            or not (run.path / "worker1-temp.txt").exists():
        assert trainer.is_alive() and time.monotonic() < deadline
        time.sleep(0.02)
    status = run.status()
    asked = time.monotonic()
    launch.stop(run)  # the Train page's Stop: the flag, and "stopping"
    trainer.join(timeout=60)
    took = time.monotonic() - asked
    assert not trainer.is_alive()
    assert run.status()["state"] == "stopped", run.status()["message"]
    assert took < 3, took  # the launcher hears the flag within its poll, 0.2 s
    assert not any(pid_alive(p, s) for p, s in zip(status["worker_pids"], status["worker_starts"]))
    assert launch.read_lock(tmp_path) is None
    left = Path((run.path / "worker1-temp.txt").read_text())  # worker 1, killed, could not delete it
    assert not left.exists(), left


def test_stop_wait_of_another_machines_training_signals_no_process_here(tmp_path, stranger):
    # Its pid was signalled on this machine after the wait: SIGTERM, then SIGKILL, to whatever process had that pid here.
    results = tmp_path / "results"
    run = Run.create(results, {"train": {"epochs": 2}}, run_id="theirs")
    run.update_status(state="running", pid=stranger.pid, host="gpu-box-2", machine="0000-boot/4026532999")
    launch.acquire_lock(results, "theirs")
    lock_file = results / launch.LOCK_NAME
    lock_file.write_text(json.dumps({**json.loads(lock_file.read_text()), "machine": "0000-boot/4026532999",
                                     "host": "gpu-box-2", "pid": stranger.pid}))
    status = launch.stop(run, timeout=0.2, wait=True, grace=0.2)
    assert status["state"] == "stopping" and run.stop_path.exists()  # its trainer there sees the flag
    assert stranger.poll() is None  # the process with that pid here lives on


def _stopped(results, data):
    """A stopped run that a resume accepts (its dataset there, its files readable)."""
    run = Run.create(results, {"train": {"epochs": 4}, "data": str(data)}, run_id="r")
    run.update_status(state="stopped", epochs=4, message="stopped on request")
    return run


def test_two_resumes_of_one_run_at_one_moment_start_one_training_and_the_other_says_so(tmp_path):
    # Two app instances (or the app and `glr train --resume`) pressed Resume together: the second was told "another
    # training is running: r (pid N); stop it first", as if some other run held the folder.
    from glr.training.resuming import resumable

    run = _stopped(tmp_path / "results", tmp_path)
    assert resumable(run) is run  # both checked it before either took the lock
    launch.acquire_lock(run.results_dir, run.id)  # the first one's launch holds it now
    with pytest.raises(RunError, match=r"^run r is being resumed already \(pid \d+\): its training is starting"):
        launch.launch(run.results_dir, resume_run=run, argv_prefix=[sys.executable, "-c", "pass"])
    assert run.status()["state"] == "stopped"


def test_a_resume_checked_before_another_resumed_and_finished_the_run_is_refused_under_the_lock(tmp_path):
    # Checked before the lock was taken: the other instance's resume ran to the end in between, and this one then
    # queued the finished run again and started a trainer on it.
    from glr.training.resuming import resumable

    run = _stopped(tmp_path / "results", tmp_path)
    assert resumable(run) is run
    run.update_status(state="finished", message="done")  # the other resume, start to end
    with pytest.raises(RunError, match="run r has finished; start a new run to train more"):
        launch.launch(run.results_dir, resume_run=run, argv_prefix=[sys.executable, "-c", "pass"])
    assert run.status()["state"] == "finished" and launch.read_lock(run.results_dir) is None


FAKE_TRAINER = """
import os, sys, time
from glr.training.run import Run
from glr.training.train_lock import training_lock
run = Run(sys.argv[sys.argv.index("--run-dir") + 1])
with training_lock(run.results_dir, run.id):
    run.update_status(state="running", pid=os.getpid())
    time.sleep(3)
    run.update_status(state="finished", message="done")
"""

APP_SERVER = """
import sys, time
from glr.training import launch
run = launch.launch(sys.argv[1], {"train": {}}, argv_prefix=[sys.executable, "-c", sys.argv[2]])
print(run.path, flush=True)
time.sleep(120)
"""


def test_a_training_started_by_an_app_server_killed_since_trains_on_and_a_new_server_follows_it(tmp_path):
    # The browser tab closed and the Streamlit server killed (restarted) while the training it started runs.
    env = dict(os.environ, PYTHONPATH=str(PROJECT_ROOT))
    server = subprocess.Popen([sys.executable, "-c", APP_SERVER, str(tmp_path / "results"), FAKE_TRAINER],
                              stdout=subprocess.PIPE, text=True, env=env)
    try:
        run = Run(server.stdout.readline().strip())
        deadline = time.monotonic() + 60
        while run.status()["state"] != "running" and time.monotonic() < deadline:
            time.sleep(0.05)
        server.kill()
        server.wait()
        assert run.status()["state"] == "running"  # this process is the new server: it sees the training live
        assert launch.read_lock(tmp_path / "results")["run_id"] == run.id
        with pytest.raises(RunError, match="another training is running"):
            launch.acquire_lock(tmp_path / "results", "second")
        while run.status()["state"] == "running" and time.monotonic() < deadline:
            time.sleep(0.05)
        assert run.status()["state"] == "finished"  # it trained on to its end
        # The trainer lets the lock go as it exits, just after its last status: on a loaded machine a moment later.
        assert _wait(lambda: launch.read_lock(tmp_path / "results") is None, 10)
    finally:
        server.kill()
        server.wait()


# --- a paused training, from any app or terminal ----------------------------------------------------------------------

# A trainer that trains in steps until a stop is asked, under the results folder's lock (its beat every 0.05 s).
LOOPER = """
import os, sys, time
from glr.training import train_lock
from glr.training.run import Run
train_lock.BEAT_SECONDS = 0.05
run = Run(sys.argv[sys.argv.index("--run-dir") + 1])
with train_lock.training_lock(run.results_dir, run.id):
    run.update_status(state="running", pid=os.getpid(), message="phase 1: training the head")
    step = 0
    while not run.stop_requested():
        step += 1
        run.report_progress(step=step)
        time.sleep(0.02)
    run.update_status(state="stopped", message="stopped on request; --resume continues")
"""


def _wait(predicate, seconds=30.0) -> bool:
    deadline = time.monotonic() + seconds
    while not predicate() and time.monotonic() < deadline:
        time.sleep(0.02)
    return predicate()


def _paused_training(results):
    """A training the app launched, running, then paused (SIGSTOP, as Ctrl-Z does)."""
    import signal

    run = launch.launch(results, {"train": {}}, argv_prefix=[sys.executable, "-c", LOOPER])
    assert _wait(lambda: run.status()["state"] == "running")
    pid = run.status()["pid"]
    from filelock import FileLock

    from glr.training.status import STATUS_GUARD

    # Paused outside its file locks, so that the test may write as another computer would (a pause inside one is
    # test_train_lock.py::test_a_process_paused_while_it_holds_the_lock_guard_blocks_no_reader_and_no_start_for_ever).
    with FileLock(run.path / STATUS_GUARD), FileLock(results / launch.LOCK_GUARD):
        os.kill(pid, signal.SIGSTOP)
    assert _wait(lambda: launch.paused_pids(run) == [pid])
    return run, pid


def test_a_paused_training_is_continued_by_a_resume_from_any_app_and_stopped_cleanly_by_a_stop(tmp_path):
    # A training paused (Ctrl-Z, SIGSTOP) stayed "running" for good: a resume from another app session or tab was
    # refused ("still running; stop it first"), and Stop raised a flag it never saw: `stop --wait` SIGKILLed it after
    # 40 s, losing its batches since the last checkpoint.
    import signal

    import psutil

    run, pid = _paused_training(tmp_path / "results")
    try:
        assert launch.resume(run) is run  # the Resume of another tab: continued where it was, no second training
        assert _wait(lambda: not launch.paused_pids(run))
        assert run.status()["pid"] == pid and run.status()["state"] == "running"
        assert launch.read_lock(tmp_path / "results")["pid"] == pid
        step = run.recorded_status()["step"]
        assert _wait(lambda: run.recorded_status()["step"] > step)  # it trains on
        with pytest.raises(RunError, match="run .* is paused, not stopped: it can only be continued as it is"):
            os.kill(pid, signal.SIGSTOP)
            assert _wait(lambda: launch.paused_pids(run) == [pid])
            launch.resume(run, epochs=9)  # --epochs needs a new training process
        started = time.monotonic()
        status = launch.stop(run, wait=True, timeout=20)  # paused: continued, so it sees the stop and saves
        assert (status["state"], status["message"]) == ("stopped", "stopped on request; --resume continues")
        assert time.monotonic() - started < 15  # not the SIGTERM and SIGKILL of a trainer that never answered
        assert _wait(lambda: launch.read_lock(tmp_path / "results") is None, 10)  # let go as the trainer exits
    finally:
        if psutil.pid_exists(pid):
            os.kill(pid, signal.SIGKILL)


def test_glr_train_resume_of_a_paused_training_continues_it(tmp_path):
    # `glr train --resume RUN` in another terminal while the app's training is paused: refused, "still running".
    import signal

    import psutil

    run, pid = _paused_training(tmp_path / "results")
    try:
        env = dict(os.environ, PYTHONPATH=str(PROJECT_ROOT))
        done = subprocess.run([sys.executable, "-m", "glr", "train", "--resume", run.id, "--results",
                               str(tmp_path / "results")], capture_output=True, text=True, env=env, timeout=120)
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip() == launch.CONTINUED_MESSAGE.format(run=run.id, pids=pid)
        assert _wait(lambda: not launch.paused_pids(run))
        assert launch.stop(run, wait=True, timeout=20)["state"] == "stopped"
    finally:
        if psutil.pid_exists(pid):
            os.kill(pid, signal.SIGKILL)


def test_the_launcher_does_not_beat_for_its_trainer_while_it_is_paused(tmp_path, monkeypatch):
    # The app that launched a trainer beat its lock while the trainer lived, paused or not: another computer sharing
    # the results folder saw a training paused there (Ctrl-Z, SIGSTOP) "running" for as long as that app lived.
    import signal

    monkeypatch.setattr(train_lock, "BEAT_SECONDS", 0.05)
    results = tmp_path / "results"
    lock_file = results / launch.LOCK_NAME
    run = launch.launch(results, {"train": {}}, argv_prefix=[sys.executable, "-c", "import time; time.sleep(30)"])
    pid = run.status()["pid"]
    try:
        os.kill(pid, signal.SIGSTOP)
        assert _wait(lambda: launch.paused_pids(run) == [pid])
        old = time.time() - 3600
        os.utime(lock_file, (old, old))
        time.sleep(0.5)  # ten beats
        assert lock_file.stat().st_mtime == old  # silent: another pid space may judge it stale in time
        os.kill(pid, signal.SIGCONT)
        assert _wait(lambda: time.time() - lock_file.stat().st_mtime < 60)  # continued: beaten again
    finally:
        os.kill(pid, signal.SIGKILL)


def test_a_trainer_paused_while_its_run_was_resumed_elsewhere_ends_at_once_writing_nothing(tmp_path):
    # A trainer paused past 2 minutes: another computer sharing the results folder judged it stale and resumed the
    # same run. Continued, the first trainer found the lock naming its own run and trained on beside the second,
    # one run folder written by two processes.
    import signal

    run, pid = _paused_training(tmp_path / "results")
    lock_file = tmp_path / "results" / launch.LOCK_NAME
    try:
        theirs = {**json.loads(lock_file.read_text()), "host": "gpu-box-2", "machine": "0ther-b00t/4026532999",
                  "pid": 4242}
        lock_file.write_text(json.dumps(theirs))  # the resume there took the lock for this run
        # Written there (not through update_status here: the paused trainer may hold the status's file lock).
        from glr.atomic import write_json

        write_json(run.status_path, {**run.recorded_status(), "pid": 4242, "machine": "0ther-b00t/4026532999",
                                     "host": "gpu-box-2"})
        os.kill(pid, signal.SIGCONT)
        assert _wait(lambda: not __import__("psutil").pid_exists(pid) or
                     __import__("psutil").Process(pid).status() == "zombie")
        after = run.recorded_status()  # the run trains there now: not its state or its trainer changed from here
        assert (after["state"], after["pid"], after["machine"]) == ("running", 4242, "0ther-b00t/4026532999")
        assert json.loads(lock_file.read_text())["pid"] == 4242 and not run.stop_requested()
        assert train_lock.RESUMED_ELSEWHERE_MESSAGE.format(me=pid, pid=4242, host="gpu-box-2", minutes=2) in \
            run.log_path.read_text()
    finally:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

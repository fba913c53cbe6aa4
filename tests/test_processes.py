"""glr.training.processes: a local worker ends itself with its launcher, asking the kernel from inside the child;
a trainer ends without the interpreter's last garbage collection."""

import os
import subprocess
import sys
import time

import pytest

from glr.paths import PROJECT_ROOT

linux = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")

# A child as `python -m glr train` starts in a local worker: exit_with_parent first, then it says what the kernel
# will do when its parent dies (PR_GET_PDEATHSIG = 2 writes the signal number into an int).
CHILD = """
import ctypes, os, sys
from glr.training import processes
processes.ORPHANS_KEEP_PARENT_PID = sys.argv[2] == "windows"
processes.exit_with_parent(int(sys.argv[1]), interval=3600)
signal = ctypes.c_int(-1)
ctypes.CDLL(None).prctl(2, ctypes.byref(signal))
print(signal.value, flush=True)
"""


def child(parent: int, env: dict | None = None, system: str = "linux") -> subprocess.CompletedProcess:
    env = dict(os.environ if env is None else env, PYTHONPATH=str(PROJECT_ROOT))
    return subprocess.run([sys.executable, "-c", CHILD, str(parent), system], env=env, capture_output=True,
                          text=True, timeout=60)


@linux
def test_the_child_itself_asks_the_kernel_to_kill_it_with_its_parent():
    """Only the launcher's preexec_fn asked it, between fork and exec: not safe in a process with threads."""
    done = child(os.getpid())
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["9"]  # SIGKILL


def test_a_child_whose_parent_is_already_gone_ends_at_once():
    done = child(1)  # not our parent: the parent it was started by died before it asked the kernel
    assert done.returncode == 1 and done.stdout == "", done.stderr


def test_a_child_whose_parents_pid_was_given_to_another_process_ends_at_once():
    """Where orphans keep their dead parent's pid (Windows), the start time was read in the child: a launcher dead,
    its pid reused, took the new process for the launcher."""
    from glr.training.processes import LAUNCHER_ENV, LAUNCHER_START_ENV, process_started_at

    # Our pid, but not our start time: the launcher that started the worker is another process, now gone.
    env = dict(os.environ, **{LAUNCHER_ENV: str(os.getpid()), LAUNCHER_START_ENV: repr(process_started_at() - 50)})
    done = child(os.getpid(), env, system="windows")
    assert done.returncode == 1 and done.stdout == "", done.stderr


def test_a_workers_watch_is_not_fooled_by_a_clock_step(monkeypatch):
    """A stepped wall clock moves every start time psutil reads: a live launcher looked gone, and its workers exited."""
    import threading

    from glr.training import processes

    parent, looks, ended = os.getppid(), [], threading.Event()

    def getppid():
        looks.append(1)
        return parent if len(looks) < 5 else 1  # the launcher dies at the fifth look

    monkeypatch.setattr(processes, "ORPHANS_KEEP_PARENT_PID", False, raising=False)
    monkeypatch.setattr(processes.os, "getppid", getppid)
    monkeypatch.setattr(processes, "pid_alive", lambda *args: False)  # its start time now reads otherwise
    monkeypatch.setattr(processes.os, "_exit", lambda code: ended.set())
    processes.exit_with_parent(parent, start=123.0, interval=0.01, kernel=False).join(timeout=10)
    assert ended.is_set() and len(looks) == 5


def test_a_child_of_the_launcher_named_in_its_environment_runs_on():
    from glr.training.processes import launcher_env

    done = child(os.getpid(), dict(os.environ, **launcher_env()))
    assert done.returncode == 0, done.stderr


def test_a_process_whose_start_reads_a_second_off_is_still_that_process(monkeypatch):
    """psutil adds Linux's boot time, whole seconds that move when the clock is set again (a laptop waking, NTP):
    an exact match took a live training for dead, its lock for stale. A minute off is another process."""
    import psutil

    from glr.training import processes

    recorded = processes.process_start(os.getpid())
    real = psutil.Process.create_time
    monkeypatch.setattr(psutil.Process, "create_time", lambda self: real(self) + 1.0)
    assert processes.pid_alive(os.getpid(), recorded)
    assert not processes.pid_alive(os.getpid(), recorded - 60)


def _clock_set_back(monkeypatch, seconds: float) -> None:
    """NTP steps the wall clock back: psutil's boot time, and with it every start time psutil reads, move with it."""
    import psutil

    boot, start = psutil.boot_time, psutil.Process.create_time
    monkeypatch.setattr(psutil, "boot_time", lambda: boot() - seconds)
    monkeypatch.setattr(psutil.Process, "create_time", lambda self: start(self) - seconds)


def test_a_process_recorded_before_the_clock_was_set_back_an_hour_is_still_that_process(monkeypatch):
    # Beyond START_SLACK (2 s), a clock step took a live training for dead: its start time read an hour off.
    from glr.training import processes

    recorded, booted = processes.process_start(os.getpid()), processes.boot_time()
    _clock_set_back(monkeypatch, 3600)
    assert processes.pid_alive(os.getpid(), recorded, booted=booted)
    assert not processes.pid_alive(os.getpid(), recorded - 60, booted=booted)  # another process's start: told apart
    assert processes.pid_alive(os.getpid(), recorded, booted="edited") is False  # no boot time to go by: as before


def test_a_training_seen_after_the_clock_was_set_back_runs_on_and_holds_its_lock(tmp_path, monkeypatch):
    # Its status read "failed" (the trainer ended without saying so) and its lock was free: a second training
    # started into the same results folder while the first wrote on.
    from glr.training import launch
    from glr.training.run import Run, RunError

    results = tmp_path / "results"
    run = Run.create(results, {"train": {"epochs": 2}}, run_id="live")
    launch.acquire_lock(results, "live")
    run.update_status(state="running", pid=os.getpid())
    _clock_set_back(monkeypatch, 3600)
    assert run.status()["state"] == "running"
    with pytest.raises(RunError, match="another training is running: live"):
        launch.acquire_lock(results, "second")



def test_a_run_queued_before_the_clock_was_set_back_is_still_queued_not_never_started(tmp_path, monkeypatch):
    # The process that queued it was judged by its start time alone: after NTP set the clock back, a run the app was
    # about to start (or the CLI, importing TensorFlow) read "never started: the process that queued it ended".
    from glr.training.run import Run

    run = Run.create(tmp_path / "results", {"train": {}}, run_id="queued")
    assert run.status()["state"] == "queued"
    _clock_set_back(monkeypatch, 3600)
    assert run.status()["state"] == "queued"


def test_a_run_queued_in_another_pid_space_is_not_judged_by_a_pid_of_this_one(tmp_path):
    # The app on another computer queued it a moment ago, on a shared results folder: its pid, dead here, made it
    # "never started" here, and deletable while its trainer was about to start there.
    import json
    import time

    from glr.training import machine
    from glr.training.run import Run

    run = Run.create(tmp_path / "results", {"train": {}}, run_id="theirs")
    status = json.loads(run.status_path.read_text())
    run.status_path.write_text(json.dumps({**status, "queued_by": 999_999_999, "queued_by_machine": "b00t/4026532999"}))
    assert run.status()["state"] == "queued"
    run.status_path.write_text(json.dumps({**status, "queued_by": 999_999_999}))
    assert run.status()["state"] == "failed"  # of this pid space (or an older glr's record): dead is dead
    # Queued here before this machine restarted: its queuer died with that boot.
    namespace = status["queued_by_machine"].split("/")[1]
    run.status_path.write_text(json.dumps({**status, "queued_by_machine": f"0ld-b00t/{namespace}"}))
    before_boot = time.time() - (machine.uptime() or 0) - 60  # written before this boot, silent since
    os.utime(run.status_path, (before_boot, before_boot))
    assert run.status()["state"] == "failed" and "never started" in run.status()["message"]


def test_a_runs_launcher_and_workers_are_found_to_stop_after_the_clock_was_set_back(monkeypatch):
    # `--workers N`'s launcher and workers were recorded with their start times alone: after a clock step, `stop`
    # no longer found them (no SIGTERM to the launcher, its workers never killed).
    from glr.training import processes

    me, booted = processes.process_start(os.getpid()), processes.boot_time()
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        started = processes.process_start(child.pid)
        status = {"pid": None, "launcher_pid": os.getpid(), "launcher_start": me, "launcher_booted": booted,
                  "worker_pids": [child.pid], "worker_starts": [started], "worker_booted": booted}
        _clock_set_back(monkeypatch, 3600)
        found = dict(processes.run_processes(status))
        assert os.getpid() in found and child.pid in found
        assert processes.any_alive([(child.pid, found[child.pid])])
        processes.kill_processes([(child.pid, found[child.pid])])
        assert child.wait(timeout=10) != 0
    finally:
        child.kill()
        child.wait()


# A trainer's last lines: TensorFlow and Keras imported, its strategy made (as every trainer makes it), a model built.
TRAINER_END = """
import time
import keras
from glr.training.cluster import make_strategy
make_strategy(None)
model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(16), keras.layers.Dense(4)])
model(keras.ops.zeros((1, 8)))
print(time.time(), flush=True)
"""


def test_a_trainer_process_ends_within_a_second_or_so_of_its_last_line():
    """The interpreter's last garbage collection walked TensorFlow's and Keras' objects for 2.6 s here (6-9.5 s for a
    `--workers 2` chief) after the run was "stopped" or "finished", the launcher and the results folder's lock
    waiting for it. 0.3 s without it; 1.5 s leaves a loaded machine its margin."""
    proc = subprocess.Popen([sys.executable, "-c", TRAINER_END], stdout=subprocess.PIPE, text=True,
                            env=dict(os.environ, PYTHONPATH=str(PROJECT_ROOT)))
    last_line = float(proc.stdout.readline())
    assert proc.wait(timeout=60) == 0
    assert time.time() - last_line < 1.5

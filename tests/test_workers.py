"""The `--workers N` launcher (glr.training.workers): stopping every worker together, and failing at once, clearly.

The fast tests start stand-in workers (a few lines of Python, no TensorFlow) in place of
`python -m glr train`; the others start real ones, as tests/test_distributed.py does.
"""

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil
import pytest

from conftest import tiny_config
from glr.training import workers as workers_module
from glr.training.launch import LOCK_NAME, new_run, resumable
from glr.training.run import Run, runs_dir
from glr.training.workers import last_error, train_local
from test_distributed import TIMEOUT, cli_args, only_run

# A stand-in worker: TF_CONFIG says who it is, its stand-in config says what it does.
FAKE = """
import json, os, signal, sys, time
index = json.loads(os.environ["TF_CONFIG"])["task"]["index"]
act = json.loads(os.environ["FAKE_WORKERS"])[index]
def say(text):  # into a file of the test's own: a child's stdout is not always the capture's (pytest's capfd)
    with open(os.environ["FAKE_SAID"], "a") as said:
        said.write(text + "\\n")
say("sigint ignored" if signal.getsignal(signal.SIGINT) == signal.SIG_IGN else "sigint NOT ignored")
say("sighup ignored" if signal.getsignal(signal.SIGHUP) == signal.SIG_IGN else "sighup NOT ignored")
if act == "fail":
    print("W0000 00:00:1 some.cc:1] a TensorFlow log line before", file=sys.stderr, flush=True)
    print(f"error: worker {index} could not import something_needed", file=sys.stderr, flush=True)
    print("I0000 00:00:1 some.cc:2] a TensorFlow log line after", file=sys.stderr, flush=True)
    sys.exit(2)
if act == "diverge":  # the loss NaN before a whole epoch: the chief fails the run saying so, the others end quietly
    if index == 0:
        from glr.training.run import Run
        said = "the loss became NaN at epoch 1: the training diverged; no model to keep"
        Run(sys.argv[sys.argv.index("--run-dir") + 1]).update_status(
            state="failed", pid=os.getpid(), phase="phase 1: training the head", message=said, diverged=said)
        print(f"error: {said}", file=sys.stderr, flush=True)
        sys.exit(1)
    sys.exit(0)
if index == 0:  # the chief records itself, as train_run does; "train": at its epochs, deaf to the stop flag
    from glr.training.run import Run
    at = {"train": {"phase": "phase 1: training the head"}, "finish": {"state": "finished", "phase": "done"}}
    Run(sys.argv[sys.argv.index("--run-dir") + 1]).update_status(**{"state": "running", "pid": os.getpid(),
                                                                    **at.get(act, {})})
    say("sigint: the chief is running")
    if act == "finish":  # a real chief ends once it has written its run finished: the launcher waits for that
        time.sleep(5)
        sys.exit(0)
time.sleep(600)  # "waiting for the others to join": only a kill ends it
"""


@pytest.fixture
def fake_workers(monkeypatch, tmp_path, tiny_data):
    """A new run and a way to have `train_local` start stand-in workers that do what they are told."""
    monkeypatch.setattr(workers_module, "WORKER_ARGV", [sys.executable, "-c", FAKE])
    monkeypatch.setattr(workers_module, "GRACE_SECONDS", 300)  # the old launcher waited this out

    def start(*acts, results=tmp_path):
        monkeypatch.setenv("FAKE_WORKERS", json.dumps(acts))
        monkeypatch.setenv("FAKE_SAID", str(tmp_path / "said.txt"))
        return new_run(results, tiny_config(tiny_data))

    return start


def once_up(then) -> list[str]:
    """Call `then()` in a thread once both stand-ins are up and the chief is running; what they said of Ctrl-C."""
    said, file = [], Path(os.environ["FAKE_SAID"])

    def wait_then():
        while len(said) < 3:  # each says how it takes Ctrl-C; the chief also that it runs
            lines = file.read_text().splitlines() if file.is_file() else []
            said[:] = [line for line in lines if line.startswith("sigint")]
            time.sleep(0.05)
        then()

    threading.Thread(target=wait_then, daemon=True).start()
    return said


def alive(pids) -> list[int]:
    return [p for p in pids if psutil.pid_exists(p) and psutil.Process(p).status() != psutil.STATUS_ZOMBIE]


def test_a_worker_that_fails_at_start_fails_the_run_at_once_naming_it_and_its_reason(fake_workers, capfd):
    """It waited the launcher's whole grace (60 s) for the others, then said only "worker 1 exited with code 2"."""
    run = fake_workers("wait", "fail")
    started = time.monotonic()
    assert train_local(run, 2) == {}
    assert time.monotonic() - started < 150  # far below the grace (300 s) it used to wait out
    status = run.status()
    assert status["state"] == "failed"
    assert status["message"] == ("worker 1 exited with code 2: worker 1 could not import something_needed; "
                                 "the others were stopped; --resume continues from the last checkpoint")
    assert not alive(status["worker_pids"])
    assert not (run.results_dir / LOCK_NAME).exists()
    assert "could not import something_needed" in capfd.readouterr().err  # its output still reaches the terminal


def test_a_run_that_diverged_with_no_model_to_keep_keeps_the_chiefs_message(fake_workers):
    """It became "worker 0 exited with code 1: ...; --resume continues from the last checkpoint", which a resume of
    a diverged run refuses (tests/test_robustness_training.py trains real ones)."""
    run = fake_workers("diverge", "diverge")
    assert train_local(run, 2) == {}
    status = run.status()
    assert status["state"] == "failed"
    assert status["message"] == "the loss became NaN at epoch 1: the training diverged; no model to keep"


def test_a_chief_that_fails_at_start_leaves_the_finished_runs_beside_it_alone(fake_workers, finished_run):
    before = {p: p.read_bytes() for p in finished_run.path.rglob("*") if p.is_file()}
    run = fake_workers("fail", "wait", results=finished_run.results_dir)
    train_local(run, 2)
    assert run.status()["state"] == "failed" and run.status()["message"].startswith("worker 0 exited with code 2: ")
    assert {p: p.read_bytes() for p in finished_run.path.rglob("*") if p.is_file()} == before
    assert finished_run.status()["state"] == "finished"


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_a_signal_before_the_epochs_stops_every_worker_at_once(fake_workers, signum, request):
    """Ctrl-C raised KeyboardInterrupt in the launcher and left the run "running" (then "failed": killed?).
    A closed terminal's SIGHUP killed the launcher and its workers: the run "failed"."""
    if signal.getsignal(signum) is signal.SIG_IGN:
        # pytest under nohup: the launcher rightly leaves an ignored SIGHUP ignored, and this waited out its time-out.
        # The case is a terminal's hang-up, so for this test the process takes the signal as a terminal's job does.
        signal.signal(signum, signal.SIG_DFL)
        request.addfinalizer(lambda: signal.signal(signum, signal.SIG_IGN))
    run = fake_workers("wait", "wait")
    said = once_up(lambda: os.kill(os.getpid(), signum))
    assert train_local(run, 2) == {}
    status = run.status()
    assert status["state"] == "stopped", status
    assert status["message"] == f"stopped on request ({signal.Signals(signum).name}); --resume continues"
    assert not alive(status["worker_pids"])
    assert resumable(run) is run
    # A terminal's Ctrl-C (and SIGHUP) reaches the workers too: they ignore it, the launcher alone decides.
    assert said.count("sigint ignored") == 2
    assert Path(os.environ["FAKE_SAID"]).read_text().count("sighup ignored") == 2
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # the launcher's handlers are gone


def test_while_the_epochs_train_ctrl_c_asks_the_chief_and_a_second_one_quits_at_once(fake_workers):
    run = fake_workers("train", "wait")
    alive_after_first = []

    def press_ctrl_c_twice():
        os.kill(os.getpid(), signal.SIGINT)
        while not run.stop_path.exists():  # the chief's stop flag: every worker hears it in the next step's sums
            time.sleep(0.05)
        alive_after_first.extend(alive(run.status()["worker_pids"]))
        os.kill(os.getpid(), signal.SIGINT)

    once_up(press_ctrl_c_twice)
    assert train_local(run, 2) == {}
    assert len(alive_after_first) == 2  # the first Ctrl-C killed nobody: they stop after the batch
    status = run.status()
    assert status["state"] == "failed"
    assert status["message"] == "Ctrl-C twice: quit at once; --resume continues from the last checkpoint"
    assert not alive(status["worker_pids"])


def test_a_worker_killed_before_the_epochs_fails_the_run_at_once(fake_workers):
    run = fake_workers("wait", "wait")
    once_up(lambda: os.kill(run.status()["worker_pids"][1], signal.SIGKILL))
    started = time.monotonic()
    train_local(run, 2)
    assert time.monotonic() - started < 150
    status = run.status()
    assert status["state"] == "failed"
    assert status["message"] == ("worker 1 was killed by SIGKILL; the others were stopped; "
                                 "--resume continues from the last checkpoint")
    assert not alive(status["worker_pids"])


def test_a_worker_that_fails_after_the_chief_finished_leaves_the_run_finished(fake_workers):
    """The finished run was marked "failed: worker 1 was killed by SIGKILL"."""
    run = fake_workers("finish", "wait")
    once_up(lambda: os.kill(run.status()["worker_pids"][1], signal.SIGKILL))
    train_local(run, 2)
    assert run.status()["state"] == "finished"


def test_more_workers_than_cores_says_they_share_them(fake_workers, capfd, monkeypatch):
    """It trained three times slower than one process, in silence."""
    monkeypatch.setattr(workers_module.os, "cpu_count", lambda: 2)
    train_local(fake_workers("fail", "wait", "wait"), 3)
    assert "3 workers on 2 CPU cores: they share the cores, one thread each" in capfd.readouterr().err


@pytest.mark.parametrize("text, reason", [
    ("loading\nerror: the dataset at /x changed since this run started\nI0000 00:00:1 a.cc:1] bye\n",
     "the dataset at /x changed since this run started"),
    ("Traceback (most recent call last):\n  File \"x\", line 1\nModuleNotFoundError: No module named 'tensorflow'\n",
     "ModuleNotFoundError: No module named 'tensorflow'"),
    ("W0000 00:00:1 a.cc:1] nothing but logs\n", None),
    ("", None),
])
def test_last_error_is_the_workers_own_error_line(text, reason):
    assert last_error(text) == reason


# --- real workers --------------------------------------------------------------------------


def wait_for_epoch(proc, results, epoch: int):
    return wait_for_status(proc, results, lambda status: (status.get("epoch") or 0) >= epoch)


def wait_for_status(proc, results, done):
    """The launcher's one run, once `done(its status)`; fails at once if the launcher ends first."""
    deadline = time.monotonic() + TIMEOUT
    while not (runs_dir(results).is_dir() and any(runs_dir(results).iterdir()) and done(only_run(results).status())):
        assert proc.poll() is None and time.monotonic() < deadline, proc.stdout.read()[-3000:]
        time.sleep(0.1)
    return only_run(results)


@pytest.mark.parametrize("how", ["Ctrl-C", "SIGTERM"])
def test_ctrl_c_or_sigterm_stops_every_worker_after_the_same_batch_and_resume_finishes(tmp_path, tiny_data, how):
    """Ctrl-C: "interrupted", the workers killed, the run "failed" (killed?). SIGTERM: the launcher died, the workers trained on."""
    results = tmp_path / "results"
    argv = [sys.executable, "-m", "glr", "train", str(tiny_data), "--results", str(results), "--input-size", "32",
            "--views", "2", "--epochs", "400", "--batch-size", "1", "--hidden", "32", "--patience", "1000",
            "--no-fine-tune", "--workers", "2"]
    # Its own session, as a terminal's foreground job: Ctrl-C is SIGINT to the whole group.
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        run = wait_for_epoch(proc, results, 1)  # the signal lands in epoch 2, mid-training
        children = [c.pid for c in psutil.Process(proc.pid).children(recursive=True)]
        if how == "Ctrl-C":
            os.killpg(proc.pid, signal.SIGINT)
        else:
            os.kill(proc.pid, signal.SIGTERM)
        output, _ = proc.communicate(timeout=TIMEOUT)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 0, output[-3000:]
    status = run.status()
    assert status["state"] == "stopped" and status["message"] == "stopped on request; --resume continues", status
    assert "Traceback" not in output and last_error(output) is None, output[-3000:]
    assert "stopped: stopped on request" in output
    assert len(children) == 2 and not alive(children)
    assert not (results / LOCK_NAME).exists()
    # Every worker stopped after the same batch: the chief's checkpoint is the stop's, and one process resumes it.
    assert run.checkpoint_state() is not None
    config = run.config()
    config["train"]["epochs"] = int(run.history()["epoch"].max()) + 2
    (run.path / "config.json").write_text(json.dumps(config))
    from glr.training.trainer import train_run

    run.stop_path.unlink()  # the flag of the stop (a new trainer process clears it itself; this one is older)
    train_run(resumable(run), resume=True)
    assert run.status()["state"] == "finished"
    epochs = run.history()["epoch"].tolist()
    assert epochs == list(range(1, len(epochs) + 1))


def test_real_workers_end_when_their_launcher_is_killed(tmp_path, tiny_data):
    """`python -m glr train` itself, first thing, has the kernel end each worker with its launcher: no preexec_fn."""
    results = tmp_path / "results"
    argv = [sys.executable, "-m", "glr", "train", str(tiny_data), "--results", str(results), "--input-size", "32",
            "--views", "2", "--epochs", "400", "--batch-size", "1", "--hidden", "32", "--patience", "1000",
            "--no-fine-tune", "--workers", "2"]
    proc, children = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                      start_new_session=True), []
    try:
        # Every worker in the cluster: the chief's strategy waited for them all, then it read the dataset (the
        # status's first phase). Each worker has asked the kernel to end it with its launcher, first thing; none
        # would end by itself, as the chief and worker 1 go on, and then wait on each other in their collectives.
        run = wait_for_status(proc, results, lambda status: status.get("phase") is not None)
        children = [c.pid for c in psutil.Process(proc.pid).children(recursive=True)]
        proc.kill()
        proc.wait()
        deadline = time.monotonic() + 30
        while alive(children) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(children) == 2 and not alive(children)
        assert run.status()["state"] == "failed"  # killed: shown as such, and resumable
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        for pid in alive(children):
            os.kill(pid, signal.SIGKILL)


def test_a_worker_whose_port_is_taken_fails_the_run_at_once_naming_it(tmp_path, tiny_data, monkeypatch):
    """The chief waited to join for the launcher's grace (60 s); the run's message said only "exited with code 2"."""
    import socket

    monkeypatch.setattr(workers_module, "GRACE_SECONDS", 300)
    run = new_run(tmp_path, tiny_config(tiny_data))
    with socket.socket() as taken:  # another program listening on worker 1's port
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        chief = workers_module.free_ports(1)[0]
        monkeypatch.setattr(workers_module, "free_ports", lambda n: [chief, port])
        started = time.monotonic()
        train_local(run, 2)
    assert time.monotonic() - started < 150
    status = run.status()
    assert status["state"] == "failed"
    assert status["message"].startswith(f"worker 1 exited with code 2: worker 1 could not listen on its own address "
                                        f"127.0.0.1:{port}: the port is in use"), status["message"]
    assert not alive(status["worker_pids"])


def test_glr_train_workers_1_trains_in_one_process(tmp_path, tiny_data, monkeypatch, capsys):
    # In this process (TensorFlow is imported once): `glr train` itself, from its arguments on; the launcher of
    # worker processes, train_local, is the one way to more processes, and must not be called.
    from glr.cli import main

    launched = []
    monkeypatch.setattr(workers_module, "train_local", lambda *args, **kwargs: launched.append(args) or {})
    argv = ["train", str(tiny_data), "--results", str(tmp_path), *cli_args(epochs=2), "--no-fine-tune", "--workers", "1"]
    assert main(argv) == 0, capsys.readouterr().err[-3000:]
    assert launched == []
    # Its outcome, as `glr train` prints it (the one real training of a test_cli.py-style command; evaluate, report
    # and predict on a finished run: test_cli.py::test_runs_evaluate_report_predict_and_run_references).
    out = capsys.readouterr().out
    assert "finished: top-1" in out and out.strip().splitlines()[-1].startswith("top-1 "), out[-3000:]
    status = only_run(tmp_path).status()
    assert status["state"] == "finished" and status.get("workers") == 1


@pytest.mark.parametrize("main_thread", [True, False])
def test_workers_started_before_one_that_cannot_start_are_listed_to_be_killed(tmp_path, monkeypatch, main_thread):
    # Off the main thread a list comprehension made them: a failed second start lost the running first one.
    from glr.training import workers

    def start(argv, env, terminal):
        if argv == "second":
            raise OSError("no such program")
        return argv

    monkeypatch.setattr(workers, "Worker", start)
    signals = workers.Signals(Run.create(tmp_path, {"train": {}}))

    def launch():
        with pytest.raises(OSError), signals.start([("first", {}), ("second", {})]):
            pass

    if main_thread:
        launch()
    else:
        thread = threading.Thread(target=launch)
        thread.start()
        thread.join()
    assert signals.workers == ["first"]


@pytest.mark.parametrize("acts", [("wait", "fail"), ("fail", "wait")], ids=["worker", "chief"])
def test_a_resume_a_worker_refuses_leaves_the_run_stopped(fake_workers, acts):
    """It was marked "failed": a stopped run that a resume could not start stayed failed."""
    run = fake_workers(*acts)
    run.update_status(state="stopped", epoch=3, epochs=10, message="stopped on request; --resume continues")
    earlier = {c.pid for c in psutil.Process().children()}  # the whole suite's other tests may have some running
    assert train_local(run, 2, resume=True) == {}
    status = run.status()
    index = acts.index("fail")
    assert status["state"] == "stopped" and status["epoch"] == 3, status
    assert status["message"] == (f"resume refused: worker {index} exited with code 2: worker {index} could not import "
                                 "something_needed; the others were stopped; --resume continues from the last "
                                 "checkpoint; the run is stopped as before, and resumable")
    assert not alive(c.pid for c in psutil.Process().children() if c.pid not in earlier)  # the stand-ins: killed, reaped
    assert resumable(run) is run


# --- a launcher killed outright, and `glr stop --wait` ----------------------------------------

# The `--workers 2` launcher in a process of its own, with the stand-in workers.
LAUNCHER = """
import sys
from glr.training import workers
from glr.training.run import Run
workers.WORKER_ARGV = [sys.executable, "-c", sys.argv[2]]
workers.train_local(Run(sys.argv[1]), 2)
"""
# What `python -m glr train` does first in each local worker. "prctl": the kernel alone (its watch looks once an
# hour); "no-prctl", where the kernel cannot do it (macOS, Windows): the worker's own watch.
WATCHING = {"prctl": "import os\nfrom glr.training.processes import exit_with_parent\n"
                     "exit_with_parent(int(os.environ['GLR_LAUNCHER_PID']), interval=3600)\n",
            "no-prctl": "import os\nfrom glr.training.processes import exit_with_parent\n"
                        "exit_with_parent(int(os.environ['GLR_LAUNCHER_PID']), interval=0.05, kernel=False)\n"}


@pytest.mark.parametrize("how", ["prctl", "no-prctl"])
def test_workers_end_when_their_launcher_is_killed(fake_workers, how):
    """SIGKILL of a `--workers N` launcher left its workers waiting in their collectives for ever."""
    run = fake_workers("wait", "wait")
    stand_in = WATCHING[how] + FAKE
    env = dict(os.environ, PYTHONPATH=str(workers_module.PROJECT_ROOT))
    launcher = subprocess.Popen([sys.executable, "-c", LAUNCHER, str(run.path), stand_in], env=env)
    try:
        said = Path(os.environ["FAKE_SAID"])
        deadline = time.monotonic() + 60
        while not (said.is_file() and said.read_text().count("sigint") >= 3):  # both up, the chief running
            assert launcher.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)
        pids = run.recorded_status()["worker_pids"]
        assert len(alive(pids)) == 2
        launcher.kill()
        launcher.wait()
        deadline = time.monotonic() + 10
        while alive(pids) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not alive(pids)
    finally:
        if launcher.poll() is None:
            launcher.kill()
        for pid in alive(run.recorded_status().get("worker_pids") or []):
            os.kill(pid, signal.SIGKILL)


def test_a_local_worker_ends_at_once_when_its_launcher_is_gone():
    """`python -m glr train` in a local worker whose launcher died (it is no longer its parent) ends itself."""
    env = dict(os.environ, GLR_LAUNCHER_PID="1", GLR_LOCAL_WORKER="1")
    done = subprocess.run([sys.executable, "-m", "glr", "train", "--run-dir", "/nonexistent/runs/x"], env=env,
                          cwd=workers_module.PROJECT_ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1 and "no run folder" not in done.stderr  # before it got to look for the run


# A hung run: a launcher and its two workers that take no stop flag and no SIGTERM; the chief records itself.
HUNG = """
import os, signal, subprocess, sys, time
from glr.training.processes import process_start
from glr.training.run import Run
signal.signal(signal.SIGTERM, signal.SIG_IGN)  # inherited by the workers
kids = [subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"]) for _ in range(2)]
Run(sys.argv[1]).update_status(state="running", pid=kids[0].pid, launcher_pid=os.getpid(),
                               launcher_start=process_start(os.getpid()), worker_pids=[k.pid for k in kids],
                               worker_starts=[process_start(k.pid) for k in kids])
time.sleep(600)
"""


def test_stop_wait_kills_the_launcher_and_every_worker_of_a_hung_run(tmp_path):
    """The SIGKILL went to the chief alone (the status's pid, not a group leader): the launcher and worker 1 lived on."""
    from glr.training.launch import stop

    run = Run.create(tmp_path, {"train": {}})
    env = dict(os.environ, PYTHONPATH=str(workers_module.PROJECT_ROOT))
    launcher = subprocess.Popen([sys.executable, "-c", HUNG, str(run.path)], env=env, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while not (run.recorded_status() or {}).get("worker_pids"):
            assert launcher.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)
        pids = [launcher.pid, *run.recorded_status()["worker_pids"]]
        status = stop(run, timeout=0.2, wait=True, grace=0.3)
        launcher.wait(timeout=10)  # reaped: our child
        assert not alive(pids)
        assert status["state"] == "stopped" and status["message"] == ("stopped with SIGKILL: the trainer did not "
                                                                      "stop in time")
    finally:
        if launcher.poll() is None:
            os.killpg(launcher.pid, signal.SIGKILL)
        for pid in alive(run.recorded_status().get("worker_pids") or []):
            os.kill(pid, signal.SIGKILL)


def test_a_worker_whose_dead_launchers_pid_stays_its_parent_id_still_ends(monkeypatch):
    """Windows never re-parents an orphan: getppid keeps the dead launcher's pid, and the watch waited for ever."""
    import threading

    from glr.training import processes

    launcher = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    ended = threading.Event()
    monkeypatch.setattr(processes, "ORPHANS_KEEP_PARENT_PID", True)  # as on Windows
    monkeypatch.setattr(processes.os, "getppid", lambda: launcher.pid)
    monkeypatch.setattr(processes.os, "_exit", lambda code: ended.set())
    watch = processes.exit_with_parent(launcher.pid, interval=0.02, kernel=False)  # kernel: not for pytest itself
    time.sleep(0.2)
    assert not ended.is_set()  # the launcher lives: the worker too
    launcher.kill()
    launcher.wait()
    watch.join(timeout=10)
    assert ended.is_set()


def test_workers_start_without_code_run_between_fork_and_exec(monkeypatch):
    """A `preexec_fn` (prctl in the child before exec) may deadlock in a launcher with threads (Python's docs)."""
    seen = []

    class Spy:
        def __init__(self, argv, **kwargs):
            seen.append(kwargs)
            self.pid, self.stderr = 0, None

    monkeypatch.setattr(workers_module.subprocess, "Popen", Spy)
    workers_module.Worker(["worker"], {}, terminal=True)
    assert seen and seen[0].get("preexec_fn") is None


def test_a_worker_knows_its_launcher_by_pid_and_start_time():
    env = workers_module.worker_env([1, 2], 1, 1, base={})
    assert env["GLR_LAUNCHER_PID"] == str(os.getpid())
    assert float(env["GLR_LAUNCHER_START"]) == psutil.Process().create_time()


# The launcher of 3 stand-in workers on "1 core" (so it warns that they share it), its stderr full or closed.
QUIET_LAUNCHER = """
import sys
from glr.training import workers
from glr.training.run import Run
workers.WORKER_ARGV = [sys.executable, "-c", sys.argv[2]]
workers.os.cpu_count = lambda: 1
workers.train_local(Run(sys.argv[1]), 3)
"""


@pytest.mark.parametrize("stderr", ["/dev/full", "closed"])
def test_a_launcher_whose_stderr_cannot_be_written_still_trains_and_stops_cleanly(fake_workers, stderr):
    """/dev/full: the warning's OSError ended the launcher, the run left "queued" for ever; closed: AttributeError.
    A SIGTERM's message failing in its handler turned the clean stop into a crash ("failed")."""
    run = fake_workers("wait", "wait", "wait")
    env = dict(os.environ, PYTHONPATH=str(workers_module.PROJECT_ROOT))
    argv = [sys.executable, "-c", QUIET_LAUNCHER, str(run.path), FAKE]
    if stderr == "closed":  # as `glr train --workers 3 2>&-` starts it
        argv = ["sh", "-c", 'exec "$@" 2>&-', "sh", *argv]
    with open(os.devnull if stderr == "closed" else stderr, "w") as err:
        launcher = subprocess.Popen(argv, env=env, stderr=err, stdout=err)
    try:
        said = Path(os.environ["FAKE_SAID"])
        deadline = time.monotonic() + 60
        while not (said.is_file() and said.read_text().count("sigint") >= 4):  # all three up, the chief running
            assert launcher.poll() is None and time.monotonic() < deadline, run.status()
            time.sleep(0.05)
        launcher.send_signal(signal.SIGTERM)
        assert launcher.wait(timeout=60) == 0
        status = run.status()
        assert status["state"] == "stopped" and status["message"] == "stopped on request (SIGTERM); --resume continues"
        assert not alive(status["worker_pids"])
    finally:
        if launcher.poll() is None:
            launcher.kill()
        for pid in alive(run.recorded_status().get("worker_pids") or []):
            os.kill(pid, signal.SIGKILL)


def test_the_launchers_stop_is_asked_even_if_its_message_cannot_be_written(tmp_path, monkeypatch):
    from test_trainer_signals import Full

    run = Run.create(tmp_path, {"train": {}})
    signals = workers_module.Signals(run)
    monkeypatch.setattr("sys.stderr", Full())
    signals._on(signal.SIGTERM, None)
    assert run.stop_requested() and signals.stop == "SIGTERM"


def test_a_chief_killed_while_the_epochs_train_leaves_the_run_failed_resumable_and_the_folder_unlocked(fake_workers):
    # The chief (worker 0, which writes the run) dying must not leave the results folder locked or the run "running".
    from glr.training.launch import read_lock

    # Its launcher waited GRACE_SECONDS (60 s) for a chief already dead to save what it could.
    run = fake_workers("train", "wait")
    once_up(lambda: os.kill(run.status()["pid"], signal.SIGKILL))
    started = time.monotonic()
    train_local(run, 2)
    assert time.monotonic() - started < 60  # not the 300 s grace the fixture gives
    status = run.status()
    assert status["state"] == "failed" and status["message"].startswith("worker 0 was killed by SIGKILL")
    assert not alive(status["worker_pids"])
    assert read_lock(run.results_dir) is None
    assert resumable(run) is run


def test_a_launcher_whose_run_was_resumed_on_another_computer_writes_no_outcome_into_it(fake_workers):
    # Paused past 2 minutes, its run resumed on another computer: when its chief ended, the launcher wrote
    # "failed: worker 0 ..." into the run that trained there.
    from glr.atomic import write_json

    run = fake_workers("train", "wait")

    def resumed_there():
        write_json(run.status_path, {**run.recorded_status(), "pid": 4242, "machine": "0ther-b00t/4026532999",
                                     "host": "gpu-box-2"})
        os.kill(run.recorded_status()["worker_pids"][0], signal.SIGKILL)

    once_up(resumed_there)
    train_local(run, 2)
    status = run.recorded_status()
    assert (status["state"], status["pid"], status["machine"]) == ("running", 4242, "0ther-b00t/4026532999")


def test_a_worker_killed_by_a_signal_is_blamed_before_the_peers_that_lost_it():
    from glr.training.workers import first_failure

    # Seen in the same poll: the chief's exit (it lost worker 1's connection) and worker 1's kill.
    assert first_failure([2, -9]) == (1, -9)
    assert first_failure([2, None, 1]) == (0, 2)
    assert first_failure([0, None]) is None and first_failure([]) is None
    assert first_failure([-15, -9]) == (0, -15)

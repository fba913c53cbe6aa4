"""Run folders, the training lock, and launching/stopping a (fake) trainer process."""

from __future__ import annotations

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

from glr.training import launch, processes, trainer_signals
from glr.training.run import HISTORY_COLUMNS, Run, RunError
from glr.training.run_table import LIST_COLUMNS, list_runs
from glr.training.status import DIED_MESSAGE

FAKE = [sys.executable, str(Path(__file__).resolve().parent / "fake_trainer.py")]
CONFIG = {"backbone": "efficientnet_lite0", "epochs": 3}


def wait_until(predicate, timeout: float = 5.0):
    """Poll until `predicate()` is truthy; fail the test after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"timed out after {timeout}s")


def wait_state(run: Run, states, timeout: float = 5.0) -> dict:
    states = {states} if isinstance(states, str) else set(states)
    return wait_until(lambda: (s := run.status())["state"] in states and s, timeout)


def dead_pid() -> int:
    """The pid of a process that has just ended and been reaped."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def launch_fake(results, **config) -> Run:
    return launch.launch(results, {"backbone": "fake", **config}, argv_prefix=FAKE)


@pytest.fixture(autouse=True)
def no_leftover_trainers():
    """Kill any trainer a failing test left behind, so it cannot outlive the test run."""
    yield
    for pid in list(processes._children):
        processes.signal_process(pid, signal.SIGKILL)
        processes._children.pop(pid).wait()


# --- folders and status ---------------------------------------------------------------------


def test_create_open_status_round_trip(tmp_path, monkeypatch):
    # Freeze the clock: two runs created in the same second (a loaded machine can cross a second).
    monkeypatch.setattr("glr.training.run.time.strftime", lambda fmt, *a: "20261127-143501")
    run = Run.create(tmp_path, CONFIG)
    assert run.path.parent == tmp_path / "runs"
    assert run.id.endswith("-efficientnet_lite0") and run.id[:8].isdigit()
    again = Run.open(run.path)
    assert again == run and again.config() == CONFIG
    status = again.status()
    assert status["state"] == "queued" and status["epochs"] == 3 and status["run_id"] == run.id
    assert run.log_path.name == "train.log" and run.model_path.name == "model.keras"
    assert run.file("labels.json") == run.labels_path
    # Same second, same backbone: the next id gets a suffix.
    second = Run.create(tmp_path, CONFIG)
    assert second.id == run.id + "-2"
    with pytest.raises(RunError, match="already exists"):
        Run.create(tmp_path, CONFIG, run_id=run.id)
    with pytest.raises(RunError, match="no run folder"):
        Run.open(tmp_path / "nope")


def test_update_status_merges_atomically(tmp_path):
    run = Run.create(tmp_path, CONFIG, run_id="r")
    before = run.status()["updated"]
    run.update_status(state="running", pid=os.getpid(), epoch=1)
    run.update_status(step=5, steps=10)
    status = run.status()
    assert (status["state"], status["epoch"], status["step"], status["steps"]) == ("running", 1, 5, 10)
    assert status["pid_start"] == processes.process_start(os.getpid()) and status["started"] and status["updated"] >= before
    # Atomic writes leave no temp files behind, only the status guard.
    assert sorted(p.name for p in run.path.iterdir()) == [".status.lock", "config.json", "status.json"]
    # Many writers at once never produce an unreadable file.
    threads = [threading.Thread(target=lambda i=i: [run.update_status(step=i * 100 + k) for k in range(20)]) for i in range(4)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert run.status()["state"] == "running" and json.loads(run.status_path.read_text())["step"] % 100 == 19


def test_final_state_sets_finished(tmp_path):
    run = Run.create(tmp_path, CONFIG, run_id="r")
    run.update_status(state="finished")
    assert run.status()["finished"]


def test_dead_pid_is_failed(tmp_path):
    run = Run.create(tmp_path, CONFIG, run_id="r")
    run.update_status(state="running", pid=dead_pid())
    status = run.status()
    assert status["state"] == "failed" and status["message"] == DIED_MESSAGE
    assert json.loads(run.status_path.read_text())["state"] == "running"  # reading never writes


def test_a_run_whose_queuer_died_before_its_trainer_started_is_failed_not_queued_for_ever(tmp_path):
    # The app killed between making the run and starting its trainer left it "queued" for ever: the newest
    # active run, that every page followed and `glr stop latest` stopped.
    made = subprocess.run([sys.executable, "-c", "import sys; from glr.training.run import Run; "
                           f"Run.create(sys.argv[1], {CONFIG!r}, run_id='r')", str(tmp_path)], timeout=60)
    assert made.returncode == 0
    run = Run(tmp_path / "runs" / "r")
    status = run.status()
    assert status["state"] == "failed" and status["message"].startswith("never started: the process that queued it")
    assert json.loads(run.status_path.read_text())["state"] == "queued"  # reading never writes
    # Queued by a process that lives (this one), it waits; with its trainer started, it is that process's.
    mine = Run.create(tmp_path, CONFIG, run_id="mine")
    assert mine.status()["state"] == "queued"
    run.update_status(state="queued", pid=None, message="resuming")  # the app queueing a resume: it is the queuer now
    assert run.status()["state"] == "queued"
    run.update_status(state="running", pid=os.getpid())
    assert run.status()["state"] == "running"


def test_live_pid_is_running_but_a_reused_pid_is_not(tmp_path):
    run = Run.create(tmp_path, CONFIG, run_id="r")
    run.update_status(state="running", pid=os.getpid())
    assert run.status()["state"] == "running"
    run.update_status(state="stopping")
    assert run.status()["state"] == "stopping"
    # Same pid, a start a minute off (a second off is the same process: processes.START_SLACK): another process.
    run.update_status(pid=os.getpid(), pid_start=processes.process_start(os.getpid()) - 60)
    assert run.status()["state"] == "failed"


def test_truncated_status_is_damaged_and_others_still_listed(tmp_path):
    good = Run.create(tmp_path, CONFIG, run_id="20260101-000000-good")
    bad = Run.create(tmp_path, CONFIG, run_id="20260102-000000-bad")
    text = bad.status_path.read_text()
    bad.status_path.write_text(text[: len(text) // 2])
    status = bad.status()
    assert status["state"] == "damaged" and str(bad.status_path) in status["message"]
    table = list_runs(tmp_path)
    assert list(table.columns) == LIST_COLUMNS
    assert set(table["run_id"]) == {good.id, bad.id}
    assert table.set_index("run_id").loc[good.id, "state"] == "queued"
    # A damaged run can be written again: the trainer's next update repairs it.
    bad.update_status(state="failed")
    assert bad.status()["state"] == "failed"


def test_history_missing_damaged_and_listed(tmp_path):
    run = Run.create(tmp_path, CONFIG, run_id="20260101-000000-a")
    other = Run.create(tmp_path, CONFIG, run_id="20260102-000000-b")
    empty = run.history()
    assert empty.empty and list(empty.columns) == HISTORY_COLUMNS
    rows = "phase,epoch,loss,accuracy,val_loss,val_accuracy,val_top5,lr,seconds\nhead,1,1.0,0.5,1.1,0.4,0.8,0.001,1.0\nhead,2,0.8,0.6,1.0,0.55,0.9,0.001,1.0\n"
    run.history_path.write_text(rows)
    other.history_path.write_text(rows[:-10])  # cut mid-line
    assert list(run.history()["val_accuracy"]) == [0.4, 0.55]
    with pytest.raises(RunError, match="history.csv is damaged"):
        other.history()
    other_empty = Run.create(tmp_path, CONFIG, run_id="20260103-000000-c")
    other_empty.history_path.write_text("")
    with pytest.raises(RunError, match="history.csv"):
        other_empty.history()
    table = list_runs(tmp_path).set_index("run_id")
    assert list(table.index) == [other_empty.id, other.id, run.id]  # newest first
    assert table.loc[run.id, "epochs_done"] == 2 and table.loc[run.id, "best_val_accuracy"] == 0.55
    assert table.loc[run.id, "backbone"] == "efficientnet_lite0"
    assert "history.csv is damaged" in table.loc[other.id, "message"]


def test_list_runs_missing_dir_and_order(tmp_path):
    assert list_runs(tmp_path / "missing").empty
    first = Run.create(tmp_path, CONFIG, run_id="a")
    second = Run.create(tmp_path, CONFIG, run_id="b")
    first.update_status(created="2026-01-01T00:00:00+00:00")
    second.update_status(created="2026-01-02T00:00:00+00:00")
    (tmp_path / "runs" / "stray").mkdir()  # no files at all: damaged, still listed
    table = list_runs(tmp_path)
    assert list(table["run_id"])[1:] == ["b", "a"] and table.iloc[0]["state"] == "damaged"


# --- the lock -------------------------------------------------------------------------------


def test_lock_held_released_and_stale(tmp_path):
    launch.acquire_lock(tmp_path, "one")
    lock = json.loads((tmp_path / "train.lock").read_text())
    assert lock["pid"] == os.getpid() and lock["run_id"] == "one" and lock["created"]
    assert launch.read_lock(tmp_path)["run_id"] == "one"
    with pytest.raises(RunError, match=rf"another training is running: one \(pid {os.getpid()}\); stop it first"):
        launch.acquire_lock(tmp_path, "two")
    assert not launch.release_lock(tmp_path, "two")  # not ours: left alone
    assert launch.release_lock(tmp_path, "one") and launch.read_lock(tmp_path) is None
    # A lock left by a dead process is cleaned up.
    launch.acquire_lock(tmp_path, "ghost", pid=dead_pid())
    assert launch.read_lock(tmp_path) is None
    launch.acquire_lock(tmp_path, "three")
    assert launch.read_lock(tmp_path)["run_id"] == "three"
    # So is one that is not even JSON.
    (tmp_path / "train.lock").write_text("{")
    launch.acquire_lock(tmp_path, "four")
    assert launch.read_lock(tmp_path)["run_id"] == "four"


def test_concurrent_acquire_exactly_one_wins(tmp_path):
    launch.acquire_lock(tmp_path, "ghost", pid=dead_pid())  # both contenders also see a stale lock
    results, barrier = [], threading.Barrier(8)

    def contend(i):
        barrier.wait()
        try:
            launch.acquire_lock(tmp_path, f"run{i}")
            results.append(f"run{i}")
        except RunError:
            results.append(None)

    threads = [threading.Thread(target=contend, args=(i,)) for i in range(8)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    winners = [r for r in results if r]
    assert len(winners) == 1 and launch.read_lock(tmp_path)["run_id"] == winners[0]


def test_training_lock_adopts_acquires_and_releases(tmp_path):
    launch.acquire_lock(tmp_path, "mine", pid=os.getppid())  # as a launcher would
    with launch.training_lock(tmp_path, "mine"):
        assert launch.read_lock(tmp_path)["pid"] == os.getpid()
    assert launch.read_lock(tmp_path) is None
    with launch.training_lock(tmp_path, "fresh"):
        with pytest.raises(RunError, match="another training is running: fresh"):
            with launch.training_lock(tmp_path, "other"):
                pass
    assert not (tmp_path / "train.lock").exists()


# --- processes ------------------------------------------------------------------------------


def test_launch_runs_to_finished(tmp_path):
    run = launch_fake(tmp_path, steps=3)
    assert launch.read_lock(tmp_path)["run_id"] == run.id
    status = wait_state(run, "finished")
    assert status["finished"] and status["started"] and status["epoch"] == 3
    assert list(run.history()["epoch"]) == [1, 2, 3]
    assert "fake trainer pid" in run.log_path.read_text()
    wait_until(lambda: launch.read_lock(tmp_path) is None)
    assert not (tmp_path / "train.lock").exists()  # the trainer released it
    row = list_runs(tmp_path).iloc[0]
    assert (row["state"], row["epochs_done"], row["best_val_accuracy"]) == ("finished", 3, 1.0)
    with pytest.raises(RunError, match="has finished"):
        launch.resume(run, argv_prefix=FAKE)


def test_two_launches_at_once_exactly_one_starts(tmp_path):
    results, barrier = [], threading.Barrier(2)

    def click():
        barrier.wait()
        try:
            results.append(launch_fake(tmp_path, steps=2))
        except RunError as exc:
            results.append(exc)

    threads = [threading.Thread(target=click) for _ in range(2)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    started = [r for r in results if isinstance(r, Run)]
    assert len(started) == 1 and "another training is running" in str([r for r in results if r not in started][0])
    wait_state(started[0], "finished")
    assert len(list_runs(tmp_path)) == 1


def test_launch_while_training_is_refused_and_stale_lock_is_cleaned(tmp_path):
    launch.acquire_lock(tmp_path, "ghost", pid=dead_pid())
    run = launch_fake(tmp_path, steps=40)
    with pytest.raises(RunError, match=f"another training is running: {run.id}"):
        launch_fake(tmp_path, steps=2)
    launch.stop(run, wait=True, timeout=5)


def test_crash_is_failed_with_traceback(tmp_path):
    run = launch_fake(tmp_path, steps=5, crash=True)
    status = wait_state(run, "failed")
    assert status["message"] == "fake crash" and "RuntimeError" in status["traceback"]


def test_launch_failure_releases_lock_and_marks_failed(tmp_path):
    with pytest.raises(RunError, match="could not start the trainer"):
        launch.launch(tmp_path, CONFIG, argv_prefix=[str(tmp_path / "no-such-python")])
    assert launch.read_lock(tmp_path) is None
    assert list_runs(tmp_path).iloc[0]["state"] == "failed"


def test_stop_via_flag_then_resume(tmp_path):
    run = launch_fake(tmp_path, steps=40)
    wait_until(lambda: run.status()["epoch"] >= 2)
    with pytest.raises(RunError, match="still running"):
        launch.delete_run(run)
    with pytest.raises(RunError, match="stop it first"):
        launch.resume(run, argv_prefix=FAKE)
    assert launch.stop(run)["state"] == "stopping"  # returns at once
    status = wait_state(run, "stopped")
    assert status["message"].startswith("stopped after")
    done = len(run.history())
    assert 2 <= done < 40

    resumed = launch.resume(run, argv_prefix=FAKE)
    assert resumed == run and not run.stop_requested()  # the launcher removed the old flag
    wait_until(lambda: run.status()["state"] == "running")
    assert launch.stop(run, wait=True, timeout=5)["state"] == "stopped"
    assert len(run.history()) > done  # continued where it stopped, did not start over
    assert list(run.history()["epoch"]) == list(range(1, len(run.history()) + 1))
    assert "--resume" in run.log_path.read_text()
    launch.delete_run(run)
    assert not run.path.exists()


@pytest.mark.skipif(os.name != "posix", reason="niceness is POSIX's; Windows gets a priority class")
def test_a_launched_trainer_yields_the_cpu_to_the_app(tmp_path):
    run = launch_fake(tmp_path, steps=1, hang=True)  # stays alive until killed
    wait_until(lambda: run.status()["epoch"] == 1)
    mine = os.getpriority(os.PRIO_PROCESS, 0)
    assert psutil.Process(run.status()["pid"]).nice() == min(19, mine + processes.TRAINER_NICENESS)
    launch.stop(run, wait=True, timeout=0.3, grace=1)


def test_stop_hanging_trainer_sigterm_fallback(tmp_path):
    run = launch_fake(tmp_path, steps=1, hang=True, sigterm=False)  # SIGTERM's default: die
    wait_until(lambda: run.status()["epoch"] == 1)
    start = time.monotonic()
    status = launch.stop(run, wait=True, timeout=0.3, grace=5)
    assert status["state"] == "stopped" and "SIGTERM" in status["message"]
    assert time.monotonic() - start < 3
    assert launch.read_lock(tmp_path) is None  # its lock is stale now, so it counts as free


def test_stop_hanging_trainer_sigkill_fallback(tmp_path):
    run = launch_fake(tmp_path, steps=1, hang=True)  # SIGTERM only sets the flag, which it ignores
    wait_until(lambda: run.status()["epoch"] == 1)
    status = launch.stop(run, wait=True, timeout=0.3, grace=0.3)
    assert status["state"] == "stopped" and "SIGKILL" in status["message"]
    assert run.stop_requested()
    resumed = launch.resume(run, argv_prefix=FAKE)  # the stale lock is taken over
    assert launch.read_lock(tmp_path)["run_id"] == resumed.id
    launch.stop(resumed, wait=True, timeout=0.3, grace=0.3)


def test_killed_trainer_shows_failed(tmp_path):
    run = launch_fake(tmp_path, steps=40)
    pid = wait_state(run, "running")["pid"]
    os.kill(pid, signal.SIGKILL)
    status = wait_state(run, "failed")
    assert status["message"] == DIED_MESSAGE
    assert pid not in processes._children  # reaped: no zombie left behind
    assert launch.read_lock(tmp_path) is None
    launch.resume(run, argv_prefix=FAKE)  # failed runs may be resumed
    wait_state(run, "running")
    assert launch.stop(run, wait=True, timeout=5)["state"] == "stopped"


def test_clear_stop_request_keeps_a_newer_flag(tmp_path):
    run = Run.create(tmp_path, CONFIG)
    run.request_stop()  # newer than this process: asked while "the trainer" was starting
    run.clear_stop_request()
    assert run.stop_requested()
    old = processes.process_started_at() - 60  # left over from an earlier stop
    os.utime(run.stop_path, (old, old))
    run.clear_stop_request()
    assert not run.stop_requested()
    run.clear_stop_request()  # no flag: nothing to do


def test_nested_config_as_glr_train_writes_it(tmp_path):
    run = Run.create(tmp_path, {"train": {"backbone": "mobilenet_v3", "epochs": 7}, "versions": {}})
    assert run.id.endswith("-mobilenet_v3") and run.status()["epochs"] == 7
    assert list_runs(tmp_path).iloc[0]["backbone"] == "mobilenet_v3"


def test_report_progress_is_throttled(tmp_path):
    run = Run.create(tmp_path, CONFIG)
    assert run.report_progress(step=1)
    assert not run.report_progress(step=2)  # too soon: skipped
    assert run.report_progress(force=True, step=3)
    assert run.status()["step"] == 3


def test_stop_before_start_and_of_finished_run(tmp_path):
    run = Run.create(tmp_path, CONFIG)
    assert launch.stop(run)["state"] == "stopped"
    run.update_status(state="finished")
    assert launch.stop(run, wait=True)["state"] == "finished"  # nothing to do


def test_sigterm_handler_sets_stop_flag(tmp_path):
    run = Run.create(tmp_path, CONFIG)
    previous = signal.getsignal(signal.SIGTERM)
    try:
        trainer_signals.install_sigterm_handler(run)
        os.kill(os.getpid(), signal.SIGTERM)
        wait_until(run.stop_requested, timeout=1)
    finally:
        signal.signal(signal.SIGTERM, previous)


def test_import_is_light():
    code = ("import sys, glr.training.run, glr.training.launch, glr.training.run_table; "
            "print('pandas' in sys.modules or 'tensorflow' in sys.modules or 'streamlit' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=launch.PROJECT_ROOT)
    assert out.stdout.strip() == "False"


# --- display names --------------------------------------------------------------------------


def test_a_run_has_a_display_name(tmp_path):
    from glr.training.run import NAME_MAX

    run = Run.create(tmp_path, CONFIG, run_id="20260101-000000-a")
    assert run.name() is None and run.label() == run.id
    assert run.set_name("  baseline\n 40   epochs ") == "baseline 40 epochs"  # one line, single spaces
    assert Run(run.path).name() == "baseline 40 epochs"
    assert run.label() == f"baseline 40 epochs · {run.id}"
    assert list_runs(tmp_path).set_index("run_id").loc[run.id, "name"] == "baseline 40 epochs"
    with pytest.raises(RunError, match=f"at most {NAME_MAX} characters"):
        run.set_name("x" * (NAME_MAX + 1))
    assert run.name() == "baseline 40 epochs"  # unchanged
    assert run.set_name("") is None and run.name() is None and run.label() == run.id
    assert run.set_name(None) is None  # removing an absent name is fine
    with pytest.raises(RunError, match="no run folder"):
        Run(tmp_path / "missing").set_name("x")
    assert not (tmp_path / "missing").exists()
    run.name_path.write_bytes(b"\xff\xfe not utf-8")
    assert run.name() is None and run.label() == run.id  # a damaged name never hides the run


def test_first_ctrl_c_asks_the_trainer_to_stop_and_a_second_quits(tmp_path, capsys):
    # A Ctrl-C in `python -m glr train` raised KeyboardInterrupt wherever it landed: the run ended
    # "failed" with the message "KeyboardInterrupt: ". Now it ends after the batch as "stopped".
    run = Run.create(tmp_path, CONFIG)
    with trainer_signals.stop_on_signals(run):  # SIGTERM's handler too is put back on leaving
        os.kill(os.getpid(), signal.SIGINT)
        wait_until(run.stop_requested, timeout=1)
        assert f"stopping after this batch (Ctrl-C again to quit at once); python -m glr train --resume {run.id}" \
            in capsys.readouterr().err
        with pytest.raises(KeyboardInterrupt, match="Ctrl-C twice"):
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(1)  # the handler runs at the next bytecode; never reached
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # put back on leaving


def test_no_run_is_made_while_another_training_holds_the_results_folder(tmp_path):
    # `python -m glr train` made the run folder, then found the lock taken: the run stayed
    # "queued" for ever and became `latest`, so `glr stop latest` stopped it, not the training.
    from glr.training.config import TrainConfig

    with launch.training_lock(tmp_path, "20260101-000000-efficientnet_lite0"):
        with pytest.raises(RunError, match=r"another training is running: 20260101-000000-efficientnet_lite0 \(pid \d+\)"):
            launch.new_run(tmp_path, TrainConfig())
        assert list_runs(tmp_path).empty
    assert launch.new_run(tmp_path, TrainConfig()).status()["state"] == "queued"  # once it has ended


def test_a_weights_file_that_is_not_there_is_refused_before_a_run_exists(tmp_path, monkeypatch):
    # The trainer found out only once it built the backbone: a run folder was made, then failed.
    from glr.training.config import ConfigError, TrainConfig

    with pytest.raises(ConfigError, match=r"weights '/nowhere/lite0\.h5' is not a file"):
        launch.new_run(tmp_path, TrainConfig(weights="/nowhere/lite0.h5"))
    assert list_runs(tmp_path).empty
    # A relative path is recorded absolute: the app's training process does not share the caller's folder.
    (tmp_path / "w").mkdir()
    (tmp_path / "w" / "mine.weights.h5").write_bytes(b"x")
    monkeypatch.chdir(tmp_path / "w")
    run = launch.new_run(tmp_path / "results", TrainConfig(weights="mine.weights.h5"))
    assert run.config()["train"]["weights"] == str(tmp_path / "w" / "mine.weights.h5")
    # "imagenet" and random weights are recorded as given.
    assert launch.run_config(TrainConfig())["train"]["weights"] == "imagenet"
    assert launch.run_config(TrainConfig(weights=None))["train"]["weights"] is None


def test_a_results_folder_blocked_by_a_file_is_a_run_error(tmp_path):
    from glr.training.launch import acquire_lock

    (tmp_path / "results").write_text("")
    with pytest.raises(RunError, match="results is a file, not a folder"):
        acquire_lock(tmp_path / "results" / "runs", "r1")


def test_resume_of_a_run_whose_dataset_is_gone_is_refused_before_any_process(tmp_path, monkeypatch):
    # The Train page alone checked this (the CLI started a trainer that failed seconds later), and without
    # expanding "~": a run started on "~/photos" trained, then could not be resumed from the app.
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    (tmp_path / "home" / "photos").mkdir(parents=True)
    run = Run.create(tmp_path / "results", {"train": {**CONFIG, "data": "~/photos"}})
    run.update_status(state="stopped")
    assert launch.resumable(run) is run
    (tmp_path / "home" / "photos").rmdir()
    with pytest.raises(RunError, match=f"run {run.id} trains on {tmp_path / 'home' / 'photos'}, which is no longer "
                                       "there: put it back to resume the run"):
        launch.resume(run, argv_prefix=FAKE)
    assert run.status()["state"] == "stopped"

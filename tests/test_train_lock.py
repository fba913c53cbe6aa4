"""glr.training.train_lock: the one-training lock of a results folder, and a copy of it taken for what it is."""

import json
import shutil

from glr.training import launch


def test_a_lock_copied_with_its_results_folder_does_not_hold_the_copy(tmp_path):
    # `rsync results/ backup/` while a training ran copied train.lock, naming the live trainer: a training in
    # the copy was refused as "another training is running" until the original ended.
    original = tmp_path / "results"
    launch.acquire_lock(original, "live")  # held by this process: a training that runs
    shutil.copytree(original, tmp_path / "backup")
    assert launch.read_lock(tmp_path / "backup") is None
    launch.acquire_lock(tmp_path / "backup", "in-the-copy")
    assert launch.read_lock(tmp_path / "backup")["run_id"] == "in-the-copy"
    assert launch.read_lock(original)["run_id"] == "live"  # the original's training still holds its own


def test_a_results_folder_renamed_keeps_its_lock(tmp_path):
    launch.acquire_lock(tmp_path / "results", "live")
    (tmp_path / "results").rename(tmp_path / "renamed")  # mv on the same disk: the same folder
    assert launch.read_lock(tmp_path / "renamed")["run_id"] == "live"


def test_a_lock_written_without_its_folder_is_judged_by_its_pid_alone(tmp_path):
    # An older glr's lock: no folder recorded, so a copy of it is held as before (nothing to tell them apart by).
    launch.acquire_lock(tmp_path / "results", "live")
    lock_file = tmp_path / "results" / launch.LOCK_NAME
    lock = json.loads(lock_file.read_text())
    del lock["folder"]
    lock_file.write_text(json.dumps(lock))
    shutil.copytree(tmp_path / "results", tmp_path / "backup")
    assert launch.read_lock(tmp_path / "backup")["run_id"] == "live"


def test_a_lock_of_another_host_is_held_while_its_training_speaks_and_stale_once_it_has_long_been_quiet(tmp_path):
    # A results folder on a shared drive: another machine's trainer (its pid meaning nothing here, dead as a pid
    # of this machine) was judged dead at once, its lock taken over, and two trainings wrote into one folder. One
    # that had died there stayed judged by a pid of this machine.
    import os
    import time

    import pytest

    from glr.training.run import RunError
    from glr.training.train_lock import OTHER_HOST_QUIET

    results = tmp_path / "results"
    launch.acquire_lock(results, "mine")
    lock_file = results / launch.LOCK_NAME
    lock = {**json.loads(lock_file.read_text()), "host": "gpu-box-2", "pid": 999_999_999, "run_id": "theirs"}
    del lock["machine"], lock["beat"]  # an older glr's lock: it names its host alone, and does not beat
    lock_file.write_text(json.dumps(lock))
    status = results / "runs" / "theirs" / "status.json"
    status.parent.mkdir(parents=True)
    status.write_text("{}")  # its training wrote its progress a moment ago
    with pytest.raises(RunError, match=r"another training is running: theirs \(pid 999999999 on gpu-box-2, another "
                                       r"computer or container\); stop it there first. If it no longer runs, its lock is free 30 "
                                       "minutes after the run last said anything"):
        launch.acquire_lock(results, "new")
    assert launch.read_lock(results)["run_id"] == "theirs"
    quiet = time.time() - OTHER_HOST_QUIET - 60
    os.utime(lock_file, (quiet, quiet))
    assert launch.read_lock(results)["run_id"] == "theirs"  # its status still speaks
    os.utime(status, (quiet, quiet))
    assert launch.read_lock(results) is None  # died there long ago
    launch.acquire_lock(results, "new")
    assert launch.read_lock(results)["run_id"] == "new"
    assert json.loads(lock_file.read_text())["host"] == __import__("socket").gethostname()  # as others will see it


def _lock_of_another_pid_space(results, pid=999_999_999, machine="0000-boot/4026532999"):
    """train.lock as a trainer in another container (or machine) writes it: its pid space and host name are not ours."""
    launch.acquire_lock(results, "mine")
    lock_file = results / launch.LOCK_NAME
    lock = {**json.loads(lock_file.read_text()), "host": "c0ffee123456", "machine": machine, "pid": pid,
            "run_id": "theirs"}
    lock_file.write_text(json.dumps(lock))
    return lock_file


def _age(path, seconds):
    import os
    import time

    os.utime(path, (time.time() - seconds,) * 2)


def test_a_dead_lock_of_a_restarted_container_is_taken_over_in_minutes_not_half_an_hour(tmp_path):
    # Docker gives a container a new host name at every start: the lock of a training killed with its container
    # was judged "another computer's" and held for OTHER_HOST_QUIET (30 minutes) after the run last wrote.
    import pytest

    from glr.training.machine import BEAT_STALE
    from glr.training.run import RunError

    results = tmp_path / "results"
    lock_file = _lock_of_another_pid_space(results)
    with pytest.raises(RunError, match=r"on c0ffee123456, another computer or container\); stop it there first. If it "
                                       "no longer runs, its lock is free 2 minutes after its trainer last touched it"):
        launch.acquire_lock(results, "new")  # it beat a moment ago: a live training there is never taken over
    _age(lock_file, BEAT_STALE - 20)
    assert launch.read_lock(results)["run_id"] == "theirs"
    _age(lock_file, BEAT_STALE + 5)  # 12 beats missed: its trainer is gone (its container with it)
    assert launch.read_lock(results) is None
    launch.acquire_lock(results, "new")
    assert launch.read_lock(results)["run_id"] == "new"


def test_a_lock_of_this_pid_space_is_judged_by_its_pid_whatever_the_host_name_says(tmp_path):
    # The same kernel and pid namespace under another host name (`hostname` changed, a container given one):
    # the pid can be looked at, so a dead one frees the folder at once and a live one holds it.
    import os

    from glr.training.machine import machine_id

    results = tmp_path / "results"
    _lock_of_another_pid_space(results, machine=machine_id())
    assert launch.read_lock(results) is None  # pid 999999999 is dead here
    lock_file = _lock_of_another_pid_space(results, pid=os.getpid(), machine=machine_id())
    lock = json.loads(lock_file.read_text())
    lock_file.write_text(json.dumps({**lock, "pid_start": __import__("psutil").Process().create_time()}))
    _age(lock_file, 10 * 3600)  # no beat needed: the pid says it lives
    assert launch.read_lock(results)["run_id"] == "theirs"


def test_the_trainer_keeps_its_lock_beating_while_it_trains_and_stops_when_it_ends(tmp_path, monkeypatch):
    import time

    from glr.training import train_lock

    monkeypatch.setattr(train_lock, "BEAT_SECONDS", 0.05)
    results = tmp_path / "results"
    lock_file = results / launch.LOCK_NAME
    with train_lock.training_lock(results, "live"):
        _age(lock_file, 3600)
        deadline = time.monotonic() + 10
        while time.time() - lock_file.stat().st_mtime > 60 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert time.time() - lock_file.stat().st_mtime < 60  # touched again by the beat
        assert json.loads(lock_file.read_text())["beat"] == 0.05  # said, so another pid space knows to expect beats
    assert not lock_file.exists()  # released, and no beat makes it again
    time.sleep(0.2)
    assert not lock_file.exists()


def test_a_lock_stamped_in_the_future_by_a_clock_set_back_is_not_taken_over(tmp_path):
    # NTP set the clock back while the training ran: its lock's last beat looks to lie ahead. It counts as just now.
    import os
    import time

    results = tmp_path / "results"
    lock_file = _lock_of_another_pid_space(results)
    os.utime(lock_file, (time.time() + 3600,) * 2)
    assert launch.read_lock(results)["run_id"] == "theirs"


def test_a_results_folder_renamed_while_it_trains_is_not_made_again_under_its_old_name(tmp_path, monkeypatch):
    # `mv results results-old` during a training: the end of the training (releasing its lock) made an empty
    # `results/` again, holding only the lock's guard file, where the user had just moved it away.
    import time

    from glr.training import train_lock

    monkeypatch.setattr(train_lock, "BEAT_SECONDS", 0.02)
    results = tmp_path / "results"
    with train_lock.training_lock(results, "live"):
        results.rename(tmp_path / "results-old")
        time.sleep(0.2)  # beats go on meanwhile
        assert not results.exists()
    assert not results.exists()
    assert launch.read_lock(tmp_path / "results-old") is not None  # still this live process's until it ends


def test_a_trainer_slow_to_start_has_its_lock_beaten_by_its_launcher_until_it_ends(tmp_path, monkeypatch):
    # Between the launcher taking the lock and the trainer's training_lock starting its own beat, nothing touched
    # train.lock: on a loaded machine (Python's start, the demo generated) another pid space could judge a training
    # that was starting stale, and start a second one in the folder.
    import sys
    import time

    from glr.training import train_lock

    monkeypatch.setattr(train_lock, "BEAT_SECONDS", 0.05)
    results = tmp_path / "results"
    lock_file = results / launch.LOCK_NAME
    slow = [sys.executable, "-c", "import time, sys; time.sleep(1.5)"]  # never reaches a training_lock
    run = launch.launch(results, {"train": {}}, argv_prefix=slow)
    _age(lock_file, 3600)  # as another pid space would see it after a long silence
    deadline = time.monotonic() + 1.0
    while time.time() - lock_file.stat().st_mtime > 60 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert time.time() - lock_file.stat().st_mtime < 60  # touched again while the trainer starts
    assert json.loads(lock_file.read_text())["pid"] == run.status()["pid"]
    deadline = time.monotonic() + 30
    while run.status()["state"] in ("queued", "running") and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.2)
    _age(lock_file, 3600)  # its trainer ended (without a word): the launcher beats no more
    time.sleep(0.3)
    assert time.time() - lock_file.stat().st_mtime > 3000


def test_this_machines_lock_from_before_a_quick_reboot_is_free_at_once_and_a_containers_waits_for_its_beat(
        tmp_path, monkeypatch):
    # A reboot gives a new boot id: this machine's own lock from before it was judged "another pid space" and held
    # until 2 minutes after its last beat, and its run shown `running` (before session 29: free at once, `failed`).
    import socket

    from glr.training import machine, train_lock
    from glr.training.run import Run

    results = tmp_path / "results"
    boot, namespace = machine.machine_id().split("/")
    before_reboot = f"0ld-b00t-1d/{namespace}"
    lock_file = _lock_of_another_pid_space(results, machine=before_reboot)
    lock = {**json.loads(lock_file.read_text()), "host": socket.gethostname(), "host_id": machine.host_id()}
    lock_file.write_text(json.dumps(lock))
    _age(lock_file, 50)  # its last beat, 50 s ago: before this machine booted (30 s ago)
    monkeypatch.setattr(machine, "uptime", lambda: 30.0)
    assert launch.read_lock(results) is None
    run = Run.create(results, {"train": {}}, run_id="theirs")
    run.update_status(state="running", pid=999_999_999)
    status = json.loads(run.status_path.read_text())
    run.status_path.write_text(json.dumps({**status, "machine": before_reboot, "host_id": machine.host_id()}))
    _age(run.status_path, 50)  # its last word, before this boot too
    assert (run.status()["state"], run.status()["message"]) == ("failed", "the training process ended when this "
                                                                         "computer restarted; resume it to continue")
    # Not a reboot, so still held: it beat after this boot; another host name; another machine-id; another pid
    # namespace (a container); this very boot.
    for changed, age in [({}, 20), ({"host": "c0ffee123456"}, 50), ({"host_id": "another-installation"}, 50),
                         ({"machine": "0ld-b00t-1d/4026532999"}, 50)]:
        lock_file.write_text(json.dumps({**lock, **changed}))
        _age(lock_file, age)
        assert launch.read_lock(results)["run_id"] == "theirs", changed


def _wait_until(predicate, seconds=10.0):
    import time

    deadline = time.monotonic() + seconds
    while not predicate() and time.monotonic() < deadline:
        time.sleep(0.02)
    return predicate()


def test_a_trainer_paused_until_another_computer_took_its_folder_stops_at_once_when_it_goes_on(tmp_path, monkeypatch):
    # SIGSTOP (or a laptop asleep) for 10 minutes: another computer sharing the results folder found the lock silent
    # for 2, took it and trained; on SIGCONT the first trainer went on too, two trainings in one folder, the first
    # one's lock never held again.
    from glr.training import train_lock
    from glr.training.run import Run

    monkeypatch.setattr(train_lock, "BEAT_SECONDS", 0.02)
    results = tmp_path / "results"
    run = Run.create(results, {"train": {}}, run_id="paused")
    lock_file = results / launch.LOCK_NAME
    with train_lock.training_lock(results, "paused"):
        mine = json.loads(lock_file.read_text())
        lock_file.write_text(json.dumps({**mine, "run_id": "theirs", "host": "gpu-box-2", "pid": 999_999_999}))
        assert _wait_until(run.stop_requested)
        assert run.stop_reason() == ("stopped: training theirs (gpu-box-2) has taken the results folder from this "
                                     "one (silent for over 2 minutes while paused or its computer asleep, or its "
                                     "train.lock deleted); it stopped so that the two do not train there at once. "
                                     "Resume it once that one has ended")
        assert json.loads(lock_file.read_text())["run_id"] == "theirs"
    assert json.loads(lock_file.read_text())["run_id"] == "theirs"  # theirs is left alone, at the release too


def test_a_lock_deleted_by_hand_while_its_training_runs_is_taken_again(tmp_path, monkeypatch):
    # "delete train.lock" (as the busy message says) while the training still ran: a second one could start beside it.
    from glr.training import train_lock

    monkeypatch.setattr(train_lock, "BEAT_SECONDS", 0.02)
    results = tmp_path / "results"
    lock_file = results / launch.LOCK_NAME
    with train_lock.training_lock(results, "live"):
        lock_file.unlink()
        assert _wait_until(lock_file.exists)
        assert launch.read_lock(results)["run_id"] == "live"
    assert not lock_file.exists()


def test_a_full_disk_at_a_heartbeat_neither_stops_the_training_nor_frees_its_lock(tmp_path, monkeypatch):
    # The results folder's disk filled while a training ran: a beat that cannot be written is skipped, the next tries
    # again, and the lock stays the training's (no half-written lock, no error out of the beat thread).
    import errno
    import os
    import threading
    import time

    from glr.training import train_lock

    monkeypatch.setattr(train_lock, "BEAT_SECONDS", 0.02)
    results = tmp_path / "results"
    lock_file = results / launch.LOCK_NAME
    real_utime, failures = os.utime, []

    def full(path, *args, **kwargs):
        if str(path).endswith(launch.LOCK_NAME) and len(failures) < 5:
            failures.append(path)
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        return real_utime(path, *args, **kwargs)

    errors = []
    monkeypatch.setattr(threading, "excepthook", lambda hook: errors.append(hook.exc_value))
    with train_lock.training_lock(results, "live"):
        monkeypatch.setattr(os, "utime", full)
        real_utime(lock_file, (time.time() - 3600,) * 2)
        assert _wait_until(lambda: len(failures) == 5 and time.time() - lock_file.stat().st_mtime < 60)
        assert launch.read_lock(results)["run_id"] == "live"  # beats again once there is room
    assert errors == [] and not lock_file.exists()


def test_a_process_paused_while_it_holds_the_lock_guard_blocks_no_reader_and_no_start_for_ever(tmp_path, monkeypatch):
    # A trainer paused (Ctrl-Z, SIGSTOP) in the milliseconds its beat holds the results folder's guard: every page's
    # look at the lock, every Start and every other trainer's beat waited for it for ever.
    import signal
    import subprocess
    import sys
    import threading

    import pytest

    from glr.training import train_lock
    from glr.training.run import RunError

    results = tmp_path / "results"
    launch.acquire_lock(results, "live")  # held by this process
    monkeypatch.setattr(train_lock, "GUARD_READ_SECONDS", 0.2)
    monkeypatch.setattr(train_lock, "GUARD_WRITE_SECONDS", 0.3)
    holder = subprocess.Popen([sys.executable, "-c", "import os, signal, sys\nfrom filelock import FileLock\n"
                               "guard = FileLock(sys.argv[1])\nguard.acquire()\nprint('held', flush=True)\n"
                               "os.kill(os.getpid(), signal.SIGSTOP)", str(results / launch.LOCK_GUARD)],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        seen, refused = [], []

        def look():
            seen.append(launch.read_lock(results))
            try:
                launch.acquire_lock(results, "second")
            except RunError as exc:
                refused.append(str(exc))

        thread = threading.Thread(target=look, daemon=True)
        thread.start()
        thread.join(10)
        assert not thread.is_alive()  # it hung here
        assert seen[0]["run_id"] == "live"  # read without the guard
        assert refused[0].startswith(f"the training lock of the results folder {results} is held by another process "
                                     "that has not let go for 0 s: a training paused (Ctrl-Z, SIGSTOP) as it wrote it?")
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    with pytest.raises(RunError, match="another training is running: live"):  # the guard free again: as before
        launch.acquire_lock(results, "second")


def test_a_trainer_ending_after_its_run_was_resumed_elsewhere_leaves_that_ones_lock(tmp_path):
    # Its run resumed on another computer while it was paused: at its end the first trainer removed the lock naming
    # its run, the other computer's, and the folder was free to a third training while that one trained.
    from glr.training import train_lock

    results = tmp_path / "results"
    lock_file = results / launch.LOCK_NAME
    with train_lock.training_lock(results, "r"):
        theirs = {**json.loads(lock_file.read_text()), "host": "gpu-box-2", "machine": "0ther-b00t/4026532999",
                  "pid": 4242}
        lock_file.write_text(json.dumps(theirs))
    assert json.loads(lock_file.read_text()) == theirs
    with train_lock.training_lock(tmp_path / "other", "mine"):  # its own lock it releases as before
        pass
    assert not (tmp_path / "other" / launch.LOCK_NAME).exists()


def test_a_folder_named_train_lock_is_said_not_a_traceback(tmp_path):
    # Start on the Train page was an IsADirectoryError traceback out of the stale lock's unlink.
    import pytest

    from glr.training.run import RunError

    (tmp_path / "train.lock").mkdir()
    with pytest.raises(RunError, match=f"{tmp_path / 'train.lock'} is a folder, not glr's lock file .*; remove it, then "
                                       "start again"):
        launch.acquire_lock(tmp_path, "20260101-000000-x")
    assert (tmp_path / "train.lock").is_dir()

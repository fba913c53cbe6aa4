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
    lock_file.write_text(json.dumps(lock))
    status = results / "runs" / "theirs" / "status.json"
    status.parent.mkdir(parents=True)
    status.write_text("{}")  # its training wrote its progress a moment ago
    with pytest.raises(RunError, match=r"another training is running: theirs \(pid 999999999 on gpu-box-2, another "
                                       r"computer\); stop it there first. If it no longer runs, its lock is free 30 "
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

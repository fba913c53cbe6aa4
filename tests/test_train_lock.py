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

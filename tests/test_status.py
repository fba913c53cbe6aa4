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

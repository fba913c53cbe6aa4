"""glr.training.run: the run folder's writers never make a deleted run folder again, half."""

from __future__ import annotations

import shutil

import pandas as pd
import pytest

from conftest import at_epoch, tiny_config
from glr.training import trainer as training
from glr.training.launch import new_run
from glr.training.run import Run, RunError
from glr.training.run_table import list_runs

CONFIG = {"train": {"backbone": "efficientnet_lite0", "epochs": 3}}


def test_a_deleted_run_folder_is_not_made_again_by_its_writers(tmp_path):
    run = Run.create(tmp_path, CONFIG)
    shutil.rmtree(run.path)
    for write in (lambda: run.write_config(CONFIG), lambda: run.append_history({"phase": 1, "epoch": 1}),
                  lambda: run.write_checkpoint_state({"phase": 1}), lambda: run.write_split(pd.DataFrame({"id": []}))):
        with pytest.raises(RunError, match=f"the run folder {run.path} is gone"):
            write()
    assert run.update_status(state="failed") is False
    assert not run.path.exists() and list_runs(tmp_path).empty


def test_a_run_folder_deleted_while_it_trains_stops_the_training_and_stays_gone(tmp_path, tiny_data, monkeypatch):
    # Before: the trainer wrote on, and its writers made the folder again with status.json, history.csv,
    # checkpoints and model.keras but no config.json: a half run listed as damaged; the error said "no config.json".
    run = new_run(tmp_path, tiny_config(tiny_data, epochs=6))
    at_epoch(monkeypatch, 2, lambda trainer: shutil.rmtree(trainer.run.path))  # `rm -rf` from a shell, mid-training
    monkeypatch.setattr("glr.training.checkpoints.SAVE_INTERVAL", 0.0)  # a checkpoint is due right after the deletion
    with pytest.raises(RunError, match=f"the run folder {run.path} is gone"):
        training.train_run(run)
    assert not run.path.exists() and list_runs(tmp_path).empty
    new_run(tmp_path, tiny_config(tiny_data, epochs=1))  # the results folder's lock was released


@pytest.mark.parametrize("target, calls", [("history.csv", 3), ("model.keras", 1), ("metrics.json", 1)])
def test_disk_full_while_writing_the_history_the_model_or_the_metrics(tmp_path, tiny_data, monkeypatch, target, calls):
    """The write of `target` hits a full disk: the run fails saying which file, the files written before are whole,
    and once space is freed a resume finishes it without training an epoch twice."""
    import errno
    from pathlib import Path

    import glr.atomic
    from glr.atomic import StorageError

    run = new_run(tmp_path, tiny_config(tiny_data, epochs=3))
    monkeypatch.setattr("glr.training.checkpoints.SAVE_INTERVAL", 0.0)  # a checkpoint after every epoch
    real, seen = glr.atomic.write_with, []

    def write_with(path, writer, suffix=""):
        if Path(path).name == target:
            seen.append(path)
            if len(seen) == calls:
                writer = lambda tmp: (_ for _ in ()).throw(OSError(errno.ENOSPC, "No space left on device"))  # noqa: E731
        return real(path, writer, suffix)

    for module in ("glr.atomic", "glr.training.model"):
        monkeypatch.setattr(f"{module}.write_with", write_with)
    with pytest.raises(StorageError):
        training.train_run(run)
    status = run.status()
    assert status["state"] == "failed" and status["traceback"] is None
    assert status["message"].startswith(f"{run.path / target}: cannot be written, the disk is full")
    done = run.history()["epoch"].tolist()
    assert done == ([1, 2] if target == "history.csv" else [1, 2, 3])  # the history before, whole
    assert not run.model_path.exists() or target == "metrics.json"
    monkeypatch.setattr("glr.atomic.write_with", real)  # space freed
    monkeypatch.setattr("glr.training.model.write_with", real)
    training.train_run(run, resume=True)
    assert run.status()["state"] == "finished" and run.history()["epoch"].tolist() == [1, 2, 3]
    assert run.metrics()["top1"] >= 0


def test_a_history_with_a_column_added_by_hand_keeps_it(tmp_path):
    # Before: the next epoch's row dropped every column glr does not write (a note, a newer version's).
    run = Run.create(tmp_path, CONFIG)
    run.history_path.write_text("phase,epoch,loss,note\n1,1,0.9,warm-up\n")
    run.append_history({"phase": 1, "epoch": 2, "loss": 0.5})
    history = pd.read_csv(run.history_path)
    assert history["epoch"].tolist() == [1, 2] and history["note"].tolist()[0] == "warm-up"


def test_a_metrics_json_that_is_not_an_object_is_named_as_damaged(tmp_path):
    run = Run.create(tmp_path, CONFIG)
    run.metrics_path.write_text("[1, 2]")  # 'list' object has no attribute 'get' on the Results and Home pages
    with pytest.raises(RunError, match=r"metrics.json is damaged: not a JSON object of scores"):
        run.metrics()
    run.metrics_path.unlink()
    assert run.metrics() is None  # not evaluated yet: no error


def test_a_class_without_a_name_in_labels_json_is_read_as_landmark_and_its_id(tmp_path):
    # The Results page, the open-set report and the comparison showed "None" or "nan" (the predictor named it already).
    import json

    run = Run.create(tmp_path, {"train": {}})
    run.labels_path.write_text(json.dumps([{"index": 0, "landmark_id": 7, "name": None},
                                           {"index": 1, "landmark_id": 9, "name": "  "},
                                           {"index": 2, "landmark_id": 12, "name": "Big Ben"}]))
    assert run.labels()["name"].tolist() == ["landmark 7", "landmark 9", "Big Ben"]

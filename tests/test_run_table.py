"""glr.training.run_table: the runs of a results folder at a glance, tested without Streamlit."""

import pytest

from glr import class_examples
from glr.errors import GlrError
from glr.training import run_table
from glr.training.run import Run
from glr.training.run_table import list_runs


def _run(results, run_id, state, created, model=False, history=False):
    run = Run.create(results, {"train": {"backbone": "x", "epochs": 2}}, run_id=run_id)
    run.update_status(state=state, created=created)
    if model:
        (run.path / "model.keras").write_bytes(b"x")
    if history:
        (run.path / "history.csv").write_text("phase,epoch,loss\n1,1,0.5\n")
    return run


def test_default_run_prefers_the_newest_active(tmp_path):
    assert run_table.default_run(list_runs(tmp_path)) is None
    _run(tmp_path, "old", "finished", "2026-01-01T00:00:00", model=True)
    _run(tmp_path, "new", "failed", "2026-01-03T00:00:00", history=True)
    assert run_table.default_run(list_runs(tmp_path)) == "new"
    # A queued run (no process yet) counts as active and wins over newer finished ones.
    _run(tmp_path, "queued", "queued", "2026-01-02T00:00:00")
    assert run_table.default_run(list_runs(tmp_path)) == "queued"
    assert run_table.finished_runs(tmp_path) == ["old"]
    assert run_table.evaluated_runs(tmp_path) == ["new"]


def test_progress_of_status():
    assert run_table.progress_of({"state": "running", "phase": "features", "step": 5, "steps": 20}) == (0.25, "features: 5/20")
    assert run_table.progress_of({"state": "queued", "step": 0, "steps": None}) == (0.0, "queued")
    assert run_table.progress_of({"state": "running", "step": 30, "steps": 20})[0] == 1.0
    assert run_table.progress_of({"state": "finished", "step": None, "steps": None}) == (1.0, "finished")
    assert run_table.progress_of({"state": "running", "step": "x", "steps": 3})[0] == 0.0
    assert run_table.epoch_progress({"epoch": 3, "epochs": 12}) == (0.25, "epoch 3 of 12")
    assert run_table.epoch_progress({"epoch": None, "epochs": None})[0] == 0.0


def test_log_tail(tmp_path):
    log = tmp_path / "train.log"
    assert run_table.log_tail(log) == ""
    log.write_text("\n".join(f"line {i}" for i in range(100)) + "\n")
    assert run_table.log_tail(log, lines=2) == "line 98\nline 99"


def test_check_run_for_prediction(finished_run, tmp_path):
    run_table.check_run_for_prediction(finished_run.path)
    assert run_table.model_stamp(finished_run.path) > 0
    with pytest.raises(GlrError, match="model.keras is missing"):
        run_table.check_run_for_prediction(tmp_path)
    assert class_examples.run_dataset_root(tmp_path) is None

"""glr.training.run_table: the runs of a results folder at a glance, tested without Streamlit."""

import json

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


def test_a_run_is_found_by_id_folder_name_or_latest(tmp_path):
    from glr.training.run import RunError

    with pytest.raises(RunError, match="no run 'latest': there is no run yet"):
        run_table.find_run(tmp_path, "latest")
    old = _run(tmp_path, "20260101-000000-x", "finished", "2026-01-01T00:00:00", model=True)
    new = _run(tmp_path, "20260103-000000-x", "failed", "2026-01-03T00:00:00")
    old.set_name("baseline  lite0")
    assert run_table.find_run(tmp_path, old.id) == old
    assert run_table.find_run(tmp_path, str(new.path)) == new
    assert run_table.find_run(tmp_path, "latest") == new  # the newest, whatever its state
    assert run_table.find_run(tmp_path, "baseline lite0") == old  # as stored: one line, single spaces
    with pytest.raises(RunError, match="no run 'baseline': neither a folder, a run id, a run's name"):
        run_table.find_run(tmp_path, "baseline")
    new.set_name("baseline lite0")
    with pytest.raises(RunError, match=r"2 runs are named 'baseline lite0' \(20260103-000000-x, 20260101-000000-x\)"):
        run_table.find_run(tmp_path, "baseline lite0")


def test_labels_stamp_changes_with_labels_or_settings(tmp_path):
    # One stamp for the Predict page's cache key and Grad-CAM's (each read labels.json's time its own way,
    # and neither config.json's: a setting changed by hand was served with the old one).
    import os

    run = _run(tmp_path, "r", "finished", "2026-01-01T00:00:00", model=True)
    assert run_table.labels_stamp(run)[0] == 0 and run_table.labels_stamp(run)[1] > 0  # no labels yet
    run.labels_path.write_text("[]")
    first = run_table.labels_stamp(run.path)
    assert first[0] > 0
    for path in (run.labels_path, run.config_path):
        later = path.stat().st_mtime_ns + 10**9
        os.utime(path, ns=(later, later))
        assert run_table.labels_stamp(run) != first
        first = run_table.labels_stamp(run)


def test_progress_of_status():
    assert run_table.progress_of({"state": "running", "phase": "features", "step": 5, "steps": 20}) == (0.25, "features: 5/20")
    assert run_table.progress_of({"state": "queued", "step": 0, "steps": None}) == (0.0, "queued")
    assert run_table.progress_of({"state": "running", "step": 30, "steps": 20})[0] == 1.0
    assert run_table.progress_of({"state": "finished", "step": None, "steps": None}) == (1.0, "finished")
    assert run_table.progress_of({"state": "running", "step": "x", "steps": 3})[0] == 0.0


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


def test_one_progress_bar_for_the_epochs():
    # Epoch 20 of 40 is under way (19 done), 5 of its 10 batches: one bar, one number.
    status = {"state": "running", "phase": "phase 1: training the head", "unit": "batch", "epoch": 19, "epochs": 40,
              "step": 5, "steps": 10}
    assert run_table.progress_of(status) == (19.5 / 40, "phase 1: training the head: epoch 20 of 40")
    # Between epochs the trainer sets step 0 once the epoch is counted: never "epoch 21" early, never past 1.
    assert run_table.progress_of({**status, "epoch": 40, "step": 0}) == (1.0, "phase 1: training the head: epoch 40 of 40")
    # Any other stage counts its own steps.
    features = {"state": "running", "phase": "extracting features", "unit": "img", "epoch": 0, "epochs": 40,
                "step": 340, "steps": 2400}
    assert run_table.progress_of(features) == (340 / 2400, "extracting features: 340/2400")


def test_elapsed_and_time_left():
    from datetime import datetime, timezone

    t0 = datetime(2026, 1, 1, tzinfo=timezone.utc).timestamp()
    running = {"state": "running", "started": "2026-01-01T00:00:00+00:00", "finished": None}
    assert run_table.elapsed(running, t0 + 90) == 90
    assert run_table.elapsed({**running, "state": "finished", "finished": "2026-01-01T00:02:00+00:00"}, t0 + 999) == 120
    assert run_table.elapsed({"state": "queued", "started": None}) is None

    # A stage's steps at the pace since it began: 100 of 400 images in 50 s leaves 150 s.
    features = {**running, "unit": "img", "step": 100, "steps": 400, "stage_started": "2026-01-01T00:01:00+00:00"}
    assert run_table.time_left(features, None, t0 + 110) == pytest.approx(150)
    assert run_table.time_left({**features, "step": 0}, None, t0 + 110) is None  # no pace yet
    assert run_table.time_left({**features, "step": 5}, None, t0 + 110) is None  # under 1/50 of 400: start-up
    assert run_table.time_left({**features, "state": "stopping"}, None, t0 + 110) is None

    # Epochs: the epochs left at the pace of this phase's last epochs in the history.
    import pandas as pd

    history = pd.DataFrame({"phase": [1, 1, 1, 1], "epoch": [1, 2, 3, 4], "seconds": [9.0, 2.0, 2.0, 2.0]})
    epochs = {**running, "phase": "phase 1: training the head", "unit": "batch", "epoch": 4, "epochs": 10,
              "step": 5, "steps": 10, "stage_started": "2026-01-01T00:01:00+00:00"}
    assert run_table.time_left(epochs, history, t0 + 61) == pytest.approx(5.5 * 2.0)
    # No history yet: the pace of this epoch's batches (5 in 1 s, so 2 s an epoch).
    assert run_table.time_left(epochs, history.iloc[:0], t0 + 61) == pytest.approx(5.5 * 2.0)
    # Phase 2 goes by its own epochs only.
    phase2 = pd.concat([history, pd.DataFrame({"phase": [2], "epoch": [5], "seconds": [30.0]})])
    assert run_table.time_left({**epochs, "phase": "phase 2: fine-tuning the backbone", "epoch": 5, "step": 0},
                               phase2, t0 + 61) == pytest.approx(5 * 30.0)


def test_duration_text():
    assert [run_table.duration_text(s) for s in (None, 4.4, 200, 3 * 3600 + 5 * 60)] == [
        "unknown", "4 s", "3 min 20 s", "3 h 05 min"]


def test_list_runs_gives_the_saved_models_top1_beside_the_best_epoch(tmp_path):
    import pandas as pd

    run = _run(tmp_path, "a", "finished", "2026-01-01T00:00:00+00:00", model=True)
    run.history_path.write_text("phase,epoch,val_accuracy\n1,1,0.5\n1,2,0.9\n")
    assert list_runs(tmp_path).iloc[0]["model_top1"] is None or pd.isna(list_runs(tmp_path).iloc[0]["model_top1"])
    run.write_evaluation(pd.DataFrame(), pd.DataFrame(), pd.DataFrame(), {"top1": 0.75})
    row = list_runs(tmp_path).iloc[0]
    assert (row["model_top1"], row["best_val_accuracy"]) == (0.75, 0.9)  # they differ: both kept, each named
    run.metrics_path.write_text("{broken")
    row = list_runs(tmp_path).iloc[0]
    assert row["state"] == "damaged" and "metrics.json is damaged" in row["message"]


@pytest.mark.parametrize("text, why", [("[1, 2]", "not a JSON object of scores"),
                                       ('{"top1": "high"}', "its top1 is 'high', not a number"),
                                       ('{"top1": true}', "its top1 is 'True', not a number")])
def test_a_finished_runs_metrics_that_are_not_scores_list_it_as_damaged(tmp_path, text, why):
    run = _run(tmp_path, "a", "finished", "2026-01-01T00:00:00+00:00", model=True)
    run.metrics_path.write_text(text)
    row = list_runs(tmp_path).iloc[0]
    # Was listed as finished, "no saved model yet", or a crash on the list's .get.
    assert row["state"] == "damaged" and f"metrics.json is damaged: {why}" in row["message"]


def test_a_finished_runs_nan_top1_is_no_score_not_nan(tmp_path):
    run = _run(tmp_path, "a", "finished", "2026-01-01T00:00:00+00:00", model=True)
    run.metrics_path.write_text('{"top1": NaN}')  # what json writes when no validation photo was scored
    row = list_runs(tmp_path).iloc[0]
    assert row["state"] == "finished" and row["model_top1"] is None


def test_no_metrics_note_says_why_by_the_runs_state():
    note = run_table.no_metrics_note
    assert note({"state": "running"}) == "Not evaluated yet: metrics.json appears when the training finishes."
    assert note({"state": "failed", "message": "RuntimeError: boom"}).startswith(
        "This run failed before it was evaluated (RuntimeError: boom): resume it on the Train page")
    assert note({"state": "stopped"}).startswith("This run was stopped before it was evaluated: resume it")
    assert "per_class.csv is missing (deleted?)" in note({"state": "finished"}, "per_class.csv")
    assert note({"state": "damaged", "message": "status.json is damaged"}).startswith(
        "This run's files cannot be read (status.json is damaged)")


def test_a_stopped_runs_damaged_checkpoint_is_listed_as_damaged_naming_the_file(tmp_path):
    # Before: listed as "stopped", and Resume then failed on the checkpoint.
    fresh = _run(tmp_path, "20260101-000000-fresh", "stopped", "2026-01-01T00:00:00", history=True)  # stopped before one
    cut = _run(tmp_path, "20260102-000000-cut", "stopped", "2026-01-02T00:00:00", history=True)
    cut.write_checkpoint_state({"phase": 1, "epoch": 1})
    cut.last_checkpoint.write_bytes(b"PK\x03\x04 cut short")
    lost = _run(tmp_path, "20260103-000000-lost", "failed", "2026-01-03T00:00:00", history=True)
    lost.checkpoint_dir.mkdir()
    lost.checkpoint_state_path.write_text('{"phase": 1, "ep')
    done = _run(tmp_path, "20260104-000000-done", "finished", "2026-01-04T00:00:00", model=True)
    done.checkpoint_dir.mkdir()
    done.last_checkpoint.write_bytes(b"")  # a finished run needs no checkpoint: not damaged
    table = list_runs(tmp_path).set_index("run_id")
    assert table["state"].to_dict() == {done.id: "finished", lost.id: "damaged", cut.id: "damaged", fresh.id: "stopped"}
    assert f"{cut.last_checkpoint} is not a .keras model file (damaged or incomplete?); delete {cut.checkpoint_dir}" \
        in table.loc[cut.id, "message"]
    assert f"{lost.checkpoint_state_path} is damaged" in table.loc[lost.id, "message"]


def test_find_run_refuses_a_folder_that_is_no_run_for_every_caller(tmp_path):
    # The check lived in the CLI alone: run_table.find_run took any folder for a run, so a caller that deletes it
    # (launch.delete_run) deleted whatever that folder held.
    from glr.training.run import RunError

    photos = tmp_path / "photos"
    photos.mkdir()
    (photos / "keep.jpg").write_bytes(b"x")
    with pytest.raises(RunError, match="is a folder but not a run folder"):
        run_table.find_run(tmp_path / "results", str(photos))
    with pytest.raises(RunError, match="the run is empty"):
        run_table.find_run(tmp_path / "results", " ")


def test_a_file_or_folder_inside_a_run_names_the_run_to_give(tmp_path):
    # `predict RUN/model.keras photos` said "no run ...: neither a folder, a run id, a run's name nor 'latest'".
    from glr.training.run import Run, RunError

    run = Run(tmp_path / "results" / "runs" / "20261208-010101-x")
    (run.path / "report").mkdir(parents=True)
    run.config_path.write_text("{}")
    (run.path / "model.keras").write_bytes(b"x")
    for inside, kind in ((run.path / "model.keras", "a file"), (run.path / "report", "a folder")):
        with pytest.raises(RunError, match=f"is {kind} inside the run in .*: give that folder, or the run's id "
                                           f"'20261208-010101-x'"):
            run_table.find_run(tmp_path / "results", str(inside))
    loose = tmp_path / "model.keras"
    loose.write_bytes(b"x")
    with pytest.raises(RunError, match="no run"):  # a file in no run: as before
        run_table.find_run(tmp_path / "results", str(loose))


def test_a_reference_with_a_folder_part_never_reaches_a_folder_outside_runs(tmp_path, monkeypatch):
    # `runs --results R --delete ../../victim --yes` deleted R/runs/../../victim, any folder on disk, and
    # `--delete ../runs` every run: the id was joined to runs/ and any folder it reached was taken for a run.
    from glr.training.run import RunError

    results = tmp_path / "results"
    kept = _run(results, "20260101-000000-kept", "finished", "2026-01-01T00:00:00", model=True)
    victim = tmp_path / "victim"
    (victim / "sub").mkdir(parents=True)
    (tmp_path / "elsewhere" / "deep").mkdir(parents=True)
    monkeypatch.chdir(tmp_path / "elsewhere" / "deep")  # where "../../victim" and "../runs" are no folders
    for ref in ("../../victim", "../runs", "..", ".", f"../runs/{kept.id}"):
        with pytest.raises(RunError, match="no run|not a run folder"):
            run_table.find_run(results, ref)
    assert run_table.find_run(results, kept.id).path == kept.path  # a bare id still finds its run
    assert (victim / "sub").is_dir() and kept.path.is_dir()


def test_a_run_whose_loss_became_nan_or_inf_says_it_diverged_in_the_run_list(tmp_path):
    run = _run(tmp_path, "a", "finished", "2026-01-01T00:00:00+00:00", model=True)
    run.history_path.write_text("phase,epoch,loss,lr\n1,1,2.5,0.5\n1,2,inf,0.5\n1,3,nan,0.5\n")
    note = run_table.divergence(run.history())
    assert note == ("the loss became infinite at epoch 2: the training diverged, so its curves stop there and its "
                    "model learned nothing after it; start a new run with a lower learning rate (this one used 0.5)")
    row = list_runs(tmp_path).iloc[0]
    assert row["state"] == "finished" and row["message"] == note  # `glr runs`, Home and Train show this column
    run.history_path.write_text("phase,epoch,loss\n1,1,nan\n")
    assert run_table.divergence(run.history()).startswith("the loss became NaN at epoch 1:")
    run.history_path.write_text("phase,epoch,loss\n1,1,0.5\n")
    assert run_table.divergence(run.history()) == "" and list_runs(tmp_path).iloc[0]["message"] == ""
    run.history_path.write_text("phase,epoch,loss\n1,inf,nan\n")  # edited by hand: said as written, no OverflowError
    assert run_table.divergence(run.history()).startswith("the loss became NaN at epoch inf:")


def test_a_history_without_its_validation_loss_column_is_no_divergence(tmp_path):
    # The loss check also reads the validation loss where validation ran; a history.csv without that column
    # (edited by hand) is filled in blank by Run.history, and blank there is no NaN loss.
    run = Run.create(tmp_path / "results", {"train": {"epochs": 2}}, run_id="no-val-loss")
    run.history_path.write_text("epoch,loss,accuracy,val_accuracy\n1,1.2,0.5,0.4\n2,0.9,0.6,0.5\n")
    assert run_table.divergence(run.history()) == ""
    run.history_path.write_text("epoch,loss,accuracy,val_loss,val_accuracy\n1,1.2,0.5,0.8,0.4\n2,0.9,0.6,nan,0.5\n")
    assert "validation loss became NaN at epoch 2" in run_table.divergence(run.history())


def test_time_left_is_paced_by_the_stage_seconds_the_trainer_measured_not_the_wall_clock():
    # NTP set the clock forward an hour while 100 of 400 photos were done in 50 s: the pace read from the wall clock
    # was 36.5 s a photo, "about 3 h left" for 150 s of work; set back, no estimate at all.
    from datetime import datetime, timezone

    t0 = datetime(2026, 1, 1, tzinfo=timezone.utc).timestamp()
    features = {"state": "running", "started": "2026-01-01T00:00:00+00:00", "unit": "img", "step": 100, "steps": 400,
                "stage_started": "2026-01-01T00:01:00+00:00", "stage_seconds": 50.0}
    for moment in (t0 + 110, t0 + 110 + 3600, t0 + 110 - 3600):
        assert run_table.time_left(features, None, moment) == pytest.approx(150)
    epochs = {**features, "phase": "phase 1: training the head", "unit": "batch", "epoch": 4, "epochs": 10,
              "step": 5, "steps": 10, "stage_seconds": 1.0}
    assert run_table.time_left(epochs, None, t0 + 61 + 3600) == pytest.approx(5.5 * 2.0)
    for odd in (None, "x", -1.0, float("nan"), True):  # an older glr's status, or one edited: its timestamps as before
        assert run_table.time_left({**features, "stage_seconds": odd}, None, t0 + 110) == pytest.approx(150)


def test_the_trainers_progress_records_the_stage_seconds_beside_its_step(tmp_path):
    from glr.training.progress import Progress

    run = Run.create(tmp_path, {"train": {"epochs": 2}}, run_id="r")
    progress = Progress(run)
    progress.start("features", 4, "img")
    assert run.status()["stage_seconds"] == 0.0
    progress.advance(4)
    recorded = run.status()
    assert recorded["step"] == 4 and 0.0 <= recorded["stage_seconds"] < 60


def test_elapsed_is_measured_on_the_monotonic_clock_so_a_clock_step_does_not_show(tmp_path, monkeypatch):
    # NTP stepped the wall clock an hour forward while a run trained: "elapsed" read from `started` to now said
    # 1 h 00 min for a minute's training, and a run that finished after the step kept that hour for good.
    import os
    import time
    from datetime import datetime, timedelta

    from glr.training import status as status_module

    run = Run.create(tmp_path / "results", {"train": {}}, run_id="stepped")
    run.update_status(state="running", pid=os.getpid())
    real = time.time
    monkeypatch.setattr(time, "time", lambda: real() + 3600)
    monkeypatch.setattr(status_module, "now", lambda: (datetime.now().astimezone() + timedelta(hours=1))
                        .isoformat(timespec="seconds"))
    assert run_table.elapsed(run.status()) < 60
    run.update_status(state="finished")
    assert run_table.elapsed(run.status()) < 60
    # Another pid space's clock (another machine) cannot be compared with this one's: the timestamps, as before.
    recorded = json.loads(run.status_path.read_text())
    recorded["finished_clock"][0] = "another-boot/4026532999"
    run.status_path.write_text(json.dumps(recorded))
    assert 3500 < run_table.elapsed(run.status()) < 3700


def test_the_elapsed_time_of_a_run_that_died_without_a_word_stops_at_its_last_word(tmp_path, monkeypatch):
    # Its `elapsed` grew for ever: a trainer killed after a minute showed "elapsed 2 h" the next morning.
    run = Run.create(tmp_path / "results", {"train": {}}, run_id="killed")
    run.update_status(state="running", pid=999_999_999, started="2026-01-01T00:00:00+00:00")
    recorded = json.loads(run.status_path.read_text())
    recorded.update(updated="2026-01-01T00:01:00+00:00", started_clock=None)  # an older glr's status too
    run.status_path.write_text(json.dumps(recorded))
    assert run.status()["state"] == "failed"
    assert run_table.elapsed(run.status()) == 60


def test_another_computers_training_shows_its_elapsed_time_whatever_either_clock_says(tmp_path, monkeypatch):
    # A results folder shared with a computer whose clock is minutes off: its training's "elapsed" was this machine's
    # now minus that machine's `started`: 0 s for its first 5 minutes (a clock 5 minutes ahead), or 5 minutes too
    # long (behind), whatever it had trained.
    import json
    import os
    import time
    from datetime import datetime, timedelta

    from glr.training import launch

    results = tmp_path / "results"
    run = Run.create(results, {"train": {}}, run_id="theirs")
    there = "0ther-b00t/4026532999"
    for skew in (-300, 300):  # their clock 5 minutes behind ours, then ahead
        started = datetime.now().astimezone() + timedelta(seconds=skew - 40)
        status = {**json.loads(run.status_path.read_text()), "state": "running", "pid": 4242, "machine": there,
                  "host": "gpu-box-2", "started": started.isoformat(timespec="seconds"),
                  "updated": (started + timedelta(seconds=30)).isoformat(timespec="seconds"),
                  "started_clock": [there, 1000.0], "updated_clock": [there, 1030.0]}  # 30 s trained at its last write
        run.status_path.write_text(json.dumps(status))
        written = time.time() - 10  # 10 s ago, by the shared folder's clock
        os.utime(run.status_path, (written, written))
        launch.acquire_lock(results, "theirs")
        lock_file = results / launch.LOCK_NAME
        lock_file.write_text(json.dumps({**json.loads(lock_file.read_text()), "machine": there, "host": "gpu-box-2",
                                         "pid": 4242}))  # it beats there
        seen = run.status()
        assert seen["state"] == "running"
        assert run_table.elapsed(seen) == pytest.approx(40, abs=2), skew
        lock_file.unlink()

"""glr.training.resuming: an --epochs change belongs to its resume attempt (the resumes themselves: test_run_data, test_cli)."""

import pytest

from glr.training.resuming import restore, set_epochs, snapshot
from glr.training.run import Run, RunError, setting


def test_a_refusal_undoes_only_its_own_attempts_epochs_change(tmp_path):
    run = Run.create(tmp_path, {"train": {"epochs": 4}, "data": str(tmp_path)})
    run.update_status(state="stopped", epochs=4, message="stopped on request")
    set_epochs(run, 6)  # an attempt that went on to train: its change stays
    run.update_status(state="stopped", epochs=6, message="stopped on request")
    set_epochs(run, None)  # the next attempt, with no --epochs, is refused
    restore(run, snapshot(run), "a class is gone")
    assert setting(run.config(), "epochs") == 6 and run.status()["epochs"] == 6
    set_epochs(run, 9)  # and one with --epochs 9, refused: back to 6
    restore(run, snapshot(run), "a class is gone")
    assert setting(run.config(), "epochs") == 6 and [c["to"] for c in run.config()["epochs_changed"]] == [6]
    assert run.status()["state"] == "stopped" and run.status()["message"].startswith("resume refused: a class is gone")


def test_an_epochs_change_a_training_took_up_is_no_longer_undone(tmp_path, monkeypatch):
    # A later refused attempt that made no change of its own (a cluster's `--run-dir X --resume`) undid it.
    from conftest import at_epoch
    from glr.training.trainer import train_run
    from test_run_data import class_folders, stopped_run

    run = stopped_run(tmp_path / "results", class_folders(tmp_path / "folders"))  # 2 of 4 epochs
    set_epochs(run, 6)
    at_epoch(monkeypatch, 3, lambda trainer: trainer.run.request_stop())
    train_run(run, resume=True)  # under way, then stopped again after epoch 3
    run.stop_path.unlink(missing_ok=True)
    assert run.status()["state"] == "stopped" and not run.status().get("epochs_pending")
    restore(run, snapshot(run), "a worker could not start")
    assert setting(run.config(), "epochs") == 6 and run.status()["epochs"] == 6


def test_a_run_on_a_path_typed_in_nfc_for_a_folder_named_in_nfd_can_be_resumed(tmp_path, capsys):
    # The run trained from that folder (glr.data.datasets reads the folder of the same name in another Unicode form),
    # but a resume was refused: "trains on .../Café, which is no longer there".
    import unicodedata

    from glr.training.resuming import resumable
    from glr.training.trainer import train_run
    from test_run_data import class_folders, stopped_run

    class_folders(tmp_path / unicodedata.normalize("NFD", "Café"))
    run = stopped_run(tmp_path / "results", tmp_path / "Café")
    assert resumable(run) is run
    capsys.readouterr()
    train_run(run, resume=True, console=True)
    assert "Unicode form" not in capsys.readouterr().err  # said at the start; each resume said it again
    assert run.status()["state"] == "finished" and run.history()["epoch"].tolist() == [1, 2, 3, 4]
    note = [p for p in run.config()["dataset"]["problems"] if "Unicode form" in p]
    assert len(note) == 1  # said once, not again by the resume


def checkpointed(tmp_path, data, done, state, last=None, best=None, **train):
    """A stopped run of `done` history rows whose checkpoint is state.json `state` and model files carrying glr's note
    (`last`, `best`: the state inside each, as `Checkpoints.write` saves it), all that the checks before a resume read."""
    import json
    import zipfile

    from conftest import tiny_config
    from glr.training.launch import new_run
    from glr.training.model import CHECKPOINT_NOTE

    run = new_run(tmp_path, tiny_config(data, **train))
    run.update_status(state="stopped", message="stopped on request; --resume continues")
    rows = "".join(f"1,{e},1.0,0.5,{1.0 + e / 10},0.5,0.01\n" for e in range(1, done + 1))
    run.history_path.write_text("phase,epoch,loss,accuracy,val_loss,val_accuracy,lr\n" + rows)
    run.checkpoint_dir.mkdir()
    run.write_checkpoint_state(state)
    for path, note in ((run.last_checkpoint, last or state), (run.best_checkpoint, best)):
        if note is not None:
            with zipfile.ZipFile(path, "w") as archive:
                archive.writestr("config.json", "{}")
                archive.writestr(CHECKPOINT_NOTE, json.dumps(note))
    return run


def files_of(run):
    return {p: p.read_bytes() for p in run.path.rglob("*") if p.is_file() and p.suffix != ".lock"}


def test_epochs_are_judged_from_the_checkpoint_a_resume_goes_on_from_not_a_state_json_a_kill_left_behind(
        tmp_path, tiny_data):
    # Killed between phase 2's first last.keras and its state.json: state.json still says phase 1. --epochs 30 was
    # accepted as phase 1's new total (config.json changed), then the trainer, setting state.json right, fine-tuned on.
    from glr.training.resuming import resumable

    phase1 = {"phase": 1, "epoch": 4, "end": 4, "partial": False, "best_val_loss": 0.5, "wait": 0}
    phase2 = {"phase": 2, "epoch": 5, "end": 6, "partial": False, "best_val_loss": 0.4, "wait": 0}
    run = checkpointed(tmp_path, tiny_data, 5, phase1, last=phase2, best=phase2, epochs=4, fine_tune=True,
                       fine_tune_epochs=2)
    before = files_of(run)
    with pytest.raises(RunError, match=rf"run {run.id} is fine-tuning \(phase 2, 5 epochs done of 6\): --epochs sets "
                                       "phase 1's length, which is over; resume it without --epochs"):
        resumable(run, 30)
    assert resumable(run) is run
    assert files_of(run) == before  # only asked: state.json is set right by the trainer, under its lock


def test_a_larger_epochs_for_a_run_early_stopping_ended_says_it_trains_no_more(tmp_path, tiny_data):
    # Early stopping ended phase 1 at epoch 8, then saving model.keras failed. `--resume --epochs 30` recorded 30
    # epochs, and the resume finished the run from epoch 8 without training one more, saying nothing of it.
    from glr.training.resuming import resumable

    ended = {"phase": 1, "epoch": 8, "end": 20, "partial": False, "best_val_loss": 0.6, "wait": 2}
    run = checkpointed(tmp_path, tiny_data, 8, ended, patience=2)
    before = files_of(run)
    with pytest.raises(RunError, match=rf"run {run.id} stopped early at epoch 8 \(val_loss had not improved for 2 "
                                       r"epochs, its patience 2\), so --epochs 30 would not train it on: resume it "
                                       "without --epochs to finish it from its best epoch, or start a new run with a "
                                       "larger --patience"):
        resumable(run, 30)
    assert resumable(run) is run and files_of(run) == before
    # Short of its patience, or stopped mid-epoch: the run trains on to its new total.
    for state in ({**ended, "wait": 1}, {**ended, "partial": True}):
        assert resumable(checkpointed(tmp_path / str(len(state)) / str(state["wait"]), tiny_data, 8, state,
                                      patience=2), 30)


def test_a_larger_epochs_once_phase_1s_best_head_went_on_to_fine_tuning_is_refused(tmp_path, tiny_data):
    # Phase 1 ended at epoch 4; its best head (of epoch 2) became last.keras and phase 2 began, killed before its
    # first checkpoint. --epochs 7 trained phase 1 on from epoch 2's head with epoch 4's counters, history 3-4 kept.
    from glr.training.resuming import resumable

    ended = {"phase": 1, "epoch": 4, "end": 4, "partial": False, "best_val_loss": 0.5, "wait": 2}
    run = checkpointed(tmp_path, tiny_data, 4, ended, epochs=4, fine_tune=True, fine_tune_epochs=2)
    with pytest.raises(RunError, match=rf"run {run.id} ended phase 1 at epoch 4 and its best head went on to "
                                       r"fine-tuning \(phase 2\): --epochs sets phase 1's length, which is over; "
                                       "resume it without --epochs"):
        resumable(run, 7)
    assert resumable(run) is run
    # Killed while writing phase 2's first best.keras: phase 1 is as over (the resume removes that file).
    phase2 = {"phase": 2, "epoch": 5, "end": 6, "partial": False, "best_val_loss": 0.4, "wait": 0}
    killed = checkpointed(tmp_path / "c", tiny_data, 4, ended, best=phase2, epochs=4, fine_tune=True, fine_tune_epochs=2)
    with pytest.raises(RunError, match="ended phase 1 at epoch 4 and its best head went on to fine-tuning"):
        resumable(killed, 7)
    # Before the hand-over (best.keras still there, last.keras epoch 4's): phase 1 trains on to 7.
    other = checkpointed(tmp_path / "b", tiny_data, 4, ended, best=ended, epochs=4, fine_tune=True, fine_tune_epochs=2)
    assert resumable(other, 7) is other


@pytest.mark.parametrize("edit, said", [({"learning_rate": "fast"}, "learning_rate must be a float, got 'fast'"),
                                        ({"epochs": -3}, "epochs must be at least 1, got -3"),
                                        ({"patience": 2.5}, "patience must be a int, got 2.5")])
def test_a_resume_of_a_run_whose_config_json_was_edited_by_hand_names_the_setting(tmp_path, tiny_data, edit, said):
    # Was accepted: a training process was started, which failed at once with "invalid configuration: ..." and no
    # word of which file holds it.
    import json

    from glr.training.resuming import resumable

    run = checkpointed(tmp_path, tiny_data, 2, {"phase": 1, "epoch": 2, "end": 20, "partial": False,
                                                 "best_val_loss": 0.5, "wait": 0})
    config = run.config()
    config["train"].update(edit)
    run.config_path.write_text(json.dumps(config))
    with pytest.raises(RunError) as caught:
        resumable(run)
    assert str(caught.value) == (f"run {run.id} cannot be resumed: {run.config_path} holds an invalid configuration: "
                                 f"{said} (edited by hand?); put it right to resume the run")


def test_a_run_fine_tuning_after_phase_1_diverged_and_ended_with_its_good_weights_can_be_resumed(tmp_path, tiny_data):
    # Phase 1's loss became NaN at epoch 2: it ended with epoch 1's weights, and phase 2 fine-tuned on from them.
    # Stopped in phase 2, the run was refused as diverged ("start a new run with a lower learning rate").
    from glr.training.resuming import resumable

    fine_tuning = {"phase": 2, "epoch": 3, "end": 4, "partial": False, "best_val_loss": 1.0, "wait": 0}
    run = checkpointed(tmp_path, tiny_data, 0, fine_tuning, epochs=2, fine_tune=True, fine_tune_epochs=2)
    run.history_path.write_text("phase,epoch,loss,accuracy,val_loss,val_accuracy,lr\n1,1,1.0,0.5,1.1,0.5,0.01\n"
                                "1,2,nan,0.5,,,0.01\n2,3,0.9,0.5,1.0,0.5,0.001\n")
    assert resumable(run) is run
    # Phase 2's own NaN, with no checkpoint of it stopped there, is still refused.
    run.history_path.write_text(run.history_path.read_text() + "2,4,nan,0.5,,,0.001\n")
    with pytest.raises(RunError, match="the loss became NaN at epoch 4"):
        resumable(run)


def test_an_epoch_that_is_no_whole_number_is_refused_by_a_resume(tmp_path):
    # int() of the last epoch: 1.5 resumed as 1, inf raised an OverflowError traceback. Shown as written elsewhere
    # (test_run_table.py: the divergence note says "at epoch inf").
    from glr.training.resuming import epochs_done

    run = Run.create(tmp_path, {"train": {"epochs": 4}})
    for last in ("1.5", "inf", "-2"):
        run.history_path.write_text(f"phase,epoch,loss\n1,{last},1.5\n")
        with pytest.raises(RunError, match=f"history.csv is damaged: its last epoch is {last}, not an epoch's number"):
            epochs_done(run)


def test_a_refused_resume_puts_back_the_runs_clock_readings_with_its_timestamps(tmp_path):
    # The timestamps were put back, but restoring `started` stamped its monotonic reading anew: the run's elapsed
    # time (measured by those readings) became the moments since the refusal.
    import os
    import time

    from glr.training import run_table

    run = Run.create(tmp_path / "results", {"train": {}}, run_id="r")
    run.update_status(state="running", pid=os.getpid())
    time.sleep(0.3)
    run.update_status(state="stopped")
    spent = run_table.elapsed(run.status())
    before = snapshot(run)
    run.update_status(state="running", pid=os.getpid(), started="2026-01-01T00:00:00+00:00", finished=None)
    restore(run, before, "a class is gone")
    assert run.status()["state"] == "stopped"
    assert run_table.elapsed(run.status()) == spent >= 0.3

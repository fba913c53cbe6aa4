"""glr.training.resuming: an --epochs change belongs to its resume attempt (the resumes themselves: test_run_data, test_cli)."""

from glr.training.resuming import restore, set_epochs, snapshot
from glr.training.run import Run, setting


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

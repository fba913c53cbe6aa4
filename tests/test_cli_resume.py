"""`python -m glr train --resume RUN`: refused when it cannot continue, and --epochs N as a stopped run's new total."""

import pytest

from conftest import tiny_config
from glr.cli import main


def test_a_resume_whose_demo_cannot_be_generated_leaves_the_run_as_it_was(tmp_path, monkeypatch):
    # The app's queued resume ended "failed: ... (killed?)" with the reason only in train.log.
    from glr import commands
    from glr.training.config import TrainConfig
    from glr.training.launch import new_run

    monkeypatch.setenv("GLR_DEMO_DIR", str(tmp_path / "demo"))
    run = new_run(tmp_path / "results", TrainConfig())
    run.update_status(state="stopped", epoch=2, message="stopped on request")
    run.update_status(state="queued", message="resuming", resumed_from=run.recorded_status())  # as launch leaves it

    def full_disk():
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(commands, "_ensure_demo", full_disk)
    with pytest.raises(OSError):
        commands._ensure_dataset(run, resume=True)
    status = run.status()
    assert status["state"] == "stopped" and status["epoch"] == 2
    assert status["message"].startswith("resume refused: the demo dataset could not be generated: [Errno 28]")


def test_resume_of_a_finished_run_is_refused_as_the_app_refuses_it(finished_run, capsys):
    # `train --resume` on a finished run evaluated it and wrote its files again.
    before = (finished_run.path / "status.json").read_text()
    assert main(["train", "--resume", str(finished_run.path)]) == 2
    assert f"error: run {finished_run.id} has finished; start a new run to train more" in capsys.readouterr().err
    assert (finished_run.path / "status.json").read_text() == before


def test_resume_with_a_dataset_or_settings_is_a_usage_error(gldv2, capsys):
    # They were ignored in silence: `--resume RUN --epochs 5` trained on to the run's own 40 epochs (--epochs now
    # sets the run's new total: test_resume_with_epochs_trains_a_stopped_run_to_its_new_total).
    with pytest.raises(SystemExit) as exit_:
        main(["train", str(gldv2), "--resume", "latest", "--epochs", "5", "--no-fine-tune", "--weights", "none"])
    assert exit_.value.code == 2
    assert capsys.readouterr().err.strip().endswith(
        "error: --resume continues a run with its own dataset and settings; "
        "leave out DATA, --weights, --fine-tune/--no-fine-tune")


# --- --resume RUN --epochs N: a stopped run's new total -------------------------------------


def stopped_at(results, data, done: int, total: int):
    """A run stopped after `done` of its `total` epochs (its history and status written, no training)."""
    from glr.training.launch import new_run

    run = new_run(results, tiny_config(data, epochs=total))
    rows = "".join(f"1,{e},0.5,0.5,0.5,0.5,0.5,0.001,0.1\n" for e in range(1, done + 1))
    run.history_path.write_text("phase,epoch,loss,accuracy,val_loss,val_accuracy,val_top5,lr,seconds\n" + rows)
    run.update_status(state="stopped", epoch=done, epochs=total, message="stopped on request; --resume continues")
    return run


@pytest.fixture
def fake_train_run(monkeypatch):
    """`train_run` replaced: it records what the run says when training would start, and stops."""
    from glr.training import trainer

    seen = []

    def train_run(run, resume=False, console=False):
        seen.append((resume, run.train_config().epochs, run.status()["epochs"]))
        run.update_status(state="stopped", message="stopped on request; --resume continues")
        return {}

    monkeypatch.setattr(trainer, "train_run", train_run)
    return seen


def test_resume_with_epochs_trains_a_stopped_run_to_its_new_total(tiny_data, tmp_path, fake_train_run, capsys):
    # `--resume RUN --epochs 15` was a usage error ("leave out --epochs"): a stopped 10-epoch run could not go on to 15.
    run = stopped_at(tmp_path, tiny_data, done=10, total=10)
    assert main(["train", "--resume", run.id, "--results", str(tmp_path), "--epochs", "15"]) == 0
    assert fake_train_run == [(True, 15, 15)]
    config = run.config()
    assert config["train"]["epochs"] == 15 and config["epochs_changed"][0]["from"] == 10
    assert config["epochs_changed"][0]["to"] == 15
    assert "epochs: 10 -> 15, resuming" in run.log_path.read_text()
    capsys.readouterr()
    assert main(["runs", "--results", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "epochs" in out.splitlines()[0].split() and " 10/15 " in out


@pytest.mark.parametrize("epochs", ["10", "7"])  # 0: refused by argparse as any --epochs 0 (test_cli_args.py)
def test_resume_with_no_more_epochs_than_done_names_both_and_changes_nothing(tiny_data, tmp_path, fake_train_run,
                                                                            capsys, epochs):
    run = stopped_at(tmp_path, tiny_data, done=10, total=12)
    before = {p.name: p.read_bytes() for p in run.path.iterdir() if p.is_file() and p.suffix != ".lock"}
    assert main(["train", "--resume", run.id, "--results", str(tmp_path), "--epochs", epochs]) == 2
    assert f"error: run {run.id} has done 10 epochs, so --epochs {epochs} would end it before its next one; " \
           "give more than 10 (its total now: 12)" in capsys.readouterr().err
    assert {p.name: p.read_bytes() for p in run.path.iterdir() if p.is_file() and p.suffix != ".lock"} == before
    assert fake_train_run == []


def test_resume_with_epochs_of_a_run_in_phase_2_says_phase_1_is_over(tiny_data, tmp_path, fake_train_run, capsys):
    run = stopped_at(tmp_path, tiny_data, done=12, total=10)
    run.write_checkpoint_state({"phase": 2, "epoch": 12, "end": 18})
    assert main(["train", "--resume", run.id, "--results", str(tmp_path), "--epochs", "30"]) == 2
    assert f"error: run {run.id} is fine-tuning (phase 2, 12 epochs done of 18): --epochs sets phase 1's length, " \
           "which is over; resume it without --epochs" in capsys.readouterr().err
    assert run.config()["train"]["epochs"] == 10 and fake_train_run == []


def test_resume_with_epochs_of_a_finished_run_says_how_to_train_more_and_leaves_it(finished_run, capsys):
    before = {p: p.read_bytes() for p in finished_run.path.rglob("*") if p.is_file() and p.suffix != ".lock"}
    assert main(["train", "--resume", str(finished_run.path), "--epochs", "50"]) == 2
    err = capsys.readouterr().err
    assert f"error: run {finished_run.id} has finished; start a new run to train more (a finished run is not " \
           f"trained again: its model and report stay as they are; a new run with --epochs 50 and the settings in " \
           f"{finished_run.config_path} trains 50 epochs)" in err
    assert {p: p.read_bytes() for p in finished_run.path.rglob("*") if p.is_file() and p.suffix != ".lock"} == before


def test_resume_with_epochs_and_another_setting_refuses_the_other_alone(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["train", "--resume", "latest", "--epochs", "15", "--batch-size", "8"])
    assert exit_.value.code == 2
    assert capsys.readouterr().err.strip().endswith(
        "error: --resume continues a run with its own dataset and settings; leave out --batch-size")


def test_resume_while_another_training_holds_the_folder_changes_nothing(tiny_data, tmp_path, fake_train_run, capsys):
    from glr.training.launch import acquire_lock, release_lock

    run = stopped_at(tmp_path, tiny_data, done=3, total=4)
    before = run.status_path.read_bytes(), run.config_path.read_bytes()
    acquire_lock(tmp_path, "someone-else")  # held by this (live) process
    try:
        assert main(["train", "--resume", run.id, "--results", str(tmp_path), "--epochs", "9"]) == 2
    finally:
        release_lock(tmp_path, "someone-else")
    assert "error: another training is running: someone-else" in capsys.readouterr().err
    assert (run.status_path.read_bytes(), run.config_path.read_bytes()) == before and fake_train_run == []

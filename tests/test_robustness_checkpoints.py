"""A training killed between the writes of one checkpoint (best.keras, last.keras, state.json): the resume goes on
from what the files hold, and never trains an epoch again on weights that already have it.

The kill is real (SIGKILL in a trainer process, at the chosen write); the unit tests of `reconcile` build the
checkpoint files by hand, as zips carrying glr's note, which is all it reads.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import zipfile
from pathlib import Path
from types import SimpleNamespace

import pytest

from conftest import tiny_config
from glr.training.checkpoints import reconcile
from glr.training.launch import new_run
from glr.training.model import CHECKPOINT_NOTE, saved_note
from glr.training.run import Run
from glr.training.trainer import train_run

ROOT = Path(__file__).resolve().parents[1]

# A trainer that writes a checkpoint after every epoch and SIGKILLs itself as it is about to write state.json for
# epoch GLR_TEST_KILL_AT: that epoch's last.keras (and best.keras) are in place, state.json is still the epoch before.
KILLED_BEFORE_STATE = """
import os, signal, sys
from glr.training import checkpoints
from glr.training.run import Run
from glr.training.trainer import train_run

checkpoints.SAVE_INTERVAL = 0.0
real = Run.write_checkpoint_state


def write(self, state):
    if state["epoch"] == int(os.environ["GLR_TEST_KILL_AT"]):
        os.kill(os.getpid(), signal.SIGKILL)
    real(self, state)


Run.write_checkpoint_state = write
train_run(Run(sys.argv[1]))
"""


@pytest.fixture(scope="module")
def killed_at_3(tmp_path_factory, tiny_data):
    """A 5-epoch run whose trainer process was SIGKILLed as it was about to write epoch 3's state.json; its tests
    resume copies of it (a trainer process and 3 epochs cost seconds)."""
    results = tmp_path_factory.mktemp("killed") / "results"
    run = new_run(results, tiny_config(tiny_data, epochs=5))
    script = results.parent / "killed.py"
    script.write_text(KILLED_BEFORE_STATE)
    killed = subprocess.run([sys.executable, str(script), str(run.path)], cwd=ROOT, capture_output=True, timeout=600,
                            env={**os.environ, "GLR_TEST_KILL_AT": "3", "PYTHONPATH": str(ROOT)})
    assert killed.returncode == -signal.SIGKILL, killed.stderr.decode()[-2000:]
    return run


def copy_of_killed(killed_at_3, folder: Path) -> Run:
    """A copy of the killed run's results folder under `folder`, for a test to resume."""
    results = shutil.copytree(killed_at_3.results_dir, folder / "results")
    return Run(results / killed_at_3.path.relative_to(killed_at_3.results_dir))


def test_a_kill_between_last_keras_and_state_json_resumes_after_the_epoch_last_keras_holds(tmp_path, killed_at_3,
                                                                                              capsys):
    # Before: state.json said epoch 2 while last.keras held epoch 3's weights; the resume trimmed epoch 3 from the
    # history and trained it again on weights that had it already (4 epochs of training called 3), in silence.
    run = copy_of_killed(killed_at_3, tmp_path)
    assert run.checkpoint_state()["epoch"] == 2 and saved_note(run.last_checkpoint)["epoch"] == 3  # they disagree
    before = run.history()
    assert list(before["epoch"]) == [1, 2, 3]

    train_run(run, resume=True, console=True)
    after = run.history()
    assert run.status()["state"] == "finished" and list(after["epoch"]) == [1, 2, 3, 4, 5]
    assert after.iloc[:3].equals(before)  # epoch 3 kept as trained, not trained again
    assert ("state.json said epoch 2 but last.keras holds epoch 3 (the training was killed between writing the "
            "two): resuming from epoch 3, as last.keras records") in capsys.readouterr().err


def fake_run(tmp_path, state, last=None, best=None):
    """A run folder's checkpoint part: state.json as `state`, and model files that carry only glr's note."""
    folder = tmp_path / "checkpoints"
    folder.mkdir(parents=True)
    run = SimpleNamespace(last_checkpoint=folder / "last.keras", best_checkpoint=folder / "best.keras",
                          checkpoint_state_path=folder / "state.json", states=[])
    run.checkpoint_state = lambda: run.states[-1] if run.states else state
    run.write_checkpoint_state = run.states.append
    for path, note in ((run.last_checkpoint, last), (run.best_checkpoint, best)):
        if note is not None:
            with zipfile.ZipFile(path, "w") as archive:
                archive.writestr("config.json", "{}")
                archive.writestr(CHECKPOINT_NOTE, json.dumps(note))
    return run


def state(epoch, phase=1, partial=False, best=0.5, **more):
    return {"phase": phase, "epoch": epoch, "end": 10, "partial": partial, "best_val_loss": best, "wait": 0, **more}


def test_files_that_agree_or_older_checkpoints_without_a_note_change_nothing(tmp_path):
    assert reconcile(fake_run(tmp_path / "a", state(3), last=state(3), best=state(3))) is None
    assert reconcile(fake_run(tmp_path / "b", state(3))) is None  # no files: nothing to go by
    older = fake_run(tmp_path / "c", state(3))
    with zipfile.ZipFile(older.last_checkpoint, "w") as archive:  # a checkpoint saved before the note existed
        archive.writestr("config.json", "{}")
    assert reconcile(older) is None and older.states == []
    # A divergence records its state alone, ahead of last.keras: state.json is right then.
    diverged = fake_run(tmp_path / "d", state(4, diverged=True), last=state(3))
    assert reconcile(diverged) is None and diverged.states == []


def test_a_stop_or_a_first_checkpoint_killed_before_its_state_is_taken_from_last_keras(tmp_path):
    stopped = fake_run(tmp_path / "a", state(3), last=state(3, partial=True, wait=1))
    assert "resuming from epoch 3" in reconcile(stopped)
    assert stopped.states == [state(3, partial=True, wait=1)]
    first = fake_run(tmp_path / "b", None, last=state(1))
    assert reconcile(first).startswith("state.json was not written yet but last.keras holds epoch 1")
    assert first.states == [state(1)]


def test_a_kill_after_best_keras_alone_keeps_those_weights_as_the_best_at_their_loss(tmp_path):
    # Before: state.json kept the old best val_loss (0.5) while best.keras held weights of 0.3: the phase ended
    # with them unless an epoch beat 0.5, and a worse epoch than them (0.4) replaced them.
    run = fake_run(tmp_path / "a", state(3), last=state(3), best=state(4, best=0.3))
    assert reconcile(run).startswith("best.keras holds the best weights of epoch 4 (val_loss 0.3000)")
    assert run.states == [state(3, best=0.3)]


def test_a_kill_after_phase_2s_first_best_keras_removes_it_for_phase_1_to_end_as_before(tmp_path):
    # Before: the resume ended phase 1 by loading best.keras as its head, and it was phase 2's whole classifier.
    run = fake_run(tmp_path / "a", state(5, best=0.4), last=state(5, best=0.4), best=state(6, phase=2, best=0.9))
    assert reconcile(run).startswith("removed best.keras of phase 2, which the resume trains again")
    assert not run.best_checkpoint.exists() and run.states == [state(5, best=0.4)]


def test_a_kill_before_phase_2s_first_checkpoint_resumes_it_from_phase_1s_best_head(tmp_path, tiny_data, monkeypatch):
    # Before: best.keras was deleted as phase 2 began, last.keras kept phase 1's last epoch: a kill before phase 2's
    # first checkpoint resumed phase 2 from that head, not from the best one it started from the first time.
    import pytest

    import glr.training.trainer as trainer

    run, started, killed = _killed_before_phase_2s_first_checkpoint(tmp_path, tiny_data, monkeypatch)
    assert run.checkpoint_state()["epoch"] == 4 and saved_note(run.last_checkpoint)["epoch"] == 2
    monkeypatch.undo()
    monkeypatch.setattr(trainer.Trainer, "phase2", killed)
    with pytest.raises(RuntimeError, match="killed"):
        train_run(run, resume=True)  # phase 1 is over: straight to phase 2, from the same head as the first time
    assert len(started) == 2 and all((a == b).all() for a, b in zip(*started))


def test_a_disk_that_fills_at_state_json_after_last_keras_resumes_after_the_epoch_last_keras_holds(tmp_path, tiny_data,
                                                                                                   monkeypatch):
    # Before: the run failed with the disk full, last.keras held epoch 3 and state.json epoch 2; after space was
    # freed, the resume trained epoch 3 again on weights that had it.
    import errno

    import pytest

    from glr.atomic import StorageError, write_with
    from glr.training import checkpoints
    from glr.training.run import Run

    run = new_run(tmp_path / "results", tiny_config(tiny_data, epochs=4))
    real = Run.write_checkpoint_state

    def write(self, state):
        if state["epoch"] == 3:
            def full(tmp):
                raise OSError(errno.ENOSPC, "No space left on device")
            write_with(self.checkpoint_state_path, full)
        real(self, state)

    monkeypatch.setattr(checkpoints, "SAVE_INTERVAL", 0.0)
    monkeypatch.setattr(Run, "write_checkpoint_state", write)
    with pytest.raises(StorageError, match="state.json: cannot be written, the disk is full"):
        train_run(run)
    assert run.checkpoint_state()["epoch"] == 2 and saved_note(run.last_checkpoint)["epoch"] == 3
    before = run.history()
    monkeypatch.setattr(Run, "write_checkpoint_state", real)  # space freed
    train_run(run, resume=True)
    after = run.history()
    assert run.status()["state"] == "finished" and list(after["epoch"]) == [1, 2, 3, 4]
    assert after.iloc[:3].equals(before)


def test_a_divergence_whose_state_json_a_kill_kept_from_being_written_is_resumed_from_its_good_weights(tmp_path,
                                                                                                      tiny_data):
    # Before: the stop at NaN had written its good weights into last.keras, marked diverged, but state.json was still
    # the epoch before: the resume was refused ("the loss became NaN ... start a new run"), the good weights unused.
    from glr.training.resuming import resumable

    run = new_run(tmp_path, tiny_config(tiny_data))
    run.update_status(state="stopped")
    run.history_path.write_text("phase,epoch,loss,val_loss,lr\n1,1,2.5,2.0,0.5\n1,2,nan,,0.5\n")
    run.checkpoint_dir.mkdir()
    run.write_checkpoint_state(state(1, best=2.0))
    with zipfile.ZipFile(run.last_checkpoint, "w") as archive:
        archive.writestr("config.json", "{}")
        archive.writestr(CHECKPOINT_NOTE, json.dumps(state(2, best=2.0, diverged=True)))
    assert resumable(run) is run
    assert reconcile(run).startswith("state.json said epoch 1 but last.keras holds epoch 2")
    assert run.checkpoint_state()["diverged"] and resumable(run) is run


def test_phase_1_given_more_epochs_after_its_best_head_went_on_to_phase_2_is_not_trained_on(tmp_path, tiny_data,
                                                                                            monkeypatch, capsys):
    # Phase 1 ended at epoch 4 and its best head (epoch 2's) became last.keras; killed before phase 2's first
    # checkpoint. With config.json's epochs raised to 6 by hand, the resume trained phase 1's epochs 5-6 on from epoch
    # 2's head with epoch 4's counters (the `--epochs` of a resume is refused there: test_resuming.py).
    import json

    import pytest

    run, started, _ = _killed_before_phase_2s_first_checkpoint(tmp_path, tiny_data, monkeypatch)
    config = run.config()
    config["train"]["epochs"] = 6
    run.config_path.write_text(json.dumps(config))
    with pytest.raises(RuntimeError, match="killed"):
        train_run(run, resume=True, console=True)
    assert run.history()["epoch"].tolist() == [1, 2, 3, 4]  # no epoch of phase 1 past its end
    assert len(started) == 2 and all((a == b).all() for a, b in zip(*started))
    assert "phase 1 ended at epoch 4 and its best head went on to fine-tuning: resuming phase 2" in \
        capsys.readouterr().err


def _killed_before_phase_2s_first_checkpoint(tmp_path, tiny_data, monkeypatch):
    """A fine-tuning run whose phase 1 ended at epoch 4 (its best: epoch 2), killed as phase 2 began; the run, the
    head weights each phase 2 started from (appended to as phase 2 starts again), and the killing phase2."""
    import pytest

    import glr.training.trainer as trainer
    from glr.training import checkpoints

    losses = {1: 0.9, 2: 0.2, 3: 0.6, 4: 0.7}  # epoch 2 is phase 1's best, epoch 4 its last
    count = checkpoints.Checkpoints.count
    monkeypatch.setattr(checkpoints.Checkpoints, "count", lambda self, epoch, loss: count(self, epoch, losses[epoch]))
    monkeypatch.setattr(checkpoints, "SAVE_INTERVAL", 0.0)
    started = []

    def killed(self, head, resume_state):
        started.append([w.copy() for w in head.get_weights()])
        raise RuntimeError("killed before phase 2's first checkpoint")

    monkeypatch.setattr(trainer.Trainer, "phase2", killed)
    run = new_run(tmp_path / "results", tiny_config(tiny_data, epochs=4, fine_tune=True, fine_tune_epochs=1,
                                                    fine_tune_layers=5))
    with pytest.raises(RuntimeError, match="killed"):
        train_run(run)
    return run, started, killed


def test_a_damaged_state_json_is_recovered_from_the_state_last_keras_carries(tmp_path):
    # Before: state.json cut short, zero bytes or not JSON refused the resume ("... state.json is damaged"), though
    # last.keras records the very state it lost.
    import pytest

    from glr.training.checkpoints import checkpoint_problem, reconciled_state
    from glr.training.run import RunError

    run = fake_run(tmp_path / "a", None, last=state(3, wait=1))

    def damaged():
        raise RunError(f"{run.checkpoint_state_path} is damaged: Expecting value: line 1 column 1 (char 0)")

    run.checkpoint_state, run.checkpoint_dir = damaged, run.last_checkpoint.parent
    assert reconciled_state(run) == state(3, wait=1) and run.states == []  # what a resume would go on from
    assert checkpoint_problem(run) is None  # listed as resumable
    assert reconcile(run) == (f"{run.checkpoint_state_path} is damaged: Expecting value: line 1 column 1 (char 0): "
                              "recovered from last.keras, which records its own state (phase 1, epoch 3); resuming "
                              "from there")
    assert run.states == [state(3, wait=1)]
    older = fake_run(tmp_path / "b", None)
    with zipfile.ZipFile(older.last_checkpoint, "w") as archive:  # saved before checkpoints carried their state
        archive.writestr("config.json", "{}")
    older.checkpoint_state, older.checkpoint_dir = damaged, older.last_checkpoint.parent
    with pytest.raises(RunError, match="is damaged"):
        reconcile(older)  # nothing records the state: refused as before
    assert "is damaged" in checkpoint_problem(older)


def test_a_run_whose_state_json_was_emptied_resumes_and_finishes(tmp_path, killed_at_3, capsys):
    # The whole way: a trainer killed at epoch 3's state.json, then state.json emptied (a disk that lost its last
    # write): resumable, and the resume goes on after epoch 3, as last.keras records.
    from glr.training.resuming import resumable
    from glr.training.run_table import list_runs

    run = copy_of_killed(killed_at_3, tmp_path)
    run.checkpoint_state_path.write_bytes(b"")
    assert list_runs(tmp_path / "results").iloc[0]["state"] == "failed"  # not "damaged": it can go on
    train_run(resumable(run), resume=True, console=True)
    assert run.status()["state"] == "finished" and list(run.history()["epoch"]) == [1, 2, 3, 4, 5]
    assert "state.json is damaged" in capsys.readouterr().err

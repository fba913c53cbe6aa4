"""A training whose loss stops being a number (a learning rate too high): it stops there, keeps its last good weights
as the model, and says so in its status, log and run list; in one process and with `--workers 2`; and a resume
says it diverged rather than train on NaN again.

The weights are made NaN by a chosen training step's update (`nan_at`; the tiny head's L2 normalisation and ReLU
hide NaN features from the loss, so the data cannot do it); for the real workers of `--workers 2` the same patch
is put into each process by a `sitecustomize` module on PYTHONPATH.
"""

import os

import numpy as np
import pytest

from conftest import refuse_writes_under, tiny_config
from glr.training.launch import new_run
from glr.training.run import RunError
from glr.training.trainer import train_run

# Put into every Python process whose PYTHONPATH starts with its folder: the update of training step number
# GLR_TEST_NAN_AT (from 1, over every epoch and phase) is NaN, as a learning rate too high makes it: the weights
# are NaN after it, and the next batch's loss too.
POISON = """
import os
import numpy as np
import glr.training.loop as loop

real_init, made = loop.Steps.__init__, []


def __init__(self, strategy, model, *args, **kwargs):
    apply = model.optimizer.apply_gradients

    def poisoned(grads_and_vars):
        import tensorflow as tf

        def factor():
            made.append(1)
            return np.float32("nan" if len(made) == int(os.environ["GLR_TEST_NAN_AT"]) else 1)

        f = tf.numpy_function(factor, [], tf.float32, stateful=True)
        return apply([(g * f, v) for g, v in grads_and_vars])

    model.optimizer.apply_gradients = poisoned
    real_init(self, strategy, model, *args, **kwargs)


loop.Steps.__init__ = __init__
"""
STEPS = 4  # the tiny dataset's 14 training photos in batches of 4


@pytest.fixture
def nan_at(monkeypatch):
    """nan_at(k): in this process, the k-th training step's update makes the weights NaN."""
    import glr.training.loop as loop

    def at(step: int) -> None:
        monkeypatch.setenv("GLR_TEST_NAN_AT", str(step))
        monkeypatch.setattr(loop.Steps, "__init__", loop.Steps.__init__)  # put back after the test
        exec(POISON, {})

    return at


def weights_finite(path) -> bool:
    from glr.training.model import load_model

    return all(np.isfinite(w).all() for w in load_model(path).get_weights())


def test_a_loss_that_becomes_nan_stops_there_and_the_run_keeps_its_best_model(tmp_path, tiny_data, nan_at, capsys):
    """It trained on for --patience more epochs of NaN and ended "finished" without a word (val_loss NaN never
    improves); evaluate, predict and export read model.keras, which now holds the best epoch's weights."""
    from glr.training.resuming import resumable
    from glr.training.run_table import divergence, list_runs

    nan_at(2 * STEPS + 1)  # epoch 3's first update: its second batch's loss is NaN
    run = new_run(tmp_path, tiny_config(tiny_data, patience=3))
    train_run(run, console=True)
    history = run.history()
    assert history["epoch"].tolist() == [1, 2, 3] and np.isnan(history["loss"].iloc[-1])
    note = divergence(history)
    assert note.startswith("the loss became NaN at epoch 3: the training diverged")
    status = run.status()
    said = f"{note}; training stopped at its batch 2 of {STEPS}, and kept its last good weights as the model"
    assert status["state"] == "finished" and said in status["message"] and status["diverged"] == said
    assert said in capsys.readouterr().err  # the log: what the trainer prints
    assert weights_finite(run.model_path) and 0 <= run.metrics()["top1"] <= 1
    assert list_runs(tmp_path).iloc[0]["message"].count(note) == 1  # the run list: said once, not twice
    with pytest.raises(RunError, match="has finished"):
        resumable(run)


def test_a_loss_nan_in_the_first_epoch_fails_the_run_without_a_model_and_resume_says_why(tmp_path, tiny_data, nan_at):
    from glr.errors import GlrError
    from glr.training.resuming import resumable

    nan_at(2)  # the third batch's loss is NaN
    run = new_run(tmp_path, tiny_config(tiny_data))
    with pytest.raises(GlrError, match="at its batch 3 of 4, before any epoch was whole, so there is no model to keep"):
        train_run(run)
    status = run.status()
    assert status["state"] == "failed" and status["message"].startswith("the loss became NaN at epoch 1: the training "
                                                                        "diverged")
    assert not run.model_path.exists() and not run.last_checkpoint.exists()  # nothing NaN kept
    with pytest.raises(RunError, match="cannot be resumed: the loss became NaN at epoch 1: the training diverged.*"
                                       "start a new run with a lower learning rate"):
        resumable(run)


def test_a_run_that_trained_on_past_its_divergence_is_not_resumed_into_nan(tmp_path, tiny_data):
    """A run trained before glr stopped at NaN (its checkpoint's weights NaN), then stopped: resuming trained NaN on."""
    from glr.training.resuming import resumable

    run = new_run(tmp_path, tiny_config(tiny_data))
    run.update_status(state="stopped")
    run.history_path.write_text("phase,epoch,loss,val_loss,lr\n1,1,2.5,2.0,0.5\n1,2,nan,nan,0.5\n1,3,nan,nan,0.5\n")
    run.checkpoint_dir.mkdir()
    run.write_checkpoint_state({"phase": 1, "epoch": 3, "end": 20, "partial": False, "best_val_loss": 2.0, "wait": 1})
    with pytest.raises(RunError, match="cannot be resumed: the loss became NaN at epoch 2"):
        resumable(run)
    # One that stopped at it with good weights (glr now) is resumed: it finishes from them.
    run.write_checkpoint_state({"phase": 1, "epoch": 2, "end": 20, "partial": False, "best_val_loss": 2.0, "wait": 0,
                                "diverged": True})
    run.history_path.write_text("phase,epoch,loss,val_loss,lr\n1,1,2.5,2.0,0.5\n1,2,nan,,0.5\n")
    assert resumable(run) is run


def test_with_two_workers_both_stop_at_the_same_batch_and_the_run_keeps_its_best_model(tmp_path, tiny_data, monkeypatch):
    from test_distributed import glr_train, only_run

    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "sitecustomize.py").write_text(POISON)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(tmp_path / "site"), os.environ.get("PYTHONPATH")])))
    monkeypatch.setenv("GLR_TEST_NAN_AT", str(2 * STEPS + 1))
    done = glr_train(tiny_data, tmp_path / "results", "--workers", "2")
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-3000:]
    run = only_run(tmp_path / "results")
    status = run.status()
    assert status["state"] == "finished" and "the loss became NaN at epoch 3" in status["message"], status["message"]
    assert "training stopped at its batch 2 of 4, and kept its last good weights" in status["message"]
    digests = dict(line.split(": final weights ") for line in output.splitlines() if ": final weights " in line)
    assert digests["worker 0"] == digests["worker 1"] == status["weights_digest"]  # the same good weights on both
    assert run.history()["epoch"].tolist() == [1, 2, 3] and weights_finite(run.model_path)
    assert "finished: top-1" in output and "the loss became NaN at epoch 3" in output  # the launcher's outcome


def test_a_read_only_feature_cache_is_said_in_the_runs_status_and_the_run_list(tmp_path, tiny_data, monkeypatch):
    """It was said in train.log alone, which neither the app nor `glr runs` shows."""
    import glr.training.settings as settings
    from glr.training.run_table import list_runs

    features = tmp_path / "cache"
    monkeypatch.setattr(settings, "cache_dir", lambda: features)  # the feature cache alone: no weights made again
    refuse_writes_under(monkeypatch, features)
    run = new_run(tmp_path / "results", tiny_config(tiny_data, epochs=2, feature_engine="tf"))
    train_run(run)
    note = (f"features are computed and not kept: the feature cache {features / settings.FEATURES_SUBDIR} cannot be "
            "written (the file system is read-only); set GLR_CACHE_DIR to a writable folder to keep them")
    status = run.status()
    assert status["state"] == "finished" and note in status["message"], status["message"]
    assert list_runs(tmp_path / "results").iloc[0]["message"].count(note) == 1


def test_a_backbone_whose_weights_hold_nan_fails_the_run_naming_it_not_as_a_divergence(tmp_path, tiny_data,
                                                                                        monkeypatch):
    """A NaN in the weights made every feature NaN, which the head's ReLU and L2 norm hid: the loss was NaN from the
    first batch and the run "diverged", with advice to lower the learning rate."""
    from glr.errors import GlrError
    import glr.training.settings as settings
    import glr.training.trainer as trainer

    monkeypatch.setattr(settings, "cache_dir", lambda: tmp_path / "cache")  # no feature cached by another test
    real_build = trainer.build_backbone

    def damaged(*args, **kwargs):
        model = real_build(*args, **kwargs)
        kernel = next(w for w in model.weights if len(w.shape) == 4)  # the first convolution's kernel
        kernel.assign(np.full(kernel.shape, np.nan, np.float32))
        return model

    monkeypatch.setattr(trainer, "build_backbone", damaged)
    run = new_run(tmp_path / "results", tiny_config(tiny_data, feature_engine="tf"))
    with pytest.raises(GlrError, match=r"features that are not numbers \(NaN or inf\) for \d+ of \d+ photos"):
        train_run(run)
    status = run.status()
    assert status["state"] == "failed" and "weights file holding NaN" in status["message"]
    assert "diverged" not in status["message"] and not run.model_path.exists() and run.history().empty
    assert not list((tmp_path / "cache").rglob("*.npy"))  # nothing NaN kept


def test_settings_that_are_likely_a_mistake_are_said_at_the_start_and_with_the_outcome(tmp_path, tiny_data, capsys):
    """A learning rate of 1e-9, most photos held out and a batch larger than the training photos trained in silence."""
    run = new_run(tmp_path, tiny_config(tiny_data, epochs=2, learning_rate=1e-9, val_fraction=0.7, batch_size=64,
                                        feature_engine="tf"))
    train_run(run, console=True)
    said = ["the learning rate 1e-09 is so low that the weights will hardly move",
            "the validation fraction 0.7 holds out more photos than are trained on: 5 training photos for 13 "
            "validation ones, and 1 class learns from a single photo",
            "the batch size 64 is more than the 5 training photos, so each epoch is a single step (2 in all)"]
    status, printed = run.status(), capsys.readouterr().err
    assert status["state"] == "finished"
    for note in said:
        assert note in status["message"] and note in printed, (note, status["message"])


def test_the_train_pages_stop_says_who_holds_the_runs_status_when_a_paused_process_does(tmp_path, monkeypatch, tiny_data):
    # A process paused (Ctrl-Z) as it wrote the run's status: the page's Stop waited for it for ever, the page frozen.
    import subprocess
    import sys
    import threading

    from app_common import TRAIN
    from glr.training import launch, status
    from glr.training.run import Run
    from test_app_pages import assert_no_exception, button, open_page
    from test_status import _paused_holder

    monkeypatch.setattr(status, "STATUS_WRITE_SECONDS", 0.5, raising=False)
    monkeypatch.setenv("GLR_RESULTS", str(tmp_path / "results"))
    monkeypatch.setenv("GLR_DATA", str(tiny_data))
    trainer = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    run = Run.create(tmp_path / "results", launch.run_config(tiny_config(tiny_data)), run_id="held")
    run.update_status(state="running", pid=trainer.pid, message="epoch 1 of 2")
    launch.acquire_lock(tmp_path / "results", "held")
    holder = _paused_holder(run)
    unstick = threading.Timer(20, holder.kill)  # so that a page that waits for it fails rather than hangs
    try:
        at = open_page(TRAIN)
        unstick.start()
        button(at, "Stop").click().run()
        assert_no_exception(at)
        toasts = "\n".join(t.value for t in at.toast)
        assert f"(pid {holder.pid}, paused)" in toasts and f"kill -CONT {holder.pid}" in toasts, toasts
        assert run.stop_requested()
    finally:
        unstick.cancel()
        launch.release_lock(tmp_path / "results", "held")
        for proc in (holder, trainer):
            proc.kill()
            proc.wait()

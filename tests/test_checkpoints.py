"""glr.training.checkpoints: when a phase writes its checkpoints, and that best.keras holds the best weights."""

from types import SimpleNamespace

import numpy as np
import pytest

from glr.training.checkpoints import Checkpoints


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


class Model:
    """get_weights/set_weights, as a Keras model has them."""

    def __init__(self):
        self.w = np.zeros(3)

    def get_weights(self):
        return [self.w.copy()]

    def set_weights(self, weights):
        self.w = weights[0].copy()


def checkpoints(tmp_path, state=None, fail=()):
    run = SimpleNamespace(best_checkpoint=tmp_path / "best.keras", last_checkpoint=tmp_path / "last.keras", states=[],
                          files={})
    run.write_checkpoint_state = run.states.append

    def save(model, path, note=None):
        if path.name in fail:
            raise OSError("disk full")
        run.files[path.name] = float(model.w[0])

    clock = Clock()
    return Checkpoints(run, 1, 10, state, save=save, interval=30.0, clock=clock), run, clock


def epoch(saver, model, n, val_loss, clock, seconds=10.0, write=None):
    """Train an epoch (the weights become `n`) of `seconds`, then count it and write if due."""
    model.w[:] = n
    clock.now += seconds
    saver.count(n, val_loss)
    return saver.keep(model, write=saver.due() if write is None else write)


def test_writes_at_most_every_interval_and_best_holds_the_best_weights(tmp_path):
    saver, run, clock = checkpoints(tmp_path)
    model = Model()
    for n, loss in [(1, 0.9), (2, 0.5), (3, 0.7)]:  # 30 s: the third epoch is the first write
        epoch(saver, model, n, loss, clock)
    assert [s["epoch"] for s in run.states] == [3]
    assert run.files == {"best.keras": 2.0, "last.keras": 3.0}  # best from memory, last from the model
    assert model.w[0] == 3.0  # the model goes on with its own weights
    assert (run.states[0]["best_val_loss"], run.states[0]["wait"]) == (0.5, 1)
    epoch(saver, model, 4, 0.4, clock)  # improved, but only 10 s since the write: kept in memory
    assert len(run.states) == 1 and saver.best_weights is not None
    saver.stop(model, 4)  # a stop writes at once
    assert run.files == {"best.keras": 4.0, "last.keras": 4.0}
    assert (run.states[-1]["epoch"], run.states[-1]["partial"]) == (4, True)


def test_a_write_right_after_an_improvement_saves_the_model_as_best(tmp_path):
    saver, run, clock = checkpoints(tmp_path)
    model = Model()
    epoch(saver, model, 1, 0.9, clock, seconds=31)
    assert run.files == {"best.keras": 1.0, "last.keras": 1.0} and saver.best_weights is None


def test_resume_carries_on_the_phase_counters(tmp_path):
    saver, _, _ = checkpoints(tmp_path, {"phase": 1, "epoch": 5, "best_val_loss": 0.3, "wait": 2, "partial": True})
    assert (saver.best, saver.wait, saver.epoch, saver.partial) == (0.3, 2, 5, True)
    assert saver.count(6, 0.4) == 3
    other, _, _ = checkpoints(tmp_path, {"phase": 2, "epoch": 5, "best_val_loss": 0.3, "wait": 2})
    assert (other.best, other.wait, other.epoch) == (None, 0, 0)  # another phase's counters do not apply


def test_rescue_keeps_the_error_that_ended_training(tmp_path):
    saver, run, clock = checkpoints(tmp_path, fail={"last.keras"})
    model = Model()
    epoch(saver, model, 1, 0.9, clock, write=False)
    saver.rescue(model, 1)  # the disk is full: no exception of its own, the previous checkpoint stands
    assert run.states == []
    with pytest.raises(OSError):
        saver.stop(model, 1)


@pytest.fixture
def india_time(monkeypatch):
    """The process in a time zone that is not UTC (+05:30), so a UTC stamp would show."""
    import time

    monkeypatch.setenv("TZ", "Asia/Kolkata")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_the_state_is_stamped_with_the_run_folders_clock(tmp_path, india_time):
    from datetime import datetime, timedelta

    from glr.training.status import now

    saver, run, clock = checkpoints(tmp_path)
    before = now()
    saver.stop(Model(), 0)
    saved = run.states[-1]["saved"]
    # status.now()'s format (local time with its offset, to the second), so it sorts with the status' stamps.
    assert datetime.fromisoformat(saved).utcoffset() == datetime.fromisoformat(before).utcoffset() != timedelta(0)
    assert len(saved) == len(before) and before <= saved <= now()


# --------------------------------------------------------------------------- resuming from the last checkpoint


def test_the_state_records_what_the_weights_fit(tmp_path):
    saver, run, _ = checkpoints(tmp_path)
    saver.about = {"backbone": "efficientnet_lite0", "input_size": 32, "classes": 3}
    saver.stop(Model(), 1)
    assert {k: run.states[-1][k] for k in saver.about} == saver.about


def test_a_checkpoint_of_another_backbone_or_size_is_refused_naming_the_setting(tmp_path):
    from glr.errors import CheckpointError
    from glr.training.checkpoints import resume_model

    run = SimpleNamespace(id="r1", last_checkpoint=tmp_path / "checkpoints" / "last.keras",
                          config_path=tmp_path / "config.json",
                          checkpoint_state=lambda: {"phase": 1, "backbone": "efficientnet_lite0", "input_size": 224})
    about = {"backbone": "mobilenet_v3_small", "input_size": 224, "classes": 3}
    with pytest.raises(CheckpointError, match="run r1 cannot be resumed from checkpoints/last.keras: it was trained with "
                                              "backbone 'efficientnet_lite0', and config.json now says 'mobilenet_v3_small'"):
        resume_model(run, lambda path: pytest.fail("loaded"), about, (1280,), 3)


def test_a_checkpoint_of_another_run_or_a_damaged_one_is_refused_and_the_run_kept(tmp_path):
    # Before: a head of 7 classes copied in failed in Keras ("Arguments `target` and `output` must
    # have the same shape"), recorded with a traceback; a truncated one said only "not a .keras model file".
    from test_run_data import stopped_run
    from conftest import make_gldv2
    from glr.errors import CheckpointError
    from glr.training.model import build_head, compile_model, save_model
    from glr.training.trainer import train_run

    data = make_gldv2(tmp_path / "gld", {3: 6, 5: 6, 9: 6})
    run = stopped_run(tmp_path / "results", data)
    history = run.history_path.read_bytes()
    head = build_head(1280, 7, 32, 0.1, 0)
    compile_model(head, 1e-3, 0.1)
    save_model(head, run.last_checkpoint)
    with pytest.raises(CheckpointError, match=r"cannot be resumed from checkpoints/last.keras: it takes inputs of shape "
                                              r"\(1280,\) and scores 7 classes, and the run needs \(1280,\) and 3"):
        train_run(run, resume=True)
    assert run.status()["traceback"] is None and run.history_path.read_bytes() == history
    # It was marked "failed": a checkpoint that does not fit refuses the resume, and the run stays stopped.
    assert run.status()["state"] == "stopped" and run.status()["message"].startswith("resume refused: run ")
    run.last_checkpoint.write_bytes(b"PK\x03\x04 cut short")
    with pytest.raises(CheckpointError, match=r"cannot be resumed from checkpoints/last.keras: .*last.keras: not a .keras "
                                              r"model file \(damaged or incomplete\?\); delete .*checkpoints to train"):
        train_run(run, resume=True)


def test_a_save_killed_mid_write_leaves_a_temporary_file_the_next_training_removes(tmp_path, monkeypatch, capsys):
    # A SIGKILL (or a power cut) in the middle of a checkpoint's save left `.last.keras.<random>.keras` beside the
    # whole old one for ever: hundreds of MB a checkpoint at GLDv2's 81k classes, and again at every such kill.
    import subprocess
    import sys

    from conftest import tiny_config
    import glr.training.trainer as trainer
    from glr.training.launch import new_run
    from glr.training.progress import StopRequested

    run = new_run(tmp_path / "results", tiny_config(tmp_path))
    run.checkpoint_dir.mkdir()
    run.last_checkpoint.write_bytes(b"the whole old checkpoint")
    killed = ("import os, signal; from glr.atomic import write_with\n"
              "def half(tmp):\n    open(tmp, 'wb').write(b'x' * 3_000_000)\n    os.kill(os.getpid(), signal.SIGKILL)\n"
              f"write_with({str(run.last_checkpoint)!r}, half, suffix='.keras')\n")
    assert subprocess.run([sys.executable, "-c", killed]).returncode == -9
    (left,) = run.checkpoint_dir.glob(".last.keras.*.keras")

    def stop_at_once(self, resume=False):
        raise StopRequested

    monkeypatch.setattr(trainer.Trainer, "train", stop_at_once)
    trainer.train_run(run, resume=True)
    assert not left.exists() and run.last_checkpoint.read_bytes() == b"the whole old checkpoint"
    assert (f"removed a half-written model file that a save killed mid-write left (checkpoints/{left.name}; 2.9 MB)"
            in capsys.readouterr().err)
    assert trainer.drop_half_written(run) is None  # nothing else touched, nothing more to say


def test_a_checkpoint_of_another_backbone_is_refused_from_its_own_description_when_the_state_does_not_say(tmp_path):
    # Before: a state.json recording no backbone (older runs) or one copied in beside last.keras let a MobileNetV3
    # classifier of the same input size and class count resume a Lite0 run, its photos prepared for the wrong one.
    from glr.backbones.registry import build_backbone
    from glr.errors import CheckpointError
    from glr.training.checkpoints import resume_model
    from glr.training.model import build_classifier, build_head, load_model, save_model

    run = SimpleNamespace(id="r1", last_checkpoint=tmp_path / "checkpoints" / "last.keras",
                          config_path=tmp_path / "config.json", checkpoint_state=lambda: {"phase": 2, "epoch": 3})
    backbone = build_backbone("mobilenet_v3_small", weights=None, input_size=32)
    save_model(build_classifier(backbone, build_head(backbone.output_shape[-1], 3, 8), 32), run.last_checkpoint)
    about = {"backbone": "efficientnet_lite0", "input_size": 32, "classes": 3}
    with pytest.raises(CheckpointError, match="run r1 cannot be resumed from checkpoints/last.keras: it is a "
                                              "mobilenet_v3_small model, and config.json says 'efficientnet_lite0'"):
        resume_model(run, lambda path: pytest.fail("loaded"), about, (32, 32, 3), 3)
    about["backbone"] = "mobilenet_v3_small"
    assert resume_model(run, load_model, about, (32, 32, 3), 3).output_shape == (None, 3)  # its own backbone resumes


def test_a_checkpoint_another_keras_saved_that_will_not_load_names_both_versions(tmp_path):
    # A run resumed on a machine with another Keras failed with Keras' own words and "delete checkpoints to train
    # the run again": its weights given up, when installing the version that saved them would resume it.
    import json
    import zipfile

    import keras

    from glr.errors import CheckpointError
    from glr.training.checkpoints import resume_model

    run = SimpleNamespace(id="r1", last_checkpoint=tmp_path / "checkpoints" / "last.keras",
                          config_path=tmp_path / "config.json", checkpoint_state=lambda: {"phase": 1, "epoch": 3})
    run.last_checkpoint.parent.mkdir()

    def unloadable(path):
        raise CheckpointError(f"{path}: cannot be loaded (TypeError: Could not deserialize 'keras.layers.Dense')")

    for saved, said in (("2.99.0", f"(it was saved by Keras 2.99.0, and this machine has Keras {keras.__version__}: "
                                    "resume it where Keras 2.99.0 is installed, or install that version); delete"),
                        (keras.__version__, "(TypeError: Could not deserialize 'keras.layers.Dense'); delete")):
        with zipfile.ZipFile(run.last_checkpoint, "w") as archive:
            archive.writestr("metadata.json", json.dumps({"keras_version": saved}))
            archive.writestr("config.json", "{}")
        with pytest.raises(CheckpointError) as caught:
            resume_model(run, unloadable, {}, (1280,), 3)
        assert said in str(caught.value)

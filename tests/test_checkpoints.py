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

    def save(model, path):
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

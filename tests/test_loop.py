"""glr.training.loop: the custom loop's arithmetic matches Keras' (on class indices against Keras' one-hot),
early stopping, stop after a batch, checkpoints written when due, nothing of size classes x photos."""

from types import SimpleNamespace

import numpy as np
import pytest

from glr.training.progress import StopRequested

CLASSES, DIM, N = 7, 8, 40


def data():
    """Features and class indices (the loop's labels); Keras' fit gets the one-hot rows."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(N, DIM)).astype(np.float32)
    return x, rng.integers(0, CLASSES, N).astype(np.int32)


def model(smoothing=0.1):
    import keras

    keras.utils.set_random_seed(1)
    m = keras.Sequential([keras.Input((DIM,)), keras.layers.Dense(CLASSES, activation="softmax")])
    m.compile(optimizer=keras.optimizers.Adam(1e-2), loss=keras.losses.CategoricalCrossentropy(label_smoothing=smoothing),
              metrics=["accuracy", keras.metrics.TopKCategoricalAccuracy(k=5, name="top5")])
    return m


class FakeRun(SimpleNamespace):
    """The run folder as Checkpoints sees it: two paths and a state, recorded in memory."""

    def __init__(self, tmp_path):
        super().__init__(best_checkpoint=tmp_path / "best.keras", last_checkpoint=tmp_path / "last.keras", states=[])

    def write_checkpoint_state(self, state):
        self.states.append(state)

    def update_status(self, **fields):
        self.status = {**getattr(self, "status", {}), **fields}

    def history(self):
        import pandas as pd

        return pd.DataFrame(getattr(self, "rows", []))


class FakeTrainer(SimpleNamespace):
    """What train_epochs asks of a Trainer, recorded; its checkpoints are the real policy, saving nothing."""

    def __init__(self, tmp_path, patience=100, stop_after=None, state=None, interval=0.0, classes=CLASSES):
        import tensorflow as tf

        super().__init__(strategy=tf.distribute.get_strategy(), distributed=False, cluster=None, console=False,
                         labels=[0] * classes,
                         cfg=SimpleNamespace(label_smoothing=0.1, patience=patience), rows=[], saved=[], said=[],
                         run=FakeRun(tmp_path), state=state, interval=interval)
        self.steps_done, self.stop_after = 0, stop_after
        self.progress = SimpleNamespace(start=lambda *a, **k: None, close=lambda: None, advance=self.advance)

    def advance(self, n=1):
        self.steps_done += n
        if self.stop_after is not None and self.steps_done >= self.stop_after:
            raise StopRequested

    def append_history(self, row):
        self.rows.append(row)
        self.run.rows = self.rows

    def say(self, message):
        self.said.append(message)

    def checkpoints(self, phase, end):
        from glr.training.checkpoints import Checkpoints

        return Checkpoints(self.run, phase, end, self.state, save=lambda model, path, note=None: self.saved.append(path.name),
                           interval=self.interval)


def datasets(batch=8):
    import tensorflow as tf

    ds = tf.data.Dataset.from_tensor_slices(data()).batch(batch)
    return ds, ds


def one_hot(x, y):
    import tensorflow as tf

    return x, tf.one_hot(y, CLASSES)


def test_validation_sums_equal_keras_evaluate():
    from glr.training.loop import Steps, distribute

    import tensorflow as tf

    m = model()
    strategy = tf.distribute.get_strategy()
    x, y = data()
    loss, acc, top = Steps(strategy, m, 0.1, CLASSES).validate(distribute(strategy, datasets()[1]), 0.0)[:3]
    expected = m.evaluate(x, np.eye(CLASSES, dtype=np.float32)[y], batch_size=8, verbose=0, return_dict=True)
    assert loss == pytest.approx(expected["loss"], rel=1e-5)
    assert acc == pytest.approx(expected["accuracy"]) and top == pytest.approx(expected["top5"])


def test_one_epoch_on_class_indices_equals_keras_fit_on_one_hot(tmp_path):
    from glr.training.loop import train_epochs

    ours, theirs = model(), model()
    trainer = FakeTrainer(tmp_path)
    train, val = datasets()
    assert train_epochs(trainer, ours, 1, train, val, 0, 1, 5)
    history = theirs.fit(train.map(one_hot), validation_data=val.map(one_hot), epochs=1, verbose=0, shuffle=False).history
    assert trainer.rows[0]["accuracy"] == pytest.approx(history["accuracy"][0])
    assert trainer.rows[0]["val_top5"] == pytest.approx(history["val_top5"][0])
    row = trainer.rows[0]
    assert row["loss"] == pytest.approx(history["loss"][0], rel=1e-4)
    assert row["val_loss"] == pytest.approx(history["val_loss"][0], rel=1e-4)
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)


def test_early_stopping_follows_keras_rule(tmp_path):
    from glr.training.loop import train_epochs

    # A resumed phase whose best no epoch can beat: every epoch waits.
    trainer = FakeTrainer(tmp_path, patience=1, state={"phase": 1, "epoch": 0, "best_val_loss": -1.0, "wait": 0})
    train, val = datasets()
    assert train_epochs(trainer, model(), 1, train, val, 0, 10, 5)
    assert [r["epoch"] for r in trainer.rows] == [1, 2]  # Keras never stops after the first epoch


def test_a_stop_ends_after_the_batch_with_a_partial_checkpoint(tmp_path):
    from glr.training.loop import train_epochs

    trainer = FakeTrainer(tmp_path, stop_after=7, interval=3600.0)  # during the second epoch of 5 batches
    train, val = datasets()
    assert not train_epochs(trainer, model(), 1, train, val, 0, 10, 5)
    assert [r["epoch"] for r in trainer.rows] == [1]
    state = trainer.run.states[-1]
    assert (state["epoch"], state["partial"]) == (1, True)  # epoch 2 is redone on resume
    # Epoch 1 was not due for a write; the stop wrote its best weights, then the partial last.
    assert trainer.saved == ["best.keras", "last.keras"] and len(trainer.run.states) == 1


def test_checkpoints_are_written_when_due_and_at_the_end(tmp_path):
    from glr.training.loop import train_epochs

    train, val = datasets()
    every = FakeTrainer(tmp_path, interval=0.0)
    assert train_epochs(every, model(), 1, train, val, 0, 3, 5)
    assert [s["epoch"] for s in every.run.states] == [1, 2, 3]
    rarely = FakeTrainer(tmp_path, interval=3600.0)
    assert train_epochs(rarely, model(), 1, train, val, 0, 3, 5)
    assert [s["epoch"] for s in rarely.run.states] == [3]  # the phase's end only
    assert rarely.saved == ["best.keras", "last.keras"]


def test_an_error_mid_epoch_keeps_the_epochs_trained_as_a_partial_checkpoint(tmp_path):
    from glr.training.loop import train_epochs

    trainer = FakeTrainer(tmp_path, interval=3600.0)

    def interrupted_in_epoch_3(n=1):
        if len(trainer.rows) == 2:
            raise KeyboardInterrupt

    trainer.progress.advance = interrupted_in_epoch_3
    train, val = datasets()
    with pytest.raises(KeyboardInterrupt):
        train_epochs(trainer, model(), 1, train, val, 0, 10, 5)
    state = trainer.run.states[-1]
    assert (state["epoch"], state["partial"]) == (2, True)  # resume redoes epoch 3 from these weights


def test_thousands_of_classes_never_build_classes_x_photos(tmp_path):
    """4,000 classes and 50,000 validation photos: as one-hot rows they would be 800 MB; the loop's
    memory grows by less than half that (mostly tracing and one batch's tensors), since the datasets
    carry class indices."""
    import keras

    from glr.training.head_data import eval_dataset, train_dataset
    from glr.training.loop import train_epochs

    classes, photos, dim = 4000, 50_000, 4
    rng = np.random.default_rng(0)
    feats = rng.normal(size=(photos, dim)).astype(np.float16)
    labels = rng.integers(0, classes, photos)
    head = keras.Sequential([keras.Input((dim,)), keras.layers.Dense(classes, activation="softmax")])
    head.compile(optimizer=keras.optimizers.Adam(1e-3), loss="categorical_crossentropy")
    trainer = FakeTrainer(tmp_path, classes=classes)
    with PeakRss() as peak:
        assert train_epochs(trainer, head, 1, train_dataset(feats[:512, None], labels[:512], 256, 0),
                            eval_dataset(feats, labels, 1000), 0, 1, 2)
    assert peak.growth_mb < 400, peak.growth_mb
    assert 0 <= trainer.rows[0]["val_accuracy"] <= 1


class PeakRss:
    """The most this process's resident memory grew while the block ran (sampled every 5 ms)."""

    def __enter__(self):
        import threading

        self.start = self.peak = rss_mb()
        self.done = threading.Event()
        self.thread = threading.Thread(target=self.sample, daemon=True)
        self.thread.start()
        return self

    def sample(self):
        while not self.done.wait(0.005):
            self.peak = max(self.peak, rss_mb())

    def __exit__(self, *exc):
        self.done.set()
        self.thread.join()
        self.growth_mb = max(self.peak, rss_mb()) - self.start


def rss_mb():
    import os

    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def test_weights_digest_tells_models_apart():
    from glr.training.loop import weights_digest

    a, b = model(), model()
    assert weights_digest(a) == weights_digest(b)
    b.layers[-1].bias.assign(np.ones(CLASSES, np.float32))
    assert weights_digest(a) != weights_digest(b)


def test_a_call_runs_up_to_n_steps_and_ends_at_the_last_batch_or_a_stop():
    import tensorflow as tf

    from glr.training.loop import COUNT, STOP, Steps, distribute

    strategy = tf.distribute.get_strategy()
    step = Steps(strategy, model(), 0.1, CLASSES)
    batches = iter(distribute(strategy, datasets()[0]))  # 5 batches of 8
    calls = [step.train_many(batches, tf.constant(n), tf.constant(0.0)) for n in (3, 3, 3)]
    assert [int(done) for _, done in calls] == [3, 2, 0]
    assert [float(sums[COUNT]) for sums, _ in calls] == [24.0, 16.0, 0.0]
    sums, done = step.train_many(iter(distribute(strategy, datasets()[0])), tf.constant(3), tf.constant(1.0))
    assert int(done) == 1 and sums[STOP] > 0  # a stop flag ends the call after its first step


def test_pace_sizes_calls_from_the_steps_speed_after_the_tracing_call():
    from glr.training.loop import CALL_SECONDS, MAX_STEPS, Pace

    pace = Pace()
    pace.record(5.0, 1)  # the first call traces: its time says nothing
    assert pace.n == 1
    pace.record(0.01, 2)  # 5 ms a step
    assert pace.n == int(CALL_SECONDS / 0.005)
    pace.record(3.0, 1)  # a slow step: one per call
    assert pace.n == 1
    pace.record(1e-9, 1)
    assert pace.n == MAX_STEPS


def test_a_resume_after_early_stopping_trains_no_epoch_past_it(tmp_path):
    # Early stopping ended the phase at epoch 8, then model.keras could not be written (a full disk).
    # Before: the resume trained epoch 9, after the phase had ended.
    from glr.training.loop import train_epochs

    ended = {"phase": 1, "epoch": 8, "end": 30, "partial": False, "best_val_loss": 0.4, "wait": 2}
    trainer = FakeTrainer(tmp_path, patience=2, state=ended)
    train, val = datasets()
    assert train_epochs(trainer, model(), 1, train, val, 8, 30, 5)
    assert trainer.rows == [] and trainer.saved == []
    # And says so (it said nothing: a larger total in config.json looked ignored).
    assert trainer.said == ["early stopping ended phase 1 at epoch 8 (val_loss had not improved for 2 epochs): going "
                            "on from its best epoch without training more"]
    # Stopped mid-epoch or short of its patience, it trains on.
    for state in ({**ended, "partial": True}, {**ended, "wait": 1}):
        trainer = FakeTrainer(tmp_path, patience=2, state=state)
        train_epochs(trainer, model(), 1, train, val, 8, 30, 5)
        assert trainer.rows[0]["epoch"] == 9


def test_agree_sums_over_the_replicas_with_one_compiled_all_reduce_per_strategy():
    import tensorflow as tf

    from glr.training.loop import agree, summed

    strategy = tf.distribute.MirroredStrategy(["/cpu:0"])
    assert agree(strategy, True, 7, distributed=True) == (True, 7)
    assert agree(strategy, False, 3, distributed=True) == (False, 3)
    # Was a new tf.function per call: traced again every epoch, with TensorFlow's retracing warning each time.
    assert summed(strategy).experimental_get_tracing_count() == 1


# Each worker of a real 2-worker cluster reads, epoch by epoch, tf.distribute's own split of phase 1's and phase 2's
# datasets (experimental_distribute_dataset, a new iterator each epoch) and then `distribute`'s, and compares them.
SAME_SPLIT = """
import hashlib, json, os, sys, time
t0 = time.monotonic()
from glr.training.cluster import cluster_from_env, make_strategy
cluster = cluster_from_env()
strategy = make_strategy(cluster)
import keras, numpy as np, tensorflow as tf
from glr.data.pipeline import make_dataset
from glr.training.head_data import eval_dataset, train_dataset
from glr.training.loop import distribute, worker_split
paths, labels = json.loads(sys.argv[1])
feats = np.zeros((13, 3, 2), np.float16)  # row i, view v holds (i, v): what each worker read is seen
feats[..., 0], feats[..., 1] = np.arange(13)[:, None], np.arange(3)
builders = {  # 13 rows in batches of 4: the last batch of one row leaves worker 1 nothing
    "phase 1 train": lambda: train_dataset(feats, np.arange(13) % 3, 4, 7),
    "phase 1 val, batches of 5": lambda: eval_dataset(feats[:, 0], np.arange(13) % 3, 5),
    "phase 2 train": lambda: make_dataset(paths, labels, input_size=32, training=True, batch_size=4, seed=7),
}
# Phase 2 cuts each worker's part before decoding (`parts`): the same rows, crops and pixels, read as they are.
parted = {
    "phase 2 train, decoded by part": (builders["phase 2 train"], lambda: make_dataset(
        paths, labels, input_size=32, training=True, batch_size=4, seed=7, parts=worker_split(strategy, cluster))),
    "phase 2 val, decoded by part": (lambda: make_dataset(paths, labels, input_size=32, batch_size=4), lambda: make_dataset(
        paths, labels, input_size=32, batch_size=4, parts=worker_split(strategy, cluster))),
}

def epochs(dist, local, n=2):
    seen = []
    for _ in range(n):
        iterator, batches = iter(dist), []
        while (batch := iterator.get_next_as_optional()).has_value():
            batches.append([hashlib.sha1(local(t).numpy().tobytes()).hexdigest()[:12] + str(local(t).shape)
                            for t in batch.get_value()])
        seen.append(batches)
    return seen

options = tf.data.Options()
options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
cases = {**{name: (build, lambda build=build: distribute(strategy, build(), cluster)) for name, build in builders.items()},
         **parted}
for name, (build, ours_built) in cases.items():
    keras.utils.set_random_seed(7)
    theirs = epochs(strategy.experimental_distribute_dataset(build().with_options(options)),
                    lambda t: strategy.experimental_local_results(t)[0])
    keras.utils.set_random_seed(7)
    ours = epochs(ours_built(), lambda t: t)
    print(f"worker {cluster.index}: {name}: {'same' if ours == theirs else 'DIFFERENT'}, steps {[len(e) for e in ours]}, "
          f"the last batch {ours[-1][-1][-1][12:]} {time.monotonic() - t0:.1f} s", flush=True)
    assert ours == theirs, (ours, theirs)
"""


def test_each_worker_reads_the_same_rows_as_tf_distributes_own_split(tiny_data):
    """`distribute` in a cluster reads each worker's part of a batch from a plain dataset (a distributed iterator cost
    seconds per epoch): the same rows, order, view draws and steps as tf.distribute's split, epoch after epoch; and
    so does phase 2's part cut before decoding (each worker decoded the whole global batch, then dropped the rest)."""
    import json
    import subprocess
    import sys

    from glr.training.workers import free_ports, worker_env

    photos = sorted(str(p) for p in tiny_data.rglob("*.jpg"))[:14]  # the last batch of 2: one row each
    args = json.dumps([photos, [i % 3 for i in range(len(photos))]])
    ports = free_ports(2)
    procs = [subprocess.Popen([sys.executable, "-c", SAME_SPLIT, args], env=worker_env(ports, i, 1), text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE) for i in range(2)]
    outs = [p.communicate(timeout=300) for p in procs]
    for i, (p, (out, err)) in enumerate(zip(procs, outs)):
        assert p.returncode == 0, out + err[-3000:]
        assert out.count(": same") == 5, out


def poisoned(batch_at: int, batch=8):
    """datasets() whose training batch number `batch_at` (counted from 1 over every epoch) holds a NaN feature: the
    loss of that step is NaN and its update breaks the weights, as a learning rate too high does."""
    import tensorflow as tf

    made = []

    def poison(x):
        made.append(1)
        return x * np.float32("nan") if len(made) == batch_at else x

    def mapped(x, y):
        x = tf.numpy_function(poison, [x], tf.float32, stateful=True)
        return tf.ensure_shape(x, (None, DIM)), y

    train, val = datasets(batch)
    return train.map(mapped), val


def test_a_loss_that_becomes_nan_ends_the_phase_at_that_batch_with_the_best_weights(tmp_path):
    """It trained on for --patience more epochs of NaN (val_loss NaN never improves) and the run ended "finished"."""
    import pandas as pd

    from glr.training.loop import train_epochs
    from glr.training.run_table import divergence

    trainer = FakeTrainer(tmp_path, interval=3600.0)  # the best weights are in memory, never written before
    ours = model()
    train, val = poisoned(12)  # the second of epoch 3's 5 batches
    assert train_epochs(trainer, ours, 1, train, val, 0, 40, 5)
    assert [r["epoch"] for r in trainer.rows] == [1, 2, 3] and np.isnan(trainer.rows[-1]["loss"])
    note = divergence(pd.DataFrame(trainer.rows))
    assert note.startswith("the loss became NaN at epoch 3: the training diverged")
    assert trainer.said == [f"{note}; training stopped at its batch 2 of 5, and kept its last good weights as the model"]
    assert trainer.run.status["diverged"] == trainer.said[0]
    # The best epoch's weights are the phase's end, in the model and on disk (best and last), never the NaN ones.
    assert trainer.saved == ["best.keras", "last.keras"]
    state = trainer.run.states[-1]
    assert state["diverged"] and state["epoch"] == 3 and not state["partial"]  # resume keeps the NaN row, trains no more
    reference = model()  # the same two clean epochs, the best of which the model must hold
    best = int(np.argmin([r["val_loss"] for r in trainer.rows[:2]])) + 1
    assert train_epochs(FakeTrainer(tmp_path), reference, 1, *datasets(), 0, best, 5)
    for a, b in zip(ours.get_weights(), reference.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_a_loss_nan_before_any_whole_epoch_keeps_the_starting_weights_or_fails(tmp_path):
    from glr.training.loop import Diverged, train_epochs

    trainer, fresh = FakeTrainer(tmp_path), model()
    with pytest.raises(Diverged, match="at epoch 1: the training diverged.*at its batch 3 of 5, before any epoch "
                                       "was whole, so there is no model to keep"):
        train_epochs(trainer, fresh, 1, *poisoned(3), 0, 40, 5)
    assert trainer.saved == [] and trainer.run.states == []  # no NaN checkpoint, not even a partial one
    # Phase 2 starts from phase 1's model: that is kept.
    trainer, ours = FakeTrainer(tmp_path), model()
    start = ours.get_weights()
    assert train_epochs(trainer, ours, 2, *poisoned(3), 0, 40, 5, fallback=start)
    assert trainer.saved == ["best.keras", "last.keras"] and trainer.run.states[-1]["diverged"]
    for a, b in zip(ours.get_weights(), start):
        np.testing.assert_array_equal(a, b)


def test_a_validation_loss_nan_ends_the_phase_too(tmp_path):
    """The epoch's last step can break the weights with a finite loss: its validation loss is the first NaN. Counted,
    it became the best (nothing is below NaN) and the NaN weights the run's model."""
    from glr.training.loop import train_epochs

    trainer, ours = FakeTrainer(tmp_path, interval=3600.0), model()
    train, val = datasets()
    import tensorflow as tf

    epochs = []

    def broken(x):  # the validation of epoch 2 sees weights that are NaN
        epochs.append(1)
        return x * np.float32("nan") if len(epochs) in (6, 7, 8, 9, 10) else x

    val = val.map(lambda x, y: (tf.ensure_shape(tf.numpy_function(broken, [x], tf.float32, stateful=True), (None, DIM)), y))
    assert train_epochs(trainer, ours, 1, train, val, 0, 40, 5)
    assert [r["epoch"] for r in trainer.rows] == [1, 2] and np.isnan(trainer.rows[-1]["val_loss"])
    assert trainer.said[0].startswith("the validation loss became NaN at epoch 2: the training diverged")
    assert trainer.said[0].endswith("training stopped after its last batch, and kept its last good weights as the model")
    assert all(np.isfinite(w).all() for w in ours.get_weights())


def test_a_resume_of_a_phase_that_diverged_trains_no_more(tmp_path):
    from glr.training.loop import train_epochs

    ended = {"phase": 1, "epoch": 3, "end": 30, "partial": False, "best_val_loss": 0.4, "wait": 1, "diverged": True}
    trainer = FakeTrainer(tmp_path, state=ended)
    trainer.run.rows = [{"phase": 1, "epoch": e, "loss": loss, "lr": 0.5} for e, loss in ((1, 2.0), (2, 1.0), (3, np.nan))]
    assert train_epochs(trainer, model(), 1, *datasets(), 3, 30, 5)
    assert trainer.rows == [] and trainer.saved == []
    assert trainer.said == ["the loss became NaN at epoch 3: the training diverged, so its curves stop there and its "
                            "model learned nothing after it; start a new run with a lower learning rate (this one used "
                            "0.5); resuming from its last good weights, not training again"]

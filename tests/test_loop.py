"""glr.training.loop: the custom loop's arithmetic matches Keras', early stopping, stop after a batch."""

from types import SimpleNamespace

import numpy as np
import pytest

from glr.training.progress import StopRequested

CLASSES, DIM, N = 7, 8, 40


def data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(N, DIM)).astype(np.float32)
    y = np.eye(CLASSES, dtype=np.float32)[rng.integers(0, CLASSES, N)]
    return x, y


def model(smoothing=0.1):
    import keras

    keras.utils.set_random_seed(1)
    m = keras.Sequential([keras.Input((DIM,)), keras.layers.Dense(CLASSES, activation="softmax")])
    m.compile(optimizer=keras.optimizers.Adam(1e-2), loss=keras.losses.CategoricalCrossentropy(label_smoothing=smoothing),
              metrics=["accuracy", keras.metrics.TopKCategoricalAccuracy(k=5, name="top5")])
    return m


class FakeTrainer(SimpleNamespace):
    """What train_epochs asks of a Trainer, recorded."""

    def __init__(self, patience=100, stop_after=None):
        import tensorflow as tf

        super().__init__(strategy=tf.distribute.get_strategy(), distributed=False, console=False, labels=[0] * CLASSES,
                         cfg=SimpleNamespace(label_smoothing=0.1, patience=patience), rows=[], saved=[])
        self.best, self.wait, self.steps_done, self.stop_after = None, 0, 0, stop_after
        self.progress = SimpleNamespace(start=lambda *a, **k: None, close=lambda: None, advance=self.advance)

    def advance(self, n=1):
        self.steps_done += n
        if self.stop_after is not None and self.steps_done >= self.stop_after:
            raise StopRequested

    def append_history(self, row):
        self.rows.append(row)

    def save_checkpoint(self, model, phase, epoch, val_loss=None, partial=False):
        self.saved.append((epoch, partial))
        if val_loss is not None and (self.best is None or val_loss < self.best):
            self.best, self.wait = val_loss, 0
        elif not partial:
            self.wait += 1
        return self.wait


def datasets(batch=8):
    import tensorflow as tf

    x, y = data()
    ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(batch)
    return ds, ds


def test_validation_sums_equal_keras_evaluate():
    from glr.training.loop import Steps, distribute

    import tensorflow as tf

    m = model()
    strategy = tf.distribute.get_strategy()
    x, y = data()
    loss, acc, top = Steps(strategy, m, 0.1, CLASSES).validate(distribute(strategy, datasets()[1]), 0.0)[:3]
    expected = m.evaluate(x, y, batch_size=8, verbose=0, return_dict=True)
    assert loss == pytest.approx(expected["loss"], rel=1e-5)
    assert acc == pytest.approx(expected["accuracy"]) and top == pytest.approx(expected["top5"])


def test_one_epoch_equals_keras_fit():
    from glr.training.loop import train_epochs

    ours, theirs = model(), model()
    trainer = FakeTrainer()
    train, val = datasets()
    assert train_epochs(trainer, ours, 1, train, val, 0, 1, 5)
    history = theirs.fit(train, validation_data=val, epochs=1, verbose=0, shuffle=False).history
    row = trainer.rows[0]
    assert row["loss"] == pytest.approx(history["loss"][0], rel=1e-4)
    assert row["val_loss"] == pytest.approx(history["val_loss"][0], rel=1e-4)
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)


def test_early_stopping_follows_keras_rule():
    from glr.training.loop import train_epochs

    trainer = FakeTrainer(patience=1)
    trainer.save_checkpoint(None, 1, 0, val_loss=-1.0)  # a best no epoch can beat: every epoch waits
    train, val = datasets()
    assert train_epochs(trainer, model(), 1, train, val, 0, 10, 5)
    assert [r["epoch"] for r in trainer.rows] == [1, 2]  # Keras never stops after the first epoch


def test_a_stop_ends_after_the_batch_with_a_partial_checkpoint():
    from glr.training.loop import train_epochs

    trainer = FakeTrainer(stop_after=7)  # during the second epoch of 5 batches
    train, val = datasets()
    assert not train_epochs(trainer, model(), 1, train, val, 0, 10, 5)
    assert [r["epoch"] for r in trainer.rows] == [1]
    assert trainer.saved[-1] == (1, True)  # epoch 2 is redone on resume


def test_weights_digest_tells_models_apart():
    from glr.training.loop import weights_digest

    a, b = model(), model()
    assert weights_digest(a) == weights_digest(b)
    b.layers[-1].bias.assign(np.ones(CLASSES, np.float32))
    assert weights_digest(a) != weights_digest(b)

"""The training loop: epochs of `strategy.run` steps, the same code for one process and for a cluster.

Keras 3's `model.fit` fails under `MultiWorkerMirroredStrategy` (keras-team/keras#20585),
so both phases train here, as TensorFlow's guide to custom training with tf.distribute
does: the dataset is batched with the GLOBAL batch size and distributed over the replicas,
each replica computes its per-example losses and `tf.nn.compute_average_loss` divides them by
the global batch, and the sums that make the metrics (loss, correct top-1 and top-5,
examples) are reduced over every replica. Under the default strategy (one process) it is
one replica and the same arithmetic as Keras' fit: mean cross-entropy per batch, Adam.

Labels are class indices all the way: the datasets carry one int per example and the step
makes the one-hot targets (needed for label smoothing) per batch, inside the compiled
function, so nothing of size examples x classes is ever held (GLDv2-clean's validation set
alone would be 316k x 81k floats, 100 GB).

After each epoch the trainer's history is written on every worker, and the checkpoints
when glr.training.checkpoints says so (at most every ~30 s; always at a stop, at the
phase's end and on an error). Every worker takes part in the same collectives in the same
order: the decision to write is one all-reduce per epoch (any worker due: all write), and
a stop request on any worker travels in the next step's reduced sums, so every worker
stops after the same batch and none is left waiting in a collective. Only the chief's
files go to the run folder.

Speed: a call to a compiled function from Python, its host sync and the progress report
cost more than a step of phase 1's small head, so one call runs as many steps as take
about CALL_SECONDS (`Pace`; a `tf.while_loop` over the distributed iterator, the sums
added up in the graph), and validation runs in one call. Progress and the stop flag are
looked at after each call, so a stop comes within about CALL_SECONDS plus a step. On the
demo's phase 1 this and head_data's per-batch view draws took 13.3 s of CPU to 8.5
(benchmarks/README.md, "Phase 1, faster"). In a cluster the workers run the same number
of steps per call: they agree on it once per epoch, in the all-reduce that decides the write.
CPU workers read their part of every batch from plain tf.data iterators (`distribute`): tf.distribute's
distributed iterator cost up to seconds per epoch to build.

A loss that is not a number (NaN or inf: the learning rate too high) ends the phase at the batch that
made it, as Keras' TerminateOnNaN does; so does a validation loss that is not one (the epoch's last
step broke the weights). The reduced sums carry it, so every worker of a cluster ends at the same batch.
The phase then ends with its last good weights (Checkpoints.diverge), said in the run's status and
log in glr.training.run_table.divergence's words; with none to keep, the run fails (`Diverged`).
"""

from __future__ import annotations

import time
import weakref
from typing import TYPE_CHECKING

from glr.errors import GlrError
from glr.training.progress import PHASES, StopRequested
from glr.training.trainer_signals import say

if TYPE_CHECKING:
    from glr.training.cluster import Cluster
    from glr.training.trainer import Trainer

TOP_K = 5  # the history's val_top5
CALL_SECONDS = 0.25  # each call to the compiled loop runs about this long (Pace)
MAX_STEPS = 4096  # and at most this many steps
ALL = 2**31 - 1  # "every batch left": validation runs in one call
# The reduced sums of a step: loss * examples, correct top-1, correct top-k, examples, stop flags.
LOSS, CORRECT, TOPK, COUNT, STOP = range(5)


class Diverged(GlrError):
    """The loss stopped being a number before the phase had any weights worth keeping."""


def distribute(strategy, ds, cluster: "Cluster | None" = None):
    """The dataset split over the strategy's replicas, by element (`ds` holds batches of the global size).

    In a cluster of one replica per worker (CPU workers), each worker reads its own part of
    every batch (`worker_part`) from a plain tf.data dataset: iterating tf.distribute's
    distributed dataset cost 0.2-3.8 s per epoch and iterator on this machine (it builds a
    multi-device iterator and traces its functions each time), most of a small epoch, against
    milliseconds. Each worker gets the same rows, in the same order, as tf.distribute's own
    split; a new iterator each epoch keeps each epoch's order and view draws as they were.
    """
    import tensorflow as tf

    if (part := worker_split(strategy, cluster)) is not None:
        return part(ds)
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return strategy.experimental_distribute_dataset(ds.with_options(options))


def worker_split(strategy, cluster: "Cluster | None"):
    """This worker's `worker_part` (a function of a dataset of global batches) where `distribute` takes it: in a
    cluster of one replica per worker (CPU workers). None otherwise.

    Phase 2 cuts its batches of paths with it before they are decoded (glr.data.pipeline.make_dataset's `parts`),
    so each worker decodes and augments only its own rows, and `distribute` leaves the parted datasets as they are.
    """
    if cluster is None or strategy.num_replicas_in_sync != cluster.size:
        return None
    return lambda ds: worker_part(ds, cluster.size, cluster.index)


def worker_part(ds, workers: int, index: int):
    """Worker `index`'s part of each batch of `ds`: the rows tf.distribute's DATA sharding gives it.

    tf.distribute cuts a batch of n rows into `workers` parts of ceil(n / workers) rows, in
    order (its "legacy rebatch", which it takes when the batch size is not known statically, as
    for glr's datasets), and worker i takes part i; so the last batch of an epoch may leave a
    worker an empty part. Every worker still gets one part per batch, so all run the same
    number of steps, and a step's sums over the workers are those of the whole batch. (A
    dataset whose batch size TensorFlow knew statically would be split otherwise by
    tf.distribute; this split would still read every row once, just not in the same places.)
    """
    import tensorflow as tf

    from glr.data.pipeline import plain

    @plain
    def part(*batch):
        n = tf.shape(batch[0])[0]
        size = (n + workers - 1) // workers
        start = tf.minimum(index * size, n)
        end = tf.minimum(start + size, n)
        return tuple(t[start:end] for t in batch)

    return ds.map(part)


def barrier(strategy) -> None:
    """Wait until every worker gets here (a one-number all-reduce); at once under one process."""
    import tensorflow as tf

    def one():
        return tf.ones(())

    @tf.function(autograph=False)
    def total():
        return strategy.reduce("SUM", strategy.run(one), axis=None)

    total().numpy()


def agree(strategy, due: bool, steps: int, distributed: bool) -> tuple[bool, int]:
    """(any worker due to write, the workers' mean steps per call): one all-reduce in a cluster, as given in one process."""
    if not distributed:
        return due, steps
    import tensorflow as tf

    sums = summed(strategy)(tf.constant([1.0 if due else 0.0, float(steps)])).numpy()
    # Every worker gets the same sums, so the same mean: the same steps per call everywhere.
    return bool(sums[0] > 0), max(1, int(sums[1] / strategy.num_replicas_in_sync))


_SUMMED = weakref.WeakKeyDictionary()  # strategy -> its compiled all-reduce of two numbers


def summed(strategy):
    """A compiled all-reduce (SUM over the workers) of a float32 pair, one per strategy: built afresh on each call,
    it was traced again every epoch, and TensorFlow warned of the retracing each time."""
    if (total := _SUMMED.get(strategy)) is None:
        import tensorflow as tf

        @tf.function(autograph=False, input_signature=[tf.TensorSpec([2], tf.float32)])
        def total(value):
            return strategy.reduce("SUM", strategy.run(tf.identity, args=(value,)), axis=None)
        _SUMMED[strategy] = total
    return total


def weights_digest(model) -> str:
    """A short hash of a model's weights: the workers of a cluster must end with the same one."""
    import hashlib

    digest = hashlib.sha1()
    for w in model.get_weights():
        digest.update(w.tobytes())
    return digest.hexdigest()[:16]


def build_optimizer(strategy, model) -> None:
    """Create the optimizer's slots inside the strategy's scope (fit does this before its first step)."""
    with strategy.scope():
        if not model.optimizer.built:
            model.optimizer.build(model.trainable_variables)


class Steps:
    """The compiled train and evaluation steps of one model under one strategy."""

    def __init__(self, strategy, model, label_smoothing: float, classes: int):
        import keras
        import tensorflow as tf

        self.strategy, self.model = strategy, model
        loss_fn = keras.losses.CategoricalCrossentropy(label_smoothing=label_smoothing, reduction=None)
        k = min(TOP_K, classes)

        def targets(y):
            # One batch of one-hot rows (batch x classes), made here rather than in the
            # dataset so the dataset holds one int per example.
            return tf.one_hot(tf.cast(y, tf.int32), classes)

        def sums(y, probs, per_example, stop):
            truth = tf.cast(y, tf.int64)
            correct = tf.cast(tf.equal(tf.argmax(probs, axis=-1), truth), tf.float32)
            in_top = tf.cast(tf.math.in_top_k(truth, tf.cast(probs, tf.float32), k), tf.float32)
            count = tf.cast(tf.shape(y)[0], tf.float32)
            return tf.stack([tf.reduce_sum(per_example), tf.reduce_sum(correct), tf.reduce_sum(in_top), count, stop])

        def train_step(x, y, stop):
            with tf.GradientTape() as tape:
                probs = model(x, training=True)
                per_example = loss_fn(targets(y), probs)
                loss = tf.nn.compute_average_loss(per_example)  # / the global batch
            grads = tape.gradient(loss, model.trainable_variables)
            model.optimizer.apply_gradients(zip(grads, model.trainable_variables))
            return sums(y, probs, per_example, stop)

        def eval_step(x, y, stop):
            probs = model(x, training=False)
            return sums(y, probs, loss_fn(targets(y), probs), stop)

        def train_one(batch, stop):
            return strategy.reduce("SUM", strategy.run(train_step, args=(*batch, stop)), axis=None)

        def evaluate_one(batch, stop):
            return strategy.reduce("SUM", strategy.run(eval_step, args=(*batch, stop)), axis=None)

        def many(one):
            def run(iterator, n, stop):
                # Up to n steps in one graph: no Python and no host sync between them. The
                # sums add up in float64, as the host's did step by step. A step whose
                # reduced sums carry a stop flag is the last (on every worker: the sums are
                # the same), and so is one whose loss is no number (glr's TerminateOnNaN); so
                # is the last batch (agreed over the workers in a cluster).
                def step(done, total, more):
                    batch = iterator.get_next_as_optional()

                    def take():
                        sums = tf.cast(one(batch.get_value(), stop), tf.float64)
                        return done + 1, total + sums, (sums[STOP] <= 0) & tf.math.is_finite(sums[LOSS])

                    return tf.cond(batch.has_value(), take, lambda: (done, total, tf.constant(False)))

                done, total, _ = tf.while_loop(lambda done, total, more: more & (done < n), step,
                                               (tf.constant(0), tf.zeros(5, tf.float64), tf.constant(True)))
                return total, done

            # No autograph: the loop is written in TF's own ops, and converting the model's
            # code too made the first call (tracing) take seconds.
            return tf.function(run, autograph=False)

        # One step per call (benchmarks time these), and many: what the loop calls.
        self.train, self.evaluate = (tf.function(f, autograph=False) for f in (train_one, evaluate_one))
        self.train_many, self.evaluate_many = many(train_one), many(evaluate_one)

    def validate(self, val_ds, stop: float):
        """(val_loss, val_accuracy, val_top5, whether any worker asked to stop) over the validation set.

        One call runs the whole validation set. The stop flags ride along with the sums, so
        every worker learns of a stop asked for during the epoch's last call at the same point.
        """
        import tensorflow as tf

        total, _ = self.evaluate_many(iter(val_ds), tf.constant(ALL), tf.constant(stop))
        total = total.numpy()
        n = max(total[COUNT], 1.0)
        return total[LOSS] / n, total[CORRECT] / n, total[TOPK] / n, bool(total[STOP] > 0 or stop)


class Pace:
    """How many steps each call to the compiled loop runs: about CALL_SECONDS' worth.

    Progress, the stop flag and Python's per-call costs are paid once per call, so a call
    should be long enough to make them small and short enough that the status moves and a
    stop is heard within a fraction of a second. The first call traces the function, so
    its time says nothing; a cluster's workers must run the same number of steps per call,
    so they agree on it once per epoch (`agree`).
    """

    def __init__(self):
        self.n, self.calls = 1, 0

    def record(self, seconds: float, steps: int) -> None:
        """Take in one call's time; the next call's size follows from the steps' speed."""
        self.calls += 1
        if steps and self.calls > 1:  # the first call traced the function
            per_step = seconds / steps
            self.n = int(min(MAX_STEPS, max(1, CALL_SECONDS / max(per_step, 1e-6))))


def train_epochs(trainer: "Trainer", model, phase: int, train_ds, val_ds, first_epoch: int, epochs: int,
                 steps: int, fallback: list | None = None, parted: bool = False) -> bool:
    """Train epochs first_epoch+1..epochs with early stopping; False if a stop was requested.

    `train_ds` and `val_ds` are tf.data datasets of (x, class index) batches of the global
    size. The checkpoints are `trainer.checkpoints(phase, epochs)`'s (glr.training.checkpoints).
    A loss that is no number ends the phase with its best weights, else `fallback` (the weights it
    started from, if worth keeping), else raises Diverged (`diverged`). `parted` datasets hold this worker's part
    of each batch already (`worker_split`).
    """
    import keras
    import numpy as np
    import tensorflow as tf

    strategy = trainer.strategy
    build_optimizer(strategy, model)
    step = Steps(strategy, model, trainer.cfg.label_smoothing, len(trainer.labels))
    train_dist, val_dist = (ds if parted else distribute(strategy, ds, trainer.cluster) for ds in (train_ds, val_ds))
    progress, patience = trainer.progress, trainer.cfg.patience
    saver = trainer.checkpoints(phase, epochs)
    if first_epoch > 1 and saver.epoch == first_epoch and not saver.partial and saver.wait >= patience:
        # Early stopping ended this phase, then something failed (saving the model, the disk full): the resume
        # goes on from that end, as glr.training.resuming refuses a larger --epochs for it, and says so.
        trainer.say(f"early stopping ended phase {phase} at epoch {first_epoch} (val_loss had not improved for "
                    f"{saver.wait} epochs): going on from its best epoch without training more")
        return True
    if saver.diverged:  # this phase ended at a loss that was no number: a resume finishes from its good weights
        from glr.training.run_table import divergence

        trainer.say(f"{divergence(trainer.run.history())}; resuming from its last good weights, not training again")
        return True
    pace, agreed = Pace(), 1  # in a cluster, `agreed` steps per call for the whole epoch
    epoch = first_epoch
    try:
        for epoch in range(first_epoch, epochs):
            t0 = time.monotonic()
            # `epoch` in the status counts the epochs done, so the page reads "epoch {epoch + 1} of {epochs}".
            progress.start(PHASES[phase], steps, "batch", epoch=epoch, epochs=epochs,
                           message=f"epoch {epoch + 1} of {epochs}", desc=f"epoch {epoch + 1}")
            total, want_stop, stopped, batch = np.zeros(5), 0.0, False, 0
            batches = iter(train_dist)
            while True:
                n = agreed if trainer.distributed else pace.n
                started = time.monotonic()
                sums, done = step.train_many(batches, tf.constant(n), tf.constant(want_stop))
                sums, done = sums.numpy(), int(done)
                pace.record(time.monotonic() - started, done)
                total, batch = total + sums, batch + done
                if not np.isfinite(sums[LOSS]):
                    break  # the batch that made it was the call's last (`Steps`)
                if sums[STOP] > 0:
                    stopped = True  # some worker was asked to stop before this call: all stop after its first step
                    break
                if done:
                    try:
                        progress.advance(done)
                    except StopRequested:
                        want_stop = 1.0
                        if not trainer.distributed:
                            stopped = True  # one process: nobody to tell, stop now
                            break
                if done < n:  # the epoch's batches ran out
                    break
            progress.close()
            if stopped:
                # A partial epoch: keep its weights as the last checkpoint, but do not count it.
                saver.stop(model, epoch)
                return False
            finite = bool(np.isfinite(total[LOSS]))
            val_loss, val_acc, val_top5, stop_now = step.validate(val_dist, want_stop) if finite else (np.nan,) * 3 + (0,)
            n = max(total[COUNT], 1.0)
            row = {"phase": phase, "epoch": epoch + 1, "loss": total[LOSS] / n, "accuracy": total[CORRECT] / n,
                   "val_loss": val_loss, "val_accuracy": val_acc, "val_top5": val_top5,
                   "lr": float(keras.ops.convert_to_numpy(model.optimizer.learning_rate)),
                   "seconds": round(time.monotonic() - t0, 3)}
            # History first, checkpoint second: a kill between the two (or before the next
            # write) leaves history rows past the checkpoint, which resume trims, never a
            # checkpoint with no row.
            trainer.append_history(row)
            if not (finite and np.isfinite(val_loss)):
                where = f"at its batch {batch} of {steps}" if not finite else "after its last batch"
                return diverged(trainer, model, saver, row, where, fallback)
            # Every worker counts the same (val_loss is reduced) and decides to write together,
            # and, in the same all-reduce, on the next epoch's steps per call.
            wait = saver.count(epoch + 1, val_loss)
            last = stop_now or epoch + 1 >= epochs or (wait >= patience and epoch > 0)
            due, agreed = agree(strategy, saver.due(), pace.n, trainer.distributed)
            saver.keep(model, write=due or last)
            if trainer.console:  # a terminal gone or stdout on a full disk must not end the training
                top5 = f"  top5 {val_top5:.3f}" if len(trainer.labels) > 5 else ""  # 5 guesses of 5 classes: always 1
                say(f"epoch {epoch + 1:>3}  loss {row['loss']:.4f}  acc {row['accuracy']:.3f}  "
                    f"val_loss {val_loss:.4f}  val_acc {val_acc:.3f}{top5}", stdout=True)
            if stop_now:  # asked during the epoch's last call: the epoch is whole, stop after it
                return False
            if wait >= patience and epoch > 0:  # Keras' EarlyStopping rule, its counter kept in the checkpoint state
                break
    except BaseException as exc:
        # A failed collective (a worker died), an interrupt: keep what was trained since the
        # last write as a partial checkpoint, then let the error end the run. Not after a
        # failed write (a full disk): the previous checkpoint stays the last one, whole.
        if not isinstance(exc, (OSError, Diverged)):
            saver.rescue(model, max(saver.epoch, epoch))
        raise
    return True


def diverged(trainer: "Trainer", model, saver, row: dict, where: str, fallback: list | None) -> bool:
    """End the phase at a loss that is no number (`row`, the epoch it happened in, is in the history): with its last
    good weights (True), said in the status and log; Diverged when it has none."""
    import pandas as pd

    from glr.training.run_table import divergence

    note = divergence(pd.DataFrame([row]))
    if not saver.diverge(model, int(row["epoch"]), fallback):
        message = f"{note}; it happened {where}, before any epoch was whole, so there is no model to keep"
        trainer.run.update_status(diverged=message)
        raise Diverged(message)
    message = f"{note}; training stopped {where}, and kept its last good weights as the model"
    trainer.run.update_status(diverged=message)
    trainer.say(message)
    return True

"""How a training reports as it goes, and how it is stopped.

`Progress` writes the current stage and step to the run's status (what the app's progress
bars show) and draws a terminal bar; after every step it checks the run's stop flag and
raises `StopRequested`. `keras_callbacks` turns Keras' fit loop into the same protocol:
a history row and checkpoints after each epoch, a clean stop after the current batch.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass

from glr.training.run import Run


class StopRequested(Exception):
    """The user asked the run to stop; raised between phases, caught by `train_run`."""


# The stage names of the two training phases, as the status and the app show them.
PHASES = {1: "phase 1: training the head", 2: "phase 2: fine-tuning the backbone"}


# --------------------------------------------------------------------------- progress
@dataclass
class Progress:
    """Reports progress to the run's status (for the app) and, optionally, a terminal bar."""

    run: Run
    console: bool = False

    def __post_init__(self):
        self._bar = None
        self.phase = ""

    def start(self, phase: str, total: int, unit: str, **status) -> None:
        """Begin a stage of `total` units (images, batches); its name, unit and start time go to the status."""
        from glr.training.status import now

        self.close()
        self.step, self.total, self.phase = 0, total, phase
        desc = status.pop("desc", phase)
        self.run.update_status(phase=phase, step=0, steps=total, unit=unit, stage_started=now(),
                               message=status.pop("message", phase), **status)
        if self.console and sys.stderr.isatty():
            from tqdm import tqdm

            self._bar = tqdm(total=total, desc=desc, unit=unit, leave=False, dynamic_ncols=True)

    def advance(self, n: int = 1, **status) -> None:
        """Add n units; the status is rewritten at most every PROGRESS_SECONDS; StopRequested if a stop was asked for."""
        self.step += n
        if self._bar:
            self._bar.update(n)
        self.run.report_progress(force=self.step >= self.total, step=self.step, steps=self.total, **status)
        if self.run.stop_requested():
            raise StopRequested

    def close(self) -> None:
        """End the terminal bar, if any."""
        if self._bar:
            self._bar.close()
            self._bar = None


# --------------------------------------------------------------------------- callbacks
def keras_callbacks():
    """Keras callback classes, defined when Keras is imported (it is heavy)."""
    import keras

    class RunCallback(keras.callbacks.Callback):
        """Writes the history, status and checkpoints each epoch; stops after a batch on request."""

        def __init__(self, trainer, phase: int, epochs: int, steps: int):
            super().__init__()
            self.trainer, self.phase, self.epochs, self.steps = trainer, phase, epochs, steps
            self.stopped = False

        def on_epoch_begin(self, epoch, logs=None):
            self.t0 = time.monotonic()
            # `epoch` in the status counts the epochs done, so the page reads "epoch {epoch + 1} of {epochs}".
            self.trainer.progress.start(PHASES[self.phase], self.steps, "batch", epoch=epoch, epochs=self.epochs,
                                        message=f"epoch {epoch + 1} of {self.epochs}", desc=f"epoch {epoch + 1}")

        def on_train_batch_end(self, batch, logs=None):
            try:
                self.trainer.progress.advance(1)
            except StopRequested:
                self.stopped = True
                self.model.stop_training = True

        def on_epoch_end(self, epoch, logs=None):
            self.trainer.progress.close()
            if self.stopped:
                # A partial epoch: keep its weights as the last checkpoint, but do not count it;
                # resume redoes this epoch, so history has no gap and no duplicate.
                self.trainer.save_checkpoint(self.model, self.phase, epoch, partial=True)
                return
            logs = logs or {}
            row = {"phase": self.phase, "epoch": epoch + 1, "loss": logs.get("loss"),
                   "accuracy": logs.get("accuracy"), "val_loss": logs.get("val_loss"),
                   "val_accuracy": logs.get("val_accuracy"), "val_top5": logs.get("val_top5"),
                   "lr": float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate)),
                   "seconds": round(time.monotonic() - self.t0, 3)}
            # History first, checkpoint second: a kill between the two leaves a history row
            # past the checkpoint, which resume trims, never a checkpoint with no row.
            self.trainer.append_history(row)
            self.trainer.save_checkpoint(self.model, self.phase, epoch + 1, val_loss=logs.get("val_loss"))
            if self.trainer.console:
                print(f"epoch {epoch + 1:>3}  loss {row['loss']:.4f}  acc {row['accuracy']:.3f}  "
                      f"val_loss {row['val_loss']:.4f}  val_acc {row['val_accuracy']:.3f}  top5 {row['val_top5']:.3f}")

    class ResumableEarlyStopping(keras.callbacks.EarlyStopping):
        """EarlyStopping whose patience counter survives a stop and resume."""

        def __init__(self, best: float | None, wait: int, **kwargs):
            super().__init__(**kwargs)
            self._resume_best, self._resume_wait = best, wait

        def on_train_begin(self, logs=None):
            super().on_train_begin(logs)
            if self._resume_best is not None:
                self.best, self.wait = self._resume_best, self._resume_wait

    return RunCallback, ResumableEarlyStopping

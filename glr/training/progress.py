"""How a training reports as it goes, and how it is stopped.

`Progress` writes the current stage and step to the run's status (what the app's progress
bars show) and draws a terminal bar; after every step it checks the run's stop flag and
raises `StopRequested`. The training loop (glr.training.loop) reports here after each
compiled call (a group of batches, about a quarter second of work) and stops cleanly after
the current one.
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
        self._started = time.monotonic()

    def start(self, phase: str, total: int, unit: str, **status) -> None:
        """Begin a stage of `total` units (images, batches); its name, unit and start time go to the status."""
        from glr.training.status import now

        self.close()
        self.step, self.total, self.phase = 0, total, phase
        self._started = time.monotonic()
        desc = status.pop("desc", phase)
        self.run.update_status(phase=phase, step=0, steps=total, unit=unit, stage_started=now(), stage_seconds=0.0,
                               message=status.pop("message", phase), **status)
        if self.console and sys.stderr.isatty():
            from tqdm import tqdm

            self._bar = tqdm(total=total, desc=desc, unit=unit, leave=False, dynamic_ncols=True)

    def advance(self, n: int = 1, heed_stop: bool = True, **status) -> None:
        """Add n units; the status is rewritten at most every PROGRESS_SECONDS; StopRequested if a stop was asked for
        (unless not `heed_stop`: the model saved, the run's end is near), RunError if the run folder was deleted."""
        self.step += n
        if self._bar:
            self._bar.update(n)
        # stage_seconds: the stage's time so far beside its step, on a clock no setting of the wall clock moves
        # (glr.training.run_table.time_left paces the stage by the pair).
        self.run.report_progress(force=self.step >= self.total, step=self.step, steps=self.total,
                                 stage_seconds=round(time.monotonic() - self._started, 3), **status)
        if heed_stop and self.run.stop_requested():
            raise StopRequested
        if gone := self.run.gone():
            from glr.training.run import RunError

            raise RunError(gone)

    def close(self) -> None:
        """End the terminal bar, if any."""
        if self._bar:
            self._bar.close()
            self._bar = None

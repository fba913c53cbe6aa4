"""How long a run has trained and how long its stage has left, from its status: the Train page's timing line.

Read on every poll of a training, so light: the stage's pace comes from the status alone (`stage_seconds`, measured
with its step on a clock that no setting of the wall clock moves), or, from an older glr's status, its timestamps.
"""

from __future__ import annotations

import math
import time
from datetime import datetime

from glr.training.status import ACTIVE_STATES


def _seconds_since(stamp, moment: float) -> float | None:
    """Seconds from an ISO timestamp of the status to `moment` (epoch seconds), or None if unreadable."""
    try:
        return max(moment - datetime.fromisoformat(str(stamp)).timestamp(), 0.0)
    except (TypeError, ValueError):
        return None


def elapsed(status: dict, moment: float | None = None) -> float | None:
    """Seconds the run has trained: from `started` to `finished` (or to now while it runs, or to its last word if it
    died without one); None before it starts.

    Measured on the monotonic clock the status records beside those timestamps (`*_clock`), when they and now were
    read in one pid space: a wall clock set since (NTP) does not show. Another pid space's run that trains: its
    trainer's own readings to its last write, plus the time since that write on the file system's clock
    (`silent_seconds`, glr.training.status), so neither machine's wall clock (minutes apart) enters. Else (an older
    glr's status, a `moment` given) by the timestamps.
    """
    if not status.get("started"):
        return None
    active = status.get("state") in ACTIVE_STATES
    end_key = None if active else "finished" if status.get("finished") else "updated"
    if moment is None:
        from glr.training.status import clock

        start, end = status.get("started_clock"), clock() if active else status.get(f"{end_key}_clock")
        if _readings(start, end):
            return round(end[1] - start[1], 3)
        silent = status.get("silent_seconds")
        if active and _readings(start, status.get("updated_clock")) and _seconds(silent) is not None:
            return round(status["updated_clock"][1] - start[1] + silent, 3)
    moment = time.time() if moment is None else moment
    if end_key:
        try:
            moment = datetime.fromisoformat(str(status.get(end_key))).timestamp()
        except ValueError:
            pass
    return _seconds_since(status["started"], moment)


def _seconds(value) -> float | None:
    """`value` if it is a finite number of seconds, not negative, else None."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        return None
    return float(value)


def _readings(start, end) -> bool:
    """Whether `start` and `end` are two readings of one pid space's monotonic clock (status.clock), in order."""
    try:
        return start[0] == end[0] and math.isfinite(end[1] - start[1]) and end[1] >= start[1]
    except (TypeError, IndexError, KeyError):
        return False


PACE_AFTER = 50  # a stage's pace is trusted after 1/50 of its steps


def time_left(status: dict, history=None, moment: float | None = None) -> float | None:
    """An estimate of the seconds left in the current stage, or None if it cannot be told yet.

    Training epochs: the epochs left (this one's remaining batches included) at the pace of
    the last epochs of this phase in `history` (a DataFrame with `phase` and `seconds`), or of
    this epoch so far. Early stopping can end sooner. Any other stage: its remaining steps at
    the pace since the stage began (`stage_started`).
    """
    if status.get("state") != "running":
        return None
    try:
        step, steps = int(status.get("step") or 0), int(status.get("steps"))
    except (TypeError, ValueError):
        return None
    moment = time.time() if moment is None else moment
    so_far = status.get("stage_seconds")  # measured with its step (Progress): a clock set since does not move it
    if isinstance(so_far, bool) or not isinstance(so_far, (int, float)) or not math.isfinite(so_far) or so_far < 0:
        so_far = _seconds_since(status.get("stage_started"), moment)  # an older glr's status
    per_step = so_far / step if so_far and step > 0 else None
    if status.get("unit") == "batch" and status.get("epochs"):
        try:
            remaining = int(status["epochs"]) - int(status.get("epoch") or 0) - min(step / max(steps, 1), 1.0)
        except (TypeError, ValueError):
            return None
        per_epoch = None
        if history is not None and len(history) and "seconds" in history:
            phase_number = str(status.get("phase") or "").removeprefix("phase ")[:1]
            rows = history[history["phase"].astype(str) == phase_number] if phase_number.isdigit() else history
            seconds = rows["seconds"].dropna().tail(3)
            per_epoch = float(seconds.mean()) if len(seconds) else None
        if per_epoch is None and per_step is not None:
            per_epoch = per_step * steps
        return None if per_epoch is None else max(remaining, 0.0) * per_epoch
    # The first steps of a stage also pay its start-up (building the backbone takes seconds):
    # a pace measured over them would promise far too long a wait.
    if per_step is None or step < max(1, steps // PACE_AFTER):
        return None
    return max(steps - step, 0) * per_step


def duration_text(seconds: float | None) -> str:
    """A duration for people: "45 s", "3 min 20 s", "1 h 05 min"; "unknown" for None."""
    if seconds is None:
        return "unknown"
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"

"""The runs of a results folder at a glance: which to show, which can predict, how far each has got.

Read on every app rerun, so it imports nothing heavy at import time.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from glr.errors import GlrError
from glr.training import runs


def default_run(table: pd.DataFrame) -> str | None:
    """The run a page shows first: the newest active one (queued, running, stopping), else the newest.

    `table` is `glr.training.runs.list_runs(...)` (newest first).
    """
    if table is None or table.empty:
        return None
    active = table[table["state"].isin(runs.ACTIVE_STATES)]
    return str((active if not active.empty else table)["run_id"].iloc[0])


def finished_runs(results: str | os.PathLike) -> list[str]:
    """Ids of the runs that have a final model (`model.keras`), newest first: the ones that can predict."""
    table = runs.list_runs(results)
    root = Path(results) / runs.RUNS_SUBDIR
    return [r for r in table["run_id"] if (root / r / "model.keras").is_file()]


def evaluated_runs(results: str | os.PathLike) -> list[str]:
    """Ids of the runs with something to show on the Results page (history or metrics), newest first."""
    table = runs.list_runs(results)
    root = Path(results) / runs.RUNS_SUBDIR
    return [r for r in table["run_id"]
            if (root / r / "history.csv").is_file() or (root / r / "metrics.json").is_file()]


def progress_of(status: dict) -> tuple[float, str]:
    """A progress bar's value in [0, 1] and its text, from a run's status (step/steps of the current stage)."""
    if status.get("state") == "finished":
        return 1.0, "finished"
    phase = str(status.get("phase") or status.get("state") or "waiting")
    try:
        step, steps = int(status.get("step")), int(status.get("steps"))
    except (TypeError, ValueError):
        return 0.0, phase
    if steps <= 0:
        return 0.0, phase
    return min(max(step / steps, 0.0), 1.0), f"{phase}: {step}/{steps}"


def epoch_progress(status: dict) -> tuple[float, str]:
    """The overall progress in epochs (epoch/epochs from the status), as a bar value and text."""
    epoch, epochs = status.get("epoch") or 0, status.get("epochs")
    try:
        fraction = min(max(float(epoch) / float(epochs), 0.0), 1.0) if epochs else 0.0
        text = f"epoch {int(epoch)} of {int(epochs)}" if epochs else "epochs: not started"
    except (TypeError, ValueError):
        return 0.0, "epochs: unknown"
    return fraction, text


def check_run_for_prediction(run_dir: str | os.PathLike) -> None:
    """Raise GlrError naming what is missing if the run cannot predict (no model.keras or labels.json)."""
    run_dir = Path(run_dir)
    for name in ("model.keras", "labels.json", "config.json"):
        if not (run_dir / name).is_file():
            raise GlrError(f"run {run_dir.name} cannot predict: {name} is missing (has it finished?)")


def model_stamp(run_dir: str | os.PathLike) -> float:
    """The modification time of the run's model.keras (0 if absent): part of the predictor's cache key."""
    try:
        return (Path(run_dir) / "model.keras").stat().st_mtime
    except OSError:
        return 0.0


def log_tail(path: str | os.PathLike, lines: int = 40, max_bytes: int = 64 * 1024) -> str:
    """The last `lines` lines of a text file such as train.log ("" if it does not exist yet)."""
    try:
        with open(path, "rb") as fh:
            fh.seek(0, os.SEEK_END)
            size = fh.tell()
            fh.seek(max(0, size - max_bytes))
            data = fh.read()
    except OSError:
        return ""
    text = data.decode("utf-8", errors="replace").replace("\r", "\n")
    return "\n".join([line for line in text.splitlines() if line.strip()][-lines:])

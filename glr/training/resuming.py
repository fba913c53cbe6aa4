"""Resuming a run: whether it can be, its total of epochs changed on the way, and a refused resume undone.

A stopped or failed run continues from its last checkpoint (`python -m glr train --resume RUN`,
the Train page's Resume). `--epochs N` beside it sets the run's new total of phase-1 epochs
(more than it has done), recorded in its configuration, status and log, so the pages, `glr runs`
and the report show it. A finished run is never trained again: its model and report stay.

A resume refused once it has begun (the dataset changed under the run, a checkpoint that no
longer fits its settings, a worker that could not start) leaves the run as it was before the
attempt: a stopped run stays stopped, and resumable, with the reason in its message.

A run whose loss stopped being a number is not resumed when that would only train on it again
(`diverged`): the refusal says it diverged, in glr.training.run_table.divergence's words.
"""

from __future__ import annotations

from pathlib import Path

from glr.data.dataset_path import on_disk
from glr.paths import demo_dir
from glr.training.run import Run, RunError, setting
from glr.training.status import ACTIVE_STATES, now
from glr.words import plural

REFUSED = "resume refused"
# What a resume attempt rewrites in the status, put back as it was if the resume is refused.
RESTORED = ("state", "pid", "pid_start", "phase", "unit", "stage_started", "epoch", "epochs", "step", "steps",
            "started", "finished", "started_clock", "finished_clock", "traceback", "workers", "worker_pids")


def epochs_done(run: Run) -> int:
    """The epochs the run has trained, as its history (and `glr runs`) counts them."""
    history = run.history()
    if not len(history):
        return 0
    last = float(history["epoch"].max())
    if not last.is_integer() or last < 1:  # edited by hand (int(inf) would be an OverflowError)
        raise RunError(f"{run.history_path} is damaged: its last epoch is {last:g}, not an epoch's number")
    return int(last)


def resumable(run: Run, epochs: int | None = None, locked: bool = False) -> Run:
    """`run` if it can be resumed (stopped or failed, its files readable, `epochs` more than it has done); else RunError.

    `python -m glr train --resume` asks this too: a finished run was evaluated and written again. `locked`: the
    caller holds the results folder's lock for it (the launch asks again under it), so that lock is no other's.
    """
    state = run.status()["state"]
    if state in ACTIVE_STATES:
        raise RunError(f"run {run.id} is still {state}; stop it first")
    if state == "finished":
        raise RunError(f"run {run.id} has finished; start a new run to train more" + (
            f" (a finished run is not trained again: its model and report stay as they are; a new run with "
            f"--epochs {epochs} and the settings in {run.config_path} trains {plural(epochs, 'epoch')})" if epochs else ""))
    if state == "damaged":
        raise RunError(f"run {run.id} cannot be resumed: {run.status()['message']}")
    data = Path(setting(run.config(), "data") or demo_dir()).expanduser()  # RunError if config.json is damaged
    # on_disk: as the trainer reads it, so a path typed in NFC for a folder a Mac named in NFD resumes too.
    if on_disk(data) is None and data != demo_dir():  # the trainer makes the demo; any other dataset failed it seconds later
        raise RunError(f"run {run.id} trains on {data}, which is no longer there: put it back to resume the run, "
                       "or start a new run on another dataset")
    from glr.training.config import ConfigError, TrainConfig  # pandas: not for importing this module

    try:
        # A setting edited by hand in config.json: said now, not by a training process that fails seconds later.
        if isinstance(train := run.config().get("train"), dict):
            TrainConfig.from_dict(train)
    except ConfigError as exc:
        raise RunError(f"run {run.id} cannot be resumed: {run.config_path} holds an {exc} (edited by hand?); put it "
                       "right to resume the run") from None
    try:
        done = epochs_done(run)
    except RunError as exc:
        raise RunError(f"run {run.id} cannot be resumed: {exc}; start a new run") from None
    if (note := diverged(run)):
        raise RunError(f"run {run.id} cannot be resumed: {note}")
    if epochs is not None:
        _check_epochs(run, epochs, done)
    from glr.training.launch import LOCK_NAME, _busy, read_lock  # launch imports this module

    if not locked and Path(run.results_dir, LOCK_NAME).exists() and (lock := read_lock(run.results_dir)):
        raise _busy(lock)
    return run


def diverged(run: Run) -> str:
    """Why resuming `run` would only train on a loss that is no number ("" when it would not).

    Its history says the loss became NaN or inf in the phase the resume goes on with, and the checkpoint it goes
    on from (`reconciled_state`: after a kill between last.keras and state.json, last.keras' own) is not that phase
    stopped there with good weights (glr.training.checkpoints.Checkpoints.diverge: then a resume finishes the run
    from them): a run that diverged before any whole epoch, or one trained on past its divergence (before glr
    stopped at it). A phase 1 that diverged and ended with its good weights, the run fine-tuning since, is resumed.
    """
    import pandas as pd

    from glr.training.checkpoints import reconciled_state
    from glr.training.run_table import divergence

    state, history = reconciled_state(run) or {}, run.history()
    if state.get("diverged"):
        return ""
    if isinstance(phase := state.get("phase"), int) and "phase" in history:
        # The phases before the checkpoint's ended (with good weights, if one diverged): the resume trains none again.
        attrs = history.attrs
        history = history[pd.to_numeric(history["phase"], errors="coerce").fillna(phase) >= phase]
        history.attrs = attrs
    return divergence(history)


def _check_epochs(run: Run, epochs: int, done: int) -> None:
    """RunError unless `epochs` can be the run's new total: more than it has done, and phase 1 not over.

    Judged from the checkpoint the resume goes on from (`reconciled_state`: after a kill between last.keras and
    state.json, last.keras' own), never from a state.json the trainer would set right first.
    """
    from glr.training.checkpoints import early_stopped, handed_over, reconciled_state

    state = reconciled_state(run) or {}
    if state.get("phase") == 2:
        raise RunError(f"run {run.id} is fine-tuning (phase 2, {done} epochs done of {state.get('end')}): --epochs "
                       "sets phase 1's length, which is over; resume it without --epochs")
    if epochs <= done:
        raise RunError(f"run {run.id} has done {done} epochs, so --epochs {epochs} would end it before its next one; "
                       f"give more than {done} (its total now: {setting(run.config(), 'epochs')})")
    if state.get("phase") != 1:
        return
    patience, ended = run.train_config().patience, state.get("epoch")
    if run.settings().fine_tuned and handed_over(run, state, patience):
        raise RunError(f"run {run.id} ended phase 1 at epoch {ended} and its best head went on to fine-tuning "
                       "(phase 2): --epochs sets phase 1's length, which is over; resume it without --epochs")
    if early_stopped(state, patience):
        # As a plain resume does (glr.training.loop): an early-stopped phase is finished from its best epoch.
        raise RunError(f"run {run.id} stopped early at epoch {ended} (val_loss had not improved for {state['wait']} "
                       f"epochs, its patience {patience}), so --epochs {epochs} would not train it on: resume it "
                       "without --epochs to finish it from its best epoch, or start a new run with a larger --patience")


def set_epochs(run: Run, epochs: int | None) -> None:
    """Record `epochs` as the run's new total of phase-1 epochs: its config.json, its status and its log.

    Called at the start of a resume attempt (by the CLI and the app): the change stays pending, undone by
    `restore` if this attempt is refused, until the trainer's epochs begin (or the next attempt through here), so
    a later attempt's refusal, a cluster's `--run-dir --resume` among them, never undoes an accepted change.
    """
    if (run.recorded_status() or {}).get("epochs_pending"):
        run.update_status(epochs_pending=None)  # an earlier attempt's change, which that attempt kept
    config = run.config()
    old = setting(config, "epochs")
    if epochs is None or epochs == old:
        return
    config["train"]["epochs"] = int(epochs)
    config["epochs_changed"] = [*config.get("epochs_changed", []), {"from": old, "to": int(epochs), "at": now()}]
    run.write_config(config)  # atomic: the old file or the new one, never half of one
    run.update_status(epochs=int(epochs), epochs_pending={"from": old, "to": int(epochs)},
                      message=f"epochs: {old} -> {epochs} (resumed with --epochs {epochs})")
    with open(run.log_path, "a", encoding="utf-8") as log:  # the log is only ever appended to
        log.write(f"[{now()}] epochs: {old} -> {epochs}, resuming\n")


def snapshot(run: Run) -> dict:
    """The run's recorded status before this resume attempt, to put back if the resume is refused.

    A run the app queued for resuming carries it (`launch` wrote it in `resumed_from`).
    """
    status = run.recorded_status() or {}
    if status.get("state") == "queued" and isinstance(status.get("resumed_from"), dict):
        return status["resumed_from"]
    return {key: value for key, value in status.items() if key != "resumed_from"}


def restore(run: Run, before: dict, reason: str) -> None:
    """Put the status of `before` back after a refused resume, with the reason in its message and `refused`; an
    --epochs change this attempt made is undone in config.json too (and said in the log)."""
    if before.get("state") not in ("stopped", "failed"):
        run.update_status(state="failed", message=reason)
    else:
        kept = {key: before.get(key) for key in RESTORED}
        run.update_status(**kept, refused=reason, message=f"{REFUSED}: {reason}; the run is {before['state']} as "
                                                           "before, and resumable")
    _undo_epochs(run)  # after: `before` may have been taken after this attempt's change (the CLI makes it first)


def refused(status: dict) -> bool:
    """Whether the run's last resume was refused (`restore`)."""
    return bool(status.get("refused")) and status.get("state") in ("stopped", "failed")


def _undo_epochs(run: Run) -> None:
    """The run's total of epochs as it was before this refused attempt's `set_epochs`, if it made a change."""
    pending = (run.recorded_status() or {}).get("epochs_pending")
    if not isinstance(pending, dict):
        return
    config = run.config()
    config["train"]["epochs"] = pending["from"]
    changes = config.get("epochs_changed", [])
    if changes and changes[-1].get("to") == pending["to"]:
        changes.pop()
    if not changes:
        config.pop("epochs_changed", None)
    run.write_config(config)
    run.update_status(epochs=pending["from"], epochs_pending=None)
    with open(run.log_path, "a", encoding="utf-8") as log:
        log.write(f"[{now()}] epochs: {pending['to']} -> {pending['from']} again: the resume was refused\n")

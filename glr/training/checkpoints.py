"""When a training phase writes its checkpoints: what it must, and no more.

A phase keeps two checkpoints in the run folder: `last` (the weights and optimizer to
resume from) and `best` (the weights with the lowest val_loss, which the phase ends with).
Writing them after every epoch costs a whole model file each time: on the demo a few
CPU-seconds of a 90-second run, and at GLDv2's 81k classes hundreds of MB per save. So
`Checkpoints` keeps the best weights in memory and writes the files at most every
`SAVE_INTERVAL` seconds, and always at a stop, at the phase's end and when training
ends with an error (`rescue`).

A loss that stops being a number (a learning rate too high) ends the phase at once, as Keras'
TerminateOnNaN does: `diverge` writes the last good weights (the best epoch's, or those the phase
started from) as the phase's end, never the NaN ones, and marks the state `diverged`, so a resume
finishes the run from them rather than training on NaN.

The trade-off: a SIGKILL or a power cut loses at most about `SAVE_INTERVAL` seconds of
training (plus the epoch in progress). `--resume` continues from the last written
checkpoint and trims the history rows written after it, so history stays continuous;
with no checkpoint yet, it starts the phase again from the first epoch.

In a cluster every worker runs this in step: the training loop agrees on every write
with one all-reduce (glr.training.loop), so all workers save after the same epochs and
none is left alone in a collective; only the chief's files land in the run folder.
"""

from __future__ import annotations

import time
import zipfile
from typing import Callable

from glr.errors import CheckpointError
from glr.training.status import now

SAVE_INTERVAL = 30.0  # seconds between checkpoint writes, at most (read when a phase starts)


class Checkpoints:
    """One phase's checkpoint policy: the early-stopping counter, the best weights, and when to write."""

    def __init__(self, run, phase: int, end: int, state: dict | None, save: Callable, interval: float | None = None,
                 clock: Callable[[], float] = time.monotonic, about: dict | None = None):
        self.run, self.phase, self.end, self.save, self.clock = run, phase, end, save, clock
        self.about = about or {}  # what the weights fit (backbone, input size, classes), recorded with them
        self.interval = SAVE_INTERVAL if interval is None else interval
        same = bool(state) and state.get("phase") == phase  # a resume of this phase: carry on its counters
        self.best = state.get("best_val_loss") if same else None
        self.wait = state.get("wait", 0) if same else 0
        self.epoch, self.partial = (state.get("epoch", 0), bool(state.get("partial"))) if same else (0, False)
        self.diverged = bool(state.get("diverged")) if same else False  # the phase ended at a loss that was no number
        # The best epoch's weights while best.keras is older than them: the model itself right
        # after `count`, else a copy in memory.
        self.best_weights, self.best_is_model = None, False
        self.written = clock()

    def due(self) -> bool:
        """Whether this worker would write now: the interval has passed since the last write."""
        return self.clock() - self.written >= self.interval

    def count(self, epoch: int, val_loss: float) -> int:
        """Count a finished epoch (numbered from 1); returns the epochs since the best one
        (early stopping's counter, kept as Keras' EarlyStopping keeps it)."""
        if self.best is None or val_loss < self.best:
            self.best, self.wait = val_loss, 0
            self.best_weights, self.best_is_model = None, True  # until the model trains on
        else:
            self.wait += 1
        self.epoch, self.partial = epoch, False
        return self.wait

    def keep(self, model, write: bool) -> None:
        """After `count`: write the checkpoints now, or keep the best weights in memory until the next write."""
        if write:
            self.write(model)
        elif self.best_is_model:
            self.best_weights, self.best_is_model = model.get_weights(), False  # copies: training goes on

    def stop(self, model, epochs_done: int) -> None:
        """Write the model mid-epoch as a partial checkpoint: resume redoes epoch `epochs_done + 1`
        from these weights, so history has no gap and no duplicate."""
        self.epoch, self.partial = epochs_done, True
        self.write(model)

    def rescue(self, model, epochs_done: int) -> None:
        """On an error: keep what was trained since the last write, if the disk lets us.

        The error that ended training is the one to report, so a failure here is not
        raised; the previous checkpoint is intact either way (every write is atomic).
        """
        if self.diverged:
            return  # the model's weights may be NaN now; the good ones are written already, or never were
        try:
            self.stop(model, epochs_done)
        except Exception:  # noqa: BLE001 - see the docstring
            pass

    def diverge(self, model, epochs_done: int, fallback: list | None = None) -> bool:
        """End the phase after a loss that is no number: the last good weights become its end; False if there are none.

        The good weights are the best epoch's (in memory, else best.keras on disk as it is), or, when no
        epoch of the phase was counted, `fallback` (the weights the phase started from, when they are a
        model worth keeping). `model` gets them when they were in memory. The state counts `epochs_done`
        (the diverged epoch too, so resume keeps its history row) and says `diverged`.
        """
        good = self.best_weights if self.best_weights is not None else fallback if self.best is None else None
        if self.best is None and good is None:
            return False
        self.epoch, self.partial, self.diverged = epochs_done, False, True
        if good is None:  # best.keras holds the best already, last.keras the last good write
            self.write_state()
            return True
        model.set_weights(good)
        self.best_weights, self.best_is_model = None, True
        self.write(model)
        return True

    def write(self, model) -> None:
        """Write best (if newer weights wait in memory), then last, then the state that describes them.

        Each model file carries that state inside it (glr.training.model.save_model): a kill between these
        writes leaves files that say which epoch they hold, and `reconcile` sets state.json right from them.
        """
        state = self.state()
        if self.best_is_model:
            self.save(model, self.run.best_checkpoint, state)
            self.best_is_model = False
        elif self.best_weights is not None:
            current = model.get_weights()
            model.set_weights(self.best_weights)
            try:
                self.save(model, self.run.best_checkpoint, state)
            finally:
                model.set_weights(current)
            self.best_weights = None
        self.save(model, self.run.last_checkpoint, state)
        self.write_state(state)

    def state(self) -> dict:
        """What the checkpoints hold once written now."""
        return {"phase": self.phase, "epoch": self.epoch, "end": self.end, "partial": self.partial,
                "best_val_loss": self.best, "wait": self.wait, "saved": now(),
                **({"diverged": True} if self.diverged else {}), **self.about}

    def write_state(self, state: dict | None = None) -> None:
        """Record what the checkpoints on disk hold."""
        self.run.write_checkpoint_state(state or self.state())
        self.written = self.clock()


def _reach(state: dict | None) -> tuple:
    """How far the training a checkpoint state records had gone: later phase, then epoch, then a partial one."""
    state = state or {}
    try:
        return int(state.get("phase") or 0), int(state.get("epoch") or 0), bool(state.get("partial"))
    except (TypeError, ValueError):
        return 0, 0, False


def ahead_of_state(run) -> dict | None:
    """The state last.keras carries when it is ahead of state.json (a kill between the two writes), else None."""
    from glr.training.model import saved_note

    last = saved_note(run.last_checkpoint)
    return last if last is not None and _reach(last) > _reach(_written_state(run)[0]) else None


def _written_state(run) -> tuple[dict | None, str | None]:
    """state.json as written, or (None, why it cannot be read) when it is damaged (cut short, zero bytes, not JSON)."""
    from glr.training.run import RunError

    try:
        return run.checkpoint_state(), None
    except RunError as exc:
        return None, str(exc)


def early_stopped(state: dict | None, patience: int) -> bool:
    """Whether early stopping ended the phase `state` records (the loop's rule: `patience` epochs without a better
    val_loss, never at the first): a resume trains no epoch past it (glr.training.loop.train_epochs)."""
    state = state or {}
    try:
        return int(state.get("epoch") or 0) > 1 and not state.get("partial") and int(state.get("wait") or 0) >= patience
    except (TypeError, ValueError):
        return False


def handed_over(run, state: dict | None, patience: int) -> bool:
    """Whether phase 1 is over and its best head went on to phase 2, though `state` still says phase 1.

    The trainer moves phase 1's best.keras onto last.keras as phase 2 begins; killed before phase 2's first
    checkpoint, state.json describes phase 1's end, last.keras holds its best head and best.keras is gone. Phase 1
    cannot be trained on from there: its last epoch's weights are no more.
    """
    from glr.training.model import saved_note

    state = state or {}
    if state.get("phase") != 1 or state.get("partial") or not run.last_checkpoint.exists():
        return False
    # A best.keras of phase 2 (killed while writing its first checkpoint, which `reconcile` removes) is no best of phase 1.
    if run.best_checkpoint.exists() and (saved_note(run.best_checkpoint) or {}).get("phase", 1) == 1:
        return False
    try:
        ended = int(state.get("epoch") or 0) >= int(state.get("end") or 0) > 0
    except (TypeError, ValueError):
        ended = False
    return ended or early_stopped(state, patience)


def reconcile(run) -> str | None:
    """Set state.json right after a kill between the writes of one checkpoint; what was done, or None.

    `Checkpoints.write` writes best.keras, last.keras, then state.json, each model file carrying the state it
    belongs to. Killed after last.keras was replaced, state.json still describes the checkpoint before: the weights
    of epoch N with the epoch count, best loss and early-stopping counter of N-1, and a resume would train epoch N
    again on them. The state inside last.keras is the pair that agrees, so it becomes state.json. Killed after
    best.keras alone was replaced, the best weights are of an epoch the resume trains again; they stay the best
    (they are: the best of more epochs), and state.json takes their val_loss, so that only a better epoch replaces
    them. A state.json that cannot be read (cut short, zero bytes, not JSON) is rebuilt from the state inside
    last.keras, said so; without one (a checkpoint of an older glr) it stays a RunError naming the file.
    Run under the training lock, before the resume reads the state.
    """
    state, said, drop_best = _reconciled(run)
    if not said:
        return None
    if drop_best:
        run.best_checkpoint.unlink(missing_ok=True)
    run.write_checkpoint_state(state)
    return "; ".join(said)


def reconciled_state(run) -> dict | None:
    """The checkpoint state a resume goes on from: state.json as `reconcile` would set it right, writing nothing.

    For the checks made before a resume starts (glr.training.resuming), and by whoever only asks whether it could.
    """
    return _reconciled(run)[0]


def _reconciled(run) -> tuple[dict | None, list[str], bool]:
    """`reconcile`'s findings: the state that agrees with the files, what it would say, and whether best.keras goes."""
    from glr.training.model import saved_note

    state, damage = _written_state(run)
    said, drop_best = [], False
    if damage:
        last = saved_note(run.last_checkpoint)
        if last is None:  # nothing else records where the weights are: refused, naming the file (checkpoint_problem)
            run.checkpoint_state()
        said.append(f"{damage}: recovered from {run.last_checkpoint.name}, which records its own state (phase "
                    f"{last.get('phase')}, epoch {last.get('epoch')}); resuming from there")
        state = last
    elif (last := ahead_of_state(run)) is not None:
        before = f"said epoch {state.get('epoch')}" if state else "was not written yet"
        said.append(f"{run.checkpoint_state_path.name} {before} but {run.last_checkpoint.name} holds epoch "
                    f"{last.get('epoch')} (the training was killed between writing the two): resuming from epoch "
                    f"{last.get('epoch')}, as {run.last_checkpoint.name} records")
        state = last
    best = saved_note(run.best_checkpoint)
    loss = (best or {}).get("best_val_loss")
    if state and best is not None and _reach(best) > _reach(state):
        if _reach(best)[0] != _reach(state)[0] or not isinstance(loss, (int, float)):
            # The next phase's first best (a whole classifier, not this phase's head): the resume redoes that phase.
            drop_best = True
            said.append(f"removed {run.best_checkpoint.name} of phase {best.get('phase')}, which the resume trains "
                        "again (the training was killed while saving it)")
        elif state.get("best_val_loss") is None or loss < state["best_val_loss"]:
            said.append(f"{run.best_checkpoint.name} holds the best weights of epoch {best.get('epoch')} (val_loss "
                        f"{loss:.4f}), written just before the training was killed: they stay the best until an "
                        "epoch does better")
            state = {**state, "best_val_loss": loss}
    return state, said, drop_best


def resume_model(run, load: Callable, about: dict, inputs: tuple, classes: int):
    """The last checkpoint, loaded to resume from, once it is known to fit the run as it is configured now.

    `about` is what the run's settings say the weights fit (as `Checkpoints` records it),
    `inputs` the shape of one example the model must take and `classes` its outputs.
    CheckpointError naming the file and the setting otherwise: a checkpoint of another
    backbone, size or class count would fail deep inside Keras, or train on in silence.
    """
    state, path = run.checkpoint_state() or {}, run.last_checkpoint
    cannot = f"run {run.id} cannot be resumed from {path.parent.name}/{path.name}"
    for key, value in about.items():
        if state.get(key) not in (None, value):
            raise CheckpointError(f"{cannot}: it was trained with {key} {state[key]!r}, and {run.config_path.name} "
                                  f"now says {value!r}; put that setting back, or start a new run")
    from glr.training.model import saved_backbone

    # As glr.training.model.check_backbone checks a finished run: the file's own description, which an older
    # state.json (recording no backbone) or a last.keras copied in from another run cannot contradict.
    if (found := saved_backbone(path)) not in (None, about.get("backbone", found)):
        raise CheckpointError(f"{cannot}: it is a {found} model, and {run.config_path.name} says "
                              f"{about['backbone']!r} (a checkpoint of another run?); delete {path.parent} to train "
                              "the run again from its first epoch, or start a new run")
    try:
        model = load(path)
    except CheckpointError as exc:
        raise CheckpointError(f"{cannot}: {exc}{other_keras(path)}; delete {path.parent} to train the run again from "
                              "its first epoch, or start a new run") from None
    took, gives = tuple(model.inputs[0].shape[1:]), model.outputs[0].shape[-1]
    if took != tuple(inputs) or gives != classes:
        raise CheckpointError(f"{cannot}: it takes inputs of shape {took} and scores {gives} classes, and the run "
                              f"needs {tuple(inputs)} and {classes} (a checkpoint of another run or backbone?); "
                              f"delete {path.parent} to train the run again from its first epoch, or start a new run")
    return model


def other_keras(path, doing: str = "resume it") -> str:
    """Words for a model file that Keras saved in another version than this machine's ("" for the same or unknown).

    A run resumed (or its model used: `doing`) on another machine, or after an upgrade, may fail to load for that
    alone: said, with the way back.
    """
    import json

    import keras

    try:
        with zipfile.ZipFile(path) as archive:  # Keras writes its version in every .keras file's metadata.json
            saved = json.loads(archive.read("metadata.json")).get("keras_version")
    except (OSError, KeyError, ValueError, AttributeError, zipfile.BadZipFile, EOFError, RuntimeError):
        return ""
    if not isinstance(saved, str) or saved == keras.__version__:
        return ""
    return (f" (it was saved by Keras {saved}, and this machine has Keras {keras.__version__}: {doing} where Keras "
            f"{saved} is installed, or install that version)")


def drop_half_written(run) -> str | None:
    """Delete the temporary model files that saves killed mid-write left in the run folder; what was freed, or None.

    glr.atomic writes a model to `.<name>.<random>.keras` beside it, then renames it into place, so a SIGKILL or a
    power cut mid-save leaves the old file whole and that temporary one for ever: hundreds of MB a checkpoint at
    GLDv2's 81k classes. Only a trainer saves models into a run folder, and it runs under the results folder's
    training lock: at its start no save of this run is under way, so each such file is a dead process's.
    """
    import os

    removed, freed = [], 0
    for path in (p for folder in (run.path, run.checkpoint_dir) for p in sorted(folder.glob(".*.keras.*.keras"))):
        try:
            size = path.stat().st_size
            path.unlink()
        except OSError:
            continue  # not ours to fail a training for: tried again at the next start
        removed.append(os.path.relpath(path, run.path))
        freed += size
    if not removed:
        return None
    names = ", ".join(removed[:3]) + (", ..." if len(removed) > 3 else "")
    many = f"{len(removed)} half-written model files" if len(removed) > 1 else "a half-written model file"
    return f"removed {many} that a save killed mid-write left ({names}; {freed / 2**20:.1f} MB)"


def checkpoint_problem(run) -> str | None:
    """Why a resume could not start from the run's last checkpoint (state.json or last.keras damaged or lost), or None.

    Cheap enough for every listing of the runs: it reads state.json and the end of last.keras' zip.
    """
    from glr.training.run import RunError

    from glr.training.model import saved_note

    try:
        state = run.checkpoint_state()
    except RunError as exc:
        if saved_note(run.last_checkpoint) is not None:
            return None  # last.keras records its state: a resume recovers state.json from it (reconcile)
        return f"{exc}; delete {run.checkpoint_dir} to train the run again from its first epoch"
    if state is None:
        return None  # no checkpoint yet: a resume starts from the first epoch
    path = run.last_checkpoint
    if not zipfile.is_zipfile(path):
        what = "not a .keras model file (damaged or incomplete?)" if path.exists() else "missing"
        return f"{path} is {what}; delete {run.checkpoint_dir} to train the run again from its first epoch"
    return None

"""The runs of a results folder at a glance: the list, which to show, which can predict, how far each has got.

Read on every app rerun, so it imports nothing heavy at import time (pandas only inside
the functions that build tables).
"""

from __future__ import annotations

import math
import os
from datetime import datetime
from pathlib import Path

from glr.errors import GlrError
from glr.paths import broken_link
from glr.training.checkpoints import checkpoint_problem
from glr.training.run import Run, RunError, as_run, runs_dir, setting
from glr.training.run_timing import PACE_AFTER, duration_text, elapsed, time_left  # noqa: F401 (re-exported)
from glr.training.status import ACTIVE_STATES

LIST_COLUMNS = ["run_id", "name", "state", "created", "backbone", "epochs_done", "model_top1", "best_val_accuracy",
                "message"]
# model_top1: the saved model's validation top-1 (its metrics.json), the figure every other page shows.
# best_val_accuracy: the best epoch's val_accuracy in the history, known while it trains; the two differ
# when the model kept is not that epoch's (fine-tuning changes it, or the evaluation's clean view scores otherwise).


def list_runs(results_dir: str | os.PathLike):
    """All runs under `<results>/runs/` as a DataFrame (LIST_COLUMNS), newest first.

    A damaged run (its status, config or history unreadable; a stopped or failed one's checkpoint) shows up with state "damaged"
    and its problem in `message`; it never hides the others.
    """
    import pandas as pd

    rows = []
    folders, links, unusable = run_folders(runs_dir(results_dir))
    for name, why in unusable:  # said where the runs are listed, not passed over: the user sees the name in the folder
        rows.append(dict.fromkeys(LIST_COLUMNS) | {"run_id": name, "name": "", "state": "damaged", "message": why})
    for folder in folders:
        run = Run(folder)
        status = run.status()
        row = {"run_id": run.id, "name": run.name() or "", "state": status["state"], "created": status.get("created"), "backbone": None,
               "epochs_done": None, "model_top1": None, "best_val_accuracy": None, "message": status.get("message") or ""}
        if aliases := links.get(folder.name):
            row["message"] = "; ".join(filter(None, [row["message"], "also linked here as " + ", ".join(
                repr(a) for a in aliases) + " (the same run, listed once)"]))
        if not row["created"]:
            try:
                row["created"] = datetime.fromtimestamp(folder.stat().st_mtime).astimezone().isoformat(timespec="seconds")
            except FileNotFoundError:
                continue  # deleted while we listed it (by another page or a shell): it is simply gone
        problems = []
        try:
            row["backbone"] = setting(run.config(), "backbone")
        except RunError as exc:
            problems.append(str(exc))
        try:
            history = run.history()
            row["epochs_done"] = len(history)
            if (note := divergence(history)) not in row["message"]:  # said, not a damage; once (the status says it too)
                row["message"] = "; ".join(filter(None, [row["message"], note]))
            acc = pd.to_numeric(history["val_accuracy"], errors="coerce").dropna()
            row["best_val_accuracy"] = float(acc.max()) if len(acc) else None
        except RunError as exc:
            problems.append(str(exc))
        try:
            top1 = (run.metrics() or {}).get("top1")
            if top1 is not None and (isinstance(top1, bool) or not isinstance(top1, (int, float))):
                raise RunError(f"{run.metrics_path} is damaged: its top1 is {str(top1)[:40]!r}, not a number")
            row["model_top1"] = None if top1 is None or not math.isfinite(top1) else float(top1)  # NaN: no photo scored
        except RunError as exc:
            problems.append(str(exc))
        if row["state"] in ("stopped", "failed") and (problem := checkpoint_problem(run)):
            problems.append(problem)  # a resume would fail on it: said before the user asks for one
        if problems:
            row["message"] = "; ".join([row["message"], *problems] if row["message"] else problems)
            if row["state"] not in ACTIVE_STATES:
                # A live trainer rewrites its files; a finished or dead run's damage stays.
                row["state"] = "damaged"
        rows.append(row)
    df = pd.DataFrame(rows, columns=LIST_COLUMNS)
    return df.sort_values(["created", "run_id"], ascending=False, ignore_index=True)


def missing_files(paths) -> list[str]:
    """The names of those of `paths`, a run's files, that are not there."""
    return [p.name for p in paths if not p.is_file()]


def not_finished(run: Run, missing: list[str]) -> str:
    """Why `run`, whose files `missing` are not there, cannot be used as a finished run."""
    state, files = run.status()["state"], " and ".join(missing)
    if state == "finished":  # said as "not a finished run (...; the run is finished)"
        return f"{run.path}: {files} missing from this finished run (deleted or moved?); put it back, or train again"
    return f"{run.path}: not a finished run ({files} missing; the run is {state})"


def run_folders(root: Path) -> tuple[list[Path], dict[str, list[str]], list[tuple[str, str]]]:
    """(the run folders under `root` to list, {a listed folder's name: the links to it}, [(a name, why no run is there)]).

    A link (`ln -s`) to a run listed already is another name for it, not a second run: it is said beside the run.
    A link to a run elsewhere is listed once, by its own name. A link whose target is gone (moved, a drive not
    mounted), and a runs folder that cannot be listed (another user's), are said, not passed over in silence.
    Real folders come first, so a run is listed under its own name.
    """
    try:
        entries = sorted((p for p in root.iterdir() if not p.name.startswith(".")), key=lambda p: (p.is_symlink(), p.name))
    except FileNotFoundError:  # no run yet
        return [], {}, []
    except OSError as exc:
        if not root.exists() or root.is_file():  # not made yet, or a file: the pages say so apart
            return [], {}, []
        return [], {}, [(root.name, f"the runs folder {root} cannot be listed ({exc.strerror or exc}): give your user "
                                    "permission to read it, or set GLR_RESULTS (or --results) to a results folder of your own")]
    folders, links, unusable, seen = [], {}, [], {}
    for entry in entries:
        if (shown := _shown_name(entry.name)) != entry.name:  # pages and tables cannot carry such a name
            unusable.append((shown, f"the folder name {shown!r} is not UTF-8 text (made on another system?), so it "
                                    f"cannot be shown: rename it, e.g. mv {root}/{_pattern(entry.name)} "
                                    f"{root}/{shown.replace(chr(0xfffd), '_')}"))
            continue
        real = entry.resolve() if entry.is_dir() else None  # is_dir is False for a loop of links, so resolve cannot loop
        if real is None:
            if why := broken_link(entry):
                unusable.append((entry.name, f"{entry.name} is {why}: no run to show; put the run folder back there, "
                                             f"or remove the link (rm {entry})"))
            continue  # a file (a README, a link to a file): no run
        if real in seen:
            links.setdefault(seen[real], []).append(entry.name)
            continue
        seen[real] = entry.name
        folders.append(entry)
    return folders, links, unusable


def _shown_name(name: str) -> str:
    """A folder name as text: the bytes that are not UTF-8 (held by Python as surrogates) as U+FFFD."""
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def _pattern(name: str) -> str:
    """A shell pattern matching a folder name that is not UTF-8: each byte that is not as `?`."""
    return "".join("?" if "\udc80" <= c <= "\udcff" else c for c in name)


def divergence(history) -> str:
    """Why a run's curves stop or are empty when its loss stopped being a number ("" when it did not).

    A learning rate too high makes the loss overflow to inf, then NaN. The trainer stops at the first such
    batch, or validation loss, keeping its last good weights (glr.training.loop); a run trained before
    that went on with NaN and may still have ended "finished". This is the one wording of it, for the
    status, the log, the run list, the curves and the report.
    """
    import numpy as np
    import pandas as pd

    if history is None or not len(history) or "loss" not in history or "loss" in history.attrs.get("absent", ()):
        return ""  # a file without a loss column (edited by hand) has nothing to say about one
    absent = history.attrs.get("absent", ())

    def numbers(column):  # a column the file lacks (glr.training.run fills it in, blank) holds no number
        values = history[column] if column in history else pd.Series(np.nan, index=history.index)
        return pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)

    losses = {column: numbers(column) for column in ("loss", "val_loss")}
    # A validation loss alone goes first when the epoch's last step broke the weights; it counts where the
    # validation ran (its accuracy is a number), not where a history has no validation loss column.
    val_broke = ~np.isfinite(losses["val_loss"]) & np.isfinite(numbers("val_accuracy"))
    if "val_loss" not in history or "val_loss" in absent:
        val_broke[:] = False
    bad = np.flatnonzero(~np.isfinite(losses["loss"]) | val_broke)
    if not len(bad):
        return ""
    at = int(bad[0])
    column = "loss" if not np.isfinite(losses["loss"][at]) else "val_loss"
    row = history.iloc[at]
    value = "NaN" if np.isnan(losses[column][at]) else "infinite"
    epoch = pd.to_numeric(pd.Series([row["epoch"]]), errors="coerce").iloc[0]
    epoch = int(epoch) if np.isfinite(epoch) and epoch == int(epoch) else row["epoch"]  # a hand-edited file: as written
    lr = pd.to_numeric(pd.Series([row.get("lr")]), errors="coerce").iloc[0]
    used = f" (this one used {lr:g})" if np.isfinite(lr) else ""
    what = "loss" if column == "loss" else "validation loss"
    return (f"the {what} became {value} at epoch {epoch}: the training diverged, so its curves stop there and "
            f"its model learned nothing after it; start a new run with a lower learning rate{used}")


def default_run(table) -> str | None:
    """The run a page shows first: the newest active one (queued, running, stopping), else the newest.

    `table` is `list_runs(...)` (newest first).
    """
    if table is None or table.empty:
        return None
    active = table[table["state"].isin(ACTIVE_STATES)]
    return str((active if not active.empty else table)["run_id"].iloc[0])


LATEST = "latest"  # the reference to the newest run, for the command line


def find_run(results_dir: str | os.PathLike, ref: str) -> Run:
    """A run by its folder, its id under `results_dir`, the name the user gave it, or "latest" (the newest run).

    RunError when nothing matches, when a name is shared by several runs (they are listed, by id), when `ref`
    is empty, or when it is a folder that is no run folder and no run's name: `runs --delete . --yes` deleted
    the current folder, whatever it held, and an empty RUN ("$RUN" unset) was the current folder too.
    """
    if not str(ref).strip():
        raise RunError("the run is empty: give a run id, its folder, its name or 'latest' (`python -m glr runs` lists them)")
    folder_given = Path(ref).is_dir()
    if folder_given and (Run(ref).config_path.is_file() or Run(ref).status_path.is_file()):
        return Run(ref)
    # Only a bare id names a folder under runs/: "../../x" reached any folder on disk, and `runs --delete` removed it.
    if not folder_given and _bare_id(ref) and (run := Run.of(results_dir, ref)).path.is_dir():
        return run
    table, folder = list_runs(results_dir), runs_dir(results_dir)
    if table.empty and not folder_given:
        raise RunError(f"no run {ref!r}: there is no run yet under {folder}")
    if ref == LATEST and not table.empty:
        return Run.of(results_dir, str(table["run_id"].iloc[0]))
    named = [] if table.empty else table.loc[table["name"] == " ".join(ref.split()), "run_id"].tolist()
    if len(named) > 1:
        raise RunError(f"{len(named)} runs are named {ref!r} ({', '.join(named)}): give one's id")
    if named:  # a run the user named ".." or "photos" is found by its name, as any other
        return Run.of(results_dir, named[0])
    if (folder_given or Path(ref).is_file()) and (owner := _run_holding(Path(ref))):  # `predict RUN/model.keras`
        raise RunError(f"{ref} is {'a folder' if folder_given else 'a file'} inside the run in {owner.path}: give that "
                       f"folder, or the run's id {owner.id!r}")
    if folder_given:
        raise RunError(f"{ref} is a folder but not a run folder (it holds no config.json or status.json); "
                       "give a run id, its folder, its name or 'latest' (`python -m glr runs` lists them)")
    raise RunError(f"no run {ref!r}: neither a folder, a run id, a run's name nor {LATEST!r} under {folder}; "
                   "`python -m glr runs` lists them")


def _run_holding(path: Path, levels: int = 3) -> Run | None:
    """The run whose folder holds `path` (its model, report or export), up to `levels` folders up, or None."""
    for folder in list(path.absolute().parents)[:levels]:
        if Run(folder).config_path.is_file():
            return Run(folder)
    return None


def _bare_id(ref: str) -> bool:
    """Whether `ref` can be a run's id: one name, no folder part, not "." or ".."."""
    return ref not in (".", "..") and not any(sep in ref for sep in ("/", "\\", os.sep))


def finished_runs(results: str | os.PathLike, table=None) -> list[str]:
    """Ids of the runs that have a final model, newest first: the ones that can predict (`table`: a list_runs already read)."""
    return [r for r in (list_runs(results) if table is None else table)["run_id"] if Run.of(results, r).has_model()]


def evaluated_runs(results: str | os.PathLike, table=None) -> list[str]:
    """Ids of the runs with something to show on the Results page (history or metrics), newest first (`table`: as above)."""
    return [r for r in (list_runs(results) if table is None else table)["run_id"] if Run.of(results, r).has_results()]


def shown_as(name: str | None, run_id: str) -> str:
    """How lists and selectors show a run: `name · id`, or the id alone without a name (Run.label)."""
    return f"{name} · {run_id}" if name else run_id


def run_labels(table) -> dict[str, str]:
    """run id -> how a selector shows it (`shown_as`), from a list_runs table."""
    return {r: shown_as(n, r) for r, n in zip(table["run_id"], table["name"])}


def progress_of(status: dict) -> tuple[float, str]:
    """The one progress bar of a run: its value in [0, 1] and its text, from the run's status.

    While epochs train (the stage counts batches), the bar spans the epochs: epochs done plus
    the current epoch's share of its batches, "epoch 20 of 40". Any other stage shows its own
    step/steps ("extracting features: 340/2400").
    """
    if status.get("state") == "finished":
        return 1.0, "finished"
    phase = str(status.get("phase") or status.get("state") or "waiting")
    try:
        step, steps = int(status.get("step")), int(status.get("steps"))
    except (TypeError, ValueError):
        return 0.0, phase
    if steps <= 0:
        return 0.0, phase
    within = min(max(step / steps, 0.0), 1.0)
    if status.get("unit") == "batch":
        try:
            done, epochs = int(status.get("epoch") or 0), int(status.get("epochs"))
        except (TypeError, ValueError):
            epochs = 0
        if epochs > 0:
            current = min(done + 1, epochs)
            return min((done + within) / epochs, 1.0), f"{phase}: epoch {current} of {epochs}"
    return within, f"{phase}: {step}/{steps}"


def check_run_for_prediction(run: Run | str | os.PathLike) -> None:
    """Raise GlrError naming what is missing if the run cannot predict (no model, labels or config)."""
    run = as_run(run)
    missing = run.missing_for_prediction()
    if missing:
        raise GlrError(f"run {run.id} cannot predict: {missing[0]} is missing (has it finished?)")


def model_stamp(run: Run | str | os.PathLike) -> float:
    """When the run's final model last changed (0 if absent): part of the predictor's cache key."""
    return as_run(run).model_stamp()


def labels_stamp(run: Run | str | os.PathLike) -> tuple[int, int]:
    """When the run's labels.json and config.json last changed (ns; 0 if absent): part of every cache key of its model.

    A class renamed in labels.json, or a setting changed in config.json, while the app serves the run is
    seen by the next load: the predictor and the heatmap model are keyed by it (pages/4_predict.py, glr.explain).
    """
    run = as_run(run)
    stamps = []
    for path in (run.labels_path, run.config_path):
        try:
            stamps.append(path.stat().st_mtime_ns)
        except OSError:
            stamps.append(0)
    return stamps[0], stamps[1]


def log_tail(path: str | os.PathLike, lines: int = 40, max_bytes: int = 64 * 1024) -> str:
    """The last `lines` lines of a text file such as a run's log ("" if it does not exist yet)."""
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


def no_metrics_note(status: dict, metrics_file: str = "metrics.json") -> str:
    """Why a run shows no scores, by its state: a failed or stopped run will not finish by itself, and a
    finished one without them lost the file (the Results page said "appears when the training finishes")."""
    state, message = status.get("state"), status.get("message") or ""
    why = f" ({message})" if message else ""
    if state == "damaged":
        return f"This run's files cannot be read{why}: its scores cannot be shown."
    if state in ("failed", "stopped"):
        verb = "failed" if state == "failed" else "was stopped"
        return f"This run {verb} before it was evaluated{why}: resume it on the Train page to get its scores."
    if state == "finished":
        return (f"This run finished but its {metrics_file} is missing (deleted?): its scores cannot be shown. "
                "Train a new run to get them.")
    return f"Not evaluated yet: {metrics_file} appears when the training finishes."

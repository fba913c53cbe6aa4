"""The run folder `<results>/runs/<run_id>/` and the one object that reads and writes it.

The folder is the whole truth about a training run (results/README.md lists its files):
the trainer writes it as it goes; the app, the CLI, the predictor, the index and the report
only read it. `Run` is the only code that knows the files' names and formats: everything
else asks it (`run.config()`, `run.history()`, `run.labels()`, `run.model_path`, ...).
Every file is written atomically (glr.atomic), so a crash never leaves half of one.

The app and the CLI never talk to a trainer: they read its status and history, and ask it
to stop with a flag file (`Run` has these methods from glr.training.status). Read on every
app rerun, so importing this module imports nothing heavy: pandas is imported by the
methods that build tables.
"""

from __future__ import annotations

import math
import os
import re
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from glr import spreadsheet
from glr.atomic import read_json, write_csv, write_json, write_text
from glr.errors import GlrError
from glr.training.history_file import read_history
from glr.training.run_results import RunResults
from glr.training.status import STATUS_FIELDS, RunStatus, keep_queued, now, queued_by

if TYPE_CHECKING:
    import pandas as pd

    from glr.training.config import TrainConfig
    from glr.training.settings import RunSettings

RUNS_SUBDIR = "runs"
NAME_MAX = 80  # a run's display name, in characters: it labels selectors and tables
LABELS_FILE = "labels.json"  # named in messages about a model's classes

HISTORY_COLUMNS = ["phase", "epoch", "loss", "accuracy", "val_loss", "val_accuracy", "val_top5", "lr", "seconds"]


class RunError(GlrError):
    """A run folder cannot be read, or a run cannot be started, stopped or deleted."""


def setting(config: dict | None, key: str) -> Any:
    """A training setting from a run's config dict, flat or nested under "train" (as the trainer writes it)."""
    config = config if isinstance(config, dict) else {}
    nested = config.get("train") if isinstance(config.get("train"), dict) else {}
    return config.get(key, nested.get(key))


def runs_dir(results_dir: str | os.PathLike) -> Path:
    """The folder holding a results folder's runs."""
    return Path(results_dir) / RUNS_SUBDIR


def new_run_id(results_dir: str | os.PathLike, config: dict | None = None) -> str:
    """A free run id such as `20261127-143501-efficientnet_lite0` (`-2`, `-3`... appended if taken)."""
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "_", str(setting(config, "backbone") or "run")).strip("_.") or "run"
    base = f"{time.strftime('%Y%m%d-%H%M%S')}-{slug}"
    run_id, n = base, 1
    while (runs_dir(results_dir) / run_id).exists():
        n += 1
        run_id = f"{base}-{n}"
    return run_id


def labels_frame(labels) -> "pd.DataFrame":
    """The labels as a DataFrame (index, landmark_id, name, ...) in class-index order.

    Accepts a DataFrame or the list of dicts a run stores. GlrError unless the class indices
    are 0, 1, ..., n-1.
    """
    import numpy as np
    import pandas as pd

    df = labels.copy() if isinstance(labels, pd.DataFrame) else pd.DataFrame(list(labels))
    missing = {"index", "landmark_id", "name"} - set(df.columns)
    if missing:
        raise GlrError(f"labels need the columns index, landmark_id and name; missing {', '.join(sorted(missing))}")
    df = df.sort_values("index").reset_index(drop=True)
    if not np.array_equal(df["index"].to_numpy(), np.arange(len(df))):
        raise GlrError("labels: class indices must be 0, 1, ..., n-1 without gaps or repeats")
    return df.assign(name=class_names(df))  # every reader (Results, openset, the report) gets text, never "nan"


def class_names(labels) -> list[str]:
    """Each class's name as the predictor shows it, in labels order: labels.json's name, or "landmark <id>".

    A name that is not text (null, missing, a number) or blank would show as "nan" or "None"; it gets the
    words glr.data gives a landmark without a category.
    """
    return [name if isinstance(name, str) and name.strip() else f"landmark {int(landmark_id)}"
            for landmark_id, name in zip(labels["landmark_id"], labels["name"])]


class Run(RunStatus, RunResults):
    """One run folder: its files' paths, typed readers and atomic writers, its status and its stop flag.

    Its evaluation and index files are read and written by the methods of RunResults (glr.training.run_results).
    """

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path).absolute()

    def __repr__(self) -> str:
        return f"Run({str(self.path)!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Run) and other.path == self.path

    def __hash__(self) -> int:
        return hash(self.path)

    @property
    def id(self) -> str:
        """The run id: the folder's name."""
        return self.path.name

    # The layout of the folder, here and nowhere else.
    results_dir = property(lambda self: self.path.parent.parent, doc="The results folder holding runs/.")
    config_path = property(lambda self: self.path / "config.json")
    status_path = property(lambda self: self.path / "status.json")
    history_path = property(lambda self: self.path / "history.csv")
    labels_path = property(lambda self: self.path / LABELS_FILE)
    split_path = property(lambda self: self.path / "split.csv")
    checkpoint_dir = property(lambda self: self.path / "checkpoints")
    last_checkpoint = property(lambda self: self.checkpoint_dir / "last.keras")
    best_checkpoint = property(lambda self: self.checkpoint_dir / "best.keras")
    checkpoint_state_path = property(lambda self: self.checkpoint_dir / "state.json")
    model_path = property(lambda self: self.path / "model.keras")
    metrics_path = property(lambda self: self.path / "metrics.json")
    per_class_path = property(lambda self: self.path / "per_class.csv")
    confusion_path = property(lambda self: self.path / "confusion.csv")
    predictions_path = property(lambda self: self.path / "val_predictions.csv")
    index_dir = property(lambda self: self.path / "index")
    retrieval_path = property(lambda self: self.path / "retrieval.json")
    distractors_path = property(lambda self: self.path / "distractors.csv")
    val_retrieval_path = property(lambda self: self.path / "val_retrieval.csv")
    report_dir = property(lambda self: self.path / "report")
    export_dir = property(lambda self: self.path / "export", doc="Where `python -m glr export` writes, one folder per format.")
    log_path = property(lambda self: self.path / "train.log")
    name_path = property(lambda self: self.path / "name.txt")
    stop_path = property(lambda self: self.path / "STOP")

    def file(self, name: str) -> Path:
        """The path of `name` inside the run folder."""
        return self.path / name

    # -- finding and making runs ----------------------------------------------------------
    @classmethod
    def create(cls, results_dir: str | os.PathLike, config: dict, run_id: str | None = None) -> "Run":
        """Make a new run folder with its config and a "queued" status.

        Without `run_id` a fresh one is chosen; an explicit `run_id` that exists is an error.
        """
        runs = runs_dir(results_dir)
        runs.mkdir(parents=True, exist_ok=True)
        while True:
            chosen = run_id or new_run_id(results_dir, config)
            try:
                (runs / chosen).mkdir()  # exclusive: two creators never share a folder
                break
            except FileExistsError:
                if run_id:
                    raise RunError(f"a run named {run_id} already exists in {runs}") from None
        run = cls(runs / chosen)
        run.write_config(config)
        status = dict.fromkeys(STATUS_FIELDS)
        status.update(state="queued", run_id=run.id, epoch=0, epochs=setting(config, "epochs"), step=0,
                      created=now(), updated=now(), message="", **queued_by())
        write_json(run.status_path, status)
        keep_queued(run.status_path)  # beaten until its trainer starts: another computer sees the queuer live
        return run

    @classmethod
    def open(cls, path: str | os.PathLike) -> "Run":
        """The run folder at `path`; RunError if there is no such folder."""
        run = cls(path)
        if not run.path.is_dir():
            raise RunError(f"no run folder at {run.path}")
        return run

    @classmethod
    def of(cls, results_dir: str | os.PathLike, run_id: str) -> "Run":
        """The run `run_id` of a results folder (it may not exist)."""
        return cls(runs_dir(results_dir) / run_id)

    # -- reading and writing files --------------------------------------------------------
    def gone(self) -> str:
        """The message for a run folder deleted while something still writes to it ("" while it is there)."""
        if self.path.is_dir():
            return ""
        return f"the run folder {self.path} is gone (deleted while it trained?); nothing more is written to it"

    def write_file(self, writer, path: Path, *data) -> None:
        """`writer(path, *data)` (an atomic writer, glr.atomic); RunError if the run folder is gone.

        The writer would make the folder again, holding that one file: a half run that lists as damaged.
        """
        if gone := self.gone():
            raise RunError(gone)
        writer(path, *data)

    def _json(self, path: Path) -> Any:
        """A JSON file of the run; None if absent; RunError naming it if damaged."""
        try:
            return read_json(path)
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            raise RunError(f"{path} is damaged: {exc}") from None

    def _csv(self, path: Path, **read_options):
        """A CSV file of the run as a DataFrame; None if absent; RunError naming it if damaged."""
        import pandas as pd

        if not path.is_file():
            return None
        try:
            return spreadsheet.read_csv(path, **read_options)  # its cells as they were written
        except (OSError, ValueError, pd.errors.ParserError) as exc:  # EmptyDataError is a ValueError
            raise RunError(f"{path} is damaged: {exc}") from None

    # -- configuration --------------------------------------------------------------------
    def config(self) -> dict:
        """The run's configuration (train settings, dataset, versions); RunError naming the file if missing or damaged."""
        config = self._json(self.config_path)
        if config is None:
            raise RunError(f"run {self.id} has no {self.config_path.name} ({self.config_path})")
        if not isinstance(config, dict):
            raise RunError(f"{self.config_path} is damaged: not a JSON object")
        return config

    def write_config(self, config: dict) -> None:
        """Replace the run's configuration."""
        self.write_file(write_json, self.config_path, config)

    def add_data_problem(self, problem: str) -> None:
        """Keep a problem with the data met while training beside the dataset's own, for the report (once: a resume meets it again)."""
        config = self.config()
        dataset = config.setdefault("dataset", {})
        if problem in dataset.get("problems", []):
            return
        dataset["problems"] = [*dataset.get("problems", []), problem]
        self.write_config(config)

    def data_problems(self) -> list[str]:
        """The dataset's problems this run met (skipped files, dropped classes, images that would not decode)."""
        try:
            dataset = self._json(self.config_path)
        except RunError:  # a damaged config.json is said where the run is listed; its problems are not known
            return []
        dataset = dataset.get("dataset") if isinstance(dataset, dict) else None
        problems = dataset.get("problems") if isinstance(dataset, dict) else None
        return [str(p) for p in problems] if isinstance(problems, list) else []

    def train_section(self) -> dict:
        """The `train` section of the configuration as stored; RunError if it has none."""
        train = self.config().get("train")
        if not isinstance(train, dict):
            raise RunError(f"{self.config_path} is damaged: it has no training settings")
        return train

    def train_config(self) -> "TrainConfig":
        """The validated TrainConfig the run trains with."""
        from glr.training.config import TrainConfig

        return TrainConfig.from_dict(self.train_section())

    def settings(self) -> "RunSettings":
        """Its derived settings (backbone, input size, feature cache, fine-tuned), see glr.training.settings."""
        from glr.training.settings import resolve

        train = self.train_section()
        size = train.get("input_size")
        if size is not None and not _whole_pixels(size):  # json reads NaN and Infinity, and int(inf) would crash
            raise RunError(f"{self.config_path} is damaged: its input_size is {size!r}, not a whole number of pixels")
        return resolve(train)

    def dataset_root(self) -> str | None:
        """The dataset folder the run was trained on, or None if unknown."""
        try:
            config = self.config()
        except RunError:
            return None
        root = (config.get("dataset") or {}).get("root") or (config.get("train") or {}).get("data")
        return str(root) if root else None

    # -- history and checkpoints ----------------------------------------------------------
    def history(self) -> "pd.DataFrame":
        """One row per epoch (HISTORY_COLUMNS first); empty if absent; RunError if damaged."""
        import pandas as pd

        if not self.history_path.exists():
            return pd.DataFrame(columns=HISTORY_COLUMNS)
        try:
            df = read_history(self.history_path)  # as glr wrote it, or as a spreadsheet saved it again
        except (OSError, ValueError, pd.errors.ParserError) as exc:  # EmptyDataError is a ValueError
            raise RunError(f"{self.history_path} is damaged: {exc}") from None
        full = df.reindex(columns=HISTORY_COLUMNS + [c for c in df.columns if c not in HISTORY_COLUMNS])
        full.attrs["absent"] = [c for c in HISTORY_COLUMNS if c not in df.columns]  # blank here, not NaN in the file
        return full

    def append_history(self, row: dict) -> None:
        """Add one epoch's row (the small file is rewritten atomically); columns added to the file by hand are kept."""
        import pandas as pd

        history = self.history()
        history = pd.concat([history, pd.DataFrame([row])], ignore_index=True)[list(history.columns)]
        self.write_file(write_csv, self.history_path, history)

    def trim_history(self, epochs_done: int) -> None:
        """Drop rows past epoch `epochs_done` (written before a crash, after the last checkpoint)."""
        history = self.history()
        if len(history) and history["epoch"].max() > epochs_done:
            self.write_file(write_csv, self.history_path, history[history["epoch"] <= epochs_done])

    def checkpoint_state(self) -> dict | None:
        """What the last checkpoint holds (phase, epoch, best val_loss, ...), or None without one."""
        return self._json(self.checkpoint_state_path)

    def write_checkpoint_state(self, state: dict) -> None:
        """Record what the checkpoints just saved hold."""
        self.write_file(write_json, self.checkpoint_state_path, state)

    # -- the data the run trained on ------------------------------------------------------
    def labels(self) -> "pd.DataFrame | None":
        """Class index -> landmark_id, name, images (in index order), or None before the data is read."""
        records = self._json(self.labels_path)
        try:
            return None if records is None else labels_frame(records)
        except (GlrError, TypeError, ValueError) as exc:
            raise RunError(f"{self.labels_path} is damaged: {exc}") from None

    def write_labels(self, labels: "pd.DataFrame") -> None:
        """Store the classes: index, landmark_id, name, images."""
        self.write_file(write_json, self.labels_path, labels[["index", "landmark_id", "name", "images"]].to_dict("records"))

    def split(self) -> "pd.DataFrame | None":
        """Which image went to training or validation (id, landmark_id, split), or None."""
        return self._csv(self.split_path, dtype={"id": str})

    def write_split(self, table: "pd.DataFrame") -> None:
        """Store the split table."""
        self.write_file(spreadsheet.write_csv, self.split_path, table)

    # -- its display name -----------------------------------------------------------------
    def name(self) -> str | None:
        """The name the user gave the run, or None (then it is shown by its id)."""
        try:
            text = self.name_path.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError):
            return None
        return text[:NAME_MAX] or None

    def label(self) -> str:
        """How lists and selectors show the run: `name · id`, or the id alone without a name."""
        from glr.training.run_table import shown_as

        return shown_as(self.name(), self.id)

    def set_name(self, name: str | None) -> str | None:
        """Give the run a display name (None or blank removes it); returns the name stored.

        RunError for a run folder that does not exist or a name longer than NAME_MAX characters.
        The id (the folder's name) never changes: scripts and the CLI keep finding the run by it.
        """
        if not self.path.is_dir():
            raise RunError(f"no run folder at {self.path}")
        name = " ".join(str(name or "").split())  # one line: no newlines or runs of spaces
        if len(name) > NAME_MAX:
            raise RunError(f"a run name has at most {NAME_MAX} characters, not {len(name)}")
        if not name:
            self.name_path.unlink(missing_ok=True)
            return None
        write_text(self.name_path, name + "\n")
        return name

    # -- at a glance ----------------------------------------------------------------------
    def has_model(self) -> bool:
        """Whether the run has its final model, so it can predict."""
        return self.model_path.is_file()

    def has_results(self) -> bool:
        """Whether the run has something to show: a history or metrics."""
        return self.history_path.is_file() or self.metrics_path.is_file()

    def missing_for_prediction(self) -> list[str]:
        """The names of the files a prediction needs that the run lacks."""
        return [p.name for p in (self.model_path, self.labels_path, self.config_path) if not p.is_file()]

    def model_stamp(self) -> float:
        """When the final model last changed (0 if absent): part of the app's predictor cache key."""
        return _mtime(self.model_path)

    def index_stamp(self) -> float:
        """When the similarity index was last completed (0 if absent): part of the app's cache keys."""
        return _mtime(self.retrieval_path)


def _whole_pixels(size: Any) -> bool:
    """Whether a stored input size is a positive whole number (an int, or a float such as 224.0)."""
    return (isinstance(size, (int, float)) and not isinstance(size, bool) and math.isfinite(size)
            and size == int(size) and size >= 1)


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


def as_run(run: "Run | str | os.PathLike") -> Run:
    """`run` itself, or the run folder at a path: for functions that take either."""
    return run if isinstance(run, Run) else Run(run)

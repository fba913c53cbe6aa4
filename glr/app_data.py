"""What the Streamlit pages need beyond training and evaluation: choices, tables, galleries, files.

The app's pages only lay out widgets; the little logic they need lives here, as plain
functions that take paths and DataFrames and return values, so it is tested without a
browser. Nothing here imports streamlit, and nothing imports TensorFlow at import time.

- where things are: `results_dir`, `default_dataset`, `demo_ready`, the recent datasets list;
- runs: the run to show by default, the finished runs, a progress bar's value and text,
  the config a launched run gets, a comparison table of several runs' metrics;
- a dataset: the curated split per class, a gallery page of classes with example images,
  thumbnails, image-size statistics;
- results: the misclassified validation images, the report as a zip;
- predictions: example training images of each class, whether a run can predict.

Uploads (single photos or zips, read safely in memory) live in `glr.uploads`.
"""

from __future__ import annotations

import io
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from glr import runs
from glr.atomic import read_json, write_json
from glr.errors import GlrError, ImageError
from glr.paths import PROJECT_ROOT, cache_dir, demo_dir

RESULTS_ENV = "GLR_RESULTS"  # overrides the results folder (tests point it at a temp dir)
DATA_ENV = "GLR_DATA"  # overrides the default dataset (the embedded demo)
RECENT_FILE = "recent_datasets.json"  # under glr.paths.cache_dir()
RECENT_LIMIT = 8

THUMBNAIL_PX = 160
SIZE_SAMPLE = 200  # image headers read for the size statistics
EXAMPLES_PER_CLASS = 4


# --------------------------------------------------------------------------- where things are


def results_dir() -> Path:
    """The results folder holding `runs/`: `$GLR_RESULTS`, else `results/` in the checkout."""
    env = os.environ.get(RESULTS_ENV)
    return Path(env).expanduser().absolute() if env else PROJECT_ROOT / "results"


def default_dataset() -> str | None:
    """The dataset the app starts with: `$GLR_DATA`, else None (the embedded demo)."""
    return os.environ.get(DATA_ENV) or None


def demo_ready() -> bool:
    """Whether the embedded demo dataset is generated and complete (generating it takes a minute)."""
    from glr import demo

    return demo.is_ready(demo_dir())


def dataset_label(path: str | None) -> str:
    """How the app names a dataset choice: "the demo dataset" for None, else the path."""
    return "the demo dataset" if not path else str(path)


def dataset_stamp(path: str | os.PathLike | None) -> float:
    """A number that changes when the dataset at `path` (None: the demo) is rewritten.

    The latest modification time of the folder and its `train.csv` (0 if absent): a cache
    keyed on it reloads a dataset that was regenerated or edited.
    """
    root = Path(path).expanduser() if path else demo_dir()
    stamps = []
    for candidate in (root, root / "train.csv", root / ".complete"):
        try:
            stamps.append(candidate.stat().st_mtime)
        except OSError:
            pass
    return max(stamps, default=0.0)


def _recent_path() -> Path:
    return cache_dir() / RECENT_FILE


def recent_datasets(limit: int = RECENT_LIMIT) -> list[str]:
    """Dataset paths used before, most recent first; a missing or damaged file gives []."""
    try:
        data = read_json(_recent_path())
    except (OSError, ValueError):
        return []
    if not isinstance(data, list):
        return []
    return [p for p in data if isinstance(p, str) and p][:limit]


def remember_dataset(path: str | os.PathLike, limit: int = RECENT_LIMIT) -> list[str]:
    """Put `path` first in the recent datasets (without duplicates, at most `limit`); return the list.

    The list is a convenience: a folder that cannot be written to leaves it unchanged.
    """
    text = str(path).strip()
    items = [text] + [p for p in recent_datasets(limit) if p != text]
    items = items[:limit]
    try:
        write_json(_recent_path(), items)
    except OSError:
        pass
    return items


# --------------------------------------------------------------------------- runs


def launch_config(config) -> dict:
    """The config.json of a new run launched from the app, as `glr.train.new_run` writes it.

    `config` is a validated `TrainConfig`. Recording the library versions imports
    TensorFlow (a few seconds), once per process.
    """
    from glr.train import library_versions, now

    return {"train": config.validate().to_dict(), "versions": library_versions(), "created": now()}


def default_run(table: pd.DataFrame) -> str | None:
    """The run a page shows first: the newest active one (queued, running, stopping), else the newest.

    `table` is `glr.runs.list_runs(...)` (newest first).
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


def metrics_table(run_dirs: Sequence[str | os.PathLike]) -> pd.DataFrame:
    """One row per run: run_id, backbone, input size, epochs done, top-1, top-5, GAP (blank if not evaluated)."""
    from glr import metrics

    rows = []
    for path in run_dirs:
        run = runs.Run(path)
        try:
            train = run.config().get("train", {})
        except runs.RunError:
            train = {}
        try:
            epochs = len(run.history())
        except runs.RunError:
            epochs = None
        try:
            scores = metrics.load_metrics(run.path) or {}
        except (OSError, ValueError):
            scores = {}
        rows.append({"run_id": run.id, "state": run.status()["state"], "backbone": train.get("backbone"),
                     "input_size": train.get("input_size"), "epochs_done": epochs,
                     "top1": scores.get("top1"), "top5": scores.get("top5"), "gap": scores.get("gap")})
    return pd.DataFrame(rows, columns=["run_id", "state", "backbone", "input_size", "epochs_done", "top1", "top5", "gap"])


def histories(run_dirs: Sequence[str | os.PathLike]) -> tuple[dict[str, pd.DataFrame], list[str]]:
    """{run_id: history} for `glr.plots.history_figure`, and a message for each damaged history."""
    found, problems = {}, []
    for path in run_dirs:
        run = runs.Run(path)
        try:
            found[run.id] = run.history()
        except runs.RunError as exc:
            problems.append(str(exc))
    return found, problems


# --------------------------------------------------------------------------- datasets


def split_table(split) -> pd.DataFrame:
    """The curated classes with their train and validation counts: index, landmark_id, name, images, train, val."""
    table = split.labels[["index", "landmark_id", "name", "images"]].copy()
    for side, df in (("train", split.train), ("val", split.val)):
        counts = df["landmark_id"].value_counts()
        table[side] = table["landmark_id"].map(counts).fillna(0).astype(int)
    return table


@dataclass
class GalleryPage:
    """One page of the class gallery: `classes` has landmark_id, name, images and examples (a list of paths)."""

    classes: pd.DataFrame
    page: int  # 1-based, clamped to the pages there are
    pages: int
    matches: int  # classes matching the search


def gallery_page(catalog_df: pd.DataFrame, query: str = "", page: int = 1, per_page: int = 6,
                 per_class: int = EXAMPLES_PER_CLASS) -> GalleryPage:
    """Classes whose name (or landmark_id) contains `query`, largest first, `per_page` at a time.

    Each class comes with its first `per_class` image paths (sorted by id, so the same every
    time). A page number out of range is clamped; no match gives an empty page.
    """
    per_page, per_class = max(1, int(per_page)), max(1, int(per_class))
    counts = catalog_df.groupby("landmark_id", sort=False).agg(name=("name", "first"), images=("id", "size")).reset_index()
    query = (query or "").strip().lower()
    if query:
        hit = counts["name"].astype(str).str.lower().str.contains(query, regex=False) | \
            counts["landmark_id"].astype(str).str.contains(query, regex=False)
        counts = counts[hit]
    counts = counts.sort_values(["images", "landmark_id"], ascending=[False, True])
    pages = max(1, -(-len(counts) // per_page))
    page = min(max(1, int(page)), pages)
    shown = counts.iloc[(page - 1) * per_page: page * per_page].reset_index(drop=True)
    chosen = catalog_df[catalog_df["landmark_id"].isin(shown["landmark_id"])].sort_values("id")
    examples = chosen.groupby("landmark_id")["path"].apply(lambda s: list(s.iloc[:per_class]))
    shown["examples"] = shown["landmark_id"].map(examples).apply(lambda x: x if isinstance(x, list) else [])
    return GalleryPage(classes=shown, page=page, pages=pages, matches=len(counts))


def thumbnail(path, size: int = THUMBNAIL_PX) -> np.ndarray | None:
    """A `size` x `size` centre crop of an image (a path, bytes or file-like; RGB uint8), or None if it cannot be decoded."""
    from PIL import Image, ImageOps

    from glr.images import decode_image

    try:
        arr = decode_image(path, draft_size=size)
    except ImageError:
        return None
    return np.asarray(ImageOps.fit(Image.fromarray(arr), (size, size)), dtype=np.uint8)


def image_size_stats(paths: Sequence[str], sample: int = SIZE_SAMPLE, seed: int = 0) -> dict:
    """Width and height of a random sample of images, read from their headers only.

    Returns {"sampled", "unreadable", "sizes": DataFrame(width, height), "summary":
    DataFrame(min, median, max per dimension), "common": DataFrame(size, images) of the most
    frequent sizes}.
    """
    from glr.images import image_size

    paths = list(paths)
    if len(paths) > sample:
        picked = np.random.default_rng(seed).choice(len(paths), size=sample, replace=False)
        paths = [paths[i] for i in sorted(picked)]
    sizes = [image_size(p) for p in paths]
    ok = [s for s in sizes if s]
    df = pd.DataFrame(ok, columns=["width", "height"])
    summary = pd.DataFrame(
        {"min": df.min(), "median": df.median(), "max": df.max()} if len(df) else
        {"min": [], "median": [], "max": []}
    )
    common = (df.assign(size=df["width"].astype(str) + " x " + df["height"].astype(str))["size"]
              .value_counts().head(10).rename_axis("size").reset_index(name="images")) if len(df) else \
        pd.DataFrame(columns=["size", "images"])
    return {"sampled": len(paths), "unreadable": len(sizes) - len(ok), "sizes": df, "summary": summary,
            "common": common}


# --------------------------------------------------------------------------- results


def misclassified(predictions: pd.DataFrame | None, limit: int = 24, true_name: str | None = None) -> pd.DataFrame:
    """The wrong validation predictions, most confident first (at most `limit`), optionally of one true class."""
    if predictions is None or predictions.empty or "correct" not in predictions:
        return pd.DataFrame(columns=list(predictions.columns) if predictions is not None else [])
    correct = predictions["correct"]
    if correct.dtype != bool:
        correct = correct.astype(str).str.strip().str.lower().isin(["true", "1", "yes"])
    wrong = predictions[~correct]
    if true_name:
        wrong = wrong[wrong["true_name"] == true_name]
    return wrong.sort_values(["confidence", "id"], ascending=[False, True]).head(limit).reset_index(drop=True)


def report_zip(run_dir: str | os.PathLike) -> bytes | None:
    """The run's `report/` folder as zip bytes (paths inside start with `<run_id>/report/`); None if absent."""
    run_dir = Path(run_dir)
    report = run_dir / "report"
    files = sorted(p for p in report.rglob("*") if p.is_file() and not p.name.startswith(".")) if report.is_dir() else []
    if not files:
        return None
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for path in files:
            zf.write(path, arcname=f"{run_dir.name}/report/{path.relative_to(report).as_posix()}")
    return buffer.getvalue()


# --------------------------------------------------------------------------- predictions


def run_dataset_root(run_dir: str | os.PathLike) -> str | None:
    """The dataset folder a run was trained on (config.json's dataset.root), or None if unknown."""
    try:
        config = runs.Run(run_dir).config()
    except runs.RunError:
        return None
    root = (config.get("dataset") or {}).get("root") or (config.get("train") or {}).get("data")
    return str(root) if root else None


def example_paths(run_dir: str | os.PathLike, catalog_df: pd.DataFrame | None = None,
                  per_class: int = EXAMPLES_PER_CLASS) -> dict[int, list[str]]:
    """landmark_id -> up to `per_class` paths of images of that class, to show next to a prediction.

    Training images from the run's split.csv, located through `catalog_df` (the catalog of
    the run's dataset); without a catalog, or for classes it misses, the run's validation
    images (val_predictions.csv). Only files that exist are returned.
    """
    run_dir = Path(run_dir)
    found: dict[int, list[str]] = {}
    split_path = run_dir / "split.csv"
    if catalog_df is not None and split_path.is_file():
        try:
            split = pd.read_csv(split_path, dtype={"id": str})
            train = split[split["split"] == "train"].sort_values("id")
            paths = catalog_df.drop_duplicates("id").set_index("id")["path"]
            train = train.assign(path=train["id"].map(paths)).dropna(subset=["path"])
            for landmark_id, group in train.groupby("landmark_id"):
                found[int(landmark_id)] = [p for p in group["path"] if os.path.isfile(p)][:per_class]
        except (OSError, ValueError, KeyError, pd.errors.ParserError):
            found = {}
    predictions = run_dir / "val_predictions.csv"
    if predictions.is_file():
        try:
            val = pd.read_csv(predictions, dtype={"id": str, "path": str}).sort_values("id")
            for landmark_id, group in val.groupby("true_landmark_id"):
                have = found.setdefault(int(landmark_id), [])
                for p in group["path"]:
                    if len(have) >= per_class:
                        break
                    if p not in have and os.path.isfile(p):
                        have.append(p)
        except (OSError, ValueError, KeyError, pd.errors.ParserError):
            pass
    return {k: v for k, v in found.items() if v}


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

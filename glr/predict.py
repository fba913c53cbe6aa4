"""The predictor: a finished run -> top-k (landmark_id, name, probability) for any photos.

The model is loaded once (with safe_mode) and its forward pass is traced once as a
`tf.function` with a fixed input signature, so every later call reuses the same graph.
Measured here, an eager call is about 6x slower and `model.predict` per image about 2x.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Sequence

import numpy as np
import pandas as pd

from glr.atomic import write_csv
from glr.data.datasets import IMAGE_EXTENSIONS
from glr.data.images import load_resized
from glr.data.pipeline import load_size
from glr.errors import GlrError, ImageError
from glr.retrieval.run_index import Recognizer
from glr.training.model import load_model, split_classifier
from glr.training.run import Run, RunError, as_run

DEFAULT_TOP_K = 5
BATCH_SIZE = 16
# "auto" (the default) runs ONNX Runtime, 2.7x faster per photo here (benchmarks/README.md),
# and falls back to TensorFlow when the model cannot be converted; "tf" and "onnx" force one.
BACKENDS = ("auto", "tf", "onnx")


@dataclass
class Prediction:
    """The outcome for one image: its top-k, or the error that kept it from being read."""

    source: str
    top: list[tuple[int, str, float]] = field(default_factory=list)  # (landmark_id, name, confidence)
    error: str | None = None
    known_score: float | None = None  # None when the run has no embedding index
    unknown: bool = False  # the calibrated verdict: "not a known landmark"
    similar: list[dict] = field(default_factory=list)  # nearest training photos: id, landmark_id, name, path, similarity

    @property
    def ok(self) -> bool:
        """True when the image was decoded and predicted."""
        return self.error is None


def eval_view(source, input_size: int) -> np.ndarray:
    """The evaluation view of an image as the pipeline makes it: resize, then the centre crop."""
    big = load_size(input_size)
    offset = (big - input_size) // 2
    return load_resized(source, big)[offset:offset + input_size, offset:offset + input_size]


class Predictor:
    """Loads a run's model and labels; predicts top-k for paths, bytes or uploads."""

    def __init__(self, run: Run | str | os.PathLike, backend: str = "auto"):
        """Load the run. `backend`: "auto" (ONNX Runtime if the model converts, else TensorFlow), "tf" or "onnx"."""
        import tensorflow as tf

        if backend not in BACKENDS:
            raise GlrError(f"unknown prediction backend {backend!r}; choose one of: {', '.join(BACKENDS)}")

        self.run = run = as_run(run)
        for path in (run.config_path, run.labels_path):
            if not path.is_file():
                raise GlrError(f"{run.path}: not a finished run ({path.name} is missing)")
        try:
            settings = run.settings()
            self.labels = run.labels()
        except RunError:
            raise GlrError(f"{run.path}: {run.config_path.name} or {run.labels_path.name} is damaged") from None
        self.spec, self.input_size = settings.spec, settings.input_size
        # Plain arrays for the top-k lookup: pandas .iloc per class costs more than the head.
        self._ids = self.labels["landmark_id"].astype(int).to_numpy()
        self._names = self.labels["name"].astype(str).to_numpy()
        self.model = load_model(run.model_path)
        backbone, head = split_classifier(self.model)

        def forward(x):
            # One pass gives both: the pooled features are the embedding the index searches.
            features = backbone(self.spec.preprocess(x), training=False)
            return head(features, training=False), features

        signature = [tf.TensorSpec((None, self.input_size, self.input_size, 3), tf.float32)]
        self._forward = tf.function(forward, input_signature=signature)
        self._onnx, self.backend, self.backend_note = None, "tf", None
        if backend in ("auto", "onnx"):
            from glr.backbones.onnx_backend import onnx_forward

            try:
                self._onnx = onnx_forward(run.model_path, self._forward, self.input_size)
                self.backend = "onnx"
            except Exception as exc:  # noqa: BLE001 - tf2onnx fails in many ways; TensorFlow still predicts
                reason = str(exc).splitlines()[0] if str(exc) else exc.__class__.__name__
                if backend == "onnx":
                    raise GlrError(f"{run.path}: the ONNX backend is not available for this model ({reason})") from None
                self.backend_note = f"predicting with TensorFlow: ONNX Runtime could not take this model ({reason})"
        self.recognizer, self.retrieval_problem = None, None
        try:
            self.recognizer = Recognizer(run, self.labels)
        except GlrError as exc:  # an older run, or a damaged index: the head alone still predicts
            self.retrieval_problem = str(exc)

    @property
    def method(self) -> str:
        """Which scores rank the classes: head, knn or blend (the run's default when it has an index)."""
        return self.recognizer.method if self.recognizer else "head"

    def forward(self, images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(head probabilities, pooled backbone features) for a batch of eval views."""
        if self._onnx is not None:
            probs, features = self._onnx(images)
            return probs, features
        probs, features = self._forward(np.asarray(images, np.float32))
        return probs.numpy(), features.numpy()

    def predict(self, sources: Sequence, k: int = DEFAULT_TOP_K, names: Sequence[str] | None = None,
                progress: Callable[[int], None] | None = None, similar: int = 0) -> list[Prediction]:
        """Top-k for each source (path, bytes or file-like). A bad file gets its own error; the rest go on.

        With an embedding index in the run, each prediction also gets its known score, the
        unknown verdict and the `similar` most similar training photos.
        """
        names = list(names) if names is not None else [_name_of(s) for s in sources]
        results = [Prediction(source=n) for n in names]
        views, where = [], []
        for i, source in enumerate(sources):
            try:
                views.append(eval_view(source, self.input_size))
                where.append(i)
            except ImageError as exc:
                results[i].error = str(exc)
                if progress:
                    progress(1)
        k = max(1, min(k, len(self.labels)))
        for start in range(0, len(views), BATCH_SIZE):
            probs, features = self.forward(np.stack(views[start:start + BATCH_SIZE]))
            scores, extra = probs, None
            if self.recognizer:
                extra = self.recognizer.recognize(features, probs, similar)
                scores = extra["scores"]
            for r, (row, i) in enumerate(zip(scores, where[start:start + BATCH_SIZE])):
                best = np.argsort(-row, kind="stable")[:k]
                results[i].top = [(int(self._ids[j]), str(self._names[j]), float(row[j])) for j in best]
                if extra is not None:
                    results[i].known_score = float(extra["known"][r])
                    results[i].unknown = bool(extra["unknown"][r])
                    results[i].similar = extra["similar"][r].to_dict("records") if similar else []
            if progress:
                progress(len(probs))
        return results

    def predict_folder(self, folder: str | os.PathLike, out_csv: str | os.PathLike | None = None,
                       progress: Callable[[int], None] | None = None) -> tuple[pd.DataFrame, list[Prediction]]:
        """Predict every image under `folder`; returns the Kaggle submission table (and writes it).

        The submission has `id,landmarks` with "landmark_id confidence" per image; an image
        that cannot be read gets an empty prediction and is listed among the failures.
        """
        paths = list_images(folder)
        predictions = self.predict(paths, k=1, progress=progress)
        table = submission_table([Path(p).stem for p in paths], predictions)
        if out_csv:
            write_csv(out_csv, table)
        return table, predictions


def _name_of(source) -> str:
    if isinstance(source, (str, os.PathLike)):
        return str(source)
    return str(getattr(source, "name", "upload"))


def list_images(folder: str | os.PathLike) -> list[str]:
    """Image files under `folder` (recursively), sorted; GlrError if there are none."""
    root = Path(folder)
    if not root.is_dir():
        raise GlrError(f"{root}: not a folder")
    paths = sorted(str(p) for p in root.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS)
    if not paths:
        raise GlrError(f"{root}: no images found (looked for {', '.join(IMAGE_EXTENSIONS)})")
    return paths


def submission_table(ids: Iterable[str], predictions: Sequence[Prediction]) -> pd.DataFrame:
    """Kaggle's submission format: id, landmarks ("landmark_id confidence", empty if none)."""
    landmarks = [f"{p.top[0][0]} {p.top[0][2]:.6f}" if p.ok and p.top else "" for p in predictions]
    return pd.DataFrame({"id": list(ids), "landmarks": landmarks})



def with_repeats(photo_ids: Sequence[str], predictions: Sequence[Prediction],
                 repeats: Iterable[tuple[str, str]] = ()) -> tuple[list[str], list[Prediction]]:
    """The submission's rows for uploaded photos: (ids, predictions), one row per photo id.

    `repeats`: (id, id of the first copy) of photos left out as copies of an earlier one
    (glr.data.uploads.unique_photos). A copy under a new id gets its first copy's prediction,
    as a test set can hold the same image twice; the same id twice is one row.
    """
    ids, chosen = list(photo_ids), list(predictions)
    by_id = dict(zip(ids, chosen))
    for repeat, first in repeats:
        if repeat not in by_id and first in by_id:
            by_id[repeat] = by_id[first]
            ids.append(repeat)
            chosen.append(by_id[first])
    return ids, chosen

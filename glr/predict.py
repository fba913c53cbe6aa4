"""The predictor: a finished run -> top-k (landmark_id, name, probability) for any photos.

The model is loaded once (with safe_mode) and its forward pass is traced once as a
`tf.function` with a fixed input signature, so every later call reuses the same graph.
Measured here, an eager call is about 6x slower and `model.predict` per image about 2x.
A run whose index is flip-averaged (glr.retrieval.flip) gets each photo and its mirror image
in one batch, in one call, and the head classifies the mean of their features; a run indexed
by regions (glr.retrieval.regional) also gets the R-MAC vector of the mean of their maps.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Sequence

import numpy as np
import pandas as pd

from glr.atomic import write_csv
from glr.data.datasets import IMAGE_EXTENSIONS
from glr.data.layouts import is_system_file, is_system_folder, plural
from glr.data.images import load_resized
from glr.data.pipeline import load_size
from glr.errors import GlrError, ImageError
from glr.paths import printable
from glr.retrieval.flip import EMBEDDINGS, LEGACY_EMBEDDING, MIRRORED
from glr.retrieval.run_index import Recognizer
from glr.training.run import Run, RunError, as_run

DEFAULT_TOP_K = 5
BATCH_SIZE = 16
# "auto" (the default) runs ONNX Runtime, 2.7x faster per photo here (benchmarks/README.md),
# and falls back to TensorFlow when the model cannot be converted; "tf" and "onnx" force one.
BACKENDS = ("auto", "tf", "onnx")
# What a submission does with a photo the unknown verdict calls "not a known landmark": rank it
# after every known photo (its confidence in [0, 0.5), the known ones' in (0.5, 1]), give it an
# empty prediction, or keep the raw confidence as if there were no verdict.
UNKNOWN_POLICIES = ("last", "empty", "keep")
LOWEST_KNOWN, HIGHEST_UNKNOWN = 0.500001, 0.499999  # stay apart at the CSV's 6 decimals
SUBMISSION_NOTE = ("Photos called not a known landmark are ranked after every known one: their confidence is "
                   "below 0.5, the known photos' above (0.5 + confidence / 2), so in GAP they no longer push real "
                   "landmarks down.")


@dataclass
class Prediction:
    """The outcome for one image: its top-k, or the error that kept it from being read."""

    source: str
    top: list[tuple[int, str, float]] = field(default_factory=list)  # (landmark_id, name, confidence)
    error: str | None = None
    known_score: float | None = None  # None when the run has no embedding index
    unknown: bool = False  # the calibrated verdict: "not a known landmark"
    similar: list[dict] = field(default_factory=list)  # nearest training photos: id, landmark_id, name, path, similarity
    # With spatial verification: RANSAC inliers with each verified nearest training photo (best first by similarity).
    inliers: list[dict] = field(default_factory=list)  # id, landmark_id, name, path, inliers

    @property
    def ok(self) -> bool:
        """True when the image was decoded and predicted."""
        return self.error is None


def eval_view(source, input_size: int) -> np.ndarray:
    """The evaluation view of an image as the pipeline makes it: resize, then the centre crop (a blank photo is refused)."""
    big = load_size(input_size)
    offset = (big - input_size) // 2
    return load_resized(source, big, refuse_blank=True)[offset:offset + input_size, offset:offset + input_size]


class Predictor:
    """Loads a run's model and labels; predicts top-k for paths, bytes or uploads."""

    def __init__(self, run: Run | str | os.PathLike, backend: str = "auto", convert: str = "child",
                 threads: int | None = None, embedding: str | None = None):
        """Load the run. `backend`: "auto" (ONNX Runtime if the model converts, else TensorFlow), "tf" or "onnx".

        With ONNX Runtime, TensorFlow is never imported in this process: a model not yet converted
        is converted in a child process (`convert="child"`, see convert_in_child; "here", or a
        process that has imported TensorFlow already, converts in this one), and the file is cached.
        `threads`: ONNX Runtime's threads per call (None: one per core), 1 in the app's server.
        `embedding`: "single", "flip" or "rmac" (glr.retrieval.flip); None (always, but in benchmarks) embeds
        each photo as the run's index did, and with one view when the run has no index.
        """
        if backend not in BACKENDS:
            raise GlrError(f"unknown prediction backend {backend!r}; choose one of: {', '.join(BACKENDS)}")

        self.run = run = as_run(run)
        for path in (run.config_path, run.labels_path, run.model_path):  # a running or failed run has no model.keras
            if not path.is_file():
                raise GlrError(f"{run.path}: not a finished run ({path.name} is missing; the run is {run.status()['state']})")
        try:
            settings = run.settings()
            self.labels = run.labels()
        except RunError:
            raise GlrError(f"{run.path}: {run.config_path.name} or {run.labels_path.name} is damaged") from None
        self.spec, self.input_size = settings.spec, settings.input_size
        # Plain arrays for the top-k lookup: pandas .iloc per class costs more than the head.
        self._ids = self.labels["landmark_id"].astype(int).to_numpy()
        self._names = self.labels["name"].astype(str).to_numpy()
        self.recognizer, self.retrieval_problem = None, None
        try:
            self.recognizer = Recognizer(run, self.labels)
        except GlrError as exc:  # an older run, or a damaged index: the head alone still predicts
            self.retrieval_problem = str(exc)
        # Queries are embedded as the index embedded its photos (an old run's index has one view).
        self.embedding = embedding or (self.recognizer.embedding if self.recognizer else LEGACY_EMBEDDING)
        if self.embedding not in EMBEDDINGS:
            raise GlrError(f"unknown embedding {self.embedding!r}: use {' or '.join(EMBEDDINGS)}")
        self.model, self._forward = None, None  # the Keras model and its tf.function: only when TF predicts
        self._onnx, self.backend, self.backend_note = None, "tf", None
        if backend in ("auto", "onnx"):
            from glr.backbones import onnx_backend

            try:
                path = self._onnx_file()
                # A process that has TensorFlow loaded already converts faster itself.
                if convert == "child" and "tensorflow" not in sys.modules and onnx_backend.available() and \
                        not path.is_file():
                    convert_in_child(run, self.embedding)  # if it fails, the conversion below, in this process, says why
                self._onnx = onnx_backend.onnx_forward(run.model_path, None if path.is_file() else self._tf_forward(),
                                                       self.input_size, threads, path=path)
                self.backend = "onnx"
            except Exception as exc:  # noqa: BLE001 - tf2onnx fails in many ways; TensorFlow still predicts
                reason = str(exc).splitlines()[0] if str(exc) else exc.__class__.__name__
                if backend == "onnx":
                    raise GlrError(f"{run.path}: the ONNX backend is not available for this model ({reason})") from None
                self.backend_note = f"predicting with TensorFlow: ONNX Runtime could not take this model ({reason})"
        if self._onnx is None:
            self._tf_forward()

    def _onnx_file(self) -> Path:
        """Where this run's forward pass is cached as ONNX: the flip-averaged and regional ones are files of their own."""
        from glr.backbones import onnx_backend

        path = onnx_backend.onnx_path(self.run.model_path, self.input_size)
        return path if self.embedding == "single" else path.with_name(f"{path.stem}-{self.embedding}{path.suffix}")

    def _tf_forward(self):
        """The model's forward pass as a `tf.function` (loads TensorFlow and the Keras model, once)."""
        if self._forward is None:
            self.model, self._forward = tf_forward(self.run, self.spec, self.input_size, self.embedding)
        return self._forward

    @property
    def method(self) -> str:
        """Which scores rank the classes: head, knn or blend (the run's default when it has an index)."""
        return self.recognizer.method if self.recognizer else "head"

    def forward(self, images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(head probabilities, embeddings) for a batch of eval views, embedded as the run's index is."""
        if self._onnx is not None:
            probs, features = self._onnx(images)
            return probs, features
        probs, features = self._tf_forward()(np.asarray(images, np.float32))
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
                batch = [sources[i] for i in where[start:start + BATCH_SIZE]]
                extra = self.recognizer.recognize(features, probs, similar, images=batch)
                scores = extra["scores"]
            for r, (row, i) in enumerate(zip(scores, where[start:start + BATCH_SIZE])):
                best = np.argsort(-row, kind="stable")[:k]
                results[i].top = [(int(self._ids[j]), str(self._names[j]), float(row[j])) for j in best]
                if extra is not None:
                    results[i].known_score = float(extra["known"][r])
                    results[i].unknown = bool(extra["unknown"][r])
                    results[i].similar = extra["similar"][r].to_dict("records") if similar else []
                    if extra["inliers"] is not None:
                        rows, counts = extra["neighbours"][r][:extra["inliers"].shape[1]], extra["inliers"][r]
                        results[i].inliers = self.recognizer.index.rows(rows, np.zeros(len(rows))).drop(
                            columns="similarity").assign(inliers=counts).to_dict("records")
            if progress:
                progress(len(probs))
        return results

    def draw_best_match(self, source, prediction: Prediction):
        """(PIL image of the matched points between the photo and its best verified training photo, that photo's row).

        The best match is the nearest training photo with the most inliers, its row's count the points drawn (that
        photo as it is now). None when the run has no spatial verification or the prediction has none."""
        from glr.retrieval.verify import draw_training_match

        if not prediction.inliers:
            return None
        best = max(prediction.inliers, key=lambda row: row["inliers"])
        image, count = draw_training_match(source, best["path"])  # GlrError if that photo is gone
        return image, {**best, "inliers": count}

    def predict_folder(self, folder: str | os.PathLike, out_csv: str | os.PathLike | None = None,
                       progress: Callable[[int], None] | None = None,
                       unknown: str = "last") -> tuple[pd.DataFrame, list[Prediction]]:
        """Predict every image under `folder`; returns the Kaggle submission table (and writes it to `out_csv`).

        The submission has `id,landmarks` with "landmark_id confidence" per image; an image
        that cannot be read gets an empty prediction and is listed among the failures.
        `unknown` (UNKNOWN_POLICIES) says what becomes of the photos called not a known landmark.
        """
        paths = list_images(folder)
        predictions = self.predict(paths, k=1, progress=progress)
        table = submission_table(unique_ids(paths, folder), predictions, unknown=unknown)
        if out_csv:
            write_submission(out_csv, table)
        return table, predictions


def tf_forward(run: Run, spec, input_size: int, embedding: str):
    """(the run's Keras model, its `tf.function`): RGB 0..255 in, (head probabilities, embedding) out, the photo
    embedded as `embedding` ("single", "flip", "rmac") says; the Predictor runs it, exports convert it."""
    import tensorflow as tf

    from glr.backbones.features import spatial_model
    from glr.retrieval.regional import rmac_from_map
    from glr.training.model import load_model, split_classifier

    model = load_model(run.model_path)
    backbone, head = split_classifier(model)
    flip = embedding in MIRRORED
    map_model = spatial_model(backbone) if embedding == "rmac" else None
    if embedding == "rmac" and map_model is None:
        raise GlrError(f"{run.path}: the index is regional, but the backbone has no feature map")

    def forward(x):
        # One pass gives both: the pooled features are the embedding the index searches.
        x = spec.preprocess(x)  # per pixel, so it commutes with the mirror
        if map_model is not None:
            # The mirror's map flipped back lines up with the photo's: their mean's regions are the
            # index's R-MAC regions, and its global average is what the head classifies ("flip").
            n = tf.shape(x)[0]
            maps = map_model(tf.concat([x, tf.reverse(x, axis=[2])], axis=0), training=False)
            fmap = (maps[:n] + tf.reverse(maps[n:], axis=[2])) / 2
            return head(tf.reduce_mean(fmap, axis=[1, 2]), training=False), rmac_from_map(fmap)
        if flip:
            # The photos and their mirror images in one batch, one backbone call; the head
            # classifies the mean of the two, as the index and its calibration did.
            n = tf.shape(x)[0]
            both = backbone(tf.concat([x, tf.reverse(x, axis=[2])], axis=0), training=False)
            features = (both[:n] + both[n:]) / 2
        else:
            features = backbone(x, training=False)
        return head(features, training=False), features

    signature = [tf.TensorSpec((None, input_size, input_size, 3), tf.float32)]
    return model, tf.function(forward, input_signature=signature)


def _name_of(source) -> str:
    if isinstance(source, (str, os.PathLike)):
        return str(source)
    return str(getattr(source, "name", "upload"))


# What convert_in_child runs: a Predictor forced onto ONNX Runtime in a process that may load TensorFlow.
_CONVERT = ("import sys; from glr.predict import Predictor; "
            "Predictor(sys.argv[1], backend='onnx', convert='here', embedding=sys.argv[2])")


def convert_in_child(run: Run, embedding: str = LEGACY_EMBEDDING, timeout: float = 900) -> bool:
    """Convert the run's model to ONNX in a child process, so this one never imports TensorFlow; True if it did.

    A failure is not raised here: the caller converts in its own process, which gives the reason.
    """
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, (str(Path(__file__).resolve().parents[1]),
                                                                     os.environ.get("PYTHONPATH"))))}
    try:
        done = subprocess.run([sys.executable, "-c", _CONVERT, str(run.path), embedding], env=env, capture_output=True,
                              timeout=timeout)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


def scan_folder(folder: str | os.PathLike) -> tuple[list[str], list[tuple[str, str]]]:
    """(image paths, [(path, why it is skipped)]) of the files under `folder`, recursively, sorted.

    A file counts as an image by its extension; every other file is listed with the reason,
    never dropped in silence. Hidden files (".DS_Store", "._photo.jpg") and the files an OS writes
    into folders ("Thumbs.db", "desktop.ini") are the system's and are passed over.
    """
    root = Path(folder)
    if not root.is_dir():
        raise GlrError(f"{root}: not a folder")
    images, skipped = [], []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        if any(map(is_system_folder, path.relative_to(root).parts[:-1])) or is_system_file(path):
            continue
        if path.suffix.lower() in IMAGE_EXTENSIONS:
            images.append(str(path))
        elif not path.suffix:
            skipped.append((str(path), "no file extension, so its type is unknown: add one (.jpg, .png, ...)"))
        else:
            skipped.append((str(path), f"{path.suffix} is not an image type ({', '.join(IMAGE_EXTENSIONS)})"))
    return images, skipped


def list_images(folder: str | os.PathLike) -> list[str]:
    """Image files under `folder` (recursively), sorted; GlrError if there are none."""
    paths, skipped = scan_folder(folder)
    if not paths:
        extra = f"; {plural(len(skipped), 'other file')} skipped, e.g. {skipped[0][0]}: {skipped[0][1]}" if skipped else ""
        raise GlrError(f"{folder}: no images found (looked for {', '.join(IMAGE_EXTENSIONS)}){extra}")
    return paths


def unique_ids(paths: Sequence[str], folder: str | os.PathLike | None = None) -> list[str]:
    """A submission id per path, all different: the file's stem, as Kaggle names its test photos.

    When a stem is taken already (image.bmp, then image.webp), the later file, in the order
    given (list_images sorts them), gets its file name with the extension ("image.webp"), then
    its path under `folder` ("b/image.webp"), then that path with "~2", "~3"... So the first
    file keeps the bare stem and the ids do not depend on chance.
    """
    taken, ids = set(), []
    for path in paths:
        p = Path(path)
        relative = p.relative_to(folder).as_posix() if folder is not None and p.is_relative_to(folder) else p.as_posix()
        candidates = [printable(c) for c in (p.stem, p.name, relative)]  # ids go into a UTF-8 CSV
        chosen = next((c for c in candidates if c not in taken), None)
        n = 2
        while chosen is None:
            chosen = f"{candidates[2]}~{n}" if f"{candidates[2]}~{n}" not in taken else None
            n += 1
        taken.add(chosen)
        ids.append(chosen)
    return ids


def default_submission_path(folder: str | os.PathLike) -> Path:
    """Where a folder's submission goes unless told: beside the folder, `<folder>-submission.csv`."""
    root = Path(folder).resolve()
    return root.parent / f"{root.name or 'predictions'}-submission.csv"


def write_submission(out: str | os.PathLike, table: pd.DataFrame) -> Path:
    """Write the submission CSV (into `out`/submission.csv if `out` is a folder); returns the file written."""
    out = Path(out)
    if out.is_dir():
        out = out / "submission.csv"
    try:
        return write_csv(out, table)
    except GlrError:  # a full disk or a read-only folder: glr.atomic says so already
        raise
    except OSError as exc:
        raise GlrError(f"{out}: cannot write the submission ({exc.strerror or exc}); choose another file with --out") from None


def submission_confidence(confidence: float, unknown: bool) -> float:
    """A confidence that ranks every photo called unknown below every known one, and keeps each group's order.

    Known photos map c in [0, 1] to 0.5 + c/2, in (0.5, 1]; unknown ones to c/2, in [0, 0.5).
    """
    c = min(max(float(confidence), 0.0), 1.0)
    return min(0.5 * c, HIGHEST_UNKNOWN) if unknown else max(0.5 + 0.5 * c, LOWEST_KNOWN)


def submission_table(ids: Iterable[str], predictions: Sequence[Prediction], unknown: str = "last") -> pd.DataFrame:
    """Kaggle's submission format: id, landmarks ("landmark_id confidence", empty if none).

    When the run gives the unknown verdict, `unknown` says what its "not a known landmark"
    photos get (UNKNOWN_POLICIES): "last" ranks them after every known photo, so in GAP they
    no longer push real landmarks down; "empty" leaves them without a prediction; "keep" writes
    the raw confidence. Without a verdict (an older run), the raw confidence is written.
    """
    if unknown not in UNKNOWN_POLICIES:
        raise GlrError(f"unknown photos: {unknown!r} is not a choice; choose one of: {', '.join(UNKNOWN_POLICIES)}")
    verdict = unknown != "keep" and any(p.known_score is not None for p in predictions)

    def cell(p: Prediction) -> str:
        if not (p.ok and p.top) or (verdict and p.unknown and unknown == "empty"):
            return ""
        confidence = submission_confidence(p.top[0][2], p.unknown) if verdict and unknown == "last" else p.top[0][2]
        return f"{p.top[0][0]} {confidence:.6f}"

    return pd.DataFrame({"id": list(ids), "landmarks": [cell(p) for p in predictions]})


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

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
from typing import Callable, Sequence

import numpy as np
import pandas as pd

from glr.data.images import load_resized
from glr.data.pipeline import load_size
from glr.errors import CheckpointError, GlrError, ImageError
from glr.retrieval.flip import EMBEDDINGS, LEGACY_EMBEDDING, MIRRORED, head_embedding
from glr.retrieval.run_index import Recognizer
from glr.submission import list_images, submission_table, unique_ids, write_submission
from glr.training.model import check_backbone, check_shape  # check_shape: also for importers of glr.predict
from glr.training.run import Run, as_run
from glr.training.run_table import missing_files, not_finished

DEFAULT_TOP_K = 5
BATCH_SIZE = 16
# "auto" (the default) runs ONNX Runtime, 2.7x faster per photo here (benchmarks/README.md),
# and falls back to TensorFlow when the model cannot be converted; "tf" and "onnx" force one.
BACKENDS = ("auto", "tf", "onnx")
TF_NOTE = "predicting with TensorFlow: ONNX Runtime could not take this model ({reason})"


# The similarity at which a photo's nearest training photo is the photo itself (or a copy): the same pixels give
# the same embedding, up to float rounding (0.99994 or more); other photos stayed under 0.933 on wonders7 and the demo.
SAME_PHOTO = 0.999


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
    # The training photo this one is (its nearest, at SAME_PHOTO similarity or more): its answer proves little.
    training_photo: dict | None = None  # id, landmark_id, name, path, similarity

    @property
    def ok(self) -> bool:
        """True when the image was decoded and predicted."""
        return self.error is None

    def ranked_by(self, method: str) -> str:
        """How its confidences were made, in a reader's words: the run's `method` (head, knn, blend), and spatial
        verification when it re-ranked them (then they are no longer the head's probabilities)."""
        return method + (" + spatial verification" if self.inliers else "")


# The note's words, shared with the exported predict.py (glr.export_script), which names the photo by its id.
# Its similarity is text, by glr.evaluation.readout's rule: ":.3f" said "similarity 1.000" of a photo at 0.9996.
TRAINING_PHOTO_NOTE = ("this is one of the model's training photos, or a copy of one ({photo}; similarity {similarity}): "
                       "the model learned its answer from it, so the answer says little about photos it has not seen")


def training_photo_note(photo: dict) -> str:
    """What a reader should know when a photo is one of the model's training photos (`Prediction.training_photo`)."""
    from glr.evaluation.readout import similarity  # not at the top: readout reads glr.training.run, as this module does

    return TRAINING_PHOTO_NOTE.format(photo=f"{photo['path']}, {photo['name']}", similarity=similarity(photo["similarity"]))


def eval_view(source, input_size: int) -> np.ndarray:
    """The evaluation view of an image as the pipeline makes it: resize, then the centre crop (a blank photo is refused)."""
    big = load_size(input_size)
    offset = (big - input_size) // 2
    return load_resized(source, big, refuse_blank=True, crop=(offset, offset, input_size))


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
        if missing := missing_files((run.config_path, run.labels_path, run.model_path)):  # a running run has no model
            raise GlrError(not_finished(run, missing))
        settings, self.labels = _settings_and_labels(run)
        self.spec, self.input_size = settings.spec, settings.input_size
        # Plain arrays for the top-k lookup: pandas .iloc per class costs more than the head.
        self._ids = self.labels["landmark_id"].to_numpy()
        self._names = self.labels["name"].to_numpy()  # every one text (Run.labels)
        # Before anything heavy (the index, a conversion, TensorFlow): labels.json or config.json from
        # another run is said at once, from the model file's own description, not after loading it all.
        saved_size, classes = saved_shape(run.model_path)
        check_shape(run, saved_size, classes, self.input_size, len(self.labels))
        check_backbone(run, self.spec.name)  # another backbone's model of that shape predicts, all wrong
        self.recognizer, self.retrieval_problem = None, None
        try:
            self.recognizer = Recognizer(run, self.labels)
        except GlrError as exc:  # an older run, or a damaged index: the head alone still predicts
            self.retrieval_problem = str(exc)
        # Queries are embedded as the index embedded its photos (an old run's index has one view); without a usable
        # index, as the head was trained to see them (a damaged vectors file left the head one view, not its mean).
        self.embedding = embedding or (self.recognizer.embedding if self.recognizer else head_embedding(run))
        if self.embedding not in EMBEDDINGS:
            raise GlrError(f"unknown embedding {self.embedding!r}: use {' or '.join(EMBEDDINGS)}")
        self.model, self._forward = None, None  # the Keras model and its tf.function: only when TF predicts
        self._onnx, self.backend, self.backend_note = None, "tf", None
        if backend in ("auto", "onnx"):
            self._load_onnx(backend, convert, threads)
        if self._onnx is None:
            self._tf_forward()
        if classes is None:  # a model file whose description did not say: one forward pass tells
            check_shape(run, None, self.forward(np.zeros((1, self.input_size, self.input_size, 3), np.float32))[0].shape[-1],
                         self.input_size, len(self.labels))

    def _load_onnx(self, backend: str, convert: str, threads: int | None) -> None:
        """Serve with ONNX Runtime (self._onnx), or leave it None and say in self.backend_note why TensorFlow predicts.

        A conversion that failed for this model before is not tried again ("auto"); a damaged cached file is
        converted again at once. `backend="onnx"` tries whatever happened before, and raises if it cannot.
        """
        from glr.backbones import onnx_backend

        try:
            path = self._onnx_file()
            for attempt in range(2):  # the second time only after a damaged cached file was removed
                # A process that has TensorFlow loaded already converts faster itself.
                if convert == "child" and "tensorflow" not in sys.modules and onnx_backend.available() and \
                        not path.is_file() and not onnx_backend.conversion_failure(path):
                    convert_in_child(self.run, self.embedding)  # if it fails it says why in the failure marker
                if backend == "auto" and not path.is_file() and (reason := onnx_backend.conversion_failure(path)):
                    self.backend_note = TF_NOTE.format(reason=reason)  # remembered: no seconds spent to fail again
                    return
                try:
                    self._onnx = onnx_backend.onnx_forward(self.run.model_path, None if path.is_file() else self._tf_forward(),
                                                           self.input_size, threads, path=path)
                    self.backend = "onnx"
                    return
                except onnx_backend.CachedFileDamaged:
                    if attempt:
                        raise
        except CheckpointError:
            raise  # the model file itself: TensorFlow cannot load it either
        except Exception as exc:  # noqa: BLE001 - tf2onnx fails in many ways; TensorFlow still predicts
            reason = onnx_backend.failure_reason(exc)
            if backend == "onnx":
                raise GlrError(f"{self.run.path}: the ONNX backend is not available for this model ({reason})") from None
            self.backend_note = TF_NOTE.format(reason=reason)

    def _onnx_file(self) -> Path:
        """Where this run's forward pass is cached as ONNX: the flip-averaged and regional ones are files of their own."""
        from glr.backbones import onnx_backend

        return onnx_backend.forward_path(self.run.model_path, self.input_size, self.embedding)

    def _tf_forward(self):
        """The model's forward pass as a `tf.function` (loads TensorFlow and the Keras model, once)."""
        if self._forward is None:
            try:
                self.model, self._forward = tf_forward(self.run, self.spec, self.input_size, self.embedding)
            except CheckpointError as exc:  # the description was fine, the weights are not
                raise CheckpointError(f"{exc}; {RESTORE.format(name=self.run.model_path.name)}") from None
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
        k = max(1, min(k, len(self.labels)))
        # Decoded a batch at a time: a folder of 10,000 photos held all its views at once (1.5 GB at 224 px),
        # and its progress stood still until every photo was decoded.
        for start in range(0, len(sources), BATCH_SIZE):
            views, where = [], []
            for i in range(start, min(start + BATCH_SIZE, len(sources))):
                try:
                    views.append(eval_view(sources[i], self.input_size))
                    where.append(i)
                except ImageError as exc:
                    results[i].error = str(exc)
                    if progress:
                        progress(1)
            if not views:
                continue
            probs, features = self.forward(np.stack(views))
            scores, extra = probs, None
            if self.recognizer:
                extra = self.recognizer.recognize(features, probs, similar, images=[sources[i] for i in where])
                scores = extra["scores"]
            for r, (row, i) in enumerate(zip(scores, where)):
                best = np.argsort(-row, kind="stable")[:k]
                results[i].top = [(int(self._ids[j]), str(self._names[j]), float(row[j])) for j in best]
                if extra is not None:
                    results[i].known_score = float(extra["known"][r])
                    results[i].unknown = bool(extra["unknown"][r])
                    results[i].similar = extra["similar"][r].to_dict("records") if similar else []
                    if extra["nearest"][r] >= SAME_PHOTO:
                        results[i].training_photo = self.recognizer.index.rows(
                            extra["neighbours"][r][:1], extra["nearest"][r:r + 1]).to_dict("records")[0]
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
                       unknown: str = "last", paths: Sequence[str] | None = None) -> tuple[pd.DataFrame, list[Prediction]]:
        """Predict every image under `folder`; returns the Kaggle submission table (and writes it to `out_csv`).

        The submission has `id,landmarks` with "landmark_id confidence" per image; an image
        that cannot be read gets an empty prediction and is listed among the failures.
        `unknown` (glr.submission.UNKNOWN_POLICIES) says what becomes of the photos called not a known landmark.
        `paths`: the folder's images when the caller has listed them already (glr.submission.scan_folder).
        """
        paths = list(paths) if paths else list_images(folder)
        predictions = self.predict(paths, k=1, progress=progress)
        table = submission_table(unique_ids(paths, folder), predictions, unknown=unknown)
        if out_csv:
            write_submission(out_csv, table)
        return table, predictions


# What to do about a run file that keeps the run from predicting.
RESTORE = "this run cannot predict until {name} is restored (from a copy of the run folder) or the run is trained again"


def _settings_and_labels(run: Run):
    """The run's settings and labels (landmark ids as integers); GlrError naming the damaged file and what to do."""
    def read(path, reader):
        try:
            return reader()
        except (GlrError, TypeError, ValueError, KeyError) as exc:
            detail = str(exc) if str(path) in str(exc) else f"{path} is damaged ({exc.__class__.__name__}: {exc})"
            raise GlrError(f"{detail}; {RESTORE.format(name=path.name)}") from None

    settings = read(run.config_path, run.settings)
    labels = read(run.labels_path, lambda: (lambda df: df.assign(landmark_id=df["landmark_id"].astype(int)))(run.labels()))
    from glr.data.class_names import run_labels_told_apart  # an old run's look-alike classes: "Big Ben" twice

    told = run_labels_told_apart(run, labels)
    return settings, labels if told is None else told  # every name text: Run.labels gives one without a name "landmark <id>"


def saved_shape(model_file: str | os.PathLike) -> tuple[int | None, int | None]:
    """glr.training.model.saved_shape, its CheckpointError saying what to do for the run to predict again."""
    from glr.training.model import saved_shape as read

    try:
        return read(model_file)
    except CheckpointError as exc:
        raise CheckpointError(f"{exc}; {RESTORE.format(name=Path(model_file).name)}") from None


def tf_forward(run: Run, spec, input_size: int, embedding: str):
    """(the run's Keras model, its `tf.function`): RGB 0..255 in, (head probabilities, embedding) out, the photo
    embedded as `embedding` ("single", "flip", "rmac") says; the Predictor runs it, exports convert it."""
    import tensorflow as tf

    from glr.backbones.features import spatial_model
    from glr.retrieval.regional import rmac_from_map
    from glr.training.model import load_run_model, split_classifier

    model = load_run_model(run)
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
    return model, tf.function(forward, input_signature=signature, autograph=False)  # Python branches only


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

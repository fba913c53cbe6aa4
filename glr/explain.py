"""Where the model looked: the Grad-CAM heatmap of a run's guess for a photo, over the photo.

Grad-CAM (Selvaraju et al., 2017) weighs each channel of the backbone's last convolutional
feature map by the mean gradient of the class score (the logit, before the softmax) over
that map, sums the channels and keeps the positive part: the places whose features raised
the guess. Keras 3 cannot reach a layer inside the nested backbone from the outer
classifier (tensorflow#44462), so the heatmap model is built from the backbone's own
layers, `Model(backbone.inputs, [feature map, pooled features])`, followed by the trained
head: the same layers and weights as the classifier, so it gives the same probabilities.

It runs in TensorFlow (it needs gradients) even when the Predictor serves with ONNX
Runtime; TensorFlow is imported only when a heatmap is asked for. The heatmap model of a
run is built once and kept (`gradcam_for`), so a second photo costs one forward and
backward pass.
"""

from __future__ import annotations

import io
import os
import threading
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
from PIL import Image

from glr.data.images import decode_image
from glr.data.pipeline import load_size
from glr.errors import GlrError, ImageError
from glr.training.run import Run, RunError, as_run, class_names
from glr.training.run_table import labels_stamp

OVERLAY_PX = 384  # the overlay's longest side: a camera photo is not shown at 4000 px
ALPHA = 0.5  # how much of the heatmap's colour covers the hottest places
OUTSIDE_DIM = 0.55  # the margins the centre crop leaves out, which the model never saw, are dimmed
COLORMAP = "jet"
CACHED_RUNS = 2  # heatmap models kept: one per run, each about the size of the model


@dataclass
class Explanation:
    """Grad-CAM of one photo: the class explained, its probability, the heatmap and its overlay."""

    source: str
    landmark_id: int
    name: str
    probability: float  # the classifier's (head's) probability of the explained class
    heatmap: np.ndarray  # (h, w) float32 in [0, 1], on the grid of the backbone's last feature map
    overlay: np.ndarray  # RGB uint8: the photo (longest side at most max_side) with the heatmap over the model's crop
    probabilities: np.ndarray  # the classifier's probabilities of every class, in class-index order


def last_feature_map(backbone):
    """The backbone's last 4-D output (batch, h, w, channels): the feature map its global pooling averages."""
    for layer in reversed(backbone.layers):
        try:
            output = layer.output
        except (AttributeError, ValueError):  # a layer called more than once has no single output
            continue
        if len(getattr(output, "shape", ())) == 4:
            return output
    raise GlrError(f"backbone {backbone.name}: no convolutional feature map found for a heatmap")


def _head_parts(head):
    """A model giving (input of the last Dense, probabilities) when the head ends in a softmax Dense, else None."""
    import keras

    last = head.layers[-1]
    activation = getattr(getattr(last, "activation", None), "__name__", "")
    if not isinstance(last, keras.layers.Dense) or activation != "softmax":
        return None
    return keras.Model(head.inputs, [last.input, head.output], name="head_parts"), last


class GradCam:
    """The heatmap model of one classifier: same layers and weights, plus the feature map and the gradients."""

    def __init__(self, model, spec, input_size: int, labels):
        """`model`: a classifier from glr.training.model (preprocessed image -> probabilities); `spec`: its backbone spec."""
        import keras
        import tensorflow as tf

        from glr.training.model import split_classifier

        self.spec, self.input_size, self.labels = spec, int(input_size), labels
        self._ids = labels["landmark_id"].astype(int).to_numpy()
        self._names = np.array(class_names(labels), dtype=object)  # never "nan" or "None"
        backbone, head = split_classifier(model)
        features = keras.Model(backbone.inputs, [last_feature_map(backbone), backbone.output], name="gradcam_features")
        image = keras.Input((self.input_size, self.input_size, 3), name="image")
        feature_map, pooled = features(image, training=False)
        parts = _head_parts(head)
        if parts is not None:
            hidden, probs = parts[0](pooled, training=False)
            kernel, bias = parts[1].kernel, parts[1].bias
            self.model = keras.Model(image, [feature_map, probs, hidden], name="gradcam")
        else:  # a head without a softmax Dense: explain the probability itself
            self.model = keras.Model(image, [feature_map, head(pooled, training=False)], name="gradcam")
        self.feature_map_shape = tuple(int(d) for d in feature_map.shape[1:3])
        classes = int(self.model.outputs[1].shape[-1])
        if classes != len(labels):  # labels.json from another run: the guess would be named wrongly, or not at all
            raise GlrError(f"the model has {classes} classes but its labels list {len(labels)}")

        def gradients(x, class_index):
            with tf.GradientTape() as tape:
                outputs = self.model(x, training=False)
                fmap, probs = outputs[0], outputs[1]
                # -1: the top guess of the classifier itself
                c = tf.where(class_index < 0, tf.argmax(probs[0], output_type=tf.int32), class_index)
                if parts is not None:
                    score = tf.reduce_sum(outputs[2][0] * tf.gather(tf.convert_to_tensor(kernel), c, axis=1))
                    score += tf.gather(tf.convert_to_tensor(bias), c)
                else:
                    score = probs[0, c]
            return fmap, tape.gradient(score, fmap), probs, c

        signature = [tf.TensorSpec((1, self.input_size, self.input_size, 3), tf.float32),
                     tf.TensorSpec((), tf.int32)]
        self._gradients = tf.function(gradients, input_signature=signature, autograph=False)  # Python branches only

    @classmethod
    def of_run(cls, run: Run | str | os.PathLike) -> "GradCam":
        """The heatmap model of a finished run: its model file, settings and labels (GlrError if it has none).

        labels.json or config.json from another run, or a model file of another backbone, is said from the
        model file's description, as the Predictor says it, before the model is loaded (seconds, and the
        model's size in memory).
        """
        from glr.training.model import load_run_model

        run = as_run(run)
        try:
            settings, labels = run.settings(), run.labels()
        except RunError as exc:
            raise GlrError(f"{run.path}: cannot explain its predictions ({exc})") from None
        if labels is None:
            raise GlrError(f"{run.path}: not a finished run (it has no labels)")
        return cls(load_run_model(run), settings.spec, settings.input_size, labels)  # checked against them first

    def probabilities(self, views: np.ndarray) -> np.ndarray:
        """The heatmap model's class probabilities for a batch of eval views (RGB 0..255)."""
        return np.asarray(self.model(self.spec.preprocess(np.asarray(views, np.float32)), training=False)[1])

    def explain(self, source, landmark_id: int | None = None, max_side: int = OVERLAY_PX) -> Explanation:
        """Grad-CAM of `landmark_id` (default: the classifier's top guess) for a path, bytes or file-like photo.

        The photo is seen as the predictor sees it (glr.predict.eval_view). ImageError with
        the file's name when it cannot be decoded; GlrError for a landmark the run does not know.
        """
        from glr.predict import eval_view

        source, name = _reusable(source)
        if landmark_id is None:
            class_index = -1
        else:
            where = np.flatnonzero(self._ids == int(landmark_id))
            if not len(where):
                raise GlrError(f"landmark {landmark_id} is not one of this model's {len(self._ids)} landmarks")
            class_index = int(where[0])
        view = eval_view(source(), self.input_size)
        photo = shown_photo(source(), max_side)
        x = self.spec.preprocess(view[None].astype(np.float32))
        fmap, grads, probs, c = self._gradients(x, np.int32(class_index))
        heatmap = gradcam_heatmap(np.asarray(fmap)[0], np.asarray(grads)[0])
        c = int(c)
        return Explanation(source=name, landmark_id=int(self._ids[c]), name=str(self._names[c]),
                           probability=float(np.asarray(probs)[0, c]), heatmap=heatmap,
                           overlay=overlay(photo, heatmap, self.input_size / load_size(self.input_size), max_side,
                                           min_side=min(load_size(self.input_size), max_side)),
                           probabilities=np.asarray(probs)[0])


def shown_photo(source, max_side: int = OVERLAY_PX) -> np.ndarray:
    """The photo (a path, bytes or file-like) as the overlay shows it, RGB uint8 with its longest side at most
    `max_side`: shrunk before its colours are converted to sRGB, so a 12 MP Display P3 photo's shown pixels are
    converted, not all 12 million. ImageError naming it if it cannot be decoded."""
    def within(rgb: Image.Image) -> Image.Image:
        rgb.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)  # in place (the decoder's own); never enlarges
        return rgb

    return decode_image(source, draft_size=max_side, shrink=within)


def _reusable(source):
    """A function giving a fresh copy of `source` on every call (a file-like can be read only once), and its name."""
    if isinstance(source, (str, os.PathLike)):
        return (lambda: source), str(source)
    if isinstance(source, (bytes, bytearray)):
        return (lambda: bytes(source)), "the upload"
    name = str(getattr(source, "name", None) or "the upload")
    try:
        data = source.read()
    except Exception as exc:  # noqa: BLE001 - any reader failure is the upload's problem
        raise ImageError(f"{name}: cannot be read ({exc})") from None

    def fresh():
        buffer = io.BytesIO(data)
        buffer.name = name
        return buffer

    return fresh, name


def gradcam_heatmap(feature_map: np.ndarray, gradients: np.ndarray) -> np.ndarray:
    """Grad-CAM from one (h, w, channels) feature map and its gradients: (h, w) in [0, 1].

    All zeros when nothing in the photo raised the score (the positive part is empty).
    """
    weights = gradients.mean(axis=(0, 1))
    cam = np.maximum((feature_map * weights).sum(axis=-1), 0.0)
    cam = np.nan_to_num(cam, nan=0.0, posinf=0.0, neginf=0.0)
    top = float(cam.max())
    return (cam / top if top > 0 else np.zeros_like(cam)).astype(np.float32)


def overlay(photo: np.ndarray, heatmap: np.ndarray, crop_fraction: float = 1.0, max_side: int = OVERLAY_PX,
            min_side: int = 0) -> np.ndarray:
    """The heatmap in colour over the photo (RGB uint8, longest side at most `max_side`, at least `min_side`).

    A photo smaller than `min_side` is enlarged, as the model enlarged it: a 6 px icon's heatmap was 6 px wide.

    The model sees the central `crop_fraction` of the photo in each direction (the
    predictor resizes to a square and takes its centre crop), so the heatmap covers that
    box, and the margins outside it, which the model never saw, are dimmed.
    """
    from matplotlib import colormaps

    image = Image.fromarray(np.asarray(photo, np.uint8))
    if max(image.size) > max_side:
        image.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    elif max(image.size) < min_side:
        scale = min_side / max(image.size)
        image = image.resize((max(1, round(image.width * scale)), max(1, round(image.height * scale))),
                             Image.Resampling.BICUBIC)
    base = np.asarray(image, np.float32)
    height, width = base.shape[:2]
    top, left = int(round(height * (1 - crop_fraction) / 2)), int(round(width * (1 - crop_fraction) / 2))
    box_h, box_w = max(1, height - 2 * top), max(1, width - 2 * left)
    heat = np.asarray(Image.fromarray(np.asarray(heatmap, np.float32), mode="F")
                      .resize((box_w, box_h), Image.Resampling.BILINEAR), np.float32).clip(0, 1)
    colour = colormaps[COLORMAP](heat)[..., :3] * 255
    alpha = (ALPHA * (0.3 + 0.7 * heat))[..., None]  # the whole crop is tinted, the hot places most
    out = base * OUTSIDE_DIM
    inside = base[top:top + box_h, left:left + box_w]
    out[top:top + box_h, left:left + box_w] = inside * (1 - alpha) + colour * alpha
    return out.round().clip(0, 255).astype(np.uint8)


_CACHE: OrderedDict = OrderedDict()
_CACHE_LOCK = threading.Lock()  # the app's sessions run in threads


def gradcam_for(run: Run | str | os.PathLike) -> GradCam:
    """The run's heatmap model, built once per model file, labels and settings (config.json), and kept for the next photo."""
    run = as_run(run)
    # A class renamed in labels.json is named so in the next heatmap's caption; a setting changed in config.json is used.
    key = (str(run.path), run.model_stamp(), *labels_stamp(run))
    with _CACHE_LOCK:
        if key in _CACHE:
            _CACHE.move_to_end(key)
            return _CACHE[key]
        cam = GradCam.of_run(run)
        _CACHE[key] = cam
        while len(_CACHE) > CACHED_RUNS:
            _CACHE.popitem(last=False)
        return cam


def gradcam_overlay(run: Run | str | os.PathLike, image_source, landmark_id: int | None = None,
                    max_side: int = OVERLAY_PX) -> tuple[np.ndarray, str, float]:
    """(overlay RGB uint8, landmark name, probability) of the top guess (or `landmark_id`) for a photo.

    `image_source`: a path, bytes or a file-like upload. ImageError names a photo that
    cannot be decoded; GlrError a run that cannot be explained.
    """
    found = gradcam_for(run).explain(image_source, landmark_id=landmark_id, max_side=max_side)
    return found.overlay, found.name, found.probability


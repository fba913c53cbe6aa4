"""The classifier: a pretrained backbone plus the study's head; safe saving and loading.

The head replaces the backbone's ImageNet top with two dense layers and dropout:
pooled features -> Dense(hidden, relu) -> Dropout -> Dense(classes, softmax). It is a
model of its own, so phase 1 can train it on cached features, and the classifier is the
backbone and the head stacked. Models are saved as `.keras` and loaded with
`safe_mode=True`, which refuses Lambda layers and other code hidden in a model file, after
glr's own check of the model description inside the file (see `check_model_config`).
"""

from __future__ import annotations

import json
import os
import zipfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from glr.atomic import write_with
from glr.errors import CheckpointError, GlrError

HEAD_NAME = "head"


def build_head(feature_dim: int, num_classes: int, hidden: int = 512, dropout: float = 0.5, seed: int = 0):
    """L2-normalise -> Dense(hidden, relu) -> Dropout -> Dense(num_classes, softmax) on pooled features.

    The L2 normalisation (the same as the similarity index's, glr.retrieval.index) makes the head see only the
    direction of a feature vector, not its brightness-dependent length; measured here it
    gave 1-2 points of validation accuracy on both the demo data and wonders7.
    """
    import keras

    inputs = keras.Input((feature_dim,), name="features")
    x = keras.layers.UnitNormalization(name="l2")(inputs)
    x = keras.layers.Dense(hidden, activation="relu", name="hidden",
                           kernel_initializer=keras.initializers.HeUniform(seed=seed))(x)
    x = keras.layers.Dropout(dropout, seed=seed, name="dropout")(x)
    outputs = keras.layers.Dense(num_classes, activation="softmax", name="classes",
                                 kernel_initializer=keras.initializers.GlorotUniform(seed=seed + 1))(x)
    return keras.Model(inputs, outputs, name=HEAD_NAME)


def compile_model(model, learning_rate: float, label_smoothing: float) -> None:
    """Adam and cross-entropy with label smoothing, as in the study.

    The loss object names the training objective in the saved model; glr's training loop
    computes it on class indices, making the one-hot targets per batch (glr.training.loop).
    """
    import keras

    loss = keras.losses.CategoricalCrossentropy(label_smoothing=label_smoothing)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss=loss,
                  metrics=["accuracy", keras.metrics.TopKCategoricalAccuracy(k=5, name="top5")])


def build_classifier(backbone, head, input_size: int):
    """Backbone then head: preprocessed images in, class probabilities out.

    Keras 3 ignores the training=False recorded here when the model is called with
    training=True (a functional model passes its own flag to every layer), so in phase 2 the
    backbone's dropout (Lite's drop-connect) is live, as in EfficientNet's own training; its
    BatchNorm layers stay in inference mode because phase 2 freezes them (trainable=False).
    """
    import keras

    inputs = keras.Input((input_size, input_size, 3), name="image")
    features = backbone(inputs, training=False)
    return keras.Model(inputs, head(features), name="classifier")


def split_classifier(classifier):
    """The (backbone, head) sub-models of a classifier built by `build_classifier`."""
    backbone, head = classifier.layers[1], classifier.get_layer(HEAD_NAME)
    return backbone, head


def save_model(model, path: str | os.PathLike, note: dict | None = None) -> Path:
    """Save as .keras atomically (the old file survives a crash or a full disk), with `note` inside it if given.

    A checkpoint's note is its state (glr.training.checkpoints): written in the same file as its weights, the
    two can never disagree, whatever kills the training between this write and the next.
    """
    def write(tmp: str) -> None:
        model.save(tmp)
        if note is not None:  # a member Keras does not read: it loads the file as if it were not there
            with zipfile.ZipFile(tmp, "a") as archive:
                archive.writestr(CHECKPOINT_NOTE, json.dumps(note))

    return write_with(path, write, suffix=".keras")


def saved_note(path: str | os.PathLike) -> dict | None:
    """The note `save_model` put in a .keras file; None without one (a model, an older checkpoint, a damaged file)."""
    try:
        with zipfile.ZipFile(path) as archive:
            note = json.loads(archive.read(CHECKPOINT_NOTE))
    except (OSError, KeyError, ValueError, zipfile.BadZipFile, EOFError, RuntimeError, NotImplementedError):
        return None  # what is damaged is said by the loaders
    return note if isinstance(note, dict) else None


LAMBDA_REFUSED = "refused to load: the model contains code (a Lambda layer), which could run anything; glr only loads plain layers"
# Layers that run code or load other files by design; safe_mode refuses Lambda, and the
# check below refuses all of them before Keras reads anything else.
_CODE_LAYERS = {"Lambda", "TFSMLayer"}
# The member of a .keras zip that describes the model (Keras' name; not a run folder's file).
KERAS_CONFIG = "config.json"
CHECKPOINT_NOTE = "glr_checkpoint.json"  # glr's member of a checkpoint's zip: the state its weights are at
MAX_CONFIG_BYTES = 50 * 1024 * 1024  # a model's description is a few hundred kB


def follow(node, ends: str, key: str, at: int | None = None) -> int | None:
    """A value of the layer at a saved model's inputs or outputs (`ends`), through nested models; None if not found."""
    try:
        for _ in range(8):
            config = node["config"]
            if key in config:
                value = config[key] if at is None else config[key][at]
                return int(value) if value is not None else None
            first = config[ends][0]
            name = first[0] if isinstance(first, list) else first
            node = next(layer for layer in config["layers"] if layer.get("name", layer["config"].get("name")) == name)
    except (KeyError, TypeError, IndexError, ValueError, StopIteration, AttributeError):
        return None
    return None


def saved_backbone(path: str | os.PathLike) -> str | None:
    """The backbone (a registry name) of a saved classifier, from its description; None if it is none glr knows.

    Keras names its applications its own way (`MobileNetV3Small`, `resnet50`), glr's registry otherwise
    (`mobilenet_v3_small`): the two match once case and underscores are set aside.
    """
    from glr.backbones.registry import list_backbones

    def plain(name) -> str:
        return "".join(c for c in str(name).lower() if c.isalnum())

    known = {plain(name): name for name in list_backbones()}
    try:
        with zipfile.ZipFile(path) as archive:
            layers = json.loads(archive.read(KERAS_CONFIG))["config"]["layers"]
    except (OSError, ValueError, KeyError, TypeError, zipfile.BadZipFile):
        return None  # what is damaged is said by the loaders
    names = [plain(layer.get("config", {}).get("name")) for layer in layers if isinstance(layer, dict)]
    return next((known[name] for name in names if name in known), None)


def check_backbone(run, expected: str) -> None:
    """GlrError when the run's model.keras holds another backbone than its config.json names (a file copied in)."""
    if (found := saved_backbone(run.model_path)) not in (None, expected):
        raise GlrError(f"{run.path}: the model is a {found} classifier but {run.config_path.name} says {expected}: "
                       "the two files come from different runs (its photos would be prepared for the wrong "
                       "backbone, and every prediction be wrong); train the run again")


def _detail(exc: BaseException) -> str:
    """The first line of an exception, shortened: Keras errors can quote whole configs."""
    text = (str(exc).strip().splitlines() or [""])[0] or exc.__class__.__name__
    return text if len(text) <= 200 else text[:197] + "..."


def check_model_config(path: str | os.PathLike) -> None:
    """Refuse a .keras file whose model description names code: a Lambda layer, or anything outside Keras.

    Keras' own safe_mode catches Lambda layers; this check does not depend on the Keras
    version, and it also refuses a `module` that points outside Keras (a tampered file can
    name any importable function there). Raises CheckpointError naming the problem.
    """
    path = Path(path)
    try:
        with zipfile.ZipFile(path) as archive:
            info = archive.getinfo(KERAS_CONFIG)
            if info.file_size > MAX_CONFIG_BYTES:
                raise CheckpointError(f"{path}: {KERAS_CONFIG} is {info.file_size:,} bytes, far too big for a model")
            config = json.loads(archive.read(info))
    except KeyError:
        raise CheckpointError(f"{path}: not a .keras model file (it has no {KERAS_CONFIG})") from None
    except (OSError, ValueError, zipfile.BadZipFile, EOFError, RuntimeError, NotImplementedError) as exc:
        raise CheckpointError(f"{path}: damaged model file ({_detail(exc)})") from None

    stack = [config]
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            stack.extend(node)
        elif isinstance(node, dict):
            name, module = node.get("class_name"), node.get("module")
            if name in _CODE_LAYERS:
                raise CheckpointError(f"{path}: {LAMBDA_REFUSED}" if name == "Lambda" else
                                      f"{path}: refused to load: the model contains a {name} layer, which loads "
                                      "code from elsewhere; glr only loads plain layers")
            if module is not None and not (isinstance(module, str) and (module == "keras" or module.startswith("keras."))):
                raise CheckpointError(f"{path}: refused to load: the model refers to code outside Keras "
                                      f"({module}.{name}); glr only loads plain Keras layers")
            stack.extend(node.values())


def load_model(path: str | os.PathLike, compile: bool = False):
    """Load a .keras model with safe_mode=True after `check_model_config`; CheckpointError with the reason otherwise."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: model file not found")
    if not zipfile.is_zipfile(path):
        raise CheckpointError(f"{path}: not a .keras model file (damaged or incomplete?)")
    check_model_config(path)
    import keras

    try:
        return keras.models.load_model(path, compile=compile, safe_mode=True)
    except ValueError as exc:
        if "safe_mode" in str(exc) or "Lambda" in str(exc):
            raise CheckpointError(f"{path}: {LAMBDA_REFUSED}") from None
        raise CheckpointError(f"{path}: cannot be loaded ({_detail(exc)})") from None
    except (OSError, KeyError, TypeError, AttributeError, zipfile.BadZipFile, EOFError) as exc:
        raise CheckpointError(f"{path}: cannot be loaded ({exc.__class__.__name__}: {_detail(exc)})") from None


def saved_shape(model_file: str | os.PathLike) -> tuple[int | None, int | None]:
    """(input size, classes) of a saved classifier, read from the .keras file's description without loading it.

    None for what the description does not say; CheckpointError naming the file when it is not a
    readable .keras file, or names code (`check_model_config`).
    """
    path = Path(model_file)
    if not zipfile.is_zipfile(path):
        raise CheckpointError(f"{path}: not a .keras model file (damaged or incomplete?)")
    check_model_config(path)
    try:
        with zipfile.ZipFile(path) as archive:
            config = json.loads(archive.read(KERAS_CONFIG))
    except (OSError, ValueError, zipfile.BadZipFile) as exc:  # changed since it was checked
        raise CheckpointError(f"{path}: damaged model file ({exc})") from None
    return follow(config, "input_layers", "batch_shape", 1), follow(config, "output_layers", "units")


def check_shape(run, input_size: int | None, classes: int | None, expected_size: int, labels: int | None) -> None:
    """GlrError when the model does not take the run's input size or name as many classes as labels.json."""
    if classes is not None and labels is not None and classes != labels:
        raise GlrError(f"{run.path}: the model has {classes} classes but {run.labels_path.name} lists "
                       f"{labels}: the two files come from different runs; train the run again")
    if input_size is not None and input_size != expected_size:
        raise GlrError(f"{run.path}: the model takes {input_size} px photos but {run.config_path.name} says "
                       f"{expected_size}: the two files come from different runs; train the run again")


def check_run_model(run) -> tuple[int | None, int | None]:
    """Refuse a run's model.keras that does not fit its config.json and labels.json, from the file's description.

    GlrError naming the two files when the backbone, the input size or the class count differs (a file copied in
    from another run); CheckpointError when it is no readable model; RunError when config.json or labels.json
    cannot be read. Returns what the description said: (input size, classes), None where it did not.
    """
    settings, labels = run.settings(), run.labels()
    with _keras_hint(run):
        size, classes = saved_shape(run.model_path)
    check_shape(run, size, classes, settings.input_size, None if labels is None else len(labels))
    check_backbone(run, settings.spec.name)  # another backbone's model of that shape predicts, all wrong
    return size, classes


@contextmanager
def _keras_hint(run) -> Iterator[None]:
    """Add to a CheckpointError about the run's model.keras that another Keras version saved it, when one did."""
    from glr.training.checkpoints import other_keras  # it imports this module

    try:
        yield
    except CheckpointError as exc:
        if not (hint := other_keras(run.model_path, "use this run")):
            raise
        raise CheckpointError(f"{exc}{hint}") from None


def load_run_model(run, compile: bool = False):
    """A run's model.keras, loaded as `load_model` does, once `check_run_model` found it fits the run's files.

    Every use of a run's classifier (predictions, Grad-CAM, the index, exports, open-set calibration) loads it
    here, so a model file copied in from another run (another backbone, input size or class count) is refused
    (GlrError) wherever it is opened, before Keras reads it; what its description does not say is checked on the
    loaded model. RunError when config.json or labels.json cannot be read.
    """
    if not run.model_path.is_file():
        raise CheckpointError(f"{run.model_path}: model file not found")
    size, classes = check_run_model(run)
    with _keras_hint(run):
        model = load_model(run.model_path, compile=compile)
    if size is None or classes is None:
        labels = run.labels()
        check_shape(run, model.inputs[0].shape[1], model.outputs[0].shape[-1], run.settings().input_size,
                    None if labels is None else len(labels))
    return model

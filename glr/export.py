"""Take a run's classifier away: Keras, SavedModel, TFLite or ONNX, with its labels and a runnable example.

Every export takes the same input, so it can be used without glr: an RGB photo resized to a
square (`resize_to`, bilinear), centre-cropped to `input_size`, as float32 0..255 of shape
(1, input_size, input_size, 3). The backbone's normalisation (for example `(x - 127) / 128`
for EfficientNet-Lite) is built into the exported model as its first layer, `normalise`, a
fixed per-channel affine map. The output is the head's softmax over the run's classes. An
export folder holds the model, `labels.json` (class index -> landmark_id, name),
`preprocessing.json` (the note above, as data) and `predict.py`, a standalone example that
uses only that format's runtime, PIL and numpy to print the top-5 of a photo.

With the run's embedding index (glr.export_verdict), the model has a second output, the photo's
embedding, and the folder holds the index's vectors and the verdict's settings: predict.py then
ranks by the run's method and says "not a known landmark" as glr's Predictor does (spatial
verification aside). A run without an index exports the classifier alone. A run whose head
classifies flip-averaged features (`glr.retrieval.flip`) is exported the same way: the
backbone sees the photo and its mirror image, and the head their mean, so the export
gives the Predictor's head probabilities. The mirror is a fixed linear map along the
width (plain `Permute` and `Dense` layers), so every format and runtime takes it.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import uuid
import zipfile
from pathlib import Path

import numpy as np

from glr.atomic import read_json, replace_folder
from glr.data.images import draft_side
from glr.errors import GlrError
from glr.export_verdict import ITEMS_NAME, VECTORS_NAME, VERDICT_NAME, portable_verdict
from glr.paths import file_in_the_way
from glr.retrieval.flip import head_embedding
from glr.training.run import Run, RunError, as_run

FORMATS = ("keras", "savedmodel", "tflite", "onnx")
# The model inside an export folder, per format (a folder for SavedModel).
MODEL_NAMES = {"keras": "model.keras", "savedmodel": "saved_model", "tflite": "model.tflite", "onnx": "model.onnx"}
LABELS_NAME, NOTE_NAME, EXAMPLE_NAME = "labels.json", "preprocessing.json", "predict.py"
RUNTIMES = {"keras": "keras (pip install keras tensorflow)", "savedmodel": "tensorflow (pip install tensorflow)",
            "tflite": "LiteRT, the TFLite interpreter (pip install ai-edge-litert), or TensorFlow's tf.lite.Interpreter",
            "onnx": "onnxruntime (pip install onnxruntime)"}
# How each preprocessing function of glr.backbones.registry reads in words.
_NORMALISATION_TEXT = {"preprocess_input": "(x - 127) / 128 (EfficientNet-Lite)",
                       "caffe_preprocess": "RGB -> BGR, then the ImageNet mean subtracted per channel (caffe mode, ResNet)",
                       "identity_preprocess": "none: the network takes 0..255 as it is (MobileNetV3)"}


class ExportError(GlrError):
    """A run cannot be exported (no model, an unknown format, a converter failure)."""


def export_folder(run: Run | str | os.PathLike, fmt: str) -> Path:
    """Where the `fmt` export of a run goes by default: `<run>/export/<fmt>/`."""
    return as_run(run).export_dir / _check_format(fmt)


def _check_format(fmt: str) -> str:
    if fmt not in FORMATS:
        raise ExportError(f"unknown export format {fmt!r}; choose one of: {', '.join(FORMATS)}")
    return fmt


def channel_affine(preprocess) -> tuple[np.ndarray, np.ndarray]:
    """(matrix 3x3, bias 3) with preprocess(x) == x @ matrix + bias per pixel; ExportError if it is not affine.

    Every glr backbone normalises each pixel by a fixed affine map of its 3 channels (a channel
    swap, a scale, an offset), so one Dense(3) layer with these weights does the same inside
    any runtime.
    """
    bias = np.asarray(preprocess(np.zeros((1, 1, 1, 3), np.float32)), np.float64).reshape(3)
    matrix = np.stack([np.asarray(preprocess(np.eye(3, dtype=np.float32)[i].reshape(1, 1, 1, 3)), np.float64)
                       .reshape(3) - bias for i in range(3)])
    probe = np.random.default_rng(0).uniform(0, 255, (1, 4, 4, 3)).astype(np.float32)
    if not np.allclose(np.asarray(preprocess(probe)), probe @ matrix + bias, rtol=1e-4, atol=1e-3):
        raise ExportError("the backbone's preprocessing is not a per-channel affine map; it cannot be built into an export")
    return matrix.astype(np.float32), bias.astype(np.float32)


def preprocessing_note(run: Run | str | os.PathLike) -> dict:
    """What an exported model expects: input size, the resize and centre crop, the normalisation it holds."""
    from glr.data.pipeline import load_size

    run = as_run(run)
    settings = run.settings()
    matrix, bias = channel_affine(settings.spec.preprocess)
    size = int(settings.input_size)
    return {
        "run_id": run.id, "backbone": settings.spec.name, "input_size": size, "resize_to": load_size(size),
        # JPEG's reduced-size decode asks for this side (glr.data.images.draft_side), as glr decodes.
        "jpeg_draft_to": draft_side(load_size(size)),
        "resample": "bilinear", "crop": "centre",
        "input": f"float32 RGB 0..255, shape (1, {size}, {size}, 3): the photo resized to "
                 f"{load_size(size)}x{load_size(size)} (bilinear, aspect not kept), then its centre "
                 f"{size}x{size} crop; this is glr's evaluation view",
        "normalisation": _NORMALISATION_TEXT.get(getattr(settings.spec.preprocess, "__name__", ""), "a per-channel affine map"),
        "normalisation_in_model": "yes: the model computes x @ matrix + bias per pixel itself (its first step)",
        "matrix": matrix.tolist(), "bias": bias.tolist(),
        "output": "softmax probabilities over the classes of labels.json, in index order",
    }


def portable_model(run: Run | str | os.PathLike, embedding: str | None = None):
    """The run's classifier with its normalisation as a first layer: RGB 0..255 in, probabilities out.

    With `embedding` ("single", "flip" or "rmac", the run's index's kind: glr.export_verdict), the model
    has two named outputs, `probabilities` and `embedding`: the vector the index searches with, as
    the Predictor embeds a photo.
    """
    import keras

    from glr.training.model import load_run_model, split_classifier

    run = as_run(run)
    if not run.has_model():
        raise ExportError(f"run {run.id} has no final model to export (is it finished?)")
    settings = run.settings()
    matrix, bias = channel_affine(settings.spec.preprocess)
    backbone, head = split_classifier(load_run_model(run))
    size = int(settings.input_size)
    inputs = keras.Input((size, size, 3), name="image")
    normalise = keras.layers.Dense(3, name="normalise", trainable=False)
    x = normalise(inputs)
    normalise.set_weights([matrix, bias])
    if embedding == "rmac":
        features, vector = _regional(backbone, x, size)
    else:
        features = backbone(x, training=False)
        if head_embedding(run) == "flip":  # a regional ("rmac") index's head classifies the same mean
            features = keras.layers.Average(name="flip_average")([features, backbone(mirror(x, size), training=False)])
        vector = features
    probabilities = head(features, training=False)
    if embedding is None:
        return keras.Model(inputs, probabilities, name="landmark_classifier")
    return keras.Model(inputs, {"probabilities": probabilities, "embedding": vector}, name="landmark_recognizer")


def _regional(backbone, x, size: int):
    """(the head's features, the R-MAC vector) of the flip-averaged map, with standard layers (glr.retrieval.regional)."""
    import keras

    from glr.backbones.features import spatial_model, windows

    map_model = spatial_model(backbone)
    if map_model is None:
        raise ExportError("the index is regional, but the backbone has no feature map to take regions of")
    centre = map_model(x, training=False)
    n, dim = int(centre.shape[1]), int(centre.shape[-1])
    # The mirror's map flipped back lines up with the photo's; their mean is what the Predictor pools.
    flipped_back = mirror(map_model(mirror(x, size), training=False), n, name="map_mirror")
    fmap = keras.layers.Average(name="flip_average")([centre, flipped_back])
    features = keras.layers.GlobalAveragePooling2D(name="whole_map")(fmap)
    sides = sorted({side for side, _, _ in windows(n)}, reverse=True)
    regions = [keras.layers.Reshape((-1, dim), name=f"regions_{side}")(
        keras.layers.AveragePooling2D(side, strides=1, padding="valid", name=f"windows_{side}")(fmap)) for side in sides]
    stacked = keras.layers.Concatenate(axis=1, name="regions")(regions) if len(regions) > 1 else regions[0]
    # Each region normalised, then their sum normalised (the mean has the same direction).
    unit = keras.layers.UnitNormalization(axis=-1, name="unit_regions")(stacked)
    summed = keras.layers.GlobalAveragePooling1D(name="region_sum")(unit)
    return features, keras.layers.UnitNormalization(axis=-1, name="rmac")(summed)


def mirror(x, width: int, name: str = "mirror"):
    """`x` (N, H, W, C) mirrored left to right with standard layers: a Dense along W whose weights reverse it.

    A Lambda or a custom layer would not load outside glr (Keras' safe mode) nor convert to
    every format; a permutation matrix does, at about 9% of Lite0's multiply-adds.
    """
    import keras

    along_width = keras.layers.Permute((1, 3, 2), name=f"{name}_width_last")(x)
    reverse = keras.layers.Dense(width, use_bias=False, trainable=False, name=name)
    flipped = reverse(along_width)
    reverse.set_weights([np.eye(width, dtype=np.float32)[::-1].copy()])
    return keras.layers.Permute((1, 3, 2), name=f"{name}_width_back")(flipped)


class _PredictorPass:
    """The Predictor's own forward pass, (probabilities, embedding) from RGB 0..255: what ONNX Runtime runs in glr.

    tf2onnx converted the two-output Keras model with a wrong batch size after other exports in
    the same process (its Dense layers on 4-D tensors); the Predictor's pass, with tf.reverse for
    the mirror, is the one glr converts and checks for every run.
    """

    def __init__(self, run: Run, embedding: str):
        if not run.has_model():
            raise ExportError(f"run {run.id} has no final model to export (is it finished?)")
        self.run, self.embedding = run, embedding

    def forward(self):
        """The pass as a TF function (loads TensorFlow and the model)."""
        from glr.predict import tf_forward

        settings = self.run.settings()
        return tf_forward(self.run, settings.spec, int(settings.input_size), self.embedding)[1]

    def write(self, target: Path, size: int) -> None:
        """`target`: the pass as ONNX, copied from glr's ONNX cache, where the Predictor finds it too.

        The same function of the same model file is the same file: converted once (seconds) for
        the Predict page and every export, and not at all when the Predictor has converted it.
        """
        from glr.backbones import onnx_backend

        cached = onnx_backend.forward_path(self.run.model_path, size, self.embedding)
        try:
            for attempt in range(2):  # the second time only after a damaged cached file was removed
                try:  # opened before it is copied: a cached file cut short is converted again
                    onnx_backend.onnx_forward(self.run.model_path, None if cached.is_file() else self.forward(), size,
                                              path=cached)
                    break
                except onnx_backend.CachedFileDamaged:
                    if attempt:
                        raise
            shutil.copyfile(cached, target)
        except OSError:  # a cache that cannot be written (a full or read-only disk): converted here alone
            onnx_backend.export(self.forward(), size, target)


def _write_model(model, fmt: str, folder: Path, size: int) -> None:
    """The model file (or folder) of one format inside `folder` (for ONNX `model` may be the Predictor's pass)."""
    target = folder / MODEL_NAMES[fmt]
    if fmt == "keras":
        model.save(target)
    elif fmt == "savedmodel":
        model.export(str(target), format="tf_saved_model", verbose=False)
    elif fmt == "tflite":
        import tensorflow as tf

        # From the model itself: the same signature (serving_default: image in, the named outputs out) as by
        # way of a SavedModel written first, in about 60% of the time (8 s against 13 for the tiny Lite0 run).
        target.write_bytes(tf.lite.TFLiteConverter.from_keras_model(model).convert())
    else:
        from glr.backbones.onnx_backend import export as onnx_export, name_outputs

        if isinstance(model, _PredictorPass):
            model.write(target, size)
        else:
            onnx_export(lambda x: model(x, training=False), size, target)
        # The names preprocessing.json gives (the Predictor's pass has two outputs, the classifier one).
        name_outputs(target, ["probabilities", "embedding"] if isinstance(model, _PredictorPass) else ["probabilities"])


def _check_replaceable(folder: Path) -> None:
    """ExportError unless `folder` is new, empty, or an earlier export holding only what an export writes.

    An earlier export is replaced whole, so a photo or a note someone put beside its predict.py
    would go with it; any other folder is never touched (`--out ~/Desktop`).
    """
    if not folder.exists():
        return
    if not folder.is_dir() or not ((folder / NOTE_NAME).is_file() or not any(folder.iterdir())):
        raise ExportError(f"{folder} exists and is not an export folder; give a new or empty folder")
    ours = {*MODEL_NAMES.values(), LABELS_NAME, NOTE_NAME, EXAMPLE_NAME, VERDICT_NAME, VECTORS_NAME, ITEMS_NAME,
            "__pycache__"}
    others = sorted(p.name for p in folder.iterdir() if p.name not in ours)
    if others:
        raise ExportError(f"{folder} is an earlier export that also holds {', '.join(others[:3])}"
                          f"{' ...' if len(others) > 3 else ''}, which exporting again would delete; "
                          "move them out or give another folder")


def _other_run_holding(folder: Path, run: Run) -> Path | None:
    """The run folder, other than `run`'s, that `folder` would be written into, else None."""
    from glr.submission import RUN_MARKS

    own = run.path.resolve()
    for parent in Path(os.path.abspath(folder)).parents:
        if all((parent / mark).is_file() for mark in RUN_MARKS):
            return None if parent.resolve() == own else parent
    return None


def export_run(run: Run | str | os.PathLike, fmt: str, out: str | os.PathLike | None = None) -> Path:
    """Write the run's classifier in format `fmt` with labels, the preprocessing note and predict.py; return the folder.

    The folder (default `<run>/export/<fmt>/`) is built beside its place and swapped in whole,
    so an interrupted export never leaves half of one.
    """
    run, fmt = as_run(run), _check_format(fmt)
    # Resolved: `--out .` (the empty folder one is in) has no name to build the new folder beside, and a link to a
    # folder was itself replaced by the export, its target left empty and `.LINK.old` beside it.
    folder = Path(os.path.realpath(out)) if out else export_folder(run, fmt)
    if other := _other_run_holding(folder, run):  # its export/keras was replaced by this run's model, unsaid
        raise ExportError(f"{folder} is inside the run {other}, another run than {run.id}; give a folder outside it")
    _check_replaceable(folder)
    try:
        # What it is made from, taken before the model and index are read: a change meanwhile leaves it out of date.
        note, labels = {**preprocessing_note(run), "made_from": _made_from(run, fmt)}, run.labels()
    except RunError as exc:
        raise ExportError(f"run {run.id} cannot be exported: {exc}") from None
    if labels is None:
        raise ExportError(f"run {run.id} has no labels to export (is it finished?)")
    verdict, verdict_line = portable_verdict(run)
    model = (_PredictorPass(run, verdict.embedding) if verdict and fmt == "onnx"
             else portable_model(run, verdict.embedding if verdict else None))
    try:
        _write_export(run, fmt, folder, model, note, labels, verdict, verdict_line)
    except GlrError:
        raise
    except OSError as exc:  # a results folder on a read-only share or a full disk: say where, not a traceback
        blocker = file_in_the_way(folder.parent)
        why = f"{blocker} is a file where a folder must be" if blocker else (exc.strerror or str(exc))
        raise ExportError(f"run {run.id}: the {fmt} export cannot be written to {folder} ({why}); free some space "
                          f"or fix that folder, or export elsewhere: python -m glr export {run.id} --format {fmt} "
                          "--out FOLDER") from None
    return folder


def _write_export(run: Run, fmt: str, folder: Path, model, note: dict, labels, verdict, verdict_line) -> None:
    """Build the export beside `folder` and swap it in whole (export_run's writing)."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    # Made as any folder is (the umask's mode, 0755 as a rule): mkdtemp's 0700 kept an export from everyone but its
    # maker (`--out` a shared model folder, a web server or another account serving it).
    tmp = folder.parent / f".{folder.name}.{uuid.uuid4().hex[:12]}"
    tmp.mkdir()
    try:
        try:
            _write_model(model, fmt, tmp, note["input_size"])
        except GlrError:
            raise
        except Exception as exc:  # noqa: BLE001 - converters fail in many ways; say which format and why
            detail = (str(exc).strip().splitlines() or [exc.__class__.__name__])[0][:200]
            raise ExportError(f"run {run.id}: the {fmt} export failed ({detail})") from None
        (tmp / LABELS_NAME).write_text(json.dumps(
            labels[["index", "landmark_id", "name"]].to_dict("records"), indent=1, ensure_ascii=False, default=int),
            encoding="utf-8")  # names in any script (東京, emoji): not the locale's encoding, which is cp1252 on Windows
        if verdict:
            verdict.write(tmp)
            note["output"] = (f"two outputs: 'probabilities' ({note['output']}) and 'embedding' (the vector "
                              f"{VECTORS_NAME} holds for each training photo; compare by cosine)")
        (tmp / EXAMPLE_NAME).write_text(example_script(fmt), encoding="utf-8")
        # What it holds, so export_ready can tell an export whose model or index was moved out since (a zip without them).
        files = sorted({*(p.name for p in tmp.iterdir()), NOTE_NAME})
        (tmp / NOTE_NAME).write_text(json.dumps({**note, "format": fmt, "model": MODEL_NAMES[fmt], "runtime": RUNTIMES[fmt],
                                                 "verdict": verdict_line, "files": files}, indent=1), encoding="utf-8")
        replace_folder(tmp, folder)  # a Ctrl-C during the swap keeps the old export
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def export_note(folder: str | os.PathLike) -> dict:
    """An export folder's preprocessing note: its input, outputs, runtime and what it holds of the verdict; a
    byte-order mark read past (glr.atomic.read_json), as predict.py reads it, where the export was called out of date."""
    return read_json(Path(folder) / NOTE_NAME)


def export_ready(run: Run | str | os.PathLike, fmt: str) -> bool:
    """Whether the run's default `fmt` export exists and is up to date (so zipping it is instant).

    Up to date: every file it was made with still there, made from the run's model, index, labels and config as they
    are now, with this glr's predict.py. An export made before the index was built or rebuilt (or removed) would hand
    out the old verdict, or none; one made before a class was renamed in labels.json, the old name."""
    run = as_run(run)
    folder = export_folder(run, fmt)
    try:
        note = export_note(folder)
        made, files = note.get("made_from"), note.get("files") or [MODEL_NAMES[fmt], LABELS_NAME, EXAMPLE_NAME]
        # A file moved out since (the model, the index): zipped as it was, the export had no model or no verdict.
        whole = all((folder / name).exists() for name in files)
    except (OSError, ValueError, AttributeError, TypeError):  # none yet, or a damaged note: export again
        return False
    return whole and made == _made_from(run, fmt)


def _made_from(run: Run, fmt: str) -> dict:
    """What an export is made from, as its note records it: when the model, index, labels and config last changed,
    and predict.py's digest."""
    from glr.training.run_table import labels_stamp

    script = hashlib.sha256(example_script(fmt).encode("utf-8")).hexdigest()[:16]
    labels, config = labels_stamp(run)
    return {"model": run.model_stamp(), "index": run.index_stamp(), "labels": labels, "config": config,
            "predict_py": script}


def export_zip(run: Run | str | os.PathLike, fmt: str) -> bytes:
    """The `fmt` export of a run as zip bytes (paths inside start with `<run_id>-<fmt>/`), exported if needed."""
    run = as_run(run)
    folder = export_folder(run, fmt)
    if not export_ready(run, fmt):
        export_run(run, fmt)
    # The export's own files: a CSV of predict.py's (`--out .` run there) or photos tried beside it stay on this machine.
    ours = set(export_note(folder).get("files") or ()) or None
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            if ours is None or path.relative_to(folder).parts[0] in ours:
                zf.write(path, arcname=f"{run.id}-{fmt}/{path.relative_to(folder).as_posix()}")
    return buffer.getvalue()


def example_script(fmt: str) -> str:
    """The text of predict.py for one format: standalone, only that format's runtime, PIL and numpy."""
    from glr.export_script import example_script as script

    return script(_check_format(fmt), RUNTIMES[fmt])

"""Take a run's classifier away: Keras, SavedModel, TFLite or ONNX, with its labels and a runnable example.

Every export takes the same input, so it can be used without glr: an RGB photo resized to a
square (`resize_to`, bilinear), centre-cropped to `input_size`, as float32 0..255 of shape
(1, input_size, input_size, 3). The backbone's normalisation (for example `(x - 127) / 128`
for EfficientNet-Lite) is built into the exported model as its first layer, `normalise`, a
fixed per-channel affine map. The output is the head's softmax over the run's classes. An
export folder holds the model, `labels.json` (class index -> landmark_id, name),
`preprocessing.json` (the note above, as data) and `predict.py`, a standalone example that
uses only that format's runtime, PIL and numpy to print the top-5 of a photo.

The export is the classifier head alone: the Predictor's kNN blend and its "not a known
landmark" verdict need the run's embedding index, which is not exported. A run whose head
classifies flip-averaged features (`glr.retrieval.flip`) is exported the same way: the
backbone sees the photo and its mirror image, and the head their mean, so the export
gives the Predictor's head probabilities. The mirror is a fixed linear map along the
width (plain `Permute` and `Dense` layers), so every format and runtime takes it.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from glr.data.images import draft_side
from glr.errors import GlrError
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
        "normalisation_in_model": "yes: the model's first layer 'normalise' computes x @ matrix + bias per pixel",
        "matrix": matrix.tolist(), "bias": bias.tolist(),
        "output": "softmax probabilities over the classes of labels.json, in index order",
    }


def portable_model(run: Run | str | os.PathLike):
    """The run's classifier with its normalisation as a first layer: RGB 0..255 in, probabilities out."""
    import keras

    from glr.training.model import load_model, split_classifier

    run = as_run(run)
    if not run.has_model():
        raise ExportError(f"run {run.id} has no final model to export (is it finished?)")
    settings = run.settings()
    matrix, bias = channel_affine(settings.spec.preprocess)
    backbone, head = split_classifier(load_model(run.model_path))
    size = int(settings.input_size)
    inputs = keras.Input((size, size, 3), name="image")
    normalise = keras.layers.Dense(3, name="normalise", trainable=False)
    x = normalise(inputs)
    normalise.set_weights([matrix, bias])
    features = backbone(x, training=False)
    if run_embedding(run) == "flip":  # a regional ("rmac") index's head classifies the same mean
        features = keras.layers.Average(name="flip_average")([features, backbone(mirror(x, size), training=False)])
    return keras.Model(inputs, head(features, training=False), name="landmark_classifier")


def run_embedding(run: Run) -> str:
    """How the run's head sees a photo: "flip" (the mean of the photo's and its mirror's features) or "single".

    A regional index ("rmac", glr.retrieval.regional) searches by other vectors, but its head sees "flip".
    """
    from glr.retrieval.flip import LEGACY_EMBEDDING, MIRRORED, run_embedding as embedding_of
    from glr.retrieval.run_index import load_retrieval

    try:
        kind = embedding_of(load_retrieval(run))
        return "flip" if kind in MIRRORED else kind
    except GlrError:
        return LEGACY_EMBEDDING


def mirror(x, width: int):
    """`x` (N, H, W, C) mirrored left to right with standard layers: a Dense along W whose weights reverse it.

    A Lambda or a custom layer would not load outside glr (Keras' safe mode) nor convert to
    every format; a permutation matrix does, at about 9% of Lite0's multiply-adds.
    """
    import keras

    along_width = keras.layers.Permute((1, 3, 2), name="width_last")(x)
    reverse = keras.layers.Dense(width, use_bias=False, trainable=False, name="mirror")
    flipped = reverse(along_width)
    reverse.set_weights([np.eye(width, dtype=np.float32)[::-1].copy()])
    return keras.layers.Permute((1, 3, 2), name="width_back")(flipped)


def _write_model(model, fmt: str, folder: Path, size: int) -> None:
    """The model file (or folder) of one format inside `folder`."""
    target = folder / MODEL_NAMES[fmt]
    if fmt == "keras":
        model.save(target)
    elif fmt == "savedmodel":
        model.export(str(target), format="tf_saved_model", verbose=False)
    elif fmt == "tflite":
        import tensorflow as tf

        with tempfile.TemporaryDirectory(dir=folder) as tmp:
            model.export(str(Path(tmp) / "sm"), format="tf_saved_model", verbose=False)
            target.write_bytes(tf.lite.TFLiteConverter.from_saved_model(str(Path(tmp) / "sm")).convert())
    else:
        from glr.backbones.onnx_backend import export as onnx_export

        onnx_export(lambda x: model(x, training=False), size, target)


def export_run(run: Run | str | os.PathLike, fmt: str, out: str | os.PathLike | None = None) -> Path:
    """Write the run's classifier in format `fmt` with labels, the preprocessing note and predict.py; return the folder.

    The folder (default `<run>/export/<fmt>/`) is built beside its place and swapped in whole,
    so an interrupted export never leaves half of one.
    """
    run, fmt = as_run(run), _check_format(fmt)
    folder = Path(out) if out else export_folder(run, fmt)
    # An earlier export is replaced whole; any other folder is never touched (`--out ~/Desktop`).
    if folder.exists() and not (folder.is_dir() and ((folder / NOTE_NAME).is_file() or not any(folder.iterdir()))):
        raise ExportError(f"{folder} exists and is not an export folder; give a new or empty folder")
    try:
        note, labels = preprocessing_note(run), run.labels()
    except RunError as exc:
        raise ExportError(f"run {run.id} cannot be exported: {exc}") from None
    if labels is None:
        raise ExportError(f"run {run.id} has no labels to export (is it finished?)")
    model = portable_model(run)
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    try:
        try:
            _write_model(model, fmt, tmp, note["input_size"])
        except GlrError:
            raise
        except Exception as exc:  # noqa: BLE001 - converters fail in many ways; say which format and why
            detail = (str(exc).strip().splitlines() or [exc.__class__.__name__])[0][:200]
            raise ExportError(f"run {run.id}: the {fmt} export failed ({detail})") from None
        (tmp / LABELS_NAME).write_text(json.dumps(
            labels[["index", "landmark_id", "name"]].to_dict("records"), indent=1, ensure_ascii=False, default=int))
        (tmp / NOTE_NAME).write_text(json.dumps({**note, "format": fmt, "model": MODEL_NAMES[fmt],
                                                 "runtime": RUNTIMES[fmt]}, indent=1))
        (tmp / EXAMPLE_NAME).write_text(example_script(fmt))
        old = folder.with_name(f".{folder.name}.old") if folder.exists() else None
        if old:
            shutil.rmtree(old, ignore_errors=True)
            folder.rename(old)
        tmp.rename(folder)
        if old:
            shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return folder


def export_ready(run: Run | str | os.PathLike, fmt: str) -> bool:
    """Whether the run's default `fmt` export exists and is newer than its model (so zipping it is instant)."""
    run = as_run(run)
    note = export_folder(run, fmt) / NOTE_NAME
    return note.is_file() and note.stat().st_mtime >= run.model_stamp()


def export_zip(run: Run | str | os.PathLike, fmt: str) -> bytes:
    """The `fmt` export of a run as zip bytes (paths inside start with `<run_id>-<fmt>/`), exported if needed."""
    run = as_run(run)
    folder = export_folder(run, fmt)
    if not export_ready(run, fmt):
        export_run(run, fmt)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            zf.write(path, arcname=f"{run.id}-{fmt}/{path.relative_to(folder).as_posix()}")
    return buffer.getvalue()


# --------------------------------------------------------------------------- the example beside each export

_LOADERS = {
    "keras": ("import keras", "model = keras.saving.load_model(HERE / \"model.keras\")\n"
              "    return lambda x: np.asarray(model(x, training=False))"),
    "savedmodel": ("import tensorflow as tf", "model = tf.saved_model.load(str(HERE / \"saved_model\"))\n"
                   "    return lambda x: model.serve(tf.constant(x)).numpy()"),
    "tflite": ("try:\n    from ai_edge_litert.interpreter import Interpreter\nexcept ImportError:  # TensorFlow's own\n"
               "    import tensorflow as tf\n\n    Interpreter = tf.lite.Interpreter",
               "interpreter = Interpreter(model_path=str(HERE / \"model.tflite\"))\n"
               "    interpreter.allocate_tensors()\n"
               "    source, target = interpreter.get_input_details()[0], interpreter.get_output_details()[0]\n\n"
               "    def run(x):\n"
               "        interpreter.set_tensor(source[\"index\"], x)\n"
               "        interpreter.invoke()\n"
               "        return interpreter.get_tensor(target[\"index\"])\n"
               "    return run"),
    "onnx": ("import onnxruntime as ort", "session = ort.InferenceSession(str(HERE / \"model.onnx\"), "
             "providers=[\"CPUExecutionProvider\"])\n"
             "    name = session.get_inputs()[0].name\n"
             "    return lambda x: session.run(None, {name: x})[0]"),
}

_EXAMPLE = '''"""Top-5 landmarks of a photo with the exported {fmt} model: python predict.py PHOTO [PHOTO...]

Standalone: needs numpy, Pillow and {runtime}; not glr.
The input is described in preprocessing.json beside this file.
"""

import json
import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

try:  # HEIC photos, the iPhone default, need a plugin: pip install pi-heif
    from pi_heif import register_heif_opener
    register_heif_opener()
except ImportError:
    pass

{imports}

HERE = Path(__file__).resolve().parent
NOTE = json.loads((HERE / "preprocessing.json").read_text())
LABELS = json.loads((HERE / "labels.json").read_text())


def load_model():
    """The model as a function: a float32 batch (N, S, S, 3) of RGB 0..255 in, probabilities out."""
    {loader}


def eval_view(path):
    """The photo as the model expects it: RGB, resized to resize_to (bilinear), the centre input_size crop."""
    big, size = NOTE["resize_to"], NOTE["input_size"]
    with Image.open(path) as img:
        if img.format == "JPEG":
            draft = NOTE.get("jpeg_draft_to", big)
            img.draft("RGB", (draft, draft))  # as glr decodes: a faster JPEG decode near the final size
        img.load()
        img = ImageOps.exif_transpose(img)
        if img.mode in ("RGBA", "LA", "PA", "P"):
            img = Image.alpha_composite(Image.new("RGBA", img.size, (255, 255, 255, 255)), img.convert("RGBA"))
        img = img.convert("RGB").resize((big, big), Image.Resampling.BILINEAR, reducing_gap=2.0)
    offset = (big - size) // 2
    array = np.asarray(img, dtype=np.float32)[offset:offset + size, offset:offset + size]
    return array[None]


def main(paths):
    """Print the top-5 of each photo: rank, name, landmark id, probability."""
    model = load_model()
    for path in paths:
        probs = np.asarray(model(eval_view(path)))[0]
        print(path)
        for rank, i in enumerate(np.argsort(-probs, kind="stable")[:5], 1):
            label = LABELS[int(i)]
            print(f"  {{rank}}. {{label['name']}} (landmark {{label['landmark_id']}}): {{probs[i]:.3f}}")


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    main(sys.argv[1:])
'''


def example_script(fmt: str) -> str:
    """The text of predict.py for one format: standalone, only that format's runtime, PIL and numpy."""
    imports, loader = _LOADERS[_check_format(fmt)]
    return _EXAMPLE.format(fmt=fmt, runtime=RUNTIMES[fmt], imports=imports, loader=loader)

"""Exports round-trip: each format, loaded by its own runtime without glr, ranks a photo as glr's Predictor does."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageOps

from glr import export
from glr.data.images import draft_side
from glr.errors import GlrError


@pytest.fixture(scope="module")
def photo(tmp_path_factory) -> Path:
    """A photo of one of the tiny run's classes, bigger than the input so resize and crop matter."""
    from conftest import write_image

    path = tmp_path_factory.mktemp("photo") / "red.jpg"
    # 140 px: JPEG's reduced-size decode gives 35 px when asked for draft_side(37) = 29, but 70 px when
    # asked for 37, so a script that decoded unlike glr would see other pixels.
    write_image(path, seed=3000, size=140, colour_seed=3)
    return path


@pytest.fixture(scope="module")
def head_top5(finished_run, photo):
    """glr's Predictor (TensorFlow, the head alone: an export has no embedding index) on the photo."""
    from glr.predict import Predictor

    predictor = Predictor(finished_run, backend="tf")  # the run's own embedding: a flip-averaged run exports flip-averaged
    predictor.recognizer = None
    (prediction,) = predictor.predict([str(photo)], k=5)
    return [landmark for landmark, _, _ in prediction.top], [p for _, _, p in prediction.top]


def view_from_note(folder: Path, photo: Path) -> np.ndarray:
    """The input the note describes, computed here with PIL and numpy only."""
    note = json.loads((folder / export.NOTE_NAME).read_text())
    big, size = note["resize_to"], note["input_size"]
    with Image.open(photo) as img:
        img.draft("RGB", (note["jpeg_draft_to"],) * 2)
        img = ImageOps.exif_transpose(img).convert("RGB").resize((big, big), Image.Resampling.BILINEAR, reducing_gap=2.0)
    offset = (big - size) // 2
    return np.asarray(img, np.float32)[None, offset:offset + size, offset:offset + size]


def run_format(fmt: str, folder: Path, x: np.ndarray) -> np.ndarray:
    """The probabilities from the format's own runtime."""
    if fmt == "keras":
        import keras

        return np.asarray(keras.saving.load_model(folder / "model.keras")(x, training=False))[0]
    if fmt == "savedmodel":
        import tensorflow as tf

        loaded = tf.saved_model.load(str(folder / "saved_model"))  # kept: its variables die with it
        return loaded.serve(tf.constant(x)).numpy()[0]
    if fmt == "tflite":
        from ai_edge_litert.interpreter import Interpreter  # LiteRT: TFLite's runtime without TensorFlow

        interpreter = Interpreter(model_path=str(folder / "model.tflite"))
        interpreter.allocate_tensors()
        interpreter.set_tensor(interpreter.get_input_details()[0]["index"], x)
        interpreter.invoke()
        return interpreter.get_tensor(interpreter.get_output_details()[0]["index"])[0]
    import onnxruntime as ort

    session = ort.InferenceSession(str(folder / "model.onnx"), providers=["CPUExecutionProvider"])
    return session.run(None, {session.get_inputs()[0].name: x})[0][0]


@pytest.mark.parametrize("fmt", export.FORMATS)
def test_each_format_gives_the_predictors_top5_in_its_own_runtime(finished_run, photo, head_top5, fmt, tmp_path):
    folder = export.export_run(finished_run, fmt, out=tmp_path / fmt)
    labels = json.loads((folder / export.LABELS_NAME).read_text())
    assert [row["index"] for row in labels] == list(range(len(labels)))
    note = json.loads((folder / export.NOTE_NAME).read_text())
    assert note["input_size"] == 32 and note["resize_to"] == 37 and note["format"] == fmt
    assert note["jpeg_draft_to"] == draft_side(37)  # the script decodes as glr does
    assert "127" in note["normalisation"]  # the tiny run's backbone is EfficientNet-Lite

    from glr.predict import eval_view

    view = view_from_note(folder, photo)
    assert np.abs(view[0] - eval_view(photo, 32)).max() <= 1  # the note's recipe is glr's own view
    probs = run_format(fmt, folder, view)
    ids, confidences = head_top5
    top = [labels[i]["landmark_id"] for i in np.argsort(-probs, kind="stable")[:5]]
    assert top == ids
    assert np.allclose(np.sort(probs)[::-1][:len(ids)], confidences, atol=1e-3)

    # The example beside the export runs with no glr on its path and names the same top-1.
    script = folder / export.EXAMPLE_NAME
    assert "import glr" not in script.read_text() and "from glr" not in script.read_text()
    done = subprocess.run([sys.executable, "-I", str(script), str(photo)], capture_output=True, text=True,
                          timeout=300, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    first = done.stdout.splitlines()[1]
    assert first.strip().startswith("1. ") and f"(landmark {ids[0]})" in first


def test_default_folder_and_zip(finished_run):
    data = export.export_zip(finished_run, "onnx")
    assert export.export_folder(finished_run, "onnx") == finished_run.export_dir / "onnx"
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        names = set(zf.namelist())
    prefix = f"{finished_run.id}-onnx/"
    assert {prefix + n for n in ("model.onnx", "labels.json", "preprocessing.json", "predict.py")} <= names
    stamp = (finished_run.export_dir / "onnx" / export.NOTE_NAME).stat().st_mtime
    export.export_zip(finished_run, "onnx")  # up to date: not exported again
    assert (finished_run.export_dir / "onnx" / export.NOTE_NAME).stat().st_mtime == stamp


def test_bad_requests_say_what_is_wrong(finished_run, tmp_path):
    with pytest.raises(GlrError, match="unknown export format 'pt'"):
        export.export_run(finished_run, "pt")
    from glr.training.run import Run

    precious = tmp_path / "Desktop"
    (precious / "notes.txt").parent.mkdir()
    (precious / "notes.txt").write_text("keep me")
    with pytest.raises(GlrError, match="is not an export folder"):
        export.export_run(finished_run, "keras", out=precious)
    assert (precious / "notes.txt").read_text() == "keep me"
    empty = Run(tmp_path / "runs" / "nothing")
    empty.path.mkdir(parents=True)
    with pytest.raises(GlrError, match="cannot be exported|no final model"):
        export.export_run(empty, "keras")


def test_channel_affine_matches_every_backbone():
    from glr.backbones import registry

    x = np.random.default_rng(1).uniform(0, 255, (1, 2, 2, 3)).astype(np.float32)
    for preprocess in (registry.caffe_preprocess, registry.identity_preprocess,
                       registry.get_backbone(registry.DEFAULT_BACKBONE).preprocess):
        matrix, bias = export.channel_affine(preprocess)
        assert np.allclose(x @ matrix + bias, preprocess(x), atol=1e-3)
    with pytest.raises(GlrError, match="not a per-channel affine"):
        export.channel_affine(lambda v: np.asarray(v, np.float32) ** 2)


def test_cli_export(finished_run, tmp_path, capsys):
    from glr.cli import main

    assert main(["export", str(finished_run.path), "--format", "keras", "--out", str(tmp_path / "k")]) == 0
    assert (tmp_path / "k" / "model.keras").is_file()
    assert str(tmp_path / "k") in capsys.readouterr().out
    assert main(["export", str(finished_run.path), "--format", "keras", "--results", str(tmp_path)]) == 0


def test_a_flip_averaged_run_exports_the_flip_average(finished_run, photo):
    """The export's head sees the mean of the photo's and its mirror's features, as the Predictor's does."""
    from glr.predict import Predictor, eval_view

    assert export.run_embedding(finished_run) == "flip"  # new runs are flip-averaged (glr.retrieval.flip)
    model = export.portable_model(finished_run)
    view = eval_view(photo, 32)[None].astype(np.float32)
    probs = np.asarray(model(view))
    mirrored = np.asarray(model(np.ascontiguousarray(view[:, :, ::-1])))
    assert np.allclose(probs, mirrored, atol=1e-5)  # blind to left and right, as flip averaging must be
    flip_probs, _ = Predictor(finished_run, backend="tf").forward(view)
    assert np.allclose(probs, flip_probs, atol=1e-5)
    single_probs, _ = Predictor(finished_run, backend="tf", embedding="single").forward(view)
    assert not np.allclose(probs, single_probs, atol=1e-7)  # the mirror pass really changed something

"""Exports round-trip: each format, loaded by its own runtime without glr, ranks a photo as glr's Predictor does."""

from __future__ import annotations

import functools
import io
import json
import re
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
def predictor(finished_run):
    """glr's Predictor (TensorFlow) of the tiny run, with its index: only read by the tests that compare with it."""
    from glr.predict import Predictor

    return Predictor(finished_run, backend="tf")  # the run's own embedding: a flip-averaged run exports flip-averaged


@pytest.fixture(scope="module")
def head_top5(predictor, photo):
    """glr's Predictor (TensorFlow, the head alone: an export has no embedding index) on the photo."""
    recognizer, predictor.recognizer = predictor.recognizer, None  # the same model: loading it again costs seconds
    try:
        (prediction,) = predictor.predict([str(photo)], k=5)
    finally:
        predictor.recognizer = recognizer
    return [landmark for landmark, _, _ in prediction.top], [p for _, _, p in prediction.top]


@pytest.fixture(scope="module")
def exported(finished_run, tmp_path_factory):
    """`exported(fmt)`: the tiny run's `fmt` export, made once for the module (a conversion takes seconds) and
    only read by the tests that use it."""
    folders = {}

    def folder(fmt: str) -> Path:
        if fmt not in folders:
            folders[fmt] = export.export_run(finished_run, fmt, out=tmp_path_factory.mktemp("exported") / fmt)
        return folders[fmt]

    return folder


def view_from_note(folder: Path, photo: Path) -> np.ndarray:
    """The input the note describes, computed here with PIL and numpy only."""
    note = json.loads((folder / export.NOTE_NAME).read_text())
    big, size = note["resize_to"], note["input_size"]
    with Image.open(photo) as img:
        img.draft("RGB", (note["jpeg_draft_to"],) * 2)
        img = ImageOps.exif_transpose(img).convert("RGB").resize((big, big), Image.Resampling.BILINEAR, reducing_gap=2.0)
    offset = (big - size) // 2
    return np.asarray(img, np.float32)[None, offset:offset + size, offset:offset + size]


@functools.lru_cache(maxsize=None)
def _keras_model(path: Path):
    """An exported model.keras loaded by Keras alone, once per file (two tests compare with the module's export)."""
    import keras

    return keras.saving.load_model(path)


def run_format(fmt: str, folder: Path, x: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """(the probabilities, the embedding or None) from the format's own runtime."""
    if fmt == "keras":
        out = _keras_model(folder / "model.keras")(x, training=False)
    elif fmt == "savedmodel":
        import tensorflow as tf

        loaded = tf.saved_model.load(str(folder / "saved_model"))  # kept: its variables die with it
        out = {k: v.numpy() for k, v in loaded.serve(tf.constant(x)).items()}
    elif fmt == "tflite":
        from ai_edge_litert.interpreter import Interpreter  # LiteRT: TFLite's runtime without TensorFlow

        runner = Interpreter(model_path=str(folder / "model.tflite")).get_signature_runner()
        out = runner(**{next(iter(runner.get_input_details())): x})
    else:
        import onnxruntime as ort

        session = ort.InferenceSession(str(folder / "model.onnx"), providers=["CPUExecutionProvider"])
        # By the names preprocessing.json gives; the batch dimension is named, not tf2onnx's `unk__729`.
        names = [o.name for o in session.get_outputs()]
        assert names in (["probabilities", "embedding"], ["probabilities"]), names
        assert [session.get_inputs()[0].name, session.get_inputs()[0].shape[0], session.get_outputs()[0].shape[0]] \
            == ["image", "batch", "batch"]
        out = dict(zip(names, session.run(None, {"image": x})))
    return np.asarray(out["probabilities"])[0], (np.asarray(out["embedding"])[0] if "embedding" in out else None)


def run_script(folder: Path, *photos: Path, cwd: Path) -> list[str]:
    """predict.py's output lines, run with no glr on its path."""
    script = folder / export.EXAMPLE_NAME
    assert "import glr" not in script.read_text() and "from glr" not in script.read_text()
    done = subprocess.run([sys.executable, "-I", str(script), *map(str, photos)], capture_output=True, text=True,
                          timeout=300, cwd=cwd)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.splitlines()


def verdict_line(prediction) -> str:
    """The start of predict.py's first line for a photo, as glr's Predictor judged it."""
    score = f"known score {prediction.known_score:.3f}"
    return f"NOT A KNOWN LANDMARK ({score} <" if prediction.unknown else f"({score})"


@pytest.mark.parametrize("fmt", export.FORMATS)
def test_each_format_gives_the_predictors_top5_in_its_own_runtime(finished_run, photo, head_top5, predictor, exported,
                                                                 fmt, tmp_path):
    folder = exported(fmt)
    labels = json.loads((folder / export.LABELS_NAME).read_text())
    assert [row["index"] for row in labels] == list(range(len(labels)))
    note = json.loads((folder / export.NOTE_NAME).read_text())
    assert note["input_size"] == 32 and note["resize_to"] == 37 and note["format"] == fmt
    assert note["jpeg_draft_to"] == draft_side(37)  # the script decodes as glr does
    assert "127" in note["normalisation"]  # the tiny run's backbone is EfficientNet-Lite

    from glr.predict import eval_view

    view = view_from_note(folder, photo)
    assert np.abs(view[0] - eval_view(photo, 32)).max() <= 1  # the note's recipe is glr's own view
    probs, embedding = run_format(fmt, folder, view)
    ids, confidences = head_top5
    top = [labels[i]["landmark_id"] for i in np.argsort(-probs, kind="stable")[:5]]
    assert top == ids
    assert np.allclose(np.sort(probs)[::-1][:len(ids)], confidences, atol=1e-3)

    # The run has an index, so the export carries the verdict: the embedding is the Predictor's.
    _, features = predictor.forward(view)
    assert embedding is not None and np.allclose(embedding, features[0], atol=1e-4)
    assert "with the verdict" in note["verdict"] and (folder / "verdict.json").is_file()

    # The example beside the export runs with no glr on its path: the same top-1 and the same verdict.
    (prediction,) = predictor.predict([str(photo)], k=5)
    lines = run_script(folder, photo, cwd=tmp_path)
    assert lines[0].startswith(f"{photo}  {verdict_line(prediction)}"), (lines[0], prediction.known_score)
    assert lines[1].strip().startswith("1. ") and f"(landmark {prediction.top[0][0]})" in lines[1]


def test_predict_py_says_when_a_photo_is_one_of_the_models_training_photos_as_glr_does(predictor, exported, photo,
                                                                                          tmp_path):
    """glr predict notes a photo whose nearest training photo is itself (similarity 0.999+); predict.py gave its
    verdict and top-5 with no such note."""
    from glr.evaluation.readout import similarity
    from glr.predict import TRAINING_PHOTO_NOTE

    train = predictor.recognizer.index.items.iloc[0]
    known, other = predictor.predict([str(train["path"]), str(photo)], k=5)
    assert known.training_photo["id"] == train["id"] and other.training_photo is None
    lines = run_script(exported("onnx"), Path(train["path"]), photo, cwd=tmp_path)
    note = TRAINING_PHOTO_NOTE.format(photo=f"training photo {train['id']}, {known.training_photo['name']}",
                                      similarity=similarity(known.training_photo["similarity"]))
    assert lines[0].startswith(f"{train['path']}  {verdict_line(known)}") and lines[1] == f"  note: {note}"
    assert [line for line in lines if "note:" in line] == [lines[1]]  # the other photo is none of them


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


def test_the_zip_unzipped_under_a_name_with_spaces_runs_from_any_folder_on_a_photo_given_relatively(
        finished_run, photo, predictor, tmp_path):
    """The Results page's zip as a user unzips it ("My exports/été 2026/"), predict.py run from their home folder
    on a photo named from there: its files are found beside the script, the photo from the current folder."""
    import shutil

    with zipfile.ZipFile(io.BytesIO(export.export_zip(finished_run, "onnx"))) as zf:  # the session's export, zipped
        zf.extractall(tmp_path / "My exports" / "été 2026")
    (folder,) = (tmp_path / "My exports" / "été 2026").iterdir()
    home = tmp_path / "home"
    (home / "Trip photos").mkdir(parents=True)
    shutil.copy(photo, home / "Trip photos" / "Red fort, 1st day.jpg")
    lines = run_script(folder, Path("Trip photos") / "Red fort, 1st day.jpg", cwd=home)
    (prediction,) = predictor.predict([str(photo)], k=5)
    assert lines[0].startswith(f"{Path('Trip photos') / 'Red fort, 1st day.jpg'}  {verdict_line(prediction)}")
    assert [line.split("(landmark ")[1].split(")")[0] for line in lines[1:4]] == [str(lm) for lm, _, _ in prediction.top[:3]]


def test_an_export_older_than_the_runs_index_or_glrs_predict_py_is_not_handed_out_again(finished_run, monkeypatch):
    """export_ready compared the export with the model's time only: one made before `glr retrieval` built or rebuilt
    the index was zipped again on the Results page with no verdict or the old one, and one made by an older glr kept
    its old predict.py (which read a TIFF's preview page), one made before a class was renamed its old name."""
    import os

    export.export_zip(finished_run, "onnx")  # the session's export, made if another test has not
    assert export.export_ready(finished_run, "onnx")
    index = finished_run.retrieval_path
    before = index.stat()
    try:
        os.utime(index, (before.st_atime, before.st_mtime + 60))  # the index rebuilt after the export
        assert not export.export_ready(finished_run, "onnx")
    finally:
        os.utime(index, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert export.export_ready(finished_run, "onnx")
    labels = finished_run.labels_path
    before = labels.stat()
    try:
        os.utime(labels, (before.st_atime, before.st_mtime + 60))  # a class renamed in labels.json since
        assert not export.export_ready(finished_run, "onnx")
    finally:
        os.utime(labels, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert export.export_ready(finished_run, "onnx")
    monkeypatch.setattr("glr.export_script.example_script", lambda fmt, runtime: "print('a newer predict.py')")
    assert not export.export_ready(finished_run, "onnx")



def test_an_export_into_the_folder_one_is_in_or_through_a_link_is_written_there(finished_run, tmp_path, monkeypatch):
    """`mkdir model && cd model && glr export RUN --out .` was a ValueError traceback ("PosixPath('.') has an empty
    name"): the new folder is built beside its target, and "." names none. `--out LINK` replaced the link with the
    export, left its target empty and a `.LINK.old` link beside it."""
    (tmp_path / "model").mkdir()
    monkeypatch.chdir(tmp_path / "model")
    folder = export.export_run(finished_run, "onnx", out=".")
    assert folder == tmp_path / "model" and (folder / "model.onnx").is_file() and (folder / "predict.py").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]  # nothing left beside it
    # A link to a folder (`~/models/current`): the export goes into its target, the link kept as it was.
    (tmp_path / "v2").mkdir()
    (tmp_path / "current").symlink_to("v2")
    folder = export.export_run(finished_run, "onnx", out=tmp_path / "current")
    assert (tmp_path / "current").is_symlink() and (tmp_path / "v2" / "model.onnx").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["current", "model", "v2"]


def test_an_export_whose_model_or_index_was_moved_out_is_made_again_not_zipped_without_it(finished_run):
    """export_ready read the note alone: with model.onnx (or the index) moved out of the default export, the Results
    page's zip held predict.py and labels.json but no model, and predict.py in it said the model is missing. The zip
    also held every other file in the folder: predict.py's CSV of someone's photos, the photos tried beside it."""
    export.export_zip(finished_run, "onnx")  # the session's export, made if another test has not
    folder = export.export_folder(finished_run, "onnx")
    assert export.export_ready(finished_run, "onnx")
    for name in ("model.onnx", "index_vectors.npy"):
        (folder / name).rename(folder.parent / f"moved-{name}")
        assert not export.export_ready(finished_run, "onnx")
        with zipfile.ZipFile(io.BytesIO(export.export_zip(finished_run, "onnx"))) as zf:
            assert f"{finished_run.id}-onnx/{name}" in zf.namelist()
        assert export.export_ready(finished_run, "onnx")
        (folder.parent / f"moved-{name}").unlink()
    # What someone put there since (predict.py's CSV, written with `--out .` in the folder; a photo tried) stays here.
    (folder / "predictions.csv").write_text("photo,rank\n")
    (folder / "tried.jpg").write_bytes(b"mine")
    try:
        with zipfile.ZipFile(io.BytesIO(export.export_zip(finished_run, "onnx"))) as zf:
            names = {name.split("/", 1)[1] for name in zf.namelist()}
    finally:
        (folder / "predictions.csv").unlink()
        (folder / "tried.jpg").unlink()
    assert "model.onnx" in names and "predictions.csv" not in names and "tried.jpg" not in names


def test_predict_py_applies_a_photos_colour_profile_as_glr_does(exported, tmp_path):
    """A photo with a Display-P3-like profile (here one with red and blue swapped) is seen in sRGB by both."""
    import importlib.util

    from conftest import SRGB_BLUE, SRGB_GREEN, SRGB_RED, rgb_profile

    from glr.predict import eval_view

    folder = exported("onnx")
    spec = importlib.util.spec_from_file_location("exported_predict", folder / "predict.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)  # reads preprocessing.json beside it; runs nothing else
    photo = tmp_path / "tagged.png"
    pixels = np.zeros((140, 140, 3), np.uint8)
    pixels[:, :70] = (255, 0, 0)
    pixels[:, 70:] = (0, 0, 255)
    Image.fromarray(pixels).save(photo, icc_profile=rgb_profile(SRGB_BLUE, SRGB_GREEN, SRGB_RED))
    view = script.eval_view(photo)[0]
    assert np.abs(view - eval_view(photo, 32)).max() <= 1
    assert view[16, 2, 2] > 200 and view[16, 2, 0] < 50  # the left half, red in the file, is blue in sRGB

def test_bad_requests_say_what_is_wrong(finished_run, exported, tmp_path):
    import shutil

    with pytest.raises(GlrError, match="unknown export format 'pt'"):
        export.export_run(finished_run, "pt")
    from glr.training.run import Run

    # Exporting again replaces an earlier export whole: a photo put beside its predict.py would be deleted.
    # The earlier export is a copy of the module's (an export of its own would cost seconds).
    earlier = Path(shutil.copytree(exported("keras"), tmp_path / "earlier"))
    (earlier / "my photo.jpg").write_bytes(b"mine")
    with pytest.raises(GlrError, match="also holds my photo.jpg, which exporting again would delete"):
        export.export_run(finished_run, "keras", out=earlier)
    assert (earlier / "my photo.jpg").read_bytes() == b"mine" and (earlier / "model.keras").is_file()
    (earlier / "my photo.jpg").unlink()
    assert export.export_run(finished_run, "keras", out=earlier) == earlier  # an export alone is replaced

    precious = tmp_path / "Desktop"
    (precious / "notes.txt").parent.mkdir()
    (precious / "notes.txt").write_text("keep me")
    with pytest.raises(GlrError, match="is not an export folder"):
        export.export_run(finished_run, "keras", out=precious)
    assert (precious / "notes.txt").read_text() == "keep me"
    # `--out OTHER_RUN/export/keras` replaced that run's export with this run's model, unsaid.
    other = Run.create(tmp_path / "results", {"train": {}}, run_id="other")
    theirs = Path(shutil.copytree(exported("keras"), other.path / "export" / "keras"))
    with pytest.raises(GlrError, match=re.escape(f"{theirs} is inside the run {other.path}, another run than "
                                                 f"{finished_run.id}; give a folder outside it")):
        export.export_run(finished_run, "keras", out=theirs)
    assert (theirs / "model.keras").read_bytes() == (exported("keras") / "model.keras").read_bytes()
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


def test_the_keras_predict_py_runs_a_compiled_step_not_an_eager_call(exported, photo):
    """Its eager `model(x)` took 0.45 s a photo (1,000 photos: 498 s, against 4.6 s for the TFLite export): a compiled
    step (predict_on_batch) takes a twentieth of that, with the same outputs."""
    import importlib.util
    import time

    folder = exported("keras")
    spec = importlib.util.spec_from_file_location("exported_keras_predict", folder / export.EXAMPLE_NAME)
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    model, view = script.load_model(), view_from_note(folder, photo)
    probs, embedding = model(view)  # the first call builds the step
    start = time.perf_counter()
    for _ in range(8):
        model(view)
    assert (time.perf_counter() - start) / 8 < 0.08  # here: 15 ms a photo, and 290 ms eager
    expected_probs, expected_embedding = run_format("keras", folder, view)
    assert np.allclose(probs, expected_probs, atol=1e-5) and np.allclose(embedding, expected_embedding, atol=1e-5)


def test_an_export_folder_gets_the_mode_any_new_folder_gets(exported, tmp_path):
    """It was 0700 (tempfile.mkdtemp's), so an export made with --out in a shared folder, or served by another
    account, could be read by its maker alone, where its files were 0644."""
    import stat

    (tmp_path / "plain").mkdir()
    mode = stat.S_IMODE((tmp_path / "plain").stat().st_mode)
    assert mode != 0o700, "the umask of this test run leaves nothing to compare"
    assert stat.S_IMODE(exported("keras").stat().st_mode) == mode


def test_cli_export(finished_run, tmp_path, capsys):
    from glr.cli import main

    assert main(["export", str(finished_run.path), "--format", "keras", "--out", str(tmp_path / "my k")]) == 0
    assert (tmp_path / "my k" / "model.keras").is_file()
    out = capsys.readouterr().out
    assert str(tmp_path / "my k") in out
    assert f"try it: python '{tmp_path / 'my k' / 'predict.py'}' PHOTO" in out  # pastes into a shell whole
    assert main(["export", str(finished_run.path), "--format", "keras", "--results", str(tmp_path)]) == 0


@pytest.fixture(scope="module")
def regional_predictor(regional_run):
    """glr's Predictor (TensorFlow) of the regional run: loaded once for both formats, only read."""
    from glr.predict import Predictor

    return Predictor(regional_run.path, backend="tf")


@pytest.mark.parametrize("fmt", ["tflite", "onnx"])
def test_a_regional_run_exports_its_regions_and_predict_py_gives_the_predictors_verdict(regional_run, regional_predictor,
                                                                                       fmt, tmp_path):
    """The R-MAC output (of standard Keras layers for TFLite, the Predictor's pass for ONNX) is the Predictor's
    vector, and predict.py calls unknown what the Predictor calls unknown."""
    from glr.demo.distractors import package_images
    from glr.predict import eval_view
    from glr.retrieval.run_index import load_retrieval

    assert load_retrieval(regional_run)["embedding"] == "rmac"
    folder = export.export_run(regional_run, fmt, out=tmp_path / fmt)
    assert json.loads((folder / "verdict.json").read_text())["embedding"] == "rmac"
    predictor = regional_predictor
    import pandas as pd

    photos = [Path(p) for p in pd.read_csv(regional_run.path / "val_predictions.csv")["path"][:2]]
    photos += [path for name, path in package_images() if name in ("skimage:astronaut", "skimage:coffee")]
    views = np.stack([eval_view(p, 96) for p in photos]).astype(np.float32)
    probs, vectors = predictor.forward(views)
    for view, p, v in zip(views, probs, vectors):
        mine, embedding = run_format(fmt, folder, view[None])
        assert np.allclose(mine, p, atol=1e-4) and np.allclose(embedding, v, atol=1e-4)
    lines = [line for line in run_script(folder, *photos, cwd=tmp_path) if not line.startswith("  ")]
    predictions = predictor.predict([str(p) for p in photos], k=5)
    assert any(p.unknown for p in predictions) and not all(p.unknown for p in predictions)  # both verdicts checked
    for line, photo, prediction in zip(lines, photos, predictions):
        assert line.startswith(f"{photo}  {verdict_line(prediction)}"), (line, prediction.known_score)


def test_without_an_index_or_over_its_size_the_export_is_the_classifier_alone(finished_run, tmp_path, monkeypatch):
    import shutil

    from glr import export_verdict
    from glr.training.run import Run

    monkeypatch.setattr(export_verdict, "MAX_EXPORTED_PHOTOS", 3)
    # The flip-averaged classifier alone, converted by tf2onnx (with a verdict, ONNX is the Predictor's pass).
    folder = export.export_run(finished_run, "onnx", out=tmp_path / "big")
    assert "more than the 3 an export carries" in export.export_note(folder)["verdict"]
    assert not (folder / "verdict.json").exists() and not (folder / "index_vectors.npy").exists()
    monkeypatch.undo()
    probs, embedding = run_format("onnx", folder, np.zeros((1, 32, 32, 3), np.float32))
    assert embedding is None and np.isclose(probs.sum(), 1, atol=1e-4)
    lines = run_script(folder, next(Path(finished_run.dataset_root()).rglob("*.jpg")), cwd=tmp_path)
    assert "known score" not in lines[0] and lines[1].strip().startswith("1. ")
    # A file that is not a photo is named and skipped; the others are still predicted; the exit code says so.
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"not a jpeg")
    done = subprocess.run([sys.executable, "-I", str(folder / export.EXAMPLE_NAME), str(broken), lines[0].strip()],
                          capture_output=True, text=True, timeout=300, cwd=tmp_path)
    # glr's words for it (were "not readable as a photo (UnidentifiedImageError: cannot identify image file ...)")
    assert done.returncode == 1 and f"{broken}: not an image but text, beginning 'not a jpeg'" in done.stderr, done.stderr[-2000:]
    assert done.stdout.splitlines()[0] == lines[0] and done.stdout.splitlines()[1].strip().startswith("1. ")
    # No index at all: the note says so (Keras: which format leaves the verdict out does not matter, ONNX is above).
    bare = Run(shutil.copytree(finished_run.path, tmp_path / "runs" / "bare", ignore=shutil.ignore_patterns("export")))
    bare.retrieval_path.unlink()
    bare_folder = export.export_run(bare, "keras", out=tmp_path / "bare-keras")
    assert export.export_note(bare_folder)["verdict"].startswith("classifier only: the run has no embedding index")
    assert (bare_folder / "model.keras").is_file()
    assert not (bare_folder / "verdict.json").exists() and not (bare_folder / "index_vectors.npy").exists()
    # A damaged index: the classifier still leaves, and the note says why the verdict did not.
    damaged = Run(shutil.copytree(finished_run.path, tmp_path / "runs" / "damaged", ignore=shutil.ignore_patterns("export")))
    (damaged.index_dir / "vectors.npy").write_bytes(b"not an array")
    folder = export.export_run(damaged, "keras", out=tmp_path / "damaged-keras")
    assert export.export_note(folder)["verdict"].startswith("classifier only: the run's index cannot be read")
    assert (folder / "model.keras").is_file() and not (folder / "verdict.json").exists()


def test_a_flip_averaged_run_exports_the_flip_average(finished_run, photo, predictor):
    """The export's head sees the mean of the photo's and its mirror's features, as the Predictor's does."""
    from glr.predict import Predictor, eval_view
    from glr.retrieval.flip import head_embedding

    assert head_embedding(finished_run) == "flip"  # new runs are flip-averaged (glr.retrieval.flip)
    model = export.portable_model(finished_run)
    view = eval_view(photo, 32)[None].astype(np.float32)
    probs = np.asarray(model(view))
    mirrored = np.asarray(model(np.ascontiguousarray(view[:, :, ::-1])))
    assert np.allclose(probs, mirrored, atol=1e-5)  # blind to left and right, as flip averaging must be
    flip_probs, _ = predictor.forward(view)  # the run's own embedding, whose head sees the flip average
    assert np.allclose(probs, flip_probs, atol=1e-5)
    single_probs, _ = Predictor(finished_run, backend="tf", embedding="single").forward(view)
    assert not np.allclose(probs, single_probs, atol=1e-7)  # the mirror pass really changed something


def test_predict_py_reads_phone_mpo_and_sixteen_bit_grey_as_glr_does_and_reports_a_bomb(tmp_path, capsys):
    """The template alone (no run needed): an Ultra HDR/MPO photo, a 16-bit grey scan, a decompression bomb."""
    import importlib.util

    from glr.export_script import example_script
    from glr.predict import eval_view

    size, big = 32, 37
    (tmp_path / "predict.py").write_text(example_script("onnx", "onnxruntime"))
    (tmp_path / export.NOTE_NAME).write_text(json.dumps({"resize_to": big, "input_size": size,
                                                         "jpeg_draft_to": draft_side(big)}))
    (tmp_path / "labels.json").write_text(json.dumps([{"index": 0, "landmark_id": 7, "name": "tower"}]))
    spec = importlib.util.spec_from_file_location("exported_predict_template", tmp_path / "predict.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    pixels = np.zeros((480, 640, 3), np.uint8)
    pixels[:240, :320], pixels[:240, 320:], pixels[240:, :320] = (255, 0, 0), (0, 255, 0), (0, 0, 255)
    photo = Image.fromarray(pixels)
    photo.save(tmp_path / "ultra_hdr.jpg", format="MPO", save_all=True, append_images=[photo.rotate(180)])
    grey = np.zeros((480, 640), np.uint16)
    grey[:, 320:], grey[:240, :320] = 65535, 32768
    Image.fromarray(grey).save(tmp_path / "scan.png")
    for name in ("ultra_hdr.jpg", "scan.png"):  # MPO was decoded in full, 16-bit grey clipped to white
        assert np.abs(script.eval_view(tmp_path / name)[0] - eval_view(tmp_path / name, size)).max() <= 1, name
    assert abs(script.eval_view(tmp_path / "scan.png")[0][8, 8, 0] - 128) <= 1
    bomb = tmp_path / "bomb.gif"
    bomb.write_bytes(b"GIF89a\xff\xff\xff\xff\x00\x00\x00,\x00\x00\x00\x00\xff\xff\xff\xff\x00\x02\x02D\x01\x00;")
    png_bomb = tmp_path / "bomb.png"
    Image.new("1", (10000, 10000)).save(png_bomb)  # 100 MP in a few kB: under Pillow's guard, over glr's
    from glr.data.sniff import jpeg_scans
    from test_images import _jpeg_of_many_scans

    scan_bomb = tmp_path / "scans.jpg"
    scan_bomb.write_bytes(_jpeg_of_many_scans(1024, 500))  # a real one of 30,000 scans took minutes to decode
    motion = tmp_path / "motion.jpg"  # a phone's motion photo: the picture, then its video (here random bytes)
    motion.write_bytes((tmp_path / "ultra_hdr.jpg").read_bytes()
                       + np.random.default_rng(0).integers(0, 256, 8 * 2**20, np.uint8).tobytes())
    for path in (motion, scan_bomb):
        assert script.jpeg_scans(path.read_bytes()) == jpeg_scans(path.read_bytes())
    script.load_model = lambda: (lambda x: (np.ones((len(x), 1), np.float32), None))
    assert script.main([str(bomb), str(png_bomb), str(scan_bomb), str(motion), str(tmp_path / "scan.png")]) == 3
    out, err = capsys.readouterr()
    assert str(motion) not in err  # its video's bytes are no scans
    from glr.errors import ImageError

    said = []
    for path in (bomb, png_bomb, scan_bomb):  # in glr's words (they were "not readable as a photo (ValueError: ...)")
        with pytest.raises(ImageError) as refused:
            eval_view(path, size)
        said.append(str(refused.value))
    assert err.splitlines() == said and "1. tower (landmark 7)" in out
    assert said[1] == f"{png_bomb}: 10000x10000 pixels is too large (limit 90 megapixels); possibly a decompression bomb"
    assert said[2].startswith(f"{scan_bomb}: a JPEG of 50") and said[0].endswith("possibly a decompression bomb")


@functools.lru_cache(maxsize=None)
def _compiled_script(fmt: str):
    """(predict.py's text for `fmt`, its code): compiled once, as 130 kB of source takes 30 ms and 150 tests load it."""
    from glr.export_script import example_script

    text = example_script(fmt, export.RUNTIMES[fmt])
    return text, compile(text, f"predict.py ({fmt} template)", "exec")


def template_script(tmp_path: Path, labels: list[dict], fmt: str = "onnx"):
    """predict.py of `fmt` with a tiny note and `labels` beside it, loaded as a module (no model, no run)."""
    import importlib.util

    text, code = _compiled_script(fmt)
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "predict.py").write_text(text, encoding="utf-8")
    (tmp_path / export.NOTE_NAME).write_text(json.dumps({"resize_to": 37, "input_size": 32, "jpeg_draft_to": draft_side(37)}))
    (tmp_path / "labels.json").write_text(json.dumps(labels, ensure_ascii=False), encoding="utf-8")
    spec = importlib.util.spec_from_file_location(f"exported_predict_{fmt}", tmp_path / "predict.py")
    script = importlib.util.module_from_spec(spec)  # __file__ is the file written here: it reads its note beside it
    exec(code, script.__dict__)  # what spec.loader.exec_module does, with the code compiled once
    return script


def test_predict_py_takes_a_folder_keeps_a_name_on_one_line_and_refuses_a_blank_photo_as_glr_does(tmp_path, capsys):
    """A folder was "not readable as a photo (IsADirectoryError)", a name with a newline split the listing, and a
    flat grey photo got a landmark where glr's Predictor says it is blank."""
    from conftest import write_image

    from glr.submission import scan_folder

    script = template_script(tmp_path / "export", [{"index": 0, "landmark_id": 5, "name": "Blue\nMosque, \"old\" 🕌"}])
    script.load_model = lambda: (lambda x: (np.ones((len(x), 1), np.float32), None))
    photos = tmp_path / "photos"
    write_image(photos / "a.jpg", seed=1, size=60)
    write_image(photos / "trip" / "day 2" / "b.png", seed=2, size=60)
    (photos / "notes.txt").write_text("not a photo")
    write_image(photos / "@eaDir" / "a.jpg" / "SYNOFILE_THUMB_M.jpg", seed=3)  # a NAS's thumbnail: passed over
    Image.new("RGB", (80, 60), (128, 128, 128)).save(photos / "trip" / "grey.jpg")
    assert script.main([str(photos)]) == 1  # the blank photo is not predicted
    out, err = capsys.readouterr()
    listed = [line for line in out.splitlines() if not line.startswith("  ")]
    assert listed == [str(photos / "a.jpg"), str(photos / "trip" / "day 2" / "b.png")]  # glr's order, images only
    assert listed == [p for p in scan_folder(photos)[0] if "grey" not in p]
    assert "  1. Blue Mosque, \"old\" 🕌 (landmark 5): 1.000" in out.splitlines()
    assert err.splitlines() == [f"  skipped {path}: {why}" for path, why in scan_folder(photos)[1]] + [  # as glr lists them
        f"{photos / 'trip' / 'grey.jpg'}: a blank photo (one flat colour): nothing in it to recognise"]
    assert err.splitlines()[0] == f"  skipped {photos / 'notes.txt'}: .txt is not an image type (.jpg, .jpeg, .jfif, .jpe, " \
        ".png, .webp, .heic, .heif, .avif, .bmp, .gif, .tif, .tiff, .ico)"
    from glr.data.images import BlankImageError
    from glr.predict import eval_view

    with pytest.raises(BlankImageError):  # glr says the same of the same photo
        eval_view(photos / "trip" / "grey.jpg", 32)
    (tmp_path / "nothing").mkdir()
    (tmp_path / "nothing" / "notes.txt").write_text("no photo")
    assert script.main([str(tmp_path / "nothing")]) == 1  # said, not an empty listing and success
    out, err = capsys.readouterr()
    assert out == "" and err.splitlines()[0].startswith(f"  skipped {tmp_path / 'nothing' / 'notes.txt'}: .txt is not")
    assert err.splitlines()[1].startswith(f"{tmp_path / 'nothing'}: no photos in this folder (.jpg, .jpeg")


@pytest.mark.parametrize("fmt", export.FORMATS)
def test_predict_py_without_its_runtime_says_what_to_install(tmp_path, fmt):
    template_script(tmp_path, [{"index": 0, "landmark_id": 5, "name": "x"}], fmt)
    hide = "sys.modules.update(dict.fromkeys(['onnxruntime', 'ai_edge_litert', 'ai_edge_litert.interpreter', 'tensorflow', 'keras']))"
    code = f"import runpy, sys; {hide}; sys.argv = ['predict.py', 'x.jpg']; runpy.run_path({str(tmp_path / 'predict.py')!r}, run_name='__main__')"
    done = subprocess.run([sys.executable, "-I", "-c", code], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr[-2000:]
    assert done.stderr.startswith(f"predict.py needs {export.RUNTIMES[fmt]} (")
    assert "pip install" in done.stderr


def test_predict_py_reads_its_files_as_utf8_and_survives_a_console_that_is_not(tmp_path):
    """labels.json was read in the locale's encoding (cp1252 on Windows: 東京 as mojibake), and a CJK or emoji
    name printed to such a console stopped the script with UnicodeEncodeError."""
    from conftest import write_image

    template_script(tmp_path, [{"index": 0, "landmark_id": 9, "name": "東京タワー 🗼"}])
    write_image(tmp_path / "a.jpg", seed=1, size=60)
    code = ("import importlib.util, sys, warnings, numpy, PIL.Image, PIL.ImageOps, onnxruntime\n"
            "spec = importlib.util.spec_from_file_location('p', 'predict.py'); m = importlib.util.module_from_spec(spec)\n"
            "with warnings.catch_warnings(record=True) as seen:\n"
            "    warnings.simplefilter('always', EncodingWarning)\n"
            "    spec.loader.exec_module(m)\n"
            "assert not [w for w in seen if w.category is EncodingWarning], [str(w.message) for w in seen]\n"
            "m.load_model = lambda: (lambda x: (numpy.ones((len(x), 1), numpy.float32), None))\n"
            "sys.exit(m.main(['a.jpg']))\n")
    import os

    env = dict(os.environ, PYTHONIOENCODING="ascii")  # a console that cannot show the name
    done = subprocess.run([sys.executable, "-X", "warn_default_encoding", "-c", code], capture_output=True, text=True,
                          timeout=120, cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "  1. \\u6771\\u4eac\\u30bf\\u30ef\\u30fc \\U0001f5fc (landmark 9): 1.000" in done.stdout.splitlines()


def test_an_onnx_export_and_the_predictor_share_one_conversion(finished_run, exported, photo, tmp_path, monkeypatch):
    """The ONNX export is the Predictor's pass of the same model file: converted once for both (seconds each time),
    through glr's ONNX cache; a damaged cached file is converted again, and a cache that cannot be written is passed
    by. The conversion is faked (a copy of a real one): what is checked is which conversions happen."""
    from glr.backbones import onnx_backend
    from glr.predict import Predictor
    from glr.retrieval.run_index import load_retrieval

    real = (exported("onnx") / "model.onnx").read_bytes()
    conversions = []

    def convert(forward, size, path):
        assert forward == "the Predictor's pass" and size == 32  # what the export hands the converter
        Path(path).parent.mkdir(parents=True, exist_ok=True)  # an OSError where the cache cannot be written
        Path(path).write_bytes(real)
        conversions.append(Path(path))

    monkeypatch.setattr(onnx_backend, "export", convert)
    # The pass itself loads the model (seconds, three times here) only for the converter, which is faked.
    monkeypatch.setattr(export._PredictorPass, "forward", lambda self: "the Predictor's pass")
    monkeypatch.setenv("GLR_CACHE_DIR", str(tmp_path / "cache"))
    folder = export.export_run(finished_run, "onnx", out=tmp_path / "first")
    cached = onnx_backend.forward_path(finished_run.model_path, 32, load_retrieval(finished_run)["embedding"])
    assert conversions == [cached] and (folder / "model.onnx").read_bytes() == real
    predictor = Predictor(finished_run, backend="onnx")  # the Predict page's first visitor: nothing to convert
    assert predictor.backend == "onnx" and len(conversions) == 1
    assert export.export_run(finished_run, "onnx", out=tmp_path / "second") and len(conversions) == 1
    from glr.predict import eval_view

    view = eval_view(photo, 32)[None].astype(np.float32)
    assert np.allclose(run_format("onnx", tmp_path / "second", view)[0], predictor.forward(view)[0][0], atol=1e-5)

    cached.write_bytes(real[:len(real) // 2])  # cut short: not copied, converted again
    folder = export.export_run(finished_run, "onnx", out=tmp_path / "third")
    assert conversions == [cached, cached] and (folder / "model.onnx").read_bytes() == real
    (tmp_path / "not a folder").write_text("")
    monkeypatch.setenv("GLR_CACHE_DIR", str(tmp_path / "not a folder"))  # the cache cannot be written
    folder = export.export_run(finished_run, "onnx", out=tmp_path / "fourth")
    assert len(conversions) == 3 and conversions[-1].parent.name.startswith(".fourth.")  # straight into the export
    assert (folder / "model.onnx").read_bytes() == real



def test_an_export_note_saved_with_a_byte_order_mark_is_read_as_predict_py_reads_it(tmp_path):
    """preprocessing.json saved by Notepad ("UTF-8 with BOM"): predict.py reads past the mark, glr's export_note raised
    ValueError, so export_ready called the export out of date and the Results page made it again."""
    (tmp_path / export.NOTE_NAME).write_bytes("\ufeff".encode() + b'{"input_size": 32, "made_from": {"model": "x"}}')
    assert export.export_note(tmp_path) == {"input_size": 32, "made_from": {"model": "x"}}

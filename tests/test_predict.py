"""glr.predict: top-k on good images, a message for bad ones (the rest still predicted), submission CSV."""

import functools
import io
import re
import os

import numpy as np
import pandas as pd
import pytest

from conftest import write_image
from glr.data.datasets import IMAGE_EXTENSIONS
from glr.errors import GlrError
from glr.predict import Predictor, eval_view


@pytest.fixture(scope="module")
def predictor(finished_run):
    return Predictor(finished_run.path)


def test_top_k_for_paths_bytes_and_uploads(predictor, finished_run, tmp_path):
    val = pd.read_csv(finished_run.path / "val_predictions.csv", dtype={"id": str})
    path = val["path"].iloc[0]
    upload = io.BytesIO(open(path, "rb").read())
    upload.name = "upload.jpg"
    results = predictor.predict([path, open(path, "rb").read(), upload], k=3)
    assert [r.ok for r in results] == [True, True, True]
    assert results[2].source == "upload.jpg"
    for r in results:
        assert len(r.top) == 3
        probs = [p for _, _, p in r.top]
        assert probs == sorted(probs, reverse=True) and 0.99 <= sum(probs) <= 1.0001
        assert r.top == results[0].top  # the same photo, however it arrives
    # The predictor's top-1 agrees with the trainer's own validation prediction.
    assert results[0].top[0][0] == int(val["pred_landmark_id"].iloc[0])
    assert abs(results[0].top[0][2] - float(val["confidence"].iloc[0])) < 1e-3


def test_bad_file_gets_its_own_message(predictor, finished_run, tmp_path):
    good = tmp_path / "good.jpg"
    write_image(good, seed=1)
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"%PDF-1.4 not a photo")
    results = predictor.predict([str(good), str(bad), str(tmp_path / "missing.jpg")])
    assert results[0].ok and len(results[0].top) == 3  # k is capped at the 3 classes
    assert results[1].error.endswith("not an image, it looks like a PDF document; use JPEG, PNG, WebP, HEIC, AVIF, GIF, BMP, TIFF or ICO")
    assert "file not found" in results[2].error


def test_a_blank_photo_is_not_predicted_and_says_why(predictor, tmp_path):
    from PIL import Image

    from glr.data.images import BLANK_MESSAGE

    path = tmp_path / "black.jpg"
    Image.new("RGB", (300, 200)).save(path)
    result = predictor.predict([str(path)])[0]
    assert not result.ok and result.error == f"{path}: {BLANK_MESSAGE}"


def test_folder_gives_submission_csv(predictor, tmp_path):
    folder = tmp_path / "photos"
    for i in range(3):
        write_image(folder / f"img{i}.jpg", seed=i)
    (folder / "broken.jpg").write_bytes(b"")
    out = tmp_path / "submission.csv"
    table, predictions = predictor.predict_folder(folder, out)
    written = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert list(written.columns) == ["id", "landmarks"]
    assert sorted(written["id"]) == ["broken", "img0", "img1", "img2"]
    row = written.set_index("id").loc["img0", "landmarks"].split()
    assert len(row) == 2 and int(row[0]) in {3, 5, 9} and 0 < float(row[1]) <= 1
    assert written.set_index("id").loc["broken", "landmarks"] == ""


def test_not_a_run(tmp_path):
    with pytest.raises(GlrError, match="not a finished run"):
        Predictor(tmp_path)


def test_eval_view_matches_pipeline(finished_run, tmp_path):
    from glr.data.pipeline import make_dataset

    path = tmp_path / "x.jpg"
    write_image(path, seed=3, size=80)
    direct = eval_view(str(path), 32).astype(np.float32)
    via_pipeline = next(iter(make_dataset([str(path)], input_size=32))).numpy()[0]
    np.testing.assert_array_equal(direct, via_pipeline)


# --- the folder: ids, skipped files, where the CSV goes ------------------------------------------


def test_folder_with_shared_stems_and_files_without_an_extension(predictor, tmp_path):
    from glr.submission import scan_folder

    folder = tmp_path / "photos"
    write_image(folder / "image.bmp", seed=1)
    write_image(folder / "image.webp", seed=2)
    write_image(folder / "photo.jpg", seed=3)
    (folder / "photo.jpg").rename(folder / "photo")  # a JPEG without an extension: read by its bytes, as training does
    (folder / "README").write_text("not a photo either")
    (folder / "notes.txt").write_text("not a photo")
    (folder / ".DS_Store").write_bytes(b"\0")
    (folder / "Thumbs.db").write_bytes(b"\0")  # Windows' thumbnail cache: the system's, passed over like .DS_Store
    images, skipped = scan_folder(folder)
    # `photo` was skipped ("no file extension, so its type is unknown"), where training read it by its first bytes.
    assert [p.rsplit("/", 1)[1] for p in images] == ["image.bmp", "image.webp", "photo"]
    assert [(p.rsplit("/", 1)[1], reason.split(",")[0]) for p, reason in skipped] == [
        ("README", "no file extension"), ("notes.txt", ".txt is not an image type (.jpg")]
    table, predictions = predictor.predict_folder(folder, tmp_path / "out.csv")
    assert table["id"].tolist() == ["image", "image.webp", "photo"] and all(p.ok for p in predictions)
    assert pd.read_csv(tmp_path / "out.csv", dtype=str)["id"].tolist() == ["image", "image.webp", "photo"]
    for name in ("image.bmp", "image.webp", "photo"):
        (folder / name).unlink()
    with pytest.raises(GlrError, match="no images found .*2 other file"):
        predictor.predict_folder(folder)


def test_a_photo_whose_name_is_not_utf8_is_predicted_under_a_readable_id(predictor, tmp_path):
    folder = tmp_path / "photos"
    write_image(folder / os.fsdecode(b"caf\xe9.jpg"), seed=1)  # Latin-1 bytes, as old cameras and zips write
    table, predictions = predictor.predict_folder(folder, tmp_path / "out.csv")
    assert table["id"].tolist() == ["caf\ufffd"] and predictions[0].ok
    assert pd.read_csv(tmp_path / "out.csv", dtype=str)["id"].tolist() == ["caf\ufffd"]


def test_spatial_verification_in_the_predictor(finished_run, predictor, tmp_path):
    """A run indexed with --verify: each prediction gets its nearest photos' inliers, and the best match is drawn.

    (The tiny 48 px photos have almost no SIFT features, so the counts are small here;
    tests/test_verify.py checks that they are high for the same scene and low for another.)"""
    import shutil

    from PIL import Image

    from glr.evaluation.finish import rebuild_index
    from glr.retrieval.run_index import load_retrieval

    copy = tmp_path / "run"
    shutil.copytree(finished_run.path, copy)
    result = rebuild_index(copy, verify=True)
    assert result["verification"]["k"] == 5 and (copy / "index" / "local_features.npz").is_file()
    assert load_retrieval(copy)["unknown"]["threshold"] == pytest.approx(result["unknown"]["threshold"])
    verifying = Predictor(copy)  # the same model file: the module's predictor's ONNX file serves it, nothing loaded
    assert verifying.recognizer.verifier is not None
    photo = verifying.recognizer.index.items["path"].iloc[0]
    [prediction] = verifying.predict([photo], similar=3)
    assert prediction.ok and len(prediction.inliers) == 5
    assert [row["path"] for row in prediction.inliers[:3]] == [row["path"] for row in prediction.similar]
    assert prediction.similar[0]["path"] == photo and all(row["inliers"] >= 0 for row in prediction.inliers)
    image, row = verifying.draw_best_match(photo, prediction)
    assert isinstance(image, Image.Image) and row == max(prediction.inliers, key=lambda r: r["inliers"])
    # Without it (the run's first index: the module's predictor), the same photo gets no inliers and nothing to draw.
    [plain] = predictor.predict([photo])
    assert plain.inliers == [] and verifying.draw_best_match(photo, plain) is None


def test_a_run_without_its_model_yet_says_its_state(finished_run, tmp_path):
    # A running or failed run has labels but no model.keras: this said "model.keras: model file
    # not found", as if a file had been lost, instead of that the run has not finished.
    import shutil

    from glr.training.run import Run

    run = Run(shutil.copytree(finished_run.path, tmp_path / finished_run.id))
    (run.path / "model.keras").unlink()
    run.update_status(state="failed", message="the disk is full")
    with pytest.raises(GlrError, match=re.escape(f"{run.path}: not a finished run (model.keras missing; the run is failed)")):
        Predictor(run)
    # A finished run whose model was deleted said "not a finished run (...; the run is finished)", and listed as finished.
    run.update_status(state="finished", message="")
    with pytest.raises(GlrError, match=re.escape(f"{run.path}: model.keras missing from this finished run (deleted or "
                                                 "moved?); put it back, or train again")):
        Predictor(run)


@pytest.mark.parametrize("change", ["fewer", "more"])
def test_labels_that_do_not_match_the_model_are_refused(finished_run, tmp_path, change):
    # labels.json from another run: with fewer classes than the model this was an IndexError traceback,
    # with more the model silently named only the first ones (the page said it knew 4 landmarks).
    import json
    import shutil

    from glr.training.run import Run

    run = Run(shutil.copytree(finished_run.path, tmp_path / finished_run.id))
    labels = json.loads(run.labels_path.read_text())
    labels = labels[:2] if change == "fewer" else labels + [dict(labels[-1], index=3, landmark_id=77, name="Extra")]
    run.labels_path.write_text(json.dumps(labels))
    for backend in ("onnx", "tf"):
        with pytest.raises(GlrError, match=f"the model has 3 classes but labels.json lists {len(labels)}"):
            Predictor(run, backend=backend)


def test_labels_or_settings_from_another_run_are_found_before_anything_is_loaded(finished_run, tmp_path, monkeypatch):
    # The class count was checked after loading the index, converting or loading the model and running a
    # forward pass: seconds (a child process converting to ONNX) to say what the model file says itself.
    import json
    import shutil

    from glr import predict
    from glr.atomic import write_bytes
    from glr.backbones import onnx_backend
    from glr.training.run import Run

    def loaded(*args, **kwargs):
        raise AssertionError("loaded before the labels were checked")

    for module, name in ((predict, "tf_forward"), (predict, "Recognizer"), (predict, "convert_in_child"),
                         (onnx_backend, "onnx_forward")):
        monkeypatch.setattr(module, name, loaded)
    run = Run(shutil.copytree(finished_run.path, tmp_path / finished_run.id))
    good = run.labels_path.read_text()
    run.labels_path.write_text(json.dumps(json.loads(good)[:2]))
    for backend in ("auto", "tf"):
        with pytest.raises(GlrError, match="the model has 3 classes but labels.json lists 2"):
            Predictor(run, backend=backend)
    run.labels_path.write_text(good)
    config = json.loads(run.config_path.read_text())
    config["train"]["input_size"] = 64  # the model takes 32 px: its forward pass failed in TensorFlow's own words
    run.config_path.write_text(json.dumps(config))
    with pytest.raises(GlrError, match="the model takes 32 px photos but config.json says 64"):
        Predictor(run)


def test_saved_shape_reads_the_model_file_without_loading_it(finished_run, tmp_path):
    from glr.errors import CheckpointError
    from glr.predict import saved_shape

    assert saved_shape(finished_run.model_path) == (32, 3)
    cut = tmp_path / "model.keras"
    cut.write_bytes(finished_run.model_path.read_bytes()[:1000])
    with pytest.raises(CheckpointError, match=re.escape(f"{cut}: not a .keras model file (damaged or incomplete?); "
                                                        "this run cannot predict until model.keras is restored")):
        saved_shape(cut)


@pytest.mark.parametrize("field, value, problem", [
    ("labels.json", "landmark_id", "invalid literal for int"),  # int("abc"): a ValueError traceback
    ("config.json", "input_size", "its input_size is 'abc', not a whole number of pixels"),  # the same, from the settings
    ("retrieval.json", "default_method", "its default_method is 'abc'"),  # a KeyError at the first photo
    ("retrieval.json", "known_head_weight", "could not convert"),  # a ValueError traceback
])
def test_a_field_edited_by_hand_is_named(finished_run, tmp_path, field, value, problem):
    import json
    import shutil

    from glr.training.run import Run

    run = Run(shutil.copytree(finished_run.path, tmp_path / finished_run.id))
    path = run.path / field
    data = json.loads(path.read_text())
    if field == "labels.json":
        data[0][value] = "abc"
    else:
        (data["train"] if field == "config.json" else data)[value] = "abc"
    path.write_text(json.dumps(data))
    if field == "retrieval.json":  # the head alone still predicts, and the note says which file and what to do
        predictor = Predictor(run)
        assert f"{path}: damaged ({problem}" in predictor.retrieval_problem and "glr retrieval" in predictor.retrieval_problem
        assert predictor.predict([str(finished_run.predictions()["path"].iloc[0])])[0].ok
        return
    with pytest.raises(GlrError, match=re.escape(str(path)) + f".*{problem}.*this run cannot predict until {field} is restored"):
        Predictor(run)


def test_a_run_whose_index_cannot_be_read_predicts_with_the_view_its_head_was_trained_on(finished_run, tmp_path):
    # With index/vectors.npy damaged, the head was given one view of the photo, not the mean with its mirror image it
    # was trained on (and the export gives): other probabilities than the same run's with its index.
    import shutil

    from glr.training.run import Run

    run = Run(shutil.copytree(finished_run.path, tmp_path / finished_run.id,
                              ignore=shutil.ignore_patterns("report", "*.png", "*.html")))
    (run.index_dir / "vectors.npy").write_bytes(b"garbage")
    damaged = Predictor(run, backend="tf")
    assert damaged.recognizer is None and damaged.embedding == "flip"
    from glr.predict import eval_view

    view = eval_view(str(finished_run.predictions()["path"].iloc[0]), damaged.input_size)[None]
    single, mean = (Predictor(finished_run, backend="tf", embedding=e).forward(view)[0] for e in ("single", "flip"))
    assert np.allclose(damaged.forward(view)[0], mean, atol=1e-6)
    assert not np.allclose(single, mean, atol=1e-6)  # the two views differ, or the test could not tell


# --- every file of a finished run damaged in turn: `python -m glr predict RUN PHOTO` says which and what to do ---

RUN_FILES = ["model.keras", "labels.json", "config.json", "retrieval.json", "index/items.csv", "index/vectors.npy",
             "status.json", "checkpoints/state.json", "ONNX"]
DAMAGES = ["deleted", "empty", "cut in half", "garbage"]


def damage(path, how: str) -> None:
    """Delete, empty, cut or overwrite a file (replaced, never written through: it may be a hard link)."""
    data = path.read_bytes()
    path.unlink()
    if how != "deleted":
        path.write_bytes({"empty": b"", "cut in half": data[:len(data) // 2], "garbage": bytes(range(256)) * 3}[how])


@functools.lru_cache(maxsize=1)
def converted_files(run_path: str) -> dict[str, bytes]:
    """The run's ONNX files, converted once: the index's embedding first, then the flip average its head sees (a run
    whose index cannot be read but whose retrieval.json says how it embedded), then one view (a run without one)."""
    files = [Predictor(run_path, embedding=embedding)._onnx_file() for embedding in (None, "flip", "single")]
    return {path.name: path.read_bytes() for path in files}


def damaged_run(finished_run, tmp_path, monkeypatch, name: str, how: str):
    """A copy of the finished run with one file damaged; "ONNX": its cached ONNX file, in a cache of its own.

    A conversion is then only a copy of the good file: the test checks what the predictor does, not tf2onnx.
    """
    import shutil

    from glr.atomic import write_bytes
    from glr.backbones import onnx_backend
    from glr.training.run import Run

    files = converted_files(str(finished_run.path))
    run = Run(shutil.copytree(finished_run.path, tmp_path / "runs" / finished_run.id,
                              ignore=shutil.ignore_patterns("report", "*.png", "*.html")))
    cache = tmp_path / "cache"
    (cache / "onnx").mkdir(parents=True)
    for file_name, data in files.items():
        (cache / "onnx" / file_name).write_bytes(data)
    monkeypatch.setenv("GLR_CACHE_DIR", str(cache))
    monkeypatch.setattr(onnx_backend, "export", lambda forward, size, path: write_bytes(path, files[path.name]))
    target = cache / "onnx" / next(iter(files)) if name == "ONNX" else run.path / name
    damage(target, how)
    return run, target


# What each damaged file must lead to: refused with the file named, or predicted (a note naming what is missing).
REFUSED = {"model.keras", "labels.json", "config.json"}
NOTED = {"retrieval.json": ("retrieval", "glr retrieval"), "index/items.csv": ("index", "glr retrieval"),
         "index/vectors.npy": ("index", "glr retrieval")}


@pytest.mark.parametrize("how", DAMAGES)
@pytest.mark.parametrize("name", RUN_FILES)
def test_predict_command_with_each_run_file_damaged(finished_run, tmp_path, monkeypatch, capsys, name, how):
    # An empty index/vectors.npy was an EOFError traceback; a damaged labels.json or config.json was
    # "config.json or labels.json is damaged" (which one? what to do?); a damaged cached ONNX file sent every
    # later load to TensorFlow with an ONNX Runtime error as its note.
    from glr import cli

    run, target = damaged_run(finished_run, tmp_path, monkeypatch, name, how)
    photo = str(finished_run.predictions()["path"].iloc[0])
    code = cli.main(["predict", str(run.path), photo])
    out, err = capsys.readouterr()
    if name in REFUSED:
        assert code == 2 and f"error: {run.path}" in err and name in err, err
        assert ("missing from this finished run" if how == "deleted" else "this run cannot predict until") in err
        return
    assert code == 0 and photo in out, err
    if name in NOTED:
        where, todo = NOTED[name]
        assert "note: no unknown verdict or similar photos" in err and where in err and todo in err, err
    else:  # the run's state files, or the cached ONNX file: converted again
        assert "note" not in err, err
    if name == "ONNX":
        assert target.stat().st_size > 1000  # converted again, not left damaged for the next load


def test_a_class_without_a_name_is_landmark_and_its_id_in_the_command(finished_run, tmp_path, capsys):
    # labels.json names of null, a number or none at all were printed as "None" or "nan", for the guesses and
    # for the similar photos (items.csv keeps the name the class had when indexed, as text: "None").
    import json
    import shutil

    from glr import cli

    copy = tmp_path / "runs" / finished_run.id
    shutil.copytree(finished_run.path, copy, ignore=shutil.ignore_patterns("report", "*.png", "*.html"))
    labels = json.loads((copy / "labels.json").read_text())
    labels[0]["name"], labels[1]["name"] = None, 42
    del labels[2]["name"]
    (copy / "labels.json").write_text(json.dumps(labels))
    items = pd.read_csv(copy / "index" / "items.csv", dtype=str)
    items.assign(name="None").to_csv(copy / "index" / "items.csv", index=False)
    photo = str(finished_run.predictions()["path"].iloc[0])
    assert cli.main(["predict", str(copy), photo, "--similar", "3"]) == 0
    out = capsys.readouterr().out
    names = [f"landmark {label['landmark_id']}" for label in labels]
    assert all(name in out for name in names) and "None" not in out and "nan" not in out and " 42" not in out, out
    assert Predictor(copy).predict([photo], similar=2)[0].similar[0]["name"] in names


def test_a_big_folder_is_decoded_a_batch_at_a_time(predictor, monkeypatch):
    # Every photo was decoded before the first was predicted: 10,000 photos held 1.5 GB of views at 224 px,
    # and the progress bar stood at 0 until all were decoded.
    from glr import predict

    events, decode, forward = [], predict.eval_view, predictor.forward
    monkeypatch.setattr(predict, "eval_view", lambda source, size: events.append("decode") or decode(source, size))
    monkeypatch.setattr(predictor, "forward", lambda views: events.append(len(views)) or forward(views))
    photo = io.BytesIO()
    from PIL import Image

    Image.fromarray(np.random.default_rng(0).integers(0, 256, (40, 40, 3), np.uint8)).save(photo, "PNG")
    sources = [photo.getvalue()] * (predict.BATCH_SIZE + 3) + [b"not a photo"]
    done = []
    results = predictor.predict(sources, progress=lambda n: done.append((n, events.count("decode"))))
    assert events == ["decode"] * predict.BATCH_SIZE + [predict.BATCH_SIZE] + ["decode"] * 4 + [3]
    assert done[0] == (predict.BATCH_SIZE, predict.BATCH_SIZE) and sum(n for n, _ in done) == len(sources)
    assert [r.ok for r in results] == [True] * (predict.BATCH_SIZE + 3) + [False]


def test_thousands_of_skipped_files_are_counted_not_listed(capsys):
    # A photo export with a .json beside each photo printed one "skipped" line per file.
    from glr import predict_command

    skipped = [(f"/p/{i}.json", ".json is not an image type") for i in range(10_000)] + [("/p/README", "no extension")]
    predict_command._say_skipped(skipped)
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == predict_command.SKIPPED_LISTED + 1 and lines[0] == "  skipped /p/0.json: .json is not an image type"
    assert lines[-1] == f"  skipped {len(skipped) - predict_command.SKIPPED_LISTED} more files that are not photos: " \
                        "9980 .json, 1 without an extension"
    predict_command._say_skipped(skipped[:2])
    assert capsys.readouterr().err.count("skipped") == 2


def test_a_damaged_local_features_file_is_a_note_and_the_photo_is_predicted(finished_run, tmp_path, monkeypatch, capsys):
    # An empty local_features.npz turned spatial verification off without a word (a cut one was a traceback).
    import json

    from glr import cli

    run, _ = damaged_run(finished_run, tmp_path, monkeypatch, "status.json", "deleted")
    retrieval = json.loads(run.retrieval_path.read_text())
    retrieval["verification"] = {"k": 5, "plain_threshold": retrieval["unknown"]["threshold"]}
    run.retrieval_path.write_text(json.dumps(retrieval))
    (run.index_dir / "local_features.npz").write_bytes(b"")
    photo = str(finished_run.predictions()["path"].iloc[0])
    assert cli.main(["predict", str(run.path), photo]) == 0
    out, err = capsys.readouterr()
    assert photo in out and "known score" in out
    assert (f"note: no spatial verification: {run.index_dir / 'local_features.npz'}: damaged (an empty file); rebuild "
            f"the index with `python -m glr retrieval {run.path} --verify`") in err, err


def test_a_training_photo_is_said_to_be_one_and_a_validation_photo_is_not(predictor, finished_run):
    val = finished_run.predictions()["path"].iloc[0]
    (unseen,) = predictor.predict([val], similar=1)
    assert unseen.training_photo is None and unseen.similar[0]["similarity"] < 0.999
    train = unseen.similar[0]["path"]  # its nearest training photo, given as a photo to predict
    (seen,) = predictor.predict([train])
    # Its nearest training photo is itself: the model learned the answer from it.
    assert seen.training_photo is not None and seen.training_photo["path"] == train
    assert seen.training_photo["similarity"] >= 0.999
    from glr.predict import training_photo_note

    assert training_photo_note(seen.training_photo).startswith("this is one of the model's training photos, or a copy")


def test_tf_forward_refuses_a_model_of_another_backbone_as_the_predictor_does(finished_run, tmp_path):
    # The exports build their TensorFlow graph with tf_forward, not through the Predictor: a MobileNetV3 model
    # copied into a Lite0 run was exported with Lite0's preprocessing, every answer wrong.
    from conftest import run_with_another_backbones_model
    from glr.predict import tf_forward

    run = run_with_another_backbones_model(finished_run, tmp_path)
    with pytest.raises(GlrError, match=r"the model is a mobilenet_v3_small classifier but config\.json says "
                                       r"efficientnet_lite0: the two files come from different runs"):
        tf_forward(run, run.settings().spec, 32, "single")


def test_the_training_photo_note_never_rounds_its_similarity_onto_1():
    # ":.3f" said "similarity 1.000" of a photo at 0.9996, where the listing beside it and predict.py say 0.9996.
    from glr.predict import training_photo_note

    note = training_photo_note({"path": "train/a.jpg", "name": "Tower", "similarity": 0.9996})
    assert "(train/a.jpg, Tower; similarity 0.9996): the model learned" in note
    assert "similarity 1.000)" in training_photo_note({"path": "a.jpg", "name": "T", "similarity": 1.0002})  # float32


def test_500_photos_sidecars_are_one_line_per_kind(tmp_path, capsys):
    # 500 photos exported with a .xmp and a .aae each printed 20 lines of ".xmp is not an image type" and a count.
    from glr import predict_command
    from glr.submission import scan_folder

    for i in range(500):
        for suffix in (".jpg", ".jpg.xmp", ".AAE"):
            (tmp_path / f"IMG_{i:03}{suffix}").write_bytes(b"")
    (tmp_path / "notes.txt").write_bytes(b"")
    found, skipped = scan_folder(tmp_path)
    predict_command._say_skipped(skipped)
    assert len(found) == 500 and capsys.readouterr().err.splitlines() == [
        f"  skipped {tmp_path / 'notes.txt'}: .txt is not an image type ({', '.join(IMAGE_EXTENSIONS)})",
        f"  1,000 sidecar files (e.g. '{tmp_path / 'IMG_000.AAE'}', '{tmp_path / 'IMG_000.jpg.xmp'}', "
        f"'{tmp_path / 'IMG_001.AAE'}'): a photo app's edits and metadata, written beside its photos (the photos are "
        "read); passed over"]


def test_an_old_run_that_named_two_look_alike_classes_once_predicts_them_apart(finished_run, tmp_path):
    # The Predict page showed "Big Ben" twice in the top-k of a run of folders `Big Ben` and `Big_Ben` made before
    # they were told apart: its labels.json says "Big Ben" for both.
    import shutil

    from test_class_names import like_an_old_folder_run

    copy = shutil.copytree(finished_run.path, tmp_path / "run", ignore=shutil.ignore_patterns("export"))
    expected = like_an_old_folder_run(copy)
    predictor = Predictor(copy)
    assert predictor.labels["name"].tolist() == expected
    photo = pd.read_csv(copy / "val_predictions.csv", dtype={"id": str})["path"].iloc[0]
    [result] = predictor.predict([photo], k=3)
    assert sorted(name for _, name, _ in result.top) == sorted(expected)

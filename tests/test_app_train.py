"""The Train page through AppTest: the training going on comes first, Start waits for it, the end is announced
(a toast on any page, next-step buttons), and runs can be renamed and deleted. Also the server's quiet settings.

No training runs here: a "running" run is a copy of the session's tiny finished run whose status names this
test process (alive) and which holds the results folder's lock, as a launched trainer does.
"""

from __future__ import annotations

import os
import shutil
import tomllib
from pathlib import Path

import pytest

from app_common import ENDED_KEY, PREDICT, RESULTS, TRAIN, WATCHED_KEY
from glr.training import launch
from glr.training.progress import PHASES
from glr.training.run import RUNS_SUBDIR, Run
from test_app_pages import APP, assert_no_exception, button, open_page, texts

RUN_ID = "20260101-000000-tiny"


@pytest.fixture
def results(monkeypatch, tmp_path, tiny_data, finished_run) -> Path:
    """A results folder holding a copy of the tiny finished run; the dataset in use is the tiny one."""
    folder = tmp_path / "results"
    shutil.copytree(finished_run.path, folder / RUNS_SUBDIR / RUN_ID)
    monkeypatch.setenv("GLR_RESULTS", str(folder))
    monkeypatch.setenv("GLR_DATA", str(tiny_data))
    return folder


@pytest.fixture
def training(results):
    """The run, made to look as if it trains now: status running (this process), epoch 2 of 4, the lock held."""
    run = Run.of(results, RUN_ID)
    run.update_status(state="running", pid=os.getpid(), phase=PHASES[1], unit="batch", epoch=1, epochs=4, step=3,
                      steps=10, stage_started="2026-01-01T00:00:00+00:00", finished=None, message="epoch 2 of 4")
    launch.acquire_lock(results, RUN_ID)
    yield run
    launch.release_lock(results, RUN_ID)


def finish(run: Run) -> None:
    """What the trainer does at its end: a final status, then it lets go of the lock."""
    run.update_status(state="finished", phase="done", step=None, steps=None, message="top-1 0.900, top-5 1.000")
    launch.release_lock(run.results_dir, run.id)


def subheaders(at) -> list[str]:
    return [h.value for h in at.subheader]


def test_a_training_run_comes_first_and_start_waits_for_it(training):
    at = open_page(TRAIN)
    heads = subheaders(at)
    assert heads[0] == f"Training now: {RUN_ID}" and heads.index("Configuration") > 0, heads
    # One progress bar, whose text and value agree: 1 epoch done, 3 of the second's 10 batches.
    assert len(at.progress) == 1 and at.progress[0].value == 32
    assert at.progress[0].proto.text == f"{PHASES[1]}: epoch 2 of 4"
    timing = texts(at.caption)
    assert "elapsed" in timing and "left in phase 1" in timing and "early stopping" in timing, timing
    assert button(at, "Stop")
    start = button(at, "Start training")
    assert start.disabled and RUN_ID in texts(at.info)
    assert f"Training {RUN_ID}" in texts(at.sidebar.info)  # the sidebar says so on every page
    # The run cannot be deleted while it trains.
    assert button(at, "Delete the run").disabled
    assert at.checkbox(key=f"train_delete_sure_{RUN_ID}").disabled


def test_the_end_of_a_training_is_announced_on_any_page(training):
    at = open_page(RESULTS)  # the user went on elsewhere while it trained
    assert at.session_state[WATCHED_KEY] == RUN_ID
    finish(training)
    at.run()
    assert_no_exception(at)
    toasts = [t.value for t in at.toast]
    assert any(f"Training {RUN_ID} finished: top-1 0.900" in t for t in toasts), toasts
    assert WATCHED_KEY not in at.session_state and at.session_state[ENDED_KEY] == RUN_ID
    at.run()
    assert not at.toast  # once


def test_after_the_end_the_train_page_offers_the_next_steps(training):
    at = open_page(TRAIN)
    finish(training)
    at.run()
    assert_no_exception(at)
    assert any("finished" in t.value for t in at.toast)
    heads = subheaders(at)
    assert heads[0] == f"Training {RUN_ID}: finished", heads
    assert not button(at, "Start training").disabled
    assert not [b for b in at.button if b.label == "Stop"]
    button(at, "Try it on photos").click().run()
    assert_no_exception(at)
    assert at.session_state["predict_run"] == RUN_ID and at.title[0].value == "Predict"


def test_the_problems_with_the_data_show_while_it_trains(training):
    at = open_page(TRAIN)
    assert not [e for e in at.expander if e.label.startswith("Problems with the data")]
    training.add_data_problem("left out 2 images that could not be decoded (e.g. 'a.jpg', 'b.jpg')")
    at.run()
    assert_no_exception(at)
    panel = next(e for e in at.expander if e.label == "Problems with the data (1)")
    assert "left out 2 images that could not be decoded" in panel.markdown[0].value


def test_see_its_results_opens_the_results_page_on_the_run(results):
    at = open_page(TRAIN)
    button(at, "See its results").click().run()  # the finished run, selected in the run list
    assert_no_exception(at)
    assert at.title[0].value == "Results" and at.session_state["results_runs"] == [RUN_ID]


def test_rename_a_run(results):
    at = open_page(TRAIN)
    at.text_input(key=f"train_name_{RUN_ID}").input("  baseline,   40 epochs ")
    button(at, "Save the name").click().run()
    assert_no_exception(at)
    assert Run.of(results, RUN_ID).name() == "baseline, 40 epochs"
    assert f"Renamed {RUN_ID}" in texts(at.success)
    assert at.selectbox[-1].format_func(RUN_ID) == f"baseline, 40 epochs · {RUN_ID} (finished)"
    at.text_input(key=f"train_name_{RUN_ID}").input("")
    button(at, "Save the name").click().run()
    assert Run.of(results, RUN_ID).name() is None


def test_delete_a_run_after_confirming(results):
    at = open_page(TRAIN)
    delete = button(at, "Delete the run")
    assert delete.disabled  # not before the confirmation is ticked
    at.checkbox(key=f"train_delete_sure_{RUN_ID}").check().run()
    assert not button(at, "Delete the run").disabled
    button(at, "Delete the run").click().run()
    assert_no_exception(at)
    assert not (results / RUNS_SUBDIR / RUN_ID).exists()
    assert f"Deleted {RUN_ID}" in texts(at.success) and "No runs yet" in texts(at.info)


def test_the_server_does_not_watch_files_for_a_user():
    """A user's `streamlit run app.py` watches no files: the watcher overflowed inotify on the checkout."""
    config = tomllib.loads((APP.parent / ".streamlit" / "config.toml").read_text())
    assert config["server"]["fileWatcherType"] == "none" and config["server"]["runOnSave"] is False
    text = (APP.parent / ".streamlit" / "config.toml").read_text() + (APP.parent / "README.md").read_text()
    assert "--server.fileWatcherType" in text and "--server.runOnSave true" in text  # how a developer turns it on


def test_two_sessions_press_start_one_training_starts_the_other_is_told(results, monkeypatch):
    """Two users on the Train page, both seeing Start enabled, press it one after the other: one training."""
    from test_runs import FAKE

    real_launch = launch.launch

    def slow_fake(results_dir, config=None, **kwargs):  # the fake trainer, slow enough to still run when B presses
        return real_launch(results_dir, {**config, "steps": 400} if config else config, argv_prefix=FAKE, **kwargs)

    monkeypatch.setattr(launch, "launch", slow_fake)
    first, second = open_page(TRAIN), open_page(TRAIN)  # both opened before anyone pressed Start
    assert not button(first, "Start training").disabled and not button(second, "Start training").disabled
    button(first, "Start training").click().run()
    assert_no_exception(first)
    active = [Run.of(results, r) for r in os.listdir(results / RUNS_SUBDIR) if r != RUN_ID]
    assert len(active) == 1
    try:
        button(second, "Start training").click().run()
        assert_no_exception(second)
        assert [r for r in os.listdir(results / RUNS_SUBDIR) if r != RUN_ID] == [active[0].id]  # still one
        told = texts(second.error) + texts(second.info)
        assert f"another training is running: {active[0].id}" in told or \
            f"Start is disabled while {active[0].label()} trains" in told, told
        assert button(second, "Start training").disabled
    finally:
        launch.stop(active[0], timeout=20, wait=True)


@pytest.mark.parametrize("workers", [1, 2])
def test_start_a_run_with_one_or_two_workers(results, monkeypatch, workers):
    started = []

    def fake_launch(results_dir, config, **options):  # records the request; no training process starts
        started.append(options)
        return Run.create(results_dir, config)

    monkeypatch.setattr(launch, "launch", fake_launch)
    at = open_page(TRAIN)
    at.radio(key="train_workers").set_value(workers).run()
    button(at, "Start training").click().run()
    assert_no_exception(at)
    assert started == [{"workers": workers}]


@pytest.mark.parametrize("epochs, expected", [(None, "auto"), (5, 5)])
def test_start_with_the_defaults_runs_autos_longer_phase_2_on_a_small_dataset(results, monkeypatch, epochs, expected):
    from glr.training.settings import AUTO_MAX_FINE_TUNE_EPOCHS

    started = []

    def fake_launch(results_dir, config, **options):
        started.append(config)
        return Run.create(results_dir, config)

    monkeypatch.setattr(launch, "launch", fake_launch)
    at = open_page(TRAIN)
    assert at.toggle(key="train_fine_tune").value  # the tiny dataset: fine-tuning is cheap, so on
    assert f"fine-tuning {AUTO_MAX_FINE_TUNE_EPOCHS} epochs" in texts(at.caption)
    box = at.number_input(key="train_ft_epochs")  # empty, saying what it runs, as the caption does
    assert box.value is None and box.proto.placeholder == f"auto: {AUTO_MAX_FINE_TUNE_EPOCHS}"
    if epochs is not None:  # the user's own choice is run as given
        at.number_input(key="train_ft_epochs").set_value(epochs).run()
    button(at, "Start training").click().run()
    assert_no_exception(at)
    train = started[0]["train"]
    assert train["fine_tune"] is True
    assert train["fine_tune_epochs"] == (AUTO_MAX_FINE_TUNE_EPOCHS if expected == "auto" else expected)


def test_a_results_folder_that_is_a_file_is_named_not_a_traceback(monkeypatch, tmp_path, tiny_data):
    from app_common import HOME

    blocker = tmp_path / "results"
    blocker.write_text("not a folder")
    monkeypatch.setenv("GLR_RESULTS", str(blocker / "sub"))
    monkeypatch.setenv("GLR_DATA", str(tiny_data))
    at = open_page(TRAIN)
    assert f"{blocker} is a file, not a folder" in texts(at.sidebar.error)  # said at once, on every page
    button(at, "Start training").click().run()
    assert_no_exception(at)  # was NotADirectoryError
    assert f"cannot be made: {blocker} is a file, not a folder" in texts(at.error)
    at = open_page(HOME)
    button(at, "Run the whole demo").click().run()
    assert_no_exception(at)  # was FileExistsError, after a minute of drawing the demo
    assert f"{blocker} is a file, not a folder: no run can be saved" in texts(at.main.error)


def test_start_with_settings_curation_refuses_says_why_and_makes_no_run(monkeypatch, tmp_path, tiny_data):
    from glr.training.run_table import list_runs

    monkeypatch.setenv("GLR_RESULTS", str(tmp_path / "results"))
    monkeypatch.setenv("GLR_DATA", str(tiny_data))
    at = open_page(TRAIN)
    at.number_input(key="train_min_images").set_value(100)
    button(at, "Start training").click().run()
    assert_no_exception(at)
    assert "no class has at least 100 images" in texts(at.error)
    assert list_runs(tmp_path / "results").empty  # was a run that failed in its trainer


def test_a_run_name_with_markdown_shows_as_written(results):
    at = open_page(TRAIN)
    at.text_input(key=f"train_name_{RUN_ID}").input("**big** <b>x</b> $y$")
    button(at, "Save the name").click().run()
    box = at.checkbox(key=f"train_delete_sure_{RUN_ID}")
    assert box.label.startswith(r"Yes, delete \*\*big\*\* \<b\>x\</b\> \$y\$ · ")  # was bold, a tag and maths
    box.check().run()
    button(at, "Delete the run").click().run()
    assert_no_exception(at)
    assert rf"Deleted \*\*big\*\* \<b\>x\</b\> \$y\$ · {RUN_ID}" in "\n".join(s.value for s in at.success)  # with its name


def test_the_two_toggles_wrap_in_a_narrow_window_instead_of_being_cut(results):
    from test_app_results import _parents_of

    # In a fourth column, an 800 px window with the sidebar open cut them to "Augmen…" and "Fine-…" (Chromium).
    found = dict(_parents_of(open_page(TRAIN).main, {"toggle"}))
    for label in ("Augmentation (crop and flip)", "Fine-tune the backbone"):
        flex = found[label].flex_container if "flex_container" in found[label].DESCRIPTOR.fields_by_name else None
        assert flex is not None and flex.wrap and flex.direction == flex.HORIZONTAL, label


def test_next_step_buttons_and_the_empty_states_buttons_wrap_instead_of_being_cut(results, monkeypatch, tmp_path):
    from test_app_results import _parents_of

    def flex_of(at, label):
        parent = dict(_parents_of(at.main, {"button", "page_link"}))[label]
        return parent.flex_container if "flex_container" in parent.DESCRIPTOR.fields_by_name else None

    # In narrow columns an 800 px window cut them to "Ru…" and "Configu" (seen in Chromium).
    at = open_page(TRAIN)
    for label in ("See its results", "Save the name"):  # "Save the name" was cut to "Save t…" in a quarter column
        flex = flex_of(at, label)
        assert flex is not None and flex.direction == flex.HORIZONTAL and flex.wrap, label
    monkeypatch.setenv("GLR_RESULTS", str(tmp_path / "empty"))
    at = open_page(RESULTS)
    for label in ("Run the whole demo", "Configure a training"):
        flex = flex_of(at, label)
        assert flex is not None and flex.direction == flex.HORIZONTAL and flex.wrap, label


def stale_click(widget):
    """A click the browser sent before the rerun that drew `widget` disabled (or hid it): AppTest refuses a plain
    click on a disabled widget, as a browser does once it has drawn it so."""
    widget._value = True  # what Button.click() sets
    return widget


@pytest.fixture
def fake_launches(results, monkeypatch):
    """Start launches the fake trainer, slow enough (20 s) to still run while the test clicks; stopped at the end."""
    from test_runs import FAKE

    real_launch, started = launch.launch, []

    def slow_fake(results_dir, config=None, **kwargs):
        run = real_launch(results_dir, {**config, "steps": 400} if config else config, argv_prefix=FAKE, **kwargs)
        started.append(run)
        return run

    monkeypatch.setattr(launch, "launch", slow_fake)
    yield started
    for run in started:
        launch.stop(run, timeout=20, wait=True)


def test_a_double_click_on_start_starts_one_run_and_follows_it(fake_launches):
    """The second click of a double click lands before the rerun that draws Start disabled.

    In that rerun the page sees its own run training and draws Start disabled, and Streamlit (1.67) drops the
    value a disabled widget reports: one run, followed, no "another training is running" about the user's own
    run. Seen the same in Chromium (a double click, and two clicks 0.05-1 s apart).
    """
    at = open_page(TRAIN)
    button(at, "Start training").click().run()
    assert_no_exception(at)
    assert len(fake_launches) == 1
    mine = fake_launches[0]
    stale_click(button(at, "Start training")).run()
    assert_no_exception(at)
    assert len(fake_launches) == 1 and not at.error, texts(at.error)
    assert texts(at.subheader).startswith(f"Training now: {mine.label()}") and button(at, "Stop")


def test_start_on_a_one_class_dataset_says_why_and_makes_no_run(monkeypatch, tmp_path):
    from conftest import write_image
    from glr.training.run_table import list_runs

    for i in range(6):
        write_image(tmp_path / "one" / "Tower" / f"{i}.jpg", seed=i)
    monkeypatch.setenv("GLR_RESULTS", str(tmp_path / "results"))
    monkeypatch.setenv("GLR_DATA", str(tmp_path / "one"))
    started = []
    monkeypatch.setattr(launch, "launch", lambda *a, **k: started.append(a))  # no trainer, whatever the page does
    at = open_page(TRAIN)
    button(at, "Start training").click().run()
    assert_no_exception(at)
    # Was a run made and started, which failed a few seconds later in its trainer with this message.
    assert "only 1 class ('Tower') left to train on, and a classifier needs at least 2" in texts(at.error)
    assert started == [] and list_runs(tmp_path / "results").empty


def test_a_stopping_run_offers_no_second_stop_and_says_start_comes_back(training):
    at = open_page(TRAIN)
    button(at, "Stop").click().run()  # Start, then at once Stop: the trainer still has its batch to finish
    assert_no_exception(at)
    assert training.status()["state"] == "stopping"
    # Were a second Stop button and "Stop it above, or wait for it to end" about the run just stopped.
    assert not [b for b in at.button if b.label == "Stop"]
    assert f"{RUN_ID} is stopping: Start comes back once it has stopped" in texts(at.info)
    assert "finishes its current batch, saves a checkpoint" in texts(at.caption)
    assert button(at, "Start training").disabled
    finish(training)  # it ends as the trainer ends it; Start is back
    training.update_status(state="stopped", message="stopped on request")
    at.run()
    assert_no_exception(at)
    assert not button(at, "Start training").disabled


def test_a_training_says_its_dataset_once_another_is_in_use(training, tmp_path):
    from conftest import make_gldv2

    at = open_page(TRAIN)
    assert "It trains on" not in texts(at.caption)  # the dataset in use: nothing to say
    other = make_gldv2(tmp_path / "other", {1: 5, 2: 5})
    at.switch_page("pages/1_dataset.py").run()
    at.text_input(key="dataset_path").input(str(other)).run()
    button(at, "Use this folder").click().run()  # chosen while it trains
    at.switch_page(TRAIN).run()
    assert_no_exception(at)
    # Was only "Dataset: <the new one>" under "Training now", as if the run trained on it.
    trained = training.config()["train"]["data"]
    assert f"It trains on {trained}. Start will use the dataset in use now, {other}." in texts(at.caption)


def test_resume_of_a_run_whose_dataset_was_deleted_says_so_and_starts_nothing(results, monkeypatch, tmp_path):
    from conftest import make_gldv2

    data = make_gldv2(tmp_path / "gone", {1: 5, 2: 5})
    run = Run.of(results, RUN_ID)
    config = run.config()
    config["train"]["data"] = str(data)
    run.config_path.write_text(__import__("json").dumps(config))
    run.update_status(state="stopped", message="stopped on request")
    shutil.rmtree(data)  # deleted since (the page may be open)
    resumed = []
    monkeypatch.setattr(launch, "launch", lambda *a, **k: resumed.append(a))  # launch.resume checks first
    at = open_page(TRAIN)
    button(at, "Resume").click().run()
    assert_no_exception(at)
    # Was a training process started, which failed seconds later: "<folder>: no such file or folder".
    assert f"{RUN_ID} trains on {data}, which is no longer there" in texts(at.error) and resumed == []


@pytest.mark.parametrize("total, said", [(30, None), (5, "has done 20 epochs, so --epochs 5 would end it before its next one")])
def test_resume_offers_the_runs_total_of_epochs_and_trains_it_longer(results, monkeypatch, total, said):
    # Resume continued a stopped run to its old total only; the CLI refused --epochs beside --resume.
    run = Run.of(results, RUN_ID)
    run.update_status(state="stopped", message="stopped on request")
    assert len(run.history()) == 20 and run.config()["train"]["epochs"] == 20
    resumed = []
    monkeypatch.setattr(launch, "launch", lambda *a, **k: resumed.append(k))  # launch.resume checks first
    at = open_page(TRAIN)
    field = next(n for n in at.number_input if n.label == "Total epochs (phase 1)")
    assert field.value == 20
    field.set_value(total).run()
    button(at, "Resume").click().run()
    assert_no_exception(at)
    if said:
        assert said in texts(at.error) and resumed == []
    else:
        assert [k["epochs"] for k in resumed] == [30]


def test_a_paused_training_says_so_and_continue_sends_it_on(training):
    # A trainer paused with Ctrl-Z in its terminal: its state said so, but only a resume elsewhere could continue it.
    import signal
    import subprocess

    trainer = subprocess.Popen(["sleep", "60"])
    try:
        os.kill(trainer.pid, signal.SIGSTOP)
        training.update_status(pid=trainer.pid)
        at = open_page(TRAIN)
        assert_no_exception(at)
        assert "paused: its training process" in texts(at.info)  # the state says why the bar stands still
        assert launch.paused_pids(training) == [trainer.pid]
        button(at, "Continue").click().run()
        assert_no_exception(at)
        assert launch.paused_pids(training) == []
        assert not [b for b in at.button if b.label == "Continue"]
    finally:
        trainer.kill()
        trainer.wait()


def test_a_run_whose_config_json_is_no_json_opens_on_train_and_results_and_can_be_deleted(results):
    # Its dataset problems were read from config.json on the page: a RunError traceback on Train and Results (the
    # newest run is shown first), before the "Delete the run" button could be reached.
    run = Run.of(results, RUN_ID)
    run.config_path.write_text("{{garbage")
    for page in (TRAIN, RESULTS):
        at = open_page(page)
        assert_no_exception(at)
    at = open_page(TRAIN)
    at.checkbox(key=f"train_delete_sure_{RUN_ID}").check().run()
    button(at, "Delete the run").click().run()
    assert_no_exception(at)
    assert not run.path.exists()


def test_resume_clicked_on_a_run_deleted_meanwhile_resumes_no_other_run(results, monkeypatch):
    # Runs a and b stopped, b shown; b deleted in another tab, then Resume clicked on the open page: the rerun showed
    # a, and the click (one key for every run) resumed a.
    from test_app_pages import _fake_run

    older = _fake_run(results, "20260102-000000-a", "stopped")
    newer = _fake_run(results, "20260103-000000-b", "stopped")
    resumed = []
    monkeypatch.setattr(launch, "resume", lambda *a, **k: resumed.append(a))
    at = open_page(TRAIN)
    assert next(s for s in at.selectbox if s.label == "Run").value == newer.id
    shutil.rmtree(newer.path)
    at.button(key=f"train_resume_{newer.id}").click().run()
    assert_no_exception(at)
    assert resumed == [] and older.status()["state"] == "stopped"


def test_a_runs_folder_that_is_a_file_is_named_on_every_page_and_at_start(monkeypatch, tmp_path, tiny_data):
    # Nothing was said until Start, which blamed the trainer: "could not start the trainer (python): [Errno 17] File
    # exists: '.../runs'".
    results = tmp_path / "results"
    results.mkdir()
    (results / RUNS_SUBDIR).write_text("not a folder")
    monkeypatch.setenv("GLR_RESULTS", str(results))
    monkeypatch.setenv("GLR_DATA", str(tiny_data))
    at = open_page(TRAIN)
    assert f"{results / RUNS_SUBDIR} is a file, not a folder" in texts(at.sidebar.error)
    button(at, "Start training").click().run()
    assert_no_exception(at)
    assert (f"no run can be saved in {results}: {results / RUNS_SUBDIR} is a file, not the folder glr keeps its runs "
            "in; move it away") in texts(at.error)
    assert (results / RUNS_SUBDIR).read_text() == "not a folder"

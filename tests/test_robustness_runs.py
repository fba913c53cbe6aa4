"""Robustness of run folders and trainings: damaged files, concurrent starts, stale locks, a full
disk while saving, and model files tampered with to carry code.

A SIGKILL in mid-epoch followed by a resume is held by tests/test_train.py (a real trainer) and
tests/test_runs.py (the protocol, with a fake trainer); see docs/robustness.md.
"""

from __future__ import annotations

import errno
import io
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from conftest import tiny_config
from test_runs import CONFIG, FAKE, wait_until
from glr.atomic import StorageError, write_json, write_with
from glr.errors import CheckpointError, GlrError
from glr.training import launch
from glr.training.run import Run, RunError, runs_dir
from glr.training.run_table import list_runs

TESTS = Path(__file__).resolve().parent
ROWS = ("phase,epoch,loss,accuracy,val_loss,val_accuracy,val_top5,lr,seconds\n"
        "head,1,1.0,0.5,1.1,0.4,0.8,0.001,1.0\nhead,2,0.8,0.6,1.0,0.55,0.9,0.001,1.0\n")


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


# --------------------------------------------------------------------------- damaged run files


@pytest.mark.parametrize("content, what", [
    (None, "status.json is damaged (unreadable JSON)"),  # cut in half
    (b"", "status.json is damaged (unreadable JSON)"),
    (b"\x00\xff\x00garbage", "status.json is damaged (unreadable JSON)"),
    (b"[1, 2]", "status.json is damaged (not a JSON object)"),  # was said "unreadable JSON"
    (b'{"state": "exploded"}', "status.json has an unknown state 'exploded'"),
])
def test_damaged_status_shows_as_damaged_and_others_keep_working(tmp_path, content, what):
    good = Run.create(tmp_path, CONFIG, run_id="20260101-000000-good")
    bad = Run.create(tmp_path, CONFIG, run_id="20260102-000000-bad")
    text = bad.status_path.read_bytes()
    bad.status_path.write_bytes(text[: len(text) // 2] if content is None else content)
    status = bad.status()
    assert status["state"] == "damaged" and status["message"] == f"{bad.path}/{what}"
    table = list_runs(tmp_path).set_index("run_id")
    assert table.loc[bad.id, "state"] == "damaged" and table.loc[good.id, "state"] == "queued"
    with pytest.raises(RunError, match=f"run {bad.id} cannot be resumed: .*status.json"):
        launch.resume(bad, argv_prefix=FAKE)
    launch.delete_run(bad)  # a damaged run can be cleaned away
    assert list(list_runs(tmp_path)["run_id"]) == [good.id]


def test_truncated_history_shows_as_damaged_and_cannot_be_resumed(tmp_path):
    good = Run.create(tmp_path, CONFIG, run_id="20260101-000000-good")
    bad = Run.create(tmp_path, CONFIG, run_id="20260102-000000-bad")
    for run in (good, bad):
        run.history_path.write_text(ROWS)
        run.update_status(state="failed", message="killed")
    bad.history_path.write_text(ROWS[:-12])  # cut mid-row, as a copy or a crash of another tool would
    table = list_runs(tmp_path).set_index("run_id")
    assert table.loc[bad.id, "state"] == "damaged"
    assert table.loc[bad.id, "message"] == f"killed; {bad.history_path} is damaged: truncated: it does not end with a newline"
    assert (table.loc[good.id, "state"], table.loc[good.id, "epochs_done"]) == ("failed", 2)
    with pytest.raises(RunError, match=f"run {bad.id} cannot be resumed: .*history.csv is damaged.*; start a new run"):
        launch.resume(bad, argv_prefix=FAKE)
    assert launch.read_lock(tmp_path) is None  # refused before taking the lock


def test_damaged_config_shows_as_damaged(tmp_path):
    run = Run.create(tmp_path, CONFIG, run_id="r")
    run.update_status(state="stopped")
    run.config_path.write_text('{"train": ')
    row = list_runs(tmp_path).iloc[0]
    assert row["state"] == "damaged" and f"{run.config_path} is damaged" in row["message"]
    with pytest.raises(RunError, match="config.json is damaged"):
        launch.resume(run, argv_prefix=FAKE)


def test_a_live_run_with_an_unreadable_history_is_still_running(tmp_path):
    # Its trainer rewrites history.csv every epoch, so the damage is not final.
    run = Run.create(tmp_path, CONFIG, run_id="live")
    run.update_status(state="running", pid=os.getpid())
    run.history_path.write_text("phase,epoch\nhead")
    assert list_runs(tmp_path).iloc[0]["state"] == "running"


def test_run_deleted_while_it_is_listed(tmp_path, monkeypatch):
    Run.create(tmp_path, CONFIG, run_id="a")
    doomed = Run.create(tmp_path, CONFIG, run_id="b")
    real_status = Run.status

    def status_then_vanish(self):
        result = real_status(self)
        if self.id == "b" and self.path.exists():
            shutil.rmtree(self.path)  # another page's Delete, or a shell, at the worst moment
            return real_status(self)
        return result

    monkeypatch.setattr(Run, "status", status_then_vanish)
    assert list(list_runs(tmp_path)["run_id"]) == ["a"]
    assert not doomed.path.exists()


# --------------------------------------------------------------------------- concurrency and locks


LAUNCHER = """
import os, sys, time
from pathlib import Path
sys.path.insert(0, {root!r})
from glr.training import launch, run
go = Path({go!r})
(go.parent / f"ready-{{os.getpid()}}").touch()
while not go.exists():
    time.sleep(0.002)
try:
    started = launch.launch({results!r}, {{"backbone": "fake", "steps": 3}}, argv_prefix={fake!r})
    print("started", started.id)
except run.RunError as exc:
    print("refused", exc)
"""


def test_two_start_requests_from_two_processes_start_one_training(tmp_path):
    # Two app sessions (or an app and a terminal) press Start in the same instant.
    results, go = tmp_path / "results", tmp_path / "go"
    script = LAUNCHER.format(root=str(TESTS.parent), go=str(go), results=str(results), fake=FAKE)
    procs = [subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True) for _ in range(2)]
    wait_until(lambda: len(list(tmp_path.glob("ready-*"))) == 2, timeout=60)  # both are waiting for the signal
    go.touch()
    outputs = sorted(p.communicate(timeout=30)[0].strip() for p in procs)
    assert outputs[0].startswith("refused another training is running: "), outputs
    assert outputs[1].startswith("started "), outputs
    table = list_runs(results)
    assert len(table) == 1
    run = Run.of(results, table.iloc[0]["run_id"])
    wait_until(lambda: run.status()["state"] == "finished", timeout=20)
    wait_until(lambda: launch.read_lock(results) is None, timeout=20)


def test_stale_lock_of_a_dead_pid_is_taken_over(tmp_path):
    launch.acquire_lock(tmp_path, "ghost", pid=dead_pid())
    assert launch.read_lock(tmp_path) is None  # a dead holder holds nothing
    run = launch.launch(tmp_path, {"backbone": "fake", "steps": 2}, argv_prefix=FAKE)
    assert launch.read_lock(tmp_path)["run_id"] == run.id
    wait_until(lambda: run.status()["state"] == "finished", timeout=20)


def test_lock_whose_pid_was_reused_by_another_process_is_stale(tmp_path):
    # The trainer died and the system gave its pid to an unrelated process (here: this one).
    launch.acquire_lock(tmp_path, "ghost")
    lock = json.loads((tmp_path / launch.LOCK_NAME).read_text())
    lock["pid_start"] -= 60
    (tmp_path / launch.LOCK_NAME).write_text(json.dumps(lock))
    assert launch.read_lock(tmp_path) is None
    launch.acquire_lock(tmp_path, "fresh")
    assert launch.read_lock(tmp_path)["run_id"] == "fresh"
    launch.release_lock(tmp_path, "fresh")


@pytest.mark.parametrize("content", [b"", b"{", b"[]", b"\x00\x01"])
def test_unreadable_lock_file_counts_as_stale(tmp_path, content):
    (tmp_path / launch.LOCK_NAME).write_bytes(content)
    assert launch.read_lock(tmp_path) is None
    launch.acquire_lock(tmp_path, "mine")
    assert launch.read_lock(tmp_path)["run_id"] == "mine"
    launch.release_lock(tmp_path, "mine")


# --------------------------------------------------------------------------- a full disk


def disk_full(tmp: str) -> None:
    """A writer that gets half way, then finds the disk full."""
    Path(tmp).write_bytes(b"PK\x03\x04 half a model")
    raise OSError(errno.ENOSPC, "No space left on device")


def test_full_disk_keeps_the_old_file_and_says_so(tmp_path):
    path = write_json(tmp_path / "status.json", {"state": "running"})
    with pytest.raises(StorageError) as caught:
        write_with(path, disk_full)
    assert isinstance(caught.value, GlrError) and isinstance(caught.value, OSError)
    assert caught.value.errno == errno.ENOSPC
    assert str(caught.value) == (f"{path}: cannot be written, the disk is full (No space left on device); the previous "
                                 "version of the file is kept. Free some space or fix the folder, then try again")
    assert json.loads(path.read_text()) == {"state": "running"}
    assert [p.name for p in tmp_path.iterdir()] == ["status.json"]  # no temp file left


def test_full_disk_at_fsync_while_updating_status(tmp_path, monkeypatch):
    run = Run.create(tmp_path, CONFIG, run_id="r")
    before = run.status_path.read_bytes()

    def no_space(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("glr.atomic.os.fsync", no_space)
    with pytest.raises(StorageError, match="status.json: cannot be written, the disk is full"):
        run.update_status(state="running", epoch=3)
    assert run.status_path.read_bytes() == before
    assert sorted(p.name for p in run.path.iterdir() if not p.name.startswith(".status.lock")) == ["config.json", "status.json"]


def test_read_only_folder_is_a_storage_error(tmp_path, monkeypatch):
    def read_only(*args, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr("glr.atomic.tempfile.mkstemp", read_only)
    with pytest.raises(StorageError, match=r"x.json: cannot be written, the file system is read-only"):
        write_json(tmp_path / "x.json", {})


def test_other_write_errors_are_left_as_they_are(tmp_path):
    def broken(tmp):
        raise OSError(errno.EIO, "Input/output error")

    with pytest.raises(OSError) as caught:
        write_with(tmp_path / "x", broken)
    assert not isinstance(caught.value, StorageError) and caught.value.errno == errno.EIO


# --------------------------------------------------------------------------- safe loading


def tiny_model_file(tmp_path: Path) -> Path:
    from glr.training.model import build_head, save_model

    return save_model(build_head(6, 3, hidden=4), tmp_path / "model.keras")


def rewrite(path: Path, edit) -> None:
    """Rewrite the .keras zip with `edit(config)` applied to its config.json, as an attacker would."""
    members = {}
    with zipfile.ZipFile(path) as zf:
        for name in zf.namelist():
            members[name] = zf.read(name)
    config = json.loads(members["config.json"])
    edit(config)
    members["config.json"] = json.dumps(config).encode()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    path.write_bytes(buf.getvalue())


def lambda_layer_config() -> dict:
    import keras

    inputs = keras.Input((6,))
    model = keras.Model(inputs, keras.layers.Lambda(lambda t: t * 2, name="l2")(inputs))
    return next(layer for layer in model.get_config()["layers"] if layer["class_name"] == "Lambda")


def _splice_lambda(config: dict) -> None:
    layers = config["config"]["layers"]
    i = next(i for i, layer in enumerate(layers) if layer["config"]["name"] == "l2")
    evil = lambda_layer_config()
    evil["inbound_nodes"] = layers[i]["inbound_nodes"]
    layers[i] = evil


def _point_at_os_system(config: dict) -> None:
    layer = config["config"]["layers"][1]
    layer.update(module="os", class_name="system")


def _tfsm_layer(config: dict) -> None:
    config["config"]["layers"][1]["class_name"] = "TFSMLayer"


@pytest.mark.parametrize("edit, message", [
    (_splice_lambda, "refused to load: the model contains code (a Lambda layer), which could run anything; "
                     "glr only loads plain layers"),
    (_point_at_os_system, "refused to load: the model refers to code outside Keras (os.system); "
                          "glr only loads plain Keras layers"),
    (_tfsm_layer, "refused to load: the model contains a TFSMLayer layer, which loads code from elsewhere"),
], ids=["lambda", "os-system", "tfsm"])
def test_model_tampered_to_carry_code_is_refused(tmp_path, edit, message):
    from glr.training.model import load_model

    path = tiny_model_file(tmp_path)
    rewrite(path, edit)
    with pytest.raises(CheckpointError, match="^" + __import__("re").escape(f"{path}: {message}")):
        load_model(path)


@pytest.mark.parametrize("damage, message", [
    ("weights", "cannot be loaded ("),
    ("config", "damaged model file ("),
    ("no-config", "not a .keras model file (it has no config.json)"),
    ("truncated", "not a .keras model file (damaged or incomplete?)"),
])
def test_damaged_model_file_is_a_checkpoint_error(tmp_path, damage, message):
    from glr.training.model import load_model

    path = tiny_model_file(tmp_path)
    data = path.read_bytes()
    if damage == "truncated":
        path.write_bytes(data[: len(data) // 2])
    else:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            members = {n: zf.read(n) for n in zf.namelist()}
        if damage == "weights":
            members["model.weights.h5"] = b"not hdf5"
        elif damage == "config":
            members["config.json"] = b"{not json"
        else:
            del members["config.json"]
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as zf:
            for n, d in members.items():
                zf.writestr(n, d)
        path.write_bytes(buf.getvalue())
    with pytest.raises(CheckpointError, match="^" + __import__("re").escape(f"{path}: {message}")):
        load_model(path)


def test_predictor_refuses_a_run_whose_model_was_tampered_with(tmp_path, finished_run):
    from glr.predict import Predictor

    run_dir = tmp_path / "run"
    shutil.copytree(finished_run.path, run_dir)
    rewrite(run_dir / "model.keras", _point_at_os_system_in_head)
    with pytest.raises(GlrError, match="refused to load: the model refers to code outside Keras"):
        Predictor(run_dir)


def _point_at_os_system_in_head(config: dict) -> None:
    # The classifier nests the head as a model of its own: tamper with a layer deep inside.
    head = next(layer for layer in config["config"]["layers"] if layer["config"].get("name") == "head")
    head["config"]["layers"][-1].update(module="subprocess", class_name="Popen")


# --------------------------------------------------------------------------- a full disk during a real training


def test_disk_full_while_saving_a_checkpoint_keeps_the_previous_one_and_resumes(tmp_path, tiny_data, finished_run, monkeypatch):
    """A real tiny training: the third epoch's checkpoint hits a full disk.

    It asks for finished_run only so that its features come from that run's cache (same images).
    """
    import glr.training.trainer as train
    from glr.training.launch import new_run
    from glr.training.model import load_model

    run = new_run(tmp_path, tiny_config(tiny_data, epochs=4))
    real_save, saves = train.save_model, []

    def save(model, path, note=None):
        if Path(path).name == "last.keras":
            saves.append(path)
            if len(saves) == 3:
                return write_with(path, disk_full, suffix=".keras")
        return real_save(model, path, note)

    monkeypatch.setattr(train, "save_model", save)
    monkeypatch.setattr("glr.training.checkpoints.SAVE_INTERVAL", 0.0)  # a checkpoint after every epoch
    with pytest.raises(StorageError):
        train.train_run(run)
    status = run.status()
    last = run.checkpoint_dir / "last.keras"
    assert status["state"] == "failed" and status["traceback"] is None
    assert status["message"].startswith(f"{last}: cannot be written, the disk is full")
    state = json.loads((run.checkpoint_dir / "state.json").read_text())
    assert state["epoch"] == 2  # the checkpoint of epoch 2 is still the last one, whole
    load_model(last)
    assert sorted(p.name for p in run.checkpoint_dir.iterdir()) == ["best.keras", "last.keras", "state.json"]

    monkeypatch.setattr(train, "save_model", real_save)  # space freed
    train.train_run(run, resume=True)
    assert run.status()["state"] == "finished"
    assert run.history()["epoch"].tolist() == [1, 2, 3, 4]


def test_a_metrics_json_score_outside_0_to_1_is_blank_and_said_to_be_damaged():
    # A hand-edited or tool-written metrics.json (json reads Infinity): the Results page showed GAP "-5.000",
    # and top-1 inf as "—" "undefined for these photos".
    from glr.evaluation.readout import headline

    shown = {h.key: h for h in headline({"top1": float("inf"), "top5": 0.5, "gap": -5.0, "macro_f1": float("nan"),
                                         "n_images": 4, "n_classes": 10})}
    assert (shown["top1"].text, shown["top1"].why) == ("—", "metrics.json holds inf for top1, outside 0..1: the file is damaged")
    assert (shown["gap"].text, shown["gap"].why) == ("—", "metrics.json holds -5.0 for gap, outside 0..1: the file is damaged")
    assert shown["top5"].text == "50.0%" and not shown["top5"].why
    assert shown["macro_f1"].why == "undefined for these photos"  # NaN keeps its own reason


# --------------------------------------------------------------------------- cells a spreadsheet would run

# Class and photo names a spreadsheet reads as formulas (OWASP's CSV injection), and names that merely look alike.
# (A carriage return starts a formula too: tests/test_robustness_csv.py holds the names with one.)
FORMULAS = ['=HYPERLINK("http://evil.example","Big Ben")', "+1+1", "-2+3", "@SUM(A1)", "\tTab", "'=already quoted",
            "''+twice"]
HARMLESS = ["'s-Hertogenbosch", "Big Ben", "1-2", ""]


def _raw_cells(path: Path) -> set[str]:
    import csv

    with open(path, newline="", encoding="utf-8") as f:
        return {cell for row in csv.reader(f) for cell in row}


def _evaluation_frames(names: list[str]):
    import pandas as pd

    n = len(names)
    predictions = pd.DataFrame({"id": [f"-{i}" for i in range(n)], "path": [f"/p/{i}.jpg" for i in range(n)],
                                "true_index": range(n), "true_name": names, "pred_index": range(n), "pred_name": names,
                                "confidence": [0.5] * n, "top5": ["0"] * n})
    per_class = pd.DataFrame({"index": range(n), "landmark_id": range(n), "name": names, "f1": [1.0] * n})
    confusion = pd.DataFrame([[1] * n] * n)
    return predictions, per_class, confusion


def test_per_class_and_val_predictions_escape_formula_cells_and_read_back_exactly(tmp_path):
    names = FORMULAS + HARMLESS
    run = Run.create(tmp_path, CONFIG, run_id="20260101-000000-csv")
    predictions, per_class, confusion = _evaluation_frames(names)
    run.write_evaluation(predictions=predictions, per_class=per_class, confusion=confusion, metrics={"top1": 1.0})
    for path in (run.per_class_path, run.predictions_path):
        raw = _raw_cells(path)
        assert "'" + FORMULAS[0] in raw and FORMULAS[0] not in raw, path.name
        assert "'+1+1" in raw and "'@SUM(A1)" in raw and "'\tTab" in raw and "''=already quoted" in raw
        assert "'s-Hertogenbosch" in raw and "1-2" in raw  # not formulas: as they are
    assert run.per_class()["name"].fillna("").tolist() == names
    read = run.predictions()
    assert read["true_name"].fillna("").tolist() == names and read["pred_name"].fillna("").tolist() == names
    assert read["id"].tolist() == predictions["id"].tolist()  # ids that start with "-" too


def test_split_csv_escapes_an_id_a_spreadsheet_would_run_and_reads_it_back(tmp_path):
    import pandas as pd

    run = Run.create(tmp_path, CONFIG, run_id="20260101-000000-split")
    table = pd.DataFrame({"id": ["=1+1", "-beach", "0012", "'quoted"], "landmark_id": [1, 1, 2, 2],
                          "split": ["train", "val", "train", "val"]})
    run.write_split(table)
    assert {"'=1+1", "'-beach", "0012", "'quoted"} <= _raw_cells(run.split_path)
    assert run.split()["id"].tolist() == table["id"].tolist()


def test_submission_csv_keeps_an_id_a_spreadsheet_would_run_exactly_as_kaggle_reads_it(tmp_path):
    import pandas as pd

    from glr.submission import write_submission

    # A machine file (glr/spreadsheet.py): Kaggle scores the ids as written, so they are never escaped.
    out = write_submission(tmp_path / "s.csv", pd.DataFrame({"id": ["=cmd|' /C calc'!A0", "abc", "-x"],
                                                             "landmarks": ["3 0.9", "", "4 0.5"]}))
    assert _raw_cells(out) == {"id", "landmarks", "=cmd|' /C calc'!A0", "abc", "-x", "3 0.9", "", "4 0.5"}


def test_the_confusion_csv_download_escapes_class_names_a_spreadsheet_would_run():
    import csv

    import numpy as np
    import pandas as pd

    from glr.evaluation import compare

    labels = pd.DataFrame({"index": [0, 1], "landmark_id": [5, 6], "name": ["=1+1", "@Tower"]})
    rows = list(csv.reader(io.StringIO(compare.confusion_csv(np.array([[1, 2], [0, 3]]), labels).decode("utf-8-sig"))))
    assert rows[0] == ["true", "predicted", "count", "true_index", "predicted_index"]
    assert ["'=1+1", "'@Tower", "2", "0", "1"] in rows and "=1+1" not in {c for r in rows for c in r}


def test_distractors_csv_escapes_names_a_spreadsheet_would_run(tmp_path):
    import pandas as pd

    run = Run.create(tmp_path, CONFIG, run_id="20260101-000000-index")

    class Index:
        def save(self, folder):
            Path(folder).mkdir()

    run.write_retrieval(Index(), distractors=pd.DataFrame({"name": ["=evil()", "ok"], "confidence": [0.1, 0.2]}),
                        val=pd.DataFrame({"known_score": [0.5]}), retrieval={"unknown": {}})
    assert {"'=evil()", "ok"} <= _raw_cells(run.distractors_path)


# --------------------------------------------------------------------------- links in the results folder


def test_a_link_to_a_run_is_listed_once_and_a_broken_link_is_named_with_its_target(tmp_path):
    results = tmp_path / "results"
    real = Run.create(results, CONFIG, run_id="20260101-000000-real")
    elsewhere = Run.create(tmp_path / "other", CONFIG, run_id="20260102-000000-elsewhere")
    runs = real.path.parent
    (runs / "zz-alias").symlink_to(real.path, target_is_directory=True)  # `ln -s` to give a run a second name
    (runs / "aa-relative").symlink_to(real.path.name)  # a relative link sorts before the folder it names
    (runs / "borrowed").symlink_to(elsewhere.path)  # a run kept on another disk, linked in
    (runs / "gone").symlink_to(tmp_path / "unmounted" / "run")  # its drive not mounted
    (runs / "loop").symlink_to(runs / "loop")
    table = list_runs(results).set_index("run_id")
    assert sorted(table.index) == ["20260101-000000-real", "borrowed", "gone", "loop"]
    assert table.loc[real.id, "message"] == "also linked here as 'aa-relative', 'zz-alias' (the same run, listed once)"
    assert table.loc["borrowed", "state"] == "queued"  # by its own name, once
    gone = table.loc["gone"]
    assert gone["state"] == "damaged" and gone["message"] == (
        f"gone is a link to {tmp_path}/unmounted/run, which is not there (moved, deleted, or on a drive not mounted?): "
        f"no run to show; put the run folder back there, or remove the link (rm {runs}/gone)")
    assert list_runs(results)["run_id"].tolist()[-2:] == ["loop", "gone"]  # no date: listed after every run
    from glr.training.run_table import default_run

    assert default_run(list_runs(results)) == "borrowed"  # a broken link is never the run a page shows first


def test_deleting_a_link_in_runs_removes_the_link_and_keeps_the_run_it_points_to(tmp_path):
    from glr.training.launch import delete_run

    results = tmp_path / "results"
    Run.create(results, CONFIG, run_id="20260101-000000-real")
    elsewhere = Run.create(tmp_path / "other", CONFIG, run_id="20260102-000000-elsewhere")
    runs = runs_dir(results)
    (runs / "borrowed").symlink_to(elsewhere.path)
    (runs / "gone").symlink_to(tmp_path / "unmounted" / "run")
    for name in ("borrowed", "gone"):  # was "could not be deleted: Cannot call rmtree on a symbolic link"
        delete_run(Run(runs / name))
    assert sorted(p.name for p in runs.iterdir()) == ["20260101-000000-real"]
    assert (elsewhere.path / "config.json").is_file()  # the linked run itself is untouched


# --------------------------------------------------------------------------- a run folder renamed while it trains


def test_a_run_folder_renamed_while_it_trains_says_so_and_resumes_under_its_new_name(tmp_path):
    run = launch.launch(tmp_path, {"backbone": "fake", "steps": 200}, argv_prefix=FAKE)
    wait_until(lambda: run.status()["state"] == "running" and run.status()["epoch"], timeout=20)
    renamed = Run(run.path.with_name("kept-as-best"))
    os.rename(run.path, renamed.path)  # in a file manager, or `mv`, to give it a name
    wait_until(lambda: renamed.status()["state"] == "failed", timeout=20)  # its trainer stops at its next write
    assert renamed.status()["message"] == (
        f"the training process ended without saying so, and this run folder was renamed (it was {run.id}): a training "
        "stops when its folder is renamed, as it writes only into the folder it started in; resume it to continue")
    wait_until(lambda: launch.read_lock(tmp_path) is None, timeout=20)
    shutil.rmtree(run.path, ignore_errors=True)  # the fake trainer's last history write (the real one's writers check)
    config = renamed.config()
    renamed.write_config({**config, "steps": len(renamed.history()) + 2})  # 2 steps left, not ~195 (0.1 s each)
    launch.resume(renamed, argv_prefix=FAKE)
    wait_until(lambda: renamed.status()["state"] == "finished", timeout=30)
    assert json.loads(renamed.status_path.read_text())["run_id"] == "kept-as-best"


def test_a_runs_folder_that_cannot_be_listed_is_said_in_the_run_list_not_a_traceback(tmp_path, monkeypatch):
    Run.create(tmp_path, CONFIG, run_id="20260101-000000-a")
    runs = tmp_path / "runs"
    real_iterdir = Path.iterdir

    def iterdir(self):  # another user's results folder (chmod 700): root, who runs these tests, could list it
        if self == runs:
            raise PermissionError(13, "Permission denied", str(self))
        return real_iterdir(self)

    monkeypatch.setattr(Path, "iterdir", iterdir)
    row = list_runs(tmp_path).iloc[0]
    assert (row["run_id"], row["state"]) == ("runs", "damaged")
    assert row["message"] == (f"the runs folder {runs} cannot be listed (Permission denied): give your user permission "
                              "to read it, or set GLR_RESULTS (or --results) to a results folder of your own")


def test_a_model_of_another_backbone_copied_into_a_finished_run_is_refused_naming_both(finished_run, tmp_path):
    # Another run's model.keras of the same input size and class count (a MobileNetV3 classifier in a Lite0 run)
    # predicted: its photos prepared for Lite0 ((x - 127) / 128, where MobileNetV3 rescales 0..255 itself), every
    # answer wrong, without a word.
    from conftest import run_with_another_backbones_model
    from glr.errors import GlrError
    from glr.predict import Predictor

    copy = run_with_another_backbones_model(finished_run, tmp_path)
    with pytest.raises(GlrError, match=r"the model is a mobilenet_v3_small classifier but config\.json says "
                                       r"efficientnet_lite0: the two files come from different runs"):
        Predictor(copy, backend="tf")
    Predictor(finished_run, backend="tf")  # its own model still predicts


# --------------------------------------------------------------------------- Ctrl-C while a file is written


def _hidden(folder: Path) -> list[str]:
    """The temporary files and folders an interrupted write could leave: every dot-name under `folder`."""
    return sorted(str(p.relative_to(folder)) for p in folder.rglob(".*"))


def test_ctrl_c_while_a_feature_vector_is_written_keeps_the_old_one_and_leaves_no_temp_file(tmp_path, monkeypatch):
    # The cache wrote `.<digest>.npy.<pid>-<thread>.tmp` and renamed it; a Ctrl-C mid-write left the temp file for ever.
    import numpy as np

    from glr.backbones.feature_cache import FeatureCache

    cache = FeatureCache(tmp_path / "cache", "map-16-test")
    old, new = np.arange(4, dtype=np.float32), np.full(4, 9, np.float32)
    cache.save("ab" * 20, 0, old)

    monkeypatch.setattr(Path, "write_bytes", _half_then_ctrl_c)
    for digest in ("ab" * 20, "cd" * 20):  # a vector there already, and a new one
        with pytest.raises(KeyboardInterrupt):
            cache.save(digest, 0, new)
    monkeypatch.undo()
    vectors, found = cache.load(["ab" * 20, "cd" * 20], 0)
    assert found.tolist() == [True, False] and vectors[0].tolist() == old.tolist()  # the old one whole, no new half
    assert _hidden(tmp_path / "cache") == []


def _old_export(tmp_path, monkeypatch):
    """A finished run's `export/onnx` folder written by glr.export's own writing (the model file faked)."""
    import pandas as pd

    from glr import export

    run = Run.create(tmp_path, CONFIG, run_id="20260101-000000-x")
    run.update_status(state="finished")
    folder = run.path / "export" / "onnx"
    labels = pd.DataFrame({"index": [0, 1], "landmark_id": [7, 8], "name": ["a", "b"]})

    def write(model, fmt, into, size):
        (into / export.MODEL_NAMES[fmt]).write_bytes(model)

    monkeypatch.setattr(export, "_write_model", write)
    export._write_export(run, "onnx", folder, b"old model", {"input_size": 16}, labels, None, "none")
    return run, folder, {p.name: p.read_bytes() for p in folder.iterdir()}, labels


@pytest.mark.parametrize("stage", ["model", "swap"])
def test_ctrl_c_while_an_export_is_written_keeps_the_old_export_and_leaves_no_temp_folder(tmp_path, monkeypatch, stage):
    # model: a Ctrl-C while the converter writes model.onnx (the export is built in a hidden folder beside its place).
    # swap: a Ctrl-C between moving the old export aside and moving the new one in left no export at all, the old
    # one hidden as `.onnx.old`.
    from glr import export

    run, folder, before, labels = _old_export(tmp_path, monkeypatch)
    status = run.status_path.read_bytes()
    if stage == "model":
        def half_then_ctrl_c(model, fmt, into, size):
            (into / export.MODEL_NAMES[fmt]).write_bytes(model[:3])
            raise KeyboardInterrupt

        monkeypatch.setattr(export, "_write_model", half_then_ctrl_c)
    else:
        real = Path.rename

        def ctrl_c_on_swap_in(self, target):
            if Path(target) == folder and not self.name.endswith(".old"):
                raise KeyboardInterrupt
            return real(self, target)

        monkeypatch.setattr(Path, "rename", ctrl_c_on_swap_in)
    with pytest.raises(KeyboardInterrupt):
        export._write_export(run, "onnx", folder, b"new model", {"input_size": 16}, labels, None, "none")
    monkeypatch.undo()
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before  # the old export, whole
    assert _hidden(run.path / "export") == [] and run.status_path.read_bytes() == status  # no leftover; run untouched


def _half_then_ctrl_c(self, data):
    """Path.write_bytes as a Ctrl-C half way through finds it: half the bytes on disk, then KeyboardInterrupt."""
    with open(self, "wb") as fh:
        fh.write(bytes(data)[:len(data) // 2])
    raise KeyboardInterrupt


def test_ctrl_c_while_a_report_is_written_keeps_the_old_report_and_the_finished_run(tmp_path, monkeypatch):
    # Each report file is written whole or not at all (glr.atomic): a Ctrl-C half way through keeps its old version.
    from glr.evaluation import report

    run = Run.create(tmp_path, CONFIG, run_id="20260101-000000-x")
    run.update_status(state="finished", message="done")
    out = report.write_report(run)
    before = {p: p.read_bytes() for p in run.path.rglob("*") if p.is_file()}
    monkeypatch.setattr(report, "summary_markdown", lambda *a: "# another summary, longer than the first one\n" * 9)
    monkeypatch.setattr(Path, "write_bytes", _half_then_ctrl_c)
    with pytest.raises(KeyboardInterrupt):
        report.write_report(run)
    monkeypatch.undo()
    after = {p: p.read_bytes() for p in run.path.rglob("*") if p.is_file()}
    assert after == before and (out / "summary.md") in after  # the old summary whole, the run as it was
    assert [p.name for p in out.iterdir()] == ["summary.md"]  # no temp file left

"""glr.training.trainer: a tiny real training end to end, feature-cache reuse, fine-tuning, stop/resume and SIGKILL/resume."""

import json
import os
import re
import signal
import time

import pandas as pd
import pytest
from PIL import Image

from conftest import at_epoch, make_gldv2, tiny_config
from glr.training import launch as launcher
from glr.training.launch import new_run, resumable
from glr.training.run import RunError
from glr.training.status import ACTIVE_STATES
from glr.training.trainer import train_run

RUN_FILES = ["config.json", "status.json", "history.csv", "labels.json", "split.csv", "model.keras",
             "metrics.json", "confusion.csv", "val_predictions.csv", "checkpoints/last.keras",
             "checkpoints/best.keras", "checkpoints/state.json", "report/summary.md", "report/collage.png"]


def assert_run_parses(run):
    """Every file of a finished run exists and parses."""
    for name in RUN_FILES:
        assert (run.path / name).is_file(), name
    for name in ("config.json", "status.json", "labels.json", "metrics.json", "checkpoints/state.json"):
        json.loads((run.path / name).read_text())
    for name in ("history.csv", "split.csv", "confusion.csv", "val_predictions.csv"):
        assert len(pd.read_csv(run.path / name)) > 0
    from glr.training.model import load_model

    load_model(run.path / "model.keras")


def wait_for(run, states, timeout=120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = run.status()
        if status["state"] in states:
            return status
        time.sleep(0.2)
    raise AssertionError(f"run stayed {run.status()['state']}; log:\n{run.log_path.read_text()[-3000:]}")


def test_tiny_training_end_to_end(finished_run):
    run = finished_run
    status = run.status()
    assert status["state"] == "finished" and status["message"].startswith("top-1 ")
    assert "top-5 —" in status["message"]  # 3 classes: a top-5 of 1.000 would say nothing
    assert_run_parses(run)
    history = run.history()
    assert history["epoch"].tolist() == list(range(1, 21)) and set(history["phase"]) == {1}
    assert {"loss", "val_loss", "val_accuracy", "val_top5", "lr", "seconds"} <= set(history.columns)
    config = run.config()
    assert config["train"]["input_size"] == 32 and config["dataset"]["classes"] == 3
    assert config["versions"]["keras"].startswith("3.")
    labels = json.loads((run.path / "labels.json").read_text())
    assert [c["name"] for c in labels] and {c["landmark_id"] for c in labels} == {3, 5, 9}
    metrics = json.loads((run.path / "metrics.json").read_text())
    # Colour-coded classes under real ImageNet features: the head must learn them.
    assert metrics["top1"] >= 0.75 and metrics["top5"] == 1.0


@pytest.fixture(scope="module", params=[("images", 4), ("features", 2)], ids=["images-4", "features-2"])
def fresh_run(request, tmp_path_factory):
    """(run, data, decoded, made, space, inputs per training photo): a one-epoch run of 3 views in each augment space
    on 8 photos no other test has seen (nor the other space's run), with every photo decoded and every call to
    make_thumbnails (its thread, its photos, the number it made) recorded. Its tests only read it."""
    import threading

    from glr import thumbnails
    from glr.data import pipeline

    space, inputs_per_train_photo = request.param
    first = 51 if space == "images" else 53
    data = make_gldv2(tmp_path_factory.mktemp("fresh") / "data", {first: 4, first + 1: 4},
                      {first: "Big_Ben", first + 1: "Tower_Bridge"})
    decoded, made = [], []
    real_decode, real_thumbnails = pipeline._decode_or_blank, thumbnails.make_thumbnails

    def recording(paths, *args, **kwargs):
        paths = list(paths)
        n = real_thumbnails(paths, *args, **kwargs)
        made.append((threading.current_thread().name, len(paths), n))
        return n

    run = new_run(tmp_path_factory.mktemp("results"), tiny_config(data, epochs=1, views=3, augment_space=space))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(pipeline, "_decode_or_blank", lambda path, *args: decoded.append(path.decode()) or real_decode(path, *args))
        patch.setattr(thumbnails, "make_thumbnails", recording)
        train_run(run)
    return run, data, decoded, made, space, inputs_per_train_photo


def test_thumbnails_are_made_beside_phase_1_not_after_it(fresh_run):
    from glr import thumbnails

    run, data, _, made, _, _ = fresh_run
    assert run.status()["state"] == "finished"
    (background, n_paths, n_made), (_, _, made_at_index) = made
    assert background == "glr-thumbnails" and n_made == n_paths == 8  # every training and validation photo
    assert made_at_index == 0  # the index step found them all made
    photos = list((data / "train").rglob("*.jpg"))
    assert len(photos) == 8 and all(thumbnails.cache_file(p, thumbnails.SIZE).is_file() for p in photos)


def test_each_photo_is_decoded_once_for_its_views_and_the_mirror_the_index_needs(fresh_run):
    import numpy as np

    from glr.backbones.feature_cache import MIRROR_VIEW
    from glr.backbones.features import content_digest
    from glr.training.settings import resolve

    run, data, decoded, _, space, inputs_per_train_photo = fresh_run
    assert run.status()["state"] == "finished"
    split = pd.read_csv(run.path / "split.csv")
    photos = [str(p) for p in sorted((data / "train").rglob("*.jpg"))]
    # Training, images: view 0, the mirror and 2 random views from one decode; features: the centre crop and
    # its mirror, whose map windows are the views. Validation: view 0 and the mirror (and, with features, their
    # windows). The evaluation and the index step then read every view, mirror and window from the cache: no
    # photo is decoded again. Without cached windows the index is "flip", not regions (glr.retrieval.regional).
    assert sorted(p for p in decoded if p in photos) == photos
    assert run.retrieval()["embedding"] == ("flip" if space == "images" else "rmac")
    n_train, n_val = (split["split"] == "train").sum(), (split["split"] == "val").sum()
    assert n_train and n_val and run.status()["features_computed"] == n_train * inputs_per_train_photo + n_val * 2
    features = resolve(run.config()["train"]).feature_cache()
    for view in (0, MIRROR_VIEW):
        vectors, found = features.load([content_digest(p) for p in photos], view)
        assert found.all() and not any(np.allclose(v, 0) for v in vectors)


# Photos no other test has seen: the run computes their features (building the backbone before phase 1); the
# same configuration run again reads them from the cache (building it for phase 2).
def fresh_classes() -> dict[int, int]:
    """Landmark ids (and photos per class) no other test uses, and no other xdist worker: the workers share the
    session's feature cache, and a second worker's `fine_tuned` found the first's photos (the same pixels) cached."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    offset = 10 * int(worker[2:]) if worker[2:].isdigit() else 0
    return {61 + offset: 6, 62 + offset: 6, 63 + offset: 6}
FINE_TUNE = dict(epochs=2, fine_tune=True, fine_tune_epochs=1, fine_tune_layers=5)


@pytest.fixture(scope="module")
def fine_tuned(tmp_path_factory):
    """One finished run with a phase 2, trained from a cold feature cache; its tests only read it."""
    data = make_gldv2(tmp_path_factory.mktemp("fresh") / "data", fresh_classes())
    run = new_run(tmp_path_factory.mktemp("cold"), tiny_config(data, **FINE_TUNE))
    train_run(run)
    return run


def test_fine_tune_continues_epoch_numbers(fine_tuned):
    run = fine_tuned
    history = run.history()
    assert history["epoch"].tolist() == [1, 2, 3]
    assert history["phase"].tolist() == [1, 1, 2]
    assert run.status()["state"] == "finished"
    assert_run_parses(run)
    assert_phase_2_moved_only_the_last_layers(run, last=5)


def assert_phase_2_moved_only_the_last_layers(run, last):
    """The saved model's backbone against the pretrained one: phase 2 changed the unfrozen layers' weights,
    and neither the layers before them nor any BatchNormalization (its statistics included: inference mode)."""
    import keras
    import numpy as np

    from glr.backbones.registry import build_backbone
    from glr.training.model import load_model, split_classifier

    tuned, _ = split_classifier(load_model(run.model_path))
    pretrained = build_backbone("efficientnet_lite0", weights="imagenet", input_size=32)
    changed = [i for i, (a, b) in enumerate(zip(tuned.layers, pretrained.layers))
               if any(not np.array_equal(x, y) for x, y in zip(a.get_weights(), b.get_weights()))]
    assert changed, "phase 2 left the backbone as it was"
    assert min(changed) >= len(tuned.layers) - last, [tuned.layers[i].name for i in changed]
    assert not [i for i in changed if isinstance(tuned.layers[i], keras.layers.BatchNormalization)]


def slow_config(data):
    # Many small batches and epochs so that a stop or a kill lands in the middle of training.
    return tiny_config(data, epochs=400, batch_size=1, patience=1000).to_dict()


def launch(results, data):
    return launcher.launch(results, {"train": slow_config(data), "versions": launcher.library_versions()})


def wait_epochs(run, n, timeout=120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if (run.status().get("epoch") or 0) >= n:
            return
        assert run.status()["state"] in ACTIVE_STATES, run.log_path.read_text()[-3000:]
        time.sleep(0.1)
    raise AssertionError("training did not progress")


def finish_quickly(run):
    """Shorten the remaining epochs of a stopped run so its resume ends soon."""
    config = run.config()
    config["train"]["epochs"] = int(run.history()["epoch"].max()) + 2
    (run.path / "config.json").write_text(json.dumps(config))


def assert_history_continuous(run):
    epochs = run.history()["epoch"].tolist()
    assert epochs == list(range(1, len(epochs) + 1)), epochs


def test_ctrl_c_sigkill_and_a_stop_mid_epoch_each_resume_to_the_end(tmp_path, tiny_data):
    # One run through three interruptions across processes (a trainer process costs seconds of imports, and its
    # finishing seconds more): Ctrl-C, then SIGKILL mid-epoch, then a stop on request, each resumed; the last resume
    # in this process, where TensorFlow is imported already (the two before started trainers of their own).
    run = launch(tmp_path, tiny_data)
    # One training per results folder: a second launch beside a running one is refused (a trainer process
    # of its own would cost this test seconds more).
    with pytest.raises(RunError, match="another training is running"):
        launch(tmp_path, tiny_data)
    wait_epochs(run, 2)
    # Ctrl-C in `python -m glr train` raised KeyboardInterrupt mid-batch: the run ended "failed"
    # with the message "KeyboardInterrupt: ". Now it ends after the batch as "stopped", resumable.
    os.kill(run.status()["pid"], signal.SIGINT)
    status = wait_for(run, {"stopped", "failed", "finished"})
    assert status["state"] == "stopped" and "stopped on request" in status["message"], status
    assert (run.path / "checkpoints" / "last.keras").is_file()
    assert "stopping after this batch (Ctrl-C again to quit at once)" in run.log_path.read_text()
    interrupted_at = int(run.history()["epoch"].max())
    launcher.resume(run)
    wait_epochs(run, interrupted_at + 1)
    os.kill(run.status()["pid"], signal.SIGKILL)
    status = wait_for(run, {"failed"})
    assert "ended without saying so" in status["message"]
    killed_at = int(run.history()["epoch"].max())
    launcher.resume(run)  # the killed run goes on from its last checkpoint, in a new process
    wait_epochs(run, killed_at + 2)
    assert launcher.stop(run, wait=True, timeout=60)["state"] == "stopped"
    status = wait_for(run, {"stopped"})
    assert "stopped on request" in status["message"]
    assert (run.path / "checkpoints" / "last.keras").is_file()
    stopped_at = int(run.history()["epoch"].max())
    finish_quickly(run)
    run.stop_path.unlink(missing_ok=True)  # as launcher.resume lowers it (this process is older than the flag)
    train_run(resumable(run), resume=True)
    assert run.status()["state"] == "finished", run.status().get("message")
    assert_history_continuous(run)
    assert int(run.history()["epoch"].max()) == stopped_at + 2
    assert_run_parses(run)


def test_stop_in_phase_2_then_resume_finishes_phase_2(tmp_path, tiny_data):
    """A stop while the backbone is fine-tuned resumes in phase 2 (not phase 1 again) and ends where phase 2 ends."""
    from glr.training.progress import PHASES

    # In one process, the Stop button's request (launcher.stop) made after epoch 3, phase 2's first (epochs 3 to 5
    # are phase 2's); a stop and a resume across processes are
    # test_ctrl_c_sigkill_and_a_stop_mid_epoch_each_resume_to_the_end's. The trainer heeds the flag between batches,
    # so the stop lands in epoch 4, with epoch 5 still to come; each phase 2 epoch costs seconds, so there are no
    # more of them than that needs.
    run = new_run(tmp_path, tiny_config(tiny_data, epochs=2, fine_tune=True, fine_tune_epochs=3, fine_tune_layers=5))
    with pytest.MonkeyPatch.context() as patch:
        at_epoch(patch, 3, lambda trainer: launcher.stop(trainer.run))
        train_run(run)
    status = run.status()
    assert status["state"] == "stopped", "phase 2 ended before the stop landed"
    assert status["phase"] == PHASES[2] and 3 <= int(run.history()["epoch"].max()) < 5
    run.stop_path.unlink()  # as launcher.resume lowers it
    train_run(run, resume=True)
    status = run.status()
    assert status["state"] == "finished", status.get("message")
    assert_history_continuous(run)
    assert int(run.history()["epoch"].max()) == 5 and run.history()["phase"].tolist()[-1] == 2
    assert_run_parses(run)



def test_a_training_whose_folder_another_computer_took_while_it_was_paused_stops_saying_why(tmp_path, tiny_data,
                                                                                           monkeypatch):
    # Paused (SIGSTOP, a laptop asleep) past the heartbeat's 2 minutes, its lock was taken by a training on another
    # computer sharing the results folder; going on, it trained beside that one. Now it stops, resumable, and says why.
    from glr.training import train_lock

    monkeypatch.setattr(train_lock, "BEAT_SECONDS", 0.02)
    run = new_run(tmp_path, tiny_config(tiny_data, epochs=4))

    def taken(trainer):
        lock_file = tmp_path / launcher.LOCK_NAME
        lock_file.write_text(json.dumps({**json.loads(lock_file.read_text()), "run_id": "theirs", "host": "gpu-box-2"}))
        time.sleep(0.5)  # the next beat finds it

    at_epoch(monkeypatch, 1, taken)
    train_run(run)
    status = run.status()
    assert status["state"] == "stopped" and int(run.history()["epoch"].max()) < 4
    assert status["message"].startswith("stopped: training theirs (gpu-box-2) has taken the results folder from this "
                                        "one (silent for over 2 minutes"), status["message"]
    assert json.loads((tmp_path / launcher.LOCK_NAME).read_text())["run_id"] == "theirs"


@pytest.fixture(scope="module")
def trained_again(tmp_path_factory, tiny_data, finished_run):
    """The session's finished run trained again, its configuration unchanged: its tests only read it."""
    run = new_run(tmp_path_factory.mktemp("again"), tiny_config(tiny_data))
    train_run(run)
    return run


def test_same_seed_same_training(trained_again, finished_run):
    ours, theirs = trained_again.history(), finished_run.history()
    pd.testing.assert_frame_equal(ours.drop(columns="seconds"), theirs.drop(columns="seconds"))


def test_same_seed_same_fine_tune_from_a_cold_and_a_warm_cache(tmp_path, fine_tuned):
    # The cold run computed its photos' features (building the backbone before phase 1), this warm one
    # reads them from the cache (building it for phase 2). Lite's drop-connect is live in phase 2 and
    # drew its seeds when built, unseeded before the fix.
    data = fine_tuned.config()["train"]["data"]
    warm = new_run(tmp_path, tiny_config(data, **FINE_TUNE))
    train_run(warm)
    assert fine_tuned.status()["features_computed"] > 0 and not warm.status()["features_computed"]
    cold, warm = (run.history().drop(columns="seconds") for run in (fine_tuned, warm))
    assert cold["epoch"].tolist() == [1, 2, 3] and cold["phase"].tolist()[-1] == 2  # phase 2 ran
    pd.testing.assert_frame_equal(cold, warm)


def test_feature_space_views_are_cached_for_the_next_run(finished_run, trained_again):
    # The exact count of backbone inputs (two per photo) is checked on fresh photos above; these may
    # already be in the session's cache from another test's run. The session's finished run trained
    # on tiny_data in feature space (the default): a run of its own would cost a training more. So
    # would a next run of this test's own: the one test_same_seed_same_training compares serves.
    run = finished_run
    assert run.config()["train"]["augment_space"] == "features"
    assert run.status()["state"] == "finished" and run.history()["epoch"].tolist() == list(range(1, 21))
    data = run.config()["dataset"]
    assert run.status()["features_computed"] <= 2 * (data["train"] + data["val"])
    assert run.status()["windows_kept"] == run.status()["windows_total"]  # a small dataset: all of them
    assert trained_again.config()["train"]["augment_space"] == "features"
    assert trained_again.status()["state"] == "finished" and trained_again.status()["features_computed"] == 0


@pytest.mark.parametrize("memory, kept, total, said", [
    # 3 classes x 6 photos leave 12-15 training photos: 640 KB of memory, a budget of 160 KB, fits 2 of each half.
    (640_000, 4, 28, "phase 1 holds 4 of the 28 map windows"),
    # 4 KB: not even the two whole maps fit; they are all it takes, asked of the cache as views 0 and mirror.
    (4 * 1024, 2, None, "phase 1 holds the two whole maps of each training photo"),
])
def test_over_its_memory_budget_phase_1_holds_fewer_windows_and_says_so(tmp_path, tiny_data, monkeypatch, capsys,
                                                                         memory, kept, total, said):
    from glr.training import head_data

    monkeypatch.setattr(head_data, "machine_memory", lambda: memory)
    # 96 px: a 3x3 map, whose whole, 2x2 and 1x1 windows are 14 per image, 28 per photo.
    run = new_run(tmp_path, tiny_config(tiny_data, epochs=1, input_size=96, augment_space="features"))
    train_run(run, console=True)
    status = run.status()
    assert status["state"] == "finished", status.get("message")
    assert (status["windows_kept"], status["windows_total"]) == (kept, total)
    assert said in capsys.readouterr().err


def test_image_views_over_the_memory_budget_are_fewer_and_float16(tmp_path, tiny_data, monkeypatch, capsys):
    from glr.training import head_data

    monkeypatch.setattr(head_data, "machine_memory", lambda: 4 * 1024)
    run = new_run(tmp_path, tiny_config(tiny_data, epochs=1, views=3, augment_space="images"))
    train_run(run, console=True)
    status = run.status()
    assert status["state"] == "finished", status.get("message")
    assert (status["views_kept"], status["views_total"]) == (2, 4)  # the centre crop and its mirror of 4
    assert "phase 1 holds 2 of the 4 image views" in capsys.readouterr().err
    assert "| training crops | 2 of the 4 image views" in (run.path / "report" / "summary.md").read_text()


def test_problems_with_the_data_are_said_and_kept_for_the_report(tmp_path, capsys):
    from conftest import write_image

    data = tmp_path / "folders"
    for c, name in enumerate(["Red_Fort", "Blue_Mosque"]):
        for i in range(6):
            write_image(data / name / f"{i}.jpg", seed=100 * c + i, colour_seed=c)
    (data / "Red_Fort" / "notes.txt").write_text("not a photo")
    (data / "Blue_Mosque" / "5.jpg").write_bytes(b"\xff\xd8 not really a JPEG")  # listed, fails to decode
    Image.new("RGB", (40, 30), (250, 250, 250)).save(data / "Blue_Mosque" / "6.jpg")  # a blank: nothing to learn
    for i in range(5):  # one photo saved five times: the copies in validation would flatter its score
        write_image(data / "Copy_Tower" / f"{i}.jpg", seed=999)
    bad_name = os.fsdecode(b"Red_Fort/\xff\xfe.jpg")  # bytes no UTF-8 text can name
    write_image(data / bad_name, seed=7)
    run = new_run(tmp_path / "results", tiny_config(data, epochs=1))
    train_run(run, console=True)
    assert run.status()["state"] == "finished", run.status().get("message")
    problems = run.data_problems()
    assert any("1 file in class folders is not an image (e.g. 'Red_Fort/notes.txt')" in p for p in problems), problems
    assert any("not valid UTF-8" in p for p in problems), problems
    assert ("left out 1 image that could not be decoded (e.g. 'Blue_Mosque/5.jpg'); left out 1 blank image, "
            "one flat colour with nothing to learn from (e.g. 'Blue_Mosque/6.jpg')") in problems
    copies = [p for p in problems if p.startswith("left out of validation")]
    assert len(copies) == 1 and re.match(r"left out of validation \d+ photos? identical to a training photo "
                                         r"\(the same file twice\), so (it does|they do) not inflate its score \(e.g. 'Copy_Tower/", copies[0])
    evaluated = pd.read_csv(run.path / "val_predictions.csv")
    assert not evaluated["path"].str.contains("Copy_Tower").any()
    said = capsys.readouterr().err
    assert all(f"dataset: {p}" in said for p in problems)
    summary = (run.path / "report" / "summary.md").read_text()
    assert "## Problems with the data" in summary and "- left out 1 image that could not be decoded" in summary


def test_a_dataset_with_one_class_left_fails_before_any_feature_is_made(tmp_path):
    from conftest import make_gldv2
    from glr.errors import DatasetError

    data = make_gldv2(tmp_path / "data", {1: 5, 2: 1})
    run = new_run(tmp_path / "results", tiny_config(data))
    with pytest.raises(DatasetError, match="only 1 class .* a classifier needs at least 2 landmarks"):
        train_run(run)
    status = run.status()
    assert status["state"] == "failed" and "only 1 class" in status["message"]
    assert "features_computed" not in status


def stopped_without_training(results, data, done=2, total=4):
    """A run stopped after `done` of `total` epochs: its history and status written, no training."""
    run = new_run(results, tiny_config(data, epochs=total))
    rows = "".join(f"1,{e},0.5,0.5,0.5,0.5,0.5,0.001,0.1\n" for e in range(1, done + 1))
    run.history_path.write_text("phase,epoch,loss,accuracy,val_loss,val_accuracy,val_top5,lr,seconds\n" + rows)
    run.update_status(state="stopped", epoch=done, epochs=total, message="stopped on request; --resume continues")
    return run


def test_resume_with_epochs_records_the_new_total_for_the_trainer_it_starts(tmp_path, tiny_data):
    import sys

    run = stopped_without_training(tmp_path, tiny_data)
    launcher.resume(run, argv_prefix=[sys.executable, "-c", "pass"], epochs=6)  # a stand-in trainer
    assert run.config()["train"]["epochs"] == 6 and run.recorded_status()["epochs"] == 6
    assert run.recorded_status()["resumed_from"]["state"] == "stopped"  # for the trainer, if it refuses


def test_a_resume_whose_trainer_cannot_start_leaves_the_run_stopped(tmp_path, tiny_data):
    # It was marked "failed: could not start the trainer".
    run = stopped_without_training(tmp_path, tiny_data)
    with pytest.raises(RunError, match="could not start the trainer"):
        launcher.resume(run, argv_prefix=[str(tmp_path / "no-such-python")])
    status = run.status()
    assert status["state"] == "stopped" and status["epoch"] == 2
    assert status["message"].startswith("resume refused: could not start the trainer: ")
    assert launcher.read_lock(tmp_path) is None and launcher.resumable(run) is run


def test_a_closed_terminal_stops_the_run_to_resume_it_instead_of_failing_it(tmp_path, tiny_data, monkeypatch):
    # SIGHUP (the terminal of `python -m glr train` closed) killed the trainer: the run ended "failed" (killed?).
    run = new_run(tmp_path, tiny_config(tiny_data, epochs=6))
    at_epoch(monkeypatch, 2, lambda trainer: os.kill(os.getpid(), signal.SIGHUP))
    hups = []
    signal.signal(signal.SIGHUP, lambda signum, frame: hups.append(signum))  # a SIGHUP missed must not end pytest
    try:
        train_run(run)
    finally:
        signal.signal(signal.SIGHUP, signal.SIG_DFL)
    status = run.status()
    assert hups == [] and status["state"] == "stopped" and "stopped on request" in status["message"], status
    assert run.checkpoint_state()["epoch"] == 2 and launcher.resumable(run) is run

"""glr.training.run_data: a resume trains on the run's own recorded split, whatever the dataset on disk became."""

from __future__ import annotations

import json
import shutil

import pandas as pd
import pytest

from conftest import at_epoch, image_id, make_gldv2, tiny_config, write_image
from glr.errors import GlrError
from glr.training.launch import new_run
from glr.training.run import Run
from glr.training.trainer import train_run

NAMES = {3: "Red_Fort", 5: "Blue_Mosque", 9: "Golden_Gate"}


def stopped_run(results, data, epochs=4):
    """A tiny run stopped on request after its second epoch, with its checkpoint, as the Stop button leaves it."""
    run = new_run(results, tiny_config(data, epochs=epochs))
    with pytest.MonkeyPatch.context() as patch:
        at_epoch(patch, 2, lambda trainer: trainer.run.request_stop())
        train_run(run)
    run.stop_path.unlink()  # in another process (the Stop button's) the trainer itself would lower it
    assert run.status()["state"] == "stopped" and run.history()["epoch"].tolist() == [1, 2]
    return run


def class_folders(root, classes=("Alpha", "Beta", "Gamma"), n=6):
    for c, name in enumerate(classes):
        for i in range(n):
            write_image(root / name / f"{name.lower()}{i}.jpg", seed=100 * c + i, colour_seed=c)
    return root


def resumed(run):
    """Resume `run` to its end; its history must go on from the checkpoint, numbered on."""
    train_run(run, resume=True)
    assert run.status()["state"] == "finished", run.status()["message"]
    assert run.history()["epoch"].tolist() == [1, 2, 3, 4]
    return run


def problems(run):
    return " | ".join(run.config()["dataset"]["problems"])


def shared_stopped_run(root, make_data):
    """A dataset made by `make_data(folder)` at `root`/data, a pristine copy of it, and a run stopped on it: trained
    once for the tests of this module, which get them as they were from `as_made` and `copy_of`."""
    pristine = make_data(root / "pristine")
    shutil.copytree(pristine, root / "data")
    return pristine, root / "data", stopped_run(root / "results", root / "data")


def as_made(shared):
    """The shared dataset put back as it was made (a test before may have changed or moved it): the stopped run
    records its path, so it stays where it is."""
    pristine, data, _ = shared
    shutil.rmtree(data, ignore_errors=True)
    shutil.copytree(pristine, data)
    return data


def copy_of(run, results):
    """A copy of a run folder in another results folder: much cheaper than training it again."""
    return Run(shutil.copytree(run.path, results / "runs" / run.id))


@pytest.fixture(scope="module")
def shared_gld(tmp_path_factory):
    return shared_stopped_run(tmp_path_factory.mktemp("shared-gld"),
                              lambda root: make_gldv2(root, {3: 6, 5: 6, 9: 6}, NAMES))


@pytest.fixture
def gld(shared_gld):
    """Three GLDv2 classes of 6 photos, as made."""
    return as_made(shared_gld)


@pytest.fixture
def gld_run(gld, shared_gld, tmp_path):
    """This test's own copy of a run stopped after 2 of 4 epochs on `gld` (as stopped_run leaves it)."""
    return copy_of(shared_gld[2], tmp_path / "results")


@pytest.fixture(scope="module")
def shared_folders(tmp_path_factory):
    return shared_stopped_run(tmp_path_factory.mktemp("shared-folders"), class_folders)


@pytest.fixture
def folders(shared_folders):
    """Three class folders of 6 photos, as made."""
    return as_made(shared_folders)


@pytest.fixture
def folders_run(folders, shared_folders, tmp_path):
    """This test's own copy of a run stopped after 2 of 4 epochs on `folders`."""
    return copy_of(shared_folders[2], tmp_path / "results")


def add_gldv2_photos(root, landmark_id, n, first=100):
    df = pd.read_csv(root / "train.csv")
    rows = []
    for i in range(first, first + n):
        iid = image_id(landmark_id, i)
        write_image(root / "train" / iid[0] / iid[1] / iid[2] / f"{iid}.jpg", seed=landmark_id * 1000 + i,
                    colour_seed=landmark_id)
        rows.append({"id": iid, "landmark_id": landmark_id})
    pd.concat([df, pd.DataFrame(rows)]).to_csv(root / "train.csv", index=False)


def test_photos_and_a_class_added_are_said_and_left_out(tmp_path):
    # Before: "the dataset changed since this run started; start a new run" for one photo added.
    # Then: the notes of the first start (a class dropped, a photo that did not decode) were replaced by the resume's.
    gld = make_gldv2(tmp_path / "gld", {3: 6, 5: 6, 9: 6, 20: 1}, {**NAMES, 20: "Lonely"})
    photo = sorted((gld / "train").rglob("*.jpg"))[0]
    photo.write_bytes(photo.read_bytes()[:40])
    run = stopped_run(tmp_path / "results", gld)
    first = run.config()["dataset"]["problems"]
    assert any(p.startswith("Dropped 1 class with fewer than") for p in first)
    assert any("could not be decoded" in p for p in first)
    split = run.split_path.read_text()
    add_gldv2_photos(gld, 3, 1)
    add_gldv2_photos(gld, 11, 6)
    resumed(run)
    assert run.split_path.read_text() == split and len(run.labels()) == 3
    notes = run.config()["dataset"]["problems"]
    assert notes[:len(first)] == first and len(notes) == len(set(notes))  # kept, in their order, once each
    said = " | ".join(notes[len(first):])
    assert "1 photo added to the run's classes since it started" in said and "are not used" not in said
    assert "1 class the run does not know ('landmark 11') is left out" in said


def test_photos_of_the_split_deleted_since_are_left_out_and_said(gld, gld_run):
    run = gld_run
    before = run.split()
    gone = before[(before["landmark_id"] == 5) & (before["split"] == "train")]["id"].iloc[0]
    next((gld / "train").rglob(f"{gone}.jpg")).unlink()
    resumed(run)
    assert f"1 photo of the run's own split is no longer in the dataset (deleted or moved, e.g. '{gone}')" in problems(run)
    assert run.split()["id"].tolist() == [i for i in before["id"] if i != gone]  # what the model trained on


def test_a_class_folder_added_before_the_others_does_not_shift_the_labels(folders, folders_run):
    # Class folders are numbered in their names' order: "Aardvark" makes Alpha 1, Beta 2, ...
    # Curating again would have trained the checkpoint's outputs under other classes.
    data, run = folders, folders_run
    labels = run.labels_path.read_text()
    class_folders(data, classes=("Aardvark",))
    resumed(run)
    assert run.labels_path.read_text() == labels
    predictions = run.predictions()
    assert (predictions["true_name"] == predictions["id"].str.split("/").str[0]).all()
    assert "1 class the run does not know ('Aardvark') is left out" in problems(run)


@pytest.mark.parametrize("change, how", [("renamed", "cli"), ("removed", "app")])
def test_a_class_gone_is_refused_naming_it_and_the_run_kept(folders, folders_run, change, how):
    import sys

    from glr.training import launch

    from glr.training.resuming import set_epochs

    data, run = folders, folders_run
    config = run.config()
    if how == "app":  # Resume on the Train page: launch queues the run, then its trainer process refuses
        import time

        launch.resume(run, argv_prefix=[sys.executable, "-c", "pass"], epochs=7)  # a stand-in that ends at once
        while run.status()["state"] != "failed":  # "queued" by a process that is gone
            time.sleep(0.02)
    else:
        set_epochs(run, 7)  # `train --resume RUN --epochs 7`, as cmd_train does before the trainer
    kept = {p: p.read_bytes() for p in (run.labels_path, run.split_path, run.last_checkpoint, run.history_path)}
    if change == "renamed":
        (data / "Beta").rename(data / "Bravo")
    else:
        for photo in (data / "Beta").iterdir():
            photo.unlink()
        (data / "Beta").rmdir()
    with pytest.raises(GlrError, match=r"1 class of the run \('Beta'\) is gone from the dataset at .*: none of its "
                                       r"photos in the run's own split is there \(deleted, or the class folder renamed\?\)"):
        train_run(run, resume=True)
    assert all(p.read_bytes() == content for p, content in kept.items())
    # It was marked "failed" by the refusal: a stopped run stays stopped, resumable once the class is back.
    status = run.status()
    assert status["state"] == "stopped" and status["message"].startswith("resume refused: 1 class of the run ('Beta')")
    assert status["message"].endswith("; the run is stopped as before, and resumable")
    assert status["epoch"] == 2 and status["phase"] == "phase 1: training the head"
    # The attempt's --epochs 7 is undone with it: config.json said 7 and the next plain --resume trained to 7.
    assert run.config()["train"] == config["train"] and "epochs_changed" not in run.config() and status["epochs"] == 4
    assert "epochs: 7 -> 4 again: the resume was refused" in run.log_path.read_text()
    from glr.training.launch import resumable

    assert resumable(run) is run


def test_a_photo_given_another_landmark_in_train_csv_is_refused(gld, gld_run):
    run = gld_run
    df = pd.read_csv(gld / "train.csv", dtype={"id": str})
    moved = df.index[df["landmark_id"] == 3][0]
    df.loc[moved, "landmark_id"] = 5
    df.to_csv(gld / "train.csv", index=False)
    with pytest.raises(GlrError, match=rf"1 photo of the run's own split now belongs to another landmark .*"
                                       rf"{df.loc[moved, 'id']}: landmark 3 when the run started, 5 now"):
        train_run(run, resume=True)


def test_a_photo_replaced_by_a_damaged_file_is_left_out_and_said(gld, gld_run):
    run = gld_run
    photo = sorted((gld / "train").rglob("*.jpg"))[0]
    photo.write_bytes(photo.read_bytes()[:40])
    resumed(run)
    assert "left out 1 image that could not be decoded" in problems(run)


def test_labels_json_lost_resumes_if_the_dataset_is_unchanged_else_names_it(tmp_path, gld, gld_run, shared_gld):
    run = gld_run
    labels = json.loads(run.labels_path.read_text())
    run.labels_path.unlink()
    resumed(run)
    assert json.loads(run.labels_path.read_text()) == labels
    assert "labels.json is missing: made again from the dataset, unchanged since the run started" in problems(run)

    other = copy_of(shared_gld[2], tmp_path / "results2")
    other.labels_path.unlink()
    add_gldv2_photos(gld, 3, 1)
    with pytest.raises(GlrError, match=f"run {other.id} cannot be resumed: labels.json is missing, so the run's "
                                       "classes cannot be read back, and the dataset at .* changed"):
        train_run(other, resume=True)


def test_a_run_stopped_before_it_read_its_data_resumes_without_a_word_about_its_record(tmp_path, gld):
    run = new_run(tmp_path / "results", tiny_config(gld, epochs=2))
    run.update_status(state="stopped")  # stopped while TensorFlow was still importing: no labels, split or fingerprint
    train_run(run, resume=True)
    assert run.status()["state"] == "finished" and "missing" not in problems(run)


def test_a_dataset_moved_away_names_it_and_says_to_put_it_back(tmp_path, gld, gld_run):
    run = gld_run
    gld.rename(tmp_path / "elsewhere")
    with pytest.raises(GlrError, match=f"run {run.id} cannot be resumed: the dataset it trains on cannot be read now "
                                       rf"\({gld}: no such file or folder\); put it back where the run found it"):
        train_run(run, resume=True)
    assert run.last_checkpoint.is_file() and run.history()["epoch"].tolist() == [1, 2]


def test_a_landmark_renamed_in_the_category_file_takes_its_new_name_and_says_so(gld, gld_run):
    run = gld_run
    names = gld / "train_label_to_category.csv"
    names.write_text("landmark_id,category\n3,Red Fort\n5,Blue Mosque (Istanbul)\n9,Golden Gate\n")
    resumed(run)
    assert "1 class of the run has another name now (e.g. 'Blue Mosque' is now 'Blue Mosque (Istanbul)'): " \
           "the run uses the new names" in problems(run)
    assert sorted(run.labels()["name"]) == ["Blue Mosque (Istanbul)", "Golden Gate", "Red Fort"]


def test_a_split_that_does_not_match_the_labels_is_no_record(gld, gld_run):
    # Without this check: "1 class of the run (...) is gone from the dataset", which it is not.
    run = gld_run
    split = run.split()
    run.write_split(split.assign(landmark_id=split["landmark_id"].replace({3: 4})))
    add_gldv2_photos(gld, 3, 1)
    with pytest.raises(GlrError, match="cannot be resumed: split.csv and labels.json do not name the same classes "
                                       r"\(one replaced\?\), so the run's classes cannot be read back"):
        train_run(run, resume=True)



def test_a_run_made_before_look_alike_folders_were_told_apart_knows_its_classes_by_folder(tmp_path):
    # Its labels.json says "Big Ben" for both `Big Ben` and `Big_Ben` (glr before session 28); the catalog says
    # "Big Ben (folder Big_Ben)": matched by name, a resume said "2 classes the run does not know" of its own two.
    from glr.data import datasets
    from glr.training.run_data import from_record

    data = class_folders(tmp_path / "data", classes=("Alpha", "Big Ben", "Big_Ben"))
    fresh = datasets.curate(datasets.load_catalog(data), top_n=0, min_images=2, val_fraction=0.3, seed=0)
    old = fresh.labels.assign(name=["Alpha", "Big Ben", "Big Ben"])
    write_image(data / "Big_Ben" / "new.jpg", seed=999, colour_seed=2)
    split, changes = from_record(datasets.load_catalog(data), fresh.table(), old, fresh=fresh)
    assert not any("does not know" in c for c in changes), changes
    assert split.labels["name"].tolist() == ["Alpha", "Big Ben (folder Big Ben)", "Big Ben (folder Big_Ben)"]
    assert set(split.train["name"]) == set(split.labels["name"])
    assert any("1 photo added to the run's classes" in c for c in changes), changes
    assert any("told apart by their folder" in c for c in changes), changes

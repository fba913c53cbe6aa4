"""glr.data.class_names: classes whose names read the same are told apart where the names are made, in a form
stable across runs, and the results use it."""

import json
import shutil
import unicodedata

import numpy as np
import pandas as pd
import pytest

from conftest import make_gldv2, write_image
from glr.data.class_names import names_told_apart, recorded_names_now, recorded_names_told_apart
from glr.data.datasets import curate, load_catalog
from glr.evaluation.metrics import most_confused_pairs, per_class_report

EIFFEL = "https://commons.wikimedia.org/wiki/Category:Eiffel_Tower"


def test_two_landmark_ids_with_one_wikimedia_name_are_told_apart_by_their_id(tmp_path):
    # Both showed as "Eiffel Tower" in the class browser, per-class metrics, the confusion matrix and predictions.
    root = make_gldv2(tmp_path / "gld", {12: 3, 99: 3, 7: 3}, names={12: EIFFEL, 99: EIFFEL + "?uselang=fr",
                                                                      7: "Category:Big_Ben"})
    catalog = load_catalog(root)
    assert catalog.names() == {12: "Eiffel Tower (landmark 12)", 99: "Eiffel Tower (landmark 99)", 7: "Big Ben"}
    assert catalog.problems[0].startswith("train_label_to_category.csv: 2 landmark_ids with names that differ only")
    split = curate(catalog, top_n=0)
    assert sorted(split.labels["name"]) == ["Big Ben", "Eiffel Tower (landmark 12)", "Eiffel Tower (landmark 99)"]
    assert set(split.train["name"]) | set(split.val["name"]) == set(split.labels["name"])
    # What the results pages show: the per-class table and the most confused pairs, by the labels' names.
    i12, i99 = (int(split.labels.loc[split.labels["landmark_id"] == i, "index"].iloc[0]) for i in (12, 99))
    report = per_class_report([i12, i99], [i99, i99], split.labels)
    assert report["name"].is_unique
    cm = np.zeros((3, 3), int)
    cm[i12, i99] = 1
    pair = most_confused_pairs(cm, split.labels).iloc[0]
    assert (pair["true"], pair["predicted"]) == ("Eiffel Tower (landmark 12)", "Eiffel Tower (landmark 99)")
    assert load_catalog(root).names() == catalog.names()  # the same on every load


def folder_dataset(root, names):
    for k, name in enumerate(names):
        for i in range(2):
            write_image(root / name / f"{i}.jpg", seed=10 * k + i)
    return root


def test_class_folders_whose_names_read_the_same_are_told_apart_by_the_folders_name(tmp_path):
    nfc, nfd = (unicodedata.normalize(form, "Café") for form in ("NFC", "NFD"))
    root = folder_dataset(tmp_path / "data", ["Big Ben", "Big_Ben", nfc, nfd, "Tower", "tower", "Eiffel Tower"])
    names = sorted(load_catalog(root).names().values())
    assert names == sorted(["Big Ben (folder Big Ben)", "Big Ben (folder Big_Ben)", "Café (folder Café)",
                            f"{nfd} (folder Cafe\\u0301)", "Tower", "tower", "Eiffel Tower"])
    assert len({unicodedata.normalize("NFC", n) for n in names}) == len(names)
    # A folder added beside them changes no name (a folder's number shifts; its name does not).
    folder_dataset(root, ["Abbey"])
    assert sorted(set(load_catalog(root).names().values()) - {"Abbey"}) == names
    labels = curate(load_catalog(root), top_n=0).labels
    assert labels["name"].is_unique and "Big Ben (folder Big_Ben)" in set(labels["name"])


def test_class_folders_that_differ_only_in_spaces_at_an_end_show_under_different_names(tmp_path):
    # ` Tower` and `Tower` were both "Tower (folder Tower)" once their spaces were read as a person reads them
    # (inspect's table, the app's HTML): two classes under one name, what distinct_names is there to prevent.
    from glr.paths import one_line

    root = folder_dataset(tmp_path / "data", [" Tower", "Tower", "Tower ", "Big  Ben", "Big Ben"])
    names = sorted(load_catalog(root).names().values())
    assert names == sorted(["Tower (folder ' Tower')", "Tower (folder Tower)", "Tower (folder 'Tower ')",
                            "Big  Ben (folder 'Big  Ben')", "Big Ben (folder Big Ben)"])
    assert len({one_line(n) for n in names}) == len(names)


@pytest.mark.parametrize("names", [["Tower", "Bridge"], ["Tower", "tower"]])
def test_names_that_can_be_told_apart_are_left_as_they_are(tmp_path, names):
    assert sorted(load_catalog(folder_dataset(tmp_path / "d", names)).names().values()) == sorted(names)


def old_run(folder, split_rows, labels):
    """A run folder as glr wrote it before session 28 (labels.json, split.csv), read back as glr reads a run."""
    from glr.training.run import Run

    folder.mkdir(parents=True)
    (folder / "labels.json").write_text(json.dumps(labels), encoding="utf-8")
    (folder / "split.csv").write_text("id,landmark_id,split\n" + "".join(f"{i},{c},{s}\n" for i, c, s in split_rows),
                                      encoding="utf-8")
    run = Run(folder)
    return run.split(), run.labels()


def test_a_run_made_before_look_alike_folders_were_told_apart_takes_their_names_now_by_folder(tmp_path):
    # Its labels.json says "Big Ben" twice; matched by name, both classes read as unknown to it on a resume.
    root = folder_dataset(tmp_path / "data", ["Alpha", "Big Ben", "Big_Ben"])
    rows = [(f"{f}/{i}", c, "train" if i == 0 else "val") for c, f in enumerate(["Alpha", "Big Ben", "Big_Ben"])
            for i in range(2)]
    table, labels = old_run(tmp_path / "run", rows, [{"index": c, "landmark_id": c, "name": n, "images": 2}
                                                     for c, n in enumerate(["Alpha", "Big Ben", "Big Ben"])])
    named, renamed = recorded_names_now(load_catalog(root).df, table, labels)
    assert named["name"].tolist() == ["Alpha", "Big Ben (folder Big Ben)", "Big Ben (folder Big_Ben)"]
    assert renamed == [("Big Ben", "Big Ben (folder Big Ben)"), ("Big Ben", "Big Ben (folder Big_Ben)")]
    assert named[["index", "landmark_id", "images"]].equals(labels[["index", "landmark_id", "images"]])


def test_a_run_keeps_its_name_when_the_folder_is_named_otherwise_now_or_its_photos_are_two_classes(tmp_path):
    # Only the "(folder ...)" told-apart form is taken from the catalog: any other new name (a category file's)
    # is the run's own business, and photos now in two classes give no one name.
    root = folder_dataset(tmp_path / "data", ["Big Ben", "Big_Ben", "Tower"])
    rows = [("Big Ben/0", 0, "train"), ("Big_Ben/0", 0, "val"), ("Tower/0", 1, "train"), ("Tower/1", 1, "val")]
    table, labels = old_run(tmp_path / "run", rows, [{"index": 0, "landmark_id": 0, "name": "Big Ben", "images": 2},
                                                     {"index": 1, "landmark_id": 1, "name": "Big Tower", "images": 2}])
    named, renamed = recorded_names_now(load_catalog(root).df, table, labels)
    assert named["name"].tolist() == ["Big Ben", "Big Tower"] and renamed == []
    # A run made after: "Big Ben (folder Big_Ben)", the folder `Big Ben` deleted since: "Big Ben" now.
    shutil.rmtree(root / "Big Ben")
    table, labels = old_run(tmp_path / "run2", [("Big_Ben/0", 0, "train"), ("Big_Ben/1", 0, "val")],
                            [{"index": 0, "landmark_id": 0, "name": "Big Ben (folder Big_Ben)", "images": 2}])
    assert recorded_names_now(load_catalog(root).df, table, labels)[0]["name"].tolist() == ["Big Ben"]


def test_class_folders_windows_cannot_hold_are_read_and_said(tmp_path):
    # `CON`, `NUL.`, `aux ` (a device's name; a trailing dot or space) are folders on Linux only: read in silence,
    # a copy of the dataset on Windows failed. The run folder and exports hold the names inside files only
    # (tried by hand: a tiny run trained on them and its keras export zip: no such file name).
    root = folder_dataset(tmp_path / "data", ["CON", "NUL.", "aux ", "com1.txt", "Console", "Tower"])
    catalog = load_catalog(root)
    assert sorted(catalog.names().values()) == ["CON", "Console", "NUL.", "Tower", "aux", "com1.txt"]
    assert catalog.problems == [
        "4 class folders named so Windows cannot hold them (e.g. 'CON', 'NUL.', 'aux ': a device's name there, a name "
        "ending in a dot or space, or one of < > : \" | ? * \\): read here, and runs and exports keep class names inside "
        "their files only; a copy of this dataset on Windows fails or renames such folders, so rename them to move it "
        "there"]
    assert load_catalog(folder_dataset(tmp_path / "fine", ["Console", "Tower", "Auxerre"])).problems == []


def like_an_old_folder_run(folder) -> list[str]:
    """Rewrite a finished run's files as a run of class folders `Big Ben`, `Big_Ben`, `Tower 2`... made before
    look-alike folders were told apart wrote them: labels.json, per_class.csv and val_predictions.csv say "Big Ben"
    for both its first classes, split.csv's ids are `folder/photo`. The names it should show now, in labels order."""
    labels = json.loads((folder / "labels.json").read_text(encoding="utf-8"))
    folders = {row["landmark_id"]: f for row, f in zip(labels, ["Big Ben", "Big_Ben", *(f"Tower {i}" for i in range(2, 99))])}
    old = {i: f.replace("_", " ") for i, f in folders.items()}
    (folder / "labels.json").write_text(json.dumps([{**row, "name": old[row["landmark_id"]]} for row in labels]))
    split = pd.read_csv(folder / "split.csv", dtype={"id": str})
    split.assign(id=split["landmark_id"].map(folders) + "/" + split["id"]).to_csv(folder / "split.csv", index=False)
    per_class = pd.read_csv(folder / "per_class.csv")
    per_class.assign(name=per_class["landmark_id"].map(old)).to_csv(folder / "per_class.csv", index=False)
    predictions = pd.read_csv(folder / "val_predictions.csv", dtype={"id": str})
    predictions.assign(true_name=predictions["true_landmark_id"].map(old), pred_name=predictions["pred_landmark_id"].map(
        old)).to_csv(folder / "val_predictions.csv", index=False)
    return [f"Big Ben (folder {folders[row['landmark_id']]})" if row["landmark_id"] in list(folders)[:2]
            else old[row["landmark_id"]] for row in labels]


def test_an_old_runs_names_that_read_alike_are_told_apart_by_folder_or_landmark(tmp_path):
    # Told apart as its dataset is named now ("(folder Big_Ben)", so a resume still matches); a GLDv2 run's ids,
    # or a run without its split.csv, by landmark_id. A run whose names differ comes back as it was.
    rows = [("Big Ben/0", 4, "train"), ("Big_Ben/0", 7, "train"), ("Tower/0", 9, "val")]
    labels = [{"index": i, "landmark_id": c, "name": n, "images": 2} for i, (c, n) in enumerate(
        [(4, "Big Ben"), (7, "Big  Ben"), (9, "Tower")])]
    table, recorded = old_run(tmp_path / "run", rows, labels)
    told = recorded_names_told_apart(recorded, table)
    assert told["name"].tolist() == ["Big Ben (folder Big Ben)", "Big  Ben (folder Big_Ben)", "Tower"]
    assert told[["index", "landmark_id", "images"]].equals(recorded[["index", "landmark_id", "images"]])
    gldv2 = table.assign(id=["0a1b2c3d4e5f6a7b", "1a1b2c3d4e5f6a7b", "2a1b2c3d4e5f6a7b"])
    for split in (gldv2, None):
        assert recorded_names_told_apart(recorded, split)["name"].tolist() == [
            "Big Ben (landmark 4)", "Big  Ben (landmark 7)", "Tower"]
    apart = recorded.assign(name=["Big Ben", "Big Tower", "Tower"])
    assert recorded_names_told_apart(apart, table) is apart
    predictions = pd.DataFrame({"true_landmark_id": [7, 9], "true_name": ["Big Ben", "Tower"],
                                "pred_landmark_id": [4, 11], "pred_name": ["Big Ben", "gone"]})
    named = names_told_apart(predictions, told, {"true_name": "true_landmark_id", "pred_name": "pred_landmark_id"})
    assert named["true_name"].tolist() == ["Big  Ben (folder Big_Ben)", "Tower"]
    assert named["pred_name"].tolist() == ["Big Ben (folder Big Ben)", "gone"]

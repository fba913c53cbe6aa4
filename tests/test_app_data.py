"""glr.app_data: the app's helpers, tested without Streamlit."""

import io
import json
import zipfile

import numpy as np
import pandas as pd
import pytest

from conftest import write_image
from glr import class_examples
from glr import paths
from glr.data import browse
from glr.demo import dataset as demo
from glr.errors import GlrError
from glr.evaluation import compare
from glr.training import run_table
from glr.data import datasets
from glr.training import runs


def _jpeg(seed: int = 0, size: int = 40) -> bytes:
    from PIL import Image

    arr = np.random.default_rng(seed).integers(0, 256, (size, size, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(arr).save(buffer, format="JPEG")
    return buffer.getvalue()


# --------------------------------------------------------------------------- where things are


def test_results_dir_and_dataset_from_environment(monkeypatch, tmp_path):
    monkeypatch.delenv("GLR_RESULTS", raising=False)
    monkeypatch.delenv("GLR_DATA", raising=False)
    assert paths.results_dir().name == "results"
    assert paths.default_dataset() is None
    assert browse.dataset_label(None) == "the demo dataset"
    monkeypatch.setenv("GLR_RESULTS", str(tmp_path / "r"))
    monkeypatch.setenv("GLR_DATA", "/some/data")
    assert paths.results_dir() == tmp_path / "r"
    assert paths.default_dataset() == "/some/data"


def test_demo_ready_follows_the_marker(monkeypatch, tmp_path):
    monkeypatch.setenv("GLR_DEMO_DIR", str(tmp_path / "demo"))
    assert not demo.is_ready()


def test_recent_datasets_most_recent_first_without_duplicates(monkeypatch, tmp_path):
    monkeypatch.setenv("GLR_CACHE_DIR", str(tmp_path))
    assert browse.recent_datasets() == []
    browse.remember_dataset("/a")
    browse.remember_dataset("/b")
    assert browse.remember_dataset("/a") == ["/a", "/b"]
    for i in range(20):
        browse.remember_dataset(f"/d{i}", limit=3)
    assert browse.recent_datasets() == ["/d19", "/d18", "/d17"]
    (tmp_path / browse.RECENT_FILE).write_text("{not json")
    assert browse.recent_datasets() == []  # damaged: starts over, no exception
    (tmp_path / browse.RECENT_FILE).write_text(json.dumps({"a": 1}))
    assert browse.recent_datasets() == []


def test_dataset_stamp_changes_when_train_csv_changes(tmp_path):
    assert browse.dataset_stamp(tmp_path / "missing") == 0.0
    csv = tmp_path / "train.csv"
    csv.write_text("id,landmark_id\n")
    before = browse.dataset_stamp(tmp_path)
    import os

    os.utime(csv, (before + 10, before + 10))
    assert browse.dataset_stamp(tmp_path) == before + 10


# --------------------------------------------------------------------------- runs


def _run(results, run_id, state, created, model=False, history=False):
    run = runs.Run.create(results, {"train": {"backbone": "x", "epochs": 2}}, run_id=run_id)
    run._merge({"state": state, "created": created})
    if model:
        (run.path / "model.keras").write_bytes(b"x")
    if history:
        (run.path / "history.csv").write_text("phase,epoch,loss\n1,1,0.5\n")
    return run


def test_default_run_prefers_the_newest_active(tmp_path):
    assert run_table.default_run(runs.list_runs(tmp_path)) is None
    _run(tmp_path, "old", "finished", "2026-01-01T00:00:00", model=True)
    _run(tmp_path, "new", "failed", "2026-01-03T00:00:00", history=True)
    assert run_table.default_run(runs.list_runs(tmp_path)) == "new"
    # A queued run (no process yet) counts as active and wins over newer finished ones.
    _run(tmp_path, "queued", "queued", "2026-01-02T00:00:00")
    assert run_table.default_run(runs.list_runs(tmp_path)) == "queued"
    assert run_table.finished_runs(tmp_path) == ["old"]
    assert run_table.evaluated_runs(tmp_path) == ["new"]


def test_progress_of_status():
    assert run_table.progress_of({"state": "running", "phase": "features", "step": 5, "steps": 20}) == (0.25, "features: 5/20")
    assert run_table.progress_of({"state": "queued", "step": 0, "steps": None}) == (0.0, "queued")
    assert run_table.progress_of({"state": "running", "step": 30, "steps": 20})[0] == 1.0
    assert run_table.progress_of({"state": "finished", "step": None, "steps": None}) == (1.0, "finished")
    assert run_table.progress_of({"state": "running", "step": "x", "steps": 3})[0] == 0.0
    assert run_table.epoch_progress({"epoch": 3, "epochs": 12}) == (0.25, "epoch 3 of 12")
    assert run_table.epoch_progress({"epoch": None, "epochs": None})[0] == 0.0


def test_metrics_table_and_histories_survive_damage(tmp_path):
    good = _run(tmp_path, "good", "finished", "2026-01-01T00:00:00", history=True)
    (good.path / "metrics.json").write_text(json.dumps({"top1": 0.5, "top5": 0.9, "gap": 0.4}))
    bad = _run(tmp_path, "bad", "failed", "2026-01-02T00:00:00")
    (bad.path / "history.csv").write_text("phase,epoch\n1,")  # cut short
    table = compare.metrics_table([good.path, bad.path])
    assert table.set_index("run_id").loc["good", "top1"] == 0.5
    assert pd.isna(table.set_index("run_id").loc["bad", "top1"])
    found, problems = compare.histories([good.path, bad.path])
    assert list(found) == ["good"] and len(problems) == 1 and "history.csv" in problems[0]


def test_log_tail(tmp_path):
    log = tmp_path / "train.log"
    assert run_table.log_tail(log) == ""
    log.write_text("\n".join(f"line {i}" for i in range(100)) + "\n")
    assert run_table.log_tail(log, lines=2) == "line 98\nline 99"


# --------------------------------------------------------------------------- datasets


def test_split_table_counts_both_sides(tiny_data):
    split = datasets.curate(datasets.load_catalog(tiny_data))
    table = browse.split_table(split)
    assert list(table.columns) == ["index", "landmark_id", "name", "images", "train", "val"]
    assert (table["train"] + table["val"] == table["images"]).all()
    assert (table["val"] >= 1).all()


def test_gallery_pages_and_search(tiny_data):
    df = datasets.load_catalog(tiny_data).df
    first = browse.gallery_page(df, "", page=1, per_page=2, per_class=3)
    assert (first.page, first.pages, first.matches) == (1, 2, 3)
    assert len(first.classes) == 2 and all(len(e) == 3 for e in first.classes["examples"])
    last = browse.gallery_page(df, "", page=99, per_page=2)
    assert last.page == 2 and len(last.classes) == 1  # clamped
    hit = browse.gallery_page(df, "  BLUE ")
    assert hit.classes["name"].tolist() == ["Blue Mosque"]
    assert browse.gallery_page(df, "9").classes["landmark_id"].tolist() == [9]  # by id too
    none = browse.gallery_page(df, "no such landmark")
    assert none.matches == 0 and none.classes.empty and none.pages == 1


def test_thumbnail_and_image_sizes(tmp_path):
    good = tmp_path / "a.jpg"
    write_image(good, seed=1, size=64)
    bad = tmp_path / "b.jpg"
    bad.write_bytes(b"%PDF-1.4 not an image")
    thumb = browse.thumbnail(good, 32)
    assert thumb.shape == (32, 32, 3) and thumb.dtype == np.uint8
    assert browse.thumbnail(bad) is None
    assert browse.thumbnail(io.BytesIO(_jpeg()), 16).shape == (16, 16, 3)
    stats = browse.image_size_stats([str(good), str(bad)] * 3, sample=4)
    assert stats["sampled"] == 4 and stats["unreadable"] + len(stats["sizes"]) == 4
    assert stats["common"]["size"].iloc[0] == "64 x 64"
    assert stats["summary"].loc["width", "median"] == 64
    empty = browse.image_size_stats([str(bad)])
    assert empty["sizes"].empty and empty["unreadable"] == 1


# --------------------------------------------------------------------------- results


def test_misclassified_most_confident_first():
    preds = pd.DataFrame({
        "id": ["a", "b", "c", "d"], "path": ["p"] * 4, "true_name": ["X", "X", "Y", "Y"],
        "pred_name": ["Y", "X", "X", "X"], "confidence": [0.4, 0.9, 0.8, 0.6],
        "correct": ["False", "True", "False", "False"],  # as read from a CSV without bool parsing
    })
    wrong = compare.misclassified(preds)
    assert wrong["id"].tolist() == ["c", "d", "a"]
    assert compare.misclassified(preds, limit=1)["id"].tolist() == ["c"]
    assert compare.misclassified(preds, true_name="X")["id"].tolist() == ["a"]
    assert compare.misclassified(None).empty


def test_report_zip(tmp_path):
    run = tmp_path / "runs" / "r1"
    assert compare.report_zip(run) is None
    (run / "report").mkdir(parents=True)
    (run / "report" / "summary.md").write_text("# hi\n")
    (run / "report" / ".tmp").write_text("partial")
    names = zipfile.ZipFile(io.BytesIO(compare.report_zip(run))).namelist()
    assert names == ["r1/report/summary.md"]


# --------------------------------------------------------------------------- predictions


def test_example_paths_from_catalog_and_fallback(finished_run):
    catalog = datasets.load_catalog(class_examples.run_dataset_root(finished_run.path))
    with_catalog = class_examples.example_paths(finished_run.path, catalog.df, per_class=2)
    labels = json.loads((finished_run.path / "labels.json").read_text())
    assert set(with_catalog) == {row["landmark_id"] for row in labels}
    split = pd.read_csv(finished_run.path / "split.csv", dtype={"id": str})
    train_ids = set(split.loc[split["split"] == "train", "id"])
    for found in with_catalog.values():
        assert len(found) == 2
        assert all(p.rsplit("/", 1)[1][:-4] in train_ids for p in found)  # training images, not validation
    fallback = class_examples.example_paths(finished_run.path, None)
    assert set(fallback) == set(with_catalog) and all(len(v) >= 1 for v in fallback.values())


def test_check_run_for_prediction(finished_run, tmp_path):
    run_table.check_run_for_prediction(finished_run.path)
    assert run_table.model_stamp(finished_run.path) > 0
    with pytest.raises(GlrError, match="model.keras is missing"):
        run_table.check_run_for_prediction(tmp_path)
    assert class_examples.run_dataset_root(tmp_path) is None

"""The Predict page (AppTest): what the model knows, sample photos in one click with their Grad-CAM (on request),
clear all, the same photo uploaded twice listed once, uploads made while the page reruns, and a page that
serves the model without TensorFlow."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from conftest import write_image
from glr.retrieval import run_index
from glr.training import run_table
from glr.training.run import RUNS_SUBDIR
from test_app_pages import PREDICT, alt_texts, assert_no_exception, button, open_page, texts, top_k_results

HEATMAP_CAPTION = "Where it looked for"


@pytest.fixture
def results(monkeypatch, tmp_path, finished_run, tiny_data) -> Path:
    folder = tmp_path / "results"
    shutil.copytree(finished_run.path, folder / RUNS_SUBDIR / "20260101-000000-a")
    monkeypatch.setenv("GLR_RESULTS", str(folder))
    monkeypatch.setenv("GLR_DATA", str(tiny_data))
    return folder


def heatmaps(at) -> int:
    return sum(HEATMAP_CAPTION in str(image.proto) for image in at.image)


def click(at, key: str):
    at.button(key=key).click().run()
    assert_no_exception(at)
    return at


def test_the_page_says_what_the_model_knows_and_offers_samples(results):
    at = open_page(PREDICT)
    assert "This model knows the 3 landmarks of the dataset at" in texts(at.info)
    assert 'will be called "not a known landmark"' in texts(at.info)
    assert "Drop one photo" in texts(at.info)
    assert [b.label for b in at.button if b.key.startswith("predict_try_") and b.label == "Try"]
    assert heatmaps(at) == 0  # nothing predicted yet


def _parent_of(node, wanted):
    """The block holding the widget keyed `wanted`, or None."""
    for child in getattr(node, "children", {}).values():
        if getattr(child, "key", None) == wanted:
            return node
        if (found := _parent_of(child, wanted)) is not None:
            return found
    return None


def test_each_sample_card_names_its_photo_right_under_it_and_then_offers_try(results):
    # The card was photo, "Try", name: on a phone the name sat under the button, nearer the next card's photo.
    # Now the name is under its photo, and stretched space above "Try" keeps a row's buttons in line.
    at = open_page(PREDICT)
    keys = [b.key for b in at.button if b.key.startswith("predict_try_") and b.label == "Try"]
    assert keys
    for key in keys:
        card = _parent_of(at.main, key)
        assert [c.type for c in card.children.values()] == ["image", "caption", "space", "button"], key
        assert 'height_config {\n  use_stretch: true' in str(card.proto), key  # as tall as the row's tallest card


def test_a_sample_tried_in_one_click_gets_a_prediction_and_a_heatmap_on_request(results):
    at = click(open_page(PREDICT), "predict_try_0")
    assert "1 of 1 photo predicted." in texts(at.caption)
    assert "A validation photo of" in texts(at.caption)
    assert top_k_results(at) == 1
    assert heatmaps(at) == 0  # Grad-CAM loads TensorFlow: only when asked
    at.toggle(key="predict_gradcam").set_value(True).run()
    assert heatmaps(at) == 1
    click(at, "predict_try_0")  # tried twice: still one entry
    assert "1 of 1 photo predicted." in texts(at.caption) and heatmaps(at) == 1
    at.toggle(key="predict_gradcam").set_value(False).run()
    assert heatmaps(at) == 0 and top_k_results(at) == 1


def test_a_result_shows_its_top_k_as_one_list(results):
    at = click(open_page(PREDICT), "predict_try_0")
    top_k = [m.value for m in at.markdown if m.value.startswith("1. ")]
    lines = top_k[0].splitlines() if len(top_k) == 1 else []
    # k classes, or all 3 the tiny model knows
    shown = min(at.slider(key="predict_k").value, 3)
    assert [line.split(".")[0] for line in lines] == [str(r) for r in range(1, shown + 1)], top_k
    assert "%" in top_k[0] and "**" in top_k[0].splitlines()[0]  # the best guess in bold, with its probability
    assert not at.progress  # no element per class: one markdown element per result


def _path_of(node, wanted, path=()):
    """The position (child indices from the page's main block) of the widget keyed `wanted`, or None."""
    if getattr(node, "key", None) == wanted:
        return path
    for i, child in getattr(node, "children", {}).items():
        found = _path_of(child, wanted, (*path, i))
        if found is not None:
            return found
    return None


def test_the_upload_fragment_keeps_its_place_whatever_is_shown_above_it(two_models, finished_run):
    # A fragment's id is derived from its position on the page, and an upload sent while the page
    # reruns names the fragment by that id: if a message above it (a model that cannot load, a
    # caption) moved the upload box, that upload would find no fragment and be lost.
    from glr.training.run import Run

    first, other = run_table.finished_runs(two_models)[:2]
    Run.of(two_models, first).labels_path.write_text("{not json")  # the run the page chooses first
    at = open_page(PREDICT)
    assert "is damaged" in texts(at.error)
    broken = _path_of(at.main, "predict_files")
    at.selectbox(key="predict_run").set_value(other).run()
    assert_no_exception(at)
    assert not at.error and "This model knows" in texts(at.info)
    assert broken is not None and _path_of(at.main, "predict_files") == broken


def test_try_all_then_clear_all(results, tmp_path):
    at = open_page(PREDICT)
    n = sum(b.key.startswith("predict_try_") and b.label == "Try" for b in at.button)
    click(at, "predict_try_all")
    assert f"{n} of {n} photos predicted." in texts(at.caption)
    assert top_k_results(at) == n
    at.file_uploader(key="predict_files").set_value([("mine.jpg", _new_photo(tmp_path), "image/jpeg")]).run()
    assert f"{n + 1} of {n + 1} photos predicted." in texts(at.caption)
    click(at, "predict_clear")
    assert "Drop one photo" in texts(at.info)
    assert not top_k_results(at) and heatmaps(at) == 0
    assert all(not f.value for f in at.file_uploader)  # a fresh, empty upload box
    assert button(at, f"Try all {n}")  # the samples are still offered


def test_the_same_photo_uploaded_twice_is_listed_once(results, finished_run):
    photo = _photo(finished_run, 0)
    at = open_page(PREDICT)
    at.file_uploader(key="predict_files").set_value([
        ("first.jpg", photo, "image/jpeg"), ("first.jpg", photo, "image/jpeg"), ("again.jpg", photo, "image/jpeg"),
        ("other.jpg", _photo(finished_run, 1), "image/jpeg"),
    ]).run()
    assert_no_exception(at)
    assert "first.jpg was added twice: predicted once." in texts(at.caption)
    assert "again.jpg is the same photo as first.jpg: predicted once." in texts(at.caption)
    assert "2 of 2 photos predicted." in texts(at.caption)
    shown = [m.value for m in at.markdown if m.value.startswith("**") and m.value.endswith(".jpg**")]
    assert shown == ["**first.jpg**", "**other.jpg**"]
    assert not at.dataframe  # the table only on request: its grid is costly for the browser
    at.toggle(key="predict_table").set_value(True).run()
    # The submission has one row per id: a copy under another name keeps its row and its first's prediction.
    table = at.dataframe[0].value
    assert table["id"].tolist() == ["first", "other", "again"]
    assert table["landmarks"].iloc[2] == table["landmarks"].iloc[0]


@pytest.fixture
def two_models(results) -> Path:
    """A second finished run beside the first, so the model can be changed."""
    shutil.copytree(results / RUNS_SUBDIR / "20260101-000000-a", results / RUNS_SUBDIR / "20260101-000000-b")
    return results


def test_an_upload_sent_with_the_model_select_rerun_is_predicted_by_the_new_model(two_models, finished_run):
    # What the server gets when a photo is dropped while the page reruns for another model: the
    # new model and the upload arrive together, in one rerun.
    at = open_page(PREDICT)
    other = next(r for r in run_table.finished_runs(two_models) if r != at.selectbox(key="predict_run").value)
    at.selectbox(key="predict_run").set_value(other)
    at.file_uploader(key="predict_files").set_value([("during.jpg", _photo(finished_run, 0), "image/jpeg")]).run()
    assert_no_exception(at)
    assert at.selectbox(key="predict_run").value == other
    assert "1 of 1 photo predicted." in texts(at.caption)
    assert any(m.value == "**during.jpg**" for m in at.markdown)


def test_an_upload_to_a_model_that_cannot_load_is_kept_with_a_message_then_predicted(two_models, finished_run):
    from glr.training.run import Run

    first, other = run_table.finished_runs(two_models)[:2]
    Run.of(two_models, first).labels_path.write_text("{not json")  # the run the page chooses first
    at = open_page(PREDICT)
    at.file_uploader(key="predict_files").set_value([("kept.jpg", _photo(finished_run, 0), "image/jpeg")]).run()
    assert_no_exception(at)
    assert "is damaged" in texts(at.error)
    assert "Your 1 upload is kept but not predicted: choose a model that loads." in texts(at.warning)
    at.selectbox(key="predict_run").set_value(other).run()  # the same upload box, still holding it
    assert_no_exception(at)
    assert not at.error and "1 of 1 photo predicted." in texts(at.caption)
    assert any(m.value == "**kept.jpg**" for m in at.markdown)


def test_a_photo_already_shown_is_not_predicted_again(results, finished_run, monkeypatch):
    from glr.predict import Predictor

    calls = []
    original = Predictor.predict
    monkeypatch.setattr(Predictor, "predict", lambda self, sources, **kw: calls.append(len(sources)) or
                        original(self, sources, **kw))
    at = open_page(PREDICT)
    photo = ("cached.jpg", _photo(finished_run, 2), "image/jpeg")
    at.file_uploader(key="predict_files").set_value([photo]).run()
    at.file_uploader(key="predict_files").set_value([photo, ("more.jpg", _photo(finished_run, 3), "image/jpeg")]).run()
    assert "2 of 2 photos predicted." in texts(at.caption)
    assert calls == [1, 1]  # the new photo only
    again = open_page(PREDICT)  # another session, the same photo
    again.file_uploader(key="predict_files").set_value([photo]).run()
    assert "1 of 1 photo predicted." in texts(again.caption) and calls == [1, 1]


SERVE_WITHOUT_TF = """
import sys
sys.path.insert(0, {root!r})
import runpy, streamlit, app_common  # everything the page imports before its first widget
from glr import class_examples, predict
from glr.data import uploads
from glr.evaluation import plots
from glr.retrieval import run_index
from glr.retrieval import run_index
from glr.training import run_table
from glr.predict import Predictor
p = Predictor({run!r})
assert p.backend == "onnx", p.backend_note
assert p.predict([{photo!r}])[0].ok
print("tensorflow" in sys.modules, "keras" in sys.modules)
"""


def test_the_page_serves_an_onnx_model_without_importing_tensorflow(finished_run):
    pytest.importorskip("onnxruntime")
    from glr.predict import Predictor

    Predictor(finished_run.path)  # converted once (the ONNX file is cached), as the server's first visitor does
    script = SERVE_WITHOUT_TF.format(root=str(Path(__file__).resolve().parents[1]), run=str(finished_run.path),
                                     photo=str(finished_run.predictions()["path"].iloc[0]))
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split() == ["False", "False"]


def _photo(finished_run, i: int) -> bytes:
    return Path(finished_run.predictions()["path"].iloc[i]).read_bytes()


def _new_photo(folder: Path) -> bytes:
    write_image(folder / "mine.jpg", seed=12345)
    return (folder / "mine.jpg").read_bytes()


def test_similar_photos_carry_their_credits_and_verified_runs_show_matched_points(results, finished_run, tiny_data):
    """Similar photos show author and licence from train_attribution.csv; a run indexed with
    --verify offers its matched points, drawn on request."""
    from glr.data import attribution
    from glr.evaluation.finish import rebuild_index

    rebuild_index(results / RUNS_SUBDIR / "20260101-000000-a", verify=True)
    ids = pd.read_csv(tiny_data / "train.csv", dtype=str)["id"]  # every photo, so the similar ones too
    credits_csv = tiny_data / attribution.ATTRIBUTION_CSV
    credits_csv.write_text("id,url,author,license,title\n" + "".join(
        f'{i},https://example.org/{i},Ann Author,CC BY-SA 4.0,"File:{i}.jpg"\n' for i in ids))
    try:
        at = open_page(PREDICT)
        at.file_uploader(key="predict_files").set_value([("mine.jpg", _photo(finished_run, 0), "image/jpeg")]).run()
        assert_no_exception(at)
        # Its confidence is re-ranked by the inliers: "by head" called it the head's probability.
        assert "% by head + spatial verification; known score" in texts(at.markdown)
        assert not any("by Ann Author" in str(image.proto) for image in at.image)  # similar photos on request
        at.toggle(key="predict_show_similar").set_value(True).run()
        assert_no_exception(at)
        captions = [str(image.proto) for image in at.image]
        assert any("by Ann Author, CC BY-SA 4.0" in c for c in captions), captions
        assert not any("matched points" in c for c in captions)  # drawn only on request
        at.toggle(key="predict_matches").set_value(True).run()
        assert_no_exception(at)
        assert any("matched points with a training photo of" in str(image.proto) for image in at.image)
    finally:
        credits_csv.unlink()


def _move_dataset_away(run: Path) -> None:
    """As if the run's dataset had been moved: its index's paths lead to /moved-away (the shared dataset stays put)."""
    items = pd.read_csv(run / "index" / "items.csv", dtype=str)
    items.assign(path=items["path"].str.replace(str(Path(items["path"].iloc[0]).parents[3]), "/moved-away", regex=False)
                 ).to_csv(run / "index" / "items.csv", index=False)


def test_matched_points_with_a_training_photo_gone_since_indexing_say_so(results, finished_run):
    """A dataset moved after its run was indexed with --verify: the matched points name the missing photo.
    They raised ImageError ("file not found") out of the page, a traceback instead of the results."""
    from glr.evaluation.finish import rebuild_index

    run = results / RUNS_SUBDIR / "20260101-000000-a"
    rebuild_index(run, verify=True)
    _move_dataset_away(run)
    at = open_page(PREDICT)
    at.file_uploader(key="predict_files").set_value([("mine.jpg", _photo(finished_run, 0), "image/jpeg")]).run()
    at.toggle(key="predict_matches").set_value(True).run()
    assert_no_exception(at)
    assert "1 of 1 photo predicted." in texts(at.caption)
    assert "No matched points: /moved-away/" in texts(at.caption)
    assert "the matched training photo is no longer there" in texts(at.caption)
    assert "was the run's dataset moved or deleted since its index was built?" in texts(at.caption)


def test_class_names_and_credits_with_markdown_show_as_written(results, finished_run, tiny_data):
    import json

    from app_common import md
    from glr.data import attribution

    run = results / RUNS_SUBDIR / "20260101-000000-a"
    labels = json.loads((run / "labels.json").read_text())
    odd = [f"Tower_{e['index']} $5 ~ok~" for e in labels]  # two $ make maths, ~ strikes through
    (run / "labels.json").write_text(json.dumps([{**e, "name": n} for e, n in zip(labels, odd)]))
    ids = pd.read_csv(tiny_data / "train.csv", dtype=str)["id"]
    credits_csv = tiny_data / attribution.ATTRIBUTION_CSV
    credits_csv.write_text("id,url,author,license,title\n" + "".join(
        f"{i},https://example.org/{i},*Ann* <b>Author</b>,CC BY-SA 4.0,File:_DSC_{i}_.jpg\n" for i in ids))
    try:
        at = open_page(PREDICT)
        assert md(odd[0]) in at.info[0].value  # what the model knows: was raw Markdown
        at.file_uploader(key="predict_files").set_value([("mine.jpg", _photo(finished_run, 0), "image/jpeg")]).run()
        at.toggle(key="predict_show_similar").set_value(True).run()
        assert_no_exception(at)
    finally:
        credits_csv.unlink()
    captions = [img.caption for element in at.get("image") for img in element.proto.imgs if img.caption]
    assert any(md('by *Ann* <b>Author</b>, CC BY-SA 4.0') in c for c in captions), captions  # was italics and a tag


def test_a_mac_zip_of_nested_folders_and_two_empty_files(results, finished_run):
    from conftest import zip_of

    album = zip_of({"trip/day1/a.jpg": _photo(finished_run, 0), "trip/day2/b.jpg": _photo(finished_run, 1),
                    "__MACOSX/trip/day1/._a.jpg": b"\x00\x05\x16\x07 resource fork", "trip/.DS_Store": b"x",
                    "trip/empty.jpg": b""})
    at = open_page(PREDICT)
    at.file_uploader(key="predict_files").set_value([("album.zip", album, "application/zip"),
                                                      ("zero.jpg", b"", "image/jpeg")]).run()
    assert_no_exception(at)
    shown = texts(at.markdown)
    assert "album.zip/trip/day1/a.jpg" in shown and "album.zip/trip/day2/b.jpg" in shown  # nested folders read
    assert "_a.jpg" not in shown + texts(at.error) + texts(at.warning)  # the Mac's resource forks passed over
    assert "same photo" not in texts(at.caption)  # two empty files are no photo, not one photo twice
    assert "zero.jpg" in shown and "album.zip/trip/empty.jpg" in shown
    assert len(at.error) == 2 and "2 of 4 photos predicted; 2 could not be predicted." in texts(at.caption)


def test_a_model_changed_on_disk_since_the_page_was_drawn_is_not_used_stale(results, finished_run, regional_run,
                                                                               monkeypatch):
    # A run re-trained (or its index rebuilt) while the page is open: a photo dropped then reruns only
    # the upload fragment, which still holds the stamp of the page drawn before, and the predictor cached
    # under that stamp is the old model. It predicted with it. Faked here: the page's stamp is the old one.
    from glr.predict import Predictor

    sizes = []
    original = Predictor.predict
    monkeypatch.setattr(Predictor, "predict", lambda self, sources, **kw: sizes.append(self.input_size) or
                        original(self, sources, **kw))
    at = open_page(PREDICT)
    at.file_uploader(key="predict_files").set_value([("before.jpg", _photo(finished_run, 0), "image/jpeg")]).run()
    assert sizes == [32]
    run_dir = results / RUNS_SUBDIR / "20260101-000000-a"
    old = (run_table.model_stamp(run_dir), run_index.index_stamp(run_dir))
    shutil.copytree(regional_run.path, run_dir, dirs_exist_ok=True)  # re-trained: another model, at 96 px
    os.utime(run_dir / "model.keras")  # written now (copytree kept the other run's time)
    for module, function, value in ((run_table, "model_stamp", old[0]), (run_index, "index_stamp", old[1])):
        stale, real = iter([value]), getattr(module, function)  # the next run reads the page's old stamp first
        monkeypatch.setattr(module, function, lambda run, stale=stale, real=real: next(stale, None) or real(run))
    at.file_uploader(key="predict_files").set_value([("before.jpg", _photo(finished_run, 0), "image/jpeg"),
                                                     ("after.jpg", _photo(finished_run, 1), "image/jpeg")]).run()
    assert_no_exception(at)
    assert sizes[1:] and set(sizes[1:]) == {96}, sizes  # both photos by the new model, none by the old one
    assert "2 of 2 photos predicted." in texts(at.caption)


def test_the_chosen_run_deleted_while_the_page_is_open_is_said_not_switched_in_silence(two_models, finished_run):
    # The select fell back to another run without a word: the next photos were predicted by another model.
    at = open_page(PREDICT)
    first, other = run_table.finished_runs(two_models)[:2]
    at.selectbox(key="predict_run").set_value(other).run()
    shutil.rmtree(two_models / RUNS_SUBDIR / other)
    at.file_uploader(key="predict_files").set_value([("after.jpg", _photo(finished_run, 1), "image/jpeg")]).run()
    assert_no_exception(at)
    assert at.selectbox(key="predict_run").value == first
    assert f"Run {other} is no longer among the finished runs (deleted, or its model removed): showing {first}." \
        in texts(at.warning)
    assert "1 of 1 photo predicted." in texts(at.caption)
    at.toggle(key="predict_gradcam").set_value(False).run()  # said once, not on every rerun
    assert "is no longer among" not in texts(at.warning)


def test_similar_photos_moved_since_indexing_are_said_in_one_line(results, finished_run):
    # The dataset moved after indexing: each similar photo got its own "cannot show <name>" line, six in a
    # row, without saying why.
    run = results / RUNS_SUBDIR / "20260101-000000-a"
    _move_dataset_away(run)
    at = open_page(PREDICT)
    at.file_uploader(key="predict_files").set_value([("mine.jpg", _photo(finished_run, 0), "image/jpeg")]).run()
    at.toggle(key="predict_show_similar").set_value(True).run()
    assert_no_exception(at)
    shown = at.slider(key="predict_similar").value
    assert f"{shown} training photos are no longer there, e.g. /moved-away/" in texts(at.caption)
    assert "was the run's dataset moved or deleted since it was trained?" in texts(at.caption)
    assert "cannot show" not in texts(at.caption)


def test_a_class_renamed_in_labels_json_while_the_app_serves_the_run_is_named_so(results, finished_run):
    # The predictor, its predictions and the heatmap model were cached by the model file's time only: a
    # name fixed in labels.json kept showing the old name until the app restarted.
    import json

    run_dir = results / RUNS_SUBDIR / "20260101-000000-a"
    at = open_page(PREDICT)
    at.file_uploader(key="predict_files").set_value([("mine.jpg", _photo(finished_run, 0), "image/jpeg")]).run()
    at.toggle(key="predict_gradcam").set_value(True).run()
    best = next(m.value for m in at.markdown if m.value.startswith("1. ")).split("**")[1]
    labels = json.loads((run_dir / "labels.json").read_text())
    for label in labels:
        label["name"] = f"{label['name']} renamed"
    (run_dir / "labels.json").write_text(json.dumps(labels))
    at.run()
    assert_no_exception(at)
    assert next(m.value for m in at.markdown if m.value.startswith("1. ")).split("**")[1] == f"{best} renamed"
    assert any(f"{HEATMAP_CAPTION} {best} renamed" in str(image.proto) for image in at.image)


def test_two_sessions_predict_with_two_different_runs_at_once(results, finished_run, regional_run, monkeypatch):
    # Two tabs, two models: each photo is predicted by its own session's run (the caches are keyed by run).
    from glr.predict import Predictor

    shutil.copytree(regional_run.path, results / RUNS_SUBDIR / "20260101-000000-r")
    seen = []
    original = Predictor.predict
    monkeypatch.setattr(Predictor, "predict", lambda self, sources, **kw: seen.append((self.run.id, self.input_size))
                        or original(self, sources, **kw))
    tabs = {run_id: open_page(PREDICT) for run_id in ("20260101-000000-a", "20260101-000000-r")}
    for run_id, at in tabs.items():
        at.selectbox(key="predict_run").set_value(run_id).run()
    photo = ("same.jpg", _photo(finished_run, 0), "image/jpeg")
    for at in tabs.values():  # the same photo in both, one after the other, then each again
        at.file_uploader(key="predict_files").set_value([photo]).run()
    for at in tabs.values():
        at.run()
        assert_no_exception(at)
        assert "1 of 1 photo predicted." in texts(at.caption)
    assert sorted(seen) == [("20260101-000000-a", 32), ("20260101-000000-r", 96)]  # once each, by its own model


def test_a_model_onnx_runtime_cannot_take_is_predicted_by_tensorflow_and_said_once(results, finished_run, monkeypatch):
    # Said once, above the photos. The note went through str.capitalize(), which lowercased all but its first
    # letter: "predicting with tensorflow: onnx runtime could not take this model (... fancyop)".
    from glr.backbones import onnx_backend

    def refuse(*args, **kwargs):
        raise RuntimeError("tf2onnx: unsupported op FancyOp")

    monkeypatch.setattr(onnx_backend, "onnx_forward", refuse)
    at = open_page(PREDICT)
    at.file_uploader(key="predict_files").set_value(
        [(f"p{i}.jpg", _photo(finished_run, i), "image/jpeg") for i in range(3)]).run()
    assert_no_exception(at)
    assert "3 of 3 photos predicted." in texts(at.caption)
    note = "Predicting with TensorFlow: ONNX Runtime could not take this model (tf2onnx: unsupported op FancyOp)"
    assert texts(at.caption).count(note) == 1  # once for the page, not per photo


def test_a_run_whose_labels_do_not_match_its_model_is_refused_with_a_message(results, finished_run):
    # labels.json from another run, with 2 classes for a model of 3: predicting a photo was an IndexError traceback.
    import json

    labels_path = results / RUNS_SUBDIR / "20260101-000000-a" / "labels.json"
    labels_path.write_text(json.dumps(json.loads(labels_path.read_text())[:2]))
    at = open_page(PREDICT)
    at.file_uploader(key="predict_files").set_value([("mine.jpg", _photo(finished_run, 0), "image/jpeg")]).run()
    assert_no_exception(at)
    assert "the model has 3 classes but labels.json lists 2" in texts(at.error)
    assert "Your 1 upload is kept but not predicted: choose a model that loads." in texts(at.warning)


def test_a_model_that_cannot_load_is_not_loaded_again_until_its_files_change(results, finished_run, monkeypatch):
    # The failure was not cached: every rerun of every session (a click, a toggle, a photo dropped) loaded the
    # index and the model again, only to fail again on the same labels.json.
    import json

    from glr.predict import Predictor

    loads = []
    original = Predictor.__init__
    monkeypatch.setattr(Predictor, "__init__", lambda self, *a, **kw: loads.append(a) or original(self, *a, **kw))
    labels_path = results / RUNS_SUBDIR / "20260101-000000-a" / "labels.json"
    good = labels_path.read_text()
    labels_path.write_text(json.dumps(json.loads(good)[:2]))
    at = open_page(PREDICT)
    at.file_uploader(key="predict_files").set_value([("mine.jpg", _photo(finished_run, 0), "image/jpeg")]).run()
    at.toggle(key="predict_use_camera").set_value(False).run()
    assert_no_exception(at)
    assert "the model has 3 classes but labels.json lists 2" in texts(at.error) and len(loads) == 1
    labels_path.write_text(good)  # fixed: the next rerun tries again (a later time, whatever the clock's step)
    os.utime(labels_path, ns=(labels_path.stat().st_atime_ns, labels_path.stat().st_mtime_ns + 10**9))
    at.run()
    assert_no_exception(at)
    assert not at.error and "1 of 1 photo predicted." in texts(at.caption) and len(loads) == 2


def test_a_full_disk_while_the_model_loads_is_tried_again_at_the_next_rerun(results, finished_run, monkeypatch):
    # Kept like a model's own failure: "free some space and try again" did not work until the app restarted.
    from glr.atomic import StorageError
    from glr.predict import Predictor

    original, full = Predictor.__init__, [True]

    def load(self, *args, **kwargs):
        if full.pop() if full else False:
            raise StorageError("the ONNX cache: No space left on device")
        original(self, *args, **kwargs)

    monkeypatch.setattr(Predictor, "__init__", load)
    at = open_page(PREDICT)
    assert_no_exception(at)
    assert "No space left on device" in texts(at.error)
    at.file_uploader(key="predict_files").set_value([("mine.jpg", _photo(finished_run, 0), "image/jpeg")]).run()
    at.toggle(key="predict_use_camera").set_value(False).run()
    assert_no_exception(at)
    assert not at.error and "1 of 1 photo predicted." in texts(at.caption)


@pytest.mark.parametrize("how", ["deleted", "empty", "cut in half"])
@pytest.mark.parametrize("name", ["model.keras", "labels.json", "config.json", "retrieval.json", "index/items.csv",
                                  "index/vectors.npy", "status.json", "checkpoints/state.json", "ONNX"])
def test_the_page_with_each_run_file_damaged(finished_run, tmp_path, monkeypatch, name, how):
    # An empty index/vectors.npy was an EOFError traceback instead of the page.
    from test_predict import NOTED, REFUSED, damaged_run

    run, _ = damaged_run(finished_run, tmp_path, monkeypatch, name, how)
    monkeypatch.setenv("GLR_RESULTS", str(tmp_path))
    at = open_page(PREDICT)
    if name == "model.keras" and how == "deleted":  # no longer a finished run: not offered
        assert "No finished run with a model" in texts(at.info)
        return
    at.file_uploader(key="predict_files").set_value([("mine.jpg", _photo(finished_run, 0), "image/jpeg")]).run()
    assert_no_exception(at)
    if name in REFUSED:
        assert name in texts(at.error) and ("is missing" if how == "deleted" else "cannot predict until") in texts(at.error)
        assert "Your 1 upload is kept but not predicted" in texts(at.warning)
        return
    assert not at.error and "1 of 1 photo predicted." in texts(at.caption)
    if name in NOTED:
        where, todo = NOTED[name]
        note = next(c for c in texts(at.caption).splitlines() if c.startswith("No similar photos or unknown verdict"))
        assert where in note and todo in note, note


def test_a_class_without_a_name_is_landmark_and_its_id_on_the_page(results, finished_run):
    # A labels.json name of null or a number was shown as "None" or "nan": in what the model knows and the top-k
    # (the Grad-CAM caption: tests/test_explain.py).
    import json

    run_dir = results / RUNS_SUBDIR / "20260101-000000-a"
    labels = json.loads((run_dir / "labels.json").read_text())
    for label, name in zip(labels, (None, 42, float("nan"))):
        label["name"] = name
    (run_dir / "labels.json").write_text(json.dumps(labels))
    names = [f"landmark {label['landmark_id']}" for label in labels]
    at = open_page(PREDICT)
    assert "landmarks of the dataset at" in texts(at.info) and f"({', '.join(names)})" in texts(at.info)
    at.file_uploader(key="predict_files").set_value([("mine.jpg", _photo(finished_run, 0), "image/jpeg")]).run()
    assert_no_exception(at)
    top = next(m.value for m in at.markdown if m.value.startswith("1. "))
    assert top.split("**")[1] in names and "None" not in top and "nan" not in top, top


BOX = "Drop photos here, or a zip of photos"


def _top_k_lists(at) -> list[str]:
    return [m.value for m in at.markdown if m.value.startswith("1. ")]


def test_uploads_leave_the_servers_memory_and_the_page_shows_the_same_after_reruns(two_models, finished_run,
                                                                                   monkeypatch):
    """Each dropped file is read and predicted once, then released (300 photos of 5 MB were 1.5 GB per tab, and
    every rerun read them all again); reruns, sliders, another model, a file taken out and "Clear all" still work."""
    from conftest import zip_of
    from glr.predict import Predictor
    from streamlit_server import LikeAServer

    calls = []
    original = Predictor.predict
    monkeypatch.setattr(Predictor, "predict", lambda self, sources, **kw: calls.append(len(sources)) or
                        original(self, sources, **kw))
    server = LikeAServer(monkeypatch)
    at = open_page(PREDICT)
    server.drop(at, BOX, [("a.jpg", _photo(finished_run, 0)), ("b.jpg", _photo(finished_run, 1)),
                          ("album.zip", zip_of({"c.jpg": _photo(finished_run, 2)}))])
    assert_no_exception(at)
    assert "3 of 3 photos predicted." in texts(at.caption) and len(calls) == 3
    assert server.held() == 0 and len(server.released) == 3  # were held until the session ended
    shown = _top_k_lists(at)
    assert len(shown) == 3
    server.run(at)  # a rerun: the box lists 3 files Streamlit no longer holds
    assert_no_exception(at)
    assert _top_k_lists(at) == shown and len(calls) == 3  # the same, and nothing read or predicted again
    at.slider(key="predict_k").set_value(2)
    server.run(at)
    assert [lines.splitlines() for lines in _top_k_lists(at)] == [lines.splitlines()[:2] for lines in shown]
    at.slider(key="predict_similar").set_value(1)
    server.run(at)
    at.toggle(key="predict_show_similar").set_value(True)
    server.run(at)
    assert sum("similar" in str(i.proto) or "·" in str(i.proto) for i in at.image) == 3  # one similar photo each
    assert len(calls) == 3  # a slider is a slice of what was predicted
    at.slider(key="predict_k").set_value(5)
    server.run(at)
    assert _top_k_lists(at) == shown
    first = at.selectbox(key="predict_run").value
    at.selectbox(key="predict_run").set_value(next(r for r in at.selectbox(key="predict_run").options if r != first))
    server.run(at)  # another model: predicted again from the copies kept (here the same weights: the same guesses)
    assert_no_exception(at)
    assert len(calls) == 6 and "3 of 3 photos predicted." in texts(at.caption)
    assert [lines.splitlines()[0].split("·")[-1] for lines in _top_k_lists(at)] == \
           [lines.splitlines()[0].split("·")[-1] for lines in shown]
    at.toggle(key="predict_gradcam").set_value(True)
    server.run(at)  # Grad-CAM from the copies kept
    assert_no_exception(at)
    assert heatmaps(at) == 3
    server.boxes[BOX].pop(0)  # its ✕, on a file released
    server.run(at)
    assert "2 of 2 photos predicted." in texts(at.caption) and not any(m.value == "**a.jpg**" for m in at.markdown)
    server.boxes[BOX] = []  # "Clear all" gives a new, empty box
    server.run(at, at.button(key="predict_clear").click())
    assert "Drop one photo" in texts(at.info) and "predict_kept" not in at.session_state


def _encoded(array, fmt: str = "PNG", **options) -> bytes:
    import io

    from PIL import Image

    buffer = io.BytesIO()
    (array if isinstance(array, Image.Image) else Image.fromarray(array)).save(buffer, fmt, **options)
    return buffer.getvalue()


def _odd_photo(case: str, finished_run) -> bytes:
    import io

    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(7)
    if case == "exif-rotated":
        image = Image.open(io.BytesIO(_photo(finished_run, 0)))
        exif = Image.Exif()
        exif[0x0112] = 6  # "rotate 90 degrees clockwise to view"
        return _encoded(image, "JPEG", exif=exif)
    if case == "1x1":
        return _encoded(np.array([[[200, 30, 30]]], np.uint8))
    if case in ("panorama", "70000x1"):  # a scene that changes along its length (noise would average to flat grey)
        height, width = (200, 30000) if case == "panorama" else (1, 70000)
        x = np.linspace(0, 255, width)[None, :, None] * np.ones((height, 1, 3))
        return _encoded(np.stack([x[..., 0], 255 - x[..., 1], (4 * x[..., 2]) % 256], -1).astype(np.uint8),
                        "JPEG" if case == "panorama" else "PNG")
    frames = [Image.fromarray(rng.integers(0, 256, (48, 64, 3), dtype=np.uint8)).convert("P") for _ in range(500)]
    return _encoded(frames[0], "GIF", save_all=True, append_images=frames[1:])


@pytest.mark.parametrize("case", ["exif-rotated", "1x1", "panorama", "70000x1", "gif-500-frames"])
def test_odd_photos_are_predicted_shown_and_predicted_again_by_another_model(two_models, finished_run, case):
    at = open_page(PREDICT)
    at.file_uploader(key="predict_files").set_value([(f"{case}.png", _odd_photo(case, finished_run), "image/png"),
                                                    ("ok.jpg", _photo(finished_run, 1), "image/jpeg")]).run()
    assert_no_exception(at)
    blank = case == "1x1"  # one flat colour: nothing to recognise, said as such
    assert ("a blank photo" in texts(at.error)) == blank, texts(at.error) + texts(at.warning)
    assert ("1 of 2 photos predicted; 1 could not be predicted." if blank else "2 of 2 photos predicted.") in \
        texts(at.caption)
    first = at.selectbox(key="predict_run").value
    at.selectbox(key="predict_run").set_value(next(r for r in at.selectbox(key="predict_run").options if r != first))
    at.run()  # another model predicts from the copy kept
    assert_no_exception(at)
    assert ("1 of 2 photos predicted" if blank else "2 of 2 photos predicted.") in texts(at.caption)


@pytest.mark.parametrize("name", ["<b>x</b>.jpg", "*a*_[b](c).jpg", "<img src=x onerror=alert(1)>.jpg"])
def test_a_file_name_with_html_or_markdown_is_shown_as_text(results, finished_run, name):
    from app_common import md

    at = open_page(PREDICT)
    at.file_uploader(key="predict_files").set_value([(name, _photo(finished_run, 0), "image/jpeg")]).run()
    assert_no_exception(at)
    assert f"**{md(name)}**" in [m.value for m in at.markdown]
    assert not any(getattr(m.proto, "allow_html", False) for m in at.markdown if name[:2] in m.value)


def test_two_different_photos_with_the_same_name_are_two_rows_of_the_submission(results, finished_run):
    at = open_page(PREDICT)
    at.file_uploader(key="predict_files").set_value([("a.jpg", _photo(finished_run, 0), "image/jpeg"),
                                                    ("a.jpg", _photo(finished_run, 1), "image/jpeg")]).run()
    assert_no_exception(at)
    assert "2 of 2 photos predicted." in texts(at.caption)
    at.toggle(key="predict_table").set_value(True).run()
    assert at.dataframe[0].value["id"].tolist() == ["a", "a.jpg"]  # was "a" twice: one id, two rows


def test_more_photos_than_the_page_predicts_at_once_are_released_unread_and_said_once(results, tmp_path, monkeypatch):
    from conftest import zip_of
    from glr.data import kept_uploads
    from streamlit_server import LikeAServer

    def photo(seed: int) -> bytes:
        write_image(tmp_path / f"{seed}.jpg", seed=seed)
        return (tmp_path / f"{seed}.jpg").read_bytes()

    monkeypatch.setattr(kept_uploads, "MAX_PHOTOS", 3)
    server = LikeAServer(monkeypatch)
    at = open_page(PREDICT)
    server.drop(at, BOX, [("a.jpg", photo(1)), ("two.zip", zip_of({"b.jpg": photo(2), "c.jpg": photo(3),
                                                                   "d.jpg": photo(4)})),
                          ("e.jpg", photo(5)), ("f.jpg", photo(6))])
    assert_no_exception(at)
    assert "3 of 3 photos predicted." in texts(at.caption)
    assert ("two.zip: 1 of its photos not predicted (e.g. two.zip/d.jpg): at most 3 photos are predicted at once "
            "here; for big batches use the command line: python -m glr predict RUN FOLDER") in texts(at.warning)
    assert "2 more files not predicted (e.g. e.jpg): at most 3 photos" in texts(at.warning)
    assert server.held() == 0 and len(server.released) == 4  # the files past the limit too, unread
    server.boxes[BOX].pop(0)  # a.jpg taken out: the files skipped stay skipped (drop them again to predict them)
    server.run(at)
    assert "2 of 2 photos predicted." in texts(at.caption) and "2 more files not predicted" in texts(at.warning)


def test_a_zip_dropped_twice_says_its_repeats_in_a_few_lines_not_one_per_photo(results, tmp_path):
    from conftest import zip_of

    members = {}
    for seed in range(8):
        write_image(tmp_path / f"{seed}.jpg", seed=seed)
        members[f"p{seed}.jpg"] = (tmp_path / f"{seed}.jpg").read_bytes()
    album = zip_of(members)
    at = open_page(PREDICT)
    at.file_uploader(key="predict_files").set_value([("album.zip", album, "application/zip"),
                                                    ("album (1).zip", album, "application/zip")]).run()
    assert_no_exception(at)
    said = [c.value for c in at.caption if "predicted once" in c.value]
    assert len(said) == 6, said  # was 8 lines: one per photo, 2,000 for a big zip
    assert "3 more photos were added before, as the same photo: each predicted once" in said[-1]
    assert "8 of 8 photos predicted." in texts(at.caption)
    at.toggle(key="predict_table").set_value(True).run()
    assert len(at.dataframe[0].value) == 16  # every photo still has its row in the submission


def test_a_confidence_under_half_a_percent_reads_under_1_percent_not_0(results, finished_run, monkeypatch):
    # Of thousands of classes the best guess may hold 0.3%: it read "(0%)", as if the model gave it no chance.
    from glr.predict import Predictor

    original = Predictor.predict

    def faint(self, sources, **kw):
        found = original(self, sources, **kw)
        for result in found:
            result.top = [(lid, name, p) for (lid, name, _), p in zip(result.top, (0.003, 0.0004, 0.0001))]
        return found

    monkeypatch.setattr(Predictor, "predict", faint)
    at = open_page(PREDICT)
    at.file_uploader(key="predict_files").set_value([("faint.jpg", _photo(finished_run, 2), "image/jpeg")]).run()
    assert_no_exception(at)
    shown = texts(at.markdown)
    assert re.search(r"\(under 1% by \w+", shown) and "(0% by" not in shown, shown
    assert "under 0.1% ·" in shown and "0.0%" not in shown


def test_the_sample_photos_wrap_with_each_name_under_its_own_photo(results):
    # In st.columns a phone stacked them: each name sat under its "Try" but just above the next photo.
    at = open_page(PREDICT)
    assert [b for b in at.button if b.key.startswith("predict_try_") and b.label == "Try"]
    assert not any(c.get("image") for c in at.columns), "the samples are in columns"


def test_a_known_score_just_below_the_threshold_never_reads_equal_to_it(results, finished_run, monkeypatch):
    # "Its known score 0.50 is below the run's threshold 0.50": two decimals made a score 0.0004 short of it equal.
    from glr.predict import Predictor

    original = Predictor.predict

    def just_short(self, sources, **kw):
        found = original(self, sources, **kw)
        for p in found:
            p.known_score, p.unknown = self.recognizer.calibration.threshold - 0.0004, True
        return found

    monkeypatch.setattr(Predictor, "predict", just_short)
    at = open_page(PREDICT)
    photo = _photo(finished_run, 1) + b"\0just-short"  # bytes of its own: no prediction cached by another test
    at.file_uploader(key="predict_files").set_value([("short.jpg", photo, "image/jpeg")]).run()
    assert_no_exception(at)
    warning = next(w.value for w in at.warning if "Not a known landmark" in w.value)
    score, threshold = re.search(r"known score ([\d.]+) is below the run's threshold ([\d.]+),", warning).groups()
    assert float(score) < float(threshold), warning


def test_every_photo_on_the_page_says_what_it_shows_to_a_screen_reader(results, finished_run):
    # Streamlit gives an image no alt text unless asked (a caption is not one): a screen reader read the samples, the
    # upload, its heatmap and every training photo as "image".
    at = open_page(PREDICT)
    at.file_uploader(key="predict_files").set_value([("mine.jpg", _photo(finished_run, 0), "image/jpeg")]).run()
    at.toggle(key="predict_show_similar").set_value(True)
    at.toggle(key="predict_gradcam").set_value(True).run()
    assert_no_exception(at)
    alts = alt_texts(at)
    assert alts and all(alts), alts
    for start in ("A validation photo of ", "Your photo mine.jpg", "Where the model looked for ", "A training photo of "):
        assert any(a.startswith(start) for a in alts), (start, alts)


def test_a_top_k_bars_empty_part_differs_from_its_filled_part_by_more_than_colour(results):
    # Filled and empty cells were the same block in red and in grey, luminance 1.18:1 apart as drawn (Chromium):
    # one solid bar to a red-green colour-blind eye. Empty cells are a light shade now.
    at = click(open_page(PREDICT), "predict_try_0")
    lines = _top_k_lists(at)[0].splitlines()
    for line in lines:
        filled, empty = re.search(r"(?::red\[(█*)\])?(?::gray\[(░*)\])?", line.split(". ", 1)[1]).groups()
        assert len(filled or "") + len(empty or "") == 10, line
    assert not any(":gray[█" in line for line in lines), lines

import json

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from conftest import write_image
from glr.evaluation import metrics
from glr.evaluation import report
from glr.errors import GlrError

NAMES = ["Eiffel Tower", "Sacré-Cœur", "Big Ben", "Taj Mahal | Agra"]


def fabricate_run(root, history=True, bad_image=False):
    """A finished-looking run folder: labels, history, config, and an evaluation of 12 images."""
    run = root / "runs" / "20240101-000000-test"
    run.mkdir(parents=True)
    labels = [{"index": i, "landmark_id": 100 + i, "name": n, "images": 10 - i} for i, n in enumerate(NAMES)]
    (run / "labels.json").write_text(json.dumps(labels))
    (run / "config.json").write_text(json.dumps({"backbone": "efficientnet_lite0", "epochs": 4}))
    (run / "status.json").write_text(json.dumps({"state": "finished"}))
    if history:
        rows = [{"phase": 1 if e <= 3 else 2, "epoch": e, "loss": 1 / e, "accuracy": 0.2 * e, "val_loss": 1.2 / e,
                 "val_accuracy": [0.3, 0.5, 0.6, 0.55][e - 1], "val_top5": 0.9, "lr": 1e-3, "seconds": 1.0} for e in range(1, 5)]
        pd.DataFrame(rows).to_csv(run / "history.csv", index=False)
    rng = np.random.default_rng(0)
    ids, paths, y_true, probs = [], [], [], []
    for i in range(12):
        iid = f"{i:016x}"
        path = root / "images" / f"{iid}.jpg"
        write_image(path, seed=i, size=64)
        ids.append(iid)
        paths.append(str(path))
        y_true.append(i % 4)
        guess = i % 4 if i % 3 else (i + 1) % 4  # every third image is wrong
        row = rng.random(4) * 0.1
        row[guess] = 0.8
        probs.append(row / row.sum())
    if bad_image:
        paths[0] = str(root / "images" / "missing.jpg")
        (root / "images" / "broken.jpg").write_bytes(b"not a jpeg")
        paths[1] = str(root / "images" / "broken.jpg")
    metrics.write_evaluation(run, ids, paths, y_true, np.array(probs), labels)
    return run


def test_report_writes_all_artefacts(tmp_path):
    run = fabricate_run(tmp_path)
    out = report.write_report(run)
    assert out == run / "report"
    assert sorted(p.name for p in out.iterdir()) == ["collage.png", "curves.html", "curves.png", "summary.md"]

    html = (out / "curves.html").read_text()
    assert html.count("Plotly.newPlot") == 2
    assert "<script src=" not in html and len(html) > 1_000_000  # plotly.js is inline, for offline use
    assert html.count('"modeBarButtonsToRemove": ["zoomIn2d"') == 2  # each button a Tab stop: trimmed as in the app
    assert Image.open(out / "curves.png").size[0] > 500
    collage = Image.open(out / "collage.png").convert("RGB")
    assert collage.size == (4 * report.TILE, 3 * (report.TILE + report.CAPTION))  # 12 images in a 4 x 3 grid
    # Image 0 (id ...00) is wrong and comes first: its border is red. Image 1 is right: green.
    assert collage.getpixel((1, 1)) == report.WRONG
    assert collage.getpixel((report.TILE + 1, 1)) == report.RIGHT

    summary = (out / "summary.md").read_text()
    for expected in ["top-1 accuracy | 66.7%", "GAP |", "classes | 4", "validation images | 12",
                     "best epoch | 4 (phase 2, val_loss 0.3000)", "backbone | efficientnet_lite0",
                     "worst classes", "Most confused pairs", "Taj Mahal \\| Agra",
                     "The whole 4 x 4 confusion matrix is confusion.csv in the run folder: one row per non-empty cell"]:
        assert expected in summary, expected
    assert "## Notes" not in summary
    assert not list(out.glob(".*"))  # no temp files left


def test_report_without_history_or_metrics(tmp_path):
    run = fabricate_run(tmp_path, history=False)
    (run / "metrics.json").unlink()
    (run / "per_class.csv").unlink()
    out = report.write_report(run)
    assert sorted(p.name for p in out.iterdir()) == ["collage.png", "summary.md"]
    summary = (out / "summary.md").read_text()
    assert "No training history" in summary and "recomputed from val_predictions.csv" in summary
    assert "top-1 accuracy | 66.7%" in summary and "worst classes" in summary


def test_report_of_a_run_not_yet_evaluated(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    out = report.write_report(run)
    assert [p.name for p in out.iterdir()] == ["summary.md"]
    summary = (out / "summary.md").read_text()
    assert "not been evaluated" in summary and "no collage" in summary


def test_collage_survives_bad_images(tmp_path):
    run = fabricate_run(tmp_path, bad_image=True)
    out = report.write_report(run)
    collage = Image.open(out / "collage.png").convert("RGB")
    # The missing file (first tile) and the broken one (second) are grey squares inside their borders.
    assert collage.getpixel((report.BORDER + 2, report.BORDER + 2)) == report.GREY
    assert collage.getpixel((report.TILE + report.BORDER + 2, report.BORDER + 2)) == report.GREY
    assert collage.getpixel((2 * report.TILE + report.BORDER + 2, report.BORDER + 2)) != report.GREY


def test_a_class_name_with_a_newline_gets_its_report_and_a_one_line_caption(tmp_path, monkeypatch):
    """The run said "the report could not be written: can't measure length of multiline text"."""
    from PIL import ImageDraw

    monkeypatch.setitem(globals(), "NAMES", ["Blue\nMosque", 'Fort,\t"Red"', *NAMES[2:]])
    out = report.write_report(fabricate_run(tmp_path))
    assert (out / "collage.png").is_file()
    text = next(out.glob("*.md")).read_text()
    assert "| Blue Mosque |" in text and "Blue\nMosque" not in text  # one table row, not two broken ones
    draw = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    assert report._fit(draw, "true: Blue\nMosque", report._font(12), 1000) == "true: Blue Mosque"


def test_pick_collage_is_deterministic_and_mixed():
    preds = pd.DataFrame({"id": [f"{i:03d}" for i in range(40)], "true_index": [0] * 40,
                          "pred_index": [0] * 30 + [1] * 10})
    first = report.pick_collage(preds, 16)
    assert first["id"].tolist() == report.pick_collage(preds, 16)["id"].tolist()
    assert (first["pred_index"] == 1).sum() == 8 and len(first) == 16
    few_wrong = report.pick_collage(preds.iloc[:32], 16)  # only 2 wrong: the right ones fill the grid
    assert (few_wrong["pred_index"] == 1).sum() == 2 and len(few_wrong) == 16


def test_missing_run_folder_is_a_clear_error(tmp_path):
    with pytest.raises(GlrError, match="does not exist"):
        report.write_report(tmp_path / "nope")


def test_collage_caption_says_how_it_was_sampled():
    preds = pd.DataFrame({"id": [f"{i:03d}" for i in range(40)], "true_index": [0] * 40,
                          "pred_index": [0] * 36 + [1] * 4})  # 4 of 40 wrong: a 90% model
    caption = report.collage_caption(preds, 16)
    assert "4 of the 16 are drawn from the mistakes" in caption and "12 from the right answers" in caption
    assert "of all 40 validation photos, 4 (10%) are wrong" in caption
    assert caption == report.collage_caption(preds, 16)


@pytest.mark.parametrize("config, status, said", [
    ({"train": {"augment_space": "features"}}, {"windows_kept": 28, "windows_total": 28},
     "all 28 map windows of the centre crop and its mirror"),
    ({"train": {"augment_space": "features"}}, {"windows_kept": 4, "windows_total": 28},
     "4 of the 28 map windows of the centre crop and its mirror (the memory budget)"),
    ({"train": {"augment_space": "features"}}, {"windows_kept": 2, "windows_total": None},
     "the whole maps of the centre crop and its mirror only (their windows were over the memory budget)"),
    ({"train": {"augment_space": "features"}}, {}, "the map windows of the centre crop and its mirror"),  # an older run
    ({"train": {"augment_space": "images", "views": 4}}, {}, "the centre crop, its mirror and 3 random crops"),
    ({"train": {"augment": False}}, {}, "the centre crop only (no augmentation)"),
])
def test_the_summary_says_what_phase_1_trained_on(config, status, said):
    assert report.training_crops(config, status) == said


def test_the_summary_table_has_the_training_crops(tmp_path):
    run = fabricate_run(tmp_path)
    (run / "status.json").write_text(json.dumps({"state": "finished", "windows_kept": 4, "windows_total": 28}))
    report.write_report(run)
    assert "| training crops | 4 of the 28 map windows" in (run / "report" / "summary.md").read_text()


def test_the_summary_says_when_image_views_were_cut_to_the_budget():
    said = report.training_crops({"train": {"augment_space": "images", "views": 4}}, {"views_kept": 2, "views_total": 5})
    assert said == "2 of the 5 image views (the centre crop, its mirror and 3 random crops), in float16 (the memory budget)"


def test_damaged_evaluation_files_are_named_in_the_summary_not_a_failed_report(tmp_path):
    import warnings

    run = fabricate_run(tmp_path)
    scores = json.loads((run / "metrics.json").read_text())
    (run / "metrics.json").write_text(json.dumps({**scores, "top1": "high"}))  # "Unknown format code '%'"
    df = pd.read_csv(run / "val_predictions.csv")
    df["confidence"] = df["confidence"].astype(object)
    df.loc[0, "confidence"] = "sure"  # "could not convert string to float: 'sure'" out of the collage
    df.to_csv(run / "val_predictions.csv", index=False)
    text = (run / "confusion.csv").read_text()
    (run / "confusion.csv").write_text(text[:-4])  # cut: its empty cells were cast with a RuntimeWarning
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = report.write_report(run)
    summary = (out / "summary.md").read_text()
    assert "top-1 accuracy | n/a" in summary and "GAP | 0." in summary
    assert "val_predictions.csv is damaged (its 'confidence' column holds 'sure', not a number), so no collage." in summary
    assert f"Per-class tables skipped: {run / 'confusion.csv'} is damaged: truncated" in summary
    assert not (out / "collage.png").exists()


def test_a_cut_history_is_said_damaged_in_the_summary_not_missing(tmp_path):
    run = fabricate_run(tmp_path)
    text = (run / "history.csv").read_text()
    (run / "history.csv").write_text(text[:-3])  # a kill mid-write: the last row is half a row
    out = report.write_report(run)
    summary = (out / "summary.md").read_text()
    assert "history.csv is damaged (truncated: it does not end with a newline), so no curves." in summary
    assert "No training history" not in summary and not (out / "curves.png").exists()


def test_a_metrics_json_that_is_not_an_object_is_said_damaged_in_the_summary(tmp_path):
    run = fabricate_run(tmp_path)
    (run / "metrics.json").write_text("[]")
    summary = (report.write_report(run) / "summary.md").read_text()
    assert "metrics.json is damaged: not a JSON object of scores." in summary
    assert "metrics.json is damaged; top-1, top-5 and GAP were recomputed from val_predictions.csv." in summary


def test_top5_over_five_classes_or_fewer_is_said_to_say_nothing(tmp_path):
    run = fabricate_run(tmp_path)  # 4 classes: every photo's class is among any 5 guesses
    summary = (report.write_report(run) / "summary.md").read_text()
    # It read "top-5 accuracy | 100.0%", as if the model were perfect at it.
    assert ("top-5 accuracy | n/a (only 4 classes: every photo's class is among its 5 best guesses, so top-5 says "
            "nothing here)") in summary


def test_the_curves_have_no_top5_line_over_five_classes_or_fewer(tmp_path, monkeypatch):
    drawn = []
    real = report.write_curves_png
    monkeypatch.setattr(report, "write_curves_png", lambda h, p, classes=None: drawn.append(classes) or real(h, p, classes))
    report.write_report(fabricate_run(tmp_path))  # 4 classes
    assert drawn == [4]
    # A flat line at 100% read as a perfect model; with 6 classes it says something and stays.
    assert "val_top5" not in str(report.curve_panels(4)) and "val_top5" in str(report.curve_panels(6))
    assert "val_top5" in str(report.curve_panels(None))  # labels.json unreadable: drawn as before


def test_top5_recomputed_from_the_predictions_over_five_classes_or_fewer_says_nothing(tmp_path):
    run = fabricate_run(tmp_path)
    (run / "metrics.json").write_text("{cut")  # recomputed from val_predictions.csv, which has no class count
    summary = (report.write_report(run) / "summary.md").read_text()
    assert "top-5 accuracy | n/a (only 4 classes" in summary  # it read "top-5 accuracy | 100.0%"


def test_class_names_with_markdown_or_html_read_as_written_in_the_summary(tmp_path, monkeypatch):
    monkeypatch.setitem(globals(), "NAMES", ["St_Mark *1*", "<b>Fort</b>", "[Big](Ben)", "Taj Mahal | Agra"])
    summary = (report.write_report(fabricate_run(tmp_path)) / "summary.md").read_text()
    # They showed in italics, in bold and as a link in any Markdown viewer.
    for escaped in ("St\\_Mark \\*1\\*", "\\<b\\>Fort\\</b\\>", "\\[Big\\](Ben)", "Taj Mahal \\| Agra"):
        assert escaped in summary, escaped
    assert "*1*" not in summary.replace("\\*", "") and "<b>" not in summary


def test_a_run_saved_with_the_dense_confusion_csv_still_gets_its_confused_pairs(tmp_path):
    from glr.evaluation import confusion

    run = fabricate_run(tmp_path)
    matrix = confusion.read(run / "confusion.csv").toarray()
    matrix[2, 3] = 9  # the largest confusion, in this file only
    dense = pd.DataFrame(matrix, index=pd.RangeIndex(len(matrix), name="true"))
    dense.reset_index().to_csv(run / "confusion.csv", index=False)  # as glr wrote it before: 4 x 4
    summary = (report.write_report(run) / "summary.md").read_text()
    pairs = summary.split("## Most confused pairs")[1]
    assert "| 9 |" in pairs.splitlines()[4]  # the first row under the header
    assert "## Notes" not in summary


def test_the_report_of_a_diverged_training_says_why_its_curves_stop(tmp_path):
    run = fabricate_run(tmp_path)
    history = pd.read_csv(run / "history.csv")
    history["loss"] = history["loss"].astype(float)
    history.loc[history["epoch"] >= 2, "loss"] = float("nan")
    history.to_csv(run / "history.csv", index=False)
    summary = (report.write_report(run) / "summary.md").read_text()
    assert "- The loss became NaN at epoch 2: the training diverged, so its curves stop there" in summary


def test_impossible_counts_in_metrics_json_are_said_in_the_summary_not_shown(tmp_path):
    run = fabricate_run(tmp_path)
    scores = json.loads((run / "metrics.json").read_text())
    (run / "metrics.json").write_text(json.dumps({**scores, "n_images": -3, "n_classes": 2.5}))
    summary = (report.write_report(run) / "summary.md").read_text()
    assert "| validation images | n/a (metrics.json holds -3 for n_images, not a count of photos" in summary
    assert "| classes | 4 |" in summary  # labels.json's, not 2.5


def test_a_collage_confidence_under_half_a_percent_reads_under_1_percent(tmp_path, monkeypatch):
    from PIL import ImageDraw

    said = []
    original = ImageDraw.ImageDraw.text
    monkeypatch.setattr(ImageDraw.ImageDraw, "text", lambda self, xy, text, *a, **kw: said.append(text) or
                        original(self, xy, text, *a, **kw))
    row = pd.Series({"path": str(tmp_path / "gone.jpg"), "true_index": 0, "pred_index": 1, "true_name": "Big Ben",
                     "pred_name": "Taj Mahal", "confidence": 0.003})
    report._tile(row, tmp_path, report._font(12))
    assert "pred: Taj Mahal (under 1%)" in said  # was "(0%)"


def test_a_collage_photo_converts_the_colours_of_its_own_pixels_only(tmp_path, monkeypatch):
    # The collage converted a 12 MP Display P3 photo's 12 million pixels to sRGB, then cropped and shrank it to its
    # tile: now only the tile's pixels are converted.
    from conftest import colour_conversions, display_p3_png
    from glr.data.images import decode_image

    path = tmp_path / "p3.png"
    path.write_bytes(display_p3_png((800, 600)))
    converted = colour_conversions(monkeypatch)
    row = pd.Series({"path": str(path), "pred_index": 0, "true_index": 0, "pred_name": "a", "true_name": "a",
                     "confidence": 0.9})
    tile = report._tile(row, tmp_path, report._font(12))
    side = report.TILE - 2 * report.BORDER
    assert converted == [(side, side)]
    middle = np.asarray(tile)[report.TILE // 2, report.TILE // 2].astype(int)
    assert tuple(middle) != (200, 100, 50) and np.abs(middle - decode_image(path)[0, 0]).max() <= 1


def test_the_confused_pairs_of_an_old_run_tell_look_alike_classes_apart_and_keep_long_names_whole(tmp_path, monkeypatch):
    # A run made before look-alike classes were told apart recorded "Big Ben" for two landmark_ids: its pairs read
    # "Big Ben | Big Ben", as the summary read labels.json itself, not as the Results page reads it.
    long = "Category:Basilica of Our Lady of the Assumption in the old town of "
    monkeypatch.setitem(globals(), "NAMES", ["Big Ben", "Big Ben", long + "Alpha", long + "Beta"])
    summary = (report.write_report(fabricate_run(tmp_path)) / "summary.md").read_text()
    pairs = summary.split("## Most confused pairs")[1].split("\n\n")[1].splitlines()[2:]
    assert "| Big Ben (landmark 100) | Big Ben (landmark 101) | 1 |" in pairs
    assert "| Big Ben | Big Ben |" not in summary
    # Names that differ only past a cut (the terminal's 40 characters, a chart's 28) are written whole.
    assert f"| {long}Alpha | {long}Beta | 1 |" in pairs

"""glr.predict: top-k on good images, a message for bad ones (the rest still predicted), submission CSV."""

import io

import numpy as np
import pandas as pd
import pytest

from conftest import write_image
from glr.errors import GlrError
from glr.predict import Predictor, eval_view, submission_table


@pytest.fixture(scope="module")
def predictor(finished_run):
    return Predictor(finished_run.path)


def test_top_k_for_paths_bytes_and_uploads(predictor, finished_run, tmp_path):
    val = pd.read_csv(finished_run.path / "val_predictions.csv", dtype={"id": str})
    path = val["path"].iloc[0]
    upload = io.BytesIO(open(path, "rb").read())
    upload.name = "upload.jpg"
    results = predictor.predict([path, open(path, "rb").read(), upload], k=3)
    assert [r.ok for r in results] == [True, True, True]
    assert results[2].source == "upload.jpg"
    for r in results:
        assert len(r.top) == 3
        probs = [p for _, _, p in r.top]
        assert probs == sorted(probs, reverse=True) and 0.99 <= sum(probs) <= 1.0001
        assert r.top == results[0].top  # the same photo, however it arrives
    # The predictor's top-1 agrees with the trainer's own validation prediction.
    assert results[0].top[0][0] == int(val["pred_landmark_id"].iloc[0])
    assert abs(results[0].top[0][2] - float(val["confidence"].iloc[0])) < 1e-3


def test_bad_file_gets_its_own_message(predictor, finished_run, tmp_path):
    good = tmp_path / "good.jpg"
    write_image(good, seed=1)
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"%PDF-1.4 not a photo")
    results = predictor.predict([str(good), str(bad), str(tmp_path / "missing.jpg")])
    assert results[0].ok and len(results[0].top) == 3  # k is capped at the 3 classes
    assert results[1].error.endswith("not an image, it looks like a PDF document; use JPEG, PNG, WebP, GIF, BMP or TIFF")
    assert "file not found" in results[2].error


def test_folder_gives_submission_csv(predictor, tmp_path):
    folder = tmp_path / "photos"
    for i in range(3):
        write_image(folder / f"img{i}.jpg", seed=i)
    (folder / "broken.jpg").write_bytes(b"")
    out = tmp_path / "submission.csv"
    table, predictions = predictor.predict_folder(folder, out)
    written = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert list(written.columns) == ["id", "landmarks"]
    assert sorted(written["id"]) == ["broken", "img0", "img1", "img2"]
    row = written.set_index("id").loc["img0", "landmarks"].split()
    assert len(row) == 2 and int(row[0]) in {3, 5, 9} and 0 < float(row[1]) <= 1
    assert written.set_index("id").loc["broken", "landmarks"] == ""


def test_not_a_run(tmp_path):
    with pytest.raises(GlrError, match="not a finished run"):
        Predictor(tmp_path)


def test_eval_view_matches_pipeline(finished_run, tmp_path):
    from glr.data.pipeline import make_dataset

    path = tmp_path / "x.jpg"
    write_image(path, seed=3, size=80)
    direct = eval_view(str(path), 32).astype(np.float32)
    via_pipeline = next(iter(make_dataset([str(path)], input_size=32))).numpy()[0]
    np.testing.assert_array_equal(direct, via_pipeline)


def test_submission_table_format():
    from glr.predict import Prediction

    table = submission_table(["a", "b"], [Prediction("a", [(12, "x", 0.5)]), Prediction("b", error="bad")])
    assert table.to_dict("records") == [{"id": "a", "landmarks": "12 0.500000"}, {"id": "b", "landmarks": ""}]



def test_with_repeats_keeps_every_id_of_a_repeated_photo():
    from glr.predict import Prediction, with_repeats

    a, b = Prediction("a.jpg", top=[(3, "A", 0.9)]), Prediction("b.jpg", top=[(5, "B", 0.8)])
    ids, rows = with_repeats(["a", "b"], [a, b], [("a2", "a"), ("a", "a"), ("orphan", "gone")])
    assert (ids, rows) == (["a", "b", "a2"], [a, b, a])
    assert submission_table(ids, rows)["landmarks"].tolist() == ["3 0.900000", "5 0.800000", "3 0.900000"]
    assert with_repeats(["a"], [a]) == (["a"], [a])

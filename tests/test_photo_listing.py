"""glr.photo_listing: `glr predict PHOTOS` lists each batch of photos as it is predicted."""

import io

import pytest

import glr.predict
from glr import predict_command
from glr.cli import main
from glr.predict import BATCH_SIZE


class _Model:
    """A predictor without a model: every photo is a Tower; `stop_at` photos asked for in all, then Ctrl-C."""
    backend_note, recognizer, retrieval_problem, method = None, None, "no index", "head"
    asked: list = []
    stop_at = None

    def __init__(self, *args, **kwargs):
        pass

    def predict(self, images, k, similar=0, progress=None):
        if _Model.stop_at is not None and len(_Model.asked) + len(images) > _Model.stop_at:
            raise KeyboardInterrupt
        _Model.asked += images
        return [glr.predict.Prediction(source=image, top=[(7, "Tower", 0.9)]) for image in images]


@pytest.fixture
def photos(tmp_path, monkeypatch):
    names = [f"{i:02}.jpg" for i in range(3 * BATCH_SIZE)]
    for name in names:
        (tmp_path / name).write_bytes(b"x")
    monkeypatch.setattr(predict_command, "find_run", lambda run, results: run)
    monkeypatch.setattr(glr.predict, "Predictor", _Model)
    monkeypatch.setattr(_Model, "asked", [])
    monkeypatch.setattr(_Model, "stop_at", None)
    monkeypatch.chdir(tmp_path)
    return names


def test_photos_are_listed_a_batch_at_a_time_so_ctrl_c_keeps_what_was_listed(photos, capsys):
    """5,000 photos in a zip were all predicted before the first line: minutes of silence, and Ctrl-C lost them all."""
    _Model.stop_at = 2 * BATCH_SIZE
    assert main(["predict", "r", *photos]) == 130
    listed = [line for line in capsys.readouterr().out.splitlines() if not line.startswith(" ")]
    assert listed == photos[:2 * BATCH_SIZE]


def test_a_listing_whose_reader_left_stops_predicting_unless_a_submission_was_asked_for(photos, monkeypatch, tmp_path):
    """`glr predict RUN *.jpg | head` predicted every photo before the first line reached head, which had left."""
    class Gone(io.StringIO):
        def write(self, text):
            raise BrokenPipeError(32, "Broken pipe")

    monkeypatch.setattr("sys.stdout", Gone())
    with pytest.raises(BrokenPipeError):
        predict_command.cmd_predict(_args(photos, out=None))
    assert _Model.asked == photos[:BATCH_SIZE]  # the first batch only
    _Model.asked = []
    with pytest.raises(BrokenPipeError):  # main makes it exit 141
        predict_command.cmd_predict(_args(photos, out="sub.csv"))
    assert _Model.asked == photos  # a submission asked for: every photo, and the CSV written
    assert (tmp_path / "sub.csv").read_text().count("\n") == len(photos) + 1


def _args(photos, out):
    import argparse

    return argparse.Namespace(run="r", results=None, images=photos, out=out, backend="auto", top_k=1, similar=0,
                              unknown="last")


def test_a_zips_submission_stopped_with_ctrl_c_continues_from_its_partial_file(tmp_path, monkeypatch, capsys):
    """`glr predict RUN test.zip --out sub.csv` held every prediction until the end, as a folder's did: Ctrl-C lost them.
    Its rows are kept as they come, as a folder's are (glr.folder_submission), and the same command goes on."""
    import zipfile

    with zipfile.ZipFile(tmp_path / "test.zip", "w") as archive:
        for i in range(3 * BATCH_SIZE):
            archive.writestr(f"t/{i:02}.jpg", b"x" * (i + 1))
    monkeypatch.setattr(predict_command, "find_run", lambda run, results: run)
    monkeypatch.setattr(glr.predict, "Predictor", _Named)
    monkeypatch.setattr(_Named, "asked", [])
    monkeypatch.setattr(_Named, "stop_at", None)
    monkeypatch.chdir(tmp_path)
    assert main(["predict", "r", "test.zip", "--out", "whole.csv"]) == 0
    whole = (tmp_path / "whole.csv").read_bytes()
    capsys.readouterr()
    _Named.stop_at, _Named.asked = 2 * BATCH_SIZE + 3, []
    assert main(["predict", "r", "test.zip", "--out", "sub.csv"]) == 130
    assert "the 32 predicted so far are kept in sub.csv.partial" in capsys.readouterr().err
    _Named.stop_at, _Named.asked = None, []
    assert main(["predict", "r", "test.zip", "--out", "sub.csv"]) == 0
    out, err = capsys.readouterr()
    assert "continuing from sub.csv.partial: 32 of 48 photos' predictions reused, 16 left to predict" in err
    assert _Named.asked == [f"test.zip/t/{i:02}.jpg" for i in range(32, 48)]
    assert [line for line in out.splitlines() if not line.startswith(" ")][:-1] == _Named.asked  # the new ones listed
    assert (tmp_path / "sub.csv").read_bytes() == whole and not (tmp_path / "sub.csv.partial").exists()


class _Named(_Model):
    """Each photo's answer from its size, so the CSV's rows tell the photos apart."""
    asked: list = []
    stop_at = None

    def predict(self, images, k, similar=0, progress=None):
        found = []
        for image in images:
            if _Named.stop_at is not None and len(_Named.asked) >= _Named.stop_at:
                raise KeyboardInterrupt
            _Named.asked.append(image.name)
            found.append(glr.predict.Prediction(source=image.name, top=[(7, "Tower", len(image.read()) / 100)]))
        if progress:
            progress(len(images))
        return found


def test_photos_listed_without_out_are_let_go_once_printed(photos, monkeypatch, capsys):
    """Each photo's Prediction was held until the last was listed: 100,000 photos held 121 MB, growing without bound.
    Now a batch is let go once printed (the lines are the same, in the same order)."""
    import gc
    import weakref

    made = []

    class Counted(_Model):
        def predict(self, images, k, similar=0, progress=None):
            gc.collect()
            made[:] = [ref for ref in made if ref() is not None]
            assert len(made) <= BATCH_SIZE, f"{len(made)} predictions of earlier batches still held"  # the last at most
            found = super().predict(images, k, similar, progress)
            made.extend(map(weakref.ref, found))
            return found

    monkeypatch.setattr(glr.predict, "Predictor", Counted)
    assert main(["predict", "r", *photos]) == 0
    listed = [line for line in capsys.readouterr().out.splitlines() if not line.startswith(" ")]
    assert listed == photos and len(_Model.asked) == 3 * BATCH_SIZE


def test_a_training_photo_named_with_a_newline_stays_on_one_line_of_the_listing(capsys):
    """A similar training photo (or the training photo a photo is) named "nl2<newline>x.jpg" printed "x.jpg" on a line
    of its own, which a reader of the listing took for a photo listed; its path is escaped, as a listed photo's is."""
    from types import SimpleNamespace

    from glr.photo_listing import say_predictions

    path = "/data/tower/nl2\nx.jpg"
    photo = {"id": "tower/nl2\nx", "landmark_id": 1, "name": "Big\nTower", "path": path, "similarity": 0.99995}
    found = glr.predict.Prediction(source="q.jpg", top=[(1, "Big Tower", 0.9)], similar=[photo], training_photo=photo)
    say_predictions(SimpleNamespace(method="head"), [found])
    lines = capsys.readouterr().out.splitlines()
    assert [line for line in lines if not line.startswith(" ")] == ["q.jpg"]
    assert sum("/data/tower/nl2\\nx.jpg" in line for line in lines) == 2
    assert "/data/tower/nl2\\nx.jpg, Big Tower; similarity" in lines[1]


def test_scores_re_ranked_by_spatial_verification_are_not_called_the_heads(capsys):
    # Verified runs listed "head confidence" over the mean of the head's and the inliers' scores (17.0% and 16.7%
    # for the top two of three classes: no head's probabilities).
    from types import SimpleNamespace

    from glr.photo_listing import say_predictions

    plain = glr.predict.Prediction(source="a.jpg", top=[(1, "Tower", 0.9)])
    verified = glr.predict.Prediction(source="b.jpg", top=[(1, "Tower", 0.17)],
                                      inliers=[{"id": "t1", "landmark_id": 1, "name": "Tower", "path": "t1.jpg", "inliers": 40}])
    say_predictions(SimpleNamespace(method="head"), [plain, verified])
    out = capsys.readouterr().out
    assert out.count("  head confidence, landmark_id, name:") == 1
    assert out.count("  head + spatial verification confidence, landmark_id, name:") == 1

"""glr.folder_submission: `glr predict FOLDER` keeps each batch's predictions as they come, and continues from them."""

import io
import os
import sys

import pytest
from PIL import Image

import glr.predict
from glr import predict_command
from glr.cli import main
from glr.errors import ImageError

PHOTOS = 40  # more than two of the predictor's batches (glr.predict.BATCH_SIZE, 16)


def _jpeg(red: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (red, 30, 30)).save(buffer, format="JPEG")
    return buffer.getvalue()


class _Model:
    """A predictor without a model: each photo's answer from its red, so a CSV's rows tell the photos apart; a photo
    that does not decode is an error. `stop_at` photos asked for in all, the next raises KeyboardInterrupt (Ctrl-C)."""
    backend, backend_note, retrieval_problem, method = "onnx", None, None, "head"
    recognizer = type("Recognizer", (), {"verify_problem": None,  # a verdict: the unknown photos ranked last
                                         "calibration": type("Calibration", (), {"threshold": 0.5})()})()
    asked: list = []
    stop_at = None

    predict_folder = glr.predict.Predictor.predict_folder  # the whole folder at once, as glr predict asked before

    def __init__(self, *args, **kwargs):
        pass

    def predict(self, images, k, similar=0, progress=None):
        found = []
        for image in images:
            if _Model.stop_at is not None and len(_Model.asked) >= _Model.stop_at:
                raise KeyboardInterrupt
            _Model.asked.append(os.path.basename(image))
            try:
                red = float(glr.predict.eval_view(image, 8)[..., 0].mean()) / 255
            except ImageError as exc:
                found.append(glr.predict.Prediction(source=image, error=str(exc)))
                continue
            found.append(glr.predict.Prediction(source=image, top=[(7, "Tower", red)], known_score=red, unknown=red < 0.5))
        if progress:
            progress(len(images))
        return found


@pytest.fixture
def photos(tmp_path, monkeypatch):
    folder = tmp_path / "photos"
    folder.mkdir()
    for i in range(PHOTOS):
        (folder / f"{i:02}.jpg").write_bytes(_jpeg(6 * i))
    (folder / "07.jpg").write_bytes(b"not a photo")  # one not predicted: its error is kept as a prediction is
    monkeypatch.setattr(predict_command, "find_run", lambda run, results: run)
    monkeypatch.setattr(glr.predict, "Predictor", _Model)
    monkeypatch.setattr(_Model, "asked", [])
    monkeypatch.setattr(_Model, "stop_at", None)
    return folder


def _predict(folder, out, *options):
    return main(["predict", str(folder.parent / "run"), str(folder), "--out", str(out), *options])


def test_a_folder_stopped_with_ctrl_c_continues_from_its_partial_file_to_the_same_csv(photos, tmp_path, capsys):
    """Ctrl-C after an hour lost every prediction: the CSV was written only at the end."""
    assert _predict(photos, tmp_path / "whole.csv") == 0
    whole = (tmp_path / "whole.csv").read_bytes()
    assert whole.count(b"\n") == PHOTOS + 1 and b"07," in whole
    assert not (tmp_path / "whole.csv.partial").exists()  # removed once the submission is written
    capsys.readouterr()

    _Model.asked, _Model.stop_at = [], 20  # Ctrl-C in the second batch: the first one's 16 are kept
    assert _predict(photos, tmp_path / "sub.csv") == 130
    err = capsys.readouterr().err
    partial = tmp_path / "sub.csv.partial"
    assert f"stopped after 16 of {PHOTOS} photos: the 16 predicted so far are kept in {partial}: the same command " \
           "continues from them (the submission is written once every photo is predicted)" in err
    assert not (tmp_path / "sub.csv").exists() and partial.is_file()

    _Model.asked, _Model.stop_at = [], None
    assert _predict(photos, tmp_path / "sub.csv") == 0
    out, err = capsys.readouterr()
    assert f"note: continuing from {partial}: 16 of {PHOTOS} photos' predictions reused, 24 left to predict" in err
    assert _Model.asked == [f"{i:02}.jpg" for i in range(16, PHOTOS)]  # only the photos not in it
    assert (tmp_path / "sub.csv").read_bytes() == whole  # byte for byte an uninterrupted run's
    assert not partial.exists()
    # The reused photo that was not predicted is said, and counted, as in an uninterrupted run.
    assert "  not predicted " in err and "07.jpg" in err and f"{PHOTOS - 1} predicted" in out and "1 unreadable" in out


def test_a_partial_file_of_other_options_or_a_changed_photo_is_not_reused_and_says_why(photos, tmp_path, capsys):
    _Model.stop_at = 20
    assert _predict(photos, tmp_path / "sub.csv", "--unknown", "empty") == 130
    capsys.readouterr()
    _Model.asked, _Model.stop_at = [], None
    assert _predict(photos, tmp_path / "sub.csv") == 0  # --unknown last now: other cells
    err = capsys.readouterr().err
    assert f"note: {tmp_path / 'sub.csv.partial'} holds predictions made with another --unknown (empty, now last): it " \
           "is not reused; every photo is predicted, and it is replaced" in err
    assert len(_Model.asked) == PHOTOS

    _Model.asked, _Model.stop_at = [], 20
    assert _predict(photos, tmp_path / "sub.csv") == 130
    (photos / "03.jpg").write_bytes(_jpeg(250))  # replaced since it was predicted
    os.utime(photos / "03.jpg", ns=(1, 1))
    _Model.asked, _Model.stop_at = [], None
    assert _predict(photos, tmp_path / "sub.csv") == 0
    assert "15 of 40 photos' predictions reused, 25 left to predict; 1 photos changed since are predicted again" \
           in capsys.readouterr().err
    assert _Model.asked[0] == "03.jpg" and len(_Model.asked) == 25


def test_a_partial_file_cut_short_by_a_crash_is_read_up_to_its_last_whole_line(photos, tmp_path, capsys):
    _Model.stop_at = 20
    assert _predict(photos, tmp_path / "sub.csv") == 130
    partial = tmp_path / "sub.csv.partial"
    partial.write_bytes(partial.read_bytes()[:-7])  # the last photo's line cut short, as a crash mid-write leaves it
    _Model.asked, _Model.stop_at = [], None
    assert _predict(photos, tmp_path / "sub.csv") == 0
    assert "15 of 40 photos' predictions reused, 25 left to predict" in capsys.readouterr().err
    assert _Model.asked == [f"{i:02}.jpg" for i in range(15, PHOTOS)]
    assert (tmp_path / "sub.csv").read_text().count("\n") == PHOTOS + 1


def test_a_file_that_is_no_partial_file_is_said_and_replaced(photos, tmp_path, capsys):
    (tmp_path / "sub.csv.partial").write_text("id,landmarks\n")
    assert _predict(photos, tmp_path / "sub.csv") == 0
    assert "is not a partial file of these predictions: it is not reused; every photo is predicted" in \
        capsys.readouterr().err
    assert len(_Model.asked) == PHOTOS and not (tmp_path / "sub.csv.partial").exists()


@pytest.mark.skipif(os.name == "nt", reason="Windows: the partial file is not locked")
def test_the_same_folder_predicted_twice_at_once_is_refused_not_cut_into_each_other(photos, tmp_path, capsys):
    """Two `glr predict` of one folder to one CSV at once (two terminals) added their lines into one partial file
    and each replaced the other's CSV; the second now says another is writing it, and leaves it alone."""
    import fcntl

    _Model.stop_at = 20
    assert _predict(photos, tmp_path / "sub.csv") == 130
    partial = tmp_path / "sub.csv.partial"
    kept = partial.read_bytes()
    capsys.readouterr()
    with open(partial, "rb") as held:  # as the first command holds it while it predicts
        fcntl.flock(held.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        _Model.asked, _Model.stop_at = [], None
        assert _predict(photos, tmp_path / "sub.csv") == 2
        err = capsys.readouterr().err
        assert "continuing from" not in err and f"{partial}: cannot write the partial file that keeps the predictions as they come (another prediction " \
               "is writing it now (the same command running twice?): wait for it to end, or give another --out)" in err
    assert _Model.asked == [] and partial.read_bytes() == kept and not (tmp_path / "sub.csv").exists()


@pytest.mark.parametrize("out", ["sub.csv", "/"])
def test_a_submission_written_into_the_photo_folder_is_not_listed_as_a_skipped_photo(photos, capsys, out):
    """`--out photos/sub.csv`: glr's own partial file (after Ctrl-C) and then its CSV were listed among the skipped
    files of the folder, "sub.csv.partial: .partial is not an image type", and counted as skipped."""
    given = str(photos) + out if out == "/" else photos / out
    target = photos / ("submission.csv" if out == "/" else out)
    (photos / "notes.txt").write_text("a file of the user's: still said")
    _Model.stop_at = 20
    assert _predict(photos, given) == 130
    assert (photos / f"{target.name}.partial").is_file()
    capsys.readouterr()
    _Model.asked, _Model.stop_at = [], None
    assert _predict(photos, given) == 0  # the partial file among the photos: continued from, not skipped
    out_text, err = capsys.readouterr()
    assert f"skipped {photos / 'notes.txt'}" in err and ".partial" not in err.replace(f"{target}.partial:", "")
    assert "1 skipped" in out_text and target.is_file()
    assert _predict(photos, given) == 0  # the CSV of the run before, among the photos
    out_text, err = capsys.readouterr()
    assert f"skipped {target}" not in err and "1 skipped" in out_text
    assert main(["predict", "run", str(photos), str(photos / "00.jpg"), "--out", str(given)]) == 1  # as photos (07.jpg: 1)
    assert f"skipped {target}" not in capsys.readouterr().err


class _NoVerdict(_Model):
    """A run without an unknown verdict (no index, no threshold saved): no known score, no photo called unknown."""
    recognizer, retrieval_problem = None, "run r has no embedding index yet"

    def predict(self, images, k, similar=0, progress=None):
        found = super().predict(images, k, similar, progress)
        for p in found:
            p.known_score, p.unknown = None, False
        return found


def test_unknown_for_a_run_without_a_verdict_is_said_ignored_once_and_changes_nothing(photos, tmp_path, monkeypatch, capsys):
    """`--unknown empty` on a run with no verdict was taken in silence; and a run stopped with it could not be continued
    without it ("holds predictions made with another --unknown (empty, now last)"), though the CSV is the same."""
    monkeypatch.setattr(glr.predict, "Predictor", _NoVerdict)
    assert _predict(photos, tmp_path / "whole.csv") == 0
    capsys.readouterr()
    _Model.asked, _Model.stop_at = [], 20
    assert _predict(photos, tmp_path / "sub.csv", "--unknown", "empty") == 130
    err = capsys.readouterr().err
    assert err.count("note: --unknown empty is ignored: this run gives no unknown verdict, so no photo is called not a "
                     "known landmark") == 1
    _Model.asked, _Model.stop_at = [], None
    assert _predict(photos, tmp_path / "sub.csv", "--unknown", "keep") == 0
    out, err = capsys.readouterr()
    assert f"16 of {PHOTOS} photos' predictions reused" in err and len(_Model.asked) == PHOTOS - 16
    assert "(no unknown verdict for this run)" in out and "called not a known landmark" not in out
    assert (tmp_path / "sub.csv").read_bytes() == (tmp_path / "whole.csv").read_bytes()
    assert main(["predict", "run", str(photos / "00.jpg"), "--unknown", "empty"]) == 0  # no submission: nothing to apply
    assert "note: --unknown empty is ignored: it is for a submission (a folder, or --out)" in capsys.readouterr().err


@pytest.mark.skipif(sys.platform in ("darwin", "win32"), reason="file names there are Unicode: no undecodable bytes")
def test_a_photo_whose_name_is_not_utf8_is_predicted_and_given_a_printable_id(photos, tmp_path, capsys):
    # A file named b"bad\xffname.jpg" (a camera card, an old zip tool) crashed `predict FOLDER` in the batch's table
    # (pyarrow: "surrogates not allowed") after the photos before it were predicted; no submission was written.
    (photos / os.fsdecode(b"bad\xffname.jpg")).write_bytes(_jpeg(200))
    assert _predict(photos, tmp_path / "sub.csv") == 0
    rows = (tmp_path / "sub.csv").read_text(encoding="utf-8").splitlines()
    assert len(rows) == PHOTOS + 2 and [r for r in rows if r.startswith("bad")] == ["bad\ufffdname,7 0.896078"], rows
    assert main(["predict", str(photos.parent / "run"), str(photos / os.fsdecode(b"bad\xffname.jpg")), "--out", "-"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "bad\ufffdname,7 0.896078"

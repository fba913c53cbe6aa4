"""glr.predict_command: what the terminal's `predict` does around the predictor (the photos it is given)."""

import argparse
import re
from pathlib import Path

import pytest

from glr.errors import GlrError
from glr.predict_command import _given_once


def test_a_pattern_the_shell_did_not_expand_is_expanded(tmp_path, monkeypatch, capsys):
    # Windows' cmd (or quotes in a shell) passes "photos\*.jpg" on as typed: was "photos/*.jpg: file not found".
    for name in ("b.jpg", "a.jpg", "notes.txt"):
        (tmp_path / name).write_bytes(b"x")
    monkeypatch.chdir(tmp_path)
    assert _given_once(["*.jpg", "a.jpg"]) == ["a.jpg", "b.jpg"]  # sorted, each once
    assert "a.jpg was given twice" in capsys.readouterr().err
    assert _given_once([str(tmp_path / "[ab].jpg")]) == [str(tmp_path / "a.jpg"), str(tmp_path / "b.jpg")]
    with pytest.raises(GlrError, match=re.escape("*.png: no file matches this pattern")):
        _given_once(["*.png"])


def test_a_file_whose_name_holds_pattern_characters_is_that_file(tmp_path, monkeypatch):
    (tmp_path / "what?.jpg").write_bytes(b"x")
    (tmp_path / "whatX.jpg").write_bytes(b"x")
    monkeypatch.chdir(tmp_path)
    assert _given_once(["what?.jpg", "missing.jpg"]) == ["what?.jpg", "missing.jpg"]  # a missing photo is said later


def test_a_dash_says_standard_input_is_not_read_unless_a_file_is_named_so(tmp_path, monkeypatch):
    # `glr predict RUN -` (a photo piped in) said "-: file not found", which does not say what to give instead.
    monkeypatch.chdir(tmp_path)
    with pytest.raises(GlrError, match=re.escape("-: standard input is not read: give the photo files or a folder of "
                                                 "them (a photo piped in: save it to a file first)")):
        _given_once(["a.jpg", "-"])
    (tmp_path / "-").write_bytes(b"x")  # a file really named "-" is that file
    assert _given_once(["-"]) == ["-"]


def test_a_web_address_is_passed_on_as_given_not_as_a_path_or_a_pattern():
    # Path("https://x/a.jpg") is "https:/x/a.jpg", and the "?" of a query read as a pattern matched nothing.
    assert _given_once(["https://x.org/a.jpg?w=800", "HTTP://x.org/b.jpg"]) == ["https://x.org/a.jpg?w=800",
                                                                               "HTTP://x.org/b.jpg"]


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux's /proc, a folder even root cannot write in")
@pytest.mark.parametrize("where", ["--out", "beside the folder"])
def test_a_submission_that_cannot_be_written_is_said_before_any_photo_is_predicted(tmp_path, monkeypatch, where):
    """A read-only place for the submission was found only after every photo had been predicted (an hour for a big
    folder), and the hour was lost."""
    import glr.predict
    from glr import predict_command, submission

    monkeypatch.setattr(predict_command, "find_run", lambda run, results: run)
    monkeypatch.setattr(glr.predict, "Predictor", lambda *a, **k: pytest.fail("the model was loaded"))
    photos = tmp_path / "photos"
    photos.mkdir()
    (photos / "a.jpg").write_bytes(b"x")
    out = "/proc/submission.csv" if where == "--out" else None
    if out is None:  # a folder whose parent cannot be written: a photo card, another user's share
        monkeypatch.setattr(submission, "default_submission_path", lambda folder: Path("/proc/photos-submission.csv"))
    args = argparse.Namespace(run="r", results=None, images=[str(photos)], out=out, backend="auto", top_k=5,
                              similar=0, unknown="last")
    with pytest.raises(GlrError, match=re.escape("/proc/") + ".*cannot write the submission .*choose another file with --out"):
        predict_command.cmd_predict(args)
    args.images, args.out = [str(photos / "a.jpg")], "/proc/photo.csv"  # a photo's --out too
    with pytest.raises(GlrError, match="/proc/photo.csv: cannot write the submission"):
        predict_command.cmd_predict(args)


def test_a_submission_in_a_folder_not_there_yet_is_written_there(tmp_path):
    from glr.predict_command import _check_writable

    _check_writable(tmp_path / "new" / "deeper" / "submission.csv")  # made, as the writing does
    assert (tmp_path / "new" / "deeper").is_dir() and list((tmp_path / "new" / "deeper").iterdir()) == []


def test_a_folder_predicted_into_a_log_says_how_far_it_is(tmp_path, monkeypatch, capsys):
    """`predict RUN FOLDER > log 2>&1` (nohup, cron) said nothing until the end: the bar is off a terminal."""
    import pandas as pd

    import glr.predict
    from glr import commands, predict_command

    photos = [tmp_path / "photos" / f"{i}.jpg" for i in range(5)]
    photos[0].parent.mkdir()
    for photo in photos:
        photo.write_bytes(b"x")

    class Fake:
        backend_note, recognizer, retrieval_problem = None, None, "no index"

        def __init__(self, *args, **kwargs):
            pass

        def predict(self, images, k, similar, progress):
            for _ in images[:2]:  # one at a time, then a batch of the rest
                progress(1)
            progress(len(images) - 2)
            return [glr.predict.Prediction(source=image) for image in images]

    monkeypatch.setattr(predict_command, "find_run", lambda run, results: run)
    monkeypatch.setattr(glr.predict, "Predictor", Fake)
    monkeypatch.setattr(commands.PhotoProgress, "LOG_SECONDS", 0.0)
    args = argparse.Namespace(run="r", results=None, images=[str(photos[0].parent)], out=str(tmp_path / "s.csv"),
                              backend="auto", top_k=5, similar=0, unknown="last")
    assert predict_command.cmd_predict(args) == 0
    lines = capsys.readouterr().err.splitlines()
    assert lines[1:] == ["predicting photos: 5 photos", "predicting photos: 1 of 5 (20%)", "predicting photos: 2 of 5 (40%)",
                         "predicting photos: 5 of 5 (100%)"], lines


def test_a_photo_that_cannot_be_predicted_is_named_once_on_its_line(tmp_path, monkeypatch, capsys):
    """The decoder's message begins with the file's name, and the line did too: "a.pdf: error: a.pdf: not an image"."""
    import glr.predict
    from glr import predict_command
    from glr.errors import ImageError

    class Fake:  # glr's own decoder's messages, without a model
        backend_note, recognizer, retrieval_problem = None, None, "no index"

        def __init__(self, *args, **kwargs):
            pass

        def predict(self, images, k, similar):
            found = []
            for image in images:
                try:
                    glr.predict.eval_view(image, 32)
                except ImageError as exc:
                    found.append(glr.predict.Prediction(source=image, error=str(exc)))
            return found

    (tmp_path / "report.pdf").write_bytes(b"%PDF-1.4\n" + bytes(100))
    monkeypatch.setattr(predict_command, "find_run", lambda run, results: run)
    monkeypatch.setattr(glr.predict, "Predictor", Fake)
    monkeypatch.chdir(tmp_path)
    args = argparse.Namespace(run="r", results=None, images=["report.pdf", "./missing.jpg"], out=None, backend="auto",
                              top_k=5, similar=0, unknown="last")
    assert predict_command.cmd_predict(args) == 1
    assert capsys.readouterr().out.splitlines() == [
        "report.pdf: error: not an image, it looks like a PDF document; use JPEG, PNG, WebP, HEIC, AVIF, GIF, BMP, TIFF or ICO",
        "missing.jpg: error: file not found"]


def test_the_top_k_and_similar_lines_widen_their_id_column_to_the_widest_id(tmp_path, monkeypatch, capsys):
    # A dataset of its own may number landmarks with 17-19 digits: a fixed 8-wide column pushed those lines out of line.
    top = [(1234567890123456789, "Big", 0.5), (7, "Small", 0.25), (42, "Mid", 0.125)]
    similar = [{"similarity": 0.9, "landmark_id": 12345678901234567, "name": "Big", "path": "a.jpg"},
               {"similarity": 0.8, "landmark_id": 3, "name": "Small", "path": "b.jpg"}]

    lines = _listed(tmp_path, monkeypatch, capsys, top, similar)
    top_lines, similar_lines = lines[2:5], lines[6:8]
    assert len({line.index(name) for line, name in zip(top_lines, ["Big", "Small", "Mid"])}) == 1, lines
    assert len({line.index(name) for line, name in zip(similar_lines, ["Big", "Small"])}) == 1, lines
    assert top_lines[1] == "   25.0%                    7  Small"


def test_confidences_read_as_the_apps_shares_and_similarities_never_round_onto_0_or_1(tmp_path, monkeypatch, capsys):
    # `{prob:6.3f}` printed 0.0004 as 0.000 (no chance) and 0.9996 as 1.000 (certain); the app says "under 0.1%".
    top = [(1, "Sure", 0.9996), (2, "Faint", 0.0004), (3, "Half", 0.5)]
    similar = [{"similarity": 0.99996, "landmark_id": 1, "name": "Twin", "path": "a.jpg"},
               {"similarity": 0.0004, "landmark_id": 2, "name": "Far", "path": "b.jpg"},
               {"similarity": -0.25, "landmark_id": 3, "name": "Opposite", "path": "c.jpg"}]

    lines = _listed(tmp_path, monkeypatch, capsys, top, similar)
    assert lines[2:5] == ["  over 99.9%         1  Sure", "  under 0.1%         2  Faint", "       50.0%         3  Half"]
    assert lines[6:9] == ["  0.99996         1  Twin  a.jpg", "   0.0004         2  Far  b.jpg",
                          "   -0.250         3  Opposite  c.jpg"]


def test_a_photo_named_like_an_option_says_how_to_give_it(tmp_path, monkeypatch, capsys):
    # `glr predict RUN -beach.jpg` said "the following arguments are required: images", the photo taken for an option.
    from glr.cli import build_parser, main

    monkeypatch.chdir(tmp_path)
    (tmp_path / "-beach.jpg").write_bytes(b"x")
    with pytest.raises(SystemExit) as refused:
        main(["predict", "run", "-beach.jpg"])
    assert refused.value.code == 2
    assert capsys.readouterr().err.splitlines()[-1] == (
        "python -m glr predict: error: -beach.jpg is a photo whose name starts with '-', which reads as an option: "
        "write it ./-beach.jpg, or put -- before the photos (python -m glr predict RUN -- -beach.jpg)")
    from glr.predict_command import dash_named_photo

    predict = build_parser().commands["predict"]
    assert dash_named_photo(predict, ["predict", "run", "--", "-beach.jpg"]) is None  # the shell's way: a photo
    assert dash_named_photo(predict, ["predict", "run", "-nothere.jpg"]) is None  # argparse's own error stands
    assert dash_named_photo(predict, ["runs", "-beach.jpg"]) is None


def test_out_dash_writes_the_submission_alone_to_stdout(tmp_path, monkeypatch, capsys):
    # `--out -` (as `> sub.csv` or `| gzip` wants) wrote a file named "-" and printed "wrote /path/-" on stdout.
    import pandas as pd

    import glr.predict
    from glr import predict_command
    from glr.cli import main

    photos = tmp_path / "photos"
    photos.mkdir()
    for name in ("-beach.jpg", "東京.jpg"):
        (photos / name).write_bytes(b"x")

    class Fake:
        backend_note, recognizer, retrieval_problem, method = None, None, "no index", "head"

        def __init__(self, *args, **kwargs):
            pass

        landmarked = ("beach",)  # the folder's: only -beach.jpg with a landmark

        def predict(self, images, k, similar, progress=None):
            return [glr.predict.Prediction(source=image, top=[(7, "Tower", 0.9)] if any(
                name in image for name in self.landmarked) else []) for image in images]

    monkeypatch.setattr(predict_command, "find_run", lambda run, results: run)
    monkeypatch.setattr(glr.predict, "Predictor", Fake)
    monkeypatch.chdir(tmp_path)
    assert main(["predict", "r", "photos", "--out", "-"]) == 0
    out, err = capsys.readouterr()
    assert out == "id,landmarks\n-beach,7 0.900000\n東京,\n"
    assert err.splitlines()[-1].startswith("wrote the submission to standard output: 2 predicted")
    Fake.landmarked = ("東京",)
    assert main(["predict", "r", "photos/東京.jpg", "--out", "-"]) == 0  # photos: their listing goes to stderr
    out, err = capsys.readouterr()
    assert out == "id,landmarks\n東京,7 0.900000\n" and "photos/東京.jpg" in err
    assert not (tmp_path / "-").exists()


def test_several_folders_are_predicted_as_their_photos(tmp_path, monkeypatch, capsys):
    # `glr predict RUN trip1 trip2` said "trip1: error: is a folder, not an image file" for each, where the exported
    # predict.py predicts their photos.
    import glr.predict
    from glr import predict_command
    from glr.cli import main

    for name in ("trip1/a.jpg", "trip1/notes.txt", "trip2/b.jpg", "trip2/sub/c.jpg"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"x")
    (tmp_path / "none").mkdir()
    (tmp_path / "none2").mkdir()
    asked = []

    class Fake:
        backend_note, recognizer, retrieval_problem, method = None, None, "no index", "head"

        def __init__(self, *args, **kwargs):
            pass

        def predict(self, images, k, similar):
            asked.extend(images)
            return [glr.predict.Prediction(source=image, top=[(7, "Tower", 0.9)]) for image in images]

    monkeypatch.setattr(predict_command, "find_run", lambda run, results: run)
    monkeypatch.setattr(glr.predict, "Predictor", Fake)
    monkeypatch.chdir(tmp_path)
    assert main(["predict", "r", "trip1", "trip2", "trip1/a.jpg"]) == 0
    assert asked == [str(Path("trip1/a.jpg")), str(Path("trip2/b.jpg")), str(Path("trip2/sub/c.jpg"))]
    err = capsys.readouterr().err
    assert "skipped trip1/notes.txt: .txt is not an image type" in err and "trip1/a.jpg was given twice" in err
    assert main(["predict", "r", "trip2", "none"]) == 1  # predicted, and the empty folder said
    assert capsys.readouterr().err.startswith("none: error: no images found in this folder")
    with pytest.raises(GlrError, match="no photos to predict in the folders given"):
        predict_command.cmd_predict(argparse.Namespace(run="r", results=None, images=["none", "none2"], out=None))


def test_a_known_score_below_its_threshold_never_reads_equal_to_it(tmp_path, monkeypatch, capsys):
    # "NOT A KNOWN LANDMARK (known score 0.312 < 0.312)": at three decimals the two looked equal.
    import types

    import glr.predict
    from glr import predict_command

    class Fake:
        backend_note, retrieval_problem, method = None, None, "softmax"
        recognizer = types.SimpleNamespace(calibration=types.SimpleNamespace(threshold=0.31249), verify_problem=None)

        def __init__(self, *args, **kwargs):
            pass

        def predict(self, images, k, similar):
            return [glr.predict.Prediction(source=images[0], top=[(1, "Fort", 0.5)], known_score=0.31241, unknown=True)]

    monkeypatch.setattr(predict_command, "find_run", lambda run, results: run)
    monkeypatch.setattr(glr.predict, "Predictor", Fake)
    (tmp_path / "x.jpg").write_bytes(b"")
    monkeypatch.chdir(tmp_path)
    args = argparse.Namespace(run="r", results=None, images=["x.jpg"], out=None, backend="auto", top_k=1, similar=0,
                              unknown="last")
    predict_command.cmd_predict(args)
    assert capsys.readouterr().out.splitlines()[0] == "x.jpg  NOT A KNOWN LANDMARK (known score 0.3124 < 0.3125)"


def _jpeg(color=(200, 30, 30)) -> bytes:
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), color).save(buffer, format="JPEG")
    return buffer.getvalue()


class _Reading:
    """A predictor without a model that decodes each photo as glr does, so a zip given as a photo says so."""
    backend_note, recognizer, retrieval_problem, method = None, None, "no index", "head"
    asked: list = []

    def __init__(self, *args, **kwargs):
        pass

    def predict(self, images, k, similar, progress=None):
        import glr.predict
        from glr.errors import ImageError

        found = []
        for image in images:
            name = image if isinstance(image, str) else image.name
            _Reading.asked.append(name)
            try:
                view = glr.predict.eval_view(image, 8)
            except ImageError as exc:
                found.append(glr.predict.Prediction(source=name, error=str(exc)))
                continue
            found.append(self.answer(name, view))
        if progress:
            progress(len(images))
        return found

    def answer(self, name, view):
        import glr.predict

        return glr.predict.Prediction(source=name, top=[(7, "Tower", 0.9)])


def test_a_zip_of_photos_is_read_as_the_predict_page_reads_one(tmp_path, monkeypatch, capsys):
    # `glr predict RUN album.zip` said "not an image but a zip archive: unzip it first", where the Predict page opens it.
    import zipfile

    import glr.predict
    from glr import predict_command
    from glr.cli import main
    from glr.data import uploads

    with zipfile.ZipFile(tmp_path / "album.zip", "w") as archive:
        archive.writestr("trip/day 1/a.jpg", _jpeg())
        archive.writestr("b.jpg", _jpeg((0, 90, 200)))
        archive.writestr("notes.txt", "not a photo")
        archive.writestr("../escape.jpg", _jpeg())
        archive.writestr("__MACOSX/trip/._a.jpg", b"resource fork")
        archive.writestr("more.zip", b"PK\x05\x06" + bytes(18))
    with zipfile.ZipFile(tmp_path / "none.zip", "w") as archive:
        archive.writestr("readme.txt", "no photos")
    (tmp_path / "loose.jpg").write_bytes(_jpeg())
    (tmp_path / "photos.7z").write_bytes(b"7z\xbc\xaf\x27\x1c" + bytes(40))
    _Reading.asked = []
    monkeypatch.setattr(predict_command, "find_run", lambda run, results: run)
    monkeypatch.setattr(glr.predict, "Predictor", _Reading)
    monkeypatch.chdir(tmp_path)
    assert main(["predict", "r", "album.zip", "loose.jpg", "--out", "sub.csv"]) == 0
    assert _Reading.asked == ["album.zip/b.jpg", "album.zip/trip/day 1/a.jpg", "loose.jpg"]
    out, err = capsys.readouterr()
    assert [line for line in out.splitlines() if not line.startswith(" ")][:3] == _Reading.asked
    assert "album.zip: 1 file that is not an image skipped (e.g. 'notes.txt')" in err
    assert "album.zip: 1 file with unsafe paths skipped (e.g. '../escape.jpg')" in err
    assert "album.zip: 1 zip inside it not opened (e.g. 'more.zip')" in err and "._a.jpg" not in err
    assert (tmp_path / "sub.csv").read_text().splitlines() == ["id,landmarks", "b,7 0.900000", "a,7 0.900000",
                                                               "loose,7 0.900000"]
    assert main(["predict", "r", "none.zip", "loose.jpg"]) == 1  # the rest predicted, the zip without photos said
    assert capsys.readouterr().err.startswith("  none.zip: 1 file that is not an image skipped (e.g. 'readme.txt')\n"
                                              "none.zip: error: holds no images (jpg, ")
    with pytest.raises(GlrError, match="no photos to predict in the zips given"):
        predict_command.cmd_predict(argparse.Namespace(run="r", results=None, images=["none.zip"], out=None))
    assert main(["predict", "r", "photos.7z"]) == 1  # a 7z or RAR: still "unpack it first"
    assert "photos.7z: error: not an image but a 7z archive: unpack it first" in capsys.readouterr().out
    # The Predict page's limits (2,000 photos, 500 MB) bound its memory; here a photo at a time is held, so every
    # photo is predicted (it said "only the first 2000 images are used ...; unzip it and give its folder").
    monkeypatch.setattr(uploads, "ZIP_MAX_FILES", 1)
    monkeypatch.setattr(uploads, "ZIP_MAX_BYTES", 10)
    _Reading.asked = []
    assert main(["predict", "r", "album.zip"]) == 0
    assert len(_Reading.asked) == 2 and "only the first" not in capsys.readouterr().err
    # The zip is not read whole (a 1 GB zip of videos and a few photos was refused as "over the 1,024 MB read from a
    # zip"): zipfile reads its directory and the photos taken from the file.
    monkeypatch.setattr(Path, "read_bytes", lambda self: pytest.fail(f"{self} read whole"))
    assert main(["predict", "r", "album.zip"]) == 0


def test_a_run_folder_given_as_photos_is_said_once(tmp_path, monkeypatch, capsys):
    # It said "no images found (...); 1 other file skipped, e.g. RUN: a glr run folder: ...".
    import glr.predict
    from glr import predict_command
    from glr.cli import main

    run = tmp_path / "20260101-000000-demo"
    run.mkdir()
    for name in ("status.json", "config.json", "curves.png"):
        (run / name).write_text("{}")
    (tmp_path / "a.jpg").write_bytes(_jpeg())
    monkeypatch.setattr(predict_command, "find_run", lambda ref, results: ref)
    monkeypatch.setattr(glr.predict, "Predictor", lambda *a, **k: pytest.fail("the model was loaded"))
    with pytest.raises(GlrError) as said:
        predict_command.cmd_predict(argparse.Namespace(run="r", results=None, images=[str(run)], out=None))
    assert str(said.value) == (f"{run}: a glr run folder: its charts and files are not photos to predict; give the "
                               "photos to predict, or a folder of them: python -m glr predict RUN PHOTOS...")
    _Reading.asked = []
    monkeypatch.setattr(glr.predict, "Predictor", _Reading)
    assert main(["predict", "r", str(run), str(tmp_path / "a.jpg")]) == 1
    err = capsys.readouterr().err
    assert err.splitlines()[:1] == [f"{run}: error: a glr run folder: its charts and files are not photos to predict; "
                                "give the photos to predict, or a folder of them: python -m glr predict RUN PHOTOS..."]
    assert "skipped" not in err and "no images found" not in err
    assert _Reading.asked == [str(tmp_path / "a.jpg")]


def test_out_is_never_written_over_a_file_given_or_a_file_of_the_run(tmp_path, monkeypatch):
    # As the exported predict.py refuses: `--out IMG_0001` (a photo without an extension) or `--out album.zip` replaced
    # the photo or the zip with the CSV, `--out RUN/config.json` the finished run's settings.
    import types
    import zipfile

    import glr.predict
    from glr import predict_command
    from glr.cli import main

    run = tmp_path / "run"
    run.mkdir()
    (run / "config.json").write_text("{}")
    (tmp_path / "IMG_0001").write_bytes(_jpeg())
    with zipfile.ZipFile(tmp_path / "album.zip", "w") as archive:
        archive.writestr("a.jpg", _jpeg())
    monkeypatch.setattr(predict_command, "find_run", lambda ref, results: types.SimpleNamespace(path=run))
    monkeypatch.setattr(glr.predict, "Predictor", lambda *a, **k: pytest.fail("the model was loaded"))
    monkeypatch.chdir(tmp_path)
    for photos, out, said in ((["IMG_0001"], "IMG_0001", "is IMG_0001, one of the files to predict"),
                              (["album.zip"], "./album.zip", "is album.zip, one of the files to predict"),
                              (["IMG_0001"], "run/config.json", f"is a file of the run {run}, which it needs")):
        with pytest.raises(GlrError, match=re.escape(said)):
            predict_command.cmd_predict(argparse.Namespace(run="r", results=None, images=photos, out=out,
                                                           backend="auto", top_k=5, similar=0, unknown="last"))
    assert (run / "config.json").read_text() == "{}" and (tmp_path / "IMG_0001").read_bytes() == _jpeg()
    assert main(["predict", "r", "album.zip", "--out", "album.zip"]) == 2


def test_out_overwrites_a_submission_and_no_other_file(tmp_path, monkeypatch):
    # `--out OTHER_RUN/model.keras` replaced another finished run's model with the CSV (it still listed as finished and
    # could no longer predict), `--out DATASET/train.csv` the catalog a run was trained on: any file went.
    import glr.predict
    from glr import predict_command

    (tmp_path / "a.jpg").write_bytes(_jpeg())
    monkeypatch.setattr(predict_command, "find_run", lambda ref, results: ref)
    monkeypatch.setattr(glr.predict, "Predictor", _Reading)
    monkeypatch.chdir(tmp_path)
    kept = {"model.keras": b"PK\x03\x04 a model", "train.csv": b"id,landmark_id\nabc,1\n", "notes.csv": b"id,landmarks,x\n"}
    for name, data in kept.items():
        (tmp_path / name).write_bytes(data)
        args = argparse.Namespace(run="r", results=None, images=["a.jpg"], out=name, backend="auto", top_k=1,
                                  similar=0, unknown="last")
        with pytest.raises(GlrError, match=re.escape(f"--out {name} exists and is not a submission (its first line is "
                                                     "not 'id,landmarks'), so it is not overwritten")):
            predict_command.cmd_predict(args)
        assert (tmp_path / name).read_bytes() == data
    for before in (b"id,landmarks\nold,3 0.5\n", b"\xef\xbb\xbfid,landmarks\r\nold,3 0.5\r\n", b"id,landmarks", b""):
        (tmp_path / "sub.csv").write_bytes(before)  # an earlier submission (or an empty file) is written again
        predict_command.cmd_predict(argparse.Namespace(run="r", results=None, images=["a.jpg"], out="sub.csv",
                                                       backend="auto", top_k=1, similar=0, unknown="last"))
        assert (tmp_path / "sub.csv").read_text().splitlines() == ["id,landmarks", "a,7 0.900000"]


def test_a_listing_cut_short_by_its_reader_still_writes_the_submission(tmp_path, monkeypatch):
    # `glr predict RUN *.jpg --out sub.csv | head`: the BrokenPipeError of the listing came before the CSV was written,
    # and an hour of predictions was lost with it.
    import io

    import glr.predict
    from glr import predict_command

    class Gone(io.StringIO):
        def write(self, text):
            raise BrokenPipeError(32, "Broken pipe")

    for name in ("a.jpg", "b.jpg"):
        (tmp_path / name).write_bytes(_jpeg())
    monkeypatch.setattr(predict_command, "find_run", lambda ref, results: ref)
    monkeypatch.setattr(glr.predict, "Predictor", _Reading)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("sys.stdout", Gone())
    args = argparse.Namespace(run="r", results=None, images=["a.jpg", "b.jpg"], out="sub.csv", backend="auto", top_k=1,
                              similar=0, unknown="last")
    with pytest.raises(BrokenPipeError):  # main makes it exit 141
        predict_command.cmd_predict(args)
    assert (tmp_path / "sub.csv").read_text().splitlines() == ["id,landmarks", "a,7 0.900000", "b,7 0.900000"]


def _listed(tmp_path, monkeypatch, capsys, top, similar) -> list[str]:
    """The lines `glr predict` prints for one photo predicted as `top`, with `similar` as its nearest photos."""
    import glr.predict
    from glr import predict_command

    class Fake:
        backend_note, recognizer, retrieval_problem, method = None, None, None, "softmax"

        def __init__(self, *args, **kwargs):
            pass

        def predict(self, images, k, similar):
            return [glr.predict.Prediction(source=images[0], top=top, similar=nearest)]

    nearest = similar
    monkeypatch.setattr(predict_command, "find_run", lambda run, results: run)
    monkeypatch.setattr(glr.predict, "Predictor", Fake)
    (tmp_path / "x.jpg").write_bytes(b"")
    monkeypatch.chdir(tmp_path)
    args = argparse.Namespace(run="r", results=None, images=["x.jpg"], out=None, backend="auto", top_k=len(top),
                              similar=len(similar), unknown="last")
    assert predict_command.cmd_predict(args) == 0
    return capsys.readouterr().out.splitlines()


def test_a_zips_photos_are_read_as_they_are_predicted_not_all_first(tmp_path, monkeypatch):
    # Every photo of a zip was read into memory before the first was predicted: a 285 MB zip held 475 MB at its peak
    # (227 MB now, the process alone 185 MB). Now the predictor reads each when it decodes it.
    import zipfile

    import glr.predict
    from glr import predict_command
    from glr.cli import main

    with zipfile.ZipFile(tmp_path / "album.zip", "w") as archive:
        for i in range(3):
            archive.writestr(f"{i}.jpg", _jpeg((i * 60, 30, 30)))
    inflated = []
    real = zipfile.ZipFile.read
    monkeypatch.setattr(zipfile.ZipFile, "read", lambda self, info, pwd=None: inflated.append(info) or real(self, info, pwd))

    class Counting(_Reading):
        def predict(self, images, k, similar):
            assert inflated == []  # none read before the predictor reads it
            found = []
            for n, image in enumerate(images):
                found += super().predict([image], k, similar)
                assert len(inflated) == n + 1
            return found

    monkeypatch.setattr(predict_command, "find_run", lambda run, results: run)
    monkeypatch.setattr(glr.predict, "Predictor", Counting)
    monkeypatch.chdir(tmp_path)
    assert main(["predict", "r", "album.zip"]) == 0


def test_an_export_folder_given_as_the_run_predicts_with_its_run_or_says_what_to_give(tmp_path, monkeypatch, capsys):
    # `glr predict RUN/export/onnx photos` said "is a folder but not a run folder", where the export's predict.py takes it.
    import glr.predict
    from glr.cli import main
    from glr.training.run import Run

    run = Run(tmp_path / "runs" / "r1")
    export = run.export_dir / "onnx"
    export.mkdir(parents=True)
    run.config_path.write_text("{}")
    for mark in ("predict.py", "preprocessing.json", "labels.json"):
        (export / mark).write_text("{}")
    (tmp_path / "a.jpg").write_bytes(_jpeg())
    used = []

    class Recording(_Reading):
        def __init__(self, run, *args, **kwargs):
            used.append(run)

    monkeypatch.setattr(glr.predict, "Predictor", Recording)
    monkeypatch.chdir(tmp_path)
    assert main(["predict", str(export), "a.jpg"]) == 0
    assert [Path(r.path) for r in used] == [run.path.resolve()]
    assert f"note: {export} is an export of the run {run.path.resolve()}: predicting with that run" in capsys.readouterr().err
    moved = tmp_path / "my export"  # an export copied out of its run: no model.keras for glr to predict with
    export.rename(moved)
    assert main(["predict", str(moved), "a.jpg"]) == 2
    assert (f"{moved} is a glr export folder, not a run: predict with its own predict.py (python {moved / 'predict.py'} "
            "PHOTOS), or give glr predict the run it was exported from") in capsys.readouterr().err


def test_a_photo_or_folder_given_again_through_a_link_is_predicted_once(tmp_path, monkeypatch, capsys):
    # `glr predict RUN a.jpg here/a.jpg` (here -> .) predicted a.jpg twice, its rows "a" and "a.jpg" in --out; a folder
    # given again through a link printed one note per photo. A link named otherwise is a photo of its own (its own id).
    import glr.predict
    from glr import predict_command
    from glr.cli import main

    (tmp_path / "trip").mkdir()
    for i in range(25):
        (tmp_path / "trip" / f"{i:02d}.jpg").write_bytes(_jpeg())
    (tmp_path / "here").symlink_to(tmp_path / "trip")
    (tmp_path / "trip" / "other.jpg").symlink_to(tmp_path / "trip" / "00.jpg")
    _Reading.asked = []
    monkeypatch.setattr(predict_command, "find_run", lambda run, results: run)
    monkeypatch.setattr(glr.predict, "Predictor", _Reading)
    monkeypatch.chdir(tmp_path)
    assert main(["predict", "r", "trip/00.jpg", "here/00.jpg", "trip/other.jpg", "--out", "sub.csv"]) == 0
    assert _Reading.asked == ["trip/00.jpg", "trip/other.jpg"]
    assert "note: here/00.jpg was given twice: predicted once" in capsys.readouterr().err
    assert (tmp_path / "sub.csv").read_text().splitlines()[1:] == ["00,7 0.900000", "other,7 0.900000"]
    _Reading.asked = []
    assert main(["predict", "r", "trip", "here"]) == 0
    assert len(_Reading.asked) == 26
    notes = [line for line in capsys.readouterr().err.splitlines() if "given twice" in line]
    assert len(notes) == 21 and notes[-1] == "note: 6 more photos were given twice: each predicted once"


def test_a_name_holding_a_newline_or_tab_is_listed_on_one_line(tmp_path, monkeypatch, capsys):
    # "a<newline>b.jpg" printed its line in two: "a" and "b.jpg  (known score ...)", a photo of its own to a parser.
    import glr.predict
    from glr import predict_command
    from glr.cli import main

    (tmp_path / "a\nb.jpg").write_bytes(_jpeg())
    (tmp_path / "c\td.jpg").write_bytes(b"not a photo")
    (tmp_path / "e\rf.txt").write_text("notes")
    monkeypatch.setattr(predict_command, "find_run", lambda run, results: run)
    monkeypatch.setattr(glr.predict, "Predictor", _Reading)
    monkeypatch.chdir(tmp_path)
    assert main(["predict", "r", "a\nb.jpg", "c\td.jpg", "."]) == 1
    out, err = capsys.readouterr()
    listed = [line for line in out.splitlines() if not line.startswith(" ")]
    assert len(listed) == 2 and listed[0] == "a\\nb.jpg" and listed[1].startswith("c\\td.jpg: error: ")
    assert out.count("c\\td.jpg") == 1 and "\t" not in out  # named once, as a readable name
    assert "note: a\\nb.jpg was given twice: predicted once" in err and "  skipped e\\rf.txt: .txt is not" in err


def test_a_folder_stopped_with_ctrl_c_says_how_far_it_got_and_that_nothing_was_written(tmp_path, monkeypatch, capsys):
    # Ctrl-C after an hour of a test set's photos said "interrupted" alone: was a CSV written, how far had it got?
    import glr.predict
    from glr import predict_command
    from glr.cli import main

    (tmp_path / "photos").mkdir()
    for i in range(5):
        (tmp_path / "photos" / f"{i}.jpg").write_bytes(_jpeg())

    class Stopped(_Reading):
        def predict(self, images, k, similar, progress=None):
            raise KeyboardInterrupt  # in the first batch: nothing to keep (test_folder_submission: a later one)

    monkeypatch.setattr(predict_command, "find_run", lambda run, results: run)
    monkeypatch.setattr(glr.predict, "Predictor", Stopped)
    assert main(["predict", "r", str(tmp_path / "photos"), "--out", str(tmp_path / "sub.csv")]) == 130
    err = capsys.readouterr().err
    assert "stopped after 0 of 5 photos: no submission written (it is written once every photo is predicted)\n" \
           "interrupted" in err and not (tmp_path / "sub.csv").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["photos"]  # no empty partial file left either

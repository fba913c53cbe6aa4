"""The exported predict.py's --out: its predictions as a CSV for people (glr.export_csv), as glr writes one."""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path

import numpy as np
import pytest

from test_export import template_script
from test_robustness_export import _photo

NAMES = [{"index": 0, "landmark_id": 7, "name": "=HYPERLINK(\"http://x\", \"Big Ben\")"},
         {"index": 1, "landmark_id": 8, "name": "Pont\rNeuf, \"old\""}]


@pytest.fixture
def script(tmp_path):
    """The exported predict.py with two classes, one named like a formula and one holding a carriage return, and a
    model that says 0.75 / 0.25 for any photo."""
    module = template_script(tmp_path / "export", NAMES)
    module.load_model = lambda: (lambda x: (np.tile(np.float32([[0.75, 0.25]]), (len(x), 1)), None))
    return module


@pytest.fixture
def photos(tmp_path) -> Path:
    """A folder of two photos and one cut short."""
    folder = tmp_path / "photos"
    folder.mkdir()
    _photo(seed=1).save(folder / "a.jpg")
    _photo(seed=2).save(folder / "b.png")
    (folder / "c.jpg").write_bytes((folder / "a.jpg").read_bytes()[:2000])
    return folder


def read_back(data: bytes) -> list[list[str]]:
    """The CSV's rows as glr's readers see them: a byte-order mark first, dropped; every cell whole."""
    assert data.startswith("\ufeff".encode())
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def test_out_writes_the_predictions_as_a_csv_for_people(script, photos, tmp_path, capsys):
    """One row per photo and rank, a photo not predicted one row saying why in glr's words; formula-like cells
    escaped and a byte-order mark first, as glr.spreadsheet writes a CSV for people; pandas and glr's reader read it
    back exactly."""
    from glr.spreadsheet import read_csv

    out = tmp_path / "predictions.csv"
    assert script.cli(["--out", str(out), str(photos)]) == 1  # one photo could not be predicted
    printed, err = capsys.readouterr()
    assert f"{photos / 'a.jpg'}\n  1. =HYPERLINK(\"http://x\", \"Big Ben\") (landmark 7): 0.750" in printed  # as without it
    assert err.splitlines()[-1] == f"wrote {out}"
    rows = read_back(out.read_bytes())
    assert rows[0] == ["photo", "rank", "landmark_id", "name", "score", "problem"]
    assert rows[1:] == [
        [str(photos / "a.jpg"), "1", "7", "'=HYPERLINK(\"http://x\", \"Big Ben\")", "0.75", ""],
        [str(photos / "a.jpg"), "2", "8", "Pont\rNeuf, \"old\"", "0.25", ""],
        [str(photos / "b.png"), "1", "7", "'=HYPERLINK(\"http://x\", \"Big Ben\")", "0.75", ""],
        [str(photos / "b.png"), "2", "8", "Pont\rNeuf, \"old\"", "0.25", ""],
        [str(photos / "c.jpg"), "", "", "", "", "image file is truncated (incomplete download or copy?)"]]
    table = read_csv(out)
    assert list(table["name"][:2]) == [NAMES[0]["name"], NAMES[1]["name"]]  # glr's reader undoes the escape
    assert oct(out.stat().st_mode & 0o777) == oct(0o644)


def test_out_dash_writes_the_csv_alone_to_stdout_and_a_folder_holds_predictions_csv(script, photos, tmp_path,
                                                                                    capsys):
    """`--out -`: the CSV alone on the standard output (for `> x.csv`, `| gzip`), the listing on stderr, as glr
    predict's; `--out new/` (a folder not there yet) and `--out FOLDER` write FOLDER/predictions.csv."""
    assert script.cli(["--out", "-", str(photos / "a.jpg")]) == 0
    out, err = capsys.readouterr()
    assert out.startswith("\ufeffphoto,rank,") and len(read_back(out.encode())) == 3
    assert f"{photos / 'a.jpg'}\n  1. " in err
    (tmp_path / "none").mkdir()
    assert script.cli(["--out", str(tmp_path / "none.csv"), str(tmp_path / "none")]) == 1  # an empty folder
    assert capsys.readouterr().err.splitlines()[-1] == "predict.py: no photos to predict, so no CSV was written"
    assert not (tmp_path / "none.csv").exists()
    for given in (str(tmp_path / "new") + os.sep, str(photos)):
        assert script.cli([f"--out={given}", str(photos / "a.jpg")]) == 0
        assert len(read_back((Path(given) / "predictions.csv").read_bytes())) == 3
    capsys.readouterr()


def test_out_never_writes_over_a_photo(script, photos, tmp_path, capsys):
    """`--out photos/a.jpg` would have put the CSV where the photo was; so would `--out IMG` for a photo without an
    extension given by name, and `--out labels.json` in the export's folder over the file predict.py needs. Each is
    refused before anything is read (exit 2), the file kept."""
    kept = (photos / "a.jpg").read_bytes()
    assert script.cli(["--out", str(photos / "a.jpg"), str(photos / "b.png")]) == 2
    assert capsys.readouterr().err == f"predict.py: --out {photos / 'a.jpg'} names a photo; the predictions are a CSV " \
        "file (or give a folder)\n"
    (photos / "IMG").write_bytes(kept)
    assert script.cli(["--out", str(photos / "IMG"), str(photos / "IMG")]) == 2
    assert capsys.readouterr().err == f"predict.py: --out {photos / 'IMG'} is {photos / 'IMG'}, one of the photos to " \
        "predict; give the CSV another name\n"
    assert (photos / "a.jpg").read_bytes() == kept == (photos / "IMG").read_bytes()
    export = Path(script.__file__).parent
    (export / "model.onnx").write_bytes(b"the model")
    script.NOTE["model"] = "model.onnx"
    for name in ("labels.json", "predict.py", "model.onnx"):  # `--out labels.json` run in the export's folder
        kept = (export / name).read_bytes()
        assert script.cli(["--out", str(export / name), str(photos / "b.png")]) == 2
        assert capsys.readouterr().err == f"predict.py: --out {export / name} is this export's {name}, which " \
            "predict.py needs; give the CSV another name\n"
        assert (export / name).read_bytes() == kept
    assert script.cli(["a.jpg", "--out"]) == 2
    assert "--out needs a file name" in capsys.readouterr().err
    # As glr predict's: any other file was written over, a dataset's train.csv, another export's model.
    (tmp_path / "train.csv").write_text("id,landmark_id\nabc,1\n")
    assert script.cli(["--out", str(tmp_path / "train.csv"), str(photos / "b.png")]) == 2
    assert capsys.readouterr().err == f"predict.py: --out {tmp_path / 'train.csv'} exists and is not a CSV predict.py " \
        "wrote (its first line is not 'photo,rank,...'), so it is not overwritten; give the CSV another name, or " \
        "delete that file first\n"
    assert (tmp_path / "train.csv").read_text() == "id,landmark_id\nabc,1\n"


def test_out_stopped_half_way_leaves_the_old_csv_and_no_half_written_one(script, photos, tmp_path, monkeypatch,
                                                                         capsys):
    """Ctrl-C on the second photo: the CSV written before is left as it was and no temporary file stays behind (the
    photos' rows so far kept in the partial file); a folder that cannot be written is said before the model is loaded."""
    out = tmp_path / "predictions.csv"
    out.write_text("photo,rank,landmark_id\nthe old one\n")
    calls = []

    def model(x):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return np.float32([[0.75, 0.25]]), None

    monkeypatch.setattr(script, "load_model", lambda: model)
    assert script.cli(["--out", str(out), str(photos)]) == 130
    assert capsys.readouterr().err.endswith("interrupted\n")
    assert out.read_text() == "photo,rank,landmark_id\nthe old one\n" and sorted(p.name for p in tmp_path.iterdir()) == [
        "export", "photos", "predictions.csv", "predictions.csv.partial"]  # the first photo's rows kept (see below)
    (tmp_path / "notes.txt").write_text("a file where the CSV's folder would go")
    monkeypatch.setattr(script, "load_model", lambda: pytest.fail("the model was loaded"))
    with pytest.raises(SystemExit) as stopped:
        script.main([str(photos)], str(tmp_path / "notes.txt" / "p.csv"))
    assert str(stopped.value) == f"predict.py: {tmp_path / 'notes.txt' / 'p.csv'}: cannot write the predictions (a file " \
        "is where its folder must be); choose another file with --out, or a folder you can write to"


def test_the_verdicts_columns_and_a_name_in_any_script(tmp_path):
    """With the run's verdict each row also says the known score, the verdict and the nearest training photo; a
    name in any script is written as UTF-8 whatever the console's."""
    script = template_script(tmp_path / "export", NAMES)
    table = script.PredictionsCsv(str(tmp_path / "p.csv"), ["東京/a.jpg"], True)  # the photos it is to hold
    table.predicted("東京/a.jpg", [({"landmark_id": 9, "name": "東京タワー 🗼"}, 0.9)],
                    (0.61, False, {"id": "-abc", "landmark_id": "9"}, 0.93))
    table.commit()
    rows = read_back((tmp_path / "p.csv").read_bytes())
    assert rows == [["photo", "rank", "landmark_id", "name", "score", "known_score", "not_a_known_landmark",
                     "nearest_training_photo", "nearest_landmark_id", "similarity", "problem"],
                    ["東京/a.jpg", "1", "9", "東京タワー 🗼", "0.9", "0.61", "no", "'-abc", "9", "0.93", ""]]


@pytest.mark.skipif(os.name == "nt", reason="Windows file names are always text")
def test_a_file_name_that_is_not_utf8_is_written_as_glr_writes_it(script, tmp_path, capsys):
    """A photo named in another encoding's bytes (caf\\xe9.jpg from an old camera card) stopped the CSV with
    UnicodeEncodeError after its listing; now its undecodable byte is U+FFFD, as glr.paths.printable writes names."""
    from glr.paths import printable

    folder = tmp_path / "card"
    folder.mkdir()
    photo = os.path.join(os.fsencode(folder), b"caf\xe9.jpg")
    _photo().save(photo)
    assert script.cli(["--out", str(tmp_path / "p.csv"), str(folder)]) == 0
    capsys.readouterr()
    rows = read_back((tmp_path / "p.csv").read_bytes())
    assert [row[0] for row in rows[1:]] == [printable(os.fsdecode(photo))] * 2 == [f"{folder}/caf\ufffd.jpg"] * 2


def test_out_stopped_with_ctrl_c_continues_from_its_partial_file_to_the_same_csv(script, photos, tmp_path, monkeypatch,
                                                                                 capsys):
    """Ctrl-C after an hour of photos lost every row: the CSV was written only at the end. The rows so far are kept
    beside it, and the same command predicts only the photos not in it, to the CSV an uninterrupted run writes."""
    for i in range(4):  # more photos, each with its own answer
        _photo(seed=10 + i).save(photos / f"d{i}.png")
    forward = script.load_model()
    answered = []

    def model(x):  # the answer from the photo's pixels: rows the CSV tells apart
        answered.append(float(x.mean()))
        if len(answered) == stop_at:
            raise KeyboardInterrupt
        red = float(x[..., 0].mean()) / 255
        return np.float32([[red, 1 - red]]), None

    stop_at = None
    monkeypatch.setattr(script, "load_model", lambda: model)
    assert script.cli(["--out", str(tmp_path / "whole.csv"), str(photos)]) == 1  # c.jpg is cut short
    whole = (tmp_path / "whole.csv").read_bytes()
    capsys.readouterr()
    answered.clear()
    stop_at, out = 4, tmp_path / "p.csv"  # Ctrl-C at the 4th photo the model sees: a.jpg, b.png, d0.png kept (and c.jpg)
    assert script.cli(["--out", str(out), str(photos)]) == 130
    err = capsys.readouterr().err
    partial = tmp_path / "p.csv.partial"
    assert f"stopped after 4 of 7 photos: the 4 predicted so far are kept in {partial}: the same command continues " \
           "from them (the CSV is written once every photo is predicted)\ninterrupted\n" in err
    assert not out.exists()
    answered.clear()
    stop_at = None
    assert script.cli(["--out", str(out), str(photos)]) == 1  # c.jpg, reused, still counts as not predicted
    printed, err = capsys.readouterr()
    assert f"note: continuing from {partial}: 4 of 7 photos' predictions reused, 3 left to predict" in err
    assert "c.jpg: image file is truncated" in err  # said again, as an uninterrupted run says it
    assert len(answered) == 3 and f"{photos / 'a.jpg'}" not in printed and f"{photos / 'd3.png'}" in printed
    assert out.read_bytes() == whole and not partial.exists()
    del forward


def test_a_score_or_similarity_is_never_rounded_onto_0_or_1_it_is_not(tmp_path):
    """round(x, 6) wrote 1.0 for a model's 0.9999996 and a similarity of 1.0 for a photo at 0.9999997, where glr's
    readout never rounds onto 0 or 1 (glr predict says "over 0.999999"); a similarity past 1 by float32 rounding is 1."""
    script = template_script(tmp_path / "export", NAMES)
    table = script.PredictionsCsv(str(tmp_path / "p.csv"), ["a.jpg", "b.jpg"], True)
    table.predicted("a.jpg", [({"landmark_id": 9, "name": "x"}, 0.9999996), ({"landmark_id": 8, "name": "y"}, 3e-7)],
                    (0.4999999, True, {"id": "t1", "landmark_id": "9"}, 0.9999997))
    table.predicted("b.jpg", [({"landmark_id": 9, "name": "x"}, 0.12345678)],
                    (0.61, False, {"id": "t2", "landmark_id": "9"}, 1.0002))
    table.commit()
    rows = read_back((tmp_path / "p.csv").read_bytes())
    assert [(row[4], row[5], row[9]) for row in rows[1:]] == [("0.9999996", "0.5", "0.9999997"), ("3e-07", "0.5", "0.9999997"),
                                                              ("0.123457", "0.61", "1.0")]


@pytest.mark.skipif(os.name == "nt", reason="Windows: the partial file is not locked")
def test_out_to_a_csv_another_predict_py_is_writing_is_refused_before_the_model_loads(script, photos, tmp_path,
                                                                                  monkeypatch):
    """Two predict.py (or glr predict) runs to one --out at once cut their lines into one partial file."""
    import fcntl

    monkeypatch.setattr(script, "load_model", lambda: pytest.fail("the model was loaded"))
    (tmp_path / "p.csv.partial").write_bytes(b"")
    with open(tmp_path / "p.csv.partial", "rb") as held, pytest.raises(SystemExit) as stopped:
        fcntl.flock(held.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        script.main([str(photos)], str(tmp_path / "p.csv"))
    assert str(stopped.value) == f"predict.py: {tmp_path / 'p.csv'}: cannot write the predictions (another prediction " \
        "is writing it now (the same command running twice?): wait for it to end, or give another --out)"


@pytest.mark.parametrize("given", ["sub.csv", "/"])
def test_out_into_the_photo_folder_is_not_listed_as_a_skipped_file_as_glr_predict_does(script, photos, monkeypatch,
                                                                                      capsys, given):
    """`predict.py --out photos/sub.csv photos`: after Ctrl-C its own partial file, and then its CSV, were listed
    among the folder's skipped files (".partial is not an image type", ".csv is not an image type"); glr predict no
    longer lists its own. A file of the user's, and a CSV of another --out, are still said, as glr says them."""
    from glr.predict_command import _not_own, _own_outputs, _say_skipped
    from glr.submission import scan_folder

    out = str(photos) + given if given == "/" else str(photos / given)
    target = photos / ("predictions.csv" if given == "/" else given)
    (photos / "notes.txt").write_text("a file of the user's: still said")
    (photos / "other.csv").write_text("another run's CSV: still said")
    forward = script.load_model()
    calls = []

    def model(x):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return forward(x)

    monkeypatch.setattr(script, "load_model", lambda: model)
    assert script.cli(["--out", out, str(photos)]) == 130
    assert Path(f"{target}.partial").is_file()
    capsys.readouterr()
    calls.append("go on")  # no more Ctrl-C
    for _ in range(2):  # continued from the partial file among the photos; then the CSV written before among them
        assert script.cli(["--out", out, str(photos)]) == 1  # c.jpg is cut short
        err = capsys.readouterr().err
        skipped = [line for line in err.splitlines() if line.startswith("  skipped")]
        assert skipped == [f"  skipped {photos / 'notes.txt'}: .txt is not an image type (.jpg, .jpeg, .jfif, .jpe, "
                           ".png, .webp, .heic, .heif, .avif, .bmp, .gif, .tif, .tiff, .ico)",
                           f"  skipped {photos / 'other.csv'}: .csv is not an image type (.jpg, .jpeg, .jfif, .jpe, "
                           ".png, .webp, .heic, .heif, .avif, .bmp, .gif, .tif, .tiff, .ico)"]
        _say_skipped(_not_own(scan_folder(photos)[1], _own_outputs(target)))  # glr predict's, writing the same CSV
        assert capsys.readouterr().err.splitlines() == skipped and target.is_file()
        assert f"wrote {target}" in err
    assert script.cli(["--out", out, str(photos), str(photos / "a.jpg")]) == 1  # the folder among other photos given
    assert f"skipped {target}" not in capsys.readouterr().err
    assert script.cli([str(photos)]) == 1  # without --out, a CSV in the folder is a file like any other
    assert f"skipped {target}: .csv is not an image type" in capsys.readouterr().err


def test_out_stopped_with_top_k_and_run_again_without_it_starts_afresh_and_says_why(script, photos, tmp_path,
                                                                                   monkeypatch, capsys):
    """`predict.py --out p.csv --top-k 1 photos`, Ctrl-C, then the same command without --top-k: the partial file's
    key did not hold --top-k, so the 1-row photo kept was written beside 2-row ones. Now, as glr predict's partial file
    keys its options, it is not reused, and the note says why (the real generated script, its model faked)."""
    forward, answered, stop_at = script.load_model(), [], [2]

    def model(x):
        answered.append(x)
        if len(answered) == stop_at[0]:
            raise KeyboardInterrupt
        return forward(x)

    monkeypatch.setattr(script, "load_model", lambda: model)
    out, partial = tmp_path / "p.csv", tmp_path / "p.csv.partial"
    assert script.cli(["--out", str(out), "--top-k", "1", str(photos)]) == 130  # Ctrl-C at b.png: a.jpg's row kept
    assert "stopped after 1 of 3 photos" in capsys.readouterr().err and partial.is_file()
    answered.clear()
    stop_at[0] = None
    assert script.cli(["--out", str(out), str(photos)]) == 1  # c.jpg is cut short
    err = capsys.readouterr().err
    assert f"note: {partial} holds predictions made with another --top-k (1, now 5): it is not reused; every photo is " \
           "predicted, and it is replaced\n" in err
    assert len(answered) == 2 and not partial.exists()  # a.jpg predicted again
    rows = read_back(out.read_bytes())
    assert [(Path(row[0]).name, row[1]) for row in rows[1:]] == [("a.jpg", "1"), ("a.jpg", "2"), ("b.png", "1"),
                                                                 ("b.png", "2"), ("c.jpg", "")]

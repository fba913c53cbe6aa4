"""`python -m glr predict`: top-k for photos, a folder's submission, --out, paths given as a shell leaves them."""

from pathlib import Path

import pandas as pd
import pytest

from glr.cli import main


def test_predict_folder_writes_beside_the_folder_and_ranks_unknown_photos_last(finished_run, tmp_path, monkeypatch, capsys):
    from glr.demo.distractors import package_images
    from glr.retrieval.index import EmbeddingIndex

    folder = tmp_path / "photos"
    folder.mkdir()
    photo = Path(EmbeddingIndex.load(finished_run.path / "index").items["path"].iloc[0])
    (folder / "known.jpg").write_bytes(photo.read_bytes())
    (folder / "known.png").write_bytes(photo.read_bytes())  # the same stem: its own id
    moon = next(p for name, p in package_images() if name == "skimage:moon")
    (folder / "moon.png").write_bytes(Path(moon).read_bytes())
    (folder / "README").write_text("no extension")
    elsewhere = tmp_path / "cwd"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert main(["predict", str(finished_run.path), str(folder)]) == 0
    captured = capsys.readouterr()
    written = tmp_path / "photos-submission.csv"
    assert f"wrote {written}: 3 predicted, 1 called not a known landmark (ranked after every known photo), " \
           "0 unreadable or blank, 1 skipped" in captured.out
    assert f"skipped {folder / 'README'}: no file extension" in captured.err
    assert list(elsewhere.iterdir()) == []  # never into the current folder
    table = pd.read_csv(written, dtype=str, keep_default_na=False).set_index("id")
    assert sorted(table.index) == ["known", "known.png", "moon"]
    confidence = {i: float(cell.split()[1]) for i, cell in table["landmarks"].items()}
    assert min(confidence["known"], confidence["known.png"]) > 0.5 > confidence["moon"]
    out = tmp_path / "elsewhere.csv"
    assert main(["predict", str(finished_run.path), str(folder), "--out", str(out), "--unknown", "empty"]) == 0
    assert f"wrote {out}:" in capsys.readouterr().out
    assert pd.read_csv(out, dtype=str, keep_default_na=False).set_index("id").loc["moon", "landmarks"] == ""


@pytest.fixture
def home_photo(finished_run, tmp_path, monkeypatch) -> Path:
    """A validation photo copied to ~/trip/a.jpg, with HOME at tmp_path/home and the current folder ~/trip."""
    home = tmp_path / "home"
    (home / "trip").mkdir(parents=True)
    (home / "trip" / "a.jpg").write_bytes(Path(finished_run.predictions()["path"].iloc[0]).read_bytes())
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(home / "trip")
    return home / "trip" / "a.jpg"


def test_predict_a_photo_given_twice_predicts_it_once(finished_run, home_photo, capsys):
    # It was predicted and printed twice.
    assert main(["predict", str(finished_run.path), "a.jpg", str(home_photo), "./a.jpg"]) == 0
    captured = capsys.readouterr()
    assert f"note: {home_photo} was given twice: predicted once" in captured.err
    assert captured.out.count("confidence, landmark_id, name:") == 1


def test_predict_a_quoted_tilde_path(finished_run, home_photo, capsys):
    # The shell leaves a quoted "~/..." as it is: it was "file not found".
    assert main(["predict", str(finished_run.path), "~/trip/a.jpg"]) == 0
    assert "confidence, landmark_id, name:" in capsys.readouterr().out
    assert main(["predict", str(finished_run.path), "~/trip"]) == 0  # a folder too
    assert f"wrote {home_photo.parents[1] / 'trip-submission.csv'}" in capsys.readouterr().out


def test_predict_out_for_photos_and_for_a_new_folder_named_with_a_slash(finished_run, home_photo, tmp_path, capsys):
    # --out was ignored for photos (nothing written, not a word); "--out new/" wrote a FILE named "new".
    assert main(["predict", str(finished_run.path), "a.jpg", "--out", str(tmp_path / "photos.csv")]) == 0
    assert f"wrote {tmp_path / 'photos.csv'}" in capsys.readouterr().out
    table = pd.read_csv(tmp_path / "photos.csv", dtype=str, keep_default_na=False)
    assert table["id"].tolist() == ["a"] and table["landmarks"].iloc[0].split()[0] in {"3", "5", "9"}
    assert main(["predict", str(finished_run.path), str(home_photo.parent), "--out", str(tmp_path / "new") + "/"]) == 0
    assert f"wrote {tmp_path / 'new' / 'submission.csv'}: 1 predicted" in capsys.readouterr().out


def test_predict_out_naming_a_photo_is_refused_and_the_photo_kept(finished_run, home_photo, capsys):
    # `--out photos/a.jpg` (a slip for the folder) wrote the submission CSV over the photo.
    before = home_photo.read_bytes()
    for given in (str(home_photo.parent), str(home_photo)):
        with pytest.raises(SystemExit) as exit_code:
            main(["predict", str(finished_run.path), given, "--out", str(home_photo)])
        assert exit_code.value.code == 2
        assert f"argument --out: {home_photo} names a photo; the submission is a CSV file" in capsys.readouterr().err
    assert home_photo.read_bytes() == before


def test_predict_a_folder_with_top_k_or_similar_says_they_are_for_photos(finished_run, home_photo, capsys):
    # A folder gives a submission, one landmark per photo: --top-k 3 and --similar 2 were ignored without a word.
    assert main(["predict", str(finished_run.path), str(home_photo.parent), "--top-k", "3", "--similar", "2"]) == 0
    assert "note: --top-k and --similar are for photos; a folder's submission has each one's best" in \
        capsys.readouterr().err
    assert main(["predict", str(finished_run.path), str(home_photo.parent)]) == 0
    assert "--top-k" not in capsys.readouterr().err


def test_predict_an_empty_folder_says_so_before_loading_the_model(finished_run, tmp_path, monkeypatch, capsys):
    import glr.predict

    monkeypatch.setattr(glr.predict, "Predictor", lambda *a, **k: pytest.fail("the model was loaded"))
    (tmp_path / "empty").mkdir()
    assert main(["predict", str(finished_run.path), str(tmp_path / "empty")]) == 2
    assert "empty: no images found" in capsys.readouterr().err


def test_predict_without_an_index_says_there_is_no_unknown_verdict(finished_run, tmp_path, capsys):
    # A run from before the index: the verdict's absence was said only with --similar.
    import shutil

    run = shutil.copytree(finished_run.path, tmp_path / "runs" / "old")
    shutil.rmtree(run / "index")
    (run / "retrieval.json").unlink()
    photo = str(finished_run.predictions()["path"].iloc[0])
    assert main(["predict", str(run), photo, "--backend", "tf"]) == 0
    assert "note: no unknown verdict or similar photos: run old has no embedding index yet" in capsys.readouterr().err


def test_predict_a_training_photo_says_it_is_one(finished_run, capsys):
    from glr.predict import Predictor

    val = finished_run.predictions()["path"].iloc[0]
    train = Predictor(finished_run.path).predict([val], similar=1)[0].similar[0]["path"]
    assert main(["predict", str(finished_run.path), train]) == 0
    assert f"  note: this is one of the model's training photos, or a copy of one ({train}, " in capsys.readouterr().out


def test_a_zip_predicts_as_its_photos_do_on_disk(finished_run, tmp_path, monkeypatch, capsys):
    # A zip's members go through the real predictor and its unknown verdict as file-like photos, named album.zip/...
    import zipfile

    from glr.demo.distractors import package_images
    from glr.retrieval.index import EmbeddingIndex

    known = Path(EmbeddingIndex.load(finished_run.path / "index").items["path"].iloc[0]).read_bytes()
    moon = Path(next(p for name, p in package_images() if name == "skimage:moon")).read_bytes()
    (tmp_path / "known.jpg").write_bytes(known)
    (tmp_path / "moon.png").write_bytes(moon)
    with zipfile.ZipFile(tmp_path / "album.zip", "w") as archive:
        archive.writestr("trip/known.jpg", known)
        archive.writestr("moon.png", moon)
    monkeypatch.chdir(tmp_path)
    assert main(["predict", str(finished_run.path), "known.jpg", "moon.png", "--similar", "1"]) == 0
    on_disk = capsys.readouterr().out.splitlines()
    assert main(["predict", str(finished_run.path), "album.zip", "--similar", "1", "--out", "sub.csv"]) == 0
    zipped = capsys.readouterr().out.splitlines()
    assert zipped[0].startswith("album.zip/moon.png  NOT A KNOWN LANDMARK")  # members in name order
    assert any(line.startswith("album.zip/trip/known.jpg") for line in zipped)
    named = lambda lines: sorted(line.replace("album.zip/trip/", "").replace("album.zip/", "") for line in lines)  # noqa: E731
    assert named(zipped[:-1]) == named(on_disk)  # the same predictions, the same verdicts, the same similar photos
    assert "NOT A KNOWN LANDMARK" in "\n".join(zipped)
    assert sorted(pd.read_csv(tmp_path / "sub.csv", dtype=str)["id"]) == ["known", "moon"]


def test_predict_help_says_out_dash_keeps_no_partial_file(capsys):
    """`--out -` keeps no partial file (a stream cannot be continued), so Ctrl-C starts it again: --help said nothing."""
    with pytest.raises(SystemExit):
        main(["predict", "--help"])
    assert "- for standard output, with no partial file to continue from" in " ".join(capsys.readouterr().out.split())

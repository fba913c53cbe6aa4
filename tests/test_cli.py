"""glr.cli: each command's output and exit codes, run in-process; errors are one line, never a traceback."""

import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from conftest import tiny_config
from glr.cli import main


def test_inspect(gldv2, capsys):
    assert main(["inspect", str(gldv2), "--top-n", "3"]) == 0
    out = capsys.readouterr().out
    assert "classes    4" in out and "images     21" in out
    assert "per class  min 3, median 5, max 8" in out
    assert "curated    top 3 classes" in out
    assert "Eiffel Tower" in out and "Sacré-Cœur" in out
    assert "problems   none" in out


def test_inspect_lines_up_wide_and_long_class_names(tmp_path, capsys):
    from conftest import write_image

    names = ["東京タワー", "  Big_Ben  ", "The_Cathedral_of_Saints_Vitus,_Wenceslaus_and_Adalbert_in_Prague_Castle"]
    for n, name in enumerate(names):
        for i in range(3):
            write_image(tmp_path / name / f"{i}.jpg", seed=10 * n + i)
    assert main(["inspect", str(tmp_path)]) == 0
    rows = [line for line in capsys.readouterr().out.splitlines() if line.startswith("         ")]
    assert len(rows) == 3 and any(re.search(r"\d  Big Ben ", r) for r in rows)  # the folder name's spaces trimmed
    assert any("  The Cathedral of Saints Vitus, Wencesla…  " in r for r in rows)  # cut at 40 columns
    from glr.paths import text_columns

    assert len({text_columns(r) for r in rows}) == 1  # the counts line up, whatever the names' widths


def test_inspect_lists_problems(gldv2, capsys):
    with open(gldv2 / "train.csv", "a") as fh:
        fh.write("0123456789abcdef,notanumber\n")
    assert main(["inspect", str(gldv2)]) == 0
    out = capsys.readouterr().out
    assert "problems   1" in out and "not an integer (e.g. 'notanumber')" in out


def test_probe_raw_pixels_last_line(gldv2, capsys):
    assert main(["probe", str(gldv2), "--raw-pixels", "8", "--folds", "3"]) == 0
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert last.startswith("accuracy ") and 0.0 <= float(last.split()[1]) <= 1.0


@pytest.mark.parametrize("args, message", [
    (["inspect", "/no/such/folder"], "error: /no/such/folder: no such file or folder"),
    (["probe", "/no/such/folder"], "error: /no/such/folder: no such file or folder"),
])
def test_errors_are_one_line(args, message, capsys):
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.strip().splitlines()[-1] == message
    assert "Traceback" not in err


def test_help_does_not_import_tensorflow():
    code = "import sys; from glr.cli import build_parser; build_parser(); print('tensorflow' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_module_entry_point(gldv2):
    result = subprocess.run([sys.executable, "-m", "glr", "inspect", str(gldv2)], capture_output=True, text=True)
    assert result.returncode == 0 and "classes    4" in result.stdout


def test_train_runs_evaluate_report_predict(tiny_data, tmp_path, capsys):
    results = str(tmp_path / "results")
    args = ["train", str(tiny_data), "--results", results, "--input-size", "32", "--epochs", "2", "--views", "1",
            "--hidden", "8", "--batch-size", "4"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "finished: top-1" in out and out.strip().splitlines()[-1].startswith("top-1 ")
    assert main(["runs", "--results", results]) == 0
    listing = capsys.readouterr().out
    assert "finished" in listing
    run_id = listing.strip().splitlines()[1].split()[0]
    assert main(["evaluate", run_id, "--results", results]) == 0
    assert "top1" in capsys.readouterr().out
    assert main(["report", run_id, "--results", results]) == 0
    assert capsys.readouterr().out.strip().endswith("report")
    image = next((tiny_data / "train").rglob("*.jpg"))
    assert main(["predict", run_id, str(image), "--results", results]) == 0
    assert str(image) in capsys.readouterr().out
    # The newest run and a name given to it stand for its id.
    assert main(["runs", "--results", results, "--rename", run_id, "first try"]) == 0
    capsys.readouterr()
    for ref in ("latest", "first try"):
        assert main(["evaluate", ref, "--results", results]) == 0
        out = capsys.readouterr().out
        assert "top1" in out and "weakest classes (recall):" in out
        assert not re.search(r"\d\.\d{4,}", out.split("weakest")[1])  # the table's figures to 3 decimals


def test_unknown_run(capsys, tmp_path):
    assert main(["evaluate", "nope", "--results", str(tmp_path)]) == 2
    assert "no run 'nope'" in capsys.readouterr().err


def test_runs_on_empty_results(capsys, tmp_path):
    assert main(["runs", "--results", str(tmp_path)]) == 0
    assert "no runs under" in capsys.readouterr().out


def test_demo_data_small(tmp_path, capsys):
    out = tmp_path / "demo"
    assert main(["demo-data", "--out", str(out), "--force", "--classes", "3"]) == 0
    text = capsys.readouterr().out
    assert f"demo dataset: {out}" in text and "3 classes" in text
    assert (out / "train.csv").is_file() and (out / "train_label_to_category.csv").is_file()


def test_predict_similar_and_retrieval(finished_run, capsys):
    from glr.demo.distractors import package_images
    from glr.retrieval.index import EmbeddingIndex

    run = str(finished_run.path)
    photo = EmbeddingIndex.load(finished_run.path / "index").items["path"].iloc[0]
    moon = next(str(p) for name, p in package_images() if name == "skimage:moon")
    assert main(["predict", run, photo, moon, "--similar", "2"]) == 0
    out = capsys.readouterr().out
    assert "most similar training photos" in out
    lines = out.splitlines()
    first = lines[lines.index("  most similar training photos (cosine similarity, landmark_id, name, path):") + 1]
    assert first.strip().startswith("1.00") and first.endswith(photo)  # a training photo finds itself
    assert f"{moon}  NOT A KNOWN LANDMARK (known score" in out
    assert main(["retrieval", run]) == 0
    out = capsys.readouterr().out
    assert "method" in out and "gap_distractors" in out and "knn" in out and "blend" in out
    assert "unknown verdict: threshold" in out and "flags" in out
    assert "exact search, by regions (R-MAC) of each photo and its mirror image;" in out  # glr.retrieval.regional


def test_retrieval_on_a_run_without_a_model(tmp_path, capsys):
    from glr.training.run import Run

    run = Run.create(tmp_path, {"train": {"backbone": "efficientnet_lite0"}})
    assert main(["retrieval", str(run.path)]) == 2
    assert "error:" in capsys.readouterr().err


def test_results_folder_follows_glr_results_from_any_folder(tmp_path, monkeypatch, capsys):
    """`python -m glr runs` lists the app's runs (GLR_RESULTS) wherever it is started; --results still wins.

    The first call is a new process started elsewhere, so nothing computed from the current folder at
    import time can hide; the second, in-process from the same folder, checks that --results wins.
    """
    import os
    from pathlib import Path

    from glr.training.run import Run

    results, elsewhere, other = tmp_path / "app-results", tmp_path / "elsewhere", tmp_path / "other"
    elsewhere.mkdir()
    run = Run.create(results, {"train": {"backbone": "efficientnet_lite0", "epochs": 2}})
    root = str(Path(__file__).resolve().parents[1])
    env = dict(os.environ, GLR_RESULTS=str(results), PYTHONPATH=os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")])))
    listed = subprocess.run([sys.executable, "-m", "glr", "runs"], cwd=elsewhere, env=env, capture_output=True, text=True)
    assert listed.returncode == 0 and run.id in listed.stdout, listed.stderr
    monkeypatch.chdir(elsewhere)
    monkeypatch.setenv("GLR_RESULTS", str(results))
    assert main(["runs", "--results", str(other)]) == 0
    given = capsys.readouterr().out
    assert f"no runs under {other}" in given and run.id not in given
    assert not (elsewhere / "results").exists()  # nothing made relative to the current folder


def test_results_default_is_glr_results(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("GLR_RESULTS", str(tmp_path / "r"))
    assert main(["runs"]) == 0
    assert f"no runs under {tmp_path / 'r'}" in capsys.readouterr().out


def test_train_without_data_records_the_demo_and_generates_it_at_the_edge(tmp_path, monkeypatch, tiny_data):
    import inspect

    from glr import commands
    from glr.training import trainer
    from glr.training.config import TrainConfig
    from glr.training.launch import new_run, run_config
    from glr.training.run import Run

    demo = tmp_path / "demo"
    monkeypatch.setenv("GLR_DEMO_DIR", str(demo))
    assert run_config(TrainConfig())["train"]["data"] == str(demo)
    new = new_run(tmp_path / "results", TrainConfig())
    old = Run.create(tmp_path / "results", {"train": {"backbone": "efficientnet_lite0", "data": None}})  # from before
    given = new_run(tmp_path / "results", TrainConfig(data=str(tiny_data)))
    made = []
    monkeypatch.setattr(commands, "_ensure_demo", lambda: made.append(True))
    for run in (new, old, given):
        commands._ensure_dataset(run)
    assert [r.config()["train"]["data"] for r in (new, old, given)] == [str(demo), str(demo), str(tiny_data)]
    assert made == [True, True]  # the demo is generated for the two runs on it, by the command
    assert "glr.demo" not in inspect.getsource(trainer)  # never by the trainer


def test_a_resume_whose_demo_cannot_be_generated_leaves_the_run_as_it_was(tmp_path, monkeypatch):
    # The app's queued resume ended "failed: ... (killed?)" with the reason only in train.log.
    from glr import commands
    from glr.training.config import TrainConfig
    from glr.training.launch import new_run

    monkeypatch.setenv("GLR_DEMO_DIR", str(tmp_path / "demo"))
    run = new_run(tmp_path / "results", TrainConfig())
    run.update_status(state="stopped", epoch=2, message="stopped on request")
    run.update_status(state="queued", message="resuming", resumed_from=run.recorded_status())  # as launch leaves it

    def full_disk():
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(commands, "_ensure_demo", full_disk)
    with pytest.raises(OSError):
        commands._ensure_dataset(run, resume=True)
    status = run.status()
    assert status["state"] == "stopped" and status["epoch"] == 2
    assert status["message"].startswith("resume refused: the demo dataset could not be generated: [Errno 28]")


def test_train_without_data_on_a_fresh_checkout_generates_the_demo_first(tmp_path, monkeypatch, tiny_data, capsys):
    # Fine-tuning is settled from the dataset before a run exists: the demo must be there by then.
    import shutil

    from glr import commands
    from glr.training import trainer

    demo = tmp_path / "demo"
    monkeypatch.setenv("GLR_DEMO_DIR", str(demo))
    monkeypatch.setattr(commands, "_ensure_demo", lambda: demo if demo.exists() else shutil.copytree(tiny_data, demo))
    monkeypatch.setattr(trainer, "train_run", lambda run, **kw: None)  # the run's training is not what is tested
    assert main(["train", "--results", str(tmp_path / "results")]) == 0, capsys.readouterr().err
    (run,) = (tmp_path / "results" / "runs").iterdir()
    assert "fine-tuning (auto) on" in capsys.readouterr().err and str(demo) in (run / "config.json").read_text()


def test_runs_rename_and_delete(tmp_path, capsys):
    from glr.training.run import Run

    results = str(tmp_path)
    run = Run.create(tmp_path, {"train": {"backbone": "x", "epochs": 2}}, run_id="20260101-000000-x")
    run.update_status(state="finished")
    assert main(["runs", "--results", results, "--rename", run.id, "baseline 40 epochs"]) == 0
    out = capsys.readouterr().out
    assert "is now named 'baseline 40 epochs'" in out and "baseline 40 epochs" in out.splitlines()[-1]
    assert run.name() == "baseline 40 epochs"
    assert main(["runs", "--results", results, "--rename", run.id, ""]) == 0
    assert "has no name now" in capsys.readouterr().out and run.name() is None
    assert main(["runs", "--results", results, "--rename", run.id, "x" * 81]) == 2
    assert "at most 80 characters" in capsys.readouterr().err
    assert main(["runs", "--results", results, "--rename", "nope", "a"]) == 2
    assert "no run 'nope'" in capsys.readouterr().err

    assert main(["runs", "--results", results, "--delete", run.id]) == 0  # stdin is no terminal: no question
    out = capsys.readouterr().out
    assert f"deleted {run.id}" in out and "no runs under" in out and not run.path.exists()
    with pytest.raises(SystemExit):  # one change at a time
        main(["runs", "--results", results, "--delete", "a", "--rename", "b", "c"])


def test_runs_delete_is_refused_while_the_run_trains(tmp_path, capsys):
    import os

    from glr.training.run import Run

    run = Run.create(tmp_path, {"train": {"backbone": "x", "epochs": 2}}, run_id="20260101-000000-live")
    run.update_status(state="running", pid=os.getpid())  # this process: alive
    assert main(["runs", "--results", str(tmp_path), "--delete", run.id]) == 2
    assert "still running; stop it before deleting it" in capsys.readouterr().err and run.path.is_dir()


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


def test_probe_prints_the_folds_it_really_used(gldv2, capsys):
    # The smallest class has 3 photos: 5 folds asked, 3 used.
    assert main(["probe", str(gldv2), "--raw-pixels", "8", "--folds", "5"]) == 0
    captured = capsys.readouterr()
    assert "3-fold cross-validation (5 asked: lowered so that every fold holds every class)" in captured.err
    assert "4 classes, 3 folds (5 asked" in captured.out
    assert len(captured.out.split("folds      ")[1].splitlines()[0].split()) == 3
    assert main(["probe", str(gldv2), "--raw-pixels", "8", "--folds", "3"]) == 0
    assert "3 folds\n" in capsys.readouterr().out


def test_runs_shows_the_saved_models_accuracy(tmp_path, capsys):
    from glr.training.run import Run

    done = Run.create(tmp_path, {"train": {"backbone": "x"}}, run_id="20260101-000000-done")
    done.update_status(state="finished", created="2026-01-01T00:00:00+00:00")
    done.history_path.write_text("phase,epoch,val_accuracy\n1,1,0.5\n1,2,0.9\n")
    done.write_evaluation(pd.DataFrame(), pd.DataFrame(), pd.DataFrame(), {"top1": 0.75})
    live = Run.create(tmp_path, {"train": {"backbone": "x"}}, run_id="20260102-000000-live")
    live.update_status(state="stopped", created="2026-01-02T00:00:00+00:00")
    live.history_path.write_text("phase,epoch,val_accuracy\n1,1,0.6\n")
    assert main(["runs", "--results", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    rows = {line.split()[0]: line for line in out.splitlines()[1:] if line.startswith("2026")}
    assert "val_top1" in out.splitlines()[0] and "best_val_accuracy" not in out
    assert " 0.750 " in rows[done.id] and "0.900" not in rows[done.id]
    assert "0.600*" in rows[live.id]
    assert out.strip().endswith("* no saved model yet: the best epoch's validation accuracy so far")


@pytest.mark.parametrize("fine_tune", [[], ["--no-fine-tune"], ["--fine-tune"]], ids=["auto", "off", "on"])
def test_train_on_one_class_says_so_and_makes_no_run(tmp_path, capsys, fine_tune):
    from conftest import make_gldv2

    data = make_gldv2(tmp_path / "data", {1: 5, 2: 1})
    assert main(["train", str(data), "--results", str(tmp_path / "results"), *fine_tune]) == 2  # a GlrError's code
    err = capsys.readouterr().err
    assert "error: only 1 class ('landmark 1') left to train on, and a classifier needs at least 2 landmarks" in err
    assert not (tmp_path / "results" / "runs").exists() or not any((tmp_path / "results" / "runs").iterdir())


@pytest.mark.parametrize("given, run", [([], 16), (["--fine-tune-epochs", "3"], 3)])
def test_auto_lengthens_phase_2_on_a_small_dataset_unless_its_length_is_given(tiny_data, tmp_path, monkeypatch, capsys,
                                                                              given, run):
    import json

    from glr.training import trainer

    monkeypatch.setattr(trainer, "train_run", lambda run, **kw: None)  # what is settled is tested, not the training
    assert main(["train", str(tiny_data), "--results", str(tmp_path / "results"), *given]) == 0
    (folder,) = (tmp_path / "results" / "runs").iterdir()
    train = json.loads((folder / "config.json").read_text())["train"]
    assert train["fine_tune"] is True and train["fine_tune_epochs"] == run
    assert f"fine-tuning (auto) on: {tiny_data_photos(tiny_data)} training photos, so fine-tuning {run} epochs" in \
        capsys.readouterr().err


def tiny_data_photos(root) -> int:
    from glr.data.datasets import curate, load_catalog

    return len(curate(load_catalog(root)).train)


def test_openset_defaults_to_auto_fine_tuning_as_train_does():
    from glr.cli import build_parser

    parse = build_parser().parse_args
    assert parse(["openset"]).fine_tune == "auto"
    assert parse(["openset", "--fine-tune"]).fine_tune is True
    assert parse(["openset", "--no-fine-tune"]).fine_tune is False


@pytest.mark.parametrize("args, message", [
    # A negative seed crashed sklearn's split (or numpy's generator, for the demo) with a traceback.
    (["inspect", "DATA", "--seed", "-1"], "argument --seed: must be between 0 and 4294967295, got -1"),
    (["inspect", "DATA", "--seed", "4294967296"], "argument --seed: must be between 0 and 4294967295, got 4294967296"),
    (["demo-data", "--force", "--seed", "-1"], "argument --seed: must be between 0 and 4294967295, got -1"),
    (["openset", "DATA", "--seeds", "0", "-1"], "argument --seeds: must be between 0 and 4294967295, got -1"),
    # A negative count was Python's "all but the last N"; --raw-pixels 0 probed the backbone instead, in silence.
    (["inspect", "DATA", "--show", "-1"], "argument --show: must be at least 0, got -1"),
    (["evaluate", "latest", "--show", "-2"], "argument --show: must be at least 0, got -2"),
    (["predict", "latest", "x.jpg", "--top-k", "0"], "argument --top-k: must be at least 1, got 0"),
    (["predict", "latest", "x.jpg", "--similar", "-1"], "argument --similar: must be at least 0, got -1"),
    (["probe", "DATA", "--raw-pixels", "0"], "argument --raw-pixels: must be between 1 and 256, got 0"),
    (["probe", "DATA", "--raw-pixels", "100000"], "argument --raw-pixels: must be between 1 and 256, got 100000"),
    (["probe", "DATA", "--folds", "1"], "argument --folds: must be at least 2, got 1"),
    (["train", "DATA", "--workers", "0"], "argument --workers: must be between 1 and 16, got 0"),
    (["fetch", "DATA", "--workers", "0"], "argument --workers: must be at least 1, got 0"),
    (["inspect", "DATA", "--show", "x"], "argument --show: invalid int value: 'x'"),
    # --timeout 0, negative or nan failed every download as "connection failed".
    (["fetch", "DATA", "--timeout", "0"], "argument --timeout: must be over 0, got 0"),
    (["fetch", "DATA", "--timeout", "nan"], "argument --timeout: must be a finite number, got nan"),
    (["fetch", "DATA", "--rate", "-1"], "argument --rate: must be at least 0, got -1"),
    (["fetch", "DATA", "--deadline", "0"], "argument --deadline: must be over 0, got 0"),
    (["fetch", "DATA", "--deadline", "-5"], "argument --deadline: must be over 0, got -5"),
    (["fetch", "DATA", "--deadline", "inf"], "argument --deadline: must be a finite number, got inf"),
    (["fetch", "DATA", "--deadline", "5m"], "argument --deadline: invalid number: '5m'"),
])
def test_out_of_range_options_are_usage_errors(gldv2, args, message, capsys):
    with pytest.raises(SystemExit) as exit_:
        main([str(gldv2) if a == "DATA" else a for a in args])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert err.strip().splitlines()[-1].endswith(f"error: {message}") and "Traceback" not in err


def test_show_zero_lists_no_class_and_no_empty_table(gldv2, finished_run, capsys):
    # --show 0 crashed inspect (max() of nothing) and printed "Empty DataFrame" in evaluate.
    assert main(["inspect", str(gldv2), "--show", "0"]) == 0
    assert "  ... and 4 more (--show N lists more)" in capsys.readouterr().out
    assert main(["evaluate", str(finished_run.path), "--show", "0"]) == 0
    out = capsys.readouterr().out
    assert "top1" in out and "weakest" not in out and "Empty DataFrame" not in out


@pytest.mark.parametrize("args, option", [
    (["runs", "--results", "FILE"], "--results"),
    (["train", "DATA", "--results", "FILE/x"], "--results"),
    (["cache", "--clear", "--results", "FILE"], "--results"),
    (["openset", "DATA", "--keep", "FILE"], "--keep"),
    (["export", "latest", "--format", "keras", "--out", "FILE/export"], "--out"),
    (["demo-data", "--out", "FILE/demo"], "--out"),
    (["predict", "latest", "DATA", "--out", "FILE/submission.csv"], "--out"),
])
def test_a_file_where_a_folder_must_go_is_named(gldv2, tmp_path, args, option, capsys):
    # Each of these was a FileExistsError or NotADirectoryError traceback from a mkdir deep inside.
    file = tmp_path / "notes.txt"
    file.write_text("not a folder")
    args = [str(gldv2) if a == "DATA" else a.replace("FILE", str(file)) for a in args]
    with pytest.raises(SystemExit) as exit_:
        main(args)
    assert exit_.value.code == 2
    assert capsys.readouterr().err.strip().splitlines()[-1].endswith(f"error: {option}: {file} is a file, not a folder")


def test_glr_results_naming_a_file_is_named_as_the_variable(tmp_path, monkeypatch, capsys):
    file = tmp_path / "results"
    file.write_text("")
    monkeypatch.setenv("GLR_RESULTS", str(file))
    with pytest.raises(SystemExit):
        main(["runs"])
    assert capsys.readouterr().err.strip().endswith(f"error: $GLR_RESULTS: {file} is a file, not a folder")


def test_retrieval_on_a_run_without_its_model_yet_says_its_state(finished_run, tmp_path, capsys):
    import shutil

    from glr.training.run import Run

    run = Run(shutil.copytree(finished_run.path, tmp_path / finished_run.id))
    (run.path / "model.keras").unlink()
    assert main(["retrieval", str(run.path), "--rebuild"]) == 2
    assert f"error: {run.path}: not a finished run (model.keras missing; the run is " in capsys.readouterr().err


@pytest.mark.parametrize("command", ["inspect", "train", "probe"])
def test_an_empty_dataset_path_is_not_the_demo(command, capsys):
    # `python -m glr train "$DATA"` with DATA unset used the demo dataset in silence (generating it first).
    with pytest.raises(SystemExit) as exit_:
        main([command, ""])
    assert exit_.value.code == 2
    assert capsys.readouterr().err.strip().endswith(
        "error: the dataset path is empty; leave it out to use the embedded demo dataset")


def test_resume_of_a_finished_run_is_refused_as_the_app_refuses_it(finished_run, capsys):
    # `train --resume` on a finished run evaluated it and wrote its files again.
    before = (finished_run.path / "status.json").read_text()
    assert main(["train", "--resume", str(finished_run.path)]) == 2
    assert f"error: run {finished_run.id} has finished; start a new run to train more" in capsys.readouterr().err
    assert (finished_run.path / "status.json").read_text() == before


def test_resume_with_a_dataset_or_settings_is_a_usage_error(gldv2, capsys):
    # They were ignored in silence: `--resume RUN --epochs 5` trained on to the run's own 40 epochs (--epochs now
    # sets the run's new total: test_resume_with_epochs_trains_a_stopped_run_to_its_new_total).
    with pytest.raises(SystemExit) as exit_:
        main(["train", str(gldv2), "--resume", "latest", "--epochs", "5", "--no-fine-tune", "--weights", "none"])
    assert exit_.value.code == 2
    assert capsys.readouterr().err.strip().endswith(
        "error: --resume continues a run with its own dataset and settings; "
        "leave out DATA, --weights, --fine-tune/--no-fine-tune")


def test_a_tilde_the_shell_left_in_an_option_is_the_home_folder(tmp_path, monkeypatch, capsys):
    # `--results=~/runs`: bash leaves a ~ after "=" as it is, and glr made a folder named "~" here.
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    assert main(["runs", "--results=~/runs"]) == 0
    assert f"no runs under {tmp_path / 'home' / 'runs'};" in capsys.readouterr().out
    assert main(["demo-data", "--out=~/demo", "--force", "--classes", "2"]) == 0
    assert (tmp_path / "home" / "demo" / "train.csv").is_file() and not (tmp_path / "~").exists()


def test_inspect_lists_a_class_name_holding_a_newline_on_one_line(tmp_path, capsys):
    # A quoted cell of train_label_to_category.csv may hold a newline: the listing stays one line a class.
    from conftest import make_gldv2

    data = make_gldv2(tmp_path / "gldv2", {1: 3, 2: 3}, names={1: "Category:Blue\nMosque", 2: "Category:Fort"})
    assert main(["inspect", str(data)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert any(re.fullmatch(r"\s+1\s+Blue Mosque\s+3", line) for line in lines), lines
    assert not any(line.strip() == "Mosque" or line.rstrip().endswith("Blue") for line in lines)


def _copy_run(finished_run, tmp_path) -> Path:
    import shutil

    shutil.copytree(finished_run.path, tmp_path / "run", ignore=shutil.ignore_patterns("export", "index"))
    return tmp_path / "run"


@pytest.mark.parametrize("content, said", [
    ("[1, 2]", "metrics.json is damaged: not a JSON object of scores"),  # was TypeError: list indices ...
    ('{"top1": 0.5, "to', "metrics.json is damaged: Unterminated string"),
])
def test_evaluate_of_a_damaged_metrics_json_is_one_line(finished_run, tmp_path, capsys, content, said):
    run = _copy_run(finished_run, tmp_path)
    (run / "metrics.json").write_text(content)
    assert main(["evaluate", str(run)]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and said in err and "Traceback" not in err


def test_evaluate_says_why_a_score_has_no_value_never_nan(finished_run, tmp_path, capsys):
    run = _copy_run(finished_run, tmp_path)
    # A hand-edited or older metrics.json: a key missing was a KeyError, a NaN printed as "nan".
    (run / "metrics.json").write_text('{"top1": NaN, "gap": 0.5, "n_images": 4, "n_classes": 3}')
    per_class = pd.read_csv(run / "per_class.csv")
    per_class.loc[0, ["recall", "f1", "support"]] = [0.0, 0.0, 0]  # a class with no validation photo
    per_class.to_csv(run / "per_class.csv", index=False)
    assert main(["evaluate", str(run)]) == 0
    out = capsys.readouterr().out
    assert "nan" not in out.lower() and "top1       —  (undefined for these photos)" in out
    assert "top5       —  (only 3 classes" in out and "macro_f1   —  (metrics.json has no macro_f1)" in out
    # It was ranked first among the "weakest" at recall 0.
    name = per_class.loc[0, "name"]
    assert out.strip().splitlines()[-1] == f"1 class with no validation photo, not ranked: {name}"
    assert name not in out.split("weakest classes (recall):")[1].split("1 class with")[0]


# --- --resume RUN --epochs N: a stopped run's new total -------------------------------------


def stopped_at(results, data, done: int, total: int):
    """A run stopped after `done` of its `total` epochs (its history and status written, no training)."""
    from glr.training.launch import new_run

    run = new_run(results, tiny_config(data, epochs=total))
    rows = "".join(f"1,{e},0.5,0.5,0.5,0.5,0.5,0.001,0.1\n" for e in range(1, done + 1))
    run.history_path.write_text("phase,epoch,loss,accuracy,val_loss,val_accuracy,val_top5,lr,seconds\n" + rows)
    run.update_status(state="stopped", epoch=done, epochs=total, message="stopped on request; --resume continues")
    return run


@pytest.fixture
def fake_train_run(monkeypatch):
    """`train_run` replaced: it records what the run says when training would start, and stops."""
    from glr.training import trainer

    seen = []

    def train_run(run, resume=False, console=False):
        seen.append((resume, run.train_config().epochs, run.status()["epochs"]))
        run.update_status(state="stopped", message="stopped on request; --resume continues")
        return {}

    monkeypatch.setattr(trainer, "train_run", train_run)
    return seen


def test_resume_with_epochs_trains_a_stopped_run_to_its_new_total(tiny_data, tmp_path, fake_train_run, capsys):
    # `--resume RUN --epochs 15` was a usage error ("leave out --epochs"): a stopped 10-epoch run could not go on to 15.
    run = stopped_at(tmp_path, tiny_data, done=10, total=10)
    assert main(["train", "--resume", run.id, "--results", str(tmp_path), "--epochs", "15"]) == 0
    assert fake_train_run == [(True, 15, 15)]
    config = run.config()
    assert config["train"]["epochs"] == 15 and config["epochs_changed"][0]["from"] == 10
    assert config["epochs_changed"][0]["to"] == 15
    assert "epochs: 10 -> 15, resuming" in run.log_path.read_text()
    capsys.readouterr()
    assert main(["runs", "--results", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "epochs" in out.splitlines()[0].split() and " 10/15 " in out


@pytest.mark.parametrize("epochs", ["10", "7"])  # 0: refused by argparse as any --epochs 0 (test_cli_args.py)
def test_resume_with_no_more_epochs_than_done_names_both_and_changes_nothing(tiny_data, tmp_path, fake_train_run,
                                                                            capsys, epochs):
    run = stopped_at(tmp_path, tiny_data, done=10, total=12)
    before = {p.name: p.read_bytes() for p in run.path.iterdir() if p.is_file() and p.suffix != ".lock"}
    assert main(["train", "--resume", run.id, "--results", str(tmp_path), "--epochs", epochs]) == 2
    assert f"error: run {run.id} has done 10 epochs, so --epochs {epochs} would end it before its next one; " \
           "give more than 10 (its total now: 12)" in capsys.readouterr().err
    assert {p.name: p.read_bytes() for p in run.path.iterdir() if p.is_file() and p.suffix != ".lock"} == before
    assert fake_train_run == []


def test_resume_with_epochs_of_a_run_in_phase_2_says_phase_1_is_over(tiny_data, tmp_path, fake_train_run, capsys):
    run = stopped_at(tmp_path, tiny_data, done=12, total=10)
    run.write_checkpoint_state({"phase": 2, "epoch": 12, "end": 18})
    assert main(["train", "--resume", run.id, "--results", str(tmp_path), "--epochs", "30"]) == 2
    assert f"error: run {run.id} is fine-tuning (phase 2, 12 epochs done of 18): --epochs sets phase 1's length, " \
           "which is over; resume it without --epochs" in capsys.readouterr().err
    assert run.config()["train"]["epochs"] == 10 and fake_train_run == []


def test_resume_with_epochs_of_a_finished_run_says_how_to_train_more_and_leaves_it(finished_run, capsys):
    before = {p: p.read_bytes() for p in finished_run.path.rglob("*") if p.is_file() and p.suffix != ".lock"}
    assert main(["train", "--resume", str(finished_run.path), "--epochs", "50"]) == 2
    err = capsys.readouterr().err
    assert f"error: run {finished_run.id} has finished; start a new run to train more (a finished run is not " \
           f"trained again: its model and report stay as they are; a new run with --epochs 50 and the settings in " \
           f"{finished_run.config_path} trains 50 epochs)" in err
    assert {p: p.read_bytes() for p in finished_run.path.rglob("*") if p.is_file() and p.suffix != ".lock"} == before


def test_resume_with_epochs_and_another_setting_refuses_the_other_alone(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["train", "--resume", "latest", "--epochs", "15", "--batch-size", "8"])
    assert exit_.value.code == 2
    assert capsys.readouterr().err.strip().endswith(
        "error: --resume continues a run with its own dataset and settings; leave out --batch-size")



def test_resume_while_another_training_holds_the_folder_changes_nothing(tiny_data, tmp_path, fake_train_run, capsys):
    from glr.training.launch import acquire_lock, release_lock

    run = stopped_at(tmp_path, tiny_data, done=3, total=4)
    before = run.status_path.read_bytes(), run.config_path.read_bytes()
    acquire_lock(tmp_path, "someone-else")  # held by this (live) process
    try:
        assert main(["train", "--resume", run.id, "--results", str(tmp_path), "--epochs", "9"]) == 2
    finally:
        release_lock(tmp_path, "someone-else")
    assert "error: another training is running: someone-else" in capsys.readouterr().err
    assert (run.status_path.read_bytes(), run.config_path.read_bytes()) == before and fake_train_run == []

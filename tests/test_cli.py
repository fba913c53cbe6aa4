"""glr.cli: each command's output and exit codes, run in-process; errors are one line, never a traceback."""

import re
import subprocess
import sys
from pathlib import Path

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
    assert "problems   1" in out and "not an integer (e.g. 'notanumber' on line 23)" in out


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


def test_importing_the_cli_imports_no_heavy_library():
    # glr.cli took sklearn (through glr.data.datasets, for the curation defaults) and pandas (through uploads, for a
    # zip limit): `python -m glr --help` cost about 2 s of imports before it printed a line.
    heavy = ("sklearn", "scipy", "pandas", "tensorflow", "keras")
    code = f"import sys, glr.cli; print([m for m in {heavy!r} if m in sys.modules])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
    # The whole parser (what --help and every argument error need): sklearn only when a split is made, pandas when
    # a table is read (glr.training.config took it through datasets for the defaults alone).
    code = f"import sys, glr.cli; glr.cli.build_parser(); print([m for m in {heavy[:3]!r} if m in sys.modules])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_help_and_usage_errors_import_no_numpy_nor_tensorflow():
    # build_parser read the backbone names, the engines and the limits from their owners, which import numpy, Pillow
    # and the training stack: 0.4-0.5 s before `--help` or a mistyped option printed a line (glr.cli_choices now).
    heavy = ("numpy", "PIL", "pandas", "sklearn", "scipy", "tensorflow", "keras")
    code = ("import sys\nfrom glr.cli import main\n"
            "for argv in (['--help'], ['train', '--help'], ['probe', '--backbone', 'resnet5'], ['rnus']):\n"
            "    try:\n        main(argv)\n    except SystemExit:\n        pass\n"
            f"print([m for m in {heavy!r} if m in sys.modules], file=sys.stderr)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "usage: python -m glr" in result.stdout and "did you mean 'resnet50'?" in result.stderr
    assert result.stderr.strip().splitlines()[-1] == "[]"


def test_the_parser_shows_the_owners_choices_and_defaults():
    # The parser takes them from glr.cli_choices; these are the values its help showed when it read their owners.
    from glr.backbones import features, registry
    from glr.cli import build_parser
    from glr.demo.dataset import MAX_LANDMARK_ID
    from glr.training.settings import AUTO_MAX_FINE_TUNE_EPOCHS
    from glr.training.workers import MAX_WORKERS

    parser = build_parser()
    options = {name: {o: a for a in p._actions for o in a.option_strings} for name, p in parser.commands.items()}
    for command in ("probe", "openset", "train"):
        backbone = options[command]["--backbone"]
        assert list(backbone.choices) == registry.list_backbones()
        assert backbone.default == (None if command == "train" else registry.DEFAULT_BACKBONE)
        assert f"one of {', '.join(registry.list_backbones())} (default {registry.DEFAULT_BACKBONE})" in \
            " ".join(parser.commands[command].format_help().split())
    assert list(options["train"]["--feature-engine"].choices) == list(features.ENGINES)
    train_help = " ".join(parser.commands["train"].format_help().split())
    assert f"auto runs up to {AUTO_MAX_FINE_TUNE_EPOCHS} while" in train_help
    parse = parser.parse_args
    assert parse(["train", "--workers", str(MAX_WORKERS)]).workers == MAX_WORKERS
    assert parse(["demo-data", "--force", "--classes", str(MAX_LANDMARK_ID)]).classes == MAX_LANDMARK_ID
    # A demo of one class was made, and no training could use it.
    for argv in (["train", "--workers", str(MAX_WORKERS + 1)], ["demo-data", "--classes", str(MAX_LANDMARK_ID + 1)],
                 ["demo-data", "--force", "--classes", "1"]):
        with pytest.raises(SystemExit):
            parse(argv)


def test_module_entry_point(gldv2):
    result = subprocess.run([sys.executable, "-m", "glr", "inspect", str(gldv2)], capture_output=True, text=True)
    assert result.returncode == 0 and "classes    4" in result.stdout


def test_runs_evaluate_report_predict_and_run_references(finished_run, tiny_data, tmp_path, capsys):
    # On a copy of the session's finished run: `glr train` itself (its outcome lines, in one process) is
    # test_workers.py::test_glr_train_workers_1_trains_in_one_process; a training of its own here cost minutes.
    import shutil

    from glr.training.run import runs_dir

    results = str(tmp_path / "results")
    shutil.copytree(finished_run.path, runs_dir(results) / finished_run.id, ignore=shutil.ignore_patterns("*.lock"))
    assert main(["runs", "--results", results]) == 0
    listing = capsys.readouterr().out
    assert "finished" in listing
    run_id = listing.strip().splitlines()[1].split()[0]
    assert main(["evaluate", run_id, "--results", results]) == 0
    assert "top1" in capsys.readouterr().out
    assert main(["report", run_id, "--results", results]) == 0
    assert capsys.readouterr().out.strip().endswith("report")
    image = next((tiny_data / "train").rglob("*.jpg"))  # finished_run's dataset
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


def test_retrieval_of_a_cut_retrieval_json_says_so_and_keeps_the_spatial_verification(finished_run, tmp_path, capsys):
    # A cut retrieval.json read as "no index yet": rebuilt without a note, and without its spatial verification.
    import json
    import shutil

    from glr.evaluation.finish import rebuild_index

    run = shutil.copytree(finished_run.path, tmp_path / "runs" / finished_run.path.name)
    rebuild_index(run, verify=True)
    text = (run / "retrieval.json").read_text()
    (run / "retrieval.json").write_text(text[:len(text) // 2])
    assert main(["retrieval", str(run)]) == 0
    assert f"note: {run / 'retrieval.json'} is damaged: building the index again" in capsys.readouterr().err
    assert json.loads((run / "retrieval.json").read_text()).get("verification")


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


def test_probe_prints_the_folds_it_really_used(gldv2, capsys):
    # The smallest class has 3 photos: 5 folds asked, 3 used.
    assert main(["probe", str(gldv2), "--raw-pixels", "8", "--folds", "5"]) == 0
    captured = capsys.readouterr()
    assert "3-fold cross-validation (5 asked: lowered so that every fold holds every class)" in captured.err
    assert "4 classes, 3 folds (5 asked" in captured.out
    assert len(captured.out.split("folds      ")[1].splitlines()[0].split()) == 3
    assert main(["probe", str(gldv2), "--raw-pixels", "8", "--folds", "3"]) == 0
    assert "3 folds\n" in capsys.readouterr().out


def test_probe_says_when_unreadable_photos_changed_the_folds_it_announced(tmp_path, capsys):
    # "3-fold cross-validation" was announced from the listed photos, then "5 folds" printed: one class was unreadable.
    from conftest import image_id, make_gldv2

    data = make_gldv2(tmp_path / "data", {1: 6, 2: 6, 3: 5, 4: 3})
    for i in range(3):  # class 4's photos are not photos: the probe leaves it out, and 5 folds fit the rest
        iid = image_id(4, i)
        (data / "train" / iid[0] / iid[1] / iid[2] / f"{iid}.jpg").write_bytes(b"not a photo")
    assert main(["probe", str(data), "--raw-pixels", "8", "--folds", "5"]) == 0
    captured = capsys.readouterr()
    assert "3-fold cross-validation (5 asked" in captured.err
    assert "3 classes, 5 folds; not the 3 said above: photos that could not be read changed its classes" in captured.out


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
    assert f"error: {run.path}: model.keras missing from this finished run (deleted or moved?)" in capsys.readouterr().err
    run.update_status(state="stopped")  # a stopped run has no model yet
    assert main(["retrieval", str(run.path), "--rebuild"]) == 2
    assert f"error: {run.path}: not a finished run (model.keras missing; the run is stopped)" in capsys.readouterr().err


def test_retrieval_of_a_run_whose_model_is_another_backbones_is_refused_before_indexing(finished_run, tmp_path, capsys):
    # A MobileNetV3 classifier copied into a Lite0 run: `glr retrieval --rebuild` indexed every photo prepared for
    # Lite0 and wrote a retrieval.json of wrong figures, which the Predictor (refusing the model) never used.
    from conftest import run_with_another_backbones_model

    run = run_with_another_backbones_model(finished_run, tmp_path)
    before = run.retrieval_path.read_bytes()
    assert main(["retrieval", str(run.path), "--rebuild"]) == 2
    assert (f"error: {run.path}: the model is a mobilenet_v3_small classifier but config.json says efficientnet_lite0: "
            "the two files come from different runs") in capsys.readouterr().err
    assert run.retrieval_path.read_bytes() == before


@pytest.mark.parametrize("command", ["inspect", "train", "probe"])
def test_an_empty_dataset_path_is_not_the_demo(command, capsys):
    # `python -m glr train "$DATA"` with DATA unset used the demo dataset in silence (generating it first).
    with pytest.raises(SystemExit) as exit_:
        main([command, ""])
    assert exit_.value.code == 2
    assert capsys.readouterr().err.strip().endswith(
        "error: the dataset path is empty; leave it out to use the embedded demo dataset")


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

"""glr.cli's arguments: a wrong value is refused by argparse, naming the flag, the value and what is allowed,
before anything is imported or made; a RUN that is no run is refused before anything is read or deleted."""

import pytest

from glr.cli import build_parser, main


def usage_error(args, capsys) -> str:
    """The last line argparse prints for `args`, which must end the program with exit code 2."""
    with pytest.raises(SystemExit) as exit_:
        main(args)
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return err.strip().splitlines()[-1]


@pytest.mark.parametrize("args, message", [
    # Each was "error: invalid configuration: epochs must be at least 1" from the command, after its imports,
    # naming neither the flag nor the value typed.
    (["--epochs", "0"], "argument --epochs: must be at least 1, got 0"),
    (["--epochs", "-1"], "argument --epochs: must be at least 1, got -1"),
    (["--top-n", "1"], "argument --top-n: must be at least 2 (a classifier tells landmarks apart), or 0 for every class, got 1"),
    (["--val-fraction", "1.5"], "argument --val-fraction: must be above 0 and below 1, got 1.5"),
    (["--val-fraction", "nan"], "argument --val-fraction: must be above 0 and below 1, got nan"),
    (["--batch-size", "0"], "argument --batch-size: must be between 1 and 4096, got 0"),
    (["--learning-rate", "-1"], "argument --learning-rate: must be above 0 and below 1, got -1"),
    (["--learning-rate", "inf"], "argument --learning-rate: must be above 0 and below 1, got inf"),
    # "must be between 0 and 1, got 1": 1 is between 0 and 1 as most read it.
    (["--learning-rate", "1"], "argument --learning-rate: must be above 0 and below 1, got 1"),
    (["--learning-rate", "0"], "argument --learning-rate: must be above 0 and below 1, got 0"),
    (["--batch-size", "100000"], "argument --batch-size: must be between 1 and 4096, got 100000"),
    (["--patience", "-1"], "argument --patience: must be at least 1, got -1"),
    (["--input-size", "7"], "argument --input-size: must be between 32 and 1024, got 7"),
    (["--input-size", "100000"], "argument --input-size: must be between 32 and 1024, got 100000"),
    (["--dropout", "nan"], "argument --dropout: must be in [0, 1), got nan"),
    (["--label-smoothing", "1"], "argument --label-smoothing: must be in [0, 1), got 1"),
    (["--min-images", "1"], "argument --min-images: must be at least 2 (one image for training, one for validation), got 1"),
    (["--views", "0"], "argument --views: must be between 1 and 64, got 0"),
    (["--hidden", "0"], "argument --hidden: must be at least 1, got 0"),
    (["--patience", "0"], "argument --patience: must be at least 1, got 0"),
    (["--fine-tune-epochs", "-1"], "argument --fine-tune-epochs: must be at least 0, got -1"),
    (["--fine-tune-layers", "0"], "argument --fine-tune-layers: must be at least 1, got 0"),
    (["--fine-tune-learning-rate", "0"], "argument --fine-tune-learning-rate: must be above 0 and below 1, got 0"),
    (["--epochs", "1e9"], "argument --epochs: invalid int value: '1e9'"),
    # Beyond the workers train_local takes: refused by it after the run folder was made, left behind.
    (["--workers", "17"], "argument --workers: must be between 1 and 16, got 17"),
])
def test_a_training_setting_out_of_range_names_the_flag_and_makes_no_run(gldv2, tmp_path, args, message, capsys):
    results = tmp_path / "results"
    line = usage_error(["train", str(gldv2), "--results", str(results), *args], capsys)
    assert line == f"python -m glr train: error: {message}"
    assert not results.exists()


@pytest.mark.parametrize("args, message", [
    (["openset", "DATA", "--epochs", "0"], "argument --epochs: must be at least 1, got 0"),
    (["openset", "DATA", "--top-n", "1"], "argument --top-n: must be at least 2"),
    # --min-images 0 or -5 was taken as 2 in silence.
    (["inspect", "DATA", "--min-images", "0"], "argument --min-images: must be at least 2"),
    (["probe", "DATA", "--val-fraction", "1"], "argument --val-fraction: must be above 0 and below 1, got 1"),
    (["inspect", "DATA", "--top-n", "-1"], "argument --top-n: must be at least 0, got -1"),
])
def test_curation_and_openset_settings_out_of_range_are_usage_errors(gldv2, args, message, capsys):
    line = usage_error([str(gldv2) if a == "DATA" else a for a in args], capsys)
    assert f"error: {message}" in line


@pytest.mark.parametrize("command", [["train"], ["probe"], ["openset"]])
def test_a_backbone_in_capitals_is_the_backbone(command):
    # "--backbone ResNet50" was "invalid choice: 'ResNet50'".
    assert build_parser().parse_args([*command, "--backbone", "ResNet50"]).backbone == "resnet50"


def test_inspect_keeps_one_class_and_all_of_fewer_than_top_n(gldv2, capsys):
    assert main(["inspect", str(gldv2), "--top-n", "1", "--show", "0"]) == 0
    assert "curated    top 1 class:" in capsys.readouterr().out
    assert main(["inspect", str(gldv2), "--top-n", "500", "--show", "0"]) == 0
    assert "curated    top 4 classes" in capsys.readouterr().out


@pytest.fixture
def a_run(tmp_path):
    from glr.training.run import Run

    run = Run.create(tmp_path / "results", {"train": {"backbone": "x", "epochs": 2}}, run_id="20260101-000000-x")
    run.update_status(state="finished")
    return run


@pytest.mark.parametrize("ref", [".", "..", "HERE"])
def test_runs_delete_of_a_folder_that_is_no_run_deletes_nothing(a_run, tmp_path, monkeypatch, ref, capsys):
    # `runs --delete . --yes` deleted the current folder with everything in it: any folder was taken as a run.
    here = tmp_path / "work" / "photos"
    (here / "keep.jpg").parent.mkdir(parents=True)
    (here / "keep.jpg").write_bytes(b"x")
    monkeypatch.chdir(here)
    given = str(here) if ref == "HERE" else ref
    assert main(["runs", "--results", str(a_run.results_dir), "--delete", given, "--yes"]) == 2
    assert capsys.readouterr().err.strip() == (
        f"error: {given} is a folder but not a run folder (it holds no config.json or status.json); give a run id, "
        "its folder, its name or 'latest' (`python -m glr runs` lists them)")
    assert (here / "keep.jpg").is_file() and a_run.path.is_dir()


@pytest.mark.parametrize("args", [["runs", "--delete", ""], ["evaluate", ""], ["predict", "", "x.jpg"],
                                  ["export", " ", "--format", "keras"]])
def test_an_empty_run_is_refused(a_run, tmp_path, monkeypatch, args, capsys):
    # `--delete "$RUN"` with RUN unset listed the runs and exited 0; `evaluate ""` took the current folder as the run.
    monkeypatch.chdir(tmp_path)
    assert main([*args, "--results", str(a_run.results_dir)]) == 2
    assert capsys.readouterr().err.strip() == (
        "error: the run is empty: give a run id, its folder, its name or 'latest' (`python -m glr runs` lists them)")
    assert a_run.path.is_dir()


def test_resume_of_an_empty_run_is_refused_not_a_new_training(tmp_path, capsys):
    # `train --resume "$RUN"` with RUN unset started a new training on the demo.
    with pytest.raises(SystemExit) as usage:
        main(["train", "--resume", "", "--results", str(tmp_path / "results")])
    assert usage.value.code == 2 and "--resume needs a run id or folder" in capsys.readouterr().err
    assert not (tmp_path / "results").exists()


def test_a_run_folder_and_its_id_still_find_the_run(a_run, capsys):
    for ref in (str(a_run.path), a_run.id, "latest"):
        assert main(["runs", "--results", str(a_run.results_dir), "--rename", ref, "kept"]) == 0
    assert a_run.name() == "kept"


@pytest.mark.parametrize("args", [["runs", "--results", ""], ["export", "latest", "--format", "keras", "--out", ""],
                                  ["predict", "latest", "x.jpg", "--out", ""], ["openset", "--keep", ""]])
def test_an_empty_path_for_an_option_is_not_its_default(args, capsys):
    # `--out "$DIR"` with DIR unset wrote to the default place (and `--results ""` read the checkout's runs) in silence.
    option = args[args.index("") - 1]
    assert usage_error(args, capsys).endswith(f"error: the {option} path is empty; give one, or omit {option} for the default")


def test_glr_cache_dir_naming_a_file_is_named(tmp_path, monkeypatch, capsys):
    # `cache` said "empty (nothing cached yet)" of a file; a training failed when it cached its features.
    (tmp_path / "cache").write_text("")
    monkeypatch.setenv("GLR_CACHE_DIR", str(tmp_path / "cache"))
    assert usage_error(["cache"], capsys).endswith(f"error: $GLR_CACHE_DIR: {tmp_path / 'cache'} is a file, not a folder")


@pytest.mark.parametrize("args, name, value", [(["export", "latest", "--format", "ONNX"], "format", "onnx"),
                                               (["predict", "latest", "x.jpg", "--backend", "TF"], "backend", "tf"),
                                               (["predict", "latest", "x.jpg", "--unknown", "Empty"], "unknown", "empty")])
def test_a_choice_in_capitals_is_the_choice(args, name, value):
    assert getattr(build_parser().parse_args(args), name) == value


@pytest.mark.parametrize("classes, message", [
    ("1", "must be between 2 and 200000, got 1"),  # a one-class demo, which no training could use
    # More classes than the demo has landmark ids: numpy's "Cannot take a larger sample than population" traceback.
    ("300000", "must be between 2 and 200000, got 300000"),
])
def test_demo_classes_out_of_range_is_a_usage_error(tmp_path, classes, message, capsys):
    line = usage_error(["demo-data", "--force", "--classes", classes, "--out", str(tmp_path / "demo")], capsys)
    assert line.endswith(f"error: argument --classes: {message}") and not (tmp_path / "demo").exists()


def test_every_option_with_a_default_says_it_in_its_help():
    # evaluate --show and openset --seeds took 10 and 0 1 2 without saying so.
    import argparse

    parser = build_parser()
    for name, command in parser.commands.items():
        for action in command._actions:
            if action.option_strings and action.default not in (None, False, argparse.SUPPRESS) and action.help:
                assert "default" in action.help, f"{name} {action.option_strings[0]}: default {action.default!r} unsaid"


def test_the_val_fraction_help_says_the_range_as_its_check_does():
    # The help said "between 0 and 1" while the check refuses 0 and 1 ("above 0 and below 1").
    parser = build_parser()
    helps = {name: action.help for name, command in parser.commands.items() for action in command._actions
             if "--val-fraction" in action.option_strings}
    assert helps and all("above 0 and below 1" in text and "between 0 and 1" not in text for text in helps.values())


def test_ctrl_d_at_the_delete_question_is_a_no(a_run, monkeypatch, capsys):
    # Ctrl-D (end of input) at "Delete run ...? [y/N]" was an EOFError traceback.
    import io

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    monkeypatch.setattr("sys.stdin", Terminal(""))
    assert main(["runs", "--results", str(a_run.results_dir), "--delete", a_run.id]) == 1
    assert capsys.readouterr().out.splitlines()[:2] == [
        f"Delete run {a_run.label()} and everything in {a_run.path}? [y/N] ", "not deleted"]
    assert a_run.path.is_dir()


def test_a_run_named_like_a_folder_is_found_by_its_name(a_run, tmp_path, monkeypatch, capsys):
    # Named "..", it could no longer be reached by its name: ".." was taken as a folder (and then as no run).
    monkeypatch.chdir(tmp_path)
    a_run.set_name("..")
    assert main(["runs", "--results", str(a_run.results_dir), "--rename", "..", "kept"]) == 0
    assert a_run.name() == "kept"


@pytest.mark.parametrize("args, message", [
    # Each was taken in silence: phase 2 skipped with its settings recorded, the views never made, the last flag won.
    (["train", "--no-fine-tune", "--fine-tune-epochs", "5"],
     "train: error: --fine-tune-epochs sets phase 2, the fine-tuning that --no-fine-tune skips; leave out one or the other"),
    (["train", "--fine-tune-layers", "9", "--fine-tune-learning-rate", "0.01", "--no-fine-tune"],
     "train: error: --fine-tune-layers and --fine-tune-learning-rate set phase 2, the fine-tuning that --no-fine-tune skips"),
    (["train", "--fine-tune", "--no-fine-tune"], "train: error: argument --no-fine-tune: not allowed with argument --fine-tune"),
    (["openset", "--no-fine-tune", "--fine-tune"], "openset: error: argument --fine-tune: not allowed with argument --no-fine-tune"),
    (["probe", "--raw-pixels", "16", "--backbone", "resnet50"],
     "probe: error: --raw-pixels probes the pixels themselves, with no backbone; leave out --backbone"),
    (["probe", "--raw-pixels", "16", "--weights", "none"], "leave out --weights"),
    (["probe", "--holdout", "--folds", "3"],
     "probe: error: --holdout scores the curated validation split, with no folds; leave out --folds or --holdout"),
])
def test_options_that_void_each_other_are_refused_naming_both(tmp_path, args, message, capsys):
    results = tmp_path / "results"
    line = usage_error([*args, "--results", str(results)] if args[0] == "train" else args, capsys)
    assert message in line and not results.exists()


@pytest.mark.parametrize("args", [
    ["train", "--fine-tune", "--fine-tune-epochs", "5"], ["train", "--views", "8", "--augment-space", "images"],
    ["probe", "--raw-pixels", "16"], ["probe", "--holdout"], ["probe", "--folds", "3", "--backbone", "resnet50"],
    ["demo-data", "--force", "--classes", "5"], ["demo-data"],
])
def test_options_that_go_together_are_taken(args):
    from glr.cli_conflicts import conflict

    parsed = build_parser().parse_args(args)
    parsed.random_weights = False
    assert conflict(parsed) is None


def test_demo_settings_need_force_only_where_a_demo_is_already(tmp_path, capsys, monkeypatch):
    # `demo-data --classes 5 --out NEW` was refused ("add --force") though nothing was there to keep or replace.
    from glr import commands
    from glr.demo import dataset as demo

    held = tmp_path / "held"
    held.mkdir()
    (held / "train.csv").write_text("id,landmark_id\n")
    line = usage_error(["demo-data", "--classes", "5", "--out", str(held)], capsys)
    assert f"demo-data: error: --classes sets how the demo is generated, and {held} holds one already: add --force" in line
    line = usage_error(["demo-data", "--seed", "3", "--classes", "5", "--out", str(held)], capsys)
    assert "--classes and --seed set how the demo is generated" in line
    from conftest import make_gldv2

    drawn, made = [], make_gldv2(tmp_path / "made", {1: 3, 2: 3})
    monkeypatch.setattr(demo, "generate_demo", lambda out, **kw: drawn.append((out, kw)) or made)
    new = tmp_path / "new"
    parsed = build_parser().parse_args(["demo-data", "--classes", "5", "--seed", "3", "--out", str(new)])
    from glr.cli_conflicts import conflict

    assert conflict(parsed) is None
    commands.cmd_demo_data(parsed)
    assert drawn[0][0] == new and drawn[0][1]["n_classes"] == 5 and drawn[0][1]["seed"] == 3


@pytest.mark.parametrize("args, note", [
    (["--views", "8"], "note: --views is not used: it sets how many augmented images --augment-space images makes"),
    (["--views", "8", "--augment-space", "images", "--no-augment"], "and --no-augment makes none"),
    (["--views", "8", "--augment-space", "images"], None),
])
def test_views_the_run_will_not_use_are_said(args, note):
    # `train --views 8` trained on the feature-map windows, which never use it, in silence. A note, not a refusal:
    # scripts (and the tests' tiny settings) pass --views with the default --augment-space.
    from glr.cli_conflicts import unused

    notes = unused(build_parser().parse_args(["train", *args]))
    assert notes == [] if note is None else (len(notes) == 1 and note in notes[0])

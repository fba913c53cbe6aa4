"""glr.cli's output as a shell sees it: a reader that leaves, a full disk, Ctrl-C at any moment, a log file instead
of a terminal, a mistyped command. Each ends in one line (or none) and the right exit code, never a traceback."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from glr.cli import main

ROOT = Path(__file__).resolve().parents[1]


def glr(args, tmp_path, stdout=subprocess.PIPE, pythonpath=()):
    """`python -m glr ARGS` in its own process, its results folder in tmp_path."""
    env = dict(os.environ, GLR_RESULTS=str(tmp_path / "results"),
               PYTHONPATH=os.pathsep.join([*map(str, pythonpath), str(ROOT)]))
    return subprocess.run([sys.executable, "-m", "glr", *args], cwd=ROOT, env=env, stdout=stdout,
                          stderr=subprocess.PIPE, text=True, timeout=120)


def test_a_reader_that_left_ends_the_command_quietly(tmp_path):
    # `python -m glr runs | head -1` ended in a BrokenPipeError traceback. Here the reader is gone before the
    # first line, so every write fails, as the writes after head's first line do.
    read, write = os.pipe()
    os.close(read)
    with os.fdopen(write, "w") as stdout:
        result = glr(["runs"], tmp_path, stdout=stdout)
    assert (result.returncode, result.stderr) == (141, "")


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs Linux's /dev/full")
def test_output_to_a_full_disk_is_one_line(tmp_path):
    # `> /dev/full` was an OSError traceback from print, then a second one at exit.
    with open("/dev/full", "w") as stdout:
        result = glr(["runs"], tmp_path, stdout=stdout)
    assert (result.returncode, result.stderr) == (1, "error: the output cannot be written: No space left on device\n")


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs Linux's /dev/full")
def test_a_training_whose_terminal_output_cannot_be_written_still_finishes(tiny_data, tmp_path):
    # `python -m glr train ... >/dev/full 2>&1`: the "run folder" line raised right after the run was made, so it
    # stayed "queued" for ever; past it, each epoch's line ended the run "failed".
    with open("/dev/full", "w") as full:
        subprocess.run([sys.executable, "-m", "glr", "train", str(tiny_data), "--results", str(tmp_path / "results"),
                        "--input-size", "32", "--epochs", "2", "--views", "1", "--hidden", "8", "--batch-size", "4",
                        "--no-fine-tune"], cwd=ROOT, env=dict(os.environ, PYTHONPATH=str(ROOT)), stdout=full,
                       stderr=full, timeout=300)
    from glr.training.run import Run

    [run] = [Run(p) for p in (tmp_path / "results" / "runs").iterdir()]
    assert run.status()["state"] == "finished", run.status()


def test_ctrl_c_during_the_start_up_imports_is_one_line(tmp_path):
    # The imports before any command take a second or two; Ctrl-C then printed the import's traceback.
    # A sitecustomize makes the Ctrl-C arrive at a known point: while glr.cli imports its commands module (the
    # datasets module, once the point, is no longer imported before a command runs).
    (tmp_path / "sitecustomize.py").write_text(
        "import sys\n"
        "class Interrupt:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'glr.commands':\n"
        "            raise KeyboardInterrupt\n"
        "sys.meta_path.insert(0, Interrupt())\n")
    result = glr(["runs"], tmp_path, pythonpath=[tmp_path])
    assert (result.returncode, result.stderr) == (130, "interrupted\n")


def test_ctrl_c_while_the_arguments_are_read_is_one_line(monkeypatch, capsys):
    # Building the parser imports the backbones' registry: outside main's old try, a traceback.
    from glr import cli

    def interrupted():
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "build_parser", interrupted)
    assert main(["runs"]) == 130
    assert capsys.readouterr().err == "interrupted\n"


@pytest.mark.parametrize("typed, meant", [("rnus", "runs"), ("trian", "train"), ("evalute", "evaluate")])
def test_a_mistyped_command_names_the_closest_one(typed, meant, capsys):
    with pytest.raises(SystemExit) as exit_:
        main([typed, "x"])
    assert exit_.value.code == 2
    assert capsys.readouterr().err.strip().splitlines()[-1] == (
        f"python -m glr: error: unknown command {typed!r}; did you mean {meant!r}? (python -m glr --help lists them)")


def test_no_progress_bar_off_a_terminal(gldv2, tmp_path, capsys):
    # In a log file each bar was hundreds of "\r" redraws; the demo's now says what it does in one line.
    assert main(["demo-data", "--force", "--classes", "2", "--out", str(tmp_path / "demo")]) == 0
    err = capsys.readouterr().err
    assert err == "generating the demo dataset: 40 photos\n"
    assert main(["probe", str(gldv2), "--raw-pixels", "4", "--folds", "2"]) == 0
    assert "\r" not in capsys.readouterr().err


def test_class_names_on_an_ascii_terminal_are_printed_not_a_traceback(gldv2, tmp_path):
    # PYTHONIOENCODING=ascii (or a C locale without Python's UTF-8 coercion): UnicodeEncodeError at "Sacré-Cœur".
    env = dict(os.environ, PYTHONIOENCODING="ascii", PYTHONPATH=str(ROOT))
    result = subprocess.run([sys.executable, "-m", "glr", "inspect", str(gldv2)], cwd=ROOT, env=env,
                            capture_output=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert b"  Sacr?-C?ur  " in result.stdout and b"Eiffel Tower" in result.stdout


def test_no_command_prints_the_list_of_commands(capsys):
    # "python -m glr: error: the following arguments are required: command" named none of them.
    assert main([]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.startswith("usage: python -m glr [-h] [--version] COMMAND ...") and "  train       train a" in err


def test_an_unknown_command_is_one_short_line(capsys):
    # With no close name, argparse's "invalid choice: 'frobnicate' (choose from 'demo-data', ...)": 220 characters.
    with pytest.raises(SystemExit) as exit_:
        main(["frobnicate", "x"])
    assert exit_.value.code == 2
    assert capsys.readouterr().err.splitlines()[-1] == (
        "python -m glr: error: unknown command 'frobnicate' (python -m glr --help lists them)")


@pytest.mark.parametrize("argv, said", [
    (["--results", "r", "runs"], "--results goes after the command: python -m glr runs --results ..."),
    (["--out=x.csv", "predict", "r", "a.jpg"], "--out goes after the command: python -m glr predict --out ..."),
    (["-v"], "unknown option -v (python -m glr --help lists the commands)"),
    (["PREDICT", "r", "a.jpg"], "unknown command 'PREDICT'; did you mean 'predict'? (python -m glr --help lists them)")])
def test_an_option_before_the_command_or_a_command_in_capitals_says_what_to_type(argv, said, capsys):
    # `--results R runs` was "argument COMMAND: invalid choice: 'r' (choose from 'demo-data', ...)", and "PREDICT" too.
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2
    assert capsys.readouterr().err.splitlines()[-1] == f"python -m glr: error: {said}"


def test_version_is_printed(capsys):
    from glr import __version__

    with pytest.raises(SystemExit) as exit_:  # was "the following arguments are required: command"
        main(["--version"])
    assert (exit_.value.code, capsys.readouterr().out) == (0, f"glr {__version__}\n")


def test_an_epochs_line_over_five_classes_or_fewer_has_no_top5(tiny_data, tmp_path, capsys):
    # Its 5 guesses hold every class, so "top5 1.000" said nothing on every line (the run's end line already left it).
    assert main(["train", str(tiny_data), "--results", str(tmp_path / "results"), "--input-size", "32", "--epochs", "1",
                 "--hidden", "8", "--batch-size", "4", "--no-fine-tune"]) == 0
    [line] = [x for x in capsys.readouterr().out.splitlines() if x.startswith("epoch   1 ")]
    assert "val_acc" in line and "top5" not in line

"""`python -m glr runs`: the list of runs, --rename and --delete."""

import sys

import pandas as pd
import pytest

from glr.cli import main


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
    assert out.strip().endswith("* no saved model's score (metrics.json) yet: the best epoch's validation accuracy so far")


def test_a_run_whose_config_is_damaged_shows_no_backbone_not_none(tmp_path, capsys):
    from glr.training.run import Run

    run = Run.create(tmp_path, {"train": {"backbone": "x", "epochs": 2}}, run_id="20260101-000000-x")
    run.update_status(state="finished", created="2026-01-01T00:00:00+00:00")
    run.config_path.write_text("")
    assert main(["runs", "--results", str(tmp_path)]) == 0
    row = capsys.readouterr().out.splitlines()[1]
    assert "damaged" in row and "config.json is damaged" in row and "None" not in row, row


def _runs(tmp_path, *ids):
    from glr.training.run import Run

    made = [Run.create(tmp_path, {"train": {"backbone": "x", "epochs": 2}}, run_id=i) for i in ids]
    for run in made:
        run.update_status(state="finished")
    return made


def test_a_run_is_found_by_the_start_of_its_id(tmp_path, capsys):
    # `evaluate 20261206-203453` (the id without its backbone) said "no run": ids are long to type.
    (one, _) = _runs(tmp_path, "20260101-000000-resnet50", "20260102-000000-resnet50")
    assert main(["runs", "--results", str(tmp_path), "--rename", "20260101", "first"]) == 0
    assert f"{one.id} is now named 'first'" in capsys.readouterr().out and one.name() == "first"


def test_a_start_two_ids_share_names_them(tmp_path, capsys):
    _runs(tmp_path, "20260101-000000-resnet50", "20260101-120000-resnet50")
    assert main(["runs", "--results", str(tmp_path), "--rename", "20260101", "x"]) == 2
    assert capsys.readouterr().err == ("error: '20260101' is the start of 2 run ids (20260101-120000-resnet50, "
                                       "20260101-000000-resnet50): give more of the id\n")


def test_a_start_of_an_id_deletes_nothing(tmp_path, capsys):
    (run,) = _runs(tmp_path, "20260101-000000-resnet50")
    assert main(["runs", "--results", str(tmp_path), "--delete", "20260101", "--yes"]) == 2
    assert "did you mean '20260101-000000-resnet50'? (give the whole id)" in capsys.readouterr().err
    assert run.path.is_dir()


def test_a_mistyped_run_id_names_the_closest(tmp_path, capsys):
    # "no run '20260101-000000-resnet05'" left the user to compare it with the list by eye.
    _runs(tmp_path, "20260101-000000-resnet50", "20260301-000000-mobilenet_v3_small")
    assert main(["runs", "--results", str(tmp_path), "--rename", "20260101-000000-resnet05", "x"]) == 2
    assert "; did you mean '20260101-000000-resnet50'?" in capsys.readouterr().err
    assert main(["runs", "--results", str(tmp_path), "--rename", "nothing-like-it", "x"]) == 2
    assert "did you mean" not in capsys.readouterr().err


def test_a_long_message_is_cut_on_a_terminal_and_whole_in_a_pipe(tmp_path, capsys, monkeypatch):
    # A failure's 600-character reason made its row as long, right-aligned: a terminal wrapped each row over lines.
    (run,) = _runs(tmp_path, "20260101-000000-resnet50")
    reason = "could not download the weights (offline?): " + "x" * 500 + "\nsecond line"
    run.update_status(state="failed", message=reason)
    assert main(["runs", "--results", str(tmp_path)]) == 0  # no terminal: whole, on one line
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 and lines[0].endswith("  message") and lines[1].endswith("x second line")
    assert lines[1].index("could not") == lines[0].index("message")  # left-aligned under its header
    monkeypatch.setenv("COLUMNS", "140")
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    assert main(["runs", "--results", str(tmp_path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert max(len(line) for line in lines) <= 140 and lines[1].endswith("…")
    assert lines[0].endswith("  message") and lines[1].index("could not") == lines[0].index("message")  # room: beside
    assert lines[-1] == "… messages cut to fit the terminal: `python -m glr runs --wide` shows them whole"
    assert main(["runs", "--results", str(tmp_path), "--wide"]) == 0
    assert capsys.readouterr().out.splitlines()[1].endswith("x second line")


def _failed_and_finished(tmp_path, reason):
    from glr.training.run import Run

    failed = Run.create(tmp_path, {"train": {"backbone": "mobilenet_v3_small", "epochs": 2}},
                        run_id="20260101-000000-mobilenet_v3_small")
    failed.update_status(state="failed", message=reason, created="2026-01-01T00:00:00+00:00")
    failed.set_name("baseline 40 epochs")
    done = Run.create(tmp_path, {"train": {"backbone": "resnet50", "epochs": 2}}, run_id="20260102-000000-resnet50")
    done.update_status(state="finished", created="2026-01-02T00:00:00+00:00")
    return failed, done


def test_on_an_80_column_terminal_the_message_gets_its_own_line_under_its_run(tmp_path, capsys, monkeypatch):
    # At 80 columns the rows left the message its 24-character floor: "could not download th..." said nothing.
    from glr.paths import text_columns

    failed, done = _failed_and_finished(tmp_path, "could not download the weights (offline?): " + "x" * 300)
    assert main(["runs", "--results", str(tmp_path)]) == 0
    piped = capsys.readouterr().out.splitlines()  # a pipe: one line a run, the message whole at its end, as before
    assert len(piped) == 3 and piped[0].endswith("  message") and piped[2].endswith("x" * 300)
    monkeypatch.setenv("COLUMNS", "80")
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    assert main(["runs", "--results", str(tmp_path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "message" not in lines[0] and lines[1].lstrip().startswith(done.id) and lines[2].startswith(failed.id)
    assert lines[1] == lines[1].rstrip() and lines[2].endswith("0/2")  # no message beside the row, no blank tail
    assert lines[3].startswith("    could not download the weights (offline?): xxx") and lines[3].endswith("x…")
    assert text_columns(lines[3]) == 80 and lines[4].startswith("… names and messages cut to fit")
    assert lines[5].startswith("left out to fit the terminal: backbone, created")  # the run id says both
    assert len(lines) == 6  # the finished run, without a message, gets no line for one
    assert main(["runs", "--results", str(tmp_path), "--wide"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[3] == "    could not download the weights (offline?): " + "x" * 300 and len(lines) == 4


def test_on_an_80_column_terminal_each_run_is_one_line_and_a_pipe_gets_the_whole_table(tmp_path, capsys,
                                                                                      monkeypatch):
    # The whole table is ~120 columns wide (ISO times, backbone, a long name): at 80 every row wrapped onto two lines.
    from glr.paths import text_columns
    from glr.training.run import Run

    for day, backbone in enumerate(["efficientnet_lite0", "mobilenet_v3_small", "resnet50"], start=1):
        run = Run.create(tmp_path, {"train": {"backbone": backbone, "epochs": 2}},
                         run_id=f"2026010{day}-000000-{backbone}")
        run.update_status(state="finished", created=f"2026-01-0{day}T09:30:00+01:00")
    run.set_name("resnet50 with the landmarks of Kyoto")
    assert main(["runs", "--results", str(tmp_path)]) == 0
    piped = capsys.readouterr().out.splitlines()  # a pipe: the whole table, as scripts read it
    assert piped[0].split()[3:5] == ["created", "backbone"] and "2026-01-03T09:30:00+01:00" in piped[1]
    assert max(map(len, piped)) > 100 and "left out" not in "".join(piped)
    monkeypatch.setenv("COLUMNS", "80")
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    assert main(["runs", "--results", str(tmp_path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["run_id", "name", "state", "epochs", "val_top1"] and len(lines) == 6
    assert all(text_columns(line) <= 80 for line in lines) and lines[1].startswith(run.id)
    assert "  resnet50 with t…  finished" in lines[1]  # the name gets the 16 columns left
    assert [line.split()[0] for line in lines[2:4]] == ["20260102-000000-mobilenet_v3_small",
                                                        "20260101-000000-efficientnet_lite0"]
    assert lines[4:] == ["… names cut to fit the terminal: `python -m glr runs --wide` shows them whole",
                         "left out to fit the terminal: backbone, created (`--wide` shows them)"]
    monkeypatch.setenv("COLUMNS", "140")  # room for every column (133), its times short
    assert main(["runs", "--results", str(tmp_path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "  01-03 09:30  resnet50  " in lines[1] and "resnet50 with the landmarks of Kyoto" in lines[1]
    assert len(lines) == 4
    assert main(["runs", "--results", str(tmp_path), "--wide"]) == 0  # --wide: the whole table, as in a pipe
    wide = capsys.readouterr().out.splitlines()  # (no room for messages beside the rows: under them, as before)
    assert wide == [piped[0].removesuffix("  message").rstrip(), *(line.rstrip() for line in piped[1:])]


def test_a_message_of_wide_characters_is_cut_to_the_terminals_columns(tmp_path, capsys, monkeypatch):
    # A class name in a message (東京タワー) takes two columns a character: cut by characters, it ran past the edge.
    from glr.paths import text_columns

    _failed_and_finished(tmp_path, "photo of 東京タワー unreadable: " + "東" * 100)
    monkeypatch.setenv("COLUMNS", "80")
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    assert main(["runs", "--results", str(tmp_path)]) == 0
    message = capsys.readouterr().out.splitlines()[3]
    assert message.startswith("    photo of 東京タワー") and message.endswith("…") and 78 <= text_columns(message) <= 80


def test_a_terminal_that_cannot_show_the_ellipsis_gets_three_dots():
    from glr.runs_command import cut_mark, cut_to

    assert cut_mark("utf-8") == "…" and cut_mark("ascii") == "..." and cut_mark("no-such-codec") == "..."
    assert cut_to("abcdefghij", 6, "...") == ("abc...", True) and cut_to("abc", 6) == ("abc", False)

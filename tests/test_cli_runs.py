"""`python -m glr runs`: the list of runs, --rename and --delete."""

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
    assert out.strip().endswith("* no saved model yet: the best epoch's validation accuracy so far")

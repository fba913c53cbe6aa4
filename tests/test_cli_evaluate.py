"""`python -m glr evaluate`: a run's scores, damaged files in one line, scores with no value said why."""

from pathlib import Path

import pandas as pd
import pytest

from glr.cli import main


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


def test_evaluate_of_a_finished_run_whose_metrics_json_is_gone_says_it_is_missing(finished_run, tmp_path, capsys):
    # Was "no metrics.json yet (the run is finished)": as if it were still to come.
    run = _copy_run(finished_run, tmp_path)
    (run / "metrics.json").unlink()
    assert main(["evaluate", str(run)]) == 2
    assert capsys.readouterr().err.strip() == (f"error: {run}: metrics.json missing from this finished run (deleted or "
                                               "moved?); put it back, or train again")


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


def test_evaluate_without_per_class_csv_recomputes_the_weakest_classes_and_says_so(finished_run, tmp_path, capsys):
    # Its weakest-classes table was left out without a word.
    run = _copy_run(finished_run, tmp_path)
    assert main(["evaluate", str(run)]) == 0
    whole = capsys.readouterr().out
    (run / "per_class.csv").unlink()
    assert main(["evaluate", str(run)]) == 0
    out, err = capsys.readouterr()
    assert "weakest classes (recall):" in out and out == whole  # the same table, from the predictions
    assert "note: per_class.csv is missing: the classes' scores recomputed from val_predictions.csv" in err
    (run / "val_predictions.csv").unlink()
    assert main(["evaluate", str(run)]) == 0
    out, err = capsys.readouterr()
    assert "weakest classes" not in out and "per_class.csv and val_predictions.csv are missing" in err

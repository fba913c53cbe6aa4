"""glr.training.history_file: a run's history.csv read back as glr wrote it, or as a spreadsheet saved it again."""

import pandas as pd
import pytest

from glr.training.history_file import read_history
from glr.training.run import Run, RunError

ROWS = pd.DataFrame({"phase": [1, 1], "epoch": [1, 2], "loss": [2.5, 1.25], "val_loss": [2.0, 1.5],
                     "lr": [0.001, 0.001]})


def test_a_history_a_spreadsheet_saved_again_is_read_as_glr_wrote_it(tmp_path):
    # Run.history read it with a bare pd.read_csv: Excel's "Unicode Text" (UTF-16, tabs) was called truncated, its
    # European CSV (';' and decimal commas) one column "phase;epoch;...", so every page and resume said it was damaged.
    from glr.atomic import write_csv

    run = Run.create(tmp_path, {"train": {"epochs": 4}})
    write_csv(run.history_path, ROWS)
    mine = run.history()
    tab = ROWS.to_csv(sep="\t", index=False, lineterminator="\r\n").replace(".", ",")
    for saved in ("\ufeff" + tab).encode("utf-16"), ("\ufeff" + ROWS.to_csv(sep=";", index=False, decimal=",")).encode(
            "utf-8"), ("\ufeff" + ROWS.to_csv(index=False, lineterminator="\r\n")).encode("utf-8"):
        run.history_path.write_bytes(saved)
        read = run.history()
        assert read.equals(mine), read
        run.append_history({"phase": 1, "epoch": 3, "loss": 1.0, "val_loss": 1.2, "lr": 0.001})  # trains on after it
        assert run.history()["epoch"].tolist() == [1, 2, 3]


@pytest.mark.parametrize("text, said", [("phase,epoch,loss\n1,1,2.5\n1,2,1.5,9,9\n", "Expected 3 fields in line 3"),
                                        ("phase,epoch,loss\n1,1,2.5\n1,two,1.5\n", 'holds "two", not an epoch\'s number'),
                                        ("phase,epoch,loss\n1,1,2.5\n1,2,1.", "truncated")])
def test_a_damaged_line_is_named_with_the_file(tmp_path, text, said):
    run = Run.create(tmp_path, {"train": {"epochs": 4}})
    run.history_path.write_text(text)
    with pytest.raises(RunError, match=f"{run.history_path} is damaged: .*{said}"):
        run.history()
    with pytest.raises(ValueError):  # pandas' ParserError is a ValueError too
        read_history(run.history_path)


"""`python -m glr runs`: the run list, one line a run, and its --rename and --delete.

A run's message (a failure's whole reason, 600 characters for weights that could not be downloaded) made its line
as long, and pandas right-aligned it: each row wrapped over eight lines of a terminal. On a terminal the message is
cut to fit (`--wide` keeps it whole); off one (a pipe, a file) it is whole, one line a run, as scripts read it.
A terminal too narrow to leave the message ROOMY columns beside its row (80 columns left it about 24) gets it on
its own indented line under the row instead. On a terminal the table itself is fitted to its width too, one line
a run (glr.runs_columns); off one, and with `--wide`, it is pandas' whole table, as it always was.
"""

from __future__ import annotations

import shutil
import sys

from glr.paths import text_columns
from glr.run_ref import find_run
from glr.runs_columns import ASCII_CUT, CUT, cut_mark, cut_to, fit_table, footer  # noqa: F401 (ASCII_CUT: importable here, as it was)

ROOMY = 40  # fewer columns than this beside the row: the message goes on its own line under it
INDENT = "    "


def cmd_runs(args) -> int:
    """List the runs under the results folder; with --rename or --delete, change one first."""
    from glr.training.run import Run
    from glr.training.run_table import list_runs

    if getattr(args, "rename", None):
        run = find_run(args.rename[0], args.results)
        name = run.set_name(args.rename[1])
        print(f"{run.id} is now named {name!r}" if name else f"{run.id} has no name now")
    if getattr(args, "delete", None) is not None:  # "" too: `--delete "$RUN"` with RUN unset listed the runs as if done
        from glr.training.launch import delete_run

        run = find_run(args.delete, args.results, whole=True)
        if not args.yes and sys.stdin.isatty():
            try:
                answer = input(f"Delete run {run.label()} and everything in {run.path}? [y/N] ")
            except EOFError:  # Ctrl-D at the question: an EOFError traceback; it is a "no"
                answer = ""
                print()
            if answer.strip().lower() not in ("y", "yes"):
                print("not deleted")
                return 1
        delete_run(run)
        print(f"deleted {run.id} ({run.path})")
    table = list_runs(args.results)
    if table.empty:
        print(f"no runs under {args.results}; start one with: python -m glr train")
        return 0
    # One accuracy: the saved model's validation top-1, as every page shows it; a run without a
    # saved model yet shows its best epoch so far, marked, since the two can differ.
    def accuracy(row) -> str:
        if row["model_top1"] is not None and row["model_top1"] == row["model_top1"]:
            return f"{row['model_top1']:.3f}"
        best = row["best_val_accuracy"]
        return f"{best:.3f}*" if best is not None and best == best else ""

    def epochs(row) -> str:
        """Epochs done; "done/total" for a run that has more to train (its total changes with --resume --epochs)."""
        done = row["epochs_done"]
        if done is None or done != done:
            return ""
        total = Run.of(args.results, row["run_id"]).status().get("epochs") if row["state"] != "finished" else None
        return f"{int(done)}/{total}" if isinstance(total, int) and total > done else str(int(done))

    shown = table.assign(val_top1=table.apply(accuracy, axis=1), epochs_done=table.apply(epochs, axis=1),
                         backbone=table["backbone"].fillna(""))  # a damaged config.json: no backbone, not "None"
    shown = shown.drop(columns=["model_top1", "best_val_accuracy"]).rename(columns={"epochs_done": "epochs"})
    columns = [c for c in shown.columns if c != "message"]
    columns.insert(columns.index("epochs") + 1, columns.pop(columns.index("val_top1")))
    terminal = shutil.get_terminal_size().columns if sys.stdout.isatty() else None  # a pipe: as it always was
    width = None if getattr(args, "wide", False) else terminal
    mark = cut_mark(getattr(sys.stdout, "encoding", None))
    left_out, names_cut = [], False
    if width:  # a terminal: one line a run (the whole table, ~120 columns, wrapped every row at 80)
        rows, left_out, names_cut = fit_table(columns, shown[columns].values.tolist(), width, mark)
    else:  # a pipe, a file, --wide: the whole table, as scripts read it
        rows = shown[columns].to_string(index=False).splitlines()
    lines, cut = table_lines(rows, list(shown["message"]), width, below_at=terminal, mark=mark)
    print("\n".join(lines))
    if "val_top1" not in left_out and shown["val_top1"].str.endswith("*").any():
        print("* no saved model's score (metrics.json) yet: the best epoch's validation accuracy so far")
    for line in footer(cut, names_cut, left_out, mark, width):
        print(line)
    return 0


def table_lines(rows: list[str], messages: list, width: int | None, below_at: int | None = None,
                mark: str = CUT) -> tuple[list[str], bool]:
    """The table's lines (header first) and whether any message was cut.

    Each run's message is left-aligned at the end of its row, on one line, cut to fit `width` columns (None: whole).
    On a terminal `below_at` columns wide that leaves it fewer than ROOMY columns, it goes on its own line under its
    row, indented, cut to `width` (or whole when `width` is None: --wide) and the header has no message column.
    """
    beside = below_at is None or below_at - max(map(text_columns, rows)) - 2 >= ROOMY  # with --wide too
    cut = False
    lines = [f"{rows[0]}  message" if beside else rows[0].rstrip()]
    for row, message in zip(rows[1:], messages):
        text = " ".join(str(message or "").split())  # a message of several lines kept the table's one line a run
        if beside:
            text, was_cut = cut_to(text, width - text_columns(row) - 2, mark) if width else (text, False)
            lines.append(f"{row}  {text}")
        else:
            text, was_cut = cut_to(text, width - len(INDENT), mark) if width else (text, False)
            lines.extend([row.rstrip(), INDENT + text] if text else [row.rstrip()])  # no blank tail to wrap
        cut = cut or was_cut
    return lines, cut

"""`python -m glr runs`: the run list, one line a run, and its --rename and --delete.

A run's message (a failure's whole reason, 600 characters for weights that could not be downloaded) made its line
as long, and pandas right-aligned it: each row wrapped over eight lines of a terminal. On a terminal the message is
cut to fit (`--wide` keeps it whole); off one (a pipe, a file) it is whole, one line a run, as scripts read it.
"""

from __future__ import annotations

import shutil
import sys

from glr.run_ref import find_run

CUT = "..."  # not "…": an ASCII terminal shows "?"
SHORTEST = 24  # a message is never cut below this many characters, however wide the other columns


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

    shown = table.assign(val_top1=table.apply(accuracy, axis=1), epochs_done=table.apply(epochs, axis=1))
    shown = shown.drop(columns=["model_top1", "best_val_accuracy"]).rename(columns={"epochs_done": "epochs"})
    columns = [c for c in shown.columns if c != "message"]
    columns.insert(columns.index("epochs") + 1, columns.pop(columns.index("val_top1")))
    width = shutil.get_terminal_size().columns if sys.stdout.isatty() and not getattr(args, "wide", False) else None
    lines, cut = table_lines(shown[columns].to_string(index=False).splitlines(), list(shown["message"]), width)
    print("\n".join(lines))
    if shown["val_top1"].str.endswith("*").any():
        print("* no saved model yet: the best epoch's validation accuracy so far")
    if cut:
        print(f"{CUT} messages cut to fit the terminal: `python -m glr runs --wide` shows them whole")
    return 0


def table_lines(rows: list[str], messages: list, width: int | None) -> tuple[list[str], bool]:
    """The table's lines (header first) with each run's message left-aligned at the end, on one line, cut to fit
    `width` columns (None: whole); and whether any was cut."""
    cut = False
    lines = [f"{rows[0]}  message"]
    for row, message in zip(rows[1:], messages):
        text = " ".join(str(message or "").split())  # a message of several lines kept the table's one line a run
        room = max(SHORTEST, width - len(row) - 2) if width else None
        if room is not None and len(text) > room:
            text, cut = text[:room - len(CUT)].rstrip() + CUT, True
        lines.append(f"{row}  {text}")
    return lines, cut
